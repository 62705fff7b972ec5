"""The Kafka producer every service shares: idempotent, acks=all, started lazily.

A service starts even when the broker is down (requests are still accepted into the
outbox); the producer connects in the background and `ready` says when it is up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from hub_shared.config import KafkaTls
from hub_shared.messaging.envelope import Envelope, Headers, encode

log = logging.getLogger(__name__)


def connection_options(tls: KafkaTls | None) -> dict[str, Any]:
    """Client options for the cluster: plaintext locally, mutual TLS in production."""
    if tls is None:
        return {}
    context = create_ssl_context(
        cafile=str(tls.cafile),
        certfile=str(tls.certfile) if tls.certfile else None,
        keyfile=str(tls.keyfile) if tls.keyfile else None,
    )
    return {"security_protocol": "SSL", "ssl_context": context}


class Producer:
    """An idempotent aiokafka producer with `start()`/`stop()` and lazy connection."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str,
        options: Mapping[str, Any] | None = None,
        request_timeout_ms: int = 15000,
    ):
        self._bootstrap = bootstrap
        self._options = dict(options or {})
        self._client_id = client_id
        self._timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def _connected(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    client_id=self._client_id,
                    enable_idempotence=True,
                    acks="all",
                    linger_ms=5,
                    request_timeout_ms=self._timeout_ms,
                    max_request_size=4 * 1024 * 1024,
                    **self._options,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def start(self) -> None:
        """Try to connect now; a broker that is down is retried on the next publish."""
        try:
            await self._connected()
        except Exception as exc:
            log.warning("kafka producer: broker not reachable yet: %s", exc)

    async def stop(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def publish_many(self, items: Sequence[tuple[str, Envelope]]) -> None:
        """Publish events in order and wait until the broker has acknowledged all of them."""
        producer = await self._connected()
        futures = []
        for topic, envelope in items:
            key, value, headers = encode(envelope)
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)

    async def publish_raw(
        self, topic: str, *, key: bytes | None, value: bytes | None, headers: Headers
    ) -> None:
        """Publish a record as it is (the dead-letter topic keeps the original bytes)."""
        producer = await self._connected()
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)


async def ping(producer: Producer, timeout: float = 2.0) -> bool:
    """True when the broker answers a metadata request now."""
    inner = producer._producer
    if inner is None:
        try:
            async with asyncio.timeout(timeout):
                await producer.start()
        except TimeoutError:
            return False
        inner = producer._producer
        if inner is None:
            return False
    try:
        async with asyncio.timeout(timeout):
            await inner.client.fetch_all_metadata()
    except Exception:  # any failure to answer means "not reachable now"
        return False
    return True
