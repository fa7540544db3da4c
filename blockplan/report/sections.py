"""The sections of the report, each a list of reportlab flowables.

In reading order: header, pain-source findings (summary, map, ranked table), key images,
targets and trajectories, procedures, pain diaries, adjudication, reevaluation
suggestions, outcome measures and notes, signature.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from reportlab.lib.colors import white
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    Spacer,
)

from blockplan import __version__
from blockplan.case._text import sex_text
from blockplan.case.model import Case, Injection, Procedure, StudyRef, Target
from blockplan.case.wording import contrast_text, unnamed_joint_text
from blockplan.errors import ReportError
from blockplan.io.volume import ImageVolume
from blockplan.outcomes.adjudication import MISSING_POINTS_LABEL, missing_points_words
from blockplan.outcomes.evidence import (
    STATUS_ORDER,
    UNTESTED_HEADING,
    shown_status,
    shown_status_text,
    why_and_blocks,
)
from blockplan.outcomes.numbering import numbered_block, numbered_blocks
from blockplan.outcomes.payer import PayerChecklist
from blockplan.outcomes.scores import OdiChange
from blockplan.planning.level_edit import level_text, transitional_text, unconfirmed_targets
from blockplan.planning.level_guard import LevelCheck
from blockplan.planning.paths import own_root_label
from blockplan.planning.trajectory import (
    ASSESSMENT_REACH_MM,
    DEFAULT_BONE_EXCLUSION_MM,
    DEFAULT_BONE_HU,
    DEFAULT_MARGIN_MM,
    SafetyVerdict,
    TrajectoryMetrics,
)
from blockplan.planning.wording import (
    VERDICT_COLOURS,
    approach_text,
    describe_path,
    scar_volume_text,
    target_names,
    target_tag,
    unassigned_level_reason,
)
from blockplan.report import keyimages as ki
from blockplan.report.charts import diary_chart
from blockplan.report.findings import (
    BlockFinding,
    ReportFindings,
    SourceFinding,
    structure_label,
)
from blockplan.report.fluoro import fluoro_cell
from blockplan.report.fonts import FontSet
from blockplan.report.layout import (
    INK,
    RULE,
    ZEBRA,
    KeyImageFlowable,
    LabelledText,
    Paragraph,
    Styles,
    block_name,
    data_table,
    esc,
    fmt_date,
    fmt_lps,
    fmt_num,
    grid,
    person_name,
    status_tint,
)
from blockplan.report.memo import report_memo
from blockplan.report.options import ReportOptions
from blockplan.report.payer import payer_section
from blockplan.report.spinemap import legend_drawing, pain_source_map, status_colour

__all__ = ["DISCLAIMER", "Context", "story"]

DISCLAIMER = "Decision support, not a medical device"
"""Printed in the footer of every page and in the banner under the header."""

NOT_RECORDED = "not recorded"
"""Printed where the case holds no value (never a guess such as "none")."""

_BANNER_BG = "#FFF4E0"
_BANNER_EDGE = "#E69F00"


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the sections need."""

    case: Case
    findings: ReportFindings
    options: ReportOptions
    fonts: FontSet
    st: Styles
    report_id: str
    created_at: dt.datetime
    width: float
    """Width of the text frame (pt)."""
    target_labels: dict[str, str]
    """Target id → ``"T1"``, ``"T3"``, … (`target_tag`: each target's own number, the tags
    drawn on key images);
    tables and captions name targets by `blockplan.planning.wording.target_name`."""
    block_numbers: dict[str, int]
    """Procedure id → chronological block number (the ledger's numbering)."""
    paths: dict[str, TrajectoryMetrics] = field(default_factory=dict)
    """Target id → its measured path (`blockplan.planning.measure_paths`)."""
    payer: tuple[PayerChecklist, ...] = ()
    """Payer-documentation checklists (`blockplan.outcomes.payer`), when asked for."""
    level_check: LevelCheck | None = None
    """The level markers against the automatic count (`blockplan.planning.level_guard`)."""
    revision: str = ""
    """The case's revision (`blockplan.report.memo.case_revision`): pictures computed for
    it are reused by the next build of the same case; empty: nothing is reused."""


def story(ctx: Context, volumes: Sequence[ImageVolume]) -> list[Flowable]:
    """All sections, in reading order. The key images are made last: a first build's
    C-arm previews are computed by a helper process meanwhile, where there is one
    (`blockplan.report.beside`), so the build finds more of them done."""
    first: list[Flowable] = [*header(ctx), *findings(ctx)]
    rest: list[Flowable] = []
    rest += targets_table(ctx)
    rest += procedures_table(ctx)
    rest += diaries(ctx)
    rest += adjudication(ctx)
    rest += suggestions(ctx)
    rest += outcome_measures(ctx)
    rest += payer_section(ctx)
    rest += signature(ctx)
    return [*first, *key_images(ctx, volumes), *rest]


def h1(ctx: Context, text: str) -> list[Flowable]:
    """A section heading that never ends a page: it moves on when less than 40 mm remain."""
    return [CondPageBreak(40 * mm), Paragraph(esc(text), ctx.st.h1)]


def h2(ctx: Context, text: str) -> list[Flowable]:
    """A sub-heading that moves to the next page when less than 25 mm remain."""
    return [CondPageBreak(25 * mm), Paragraph(esc(text), ctx.st.h2)]


# --- header -----------------------------------------------------------------------------
def _logo(options: ReportOptions) -> Image | None:
    source = options.clinic_logo
    if source is None:
        return None
    where = "bytes" if isinstance(source, bytes) else str(source)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        with PILImage.open(io.BytesIO(data)) as raw:
            raw.load()
            img = raw.convert("RGBA")
    except (OSError, ValueError, PILImage.DecompressionBombError) as err:
        raise ReportError(
            f"clinic logo ({where}) cannot be read as an image ({err}); use a PNG or JPEG file"
        ) from err
    # No alpha channel in the PDF: composite on white.
    flat = PILImage.new("RGB", img.size, (255, 255, 255))
    flat.paste(img, mask=img.getchannel("A"))
    scale = min(45 * mm / flat.width, 18 * mm / flat.height)
    png = io.BytesIO()
    flat.save(png, format="PNG")
    png.seek(0)
    return Image(png, width=flat.width * scale, height=flat.height * scale)


