"""Mutation fuzzing of the loader (issue 16): the engine behind ``test_fuzz_loader.py``
and ``benchmarks/fuzz_loader.py``.

Small synthetic series (every transfer syntax the loader decodes, plus enhanced
multi-frame) are written once; mutant ``i`` of seed ``s`` copies one of them and damages
one file the way real files get damaged (truncation, byte flips, zeroed runs, inserted
bytes, lying headers, NaN/inf rescale, broken geometry, corrupted fragments, short
codestreams re-wrapped whole). `run_mutant` then discovers and loads it and classifies
the outcome:

* ``loaded`` / ``refused`` (a `BlockplanError`) — both fine;
* ``uncaught`` — any other exception;
* ``silent`` — a volume loaded whose values for the damaged file differ from the
  pristine ones (or are not finite, or whose axes are not orthonormal) while nothing
  named the file (warning, series reason or skipped list). Only damage a loader can
  detect counts: truncation, re-wrapped short codestreams, fragment structure, lying
  headers, rescale and geometry values — a flipped bit inside uncompressed pixel values
  is a valid image.

Hangs, crashes and memory blow-ups are judged by the caller, which runs the mutants in a
child process (`main`, one JSON line per mutant) under a per-mutant watchdog.
"""

from __future__ import annotations

import faulthandler
import json
import resource
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from tests.io._dicom_factory import SeriesSpec, phantom, write_enhanced, write_series

COMPRESSED = (RLELossless, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless)
BASES: dict[str, str] = {
    "implicit": ImplicitVRLittleEndian,
    "explicit": ExplicitVRLittleEndian,
    "bigendian": ExplicitVRBigEndian,
    "rle": RLELossless,
    "jpeg_lossless": JPEGLosslessSV1,
    "jpeg_ls": JPEGLSLossless,
    "jpeg2000": JPEG2000Lossless,
    "enhanced": ExplicitVRLittleEndian,
    "enhanced_rle": RLELossless,
    "deflated": DeflatedExplicitVRLittleEndian,
}
KINDS = (
    "truncate",
    "flip",
    "zero_run",
    "insert",
    "lie",
    "rescale",
    "geometry",
    "fragment",
    "rewrap",
)
DETECTABLE = {"truncate", "rewrap", "fragment", "lie", "geometry"}
# Rescale values that must never load unnamed (finite ones, however odd, are the header's)
NON_FINITE = {"NaN", "inf", "-inf", "abc"}
_notes: list[str] = []  # what the last mutation did (e.g. "RescaleSlope=NaN")
SHAPE = (4, 32, 32)


@dataclass(frozen=True)
class Base:
    """One pristine series: its folder, transfer syntax and files."""

    name: str
    folder: Path
    tsuid: str
    files: tuple[Path, ...]


def make_bases(root: Path) -> dict[str, Base]:
    """Write every base series under ``root`` (deterministic content, fresh UIDs)."""
    bases: dict[str, Base] = {}
    for name, tsuid in BASES.items():
        folder = root / name
        spec = SeriesSpec(phantom(SHAPE, seed=1))
        if name.startswith("enhanced"):
            path = write_enhanced(folder / "MF.dcm", spec)
            if tsuid == RLELossless:
                ds = pydicom.dcmread(path)
                ds.compress(RLELossless, generate_instance_uid=False)
                ds.save_as(path, enforce_file_format=True)
            files: tuple[Path, ...] = (path,)
        elif tsuid == DeflatedExplicitVRLittleEndian:
            files = tuple(write_series(folder, spec))
            for path in files:  # pydicom deflates the data set on writing
                ds = pydicom.dcmread(path)
                ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
                ds.save_as(path, enforce_file_format=True)
        else:
            files = tuple(write_series(folder, spec, tsuid=tsuid))
        bases[name] = Base(name, folder, tsuid, files)
    return bases


# --- mutations -------------------------------------------------------------------------
def _pixel_start(data: bytes) -> int:
    at = data.rfind(b"\xe0\x7f\x10\x00")
    return at if at >= 0 else data.rfind(b"\x7f\xe0\x00\x10")


