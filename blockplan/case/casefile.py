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
same folder, fsync, rename, fsync of the folder) with mode 0600. A writer holds a lock on its
temporary file until the rename; the next write of the same file removes the temporary files
nobody holds — those of a writer that was killed (`remove_abandoned_temporaries`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import os
import re
import shutil
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

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locks, so no clean-up either
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FILE_FORMAT",
    "MAX_FILE_BYTES",
    "case_json_schema",
    "dumps_case_file",
    "load_case_file",
    "loads_case_file",
    "private_temporary",
    "remove_abandoned_temporaries",
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


def _lock(fd: int, *, wait: bool) -> bool:
    """Take the exclusive lock of an open temporary (False: another process holds it)."""
    if fcntl is None:  # pragma: no cover - not POSIX
        return wait
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _still_named(fd: int, path: str | os.PathLike[str]) -> bool:
    """True when ``path`` still names the file (folder) open as ``fd``."""
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def private_temporary(target: Path, *, folder: bool = False) -> tuple[str, int]:
    """A new hidden temporary file (or folder) beside ``target``, held by this process.

    Named ``.<target name>.<random>.tmp``, mode 0600 (folder 0700) and locked (flock)
    until the returned descriptor is closed — by the writer after its rename, or by the
    kernel when the writer is killed; `remove_abandoned_temporaries` removes only the
    temporaries nobody holds. Abandoned ones of ``target`` are removed first.

    Returns
    -------
    tuple
        The temporary's path and a descriptor holding its lock (for a file: open for
        writing). The caller closes the descriptor.
    """
    remove_abandoned_temporaries(target)
    prefix, parent = f".{target.name}.", target.parent
    while True:
        if folder:
            path = tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        else:
            fd, path = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        if _lock(fd, wait=True) and _still_named(fd, path):
            return path, fd
        os.close(fd)  # a clean-up removed it between its creation and our lock: again


def remove_abandoned_temporaries(target: Path) -> int:
    """Remove the temporaries of ``target`` that writers killed mid-write left behind.

    A writer holds the lock of its temporary (`private_temporary`) until its rename; a
    temporary whose lock is free belongs to a process that no longer exists (a crash,
    ``kill -9``, a power cut). Only the current user's files and folders named
    ``.<target name>.*.tmp`` are considered. Returns how many were removed.
    """
    if fcntl is None:  # pragma: no cover - not POSIX
        return 0
    removed = 0
    for path in target.parent.glob(glob.escape(f".{target.name}.") + "*.tmp"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # a symbolic link, gone already, or not ours to read
        try:
            st = os.fstat(fd)
            if st.st_uid != os.geteuid() or not _lock(fd, wait=False):
                continue  # another user's, or a live writer's
            if not _still_named(fd, path):
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path)
            elif stat.S_ISREG(st.st_mode):
                os.unlink(path)
            else:
                continue
            removed += 1
        except OSError:
            continue  # left for the next write; never a reason to refuse this one
        finally:
            os.close(fd)
    return removed


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> Path:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    A temporary file is created in the same folder with ``mode`` (`private_temporary`:
    hidden, locked while written; temporaries of killed writers are removed first),
    written, fsynced and renamed over ``path``; then the folder is fsynced so the rename
    is durable.

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
    tmp_name, fd = private_temporary(target)
    try:
        with os.fdopen(fd, "wb") as fh:  # closing it (after the rename) releases the lock
            os.fchmod(fh.fileno(), mode)
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
