"""``blockplan case``: list, show, export, import through the real command line group."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.model import PatientInfo, StudyRef
from blockplan.case.store import CaseStore
from blockplan.cli import main
from tests.case._factory import PATIENT_ID, PATIENT_NAME, make_case


def run(*args: str, ok: bool = True) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["case", *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def filled(store_url: str) -> tuple[str, str]:
    case = make_case(n_procedures=3)
    with CaseStore(store_url) as store:
        store.create(case, "dr-a")
        store.create(make_case(patient_id="OTHER-1", title="someone else"), "dr-a")
    return store_url, case.case_id


def test_list_text_and_json(filled: tuple[str, str]) -> None:
    url, case_id = filled
    _, out, _ = run("list", "--db", url)
    assert case_id in out and "someone else" in out
    _, out, _ = run("list", "--db", url, "--patient-id", PATIENT_ID, "--json")
    rows = json.loads(out)
    assert [r["case_id"] for r in rows] == [case_id]
    assert rows[0]["n_procedures"] == 3 and rows[0]["version"] == 1
    assert rows[0]["patient_id"] == PATIENT_ID and rows[0]["patient_name"] == PATIENT_NAME


def test_list_is_the_clinicians_worklist(store_url: str) -> None:
    mueller = make_case(title="L5 radicular pain").evolve(
        patient=PatientInfo(patient_id="SYN-001", patient_name="MÜLLER^Hans"),
        study=StudyRef(study_instance_uid="1.2.3.4", study_date=dt.date(2026, 3, 15)),
    )
    other = make_case(title="facet work-up").evolve(
        patient=PatientInfo(patient_id="SYN-002", patient_name="Hansen^Kai"),
        study=StudyRef(study_instance_uid="1.2.3.5", study_date=dt.date(2026, 4, 1)),
    )
    with CaseStore(store_url) as store:
        store.create_many([mueller, other], "dr-a")
    _, out, _ = run("list", "--db", store_url, "--search", "muller hans")
    lines = out.splitlines()
    assert lines[0].split() == [
        "patient",
        "patient",
        "id",
        "study",
        "date",
        "title",
        "case",
        "id",
        "changed",
    ]
    assert len(lines) == 2
    row = lines[1]
    for text in ("MÜLLER, Hans", "SYN-001", "2026-03-15", "L5 radicular pain", mueller.case_id):
        assert text in row
    _, out, _ = run("list", "--db", store_url, "--study-date", "2026-03-01..2026-03-31", "--json")
    assert [r["case_id"] for r in json.loads(out)] == [mueller.case_id]
    _, out, _ = run("list", "--db", store_url, "--study-date", "2026-04-01", "--json")
    assert [r["case_id"] for r in json.loads(out)] == [other.case_id]
    _, out, _ = run("list", "--db", store_url, "--title", "facet", "--json")
    assert [r["patient_name"] for r in json.loads(out)] == ["Hansen^Kai"]
    _, out, _ = run("list", "--db", store_url, "--limit", "1")
    assert "(first 1; narrow the search or raise --limit)" in out
    _, out, _ = run("list", "--db", store_url, "--search", "nobody")
    assert out == "no cases\n"
    code, _, err = run("list", "--db", store_url, "--study-date", "March", ok=False)
    assert code == 2 and "expected a date YYYY-MM-DD" in err and "Traceback" not in err


def test_view_refuses_an_unknown_case_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLOCKPLAN_DB", str(tmp_path / "s.sqlite3"))
    monkeypatch.setenv("DISPLAY", ":99")  # the case is checked before any window opens
    result = CliRunner().invoke(main, ["view", "--case", "nope"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("blockplan: error: case nope is not in the store")


def test_show_text_and_json(filled: tuple[str, str]) -> None:
    url, case_id = filled
    _, out, _ = run("show", case_id, "--db", url)
    assert f"case {case_id}  version 1" in out and "blocks 3 (3 with a diary)" in out
    assert "target t1: T1 · L5 right SNRB — L5 right nerve_root (snrb)" in out and "create" in out
    assert PATIENT_ID not in out and "Synthia" not in out
    _, out, _ = run("show", case_id, "--db", url, "--json")
    shown = json.loads(out)
    assert shown["summary"]["n_targets"] == 2 and len(shown["procedures"]) == 3
    assert shown["audit"][0]["action"] == "create"
    assert [t["name"].split(" · ")[0] for t in shown["targets"]] == ["T1", "T2"]
    with CaseStore(url) as store:
        loaded = store.load(case_id)[0]
    assert [b["session_id"] for b in shown["procedures"]] == [
        p.session_id for p in loaded.procedures
    ]


def test_export_then_import_round_trip(
    filled: tuple[str, str], tmp_path: Path, clinician: str
) -> None:
    url, case_id = filled
    out_file = tmp_path / "case.blockplan.json"
    _, out, _ = run("export", case_id, "-o", str(out_file), "--db", url, "--user", "dr-b")
    assert "version 1" in out
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    with CaseStore(url) as store:
        assert load_case_file(out_file) == store.load(case_id)[0]
        assert [(e.user, e.action) for e in store.audit(case_id)][-1] == ("dr-b", "export")
    code, _, err = run("export", case_id, "-o", str(out_file), "--db", url, ok=False)
    assert code == 2 and "exists" in err and "--force" in err
    other = tmp_path / "other.sqlite3"
    _, out, _ = run("import", str(out_file), "--db", str(other), "--json")
    (item,) = json.loads(out)
    assert item["case_id"] == case_id and item["version"] == 1
    with CaseStore(other) as store:
        assert store.load(case_id)[0] == load_case_file(out_file)
        assert store.audit(case_id)[0].action == "import"
        assert store.audit(case_id)[0].user == clinician  # the configured clinician


def test_operator_must_be_configured_never_the_login(
    filled: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: pytest.fail("the OS login was used"))
    url, case_id = filled
    out_file = tmp_path / "case.blockplan.json"
    code, _, err = run("export", case_id, "-o", str(out_file), "--db", url, ok=False)
    assert code == 2 and err.count("\n") == 1
    assert "no clinician is configured" in err and "blockplan config set clinician_name" in err
    assert not out_file.exists()


def test_import_is_all_or_nothing(tmp_path: Path, clinician: str) -> None:
    good = save_case_file(make_case(), tmp_path / "good.json")
    bad = save_case_file(make_case(), tmp_path / "bad.json")
    doc = json.loads(bad.read_text())
    doc["case"]["targets"][0]["side"] = "upwards"
    bad.write_text(json.dumps(doc))
    db = tmp_path / "s.sqlite3"
    code, _, err = run("import", str(good), str(bad), "--db", str(db), ok=False)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "bad.json: checksum mismatch" in err
    with CaseStore(db) as store:
        assert store.list_cases() == []


def test_errors_are_one_line_exit_2(tmp_path: Path, clinician: str) -> None:
    db = str(tmp_path / "s.sqlite3")
    code, _, err = run("show", "nope", "--db", db, ok=False)
    assert code == 2
    assert err == (
        f"blockplan: error: case nope is not in the store sqlite+pysqlite:///{db}; "
        "`blockplan case list` shows the stored cases\n"
    )
    code, _, err = run("import", str(tmp_path / "missing.json"), "--db", db, ok=False)
    assert code == 2 and "missing.json: cannot read" in err
    code, _, err = run("list", "--db", "mysql://x@y/z", ok=False)
    assert code == 2 and "unsupported database" in err


def test_db_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.sqlite3"
    case = make_case()
    with CaseStore(db) as store:
        store.create(case, "dr-a")
    monkeypatch.setenv("BLOCKPLAN_DB", str(db))
    _, out, _ = run("list", "--json")
    assert [r["case_id"] for r in json.loads(out)] == [case.case_id]
