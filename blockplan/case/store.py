"""The case store: every case, every version counter and an append-only audit trail.

One code path (SQLAlchemy 2 Core) serves two databases:

* an embedded **SQLite** file for one workstation (the default:
  ``$XDG_DATA_HOME/blockplan/cases.sqlite3``, i.e. ``~/.local/share/blockplan/...``),
  in WAL mode with ``synchronous=FULL`` and foreign keys on; the file and its ``-wal`` /
  ``-shm`` companions are mode 0600, a folder the store creates 0700;
* **PostgreSQL** for a clinic, by URL (``postgresql+psycopg://user@host/db``).

The location comes from the ``url`` argument, else ``$BLOCKPLAN_DB``, else the default
file; a plain path means an SQLite file. The schema is created and upgraded with Alembic
when the store opens (``blockplan/case/migrations``).

Safety
------
Each write is one transaction: the case row and its audit entry commit together or not at
all, so a crash (``kill -9``) at any moment leaves the last committed version. Edits are
compare-and-swap on a version counter (``UPDATE … WHERE case_id = ? AND version = ?``):
a session that saves over a version it did not load gets `CaseConflictError` and nothing
is overwritten. The audit trail is append-only (database triggers refuse UPDATE and DELETE).

Tables
------
``cases`` holds one narrow row per case — title, version, dates, item counts and the
patient identity — which every list and search reads; ``case_documents`` holds the case
itself (JSON, its SHA-256 and schema version), written in the same transaction;
``audit`` the append-only trail; ``store_meta`` store-wide values. Keeping the documents
out of ``cases`` (revision 0002) lets a search scan 10 000 cases without reading them.

Patient identity
----------------
The worklist searches cases by patient name, patient ID, study date and title, so the
cases table holds the identity in clear, in columns written with every version:
``patient_id``, ``patient_name`` (the DICOM person name as recorded),
``patient_name_folded`` (accents removed, case folded, ``^`` as space — what a name search
compares), ``birth_date``, ``study_instance_uid``, ``study_date``, ``title_folded`` and
``search_text`` (folded name, ID and title: what a free-text search compares).
The case document holds the same values. The identity is shown to the clinician
(worklist, ``blockplan case list``, report) and kept out of logs, error messages and the
audit trail (`scrub_summary` replaces it in audit summaries). Up to schema revision 0001
the store kept only an HMAC of the patient id (``patient_key``): a name search cannot
work on keyed hashes, and with the ID in a column the hash hid nothing, so revision 0002
drops it. Protection is the file mode (0600/0700) for SQLite and the database role for
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from blockplan._paths import user_data_dir
from blockplan.case._codec import CaseBodyError, case_from_body, describe_validation_error
from blockplan.case._text import fold_person_name, fold_text, search_words
from blockplan.case.casefile import load_case_file
from blockplan.case.model import CASE_SCHEMA_VERSION, Case, PatientInfo
from blockplan.errors import CaseConflictError, CaseError, CaseNotFoundError

__all__ = [
    "AuditEntry",
    "CaseSession",
    "CaseStore",
    "CaseSummary",
    "DateRange",
    "PatientSources",
    "SourcesList",
    "WorklistEntry",
    "default_db_path",
    "default_user",
    "parse_study_date",
    "scrub_summary",
    "search_text",
]

log = logging.getLogger(__name__)

_DB_ENV = "BLOCKPLAN_DB"
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x626C6B70  # "blkp": advisory lock serialising migrations

SCHEMA_REVISION = "0003"
"""The newest Alembic revision in ``migrations/versions`` (a test keeps them equal)."""


def default_db_path() -> Path:
    """``cases.sqlite3`` in blockplan's user data folder (platformdirs).

    On Linux ``$XDG_DATA_HOME/blockplan/cases.sqlite3`` (``~/.local/share/...`` when
    ``XDG_DATA_HOME`` is not set).
    """
    return user_data_dir() / "cases.sqlite3"


def default_user() -> str:
    """The configured clinician name, for the audit trail (never the OS login).

    Raises
    ------
    SettingsError
        When no clinician is configured (`blockplan.settings`); the message says how to
        set one.
    """
    from blockplan.settings import require_clinician

    return require_clinician()


# --- tables (kept in step with migrations/versions by a test) ------------------------------
class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A time-zone-aware date-time stored in UTC on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive date-time given to the case store")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=dt.UTC)
        return stored.astimezone(dt.UTC)


metadata = sa.MetaData()

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

cases_table = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("n_levels", sa.Integer(), nullable=False),
    sa.Column("n_scar_regions", sa.Integer(), nullable=False),
    sa.Column("n_targets", sa.Integer(), nullable=False),
    sa.Column("n_trajectories", sa.Integer(), nullable=False),
    sa.Column("n_procedures", sa.Integer(), nullable=False),
    sa.Column("n_diaries", sa.Integer(), nullable=False),
    sa.Column("last_procedure_at", UtcDateTime(), nullable=True),
    # identity, for the worklist (revision 0002); see "Patient identity" above
    sa.Column("patient_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("patient_name", sa.Text(), nullable=False, server_default=""),
    sa.Column("patient_name_folded", sa.Text(), nullable=False, server_default=""),
    sa.Column("birth_date", sa.Date(), nullable=True),
    sa.Column("study_instance_uid", sa.String(64), nullable=True),
    sa.Column("study_date", sa.Date(), nullable=True),
    sa.Column("title_folded", sa.Text(), nullable=False, server_default=""),
    sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
    sa.CheckConstraint("version >= 1", name="ck_cases_version_positive"),
    # newest first, and a search tests search_text in the index before reading a row
    sa.Index("ix_cases_updated_at_search", "updated_at", "search_text"),
    sa.Index("ix_cases_patient_id_updated_at", "patient_id", "updated_at"),
    sa.Index("ix_cases_study_instance_uid_updated_at", "study_instance_uid", "updated_at"),
    sa.Index("ix_cases_study_date", "study_date"),
    # the sources list's order (revision 0003): read in index order, stopped at the limit
    sa.Index("ix_cases_patient_order", "patient_name_folded", "patient_id", "case_id"),
)

documents_table = sa.Table(
    "case_documents",
    metadata,
    # one row per row of "cases", written in the same transaction (revision 0002 moved the
    # documents out of "cases" so that lists and searches read narrow rows only)
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("schema_version", sa.Integer(), nullable=False),
    sa.Column("document", sa.Text(), nullable=False),
    sa.Column("document_sha256", sa.String(64), nullable=False),
)

audit_table = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Index("ix_audit_case_id_id", "case_id", "id"),
)

ledgers_table = sa.Table(
    "case_ledgers",
    metadata,
    # one row per case and shipped profile, written with every version (revision 0003):
    # the ledger summary of that version under that profile
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("profile_name", sa.String(64), primary_key=True),
    sa.Column("profile_version", sa.String(32), nullable=False),
    sa.Column("case_version", sa.Integer(), nullable=False),
    sa.Column("own_profile", sa.Boolean(), nullable=False),
    sa.Column("n_listed", sa.Integer(), nullable=False),
    sa.Index("ix_case_ledgers_current", "profile_name", "profile_version", "own_profile"),
)

sources_table = sa.Table(
    "case_sources",
    metadata,
    # the listed sources (confirmed, probable, needs review, pending) of each summary
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("profile_name", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("sites", sa.Text(), nullable=False),
)

_SUMMARY_COLUMNS = (
    cases_table.c.case_id,
    cases_table.c.title,
    cases_table.c.version,
    cases_table.c.created_at,
    cases_table.c.updated_at,
    cases_table.c.n_levels,
    cases_table.c.n_scar_regions,
    cases_table.c.n_targets,
    cases_table.c.n_trajectories,
    cases_table.c.n_procedures,
    cases_table.c.n_diaries,
    cases_table.c.last_procedure_at,
)


# --- results --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CaseSummary:
    """Counts and dates of a case, without patient identifiers (`WorklistEntry` has them).

    Times are UTC. ``last_procedure_at`` is None for a case without procedures.
    """

    case_id: str
    title: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    n_levels: int
    n_scar_regions: int
    n_targets: int
    n_trajectories: int
    n_procedures: int
    n_diaries: int
    last_procedure_at: dt.datetime | None

    def to_json_dict(self) -> dict[str, Any]:
        """The summary as JSON-compatible values (ISO 8601 times)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.datetime):
                out[key] = value.isoformat()
        return out


