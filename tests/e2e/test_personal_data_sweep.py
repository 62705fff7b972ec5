"""The personal-data sweep: diseases posted with real-format resident ID numbers, then
every log line, every record on every topic, every database file and every API answer is
searched for the full number. None may hold it (the hub keeps it masked and digested)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from hub_shared.messaging.topics import ALL_TOPICS
from hubtools.kafka import LocalKafka
from tests.support.hub import HEALTH_TOKEN, bearer, topic_records, write_config
from tests.support.processes import Services, hub_processes

pytestmark = pytest.mark.e2e
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    """A GB 11643 number of a 任城区 resident: valid check character, real birth date."""
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(15000))
    first17 = f"370811{born:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def disease(id_number: str) -> dict[str, object]:
    return {
        "diagnosis_id": f"ZYB-{uuid.uuid4().hex[:12]}",
        "diagnosed_on": "2021-06-01",
        "patient_id_number": id_number,
        "patient_name": "张伟",
        "category": 1,
        "disease": "矽肺",
        "employer": {"name": "济宁运河置业有限公司", "uscc": "91370811MA3AY4C041"},
        "division_code": "370811",
        "institution": "济宁市职业病防治院",
    }


@pytest.fixture
async def services(kafka: LocalKafka, tmp_path: Path) -> AsyncIterator[Services]:
    with hub_processes(write_config(tmp_path / "hub.toml"), kafka.bootstrap, tmp_path) as hub:
        await hub.until_ready()
        yield hub


async def test_no_full_resident_id_number_anywhere(services: Services, kafka: LocalKafka) -> None:
    rng = random.Random(uuid.uuid4().int)
    numbers = [resident_id(rng) for _ in range(5)]
    bad = numbers[0][:17] + ("0" if numbers[0][17] != "0" else "1")  # wrong check character
    answers: list[str] = []
    bodies = [disease(n) for n in numbers] + [disease(numbers[1])]  # one patient twice
    base = services.url("incidents")
    async with httpx.AsyncClient(timeout=20, headers=bearer(HEALTH_TOKEN)) as http:
        for body in bodies:
            posted = await http.post(f"{base}/v1/diseases", json=body)
            assert posted.status_code == 201, posted.text
            answers.append(posted.text)
            read = await http.get(f"{base}/v1/diseases/{body['diagnosis_id']}")
            assert read.status_code == 200
            answers.append(read.text)
        refused = await http.post(f"{base}/v1/diseases", json=disease(bad))
        assert refused.status_code == 422
        answers.append(refused.text)

    records = {topic.name: await topic_records(kafka.bootstrap, topic.name) for topic in ALL_TOPICS}
    published = {r.value for r in records["diseases.v1"] if r.value}
    assert all(any(str(b["diagnosis_id"]).encode() in v for v in published) for b in bodies)
    services.stop_all()  # logs flushed, databases checkpointed and closed
    files = [p for p in services.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.suffix == ".log" for p in files)

    masked = f"{numbers[0][:6]}********{numbers[0][-4:]}"
    assert any(masked in a for a in answers)  # the search looks where the data is
    for number in [*numbers, bad]:
        needle = number.encode()
        assert not [a for a in answers if number in a], f"an API answer holds {number}"
        for name, topic in records.items():
            for r in topic:
                held = [r.key or b"", r.value or b"", *(v or b"" for _k, v in r.headers)]
                assert not any(needle in part for part in held), f"{name} holds {number}"
        for path in files:
            assert needle not in path.read_bytes(), f"{path.name} holds {number}"
