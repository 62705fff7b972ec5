"""The key-industry table on generated data, against expectations computed here from
docs/domain.md's definitions ("Rates") (stock at year end, flow within the year, overlapping rows, a
total that counts each enterprise once, a city that sums its counties), and its CSV and
XLSX renderings."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from openpyxl import load_workbook

from hub_shared.domain.divisions import CITY, county_codes
from hub_shared.domain.identifiers import USCC_ALPHABET, uscc_check_char
from incidents.reports import exports
from incidents.reports.key_industries import (
    AccidentFact,
    EnrollmentFact,
    EnterpriseState,
    enterprises_as_of,
    key_industry_report,
    stock_date,
)

BEIJING = timezone(timedelta(hours=8))
YEAR = 2021

# The key-industry table of docs/domain.md ("Key industries"), written out here rather than
# taken from the code under test: (2-digit divisions, 4-digit classes).
KEY_TABLE: dict[str, tuple[set[str], set[str]]] = {
    "hazardous_chemicals": ({"25", "26"}, {"5435", "5941", "5942", "5949"}),
    "coal_mining": ({"06"}, set()),
    "mining": ({f"{n:02d}" for n in range(6, 13)}, set()),
    "metallurgy": ({"31", "32"}, set()),
    "building_materials": ({"30"}, set()),
    "construction": ({"47", "48", "49", "50"}, set()),
    "transport": ({f"{n:02d}" for n in range(53, 61)}, set()),
    "machinery": ({f"{n:02d}" for n in range(33, 39)}, set()),
    "pharmaceutical": ({"27"}, set()),
}
CODES = (
    "B06", "06", "0610", "B07", "08", "1200", "C25", "2614", "C26", "C27", "C30", "3110",
    "C32", "C33", "3899", "E47", "4811", "49", "E50", "G53", "5435", "5942", "5941", "G58",
    "60", "C13", "F51", "I65", "K70", "A01",
)  # fmt: skip
COUNTS = (
    "enterprises", "insured_enterprises", "employees", "insured_employees", "accidents",
    "deaths",
)  # fmt: skip


def memberships(code: str) -> list[str]:
    digits = code.lstrip("ABCDEFGHIJKLMNOPQRST")
    class_code = digits if len(digits) == 4 else None
    return [
        key
        for key, (divs, classes) in KEY_TABLE.items()
        if digits[:2] in divs or (class_code is not None and class_code in classes)
    ]


def rate(numerator: int, denominator: int, scale: int = 1) -> float | None:
    return None if denominator == 0 else round(numerator / denominator * scale, 4)


def uscc(rng: random.Random) -> str:
    body = "91370811" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def moment(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING).astimezone(UTC)


def random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


@dataclass
class Data:
    versions: list[EnterpriseState]
    enrollments: list[EnrollmentFact]
    accidents: list[AccidentFact]


def generate(seed: int, divisions: tuple[str, ...]) -> Data:
    """Enterprises with versions on both sides of the year end, enrollments that start, end
    and are terminated around it, project enrollments, enrollments of unknown employers,
    and accidents just inside and just outside the year."""
    rng = random.Random(seed)
    edge = date(YEAR, 12, 31)
    versions: list[EnterpriseState] = []
    enrollments: list[EnrollmentFact] = []
    ids = [uscc(rng) for _ in range(120)]
    for number, code in enumerate(ids):
        for v in range(rng.randint(1, 3)):
            versions.append(
                EnterpriseState(
                    uscc=code,
                    division_code=rng.choice(divisions),
                    industry_code=rng.choice(CODES),
                    employees=rng.randint(0, 500),
                    effective_at=moment(
                        random_day(rng, edge - timedelta(300), edge + timedelta(200))
                    ),
                    version=f"e{number}-{v}",
                )
            )
    for code in ids + [uscc(rng) for _ in range(10)]:  # the last ten are no enterprise
        for _ in range(rng.choice((0, 1, 1, 2))):
            start = random_day(rng, edge - timedelta(700), edge + timedelta(5))
            enrollments.append(
                EnrollmentFact(
                    employer_uscc=code,
                    kind=rng.choice(("employer", "employer", "project")),
                    insured_headcount=rng.randint(0, 400),
                    valid_from=start,
                    valid_to=rng.choice((None, random_day(rng, start, edge + timedelta(30)))),
                    terminated_on=rng.choice(
                        (None, None, random_day(rng, start, max(start, edge + timedelta(3))))
                    ),
                )
            )
    accidents = [
        AccidentFact(
            report_id=f"A{n}",
            division_code=rng.choice(divisions),
            industry_code=rng.choice(CODES),
            occurred_on=random_day(rng, date(YEAR - 1, 12, 25), date(YEAR + 1, 1, 6)),
            deaths=rng.choice((0, 0, 0, 1, 2, 5)),
        )
        for n in range(300)
    ]
    return Data(versions, enrollments, accidents)


def expected_report(data: Data, division: str) -> dict[str, Any]:
    """docs/domain.md's definitions ("Rates"), applied directly."""
    stock = date(YEAR, 12, 31)
    end = datetime(YEAR + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC) - timedelta(microseconds=1)
    in_scope = (lambda d: True) if division == CITY else (lambda d: d == division)
    states = []
    for code in {v.uscc for v in data.versions}:
        mine = sorted((v for v in data.versions if v.uscc == code), key=lambda v: v.effective_at)
        known = [v for v in mine if v.effective_at <= end]
        states.append(known[-1] if known else mine[0])
    active = [
        e
        for e in data.enrollments
        if e.kind == "employer"
        and e.valid_from <= stock
        and (e.valid_to is None or stock <= e.valid_to)
        and (e.terminated_on is None or stock <= e.terminated_on)
    ]
    accidents = [a for a in data.accidents if a.occurred_on.year == YEAR]

    def figures(enterprise_ok: Any, accident_ok: Any) -> dict[str, Any]:
        ents = [s for s in states if in_scope(s.division_code) and enterprise_ok(s)]
        insured = [s for s in ents if any(e.employer_uscc == s.uscc for e in active)]
        heads = sum(
            e.insured_headcount for s in insured for e in active if e.employer_uscc == s.uscc
        )
        accs = [a for a in accidents if in_scope(a.division_code) and accident_ok(a)]
        employees, deaths = sum(s.employees for s in ents), sum(a.deaths for a in accs)
        return {
            "enterprises": len(ents),
            "insured_enterprises": len(insured),
            "employees": employees,
            "insured_employees": heads,
            "coverage_rate": rate(heads, employees),
            "enterprise_coverage_rate": rate(len(insured), len(ents)),
            "accidents": len(accs),
            "accident_rate_per_1000": rate(len(accs), heads, 1000),
            "deaths": deaths,
            "deaths_per_1000_employees": rate(deaths, employees, 1000),
        }

    rows = [
        figures(
            lambda s, k=key: k in memberships(s.industry_code),
            lambda a, k=key: k in memberships(a.industry_code),
        )
        for key in KEY_TABLE
    ]
    total = figures(lambda s: memberships(s.industry_code), lambda a: memberships(a.industry_code))
    return {"rows": rows, "total": total}


