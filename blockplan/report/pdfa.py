"""Make a reportlab PDF a reproducible PDF/A-2b file (pikepdf).

reportlab has no PDF/A mode; it does embed every TrueType font it uses, and the report
uses nothing else. This module adds what PDF/A-2b needs on top (ISO 19005-2, level B):

* an sRGB output intent (``/OutputIntents`` with ``/S /GTS_PDFA1`` and the ICC profile as
  ``/DestOutputProfile``);
* XMP metadata with ``pdfaid:part`` 2 and ``pdfaid:conformance`` B, consistent with a new
  document information dictionary (title, author, subject, keywords, creator, producer,
  dates);
* a trailer ``/ID`` whose first element is derived from the report id;

and checks there is no encryption and no JavaScript.

**No stream ends in CR.** qpdf writes a LF before ``endstream``; when a stream's raw
data itself ends in byte 0x0D, a reader takes CR LF as the end-of-line marker and counts
one byte less than ``/Length``: rule 6.1.7.1 of PDF/A-2 fails. A Flate stream ends in
the Adler-32 checksum of its decoded data, so this hit about one stream in 256 — about
one report in 20 — and re-compressing cannot help (same data, same checksum).
`_end_streams_without_cr` wraps such a stream's data in an outer ``/ASCII85Decode``
layer, whose data always ends in ``~>``. The output is byte-reproducible:
every date comes from the caller, the XMP document id from the report id, and the second
``/ID`` element is a digest of the content (qpdf's deterministic id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import io
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from blockplan.errors import ReportError

if TYPE_CHECKING:
    import pikepdf

__all__ = ["ICC_SEARCH_PATHS", "PdfaMetadata", "make_pdfa", "srgb_icc_profile"]

ICC_SEARCH_PATHS: tuple[str, ...] = (
    "/usr/share/color/icc/sRGB.icc",  # Debian icc-profiles-free
    "/usr/share/color/icc/colord/sRGB.icc",  # colord
    "/usr/share/color/icc/ghostscript/srgb.icc",  # Debian ghostscript
    "/usr/share/ghostscript/iccprofiles/srgb.icc",
)
"""Where an sRGB ICC profile is looked for first; then highdicom's bundled sRGB profile
(`bundled_icc_path`), and last Pillow's built-in sRGB profile."""


def bundled_icc_path() -> Path | None:
    """highdicom's bundled sRGB profile (``highdicom/_icc_profiles``), located without
    importing highdicom; None when it is not there."""
    spec = importlib.util.find_spec("highdicom")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for path in sorted((Path(folder) / "_icc_profiles").glob("sRGB*.icc")):
            return path
    return None


_NAMESPACE = uuid.UUID("6f0d3c52-8d3e-4d39-9a57-2f1f5a0b8c11")


@dataclass(frozen=True, slots=True)
class PdfaMetadata:
    """Document metadata written to the information dictionary and to XMP.

    Attributes
    ----------
    title, author, subject, keywords
        Text fields; no patient identifiers belong here (the viewer shows them).
    report_id
        The report's identifier: ``dc:identifier``, the XMP document id and the first
        element of the trailer ``/ID`` are derived from it.
    created_at
        Creation and modification date (time-zone aware).
    creator, producer
        Application that made the content, and the library chain that wrote the file.
    language
        BCP 47 language of the text (``/Lang`` of the catalogue, ``xml:lang`` in XMP).
    relations
        ``dc:relation`` entries (URNs naming the case, study and patient digest, see
        `blockplan.report.identity`).
    """

    title: str
    author: str
    subject: str
    keywords: str
    report_id: str
    created_at: dt.datetime
    creator: str
    producer: str
    language: str = "en"
    relations: tuple[str, ...] = ()


