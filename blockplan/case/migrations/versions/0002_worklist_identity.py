"""Worklist: identity in columns of a narrow cases table; documents beside it; no patient_key.

* Moves ``document``, ``document_sha256`` and ``schema_version`` into a new table
  ``case_documents`` (one row per case), so lists and searches scan narrow rows.
* Adds ``patient_id``, ``patient_name``, ``patient_name_folded``, ``birth_date``,
  ``study_instance_uid``, ``study_date``, ``title_folded`` and ``search_text`` to
  ``cases`` (filled from each stored document) and indexes them for the worklist;
  ``ix_cases_updated_at`` becomes ``ix_cases_updated_at_search`` (updated_at,
  search_text), so a search tests most rows on the index alone.
* Drops the HMAC ``patient_key`` with its index and secret: a name search cannot use
  keyed hashes, and with the ID in a column the hash hid nothing (see
  ``blockplan.case.store``, "Patient identity").

No foreign key joins the two tables: SQLite recreates ``cases`` to drop columns, which
with a cascading key would empty ``case_documents``; the store writes both in one
transaction.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

import sqlalchemy as sa
from alembic import op

from blockplan.case._text import fold_person_name, fold_text

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _cases_0001() -> sa.Table:
    """The cases table as revision 0001 made it (SQLite recreates the table from this)."""
    return sa.Table(
        "cases",
        sa.MetaData(),
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("patient_key", sa.String(64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_levels", sa.Integer(), nullable=False),
        sa.Column("n_scar_regions", sa.Integer(), nullable=False),
        sa.Column("n_targets", sa.Integer(), nullable=False),
        sa.Column("n_trajectories", sa.Integer(), nullable=False),
        sa.Column("n_procedures", sa.Integer(), nullable=False),
        sa.Column("n_diaries", sa.Integer(), nullable=False),
        sa.Column("last_procedure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_cases_version_positive"),
        sa.Index("ix_cases_patient_key_updated_at", "patient_key", "updated_at"),
        sa.Index("ix_cases_updated_at", "updated_at"),
    )


def _text(value: Any, limit: int) -> str:
    return _CONTROL.sub(" ", value)[:limit].strip() if isinstance(value, str) else ""


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def identity_of(document: str, title: str) -> dict[str, Any]:
    """The identity columns of one stored case document (any schema version).

    Read from the JSON directly, not through the model, so that this migration keeps
    working when the model changes; a value of an unexpected shape is left empty.
    """
    try:
        body = json.loads(document)
    except ValueError:
        body = {}
    patient = body.get("patient") if isinstance(body, dict) else None
    patient = patient if isinstance(patient, dict) else {}
    study = body.get("study") if isinstance(body, dict) else None
    study = study if isinstance(study, dict) else {}
    uid = study.get("study_instance_uid")
    name = _text(patient.get("patient_name"), 324)
    patient_id = _text(patient.get("patient_id"), 64)
    name_folded, title_folded = fold_person_name(name), fold_text(title)
    return {
        "patient_id": patient_id,
        "patient_name": name,
        "patient_name_folded": name_folded,
        "birth_date": _date(patient.get("birth_date")),
        "study_instance_uid": uid if isinstance(uid, str) and 0 < len(uid) <= 64 else None,
        "study_date": _date(study.get("study_date")),
        "title_folded": title_folded,
        # as blockplan.case.store.search_text (kept here so the migration stays fixed)
        "search_text": "\n".join((name_folded, fold_text(patient_id), title_folded)),
    }


_IDENTITY = (
    "patient_id",
    "patient_name",
    "patient_name_folded",
    "birth_date",
    "study_instance_uid",
    "study_date",
    "title_folded",
    "search_text",
)


def _documents_table() -> sa.Table:
    return sa.Table(
        "case_documents",
        sa.MetaData(),
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
    )


def upgrade() -> None:
    """Move the documents out, add and fill the identity columns, drop patient_key."""
    documents = _documents_table()
    documents.create(op.get_bind())
    op.execute(
        "INSERT INTO case_documents (case_id, schema_version, document, document_sha256) "
        "SELECT case_id, schema_version, document, document_sha256 FROM cases"
    )
    with op.batch_alter_table("cases", copy_from=_cases_0001()) as batch:
        batch.drop_index("ix_cases_patient_key_updated_at")
        batch.drop_index("ix_cases_updated_at")
        for name in ("patient_key", "schema_version", "document", "document_sha256"):
            batch.drop_column(name)
        batch.add_column(sa.Column("patient_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("patient_name", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("patient_name_folded", sa.Text(), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("study_instance_uid", sa.String(64), nullable=True))
        batch.add_column(sa.Column("study_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("title_folded", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))

    conn = op.get_bind()
    cases = sa.table(
        "cases",
        sa.column("case_id", sa.String()),
        sa.column("title", sa.Text()),
        *(sa.column(name) for name in _IDENTITY),
    )
    update = (
        sa.update(cases)
        .where(cases.c.case_id == sa.bindparam("key"))
        .values({name: sa.bindparam(name) for name in _IDENTITY})
    )
    ids = list(conn.execute(sa.select(cases.c.case_id)).scalars())
    for start in range(0, len(ids), 500):  # documents are read a batch at a time
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(cases.c.case_id, cases.c.title, documents.c.document)
            .join(documents, documents.c.case_id == cases.c.case_id)
            .where(cases.c.case_id.in_(chunk))
        )
        params = [{"key": r.case_id, **identity_of(r.document, r.title)} for r in rows]
        if params:
            conn.execute(update, params)

    op.create_index("ix_cases_updated_at_search", "cases", ["updated_at", "search_text"])
    op.create_index("ix_cases_patient_id_updated_at", "cases", ["patient_id", "updated_at"])
    op.create_index(
        "ix_cases_study_instance_uid_updated_at", "cases", ["study_instance_uid", "updated_at"]
    )
    op.create_index("ix_cases_study_date", "cases", ["study_date"])
    op.execute("DELETE FROM store_meta WHERE key = 'patient_key_secret'")


def downgrade() -> None:
    """Back to 0001: documents into cases again, a new patient_key secret, keys recomputed."""
    secret = secrets.token_hex(32)
    meta = sa.table("store_meta", sa.column("key", sa.String()), sa.column("value", sa.Text()))
    op.bulk_insert(meta, [{"key": "patient_key_secret", "value": secret}])
    _restore_0001_columns()
    _move_documents_back(bytes.fromhex(secret))
    op.drop_table("case_documents")
    with op.batch_alter_table("cases") as batch:
        for name in reversed(_IDENTITY):
            batch.drop_column(name)
        batch.create_index("ix_cases_patient_key_updated_at", ["patient_key", "updated_at"])


def _restore_0001_columns() -> None:
    """The 0001 indexes and the document and patient-key columns of ``cases``."""
    op.drop_index("ix_cases_study_date", "cases")
    op.drop_index("ix_cases_study_instance_uid_updated_at", "cases")
    op.drop_index("ix_cases_patient_id_updated_at", "cases")
    op.drop_index("ix_cases_updated_at_search", "cases")
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("patient_key", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("schema_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("document", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("document_sha256", sa.String(64), nullable=False, server_default="")
        )


def _move_documents_back(key: bytes) -> None:
    """Copy each case document into its ``cases`` row with its keyed patient hash."""
    conn = op.get_bind()
    documents = _documents_table()
    cases = sa.table(
        "cases",
        sa.column("case_id", sa.String()),
        sa.column("patient_id", sa.String()),
        sa.column("patient_key", sa.String()),
        sa.column("schema_version", sa.Integer()),
        sa.column("document", sa.Text()),
        sa.column("document_sha256", sa.String()),
    )
    rows = list(
        conn.execute(
            sa.select(
                cases.c.case_id,
                cases.c.patient_id,
                documents.c.schema_version,
                documents.c.document,
                documents.c.document_sha256,
            ).join(documents, documents.c.case_id == cases.c.case_id)
        )
    )
    for row in rows:
        patient_key = (
            hmac.new(key, row.patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
            if row.patient_id
            else None
        )
        conn.execute(
            sa.update(cases)
            .where(cases.c.case_id == row.case_id)
            .values(
                patient_key=patient_key,
                schema_version=row.schema_version,
                document=row.document,
                document_sha256=row.document_sha256,
            )
        )
