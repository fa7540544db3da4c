"""The synthetic post-operative lumbar spine study behind ``sample_dicom/``.

``generate_sample_study(out_dir, seed)`` writes a CT and three MR series of one synthetic
patient (a left L4–L5 laminotomy/discectomy with epidural scar around the left L5 root),
plus ground truth in DICOM patient coordinates (LPS, mm). Run it from the shell with
``python -m blockplan.sample OUT_DIR [--seed N]``. No patient data is involved anywhere.
"""

from __future__ import annotations

from blockplan.sample.study import DEFAULT_SEED, generate_sample_study

__all__ = ["DEFAULT_SEED", "generate_sample_study"]
