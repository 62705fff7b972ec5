"""The incidents service's tables and where their migrations live."""

from __future__ import annotations

from pathlib import Path

from hub_shared.migrations import Schema
from incidents.inspections.tables import TABLES as INSPECTION_TABLES
from incidents.models import TABLES
from incidents.training.import_tables import TABLES as IMPORT_TABLES
from incidents.training.tables import TABLES as TRAINING_TABLES

SCHEMA = Schema(
    service="incidents",
    own_tables=[*TABLES, *INSPECTION_TABLES, *TRAINING_TABLES, *IMPORT_TABLES],
    migrations=Path(__file__).with_name("migrations"),
)
