"""Events as the departments' systems put them on the topics, for feeding the matcher."""

from __future__ import annotations

from hub_shared.messaging.envelope import Envelope

CONTRACTOR = "91370812MA3L12T073"


def permit_issued(permit_no: str) -> Envelope:
    return Envelope.new(
        "permit.issued", source="/test", key=permit_no,
        data={"permit_no": permit_no, "project_name": f"项目{permit_no[-4:]}", "address": "济宁",
              "division_code": "370811", "contract_price_wan": 1.0,
              "planned_start": "2021-04-01", "planned_end": "2022-04-01",
              "issued_at": "2021-03-15T09:30:00+08:00",
              "builder": {"name": "b", "uscc": "91370811MA3AY4C041"},
              "contractor": {"name": "c", "uscc": CONTRACTOR},
              "received_at": "2021-03-15T01:30:00+00:00", "source_id": "t"},
    )  # fmt: skip


def project_enrolled(permit_no: str) -> Envelope:
    return Envelope.new(
        "enrollment.registered", source="/test", key=CONTRACTOR,
        data={"enrollment_id": f"SI-{permit_no}", "kind": "project", "permit_no": permit_no,
              "employer_uscc": CONTRACTOR, "employer_name": "c", "division_code": "370811",
              "insured_headcount": 0, "valid_from": "2021-03-10"},
    )  # fmt: skip
