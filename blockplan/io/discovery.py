"""Discovery: find the image series in a file, folder tree or DICOMDIR (headers only).

Images are grouped by SeriesInstanceUID and then split by everything that makes one
UID hold several volumes in real exports: StudyInstanceUID, FrameOfReferenceUID,
orientation, image size and localizer ImageType always; AcquisitionNumber,
EchoNumbers, ImageType, TemporalPositionIdentifier or folder when (and only when)
slice positions repeat. Nothing here decodes pixels; the geometry of each series is
computed from its headers with `blockplan.io.geometry.plan_grid`, the same function
`load_series` uses.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from blockplan.errors import DicomInputError, SeriesRefusedError
from blockplan.io import _uids as dcm_uid
from blockplan.io._guard import pass_callback, unexpected_errors
from blockplan.io._headers import FileRead, FrameHeader, read_file
from blockplan.io.geometry import (
    SliceGrid,
    TiltMode,
    coinciding_images,
    orientation_label,
    plan_grid,
    refusal_reason,
)
from blockplan.io.limits import claimed_size_problem, max_series_bytes

__all__ = ["Discovery", "Progress", "SeriesInfo", "SeriesStatus", "SkippedFile", "discover"]

SeriesStatus = Literal["ok", "warnings", "refused"]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called after each file (`discover`) or image (`load_series`)
is read. An exception it raises stops the work and propagates — that is how a caller in
another thread cancels (e.g. a GUI's Cancel button sets a flag the callback checks)."""

_LOSSY = {
    dcm_uid.JPEGBaseline8Bit,
    dcm_uid.JPEGExtended12Bit,
    dcm_uid.JPEG2000,
    dcm_uid.JPEGLSNearLossless,
    dcm_uid.JPEG2000MC,
}


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that holds no loadable image, and why (never a patient value)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class SeriesInfo:
    """One volume-candidate found by `discover` (headers only, no pixels).

    Attributes
    ----------
    key
        Stable unique identifier within a discovery: the SeriesInstanceUID, followed by
        ``|name=value,…`` when one UID was split into several volumes.
    orientation
        ``"axial"``, ``"sagittal"``, ``"coronal"``, ``"oblique"`` (or ``"unknown"``
        without ImageOrientationPatient).
    rows, columns
        Image size in pixels.
    n_images
        Number of 2-D images (frames) in the series.
    files
        The files holding them, in slice order when the geometry is known.
    transfer_syntaxes
        Transfer syntax UIDs found.
    status
        ``"ok"``, ``"warnings"`` (loadable; see ``reasons``) or ``"refused"``
        (``load_series`` raises `SeriesRefusedError`; ``reasons`` says why).
    reasons
        Human-readable reasons for the status.
    frames
        Per-image header records (internal use by the loader).
    grid
        Header-only geometry with default options (None when refused).
    stack
        For one of several stacks of one SeriesInstanceUID at different angles (e.g.
        disc-angled spine axials): which stack, its angle and where it lies, e.g.
        ``"stack 2 of 3: 12.3° from axial, centre z -84.0 mm"`` (the centre of its
        images, `centre_lps`); else ``""``. `blockplan.planning.stacks.stack_listing`
        adds the disc it crosses once levels are marked.
    """

    key: str
    series_instance_uid: str
    series_number: int | None
    modality: str
    description: str
    orientation: str
    rows: int
    columns: int
    n_images: int
    files: list[str]
    frame_of_reference_uid: str
    study_instance_uid: str
    transfer_syntaxes: list[str]
    status: SeriesStatus
    reasons: list[str] = field(default_factory=list)
    frames: tuple[FrameHeader, ...] = field(default=(), repr=False)
    grid: SliceGrid | None = field(default=None, repr=False)
    stack: str = ""

    @property
    def label(self) -> str:
        """How messages name the series: number and UID (never patient data)."""
        return _label(self.series_number, self.key)

    @property
    def centre_lps(self) -> tuple[float, float, float] | None:
        """Centre of the stack (mean of the image centres, LPS mm); None without geometry."""
        f0 = self.frames[0] if self.frames else None
        if f0 is None or f0.orientation is None or f0.pixel_spacing is None:
            return None
        positions = [f.position for f in self.frames if f.position is not None]
        if not positions:
            return None
        half = (
            np.asarray(f0.orientation[:3], dtype=np.float64)
            * f0.pixel_spacing[1]
            * (f0.columns - 1)
            / 2
            + np.asarray(f0.orientation[3:], dtype=np.float64)
            * f0.pixel_spacing[0]
            * (f0.rows - 1)
            / 2
        )
        x, y, z = (float(v) for v in np.mean(np.asarray(positions, np.float64), axis=0) + half)
        return x, y, z

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """Output ``(slices, rows, columns)`` with default options (None when refused)."""
        return self.grid.shape if self.grid is not None else None

    @property
    def spacing(self) -> tuple[float, float, float] | None:
        """mm per step along (column, row, slice) with default options."""
        return self.grid.spacing if self.grid is not None else None

    @property
    def affine(self) -> npt.NDArray[np.float64] | None:
        """4×4 (i, j, k, 1) → LPS mm with default options (None when refused)."""
        return self.grid.affine if self.grid is not None else None