def report_for(data: Data, division: str, as_of: date = date(YEAR, 12, 31)) -> dict[str, Any]:
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59, 999999, tzinfo=BEIJING)
    report = key_industry_report(
        division_code=division,
        year=YEAR,
        as_of=as_of,
        enterprises=enterprises_as_of(data.versions, end.astimezone(UTC)),
        enrollments=data.enrollments,
        accidents=data.accidents,
    )
    return report.as_dict()


FIGURES = ("industry", "industry_zh", "lists")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("division", [CITY, "370811", "370883"])
def test_generated_data_gives_the_independently_computed_table(seed: int, division: str) -> None:
    data = generate(seed, (CITY, "370811", "370812", "370883"))
    got = report_for(data, division)
    want = expected_report(data, division)
    assert [{k: v for k, v in row.items() if k not in FIGURES} for row in got["rows"]] == want[
        "rows"
    ]
    assert {k: v for k, v in got["total"].items() if k not in FIGURES} == want["total"]
    assert got["total"]["enterprises"] > 0  # the generated data reached the table
    assert got["total"]["accidents"] > 0


def test_rows_are_the_nine_key_industries_in_domain_order_with_every_field() -> None:
    got = report_for(generate(5, ("370811",)), "370811")
    assert [row["industry"] for row in got["rows"]] == list(KEY_TABLE)
    assert (got["rows"][1]["industry_zh"], got["rows"][1]["lists"]) == ("煤矿", ["jining"])
    assert got["rows"][0]["lists"] == ["jining", "shandong"]
    fields = {
        "industry", "industry_zh", "lists", "enterprises", "insured_enterprises", "employees",
        "insured_employees", "coverage_rate", "accidents", "accident_rate_per_1000", "deaths",
        "deaths_per_1000_employees", "enterprise_coverage_rate",
    }  # fmt: skip
    assert all(set(row) == fields for row in got["rows"])
    assert set(got["total"]) == fields
    assert (got["division_code"], got["year"], got["stock_date"]) == ("370811", YEAR, "2021-12-31")


def _enterprise(
    code: str, industry: str, employees: int, division: str = "370811"
) -> EnterpriseState:
    return EnterpriseState(code, division, industry, employees, moment(date(YEAR, 1, 5)))


