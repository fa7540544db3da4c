"""Standard codes in the SR where PS3.16 has them (issue 17 point 9)."""

from __future__ import annotations

import copy
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from pydicom.sr._cid_dict import cid_concepts
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from blockplan.archive import build_measurement_report, read_sr, validate_dataset
from blockplan.archive.bundle import ArchiveObjects
from blockplan.archive.coding import (
    DISC_CODES,
    LANDMARK_CODES,
    LEGACY_PRIVATE_CODES,
    PRIVATE_CODES,
    PRIVATE_SCHEME,
    STANDARD_CONCEPTS,
    STATUS_CODES,
    VERDICT_CODES,
    code_value_and_scheme,
    concept,
    concept_keys,
    landmark_kind_from_code,
    private,
    status_from_code,
    structure_code,
    structure_from_code,
    verdict_from_code,
)
from blockplan.archive.sr import _groups
from blockplan.archive.validate import dciodvfy_path
from blockplan.case.model import Case, Target
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.outcomes import Status, Verdict
from tests.archive._factory import Study


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
    # 82 warnings (one per private code) before issue 17 point 9, 65 after its first part,
    # 49 since discs, block-type name, profile, Positive/Negative, Indeterminate and the
    # thecal sac (Dura mater) are standard
    assert len(result.warnings) <= 49


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


# --- issue 17 point 9: every private code left is documented, the new codes both ways ------
UNKNOWN_SCHEME = (
    f"Unrecognized defined term <{PRIVATE_SCHEME}> for value 1 of attribute "
    "<Coding Scheme Designator>"
)


def _private_values(ds: pydicom.Dataset) -> list[str]:
    """CodeValue of every code item of the private scheme (the scheme's declaration: "")."""
    return [
        str(item.get("CodeValue", ""))
        for el in ds.iterall()
        if el.VR == "SQ"
        for item in el.value
        if item.get("CodingSchemeDesignator") == PRIVATE_SCHEME
    ]


@pytest.mark.skipif(dciodvfy_path() is None, reason="dicom3tools not installed")
def test_dciodvfy_warns_only_for_the_documented_private_codes(objects: ArchiveObjects) -> None:
    result = validate_dataset(objects.sr)
    assert result.errors == ()
    # dciodvfy checks the scheme designator, not context groups: one warning per private
    # code item (and one for the scheme's declaration), nothing else
    assert set(result.warnings) == {UNKNOWN_SCHEME}
    values = _private_values(objects.sr)
    assert len(result.warnings) == len(values)
    assert values.count("") == 1  # CodingSchemeIdentificationSequence
    used = {v for v in values if v}
    levels = {v for v in used if v.startswith("LEVEL-")}
    assert levels == {"LEVEL-S1"}  # no standard code for a sacral vertebra
    assert used - levels <= set(PRIVATE_CODES), used - levels - set(PRIVATE_CODES)
    assert not used & set(LEGACY_PRIVATE_CODES)  # replaced codes are never written
    for other in (objects.seg, objects.encapsulated_pdf):
        assert other is not None
        checked = validate_dataset(other)
        assert (checked.errors, checked.warnings) == ((), ())


def test_a_disc_at_a_cid_7604_segment_is_its_snomed_disc_both_ways() -> None:
    # every disc of CID 7604 "Intervertebral Disc", and only those
    cid_7604 = {getattr(codes.SCT, name).value for name in cid_concepts[7604]["SCT"]}
    assert {c.value for c in DISC_CODES.values()} == cid_7604 and len(cid_7604) == 23
    for segment, code in DISC_CODES.items():
        assert code.scheme_designator == "SCT"
        assert structure_code(Structure.DISC, segment) == code
        assert structure_from_code(code) is Structure.DISC
    assert structure_code(Structure.DISC, "L4-L5") == Code("84020006", "SCT", "L4/L5 disc")
    assert structure_code(Structure.DISC, "L5-S1").value == "715056000"
    # no CID 7604 concept: the private code, still read as a disc
    for level in ("L5-L6", "C1-C2", None, "L5"):
        assert structure_code(Structure.DISC, level) == private("DISC")
    assert structure_from_code(private("DISC")) is Structure.DISC
    # the level does not change any other structure's code
    assert structure_code(Structure.NERVE_ROOT, "L4-L5") == private("NERVE-ROOT")
    assert structure_code(Structure.SACROILIAC_JOINT, "S1") == codes.SCT.SacroiliacJoint


def test_verdict_and_status_standard_codes_both_ways() -> None:
    assert VERDICT_CODES[Verdict.POSITIVE] == Code("10828004", "SCT", "Positive")
    assert VERDICT_CODES[Verdict.NEGATIVE] == Code("260385009", "SCT", "Negative")
    assert {c.value for c in (codes.SCT.Positive, codes.SCT.Negative)} == {
        c.value for c in (VERDICT_CODES[Verdict.POSITIVE], VERDICT_CODES[Verdict.NEGATIVE])
    }
    assert verdict_from_code(codes.SCT.Positive) is Verdict.POSITIVE
    assert verdict_from_code(codes.SCT.Negative) is Verdict.NEGATIVE
    assert STATUS_CODES[Status.INDETERMINATE] == Code("82334004", "SCT", "Indeterminate")
    assert status_from_code(codes.SCT.Indeterminate) is Status.INDETERMINATE
    # SRs written before: the private codes still read
    assert verdict_from_code(private("V-POSITIVE")) is Verdict.POSITIVE
    assert verdict_from_code(private("V-NEGATIVE")) is Verdict.NEGATIVE
    assert status_from_code(private("S-INDETERMINATE")) is Status.INDETERMINATE
    # a code read from a file (code item), by value and scheme only
    item = pydicom.Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "10828004", "SCT", "pos"
    assert verdict_from_code(item) is Verdict.POSITIVE
    with pytest.raises(ValueError, match=r"unknown block verdict code \(82334004, SCT\)"):
        verdict_from_code(codes.SCT.Indeterminate)


