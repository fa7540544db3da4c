"""The evidence ledger in the SR: statuses, verdicts and missing diary points, valid DICOM."""

from __future__ import annotations

import datetime as dt
import io

import pydicom
import pytest
from pydicom.dataset import Dataset

from blockplan.archive import build_measurement_report, read_sr, validate_dataset
from blockplan.archive._common import dataset_bytes
from blockplan.archive.coding import (
    PRIVATE_CODES,
    PRIVATE_SCHEME,
    STATUS_CODES,
    UNTESTED_STATUS_CODE,
    VERDICT_CODES,
    status_from_code,
    status_key_code,
    status_key_from_code,
    verdict_from_code,
)
from blockplan.archive.validate import dciodvfy_path
from blockplan.case.model import Case, DiaryEntry, Injection, PainDiary, Procedure
from blockplan.case.vocab import Agent, BlockType, Laterality
from blockplan.outcomes import UNTESTED, Status, Verdict, build_ledger, shown_status_key
from tests.archive._factory import Study

needs_dciodvfy = pytest.mark.skipif(dciodvfy_path() is None, reason="dicom3tools not installed")
TZ = dt.timezone(dt.timedelta(hours=1))


def _diary(nrs: dict[int, int], baseline: int = 8) -> PainDiary:
    return PainDiary(
        baseline_nrs=baseline, entries=tuple(DiaryEntry(minutes=m, nrs=v) for m, v in nrs.items())
    )


FULL = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)


@pytest.fixture(scope="module")
def ledger_case(case: Case) -> Case:
    """The archive case plus an SNRB of 0.1 mL (needs review) and an MBB with only its
    0-min score (pending), under strict-dual-80."""
    snrb = Procedure(
        id="p-snrb",
        performed_at=dt.datetime(2026, 3, 16, 9, 0, tzinfo=TZ),
        block_type=BlockType.SELECTIVE_NERVE_ROOT,
        injections=(
            Injection(
                target_id="t1",
                level="L5",
                side=Laterality.RIGHT,
                agent=Agent.LIDOCAINE,
                volume_ml=0.1,
            ),
        ),
        diary=_diary({t: (1 if t <= 60 else 8) for t in FULL}),
    )
    mbb = Procedure(
        id="p-mbb",
        performed_at=dt.datetime(2026, 3, 23, 9, 0, tzinfo=TZ),
        block_type=BlockType.MEDIAL_BRANCH,
        injections=(
            Injection(
                target_id="t2",
                level="L4-L5",
                side=Laterality.LEFT,
                agent=Agent.LIDOCAINE,
                volume_ml=0.5,
            ),
        ),
        diary=_diary({0: 1}),
    )
    return case.evolve(procedures=(*case.procedures, snrb, mbb), profile_name="strict-dual-80")


def _reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(dataset_bytes(ds)))


@pytest.fixture(scope="module")
def sr(study: Study, ledger_case: Case) -> Dataset:
    ledger = build_ledger(ledger_case, ledger_case.profile_name)
    return build_measurement_report(
        ledger_case, study.headers, ledger=ledger, content_datetime=dt.datetime(2026, 4, 1)
    )


def test_sr_holds_every_source_status_and_block_verdict(sr: Dataset, ledger_case: Case) -> None:
    ledger = build_ledger(ledger_case, ledger_case.profile_name)
    plan = read_sr(_reread(sr))
    assert plan.profile == "strict-dual-80 v1.1.0"
    # each status as the report and the Outcomes panel show it (no diagnostic block yet →
    # "untested", S-UNTESTED in the SR; else the ledger's status)
    assert plan.source_statuses == {s.label: shown_status_key(s) for s in ledger.sources}
    assert plan.block_verdicts == {b.number: b.verdict.value for b in ledger.blocks}
    snrb = next(b for b in ledger.blocks if b.procedure_id == "p-snrb")
    mbb = next(b for b in ledger.blocks if b.procedure_id == "p-mbb")
    assert (snrb.verdict, mbb.verdict) == (Verdict.NEEDS_REVIEW, Verdict.PENDING)
    assert plan.missing_min == {mbb.number: (15, 30, 60, 120)}
    assert plan.source_statuses["L5, right, nerve root"] == "needs_review"
    assert plan.source_statuses["L4-L5, left, facet joint"] == "pending"


def test_sr_without_ledger_has_no_ledger_groups(study: Study, ledger_case: Case) -> None:
    plan = read_sr(_reread(build_measurement_report(ledger_case, study.headers)))
    assert (plan.profile, plan.source_statuses, plan.block_verdicts) == ("", {}, {})


def test_status_and_verdict_codes_round_trip() -> None:
    assert {status_from_code(c) for c in STATUS_CODES.values()} == set(Status)
    keys = [*(s.value for s in Status), UNTESTED]
    assert [status_key_from_code(status_key_code(k)) for k in keys] == keys
    assert status_key_code(UNTESTED) == UNTESTED_STATUS_CODE != STATUS_CODES[Status.INDETERMINATE]
    assert {verdict_from_code(c) for c in VERDICT_CODES.values()} == set(Verdict)
    assert all(len(v) <= 16 and len(m) <= 64 for v, m in PRIVATE_CODES.items())


@needs_dciodvfy
def test_sr_with_ledger_passes_dciodvfy(sr: Dataset) -> None:
    result = validate_dataset(sr)
    assert result.iod == "Comprehensive3DSR"
    assert result.errors == (), result.errors
    assert all(PRIVATE_SCHEME in w for w in result.warnings), result.warnings