def _facts(ctx: Context, title: str, rows: list[tuple[str, str]], width: float) -> Flowable:
    st = ctx.st
    data: list[list[Any]] = [[Paragraph(f"<b>{esc(title)}</b>", st.cell), ""]]
    for key, value in rows:
        data.append([Paragraph(esc(key), st.label), Paragraph(esc(value or NOT_RECORDED), st.cell)])
    return grid(
        data,
        [width * 0.32, width * 0.68],
        [
            ("SPAN", (0, 0), (1, 0)),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ("LINEBELOW", (0, 0), (1, 0), 0.5, RULE),
        ],
    )


def _study_when(study: StudyRef | None) -> str:
    """Study date and time as recorded (scanner local time); empty when unknown."""
    if study is None or study.study_date is None:
        return ""
    when = fmt_date(study.study_date)
    if study.study_time is not None:
        when += f" {study.study_time.strftime('%H:%M')}"
    return when


def header(ctx: Context) -> list[Flowable]:
    """Clinic and logo, title, patient / study / report facts, indication, disclaimer.

    The patient and study facts are those recorded in the images the case was started
    from (name, ID, birth date, sex; study date and time, description, accession,
    referring physician, institution, UID); a missing value reads "not recorded".
    """
    flow = _clinic_block(ctx)
    flow.append(Paragraph(esc(ctx.options.title), ctx.st.title))
    gap = 4 * mm
    col = (ctx.width - 2 * gap) / 3
    facts = [_patient_facts(ctx, col), _study_facts(ctx, col), _report_facts(ctx, col)]
    flow.append(grid([facts], [col + gap, col + gap, col]))
    flow += _indication(ctx)
    flow += [Spacer(1, 2 * mm), _disclaimer_banner(ctx)]
    return flow


def _clinic_block(ctx: Context) -> list[Flowable]:
    """The clinic's name, address and logo, when given."""
    opts, st = ctx.options, ctx.st
    clinic: list[Flowable] = []
    if opts.clinic_name:
        clinic.append(Paragraph(esc(opts.clinic_name), st.clinic))
    for line in opts.clinic_address.splitlines():
        clinic.append(Paragraph(esc(line), st.small))
    logo = _logo(opts)
    if not clinic and logo is None:
        return []
    table = grid(
        [[clinic or "", logo or ""]],
        [ctx.width * 0.7, ctx.width * 0.3],
        [("ALIGN", (1, 0), (1, 0), "RIGHT")],
    )
    return [table, Spacer(1, 3 * mm)]


def _patient_facts(ctx: Context, col: float) -> Flowable:
    p = ctx.case.patient
    rows = [
        ("Name", person_name(p.patient_name)),
        ("Patient ID", p.patient_id),
        ("Birth date", fmt_date(p.birth_date) if p.birth_date else ""),
        ("Sex", sex_text(p.sex)),
    ]
    return _facts(ctx, "Patient", rows, col)


def _study_facts(ctx: Context, col: float) -> Flowable:
    s = ctx.case.study
    rows = [
        ("Date", _study_when(s)),
        ("Description", s.description if s else ""),
        ("Accession", s.accession_number if s else ""),
        ("Referring", person_name(s.referring_physician) if s else ""),
        ("Institution", s.institution if s else ""),
        ("Study UID", s.study_instance_uid if s else ""),
    ]
    return _facts(ctx, "Study", rows, col)


def _report_facts(ctx: Context, col: float) -> Flowable:
    procedures = ctx.case.procedures
    days = sorted({proc.performed_at.date() for proc in procedures})
    if not days:
        span = "none"
    elif len(days) == 1:
        span = f"{len(procedures)} on {fmt_date(days[0])}"
    else:
        span = f"{len(procedures)}, {fmt_date(days[0])} to {fmt_date(days[-1])}"
    rows = [
        ("Report ID", ctx.report_id),
        ("Date", fmt_date(ctx.created_at)),
        ("Author", ctx.options.author),
        ("Profile", ctx.findings.profile_label),
        ("Blocks", span),
    ]
    return _facts(ctx, "Report", rows, col)


def _indication(ctx: Context) -> list[Flowable]:
    case = ctx.case
    parts = []
    if case.indication:
        parts.append(f"<b>Indication</b>: {esc(case.indication)}")
    if case.diagnosis_codes:
        parts.append(f"<b>Diagnosis codes</b>: {esc(', '.join(case.diagnosis_codes))}")
    if not parts:
        return []
    return [Spacer(1, 2.5 * mm), Paragraph(" &nbsp; · &nbsp; ".join(parts), ctx.st.body)]


def _disclaimer_banner(ctx: Context) -> Flowable:
    reason = ctx.findings.disclaimer.split(":", 1)[-1].strip()
    reason = reason[:1].upper() + reason[1:]
    text = Paragraph(
        f"<b>{DISCLAIMER}.</b> {esc(reason)} Statuses in this report are computed "
        f"under the profile <b>{esc(ctx.findings.profile_label)}</b>.",
        ctx.st.cell,
    )
    return grid(
        [[text]],
        [ctx.width],
        [
            ("BACKGROUND", (0, 0), (-1, -1), _BANNER_BG),
            ("LINEBEFORE", (0, 0), (0, -1), 2.5, _BANNER_EDGE),
            ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ],
    )


# --- findings ---------------------------------------------------------------------------
def _status_cell(source: SourceFinding, ctx: Context) -> Paragraph:
    """The status as the map shows it (`shown_status`: one rule for map, tables, panel)."""
    return Paragraph(f"<b>{esc(shown_status_text(source))}</b>", ctx.st.cell)


def _status_commands(source: SourceFinding, col: int, row: int) -> list[tuple[Any, ...]]:
    status = shown_status(source)
    if status is None:  # no diagnostic block yet: unfilled, as the map's dashed marker
        return []
    return [
        ("BACKGROUND", (col, row), (col, row), status_tint(status)),
        ("LINEBEFORE", (col, row), (col, row), 3, status_colour(status)),
    ]


def findings(ctx: Context) -> list[Flowable]:
    """The summary first: statuses in words beside the pain-source map, then the ranked table."""
    ranked = ctx.findings.ranked_sources()
    flow: list[Flowable] = h1(ctx, "Pain-source findings")
    flow.append(_map_beside(ctx, _status_summary(ctx, ranked)))
    if ranked:
        flow += [Spacer(1, 4 * mm), _ranked_table(ctx, ranked)]
    return flow


