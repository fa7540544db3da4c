"""The case open in one napari viewer: current state, undo/redo, autosave.

A `Workspace` is the only object widgets change the case through. Every edit is a new
immutable `Case` handed to `Workspace.apply`, which saves it to the store at once
(`CaseSession`), pushes the previous state on the undo stack, recomputes the evidence
ledger (core `build_ledger`) and emits `case_changed`;
`_layers.py` then redraws the blockplan layers from the case. Nothing here computes
geometry or applies clinical rules: that is the core's job.

**Open or not.** A case is *open* once it was opened from the store, started (New case,
`start_case`) or edited: every edit saves it. Before that the workspace holds a draft —
empty, or carrying the identity of the loaded images (`new_case_from_images`) — that is
stored only by the first edit, so nothing is created silently and no case is anonymous
when images are loaded.

**Images belong to the case.** Image layers carry the identity read from their DICOM
headers (``metadata["blockplan_identity"]``, a `StudyIdentity`, set by the reader and the
Study browser). When one is added, the core rule `check_same_patient` compares it with the
open case (or with the images already loaded): images of another patient or study are
removed again and `images_refused` carries the error (its message names only UIDs and
field names; its ``comparison`` holds both identities, for the Case panel, never logged).
Images of the case's own study fill in what the case lacks (`adopt_identity`, an edit).

**A save refused.** The store may refuse a save: another session saved the case after
this one loaded it, or the store cannot be written (unreachable, read-only, full).
`apply`, `undo` and `redo` then raise `SaveRefused` and leave the case and the undo
history exactly as they were; `Panel.save_edit` (`_widgets/_panel.py`) is the one place the
panels catch it, say it in the physician's words (`blockplan.case.refusal`) and show what
the case holds again.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from blockplan.case import Case, SeriesRef
from blockplan.errors import BlockplanError, CaseError, PatientMismatchError
from blockplan.io.identity import StudyIdentity
from blockplan.io.volume import ImageVolume
from napari_blockplan._qt import present

if TYPE_CHECKING:
    import napari

    from blockplan.case.store import WorklistEntry

__all__ = ["IDENTITY_KEY", "SaveRefused", "Workspace", "window_title", "workspace_for"]

IDENTITY_KEY = "blockplan_identity"
"""Layer metadata key of the `StudyIdentity` recorded in an image layer's DICOM headers."""

_UNDO_DEPTH = 100
_WORKSPACES: weakref.WeakKeyDictionary[Any, Workspace] = weakref.WeakKeyDictionary()


