"""The case store on SQLite and PostgreSQL: round trip, versions, conflicts, audit, safety."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import stat
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Note
from blockplan.case.store import (
    CaseSession,
    CaseStore,
    audit_table,
    cases_table,
    default_db_path,
    documents_table,
    metadata,
)
from blockplan.errors import CaseConflictError, CaseError, CaseFileError, CaseNotFoundError
from tests.case._factory import PATIENT_ID, PATIENT_NAME, make_case
from tests.case._strategies import cases

# --- round trip -----------------------------------------------------------------------


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_model_store_model_is_lossless(shared_store: CaseStore, case) -> None:
    case = case.model_copy(update={"case_id": uuid.uuid4().hex})  # unique per example
    version = shared_store.create(case, "dr-a")
    loaded, loaded_version = shared_store.load(case.case_id)
    assert loaded_version == version == 1
    assert loaded == case
    assert loaded.model_dump_json() == case.model_dump_json()
    summary = shared_store.summary(case.case_id)
    assert (summary.n_targets, summary.n_procedures) == (len(case.targets), len(case.procedures))
    assert summary.n_scar_regions == len(case.scar_regions)
    if case.procedures:
        assert summary.last_procedure_at == max(p.performed_at for p in case.procedures)
    # the same case survives an edit that changes every collection
    edited = case.evolve(procedures=(), targets=(), trajectories=())
    assert shared_store.save(edited, version, "dr-a") == 2
    assert shared_store.load(case.case_id) == (edited, 2)


# --- versions and conflicts -----------------------------------------------------------
def test_create_load_save_versions(store: CaseStore) -> None:
    case = make_case()
    assert store.create(case, "dr-a") == 1
    assert store.load(case.case_id) == (case, 1)
    edited = case.evolve(title="after the first block")
    assert store.save(edited, 1, "dr-a", summary="title") == 2
    assert store.load(case.case_id) == (edited, 2)
    with pytest.raises(CaseConflictError, match=f"case {case.case_id} is already in the store"):
        store.create(case, "dr-a")


def test_second_writer_gets_a_conflict_and_nothing_is_overwritten(store_url: str) -> None:
    with CaseStore(store_url) as one, CaseStore(store_url) as two:
        case = make_case()
        first = CaseSession.create(one, case, "dr-a")
        second = CaseSession(two, case.case_id, "dr-b")
        assert first.version == second.version == 1
        mine = first.apply(first.case.evolve(title="edited by A"), summary="title")
        assert mine == 2
        with pytest.raises(
            CaseConflictError,
            match=(
                rf"case {case.case_id}: another session saved version 2 after this one loaded "
                r"version 1; nothing was overwritten\. Reload the case"
            ),
        ):
            second.apply(second.case.evolve(title="edited by B"))
        assert second.version == 1 and second.case.title == case.title  # session unchanged
        assert two.load(case.case_id) == (first.case, 2)
        second.reload()
        assert second.apply(second.case.evolve(title="B after reload")) == 3
        assert [e.user for e in one.audit(case.case_id)] == ["dr-a", "dr-a", "dr-b"]


def test_racing_writers_commit_each_version_once(store_url: str) -> None:
    case = make_case()
    with CaseStore(store_url) as setup:
        setup.create(case, "setup")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def writer(name: str) -> None:
        with CaseStore(store_url) as own:
            barrier.wait()
            try:
                own.save(case.evolve(title=name), 1, name)
                outcomes.append("saved")
            except CaseConflictError:
                outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    with CaseStore(store_url) as check:
        stored, version = check.load(case.case_id)
        assert version == 2
        (entry,) = [e for e in check.audit(case.case_id) if e.version == 2]
        assert stored.title == entry.user


def test_session_skips_unchanged_and_refuses_another_case(store: CaseStore) -> None:
    session = CaseSession.create(store, make_case(), "dr-a")
    assert session.apply(session.case) == 1
    with pytest.raises(CaseError, match="was given case"):
        session.apply(make_case())
    note = Note(at=dt.datetime(2026, 3, 3, tzinfo=dt.UTC), text="patient called")
    assert session.apply(session.case.evolve(notes=(note,)), "note") == 2
    assert store.load(session.case_id)[0].notes == (note,)


def test_missing_case_is_not_found(store: CaseStore) -> None:
    with pytest.raises(CaseNotFoundError, match=r"case nope is not in the store .*case list"):
        store.load("nope")
    with pytest.raises(CaseNotFoundError, match="case nope"):
        store.summary("nope")
    with pytest.raises(CaseNotFoundError, match="deleted"):
        store.save(make_case(case_id="nope"), 1, "dr-a")


# --- listing and summaries ------------------------------------------------------------
def test_list_and_summary(store: CaseStore) -> None:
    a1 = make_case(n_procedures=3, title="first")
    a2 = make_case(n_procedures=0, title="second")
    b = make_case(patient_id="OTHER-7", title="other patient")
    store.create_many([a1, a2, b], "dr-a")
    store.save(a1.evolve(title="first, edited"), 1, "dr-a")
    mine = store.list_cases(patient_id=PATIENT_ID)
    assert [s.title for s in mine] == ["first, edited", "second"]  # newest change first
    assert store.list_cases(patient_id=f"  {PATIENT_ID} ") == mine  # DICOM padding ignored
    assert [s.title for s in store.list_cases(patient_id="OTHER-7")] == ["other patient"]
    assert store.list_cases(patient_id="nobody") == [] == store.list_cases(patient_id="")
    assert len(store.list_cases()) == 3 and len(store.list_cases(limit=2)) == 2
    summary = store.summary(a1.case_id)
    assert summary.version == 2
    assert (summary.n_levels, summary.n_scar_regions, summary.n_targets) == (1, 1, 2)
    assert (summary.n_trajectories, summary.n_procedures, summary.n_diaries) == (1, 3, 3)
    assert summary.last_procedure_at == a1.procedures[-1].performed_at
    assert summary.last_procedure_at.tzinfo is not None
    assert store.summary(a2.case_id).last_procedure_at is None
    text = json.dumps(summary.to_json_dict())
    assert PATIENT_ID not in text and "Synthia" not in text


def test_identity_is_stored_in_worklist_columns_and_no_patient_key(store: CaseStore) -> None:
    case = make_case()
    store.create(case, "dr-a")
    with store._engine.connect() as conn:
        row = conn.execute(sa.select(cases_table)).one()
        secrets = conn.execute(
            sa.select(sa.func.count()).select_from(metadata.tables["store_meta"])
        )
    assert (row.patient_id, row.patient_name) == (PATIENT_ID, PATIENT_NAME)
    assert row.patient_name_folded == "testpatient synthia"
    assert row.title_folded == case.title.lower()
    assert "patient_key" not in row._fields and "document" not in row._fields  # narrow
    assert secrets.scalar_one() == 0  # the HMAC secret of revision 0001 is gone


def test_create_many_is_all_or_nothing(store: CaseStore) -> None:
    existing = make_case()
    store.create(existing, "dr-a")
    fresh = make_case(title="fresh")
    with pytest.raises(CaseConflictError, match="nothing was imported"):
        store.create_many([fresh, existing], "dr-a")
    assert [s.case_id for s in store.list_cases()] == [existing.case_id]
    assert store.audit(fresh.case_id) == []


# --- audit ----------------------------------------------------------------------------
def test_audit_trail_is_complete(store: CaseStore) -> None:
    case = make_case()
    store.create(case, "dr-a", summary=f"new case for {PATIENT_ID}")
    v = 1
    for k in range(3):
        v = store.save(case.evolve(title=f"edit {k}"), v, f"user{k}", "plan", f"edit {k}")
    store.record(case.case_id, "dr-b", "export", "to a file")
    store.delete(case.case_id, v, "dr-c", summary=f"wrong patient {PATIENT_NAME}")
    trail = store.audit(case.case_id)
    assert [(e.version, e.user, e.action) for e in trail] == [
        (1, "dr-a", "create"),
        (2, "user0", "plan"),
        (3, "user1", "plan"),
        (4, "user2", "plan"),
        (4, "dr-b", "export"),
        (5, "dr-c", "delete"),
    ]
    assert [e.id for e in trail] == sorted(e.id for e in trail)
    assert all(a.at <= b.at for a, b in itertools.pairwise(trail))
    assert all(e.at.tzinfo is not None for e in trail)
    texts = " ".join(e.summary for e in trail)
    assert PATIENT_ID not in texts and "Synthia" not in texts and "[patient]" in texts
    with pytest.raises(CaseNotFoundError):
        store.load(case.case_id)
    # imported again, it keeps counting: a stale session at version 1 cannot save over it
    assert store.create(case, "dr-a", action="import") == 6
    with pytest.raises(CaseConflictError):
        store.save(case, 1, "stale")


def test_audit_trail_refuses_update_and_delete(store: CaseStore) -> None:
    case = make_case()
    store.create(case, "dr-a")
    for statement in (
        sa.update(audit_table).values(user_name="someone else"),
        sa.delete(audit_table),
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            store._engine.begin() as conn,
        ):
            conn.execute(statement)
    assert [e.user for e in store.audit(case.case_id)] == ["dr-a"]


def test_delete_is_compare_and_swap(store: CaseStore) -> None:
    case = make_case()
    store.create(case, "dr-a")
    store.save(case.evolve(title="x"), 1, "dr-a")
    with pytest.raises(CaseConflictError, match="nothing was deleted"):
        store.delete(case.case_id, 1, "dr-b")
    assert store.load(case.case_id)[1] == 2


def test_user_and_action_are_required(store: CaseStore) -> None:
    with pytest.raises(CaseError, match="user: must not be empty"):
        store.create(make_case(), "  ")
    with pytest.raises(CaseError, match="action: at most 32"):
        store.create(make_case(), "dr-a", action="x" * 40)
    assert store.list_cases() == []


def test_case_id_must_fit_the_key_column(store: CaseStore) -> None:
    with pytest.raises(CaseError, match=r"case_id: expected 1-64 letters"):
        store.create(make_case(case_id="x" * 65), "dr-a")
    with pytest.raises(CaseError, match=r"case_id: expected .*found 'a\\x00b'"):
        store.create(make_case(case_id="a\x00b"), "dr-a")
    assert store.list_cases() == []


def test_text_with_nul_and_controls_round_trips(store: CaseStore) -> None:
    case = make_case(title="L5\x00 right\x1b[31m")
    store.create(case, "dr-a")
    assert store.load(case.case_id)[0].title == case.title
    assert store.summary(case.case_id).title == "L5  right [31m"


# --- import ---------------------------------------------------------------------------
def test_import_validates_fully_before_storing(store: CaseStore, tmp_path: Path) -> None:
    path = save_case_file(make_case(), tmp_path / "c.json")
    doc = json.loads(path.read_text())
    doc["case"]["procedures"][1]["diary"]["baseline_nrs"] = 4  # tampered, still valid
    path.write_text(json.dumps(doc))
    with pytest.raises(CaseFileError, match="checksum mismatch"):
        store.import_file(path, "dr-a")
    assert store.list_cases() == []
    good = save_case_file(make_case(), tmp_path / "good.json")
    case, version = store.import_file(good, "dr-a")
    assert version == 1 and store.audit(case.case_id)[0].action == "import"
    with pytest.raises(CaseConflictError, match="already in the store"):
        store.import_file(good, "dr-a")
    copy, _ = store.import_file(good, "dr-a", new_id=True)
    assert copy.case_id != case.case_id
    assert copy.evolve(case_id=case.case_id) == case


# --- damage and versions of the store -------------------------------------------------
def test_damaged_document_is_refused(store: CaseStore) -> None:
    case = make_case()
    store.create(case, "dr-a")
    with store._engine.begin() as conn:
        conn.execute(
            sa.update(documents_table).values(
                document=sa.func.replace(
                    documents_table.c.document, '"baseline_nrs":7', '"baseline_nrs":3'
                )
            )
        )
    with pytest.raises(CaseError, match=r"does not match its checksum .*restore it from a backup"):
        store.load(case.case_id)


def test_store_document_of_an_older_schema_is_migrated(store: CaseStore) -> None:
    case = make_case()
    store.create(case, "dr-a")
    body = case.model_dump(mode="json")
    del body["schema_version"]
    for target in body["targets"]:
        position = target.pop("position")
        target["x"], target["y"], target["z"] = position["lps"]
        target["frame_of_reference_uid"] = position["frame_of_reference_uid"]
    document = json.dumps(body)
    import hashlib

    with store._engine.begin() as conn:
        conn.execute(
            sa.update(documents_table).values(
                document=document,
                schema_version=0,
                document_sha256=hashlib.sha256(document.encode()).hexdigest(),
            )
        )
    assert store.load(case.case_id) == (case, 1)
    # an old document is read through the migrations by every path, not only load
    store.record(case.case_id, "dr-a", "export", f"exported {PATIENT_ID}")
    store.delete(case.case_id, 1, "dr-a", summary=f"wrong patient {PATIENT_NAME}")
    assert [e.action for e in store.audit(case.case_id)] == ["create", "export", "delete"]
    assert "Synthia" not in " ".join(e.summary for e in store.audit(case.case_id))


def test_migrations_match_the_table_definitions(store: CaseStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store._engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # alembic_version and the type decorator are not differences
    assert [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table")] == []


def test_newer_schema_revision_is_refused(store_url: str) -> None:
    CaseStore(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(CaseError, match=r"revision 9999\) is newer .* upgrade blockplan"):
        CaseStore(store_url)


def test_unsupported_or_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="unsupported database 'mysql'"):
        CaseStore("mysql://u@localhost/db")
    with pytest.raises(CaseError, match="must be a file path"):
        CaseStore("sqlite://")


# --- SQLite specifics -----------------------------------------------------------------
def test_sqlite_files_are_private_and_durable(tmp_path: Path) -> None:
    path = tmp_path / "new" / "cases.sqlite3"
    with CaseStore(path) as store:
        store.create(make_case(), "dr-a")
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
        with store._engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA foreign_keys").scalar() == 1


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "cases.sqlite3"
    CaseStore(path).close()
    path.chmod(0o644)
    CaseStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_location_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "blockplan" / "cases.sqlite3"
    with CaseStore() as store:
        assert store.path == default_db_path()
    assert stat.S_IMODE(default_db_path().parent.stat().st_mode) == 0o700
    monkeypatch.setenv("BLOCKPLAN_DB", str(tmp_path / "env.sqlite3"))
    with CaseStore() as store:
        assert store.path == tmp_path / "env.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("BLOCKPLAN_DB")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local/share/blockplan/cases.sqlite3"


def test_no_patient_identifiers_in_logs_or_messages(
    store: CaseStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    case = make_case()
    store.create(case, "dr-a")
    messages = []
    for call in (
        lambda: store.save(case.evolve(title="x"), 5, "dr-a"),
        lambda: store.create(case, "dr-a"),
        lambda: store.delete(case.case_id, 9, "dr-a"),
    ):
        with pytest.raises(CaseError) as info:
            call()
        messages.append(str(info.value))
    store.save(case.evolve(title="y"), 1, "dr-a")
    text = caplog.text + " ".join(messages)
    assert case.case_id in text
    assert PATIENT_ID not in text and "Synthia" not in text and "Testpatient" not in text


def test_schema_revision_constant_is_the_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from blockplan.case.store import _MIGRATIONS, SCHEMA_REVISION

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION
