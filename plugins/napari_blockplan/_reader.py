"""napari reader: DICOM files, folders and DICOMDIRs through the blockplan loader.

`get_reader` decides cheaply (a header-only read of at most a few files) and returns
``None`` for anything it cannot read; it never raises.

Opening a study never blocks napari. The reader function, `open_study`, returns at once
(napari's "no layers" sentinel) and a `StudyLoad` does the work in a worker thread:

1. finds the series (headers only, `blockplan.io.discover`), with progress;
2. per loadable series, reads the one slice the view needs first (`load_slice`: the
   slice at the current height, else the middle) and shows the series at once as a layer
   named "<series> (loading N %)" whose data is a `LazySeries` — napari reads display
   slices from it: slices read so far, the one asked for decoded on demand (one image,
   milliseconds) when napari asks for a single axial slice, black elsewhere (other planes
   and 3-D fill in when the series is complete). Its contrast limits are the header's
   window (the bone window for CT), so nothing scans the array;
3. reads the whole series (`load_series`, with progress) and prepares it for display
   (`image_layer_data`) in the worker; the layer then gets the complete data and its
   volume, and only then does the workspace treat it as an image of the case (identity
   check, planning). Series that cannot be shown slice by slice (sagittal, oblique,
   gantry tilt) appear when complete.

Removing a layer while it loads stops loading that series; `StudyLoad.cancel` stops
them all (the Study browser's Cancel). Each image layer carries the patient and study
identity read from one header of its series (`with_identity`:
``metadata["blockplan_identity"]``), so the workspace can check that images belong to
the open case. `read_study` loads everything before returning (File ▸ Open Sample, which
napari requires to return layers).
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from psygnal import Signal
from qtpy.QtCore import QTimer

if TYPE_CHECKING:
    import napari

    from blockplan.io import ImageVolume, SeriesInfo
    from blockplan.io.gaps import GapChoice
    from blockplan.io.geometry import TiltMode
    from napari_blockplan._convert import DisplayAxes

__all__ = [
    "LOADING_KEY",
    "LazySeries",
    "StudyLoad",
    "get_reader",
    "open_study",
    "read_study",
    "with_identity",
]

_PROBE_LIMIT = 64  # files looked at when deciding about a folder
_CACHED_SLICES = 64  # display slices a loading series keeps (~1 MB each at 512²)
_POLL_MS = 100  # how often the GUI shows the worker's progress
_PULSE_MS = 10  # how often the GUI thread says it is free (`LoadState.give_way`)
_BUSY_S = 0.025
"""The GUI thread is busy when its pulse is this late: the worker waits (`give_way`)."""
_GIVE_WAY_MAX_S = 0.25
"""The longest the worker waits for a busy GUI thread, per image (then it reads on)."""
_NO_EVENT_LOOP_S = 1.0
"""A pulse this old: the GUI thread runs no event loop (a script), the worker never waits."""

LOADING_KEY = "blockplan_loading"
"""Layer metadata key of the `LoadState` of a layer shown while its series loads."""

_RUNNING: set[StudyLoad] = set()  # loads started by the reader (kept alive until done)


def _looks_like_dicom(path: Path) -> bool:
    """The DICM preamble, or (files written without it) a first element of group 0002 or
    0008 in either byte order: bytes only, no DICOM library (napari asks on its GUI
    thread; the loader checks every file properly in its worker)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")


def _has_dicom(path: Path) -> bool:
    if path.is_file():
        return _looks_like_dicom(path)
    if path.is_dir():
        for n, child in enumerate(p for p in path.rglob("*") if p.is_file()):
            if n >= _PROBE_LIMIT:
                break
            if _looks_like_dicom(child):
                return True
    return False


def get_reader(path: str | Sequence[str]) -> Callable[..., list[Any]] | None:
    """Return `open_study` when ``path`` holds DICOM, else ``None``."""
    paths = [path] if isinstance(path, str) else list(path)
    if not paths:
        return None
    try:
        if not all(_has_dicom(Path(p)) for p in paths):
            return None
    except Exception:
        return None
    return open_study


