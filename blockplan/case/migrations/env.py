"""Alembic environment of the case store: runs on the connection the store passes in.

Importing this module outside a migration (e.g. a test importing every module) does
nothing.
"""

from __future__ import annotations

from typing import Any

from alembic import context


def _run(config: Any) -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "blockplan case store migrations run from blockplan.case.store.CaseStore, "
            "which passes its connection; they are not meant for the alembic command line"
        )
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


_config = getattr(context, "config", None)  # set only while Alembic runs this file
if _config is not None:
    _run(_config)