class SaveRefused(CaseError):
    """The store did not save an edit, an undo or a redo: the open case and its undo
    history are as they were before it.

    ``action`` is what was saved (an edit's action, "undo" or "redo"); ``cause`` is the
    store's error (its message names the case by id only); `words` says it to the
    physician.
    """

    def __init__(self, action: str, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.action = action
        self.cause = cause

    def words(self, what: str, *, typed: bool = False) -> str:
        """``"<what> not saved: <why> — <what to do>"`` (`save_refused_text`)."""
        from blockplan.case.refusal import save_refused_text

        return save_refused_text(what, self.cause, typed=typed)


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

    images_changed = Signal()
    """Emitted when image layers were added or removed (the reopen offer may change)."""

    target_selected = Signal(object)
    """Emitted with the id of the target selected in the Planning panel (None: none)."""

    clinician_changed = Signal(str)
    """Emitted with the clinician's name when it was saved in the settings (from any panel)."""

    images_refused = Signal(object)
    """Emitted with the `PatientMismatchError` of images removed because they are another
    patient's or study's (``err.comparison`` holds both identities: show, never log)."""

    def __init__(self, viewer: napari.viewer.Viewer, store: Any = None) -> None:
        self.viewer = viewer
        self._store = store
        self._store_lock = threading.Lock()
        self.session: Any = None
        self.is_open = False
        """True once a case is opened, started or edited (see the module docs)."""
        self.user = _user_name()
        self._refused: set[tuple[str, str]] = set()
        self._to_drop: list[Any] = []
        self._removal_told = False  # images removed, panels to be told (`_images_removed`)
        self.case: Case = self._draft()
        self._undo: list[tuple[Case, str]] = []
        self._redo: list[tuple[Case, str]] = []
        self._leave_guards: list[Callable[[], bool]] = []
        self.ledger: Any = None
        """The evidence ledger of the case under its profile (recomputed on every change)."""
        self.target_statuses: dict[str, str] = {}
        """Ledger status per target id (colours the targets)."""
        self.mode: str | None = None
        """What the next canvas click places (None: clicks place nothing)."""
        self.selected_target_id: str | None = None
        """The target selected in the Planning panel (the C-arm previews follow it)."""
        viewer.layers.events.inserted.connect(self._on_layer_inserted)
        viewer.layers.events.removed.connect(self._on_layer_removed)
        self._bind_slice_keys()

    def _bind_slice_keys(self) -> None:
        """Up/Down step the plane shown by one slice, Page Up/Down by ten, as in a PACS
        viewer (napari leaves these keys free; Left/Right stay napari's one-slice steps)."""
        from napari_blockplan._views import SLICE_KEYS, step_slice

        for key, slices in SLICE_KEYS.items():
            self.viewer.bind_key(
                key, lambda viewer, n=slices: step_slice(viewer, n), overwrite=True
            )

    def select_target(self, target_id: str | None) -> None:
        """Note the selected target and tell the panels that follow it."""
        if target_id != self.selected_target_id:
            self.selected_target_id = target_id
            self.target_selected.emit(target_id)

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
        with self._store_lock:  # the worklist searches from a worker thread
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

    # -- opening and closing --------------------------------------------------------
    def open_case(self, case_id: str) -> Case:
        """Open a stored case; the undo history starts empty.

        Loaded images of another patient or study are removed (`images_refused`); images
        of the case's study fill in identity the case lacks (an undoable edit).
        """
        from blockplan.case.store import CaseSession

        session = CaseSession(self.store, case_id, user=self.user)
        self._begin(session.case, session)
        return self.case

    def start_case(self, case: Case) -> Case:
        """Make ``case`` the open case and store it at once."""
        self.session = None
        self.case = case
        self._begin(case, self._ensure_session())
        return self.case

    def new_case(self, title: str = "") -> Case:
        """Start and store a new case carrying the identity of the loaded images.

        Raises
        ------
        CaseError
            When no images are loaded (a case starts from its patient's study).
        """
        from blockplan.case.identity import new_case_from_images

        identity = self.image_identity()
        if identity is None:
            raise CaseError(
                "no images are loaded, so the new case would have no patient: load the "
                "patient's study first (Study browser or File ▸ Open), then start the case"
            )
        case = new_case_from_images(
            identity,
            title=title.strip(),
            series=self._series_refs(),
            profile_name=_default_profile(),
        )
        return self.start_case(case)

    def add_leave_guard(self, guard: Callable[[], bool]) -> Callable[[], None]:
        """``guard()`` is asked before the open case is left (closed, another opened or
        started, the window closed): it saves, discards or keeps an edit a panel holds
        that is not in the case yet, and returns False when the physician stays. Returns
        the function that removes the guard (a panel calls it when it is closed)."""
        self._leave_guards.append(guard)
        return lambda: self._leave_guards.remove(guard) if guard in self._leave_guards else None

    def may_leave(self) -> bool:
        """Whether the open case may be left: every panel's unsaved edit was saved or
        discarded (`add_leave_guard`); False as soon as the physician chooses to stay."""
        return all(guard() for guard in list(self._leave_guards))

    def close_case(self) -> None:
        """Close the open case: its layers are removed and nothing is open afterwards.

        Every edit is already saved; the loaded images stay (a first edit, or New case,
        starts a new case from them).
        """
        if not self.is_open:
            return
        self.set_mode(None)
        self.session = None
        self.is_open = False
        self._undo.clear()
        self._redo.clear()
        self.case = self._draft()
        self._announce()
        self._clear_case_layers()

    def _begin(self, case: Case, session: Any) -> None:
        """Make a stored case the open one and check the loaded images against it."""
        self.session = session
        self.case = case
        self.is_open = True
        self._undo.clear()
        self._redo.clear()
        self._refused.clear()
        foreign, matching = self._sort_images(self._image_layers())
        for layer, err in foreign:
            self._refuse(layer, err)
        self._announce()
        for identity in matching:
            self._adopt(identity)

    def _clear_case_layers(self) -> None:
        """Empty blockplan's layers (the Planning widget does it too, when docked).

        They are emptied, not removed: removing several layers in one go while a napari
        notification is showing crashes vispy's drawing under Mesa (seen with napari
        0.9.2 on Xvfb).
        """
        from napari_blockplan._layers import layer_for, refresh_layers

        if layer_for(self.viewer, "targets") is not None:
            refresh_layers(self.viewer, self.case)

    # -- case-level edits ------------------------------------------------------------
    def _require_open(self, what: str) -> None:
        if not self.is_open:
            raise CaseError(f"no case is open: open one from the worklist first, then {what}")

    def rename_case(self, title: str) -> Case:
        """Change the open case's title (an undoable, saved edit)."""
        self._require_open("rename it")
        title = title.strip()
        if title == self.case.title:
            return self.case
        return self.apply(self.case.evolve(title=title), "rename case", "case title changed")

    def export_case(self, path: str | Path) -> Path:
        """Write the open case to a case file (mode 0600); the export is audited."""
        from blockplan.case.casefile import save_case_file

        self._require_open("export it")
        written = save_case_file(self.case, path)
        version = self._ensure_session().version
        self.store.record(
            self.case.case_id, self.user, "export", f"version {version} exported to a case file"
        )
        return written

    def import_case(self, path: str | Path, *, new_id: bool = False) -> Case:
        """Validate a case file completely, then store it (nothing half-imported)."""
        imported: tuple[Case, int] = self.store.import_file(path, self.user, new_id=new_id)
        return imported[0]

    def find_cases(self, search: str = "", study_date: str = "") -> list[WorklistEntry]:
        """The worklist: stored cases matching the free text and study date, newest first.

        ``study_date`` is typed as `parse_study_date` reads it (``2026-03-15``,
        ``2026-03-01..2026-03-31``). Safe to call from a worker thread.

        Raises
        ------
        ValueError
            When the study date is not a date or range (the message names the forms).
        """
        from blockplan.case.store import parse_study_date

        dates = parse_study_date(study_date) if study_date.strip() else None
        entries: list[WorklistEntry] = self.store.worklist(search, study_date=dates)
        return entries

    def reopen_candidate(self) -> WorklistEntry | None:
        """The stored case to offer for reopening: the newest of the loaded study.

        None when a case is open, no images with a StudyInstanceUID are loaded, or the
        store holds no case of that study.
        """
        identity = self.image_identity()
        if self.is_open or identity is None or not identity.study_instance_uid:
            return None
        found = self.store.cases_for_study(identity.study_instance_uid, limit=1)
        return found[0] if found else None

    def set_clinician(self, name: str) -> str:
        """Save the clinician (operator) in the settings; edits record them from now on.

        Raises
        ------
        SettingsError
            When the name is invalid or the settings cannot be written.
        """
        from blockplan.settings import load_settings, require_clinician, save_settings, set_value

        settings = set_value(load_settings(), "clinician_name", name)
        require_clinician(settings)  # refuses an empty name with the usual advice
        save_settings(settings)
        self.user = settings.clinician_name
        if self.session is not None:
            self.session.user = self.user
        self.clinician_changed.emit(self.user)
        return self.user

    # -- edits --------------------------------------------------------------------
    def apply(self, new_case: Case, action: str, summary: str = "") -> Case:
        """Save ``new_case`` at once and make it current (undoable).

        The first edit without an open case stores the draft it was made on: a new case
        carrying the loaded images' identity.

        Raises
        ------
        SaveRefused
            When the store did not save it: the case and the undo history are unchanged.
        """
        self._save(new_case, action, summary)
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
        """Go back one edit (saved like any edit); returns the action undone.

        Raises `SaveRefused` (nothing undone, the history as it was) when not saved."""
        if not self._undo:
            return None
        previous, action = self._undo[-1]
        # the targets of the earlier state come back, not its count: T4 undone is not
        # given again to the next target placed
        previous = previous.keeping_target_numbers_of(self.case)
        self._save(previous, "undo", action)
        self._undo.pop()
        self._redo.append((self.case, action))
        self.case = previous
        self._announce()
        return action

    def redo(self) -> str | None:
        """Redo the last undone edit; returns its action.

        Raises `SaveRefused` (nothing redone, the history as it was) when not saved."""
        if not self._redo:
            return None
        following, action = self._redo[-1]
        following = following.keeping_target_numbers_of(self.case)
        self._save(following, "redo", action)
        self._redo.pop()
        self._undo.append((self.case, action))
        self.case = following
        self._announce()
        return action

    def _save(self, new_case: Case, action: str, summary: str) -> None:
        """Save ``new_case`` through the session (the draft stored first, when no case is
        open); `SaveRefused` when the store did not."""
        try:
            session = self._ensure_session()
            self.is_open = True
            session.apply(new_case, action=action, summary=summary)
        except (BlockplanError, OSError) as err:
            raise SaveRefused(action, err) from err

    def _announce(self) -> None:
        """Recompute the ledger of the new case, then tell the widgets."""
        from blockplan.outcomes import build_ledger, target_statuses

        self.ledger = build_ledger(self.case, self.case.profile_name)
        self.target_statuses = target_statuses(self.ledger, self.case)
        self.viewer.title = window_title(self.case if self.is_open else None)
        self.case_changed.emit(self.case)

    # -- images -------------------------------------------------------------------
    def _image_layers(self) -> list[Any]:
        return [
            layer
            for layer in self.viewer.layers
            if isinstance(layer.metadata.get("blockplan_volume"), ImageVolume)
            and not layer.metadata.get("blockplan_refused")
        ]

    def volumes(self) -> list[ImageVolume]:
        """The volumes behind the image layers, in layer order."""
        return [layer.metadata["blockplan_volume"] for layer in self._image_layers()]

    def image_identity(self) -> StudyIdentity | None:
        """The identity of the loaded images, if any.

        The first identity read from DICOM headers; else the study UID of a loaded volume.
        """
        found = [_identity_of(layer) for layer in self._image_layers()]
        full = [i for i in found if i is not None and i.has_patient]
        return next(iter(full), None) or next((i for i in found if i is not None), None)

    def _series_refs(self) -> tuple[SeriesRef, ...]:
        from blockplan.case.identity import volume_series_ref

        return tuple(volume_series_ref(v) for v in self.volumes())

    def _draft(self) -> Case:
        """What a first edit starts from: the loaded images' identity, or an empty case."""
        from blockplan.case.identity import new_case_from_images

        identity = self.image_identity()
        if identity is None:
            return Case()
        return new_case_from_images(
            identity, series=self._series_refs(), profile_name=_default_profile()
        )

    def _redraft(self) -> None:
        """Base the draft on the images now loaded; widgets hear of it when whose changed.

        Another series of the same study only extends the draft's series list: no widget
        shows that, and a refresh per series would cost every widget a redraw.
        """
        draft = self._draft()
        quiet = _whose(draft) == _whose(self.case)
        self.case = draft
        if not quiet:
            self._announce()

    def _sort_images(
        self, layers: list[Any]
    ) -> tuple[list[tuple[Any, PatientMismatchError]], list[StudyIdentity]]:
        """Split image layers into another patient's or study's, and the case's own."""
        from blockplan.case.identity import check_same_patient

        foreign: list[tuple[Any, PatientMismatchError]] = []
        matching: list[StudyIdentity] = []
        for layer in layers:
            identity = _identity_of(layer)
            if identity is None:
                continue
            try:
                check_same_patient(self.case, identity)
            except PatientMismatchError as err:
                foreign.append((layer, err))
            else:
                matching.append(identity)
        return foreign, matching

    def _on_layer_inserted(self, event: Any) -> None:
        _grid_for_3d_apart(event.value)
        self.image_layer_ready(event.value)

    def image_layer_ready(self, layer: Any) -> None:
        """Check and adopt an image layer: when added, or when a layer shown while its
        series loaded (`_reader.StudyLoad`) got its complete volume."""
        if layer.metadata.get("blockplan_refused") or layer not in self._image_layers():
            return
        # the open case, or the draft of the images already loaded, decides
        foreign, matching = self._sort_images([layer])
        if foreign:
            self._refuse(layer, foreign[0][1])
            return
        if self.is_open:
            for identity in matching:
                self._adopt(identity)
        else:
            self._redraft()
        self.images_changed.emit()

    def _on_layer_removed(self, event: Any) -> None:
        layer = event.value
        if not isinstance(layer.metadata.get("blockplan_volume"), ImageVolume):
            return
        if layer.metadata.get("blockplan_refused"):
            return
        # napari's `Viewer.close` removes every layer, one by one, before it forgets the
        # viewer: the panels hear of images removed a turn later (several removed in one
        # turn: once), and not at all when the viewer was being closed. Before, each
        # series removed while the window closed had every panel measure the paths again
        # and draw the case's overlays back while napari was removing them (a second or
        # more of a closing window).
        if not self._removal_told:
            self._removal_told = True
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, self._images_removed)

    def _images_removed(self) -> None:
        self._removal_told = False
        from napari_blockplan._layers import is_open

        if not is_open(self.viewer):
            return
        if not self.is_open:
            self._redraft()
        self.images_changed.emit()

    def _refuse(self, layer: Any, err: PatientMismatchError) -> None:
        """Take another patient's or study's images out of the viewer and say so.

        The layer is hidden and ignored at once, and removed from the viewer on the next
        turns of the event loop, one layer per turn: not while napari is still inserting
        it, and never several in one go (see `_clear_case_layers`).
        """
        layer.metadata["blockplan_refused"] = True
        layer.visible = False
        self._to_drop.append(layer)
        if len(self._to_drop) == 1:
            self._schedule_drop()
        key = (self.case.case_id, present(err.comparison).images.study_instance_uid)
        self.images_refused.emit(err)
        if key not in self._refused:  # one notice per study, not one per series
            self._refused.add(key)
            from napari.utils.notifications import show_warning

            show_warning(f"blockplan: {err}")

    def _schedule_drop(self) -> None:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, self._drop_next)

    def _drop_next(self) -> None:
        if not self._to_drop:
            return
        layer = self._to_drop.pop(0)
        if layer in self.viewer.layers:
            self.viewer.layers.remove(layer)
        if self._to_drop:
            self._schedule_drop()

    def _adopt(self, identity: StudyIdentity) -> None:
        """Fill in the identity the open case lacks from its own images (a saved edit)."""
        from blockplan.case.identity import adopt_identity

        adopted = adopt_identity(self.case, identity)
        if adopted == self.case:
            return
        try:
            self.apply(adopted, "identity from images", "patient and study from the images")
        except SaveRefused as err:  # the images stay; the case lacks their identity still
            from napari.utils.notifications import show_warning

            show_warning(f"blockplan: {err.words('patient and study from the images')}")

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