def test_block_type_is_named_procedure_code() -> None:
    assert concept("BLOCK-TYPE") == Code("121023", "DCM", "Procedure Code")
    assert concept_keys(codes.DCM.ProcedureCode) == ["BLOCK-TYPE"]
    assert concept_keys(private("BLOCK-TYPE")) == ["BLOCK-TYPE"]


def test_disc_target_round_trips_as_snomed_disc(study: Study, case: Case) -> None:
    disc = Target(
        id="t9",
        level="L4-L5",
        side=Laterality.MIDLINE,
        structure=Structure.DISC,
        block_type=BlockType.DISCOGRAPHY,
        position=case.targets[0].position,
    )
    sr = build_measurement_report(case.evolve(targets=(*case.targets, disc)), study.headers)
    sites = {
        code_value_and_scheme(code)
        for el in sr.iterall()
        if el.keyword == "ConceptCodeSequence"
        for code in el.value
    }
    assert ("84020006", "SCT") in sites and ("DISC", PRIVATE_SCHEME) not in sites
    back = read_sr(sr).targets[-1]
    assert (back.id, back.structure, back.level, back.block_type) == (
        "t9",
        Structure.DISC,
        "L4-L5",
        BlockType.DISCOGRAPHY,
    )


def _as_written_before(sr: pydicom.Dataset) -> pydicom.Dataset:
    """``sr`` as blockplan wrote it before point 9: private block-type name, status
    ``S-INDETERMINATE`` (also for a source no diagnostic block had tested, now "Not
    performed"), ``THECAL-SAC`` and the profile as a private ``PROFILE`` code."""
    old = copy.deepcopy(sr)
    swaps = {
        ("121023", "DCM"): private("BLOCK-TYPE"),
        ("82334004", "SCT"): private("S-INDETERMINATE"),
        ("262008008", "SCT"): private("S-INDETERMINATE"),
        ("18545000", "SCT"): private("THECAL-SAC"),
    }
    for el in list(old.iterall()):
        if el.keyword in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
            for code in el.value:
                new = swaps.get(code_value_and_scheme(code))
                if new is not None:
                    code.CodeValue, code.CodingSchemeDesignator = new.value, PRIVATE_SCHEME
                    code.CodeMeaning = new.meaning
    for group in _groups(old.ContentSequence):
        items = list(group.ContentSequence)
        names = {code_value_and_scheme(i.ConceptNameCodeSequence[0]): i for i in items}
        name, version = names.get(("111001", "DCM")), names.get(("111003", "DCM"))
        if name is None or version is None:
            continue
        profile = Code(
            f"{name.TextValue}_v{version.TextValue}",
            PRIVATE_SCHEME,
            f"{name.TextValue} v{version.TextValue}",
        )
        (item,) = hd.sr.QualitativeEvaluation(name=private("PROFILE"), value=profile)
        group.ContentSequence = [i for i in items if i not in (name, version)] + [item]
    return old


def test_sr_with_the_old_private_codes_still_reads(objects: ArchiveObjects) -> None:
    old = _as_written_before(objects.sr)
    assert ("PROFILE", PRIVATE_SCHEME) in _concepts(old)
    assert ("111001", "DCM") not in _concepts(old)
    assert "S-INDETERMINATE" in _private_values(old)
    new, back = read_sr(objects.sr), read_sr(old)
    assert new.profile and back.profile == new.profile
    # a source with no diagnostic block yet was written as indeterminate, and reads so
    assert "untested" in new.source_statuses.values()
    assert back.source_statuses == {
        label: "indeterminate" if key == "untested" else key
        for label, key in new.source_statuses.items()
    }
    assert back.block_verdicts == new.block_verdicts
    assert [t.block_type for t in back.targets] == [t.block_type for t in new.targets]
    assert "THECAL-SAC" in _private_values(old)
    assert back.measurements == new.measurements
    assert any(c[1] == "thecal_sac" for m in new.measurements.values() for c in m.structures)


def test_thecal_sac_is_dura_mater_both_ways() -> None:
    assert LANDMARK_CODES["thecal_sac"] == Code("18545000", "SCT", "Dura mater")
    assert landmark_kind_from_code(codes.SCT.DuraMater) == "thecal_sac"
    assert landmark_kind_from_code(private("THECAL-SAC")) == "thecal_sac"  # SRs before
    assert len({code_value_and_scheme(c) for c in LANDMARK_CODES.values()}) == len(LANDMARK_CODES)


def test_readme_lists_every_private_code() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    listed = {k for k in (*PRIVATE_CODES, *LEGACY_PRIVATE_CODES) if f"`{k}`" in readme}
    missing = set(PRIVATE_CODES) | set(LEGACY_PRIVATE_CODES)
    missing -= listed | {k for k in PRIVATE_CODES if k.startswith("APP-")}  # "APP-*"
    assert missing == set()
    assert "`APP-*`" in readme
