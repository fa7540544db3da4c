"""The case open in one napari viewer: current state, undo/redo, autosave.

A `Workspace` is the only object widgets change the case through. Every edit is a new
immutable `Case` handed to `Workspace.apply`, which saves it to the store at once
(`CaseSession`), pushes the previous state on the undo stack, recomputes the evidence
ledger (core `build_ledger`) and emits `case_changed`;
`_layers.py` then redraws the blockplan layers from the case. Nothing here computes
geometry or applies clinical rules: that is the core's job.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from blockplan.case import Case
from blockplan.io.volume import ImageVolume

if TYPE_CHECKING:
    import napari

__all__ = ["Workspace", "workspace_for"]

_UNDO_DEPTH = 100
_WORKSPACES: weakref.WeakKeyDictionary[Any, Workspace] = weakref.WeakKeyDictionary()


def workspace_for(viewer: napari.viewer.Viewer) -> Workspace:
    """The workspace of a viewer (created on first use)."""
    ws = _WORKSPACES.get(viewer)
    if ws is None:
        ws = Workspace(viewer)
        _WORKSPACES[viewer] = ws
    return ws


class Workspace:
    """Holds the case of a viewer and saves every change at once."""

    case_changed = Signal(object)
    """Emitted with the new `Case` after every change (edit, undo, redo, open)."""

    mode_changed = Signal(object)
    """Emitted with the placement mode (or None) whenever it changes."""

    def __init__(self, viewer: napari.viewer.Viewer, store: Any = None) -> None:
        self.viewer = viewer
        self._store = store
        self.session: Any = None
        self.case: Case = Case()
        self.user = _user_name()
        self._undo: list[tuple[Case, str]] = []
        self._redo: list[tuple[Case, str]] = []
        self.ledger: Any = None
        """The evidence ledger of the case under its profile (recomputed on every change)."""
        self.target_statuses: dict[str, str] = {}
        """Ledger status per target id (colours the targets)."""
        self.mode: str | None = None
        """What the next canvas click places (None: clicks place nothing)."""

    # -- placement mode -----------------------------------------------------------
    def set_mode(self, mode: str | None, hint: str = "") -> None:
        """Enter a placement mode (None leaves it); the hint shows in napari's status bar."""
        self.mode = mode
        self.viewer.help = f"blockplan: {hint} — Esc to stop" if mode else ""
        self.mode_changed.emit(mode)

    # -- store --------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The case store (the default SQLite store unless one was given)."""
        if self._store is None:
            from blockplan.case.store import CaseStore

            self._store = CaseStore()
        return self._store

    def use_store(self, store: Any) -> None:
        """Save to another store from now on (the open case is created there)."""
        self._store = store
        self.session = None

    def _ensure_session(self) -> Any:
        if self.session is None:
            from blockplan.case.store import CaseSession
            from blockplan.errors import CaseNotFoundError

            try:
                self.session = CaseSession(self.store, self.case.case_id, self.user)
            except CaseNotFoundError:
                self.session = CaseSession.create(self.store, self.case, self.user)
        return self.session

    # -- opening ------------------------------------------------------------------
    def open_case(self, case_id: str) -> Case:
        """Open a stored case; the undo history starts empty."""
        from blockplan.case.store import CaseSession

        self.session = CaseSession(self.store, case_id, user=self.user)
        self.case = self.session.case
        self._undo.clear()
        self._redo.clear()
        self._announce()
        return self.case

    def start_case(self, case: Case) -> Case:
        """Make ``case`` the open case and store it at once."""
        self.case = case
        self.session = None
        self._ensure_session()
        self._undo.clear()
        self._redo.clear()
        self._announce()
        return self.case

    # -- edits --------------------------------------------------------------------
    def apply(self, new_case: Case, action: str, summary: str = "") -> Case:
        """Save ``new_case`` at once and make it current (undoable)."""
        session = self._ensure_session()
        session.apply(new_case, action=action, summary=summary)
        self._undo.append((self.case, action))
        del self._undo[:-_UNDO_DEPTH]
        self._redo.clear()
        self.case = new_case
        self._announce()
        return self.case

    @property
    def last_action(self) -> str | None:
        """The edit Undo would take back (None when there is none)."""
        return self._undo[-1][1] if self._undo else None

    @property
    def next_redo(self) -> str | None:
        """The edit Redo would restore (None when there is none)."""
        return self._redo[-1][1] if self._redo else None

    @property
    def can_undo(self) -> bool:
        """True when there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """True when there is an undone edit to redo."""
        return bool(self._redo)

    def undo(self) -> str | None:
        """Go back one edit (saved like any edit); returns the action undone."""
        if not self._undo:
            return None
        previous, action = self._undo.pop()
        self._ensure_session().apply(previous, action="undo", summary=action)
        self._redo.append((self.case, action))
        self.case = previous
        self._announce()
        return action

    def redo(self) -> str | None:
        """Redo the last undone edit; returns its action."""
        if not self._redo:
            return None
        following, action = self._redo.pop()
        self._ensure_session().apply(following, action="redo", summary=action)
        self._undo.append((self.case, action))
        self.case = following
        self._announce()
        return action

    def _announce(self) -> None:
        """Recompute the ledger of the new case, then tell the widgets."""
        from blockplan.outcomes import build_ledger, target_statuses

        self.ledger = build_ledger(self.case, self.case.profile_name)
        self.target_statuses = target_statuses(self.ledger, self.case)
        self.case_changed.emit(self.case)

    # -- images -------------------------------------------------------------------
    def volumes(self) -> list[ImageVolume]:
        """The volumes behind the image layers, in layer order."""
        out = []
        for layer in self.viewer.layers:
            vol = layer.metadata.get("blockplan_volume")
            if isinstance(vol, ImageVolume):
                out.append(vol)
        return out

    def volume(self, series_instance_uid: str) -> ImageVolume | None:
        """The loaded volume of a series, if any."""
        return next(
            (v for v in self.volumes() if v.series_instance_uid == series_instance_uid), None
        )

    def frame_of_reference_uid(self) -> str | None:
        """The frame of reference of the loaded images (of the first one)."""
        vols = self.volumes()
        return vols[0].frame_of_reference_uid if vols else None

    def images_folder(self) -> Path | None:
        """The folder (or file) the loaded images were read from, if known.

        The reader, the Study browser and the sample record it in the layer metadata
        (``"blockplan_source"``); napari's own open path records it in ``layer.source``.
        """
        for layer in self.viewer.layers:
            if not isinstance(layer.metadata.get("blockplan_volume"), ImageVolume):
                continue
            source = layer.metadata.get("blockplan_source") or getattr(layer.source, "path", None)
            if source:
                return Path(source)
        return None

    def ct(self) -> ImageVolume | None:
        """The first loaded CT, if any (used for bone checks along needle paths)."""
        return next((v for v in self.volumes() if v.modality == "CT"), None)


def _user_name() -> str:
    """The configured clinician (never the OS login); a plain placeholder when unset."""
    from blockplan.settings import operator_name

    return operator_name()
