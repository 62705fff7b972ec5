"""The topic registry: every Kafka topic of docs/interfaces.md §9 and the events it carries."""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPE_PREFIX = "cn.gov.jining.hub."


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    events: tuple[str, ...]


PERMITS = Topic("permits.v1", "permit_no", ("permit.issued", "permit.amended"))
ENTERPRISES = Topic("enterprises.v1", "uscc", ("enterprise.registered", "enterprise.updated"))
ENROLLMENTS = Topic(
    "enrollments.v1", "employer uscc", ("enrollment.registered", "enrollment.terminated")
)
FINDINGS = Topic("findings.v1", "uscc", ("enterprise.uninsured",))
ACCIDENTS = Topic("accidents.v1", "employer uscc", ("accident.reported",))
DISEASES = Topic("diseases.v1", "employer uscc", ("disease.diagnosed",))
ALERTS = Topic("alerts.v1", "alert_id", ("alert.raised", "alert.resolved", "alert.acknowledged"))
DEADLETTER = Topic("deadletter.v1", "original key", ())
# Each service's audit chain head, published regularly: a database rewritten after the fact
# disagrees with what was published (hub_shared.audit).
AUDIT = Topic("audit.v1", "chain: <consumer group prefix>-<service>", ("audit.head",))

ALL_TOPICS: tuple[Topic, ...] = (
    PERMITS,
    ENTERPRISES,
    ENROLLMENTS,
    FINDINGS,
    ACCIDENTS,
    DISEASES,
    ALERTS,
    DEADLETTER,
    AUDIT,
)

_TOPIC_OF_EVENT = {event: topic for topic in ALL_TOPICS for event in topic.events}


def event_type(name: str) -> str:
    """The CloudEvents `type` of an event name, e.g. `permit.issued`."""
    return EVENT_TYPE_PREFIX + name


def event_name(ce_type: str) -> str:
    """The event name of a CloudEvents `type`; unknown prefixes are returned as they are."""
    return ce_type.removeprefix(EVENT_TYPE_PREFIX)


def topic_of(name: str) -> Topic:
    """The topic that carries an event name; KeyError for an unregistered name."""
    return _TOPIC_OF_EVENT[name]