def _employer(code: str, headcount: int, start: date, **ends: date) -> EnrollmentFact:
    return EnrollmentFact(
        code, "employer", headcount, start, ends.get("valid_to"), ends.get("terminated_on")
    )


def _row(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(row for row in report["rows"] if row["industry"] == key)


def test_stock_is_taken_on_31_december_and_project_enrollments_do_not_count() -> None:
    rng = random.Random(11)
    a, b, c, d, e, f = (uscc(rng) for _ in range(6))
    data = Data(
        versions=[_enterprise(x, "E47", 100) for x in (a, b, c, d, e, f)],
        enrollments=[
            _employer(a, 90, date(YEAR, 3, 1)),  # active
            _employer(b, 80, date(YEAR, 3, 1), terminated_on=date(YEAR, 12, 30)),  # ended
            _employer(c, 70, date(YEAR, 3, 1), terminated_on=date(YEAR, 12, 31)),  # last day
            _employer(d, 60, date(YEAR + 1, 1, 1)),  # starts after the year
            _employer(e, 50, date(YEAR - 1, 1, 1), valid_to=date(YEAR, 6, 30)),  # expired
            EnrollmentFact(f, "project", 40, date(YEAR, 1, 1)),  # a project's site workers
        ],
        accidents=[],
    )
    row = _row(report_for(data, "370811"), "construction")
    assert (row["enterprises"], row["insured_enterprises"]) == (6, 2)
    assert (row["employees"], row["insured_employees"]) == (600, 160)
    assert (row["coverage_rate"], row["enterprise_coverage_rate"]) == (0.2667, 0.3333)


def test_an_enterprise_counts_with_the_version_in_effect_at_year_end() -> None:
    rng = random.Random(12)
    code = uscc(rng)
    versions = [
        EnterpriseState(code, "370811", "E47", 100, moment(date(YEAR, 6, 1)), "v1"),
        EnterpriseState(code, "370812", "B06", 300, moment(date(YEAR + 1, 2, 1)), "v2"),
    ]
    year_end = datetime(YEAR + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC) - timedelta(microseconds=1)
    assert [v.version for v in enterprises_as_of(versions, year_end)] == ["v1"]
    assert [v.version for v in enterprises_as_of(versions, moment(date(YEAR + 1, 3, 1)))] == ["v2"]
    # Known only after the stock date: counted in its first known state.
    assert [v.version for v in enterprises_as_of(versions, moment(date(YEAR - 1, 3, 1)))] == ["v1"]
    report = report_for(Data(versions, [], []), CITY)
    assert _row(report, "construction")["employees"] == 100
    assert _row(report, "coal_mining")["enterprises"] == 0


def test_accidents_count_within_the_year_in_their_own_industry_and_division() -> None:
    accidents = [
        AccidentFact("in-first-day", "370811", "E47", date(YEAR, 1, 1), 1),
        AccidentFact("in-last-day", "370811", "4811", date(YEAR, 12, 31), 2),
        AccidentFact("before", "370811", "E47", date(YEAR - 1, 12, 31), 4),
        AccidentFact("after", "370811", "E47", date(YEAR + 1, 1, 1), 8),
        AccidentFact("other-county", "370812", "E47", date(YEAR, 5, 1), 16),
        AccidentFact("hazmat-transport", "370811", "5942", date(YEAR, 5, 1), 32),
    ]
    report = report_for(Data([], [], accidents), "370811")
    assert (_row(report, "construction")["accidents"], _row(report, "construction")["deaths"]) == (
        2,
        3,
    )
    assert _row(report, "transport")["accidents"] == 1
    assert _row(report, "hazardous_chemicals")["accidents"] == 1
    assert (report["total"]["accidents"], report["total"]["deaths"]) == (3, 35)
    # No insured employees and no employees: the rates have no denominator.
    assert report["total"]["accident_rate_per_1000"] is None
    assert report["total"]["deaths_per_1000_employees"] is None


def test_overlapping_rows_and_a_total_that_counts_each_enterprise_once() -> None:
    rng = random.Random(13)
    coal, hazmat, software = uscc(rng), uscc(rng), uscc(rng)
    data = Data(
        versions=[
            _enterprise(coal, "B0610", 300),
            _enterprise(hazmat, "G5942", 40),
            _enterprise(software, "I65", 1000),
        ],
        enrollments=[
            _employer(coal, 250, date(YEAR, 1, 1)),
            _employer(software, 900, date(YEAR, 1, 1)),
        ],
        accidents=[AccidentFact("a", "370811", "06", date(YEAR, 3, 3), 3)],
    )
    report = report_for(data, "370811")
    for key in ("coal_mining", "mining"):
        row = _row(report, key)
        assert (row["enterprises"], row["insured_employees"], row["accidents"]) == (1, 250, 1)
        assert (row["accident_rate_per_1000"], row["deaths_per_1000_employees"]) == (4.0, 10.0)
    for key in ("transport", "hazardous_chemicals"):
        assert _row(report, key)["enterprises"] == 1
    total = report["total"]
    assert (total["enterprises"], total["employees"], total["insured_employees"]) == (2, 340, 250)
    assert (total["accidents"], total["deaths"], total["insured_enterprises"]) == (1, 3, 1)
    assert sum(row["enterprises"] for row in report["rows"]) == 4  # rows overlap, total not


def test_city_report_sums_its_counties() -> None:
    data = generate(21, county_codes())
    city = report_for(data, CITY)
    counties = [report_for(data, code) for code in county_codes()]
    for index, row in enumerate(city["rows"]):
        for name in COUNTS:
            assert row[name] == sum(c["rows"][index][name] for c in counties), (
                row["industry"],
                name,
            )
    for name in COUNTS:
        assert city["total"][name] == sum(c["total"][name] for c in counties), name
    assert city["total"]["enterprises"] > 0


def test_rates_are_rounded_to_four_decimals() -> None:
    rng = random.Random(14)
    code = uscc(rng)
    data = Data(
        versions=[_enterprise(code, "C27", 7)],
        enrollments=[_employer(code, 3, date(YEAR, 1, 1))],
        accidents=[AccidentFact("a", "370811", "C27", date(YEAR, 2, 2), 1)],
    )
    row = _row(report_for(data, "370811"), "pharmaceutical")
    assert row["coverage_rate"] == 0.4286  # 3/7
    assert row["accident_rate_per_1000"] == 333.3333  # 1/3 x 1000
    assert row["deaths_per_1000_employees"] == 142.8571  # 1/7 x 1000


def test_stock_date_is_year_end_or_today_for_the_current_year() -> None:
    today = date(2024, 7, 9)
    assert stock_date(2023, today) == date(2023, 12, 31)
    assert stock_date(2024, today) == today
    with pytest.raises(ValueError, match="future"):
        stock_date(2025, today)


# --- renderings ---


def _sample() -> Any:
    data = generate(31, ("370811", "370812"))
    return key_industry_report(
        division_code=CITY,
        year=YEAR,
        as_of=date(YEAR, 12, 31),
        enterprises=enterprises_as_of(data.versions, datetime(YEAR + 1, 1, 1, tzinfo=UTC)),
        enrollments=data.enrollments,
        accidents=data.accidents,
    )


def test_csv_has_a_header_and_a_line_per_key_industry_and_the_total() -> None:
    report = _sample()
    lines = list(csv.DictReader(io.StringIO(exports.to_csv(report))))
    as_json = report.as_dict()
    assert [line["industry"] for line in lines] == [*KEY_TABLE, "total"]
    for line, row in zip(lines, [*as_json["rows"], as_json["total"]], strict=True):
        assert int(line["enterprises"]) == row["enterprises"]
        assert int(line["insured_employees"]) == row["insured_employees"]
        assert line["coverage_rate"] == (
            "" if row["coverage_rate"] is None else str(row["coverage_rate"])
        )
        assert (line["division_code"], line["year"]) == (CITY, str(YEAR))


def test_xlsx_is_the_plans_table_with_fillers_formats_and_notes() -> None:
    report = _sample()
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(report))).active
    cells = [[cell for cell in row] for row in sheet.iter_rows()]
    values = [[cell.value for cell in row] for row in cells]
    assert values[0][0] == "重点行业企业基本情况表"
    fillers = " ".join(str(v) for v in values[2] if v)
    assert all(word in fillers for word in ("填报单位", "填报人", "联系电话"))
    header = exports.HEADER_ROW - 1
    assert values[header] == [
        "重点行业名称", "企业户数", "参保企业户数", "从业总人数", "参加工伤保险人数",
        "工伤保险参保率", "工伤事故数量", "工伤事故发生率", "备注",
    ]  # fmt: skip
    as_json = report.as_dict()
    for offset, row in enumerate([*as_json["rows"], as_json["total"]], start=1):
        line = values[header + offset]
        assert line[0] == row["industry_zh"]
        assert line[1:8] == [
            row["enterprises"], row["insured_enterprises"], row["employees"],
            row["insured_employees"], row["coverage_rate"], row["accidents"],
            row["accident_rate_per_1000"],
        ]  # fmt: skip
        assert cells[header + offset][5].number_format == "0.00%"
        assert "‰" in cells[header + offset][7].number_format
    notes = "\n".join(str(row[0]) for row in values[header + 11 :] if row[0])
    for phrase in ("说明", "12 月 31 日", "× 1000", "只计一次"):
        assert phrase in notes
