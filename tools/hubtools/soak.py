"""`make soak`: a fault soak, reported, not run in CI (issue 16).

The four services as processes on a local broker, a webhook receiver for the city office,
and a steady stream of mixed requests (permits, enrollments, accidents, diseases), each
sent until accepted. Meanwhile the broker and each service are killed with SIGKILL at
random moments and started again. Then it counts, end to end: every accepted request's
event on its topic exactly once (distinct event ids per request), every expected alert
raised exactly once (distinct webhook-ids at the office), every delivery received.
`python -m hubtools.soak --events 10000 --kills 10 --rate 50`.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from hubtools.bench_procs import Hub
from hubtools.bench_requests import OFFICE_SECRET, SOURCE_ID, SOURCE_SECRET
from hubtools.kafka import LocalKafka, free_ports
from hubtools.kafka_admin import ensure_topics
from hubtools.run import SERVICE_MODULES
from hubtools.soak_count import TOPICS, event_ids, outcome, read_topic
from hubtools.soak_load import (
    AGENCY,
    EMERGENCY,
    HEALTH,
    Request,
    Tally,
    requests,
    send_until_accepted,
)

IN_FLIGHT = 64


def write_config(path: Path, receiver: str) -> Path:
    clients = [("agency", AGENCY, "enrollments:write"), ("emergency", EMERGENCY, "accidents:write"),
               ("health", HEALTH, "diseases:write")]  # fmt: skip
    text = f"""
[matching]
grace_seconds = 2
scan_interval_seconds = 0.2

[delivery]
retry_schedule_seconds = [1, 2, 5, 10, 30]
timeout_seconds = 5

[[sources]]
id = "{SOURCE_ID}"
kind = "permits"
secret = "{SOURCE_SECRET}"

[[offices]]
id = "city"
divisions = ["370800"]
token = "soak-office-city"
webhook_url = "{receiver}/city"
webhook_secret = "{OFFICE_SECRET}"
"""
    for name, token, scope in clients:
        text += f'\n[[clients]]\nid = "{name}"\ntoken = "{token}"\nscopes = ["{scope}"]\n'
        text += 'divisions = ["370800"]\n'
    path.write_text(text, encoding="utf-8")
    return path


class Soak:
    def __init__(self, root: Path, kafka: LocalKafka, receiver_port: int) -> None:
        self.kafka = kafka
        config = write_config(root / "hub.toml", f"http://127.0.0.1:{receiver_port}")
        self.hub = Hub(config, kafka.bootstrap, root / "hub")
        self.kills: dict[str, int] = defaultdict(int)

    def restart(self, name: str) -> None:
        """SIGKILL the service, then start it again on the same port and database."""
        service = self.hub.services[name]
        assert service.process is not None
        service.process.kill()
        service.process.wait()
        self.kills[name] += 1
        ports = {n: s.port for n, s in self.hub.services.items()}
        with service.log.open("ab") as log:
            service.process = subprocess.Popen(
                [sys.executable, "-m", SERVICE_MODULES[name]], env=self.hub.env(ports),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def kill_broker(self) -> None:
        self.kafka.kill()
        self.kills["kafka"] += 1
        time.sleep(1.0)
        self.kafka.restart()


async def chaos(soak: Soak, kills: int, duration: float, rng: random.Random) -> None:
    """`kills` SIGKILLs of the broker and of each service, at random moments."""
    victims = [name for name in [*SERVICE_MODULES, "kafka"] for _ in range(kills)]
    moments = sorted(rng.uniform(0, duration) for _ in victims)
    rng.shuffle(victims)
    began = time.monotonic()
    for moment, victim in zip(moments, victims, strict=True):
        await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
        if victim == "kafka":
            await asyncio.to_thread(soak.kill_broker)
        else:
            soak.restart(victim)


async def load(soak: Soak, count: int, rate: float, tally: Tally) -> None:
    tag = f"S{int(time.time()) % 100000:05d}"
    urls = {name: service.url for name, service in soak.hub.services.items()}
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    # At most IN_FLIGHT requests wait in httpx's pool: while a service is down thousands
    # would queue, and the pool's bookkeeping grows with the square of its queue.
    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def send(request: Request) -> None:
        async with in_flight:
            await send_until_accepted(client, urls[request.service], request, tally)

    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        tasks = []
        for request in requests(count, tag):
            tasks.append(asyncio.create_task(send(request)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)


async def office_deliveries(port: int) -> list[list[str]]:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"http://127.0.0.1:{port}/stats")
        rows: list[list[str]] = answer.json()
        return rows


def run(count: int, kills: int, rate: float, settle_seconds: float) -> None:
    rng = random.Random(16)  # noqa: S311 - the moments of the faults, not secrets
    with tempfile.TemporaryDirectory(prefix="hub-soak-") as tmp:
        root = Path(tmp)
        kafka = LocalKafka(root / "kafka")
        kafka.start()
        ensure_topics(kafka.bootstrap, kafka.partitions)
        (receiver_port,) = free_ports(1)
        receiver = subprocess.Popen(
            [sys.executable, "-m", "hubtools.bench_receiver", "--port", str(receiver_port)]
        )
        soak = Soak(root, kafka, receiver_port)
        try:
            soak.hub.start(*SERVICE_MODULES)
            asyncio.run(
                soak_and_count(soak, receiver_port, count, kills, rate, settle_seconds, rng)
            )
        finally:
            soak.hub.stop()
            receiver.kill()
            kafka.stop()


async def soak_and_count(
    soak: Soak,
    receiver_port: int,
    count: int,
    kills: int,
    rate: float,
    settle_seconds: float,
    rng: random.Random,
) -> None:
    tally = Tally()
    began = time.monotonic()
    await asyncio.gather(load(soak, count, rate, tally), chaos(soak, kills, count / rate, rng))
    await asyncio.sleep(settle_seconds)
    events = await count_all(soak)
    deliveries = await office_deliveries(receiver_port)
    report(soak, tally, events, deliveries, time.monotonic() - began)
    print(f"  outbox at the end: {await outbox_gauges(soak)}")


async def outbox_gauges(soak: Soak) -> dict[str, str]:
    """Each service's hub_outbox_pending and hub_outbox_parked: what 'lost' still holds."""
    found: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for name, service in soak.hub.services.items():
            try:
                text = (await client.get(service.url + "/metrics")).text
            except httpx.TransportError:
                found[name] = "no answer"
                continue
            lines = [
                ln
                for ln in text.splitlines()
                if ln.startswith(("hub_outbox_pending", "hub_outbox_parked"))
            ]
            found[name] = ", ".join(lines)
    return found


