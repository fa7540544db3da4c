"""Controlled vocabulary of the case: levels, sides, structures, block types, agents.

Every enum has ``str`` values, which are what the case file stores. Levels follow the
usual clinical notation: a vertebra ``"L5"``, a motion segment (disc, facet joint)
``"L4-L5"`` (upper-lower, adjacent vertebrae), a transitional sixth lumbar vertebra ``"L6"``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BLOCK_ABBREVIATIONS",
    "BLOCK_NAMES",
    "THERAPEUTIC_BLOCK_TYPES",
    "Agent",
    "Approach",
    "BlockType",
    "Complication",
    "ContrastPattern",
    "Guidance",
    "Laterality",
    "SpinalLevel",
    "Structure",
    "TransitionalVertebra",
    "is_segment",
    "joints_beside",
    "level_index",
    "level_sort_key",
    "next_level",
    "parse_level",
    "segment_between",
]


class SpinalLevel(StrEnum):
    """A vertebra, C1 to S5, with a transitional L6 between L5 and S1."""

    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"
    C6 = "C6"
    C7 = "C7"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"
    T7 = "T7"
    T8 = "T8"
    T9 = "T9"
    T10 = "T10"
    T11 = "T11"
    T12 = "T12"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    L5 = "L5"
    L6 = "L6"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"
    S5 = "S5"


_ORDER: tuple[SpinalLevel, ...] = tuple(SpinalLevel)


def level_index(level: SpinalLevel | str) -> int:
    """Position of a vertebra from the top (C1 = 0); L6 sits between L5 and S1."""
    return _ORDER.index(SpinalLevel(level))


def next_level(level: SpinalLevel | str, *, transitional_l6: bool = False) -> SpinalLevel | None:
    """The vertebra below ``level`` (L5 → S1 unless ``transitional_l6``), or None below S5."""
    idx = level_index(level) + 1
    if idx >= len(_ORDER):
        return None
    nxt = _ORDER[idx]
    if nxt is SpinalLevel.L6 and not transitional_l6:
        nxt = SpinalLevel.S1
    return nxt


def joints_beside(level: SpinalLevel | str) -> tuple[str, ...]:
    """The motion segments next to a vertebra, the one above it first: ``"L4"`` →
    ``("L3-L4", "L4-L5")``, ``"L5"`` → ``("L4-L5", "L5-S1")``, ``"S1"`` → ``("L5-S1",)``
    (the sacrum below S1 is fused), ``"C1"`` → ``("C1-C2",)``."""
    v = SpinalLevel(level)
    if v is SpinalLevel.L6:  # transitional: between L5 and S1
        return ("L5-L6", "L6-S1")
    index = level_index(v)
    above = _ORDER[index - 1] if index > 0 else None
    if above is SpinalLevel.L6:
        above = SpinalLevel.L5
    below = next_level(v)
    joints = []
    if above is not None and above.value[0] != "S":
        joints.append(segment_between(above, v))
    if below is not None and v.value[0] != "S":
        joints.append(segment_between(v, below))
    return tuple(joints)


def segment_between(upper: SpinalLevel | str, lower: SpinalLevel | str) -> str:
    """The motion-segment name ``"UPPER-LOWER"`` of two adjacent vertebrae."""
    u, lo = SpinalLevel(upper), SpinalLevel(lower)
    gap = level_index(lo) - level_index(u)
    adjacent = gap == 1 or (gap == 2 and u is SpinalLevel.L5 and lo is SpinalLevel.S1)
    if not adjacent:
        raise ValueError(f"{u}-{lo} is not a motion segment: the vertebrae are not adjacent")
    return f"{u}-{lo}"


def parse_level(text: str) -> str:
    """Validate and normalise a level: a vertebra (``"L5"``) or a segment (``"L4-L5"``).

    Accepts en dashes and lower case (``"l4–l5"``). Raises ``ValueError`` naming the
    expected forms.
    """
    cleaned = text.strip().upper().replace("–", "-").replace("/", "-").replace(" ", "")
    if "-" in cleaned:
        upper, _, lower = cleaned.partition("-")
        try:
            return segment_between(upper, lower)
        except ValueError as err:
            raise ValueError(
                f"level {text!r}: expected a vertebra like 'L5' or a segment of adjacent "
                f"vertebrae like 'L4-L5' ({err})"
            ) from err
    try:
        return SpinalLevel(cleaned).value
    except ValueError as err:
        raise ValueError(
            f"level {text!r}: expected a vertebra C1–C7, T1–T12, L1–L6 or S1–S5, "
            "or a segment like 'L4-L5'"
        ) from err


def is_segment(level: str) -> bool:
    """True for a motion segment (``"L4-L5"``), False for a vertebra."""
    return "-" in level


def level_sort_key(level: str) -> float:
    """Cranio-caudal order of a level: vertebra index, a segment halfway below its upper
    vertebra; anything else (``"unassigned"``) sorts last."""
    upper, _, _lower = level.partition("-")
    try:
        index = float(level_index(upper))
    except ValueError:
        return float("inf")
    return index + 0.5 if _lower else index


class TransitionalVertebra(StrEnum):
    """Lumbosacral transitional anatomy noted by the physician (shared/DOMAIN.md §10).

    A **sacralised L5** (partly or wholly fused with the sacrum) keeps its name: it is
    marked ``"L5"`` and its disc ``"L5-S1"``. A **lumbarised S1** (a sixth free lumbar-type
    vertebra) is marked ``"L6"`` (segments ``"L5-L6"`` and ``"L6-S1"``), so the vertebrae
    above keep the names counted from T12 and S1 stays the first fused sacral segment.
    """

    SACRALISED_L5 = "sacralised_l5"
    LUMBARISED_S1 = "lumbarised_s1"


class Laterality(StrEnum):
    """Side of a target or block, from the patient's point of view."""

    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"
    MIDLINE = "midline"


