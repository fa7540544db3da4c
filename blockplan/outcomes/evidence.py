"""Ledger statuses and the evidence held for one candidate pain source.

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Final, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from blockplan.outcomes.adjudication import ComparativePair, SourceKey
from blockplan.outcomes.numbering import numbered_block

__all__ = [
    "OPEN_STATUSES",
    "STATUS_COLOURS",
    "STATUS_ORDER",
    "STATUS_TEXT_COLOURS",
    "UNTESTED",
    "UNTESTED_HEADING",
    "UNTESTED_TEXT",
    "SourceEvidence",
    "Status",
    "WhyAndBlocks",
    "describe_untested",
    "shown_status",
    "shown_status_key",
    "shown_status_text",
    "status_key_text",
    "why_and_blocks",
]


class Status(StrEnum):
    """Status of a candidate pain source under a profile (shared/DOMAIN.md §5).

    The one status vocabulary of blockplan: the ledger decides it, the report, the map and
    the viewer show it. Ordered ``confirmed > probable > needs review > pending >
    indeterminate > excluded`` (see `STATUS_ORDER` and `Status.rank`): the order in which
    sources are ranked and read — support first, then sources awaiting the physician or
    data, then open and unsupported ones.
    """

    CONFIRMED = "confirmed"
    PROBABLE = "probable"
    NEEDS_REVIEW = "needs_review"
    """A block on the source needs the physician's review before it counts (§9)."""
    PENDING = "pending"
    """A block on the source awaits data (an incomplete diary): not scored yet (§9)."""
    INDETERMINATE = "indeterminate"
    EXCLUDED = "excluded"
    """Not supported as a pain source under the profile — never "ruled out"."""

    @property
    def rank(self) -> int:
        """5 for confirmed … 0 for excluded (higher ranks first)."""
        return len(STATUS_ORDER) - 1 - STATUS_ORDER.index(self)

    @property
    def text(self) -> str:
        """The status in plain words, e.g. ``"needs review"``."""
        return self.value.replace("_", " ")

    @property
    def meaning(self) -> str:
        """What the status means in plain words (completed with "under <profile>")."""
        return _MEANINGS[self]

    @property
    def heading(self) -> str:
        """The status as a heading over the sources that have it, e.g. ``"Probable"``."""
        return _HEADINGS[self]

    @property
    def letter(self) -> str:
        """One character inside a map marker: ``"C"``, ``"P"``, ``"I"``, ``"E"``, and
        ``"!"`` (needs review) and ``"?"`` (pending)."""
        return _LETTERS[self]

    def describe(self, profile_label: str) -> str:
        """The status in words, naming the profile, e.g. ``"not supported as a pain source
        under strict-dual-80 v1.0.0"``."""
        return {
            Status.CONFIRMED: f"confirmed as a pain source under {profile_label}",
            Status.PROBABLE: f"probable pain source under {profile_label}, awaiting confirmation",
            Status.NEEDS_REVIEW: (
                f"needs the physician's review under {profile_label} before it is scored"
            ),
            Status.PENDING: f"pending under {profile_label}: a block's record is incomplete",
            Status.INDETERMINATE: f"indeterminate under {profile_label}",
            Status.EXCLUDED: f"not supported as a pain source under {profile_label}",
        }[self]


STATUS_ORDER: tuple[Status, ...] = (
    Status.CONFIRMED,
    Status.PROBABLE,
    Status.NEEDS_REVIEW,
    Status.PENDING,
    Status.INDETERMINATE,
    Status.EXCLUDED,
)
"""The order sources are ranked and read in (most support first; sources awaiting the
physician's review or data before the open and unsupported ones)."""

_LETTERS: dict[Status, str] = {
    Status.CONFIRMED: "C",
    Status.PROBABLE: "P",
    Status.NEEDS_REVIEW: "!",
    Status.PENDING: "?",
    Status.INDETERMINATE: "I",
    Status.EXCLUDED: "E",
}