def srgb_icc_profile() -> bytes:
    """Bytes of an sRGB ICC profile (a system file, else highdicom's bundled profile, else
    Pillow's built-in profile).

    Pillow's profile carries the time it was made; that date and the profile id are
    zeroed so that reports stay byte-reproducible.
    """
    bundled = bundled_icc_path()
    for path in [Path(c) for c in ICC_SEARCH_PATHS] + ([bundled] if bundled else []):
        if path.is_file():
            data = path.read_bytes()
            if len(data) > 128 and data[16:20] == b"RGB ":
                return data
    try:
        from PIL import ImageCms

        made = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    except (ImportError, OSError) as err:  # pragma: no cover - Pillow without littlecms
        raise ReportError(
            "no sRGB ICC profile found (looked in "
            f"{', '.join(ICC_SEARCH_PATHS)}) and Pillow cannot make one ({err}); install the "
            "Debian package icc-profiles-free"
        ) from err
    made[24:36] = bytes(12)  # creation date
    made[84:100] = bytes(16)  # profile id (MD5 over a header that included the date)
    return bytes(made)


def _pdf_date(when: dt.datetime) -> str:
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return when.strftime("D:%Y%m%d%H%M%S") + f"{sign}{hh:02d}'{mm:02d}'"


def _xmp_date(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def _xmp_packet(meta: PdfaMetadata) -> bytes:
    e = escape
    lang = e(meta.language)
    date = _xmp_date(meta.created_at)
    doc_uuid = uuid.uuid5(_NAMESPACE, meta.report_id)
    relations = "".join(f"<rdf:li>{e(r)}</rdf:li>" for r in meta.relations)
    relation = f"<dc:relation><rdf:Bag>{relations}</rdf:Bag></dc:relation>" if relations else ""
    xml = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e(meta.title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{e(meta.author)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{e(meta.subject)}</rdf:li></rdf:Alt>
   </dc:description>
   <dc:identifier>{e(meta.report_id)}</dc:identifier>
   {relation}
   <dc:language><rdf:Bag><rdf:li>{lang}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <xmp:CreatorTool>{e(meta.creator)}</xmp:CreatorTool>
   <pdf:Producer>{e(meta.producer)}</pdf:Producer>
   <pdf:Keywords>{e(meta.keywords)}</pdf:Keywords>
   <xmpMM:DocumentID>uuid:{doc_uuid}</xmpMM:DocumentID>
   <xmpMM:InstanceID>uuid:{doc_uuid}</xmpMM:InstanceID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return xml.encode("utf-8")


def make_pdfa(pdf_bytes: bytes, meta: PdfaMetadata, *, icc_profile: bytes | None = None) -> bytes:
    """Turn a reportlab PDF (all fonts embedded) into a PDF/A-2b file.

    Parameters
    ----------
    pdf_bytes
        The PDF written by reportlab.
    meta
        Metadata for the information dictionary and XMP.
    icc_profile
        sRGB ICC profile bytes; default `srgb_icc_profile`.

    Returns
    -------
    bytes
        The PDF/A-2b file; equal input gives equal bytes.

    Raises
    ------
    ReportError
        When the input is encrypted, carries JavaScript, or uses a font that is not
        embedded (PDF/A forbids each).
    """
    import pikepdf

    if meta.created_at.tzinfo is None:
        raise ReportError("report creation date must carry a time zone (e.g. +01:00)")
    try:
        pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    except pikepdf.PdfError as err:
        raise ReportError(f"the PDF written by reportlab cannot be read back ({err})") from err
    with pdf:
        if pdf.is_encrypted:
            raise ReportError("the report PDF is encrypted; PDF/A forbids encryption")
        _check_no_javascript(pdf)
        _check_fonts_embedded(pdf)
        _add_output_intent(pdf, icc_profile if icc_profile is not None else srgb_icc_profile())
        _add_metadata(pdf, meta)
        _end_streams_without_cr(pdf)
        return _save(pdf)


def _add_output_intent(pdf: pikepdf.Pdf, icc: bytes) -> None:
    """The sRGB output intent PDF/A requires for device colours."""
    from pikepdf import Array, Dictionary, Name, String

    profile = pdf.make_stream(zlib.compress(icc, 9), Filter=Name.FlateDecode, N=3)
    pdf.Root.OutputIntents = Array(
        [
            Dictionary(
                Type=Name.OutputIntent,
                S=Name.GTS_PDFA1,
                OutputConditionIdentifier=String("sRGB IEC61966-2.1"),
                RegistryName=String("http://www.color.org"),
                Info=String("sRGB IEC61966-2.1"),
                DestOutputProfile=profile,
            )
        ]
    )


def _add_metadata(pdf: pikepdf.Pdf, meta: PdfaMetadata) -> None:
    """XMP (with the PDF/A identification), language, information dictionary and file id,
    all derived from ``meta`` so that equal input gives equal bytes."""
    from pikepdf import Array, Dictionary, Name, String

    metadata = pdf.make_stream(_xmp_packet(meta))
    metadata.Type = Name.Metadata
    metadata.Subtype = Name.XML
    pdf.Root.Metadata = metadata
    pdf.Root.Lang = String(meta.language)
    date = _pdf_date(meta.created_at)
    pdf.trailer.Info = pdf.make_indirect(
        Dictionary(
            Title=String(meta.title),
            Author=String(meta.author),
            Subject=String(meta.subject),
            Keywords=String(meta.keywords),
            Creator=String(meta.creator),
            Producer=String(meta.producer),
            CreationDate=String(date),
            ModDate=String(date),
        )
    )
    first_id = hashlib.md5(meta.report_id.encode("utf-8"), usedforsecurity=False).digest()
    pdf.trailer.ID = Array([String(first_id), String(first_id)])


def _save(pdf: pikepdf.Pdf) -> bytes:
    import pikepdf

    out = io.BytesIO()
    pdf.remove_unreferenced_resources()
    pdf.save(
        out,
        deterministic_id=True,
        # reportlab's streams are Flate already: copy them as they are (re-encoding
        # would cost more than the whole layout); the XMP stays uncompressed.
        compress_streams=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        fix_metadata_version=False,
    )
    return out.getvalue()


def _end_streams_without_cr(pdf: pikepdf.Pdf) -> None:
    """Give every stream whose raw data ends in CR an outer ASCII85 layer (see module docs)."""
    import base64

    import pikepdf

    for obj in _walk_objects(pdf):
        if not isinstance(obj, pikepdf.Stream) or not obj.read_raw_bytes().endswith(b"\r"):
            continue
        raw = obj.read_raw_bytes()
        filters, parms = obj.get("/Filter"), obj.get("/DecodeParms")
        inner = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
        inner = [f for f in inner if f is not None]
        decode_parms = None
        if parms is not None:
            inner_parms = list(parms) if isinstance(parms, pikepdf.Array) else [parms]
            decode_parms = pikepdf.Array([None, *inner_parms])
        obj.write(
            base64.a85encode(raw) + b"~>",
            filter=pikepdf.Array([pikepdf.Name.ASCII85Decode, *inner]),
            decode_parms=decode_parms,
        )


def _walk_objects(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    return list(pdf.objects)


def _check_no_javascript(pdf: pikepdf.Pdf) -> None:
    """Refuse any /JS or /JavaScript key, or a JavaScript action, anywhere in the file."""
    import pikepdf

    seen: set[tuple[int, int]] = set()
    stack: list[object] = [pdf.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            if "/JS" in obj or "/JavaScript" in obj or obj.get("/S") == pikepdf.Name.JavaScript:
                raise ReportError("the report PDF carries JavaScript; PDF/A forbids it")
            stack.extend(obj.values())
        elif isinstance(obj, pikepdf.Array):
            stack.extend(
                x for x in obj if isinstance(x, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
            )


def _check_fonts_embedded(pdf: pikepdf.Pdf) -> None:
    import pikepdf

    for obj in _walk_objects(pdf):
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != pikepdf.Name.Font:
            continue
        subtype = obj.get("/Subtype")
        if subtype in (pikepdf.Name.Type3, pikepdf.Name.Type0):
            continue  # Type3 draws its glyphs; Type0 is checked through its descendant
        descriptor = obj.get("/FontDescriptor")
        embedded = descriptor is not None and any(
            k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
        )
        if not embedded:
            name = str(obj.get("/BaseFont", "?"))
            raise ReportError(
                f"font {name} is not embedded in the report PDF; PDF/A requires every font "
                "to be embedded (report a bug: the report must use DejaVu Sans only)"
            )