_WORKLIST_COLUMNS = (
    *_SUMMARY_COLUMNS,
    cases_table.c.patient_name,
    cases_table.c.patient_id,
    cases_table.c.birth_date,
    cases_table.c.study_date,
    cases_table.c.study_instance_uid,
)


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    """A line of the worklist: who, which study, which case (identifying: never logged).

    ``patient_name`` is the DICOM person name as recorded (``FAMILY^GIVEN``); dates are
    as recorded in the images; times are UTC. ``repr`` shows only the case id.
    """

    case_id: str
    title: str = field(repr=False)
    patient_name: str = field(repr=False)
    patient_id: str = field(repr=False)
    birth_date: dt.date | None = field(repr=False)
    study_date: dt.date | None = field(repr=False)
    study_instance_uid: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    n_levels: int
    n_scar_regions: int
    n_targets: int
    n_trajectories: int
    n_procedures: int
    n_diaries: int
    last_procedure_at: dt.datetime | None

    def to_json_dict(self) -> dict[str, Any]:
        """The entry as JSON-compatible values (ISO 8601 dates and times)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.date | dt.datetime):
                out[key] = value.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class PatientSources:
    """One case of the clinic-wide sources list: who, and the sources under the profile.

    Identifying (patient name, ID, birth date): show them, never log them. ``sources``
    holds ``(status, sites)`` pairs in the ledger's rank order; the statuses are those of
    `blockplan.outcomes.summary.LISTED_STATUSES`.
    """

    case_id: str
    title: str = field(repr=False)
    patient_name: str = field(repr=False)
    patient_id: str = field(repr=False)
    birth_date: dt.date | None = field(repr=False)
    version: int
    profile_name: str
    profile_version: str
    sources: tuple[tuple[str, str], ...]

    def to_json_dict(self) -> dict[str, Any]:
        """The entry as JSON-compatible values."""
        out = asdict(self)
        out["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        out["sources"] = [{"status": st, "sites": sites} for st, sites in self.sources]
        return out


@dataclass(frozen=True, slots=True)
class SourcesList:
    """`CaseStore.sources`: the cases with listed sources, and how many were not summarised.

    ``profile`` None: each case under its own profile. ``not_summarised`` counts the cases
    without a summary of the current profile version (stored before revision 0003, or
    under an older profile version, or whose own profile is not a shipped one):
    `CaseStore.refresh_sources` summarises them.
    """

    profile: str | None
    entries: tuple[PatientSources, ...]
    not_summarised: int


DateRange = tuple[dt.date | None, dt.date | None]
"""Inclusive study-date range; None leaves that end open."""


def parse_study_date(text: str) -> dt.date | DateRange:
    """A study date or range as typed: ``2026-03-15``, ``2026-03-01..2026-03-31``,
    ``2026-03-01..`` (from), ``..2026-03-31`` (until); DICOM ``20260301-20260331`` too.

    Raises
    ------
    ValueError
        Naming the accepted forms.
    """
    cleaned = text.strip()
    forms = (
        "expected a date YYYY-MM-DD or a range FROM..TO (either end may be left out), "
        f"found {cleaned!r}"
    )

    def day(part: str) -> dt.date | None:
        part = part.strip()
        if not part:
            return None
        try:
            if re.fullmatch(r"\d{8}", part):
                return dt.datetime.strptime(part, "%Y%m%d").date()
            return dt.date.fromisoformat(part)
        except ValueError as err:
            raise ValueError(forms) from err

    if ".." in cleaned:
        start, _, end = cleaned.partition("..")
    elif re.fullmatch(r"\d{8}-\d{0,8}|-\d{8}", cleaned):
        start, _, end = cleaned.partition("-")
    else:
        single = day(cleaned)
        if single is None:
            raise ValueError(forms)
        return single
    first, last = day(start), day(end)
    if first is None and last is None:
        raise ValueError(forms)
    if first is not None and last is not None and first > last:
        raise ValueError(f"study date range {cleaned!r}: the start is after the end")
    return first, last


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: who did what to which version, when (UTC)."""

    id: int
    case_id: str
    version: int
    at: dt.datetime
    user: str
    action: str
    summary: str

    def to_json_dict(self) -> dict[str, Any]:
        """The entry as JSON-compatible values (ISO 8601 time)."""
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


