"""Accident and disease intake rules: every bad field listed, grades consistent with the
counts, the resident ID number masked and never echoed in an error."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hub_shared import clock
from hub_shared.domain.identifiers import resident_id_digest
from hub_shared.web.errors import from_validation
from incidents.rules import fingerprint, grade_consistency_error, mask_name, split_industry_code
from incidents.schemas import AccidentIn, DiseaseIn, ReportQuery

ID_NUMBER = "370811199001011236"
WRONG_CHECK = "370811199001011237"


def accident(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "report_id": "YJ-370811-2021-0001",
        "occurred_at": "2021-05-06T14:20:00+08:00",
        "division_code": "370811",
        "employer": {"name": "山东鲁班建设集团有限公司", "uscc": "91370812MA3L12T073"},
        "permit_no": "370811202103150101",
        "industry_code": "E47",
        "grade": "general",
        "deaths": 1,
        "serious_injuries": 2,
        "minor_injuries": 3,
        "summary": "脚手架坍塌",
    }
    body.update(overrides)
    return body


def disease(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "diagnosis_id": "ZYB-2021-0001",
        "diagnosed_on": "2021-06-01",
        "patient_id_number": ID_NUMBER,
        "patient_name": "张伟",
        "category": 1,
        "disease": "矽肺",
        "employer": {"name": "济宁某煤矿有限公司", "uscc": "91370811MA3AY4C041"},
        "division_code": "370811",
        "institution": "济宁市职业病防治院",
    }
    body.update(overrides)
    return body


def failing(model: type[AccidentIn] | type[DiseaseIn], body: dict[str, Any]) -> dict[str, str]:
    """loc (joined by '.') -> message of every failing field, as the 422 body lists them."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    problem = from_validation(caught.value)
    return {".".join(error["loc"]): error["msg"] for error in problem.errors}


# --- accidents ---


def test_a_valid_accident_is_normalised() -> None:
    report = AccidentIn.model_validate(
        accident(
            employer={"name": " 鲁班 ", "uscc": "91370812ma3l12t073"},
            industry_code="e 4711",
            division_code="370802",  # legacy 市中区 -> 任城区
            occurred_at="2021-05-06T14:20:00",  # no offset: Beijing time
        )
    )
    assert report.employer.uscc == "91370812MA3L12T073"
    assert report.employer.name == "鲁班"
    assert report.division_code == "370811"
    assert report.industry_code == "4711"
    assert split_industry_code(report.industry_code) == ("47", "4711")
    assert AccidentIn.model_validate(accident(industry_code="E47")).industry_code == "47"
    assert report.occurred_at.utcoffset() == timedelta(hours=8)
    assert report.occurred_at.astimezone(UTC).hour == 6


def test_every_bad_accident_field_is_listed() -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    errors = failing(
        AccidentIn,
        accident(
            report_id="bad/id",
            occurred_at=future,
            division_code="110101",
            employer={"name": "", "uscc": "91350203M0001QAY9B"},
            permit_no="9999992021031501",
            industry_code="Z99",
            grade="minor",
            deaths=-1,
            serious_injuries="3",
            minor_injuries=True,
        ),
    )
    assert set(errors) == {
        "body.report_id",
        "body.occurred_at",
        "body.division_code",
        "body.employer.name",
        "body.employer.uscc",
        "body.permit_no",
        "body.industry_code",
        "body.grade",
        "body.deaths",
        "body.serious_injuries",
        "body.minor_injuries",
    }
    assert errors["body.occurred_at"] == "must not be in the future"
    assert "check character" in errors["body.employer.uscc"]
    assert "unknown division code" in errors["body.division_code"]


def test_missing_fields_are_each_listed() -> None:
    errors = failing(AccidentIn, {"report_id": "R1"})
    assert set(errors) == {
        f"body.{name}"
        for name in (
            "occurred_at", "division_code", "employer", "industry_code", "grade", "deaths",
            "serious_injuries", "minor_injuries",
        )
    }  # fmt: skip


def test_an_accident_may_be_reported_up_to_now_but_not_later() -> None:
    almost_now = clock.now() - timedelta(seconds=1)
    assert AccidentIn.model_validate(accident(occurred_at=almost_now.isoformat()))
    later = clock.now() + clock.CLOCK_SKEW + timedelta(minutes=1)
    assert set(failing(AccidentIn, accident(occurred_at=later.isoformat()))) == {"body.occurred_at"}


def test_an_instant_before_year_one_in_beijing_is_refused_not_a_server_error() -> None:
    """0001-01-01T00:00:01+01:00 is year 0 once moved to Beijing time: found by fuzzing,
    it raised OverflowError (a 500) instead of naming the field."""
    earliest = "0001-01-01T00:00:01+01:00"
    assert set(failing(AccidentIn, accident(occurred_at=earliest))) == {"body.occurred_at"}


