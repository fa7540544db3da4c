"""Alembic migrations of the case store, run by `blockplan.case.store.CaseStore` at open.

There is no ``alembic.ini``: the store builds the Alembic ``Config`` in code and hands
its open connection to ``env.py``. To add a revision, copy the newest file in
``versions/``, give it a new ``revision`` and set ``down_revision`` to the previous one;
keep the table definitions in ``blockplan/case/store.py`` in step (a test compares them).
"""
