"""The backlog benchmark's peer: the hub's "permit not covered" detection written with
Quix Streams, reading the same topics (CloudEvents in Kafka binary mode).

A permit is uncovered when no project enrollment names its exact permit_no. Permits and
project enrollments (keyed by employer) are both written, keyed by permit_no, to one topic
of this run; a stateful step over it keeps, per permit_no, whether the permit and an
enrollment were seen. `python -m hubtools.quix_peer --bootstrap B --out F --expected N` runs
until the N records of the two topics went through, then writes its counts, the time of its
last record and the uncovered set.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quixstreams import Application, State
from quixstreams.models.topics import TopicConfig

from hub_shared.memory import peak_rss_mib

PERMIT_TYPES = {b"cn.gov.jining.hub.permit.issued", b"cn.gov.jining.hub.permit.amended"}
ENROLLMENT_REGISTERED = b"cn.gov.jining.hub.enrollment.registered"
PARTITIONS = 6
QUIET_SECONDS = 30.0  # a backstop: the run stops when every record went through


@dataclass
class Tally:
    """Counts along the pipeline; stops the app once every record read went through the join
    (the quiet timeout alone could stop it with regrouped enrollments still in flight)."""

    expected: int  # records on the two input topics
    app: Application | None = None
    events: int = 0
    passed: int = 0  # permits and project enrollments that reach the join
    joined: int = 0
    last_at: float = 0.0
    verdicts: dict[str, bool] = field(default_factory=dict)  # permit_no -> uncovered

    def read(self, _: Any) -> None:
        self.events += 1
        self.last_at = time.time()

    def kept(self, _: Any) -> None:
        self.passed += 1

    def judged(self, verdict: dict[str, Any]) -> None:
        self.verdicts[verdict["permit_no"]] = verdict["uncovered"]
        self.joined += 1
        self.last_at = time.time()
        if self.events >= self.expected and self.joined >= self.passed and self.app is not None:
            self.app.stop()


def _ce_type(headers: Any) -> bytes:
    for name, value in headers or ():
        if name == "ce_type":
            return bytes(value)
    return b""


def _is_permit(value: Any, key: Any, timestamp: int, headers: Any) -> bool:
    return _ce_type(headers) in PERMIT_TYPES


def _is_project_enrollment(value: Any, key: Any, timestamp: int, headers: Any) -> bool:
    return (
        _ce_type(headers) == ENROLLMENT_REGISTERED
        and value.get("kind") == "project"
        and bool(value.get("permit_no"))
    )


def _judge(value: dict[str, Any], state: State[Any, Any]) -> dict[str, Any]:
    """Per permit_no: seen the permit? seen an enrollment naming it? Uncovered = only the first."""
    permit = bool(state.get("permit", False)) or value["side"] == "permit"
    enrolled = bool(state.get("enrolled", False)) or value["side"] == "enrollment"
    state.set("permit", permit)
    state.set("enrolled", enrolled)
    return {"permit_no": value["permit_no"], "uncovered": permit and not enrolled}


def build(app: Application, tally: Tally, run_id: str) -> None:
    permits = app.topic("permits.v1", value_deserializer="json", key_deserializer="str")
    enrollments = app.topic("enrollments.v1", value_deserializer="json", key_deserializer="str")
    # One topic keyed by permit_no carries both sides, so one stateful step sees each key's
    # permit and enrollments in one partition's state (across two topics it may not, within
    # a checkpoint).
    sides = app.topic(
        f"quix-peer-sides-{run_id}",
        key_serializer="str", key_deserializer="str",
        value_serializer="json", value_deserializer="json",
        config=TopicConfig(num_partitions=PARTITIONS, replication_factor=1),
    )  # fmt: skip
    p = app.dataframe(permits).update(tally.read).filter(_is_permit, metadata=True)
    p = p.update(tally.kept).apply(lambda v: {"permit_no": v["permit_no"], "side": "permit"})
    p.to_topic(sides, key=lambda v: v["permit_no"])
    e = app.dataframe(enrollments).update(tally.read)
    e = e.filter(_is_project_enrollment, metadata=True).update(tally.kept)
    e = e.apply(lambda v: {"permit_no": v["permit_no"], "side": "enrollment"})
    e.to_topic(sides, key=lambda v: v["permit_no"])
    app.dataframe(sides).apply(_judge, stateful=True).update(tally.judged)


def run(bootstrap: str, out: Path, expected: int) -> None:
    tally = Tally(expected)
    with tempfile.TemporaryDirectory(prefix="quix-peer-") as state_dir:
        app = Application(
            broker_address=bootstrap,
            consumer_group=f"quix-peer-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            state_dir=state_dir,
            loglevel="WARNING",
        )
        tally.app = app
        build(app, tally, uuid.uuid4().hex[:8])
        app.run(timeout=QUIET_SECONDS, collect=False)
    uncovered = sorted(p for p, is_uncovered in tally.verdicts.items() if is_uncovered)
    figures = {"events": tally.events, "last_at": tally.last_at, "peak_rss_mib": peak_rss_mib()}
    out.write_text(json.dumps(figures | {"uncovered": uncovered}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--expected", type=int, required=True, help="records on the two topics")
    args = parser.parse_args()
    run(args.bootstrap, args.out, args.expected)


if __name__ == "__main__":
    main()
