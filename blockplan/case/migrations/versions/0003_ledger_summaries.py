"""Ledger summaries: each case's supported and open sources under every shipped profile.

* ``case_ledgers``: one row per case and shipped profile — the profile version, the case
  version it summarises, whether it is the case's own profile, and how many sources it
  lists;
* ``case_sources``: the listed sources (confirmed, probable, needs review, pending) of each
  summary, in the ledger's rank order: status and sites in words;
* ``ix_cases_patient_order`` on ``cases`` (folded name, patient ID, case id): the list's
  order, read from the index and stopped at the limit.

Both are written with every case version in the save's transaction
(``blockplan.case.store``). The tables start empty: stored cases are summarised by
``CaseStore.refresh_sources`` (``blockplan case sources --refresh``), which adjudicates
every case — too slow to run inside the upgrade that opens the store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the two summary tables and the index the sources list reads."""
    op.create_table(
        "case_ledgers",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("profile_name", sa.String(64), primary_key=True),
        sa.Column("profile_version", sa.String(32), nullable=False),
        sa.Column("case_version", sa.Integer(), nullable=False),
        sa.Column("own_profile", sa.Boolean(), nullable=False),
        sa.Column("n_listed", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_case_ledgers_current",
        "case_ledgers",
        ["profile_name", "profile_version", "own_profile"],
    )
    op.create_table(
        "case_sources",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("profile_name", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sites", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_cases_patient_order", "cases", ["patient_name_folded", "patient_id", "case_id"]
    )


def downgrade() -> None:
    """Drop the summary tables (the cases keep everything they summarise)."""
    op.drop_index("ix_cases_patient_order", table_name="cases")
    op.drop_table("case_sources")
    op.drop_index("ix_case_ledgers_current", table_name="case_ledgers")
    op.drop_table("case_ledgers")
