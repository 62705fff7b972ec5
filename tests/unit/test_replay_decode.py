"""Replay's quick decoder reads every record as the pydantic event model does: the same
values when the model accepts it, a refusal when the model refuses it, over valid records
and records mangled field by field."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from enrollment.replay_decode import decode
from hub_shared.events import (
    AccidentData,
    DiseaseData,
    EnrollmentData,
    EnterpriseData,
    FindingData,
    PermitData,
)

PARTY = {"name": "施工单位", "uscc": "91370812MA3L12T073"}
VALID: dict[type[BaseModel], dict[str, Any]] = {
    EnterpriseData: {"uscc": "91370812MA3L12T073", "name": "单位", "division_code": "370811",
                     "industry_code": "4720", "employees": 50},
    EnrollmentData: {"enrollment_id": "SI-1", "kind": "project", "permit_no": "370811202103150101",
                     "project_code": None, "project_name": "运河花园3#楼",
                     "employer_uscc": "91370812MA3L12T073", "employer_name": "单位",
                     "division_code": "370811", "insured_headcount": 0,
                     "valid_from": "2021-01-01", "valid_to": None, "terminated_on": "2022-01-01"},
    PermitData: {"permit_no": "370811202103150101", "project_name": "运河花园3#楼",
                 "address": "济宁", "division_code": "370811", "contract_price_wan": 100.5,
                 "area_m2": None,
                 "planned_start": "2021-04-01", "planned_end": "2022-04-01",
                 "issued_at": "2021-03-15T09:30:00+08:00", "builder": PARTY, "contractor": PARTY,
                 "supervisor": PARTY, "commitment_letter": True,
                 "received_at": "2021-03-15T01:30:00.123456Z", "source_id": "s", "revision": 2},
    FindingData: {"finding_id": "F-1", "uscc": "91370812MA3L12T073", "name": "单位",
                  "division_code": "370811", "found_on": "2021-06-01",
                  "source_department": "住建局"},
    AccidentData: {"report_id": "A-1", "occurred_at": "2021-06-01T10:00:00+08:00",
                   "division_code": "370811", "employer": PARTY, "permit_no": None,
                   "industry_code": "47", "grade": "general", "deaths": 0, "serious_injuries": 1,
                   "minor_injuries": 0},
    DiseaseData: {"diagnosis_id": "Z-1", "diagnosed_on": "2021-06-01",
                  "patient_id_masked": "3708**", "patient_digest": "ab", "category": 3,
                  "disease": "尘肺", "employer": PARTY,
                  "division_code": "370811"},
}  # fmt: skip

# What a mangled field may hold instead: the lenient and the strict reading of each differ
# for many of them (integral floats, times with no seconds or finer than a microsecond,
# timestamps as numbers, numbers as text).
ODD_VALUES = [
    None, True, False, 0, 1, -1, 2**63, 2**70, 2.0, 2.5, 1e308, "", "abc", "1", "2.0", "true",
    "2021-01-01", "2021-1-1", "2021-02-30", "2021-03-15T09:30:00Z", "2021-03-15T09:30Z",
    "2021-03-15 09:30:00+08:00", "2021-03-15T09:30:00.1234565Z", "2021-03-15T09:30:00.9999995Z",
    "2021-03-15t09:30:00z", "2021-03-15T09:30:00", 1615800600, 1615800600.5, [], {}, PARTY,
    {"name": "x"}, "project", "employer", "general",
]  # fmt: skip


def _plain(value: Any) -> Any:
    """A decoded value as plain data, times with their offset, for comparing the paths."""
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, msgspec.Struct):
        return {name: _plain(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, datetime | date):
        return (type(value).__name__, value.isoformat())
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _outcome(read: Any, model: type[BaseModel], data: bytes) -> Any:
    try:
        return _plain(read(model, data))
    except ValidationError:
        return "refused"


def _pydantic(model: type[BaseModel], data: bytes) -> BaseModel:
    return model.model_validate_json(data)


@st.composite
def mangled(draw: st.DrawFn, model: type[BaseModel]) -> bytes:
    record = dict(VALID[model])
    for name in draw(st.lists(st.sampled_from(sorted(record)), max_size=4, unique=True)):
        if draw(st.booleans()):
            record[name] = draw(st.sampled_from(ODD_VALUES))
        else:
            del record[name]
    if draw(st.booleans()):
        record["unknown_field"] = draw(st.sampled_from(ODD_VALUES))
    return json.dumps(record, ensure_ascii=False).encode()


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_valid_records_read_the_same(model: type[BaseModel]) -> None:
    data = json.dumps(VALID[model], ensure_ascii=False).encode()
    quick = decode(model, data)
    assert isinstance(quick, msgspec.Struct)  # the quick path took it
    assert _outcome(decode, model, data) == _outcome(_pydantic, model, data)


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mangled_records_read_as_the_model_reads_them(
    model: type[BaseModel], data: st.DataObject
) -> None:
    record = data.draw(mangled(model))
    assert _outcome(decode, model, record) == _outcome(_pydantic, model, record)


def test_a_time_finer_than_a_microsecond_is_truncated_as_pydantic_does() -> None:
    record = {**VALID[PermitData], "received_at": "2021-03-15T01:30:00.9999995Z"}
    permit = decode(PermitData, json.dumps(record).encode())
    assert permit.received_at == datetime.fromisoformat("2021-03-15T01:30:00.999999+00:00")


def test_unreadable_bytes_are_refused_as_the_model_refuses_them() -> None:
    with pytest.raises(ValidationError):
        decode(EnrollmentData, b"{not json")
