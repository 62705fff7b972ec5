"""Every webhook delivery attempt in the audit trail: to which office, which alert, a
SHA-256 of the body sent, and what came back (a status code, an error kind, or a probe)."""

from __future__ import annotations

import hashlib

from prometheus_client import CollectorRegistry

from hub_shared.audit.trail import AuditTrail
from notifier.delivery.attempt import DeliveryMetrics
from notifier.delivery.store import Outcome


def outcome_of(o: Outcome) -> str:
    if o.status_code is not None:
        return str(o.status_code)
    return "probe-error" if o.probe else "error"


class AuditedDeliveryMetrics(DeliveryMetrics):
    """The delivery worker reports each attempt here once: counted, timed and audited."""

    def __init__(self, registry: CollectorRegistry, trail: AuditTrail) -> None:
        super().__init__(registry)
        self._trail = trail

    def observe(self, o: Outcome) -> None:
        super().observe(o)
        claimed = o.delivery
        self._trail.record(
            actor=f"office:{claimed.office_id}",
            operation="deliver webhook",
            resource=f"alert_id={claimed.alert_id};event_id={claimed.event_id}",
            content_hash=hashlib.sha256(claimed.body.encode()).hexdigest(),
            outcome=outcome_of(o),
        )
