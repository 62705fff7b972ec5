"""The incidents service: accident and disease intake, key-industry statistics."""

from __future__ import annotations

from fastapi import FastAPI

from hub_shared.config import ServiceSettings
from hub_shared.messaging.topics import ENROLLMENTS, ENTERPRISES
from hub_shared.runtime import ServiceRuntime
from hub_shared.service_app import build_app
from hub_shared.web.web_sessions import expired_rule
from incidents import api, consumers
from incidents.evaluation import routes as evaluation
from incidents.inspections import overdue
from incidents.inspections import routes as inspections
from incidents.pii import PiiKey
from incidents.reports import routes as reports
from incidents.tables import SCHEMA
from incidents.training import gaps, roster_import
from incidents.training import routes as training

DESCRIPTION = (
    "Accident reports (emergency management) and occupational-disease diagnoses (health "
    "commission) in, `accident.reported` and `disease.diagnosed` out; a projection of "
    "enterprises and enrollments; the key-industry table of the plan (重点行业企业基本情况表)."
)


def create_app(settings: ServiceSettings) -> FastAPI:
    pii = PiiKey(settings.pii_key)  # fails fast on a key that is too short
    runtime = ServiceRuntime(settings, schema=SCHEMA)
    runtime.pruner.add(expired_rule())
    runtime.add_consumer(
        name="projection",
        topics=[ENTERPRISES.name, ENROLLMENTS.name],
        handler=consumers.apply_event,
    )

    runtime.add_worker(
        "overdue-findings",
        overdue.scanner(
            runtime.sessions,
            source=runtime.source,
            interval=settings.hub.goals.overdue_scan_interval_seconds,
            notify=runtime.relay.notify,
        ),
    )
    goals = settings.hub.goals
    runtime.add_worker(
        "training-gaps",
        gaps.scanner(
            runtime.sessions,
            source=runtime.source,
            month_day=goals.training_gap_alert_on,
            interval=goals.training_scan_interval_seconds,
            notify=runtime.relay.notify,
        ),
    )

    async def load_pii_key() -> None:
        await pii.load(runtime.sessions)

    return build_app(
        title="Work-injury hub: incidents",
        description=DESCRIPTION,
        runtime=runtime,
        routers=[
            api.router,
            reports.router,
            inspections.router,
            training.router,
            roster_import.router,
            evaluation.router,
        ],
        state={"pii": pii},
        on_start=[load_pii_key],
    )
