"""The notifier service's tables and where their migrations live."""

from __future__ import annotations

from pathlib import Path

from hub_shared.migrations import Schema
from notifier.models import TABLES

SCHEMA = Schema(
    service="notifier",
    own_tables=TABLES,
    migrations=Path(__file__).with_name("migrations"),
)
