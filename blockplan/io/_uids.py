"""Transfer syntax UIDs and their names, without importing pydicom.

Importing pydicom costs a command 0.2–0.6 s (its pixel decoder plugins, GDCM's bindings
among them, are probed at import), so the header and listing path names the common
transfer syntaxes itself; `name` asks pydicom only for others. The values and names are
pydicom's (tests/io/test_raw_headers.py compares them).
"""

from __future__ import annotations

__all__ = ["NAMES", "NATIVE", "name"]

ImplicitVRLittleEndian = "1.2.840.10008.1.2"
ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
ExplicitVRBigEndian = "1.2.840.10008.1.2.2"
JPEGBaseline8Bit = "1.2.840.10008.1.2.4.50"
JPEGExtended12Bit = "1.2.840.10008.1.2.4.51"
JPEGLossless = "1.2.840.10008.1.2.4.57"
JPEGLosslessSV1 = "1.2.840.10008.1.2.4.70"
JPEGLSLossless = "1.2.840.10008.1.2.4.80"
JPEGLSNearLossless = "1.2.840.10008.1.2.4.81"
JPEG2000Lossless = "1.2.840.10008.1.2.4.90"
JPEG2000 = "1.2.840.10008.1.2.4.91"
JPEG2000MC = "1.2.840.10008.1.2.4.93"
RLELossless = "1.2.840.10008.1.2.5"

# Pixel data as stored values (deflated: once inflated): no decoder plugin needed.
NATIVE = frozenset(
    {
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        DeflatedExplicitVRLittleEndian,
    }
)

NAMES: dict[str, str] = {
    ImplicitVRLittleEndian: "Implicit VR Little Endian",
    ExplicitVRLittleEndian: "Explicit VR Little Endian",
    DeflatedExplicitVRLittleEndian: "Deflated Explicit VR Little Endian",
    ExplicitVRBigEndian: "Explicit VR Big Endian",
    JPEGBaseline8Bit: "JPEG Baseline (Process 1)",
    JPEGExtended12Bit: "JPEG Extended (Process 2 and 4)",
    JPEGLossless: "JPEG Lossless, Non-Hierarchical (Process 14)",
    JPEGLosslessSV1: (
        "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"
    ),
    JPEGLSLossless: "JPEG-LS Lossless Image Compression",
    JPEGLSNearLossless: "JPEG-LS Lossy (Near-Lossless) Image Compression",
    JPEG2000Lossless: "JPEG 2000 Image Compression (Lossless Only)",
    JPEG2000: "JPEG 2000 Image Compression",
    JPEG2000MC: "JPEG 2000 Part 2 Multi-component Image Compression",
    RLELossless: "RLE Lossless",
}


def name(uid: str) -> str:
    """The UID's name as pydicom gives it (``UID(uid).name``)."""
    known = NAMES.get(uid)
    if known is not None:
        return known
    from pydicom.uid import UID

    return str(UID(uid).name)