@dataclass(frozen=True, slots=True, eq=False)
class Discovery:
    """What `discover` found under a path."""

    path: str
    series: list[SeriesInfo]
    skipped: list[SkippedFile]

    def get(self, key: str) -> SeriesInfo:
        """The series with this key (or SeriesInstanceUID, when unique)."""
        for s in self.series:
            if s.key == key:
                return s
        matches = [s for s in self.series if s.series_instance_uid == key]
        if len(matches) == 1:
            return matches[0]
        raise KeyError(key)


def _label(number: int | None, key: str) -> str:
    uid, _, split = key.partition("|")
    num = f"Series {number}" if number is not None else "Series (no number)"
    return f"{num} (UID {uid}; {split})" if split else f"{num} (UID {uid})"


# --- file enumeration ------------------------------------------------------------------
def _walk(root: str) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames))
    return out


def _dicomdir_files(path: str) -> tuple[list[str], list[SkippedFile]]:
    import pydicom
    from pydicom.fileset import FileSet

    try:
        fs = FileSet(pydicom.dcmread(path))
    except Exception as err:  # a damaged DICOMDIR: say so, the caller may walk the folder
        raise DicomInputError(
            f"{path}: DICOMDIR cannot be read ({type(err).__name__}); "
            "open its folder instead to scan the files directly."
        ) from err
    files: list[str] = []
    skipped: list[SkippedFile] = []
    for instance in fs:
        p = os.fspath(instance.path)
        if os.path.isfile(p):
            files.append(p)
        else:
            skipped.append(SkippedFile(p, "referenced by DICOMDIR but missing"))
    return sorted(set(files)), skipped


def _read_all(paths: Sequence[str], progress: Progress | None) -> list[tuple[str, FileRead]]:
    # Sequential on purpose: header parsing holds the GIL; threads measured slower.
    out: list[tuple[str, FileRead]] = []
    for p in paths:
        out.append((p, read_file(p)))
        if progress is not None:
            progress(len(out), len(paths))
    return out


# --- grouping --------------------------------------------------------------------------
def _normal(frame: FrameHeader) -> npt.NDArray[np.float64] | None:
    if frame.orientation is None:
        return None
    n = np.cross(np.asarray(frame.orientation[:3]), np.asarray(frame.orientation[3:]))
    norm = float(np.linalg.norm(n))
    return n / norm if norm > 1e-6 else None


def _has_repeats(frames: Sequence[FrameHeader]) -> bool:
    if len(frames) < 2 or frames[0].position is None:
        return False
    n = _normal(frames[0])
    if n is None or any(f.position is None for f in frames):
        return False
    d = np.sort(np.array([f.position for f in frames], dtype=np.float64) @ n)
    return bool(np.any(np.diff(d) < 0.01))


def _most_at_one_position(frames: Sequence[FrameHeader]) -> int:
    """The largest number of frames at one slice position (within 0.01 mm along the normal)."""
    n = _normal(frames[0])
    if n is None or any(f.position is None for f in frames):
        return len(frames)
    d = np.sort(np.array([f.position for f in frames], dtype=np.float64) @ n)
    starts = np.flatnonzero(np.concatenate(([True], np.diff(d) >= 0.01)))
    return int(np.max(np.diff(np.append(starts, len(d)))))


_SPLITTERS: tuple[tuple[str, Callable[[FrameHeader], str]], ...] = (
    ("acq", lambda f: f.acquisition_number),
    ("echo", lambda f: f.echo_numbers),
    ("type", lambda f: "/".join(f.image_type)),
    ("temporal", lambda f: f.temporal_position),
    ("folder", lambda f: f.folder),
)


