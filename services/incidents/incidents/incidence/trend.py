"""The incidence over the years against the 2020 baseline: direction and increases.

- the baseline is the incidence of 2020 (the plan's reference year);
- direction: "falling" below the baseline (the plan's goal), "rising" above it, "flat"
  equal to it, null when either is unknown;
- a year is flagged `increased` when its incidence is above the previous year's; null
  when either is unknown; the same rules hold for pneumoconiosis on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from hub_shared.domain import divisions
from incidents.incidence.figures import NOTES, IncidenceRow, IncidenceTable
from incidents.reports.trends import BASELINE_YEAR

Direction = Literal["falling", "rising", "flat"]
MEASURES: Final = ("incidence_per_100k", "pneumoconiosis_per_100k")


def direction(rate: float | None, baseline: float | None) -> Direction | None:
    """Where a rate stands against the baseline."""
    if rate is None or baseline is None:
        return None
    if rate < baseline:
        return "falling"
    return "rising" if rate > baseline else "flat"


def increased(rate: float | None, previous: float | None) -> bool | None:
    """Above the previous year's rate; None when either is unknown."""
    if rate is None or previous is None:
        return None
    return rate > previous


def _judged(
    row: IncidenceRow | None, base: IncidenceRow | None, prev: IncidenceRow | None
) -> dict[str, Any]:
    figures = row.as_dict() if row else {}
    judged: dict[str, Any] = {}
    for measure in MEASURES:
        prefix = measure.removesuffix("_per_100k")
        rate = figures.get(measure)
        baseline = base.as_dict()[measure] if base else None
        previous = prev.as_dict()[measure] if prev else None
        judged[f"{prefix}_baseline_per_100k"] = baseline
        judged[f"{prefix}_direction"] = direction(rate, baseline)
        judged[f"{prefix}_increased"] = increased(rate, previous)
    return judged


def _row_at(table: IncidenceTable | None, index: int | None) -> IncidenceRow | None:
    if table is None:
        return None
    return table.total if index is None else table.rows[index]


@dataclass(frozen=True)
class IncidenceTrend:
    division_code: str
    years: tuple[int, ...]
    tables: Mapping[int, IncidenceTable]  # the shown years, the baseline and the year before
    counties: Mapping[str, Mapping[int, IncidenceTable]]  # baseline and last year

    def _point(self, year: int, index: int | None) -> dict[str, Any]:
        row = _row_at(self.tables.get(year), index)
        assert row is not None
        base = _row_at(self.tables.get(BASELINE_YEAR), index)
        prev = _row_at(self.tables.get(year - 1), index)
        return {"year": year} | row.as_dict() | _judged(row, base, prev)

    def _series(self, index: int | None) -> dict[str, Any]:
        first = _row_at(self.tables[self.years[0]], index)
        assert first is not None
        return {
            "industry": first.industry,
            "industry_zh": first.industry_zh,
            "years": [self._point(year, index) for year in self.years],
        }

    def as_dict(self) -> dict[str, Any]:
        shown = self.tables[self.years[0]]
        last = self.years[-1]
        counties = []
        for code, by_year in self.counties.items():
            row = by_year[last].total
            base = by_year[BASELINE_YEAR].total if BASELINE_YEAR in by_year else None
            prev = by_year[last - 1].total if last - 1 in by_year else None
            counties.append(
                {"division_code": code, "division_name": divisions.name_of(code), "year": last}
                | row.as_dict()
                | _judged(row, base, prev)
            )
        return {
            "division_code": self.division_code,
            "baseline_year": BASELINE_YEAR,
            "per": 100_000,
            "industries": [self._series(index) for index in range(len(shown.rows))],
            "total": self._series(None),
            "counties": counties,
            "notes": list(NOTES),
        }


def years_needed(years: Sequence[int], last_allowed: int) -> list[int]:
    """The shown years, the baseline and the year before each shown year (for `increased`)."""
    wanted = {*years, *(year - 1 for year in years)}
    if last_allowed >= BASELINE_YEAR:
        wanted.add(BASELINE_YEAR)
    return sorted(year for year in wanted if year <= last_allowed)
