"""Standard codes in the SR where PS3.16 has them (issue 17 point 9)."""

from __future__ import annotations

import copy

import pydicom
import pytest

from blockplan.archive import read_sr, validate_dataset
from blockplan.archive.bundle import ArchiveObjects
from blockplan.archive.coding import (
    PRIVATE_SCHEME,
    STANDARD_CONCEPTS,
    code_value_and_scheme,
    private,
)
from blockplan.archive.validate import dciodvfy_path
from blockplan.case.model import Case


def _concepts(ds: pydicom.Dataset) -> set[tuple[str, str]]:
    found = set()
    for item in ds.iterall():
        if item.keyword == "ConceptNameCodeSequence":
            for code in item.value:
                found.add(code_value_and_scheme(code))
    return found


def test_sr_uses_standard_concepts(objects: ArchiveObjects) -> None:
    concepts = _concepts(objects.sr)
    for key in ("APPROACH", "SPINAL-LEVEL", "CLEAR-LEVEL", "CLEAR-SIDE"):
        code = STANDARD_CONCEPTS[key]
        assert (code.value, code.scheme_designator) in concepts, key
        assert (key, PRIVATE_SCHEME) not in concepts
    finding_types = {
        code_value_and_scheme(c)
        for item in objects.sr.iterall()
        if item.keyword == "ConceptCodeSequence"
        for c in item.value
    }
    assert ("112162", "DCM") in finding_types  # DCM "Target", not 99BLOCKPLAN TARGET


@pytest.mark.skipif(dciodvfy_path() is None, reason="dicom3tools not installed")
def test_fewer_dciodvfy_warnings(objects: ArchiveObjects) -> None:
    result = validate_dataset(objects.sr)
    assert result.errors == ()
    # 82 warnings (one per private code) before issue 17 point 9, 65 after
    assert len(result.warnings) <= 65


def test_sr_with_the_old_private_concepts_still_reads(objects: ArchiveObjects, case: Case) -> None:
    old = copy.deepcopy(objects.sr)
    for item in old.iterall():
        if item.keyword != "ConceptNameCodeSequence":
            continue
        for code in item.value:
            for key in ("APPROACH", "SPINAL-LEVEL"):
                std = STANDARD_CONCEPTS[key]
                if (code.CodeValue, code.CodingSchemeDesignator) == (
                    std.value,
                    std.scheme_designator,
                ):
                    code.CodeValue = private(key).value
                    code.CodingSchemeDesignator = PRIVATE_SCHEME
                    code.CodeMeaning = private(key).meaning
    assert ("APPROACH", PRIVATE_SCHEME) in _concepts(old)
    new, back = read_sr(objects.sr), read_sr(old)
    assert [(t.level, t.approach) for t in back.targets] == [
        (t.level, t.approach) for t in new.targets
    ]
    assert {t.approach for t in back.targets} == {t.approach for t in case.targets}
