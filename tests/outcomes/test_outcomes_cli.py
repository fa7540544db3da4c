"""``blockplan outcomes CASE [--profile NAME] [--json]``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.case.casefile import save_case_file
from blockplan.case.model import OdiEntry, PgicEntry
from blockplan.case.vocab import Structure
from blockplan.cli import main
from tests.outcomes._factory import LEFT, SNRB, case_of, target
from tests.outcomes.test_outcomes_ledger import mixed_case


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    case = mixed_case().evolve(
        odi=(
            OdiEntry(recorded_on=dt.date(2026, 2, 1), items=(3,) * 10),
            OdiEntry(recorded_on=dt.date(2026, 4, 1), items=(2,) * 9 + (None,)),
        ),
        pgic=(PgicEntry(recorded_on=dt.date(2026, 4, 1), score=2),),
    )
    return save_case_file(case, tmp_path / "case.blockplan.json")


def run(*args: str):
    return CliRunner().invoke(main, ["outcomes", *args])


def test_text_output_default_profile(case_file: Path) -> None:
    result = run(str(case_file))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "blockplan outcomes — decision support, not a medical device"
    assert lines[1].startswith("profile: asra-2020-single v1.1.0")
    for heading in ("PAIN SOURCES (ranked)", "BLOCKS", "SUGGESTIONS (decision support)", "SCORES"):
        assert heading in lines
    assert "L4-L5, right, facet joint   confirmed" in result.output
    assert "radiofrequency ablation" in result.output
    assert "ODI 2026-02-01: 60.0 % (severe; 10/10 items)" in result.output
    assert "PGIC 2026-04-01: 2 — much improved" in result.output
    assert result.output.rstrip().endswith("the treating physician decides.")


def test_profile_option_recomputes(case_file: Path) -> None:
    result = run(str(case_file), "--profile", "strict-dual-80")
    assert result.exit_code == 0, result.output
    assert "profile: strict-dual-80 v1.1.0" in result.output
    assert "not supported as a pain source under strict-dual-80 v1.1.0" in result.output
    assert "ruled out" not in result.output


def test_json_output(case_file: Path) -> None:
    result = run(str(case_file), "--json", "--profile", "comparative")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision_support"].startswith("Decision support")
    ledger = data["ledger"]
    assert (ledger["profile_name"], ledger["profile_version"]) == ("comparative", "1.1.0")
    statuses = {s["label"]: s["status"] for s in ledger["sources"]}
    assert statuses["L4-L5, right, facet joint"] == "confirmed"
    assert statuses["L5, left, nerve root"] == "excluded"
    assert ledger["blocks"][0]["curve"][0] == {
        "minutes": 0,
        "nrs": 1,
        "relief_pct": 90.0,
        "patient_relief_pct": None,
        "scheduled": True,
        "recorded": True,
    }
    assert data["odi"][1]["percent"] == pytest.approx(40.0)
    assert data["odi_changes"][0]["meaningful"] is True


def test_profile_file_path(case_file: Path, tmp_path: Path) -> None:
    from blockplan.outcomes.profiles import profile_path

    custom = json.loads(profile_path("asra-2020-single").read_text())
    custom.update(name="clinic-60", threshold_pct=60)
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(custom))
    result = run(str(case_file), "--profile", str(path))
    assert result.exit_code == 0, result.output
    assert "profile: clinic-60 v1.1.0" in result.output


def test_unknown_profile_is_one_line_error(case_file: Path) -> None:
    result = run(str(case_file), "--profile", "nope")
    assert result.exit_code == 2
    assert "blockplan: error: no shipped profile named 'nope'" in result.output
    assert "Traceback" not in result.output


def test_bad_case_file_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{}")
    result = run(str(path))
    assert result.exit_code == 2
    assert "blockplan: error:" in result.output and "Traceback" not in result.output


def test_empty_case(tmp_path: Path) -> None:
    path = save_case_file(
        case_of(targets=[target("L5", LEFT, Structure.NERVE_ROOT, SNRB)]),
        tmp_path / "c.json",
    )
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert "no blocks recorded" in result.output
    assert "a diagnostic selective nerve root block" in result.output


def test_listed_in_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "outcomes" in result.output
