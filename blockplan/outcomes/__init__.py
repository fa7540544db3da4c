"""Outcomes: pain diaries, adjudication profiles, block verdicts and the evidence ledger.

Decision support, not a medical device. Every rule comes from a named, versioned profile
(`load_profile`); `build_ledger` applies one to a case.
"""

from blockplan.outcomes.adjudication import (
    BlockResult,
    BlockRole,
    ComparativePair,
    Flag,
    PairClass,
    SourceKey,
    Verdict,
    adjudicate,
    adjudicate_block,
    classify_pair,
    comparative_pairs,
    expand_sites,
    injection_sites,
    validity_flags,
)
from blockplan.outcomes.chart import DiaryChartSpec, diary_chart_spec
from blockplan.outcomes.diary import (
    DEFAULT_DIARY_TIMES_MIN,
    ReliefPoint,
    ReliefRun,
    peak_relief,
    relief_curve,
    relief_pct,
    relief_run,
)
from blockplan.outcomes.evidence import (
    STATUS_COLOURS,
    STATUS_ORDER,
    STATUS_TEXT_COLOURS,
    UNTESTED,
    SourceEvidence,
    Status,
)
from blockplan.outcomes.ledger import DISCLAIMER, Ledger, build_ledger
from blockplan.outcomes.profiles import (
    ConfirmationRule,
    FlagCode,
    Profile,
    Severity,
    list_profiles,
    load_profile,
)
from blockplan.outcomes.reevaluation import Suggestion, reevaluation_suggestions
from blockplan.outcomes.scores import (
    MIC_ODI_POINTS,
    OdiChange,
    OdiCourseEntry,
    OdiScore,
    odi_band,
    odi_changes,
    odi_course,
    pgic_label,
    score_odi,
)
from blockplan.outcomes.targets import target_status, target_statuses

__all__ = [
    "DEFAULT_DIARY_TIMES_MIN",
    "DISCLAIMER",
    "MIC_ODI_POINTS",
    "STATUS_COLOURS",
    "STATUS_ORDER",
    "STATUS_TEXT_COLOURS",
    "UNTESTED",
    "BlockResult",
    "BlockRole",
    "ComparativePair",
    "ConfirmationRule",
    "DiaryChartSpec",
    "Flag",
    "FlagCode",
    "Ledger",
    "OdiChange",
    "OdiCourseEntry",
    "OdiScore",
    "PairClass",
    "Profile",
    "ReliefPoint",
    "ReliefRun",
    "Severity",
    "SourceEvidence",
    "SourceKey",
    "Status",
    "Suggestion",
    "Verdict",
    "adjudicate",
    "adjudicate_block",
    "build_ledger",
    "classify_pair",
    "comparative_pairs",
    "diary_chart_spec",
    "expand_sites",
    "injection_sites",
    "list_profiles",
    "load_profile",
    "odi_band",
    "odi_changes",
    "odi_course",
    "peak_relief",
    "pgic_label",
    "reevaluation_suggestions",
    "relief_curve",
    "relief_pct",
    "relief_run",
    "score_odi",
    "target_status",
    "target_statuses",
    "validity_flags",
]
