"""Mixed events for the backlog benchmark, on the topics the matcher reads.

45% permits (each its own permit_no), 20% project enrollments, 20% employer enrollments,
10% accidents, 5% findings, in one random interleaving. A project enrollment names one
permit by its exact permit_no (and no project name or code), so the hub's rules and the
peer's exact permit_no join agree on which permits are covered: about a third of them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from hub_shared.domain.identifiers import USCC_ALPHABET, uscc_check_char
from hub_shared.messaging.envelope import Envelope, encode
from hub_shared.messaging.topics import topic_of

COUNTIES = ["370811", "370812", "370826", "370827", "370828", "370829", "370830", "370831"]
PERMIT_SHARE = 0.45
Event = tuple[str, str, dict[str, Any]]  # event name, key, data


def _uscc(rng: random.Random, division: str) -> str:
    body = "91" + division + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def permit_no(index: int) -> str:
    """The permit_no of the index-th permit: a county, a real date, a serial."""
    division = COUNTIES[index % len(COUNTIES)]
    day = date(2021, 1, 1) + timedelta(days=index % 1400)
    return f"{division}{day:%Y%m%d}{index:07d}"


def generate(n: int, seed: int = 7) -> Iterator[Event]:
    """`n` events, the same for the same (n, seed)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    employers = [_uscc(rng, rng.choice(COUNTIES)) for _ in range(max(10, n // 20))]
    permit_slots = max(1, int(n * PERMIT_SHARE))
    permits = 0
    for i in range(n):
        roll = rng.random()
        uscc = rng.choice(employers)
        division = uscc[2:8]
        if roll < PERMIT_SHARE:
            number, permits = permit_no(permits), permits + 1
            data: dict[str, Any] = {
                "permit_no": number, "project_name": f"项目{i}", "address": "济宁",
                "division_code": number[:6], "contract_price_wan": 100.0,
                "planned_start": "2021-04-01", "planned_end": "2022-04-01",
                "issued_at": "2021-03-15T09:30:00+08:00",
                "builder": {"name": "建设单位", "uscc": rng.choice(employers)},
                "contractor": {"name": "施工单位", "uscc": uscc},
                "received_at": "2021-03-15T01:30:00+00:00", "source_id": "bench",
            }  # fmt: skip
            yield ("permit.issued", number, data)
        elif roll < 0.65:
            target = permit_no(rng.randrange(permit_slots))
            data = {"enrollment_id": f"SI-P-{i}", "kind": "project", "permit_no": target,
                    "employer_uscc": uscc, "employer_name": "单位", "division_code": target[:6],
                    "insured_headcount": 0, "valid_from": "2021-01-01"}  # fmt: skip
            yield ("enrollment.registered", uscc, data)
        elif roll < 0.85:
            data = {"enrollment_id": f"SI-E-{i}", "kind": "employer", "employer_uscc": uscc,
                    "employer_name": "单位", "division_code": division, "insured_headcount": 30,
                    "valid_from": "2021-01-01"}  # fmt: skip
            yield ("enrollment.registered", uscc, data)
        elif roll < 0.95:
            data = {"report_id": f"ACC-{i}", "occurred_at": "2021-06-01T10:00:00+08:00",
                    "division_code": division, "employer": {"name": "单位", "uscc": uscc},
                    "industry_code": "47", "grade": "general", "deaths": 0,
                    "serious_injuries": 0, "minor_injuries": 1}  # fmt: skip
            yield ("accident.reported", uscc, data)
        else:
            data = {"finding_id": f"F-{i}", "uscc": uscc, "name": "单位", "division_code": division,
                    "found_on": "2021-06-01", "source_department": "住建局"}  # fmt: skip
            yield ("enterprise.uninsured", uscc, data)


def topics(events: Iterable[Event] | None = None) -> list[str]:
    """The topics the events go to (all five matcher inputs when not given)."""
    names = (
        {e[0] for e in events}
        if events is not None
        else {
            "permit.issued",
            "enrollment.registered",
            "accident.reported",
            "enterprise.uninsured",
            "disease.diagnosed",
        }
    )
    return sorted({topic_of(name).name for name in names})


def expected_uncovered(n: int, seed: int = 7) -> set[str]:
    """Permits that no project enrollment names: what both the hub and the peer should find."""
    permits: set[str] = set()
    named: set[str] = set()
    for name, _, data in generate(n, seed):
        if name == "permit.issued":
            permits.add(data["permit_no"])
        elif name == "enrollment.registered" and data["kind"] == "project":
            named.add(data["permit_no"])
    return permits - named


async def produce(bootstrap: str, events: Iterable[Event]) -> tuple[int, float]:
    """Publish the events as CloudEvents in binary mode; (how many, seconds)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    began, count = time.perf_counter(), 0
    try:
        pending = []
        for name, key, data in events:
            key_bytes, value, headers = encode(
                Envelope.new(name, source="/bench", data=data, key=key)
            )
            pending.append(
                await producer.send(topic_of(name).name, value, key=key_bytes, headers=headers)
            )
            count += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count, time.perf_counter() - began
