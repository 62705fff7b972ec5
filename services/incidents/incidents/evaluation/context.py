"""The three goals as a page section's context (goals_section.html)."""

from __future__ import annotations

from typing import Any

from hub_shared.storage.db import SessionFactory
from incidents.evaluation import workbook
from incidents.evaluation.data import goals_of
from incidents.evaluation.goals import DEFINITIONS


async def goals_context(
    *, sessions: SessionFactory, division_code: str, year: int
) -> dict[str, Any]:
    goals = await goals_of(sessions=sessions, division_code=division_code, year=year)
    return {
        "goals_year": year,
        "goals_division": division_code,
        "goal_headers": workbook.GOAL_HEADERS,
        "goal_rows": [workbook.goal_cells(row) for row in goals.as_dict()["rows"]],
        "goal_definitions": DEFINITIONS,
    }
