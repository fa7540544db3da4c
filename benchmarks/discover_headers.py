"""Benchmark: blockplan.io discover (headers only) against a bare pydicom header loop.

Issue 16 point 7: discovery per file should cost at most what a bare
``pydicom.dcmread(path, stop_before_pixels=True)`` loop over the same files costs.
Generates ``--files`` single-frame CT files (64² pixels: header cost does not depend on
the image size) in one or more transfer syntaxes, then times, in one process and
alternating, best of ``--repeat``:

* ``bare``: ``dcmread(path, stop_before_pixels=True)`` for every file (the peer);
* ``blockplan``: ``discover(folder)`` (headers, regular-file and size checks, grouping,
  geometry of every series);
* for reference, the pydicom route considered first: ``dcmread(path,
  stop_before_pixels=True, specific_tags=[…])`` with the ~36 tags discovery reads (values
  still to be read through `Dataset` accessors).

Prints a markdown table with ms per file and the ratio blockplan / bare (goal ≤ 1.0).

Usage::

    python benchmarks/discover_headers.py [--files 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

SYNTAXES = {"uncompressed": "1.2.840.10008.1.2.1", "rle": "1.2.840.10008.1.2.5"}


def _write(folder: Path, n: int, syntax: str) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True)
    series, study, frame = generate_uid(), generate_uid(), generate_uid()
    pixels = (np.arange(64 * 64, dtype=np.int16).reshape(64, 64) % 2000).tobytes()
    for k in range(n):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.PatientName, ds.PatientID = "SYNTHETIC^BENCHMARK", "BENCH"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [-200.0, -200.0, -300.0 + 0.5 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [0.78, 0.78], 0.5
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = 64
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.PixelData = pixels
        if syntax != "uncompressed":
            ds.compress(SYNTAXES[syntax], generate_instance_uid=False)
        ds.save_as(folder / f"IM{k:05d}.dcm", enforce_file_format=True)


def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import pydicom

    from blockplan.io import discover
    from blockplan.io._rawheader import KEYWORDS

    tags = [tag for tag, _ in KEYWORDS.values()]

    print(
        "| transfer syntax | files | bare dcmread ms/file | blockplan discover ms/file "
        "| ratio (≤ 1.0) | dcmread specific_tags ms/file |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for syntax in SYNTAXES:
            folder = Path(tmp) / syntax
            _write(folder, args.files, syntax)
            files = sorted(os.path.join(folder, f) for f in os.listdir(folder))

            def bare(files: list[str] = files) -> None:
                for f in files:
                    pydicom.dcmread(f, stop_before_pixels=True)

            def ours(folder: Path = folder) -> None:
                discover(folder)

            def specific(files: list[str] = files) -> None:
                for f in files:
                    pydicom.dcmread(f, stop_before_pixels=True, specific_tags=tags)

            b = o = s = float("inf")
            for _ in range(2):  # alternate, so all see the same machine load
                b = min(b, _best(bare, args.repeat))
                o = min(o, _best(ours, args.repeat))
                s = min(s, _best(specific, args.repeat))
            n = len(files)
            ms = [f"{t / n * 1e3:.3f}" for t in (b, o)]
            print(f"| {syntax} | {n} | {' | '.join(ms)} | {o / b:.2f} | {s / n * 1e3:.3f} |")


if __name__ == "__main__":
    main()