class Structure(StrEnum):
    """A candidate pain generator: what the evidence ledger is keyed by."""

    NERVE_ROOT = "nerve_root"
    FACET_JOINT = "facet_joint"
    DISC = "disc"
    SACROILIAC_JOINT = "sacroiliac_joint"
    EPIDURAL_SPACE = "epidural_space"


class BlockType(StrEnum):
    """Diagnostic or therapeutic block types (shared/DOMAIN.md §2)."""

    MEDIAL_BRANCH = "mbb"
    FACET_INTRAARTICULAR = "facet_ia"
    SELECTIVE_NERVE_ROOT = "snrb"
    TRANSFORAMINAL_EPIDURAL = "tfesi"
    INTERLAMINAR_EPIDURAL = "ilesi"
    CAUDAL_EPIDURAL = "caudal"
    SACROILIAC_JOINT = "sij"
    DISCOGRAPHY = "discography"

    @property
    def structure(self) -> Structure:
        """The structure this block tests."""
        return _BLOCK_STRUCTURE[self]

    @property
    def usual_approach(self) -> Approach:
        """The approach usually taken for this block: a default the physician confirms."""
        return _USUAL_APPROACH[self]


_BLOCK_STRUCTURE: dict[BlockType, Structure] = {
    BlockType.MEDIAL_BRANCH: Structure.FACET_JOINT,
    BlockType.FACET_INTRAARTICULAR: Structure.FACET_JOINT,
    BlockType.SELECTIVE_NERVE_ROOT: Structure.NERVE_ROOT,
    BlockType.TRANSFORAMINAL_EPIDURAL: Structure.NERVE_ROOT,
    BlockType.INTERLAMINAR_EPIDURAL: Structure.EPIDURAL_SPACE,
    BlockType.CAUDAL_EPIDURAL: Structure.EPIDURAL_SPACE,
    BlockType.SACROILIAC_JOINT: Structure.SACROILIAC_JOINT,
    BlockType.DISCOGRAPHY: Structure.DISC,
}


class Approach(StrEnum):
    """Needle approach."""

    SUBPEDICULAR = "subpedicular"  # transforaminal "safe triangle"
    RETRODISCAL = "retrodiscal"  # Kambin's triangle
    INFRANEURAL = "infraneural"
    EXTRAFORAMINAL = "extraforaminal"  # lateral to the foramen, at the exiting root
    INTERLAMINAR = "interlaminar"
    CAUDAL = "caudal"
    POSTERIOR_OBLIQUE = "posterior_oblique"
    POSTERIOR = "posterior"
    OTHER = "other"


