"""Benchmark: blockplan.io load_series against SimpleITK ImageSeriesReader and a raw-read floor.

Generates (into a temporary folder) a synthetic 400-slice 512×512 int16 CT series and
lossless compressed copies (RLE, JPEG lossless SV1, JPEG-LS, JPEG 2000), then times, in one run
and each in a fresh subprocess (for an honest peak RSS):

* ``blockplan``: ``discover(folder)`` + ``load_series(series)`` (headers, then pixels);
* ``simpleitk``: ``ImageSeriesReader.GetGDCMSeriesFileNames(folder)`` + ``Execute()``;
* ``raw``: reading every file's bytes (the I/O floor).

Peak memory is the growth of the process's RSS high-water mark (``ru_maxrss``) during
the measurement, above the baseline after imports. Prints a markdown table with time
ratios against SimpleITK and peak memory relative to the volume's bytes.

Usage::

    python benchmarks/load_series.py [--slices 400] [--size 512] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

SYNTAX_NAMES = {
    "uncompressed": "1.2.840.10008.1.2.1",
    "rle": "1.2.840.10008.1.2.5",
    "jpeg_lossless": "1.2.840.10008.1.2.4.70",
    "jpeg_ls": "1.2.840.10008.1.2.4.80",
    "jpeg2000": "1.2.840.10008.1.2.4.90",
}
TARGETS = {  # time ratio blockplan / SimpleITK
    "uncompressed": 0.5,
    "rle": 0.1,
    "jpeg_lossless": 1.0,
    "jpeg_ls": 1.0,
    "jpeg2000": 1.0,
}


# --- data ------------------------------------------------------------------------------
def _slice_image(k: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A CT-like slice in stored values (HU + 1024): body, spine, noise."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    img = np.full((size, size), -1000.0, dtype=np.float32)
    body = (x / 0.42) ** 2 + (y / 0.32) ** 2 < 1
    img[body] = 40.0
    fat = body & ((x / 0.40) ** 2 + (y / 0.30) ** 2 > 1)
    img[fat] = -90.0
    cy = 0.12 + 0.01 * np.sin(k / 15)
    vertebra = (x / 0.07) ** 2 + ((y - cy) / 0.06) ** 2 < 1
    img[vertebra] = 700.0
    canal = (x / 0.025) ** 2 + ((y - cy + 0.07) / 0.025) ** 2 < 1
    img[canal] = 20.0
    img += rng.normal(0, 12, size=img.shape).astype(np.float32)
    return np.clip(np.rint(img + 1024), 0, 4095).astype(np.int16)


def _write_one(args: tuple[str, int, int, str, str, str, str]) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder, k, size, series_uid, study_uid, for_uid, syntax = args
    rng = np.random.default_rng(k)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientName, ds.PatientID = "SYNTHETIC^BENCHMARK", "BENCH"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = (
        study_uid,
        series_uid,
        for_uid,
    )
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, k + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [-200.0, -200.0, -300.0 + 1.25 * k]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.78125, 0.78125]
    ds.SliceThickness = 1.25
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = _slice_image(k, size, rng).tobytes()
    path = Path(folder) / f"IM{k:05d}.dcm"
    uid = SYNTAX_NAMES[syntax]
    if syntax in ("rle", "jpeg_ls", "jpeg2000"):
        ds.compress(uid, generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)
    if syntax == "jpeg_lossless":
        import gdcm

        reader = gdcm.ImageReader()
        reader.SetFileName(str(path))
        reader.Read()
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        change.Change()
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(path))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        writer.Write()


def generate(root: Path, slices: int, size: int) -> dict[str, Path]:
    from pydicom.uid import generate_uid

    folders: dict[str, Path] = {}
    jobs = []
    for syntax in SYNTAX_NAMES:
        folder = root / syntax
        folder.mkdir(parents=True, exist_ok=True)
        folders[syntax] = folder
        ids = (generate_uid(), generate_uid(), generate_uid())
        jobs += [(str(folder), k, size, *ids, syntax) for k in range(slices)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_write_one, jobs, chunksize=16))
    return folders


# --- measurements (each in its own process) --------------------------------------------
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def measure(method: str, folder: str) -> dict[str, Any]:
    """Run one measurement in this process; returns seconds and peak RSS growth."""
    if method == "blockplan":
        # Imports stay outside the timing, as SimpleITK's do: blockplan imports pydicom's
        # decoder registry only when compressed data is met, so import it here.
        import pydicom.pixels  # noqa: F401

        from blockplan.io import discover, load_series

        baseline = _rss_mb()
        t0 = time.perf_counter()
        found = discover(folder)
        t1 = time.perf_counter()
        vol = load_series(found.series[0])
        t2 = time.perf_counter()
        arr = vol.array
        extra = {"discover_s": t1 - t0, "load_s": t2 - t1}
    elif method == "simpleitk":
        import SimpleITK as sitk

        baseline = _rss_mb()
        t0 = time.perf_counter()
        reader = sitk.ImageSeriesReader()
        names = reader.GetGDCMSeriesFileNames(folder)
        t1 = time.perf_counter()
        reader.SetFileNames(names)
        img = reader.Execute()
        t2 = time.perf_counter()
        arr = sitk.GetArrayViewFromImage(img)
        extra = {"discover_s": t1 - t0, "load_s": t2 - t1}
    elif method == "raw":
        baseline = _rss_mb()
        t0 = time.perf_counter()
        total = 0
        for p in sorted(Path(folder).iterdir()):
            with open(p, "rb") as fp:
                total += len(fp.read())
        t2 = time.perf_counter()
        arr = np.zeros((1,), np.int16)
        extra = {"bytes": total}
    else:
        raise SystemExit(f"unknown method {method}")
    peak = _rss_mb() - baseline
    return {
        "method": method,
        "seconds": t2 - t0,
        "peak_mb": peak,
        "shape": list(arr.shape),
        "dtype": str(arr.dtype),
        "checksum": float(np.asarray(arr, dtype=np.float64)[::7, ::7, ::7].sum())
        if arr.ndim == 3
        else 0.0,
        **extra,
    }


def _run(method: str, folder: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", method, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=400)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="generate into / reuse this folder")
    parser.add_argument("--measure", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return

    tmp = None
    if args.keep is not None:
        root = args.keep
        exists = all((root / s).is_dir() and any((root / s).iterdir()) for s in SYNTAX_NAMES)
    else:
        tmp = tempfile.mkdtemp(prefix="blockplan-bench-")
        root, exists = Path(tmp), False
    try:
        t0 = time.perf_counter()
        if not exists:
            generate(root, args.slices, args.size)
        print(f"data ready in {time.perf_counter() - t0:.1f} s under {root}", file=sys.stderr)
        volume_mb = args.slices * args.size * args.size * 2 / 2**20
        rows = []
        for syntax in SYNTAX_NAMES:
            folder = root / syntax
            best: dict[str, dict[str, Any]] = {}
            for _ in range(args.repeat):
                for method in ("raw", "simpleitk", "blockplan"):
                    r = _run(method, folder)
                    if method not in best or r["seconds"] < best[method]["seconds"]:
                        best[method] = r
            b, s, raw = best["blockplan"], best["simpleitk"], best["raw"]
            assert b["shape"] == s["shape"], (b["shape"], s["shape"])
            assert abs(b["checksum"] - s["checksum"]) < 1e-6, "blockplan and SimpleITK disagree"
            size_mb = raw["bytes"] / 2**20
            rows.append(
                {
                    "syntax": syntax,
                    "files_mb": size_mb,
                    "raw_s": raw["seconds"],
                    "sitk_s": s["seconds"],
                    "bp_s": b["seconds"],
                    "bp_discover_s": b["discover_s"],
                    "bp_load_s": b["load_s"],
                    "ratio": b["seconds"] / s["seconds"],
                    "target": TARGETS[syntax],
                    "bp_peak": b["peak_mb"] / volume_mb,
                    "sitk_peak": s["peak_mb"] / volume_mb,
                }
            )
        print(
            f"\n{args.slices} slices of {args.size}×{args.size} int16 "
            f"(volume {volume_mb:.0f} MiB); best of {args.repeat}, each run in a fresh process; "
            f"{os.cpu_count()} CPUs\n"
        )
        print(
            "| transfer syntax | files MiB | raw read s | SimpleITK s | blockplan s "
            "(discover + load) | ratio (target) | peak RSS blockplan / SimpleITK (× volume) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            ok = "✓" if r["ratio"] <= r["target"] else "✗"
            print(
                f"| {r['syntax']} | {r['files_mb']:.0f} | {r['raw_s']:.3f} | {r['sitk_s']:.3f} | "
                f"{r['bp_s']:.3f} ({r['bp_discover_s']:.3f} + {r['bp_load_s']:.3f}) | "
                f"{r['ratio']:.2f} (≤ {r['target']}) {ok} | "
                f"{r['bp_peak']:.2f} / {r['sitk_peak']:.2f} |"
            )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
