"""The soak's requests: permits, enrollments, accidents and diseases, each sent until the
hub accepts it (a killed service or broker only delays it), always with the same ids, so
a repeat is answered from the first acceptance and never makes a second event."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from hub_shared import webhooks
from hub_shared.identifiers import uscc_check_char
from hubtools.bench_requests import SOURCE_ID, SOURCE_SECRET

AGENCY, EMERGENCY, HEALTH = "soak-agency-token", "soak-emergency-token", "soak-health-token"
DIVISION = "370811"
CONTRACTOR = "91370812MA3L12T073"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Request:
    kind: str  # permit | enrollment | accident | disease
    key: str  # what the event on the topic is keyed or identified by
    service: str
    path: str
    body: dict[str, Any]
    token: str | None = None


@dataclass
class Tally:
    accepted: dict[str, set[str]] = field(default_factory=dict)
    retries: int = 0

    def add(self, request: Request) -> None:
        self.accepted.setdefault(request.kind, set()).add(request.key)


def _uscc(i: int) -> str:
    body = f"91{DIVISION}MA{i:07d}"
    return body + uscc_check_char(body)


def _resident(rng: random.Random) -> str:
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(15000))
    first17 = f"{DIVISION}{born:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def requests(count: int, tag: str, seed: int = 16) -> list[Request]:
    """`count` requests, a quarter of each kind; every other permit's project is enrolled."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    out: list[Request] = []
    for i in range(count):
        n = i // 4
        permit_no = f"{DIVISION}20210315{tag}{n:06d}"
        if i % 4 == 0:
            body = {
                "permit_no": permit_no, "project_name": f"耐久项目{tag}{n}",
                "address": "济宁市任城区", "division_code": DIVISION,
                "contract_price_wan": 100.0, "planned_start": "2021-04-01",
                "planned_end": "2022-10-31", "issued_at": "2021-03-15T09:30:00+08:00",
                "builder": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
                "contractor": {"name": "山东鲁班建设集团有限公司", "uscc": CONTRACTOR},
            }  # fmt: skip
            out.append(Request("permit", permit_no, "permit-ingest", "/v1/permits", body))
        elif i % 4 == 1:
            enrolled = f"{DIVISION}20210315{tag}{n - n % 2:06d}"  # the even permits
            body = {
                "enrollment_id": f"SI-{tag}-{n}", "kind": "project", "permit_no": enrolled,
                "project_code": None, "project_name": f"耐久项目{tag}{n - n % 2}",
                "employer_uscc": CONTRACTOR, "employer_name": "山东鲁班建设集团有限公司",
                "division_code": DIVISION, "insured_headcount": 0,
                "valid_from": "2021-03-01", "valid_to": None,
            }  # fmt: skip
            key = str(body["enrollment_id"])
            out.append(Request("enrollment", key, "enrollment", "/v1/enrollments", body, AGENCY))
        elif i % 4 == 2:
            occurred = datetime(2021, 5, 6, 14, tzinfo=UTC) + timedelta(minutes=n)
            body = {
                "report_id": f"ACC-{tag}-{n}", "occurred_at": occurred.isoformat(),
                "division_code": DIVISION,
                "employer": {"name": f"未参保单位{n}", "uscc": _uscc(n)},
                "industry_code": "E47", "grade": "general", "deaths": 0,
                "serious_injuries": 0, "minor_injuries": 1, "summary": "耐久测试",
            }  # fmt: skip
            key = str(body["report_id"])
            out.append(Request("accident", key, "incidents", "/v1/accidents", body, EMERGENCY))
        else:
            body = {
                "diagnosis_id": f"ZYB-{tag}-{n}", "diagnosed_on": "2021-06-01",
                "patient_id_number": _resident(rng), "patient_name": "张伟", "category": 1,
                "disease": "矽肺", "division_code": DIVISION, "institution": "济宁市职业病防治院",
                "employer": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
            }  # fmt: skip
            key = str(body["diagnosis_id"])
            out.append(Request("disease", key, "incidents", "/v1/diseases", body, HEALTH))
    return out


async def send_until_accepted(
    client: httpx.AsyncClient, base: str, request: Request, tally: Tally
) -> None:
    """POST until 2xx; a 4xx other than 429 is a bug of the soak itself and is raised."""
    body = json.dumps(request.body, ensure_ascii=False).encode()
    while True:
        headers = {"Content-Type": "application/json"}
        if request.token:
            headers["Authorization"] = f"Bearer {request.token}"
        else:  # the same webhook-id every time: a repeat gets the first answer
            signed = webhooks.sign([SOURCE_SECRET], f"msg_{request.key}", body)
            headers |= signed | {"X-Hub-Source": SOURCE_ID}
        try:
            answer = await client.post(base + request.path, content=body, headers=headers)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code < 300:
            tally.add(request)
            return
        if answer is not None and 400 <= answer.status_code < 500 and answer.status_code != 429:
            raise RuntimeError(f"{request.kind} {request.key}: {answer.status_code} {answer.text}")
        tally.retries += 1
        await asyncio.sleep(0.2)