_USUAL_APPROACH: dict[BlockType, Approach] = {
    BlockType.MEDIAL_BRANCH: Approach.POSTERIOR_OBLIQUE,
    BlockType.FACET_INTRAARTICULAR: Approach.POSTERIOR_OBLIQUE,
    BlockType.SELECTIVE_NERVE_ROOT: Approach.SUBPEDICULAR,
    BlockType.TRANSFORAMINAL_EPIDURAL: Approach.SUBPEDICULAR,  # the "safe triangle"
    BlockType.INTERLAMINAR_EPIDURAL: Approach.INTERLAMINAR,
    BlockType.CAUDAL_EPIDURAL: Approach.CAUDAL,
    BlockType.SACROILIAC_JOINT: Approach.POSTERIOR,
    BlockType.DISCOGRAPHY: Approach.POSTERIOR_OBLIQUE,
}
"""The usual approach per block type (DOMAIN §2; procedure texts): a default, never a rule."""


class Guidance(StrEnum):
    """Imaging guidance of a procedure."""

    FLUOROSCOPY = "fluoroscopy"
    CT = "ct"
    ULTRASOUND = "ultrasound"


class Agent(StrEnum):
    """Injected agent. ``saline`` is the placebo control."""

    LIDOCAINE = "lidocaine"
    BUPIVACAINE = "bupivacaine"
    ROPIVACAINE = "ropivacaine"
    SALINE = "saline"

    @property
    def is_anaesthetic(self) -> bool:
        """True for a local anaesthetic, False for saline."""
        return self is not Agent.SALINE


class ContrastPattern(StrEnum):
    """Contrast spread seen before injecting the agent."""

    ALONG_ROOT = "along_root"
    FORAMINAL = "foraminal"
    EPIDURAL = "epidural"
    INTRA_ARTICULAR = "intra_articular"
    NEITHER = "neither"
    NOT_USED = "not_used"


class Complication(StrEnum):
    """Complications recorded for a procedure.

    ``none`` records explicitly that no complication occurred; it stands alone. A procedure
    with no entry at all has complications *not recorded* (schema version 2; see
    `blockplan.case.model.Procedure.complications`).
    """

    NONE = "none"
    VASOVAGAL = "vasovagal"
    PARAESTHESIA = "paraesthesia"
    DURAL_PUNCTURE = "dural_puncture"
    INTRAVASCULAR = "intravascular"
    OTHER = "other"


BLOCK_NAMES: dict[BlockType, str] = {
    BlockType.MEDIAL_BRANCH: "medial branch block",
    BlockType.FACET_INTRAARTICULAR: "facet intra-articular block",
    BlockType.SELECTIVE_NERVE_ROOT: "selective nerve root block",
    BlockType.TRANSFORAMINAL_EPIDURAL: "transforaminal epidural injection",
    BlockType.INTERLAMINAR_EPIDURAL: "interlaminar epidural injection",
    BlockType.CAUDAL_EPIDURAL: "caudal epidural injection",
    BlockType.SACROILIAC_JOINT: "sacroiliac joint block",
    BlockType.DISCOGRAPHY: "provocative discography",
}
"""Human names of block types, for reasons and reports."""

THERAPEUTIC_BLOCK_TYPES: frozenset[BlockType] = frozenset(
    {
        BlockType.TRANSFORAMINAL_EPIDURAL,
        BlockType.INTERLAMINAR_EPIDURAL,
        BlockType.CAUDAL_EPIDURAL,
    }
)
"""Block types given as therapeutic injections (the epidural injections of
shared/DOMAIN.md §2, with therapeutic volumes). A profile that does not adjudicate them as
diagnostic names such a block as *therapeutic* where it reached a pain source."""

BLOCK_ABBREVIATIONS: dict[BlockType, str] = {
    BlockType.MEDIAL_BRANCH: "MBB",
    BlockType.FACET_INTRAARTICULAR: "facet IA",
    BlockType.SELECTIVE_NERVE_ROOT: "SNRB",
    BlockType.TRANSFORAMINAL_EPIDURAL: "TFESI",
    BlockType.INTERLAMINAR_EPIDURAL: "ILESI",
    BlockType.CAUDAL_EPIDURAL: "caudal ESI",
    BlockType.SACROILIAC_JOINT: "SIJ",
    BlockType.DISCOGRAPHY: "discography",
}
"""The block type as a target name and a block list abbreviate it."""
