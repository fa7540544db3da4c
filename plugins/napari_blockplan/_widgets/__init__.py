"""Dock widgets of the blockplan plugin (adapters only: no clinical rule or geometry here)."""
