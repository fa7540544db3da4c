"""The case file: lossless round trip, schema, migration, atomic writes, refusals."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from blockplan.case import _codec
from blockplan.case._codec import body_checksum, canonical_json, migrate_body
from blockplan.case.casefile import (
    case_json_schema,
    dumps_case_file,
    load_case_file,
    save_case_file,
    schema_path,
)
from blockplan.case.model import CASE_SCHEMA_VERSION, Case
from blockplan.case.vocab import Complication
from blockplan.errors import CaseError, CaseFileError
from tests.case._factory import PATIENT_ID, PATIENT_NAME, make_case
from tests.case._strategies import cases


def _envelope(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, doc: dict[str, Any], *, fix_checksum: bool = True) -> Path:
    if fix_checksum and isinstance(doc.get("case"), dict):
        doc["checksum"] = body_checksum(doc["case"])
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


# --- round trip -----------------------------------------------------------------------
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_model_file_model_is_lossless(case: Case, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("rt") / "case.blockplan.json"
    save_case_file(case, path)
    loaded = load_case_file(path)
    assert loaded == case
    assert loaded.model_dump_json() == case.model_dump_json()  # offsets, order, floats


def test_file_is_versioned_utf8_json_with_checksum(tmp_path: Path) -> None:
    case = make_case(title="Schmerz L5 rechts – Zustand nach Nukleotomie")
    path = save_case_file(case, tmp_path / "c.json")
    raw = path.read_bytes()
    assert b"Nukleotomie" in raw and "–".encode() in raw  # UTF-8, not \u escapes
    doc = json.loads(raw)
    assert doc["format"] == "blockplan.case"
    assert doc["schema_version"] == CASE_SCHEMA_VERSION == doc["case"]["schema_version"]
    assert doc["checksum"] == body_checksum(doc["case"])
    assert doc["checksum"].startswith("sha256:") and len(doc["checksum"]) == 7 + 64


def test_checksum_ignores_formatting_but_not_values(tmp_path: Path) -> None:
    case = make_case()
    path = save_case_file(case, tmp_path / "c.json")
    doc = _envelope(path)
    # another JSON tool: different indentation, key order, 0.5 → 5e-1, 12.5 stays
    doc["case"] = dict(reversed(list(doc["case"].items())))
    text = json.dumps(doc, indent=4).replace('"volume_ml": 0.5', '"volume_ml": 5e-1')
    path.write_text(text, encoding="utf-8")
    assert load_case_file(path) == case
    assert canonical_json({"a": 1.0}) == canonical_json({"a": 1}) == b'{"a":1}'


# --- schema ---------------------------------------------------------------------------
def test_committed_schema_equals_the_model() -> None:
    committed = json.loads(schema_path().read_text(encoding="utf-8"))
    assert committed == case_json_schema(), (
        f"blockplan/case/schema/case-v{CASE_SCHEMA_VERSION}.schema.json is out of date: "
        "regenerate it with "
        "`python -m blockplan.case.casefile` (and bump CASE_SCHEMA_VERSION with a migration "
        "if the change is not backwards compatible)"
    )
    assert committed["properties"]["schema_version"]["const"] == CASE_SCHEMA_VERSION


def test_written_body_satisfies_the_schema_shape(tmp_path: Path) -> None:
    body = _envelope(save_case_file(make_case(), tmp_path / "c.json"))["case"]
    schema = case_json_schema()
    assert set(body) <= set(schema["properties"])
    assert set(schema.get("required", [])) <= set(body)


# --- migration ------------------------------------------------------------------------
def _v0_file(tmp_path: Path) -> tuple[Path, Case]:
    """A pre-release (v0) file: targets with x, y, z keys, no schema_version in the body."""
    current = make_case()
    body = current.model_dump(mode="json")
    del body["schema_version"]
    for target in body["targets"]:
        position = target.pop("position")
        target["x"], target["y"], target["z"] = position["lps"]
        target["frame_of_reference_uid"] = position["frame_of_reference_uid"]
    doc = {"format": "blockplan.case", "schema_version": 0, "case": body}
    return _write(tmp_path / "old.blockplan.json", doc), current


def test_v0_file_is_migrated_to_the_current_model(tmp_path: Path) -> None:
    path, expected = _v0_file(tmp_path)
    assert '"x": 12.5' in path.read_text()
    loaded = load_case_file(path)
    assert loaded == expected
    assert loaded.target("t1").position.lps == (12.5, 40.0, 110.0)
    # and saving writes the current version
    doc = _envelope(save_case_file(loaded, tmp_path / "new.json"))
    assert doc["schema_version"] == CASE_SCHEMA_VERSION
    assert "x" not in doc["case"]["targets"][0]


def test_migrations_run_in_order_and_do_not_touch_the_input() -> None:
    calls: list[int] = []

    def step(n: int) -> Any:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            calls.append(n)
            body.setdefault("trail", []).append(n)
            return body

        return run

    original = {"schema_version": 0}
    out = migrate_body(original, 0, registry={2: step(2), 0: step(0), 1: step(1)}, target=3)
    assert calls == [0, 1, 2]
    assert out == {"schema_version": 3, "trail": [0, 1, 2]}
    assert original == {"schema_version": 0}


def test_gap_in_migrations_or_newer_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(_codec.CaseBodyError, match="no migration from version 1 to 2"):
        migrate_body({}, 0, registry={0: lambda b: b}, target=3)
    path = save_case_file(make_case(), tmp_path / "c.json")
    doc = _envelope(path)
    doc["schema_version"] = CASE_SCHEMA_VERSION + 1
    _write(path, doc)
    newer = CASE_SCHEMA_VERSION + 1
    with pytest.raises(CaseFileError, match=rf"schema_version {newer} is newer .* upgrade"):
        load_case_file(path)


V1_FILE = Path(__file__).with_name("data") / "case-v1.blockplan.json"
"""A case file written by blockplan 0.1.0 (schema version 1), committed unchanged."""


def test_v1_file_of_release_0_1_is_imported() -> None:
    assert json.loads(V1_FILE.read_text(encoding="utf-8"))["schema_version"] == 1
    case = load_case_file(V1_FILE)
    assert case.schema_version == CASE_SCHEMA_VERSION
    first, second = sorted(case.procedures, key=lambda p: p.performed_at)
    # v1's empty list could not say "none occurred": it now reads "not recorded"
    assert first.complications == () and not first.complications_recorded
    # v1 allowed the same complication twice; v2 keeps it once
    assert second.complications == (Complication.VASOVAGAL,)
    assert second.complications_occurred == (Complication.VASOVAGAL,)
    assert second.needle.type == "" and second.needle.tip == "Quincke"
    assert case.study is not None and case.study.study_time is None
    assert case.study.referring_physician == "" == case.study.institution
    assert case.patient.patient_id == PATIENT_ID and case.study.accession_number == "ACC-1"


def test_v1_file_procedures_on_separate_dates_are_sessions_of_their_own() -> None:
    case = load_case_file(V1_FILE)
    first, second = case.sessions
    assert [p.id for p in first.procedures] == ["p0"] and first.session_id == "p0"
    assert [p.id for p in second.procedures] == ["p1"] and second.session_id == "p1"
    assert all(p.diary is None or not p.diary.closed_as_final for p in case.procedures)


def test_v1_file_with_an_snrb_and_an_mbb_on_one_date_becomes_one_session(
    tmp_path: Path,
) -> None:
    """The issue's example recorded before sessions existed: two procedures, one date."""
    doc = _envelope(V1_FILE)
    snrb, second = doc["case"]["procedures"]
    second.update(
        performed_at="2026-03-02T09:50:00+01:00",
        block_type="mbb",
        injections=[{**second["injections"][0], "target_id": "t2", "volume_ml": 0.4}],
    )
    case = load_case_file(_write(tmp_path / "v1-one-day.blockplan.json", doc))
    (session,) = case.sessions
    assert session.session_id == snrb["id"] == "p0"
    assert [p.block_type.value for p in session.procedures] == ["snrb", "mbb"]
    # and the current version is written back with the session
    saved = _envelope(save_case_file(case, tmp_path / "v4.json"))
    assert saved["schema_version"] == CASE_SCHEMA_VERSION == 6  # v6: Target.number
    assert {p["session_id"] for p in saved["case"]["procedures"]} == {"p0"}


