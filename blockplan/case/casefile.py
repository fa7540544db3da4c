"""The case file: one case as versioned, checksummed UTF-8 JSON.

Layout (schema version 2)::

    {
      "format": "blockplan.case",
      "schema_version": 2,
      "generator": "blockplan 0.1.0",
      "exported_at": "2026-03-15T09:30:00.000000Z",
      "checksum": "sha256:<64 hex digits>",
      "case": { ... }
    }

``case`` is the case body, described by the JSON Schema shipped as
``blockplan/case/schema/case-v2.schema.json`` (generated from `~blockplan.case.model.Case`;
the schemas of older versions stay beside it).
``checksum`` is the SHA-256 of the canonical JSON of ``case`` (keys sorted, no
whitespace, UTF-8, integral numbers written as integers): a file whose body no longer
matches is refused as changed or damaged. The checksum detects accidental damage and
edits by hand; it is not a signature (anyone can recompute it).

Files of an older ``schema_version`` are migrated forward before validation
(`blockplan.case._codec.MIGRATIONS`). Files are written atomically (temporary file in the
same folder, fsync, rename, fsync of the folder) with mode 0600.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import stat
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from blockplan.case._codec import (
    CHECKSUM_PREFIX,
    CaseBodyError,
    body_checksum,
    case_from_body,
    case_to_body,
)
from blockplan.case.model import CASE_SCHEMA_VERSION, Case
from blockplan.errors import CaseError, CaseFileError
from blockplan.strict_json import loads_strict

__all__ = [
    "FILE_FORMAT",
    "MAX_FILE_BYTES",
    "case_json_schema",
    "dumps_case_file",
    "load_case_file",
    "loads_case_file",
    "save_case_file",
    "schema_path",
    "write_bytes_atomic",
]

FILE_FORMAT = "blockplan.case"
"""Value of the ``format`` key that marks a blockplan case file."""

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Largest case file read (scar masks are run-length encoded, so real files are small)."""

_ENVELOPE_KEYS = frozenset({"format", "schema_version", "generator", "exported_at", "checksum"})
_CHECKSUM_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


# --- schema ---------------------------------------------------------------------------
def case_json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``case`` member of a case file, generated from the model.

    Returns
    -------
    dict
        JSON Schema (draft 2020-12) of `~blockplan.case.model.Case`, version
        `CASE_SCHEMA_VERSION`.
    """
    schema: dict[str, Any] = {
        "$schema": _JSON_SCHEMA_DIALECT,
        "$id": f"urn:blockplan:case-v{CASE_SCHEMA_VERSION}",
    }
    schema.update(Case.model_json_schema())
    return schema


def schema_path() -> Path:
    """Path of the shipped JSON Schema of the current case format."""
    base = resources.files("blockplan.case") / "schema"
    return Path(str(base / f"case-v{CASE_SCHEMA_VERSION}.schema.json"))


def _schema_text() -> str:
    return json.dumps(case_json_schema(), indent=2, ensure_ascii=False) + "\n"


# --- writing --------------------------------------------------------------------------
def _version_string() -> str:
    from blockplan import __version__

    return f"blockplan {__version__}"


def dumps_case_file(case: Case) -> bytes:
    """The bytes of a case file holding ``case`` (UTF-8 JSON, see the module docs).

    Raises
    ------
    CaseError
        When the case holds text that cannot be encoded as UTF-8 (lone surrogates).
    """
    body = case_to_body(case)
    try:
        envelope = {
            "format": FILE_FORMAT,
            "schema_version": CASE_SCHEMA_VERSION,
            "generator": _version_string(),
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "checksum": body_checksum(body),
            "case": body,
        }
        text = json.dumps(envelope, indent=2, ensure_ascii=False, allow_nan=False)
        return (text + "\n").encode("utf-8")
    except (UnicodeEncodeError, ValueError) as err:
        raise CaseError(
            f"case {case.case_id}: cannot be written as UTF-8 JSON ({type(err).__name__}); "
            "a text field holds characters that are not valid Unicode"
        ) from err


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> Path:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    A temporary file is created in the same folder with ``mode``, written, fsynced and
    renamed over ``path``; then the folder is fsynced so the rename is durable.

    Parameters
    ----------
    path
        Destination file; its folder must exist.
    data
        The complete new content.
    mode
        Permission bits of the new file (0600: owner read/write only).

    Returns
    -------
    Path
        The absolute destination path.

    Raises
    ------
    OSError
        When the folder is missing or not writable, or the disk is full; the old file
        (if any) is then untouched and the temporary file removed.
    """
    target = Path(path).absolute()
    folder = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(folder)
    return target


