"""The demo data of the plan's goals goes through the real incidents API (signed webhooks
included) without one refusal."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

from hub_shared import clock
from hubtools.demo_goals import goal_calls
from hubtools.kafka import LocalKafka
from incidents.app import create_app as incidents_app
from tests.support.hub import running, settings_for
from tests.support.hub import write_config as hub_config

STAFF, HEALTH = "demo-staff-token", "demo-health-token"
SECRET = "whsec_" + base64.b64encode(b"demo-training-platform-secret").decode()


async def test_the_demo_loads_without_a_refusal(
    kafka: LocalKafka, sqlite_url: str, tmp_path: Path
) -> None:
    config = hub_config(tmp_path / "hub.toml")
    with config.open("a", encoding="utf-8") as out:
        out.write(f"""
[[sources]]
id = "academy"
kind = "training"
secret = "{SECRET}"

[[clients]]
id = "demo-staff"
token = "{STAFF}"
scopes = ["training:write", "inspections:write", "reports:read"]
divisions = ["370800"]

[[clients]]
id = "demo-health"
token = "{HEALTH}"
scopes = ["diseases:write"]
divisions = ["370800"]
""")
    settings = settings_for(
        "incidents", config=config, bootstrap=kafka.bootstrap, database_url=sqlite_url,
        data_dir=tmp_path,
    )  # fmt: skip
    phases = goal_calls(
        60, 3, incidents_url="", health=HEALTH, staff=STAFF, platform=("academy", SECRET),
        today=clock.today(),
    )  # fmt: skip
    outcomes: Counter[int] = Counter()
    async with running(incidents_app(settings)) as client:
        for calls in phases.values():
            for call in calls:
                raw = json.dumps(call.body, ensure_ascii=False).encode()
                headers = (
                    call.signer(raw)
                    if call.signer
                    else {
                        "Authorization": f"Bearer {call.token}",
                        "Content-Type": "application/json",
                    }
                )
                answer = await client.post(call.url, content=raw, headers=headers)
                assert answer.status_code in (200, 201), (call.url, answer.text)
                outcomes[answer.status_code] += 1
        coverage = await client.get(
            "/v1/reports/training-coverage", params={"division_code": "370800"},
            headers={"Authorization": f"Bearer {STAFF}"},
        )  # fmt: skip
    total = coverage.json()["total"]
    assert total["key_personnel"] == len(phases["重点人员"])
    assert total["trained"] <= len(phases["培训"])