def with_identity(
    layer_data: tuple[Any, dict[str, Any], str], info: Any, source: str | Path | None = None
) -> tuple[Any, dict[str, Any], str]:
    """``layer_data`` with the identity of its series (`study_identity`) in the metadata,
    and the folder it was read from (``"blockplan_source"``: the archive reads its headers).

    One header read; a series whose identity cannot be read gets none (never raises).
    """
    from napari_blockplan._workspace import IDENTITY_KEY

    data, kwargs, kind = layer_data
    if source is not None:
        kwargs["metadata"]["blockplan_source"] = str(source)
    identity = _identity(info)
    if identity is not None:
        kwargs["metadata"][IDENTITY_KEY] = identity
    return data, kwargs, kind


def _identity(info: Any) -> Any:
    from blockplan.errors import BlockplanError
    from blockplan.io import study_identity

    with contextlib.suppress(BlockplanError, OSError, ValueError):
        return study_identity(info)
    return None


def read_study(path: str | Sequence[str]) -> list[Any]:
    """Load every loadable series of the given paths as napari image layers (all of it
    before returning: for File ▸ Open Sample and scripts; napari's File ▸ Open uses
    `open_study`).

    Series that cannot be loaded safely are skipped with a warning naming the series
    and the reason (napari shows it as a notification).
    """
    from blockplan.errors import BlockplanError
    from blockplan.io import discover, load_series
    from napari_blockplan._convert import image_layer_data

    paths = [path] if isinstance(path, str) else list(path)
    layers: list[Any] = []
    refused: list[str] = []
    for p in paths:
        found = discover(Path(p))
        for info in found.series:
            if info.status == "refused":
                refused.append(f"series {info.series_number}: {'; '.join(info.reasons)}")
                continue
            try:
                volume = load_series(info)
            except BlockplanError as err:
                refused.append(str(err))
                continue
            layers.append(with_identity(image_layer_data(volume), info, p))
    # show the first series; the others start hidden so they do not blend over it
    for _data, kwargs, _kind in layers[1:]:
        kwargs["visible"] = False
    for message in refused:
        warnings.warn(f"blockplan: not loaded — {message}", stacklevel=2)
    if not layers:
        raise BlockplanError(
            f"no loadable image series in {', '.join(map(str, paths))}"
            + (f" ({len(refused)} refused: {refused[0]})" if refused else "")
        )
    return layers


def open_study(path: str | Sequence[str], **_: Any) -> list[Any]:
    """napari's reader function: start loading the study into the current viewer.

    Returns napari's "no layers" sentinel ``[(None,)]`` at once; the series appear as
    they load (`StudyLoad`). Without a viewer (a script), loads everything first
    (`read_study`).
    """
    import napari

    viewer = napari.current_viewer()
    if viewer is None:
        return read_study(path)
    paths = [path] if isinstance(path, str) else list(path)
    for p in paths:
        load = StudyLoad(viewer, path=p, source=p, show_status=True)
        _RUNNING.add(load)
        load.finished.connect(lambda _text, load=load: _RUNNING.discard(load))
        load.start()
    return [(None,)]


# -- the worker ---------------------------------------------------------------------------
class _Cancelled(Exception):
    """The whole load was cancelled."""


class _SkipSeries(Exception):
    """The layer of the series being read was removed: go on with the next one."""


