"""Shared by the case file and the store: canonical JSON, checksums, migrations, validation.

A case body is the JSON form of `~blockplan.case.model.Case` (``case.model_dump(mode="json")``).
Bodies written by an older release are migrated forward, one schema version at a time,
by the functions in `MIGRATIONS`, before they are validated.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from blockplan.case.model import CASE_SCHEMA_VERSION, Case

__all__ = [
    "MIGRATIONS",
    "CaseBodyError",
    "body_checksum",
    "canonical_json",
    "case_from_body",
    "case_to_body",
    "describe_validation_error",
    "migrate_body",
]

Body = dict[str, Any]
Migration = Callable[[Body], Body]

CHECKSUM_PREFIX = "sha256:"


class CaseBodyError(ValueError):
    """A case body cannot be migrated or validated; the message names the field."""


# --- canonical JSON and checksum ----------------------------------------------------------
def _canonical_value(value: Any) -> Any:
    # Integral floats hash like integers, so reformatting a file with another JSON tool
    # (``1.0`` → ``1``) does not change its checksum; the value, not the spelling, counts.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_value(v) for v in value]
    return value


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The canonical UTF-8 JSON of a case body: sorted keys, no spaces, no NaN.

    Parameters
    ----------
    body
        A JSON-compatible mapping (as produced by ``json.loads`` or
        ``Case.model_dump(mode="json")``).

    Returns
    -------
    bytes
        The canonical encoding that `body_checksum` hashes.
    """
    text = json.dumps(
        _canonical_value(body),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return text.encode("utf-8")


def body_checksum(body: Mapping[str, Any]) -> str:
    """``"sha256:<hex>"`` of the canonical JSON of a case body."""
    return CHECKSUM_PREFIX + hashlib.sha256(canonical_json(body)).hexdigest()


# --- migrations ---------------------------------------------------------------------------
def _v0_to_v1(body: Body) -> Body:
    """v0 (pre-release): targets carried ``x, y, z, frame_of_reference_uid`` keys.

    v1 nests them as ``position: {lps: [x, y, z], frame_of_reference_uid}``.
    """
    targets = body.get("targets", [])
    if isinstance(targets, list):
        for target in targets:
            if isinstance(target, dict) and "position" not in target:
                coords = [target.pop(axis, None) for axis in ("x", "y", "z")]
                target["position"] = {
                    "lps": coords,
                    "frame_of_reference_uid": target.pop("frame_of_reference_uid", None),
                }
    body["schema_version"] = 1
    return body


def _v1_to_v2(body: Body) -> Body:
    """v1 → v2: complications and the new identity fields.

    In v1 an empty ``complications`` list was printed as "no complications" although
    nothing distinguished "none occurred" from "not entered". v2 says ``[]`` is *not
    recorded* and ``["none"]`` is an explicit none. A v1 list cannot tell which was meant,
    so ``[]`` stays ``[]`` (now read as not recorded — the honest reading) and a non-empty
    list keeps its complications, each once (v2 refuses duplicates). Study time,
    referring physician, institution, index pain, complication notes and the needle's
    type are new and empty.
    """
    for proc in body.get("procedures", []) or []:
        if isinstance(proc, dict) and isinstance(proc.get("complications"), list):
            proc["complications"] = list(dict.fromkeys(proc["complications"]))
    body["schema_version"] = 2
    return body


def _v2_to_v3(body: Body) -> Body:
    """v2 → v3: targets may carry an unconfirmed ``level_change``; the case a
    ``transitional_vertebra``. Both are new and absent (nothing awaits confirmation)."""
    body["schema_version"] = 3
    return body


def _local_date(value: Any) -> str | None:
    """The local date (ISO) of an ISO date-time with offset, None when unreadable."""
    try:
        return dt.datetime.fromisoformat(value).date().isoformat()
    except (TypeError, ValueError):
        return None


def _v3_to_v4(body: Body) -> Body:
    """v3 → v4: procedures carry the ``session_id`` of their sitting; diaries may be
    ``closed_as_final`` (absent: not closed, as before).

    v3 could not say which blocks were done in one sitting. Procedures on the same local
    date become one session (the first one's id is the session id): blocks on one day
    cannot be told apart by the relief that follows (the anaesthetic of the first still
    acts), "separate days" already compared dates, and payers count a session per date.
    It only makes attribution more cautious: relief after that day supports the set of
    the day's sites. A procedure without a readable date keeps a session of its own.
    """
    procs = [p for p in body.get("procedures", []) or [] if isinstance(p, dict)]
    first_of_day: dict[str, str] = {}
    for proc in sorted(procs, key=lambda p: str(p.get("performed_at", ""))):
        if "session_id" in proc:
            continue
        own = str(proc.get("id") or "") or f"session-{len(first_of_day)}"
        day = _local_date(proc.get("performed_at"))
        proc["session_id"] = own if day is None else first_of_day.setdefault(day, own)
    body["schema_version"] = 4
    return body


def _v4_to_v5(body: Body) -> Body:
    """v4 → v5: a study series may be marked ``interpolated`` (resampled onto regular
    spacing). v4 did not record it; absent means not interpolated, which is what v4 could
    plan on without the Python API."""
    body["schema_version"] = 5
    return body


def _v5_to_v6(body: Body) -> Body:
    """v5 → v6: each target keeps its own number (``number``), the case the highest it has
    given (``last_target_number``).

    v5 numbered targets by their place in the list, so deleting T2 renamed T3 "T2" in the
    next report. A v5 case's targets get the numbers they were last shown with: their list
    positions, 1, 2, 3, …; the count of numbers given starts at the last of them (numbers
    of targets deleted while the case was v5 were never kept, so they cannot be known).
    """
    targets = [t for t in body.get("targets", []) or [] if isinstance(t, dict)]
    for n, target in enumerate(targets, start=1):
        target.setdefault("number", n)
    body.setdefault("last_target_number", len(targets))
    body["schema_version"] = 6
    return body


MIGRATIONS: dict[int, Migration] = {
    0: _v0_to_v1,
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _v5_to_v6,
}
"""``{from_version: function(body) -> body of from_version + 1}``, applied in order."""


def migrate_body(
    body: Body,
    version: int,
    *,
    registry: Mapping[int, Migration] = MIGRATIONS,
    target: int = CASE_SCHEMA_VERSION,
) -> Body:
    """Bring a case body of schema ``version`` forward to schema ``target``.

    Parameters
    ----------
    body
        The case body as parsed from JSON; it is not modified (a deep copy is migrated).
    version
        Schema version the body was written with.
    registry
        Migration functions keyed by the version they migrate from.
    target
        Version to reach; the current `CASE_SCHEMA_VERSION` by default.

    Returns
    -------
    dict
        The migrated body, with ``schema_version`` equal to ``target``.

    Raises
    ------
    CaseBodyError
        When the version is newer than ``target`` or no migration path exists.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise CaseBodyError(f"schema_version: expected a whole number ≥ 0, found {version!r}")
    if version > target:
        raise CaseBodyError(
            f"schema_version {version} is newer than this blockplan understands "
            f"(≤ {target}): upgrade blockplan to read it"
        )
    if version == target:
        return body
    out = copy.deepcopy(body)
    while version < target:
        step = registry.get(version)
        if step is None:
            raise CaseBodyError(
                f"schema_version {version} cannot be migrated: no migration from "
                f"version {version} to {version + 1} is known"
            )
        out = step(out)
        version += 1
        out["schema_version"] = version
    return out


# --- validation -----------------------------------------------------------------------
# Values under these keys may identify the patient or are free text: never echoed.
_SENSITIVE_KEYS = frozenset(
    {
        "patient",
        "patient_id",
        "patient_name",
        "birth_date",
        "title",
        "indication",
        "text",
        "notes",
        "author",
        "operator",
        "label",
        "interpretation",
        "next_step",
        "description",
        "accession_number",
        "referring_physician",
        "institution",
        "index_pain",
        "complication_notes",
    }
)


def dotted_location(loc: tuple[int | str, ...]) -> str:
    """``("procedures", 0, "diary", "baseline_nrs")`` → ``"procedures[0].diary.baseline_nrs"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or "(" in part:
            continue  # pydantic's name of a union member or validator, not a field
        else:
            out += f".{part}" if out else part
    return out or "(the case as a whole)"


def _found(value: Any, loc: tuple[int | str, ...]) -> str:
    if any(isinstance(p, str) and p in _SENSITIVE_KEYS for p in loc):
        return "a value not shown (may identify the patient)"
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a text of {len(value)} characters"
    if isinstance(value, dict):
        return f"an object with keys {sorted(value)[:6]}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    return type(value).__name__


def describe_validation_error(err: ValidationError) -> str:
    """One line naming the first invalid field: dotted path, expected, found.

    Values that could identify the patient (names, ids, free text) are not echoed.
    """
    errors = err.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")
    kind = first["type"]
    if kind == "missing":
        text = f"{dotted_location(loc)}: required field is missing"
    elif kind == "extra_forbidden":
        text = f"{dotted_location(loc)}: unknown field (not part of the case format)"
    elif not loc:
        text = f"{dotted_location(loc)}: {msg}"
    else:
        text = f"{dotted_location(loc)}: {msg}; found {_found(first.get('input'), loc)}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def case_from_body(body: Body, version: int | None = None) -> Case:
    """Migrate (if older) and validate a case body.

    Parameters
    ----------
    body
        The case body parsed from JSON.
    version
        Its schema version, when known from outside the body (the file header, the
        store's column); else the body's own ``schema_version`` (absent in v0).

    Raises
    ------
    CaseBodyError
        Naming the first invalid field; no value that may identify the patient is shown.
    """
    if not isinstance(body, dict):
        raise CaseBodyError(f"case: expected a JSON object, found {_found(body, ())}")
    inner = body.get("schema_version", 0)
    if version is None:
        version = inner
    elif "schema_version" in body and inner != version:
        raise CaseBodyError(
            f"schema_version: the case says {inner!r} but its container says {version!r}"
        )
    migrated = migrate_body(body, version)
    try:
        return Case.model_validate(migrated)
    except ValidationError as err:
        raise CaseBodyError(describe_validation_error(err)) from err


def case_to_body(case: Case) -> Body:
    """The JSON form of a case (``schema_version`` included)."""
    body: Body = case.model_dump(mode="json")
    return body
