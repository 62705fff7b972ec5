"""Import jobs cut off by a restart, against the real broker and database: a job its killed
process left running (its heartbeat recent, so not yet stale) is reported failed soon after
the service starts again, saying that applied batches stay and to re-submit; a job another
live replica runs, still beating, is left running. Both the enterprise import (enrollment)
and the key-personnel import (incidents)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import SQLModel, col

from enrollment.app import create_app as enrollment_app
from enrollment.tables import ImportJob
from hub_shared import clock
from hub_shared.import_jobs import jobs
from hub_shared.runtime import ServiceRuntime
from hubtools.kafka import LocalKafka
from incidents.app import create_app as incidents_app
from incidents.training.import_tables import IncidentsRosterImport
from tests.support.hub import AGENCY_TOKEN, bearer, running, settings_for, wait_for, write_config

TRAINER = "restart-trainer-token"
GRACE_SECONDS = 1.0  # instead of 30 s; the live job below beats far more often than this


@dataclass(frozen=True)
class Kind:
    service: str
    build: Callable[[Any], FastAPI]
    job: type[SQLModel]
    path: str
    token: str
    client_id: str


KINDS = [
    Kind(
        "enrollment", enrollment_app, ImportJob, "/v1/enterprises/imports", AGENCY_TOKEN, "agency"
    ),
    Kind(
        "incidents",
        incidents_app,
        IncidentsRosterImport,
        "/v1/key-personnel/imports",
        TRAINER,
        "restart-trainer",
    ),
]


def _config(path: Path) -> Path:
    write_config(path)
    with path.open("a", encoding="utf-8") as out:
        out.write(
            f"""
[[clients]]
id = "restart-trainer"
token = "{TRAINER}"
scopes = ["training:write"]
divisions = ["370800"]
"""
        )
    return path


def _service(
    kind: Kind, kafka: LocalKafka, database_url: str, tmp_path: Path
) -> Callable[[], AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]:
    config = _config(tmp_path / "hub.toml")

    @asynccontextmanager
    async def start() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        settings = settings_for(
            kind.service,  # type: ignore[arg-type]
            config=config,
            bootstrap=kafka.bootstrap,
            database_url=database_url,
            data_dir=tmp_path,
        )
        app = kind.build(settings)
        async with running(app) as client:
            yield app, client

    return start


def _running_job(kind: Kind) -> SQLModel:
    """A job as its process leaves it when killed mid-import: running, its last heartbeat
    a moment ago (so not stale), no end."""
    return kind.job(
        import_id=str(uuid.uuid4()),
        client_id=kind.client_id,
        media_type="text/csv",
        status="running",
        rows_total=5000,
        rows_done=2000,
        created=2000,
    )


@pytest.mark.parametrize("kind", KINDS, ids=[k.service for k in KINDS])
async def test_a_job_cut_off_by_a_restart_is_reported_failed_and_a_live_one_is_not(
    kind: Kind,
    kafka: LocalKafka,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "RESTART_GRACE_SECONDS", GRACE_SECONDS)
    start = _service(kind, kafka, database_url, tmp_path)
    killed, live = _running_job(kind), _running_job(kind)
    killed_id, live_id = killed.import_id, live.import_id  # type: ignore[attr-defined]
    async with start() as (app, _client):
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.sessions() as session, session.begin():
            session.add_all([killed, live])
    job = kind.job.__table__  # type: ignore[attr-defined]

    async with start() as (app, client):
        runtime = app.state.runtime

        async def beat_live_job() -> None:
            """The live replica's heartbeat, as its job's task writes it."""
            async with runtime.sessions() as session, session.begin():
                query = update(job).where(col(job.c.import_id) == live_id)
                await session.execute(query.values(heartbeat_at=clock.now()))

        async def report(import_id: str) -> dict[str, Any]:
            answer = await client.get(f"{kind.path}/{import_id}", headers=bearer(kind.token))
            assert answer.status_code == 200, answer.text
            found: dict[str, Any] = answer.json()
            return found

        async def killed_job_failed() -> dict[str, Any]:
            await beat_live_job()  # the other replica goes on beating meanwhile
            found = await report(killed_id)
            return found if found["status"] != "running" else {}

        ended = await wait_for(killed_job_failed, timeout=30, what="the killed job failed")
        still = await report(live_id)

    assert (ended["status"], ended["message"]) == ("failed", jobs.RESTARTED)
    assert "batches already applied stay applied; re-submit" in ended["message"]
    assert ended["finished_at"] is not None
    assert (ended["rows_done"], ended["created"]) == (2000, 2000)  # its batches stay
    assert (still["status"], still["message"], still["finished_at"]) == ("running", None, None)