@dataclass
class LoadState:
    """What the worker is doing, shared with the GUI thread (plain values)."""

    phase: str = "starting"
    done: int = 0
    total: int = 0
    series_done: int = 0
    series_total: int = 0
    view_z: float | None = None
    """World z (LPS z, mm) the view shows; the worker reads that slice first."""
    current: str = ""
    """Key of the series being read."""
    skipped: set[str] = field(default_factory=set)
    """Series whose layer was removed while loading: not read further, not shown."""
    cancel: threading.Event = field(default_factory=threading.Event)
    shown: threading.Event = field(default_factory=threading.Event)
    pulse: float = 0.0
    """When the GUI thread last ran its pulse timer (``time.perf_counter``; 0: never)."""

    def progress(self, done: int, total: int) -> None:
        """The core's progress callback: record, or stop when cancelled; between images,
        wait while the GUI thread is busy (`give_way`)."""
        if self.cancel.is_set():
            raise _Cancelled
        if self.current in self.skipped:
            raise _SkipSeries
        self.done, self.total = done, total
        self.give_way()

    def give_way(self) -> None:
        """Wait (holding no GIL) while the GUI thread is busy — its pulse late by more than
        `_BUSY_S` — at most `_GIVE_WAY_MAX_S`.

        Two threads running Python share the GIL about half and half: while napari builds
        a layer or draws on the GUI thread, a worker decoding images made that take twice
        as long (seen as the GUI thread on a CPU only 25-45 % of its stalls). A pulse older
        than a second means the GUI thread is not running an event loop (a script): no wait.
        """
        end = time.perf_counter() + _GIVE_WAY_MAX_S
        while not self.cancel.is_set():
            now = time.perf_counter()
            late = now - self.pulse
            if not self.pulse or late < _BUSY_S or late > _NO_EVENT_LOOP_S or now > end:
                return
            time.sleep(0.002)

    def fraction(self) -> float:
        """Share of the whole job done (series by series)."""
        if self.series_total == 0:
            return self.done / self.total if self.total else 0.0
        part = self.done / self.total if self.total else 0.0
        return min(1.0, (self.series_done + part) / self.series_total)


def _first_slice(state: LoadState, axes: DisplayAxes) -> int:
    """The display slice the view needs first: at the view's height, else the middle."""
    n = axes.shape[0]
    if state.view_z is not None:
        step, origin = axes.affine[2, 2], axes.affine[2, 3]
        m = int(np.rint((state.view_z - origin) / step))
        if 0 <= m < n:
            return m
    return (n - 1) // 2


def _study_events(
    state: LoadState,
    path: str | None,
    infos: list[SeriesInfo] | None,
    source: str,
    scan_only: bool,
    choices: tuple[GapChoice, TiltMode] = ("refuse", "shear"),
) -> Generator[tuple[Any, ...], None, None]:
    """The worker: find the series (unless given), then load each; yields events.
    ``choices``: what to do with gaps and gantry tilt (`blockplan.io.gaps`)."""
    from blockplan.errors import BlockplanError
    from blockplan.io import discover
    from blockplan.io.gaps import with_choices

    _warm_in_background()  # alongside the search for the series, which needs none of it
    try:
        if infos is None:
            state.phase = "finding the series"
            found = discover(Path(str(path)), progress=state.progress)
            yield ("scanned", found)
            if scan_only:
                return
            listed = with_choices(found.series, *choices)
            infos = [s for s in listed if s.status != "refused"]
            for s in listed:
                if s.status == "refused":
                    yield ("failed", s, f"{s.label}: {'; '.join(s.reasons)}")
        state.series_total = len(infos)
        for n, info in enumerate(infos):
            state.series_done, state.done, state.total = n, 0, info.n_images
            state.phase = f"series {info.series_number or '?'} ({n + 1} of {len(infos)})"
            state.current = info.key
            try:
                yield from _series_events(state, info, source, choices)
            except _SkipSeries:
                yield ("skipped", info)
            except BlockplanError as err:
                yield ("failed", info, str(err))
        state.series_done = len(infos)
    except _Cancelled:
        yield ("cancelled",)


_WORKER_NICE = 10
"""How much lower than the GUI thread the loader's threads run (Linux niceness)."""


def _below_the_gui() -> None:
    """Run this thread, and the threads it starts (they inherit it), at a lower CPU
    priority than the GUI thread (Linux: niceness is per thread). Lowering needs no
    privilege; raising it again would, so only threads of their own get it
    (`_run_below_the_gui`)."""
    import os

    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        if now < _WORKER_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, _WORKER_NICE)


