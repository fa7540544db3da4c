"""The report's payer-documentation checklist section (decision support — not a coverage
decision).

The items come from `blockplan.outcomes.payer.evaluate_checklist`; this module only lays
them out, one paragraph per item with the same words the CLI prints (`ChecklistItem.text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reportlab.platypus import Flowable, KeepTogether

from blockplan.case.model import Case
from blockplan.errors import ProfileError, ReportError
from blockplan.report.layout import Paragraph, esc

if TYPE_CHECKING:
    from blockplan.outcomes.payer import PayerChecklist
    from blockplan.report.sections import Context

__all__ = ["payer_checklists", "payer_section"]

_STATUS_COLOUR = {"met": "#1B7837", "not_met": "#B2182B", "not_recorded": "#5F6B73"}


def payer_checklists(case: Case, names: Sequence[str]) -> tuple[PayerChecklist, ...]:
    """The checklist of ``case`` under each payer profile named (ReportError if one fails)."""
    from blockplan.outcomes.payer import evaluate_checklist

    try:
        return tuple(evaluate_checklist(case, name) for name in names)
    except ProfileError as err:
        raise ReportError(f"report: payer checklist cannot be made ({err})") from err


def payer_section(ctx: Context) -> list[Flowable]:
    """One "Payer documentation checklist" section per payer profile of the report."""
    from blockplan.outcomes.payer import CHECKLIST_HEADING
    from blockplan.report.sections import h1

    st = ctx.st
    flow: list[Flowable] = []
    for checklist in ctx.payer:
        flow += h1(ctx, CHECKLIST_HEADING)
        flow.append(Paragraph(esc(checklist.intro), st.small))
        for item in checklist.items:
            prefix = f"{item.status.text.upper()}:"
            rest = item.text.removeprefix(prefix)
            colour = _STATUS_COLOUR[item.status.value]
            cite = f"<br/><font size='7' color='#5F6B73'>Source: {esc(item.citation)}</font>"
            text = f"<font color='{colour}'><b>{esc(prefix)}</b></font>{esc(rest)}{cite}"
            # An item never splits across pages: it is read (and extracted) as one piece.
            flow.append(KeepTogether([Paragraph(text, st.bullet, bulletText="•")]))
    return flow