async def count_all(soak: Soak) -> dict[str, dict[str, set[str]]]:
    return {
        kind: event_ids(await read_topic(soak.kafka.bootstrap, topic), field)
        for kind, (topic, field) in TOPICS.items()
    }


def report(
    soak: Soak,
    tally: Tally,
    events: dict[str, dict[str, set[str]]],
    deliveries: list[list[str]],
    seconds: float,
) -> None:
    print(f"soak: {sum(len(v) for v in tally.accepted.values())} requests accepted "
          f"({tally.retries} retries) in {seconds:.0f} s; kills {dict(soak.kills)}")  # fmt: skip
    for kind, keys in sorted(tally.accepted.items()):
        lost, duplicated = outcome(keys, events.get(kind, {}))
        print(f"  {kind:10} accepted {len(keys):6}  lost {lost}  duplicated {duplicated}")
    raised: dict[str, set[str]] = defaultdict(set)
    for _arrived, webhook_id, kind, subject in deliveries:
        if kind.endswith("alert.raised"):
            raised[subject].add(webhook_id)
    permits = sorted(tally.accepted.get("permit", ()))
    expected = [p for p in permits if int(p[-6:]) % 2 == 1]  # odd permits: never enrolled
    expected += sorted(tally.accepted.get("accident", ()))
    missing = sum(1 for key in expected if not raised.get(key))
    twice = sum(1 for key in expected if len(raised.get(key, ())) > 1)
    print(f"  alerts     expected {len(expected):6}  not delivered {missing}  "
          f"raised twice {twice}  deliveries received {len(deliveries)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--kills", type=int, default=10, help="per service and the broker")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to drain after")
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack
    run(args.events, args.kills, args.rate, args.settle)


if __name__ == "__main__":
    main()
