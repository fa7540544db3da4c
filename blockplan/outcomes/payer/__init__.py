"""Payer-documentation checks: versioned, cited payer profiles read by one engine.

`evaluate_checklist(case, "cms-lcd-l38773-facet")` says, for each documentation element a
coverage text asks for, whether the case records it: *met*, *not met* or *not recorded*,
with the reason and the citation. Decision support — not a coverage decision.
"""

from blockplan.outcomes.payer.checklist import (
    CHECKLIST_DISCLAIMER,
    CHECKLIST_HEADING,
    ChecklistItem,
    ItemStatus,
    PayerChecklist,
    checklist_to_text,
    evaluate_checklist,
)
from blockplan.outcomes.payer.profile import (
    CheckKind,
    PayerProfile,
    list_payer_profiles,
    load_payer_profile,
)
from blockplan.outcomes.payer.sessions import Session, group_sessions, spinal_region

__all__ = [
    "CHECKLIST_DISCLAIMER",
    "CHECKLIST_HEADING",
    "CheckKind",
    "ChecklistItem",
    "ItemStatus",
    "PayerChecklist",
    "PayerProfile",
    "Session",
    "checklist_to_text",
    "evaluate_checklist",
    "group_sessions",
    "list_payer_profiles",
    "load_payer_profile",
    "spinal_region",
]