def save_case_file(case: Case, path: str | os.PathLike[str]) -> Path:
    """Write a case file atomically, mode 0600.

    Parameters
    ----------
    case
        The case to write (already valid by construction).
    path
        Destination; conventionally ends in ``.blockplan.json``. Replaced atomically if
        it exists.

    Returns
    -------
    Path
        The absolute path written.

    Raises
    ------
    CaseFileError
        When the file cannot be written (the previous file, if any, is left as it was).
    """
    data = dumps_case_file(case)
    try:
        return write_bytes_atomic(path, data)
    except OSError as err:
        raise CaseFileError(
            f"{os.fspath(path)}: cannot write the case file ({err.strerror or err}); "
            "nothing was changed. Check that the folder exists and is writable."
        ) from err


# --- reading --------------------------------------------------------------------------
def loads_case_file(data: bytes, source: str = "<bytes>") -> Case:
    """Parse, verify, migrate and validate the bytes of a case file.

    Parameters
    ----------
    data
        The file content.
    source
        Where the bytes came from (a path), used in error messages.

    Returns
    -------
    Case
        The validated case.

    Raises
    ------
    CaseFileError
        Naming ``source`` and the first problem: not UTF-8 JSON, not a case file, unknown
        schema version, checksum mismatch, or the first invalid field as a dotted path
        (``procedures[0].diary.baseline_nrs``) with what was expected and found.
    """

    def fail(reason: str) -> CaseFileError:
        return CaseFileError(f"{source}: {reason}; the case was not imported")

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(f"not UTF-8 text (bad byte at offset {err.start})") from err
    try:
        doc = loads_strict(text)
    except json.JSONDecodeError as err:
        raise fail(f"not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from err
    except ValueError as err:
        raise fail(f"not valid JSON ({err})") from err
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise fail(f'not a blockplan case file (expected "format": "{FILE_FORMAT}")')
    unknown = sorted(set(doc) - _ENVELOPE_KEYS - {"case"})
    if unknown:
        raise fail(f"unknown top-level field {unknown[0]!r}")
    if "case" not in doc:
        raise fail('required field "case" is missing')
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail(f"schema_version: expected a whole number, found {json.dumps(version)}")
    if version > CASE_SCHEMA_VERSION:
        raise fail(
            f"schema_version {version} is newer than this blockplan reads "
            f"(≤ {CASE_SCHEMA_VERSION}); upgrade blockplan"
        )
    checksum = doc.get("checksum")
    if not isinstance(checksum, str) or not _CHECKSUM_RE.match(checksum):
        raise fail(f'checksum: expected "{CHECKSUM_PREFIX}<64 hex digits>", found none or bad')
    body = doc["case"]
    if not isinstance(body, dict):
        raise fail("case: expected a JSON object")
    if body_checksum(body) != checksum:
        raise fail(
            "checksum mismatch: the case body was changed after blockplan wrote the file, "
            "or the file is damaged; export the case again from blockplan"
        )
    try:
        return case_from_body(body, version)
    except CaseBodyError as err:
        raise fail(str(err)) from err


def load_case_file(path: str | os.PathLike[str]) -> Case:
    """Read a case file written by `save_case_file` (this or an older release).

    Nothing is imported anywhere: the result is a validated `Case` or an exception.

    Parameters
    ----------
    path
        The case file.

    Returns
    -------
    Case
        The validated (and, for older files, migrated) case.

    Raises
    ------
    CaseFileError
        Naming the path and the first problem (see `loads_case_file`).
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
        if not stat.S_ISREG(st.st_mode):
            raise CaseFileError(f"{name}: not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise CaseFileError(
                f"{name}: {st.st_size} bytes is larger than any case file "
                f"({MAX_FILE_BYTES} bytes at most); is it the right file?"
            )
        with open(name, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise CaseFileError(f"{name}: cannot read ({err.strerror or err})") from err
    return loads_case_file(data, source=name)


if __name__ == "__main__":  # pragma: no cover - maintenance: regenerate the schema
    out = Path(__file__).with_name("schema") / f"case-v{CASE_SCHEMA_VERSION}.schema.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(_schema_text(), encoding="utf-8")
    print(out)