def _truncate(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def _flip(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        at = int(rng.integers(0, len(out)))
        out[at] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _zero_run(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    at = int(rng.integers(0, len(data)))
    n = int(rng.integers(4, 65))
    return data[:at] + b"\0" * min(n, len(data) - at) + data[at + n :]


def _insert(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    at = int(rng.integers(0, len(data)))
    return data[:at] + rng.bytes(int(rng.integers(1, 33))) + data[at:]


_LIES: tuple[tuple[str, Any], ...] = (
    ("Rows", 65535),
    ("Columns", 65535),
    ("Rows", 0),
    ("Rows", 12),
    ("Columns", 40),
    ("NumberOfFrames", 100_000_000),
    ("NumberOfFrames", 7),
    ("BitsAllocated", 32),
    ("BitsAllocated", 8),
    ("SamplesPerPixel", 3),
    ("PixelRepresentation", 0),
)
# Not a lie a loader can see: BitsStored below the values' bits (the high bits are
# masked, as the standard says — real files carry overlays there).
_RESCALES = ("NaN", "inf", "-inf", "1e308", "-1e308", "abc", "1e38")
_GEOMETRY: tuple[tuple[str, Any], ...] = (
    ("ImageOrientationPatient", [1, 0, 0, 0.3, 0.954, 0]),
    ("ImageOrientationPatient", [0, 0, 0, 0, 1, 0]),
    ("ImageOrientationPatient", [1, 0, 0, 1, 0, 0]),
    ("ImageOrientationPatient", [2, 0, 0, 0, 2, 0]),
    ("ImagePositionPatient", ["NaN", 0, 0]),
    ("ImagePositionPatient", [1e300, 0, 0]),
    ("PixelSpacing", [0, 0.7]),
    ("PixelSpacing", [1e-9, 1e-9]),
    ("PixelSpacing", [1e9, 0.7]),
    ("SliceThickness", "NaN"),
)


def _rewrite(path: Path, change: Callable[[pydicom.Dataset], None]) -> bytes:
    from pydicom import config

    ds = pydicom.dcmread(path)
    mode = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE  # lies must be writable
    try:
        change(ds)
    finally:
        config.settings.writing_validation_mode = mode
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.dcm"
        ds.save_as(out, enforce_file_format=True)
        return out.read_bytes()


def _lie(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    key, value = _LIES[int(rng.integers(0, len(_LIES)))]
    _notes.append(f"{key}={value}")
    return _rewrite(path, lambda ds: setattr(ds, key, value))


def _rescale(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    key = ("RescaleSlope", "RescaleIntercept")[int(rng.integers(0, 2))]
    value = _RESCALES[int(rng.integers(0, len(_RESCALES)))]
    _notes.append(f"{key}={value}")

    def change(ds: pydicom.Dataset) -> None:
        item = ds
        if "PerFrameFunctionalGroupsSequence" in ds:
            item = ds.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
        item.add_new(item[key].tag, "LO", value)  # LO: DS cannot hold 'abc'

    return _rewrite(path, change)


def _geometry(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    key, value = _GEOMETRY[int(rng.integers(0, len(_GEOMETRY)))]
    _notes.append(f"{key}={value}")

    def change(ds: pydicom.Dataset) -> None:
        target = ds
        if "PerFrameFunctionalGroupsSequence" in ds:
            groups = ds.SharedFunctionalGroupsSequence[0]
            target = {
                "ImageOrientationPatient": groups.PlaneOrientationSequence[0],
                "PixelSpacing": groups.PixelMeasuresSequence[0],
                "SliceThickness": groups.PixelMeasuresSequence[0],
                "ImagePositionPatient": ds.PerFrameFunctionalGroupsSequence[
                    1
                ].PlanePositionSequence[0],
            }[key]
        vals = [str(v) for v in value] if isinstance(value, list) else str(value)
        target[key].value = vals

    return _rewrite(path, change)


def _fragment(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    """Corrupt the encapsulated structure: an item length, tag, or the delimiter."""
    items = [
        i
        for i in range(_pixel_start(data), len(data) - 3)
        if data[i : i + 4] == b"\xfe\xff\x00\xe0"
    ]
    out = bytearray(data)
    if not items:
        return _flip(data, rng, path)
    at = items[int(rng.integers(0, len(items)))]
    choice = int(rng.integers(0, 3))
    if choice == 0:
        out[at + 4 : at + 8] = int(rng.integers(0, 1 << 32)).to_bytes(4, "little")
    elif choice == 1:
        out[at : at + 4] = rng.bytes(4)
    else:
        out[-8:] = rng.bytes(8)
    return bytes(out)


def _rewrap(data: bytes, rng: np.random.Generator, path: Path) -> bytes:
    """Re-encapsulate a short codestream (compressed single-frame files; else truncate)."""
    ds = pydicom.dcmread(path)
    if not ds.file_meta.TransferSyntaxUID.is_compressed or int(ds.get("NumberOfFrames", 1)) > 1:
        return _truncate(data, rng, path)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    cut = frame[: int(rng.integers(2, max(3, len(frame))))]
    return _rewrite(
        path, lambda d: setattr(d, "PixelData", encapsulate([cut + b"\0" * (len(cut) % 2)]))
    )


MUTATIONS: dict[str, Callable[[bytes, np.random.Generator, Path], bytes]] = {
    "truncate": _truncate,
    "flip": _flip,
    "zero_run": _zero_run,
    "insert": _insert,
    "lie": _lie,
    "rescale": _rescale,
    "geometry": _geometry,
    "fragment": _fragment,
    "rewrap": _rewrap,
}


def make_mutant(bases: dict[str, Base], seed: int, index: int, root: Path) -> dict[str, Any]:
    """Write mutant ``index`` of ``seed`` under ``root``; returns its description."""
    rng = np.random.default_rng([seed, index])
    names = sorted(bases)
    base = bases[names[int(rng.integers(0, len(names)))]]
    kind = KINDS[int(rng.integers(0, len(KINDS)))]
    if kind in ("fragment", "rewrap") and base.tsuid not in COMPRESSED:
        kind = {"fragment": "flip", "rewrap": "truncate"}[kind]  # no fragments here
    k = int(rng.integers(0, len(base.files)))
    folder = root / f"m{index}"
    shutil.copytree(base.folder, folder)
    target = folder / base.files[k].name
    _notes.clear()
    target.write_bytes(MUTATIONS[kind](target.read_bytes(), rng, target))
    note = "; ".join(_notes)
    must_flag = kind in DETECTABLE or (kind == "rescale" and note.split("=", 1)[1] in NON_FINITE)
    return {
        "index": index,
        "base": base.name,
        "kind": kind,
        "note": note,
        "must_flag": must_flag,
        "file": target.name,
        "folder": str(folder),
    }


# --- judging ---------------------------------------------------------------------------
def _pristine(base: Base, cache: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """SOPInstanceUID -> pristine slices (output units) of a base series."""
    if base.name not in cache:
        from blockplan.io import discover, load_series

        vol = load_series(discover(base.folder).series[0])
        by_uid: dict[str, list[np.ndarray]] = {}
        for uid, sl in zip(vol.sop_instance_uids, vol.array):
            by_uid.setdefault(uid, []).append(np.asarray(sl))
        cache[base.name] = {u: np.stack(v) for u, v in by_uid.items()}
    return cache[base.name]


def _orthonormal(affine: np.ndarray) -> bool:
    c0, c1 = affine[:3, 0], affine[:3, 1]
    cos = abs(float(c0 @ c1)) / (float(np.linalg.norm(c0) * np.linalg.norm(c1)) or 1.0)
    return cos < 2e-3


def run_mutant(
    desc: dict[str, Any], bases: dict[str, Base], cache: dict[str, dict[str, np.ndarray]]
) -> dict[str, Any]:
    """Discover and load one mutant; ``desc`` plus ``outcome`` (and ``detail``)."""
    from blockplan.errors import BlockplanError
    from blockplan.io import discover, load_series

    base = bases[desc["base"]]
    name = desc["file"]
    sop = pydicom.dcmread(base.folder / name, stop_before_pixels=True).SOPInstanceUID
    pristine = _pristine(base, cache)
    outcome, detail, flagged, workers = "refused", "", False, 0
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = discover(desc["folder"])
            flagged = any(Path(s.path).name == name for s in found.skipped)
            vols = []
            for s in found.series:
                flagged |= any(name in r for r in s.reasons)
                try:
                    vols.append(load_series(s))
                except BlockplanError:
                    continue
        flagged |= any(name in str(w.message) for w in caught)
        workers = sum(
            "decoder process ended" in str(w.message) or "no decoder finished" in str(w.message)
            for w in caught
        )
        outcome = "loaded" if vols else "refused"
        for vol in vols:
            bad = _silent_problem(vol, sop, pristine, desc["must_flag"], desc["kind"])
            if bad and not flagged:
                outcome, detail = "silent", bad
    except BlockplanError as err:
        detail = str(err)[:200]
    except BaseException as err:  # what the loader must never let out
        if isinstance(err, KeyboardInterrupt | SystemExit):
            raise
        outcome, detail = "uncaught", f"{type(err).__name__}: {str(err)[:200]}"
    return {**desc, "outcome": outcome, "detail": detail, "worker_ended": workers}


def _silent_problem(
    vol: Any, sop: str, pristine: dict[str, np.ndarray], must_flag: bool, kind: str
) -> str:
    """Why this loaded volume is wrong without anyone saying so ("" when it is right).

    Always: non-finite values, non-orthogonal axes. With ``must_flag`` (damage a loader
    can detect): the damaged file's slices loaded with other values than the pristine
    ones — or at all, for a NaN/inf/non-numeric rescale value."""
    if vol.array.dtype.kind == "f" and not np.all(np.isfinite(vol.array)):
        return "non-finite voxel values"
    if not _orthonormal(vol.affine):
        return "row and column directions not orthogonal"
    picked = [k for k, u in enumerate(vol.sop_instance_uids) if u == sop]
    if not picked or not must_flag:
        return ""
    want = pristine.get(sop)
    got = vol.array[picked]
    if want is None or want.shape != got.shape:
        return f"slice(s) of the damaged file loaded with shape {got.shape}"
    if not np.array_equal(want, got):
        return "values of the damaged file's slice(s) differ from the pristine ones"
    if kind == "rescale":
        return "slice(s) with a NaN/inf/non-numeric rescale value loaded"
    return ""


def main(argv: list[str]) -> None:
    """``python -m tests.io._fuzz SEED FIRST LAST [BUDGET_S]``: mutants FIRST..LAST-1,
    one JSON line per mutant on stdout ("start" before, the outcome after, with the
    process's peak RSS in MiB). A mutant over BUDGET_S seconds ends the process
    (faulthandler watchdog, exit code 1): the caller counts it as a hang."""
    seed, first, last = (int(a) for a in argv[:3])
    budget = float(argv[3]) if len(argv) > 3 else 20.0
    root = Path(tempfile.mkdtemp(prefix="blockplan-fuzz-"))
    try:
        bases = make_bases(root / "bases")
        cache: dict[str, dict[str, np.ndarray]] = {}
        for name in bases:
            _pristine(bases[name], cache)
        for i in range(first, last):
            desc = make_mutant(bases, seed, i, root / "mutants")
            print(json.dumps({"start": i}), flush=True)
            faulthandler.dump_traceback_later(budget, exit=True)
            result = run_mutant(desc, bases, cache)
            faulthandler.cancel_dump_traceback_later()
            result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps(result), flush=True)
            shutil.rmtree(desc["folder"], ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