# --- helpers --------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _clean_text(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; control characters have no place in a list column.
    return _CONTROL.sub(" ", text)[:limit]


def _check_label(kind: str, value: str, limit: int) -> str:
    cleaned = _clean_text(value, limit + 1).strip()
    if not cleaned:
        raise CaseError(f"{kind}: must not be empty (the audit trail records it)")
    if len(cleaned) > limit:
        raise CaseError(f"{kind}: at most {limit} characters, found {len(value)}")
    return cleaned


def _identifying_words(*items: Case | PatientInfo) -> list[str]:
    words: list[str] = []
    for item in items:
        p = item.patient if isinstance(item, Case) else item
        words += [p.patient_id.strip(), p.patient_name.strip()]
        words += re.split(r"[\^\s,=]+", p.patient_name)
        if p.birth_date is not None:
            b = p.birth_date
            words += [b.isoformat(), b.strftime("%Y%m%d"), b.strftime("%d.%m.%Y")]
            words += [b.strftime("%d/%m/%Y"), b.strftime("%m/%d/%Y")]
        if isinstance(item, Case) and item.study is not None:
            words.append(item.study.accession_number.strip())
    return sorted({w for w in words if len(w) >= 3}, key=len, reverse=True)


def scrub_summary(
    summary: str, case: Case, limit: int = 2000, *, also: Sequence[Case | PatientInfo] = ()
) -> str:
    """The audit summary with the patient's identifiers replaced by ``[patient]``.

    Replaced, ignoring case: the patient id, the name and each of its parts (also spelled
    without accents), the birth date (ISO, DICOM and common day/month orders) and the
    accession number of ``case`` and of the cases in ``also`` (e.g. the previous version,
    whose identity may differ). A title or summary that names the patient thus never
    reaches the audit trail in clear.
    """
    text = _clean_text(summary, limit)
    words = _identifying_words(case, *also)
    for word in words:
        text = re.sub(re.escape(word), "[patient]", text, flags=re.IGNORECASE)
    folded = {fold_text(w) for w in words}

    def fold_match(m: re.Match[str]) -> str:
        return "[patient]" if fold_text(m.group()) in folded else m.group()

    return re.sub(r"[^\W\d_]{3,}", fold_match, text)


def _document_of(case: Case) -> str:
    try:
        return case.model_dump_json()
    except (ValueError, TypeError) as err:  # pydantic_core.PydanticSerializationError
        raise CaseError(
            f"case {case.case_id}: cannot be stored as UTF-8 JSON ({type(err).__name__}); "
            "a text field holds characters that are not valid Unicode"
        ) from err


def _identity_columns(case: Case) -> dict[str, Any]:
    """The worklist columns of a case (see "Patient identity" in the module docs)."""
    p, study = case.patient, case.study
    name = _clean_text(p.patient_name, 324).strip()
    patient_id = _clean_text(p.patient_id, 64).strip()
    name_folded = fold_person_name(name)
    title_folded = fold_text(_clean_text(case.title, 500))
    return {
        "patient_id": patient_id,
        "patient_name": name,
        "patient_name_folded": name_folded,
        "birth_date": p.birth_date,
        "study_instance_uid": study.study_instance_uid if study is not None else None,
        "study_date": study.study_date if study is not None else None,
        "title_folded": title_folded,
        "search_text": search_text(name_folded, patient_id, title_folded),
    }


def search_text(name_folded: str, patient_id: str, title_folded: str) -> str:
    """What a free-text search looks in: folded name, ID and title, one per line.

    A search word never holds a line break, so it cannot match across two fields.
    """
    return "\n".join((name_folded, fold_text(patient_id), title_folded))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


Rows = list[dict[str, Any]]


def _swap_case_row(
    conn: sa.Connection, case_id: str, expected_version: int, row: dict[str, Any]
) -> None:
    """Compare-and-swap: update the case row only where it is still at ``expected_version``.

    Raises
    ------
    CaseConflictError
        When the stored version moved on; nothing was overwritten.
    CaseNotFoundError
        When the case is not in the store.
    """
    result = conn.execute(
        sa.update(cases_table)
        .where(cases_table.c.case_id == case_id, cases_table.c.version == expected_version)
        .values(**row)
    )
    if result.rowcount == 1:
        return
    current = conn.execute(
        sa.select(cases_table.c.version).where(cases_table.c.case_id == case_id)
    ).scalar_one_or_none()
    if current is None:
        raise CaseNotFoundError(
            f"case {case_id} is not in the store (deleted?); nothing was saved. Export your "
            "copy to a file or create it again."
        )
    raise CaseConflictError(
        f"case {case_id}: another session saved version {current} after this one loaded "
        f"version {expected_version}; nothing was overwritten. Reload the case and apply your "
        "change again."
    )


def _summary_rows(case: Case) -> tuple[Rows, Rows]:
    """The ``case_ledgers`` and ``case_sources`` rows of a case: its ledger summary under
    every shipped profile (`blockplan.outcomes.summary.ledger_summaries`). Built before the
    write transaction; `_write_summaries` adds the version."""
    from blockplan.errors import BlockplanError
    from blockplan.outcomes.summary import ledger_summaries

    ledgers: Rows = []
    sources: Rows = []
    try:
        summaries = ledger_summaries(case)
    except (BlockplanError, ValueError) as err:  # never block a save: left unsummarised
        log.warning("case %s: no ledger summary stored (%s)", case.case_id, type(err).__name__)
        return [], []
    for summary in summaries:
        key = {"case_id": case.case_id, "profile_name": summary.profile_name}
        ledgers.append(
            {
                **key,
                "profile_version": summary.profile_version,
                "own_profile": summary.profile_name == case.profile_name,
                "n_listed": len(summary.sources),
            }
        )
        sources += [
            {**key, "position": n, "status": line.status.value, "sites": line.label}
            for n, line in enumerate(summary.sources)
        ]
    return ledgers, sources


def _write_summaries(
    conn: Connection, summaries: Sequence[tuple[tuple[Rows, Rows], str, int]]
) -> None:
    """Replace the stored ledger summaries of cases: ``(rows, case_id, version)`` each."""
    ids = [case_id for _rows, case_id, _v in summaries]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(sa.delete(sources_table).where(sources_table.c.case_id.in_(chunk)))
        conn.execute(sa.delete(ledgers_table).where(ledgers_table.c.case_id.in_(chunk)))
    ledgers = [{**row, "case_version": v} for (rows, _s), _id, v in summaries for row in rows]
    sources = [row for (_l, rows), _id, _v in summaries for row in rows]
    if ledgers:
        conn.execute(sa.insert(ledgers_table), ledgers)
    if sources:
        conn.execute(sa.insert(sources_table), sources)