def test_v3_to_v4_keeps_existing_session_ids_and_separates_unreadable_dates() -> None:
    body = {
        "procedures": [
            {"id": "a", "performed_at": "2026-03-02T23:30:00-05:00"},
            {"id": "b", "performed_at": "2026-03-02T08:00:00+01:00"},
            {"id": "c", "performed_at": "not a date"},
            {"id": "d", "performed_at": "2026-03-02T10:00:00+01:00", "session_id": "kept"},
        ]
    }
    out = migrate_body(body, 3, target=4)
    sessions = {p["id"]: p["session_id"] for p in out["procedures"]}
    # local dates: a is on 2 March in its own time zone, as is b → one session
    assert sessions == {"a": "b", "b": "b", "c": "c", "d": "kept"}
    assert "session_id" not in body["procedures"][0]


def test_published_schema_of_every_version_is_kept() -> None:
    folder = schema_path().parent
    for version in range(1, CASE_SCHEMA_VERSION + 1):
        schema = json.loads((folder / f"case-v{version}.schema.json").read_text("utf-8"))
        assert schema["properties"]["schema_version"]["const"] == version


def test_complications_distinguish_none_from_not_recorded() -> None:
    proc = make_case().procedures[0]
    assert proc.complications == () and not proc.complications_recorded
    none = proc.model_copy(update={"complications": (Complication.NONE,)})
    assert none.complications_recorded and none.complications_occurred == ()
    with pytest.raises(ValidationError, match="'none' cannot be recorded together"):
        proc.model_validate({**proc.model_dump(), "complications": ["none", "vasovagal"]})
    with pytest.raises(ValidationError, match="each complication at most once"):
        proc.model_validate({**proc.model_dump(), "complications": ["other", "other"]})