def _identity_of(layer: Any) -> StudyIdentity | None:
    """The identity recorded in a layer's images (its study UID at least), or None."""
    identity = layer.metadata.get(IDENTITY_KEY)
    if isinstance(identity, StudyIdentity):
        return identity
    volume = layer.metadata.get("blockplan_volume")
    if isinstance(volume, ImageVolume) and volume.study_instance_uid:
        return StudyIdentity(study_instance_uid=volume.study_instance_uid)
    return None


def _whose(case: Case) -> tuple[Any, ...]:
    """What a draft shows: its patient, study (without its series list) and profile."""
    study = case.study.model_copy(update={"series": ()}) if case.study else None
    return (case.patient, study, case.profile_name)


def window_title(case: Case | None) -> str:
    """napari's window title: the open case's patient and title ("blockplan" when none)."""
    if case is None:
        return "blockplan"
    from blockplan.case._text import format_person_name

    patient = format_person_name(case.patient.patient_name)
    if case.patient.patient_id:
        patient = f"{patient} ({case.patient.patient_id})".strip()
    parts = ["blockplan", patient or "patient not recorded", case.title or case.display_name]
    return " — ".join(parts)


def _default_profile() -> str:
    """The clinician's default profile for new cases (the model's when unreadable)."""
    from blockplan.errors import SettingsError
    from blockplan.settings import load_settings

    try:
        return load_settings().default_profile
    except SettingsError:
        return str(Case.model_fields["profile_name"].get_default())


def _user_name() -> str:
    """The configured clinician (never the OS login); a plain placeholder when unset."""
    from blockplan.settings import operator_name

    return operator_name()


def _grid_for_3d_apart(layer: Any) -> None:
    """An oblique or tilted series (`_convert.WorldAlignedView`): napari's 3-D view gets its
    whole display grid resampled in a thread of its own, not on the GUI thread (seconds);
    the layer draws it when ready and says so meanwhile."""
    from napari_blockplan._convert import WorldAlignedView

    view = getattr(layer, "data", None)
    if not isinstance(view, WorldAlignedView) or view.whole_ready:
        return
    from napari.utils.notifications import show_info
    from superqt.utils import ensure_main_thread

    shown = weakref.ref(layer)

    @ensure_main_thread
    def ready() -> None:
        drawn = shown()
        if drawn is not None:
            drawn.refresh()

    def started() -> None:
        drawn = shown()
        name = drawn.name if drawn is not None else "the series"
        show_info(f"{name}: preparing the 3-D view (resampled in the background)")

    view.build_whole_apart(ready, started)