@pytest.mark.parametrize(
    ("deaths", "serious", "grade", "consistent"),
    [
        (0, 0, "general", True),
        (2, 9, "general", True),
        (3, 0, "general", False),
        (0, 10, "general", False),
        (3, 0, "larger", True),
        (9, 49, "larger", True),
        (10, 0, "larger", False),
        (0, 50, "major", True),
        (30, 0, "major", False),
        (0, 100, "extraordinary", True),
        # Higher than the counts imply: economic loss also grades, the hub does not see it.
        (0, 0, "larger", True),
        (1, 0, "extraordinary", True),
    ],
)
def test_grade_must_not_be_lower_than_the_counts_imply(
    deaths: int, serious: int, grade: str, consistent: bool
) -> None:
    body = accident(deaths=deaths, serious_injuries=serious, grade=grade)
    if consistent:
        assert AccidentIn.model_validate(body).grade == grade
    else:
        errors = failing(AccidentIn, body)
        assert list(errors) == ["body.grade"]
        assert "too low" in errors["body.grade"]


def test_grade_check_waits_for_valid_counts() -> None:
    # A bad count is reported as itself, not as an inconsistent grade.
    assert set(failing(AccidentIn, accident(deaths=-5, grade="general"))) == {"body.deaths"}


def test_grade_consistency_rule_names_the_minimum_grade() -> None:
    assert grade_consistency_error("general", 0, 0) is None
    message = grade_consistency_error("larger", 12, 0)
    assert message is not None
    assert "'major'" in message


# --- diseases ---


def test_a_valid_diagnosis_is_accepted() -> None:
    report = DiseaseIn.model_validate(disease(patient_id_number="11010519491231002x"))
    assert report.patient_id_number == "11010519491231002X"
    assert report.category == 1


def test_every_bad_disease_field_is_listed() -> None:
    errors = failing(
        DiseaseIn,
        disease(
            diagnosed_on=(date.today() + timedelta(days=2)).isoformat(),
            patient_id_number=WRONG_CHECK,
            patient_name="",
            category=11,
            disease="",
            employer={"name": "x", "uscc": "91370811MA3AY4C040"},
            division_code="370899",
        ),
    )
    assert set(errors) == {
        "body.diagnosed_on",
        "body.patient_id_number",
        "body.patient_name",
        "body.category",
        "body.disease",
        "body.employer.uscc",
        "body.division_code",
    }
    assert errors["body.category"] == "occupational-disease category must be 1-10, got 11"


@pytest.mark.parametrize(
    "id_number",
    [
        WRONG_CHECK,  # check character
        "370811199013011236",  # impossible birth date
        "37081119900101123",  # too short
        "37081119900101123A",  # not a digit or X
        "370811209901011234",  # born in the future
    ],
)
def test_the_id_number_never_appears_in_an_error(id_number: str) -> None:
    body = disease(patient_id_number=id_number)
    with pytest.raises(ValidationError) as caught:
        DiseaseIn.model_validate(body)
    problem = from_validation(caught.value)
    rendered = json.dumps({"detail": problem.detail, "errors": problem.errors}, ensure_ascii=False)
    assert [error["loc"] for error in problem.errors] == [["body", "patient_id_number"]]
    assert id_number not in rendered
    assert id_number not in str(caught.value)  # what a log line would show
    # Nor a long piece of it (the part after the address code identifies the person).
    assert id_number[6:14] not in rendered


def test_the_id_number_is_masked_and_digested_with_a_key() -> None:
    key_a, key_b = b"k" * 32, b"j" * 32
    digest = resident_id_digest(ID_NUMBER, key_a)
    assert digest == resident_id_digest(ID_NUMBER.lower(), key_a)  # same person, same digest
    assert digest != resident_id_digest(ID_NUMBER, key_b)
    assert ID_NUMBER not in digest
    report = DiseaseIn.model_validate(disease())
    content = report.model_dump(mode="json")
    # The idempotency fingerprint of content holding the ID number is keyed too.
    assert fingerprint(content, key_a) != fingerprint(content, key_b)
    assert fingerprint(content, key_a) != fingerprint(content)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张伟", "张*"),
        ("王小明", "王*"),
        ("欧阳娜娜", "欧阳*"),
        ("欧阳", "欧*"),
        (" 李 雷 ", "李*"),
    ],
)
def test_the_patient_name_keeps_only_the_surname(name: str, masked: str) -> None:
    assert mask_name(name) == masked


# --- report query ---


def test_report_query_refuses_future_years_unknown_divisions_and_formats() -> None:
    with pytest.raises(ValidationError) as caught:
        ReportQuery.model_validate(
            {"year": clock.today().year + 1, "division_code": "999999", "format": "pdf"}
        )
    assert {e["loc"][0] for e in caught.value.errors()} == {"year", "division_code", "format"}
    query = ReportQuery.model_validate({"year": 2021, "division_code": "370882"})
    assert (query.division_code, query.format) == ("370812", "json")
