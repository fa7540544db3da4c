"""Where blockplan keeps its files on this machine: one place, through platformdirs.

=======  =============================================  ============================
kind     Linux (``$XDG_*`` honoured when set)           used for
=======  =============================================  ============================
data     ``$XDG_DATA_HOME/blockplan``                   case store, archive outbox
         (``~/.local/share/blockplan``)
cache    ``$XDG_CACHE_HOME/blockplan``                  generated sample study
         (``~/.cache/blockplan``)
config   ``$XDG_CONFIG_HOME/blockplan``                 clinician settings
         (``~/.config/blockplan``)
=======  =============================================  ============================

macOS and Windows get their platform's folders (``~/Library/Application Support``,
``%LOCALAPPDATA%``). The functions only compute paths; callers create folders (0700 for
anything holding patient data).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "user_cache_dir", "user_config_dir", "user_data_dir"]

APP_NAME = "blockplan"


def user_data_dir() -> Path:
    """Folder for blockplan's data (case store, outbox)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def user_cache_dir() -> Path:
    """Folder for files blockplan can regenerate (the sample study)."""
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def user_config_dir() -> Path:
    """Folder for the clinician settings."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False)