def _status_summary(ctx: Context, ranked: Sequence[SourceFinding]) -> list[Flowable]:
    """Under which profile, then one line per status with its sources, most support first."""
    f, st = ctx.findings, ctx.st
    title = f" ({esc(f.profile_title)})" if f.profile_title else ""
    summary: list[Flowable] = [
        Paragraph(f"Under profile <b>{esc(f.profile_label)}</b>{title}:", st.body)
    ]
    if not ranked:
        summary.append(
            Paragraph(
                "No block has tested a candidate pain source and no target is planned.", st.body
            )
        )
    headings = [(status, status.heading) for status in STATUS_ORDER]
    for status, heading in [*headings, (None, UNTESTED_HEADING)]:
        labels = [s.display_label for s in ranked if shown_status(s) == status]
        if labels:
            summary.append(
                Paragraph(
                    f"<b>{heading}</b>: {esc('; '.join(labels))}",
                    st.bullet,
                    bulletText="•",
                )
            )
    return summary


def _map_beside(ctx: Context, summary: list[Flowable]) -> Flowable:
    """The pain-source map, and beside it the summary, the legend and what they mean."""
    f, st, fonts = ctx.findings, ctx.st, ctx.fonts
    drawing = pain_source_map(
        f,
        ctx.case.targets,
        font=fonts.regular,
        bold_font=fonts.bold,
        extra_levels=[m.level for m in ctx.case.levels],
    )
    legend = legend_drawing(font=fonts.regular, bold_font=fonts.bold)
    explain = Paragraph(
        "<b>Pain-source map</b>, front view: the patient's right is on the viewer's left, as on "
        "the axial images. Nerve roots leave below each vertebra (outer markers), facet joints "
        "lie beside each disc, the epidural space beside each body, the sacroiliac joints "
        "beside the sacrum, discs in the midline. A bar joins the sites of a block that "
        "covered several at once: its relief cannot be attributed to one of them. Drawn: "
        "the levels from the highest to the lowest that a level marker, a target or a block "
        "names, none beyond.",
        st.small,
    )
    meaning = Paragraph(
        " ".join(f"<b>{s.text}</b>: {esc(s.meaning)}." for s in STATUS_ORDER)
        + f" Each under {esc(f.profile_label)}.",
        st.small,
    )
    map_w = drawing.width + 4 * mm
    right = [*summary, Spacer(1, 3 * mm), legend, Spacer(1, 2 * mm), explain, meaning]
    return grid(
        [[drawing, right]],
        [map_w, ctx.width - map_w],
        [("BOX", (0, 0), (0, 0), 0.4, RULE), ("LEFTPADDING", (1, 0), (1, 0), 5 * mm)],
    )


def _ranked_table(ctx: Context, ranked: Sequence[SourceFinding]) -> Flowable:
    """Sources ranked: status, why with the blocks that reached each (`why_and_blocks`: the
    Outcomes panel's Ledger tab says the same), what would settle it."""
    st = ctx.st
    widths = [6 * mm, 38 * mm, 25 * mm, 60 * mm, ctx.width - 129 * mm]
    heads = ("#", "Pain source", "Status", "Why", "What would settle it")
    rows: list[list[Any]] = [[Paragraph(h, st.cell_head) for h in heads]]
    commands: list[tuple[Any, ...]] = []
    for n, source in enumerate(ranked, start=1):
        words = why_and_blocks(source)
        why, blocks = esc(words.why) or "–", words.blocks or numbered_blocks(())
        rows.append(
            [
                Paragraph(str(n), st.cell),
                Paragraph(f"<b>{esc(source.display_label)}</b>", st.cell),
                _status_cell(source, ctx),
                Paragraph(f"{why}<br/><font color='#5F6B73'>{esc(blocks)}</font>", st.cell),
                Paragraph("<br/>".join(esc(s) for s in source.settle) or "–", st.cell),
            ]
        )
        commands += _status_commands(source, 2, n)
    return data_table(rows, widths, commands)


# --- key images -------------------------------------------------------------------------
def _rows_of_two(
    lead: list[Flowable], cells: Sequence[list[Flowable]], cell_w: float, gap: float
) -> list[Flowable]:
    """Cells two per row, each row its own table; the lead stays with the first row."""
    rows: list[Flowable] = []
    for i in range(0, len(cells), 2):
        pair: list[Any] = list(cells[i : i + 2])
        if len(pair) == 1:
            pair.append("")
        rows.append(
            grid(
                [pair],
                [cell_w + gap, cell_w],
                [("BOTTOMPADDING", (0, 0), (-1, -1), 9), ("RIGHTPADDING", (0, 0), (0, 0), gap)],
            )
        )
    if not rows:
        return lead
    return [KeepTogether([*lead, rows[0]]), *rows[1:]]


def _in_frame(points: Sequence[Any], frame: str) -> list[Any]:
    return [p for p in points if p.position.frame_of_reference_uid == frame]


