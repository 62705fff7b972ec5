"""The enrollment service's tables and where their migrations live."""

from __future__ import annotations

from pathlib import Path

from enrollment.models import IMPORT_TABLES, TABLES
from hub_shared.db import table_of
from hub_shared.migrations import Schema

SCHEMA = Schema(
    service="enrollment",
    own_tables=[table_of(m) for m in [*TABLES, *IMPORT_TABLES]],
    migrations=Path(__file__).with_name("migrations"),
)
