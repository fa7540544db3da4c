"""Archive versions of a case: the same report version gets the same UIDs.

Archiving is idempotent: the UIDs of the objects are derived (UUID-derived ``2.25``
root, PS3.5 §B.2) from the case id and what defines each object, so a rerun or a retry
sends the same SOP Instance UIDs and a PACS stores nothing new:

* series — one per case and kind (report, plan SR, scar SEG), the same for every
  version, so a PACS shows versions side by side in one series;
* Encapsulated PDF instance — from the report's SHA-256 (byte-identical report, same
  instance);
* SR and SEG instances — from the report's SHA-256 and the case's content checksum.

A new version (another report, or a changed case) is a new instance in the same series
with the next InstanceNumber, and references its predecessor (PredecessorDocumentsSequence
in the SR and the Encapsulated PDF). What was archived is recorded per case in
``<user data>/cases/<case id>/archived.json`` (0600, atomic; UIDs only, nothing
identifying).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from pydicom.dataset import Dataset

from blockplan.archive._common import derived_uid
from blockplan.case.model import Case
from blockplan.errors import ArchiveError

__all__ = [
    "ROLES",
    "ArchivedObject",
    "VersionUids",
    "archived_objects",
    "record_version",
    "version_uids",
]

ROLES = ("report", "sr", "seg")
"""The kinds of archive object, each with a series of its own."""

_HISTORY = "archived.json"


def _uid(*parts: str) -> str:
    return derived_uid("blockplan-archive", *parts)


@dataclass(frozen=True, slots=True)
class ArchivedObject:
    """One archived instance (UIDs only)."""

    role: str
    version: str
    instance_number: int
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str

    def as_reference(self) -> Dataset:
        """A dataset with the four UIDs, as highdicom's ``previous_versions`` takes them."""
        ds = Dataset()
        ds.StudyInstanceUID = self.study_instance_uid
        ds.SeriesInstanceUID = self.series_instance_uid
        ds.SOPInstanceUID = self.sop_instance_uid
        ds.SOPClassUID = self.sop_class_uid
        return ds


@dataclass(frozen=True, slots=True)
class VersionUids:
    """Series and instance UIDs of one archive version, its InstanceNumber and predecessors.

    ``predecessors`` maps a role to the latest archived object of an earlier version.
    """

    version: str
    instance_number: int
    series: dict[str, str]
    instances: dict[str, str]
    predecessors: dict[str, ArchivedObject]

    def previous(self, role: str) -> list[Dataset]:
        """The predecessor of ``role`` as a reference dataset (empty: first version)."""
        found = self.predecessors.get(role)
        return [] if found is None else [found.as_reference()]


def _case_checksum(case: Case) -> str:
    from blockplan.case._codec import body_checksum, case_to_body

    return str(body_checksum(case_to_body(case)))


def version_uids(case: Case, pdf: bytes) -> VersionUids:
    """The UIDs of the archive objects of ``case`` with the report ``pdf`` (see module docs)."""
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    content = f"{pdf_sha}|{_case_checksum(case)}"
    version = hashlib.sha256(content.encode()).hexdigest()[:32]
    keys = {"report": pdf_sha, "sr": content, "seg": content}
    history = archived_objects(case.case_id)
    earlier = [o for o in history if o.version != version]
    same = [o for o in history if o.version == version]
    if same:
        number = same[0].instance_number
    else:
        number = 1 + max((o.instance_number for o in history), default=0)
    predecessors: dict[str, ArchivedObject] = {}
    for obj in earlier:
        if obj.instance_number < number:
            predecessors[obj.role] = obj  # the latest earlier one wins (history is in order)
    return VersionUids(
        version=version,
        instance_number=number,
        series={role: _uid(case.case_id, "series", role) for role in ROLES},
        instances={role: _uid(case.case_id, role, keys[role]) for role in ROLES},
        predecessors=predecessors,
    )


def archived_objects(case_id: str) -> list[ArchivedObject]:
    """What was archived for a case, in order (empty when nothing)."""
    from blockplan.report.kept import case_data_dir

    path = case_data_dir(case_id) / _HISTORY
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [ArchivedObject(**e) for e in entries]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError) as err:
        raise ArchiveError(
            f"{path}: the archive history is unreadable ({type(err).__name__}); move it "
            "away (new versions then reference no predecessor) and archive again"
        ) from err


def record_version(case_id: str, uids: VersionUids, datasets: Sequence[Dataset]) -> None:
    """Add the objects of version ``uids`` to the case's history (once per version)."""
    from blockplan.case.casefile import write_bytes_atomic
    from blockplan.report.kept import case_data_dir

    history = archived_objects(case_id)
    if any(o.version == uids.version for o in history):
        return
    by_uid = {v: k for k, v in uids.instances.items()}
    for ds in datasets:
        role = by_uid.get(str(ds.SOPInstanceUID))
        if role is None:
            continue
        history.append(
            ArchivedObject(
                role=role,
                version=uids.version,
                instance_number=uids.instance_number,
                study_instance_uid=str(ds.StudyInstanceUID),
                series_instance_uid=str(ds.SeriesInstanceUID),
                sop_instance_uid=str(ds.SOPInstanceUID),
                sop_class_uid=str(ds.SOPClassUID),
            )
        )
    folder = case_data_dir(case_id, create=True)
    text = json.dumps([asdict(o) for o in history], indent=2)
    try:
        write_bytes_atomic(folder / _HISTORY, (text + "\n").encode(), mode=0o600)
    except OSError as err:
        raise ArchiveError(
            f"{folder / _HISTORY}: cannot record the archived version ({err.strerror or err})"
        ) from err