def _digest(parts: Sequence[str]) -> str:
    """One digest of what a picture is drawn from."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def _sagittal_cell(
    ctx: Context,
    volumes: Sequence[ImageVolume],
    scars: Sequence[ki.ScarMask],
    basis: str,
    cell_w: float,
) -> list[Flowable] | None:
    case = ctx.case
    anchors = case.levels or case.targets
    if not anchors:
        return None
    frame = anchors[0].position.frame_of_reference_uid
    points = [a.position.lps for a in _in_frame(anchors, frame)]
    centre = np.mean(np.asarray(points, dtype=np.float64), axis=0)
    vol = ki.choose_volume(
        volumes, centre, frame, modalities=("MR", "CT"), prefer_normal=(1.0, 0.0, 0.0)
    )
    if vol is None:
        return None
    labelled = [(ctx.target_labels[t.id], t) for t in _in_frame(case.targets, frame)]
    drawn_from = (basis, frame, *(f"{n} {t.model_dump_json()}" for n, t in labelled))
    img = report_memo.lasting(
        [vol],
        ("sagittal", _digest(drawn_from)),
        lambda: ki.sagittal_overview(vol, _in_frame(case.levels, frame), labelled, scars=scars),
    )
    caption = Paragraph(
        "<b>Sagittal overview</b> with level labels; target heights are marked at the right "
        f"edge. {esc(img.source)}.",
        ctx.st.caption,
    )
    return [KeyImageFlowable(img, cell_w, 125 * mm, ctx.fonts), Spacer(1, 1.5 * mm), caption]


def _axial_cell(
    ctx: Context,
    target: Target,
    volumes: Sequence[ImageVolume],
    scars: Sequence[ki.ScarMask],
    basis: str,
    cell_w: float,
) -> list[Flowable] | None:
    case = ctx.case
    label = ctx.target_labels[target.id]
    frame = target.position.frame_of_reference_uid
    vol = ki.choose_volume(
        volumes, target.position.lps, frame, modalities=("CT", "MR"), prefer_normal=(0, 0, 1.0)
    )
    if vol is None:
        return None
    levels = _in_frame(case.levels, frame)
    bodies = [m for m in levels if m.kind == "vertebral_body"] or levels
    anchors = []
    if bodies:
        nearest = min(bodies, key=lambda m: abs(m.position.lps[2] - target.position.lps[2]))
        anchors.append(nearest.position.lps)
    traj = case.trajectory_for(target.id)
    entry = None
    if traj is not None and traj.entry.frame_of_reference_uid == frame:
        entry = traj.entry.lps
    drawn_from = (basis, target.model_dump_json(), label, repr(entry))
    img = report_memo.lasting(
        [vol],
        ("axial", ctx.options.key_image_pixels, _digest(drawn_from)),
        lambda: ki.axial_key_image(
            vol,
            target,
            label=label,
            entry=entry,
            scars=scars,
            midline_x=float(np.mean([m.position.lps[0] for m in levels])) if levels else None,
            anchors=anchors,
            pixels=ctx.options.key_image_pixels,
        ),
    )
    what = " ".join(
        x for x in (target.level or "", target.side.value, structure_label(target.structure))
    )
    approach = f" ({approach_text(target.approach)})" if target.approach else ""
    notes = "; ".join([img.source, *img.notes])
    scar = " Scar overlay shown." if img.scar_shown else ""
    name = target_names(case.targets)[target.id]
    caption = Paragraph(
        f"<b>{esc(name)}</b> · {esc(what)} · {esc(block_name(target.block_type.value))}"
        f"{esc(approach)}. {esc(notes)}.{scar}",
        ctx.st.caption,
    )
    metrics = ctx.paths.get(target.id)
    verdict = "not assessed" if metrics is None else metrics.verdict.value
    flowable = KeyImageFlowable(
        img, cell_w, 110 * mm, ctx.fonts, path_colour=VERDICT_COLOURS[verdict]
    )
    return [flowable, Spacer(1, 1.5 * mm), caption]


def _target_cells(
    ctx: Context,
    volumes: Sequence[ImageVolume],
    scars: Sequence[ki.ScarMask],
    basis: str,
    cell_w: float,
) -> tuple[list[list[Flowable]], list[str], bool]:
    """Each target's axial key image, with its C-arm previews beside it on one row; the
    labels of targets without a key image; whether any previews were made."""
    cells: list[list[Flowable]] = []
    missing: list[str] = []
    any_previews = False
    for target in ctx.case.targets[: ctx.options.max_key_images]:
        cell = _axial_cell(ctx, target, volumes, scars, basis, cell_w)
        if cell is None:
            missing.append(ctx.target_labels[target.id])
            continue
        previews = fluoro_cell(ctx, target, volumes, cell_w)
        if previews is None:
            cells.append(cell)
            continue
        any_previews = True
        if len(cells) % 2:
            cells.append([])  # the previews go beside their axial image, on one row
        cells += [cell, previews]
    return cells, missing, any_previews


def key_images(ctx: Context, volumes: Sequence[ImageVolume]) -> list[Flowable]:
    """Sagittal overview and an axial plane through each target, two per row."""
    st, case, opts = ctx.st, ctx.case, ctx.options
    head = h1(ctx, "Key images")
    if not volumes:
        return [
            *head,
            Paragraph(
                "No image volumes were given when this report was built; key images are not "
                "included.",
                st.body,
            ),
        ]
    scars = [ki.ScarMask.from_region(r) for r in case.scar_regions]
    # what every key image is drawn from besides its target: kept by it across revisions
    basis = _digest(
        [
            *(r.model_dump_json() for r in case.scar_regions),
            *(m.model_dump_json() for m in case.levels),
        ]
    )
    intro = Paragraph(
        "Planes resampled in patient space with square pixels (true physical aspect). "
        "Radiological convention: the patient's right is on the viewer's left. "
        "Yellow: target; planned needle path from the skin entry (square) in its safety "
        "verdict's colour, as on screen — green safe, red unsafe, orange not assessed; "
        "orange fill: epidural scar; scale bar in mm."
        + (
            " Beside a planned target's plane: its bull's-eye and progression C-arm previews."
            if opts.fluoro_previews
            else ""
        ),
        st.small,
    )
    gap = 6 * mm
    cell_w = (ctx.width - gap) / 2
    cells, missing, previews = _target_cells(ctx, volumes, scars, basis, cell_w)
    sagittal = _sagittal_cell(ctx, volumes, scars, basis, cell_w) if opts.include_sagittal else None
    if sagittal is not None:  # first, or last when previews pair each row
        cells = [*cells, sagittal] if previews else [sagittal, *cells]
    flow: list[Flowable] = _rows_of_two([*head, intro, Spacer(1, 2 * mm)], cells, cell_w, gap)
    if missing:
        flow.append(
            Paragraph(
                f"No given image volume contains {', '.join(missing)} in its frame of "
                "reference: no key image for it.",
                st.small,
            )
        )
    if len(case.targets) > opts.max_key_images:
        flow.append(
            Paragraph(
                f"Key images are shown for the first {opts.max_key_images} of "
                f"{len(case.targets)} targets.",
                st.small,
            )
        )
    return flow


# --- targets and procedures -------------------------------------------------------------
_VERDICT_COLOURS = {SafetyVerdict.UNSAFE: "#B00020", SafetyVerdict.NOT_ASSESSED: "#A15C00"}
"""Ink of a verdict that is not *safe*: red (unsafe), dark amber (not assessed)."""


def _path_cell(ctx: Context, target: Target) -> Paragraph:
    """The planned path of a target in the words of the planning details pane."""
    st = ctx.st
    if ctx.case.trajectory_for(target.id) is None:
        return Paragraph("not planned", st.cell)
    metrics = ctx.paths.get(target.id)
    if metrics is None:
        return Paragraph("not measured (entry and target cannot be measured as a path)", st.cell)
    lines = [esc(line) for line in describe_path(metrics, own_root_label(target)).lines()]
    colour = _VERDICT_COLOURS.get(metrics.verdict)
    if colour is not None:
        lines[-1] = f"<font color='{colour}'><b>{lines[-1]}</b></font>"
    return Paragraph("<br/>".join(lines), st.cell)


def _structure_cell(ctx: Context, t: Target) -> Paragraph:
    """Structure, block type and approach, and the physician's label (grey)."""
    text = f"{esc(structure_label(t.structure))}<br/>{esc(block_name(t.block_type.value))}"
    if t.approach:
        text += f", {esc(approach_text(t.approach))}"
    if t.label:
        text += f"<br/><font color='#5F6B73'>{esc(t.label)}</font>"
    return Paragraph(text, ctx.st.cell)