def _split_repeats(
    frames: list[FrameHeader],
) -> list[tuple[dict[str, str], list[FrameHeader]]] | None:
    """Split frames whose positions repeat by the tag that tells the volumes apart.

    A tag tells volumes apart only when it gives no more parts than the most images at
    one position: a tag that changes with every slice (per-slice AcquisitionNumber) would
    make each image a "series" of its own, so the repeats stay one refused series.
    """
    most = _most_at_one_position(frames)
    best: list[tuple[dict[str, str], list[FrameHeader]]] | None = None
    for name, getter in _SPLITTERS:
        sub: dict[str, list[FrameHeader]] = {}
        for f in frames:
            sub.setdefault(getter(f), []).append(f)
        if not 2 <= len(sub) <= most or any(_has_repeats(g) for g in sub.values()):
            continue
        cand = [({name: k}, g) for k, g in sub.items()]
        if best is None or len(cand) < len(best):
            best = cand
    if best is not None:
        return best
    sub2: dict[tuple[str, ...], list[FrameHeader]] = {}
    for f in frames:
        sub2.setdefault(tuple(g(f) for _, g in _SPLITTERS), []).append(f)
    if 1 < len(sub2) <= most and not any(_has_repeats(g) for g in sub2.values()):
        names = [n for n, _ in _SPLITTERS]
        return [(dict(zip(names, k)), g) for k, g in sub2.items()]
    return None


def _orientation_clusters(frames: Iterable[FrameHeader]) -> dict[int, list[FrameHeader]]:
    reps: list[npt.NDArray[np.float64] | None] = []
    out: dict[int, list[FrameHeader]] = {}
    for f in frames:
        o = None if f.orientation is None else np.asarray(f.orientation, dtype=np.float64)
        idx = -1
        for i, r in enumerate(reps):
            if (o is None and r is None) or (
                o is not None and r is not None and float(np.max(np.abs(o - r))) <= 1e-3
            ):
                idx = i
                break
        if idx < 0:
            reps.append(o)
            idx = len(reps) - 1
        out.setdefault(idx, []).append(f)
    return out


def _short(text: str) -> str:
    import hashlib  # only when a series is split

    return hashlib.sha1(text.encode()).hexdigest()[:8]


_Part = tuple[dict[str, str], list[FrameHeader], list[str]]


def _group(frames: list[FrameHeader]) -> list[tuple[str, list[FrameHeader], list[str]]]:
    """(key, frames, notes) per volume candidate.

    Frames are grouped by SeriesInstanceUID (`_by_series_uid`); each UID's frames are
    split into volume candidates (`_volume_parts`), which are named by the attributes
    that tell them apart (`_part_keys`).
    """
    result: list[tuple[str, list[FrameHeader], list[str]]] = []
    for uid, uframes in _by_series_uid(frames).items():
        kept, n_dupes = _drop_duplicate_instances(uframes)
        parts = _volume_parts(kept, n_dupes)
        if len(parts) == 1:
            result.append((uid, parts[0][1], parts[0][2]))
            continue
        for key, (_, pframes, notes) in zip(_part_keys(uid, parts), parts):
            result.append((key, pframes, notes))
    return result


def _by_series_uid(frames: Iterable[FrameHeader]) -> dict[str, list[FrameHeader]]:
    """Frames by SeriesInstanceUID; frames without one are grouped per folder."""
    by_uid: dict[str, list[FrameHeader]] = {}
    for f in frames:
        by_uid.setdefault(f.series_instance_uid or f"(no SeriesInstanceUID) {f.folder}", []).append(
            f
        )
    return by_uid


def _drop_duplicate_instances(frames: list[FrameHeader]) -> tuple[list[FrameHeader], int]:
    """Copies of the same instance (same SOPInstanceUID and frame) count once.

    The copy kept is the first intact one in path order (pixel data present and whole
    as far as the header pass can tell); a truncated copy is kept only when no copy is
    intact. Returns the frames kept (in the order of the first copy of each) and how
    many were dropped. Frames without a SOPInstanceUID are always kept.
    """
    chosen: dict[tuple[str, int], FrameHeader] = {}
    for f in frames:
        if not f.sop_instance_uid:
            continue
        k = (f.sop_instance_uid, f.frame_index)
        held = chosen.get(k)
        if held is None or (held.pixel_problem is not None and f.pixel_problem is None):
            chosen[k] = f
    kept: list[FrameHeader] = []
    placed: set[tuple[str, int]] = set()
    for f in frames:
        k = (f.sop_instance_uid, f.frame_index)
        if not f.sop_instance_uid:
            kept.append(f)
        elif k not in placed:
            placed.add(k)
            kept.append(chosen[k])
    return kept, len(frames) - len(kept)


