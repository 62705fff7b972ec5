"""Talking to any Kafka cluster as an administrator: readiness probe and the hub's topics.

Used by the local broker (hubtools.kafka), `hub run` and the tests. Every function has a
synchronous twin so that plain scripts and sync fixtures can call it; the twins also work
when an event loop is already running in the calling thread (they then run the coroutine
on a helper thread), so an async test may call them, although it blocks that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from hub_shared.messaging.topics import ALL_TOPICS

T = TypeVar("T")
POLL_SECONDS = 0.05
MAX_REPLICATION = 3


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, whatever the calling thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=target, name="hubtools-kafka-admin")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


def split_bootstrap(bootstrap: str) -> tuple[str, int]:
    """`host:port` of the first bootstrap server."""
    first = bootstrap.split(",")[0].strip()
    host, sep, port = first.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        raise ValueError(f"bootstrap server {first!r} is not host:port")
    return host.strip("[]"), int(port)


async def port_open(bootstrap: str, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on the first bootstrap server."""
    host, port = split_bootstrap(bootstrap)
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def list_topics(bootstrap: str, request_timeout: float = 2.0) -> list[str]:
    """The cluster's topic names; raises KafkaError or OSError when it does not answer."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(request_timeout * 1000)
    )
    try:
        await admin.start()
        return cast(list[str], await admin.list_topics())
    finally:
        await admin.close()


async def answers_as_kafka(bootstrap: str, request_timeout: float = 3.0) -> bool:
    """True when a Kafka broker at `bootstrap` answers a metadata request."""
    # aiokafka logs every refused connection at ERROR; a probe expects refusals.
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        await list_topics(bootstrap, request_timeout)
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        quiet.setLevel(level)
    return True


async def wait_until_answers(
    bootstrap: str, timeout_s: float, alive: Callable[[], bool] = lambda: True
) -> None:
    """Poll until a client can connect and list topics; TimeoutError after `timeout_s`.

    `alive` is asked between attempts so that a broker process that died stops the
    wait at once (RuntimeError) instead of after the whole timeout.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if not alive():
            raise RuntimeError(f"the broker at {bootstrap} exited while starting")
        if await port_open(bootstrap) and await answers_as_kafka(bootstrap, 2.0):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no Kafka answered at {bootstrap} within {timeout_s:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


async def ensure_topics_async(
    bootstrap: str,
    partitions: int,
    *,
    replication_factor: int | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Create every topic of ALL_TOPICS that is missing, then wait until all have leaders.

    Idempotent: existing topics are left as they are (their partition count is not
    changed, since that would move keys between partitions). The replication factor
    defaults to the number of brokers, at most 3.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic.name for topic in ALL_TOPICS if topic.name not in existing]
        if missing:
            if replication_factor is None:
                brokers = (await admin.describe_cluster())["brokers"]
                replication_factor = max(1, min(MAX_REPLICATION, len(brokers)))
            response = await admin.create_topics(
                [NewTopic(name, partitions, replication_factor) for name in missing],
                timeout_ms=int(timeout_s * 1000),
            )
            for name, code, *rest in response.topic_errors:
                error = for_code(code)
                if code and error is not TopicAlreadyExistsError:
                    raise error(f"cannot create topic {name}: {rest[0] if rest else ''}")
        await _wait_for_leaders(admin, time.monotonic() + timeout_s)
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, deadline: float) -> None:
    """Wait until the broker's metadata lists every hub topic with a leader per partition."""
    names = [topic.name for topic in ALL_TOPICS]
    while True:
        described = await admin.describe_topics(names)
        ready = {
            d["topic"]
            for d in described
            if d["error_code"] == 0
            and d["partitions"]
            and all(p["leader"] >= 0 for p in d["partitions"])
        }
        if ready >= set(names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without a leader: {sorted(set(names) - ready)}")
        await asyncio.sleep(POLL_SECONDS)


async def wait_for_group_coordinator(bootstrap: str, timeout_s: float) -> None:
    """Have the broker create __consumer_offsets now and wait until it coordinates groups.

    Kafka creates that topic on the first FindCoordinator request; doing it here spares the
    first consumer group of every test session a round of "coordinator not available".
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                await admin.find_coordinator("hubtools-warm-up")
                return
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await admin.close()


async def partition_counts(bootstrap: str) -> dict[str, int]:
    """Topic name → number of partitions, for every topic of the cluster."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    return {d["topic"]: len(d["partitions"]) for d in described}


def ensure_topics(bootstrap: str, partitions: int, *, timeout: float = 30.0) -> None:
    """Synchronous `ensure_topics_async`: the hub's topics exist on any cluster."""
    run_sync(lambda: ensure_topics_async(bootstrap, partitions, timeout_s=timeout))
