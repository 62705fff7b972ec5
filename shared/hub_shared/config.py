"""Configuration: the TOML file of docs/interfaces.md §2 plus `HUB_` environment overrides.

Every service builds one `ServiceSettings` at start-up (never at import time) and passes
it on. Nothing else reads the environment.
"""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub_shared.config_safety import refuse_unsafe
from hub_shared.domain.industries import KEY_INDUSTRIES_BY_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]

ServiceName = Literal["permit-ingest", "enrollment", "incidents", "notifier"]
DEFAULT_PORTS: dict[str, int] = {
    "permit-ingest": 8001,
    "enrollment": 8002,
    "incidents": 8003,
    "notifier": 8004,
}


def _check_webhook_secret(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value().removeprefix("whsec_")
    try:
        decoded = base64.b64decode(raw + "==", validate=False)
    except ValueError as exc:
        raise ValueError("webhook secret must be whsec_ followed by base64") from exc
    if len(decoded) < 16:
        raise ValueError("webhook secret must decode to at least 16 bytes")
    return value


WebhookSecret = Annotated[SecretStr, AfterValidator(_check_webhook_secret)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaConfig(_Frozen):
    bootstrap: str = "127.0.0.1:9092"
    partitions: int = Field(default=6, ge=1, le=256)


class MatchingConfig(_Frozen):
    grace_seconds: float = Field(default=86400, ge=0)
    scan_interval_seconds: float = Field(default=1.0, gt=0)
    # A project enrollment without matching identifiers covers a permit of the same contractor
    # when their project names score at least this (0–1; see enrollment/name_match.py).
    name_threshold: float = Field(default=0.85, ge=0.5, le=1.0)
    # Records the matcher applies as one set (one transaction) at most: larger batches cost
    # fewer round trips per event when a backlog is read, a small one changes nothing live.
    batch_size: int = Field(default=2000, ge=1, le=10000)


class DeliveryConfig(_Frozen):
    retry_schedule_seconds: tuple[float, ...] = (5, 30, 120, 600, 1800, 7200, 18000, 36000)
    timeout_seconds: float = Field(default=15, gt=0)
    jitter_ratio: float = Field(default=0.1, ge=0, le=1)
    # Circuit breaker per office endpoint (notifier): open after this many consecutive
    # failures, probe after breaker_open_seconds (doubling up to breaker_max_open_seconds),
    # and once a probe succeeds drain the backlog at most drain_rate_per_second.
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_open_seconds: float = Field(default=30, gt=0)
    breaker_max_open_seconds: float = Field(default=600, gt=0)
    drain_rate_per_second: float = Field(default=50, gt=0)
    # An endpoint failing without a break for this long is disabled (3 days by default:
    # an office down for a day still gets everything), with an operational alert.
    disable_after_seconds: float = Field(default=259200, gt=0)


class GoalsConfig(_Frozen):
    """The plan's goals tracked by incidents: inspection deadlines and training coverage."""

    # How often open inspection findings are checked against their deadlines.
    overdue_scan_interval_seconds: float = Field(default=60.0, gt=0)
    # The day of each year ("MM-DD") on which `training_gap` alerts are raised.
    training_gap_alert_on: str = Field(
        default="10-01", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
    )
    training_scan_interval_seconds: float = Field(default=3600.0, gt=0)


class IngestConfig(_Frozen):
    # Permits one NDJSON batch may hold (POST /v1/permits:batch): more is refused with 413.
    batch_max_lines: int = Field(default=10000, ge=1)


class AuditConfig(_Frozen):
    # The exchange audit trail (hub_shared.audit): entries are appended in batches at most
    # this often, the chain head is published on audit.v1 at most this often (when it
    # moved), and entries older than retention_days are pruned (0 keeps them forever).
    flush_interval_seconds: float = Field(default=0.2, gt=0)
    head_interval_seconds: float = Field(default=60, gt=0)
    retention_days: float = Field(default=0, ge=0)
    prune_interval_seconds: float = Field(default=3600, gt=0)


# Standard Webhooks' replay window: a signature older than this is refused (webhooks.py).
WEBHOOK_REPLAY_WINDOW_SECONDS = 300


class RetentionConfig(_Frozen):
    """How long the bookkeeping tables keep rows, pruned every `interval_seconds`.

    The inbox must remember an event id as long as the topic can hand the event back (a
    consumer group reset to the earliest offset), so `inbox_days` is at least `topic_days`;
    a webhook receipt must outlive the signature replay window, and the sources' retries."""

    interval_seconds: float = Field(default=3600, gt=0)
    topic_days: float = Field(default=365, gt=0)  # the topics' retention.ms (deploy/k8s)
    inbox_days: float = Field(default=400, gt=0)
    outbox_sent_days: float = Field(default=7, ge=0)  # parked rows are kept until handled
    webhook_receipt_days: float = Field(default=30, gt=0)
    batch_size: int = Field(default=5000, ge=1, le=100000)

    @model_validator(mode="after")
    def _outlive_what_can_come_again(self) -> RetentionConfig:
        if self.inbox_days < self.topic_days:
            raise ValueError(
                f"retention.inbox_days ({self.inbox_days}) must be at least "
                f"retention.topic_days ({self.topic_days}): a replayed topic would apply "
                "events twice"
            )
        if self.webhook_receipt_days * 86400 < WEBHOOK_REPLAY_WINDOW_SECONDS:
            raise ValueError(
                "retention.webhook_receipt_days must outlast the webhook replay window "
                f"({WEBHOOK_REPLAY_WINDOW_SECONDS} s)"
            )
        return self


class StreamsConfig(_Frozen):
    """Live alert streams (notifier): open at once per office or client and in all, and
    how far back a Last-Event-ID is replayed (older ones resume at the window's start)."""

    per_holder: int = Field(default=5, ge=1)
    overall: int = Field(default=500, ge=1)
    replay_seconds: float = Field(default=86400, gt=0)


class ImportsConfig(_Frozen):
    """Enterprise imports (enrollment) running at once, per client and in all; more get
    429 before their body is read."""

    jobs_per_client: int = Field(default=2, ge=1)
    jobs_overall: int = Field(default=4, ge=1)


class LimitsConfig(_Frozen):
    """Attempts per client address and minute; more get 429 until the minute has passed."""

    sign_ins_per_minute: int = Field(default=30, ge=1)
    failed_auth_per_minute: int = Field(default=20, ge=1)


class SourceConfig(_Frozen):
    id: str
    kind: Literal["permits", "training"]
    secret: WebhookSecret
    division_aliases: dict[str, str] = Field(default_factory=dict)


class ClientConfig(_Frozen):
    id: str
    token: SecretStr
    scopes: tuple[str, ...]
    divisions: tuple[str, ...]


class OfficeConfig(_Frozen):
    id: str
    name: str = ""
    divisions: tuple[str, ...]
    # A subscriber is a social-security office (every alert of its divisions) or an
    # industry regulator (e.g. 住建局): the permits of its divisions and industries, and the
    # rectification_overdue alerts of findings its department owns.
    kind: Literal["office", "regulator"] = "office"
    department: str | None = None  # a regulator's department code ("housing", ...)
    industries: tuple[str, ...] = ()  # a regulator's key industries ("construction", ...)
    webhook_url: str | None = None
    webhook_secret: WebhookSecret | None = None
    # During a secret rotation: the secret being retired. Webhooks then carry two
    # signatures, the new secret's first, until this is removed.
    webhook_secret_previous: WebhookSecret | None = None
    token: SecretStr

    @model_validator(mode="after")
    def _secret_with_url(self) -> OfficeConfig:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(f"office {self.id}: webhook_url needs webhook_secret")
        if self.webhook_secret_previous is not None and self.webhook_secret is None:
            raise ValueError(f"office {self.id}: webhook_secret_previous needs webhook_secret")
        if self.kind == "regulator" and not (self.department and self.webhook_url):
            raise ValueError(f"regulator {self.id}: needs department and webhook_url")
        unknown = sorted(set(self.industries) - set(KEY_INDUSTRIES_BY_KEY))
        if unknown:
            raise ValueError(f"office {self.id}: unknown key industries {', '.join(unknown)}")
        return self


class HubConfig(_Frozen):
    """The parsed TOML configuration file."""

    kafka: KafkaConfig = KafkaConfig()
    matching: MatchingConfig = MatchingConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    ingest: IngestConfig = IngestConfig()
    audit: AuditConfig = AuditConfig()

    goals: GoalsConfig = GoalsConfig()
    retention: RetentionConfig = RetentionConfig()
    limits: LimitsConfig = LimitsConfig()
    streams: StreamsConfig = StreamsConfig()
    imports: ImportsConfig = ImportsConfig()
    sources: tuple[SourceConfig, ...] = ()
    clients: tuple[ClientConfig, ...] = ()
    offices: tuple[OfficeConfig, ...] = ()

    @model_validator(mode="after")
    def _unique_ids_and_tokens(self) -> HubConfig:
        tokens = [c.token.get_secret_value() for c in self.clients] + [
            o.token.get_secret_value() for o in self.offices
        ]
        if len(tokens) != len(set(tokens)):
            raise ValueError("every client and office needs its own token")
        for kind, ids in (
            ("source", [s.id for s in self.sources]),
            ("client", [c.id for c in self.clients]),
            ("office", [o.id for o in self.offices]),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {kind} id")
        return self


def load_hub_config(path: Path) -> HubConfig:
    """Read and validate the TOML file; raises ValueError with the file name on any fault."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read configuration {path}: {exc}") from exc
    return HubConfig.model_validate(raw)


class EnvSettings(BaseSettings):
    """The `HUB_` environment variables (docs/interfaces.md, "Environment variables")."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    config: Path = REPO_ROOT / "config" / "local.toml"
    data_dir: Path = Path("./var")
    kafka_bootstrap: str | None = None
    database_url: str | None = None
    permit_ingest_port: int = DEFAULT_PORTS["permit-ingest"]
    enrollment_port: int = DEFAULT_PORTS["enrollment"]
    incidents_port: int = DEFAULT_PORTS["incidents"]
    notifier_port: int = DEFAULT_PORTS["notifier"]
    permit_ingest_database_url: str | None = None
    enrollment_database_url: str | None = None
    incidents_database_url: str | None = None
    notifier_database_url: str | None = None
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    # "production" (and anything but "local") refuses unsafe settings (config_safety).
    profile: Literal["local", "production"] = "local"
    # Browsers reach the hub over https (a TLS proxy in front): cookies are then Secure
    # whatever scheme the proxy forwards with.
    served_over_https: bool = False
    pii_key: SecretStr | None = None
    consumer_group_prefix: str = "hub"
    # Where a consumer group without committed offsets starts. "earliest" (the default) loses
    # nothing; "latest" is for a throwaway group that only cares about what comes next.
    consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    # A consumer retrying one record for longer than this is reported stuck (/readyz, metrics).
    consumer_stuck_seconds: float = Field(default=30.0, gt=0)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL"] = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    # OpenTelemetry's own variable (no HUB_ prefix): tracing is on when it is set.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )


class KafkaTls(BaseModel):
    """Mutual TLS to the cluster (Strimzi's tls listener with a KafkaUser certificate)."""

    model_config = ConfigDict(frozen=True)

    cafile: Path
    certfile: Path | None = None
    keyfile: Path | None = None


class ServiceSettings(BaseModel):
    """One service's resolved settings: environment first, then the TOML file."""

    model_config = ConfigDict(frozen=True)

    service: ServiceName
    hub: HubConfig
    data_dir: Path
    kafka_bootstrap: str
    database_url: str
    host: str
    port: int
    log_level: str
    pii_key: SecretStr | None
    profile: Literal["local", "production"] = "local"
    served_over_https: bool = False
    consumer_group_prefix: str = "hub"
    consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    consumer_stuck_seconds: float = 30.0
    kafka_tls: KafkaTls | None = None
    otel_endpoint: str | None = None  # OTLP/HTTP base URL; None: tracing off

    @classmethod
    def load(cls, service: ServiceName, env: EnvSettings | None = None) -> ServiceSettings:
        env = env or EnvSettings()
        hub = load_hub_config(env.config)
        slug = service.replace("-", "_")
        data_dir = env.data_dir.resolve()
        database_url = (
            getattr(env, f"{slug}_database_url")
            or env.database_url
            or f"sqlite+aiosqlite:///{data_dir / (slug + '.db')}"
        )
        settings = cls(
            service=service,
            hub=hub,
            data_dir=data_dir,
            kafka_bootstrap=env.kafka_bootstrap or hub.kafka.bootstrap,
            database_url=database_url,
            host=env.host,
            port=getattr(env, f"{slug}_port"),
            log_level=env.log_level,
            pii_key=env.pii_key,
            profile=env.profile,
            served_over_https=env.served_over_https,
            consumer_group_prefix=env.consumer_group_prefix,
            consumer_offset_reset=env.consumer_offset_reset,
            consumer_stuck_seconds=env.consumer_stuck_seconds,
            kafka_tls=_kafka_tls(env),
            otel_endpoint=env.otel_exporter_otlp_endpoint,
        )
        refuse_unsafe(settings)
        return settings


def _kafka_tls(env: EnvSettings) -> KafkaTls | None:
    if env.kafka_security_protocol == "PLAINTEXT":
        return None
    if env.kafka_ssl_cafile is None:
        raise ValueError("HUB_KAFKA_SECURITY_PROTOCOL=SSL needs HUB_KAFKA_SSL_CAFILE")
    return KafkaTls(
        cafile=env.kafka_ssl_cafile, certfile=env.kafka_ssl_certfile, keyfile=env.kafka_ssl_keyfile
    )
