"""A case's ledger in a few lines: its supported and open sources under each profile.

The case store keeps these summaries with every saved version (`ledger_summaries`), so a
clinic-wide question — which patients have which confirmed, probable or pending sources
under a profile — is one query (`blockplan.case.store.CaseStore.sources`), not 10 000
ledgers built on the spot.

Decision support, not a medical device.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import Case
from blockplan.outcomes.evidence import Status
from blockplan.outcomes.ledger import Ledger, build_ledger
from blockplan.outcomes.profiles import Profile, list_profiles, load_profile

__all__ = [
    "LISTED_STATUSES",
    "LedgerSummary",
    "SourceLine",
    "ledger_summaries",
    "shipped_profile_versions",
    "summarise_ledger",
]

LISTED_STATUSES: tuple[Status, ...] = (
    Status.CONFIRMED,
    Status.PROBABLE,
    Status.NEEDS_REVIEW,
    Status.PENDING,
)
"""Statuses a summary keeps: sources supported, or awaiting review or data. Indeterminate
and excluded sources are left out (the case's own ledger shows them)."""


class SourceLine(BaseModel):
    """One source of a summary: its status and its sites in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status
    label: str


class LedgerSummary(BaseModel):
    """The sources with a listed status of one case under one profile, ledger order.

    Attributes
    ----------
    case_id : str
    profile_name, profile_version : str
        The profile that decided.
    sources : tuple of SourceLine
        Confirmed, probable, needs-review and pending sources (`LISTED_STATUSES`), ranked
        as in the ledger.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    profile_name: str
    profile_version: str
    sources: tuple[SourceLine, ...] = ()


def summarise_ledger(ledger: Ledger) -> LedgerSummary:
    """The listed sources of a ledger (`LISTED_STATUSES`), in the ledger's rank order."""
    return LedgerSummary(
        case_id=ledger.case_id,
        profile_name=ledger.profile_name,
        profile_version=ledger.profile_version,
        sources=tuple(
            SourceLine(status=s.status, label=s.label)
            for s in ledger.sources
            if s.status in LISTED_STATUSES
        ),
    )


@cache
def _shipped() -> tuple[Profile, ...]:
    return tuple(load_profile(name) for name in list_profiles())


def shipped_profile_versions() -> dict[str, str]:
    """``{name: version}`` of every shipped profile (what stored summaries are checked
    against: a summary of another version is out of date)."""
    return {p.name: p.version for p in _shipped()}


def ledger_summaries(case: Case) -> tuple[LedgerSummary, ...]:
    """The case's summary under every shipped profile, sorted by profile name."""
    return tuple(summarise_ledger(build_ledger(case, p)) for p in _shipped())
