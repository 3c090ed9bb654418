"""Imports every table module so that Alembic and tests see the whole schema."""

from __future__ import annotations

import importlib

from hotline.store import calls  # noqa: F401

# Table modules added by other parts register here; a module not yet written is skipped.
for _name in ("hotline.store.roster", "hotline.store.alerts", "hotline.store.paging", "hotline.store.tickets",
              "hotline.store.leases", "hotline.store.access", "hotline.store.quality_reports",
              "hotline.store.recordings", "hotline.store.complaints", "hotline.store.call_rollup",
              "hotline.store.surveys"):
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _e:
        if _e.name != _name:
            raise
