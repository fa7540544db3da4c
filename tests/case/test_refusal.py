"""The physician's words for a save the case store refused (`save_refused_text`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockplan.case.refusal import KEPT_TYPED, save_refused_text
from blockplan.case.store import CaseSession, CaseStore
from blockplan.errors import CaseConflictError, CaseError, CaseNotFoundError
from tests.case._factory import PATIENT_ID, PATIENT_NAME, make_case


def test_refusals_of_a_real_store_are_worded_for_the_physician(tmp_path: Path) -> None:
    """Another session saved first, then the case was deleted: each refusal says what was
    not saved, why and what to do — never the patient's name or ID."""
    with CaseStore(tmp_path / "cases.sqlite3") as store:
        case = make_case()
        mine = CaseSession.create(store, case, "dr-a")
        other = CaseSession(store, case.case_id, "dr-b")
        other.apply(other.case.evolve(title="edited elsewhere"))
        with pytest.raises(CaseConflictError) as conflict:
            mine.apply(mine.case.evolve(title="mine"))
        text = save_refused_text("target label", conflict.value, typed=True)
        assert text == (
            "target label not saved: another session saved this case after you opened it — "
            "close and reopen the case to see its latest version, then make the change "
            f"again; {KEPT_TYPED}"
        )
        store.delete(case.case_id, other.version, "dr-b")
        with pytest.raises(CaseNotFoundError) as gone:
            other.apply(other.case.evolve(title="again"))
    text = save_refused_text("new target", gone.value)
    assert text.startswith("new target not saved: the case is no longer in the case store")
    assert text.endswith("close the case and look for it in the worklist")
    for said in (text, save_refused_text("x", conflict.value)):
        assert PATIENT_ID not in said and PATIENT_NAME.split("^")[0] not in said


def test_a_store_that_cannot_write_is_said_with_its_first_line() -> None:
    err = CaseError("case store sqlite:///c.sqlite3: attempt to write a readonly database\nSQL")
    assert save_refused_text("undo of add target", err) == (
        "undo of add target not saved: the case store could not save it (case store "
        "sqlite:///c.sqlite3: attempt to write a readonly database) — check that the case "
        "store is reachable and not full (or ask your IT), then make the change again"
    )
