"""Clinician settings: who works here, for which clinic, and where reports are archived.

The settings are one small JSON file in blockplan's user config folder (platformdirs; on
Linux ``$XDG_CONFIG_HOME/blockplan/settings.json``, ``~/.config/blockplan/...`` by
default), written atomically with mode 0600 in a 0700 folder::

    {"settings_version": 1, "clinician_name": "Dr A. Example", "clinic_name": "…", …}

The **clinician name** is who blockplan records as the operator in the case store's audit
trail and as the author of reports. It is never taken from the operating-system login:
when it is not configured, commands that record an operator refuse and say how to set it
(``blockplan config set clinician_name "Dr A. Example"``).

>>> from blockplan.settings import load_settings, save_settings
>>> settings = load_settings()                                       # doctest: +SKIP
>>> save_settings(settings.model_copy(update={"clinic_name": "X"}))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from blockplan._paths import user_config_dir
from blockplan.errors import SettingsError
from blockplan.strict_json import loads_strict

__all__ = [
    "SETTINGS_KEYS",
    "SETTINGS_VERSION",
    "UNCONFIGURED_OPERATOR",
    "Settings",
    "load_settings",
    "operator_name",
    "require_clinician",
    "save_settings",
    "set_value",
    "setting_name",
    "settings_path",
]

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
"""Version of the settings file written by this release."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_MAX_FILE_BYTES = 64 * 1024


def _one_line(value: str) -> str:
    value = value.strip()
    if _CONTROL.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


class Settings(BaseModel):
    """The clinician's settings (validated on construction; unknown keys refused).

    Attributes
    ----------
    clinician_name
        The physician using blockplan: recorded as operator in the audit trail and printed
        as the report's author. Empty: not configured.
    clinic_name
        Printed at the top of every report.
    clinic_address
        Lines under the clinic name (``"\\n"`` separates lines).
    archive_destination
        Where ``blockplan archive`` sends a case when ``--to`` is not given: a folder,
        ``pacs://AE@host:port`` (C-STORE) or ``https://…/dicom-web`` (STOW-RS).
    calling_ae_title
        blockplan's own DICOM AE title when sending to a PACS (1–16 characters, no
        backslash).
    default_profile
        Adjudication profile for new cases (a shipped profile name or a JSON file path).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    clinician_name: str = Field(default="", max_length=128)
    clinic_name: str = Field(default="", max_length=200)
    clinic_address: str = Field(default="", max_length=1000)
    archive_destination: str = Field(default="", max_length=1000)
    calling_ae_title: str = "BLOCKPLAN"
    default_profile: str = Field(default="asra-2020-single", min_length=1, max_length=1000)

    @field_validator("clinician_name", "clinic_name", "default_profile")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return _one_line(value)

    @field_validator("clinic_address")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.replace("\\n", "\n").strip()
        if _CONTROL_BUT_NEWLINE.search(value):
            raise ValueError("must be text; lines separated by newlines only")
        return value

    @field_validator("calling_ae_title")
    @classmethod
    def _ae_title(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= 16 or "\\" in value or not value.isascii():
            raise ValueError("an AE title is 1–16 ASCII characters without a backslash")
        return _one_line(value)

    @field_validator("archive_destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        value = _one_line(value)
        if value.startswith(("pacs://", "pacss://")):
            if not re.match(r"^pacss?://[^@/\\\s]{1,16}@(\[[^\]]+\]|[^:/\s]+):\d{1,5}/?$", value):
                raise ValueError(
                    "a PACS is written pacs://AE@host:port (e.g. pacs://PACS@10.0.0.5:104)"
                )
        elif "://" in value and not value.startswith(("http://", "https://")):
            raise ValueError("expected a folder, pacs://AE@host:port or https://host/dicom-web")
        return value

    @property
    def clinician_configured(self) -> bool:
        """True when a clinician name is set."""
        return bool(self.clinician_name)


SETTINGS_KEYS: tuple[str, ...] = tuple(Settings.model_fields)
"""The keys ``blockplan config set`` accepts."""


def settings_path() -> Path:
    """``settings.json`` in blockplan's user config folder (platformdirs)."""
    return user_config_dir() / "settings.json"