# --- the store ------------------------------------------------------------------------
class CaseStore:
    """Cases in SQLite (default) or PostgreSQL, with versions and an audit trail.

    Parameters
    ----------
    url
        A SQLAlchemy URL (``sqlite:////path/cases.sqlite3``,
        ``postgresql+psycopg://user@host:5432/db``) or a file path of an SQLite store.
        ``None``: ``$BLOCKPLAN_DB``, else `default_db_path`. ``postgresql://`` URLs use
        the psycopg 3 driver.

    Raises
    ------
    CaseError
        When the database cannot be opened or its schema is newer than this release.

    Notes
    -----
    Opening runs the Alembic migrations to the newest revision, in one transaction
    (PostgreSQL: under an advisory lock, so two clients opening a new database at once
    do not both create it). Thread-safe: every call uses its own connection.
    """

    def __init__(self, url: str | os.PathLike[str] | None = None) -> None:
        self.url, self.path = _resolve_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise CaseError(
                f"case store {self.display_url}: unsupported database "
                f"{self.dialect!r}; use an SQLite file or postgresql+psycopg://"
            )
        if self.path is not None:
            _prepare_sqlite_file(self.path)
        self._engine = _make_engine(self.url)
        try:
            self._migrate()
            if self.path is not None:
                _restrict_sqlite_files(self.path)
        except SQLAlchemyError as err:
            self._engine.dispose()
            raise CaseError(
                f"case store {self.display_url}: cannot open ({type(err).__name__}: {_short(err)})"
            ) from err
        except BaseException:
            self._engine.dispose()
            raise

    # -- life cycle ----------------------------------------------------------------
    @property
    def display_url(self) -> str:
        """The URL without password, for messages."""
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection (the store can be reopened with a new object)."""
        self._engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CaseStore({self.display_url!r})"

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as err:
            raise CaseError(f"case store {self.display_url}: {_short(err)}") from err

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # SQLite: BEGIN IMMEDIATE takes the write lock at once, so a writer never has to
        # upgrade a read lock (which fails at once under WAL instead of waiting).
        with self._engine.connect() as conn:
            conn.execution_options(blockplan_write=True)
            with conn.begin():
                yield conn

    def _is_current(self) -> bool:
        """True when the schema is at `SCHEMA_REVISION`: one read, no lock, no catalog query
        (the usual case; a missing table simply means it is not)."""
        try:
            with self._engine.connect() as conn:
                revision = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                return revision.scalar() == SCHEMA_REVISION
        except SQLAlchemyError:
            return False

    def _migrate(self) -> None:
        if self._is_current():
            return
        with self._write() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            current = _current_revision(conn)
            if current == SCHEMA_REVISION:
                return  # the usual case: no need to load Alembic at all
            _upgrade(conn, current, self.display_url)

    # -- rows ----------------------------------------------------------------------
    def _row(
        self, case: Case, version: int, now: dt.datetime
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The case's row of ``cases`` and its row of ``case_documents``."""
        if not _CASE_ID.match(case.case_id):
            raise CaseError(
                f"case_id: expected 1-64 letters, digits, '.', '_' or '-', found "
                f"{case.case_id[:80]!r}; store the case under a new id"
            )
        document = _document_of(case)
        performed = [p.performed_at for p in case.procedures]
        row = {
            "case_id": case.case_id,
            "title": _clean_text(case.title, 500),
            **_identity_columns(case),
            "version": version,
            "created_at": case.created_at,
            "updated_at": now,
            "n_levels": len(case.levels),
            "n_scar_regions": len(case.scar_regions),
            "n_targets": len(case.targets),
            "n_trajectories": len(case.trajectories),
            "n_procedures": len(case.procedures),
            "n_diaries": sum(p.diary is not None for p in case.procedures),
            "last_procedure_at": max(performed) if performed else None,
        }
        doc = {
            "case_id": case.case_id,
            "schema_version": CASE_SCHEMA_VERSION,
            "document": document,
            "document_sha256": _sha256(document),
        }
        return row, doc

    @staticmethod
    def _audit_row(
        case_id: str, version: int, now: dt.datetime, user: str, action: str, summary: str
    ) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "version": version,
            "at": now,
            "user_name": user,
            "action": action,
            "summary": summary,
        }

    # -- writing -------------------------------------------------------------------
    def create(self, case: Case, user: str, *, action: str = "create", summary: str = "") -> int:
        """Store a new case.

        Parameters
        ----------
        case
            The case; its ``case_id`` must not be in the store.
        user
            Who creates it (recorded in the audit trail).
        action, summary
            Audit trail entry; patient identifiers in ``summary`` are replaced.

        Returns
        -------
        int
            The case's version: 1, or one past the last version the audit trail knows
            for this id (a case deleted and imported again keeps counting up, so a stale
            session can never save over it).

        Raises
        ------
        CaseConflictError
            When a case with this id exists.
        """
        return self.create_many([case], user, action=action, summary=summary)[0]

    def create_many(
        self, cases: Sequence[Case], user: str, *, action: str = "create", summary: str = ""
    ) -> list[int]:
        """Store several new cases in one transaction: all of them or none.

        See `create`; returns the version of each case.
        """
        user = _check_label("user", user, 128)
        action = _check_label("action", action, 32)
        ids = [c.case_id for c in cases]
        if len(set(ids)) != len(ids):
            raise CaseConflictError("the same case id appears twice in one import")
        now = dt.datetime.now(dt.UTC)
        pairs = [self._row(c, 1, now) for c in cases]
        summaries = [_summary_rows(c) for c in cases]
        rows = [row for row, _doc in pairs]
        docs = [doc for _row, doc in pairs]
        versions: list[int] = []
        try:
            with self._write() as conn:
                last = self._last_audit_versions(conn, ids)
                existing = self._existing(conn, ids)
                if existing:
                    raise CaseConflictError(
                        f"case {existing[0]} is already in the store; nothing was imported. "
                        "Open the stored case, or import the file as a new case (new id)."
                    )
                audit_rows = []
                for case, row in zip(cases, rows, strict=True):
                    row["version"] = last.get(case.case_id, 0) + 1
                    versions.append(row["version"])
                    audit_rows.append(
                        self._audit_row(
                            case.case_id,
                            row["version"],
                            now,
                            user,
                            action,
                            scrub_summary(summary, case),
                        )
                    )
                if rows:
                    conn.execute(sa.insert(cases_table), rows)
                    conn.execute(sa.insert(documents_table), docs)
                    conn.execute(sa.insert(audit_table), audit_rows)
                    _write_summaries(conn, list(zip(summaries, ids, versions, strict=True)))
        except IntegrityError as err:
            raise CaseConflictError(
                "a case being imported was stored by another session at the same moment; "
                "nothing was imported. List the cases and try again."
            ) from err
        except SQLAlchemyError as err:
            raise CaseError(f"case store {self.display_url}: {_short(err)}") from err
        for case_id, version in zip(ids, versions, strict=True):
            log.debug("case %s: created at version %d", case_id, version)
        return versions

    @staticmethod
    def _existing(conn: Connection, ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found += conn.execute(
                sa.select(cases_table.c.case_id).where(cases_table.c.case_id.in_(chunk))
            ).scalars()
        return found

    @staticmethod
    def _last_audit_versions(conn: Connection, ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(
                sa.select(audit_table.c.case_id, sa.func.max(audit_table.c.version))
                .where(audit_table.c.case_id.in_(chunk))
                .group_by(audit_table.c.case_id)
            )
            out.update({case_id: int(v) for case_id, v in rows})
        return out

    @staticmethod
    def _stored_patient(conn: Connection, case_id: str) -> PatientInfo | None:
        """The stored version's patient (its identity may differ from the new version's)."""
        row = conn.execute(
            sa.select(
                cases_table.c.patient_id, cases_table.c.patient_name, cases_table.c.birth_date
            ).where(cases_table.c.case_id == case_id)
        ).one_or_none()
        if row is None:
            return None
        return PatientInfo.model_construct(
            patient_id=row.patient_id, patient_name=row.patient_name, birth_date=row.birth_date
        )

    def save(
        self,
        case: Case,
        expected_version: int,
        user: str,
        action: str = "edit",
        summary: str = "",
    ) -> int:
        """Save a new version of a stored case, if nobody saved since ``expected_version``.

        Compare-and-swap in one transaction: the row is updated only where its version is
        still ``expected_version``, and the audit entry is written with it.

        Parameters
        ----------
        case
            The edited case (same ``case_id``).
        expected_version
            The version this edit started from (as returned by `load` or the last `save`).
        user, action, summary
            Audit trail entry; patient identifiers in ``summary`` are replaced.

        Returns
        -------
        int
            The new version, ``expected_version + 1``.

        Raises
        ------
        CaseConflictError
            When the stored version moved on; nothing was overwritten.
        CaseNotFoundError
            When the case is not in the store (deleted?).
        """
        user = _check_label("user", user, 128)
        action = _check_label("action", action, 32)
        now = dt.datetime.now(dt.UTC)
        new_version = expected_version + 1
        row, doc = self._row(case, new_version, now)
        del row["case_id"], doc["case_id"]
        ledger_rows = _summary_rows(case)
        try:
            with self._write() as conn:
                previous = self._stored_patient(conn, case.case_id) if summary.strip() else None
                _swap_case_row(conn, case.case_id, expected_version, row)
                conn.execute(
                    sa.update(documents_table)
                    .where(documents_table.c.case_id == case.case_id)
                    .values(**doc)
                )
                _write_summaries(conn, [(ledger_rows, case.case_id, new_version)])
                conn.execute(
                    sa.insert(audit_table),
                    self._audit_row(
                        case.case_id,
                        new_version,
                        now,
                        user,
                        action,
                        scrub_summary(summary, case, also=[previous] if previous else []),
                    ),
                )
        except SQLAlchemyError as err:
            raise CaseError(f"case store {self.display_url}: {_short(err)}") from err
        log.debug("case %s: saved version %d", case.case_id, new_version)
        return new_version

    def delete(self, case_id: str, expected_version: int, user: str, summary: str = "") -> None:
        """Remove a case (e.g. created for the wrong patient); the audit trail keeps it.

        Compare-and-swap like `save`: refused when the case changed since
        ``expected_version``. The audit entry (action ``delete``) takes version
        ``expected_version + 1``. Export the case first if it may be needed again.

        Raises
        ------
        CaseConflictError
            When the stored version moved on.
        CaseNotFoundError
            When the case is not in the store.
        """
        user = _check_label("user", user, 128)
        now = dt.datetime.now(dt.UTC)
        try:
            with self._write() as conn:
                row = _current_row(conn, case_id)
                if row.version != expected_version:
                    raise CaseConflictError(
                        f"case {case_id}: another session saved version {row.version} after "
                        f"this one loaded version {expected_version}; nothing was deleted. "
                        "Reload the case and decide again."
                    )
                case = self._case_of(case_id, row.document, row.document_sha256, row.schema_version)
                conn.execute(sa.delete(cases_table).where(cases_table.c.case_id == case_id))
                conn.execute(sa.delete(documents_table).where(documents_table.c.case_id == case_id))
                conn.execute(sa.delete(sources_table).where(sources_table.c.case_id == case_id))
                conn.execute(sa.delete(ledgers_table).where(ledgers_table.c.case_id == case_id))
                conn.execute(
                    sa.insert(audit_table),
                    self._audit_row(
                        case_id,
                        expected_version + 1,
                        now,
                        user,
                        "delete",
                        scrub_summary(summary, case),
                    ),
                )
        except SQLAlchemyError as err:
            raise CaseError(f"case store {self.display_url}: {_short(err)}") from err

    def record(self, case_id: str, user: str, action: str, summary: str = "") -> None:
        """Add an audit entry about the current version without changing the case.

        Used for events such as ``export`` (who took the case out of the store).
        """
        user = _check_label("user", user, 128)
        action = _check_label("action", action, 32)
        now = dt.datetime.now(dt.UTC)
        try:
            with self._write() as conn:
                row = _current_row(conn, case_id)
                case = self._case_of(case_id, row.document, row.document_sha256, row.schema_version)
                conn.execute(
                    sa.insert(audit_table),
                    self._audit_row(
                        case_id, row.version, now, user, action, scrub_summary(summary, case)
                    ),
                )
        except SQLAlchemyError as err:
            raise CaseError(f"case store {self.display_url}: {_short(err)}") from err

    def import_file(
        self, path: str | os.PathLike[str], user: str, *, new_id: bool = False
    ) -> tuple[Case, int]:
        """Validate a case file completely, then store it in one transaction.

        Parameters
        ----------
        path
            A case file (see `blockplan.case.casefile`).
        user
            Who imports it.
        new_id
            Store it under a fresh ``case_id`` (to import a copy of a stored case).

        Returns
        -------
        (Case, int)
            The stored case and its version.

        Raises
        ------
        CaseFileError
            When the file is malformed or tampered with: nothing is stored.
        CaseConflictError
            When its case id is already stored and ``new_id`` is false.
        """
        case = load_case_file(path)
        if new_id:
            case = case.evolve(case_id=Case().case_id)
        version = self.create(case, user, action="import", summary="imported from a case file")
        return case, version

    # -- reading -------------------------------------------------------------------
    def load(self, case_id: str) -> tuple[Case, int]:
        """The stored case and its version.

        Raises
        ------
        CaseNotFoundError
            When no case has this id.
        CaseError
            When the stored document fails its checksum or validation (damaged database).
        """
        with self._read() as conn:
            row = conn.execute(_current_query(case_id)).one_or_none()
        if row is None:
            raise CaseNotFoundError(
                f"case {case_id} is not in the store {self.display_url}; "
                "`blockplan case list` shows the stored cases"
            )
        return self._case_of(case_id, row.document, row.document_sha256, row.schema_version), int(
            row.version
        )

    def _case_of(self, case_id: str, document: str, sha: str, schema_version: int) -> Case:
        if _sha256(document) != sha:
            raise CaseError(
                f"case {case_id}: the stored document does not match its checksum (the "
                "database was damaged or edited outside blockplan); restore it from a backup"
            )
        try:
            if schema_version == CASE_SCHEMA_VERSION:
                return Case.model_validate_json(document)
            return case_from_body(json.loads(document), schema_version)
        except ValidationError as err:
            raise CaseError(
                f"case {case_id}: the stored document is invalid ({describe_validation_error(err)})"
            ) from err
        except CaseBodyError as err:
            raise CaseError(f"case {case_id}: the stored document is invalid ({err})") from err

    def summary(self, case_id: str) -> CaseSummary:
        """Counts and dates of one case, without loading its document.

        Raises
        ------
        CaseNotFoundError
            When no case has this id.
        """
        with self._read() as conn:
            row = conn.execute(
                sa.select(*_SUMMARY_COLUMNS).where(cases_table.c.case_id == case_id)
            ).one_or_none()
        if row is None:
            raise CaseNotFoundError(f"case {case_id} is not in the store {self.display_url}")
        return CaseSummary(**row._asdict())

    def list_cases(
        self, patient_id: str | None = None, *, limit: int | None = None
    ) -> list[CaseSummary]:
        """Summaries of the stored cases, most recently changed first (no identity).

        Parameters
        ----------
        patient_id
            Only this patient's cases (exact PatientID, surrounding spaces ignored).
        limit
            At most this many.
        """
        query = sa.select(*_SUMMARY_COLUMNS).order_by(
            cases_table.c.updated_at.desc(), cases_table.c.case_id
        )
        if patient_id is not None:
            if not patient_id.strip():
                return []
            query = query.where(cases_table.c.patient_id == patient_id.strip())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [CaseSummary(**row._asdict()) for row in conn.execute(query)]

    def worklist(
        self,
        search: str = "",
        *,
        patient_name: str = "",
        patient_id: str = "",
        study_date: dt.date | DateRange | None = None,
        title: str = "",
        limit: int | None = 100,
    ) -> list[WorklistEntry]:
        """Find cases by patient, study date and title; most recently changed first.

        Every given criterion must hold. Text is compared folded: case and accents are
        ignored and DICOM ``^`` separators count as spaces, so ``"muller hans"``,
        ``"Müller"`` and ``"HANS MÜLLER"`` all find ``MÜLLER^HANS``; each word of a
        text must occur (as a substring, in any order).

        Parameters
        ----------
        search
            Free text: each word must occur in the patient name, the patient ID or the
            title.
        patient_name
            Each word must occur in the patient name.
        patient_id
            The exact PatientID (surrounding spaces ignored).
        study_date
            A date, or an inclusive range ``(first, last)`` with None for an open end.
        title
            Each word must occur in the case title.
        limit
            At most this many entries (None: all).

        Returns
        -------
        list of WorklistEntry
            With patient name, ID, birth date, study date and UID, version, dates and
            counts. Identifying: show them, never log them.
        """
        column = cases_table.c
        has = self._has
        conditions: list[sa.ColumnElement[bool]] = []
        for word in search_words(search):
            conditions.append(has(column.search_text, word))
        # search_text holds the name and title too: testing it first lets SQLite skip a
        # row on its index entry alone
        for word in search_words(patient_name):
            conditions += [has(column.search_text, word), has(column.patient_name_folded, word)]
        for word in search_words(title):
            conditions += [has(column.search_text, word), has(column.title_folded, word)]
        if patient_id.strip():
            conditions.append(column.patient_id == patient_id.strip())
        if isinstance(study_date, dt.date):
            conditions.append(column.study_date == study_date)
        elif study_date is not None:
            first, last = study_date
            if first is not None:
                conditions.append(column.study_date >= first)
            if last is not None:
                conditions.append(column.study_date <= last)
        return self._worklist(conditions, limit)

    def _has(self, column: sa.ColumnElement[str], word: str) -> sa.ColumnElement[bool]:
        """``word`` occurs in ``column`` (plain substring: no LIKE wildcards to escape)."""
        find = (
            sa.func.instr(column, word)
            if self.dialect == "sqlite"
            else sa.func.strpos(column, word)
        )
        return find > 0

    def cases_for_study(
        self, study_instance_uid: str, *, limit: int | None = None
    ) -> list[WorklistEntry]:
        """The cases planned on a study, most recently changed first.

        The first entry is the case to offer for reopening when the study is opened again.

        Parameters
        ----------
        study_instance_uid
            The study's StudyInstanceUID.
        limit
            At most this many (None: all).
        """
        uid = study_instance_uid.strip()
        if not uid:
            return []
        return self._worklist([cases_table.c.study_instance_uid == uid], limit)

    def sources(self, profile: str | None = None, *, limit: int | None = 100) -> SourcesList:
        """Which patients have which confirmed, probable, needs-review or pending sources.

        Read from the ledger summaries stored with every case version (no case is loaded
        or adjudicated), ordered by patient name, patient ID and case id.

        Parameters
        ----------
        profile
            A shipped profile name; None: each case under its own profile.
        limit
            At most this many cases (None: all).

        Returns
        -------
        SourcesList
            Entries with patient name, ID and birth date (identifying: show them, never log
            them), and the number of cases without a current summary.

        Raises
        ------
        CaseError
            When ``profile`` is not a shipped profile.
        """
        current = _profile_versions(profile)
        c, ledger, src = cases_table.c, ledgers_table.c, sources_table.c
        picked = (
            sa.select(c.case_id)
            .where(sa.exists().where(self._summarised(profile, current), ledger.n_listed > 0))
            .order_by(c.patient_name_folded, c.patient_id, c.case_id)
        )
        if limit is not None:
            picked = picked.limit(max(0, limit))
        which = ledger.own_profile if profile is None else ledger.profile_name == profile
        lines = (
            sa.select(
                c.case_id,
                c.title,
                c.patient_name,
                c.patient_id,
                c.birth_date,
                c.version,
                ledger.profile_name,
                ledger.profile_version,
                src.status,
                src.sites,
            )
            .select_from(
                cases_table.join(ledgers_table, sa.and_(ledger.case_id == c.case_id, which)).join(
                    sources_table,
                    sa.and_(src.case_id == c.case_id, src.profile_name == ledger.profile_name),
                )
            )
            # the chosen cases first (by primary key), then their few lines each
            .where(c.case_id.in_(picked.scalar_subquery()))
            .order_by(c.patient_name_folded, c.patient_id, c.case_id, src.position)
        )
        with self._read() as conn:
            rows = conn.execute(lines).all()
            missing = self._not_summarised(conn, profile, current)
        return SourcesList(profile=profile, entries=_patient_sources(rows), not_summarised=missing)

    @staticmethod
    def _summarised(profile: str | None, current: dict[str, str]) -> sa.ColumnElement[bool]:
        """A ledger row of the case's current version under ``profile`` (its own: None),
        of the profile's current version."""
        ledger = ledgers_table.c
        # plain comparisons, not a CASE: PostgreSQL then estimates the rows well enough to
        # read the cases in name order and stop at the limit
        current_version = sa.or_(
            *(
                sa.and_(ledger.profile_name == name, ledger.profile_version == version)
                for name, version in current.items()
            )
        )
        return sa.and_(
            ledger.case_id == cases_table.c.case_id,
            *([ledger.own_profile] if profile is None else []),
            current_version,
            ledger.case_version == cases_table.c.version,
        )

    @staticmethod
    def _not_summarised(conn: Connection, profile: str | None, current: dict[str, str]) -> int:
        """Cases without a summary of the current profile version under ``profile`` (their
        own: None). Summaries are written in the transaction of their case version, so
        counting the current ones (on an index) is enough; one round trip."""
        ledger = ledgers_table.c
        done = sa.select(sa.func.count()).where(
            sa.or_(
                *(
                    sa.and_(ledger.profile_name == name, ledger.profile_version == version)
                    for name, version in current.items()
                )
            ),
            *([ledger.own_profile] if profile is None else []),
        )
        total = sa.select(sa.func.count()).select_from(cases_table)
        query = sa.select(total.scalar_subquery() - done.scalar_subquery())
        return int(conn.execute(query).scalar_one())

    def refresh_sources(self, *, batch: int = 200) -> int:
        """Store the ledger summaries of every case whose stored ones are missing or out of
        date (another case version or profile version); returns how many were written.

        Each batch is one transaction, and writes only where the case's version is still
        the one it loaded (a case saved meanwhile keeps the summary its save wrote).
        """
        versions = _profile_versions(None)
        ledger, c = ledgers_table.c, cases_table.c
        current = (
            sa.select(sa.func.count())
            .where(
                ledger.case_id == c.case_id,
                ledger.case_version == c.version,
                ledger.profile_version == sa.case(versions, value=ledger.profile_name),
            )
            .scalar_subquery()
        )
        done, after = 0, ""
        while True:
            with self._read() as conn:
                stale = list(
                    conn.execute(
                        sa.select(c.case_id)
                        .where(c.case_id > after, current < len(versions))
                        .order_by(c.case_id)
                        .limit(batch)
                    ).scalars()
                )
            if not stale:
                return done
            after = stale[-1]
            rows = []
            for cid in stale:
                try:
                    case, version = self.load(cid)
                except CaseNotFoundError:  # deleted meanwhile
                    continue
                rows.append((_summary_rows(case), cid, version))
            with self._write() as conn:
                now = dict(
                    conn.execute(sa.select(c.case_id, c.version).where(c.case_id.in_(stale)))
                    .tuples()
                    .all()
                )
                fresh = [r for r in rows if now.get(r[1]) == r[2]]
                _write_summaries(conn, fresh)
            done += len(fresh)

    def _worklist(
        self, conditions: Sequence[sa.ColumnElement[bool]], limit: int | None
    ) -> list[WorklistEntry]:
        query = (
            sa.select(*_WORKLIST_COLUMNS)
            .where(*conditions)
            .order_by(cases_table.c.updated_at.desc(), cases_table.c.case_id)
        )
        if limit is not None:
            query = query.limit(max(0, limit))
        with self._read() as conn:
            return [WorklistEntry(**row._asdict()) for row in conn.execute(query)]

    def audit(self, case_id: str) -> list[AuditEntry]:
        """The audit trail of a case, oldest first (also after the case was deleted)."""
        query = (
            sa.select(audit_table)
            .where(audit_table.c.case_id == case_id)
            .order_by(audit_table.c.id)
        )
        with self._read() as conn:
            return [
                AuditEntry(
                    id=r.id,
                    case_id=r.case_id,
                    version=r.version,
                    at=r.at,
                    user=r.user_name,
                    action=r.action,
                    summary=r.summary,
                )
                for r in conn.execute(query)
            ]


# --- the editing session --------------------------------------------------------------
class CaseSession:
    """The case being edited, saved on every change (what the napari plugin holds).

    Parameters
    ----------
    store
        Where the case lives.
    case_id
        The case to open (loaded at once).
    user
        Who edits (recorded with every save).

    Notes
    -----
    Each `apply` is one committed version: closing napari or a crash loses nothing that
    `apply` returned from. When another session saved in between, `apply` raises
    `CaseConflictError` and keeps this session's case and version unchanged; call
    `reload` and apply the change again. Thread-safe.
    """

    def __init__(self, store: CaseStore, case_id: str, user: str) -> None:
        self.store = store
        self.user = _check_label("user", user, 128)
        self._lock = threading.RLock()
        self._case, self._version = store.load(case_id)

    @classmethod
    def create(cls, store: CaseStore, case: Case, user: str) -> CaseSession:
        """Store a new case and open a session on it."""
        store.create(case, user)
        return cls(store, case.case_id, user)

    @property
    def case(self) -> Case:
        """The case as last saved by this session (or loaded)."""
        return self._case

    @property
    def version(self) -> int:
        """Its stored version."""
        return self._version

    @property
    def case_id(self) -> str:
        """The case id."""
        return self._case.case_id

    def apply(self, new_case: Case, action: str = "edit", summary: str = "") -> int:
        """Save ``new_case`` as the next version at once; returns the new version.

        An unchanged case is not saved again (the version stays).

        Raises
        ------
        CaseConflictError
            Another session saved first: nothing was overwritten; `reload`, then redo.
        CaseError
            When ``new_case`` is another case (different ``case_id``).
        """
        with self._lock:
            if new_case.case_id != self._case.case_id:
                raise CaseError(
                    f"session of case {self._case.case_id} was given case {new_case.case_id}"
                )
            if new_case.model_dump_json() == self._case.model_dump_json():
                return self._version
            version = self.store.save(new_case, self._version, self.user, action, summary)
            self._case, self._version = new_case, version
            return version

    def reload(self) -> Case:
        """Load the newest stored version (after a conflict); returns it."""
        with self._lock:
            self._case, self._version = self.store.load(self._case.case_id)
            return self._case


# --- opening --------------------------------------------------------------------------
def _patient_sources(rows: Sequence[Any]) -> tuple[PatientSources, ...]:
    """The sources list's entries from its rows (one per source line, grouped by case)."""
    entries: list[PatientSources] = []
    lines: list[tuple[str, str]] = []
    for n, r in enumerate(rows):
        lines.append((r.status, r.sites))
        if n + 1 < len(rows) and rows[n + 1].case_id == r.case_id:
            continue
        entries.append(
            PatientSources(
                case_id=r.case_id,
                title=r.title,
                patient_name=r.patient_name,
                patient_id=r.patient_id,
                birth_date=r.birth_date,
                version=r.version,
                profile_name=r.profile_name,
                profile_version=r.profile_version,
                sources=tuple(lines),
            )
        )
        lines = []
    return tuple(entries)


def _profile_versions(profile: str | None) -> dict[str, str]:
    """Current versions of the shipped profiles (all, or ``profile``'s); CaseError when
    ``profile`` is not shipped."""
    from blockplan.outcomes.summary import shipped_profile_versions

    versions = shipped_profile_versions()
    if profile is None:
        return versions
    if profile not in versions:
        raise CaseError(
            f"profile {profile!r}: the store keeps summaries under the shipped profiles "
            f"only ({', '.join(sorted(versions))}); pick one of them"
        )
    return {profile: versions[profile]}


def _current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _upgrade(conn: Connection, current: str | None, where: str) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    if current is not None:
        try:
            ScriptDirectory.from_config(config).get_revision(current)
        except CommandError as err:
            raise CaseError(
                f"case store {where}: its schema (revision {current}) is newer than this "
                "blockplan knows; upgrade blockplan to open it"
            ) from err
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    log.info("case store %s: schema upgraded %s -> %s", where, current, SCHEMA_REVISION)


def _current_query(case_id: str) -> sa.Select[Any]:
    """The stored version and document (with its checksum and schema) of a case."""
    return (
        sa.select(
            cases_table.c.version,
            documents_table.c.document,
            documents_table.c.document_sha256,
            documents_table.c.schema_version,
        )
        .join(documents_table, documents_table.c.case_id == cases_table.c.case_id)
        .where(cases_table.c.case_id == case_id)
    )


def _current_row(conn: sa.Connection, case_id: str) -> Any:
    """The stored version and document of a case (CaseNotFoundError when absent)."""
    row = conn.execute(_current_query(case_id)).one_or_none()
    if row is None:
        raise CaseNotFoundError(f"case {case_id} is not in the store")
    return row


def _short(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).splitlines()[0]
    return text[:300]


def _resolve_url(url: str | os.PathLike[str] | None) -> tuple[URL, Path | None]:
    raw = os.fspath(url) if url is not None else os.environ.get(_DB_ENV) or ""
    if not raw:
        path = default_db_path()
        return URL.create("sqlite+pysqlite", database=str(path)), path
    if "://" not in raw:
        path = Path(raw).expanduser().absolute()
        return URL.create("sqlite+pysqlite", database=str(path)), path
    try:
        parsed = make_url(raw)
    except (sa.exc.ArgumentError, ValueError) as err:
        raise CaseError(f"case store URL is not valid: {err}") from err
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:") or str(parsed.database).startswith("file:"):
            raise CaseError("case store: an SQLite store must be a file path, not in memory")
        path = Path(str(parsed.database)).expanduser().absolute()
        return parsed.set(drivername="sqlite+pysqlite", database=str(path)), path
    return parsed, None


def _prepare_sqlite_file(path: Path) -> None:
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)
        elif folder == default_db_path().parent and folder.stat().st_uid == os.geteuid():
            folder.chmod(0o700)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
    except FileExistsError:
        pass  # another process created it at the same moment
    except OSError as err:
        raise CaseError(f"case store {path}: cannot create ({err.strerror or err})") from err


def _restrict_sqlite_files(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = name.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == os.geteuid() and st.st_mode & 0o077:
            name.chmod(0o600)


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        # no hstore columns: skip the type look-up it costs every new engine's first connect
        return sa.create_engine(url, pool_pre_ping=True, use_native_hstore=False)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("blockplan_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
