"""Revisions of the case store schema, oldest first (``0001_initial`` …)."""
