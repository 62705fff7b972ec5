"""The services over mutual TLS to Kafka (HUB_KAFKA_SECURITY_PROTOCOL=SSL), as deployed
against Strimzi's `tls` listener: a real broker whose TLS listener requires a client
certificate, certificates from a throwaway CA (trustme)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from aiokafka.errors import KafkaConnectionError
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from enrollment.app import create_app as enrollment_app
from enrollment.matching.rebuild import rebuild
from hub_shared.config import EnvSettings, KafkaTls, ServiceName, ServiceSettings
from hub_shared.messaging.envelope import Envelope
from hub_shared.messaging.kafka import Producer, connection_options
from hubtools.kafka import BrokerTls, LocalKafka
from permit_ingest.app import create_app as ingest_app
from tests.support.hub import (
    encode,
    new_permit_no,
    payload,
    permit,
    running,
    signed,
    topic_records,
    wait_for,
    write_config,
)


@dataclass(frozen=True)
class Pki:
    ca: Path
    client_cert: Path
    client_key: Path
    stranger_ca: Path  # a CA the broker's certificate does not chain to
    broker: BrokerTls


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    here = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    broker = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("hub-enrollment")  # a KafkaUser's certificate, as Strimzi issues
    ca.cert_pem.write_to_path(str(here / "ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(here / "stranger.pem"))
    client.cert_chain_pems[0].write_to_path(str(here / "client.crt"))
    client.private_key_pem.write_to_path(str(here / "client.key"))
    # Kafka reads a PEM keystore's key as PKCS#8 (Java 17 cannot decrypt PBES2, what
    # `cryptography` encrypts with, so the test's key is left unencrypted).
    key = load_pem_private_key(broker.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    chain = b"".join(blob.bytes() for blob in broker.cert_chain_pems)
    (here / "broker.pem").write_bytes(pkcs8 + chain)
    return Pki(
        ca=here / "ca.pem",
        client_cert=here / "client.crt",
        client_key=here / "client.key",
        stranger_ca=here / "stranger.pem",
        broker=BrokerTls(
            keystore=here / "broker.pem", key_password=None, truststore=here / "ca.pem"
        ),
    )


@pytest.fixture(scope="module")
def tls_kafka(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[LocalKafka]:
    with LocalKafka(tmp_path_factory.mktemp("kafka-tls"), tls=pki.broker) as kafka:
        yield kafka


def _settings(
    service: ServiceName, kafka: LocalKafka, pki: Pki, config: Path, data_dir: Path
) -> ServiceSettings:
    """A service's settings as its Deployment gives them: the TLS bootstrap, the cluster CA
    and the KafkaUser's certificate and key from the environment."""
    env = EnvSettings(
        config=config,
        data_dir=data_dir,
        kafka_bootstrap=kafka.tls_bootstrap,
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=pki.ca,
        kafka_ssl_certfile=pki.client_cert,
        kafka_ssl_keyfile=pki.client_key,
        consumer_group_prefix=f"tls-{uuid.uuid4().hex[:8]}",
    )
    return ServiceSettings.load(service, env)


async def test_a_permit_becomes_an_alert_with_every_service_on_mutual_tls(
    tls_kafka: LocalKafka, pki: Pki, tmp_path: Path
) -> None:
    """permit-ingest publishes over TLS (its outbox relay); the matcher consumes over TLS and
    publishes its alert over TLS."""
    config = write_config(tmp_path / "hub.toml", grace_seconds=0)
    ingest = _settings("permit-ingest", tls_kafka, pki, config, tmp_path)
    matcher = _settings("enrollment", tls_kafka, pki, config, tmp_path)
    assert ingest.kafka_tls is not None and matcher.kafka_tls is not None
    permit_no = new_permit_no()
    async with running(enrollment_app(matcher)), running(ingest_app(ingest)) as client:
        body = encode(permit(permit_no))
        response = await client.post("/v1/permits", content=body, headers=signed(body))
        assert response.status_code == 202, response.text

        async def alert_published() -> list[dict[str, object]]:
            records = await topic_records(tls_kafka.bootstrap, "alerts.v1")
            return [
                p
                for p in map(payload, records)
                if p.get("kind") == "project_not_enrolled"
                and isinstance(p.get("subject"), dict)
                and p["subject"].get("permit_no") == permit_no
            ]

        alerts = await wait_for(alert_published, timeout=60, what="the alert over TLS")
    assert [a["status"] for a in alerts] == ["open"]
    # `hub replay` reads the topics over TLS too: it finds the alert and the permit.
    rebuilt = matcher.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"}
    )
    report = await rebuild(rebuilt)
    assert report.alerts_loaded >= 1 and report.events_applied >= 1
    assert report.staged == 0  # the alert was loaded as published: nothing sent twice


async def _publish_one(bootstrap: str, tls: KafkaTls) -> None:
    producer = Producer(
        bootstrap, client_id="tls-test", options=connection_options(tls), request_timeout_ms=5000
    )
    try:
        event = Envelope.new("permit.issued", source="/t", data={"x": 1}, key="k")
        await producer.publish_many([("permits.v1", event)])
    finally:
        await producer.stop()


async def test_the_clients_own_certificate_is_required(tls_kafka: LocalKafka, pki: Pki) -> None:
    await _publish_one(  # the control: with its certificate the client gets through
        tls_kafka.tls_bootstrap,
        KafkaTls(cafile=pki.ca, certfile=pki.client_cert, keyfile=pki.client_key),
    )
    with pytest.raises(KafkaConnectionError):
        await _publish_one(tls_kafka.tls_bootstrap, KafkaTls(cafile=pki.ca))


async def test_a_broker_the_cluster_ca_did_not_sign_is_refused(
    tls_kafka: LocalKafka, pki: Pki
) -> None:
    tls = KafkaTls(cafile=pki.stranger_ca, certfile=pki.client_cert, keyfile=pki.client_key)
    with pytest.raises(KafkaConnectionError):
        await _publish_one(tls_kafka.tls_bootstrap, tls)