_MEANINGS: dict[Status, str] = {
    Status.CONFIRMED: "supported as a pain source",
    Status.PROBABLE: "probably a pain source, awaiting confirmation",
    Status.NEEDS_REVIEW: "a block needs the physician's review before it counts",
    Status.PENDING: "a block's record is incomplete (missing diary points), not scored yet",
    Status.INDETERMINATE: "open — the blocks so far do not decide",
    Status.EXCLUDED: "not supported as a pain source",
}

_HEADINGS: dict[Status, str] = {
    Status.CONFIRMED: "Confirmed",
    Status.PROBABLE: "Probable",
    Status.NEEDS_REVIEW: "Needs review",
    Status.PENDING: "Pending (record incomplete)",
    Status.INDETERMINATE: "Open (indeterminate)",
    Status.EXCLUDED: "Not supported as a pain source",
}

OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.PROBABLE, Status.NEEDS_REVIEW, Status.PENDING, Status.INDETERMINATE}
)
"""Statuses that review, data or further testing could settle."""

UNTESTED: Final = "untested"
"""Colour key of a planned target or site that no block has tested yet (not a status)."""

UNTESTED_TEXT: Final = "no diagnostic block yet"
"""How a source no diagnostic block has tested is shown (see `shown_status`)."""
UNTESTED_HEADING: Final = "No diagnostic block yet"


class _SourceLike(Protocol):
    """What `shown_status` reads: the ledger's `SourceEvidence` or the report's finding."""

    @property
    def status(self) -> Status: ...

    @property
    def blocks(self) -> Collection[int]: ...


def shown_status(source: _SourceLike) -> Status | None:
    """The status a source is shown with — the one rule of the map, the report's tables,
    the Outcomes panel and the viewer's target colours.

    None ("no diagnostic block yet", `UNTESTED_TEXT`) when no block the profile adjudicates
    bears on the source: a planned target not done yet, or a site reached only by a
    therapeutic block (a transforaminal epidural injection under a profile that does not
    adjudicate it). The ledger's status of such a source stays *indeterminate* (no valid
    block, shared/DOMAIN.md §5) — but "indeterminate" next to a site nobody has tested
    diagnostically reads as if blocks there had disagreed, so it is shown as not tested.
    Otherwise the ledger's status.
    """
    return source.status if source.blocks else None


class _ReachedLike(_SourceLike, Protocol):
    """What `why_and_blocks` reads: the ledger's `SourceEvidence` or the report's finding."""

    @property
    def reasons(self) -> Sequence[str]: ...

    @property
    def therapeutic(self) -> Collection[int]: ...

    @property
    def not_adjudicated(self) -> Collection[int]: ...


class WhyAndBlocks(NamedTuple):
    """A source's *Why* and *Blocks* in words (see `why_and_blocks`)."""

    why: str
    """Every reason for the shown status, in the ledger's order, ``"; "``-joined."""
    blocks: str
    """Every block that reached the source, by number, e.g. ``"block #1, block #4
    (therapeutic)"``; empty when none did."""


_THERAPEUTIC_MARK: Final = "therapeutic"
_NOT_ADJUDICATED_MARK: Final = "not adjudicated"


