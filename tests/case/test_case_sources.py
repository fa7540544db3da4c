"""The clinic-wide sources list: ledger summaries kept with each case version (issue 15
point 5), on SQLite and PostgreSQL, through the API and the command line."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from blockplan.case.model import Case, PatientInfo, Procedure
from blockplan.case.store import CaseStore, ledgers_table, sources_table
from blockplan.cli import main
from blockplan.errors import CaseError
from tests.outcomes._factory import LEFT, MBB, NO_RELIEF, SNRB, block, diary_from

SESSION_SET = "(L5, left, nerve root) + (L4-L5, left, facet joint)"


def _case(name: str, pid: str, *procedures: Procedure, profile: str = "asra-2020-single") -> Case:
    return Case(
        title="synthetic",
        patient=PatientInfo(patient_id=pid, patient_name=name),
        procedures=procedures,
        profile_name=profile,
    )


def _sitting() -> tuple[Procedure, Procedure]:
    """The issue's example: an SNRB and an MBB in one sitting, with relief after it."""
    snrb = block(block_type=SNRB, level="L5", side=LEFT).model_copy(update={"session_id": "s"})
    mbb = block(block_type=MBB, level="L4-L5", side=LEFT).model_copy(update={"session_id": "s"})
    return snrb, mbb


@pytest.fixture
def clinic(store: CaseStore) -> tuple[CaseStore, dict[str, Case]]:
    cases = {
        # one positive sitting of two blocks: only the set is supported
        "session": _case("Zeta^Zoe", "SYN-3", *_sitting()),
        # an MBB with only the 0-min score: pending
        "pending": _case("Alpha^Ann", "SYN-1", block(diary=diary_from({0: 2}))),
        # a right L4-L5 MBB with relief, adjudicated under strict-dual-80 by its physician
        "facet": _case("Mid^Max", "SYN-2", block(), profile="strict-dual-80"),
        # no relief: nothing to list
        "negative": _case("Beta^Bo", "SYN-4", block(until=NO_RELIEF)),
    }
    store.create_many(list(cases.values()), "dr-a")
    return store, cases


def _listed(store: CaseStore, profile: str | None) -> dict[str, tuple[tuple[str, str], ...]]:
    found = store.sources(profile)
    assert found.not_summarised == 0
    return {e.patient_id: e.sources for e in found.entries}


SOURCES = [
    (
        "asra-2020-single",
        {
            "SYN-1": (("pending", "L4-L5, right, facet joint"),),
            "SYN-2": (("confirmed", "L4-L5, right, facet joint"),),
            "SYN-3": (("confirmed", SESSION_SET),),
        },
    ),
    (
        "strict-dual-80",
        {
            "SYN-1": (("pending", "L4-L5, right, facet joint"),),
            "SYN-2": (("probable", "L4-L5, right, facet joint"),),
            "SYN-3": (("probable", SESSION_SET),),
        },
    ),
    (
        None,  # each case under its own profile
        {
            "SYN-1": (("pending", "L4-L5, right, facet joint"),),
            "SYN-2": (("probable", "L4-L5, right, facet joint"),),
            "SYN-3": (("confirmed", SESSION_SET),),
        },
    ),
]


@pytest.mark.parametrize(("profile", "expected"), SOURCES, ids=[str(p) for p, _ in SOURCES])
def test_sources_per_profile(
    clinic: tuple[CaseStore, dict[str, Case]], profile: str | None, expected: dict[str, object]
) -> None:
    store, _cases = clinic
    assert _listed(store, profile) == expected
    # ordered by patient name; the identity is shown with the case
    entries = store.sources(profile).entries
    assert [e.patient_name for e in entries] == ["Alpha^Ann", "Mid^Max", "Zeta^Zoe"]
    assert {e.profile_name for e in entries} == (
        {profile} if profile else {"asra-2020-single", "strict-dual-80"}
    )


def test_each_saved_version_replaces_its_summary(
    clinic: tuple[CaseStore, dict[str, Case]],
) -> None:
    store, cases = clinic
    pending = cases["pending"]
    (proc,) = pending.procedures
    complete = pending.with_session_diary(proc.id, diary_from({0: 1, 15: 1, 30: 1, 60: 1}))
    store.save(complete, 1, "dr-a")
    assert _listed(store, "asra-2020-single")["SYN-1"] == (
        ("confirmed", "L4-L5, right, facet joint"),
    )
    assert store.sources("asra-2020-single").entries[0].version == 2
    store.delete(cases["session"].case_id, 1, "dr-a")
    assert "SYN-3" not in _listed(store, "asra-2020-single")
    assert store.sources("asra-2020-single", limit=1).entries[0].patient_id == "SYN-1"


def test_cases_without_a_current_summary_are_counted_then_refreshed(
    clinic: tuple[CaseStore, dict[str, Case]],
) -> None:
    store, cases = clinic
    facet = cases["facet"].case_id
    with store._engine.begin() as conn:  # as a store upgraded from revision 0002 would be
        conn.execute(sa.delete(sources_table).where(sources_table.c.case_id == facet))
        conn.execute(sa.delete(ledgers_table).where(ledgers_table.c.case_id == facet))
    found = store.sources("strict-dual-80")
    assert found.not_summarised == 1 and "SYN-2" not in {e.patient_id for e in found.entries}
    assert store.refresh_sources() == 1
    assert store.refresh_sources() == 0
    assert _listed(store, "strict-dual-80")["SYN-2"] == (("probable", "L4-L5, right, facet joint"),)


def test_an_unknown_profile_is_refused_in_one_line(store: CaseStore) -> None:
    with pytest.raises(CaseError, match=r"profile 'my-clinic': .* shipped profiles only"):
        store.sources("my-clinic")


def test_cli_lists_patients_and_never_logs_them(
    clinic: tuple[CaseStore, dict[str, Case]], caplog: pytest.LogCaptureFixture
) -> None:
    store, _cases = clinic
    url = store.url.render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    result = runner.invoke(main, ["case", "sources", "--db", url, "--profile", "strict-dual-80"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Alpha, Ann  SYN-1  case ") and "strict-dual-80 v" in lines[0]
    assert lines[1].split() == ["pending", "L4-L5,", "right,", "facet", "joint"]
    assert f"probable      {SESSION_SET}" in result.stdout
    result = runner.invoke(main, ["case", "sources", "--db", url, "--json", "--limit", "2"])
    doc = json.loads(result.stdout)
    assert doc["profile"] is None and doc["not_summarised"] == 0
    assert [c["patient_id"] for c in doc["cases"]] == ["SYN-1", "SYN-2"]
    assert doc["cases"][1]["sources"] == [
        {"status": "probable", "sites": "L4-L5, right, facet joint"}
    ]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "SYN-1" not in logged and "Alpha" not in logged
    bad = runner.invoke(main, ["case", "sources", "--db", url, "--profile", "nope"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert bad.stderr.strip().count("\n") == 0 and "profile 'nope'" in bad.stderr