def _hard_groups(
    frames: Iterable[FrameHeader],
) -> dict[tuple[str, str, int, int, bool], list[FrameHeader]]:
    """Frames that can never share a volume apart: by study, frame of reference,
    image size (rows, columns) and localizer ImageType."""
    hard: dict[tuple[str, str, int, int, bool], list[FrameHeader]] = {}
    for f in frames:
        hard.setdefault(
            (
                f.study_instance_uid,
                f.frame_of_reference_uid,
                f.rows,
                f.columns,
                f.is_localizer,
            ),
            [],
        ).append(f)
    return hard


def _volume_parts(frames: list[FrameHeader], n_dupes: int) -> list[_Part]:
    """(attributes, frames, notes) of each volume in one SeriesInstanceUID's frames.

    Split by `_hard_groups`, then by orientation, then — where slice positions repeat —
    by the tag that tells the volumes apart (`_split_repeats`).
    """
    parts: list[_Part] = []
    for (study, frame_ref, rows, cols, loc), hframes in _hard_groups(frames).items():
        for cframes in _orientation_clusters(hframes).values():
            attrs = {
                "study": _short(study),
                "for": _short(frame_ref),
                "size": f"{cols}x{rows}",
                "localizer": "yes" if loc else "no",
                "orientation": orientation_label(cframes[0].orientation),
            }
            notes: list[str] = []
            if n_dupes:
                notes.append(
                    f"{n_dupes} duplicate copies of the same instances ignored "
                    "(the intact copy of each kept)"
                )
            parts.extend(_repeat_parts(attrs, cframes, notes))
    return parts


def _repeat_parts(
    attrs: dict[str, str], frames: list[FrameHeader], notes: list[str]
) -> list[_Part]:
    """One stack as it is, or split where its slice positions repeat.

    Repeats that no tag tells apart stay one part, marked ``"__repeats__"`` in its notes
    (`assess` refuses it). A folder used to split is named by a short hash.
    """
    if not _has_repeats(frames):
        return [(attrs, frames, notes)]
    split = _split_repeats(frames)
    if split is None:
        return [(attrs, frames, [*notes, "__repeats__"])]
    parts: list[_Part] = []
    for extra, sframes in split:
        if "folder" in extra:
            extra = {**extra, "folder": _short(extra["folder"])}
        parts.append(({**attrs, **extra}, sframes, notes))
    return parts


def _part_keys(uid: str, parts: Sequence[_Part]) -> list[str]:
    """Keys of the volumes one UID was split into: ``uid|name=value,…``.

    Only the attributes whose values differ between the parts are named; parts that
    still look alike (e.g. two oblique stacks) are numbered ``stack=1``, ``stack=2``, ….
    """
    names = sorted({n for a, _, _ in parts for n in a})
    varying = [n for n in names if len({a.get(n, "") for a, _, _ in parts}) > 1]
    bases = [",".join(f"{n}={a.get(n, '')}" for n in varying) for a, _, _ in parts]
    counts = Counter(bases)
    seen_base: Counter[str] = Counter()
    keys: list[str] = []
    for base in bases:
        if counts[base] > 1:  # e.g. two oblique stacks: same attributes otherwise
            seen_base[base] += 1
            base = f"{base},stack={seen_base[base]}" if base else f"stack={seen_base[base]}"
        keys.append(f"{uid}|{base}")
    return keys


# --- assessment ------------------------------------------------------------------------
def _strip(label: str, message: str) -> str:
    prefix = f"{label}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _decoder_available(tsuid: str) -> bool:
    """`_pixels.decoder_available`, imported (with the decoders) only for compressed data."""
    if tsuid in dcm_uid.NATIVE:
        return True
    from blockplan.io._pixels import decoder_available

    return decoder_available(tsuid)


