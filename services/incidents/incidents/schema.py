"""The incidents service's tables and where their migrations live."""

from __future__ import annotations

from pathlib import Path

from hub_shared.db import table_of
from hub_shared.migrations import Schema
from hub_shared.web_sessions import WebSession
from incidents.models import TABLES

SCHEMA = Schema(
    service="incidents",
    own_tables=[*TABLES, table_of(WebSession)],
    migrations=Path(__file__).with_name("migrations"),
)
