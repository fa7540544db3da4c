"""Benchmark: building the report (issues 8, 18) against its 1 s budget and bare reportlab.

Builds, in memory, the synthetic lumbar phantom of the report tests (an axial CT and a
sagittal T2-like MR in one frame of reference) and a case of 11 targets with trajectories,
scar and 6 blocks with diaries: 12 key images (11 axial planes and the sagittal overview)
and 22 C-arm preview thumbnails, 12 pages. Then times, in one process, builds taking turns
(after one warm-up each) so that load from other processes hits them alike:

* ``blockplan``: `blockplan.report.build_report` — evidence ledger, measured paths, plane
  sampling of every key image, DRRs, map, charts, tables, layout, PDF/A-2b (pikepdf) — cold,
  with the pictures handed in (like for like), after an edit, again, after `prepare_report`;
* peer **same content** (the reference): the report's own story made bare — every paragraph
  as plain text, every table with the same cells and column widths, every picture as a
  pre-rendered PNG at the same size — laid out by a plain reportlab document with the same
  embedded fonts and reportlab settings (``useA85 = 0``, ``invariant = 1``); no sampling,
  DRRs, ledger, map, charts, styling or PDF/A. Timed: making the paragraphs (parsing
  their markup), tables and images from plain data, and laying them out; untimed: taking
  that plain data from the report's story (the benchmark's plumbing);
* peer **five tables** (the peer until 2026-12-03): the same pictures and five of the
  tables only (about a quarter of the report's text).

Prints a markdown table of the median and fastest of ``--repeat`` builds and the median of
the per-round ratios to each peer (budget ≤ 1.5× the same-content peer) and the 1 s
budget; with ``--results FILE`` appends it, dated.

Usage::

    python benchmarks/report_build.py [--repeat 7] [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUDGET_S = 1.0
BUDGET_RATIO = 1.5


def _bare_reportlab(
    images: list[bytes], thumbs: list[bytes], tables: list[list[list[str]]]
) -> bytes:
    """The earlier peer: images and five tables in a plain reportlab document with the
    same fonts and the same reportlab settings as blockplan's (`_bare_story`)."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, Table, TableStyle

    from blockplan.report.fonts import register_fonts

    fonts = register_fonts()
    style = ParagraphStyle("c", fontName=fonts.regular, fontSize=7.5, leading=9.3)
    story: list[object] = [Paragraph("Key images", style)]
    cells = [Image(io.BytesIO(png), width=86 * mm, height=86 * mm) for png in images]
    pairs = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    story.append(Table(pairs, colWidths=[90 * mm, 90 * mm]))
    small = [Image(io.BytesIO(png), width=42 * mm, height=42 * mm) for png in thumbs]
    fours = [small[i : i + 4] for i in range(0, len(small), 4)]
    if fours:
        story.append(Table(fours, colWidths=[45 * mm] * 4))
    for rows in tables:
        data = [[Paragraph(c, style) for c in row] for row in rows]
        t = Table(data, repeatRows=1)
        t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), fonts.regular)]))
        story.append(t)
    return _bare_story(story)


def _plain_recipe(flowables: list[object], png_of: Callable[[object], bytes]) -> list[object]:
    """The report's own story as plain data (untimed: the benchmark's plumbing, not the
    peer's work): every paragraph's text, every table's cells and column widths, every
    picture as a pre-rendered PNG with its size; the drawings (spine map, diary charts),
    styling, spacing and page-break rules left out."""
    from reportlab.platypus import Paragraph, Table

    def one(f: object) -> list[object]:
        reader = getattr(f, "_reader", None)
        if reader is not None:
            return [("image", png_of(reader), f.width, f.height)]  # type: ignore[attr-defined]
        if isinstance(f, Paragraph):
            return [("text", f.getPlainText())]
        if isinstance(f, Table):
            rows = [[cell(c) for c in row] for row in f._cellvalues]
            return [("table", rows, f._colWidths, f.repeatRows)]
        content = getattr(f, "_content", None)  # KeepTogether
        return [g for c in content or () for g in one(c)]

    def cell(c: object) -> object:
        if isinstance(c, str):
            return c
        if isinstance(c, list | tuple):
            return [g for x in c for g in one(x)]
        found = one(c)
        return found if found else ""

    return [g for f in flowables for g in one(f)]