def _describe(err: ValidationError) -> str:
    first = err.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "settings"
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """The saved settings; defaults when no file exists yet.

    Parameters
    ----------
    path
        Settings file; default `settings_path`.

    Returns
    -------
    Settings
        The validated settings. Keys written by a newer blockplan are ignored.

    Raises
    ------
    SettingsError
        Naming the file and the first problem when it cannot be read, is not JSON, or holds
        an invalid value.
    """
    file = Path(path) if path is not None else settings_path()
    try:
        with open(file, "rb") as fh:
            data = fh.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return Settings()
    except OSError as err:
        raise SettingsError(f"{file}: cannot read the settings ({err.strerror or err})") from err
    fix = "fix it with `blockplan config set KEY VALUE` or delete the file to start over"
    if len(data) > _MAX_FILE_BYTES:
        raise SettingsError(f"{file}: larger than a settings file can be; {fix}")
    try:
        doc = loads_strict(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise SettingsError(f"{file}: not UTF-8 JSON ({type(err).__name__}); {fix}") from err
    if not isinstance(doc, dict):
        raise SettingsError(f"{file}: expected a JSON object; {fix}")
    known = {k: v for k, v in doc.items() if k in Settings.model_fields}
    try:
        return Settings.model_validate(known)
    except ValidationError as err:
        raise SettingsError(f"{file}: {_describe(err)}; {fix}") from err


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the settings atomically, mode 0600 (folder 0700 when created).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    SettingsError
        When the file cannot be written (the previous file, if any, is left as it was).
    """
    from blockplan.case.casefile import write_bytes_atomic

    file = Path(path) if path is not None else settings_path()
    doc: dict[str, Any] = {"settings_version": SETTINGS_VERSION, **settings.model_dump()}
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        if not file.parent.exists():
            file.parent.mkdir(mode=0o700, parents=True)
        return write_bytes_atomic(file, data, mode=0o600)
    except OSError as err:
        raise SettingsError(
            f"{file}: cannot write the settings ({err.strerror or err}); nothing was changed"
        ) from err


def setting_name(key: str) -> str:
    """The setting a key names (``clinician-name`` → ``clinician_name``).

    Raises
    ------
    SettingsError
        For an unknown key; the message lists the keys.
    """
    name = key.strip().replace("-", "_")
    if name not in Settings.model_fields:
        raise SettingsError(
            f"unknown setting {key!r}; the settings are: {', '.join(SETTINGS_KEYS)}"
        )
    return name


def set_value(settings: Settings, key: str, value: str | None) -> Settings:
    """``settings`` with ``key`` set to ``value`` (None: its default), validated again.

    Raises
    ------
    SettingsError
        For an unknown key (the message lists the keys) or an invalid value.
    """
    name = setting_name(key)
    data = settings.model_dump()
    if value is None:
        data[name] = Settings.model_fields[name].get_default(call_default_factory=True)
    else:
        data[name] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        raise SettingsError(f"setting {_describe(err)}") from err


_NOT_CONFIGURED = (
    "no clinician is configured: blockplan records the clinician, not the computer login, "
    'as operator. Run: blockplan config set clinician_name "Dr A. Example"'
)


def require_clinician(settings: Settings | None = None) -> str:
    """The configured clinician name, for the audit trail and report author.

    Raises
    ------
    SettingsError
        When no clinician name is configured (the message says how to set it).
    """
    current = settings if settings is not None else load_settings()
    if not current.clinician_name:
        raise SettingsError(_NOT_CONFIGURED)
    return current.clinician_name


UNCONFIGURED_OPERATOR = "clinician not configured"
"""What `operator_name` returns when no clinician is set (never the OS login)."""


def operator_name(settings: Settings | None = None) -> str:
    """The configured clinician name, or `UNCONFIGURED_OPERATOR`; never raises.

    For an interactive session that must start even before the clinician has filled in
    the settings (the napari workspace): the audit trail then says plainly that no
    clinician was configured instead of recording the operating-system login.
    """
    try:
        current = settings if settings is not None else load_settings()
    except SettingsError as err:
        log.warning("clinician settings not used: %s", err)
        return UNCONFIGURED_OPERATOR
    return current.clinician_name or UNCONFIGURED_OPERATOR
