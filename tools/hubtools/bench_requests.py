"""Requests the benchmarks send, built before the clock starts: signed permits (one
permit_no and one webhook-id each), an NDJSON batch, accidents at uninsured employers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub_shared.web import webhooks

SOURCE_ID = "bench"
SOURCE_SECRET = "whsec_" + base64.b64encode(b"bench-source-secret-0123456789").decode()
OFFICE_SECRET = "whsec_" + base64.b64encode(b"bench-office-secret-0123456789").decode()
EMERGENCY_TOKEN = "bench-emergency-token"  # noqa: S105 - a throwaway bench client
DIVISION = "370811"
CONTRACTOR_USCC = "91370812MA3L12T073"


@dataclass(frozen=True)
class Signed:
    """One pre-signed request: its body and the headers that go with it."""

    path: str
    body: bytes
    headers: Mapping[str, str]


def permit(tag: str, i: int) -> dict[str, Any]:
    """A valid permit whose permit_no is unique per (tag, i); tag is letters only."""
    return {
        "permit_no": f"{DIVISION}20210315{tag}{i:08d}",
        "project_name": f"基准项目{tag}{i}",
        "address": "济宁市任城区运河路18号",
        "division_code": DIVISION,
        "contract_price_wan": 1250.5,
        "planned_start": "2021-04-01",
        "planned_end": "2022-10-31",
        "issued_at": "2021-03-15T09:30:00+08:00",
        "builder": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
        "contractor": {"name": "山东鲁班建设集团有限公司", "uscc": CONTRACTOR_USCC},
    }


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def sign(path: str, body: bytes, webhook_id: str, content_type: str, now: datetime) -> Signed:
    """The body with the Standard Webhooks headers of the bench source."""
    headers = webhooks.sign([SOURCE_SECRET], webhook_id, body, timestamp=now)
    headers |= {"X-Hub-Source": SOURCE_ID, "Content-Type": content_type}
    return Signed(path, body, headers)


def signed_permits(tag: str, count: int, now: datetime | None = None) -> list[Signed]:
    """`count` signed POST /v1/permits requests, each its own permit_no and webhook-id."""
    at = now or datetime.now(UTC)
    return [
        sign("/v1/permits", _json(permit(tag, i)), f"msg_{tag}_{i}", "application/json", at)
        for i in range(count)
    ]


def signed_batch(tag: str, lines: int, now: datetime | None = None) -> Signed:
    """One POST /v1/permits:batch request: `lines` permits as NDJSON under one signature."""
    body = b"\n".join(_json(permit(tag, i)) for i in range(lines)) + b"\n"
    at = now or datetime.now(UTC)
    return sign("/v1/permits:batch", body, f"msg_{tag}_batch", "application/x-ndjson", at)


def uninsured_uscc(i: int) -> str:
    """An employer USCC that no enrollment names: one per accident."""
    from hub_shared.domain.identifiers import uscc_check_char

    body = f"91{DIVISION}MA{i:07d}"
    return body + uscc_check_char(body)


def accident(tag: str, i: int, occurred_at: datetime) -> Signed:
    """POST /v1/accidents of an employer without any enrollment (CONTRACTS §6)."""
    body = {
        "report_id": f"ACC-{tag}-{i}",
        "occurred_at": occurred_at.isoformat(),
        "division_code": DIVISION,
        "employer": {"name": f"未参保单位{i}", "uscc": uninsured_uscc(i)},
        "industry_code": "E47",
        "grade": "general",
        "deaths": 0,
        "serious_injuries": 0,
        "minor_injuries": 1,
        "summary": "基准测试",
    }
    headers = {"Authorization": f"Bearer {EMERGENCY_TOKEN}", "Content-Type": "application/json"}
    return Signed("/v1/accidents", _json(body), headers)


def http_request(request: Signed, host: str) -> bytes:
    """The request as HTTP/1.1 bytes on a keep-alive connection."""
    head = [f"POST {request.path} HTTP/1.1", f"Host: {host}"]
    head.append(f"Content-Length: {len(request.body)}")
    head += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body
