"""How a recorded block is named for the physician: ``"block #1"``.

Blocks are numbered 1, 2, 3 … in the order they were performed (`BlockResult.number`, the
report's ``#`` column). Wherever a block is named in words — the Outcomes panel, the
evidence ledger's reasons and what would settle a source, the report — it is named by
`numbered_block`, so that the screen and the PDF say the same words for the same block.

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["numbered_block", "numbered_blocks"]


def numbered_block(number: int | None, *, capitalised: bool = False) -> str:
    """The physician's name of block ``number``: ``"block #1"`` (``"Block #1"`` to start a
    sentence or a line); ``"this block"`` while it has no number yet (not yet in the
    ledger), never ``"block #None"``."""
    name = "this block" if number is None else f"block #{number}"
    return name[0].upper() + name[1:] if capitalised else name


def numbered_blocks(numbers: Iterable[int], *, none: str = "no block") -> str:
    """Several blocks named in the order given: ``"block #1, block #3"``; ``none`` when
    there are none."""
    return ", ".join(numbered_block(n) for n in numbers) or none
