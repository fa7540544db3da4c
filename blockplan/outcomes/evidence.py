"""Ledger statuses and the evidence held for one candidate pain source.

Decision support, not a medical device.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from blockplan.outcomes.adjudication import ComparativePair, SourceKey

__all__ = ["STATUS_ORDER", "SourceEvidence", "Status"]


class Status(StrEnum):
    """Status of a candidate pain source under a profile (shared/DOMAIN.md §5).

    Ordered ``confirmed > probable > indeterminate > excluded`` (see `Status.rank`): the
    order of support for the source being a pain generator.
    """

    CONFIRMED = "confirmed"
    PROBABLE = "probable"
    INDETERMINATE = "indeterminate"
    EXCLUDED = "excluded"
    """Not supported as a pain source under the profile — never "ruled out"."""

    @property
    def rank(self) -> int:
        """3 for confirmed … 0 for excluded."""
        return STATUS_ORDER.index(self)

    def describe(self, profile_label: str) -> str:
        """The status in words, naming the profile, e.g. ``"not supported as a pain source
        under strict-dual-80 v1.0.0"``."""
        return {
            Status.CONFIRMED: f"confirmed as a pain source under {profile_label}",
            Status.PROBABLE: f"probable pain source under {profile_label}, awaiting confirmation",
            Status.INDETERMINATE: f"indeterminate under {profile_label}",
            Status.EXCLUDED: f"not supported as a pain source under {profile_label}",
        }[self]


STATUS_ORDER: tuple[Status, ...] = (
    Status.EXCLUDED,
    Status.INDETERMINATE,
    Status.PROBABLE,
    Status.CONFIRMED,
)
"""Statuses from least to most support."""


class SourceEvidence(BaseModel):
    """Evidence about one candidate pain source and its status.

    A source is a set of sites: one ``(level, side, structure)`` key, or several when a
    block covered several sites at once (bilateral, several levels). Block references are
    the chronological block numbers of `Ledger.blocks`.

    Attributes
    ----------
    sites : tuple of SourceKey
    label : str
    status : Status
    status_text : str
        The status in words with the profile name and version.
    supporting : tuple of int
        Valid positive blocks that tested only sites of this source.
    against : tuple of int
        Valid negative blocks that tested (at least) every site of this source.
    shared : tuple of int
        Positive blocks that also covered other sites: their relief cannot be attributed
        to this source.
    controls : tuple of int
        Saline controls on this source; ``placebo_responses`` those that reached the
        threshold.
    not_diagnostic, pending : tuple of int
        Blocks on this source that count as no evidence (flagged) or await data.
    pairs : tuple of ComparativePair
        Comparative pairs on exactly this source.
    positive_days : int
        Distinct days with a supporting block.
    in_scope : bool
        The profile adjudicates this source's structure.
    reasons : tuple of str
        Why the status, in words.
    settle : tuple of str
        What would settle an open (probable or indeterminate) source.
    strength : tuple
        ``(positive days, supporting blocks, −negative blocks, best peak relief %)``; ranks
        sources of equal status.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sites: tuple[SourceKey, ...]
    label: str
    status: Status
    status_text: str
    supporting: tuple[int, ...] = ()
    against: tuple[int, ...] = ()
    shared: tuple[int, ...] = ()
    controls: tuple[int, ...] = ()
    placebo_responses: tuple[int, ...] = ()
    not_diagnostic: tuple[int, ...] = ()
    pending: tuple[int, ...] = ()
    pairs: tuple[ComparativePair, ...] = ()
    positive_days: int = 0
    in_scope: bool = True
    reasons: tuple[str, ...] = ()
    settle: tuple[str, ...] = ()
    strength: tuple[int, int, int, float] = (0, 0, 0, 0.0)

    @property
    def is_group(self) -> bool:
        """True when the source is a set of several sites."""
        return len(self.sites) > 1

    @property
    def is_open(self) -> bool:
        """True for probable and indeterminate sources (more testing could settle them)."""
        return self.status in (Status.PROBABLE, Status.INDETERMINATE)

    @property
    def blocks(self) -> tuple[int, ...]:
        """Every block number referenced by this source, sorted."""
        numbers = {
            *self.supporting,
            *self.against,
            *self.shared,
            *self.controls,
            *self.not_diagnostic,
            *self.pending,
        }
        return tuple(sorted(numbers))