def _plain_flowables(recipe: list[object], style: object, regular: str) -> list[object]:
    """What a plain reportlab program makes of that data (timed, as the peer's work):
    a paragraph per text (reportlab parses its markup here), a table per table with the
    embedded font, an image per PNG."""
    from reportlab.platypus import Image, Paragraph, Table, TableStyle

    from blockplan.report.layout import esc

    def make(item: object) -> object:
        kind = item[0]  # type: ignore[index]
        if kind == "image":
            _, data, w, h = item  # type: ignore[misc]
            return Image(io.BytesIO(data), width=w, height=h)
        if kind == "text":
            return Paragraph(esc(item[1]), style)  # type: ignore[index]
        _, rows, widths, repeat = item  # type: ignore[misc]
        cells = [[c if isinstance(c, str) else [make(x) for x in c] for c in row] for row in rows]
        t = Table(cells, colWidths=widths, repeatRows=repeat)
        t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), regular)]))
        return t

    return [make(item) for item in recipe]


def _bare_story(story: list[object]) -> bytes:
    """A story laid out by a plain reportlab document with the same fonts and reportlab
    settings as blockplan's (no ASCII85 layer, invariant output)."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    from blockplan.report.fonts import register_fonts

    fonts = register_fonts()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, invariant=1, initialFontName=fonts.regular, pageCompression=1
    )
    previous = rl_config.useA85, rl_config.invariant
    rl_config.useA85, rl_config.invariant = 0, 1  # as blockplan.report.document does
    try:
        doc.build(list(story))
    finally:
        rl_config.useA85, rl_config.invariant = previous
    return buf.getvalue()


Timed = Callable[[], object] | tuple[Callable[[], object], Callable[[], object]]


def _interleaved(fns: list[Timed], repeat: int) -> list[list[float]]:
    """Time ``fns`` in turn (after a warm-up each), so load drift hits them alike; a
    ``(setup, fn)`` pair times ``fn`` only."""
    pairs = [f if isinstance(f, tuple) else (lambda: None, f) for f in fns]
    for setup, fn in pairs:
        setup()
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for (setup, fn), out in zip(pairs, times, strict=True):
            setup()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return times


def _plain_row(name: str, ours_t: list[float], peer_t: list[float]) -> str:
    ratio = statistics.median(o / p for o, p in zip(ours_t, peer_t, strict=True))
    return (
        f"| {name} | {statistics.median(ours_t):.3f} | {min(ours_t):.3f} | {ratio:.2f}× | "
        f"{'yes' if ratio <= BUDGET_RATIO else 'NO'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()

    import numpy as np
    from PIL import Image as PILImage
    from pypdf import PdfReader

    from blockplan.fluoro.drr import DrrOptions
    from blockplan.fluoro.geometry import DEFAULT_DETECTOR_PX, DEFAULT_PIXEL_MM, DetectorSpec
    from blockplan.fluoro.preview import fluoro_preview
    from blockplan.outcomes import build_ledger
    from blockplan.planning import describe_path, measure_paths
    from blockplan.report import (
        ReportOptions,
        build_report,
        findings_from_ledger,
        prepare_report,
    )
    from blockplan.report import keyimages as ki
    from blockplan.report.fluoro import REPORT_VIEWS
    from blockplan.report.memo import image_streams, report_memo
    from blockplan.report.sections import injection_text
    from tests.report import _factory

    ct, mr = _factory.ct_volume(), _factory.mr_sagittal_volume()
    case = _factory.make_case(11, 6, volume=ct)
    options = ReportOptions(
        clinic_name="Synthetic Spine Clinic",
        author="Dr. A. Example",
        created_at=dt.datetime(2026, 3, 20, 10, 0, tzinfo=dt.UTC),
    )

    def ours() -> bytes:
        return build_report(case, volumes=[ct, mr], options=options)

    def ours_cold() -> bytes:
        report_memo.clear()  # the first build of this case revision in this process
        return build_report(case, volumes=[ct, mr], options=options)

    from blockplan.report import beside

    def ours_cold_alone() -> bytes:
        # the first build in one process: no helper process computing its C-arm
        # previews beside it (`blockplan.report.beside`; as on one CPU, or in a thread)
        allowed = beside.helper_allowed
        beside.helper_allowed = lambda: False
        try:
            return ours_cold()
        finally:
            beside.helper_allowed = allowed

    edits = iter(range(1_000_000))

    def ours_edited() -> bytes:
        # a note on the last block: a new case revision that moves no needle (the DRRs
        # and the level count are reused, key images and layout done again)
        block = case.procedures[-1]
        note = block.model_copy(update={"notes": f"diary checked by phone ({next(edits)})"})
        latest[0] = case.replace_item("procedures", note)
        return build_report(latest[0], volumes=[ct, mr], options=options)

    latest = [case]

    def given_setup() -> None:
        # like for like with the peer: the pictures are handed in (the DRRs, key images
        # and level count of an earlier revision, `ReportMemo.lasting`), but nothing of
        # the layout — every picture is compressed again, as the peer does
        image_streams.clear()

    def ours_given() -> bytes:
        return ours_edited()

    def ours_again() -> bytes:
        # the revision just built, built again (the memo keeps only the latest revision)
        return build_report(latest[0], volumes=[ct, mr], options=options)

    pdf = ours()
    pages = len(PdfReader(io.BytesIO(pdf)).pages)

    # The peer gets the very same pixels, already rendered, as PNG files.
    scars = [ki.ScarMask.from_region(r) for r in case.scar_regions]
    arrays = [ki.sagittal_overview(mr, case.levels, scars=scars).pixels]
    for t in case.targets:
        traj = case.trajectory_for(t.id)
        entry = traj.entry.lps if traj else None
        arrays.append(ki.axial_key_image(ct, t, label="T", entry=entry, scars=scars).pixels)
    # ... and the same C-arm preview thumbnails (bull's-eye and progression per target)
    detector = DetectorSpec(
        columns=options.fluoro_pixels,
        rows=options.fluoro_pixels,
        pixel_mm=DEFAULT_PIXEL_MM * DEFAULT_DETECTOR_PX / options.fluoro_pixels,
    )
    thumbs = [
        fluoro_preview(
            case, ct, t.id, kind, detector=detector, options=DrrOptions(voxel_step=2), labels=False
        ).image_rgb
        for t in case.targets
        if case.trajectory_for(t.id) is not None
        for kind in REPORT_VIEWS
    ]

    def png(a: object) -> bytes:
        buf = io.BytesIO()
        PILImage.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    pngs = [png(a) for a in arrays]
    thumb_pngs = [png(a) for a in thumbs]
    ledger = build_ledger(case, case.profile_name)
    findings = findings_from_ledger(ledger)
    words = {tid: describe_path(m) for tid, m in measure_paths(case, [ct, mr]).items()}
    tables: list[list[list[str]]] = [
        [["#", "Pain source", "Status", "Why", "What would settle it"]]
        + [
            [
                str(n),
                s.display_label,
                s.status,
                s.reasons[0] if s.reasons else "",
                "; ".join(s.settle),
            ]
            for n, s in enumerate(findings.sources, start=1)
        ],
        [["#", "Level", "Side", "Structure", "Block", "Approach", "Target", "Entry", "Path"]]
        + [
            [
                f"T{n}",
                t.level or "",
                t.side.value,
                t.structure.value,
                t.block_type.value,
                t.approach.value if t.approach else "",
                str(t.position.lps),
                str(case.trajectory_for(t.id).entry.lps),  # type: ignore[union-attr]
                f"{words[t.id].length} {words[t.id].c_arm} {words[t.id].clearance} "
                f"{words[t.id].safety}",
            ]
            for n, t in enumerate(case.targets, start=1)
        ],
        [["#", "Date, operator", "Block", "Injections", "Contrast", "Additives", "Needle"]]
        + [
            [
                str(n),
                f"{p.performed_at.isoformat()} {p.operator}",
                p.block_type.value,
                "; ".join(injection_text(case, i) for i in p.injections),
                p.contrast.pattern.value,
                f"steroid: {p.steroid}; sedation: {p.sedation}",
                f"{p.needle.gauge} G {p.needle.length_mm} mm {p.needle.tip}",
            ]
            for n, p in enumerate(case.procedures, start=1)
        ],
        [["#", "Date", "Sites", "Agents", "NRS", "Peak", "Run", "Verdict", "Flags and reasons"]]
        + [
            [
                str(b.number),
                b.performed_at.date().isoformat(),
                "; ".join(k.label for k in b.sites),
                " + ".join(b.agents),
                str(b.baseline_nrs),
                f"{b.peak_relief_pct}",
                f"{b.onset_min}-{b.duration_min}",
                b.verdict,
                "; ".join([f.message for f in b.flags] + list(b.reasons)),
            ]
            for b in findings.blocks
        ],
        [["Source", "Status", "Why"]]
        + [[s.display_label, s.status, "; ".join(s.reasons)] for s in findings.sources],
    ]

    def peer() -> bytes:
        return _bare_reportlab(pngs, thumb_pngs, tables)

    # The peer that lays out the same content: the report's own story (every paragraph,
    # table and picture of this case's report) as plain data, taken once, untimed; each
    # round the peer makes its paragraphs, tables and images from that data and lays them
    # out, timed — as a reportlab program does (until 2026-12-04 its paragraphs were made,
    # their markup parsed, in an untimed set-up while blockplan's were timed).
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle

    from blockplan.report.document import _context
    from blockplan.report.fonts import register_fonts
    from blockplan.report.sections import story as report_story

    regular = register_fonts().regular
    plain = ParagraphStyle("plain", fontName=regular, fontSize=7.5, leading=9.3)
    own_story = report_story(_context(case, [ct, mr], None, options, A4), [ct, mr])
    encoded: dict[int, bytes] = {}

    def png_of(reader: object) -> bytes:
        key = id(reader)
        if key not in encoded:
            encoded[key] = png(np.asarray(reader._image))  # type: ignore[attr-defined]
        return encoded[key]

    own_recipe = _plain_recipe(own_story, png_of)

    def same_peer() -> bytes:
        return _bare_story(_plain_flowables(own_recipe, plain, regular))

    same_pdf = same_peer()
    from pypdf import PdfReader as _Reader

    def chars(pdf_bytes: bytes) -> int:
        return sum(len(p.extract_text()) for p in _Reader(io.BytesIO(pdf_bytes)).pages)

    text_chars = (chars(pdf), chars(same_pdf), chars(peer()))

    # The report as issue 18 measured it (before the C-arm previews of issue 20): no DRR
    # thumbnails, against the same-content peer of that report.
    no_previews = dataclasses.replace(options, fluoro_previews=False)
    plain_story = report_story(_context(case, [ct, mr], None, no_previews, A4), [ct, mr])
    plain_recipe = _plain_recipe(plain_story, png_of)

    def ours_cold_plain() -> bytes:
        report_memo.clear()
        return build_report(case, volumes=[ct, mr], options=no_previews)

    def plain_peer() -> bytes:
        return _bare_story(_plain_flowables(plain_recipe, plain, regular))

    def prepare() -> None:
        # the Report panel once the case rested: its pictures computed ahead, then Build
        report_memo.clear()
        prepare_report(case, volumes=[ct, mr], options=options)

    (
        cold_t,
        alone_t,
        given_t,
        edited_t,
        warm_t,
        prepared_t,
        same_t,
        peer_t,
        plain_t,
        plain_peer_t,
    ) = _interleaved(
        [
            ours_cold,
            ours_cold_alone,
            (given_setup, ours_given),
            ours_edited,
            ours_again,
            (prepare, ours),
            same_peer,
            peer,
            ours_cold_plain,
            plain_peer,
        ],
        args.repeat,
    )
    assert ours_cold() == ours() == ours_cold_alone()  # the same bytes, however made
    started, taken = beside.helper_counts()
    load = os.getloadavg()[0]
    ours_chars, same_chars, tables_chars = text_chars
    rows = [
        ("first build of the case (cold)", cold_t),
        ("first build, in one process (no helper beside it)", alone_t),
        ("pictures handed in, every picture compressed again (like for like)", given_t),
        ("after an edit that moves no needle", edited_t),
        ("same case again (previews reused)", warm_t),
        (
            "after `prepare_report` (the Report panel's first Build once the case rested)",
            prepared_t,
        ),
    ]
    lines = [
        f"{dt.date.today().isoformat()}; "
        f"`python benchmarks/report_build.py --repeat {args.repeat}`; "
        f"{platform.machine()}, Python {platform.python_version()}.",
        "",
        f"Case: {len(case.targets)} targets, {len(case.procedures)} blocks with diaries, scar; "
        f"{len(arrays)} key images (11 axial planes 320 px, sagittal overview) and "
        f"{len(thumbs)} C-arm preview thumbnails; {pages} pages, {len(pdf) / 1024:.0f} KiB, "
        f"{ours_chars} characters of text.",
        "",
        "Peers (bare reportlab, the same embedded fonts, `useA85 = 0` and `invariant = 1` "
        "as in blockplan, pictures handed in as pre-rendered PNG; no sampling, DRRs, ledger, "
        "map, charts, styling or PDF/A):",
        f"* **same content** (the reference): the report's own story made bare — every "
        f"paragraph as plain text, every table with the same cells and column widths, every "
        f"picture at the same size ({same_chars} characters of text);",
        f"* **five tables** (the peer until now): the same pictures and five of the tables "
        f"(findings, targets, procedures, blocks, sources) — {tables_chars} of the report's "
        f"{ours_chars} characters.",
        "",
        "| blockplan `build_report` | median s | fastest s | ratio to same content "
        "| ≤ 1.5× | ratio to five tables | ≤ 1 s |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for name, times in rows:
        same_r = statistics.median(o / p for o, p in zip(times, same_t, strict=True))
        five_r = statistics.median(o / p for o, p in zip(times, peer_t, strict=True))
        median = statistics.median(times)
        lines.append(
            f"| {name} | {median:.3f} | {min(times):.3f} | {same_r:.2f}× | "
            f"{'yes' if same_r <= BUDGET_RATIO else 'NO'} | {five_r:.2f}× | "
            f"{'yes' if median <= BUDGET_S else 'NO'} |"
        )
    lines += [
        f"| peer: same content | {statistics.median(same_t):.3f} | {min(same_t):.3f} "
        "| 1.00× | | | |",
        f"| peer: five tables | {statistics.median(peer_t):.3f} | {min(peer_t):.3f} | | | "
        "1.00× | |",
        "",
        "Without the C-arm previews (`fluoro_previews=False`: the report as issue 18 measured "
        "it, before issue 20 added 22 DRR thumbnails), first build against the same-content "
        "peer of that report:",
        "",
        "| build | median s | fastest s | ratio to same content | ≤ 1.5× |",
        "|---|---:|---:|---:|---|",
        _plain_row("blockplan, first build (cold)", plain_t, plain_peer_t),
        f"| peer: same content | {statistics.median(plain_peer_t):.3f} | "
        f"{min(plain_peer_t):.3f} | 1.00× | |",
        "",
        "Builds take turns (cold, cold in one process, like for like, edited, warm, prepared, "
        "the two peers, cold without previews, its peer; one warm-up each); each ratio is the "
        "median of the per-round ratios. "
        f"The first builds started {started} helper processes, which computed {taken} "
        "targets' C-arm previews (`blockplan.report.beside`). "
        f"Load average at the end: {load:.1f} on {os.cpu_count()} CPUs. "
        "Cold: `report_memo` cleared before the build (C-arm previews, key images and the "
        "level count computed); like for like: a new revision each time (a note on a block), "
        "the DRRs, key images and level count of an earlier revision reused "
        "(`ReportMemo.lasting`) but no compressed stream (`image_streams` cleared): the "
        "peer's work (layout and compression of the same content) plus ours (ledger, "
        "measured paths, previews drawn, map, charts, PDF/A); edited: the same with the "
        "compressed streams reused too; warm: that revision built again in the same process "
        "(`blockplan.report.memo`); prepared: the memo cleared and `prepare_report` run "
        "(untimed) before the build.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.results is not None:
        with args.results.open("a", encoding="utf-8") as fh:
            fh.write("\n## report build, like for like (issue 18)\n\n" + text + "\n")


if __name__ == "__main__":
    main()
