"""Renderers: what commands show of a built model (tables, JSON; plots later)."""