def test_identity_values_are_hidden_from_repr() -> None:
    case = make_case()
    assert PATIENT_ID not in repr(case.patient) and PATIENT_ID not in repr(case)


# --- writes ---------------------------------------------------------------------------
def test_file_mode_is_0600_also_when_replacing(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("old")
    path.chmod(0o644)
    save_case_file(make_case(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]  # no temporary file left


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_case_file(make_case(title="first"), tmp_path / "c.json")
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(CaseFileError, match=r"c\.json: cannot write .*No space left.*nothing"):
        save_case_file(make_case(title="second"), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_missing_folder_is_a_case_file_error(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="cannot write the case file"):
        save_case_file(make_case(), tmp_path / "nowhere" / "c.json")


def test_text_that_is_not_unicode_is_refused_before_writing(tmp_path: Path) -> None:
    case = make_case().evolve(title="bad \ud800")
    with pytest.raises(CaseError, match="not valid Unicode"):
        save_case_file(case, tmp_path / "c.json")
    assert not list(tmp_path.iterdir())


# --- refusals -------------------------------------------------------------------------
@pytest.fixture
def good(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = save_case_file(make_case(), tmp_path / "case.blockplan.json")
    return path, _envelope(path)


def test_invalid_field_is_named_with_expected_and_found(good: tuple[Path, dict[str, Any]]) -> None:
    path, doc = good
    doc["case"]["procedures"][0]["diary"]["baseline_nrs"] = 11
    _write(path, doc)
    with pytest.raises(
        CaseFileError,
        match=(
            r"case\.blockplan\.json: procedures\[0\]\.diary\.baseline_nrs: "
            r"Input should be less than or equal to 10; found 11; the case was not imported"
        ),
    ):
        load_case_file(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["targets"][1].update(level="L9"), r"targets\[1\]\.level: level 'L9'"),
        (lambda c: c["targets"][0].pop("side"), r"targets\[0\]\.side: required field is missing"),
        (lambda c: c.update(colour="red"), r"colour: unknown field"),
        (
            lambda c: c["trajectories"][0].update(target_id="nope"),
            r"\(the case as a whole\): trajectory tr1 refers to unknown target nope",
        ),
        (
            lambda c: c["scar_regions"][0].update(rle=[1, 2]),
            r"scar_regions\[0\]: scar mask run lengths cover 3 voxels; grid has 256",
        ),
        (
            lambda c: c["procedures"][1]["injections"][0].update(volume_ml="lots"),
            r"procedures\[1\]\.injections\[0\]\.volume_ml: Input should be a valid number",
        ),
    ],
)
def test_invalid_content_is_refused_naming_the_field(
    good: tuple[Path, dict[str, Any]], edit: Any, message: str
) -> None:
    path, doc = good
    edit(doc["case"])
    _write(path, doc)
    with pytest.raises(CaseFileError, match=message):
        load_case_file(path)


def test_tampered_body_is_refused(good: tuple[Path, dict[str, Any]]) -> None:
    path, doc = good
    doc["case"]["procedures"][0]["diary"]["baseline_nrs"] = 9  # valid, but not what was saved
    _write(path, doc, fix_checksum=False)
    with pytest.raises(CaseFileError, match=r"case\.blockplan\.json: checksum mismatch: .*changed"):
        load_case_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{}", r"not UTF-8 text"),
        (b'{"format": "blockplan.case", ', r"not valid JSON \(Expecting"),
        (b"[1, 2]", r"not a blockplan case file"),
        (b'{"format": "other"}', r"not a blockplan case file"),
        (
            b'{"format": "blockplan.case", "format": "blockplan.case"}',
            r"not valid JSON \(key 'format' appears twice",
        ),
        (
            b'{"format": "blockplan.case", "schema_version": NaN}',
            r"not valid JSON \(NaN is not a valid JSON number",
        ),
        (b'{"format": "blockplan.case", "schema_version": 1}', r'required field "case" is missing'),
        (
            b'{"format": "blockplan.case", "schema_version": "1", "case": {}}',
            r'schema_version: expected a whole number, found "1"',
        ),
        (
            b'{"format": "blockplan.case", "schema_version": 1, "case": {}}',
            r"checksum: expected",
        ),
        (
            b'{"format": "blockplan.case", "schema_version": 1, "case": {}, "extra": 1}',
            r"unknown top-level field 'extra'",
        ),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CaseFileError, match=rf"bad\.json: {message}"):
        load_case_file(path)


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match=r"missing\.json: cannot read"):
        load_case_file(tmp_path / "missing.json")
    with pytest.raises(CaseFileError, match="not a regular file"):
        load_case_file(tmp_path)


