"""The notifier's alert state and delivery queue against a real database, without the
broker: which state wins, which transitions queue webhooks, how due deliveries are
claimed, and how outcomes move them on."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from hub_shared.config import DeliveryConfig, OfficeConfig
from hub_shared.messaging.events import AlertData
from hub_shared.storage.db import SessionFactory, create_tables, make_engine, make_sessions
from hub_shared.web.auth import Principal
from notifier.delivery.endpoints import track_health
from notifier.delivery.store import Claimed, Outcome, claim_due, record_outcomes
from notifier.inbox.alert_state import (
    AlertBatch,
    alert_json,
    apply_alert_event,
    insert_deliveries,
)
from notifier.inbox.service import get_visible
from notifier.tables import TABLES, Delivery, DeliveryAttempt, Endpoint, NotifierAlert

SECRET = SecretStr("whsec_" + base64.b64encode(b"store-test-secret-0123456789").decode())
OFFICES = (
    OfficeConfig(id="city", divisions=("370800",), webhook_url="http://127.0.0.1:9/city",
                 webhook_secret=SECRET, token=SecretStr("t-city")),
    OfficeConfig(id="rencheng", divisions=("370811",), webhook_url="http://127.0.0.1:9/rc",
                 webhook_secret=SECRET, token=SecretStr("t-rc")),
    OfficeConfig(id="yutai", divisions=("370827",), token=SecretStr("t-yt")),
)  # fmt: skip
ENDPOINTS = {o.id: o.webhook_url or "" for o in OFFICES if o.webhook_url}
T0 = datetime(2021, 3, 16, 9, 30, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = make_engine(database_url)
    await create_tables(engine, TABLES)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


def alert(alert_id: str, status: str = "open", **extra: Any) -> AlertData:
    return AlertData.model_validate(
        {
            "alert_id": alert_id,
            "kind": "project_not_enrolled",
            "status": status,
            "division_code": "370811",
            "subject": {"uscc": "91370812MA3L12T073", "name": "山东鲁班建设集团有限公司"},
            "reason": "未找到按项目参保记录",
            "raised_at": T0.isoformat(),
            **extra,
        }
    )


async def apply(sessions: SessionFactory, name: str, data: AlertData, at: datetime) -> int:
    async with sessions() as session, session.begin():
        batch = AlertBatch()
        queued = await apply_alert_event(
            session, batch, name=name, alert=data, event_time=at, offices=OFFICES
        )
        await insert_deliveries(session, batch)
        return queued


async def deliveries(sessions: SessionFactory, alert_id: str) -> list[Delivery]:
    async with sessions() as session:
        query = (
            select(Delivery).where(col(Delivery.alert_id) == alert_id).order_by(col(Delivery.id))
        )
        return list((await session.exec(query)).all())


async def test_each_transition_queues_one_webhook_per_covering_office(
    sessions: SessionFactory,
) -> None:
    alert_id = str(uuid.uuid4())
    assert await apply(sessions, "alert.raised", alert(alert_id), T0) == 2  # city + Rencheng
    assert await apply(sessions, "alert.raised", alert(alert_id), T0 + timedelta(seconds=1)) == 0
    closed = alert(alert_id, "resolved", resolution="SI-1", resolved_at=T0.isoformat())
    assert await apply(sessions, "alert.resolved", closed, T0 + timedelta(seconds=2)) == 2
    assert await apply(sessions, "alert.resolved", closed, T0 + timedelta(seconds=3)) == 0
    assert await apply(sessions, "alert.acknowledged", closed, T0 + timedelta(seconds=4)) == 0
    rows = await deliveries(sessions, alert_id)
    assert [(d.office_id, d.event_name) for d in rows] == [
        ("city", "alert.raised"), ("rencheng", "alert.raised"),
        ("city", "alert.resolved"), ("rencheng", "alert.resolved"),
    ]  # fmt: skip
    assert len({d.event_id for d in rows}) == 4


async def test_a_late_ack_is_kept_even_when_its_state_is_older(sessions: SessionFactory) -> None:
    alert_id = str(uuid.uuid4())
    closed = alert(alert_id, "resolved", resolution="SI-1", resolved_at=T0.isoformat())
    await apply(sessions, "alert.resolved", closed, T0 + timedelta(hours=1))
    acked = alert(alert_id, acknowledged_at=T0.isoformat(), acknowledged_by="rencheng")
    assert await apply(sessions, "alert.acknowledged", acked, T0 + timedelta(hours=2)) == 0
    async with sessions() as session:
        row = await session.get_one(NotifierAlert, alert_id)
    assert row.status == "resolved"
    assert alert_json(row)["resolution"] == "SI-1"
    assert row.acknowledged_by == "rencheng"
    assert row.acknowledged_at == T0


def _claimed(d: Delivery) -> Claimed:
    assert d.id is not None
    return Claimed(d.id, d.event_id, d.office_id, d.alert_id, d.body, d.attempts)


async def claim(sessions: SessionFactory, limit: int = 50, **busy: int) -> list[Claimed]:
    async with sessions() as session, session.begin():
        return await claim_due(
            session,
            quota={office: 3 - busy.get(office, 0) for office in ENDPOINTS},
            limit=limit,
            lease_seconds=60,
            owner="test",
        )


async def test_claims_skip_later_events_leased_rows_and_busy_offices(
    sessions: SessionFactory,
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await apply(sessions, "alert.raised", alert(first), T0)
    await apply(sessions, "alert.resolved", alert(first, "resolved"), T0 + timedelta(seconds=1))
    await apply(sessions, "alert.raised", alert(second), T0)

    taken = await claim(sessions)
    assert sorted((c.alert_id == first, c.office_id) for c in taken) == [
        (False, "city"), (False, "rencheng"), (True, "city"), (True, "rencheng"),
    ]  # fmt: skip  # the resolves of `first` wait behind its raises
    assert all("alert.raised" in c.body for c in taken)
    assert await claim(sessions) == []  # leased
    assert await claim(sessions, city=3, rencheng=3) == []


async def test_outcomes_move_deliveries_on_and_a_410_disables_the_office(
    sessions: SessionFactory,
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for alert_id in ids:
        await apply(sessions, "alert.raised", alert(alert_id), T0)
    taken = {(c.alert_id, c.office_id): c for c in await claim(sessions)}
    now = datetime.now(UTC)
    config = DeliveryConfig(retry_schedule_seconds=(10,), timeout_seconds=1, jitter_ratio=0)
    outcomes = [
        Outcome(taken[(ids[0], "city")], now, 5.0, status_code=204),
        Outcome(taken[(ids[1], "city")], now, 5.0, status_code=503),
        Outcome(taken[(ids[0], "rencheng")], now, 5.0, status_code=410),
        Outcome(taken[(ids[1], "rencheng")], now, 5.0, error="ConnectError: refused"),
    ]
    async with sessions() as session, session.begin():
        due = await record_outcomes(session, outcomes, delivery=config)
        await track_health(session, outcomes, offices=OFFICES, delivery=config)
    assert due is not None and 9 <= (due - now).total_seconds() <= 11

    status = {(d.alert_id, d.office_id): (d.status, d.attempts) for a in ids
              for d in await deliveries(sessions, a)}  # fmt: skip
    assert status[(ids[0], "city")] == ("delivered", 1)
    assert status[(ids[1], "city")] == ("pending", 1)
    assert status[(ids[0], "rencheng")] == ("disabled", 1)
    assert status[(ids[1], "rencheng")] == ("disabled", 1)  # its failure cannot revive it
    assert status[(ids[2], "rencheng")] == ("disabled", 0)  # never tried: the office is gone
    async with sessions() as session:
        endpoint = await session.get_one(Endpoint, "rencheng")
        logged = (await session.exec(select(DeliveryAttempt))).all()
    assert endpoint.disabled_at is not None and endpoint.webhook_url == ENDPOINTS["rencheng"]
    assert sorted((a.status_code or 0, a.error or "") for a in logged) == [
        (0, "ConnectError: refused"), (204, ""), (410, ""), (503, ""),
    ]  # fmt: skip

    # A POST that was in flight when the 410 came fails later: the delivery stays disabled.
    async with sessions() as session, session.begin():
        late_failure = [Outcome(taken[(ids[2], "rencheng")], now, 5.0, status_code=500)]
        await record_outcomes(session, late_failure, delivery=config)
        await track_health(session, late_failure, offices=OFFICES, delivery=config)
    [in_flight] = [d for d in await deliveries(sessions, ids[2]) if d.office_id == "rencheng"]
    assert (in_flight.status, in_flight.attempts) == ("disabled", 1)

    # A new alert for a disabled office is recorded as disabled, not queued.
    late = str(uuid.uuid4())
    await apply(sessions, "alert.raised", alert(late), T0)
    assert {d.office_id: d.status for d in await deliveries(sessions, late)} == {
        "city": "pending", "rencheng": "disabled",
    }  # fmt: skip
    rencheng = Principal("rencheng", "office", frozenset({"alerts:read"}), ("370811",))
    async with sessions() as session:
        assert (await get_visible(session, principal=rencheng, alert_id=late)).status == "open"
