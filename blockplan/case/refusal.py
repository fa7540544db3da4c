"""What a physician is told when the case store refuses to save an edit.

Every edit is saved at once (`blockplan.case.store.CaseSession.apply`). The store refuses
when another session (another window, another workstation on the clinic's store) saved the
case after this one loaded it (`CaseConflictError`), when the case is no longer stored
(`CaseNotFoundError`), or when it cannot write at all — unreachable, read-only, disk full
(`CaseError`). Nothing was saved then, and the case being edited is as it was.

The words name what was not saved, why in the physician's terms and what to do where they
are (in napari, not in Python). They never carry a value typed (a label may name the
patient) nor a patient identifier: the store's own reasons name cases by id only.
"""

from __future__ import annotations

from blockplan.errors import CaseConflictError, CaseNotFoundError

__all__ = ["save_refused_text"]

KEPT_TYPED = "what you typed is kept and shown again when you close the case"
"""Added when a value typed was refused: it is held, not lost (the panels' typed cells)."""


def save_refused_text(what: str, err: BaseException, *, typed: bool = False) -> str:
    """The physician's words for an edit the store did not save.

    Parameters
    ----------
    what
        What was not saved, in the panel's words ("target label", "new target",
        "undo of delete landmark").
    err
        The store's refusal (`CaseConflictError`, `CaseNotFoundError`, or another error
        of the store: unreachable, read-only, full).
    typed
        The value was typed by the physician and is held (said so).

    Returns
    -------
    str
        ``"<what> not saved: <why> — <what to do>"`` (and that the typed value is kept).
    """
    if isinstance(err, CaseConflictError):
        why = "another session saved this case after you opened it"
        then = "close and reopen the case to see its latest version, then make the change again"
    elif isinstance(err, CaseNotFoundError):
        why = "the case is no longer in the case store (deleted in another session?)"
        then = "close the case and look for it in the worklist"
    else:
        why = f"the case store could not save it ({_first_line(err)})"
        then = (
            "check that the case store is reachable and not full (or ask your IT), then "
            "make the change again"
        )
    text = f"{what} not saved: {why} — {then}"
    return f"{text}; {KEPT_TYPED}" if typed else text


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__)[:300]