def test_messages_never_show_patient_identifiers(good: tuple[Path, dict[str, Any]]) -> None:
    path, doc = good
    doc["case"]["patient"]["patient_id"] = PATIENT_ID * 10  # too long: invalid
    _write(path, doc)
    with pytest.raises(CaseFileError, match=r"patient\.patient_id: .*not shown") as info:
        load_case_file(path)
    assert PATIENT_ID not in str(info.value) and "Synthia" not in str(info.value)
    doc["case"]["patient"]["patient_id"] = PATIENT_ID
    doc["case"]["patient"]["sex"] = PATIENT_NAME
    _write(path, doc)
    with pytest.raises(CaseFileError, match=r"patient\.sex") as info:
        load_case_file(path)
    assert "Synthia" not in str(info.value)


def test_in_memory_bytes_round_trip() -> None:
    from blockplan.case.casefile import loads_case_file

    case = make_case()
    assert loads_case_file(dumps_case_file(case)) == case


def test_injection_at_target_takes_the_targets_site() -> None:
    from blockplan.case import (
        Agent,
        BlockType,
        Injection,
        Laterality,
        PatientPoint,
        Structure,
        Target,
    )

    target = Target(
        id="t9",
        level="l4-l5",
        side=Laterality.RIGHT,
        structure=Structure.FACET_JOINT,
        block_type=BlockType.MEDIAL_BRANCH,
        position=PatientPoint(lps=(1.0, 2.0, 3.0), frame_of_reference_uid="1.2.3"),
    )
    inj = Injection.at_target(target, agent=Agent.LIDOCAINE, volume_ml=1.0, branches=2)
    assert (inj.target_id, inj.level, inj.side, inj.structure) == (
        "t9",
        "L4-L5",
        Laterality.RIGHT,
        Structure.FACET_JOINT,
    )
    assert inj.volume_per_branch_ml == 0.5


def test_a_target_a_recorded_block_injected_cannot_be_removed() -> None:
    case = make_case()
    injected = {i.target_id for p in case.procedures for i in p.injections}
    assert injected, "the factory's case records a block"
    tid = next(iter(injected))
    owners = case.procedures_injecting(tid)
    assert owners and set(owners) <= {p.id for p in case.procedures}
    with pytest.raises(ValueError, match="unknown target"):
        case.remove_item("targets", tid)  # the rule the Planning panel explains
    free = [t.id for t in case.targets if t.id not in injected]
    for t in free:
        assert case.procedures_injecting(t) == ()