def why_and_blocks(source: _ReachedLike) -> WhyAndBlocks:
    """Why a source has the status it is shown with, and which blocks reached it — the one
    rule of the Outcomes panel's Ledger tab and the report's ranked sources table.

    *Why* is every reason of the ledger, in its order (the deciding step's reasons, then
    each block's note), each once. *Blocks* names every block that reached the source in
    time order (`blockplan.outcomes.numbering`): the blocks the profile adjudicates
    (`SourceEvidence.blocks`) as ``"block #1"``; a therapeutic injection it does not
    adjudicate as ``"block #4 (therapeutic)"``; any other block it does not adjudicate (a
    structure outside its scope, discography) as ``"block #5 (not adjudicated)"``. The
    marked blocks count as no evidence: a source reached only by them is shown as
    "no diagnostic block yet" (`shown_status`), and its Why says why they do not count.
    """
    why = "; ".join(dict.fromkeys(source.reasons))
    marks = {n: "" for n in source.blocks}
    marks.update({n: f" ({_NOT_ADJUDICATED_MARK})" for n in source.not_adjudicated})
    marks.update({n: f" ({_THERAPEUTIC_MARK})" for n in source.therapeutic})
    blocks = ", ".join(numbered_block(n) + marks[n] for n in sorted(marks))
    return WhyAndBlocks(why, blocks)


def describe_untested(profile_label: str) -> str:
    """The status text of a source `shown_status` shows as not tested, naming the profile
    and the ledger's status, e.g. ``"no diagnostic block yet (indeterminate under
    comparative v1.1.0: no valid block)"``."""
    return f"{UNTESTED_TEXT} (indeterminate under {profile_label}: no valid block)"


def shown_status_key(source: _SourceLike) -> str:
    """`shown_status` as a key of `STATUS_COLOURS`: a `Status` value or `UNTESTED`."""
    status = shown_status(source)
    return UNTESTED if status is None else status.value


def shown_status_text(source: _SourceLike) -> str:
    """`shown_status` in words: ``"confirmed"``, ``"needs review"``, … or
    ``"no diagnostic block yet"``."""
    return status_key_text(shown_status_key(source))


def status_key_text(key: str) -> str:
    """A `shown_status_key` (a `Status` value or `UNTESTED`, e.g. read back from the SR) in
    the words `shown_status_text` gives."""
    return UNTESTED_TEXT if key == UNTESTED else Status(key).text


# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
STATUS_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        Status.CONFIRMED: "#D55E00",
        Status.PROBABLE: "#E69F00",
        Status.NEEDS_REVIEW: "#F0E442",
        Status.PENDING: "#56B4E9",
        Status.INDETERMINATE: "#C8C8C8",
        Status.EXCLUDED: "#0072B2",
        UNTESTED: "#CC79A7",
    }
)
"""Fill colour (hex sRGB) of each status and of `UNTESTED`: the report's tables, map and
legend and the viewer's target points all use this one table."""

STATUS_TEXT_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        Status.CONFIRMED: "#FFFFFF",
        Status.PROBABLE: "#000000",
        Status.NEEDS_REVIEW: "#000000",
        Status.PENDING: "#000000",
        Status.INDETERMINATE: "#000000",
        Status.EXCLUDED: "#FFFFFF",
        UNTESTED: "#000000",
    }
)
"""Readable text colour on each `STATUS_COLOURS` fill."""


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
    review : tuple of int
        Blocks on this source that need the physician's review.
    therapeutic : tuple of int
        Therapeutic injections that reached this source and that the profile does not
        adjudicate (e.g. a transforaminal epidural): named, never evidence.
    not_adjudicated : tuple of int
        Other blocks that reached this source and that the profile does not adjudicate (a
        structure outside its scope, discography): named, never evidence.
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
    review: tuple[int, ...] = ()
    therapeutic: tuple[int, ...] = ()
    not_adjudicated: tuple[int, ...] = ()
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
        """True for probable, needs-review, pending and indeterminate sources (review, data
        or more testing could settle them)."""
        return self.status in OPEN_STATUSES

    @property
    def blocks(self) -> tuple[int, ...]:
        """Every block number referenced by this source that the profile adjudicates,
        sorted (the therapeutic and not adjudicated blocks that reached it are not
        counted here: see `why_and_blocks`)."""
        numbers = {
            *self.supporting,
            *self.against,
            *self.shared,
            *self.controls,
            *self.not_diagnostic,
            *self.pending,
            *self.review,
        }
        return tuple(sorted(numbers))