def hard_refusal(frames: Sequence[FrameHeader]) -> str | None:
    """Why these frames can never load (whatever the options), or None."""
    hard = refusal_reason(frames)
    if hard is not None:
        return hard
    f0 = frames[0]
    too_big = claimed_size_problem(
        f0.rows, f0.columns, len(frames), f0.samples_per_pixel * max(1, f0.bits_allocated // 8)
    )
    if too_big is not None:
        return f"the series' {too_big}"
    tsuids = sorted({f.transfer_syntax_uid for f in frames})
    missing = [t for t in tsuids if not _decoder_available(t)]
    if missing:
        names = ", ".join(f"{dcm_uid.name(t)} ({t})" for t in missing)
        return f"no pixel decoder installed for {names}; install the pylibjpeg or gdcm plugins"
    return None


def assess(
    frames: Sequence[FrameHeader],
    label: str,
    notes: Sequence[str] = (),
    *,
    allow_gaps: bool = False,
    tilt: TiltMode = "shear",
) -> tuple[SeriesStatus, list[str], SliceGrid | None]:
    """Status, reasons and header-only grid of one series (the options of `load_series`;
    discovery uses the defaults)."""
    if "__repeats__" in notes:
        where = coinciding_images(frames) or "the same slice positions occur more than once"
        return (
            "refused",
            [
                f"{where} and no AcquisitionNumber, EchoNumbers, ImageType, "
                "TemporalPositionIdentifier or folder tells the volumes apart; refusing to "
                "stack them (split the series, e.g. by export folder, or pick another series)"
            ],
            None,
        )
    reasons = list(notes)
    hard = hard_refusal(frames)
    if hard is not None:
        return "refused", [hard], None
    tsuids = sorted({f.transfer_syntax_uid for f in frames})
    bad = [f for f in frames if f.pixel_problem is not None]
    good = [f for f in frames if f.pixel_problem is None]
    if not good:
        return "refused", [f"no readable pixel data ({bad[0].pixel_problem})"], None
    try:
        grid = plan_grid(good, label, allow_gaps=allow_gaps, tilt=tilt)
    except SeriesRefusedError as err:
        msg = _strip(label, str(err))
        if bad:
            files = ", ".join(sorted({os.path.basename(f.path) for f in bad}))
            msg = f"unreadable file(s) {files} leave a gap in the stack; {msg}"
        return "refused", [msg], None
    status: SeriesStatus = "ok"
    if bad:
        files = ", ".join(sorted({os.path.basename(f.path) for f in bad}))
        why = {os.path.basename(f.path): f.pixel_problem for f in bad}
        named = "; ".join(f"{name}: {text}" for name, text in sorted(why.items())[:3])
        more = f"; and {len(why) - 3} more" if len(why) > 3 else ""
        reasons.append(f"{len(bad)} image(s) skipped, unreadable pixel data ({named}{more})")
    reasons.extend(_strip(label, w) for w in grid.warnings)
    if grid.tilt_deg > 0:
        reasons.append(
            f"gantry tilt {grid.tilt_deg:.1f}°: loads with a sheared affine (tilt='shear') "
            "or resampled to an orthogonal grid (tilt='resample')"
        )
    if len(good) == 1:
        reasons.append(grid.note)
    if any(t in _LOSSY for t in tsuids) or any(f.lossy for f in frames):
        reasons.append("lossy compressed: values differ from the acquired ones")
    if reasons:
        status = "warnings"
    return status, reasons, grid


def _series_sort_key(s: SeriesInfo) -> tuple[str, float, str]:
    return (
        s.study_instance_uid,
        float(s.series_number) if s.series_number is not None else math.inf,
        s.key,
    )


def discover(path: str | os.PathLike[str], *, progress: Progress | None = None) -> Discovery:
    """Find every image series under a path, reading headers only.

    Parameters
    ----------
    path
        A DICOM file, a folder (searched recursively) or a DICOMDIR file (its
        referenced files are read).
    progress
        Called as ``progress(files_read, files_found)`` after each file; an exception it
        raises cancels the scan and propagates (`Progress`). A folder of 2 000 files
        takes seconds: a GUI scans in a worker thread.

    Returns
    -------
    Discovery
        ``series``: `SeriesInfo` sorted by (StudyInstanceUID, SeriesNumber, key), each
        with status and header-only geometry; ``skipped``: files that are not DICOM,
        hold no image (SR, PDF, presentation state, …) or cannot be read, with reasons.

    Raises
    ------
    DicomInputError
        The path does not exist, or a DICOMDIR given directly cannot be read.

    Notes
    -----
    Input files are only opened for reading. Series of one SeriesInstanceUID are
    split into separate `SeriesInfo` by study, frame of reference, orientation, image
    size and localizer ImageType, and — only where slice positions repeat — by
    AcquisitionNumber, EchoNumbers, ImageType, TemporalPositionIdentifier or folder.
    """
    root = os.fspath(path)
    max_series_bytes()  # a malformed BLOCKPLAN_MAX_SERIES_GIB fails here, once
    with unexpected_errors(lambda why: DicomInputError(f"{root}: scanning {why}.")):
        return _discover(root, pass_callback(progress))


def _discover(root: str, progress: Progress | None) -> Discovery:
    """`discover` without its safety net: files, headers, groups, assessed series."""
    if not os.path.exists(root):
        raise DicomInputError(f"{root}: no such file or folder.")
    skipped: list[SkippedFile] = []
    if os.path.isdir(root):
        paths = _walk(root)
    else:
        first = read_file(root)
        if first.is_dicomdir:
            paths, missing = _dicomdir_files(root)
            skipped.extend(missing)
        else:
            paths = [root]
    frames: list[FrameHeader] = []
    for p, res in _read_all(paths, progress):
        if res.skip_reason is not None:
            skipped.append(SkippedFile(p, res.skip_reason))
        else:
            frames.extend(res.frames)

    series: list[SeriesInfo] = []
    for key, gframes, notes in _group(frames):
        f0 = gframes[0]
        label = _label(f0.series_number, key)
        status, reasons, grid = assess(gframes, label, notes)
        ordered = gframes
        if grid is not None:
            good = [f for f in gframes if f.pixel_problem is None]
            ordered = [good[i] for i in grid.order]
            ordered += [f for f in gframes if f.pixel_problem is not None]
        files = list(dict.fromkeys(f.path for f in ordered))
        series.append(
            SeriesInfo(
                key=key,
                series_instance_uid=f0.series_instance_uid,
                series_number=f0.series_number,
                modality=f0.modality,
                description=f0.series_description,
                orientation=orientation_label(f0.orientation),
                rows=f0.rows,
                columns=f0.columns,
                n_images=len(gframes),
                files=files,
                frame_of_reference_uid=f0.frame_of_reference_uid,
                study_instance_uid=f0.study_instance_uid,
                transfer_syntaxes=sorted({f.transfer_syntax_uid for f in gframes}),
                status=status,
                reasons=reasons,
                frames=tuple(gframes),
                grid=grid,
            )
        )
    series.sort(key=_series_sort_key)
    return Discovery(path=root, series=_with_stack_notes(series), skipped=skipped)


_AXES = {"sagittal": (0, "x"), "coronal": (1, "y"), "axial": (2, "z")}


def _stack_note(s: SeriesInfo) -> str:
    """Angle of the slice normal from its plane's patient axis, and the stack's centre."""
    n = _normal(s.frames[0])
    centre = s.centre_lps
    if n is None or centre is None:
        return ""
    nearest = int(np.argmax(np.abs(n)))
    axis, name = _AXES.get(s.orientation, (nearest, "xyz"[nearest]))
    angle = math.degrees(math.acos(min(1.0, abs(float(n[axis])))))
    return f"{angle:.1f}° from {s.orientation}, centre {name} {centre[axis]:.1f} mm"


def _with_stack_notes(series: list[SeriesInfo]) -> list[SeriesInfo]:
    """Name each of several differently angled stacks of one SeriesInstanceUID."""
    by_uid: dict[str, list[int]] = {}
    for i, s in enumerate(series):
        by_uid.setdefault(s.series_instance_uid, []).append(i)
    out = list(series)
    for idx in by_uid.values():
        normals = {_normal_key(series[i]) for i in idx}
        if len(idx) < 2 or len(normals) < 2:
            continue
        order = sorted(idx, key=lambda i: _centre_along(series[i]))
        for k, i in enumerate(order, 1):
            note = _stack_note(series[i])
            if note:
                out[i] = replace(series[i], stack=f"stack {k} of {len(idx)}: {note}")
    return out


def _normal_key(s: SeriesInfo) -> tuple[float, ...]:
    n = _normal(s.frames[0]) if s.frames else None
    return () if n is None else tuple(float(v) for v in np.round(n, 4))


def _centre_along(s: SeriesInfo) -> float:
    """Mean position along the patient axis of the stack's plane (for ordering stacks)."""
    axis = _AXES.get(s.orientation, (2, "z"))[0]
    values = [f.position[axis] for f in s.frames if f.position is not None]
    return float(np.mean(values)) if values else 0.0
