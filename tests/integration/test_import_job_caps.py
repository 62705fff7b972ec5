"""Enterprise imports running at once are capped per client and overall: one more is
refused with 429 problem+json before its body is read."""

from __future__ import annotations

import uuid
from pathlib import Path

from enrollment.tables import ImportJob
from hub_shared.runtime import ServiceRuntime
from tests.support.asgi import call
from tests.support.hub import AGENCY_TOKEN, COUNTY_AGENCY_TOKEN, running, settings_for, write_config

CAPS = "\n[imports]\njobs_per_client = 1\njobs_overall = 2\n"
CSV_HEADERS = [("Content-Type", "text/csv")]


async def test_a_client_over_its_cap_and_everyone_over_the_overall_cap_get_429(
    tmp_path: Path,
) -> None:
    from enrollment.app import create_app

    config = write_config(tmp_path / "hub.toml")
    config.write_text(config.read_text(encoding="utf-8") + CAPS, encoding="utf-8")
    settings = settings_for(
        "enrollment",
        config=config,
        bootstrap="127.0.0.1:9",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'enrollment.db'}",
        data_dir=tmp_path,
    )
    app = create_app(settings)
    body = [b"uscc,name,division_code,industry_code,employees\r\n"]
    async with running(app):
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.sessions() as session, session.begin():
            session.add(
                ImportJob(
                    import_id=str(uuid.uuid4()),
                    client_id="agency",
                    media_type="text/csv",
                    status="running",
                )
            )
        agency = [("Authorization", f"Bearer {AGENCY_TOKEN}"), *CSV_HEADERS]
        county = [("Authorization", f"Bearer {COUNTY_AGENCY_TOKEN}"), *CSV_HEADERS]
        over_own = await call(app, "POST", "/v1/enterprises:import", agency, body)
        async with runtime.sessions() as session, session.begin():
            session.add(
                ImportJob(
                    import_id=str(uuid.uuid4()),
                    client_id="someone-else",
                    media_type="text/csv",
                    status="running",
                )
            )
        over_all = await call(app, "POST", "/v1/enterprises:import", county, body)

    assert (over_own.status, over_own.reads) == (429, 0)
    assert over_own.headers["content-type"] == "application/problem+json"
    assert "agency already runs 1 enterprise imports" in over_own.json()["detail"]
    assert (over_all.status, over_all.reads) == (429, 0)
    assert "the service already runs 2" in over_all.json()["detail"]
    assert over_all.headers["retry-after"] == "30"