def _notes_cell(ctx: Context, name: str, notes: str) -> LabelledText:
    """A target's notes, whole and line by line, under its row (the full table width).

    Kept on the page of the target's row whenever the two fit on a page; notes longer
    than a page run on over the next pages, each opening with "Notes on <name>
    (continued):"."""
    st = ctx.st

    def label(text: str) -> Paragraph:
        return Paragraph(f"<font color='#5F6B73'>{esc(text)}</font>", st.cell)

    lines: list[Flowable] = [
        Paragraph(esc(line), st.cell) if line.strip() else Spacer(1, st.cell.leading)
        for line in notes.split("\n")
    ]
    return LabelledText(
        label(f"Notes on {name}:"),
        lines,
        label(f"Notes on {name} (continued):"),
        keep_with_previous_row=True,
    )


def targets_table(ctx: Context) -> list[Flowable]:
    """Every target with its planned trajectory, measured by the planning core."""
    st, case = ctx.st, ctx.case
    flow: list[Flowable] = h1(ctx, "Targets and trajectories")
    flow += _level_check(ctx)
    if not case.targets:
        flow.append(Paragraph("No targets planned.", st.body))
        return flow
    heads = ("Target", "Structure, block", "Target / entry (LPS mm)", "Needle path")
    mmw = [30, 34, 30]
    widths = [x * mm for x in mmw] + [ctx.width - sum(mmw) * mm]
    rows: list[list[Any]] = [[Paragraph(h, st.cell_head) for h in heads]]
    shading: list[tuple[Any, ...]] = []
    names = target_names(case.targets)
    for n, t in enumerate(case.targets):
        traj = case.trajectory_for(t.id)
        entry = fmt_lps(traj.entry.lps) if traj is not None else "–"
        first = len(rows)
        rows.append(
            [
                Paragraph(_target_cell(names[t.id], t), st.cell),
                _structure_cell(ctx, t),
                Paragraph(f"{fmt_lps(t.position.lps)}<br/>{entry}", st.cell),
                _path_cell(ctx, t),
            ]
        )
        if t.notes:
            rows.append([_notes_cell(ctx, names[t.id], t.notes), "", "", ""])
            shading.append(("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)))
        # a target and its notes row share one shade (zebra per target, not per row)
        shade = ZEBRA if n % 2 else white
        shading.append(("BACKGROUND", (0, first), (-1, len(rows) - 1), shade))
    flow.append(data_table(rows, widths, shading))
    flow += _level_notes(ctx)
    flow.append(Paragraph(_targets_note(ctx), st.small))
    flow += scar_summary(ctx)
    return flow


def _level_check(ctx: Context) -> list[Flowable]:
    """The wrong-level guard's verdict, as the core worded it (both counts when they differ)."""
    check = ctx.level_check
    if check is None:
        return []
    text = esc(check.message)
    if check.status == "disagree":
        text = f"<b>Wrong-level warning.</b> {text}."
    return [Paragraph(text, ctx.st.body)]


def _level_notes(ctx: Context) -> list[Flowable]:
    """Transitional anatomy noted, and levels awaiting the physician's confirmation."""
    notes = []
    if ctx.case.transitional_vertebra is not None:
        noted = transitional_text(ctx.case.transitional_vertebra)
        notes.append(f"Transitional vertebra: {esc(noted)}.")
    names = target_names(ctx.case.targets)
    for t in ctx.case.targets:
        reason = unassigned_level_reason(t, ctx.case.levels)
        if reason is not None:  # the words of the planning panel's details pane
            notes.append(f"{esc(names[t.id])} — {esc(reason)}.")
    if unconfirmed_targets(ctx.case):
        notes.append(
            "<b>Level not confirmed</b> (“confirm”): the level markers were edited after "
            "the target was placed and changed its level or side, or the automatic level "
            "count disagrees with the markers near it; the physician has not confirmed it."
        )
    return [Paragraph(text, ctx.st.small) for text in notes]


def _targets_note(ctx: Context) -> str:
    """The footnote of the targets table: coordinates, C-arm, clearances, verdict."""
    return (
        "LPS: DICOM patient coordinates in mm (x toward the patient's left, y posterior, "
        "z superior). Path: skin entry to target. C-arm (patient prone, beam "
        "posterior-anterior, set so the needle is seen end-on): <i>oblique</i> names the "
        "side the image intensifier turns towards, <i>tilt</i> where it tilts along the "
        "patient's long axis (cranial: towards the head). Clearances: to the nearest marked "
        "structure of each kind (the root an SNRB or TFESI aims at is not a hazard for its "
        "own path), of the needle shaft (all of the path but the last "
        f"{DEFAULT_BONE_EXCLUSION_MM:g} mm before the target) to the nearest CT voxel above "
        f"{DEFAULT_BONE_HU:g} HU, and to the marked scar. Verdict: <i>UNSAFE</i> when bone "
        f"is crossed, a marked structure lies within {DEFAULT_MARGIN_MM:g} mm, the entry is "
        "not posterior or the path leaves the CT; <i>not assessed</i> while no nerve root or "
        f"no thecal sac is marked within {ASSESSMENT_REACH_MM:g} mm of the path (the target's "
        "own root does not count; or there is no CT); <i>safe</i> otherwise. "
        f"{esc(_bone_note(ctx))}"
    )


def _target_cell(name: str, target: Target) -> str:
    """The target's name in bold; below it the level awaiting confirmation, or the joint a
    facet-joint or disc target named by a vertebra leaves unnamed, if any (`level_text`)."""
    cell = f"<b>{esc(name)}</b>"
    unnamed = unnamed_joint_text(target.level, target.structure)
    if target.level_change is not None or unnamed is not None:
        cell += f"<br/>{esc(level_text(target))}"
    return cell


def _bone_note(ctx: Context) -> str:
    if not ctx.paths:
        return ""
    if all(m.bone_checked for m in ctx.paths.values()):
        return "Bone checked on the CT of the study."
    return "Bone was not checked where no CT of the study covers the path."


def scar_summary(ctx: Context) -> list[Flowable]:
    """The marked epidural scar: volume in total and per level."""
    regions = ctx.case.scar_regions
    if not regions:
        return []
    flow: list[Flowable] = h2(ctx, "Epidural scar")
    for region in regions:
        how = {"region_grow": "grown from a click", "manual": "painted", "imported": "imported"}
        text = scar_volume_text(region.volume_ml, region.volume_ml_per_level)
        flow.append(
            Paragraph(
                f"{esc(region.label)} ({how.get(region.method, region.method)}): {esc(text)}.",
                ctx.st.body,
            )
        )
    return flow


def injection_text(case: Case, injection: Injection) -> str:
    """E.g. ``"T3 · L4-L5 right: lidocaine 2 % 0.5 mL"``: the target's tag first, so the two
    injections of a medial branch block (one per branch, same facet joint) read apart and
    point at the targets table and key images; without a target, ``"L5 right: …"``."""
    level = injection.level
    tag = ""
    if injection.target_id is not None:
        target = case.target(injection.target_id)
        level = level or target.level
        tag = f"{target_tag(target)} · "
    conc = f" {injection.concentration_pct:g} %" if injection.concentration_pct is not None else ""
    branches = f" ({injection.branches} branches)" if injection.branches > 1 else ""
    where = tag + " ".join(p for p in (level or "", injection.side.value) if p)
    return f"{where}: {injection.agent.value}{conc} {injection.volume_ml:g} mL{branches}"


def needle_text(proc: Procedure) -> str:
    """E.g. ``"22 G 89 mm, Quincke, spinal"`` (gauge, length, tip, type); empty if none."""
    n = proc.needle
    size = " ".join(x for x in (f"{n.gauge} G" if n.gauge else "", _mm(n.length_mm)) if x)
    return ", ".join(x for x in (size, n.tip, n.type) if x)


def _mm(value: float | None) -> str:
    return f"{value:g} mm" if value else ""


def complications_text(proc: Procedure) -> str:
    """``"none"``, ``"not recorded"`` or the complications with their notes."""
    if not proc.complications_recorded:
        text = NOT_RECORDED
    elif not proc.complications_occurred:
        text = "none"
    else:
        text = ", ".join(x.value.replace("_", " ") for x in proc.complications_occurred)
    if proc.complication_notes:
        text += f" ({proc.complication_notes})"
    return text


def _procedure_row(ctx: Context, proc: Procedure) -> list[Any]:
    st, case = ctx.st, ctx.case
    approach = f", {approach_text(proc.approach)}" if proc.approach else ""
    block = (
        f"{esc(block_name(proc.block_type.value))}{esc(approach)}<br/>"
        f"<font color='#5F6B73'>{esc(proc.guidance.value)} guidance</font>"
    )
    # the site on one line, the dose on the next (a dose split as "0.5 / mL" misreads)
    injections = "<br/>".join(
        esc(injection_text(case, i)).replace(": ", ":<br/>", 1) for i in proc.injections
    )
    contrast = contrast_text(proc.contrast, proc.block_type)
    steroid = "none"
    if proc.steroid is not None:
        s = proc.steroid
        steroid = f"{s.name} {s.dose_mg:g} mg" + (" (particulate)" if s.particulate else "")
    sedation = f"{proc.sedation.drug} {proc.sedation.dose}".strip() if proc.sedation else "none"
    operator = esc(proc.operator) if proc.operator else f"operator {NOT_RECORDED}"
    return [
        Paragraph(str(ctx.block_numbers[proc.id]), st.cell),
        Paragraph(f"{esc(fmt_date(proc.performed_at))}<br/>{operator}", st.cell),
        Paragraph(block, st.cell),
        Paragraph(injections, st.cell),
        Paragraph(esc(contrast), st.cell),
        Paragraph(f"steroid: {esc(steroid)}<br/>sedation: {esc(sedation)}", st.cell),
        Paragraph(
            f"{esc(needle_text(proc) or NOT_RECORDED)}<br/>"
            f"complications: {esc(complications_text(proc))}",
            st.cell,
        ),
    ]


def procedure_details(ctx: Context, proc: Procedure) -> Paragraph:
    """The record of one block in words: everything the table has no room for.

    Indication, index pain, images saved, complications (with notes), interpretation,
    next step and notes — each printed, "not recorded" when empty.
    """
    facts = (
        ("Indication", proc.indication),
        ("Index pain", proc.index_pain),
        ("Images saved", str(proc.images_saved)),
        ("Complications", complications_text(proc)),
        ("Interpretation", proc.interpretation),
        ("Next step", proc.next_step),
        ("Notes", proc.notes),
    )
    text = "; ".join(f"<i>{key}</i>: {esc(value or NOT_RECORDED)}" for key, value in facts)
    number = ctx.block_numbers[proc.id]
    return Paragraph(
        f"<b>{numbered_block(number, capitalised=True)}</b> "
        f"({esc(fmt_date(proc.performed_at))}). {text}.",
        ctx.st.body,
    )


def procedures_table(ctx: Context) -> list[Flowable]:
    """Every block session: the table (date, operator, block, guidance, injections, contrast,
    additives, needle, complications), then each block's details in words."""
    st, case = ctx.st, ctx.case
    flow: list[Flowable] = h1(ctx, "Procedures")
    if not case.procedures:
        flow.append(Paragraph("No procedures recorded.", st.body))
        return flow
    heads = (
        "#",
        "Date, operator",
        "Block",
        "Injections",
        "Contrast",
        "Additives",
        "Needle, complications",
    )
    mmw = [7, 24, 31, 42, 24, 24]
    widths = [x * mm for x in mmw] + [ctx.width - sum(mmw) * mm]
    rows: list[list[Any]] = [[Paragraph(h, st.cell_head) for h in heads]]
    ordered = sorted(case.procedures, key=lambda p: ctx.block_numbers[p.id])
    for proc in ordered:
        rows.append(_procedure_row(ctx, proc))
    flow.append(data_table(rows, widths))
    flow.append(
        Paragraph(
            "#: block number, in time order; the adjudication refers to it. Needle: gauge, "
            "length, tip, type. Complications: “none” when recorded as none, "
            "“not recorded” when nothing was entered.",
            st.small,
        )
    )
    flow += h2(ctx, "Procedure details")
    flow += [procedure_details(ctx, proc) for proc in ordered]
    return flow


# --- diaries ----------------------------------------------------------------------------
def block_caption(b: BlockFinding) -> str:
    """One-line description of a block and its result (paragraph markup)."""
    agents = " + ".join(b.agents) or "–"
    sites = "; ".join(k.short_label for k in b.sites) or "–"
    parts = []
    if b.peak_relief_pct is not None:
        parts.append(f"peak {b.peak_relief_pct:.0f} %")
    if b.onset_min is not None and b.duration_min is not None:
        sustained = "sustained" if b.sustained else "not sustained"
        parts.append(f"≥ threshold {b.onset_min}–{b.duration_min} min, {sustained}")
    detail = f" ({'; '.join(parts)})" if parts else ""
    baseline = f"; baseline NRS {b.baseline_nrs}" if b.baseline_nrs is not None else ""
    return (
        f"<b>{numbered_block(b.number, capitalised=True)}</b> · {esc(fmt_date(b.performed_at))} · "
        f"{esc(block_name(b.block_type))} · {esc(sites)} · {esc(agents)}{esc(baseline)} — "
        f"<b>{esc(b.verdict_detail or b.verdict)}</b>{esc(detail)}"
    )


def diaries(ctx: Context) -> list[Flowable]:
    """A relief-over-time chart per block with its threshold line."""
    st, f = ctx.st, ctx.findings
    flow: list[Flowable] = h1(ctx, "Pain diaries")
    blocks = [b for b in f.blocks if b.curve]
    if not blocks:
        flow.append(Paragraph("No pain diary recorded.", st.body))
        return flow
    flow.append(
        Paragraph(
            "Relief = 100 × (baseline NRS − NRS) / baseline; the right axis gives the same "
            f"heights as NRS. Dashed line: the threshold of {esc(f.profile_label)} "
            f"({f.threshold_pct:g} %); shaded: the run at or above it that starts at onset "
            f"(sustained when it spans ≥ {f.min_sustained_min} min). Open squares: the "
            "patient's own relief estimate. ×: missing diary point (never interpolated).",
            st.small,
        )
    )
    gap = 6 * mm
    cell_w = (ctx.width - gap) / 2
    cells: list[list[Flowable]] = []
    for b in blocks:
        chart = diary_chart(b, width=cell_w, height=46 * mm, font=ctx.fonts.regular)
        cells.append([Paragraph(block_caption(b), st.caption), Spacer(1, 1 * mm), chart])
    return _rows_of_two(flow, cells, cell_w, gap)


# --- adjudication -----------------------------------------------------------------------
def _block_notes(b: BlockFinding) -> str:
    lines = [
        f"<font color='#B00020'><b>{esc(flag.severity)}</b></font>: {esc(flag.message)}"
        for flag in b.flags
    ]
    if b.missing_min:
        words = missing_points_words(b.missing_min, b.diary_final)
        lines.append(f"<b>{MISSING_POINTS_LABEL}</b>: {esc(words)}")
    if b.provisional:
        lines.append(f"the rules alone read it {esc(b.provisional)} (not counted)")
    flag_texts = {flag.message for flag in b.flags}
    for reason in b.reasons:
        if not any(text in reason for text in flag_texts):
            lines.append(esc(reason))
    if b.agent_window_min is not None and b.duration_consistent is not None:
        lo, hi = b.agent_window_min
        where = "inside" if b.duration_consistent else "outside"
        lines.append(f"duration {where} the agent's window {lo}–{hi} min")
    return "<br/>".join(lines) or "–"


def adjudication(ctx: Context) -> list[Flowable]:
    """Profile, per-block verdicts with flags, comparative pairs, sources in detail."""
    st, f = ctx.st, ctx.findings
    flow: list[Flowable] = [*h1(ctx, "Adjudication"), *_profile_rules(ctx)]
    if f.blocks:
        flow += [*h2(ctx, "Blocks"), _blocks_table(ctx)]
        flow.append(
            Paragraph(
                f"Verdicts under {esc(f.profile_label)}. NRS: baseline pain; ≥ threshold: "
                "onset and end of the run.",
                st.small,
            )
        )
    if f.pairs:
        flow += h2(ctx, "Comparative pairs")
        flow += [Paragraph(esc(pair), st.bullet, bulletText="•") for pair in f.pairs]
    ranked = f.ranked_sources()
    if ranked:
        flow += [*h2(ctx, "Sources in detail"), _sources_caption(ctx)]
        flow.append(_sources_in_detail(ctx, ranked))
    for note in f.notes:
        flow.append(Paragraph(f"Note: {esc(note)}", st.small))
    return flow


def _profile_rules(ctx: Context) -> list[Flowable]:
    """The profile by name and version, what makes a block positive, what it rests on."""
    st, f = ctx.st, ctx.findings
    title = f" — {esc(f.profile_title)}" if f.profile_title else ""
    rule = f"; confirmation rule: {esc(f.confirmation)}" if f.confirmation else ""
    flow: list[Flowable] = [
        Paragraph(
            f"<b>Profile</b>: {esc(f.profile_name)}, version {esc(f.profile_version)}{title}",
            st.body,
        ),
        Paragraph(
            f"<b>Positive block</b>: relief ≥ {f.threshold_pct:g} % sustained ≥ "
            f"{f.min_sustained_min} min{rule}",
            st.body,
        ),
    ]
    if f.profile_citations:
        flow.append(
            Paragraph("<b>Based on</b>: " + esc(citations_text(f.profile_citations)), st.small)
        )
    return flow


def citations_text(citations: Sequence[str]) -> str:
    """References in one run, separated by ``"; "`` — a reference's own closing full stop
    is dropped first (they once read ``"Pain 1993;55:99-106.; Lord SM …"``)."""
    return "; ".join(c.strip().removesuffix(".") for c in citations)


def _blocks_table(ctx: Context) -> Flowable:
    """Every block: date, sites, agents, baseline, peak, run, verdict, flags and reasons."""
    st = ctx.st
    heads = ("#", "Date", "Sites", "Agents", "NRS", "Peak", "≥ threshold", "Verdict")
    mmw = [7, 19, 30, 21, 9, 11, 17, 20]
    widths = [x * mm for x in mmw] + [ctx.width - sum(mmw) * mm]
    rows: list[list[Any]] = [[Paragraph(h, st.cell_head) for h in (*heads, "Flags and reasons")]]
    for b in ctx.findings.blocks:
        run = "–"
        if b.onset_min is not None and b.duration_min is not None:
            run = f"{b.onset_min}–{b.duration_min} min"
        rows.append(
            [
                Paragraph(str(b.number), st.cell),
                Paragraph(esc(b.performed_at.strftime("%Y-%m-%d")), st.cell),
                Paragraph(esc("; ".join(k.short_label for k in b.sites) or "–"), st.cell),
                Paragraph(esc(" + ".join(b.agents) or "–"), st.cell),
                Paragraph(fmt_num(b.baseline_nrs), st.cell),
                Paragraph(fmt_num(b.peak_relief_pct, "%", "{:.0f}"), st.cell),
                Paragraph(run, st.cell),
                Paragraph(f"<b>{esc(b.verdict_detail or b.verdict)}</b>", st.cell),
                Paragraph(_block_notes(b), st.cell),
            ]
        )
    return data_table(rows, widths)


def _sources_caption(ctx: Context) -> Flowable:
    """The one line that names the profile for every status and reason below it."""
    return Paragraph(
        f"Statuses under {esc(ctx.findings.profile_label)}; why each source has its status, "
        "then every block that tested it.",
        ctx.st.small,
    )


def _sources_in_detail(ctx: Context, ranked: Sequence[SourceFinding]) -> Flowable:
    """Each source with its status (its column) and every reason, as the ledger words
    them (the Outcomes panel shows the same reasons); the caption names the profile."""
    st = ctx.st
    widths = [42 * mm, 25 * mm, ctx.width - 67 * mm]
    rows: list[list[Any]] = [[Paragraph(h, st.cell_head) for h in ("Source", "Status", "Why")]]
    commands: list[tuple[Any, ...]] = []
    for n, s in enumerate(ranked, start=1):
        lines = list(s.reasons)
        rows.append(
            [
                Paragraph(f"<b>{esc(s.display_label)}</b>", st.cell),
                _status_cell(s, ctx),
                Paragraph("<br/>".join(esc(x) for x in lines) or "–", st.cell),
            ]
        )
        commands += _status_commands(s, 1, n)
    return data_table(rows, widths, commands)


def suggestions(ctx: Context) -> list[Flowable]:
    """Reevaluation suggestions with their conditions and citations."""
    st, f = ctx.st, ctx.findings
    flow: list[Flowable] = [
        *h1(ctx, "Reevaluation suggestions"),
        Paragraph(
            "Decision support: prompts for the treating physician that follow from the statuses "
            f"under {esc(f.profile_label)}; not orders.",
            st.small,
        ),
    ]
    if not f.suggestions:
        flow.append(Paragraph("No suggestion follows from the current statuses.", st.body))
        return flow
    for s in f.suggestions:
        about = f" ({esc('; '.join(s.sources))})" if s.sources else ""
        cond = f"<i>{esc(s.condition)}</i>{about}: " if s.condition else ""
        cite = (
            f"<br/><font size='7' color='#5F6B73'>Source: {esc(s.citation)}</font>"
            if s.citation
            else ""
        )
        flow.append(Paragraph(f"{cond}<b>{esc(s.text)}</b>{cite}", st.bullet, bulletText="•"))
    return flow


def _odi_change_text(change: OdiChange | None) -> str:
    return "–" if change is None else change.short_text


def outcome_measures(ctx: Context) -> list[Flowable]:
    """Each ODI (%, band, change from the first with the 10-point flag) and PGIC entry, and
    the case's free-text notes, when the case has any."""
    from blockplan.outcomes.scores import MIC_CITATION, odi_course, odi_number, pgic_label

    st, case = ctx.st, ctx.case
    flow: list[Flowable] = []
    if case.odi or case.pgic:
        flow += h1(ctx, "Outcome measures")
        heads = ("Date", "Measure", "Score", "Change from first ODI")
        rows: list[list[Any]] = [[Paragraph(h, st.cell_head) for h in heads]]
        for entry in odi_course(case.odi):
            scored = entry.score
            if scored.percent is None:
                text = f"not scored: {scored.reason or 'too few items answered'}"
            else:
                band = f", {scored.band}" if scored.band else ""
                percent = odi_number(scored.percent)
                text = f"{percent} %{band} ({scored.answered} of 10 items answered)"
            rows.append(
                [
                    Paragraph(fmt_date(entry.recorded_on), st.cell),
                    Paragraph("Oswestry Disability Index", st.cell),
                    Paragraph(esc(text), st.cell),
                    Paragraph(esc(_odi_change_text(entry.change_from_first)), st.cell),
                ]
            )
        for g in sorted(case.pgic, key=lambda e: e.recorded_on):
            rows.append(
                [
                    Paragraph(fmt_date(g.recorded_on), st.cell),
                    Paragraph("Patient Global Impression of Change", st.cell),
                    Paragraph(f"{g.score}: {esc(pgic_label(g.score))}", st.cell),
                    Paragraph("–", st.cell),
                ]
            )
        flow.append(data_table(rows, [24 * mm, 52 * mm, 50 * mm, ctx.width - 126 * mm]))
        flow.append(
            Paragraph(
                "ODI % = 100 × sum / (5 × items answered); bands 0–20 minimal, 21–40 moderate, "
                "41–60 severe, 61–80 crippled, 81–100 bed-bound. Change in percentage points "
                "from the first scorable ODI (negative: less disability); a change of ≥ 10 "
                f"points is the minimal important change ({esc(MIC_CITATION)}). PGIC: 1 very "
                "much improved … 7 very much worse.",
                st.small,
            )
        )
    if case.notes:
        flow += h1(ctx, "Notes")
        for note in case.notes:
            by = f", {note.author}" if note.author else ""
            flow.append(
                Paragraph(f"<b>{esc(fmt_date(note.at))}{esc(by)}</b>: {esc(note.text)}", st.body)
            )
    return flow


def signature(ctx: Context) -> list[Flowable]:
    """Who prepared the report, lines to sign and date, and the closing statement."""
    st = ctx.st
    rows: list[list[Any]] = [
        [Paragraph("Report prepared by", st.label), Paragraph(esc(ctx.options.author), st.body)],
        [Paragraph("Signature", st.label), ""],
        [Paragraph("Date", st.label), ""],
    ]
    block = grid(
        rows,
        [35 * mm, 80 * mm],
        [
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LINEBELOW", (1, 0), (1, -1), 0.6, INK),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ],
        rowHeights=[None, 12 * mm, 9 * mm],
    )
    statement = Paragraph(
        f"Generated by blockplan {esc(__version__)} on {esc(fmt_date(ctx.created_at))}, report "
        f"{esc(ctx.report_id)}. {DISCLAIMER}: pain-source statuses are computed from the "
        f"recorded blocks and diaries under {esc(ctx.findings.profile_label)} and must be "
        "interpreted by the treating physician in the light of the whole clinical picture.",
        st.small,
    )
    return [
        CondPageBreak(55 * mm),
        KeepTogether([Paragraph("Signature", st.h1), block, Spacer(1, 4 * mm), statement]),
    ]