def _run_below_the_gui(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` in a thread of its own at a lower CPU priority than the
    GUI thread (`_below_the_gui`), with the decoding threads it starts; waits for it.

    On two cores, the core's two decoding threads and the GUI thread shared the CPUs:
    napari building a layer got 25-45 % of a CPU during a load. The thread ends with the
    call: napari's thread pool, whose threads later run GIL-bound work (the report), keeps
    its priority — a low-priority thread holding the GIL would stall the GUI thread.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, initializer=_below_the_gui) as pool:
        return pool.submit(func, *args, **kwargs).result()


_WARM_MODULES = ("scipy.ndimage", "scipy.linalg", "pandas", "skimage.color.colorconv")
"""napari's own dependencies that its first layers import lazily: the layer thumbnail,
a points or labels layer's features (pandas, ~0.2 s), the labels colormap (skimage's
colour conversions and scipy.linalg, ~0.2 s; skimage loads lazily, so the submodule)."""


_WARM_LOCK = threading.Lock()
_WARMED: threading.Event | None = None
_WARM_WAIT_S = 30.0
"""The longest a series waits for `_warm_napari` before it is shown anyway."""


def _warm_in_background() -> threading.Event:
    """Start `_warm_napari` in a thread of its own, once per process; the event is set
    when it is done. The first series waits for it before a layer is made (`_warmed`);
    finding the series does not: both run at once (in a fresh process the warm-up takes
    ≈ 0.5-1 s, which the search for the series used to wait for)."""
    global _WARMED
    with _WARM_LOCK:
        if _WARMED is None:
            done = _WARMED = threading.Event()

            def run() -> None:
                try:
                    _warm_napari()
                finally:
                    done.set()

            threading.Thread(target=run, name="blockplan-warm", daemon=True).start()
        return _WARMED


def _warmed() -> None:
    """Wait until napari's first layers find what they import ready (`_warm_napari`)."""
    _warm_in_background().wait(_WARM_WAIT_S)


def _warm_napari() -> None:
    """What napari's first layers would otherwise import or compute on the GUI thread, done
    once here: pint's unit registry (~1 s to build), `_WARM_MODULES` and vispy's dash
    patterns."""
    import importlib

    import pint

    for name in _WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    with contextlib.suppress(Exception):
        pint.get_application_registry().pixel  # type: ignore[no-untyped-call]  # noqa: B018
    with contextlib.suppress(Exception):
        # vispy's dash patterns, computed once per process (cached) by the first line
        # visual — the polygon overlay of the first labels layer (the scar proposal):
        # ~0.12-0.23 s on the GUI thread otherwise
        from vispy.visuals.line.dash_atlas import DashAtlas

        DashAtlas()


def _series_events(
    state: LoadState,
    info: SeriesInfo,
    source: str,
    choices: tuple[GapChoice, TiltMode] = ("refuse", "shear"),
) -> Generator[tuple[Any, ...], None, None]:
    """One series: its first slice (when it can be shown slice by slice), then all of it."""
    from blockplan.errors import BlockplanError
    from blockplan.io import load_series, load_slice
    from blockplan.io.gaps import load_options
    from napari_blockplan._convert import display_axes, image_layer_data

    identity = _identity(info)
    grid = info.grid
    axes = display_axes(grid.affine, grid.shape) if grid is not None else None
    if axes is not None and axes.slices_stay_slices and grid is not None and grid.blend is None:
        m = _first_slice(state, axes)
        with contextlib.suppress(BlockplanError, OSError):
            one = load_slice(info, axes.acquired_slice(m))
            _warmed()
            state.shown.clear()
            yield ("preview", info, axes, one, m, identity)
            _wait_until_shown(state)
    volume = _run_below_the_gui(
        load_series, info, progress=state.progress, **load_options(*choices)
    )
    _warmed()
    yield ("loaded", info, with_identity(image_layer_data(volume), info, source))


def _wait_until_shown(state: LoadState) -> None:
    """Read the rest only once the first slice is on screen (at most ~10 s)."""
    for _ in range(100):
        if state.shown.wait(0.1):
            return
        if state.cancel.is_set():
            raise _Cancelled


# -- a series shown while it loads --------------------------------------------------------
class LazySeries:
    """The display array of a series that is still loading (napari reads slices from it).

    Display slices (world z) come from a small cache holding the first slice read; a
    request for one whole display slice that is not there decodes it at once (one image,
    `blockplan.io.load_slice`); anything else (other planes, 3-D) shows slices not yet
    read as ``fill`` (black in the layer's window) until the series is complete and the
    layer gets the whole array.
    """

    def __init__(
        self,
        info: SeriesInfo,
        axes: DisplayAxes,
        first: tuple[int, npt.NDArray[np.float32]],
        fill: float,
    ) -> None:
        self.info = info
        self.axes = axes
        self.shape = axes.shape
        self.dtype = np.dtype(np.float32)
        self.ndim = 3
        self.size = int(np.prod(self.shape))
        self.fill = float(fill)
        self._cache: OrderedDict[int, npt.NDArray[np.float32]] = OrderedDict([first])
        self.decoded = 0
        """Slices decoded on demand (not counting the first)."""

    def __len__(self) -> int:
        return self.shape[0]

    def cached(self) -> list[int]:
        """Display slices held (read so far)."""
        return list(self._cache)

    def _plane(self, m: int, decode: bool) -> npt.NDArray[np.float32]:
        plane = self._cache.get(m)
        if plane is None and decode:
            plane = self._decode(m)
        if plane is None:
            return np.broadcast_to(np.float32(self.fill), self.shape[1:])
        self._cache.move_to_end(m)
        return plane

    def _decode(self, m: int) -> npt.NDArray[np.float32] | None:
        from blockplan.errors import BlockplanError
        from blockplan.io import load_slice

        try:
            one = load_slice(self.info, self.axes.acquired_slice(m))
        except (BlockplanError, OSError, IndexError):
            return None
        plane = np.ascontiguousarray(self.axes.show_slice(one.array[0]))
        self._cache[m] = plane
        self.decoded += 1
        while len(self._cache) > _CACHED_SLICES:
            self._cache.popitem(last=False)
        return plane

    def __getitem__(self, key: Any) -> npt.NDArray[np.float32]:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key) or not all(
            isinstance(k, slice | int | np.integer) for k in key
        ):
            return np.asarray(self)[key]  # type: ignore[no-any-return]
        key = key + (slice(None),) * (3 - len(key))
        first, rest = key[0], key[1:]
        ms = range(self.shape[0])[first]
        picked = [ms] if isinstance(ms, int) else list(ms)
        whole_plane = all(r == slice(None) for r in rest)
        planes = [self._plane(m, decode=len(picked) == 1 and whole_plane) for m in picked]
        stack = (
            np.stack([p[rest] for p in planes])
            if planes
            else np.empty((0, *np.empty(self.shape[1:])[rest].shape), np.float32)
        )
        return stack[0] if isinstance(ms, int) else stack

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype)


# -- the GUI side -------------------------------------------------------------------------
class StudyLoad:
    """Find and load a study's series in a worker thread, showing each as it comes.

    Give ``path`` (scan, then load every loadable series) or ``infos`` (load these).
    Signals carry what a panel shows; with ``show_status`` (the reader, with no panel of
    its own) the progress also goes to napari's status bar.
    """

    progressed = Signal(str, float)
    """Emitted every ~0.1 s: what is being done, and the share done (0–1)."""
    scanned = Signal(object)
    """Emitted with the `Discovery` when the series were found."""
    finished = Signal(str)
    """Emitted when done, cancelled or failed, with a one-line summary."""

    def __init__(
        self,
        viewer: napari.viewer.Viewer,
        *,
        path: str | Path | None = None,
        infos: Sequence[SeriesInfo] | None = None,
        source: str | Path = "",
        scan_only: bool = False,
        show_status: bool = False,
        gaps: GapChoice = "refuse",
        tilt: TiltMode = "shear",
    ) -> None:
        self.viewer = viewer
        self.choices: tuple[GapChoice, TiltMode] = (gaps, tilt)
        """What to do with gaps and gantry tilt (`blockplan.io.gaps.with_choices`)."""
        self.path = None if path is None else str(path)
        self.infos = None if infos is None else list(infos)
        self.source = str(source or path or "")
        self.scan_only = scan_only
        self.state = LoadState()
        self.pending: dict[str, Any] = {}
        """Layers shown while their series load, by series key."""
        self.loaded: list[Any] = []
        self.problems: list[str] = []
        self.cancelled = False
        self.running = False
        self.worker: Any = None
        self._show_status = show_status
        self._timer = QTimer()
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._pulse = QTimer()
        self._pulse.setInterval(_PULSE_MS)
        self._pulse.timeout.connect(self._beat)

    # -- control ----------------------------------------------------------------------
    def start(self) -> Any:
        """Start the worker; returns it (napari `GeneratorWorker`)."""
        from napari.qt.threading import create_worker

        self.state.view_z = self._view_z()
        self.worker = create_worker(
            _study_events,
            self.state,
            self.path,
            self.infos,
            self.source,
            self.scan_only,
            self.choices,
            _start_thread=False,
            _ignore_errors=True,
        )
        self.worker.yielded.connect(self._on_event)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self.viewer.layers.events.removed.connect(self._on_removed)
        self.running = True
        self._timer.start()
        self._beat()
        self._pulse.start()
        self.worker.start()
        return self.worker

    def cancel(self) -> None:
        """Stop: series already complete stay, the one loading is removed."""
        self.cancelled = True
        self.state.cancel.set()
        self.state.shown.set()

    def _view_z(self) -> float | None:
        if not any("blockplan_volume" in layer.metadata for layer in self.viewer.layers):
            return None  # the first image: napari shows its middle slice
        return float(self.viewer.dims.point[0])

    # -- events from the worker -------------------------------------------------------
    def _on_event(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "scanned":
            self.scanned.emit(event[1])
        elif kind == "preview":
            self._show_preview(*event[1:])
        elif kind == "loaded":
            self._complete(event[1], event[2])
        elif kind == "failed":
            self.problems.append(event[2])
            from napari.utils.notifications import show_warning

            show_warning(f"blockplan: not loaded — {event[2]}")
        elif kind == "cancelled":
            self.cancelled = True

    def _first_visible(self) -> bool:
        return not self.loaded and not self.pending

    def _add_image(self, data: Any, kwargs: dict[str, Any]) -> Any:
        """Add a series' layer; a hidden one (every series after the first) leaves the
        active layer to the series shown, so the physician's controls act on what is seen.
        The series shown adopts the spare image layer when there is one."""
        from napari.layers import Image

        from napari_blockplan._layers import insert_layer, take_image_spare
        from napari_blockplan._workspace import workspace_for

        visible = kwargs.get("visible", True)
        if visible:
            # the spare napari built before the window was shown (`_launch`): no new layer
            adopted = take_image_spare(self.viewer, data, kwargs)
            if adopted is not None:
                workspace_for(self.viewer).image_layer_ready(adopted)  # as when inserted
                return adopted
        return insert_layer(self.viewer, Image(data, **kwargs), activate=visible)

    def _show_preview(
        self,
        info: SeriesInfo,
        axes: DisplayAxes,
        one: ImageVolume,
        m: int,
        identity: Any,
    ) -> None:
        """Show the series at once from its first slice (unless it is another patient's:
        those are refused by the workspace when complete, never shown)."""
        from napari_blockplan._convert import layer_kwargs
        from napari_blockplan._workspace import IDENTITY_KEY

        try:
            if self.state.cancel.is_set() or not _belongs(self.viewer, identity):
                return
            kwargs = layer_kwargs(one, axes.affine, "preview")
            plane = np.ascontiguousarray(axes.show_slice(one.array[0]))
            lazy = LazySeries(info, axes, (m, plane), fill=kwargs["contrast_limits"][0])
            meta = kwargs["metadata"]
            meta[LOADING_KEY] = self.state
            meta["blockplan_series_name"] = kwargs["name"]
            meta["blockplan_source"] = self.source
            if identity is not None:
                meta[IDENTITY_KEY] = identity
            kwargs["name"] = f"{kwargs['name']} (loading)"
            kwargs["visible"] = self._first_visible()
            self.pending[info.key] = self._add_image(lazy, kwargs)
        finally:
            self.state.shown.set()

    def _complete(self, info: SeriesInfo, layer_data: tuple[Any, dict[str, Any], str]) -> None:
        """The whole series is in: the shown layer gets it (or a new layer is added)."""
        from napari_blockplan._workspace import workspace_for

        data, kwargs, _kind = layer_data
        layer = self.pending.pop(info.key, None)
        if info.key in self.state.skipped:
            return  # removed by the physician while it loaded
        if layer is None or layer not in self.viewer.layers:
            kwargs["visible"] = self._first_visible()
            self.loaded.append(self._add_image(data, kwargs))
            return
        meta = {**layer.metadata, **kwargs["metadata"]}
        meta.pop(LOADING_KEY, None)
        meta.pop("blockplan_series_name", None)
        layer.data = data
        if not np.allclose(layer.scale, kwargs["scale"]):
            layer.scale = kwargs["scale"]
        if not np.allclose(layer.translate, kwargs["translate"]):
            layer.translate = kwargs["translate"]
        layer.metadata = meta
        layer.name = kwargs["name"]
        self.loaded.append(layer)
        workspace_for(self.viewer).image_layer_ready(layer)

    def _on_removed(self, event: Any) -> None:
        """A layer removed while its series loads: stop reading that series."""
        for key, layer in list(self.pending.items()):
            if layer is event.value:
                del self.pending[key]
                self.state.skipped.add(key)
                self.state.shown.set()

    def _on_error(self, err: Exception) -> None:
        """Anything unforeseen in the worker: one line, no traceback."""
        from napari.utils.notifications import show_error

        # the type only: an unforeseen message may quote a path (folders can name people)
        self.problems.append(type(err).__name__)
        show_error(f"blockplan: loading stopped by an unexpected {type(err).__name__}")

    def _poll(self) -> None:
        """Show the worker's progress (GUI thread, every ~0.1 s)."""
        state = self.state
        state.view_z = self._view_z()  # the next series' first slice: where the view is
        pct = int(100 * state.done / state.total) if state.total else 0
        for layer in self.pending.values():
            name = f"{layer.metadata.get('blockplan_series_name', layer.name)} (loading {pct} %)"
            if layer.name != name:
                layer.name = name
        if state.phase == "finding the series":
            text = f"Finding the series: {state.done} of {state.total} files read"
        else:
            text = f"Loading {state.phase}: {state.done} of {state.total} images"
        self.progressed.emit(text, state.fraction())
        if self._show_status:
            # napari's status bar, not its progress bar: that one re-enters the event
            # loop (processEvents) on every update
            self.viewer.status = f"blockplan: {text} ({int(100 * state.fraction())} %)"

    def _beat(self) -> None:
        """The GUI thread is free (it ran this timer): the worker reads on."""
        self.state.pulse = time.perf_counter()

    def _on_finished(self) -> None:
        self._timer.stop()
        self._pulse.stop()
        self.running = False
        with contextlib.suppress(TypeError, ValueError, RuntimeError):
            self.viewer.layers.events.removed.disconnect(self._on_removed)
        for layer in list(self.pending.values()):  # cancelled while loading
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.pending.clear()
        n = len(self.loaded)
        text = f"{n} series loaded" + (" (cancelled)" if self.cancelled else "") + "."
        if not n and not self.cancelled and not self.scan_only:
            from napari.utils.notifications import show_warning

            why = f" ({len(self.problems)} refused: {self.problems[0]})" if self.problems else ""
            show_warning(f"blockplan: no loadable image series{why}")
        if self._show_status:
            self.viewer.status = f"blockplan: {text}"
        self.finished.emit(text)


def _belongs(viewer: napari.viewer.Viewer, identity: Any) -> bool:
    """Whether images with this identity may be shown with the viewer's case (the core
    rule the workspace applies when they are complete)."""
    from blockplan.case.identity import check_same_patient
    from blockplan.errors import PatientMismatchError
    from napari_blockplan._workspace import workspace_for

    if identity is None:
        return True
    try:
        check_same_patient(workspace_for(viewer).case, identity)
    except PatientMismatchError:
        return False
    return True
