"""Identifiers of docs/domain.md: USCC, resident ID, permit number, project code, pydantic types."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from hub_shared.domain.identifiers import (
    USCC_ALPHABET,
    DivisionCode,
    IndustryCode,
    PermitNo,
    ProjectCode,
    ResidentIdNumber,
    Uscc,
    mask_resident_id,
    normalize_code,
    resident_id_digest,
    uscc_check_char,
    uscc_org_code_warning,
    validate_permit_no,
    validate_project_code,
    validate_resident_id,
    validate_uscc,
)

VALID_USCCS = (
    "91350200776049653A",
    "91440101MA5CJQ4N59",
    "91370811MA3AY4C041",
    "91370812MA3L12T073",
    "91370883MA371HU01U",
)


def test_normalize_code_strips_whitespace_folds_full_width_and_upper_cases() -> None:
    assert normalize_code(" ９１３７ ０８１１\tma3ay4c041\u3000") == "91370811MA3AY4C041"


@pytest.mark.parametrize("uscc", VALID_USCCS)
def test_domain_examples_of_uscc_are_valid(uscc: str) -> None:
    assert validate_uscc(uscc) == uscc
    assert uscc_check_char(uscc[:17]) == uscc[17]


def test_uscc_with_wrong_check_char_names_the_expected_char() -> None:
    with pytest.raises(ValueError, match="check character is 'B', expected '9'"):
        validate_uscc("91350203M0001QAY9B")


def test_uscc_in_full_width_lower_case_with_spaces_is_normalized() -> None:
    assert validate_uscc(" ９１３７０８１１ｍａ３ａｙ４ｃ０４１ ") == "91370811MA3AY4C041"
    assert validate_uscc("91370812ma3l12t073") == "91370812MA3L12T073"


@pytest.mark.parametrize("raw", ["9137081MA3AY4C041", "91370811MA3AY4C0411", ""])
def test_uscc_of_wrong_length_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="USCC must be 18 characters"):
        validate_uscc(raw)


def test_uscc_with_character_outside_alphabet_is_rejected_with_its_position() -> None:
    with pytest.raises(ValueError, match="'O' at position 9"):
        validate_uscc("91370811OA3AY4C041")


@pytest.mark.parametrize("uscc", VALID_USCCS)
def test_org_code_of_domain_examples_passes_without_warning(uscc: str) -> None:
    assert uscc_org_code_warning(uscc) is None


def test_org_code_failure_is_a_warning_not_an_error() -> None:
    body = "91370811MA3AY4C05"  # organisation-code check char 5 instead of 4
    uscc = body + uscc_check_char(body)
    assert validate_uscc(uscc) == uscc
    warning = uscc_org_code_warning(uscc)
    assert warning is not None
    assert "expected '4'" in warning


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17), st.sampled_from(USCC_ALPHABET))
def test_any_body_with_its_check_char_validates_and_another_char_fails(
    body: str, other: str
) -> None:
    check = uscc_check_char(body)
    assert validate_uscc(body + check) == body + check
    assume(other != check)
    with pytest.raises(ValueError, match="check character"):
        validate_uscc(body + other)


@pytest.mark.parametrize("id_number", ["11010519491231002X", "370811199001011236"])
def test_domain_examples_of_resident_id_are_valid(id_number: str) -> None:
    assert validate_resident_id(id_number) == id_number


def test_resident_id_lower_case_x_and_full_width_digits_are_normalized() -> None:
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"
    assert validate_resident_id("３７０８１１１９９００１０１１２３６") == "370811199001011236"


def test_resident_id_with_wrong_check_char_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="check character does not match") as caught:
        validate_resident_id("370811199001011237")
    assert "370811" not in str(caught.value)


def test_resident_id_with_impossible_birth_date_is_rejected() -> None:
    with pytest.raises(ValueError, match="impossible birth date"):
        validate_resident_id("370811199002301234")


def test_resident_id_born_in_the_future_is_rejected() -> None:
    with pytest.raises(ValueError, match="future"):
        validate_resident_id("370811199001011236", today=date(1989, 12, 31))


@pytest.mark.parametrize("raw", ["37081119900101123", "3708111990010112A6"])
def test_resident_id_of_wrong_form_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="resident ID number must be"):
        validate_resident_id(raw)


def test_masked_resident_id_keeps_first_six_and_last_four() -> None:
    assert mask_resident_id("370811199001011236") == "370811********1236"
    assert mask_resident_id("11010519491231002x") == "110105********002X"


def test_resident_id_digest_is_hmac_sha256_of_the_normalized_number() -> None:
    key = b"test-key"
    expected = hmac.new(key, b"11010519491231002X", hashlib.sha256).hexdigest()
    assert resident_id_digest("11010519491231002x", key) == expected
    assert resident_id_digest("11010519491231002X", b"other-key") != expected


def test_permit_no_of_18_digits_with_jining_prefix_and_real_date_is_kept() -> None:
    assert validate_permit_no(" 370811202103150101 ") == "370811202103150101"


def test_permit_no_with_legacy_alias_prefix_is_accepted() -> None:
    assert validate_permit_no("370882202103150101") == "370882202103150101"


def test_permit_no_outside_jining_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a Jining division code"):
        validate_permit_no("370102202103150101")


def test_permit_no_with_impossible_date_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a date"):
        validate_permit_no("370811202102300101")


def test_longer_provincial_permit_no_is_kept_and_its_prefix_checked() -> None:
    assert validate_permit_no("370811202103150101-SD-01") == "370811202103150101-SD-01"
    assert validate_permit_no("SDJZ-2021-abc-0001") == "SDJZ-2021-abc-0001"
    with pytest.raises(ValueError, match="not a date"):
        validate_permit_no("370811202113150101-SD-01")


@pytest.mark.parametrize("raw", ["12345", "3708112021_03150101", "x" * 41])
def test_permit_no_of_bad_form_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="10-40 characters"):
        validate_permit_no(raw)


def test_project_code_with_jining_division_is_normalized() -> None:
    assert validate_project_code(" 2103－370811－04－01－123456") == "2103-370811-04-01-123456"
    assert validate_project_code("2112-370890-04-01-000001") == "2112-370890-04-01-000001"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("2113-370811-04-01-123456", "month"),
        ("2100-370811-04-01-123456", "month"),
        ("2103-370102-04-01-123456", "not in Jining"),
        ("2103-370811-04-01-12345", "form"),
    ],
)
def test_bad_project_code_is_rejected(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_project_code(raw)


class _Contractor(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    uscc: Uscc
    division_code: DivisionCode
    industry_code: IndustryCode
    permit_no: PermitNo | None = None
    project_code: ProjectCode | None = None
    patient_id_number: ResidentIdNumber | None = None


def test_model_round_trip_normalizes_codes() -> None:
    model = _Contractor.model_validate(
        {
            "uscc": "91370812ma3l12t073",
            "division_code": "370882",
            "industry_code": "e4711",
            "permit_no": "370811202103150101",
            "project_code": "2103-370811-04-01-123456",
            "patient_id_number": "11010519491231002x",
        }
    )
    assert model.uscc == "91370812MA3L12T073"
    assert model.division_code == "370812"
    assert model.industry_code == "47"
    assert model.patient_id_number == "11010519491231002X"
    assert _Contractor.model_validate_json(model.model_dump_json()) == model


def test_model_with_bad_uscc_reports_the_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        _Contractor.model_validate(
            {"uscc": "91350203M0001QAY9B", "division_code": "370811", "industry_code": "47"}
        )
    errors = caught.value.errors()
    assert [error["loc"] for error in errors] == [("uscc",)]
    assert "expected '9'" in errors[0]["msg"]


def test_model_with_bad_resident_id_hides_the_number() -> None:
    with pytest.raises(ValidationError) as caught:
        _Contractor.model_validate(
            {
                "uscc": "91370811MA3AY4C041",
                "division_code": "370811",
                "industry_code": "47",
                "patient_id_number": "370811199001011237",
            }
        )
    assert "check character does not match" in caught.value.errors()[0]["msg"]
    assert "370811199001011237" not in str(caught.value)


def test_model_with_unknown_division_reports_it() -> None:
    with pytest.raises(ValidationError, match="unknown division code '370102'"):
        _Contractor.model_validate(
            {"uscc": "91370811MA3AY4C041", "division_code": "370102", "industry_code": "47"}
        )
