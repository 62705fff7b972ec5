"""Which payload model each registered event carries: the topic registry (topics.py) and
the event models (events.py) joined, for documents generated from both (AsyncAPI)."""

from __future__ import annotations

from hub_shared.messaging import events
from hub_shared.messaging.events import EventData

EVENT_DATA: dict[str, type[EventData]] = {
    "permit.issued": events.PermitData,
    "permit.amended": events.PermitData,
    "enterprise.registered": events.EnterpriseData,
    "enterprise.updated": events.EnterpriseData,
    "enrollment.registered": events.EnrollmentData,
    "enrollment.terminated": events.EnrollmentData,
    "enterprise.uninsured": events.FindingData,
    "accident.reported": events.AccidentData,
    "disease.diagnosed": events.DiseaseData,
    "alert.raised": events.AlertData,
    "alert.resolved": events.AlertData,
    "alert.acknowledged": events.AlertData,
    "audit.head": events.AuditHeadData,
}
