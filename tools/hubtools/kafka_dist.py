"""The Kafka distribution the local broker runs: jars, configuration files, JVM class archive.

Jars come from Maven Central through tools/kafka/pom.xml (docs/architecture.md, "Local and test
Kafka"); tools/kafka/libs is gitignored and filled by `fetch_jars()` (`hub kafka fetch`).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_HOME = Path(__file__).resolve().parents[1] / "kafka"
LIBS_DIR = KAFKA_HOME / "libs"
_STAMP = ".fetched"

# Quiet: warnings and errors only, plus the one line that says the server is up.
LOG4J2 = """\
status = error
name = hub-local-kafka
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


def fetch_jars(libs_dir: Path = LIBS_DIR) -> Path:
    """Copy Kafka and its runtime dependencies from Maven Central into `libs_dir`.

    Idempotent and instant once done: a stamp file records the hash of pom.xml. A file
    lock lets parallel callers (several test sessions) share one download.
    """
    pom = KAFKA_HOME / "pom.xml"
    if not pom.is_file():
        raise RuntimeError(f"{pom} is missing: run hubtools from the repository checkout")
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    stamp = libs_dir / _STAMP
    if _fetched(libs_dir, digest):
        return libs_dir
    libs_dir.mkdir(parents=True, exist_ok=True)
    with (libs_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _fetched(libs_dir, digest):
            return libs_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Maven is missing: apt-get install maven (and a Java 17 JRE)")
        for old in libs_dir.glob("*.jar"):
            old.unlink()
        done = subprocess.run(
            [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
             "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={libs_dir}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not list(libs_dir.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"fetching the Kafka jars failed:\n{done.stdout}{done.stderr}")
        stamp.write_text(digest)
    return libs_dir


def _fetched(libs_dir: Path, digest: str) -> bool:
    stamp = libs_dir / _STAMP
    return (
        stamp.is_file() and stamp.read_text() == digest and any(libs_dir.glob("kafka_2.13-*.jar"))
    )


def new_cluster_id() -> str:
    """A Kafka Uuid in its base64 form; Kafka avoids ids that start with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class BrokerTls:
    """A TLS listener that asks every client for a certificate, as Strimzi's `tls` listener
    with `authentication: type: tls` does. PEM files: `keystore` holds the broker's
    PKCS#8 key (encrypted with `key_password`, if given) and its certificate chain,
    `truststore` the CA that client certificates must chain to."""

    keystore: Path
    key_password: str | None
    truststore: Path

    def properties(self) -> dict[str, str | int]:
        prefix = "listener.name.ssl."
        return {
            f"{prefix}ssl.keystore.type": "PEM",
            f"{prefix}ssl.keystore.location": str(self.keystore),
            **({f"{prefix}ssl.key.password": self.key_password} if self.key_password else {}),
            f"{prefix}ssl.truststore.type": "PEM",
            f"{prefix}ssl.truststore.location": str(self.truststore),
            f"{prefix}ssl.client.auth": "required",
        }


def server_properties(
    log_dir: Path,
    port: int,
    controller_port: int,
    partitions: int,
    tls: BrokerTls | None = None,
    tls_port: int = 0,
) -> dict[str, str | int]:
    listeners = f"PLAINTEXT://127.0.0.1:{port}"
    protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if tls is not None:
        listeners += f",SSL://127.0.0.1:{tls_port}"
        protocols += ",SSL:SSL"
    return {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"{listeners},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": protocols,
        **(tls.properties() if tls is not None else {}),
        "log.dirs": str(log_dir),
        # One node: every replication factor and min ISR is 1.
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        # Topics come from the registry (hub_shared.messaging.topics), as Strimzi's KafkaTopic does.
        "auto.create.topics.enable": "false",
        "num.partitions": partitions,
        # Light: few threads, small internal topics, small preallocated indexes.
        "num.network.threads": 2,
        "num.io.threads": 4,
        "background.threads": 4,
        "num.recovery.threads.per.data.dir": 2,
        "offsets.topic.num.partitions": 10,
        "transaction.state.log.num.partitions": 4,
        "share.coordinator.state.topic.num.partitions": 4,
        "log.segment.bytes": 16 * 1024 * 1024,
        "log.index.size.max.bytes": 1024 * 1024,
        "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
        "log.cleaner.threads": 1,
        # After a crash (kill()) the restarted broker must wait until the controller
        # expires the dead incarnation's session: 3 s instead of the default 9 s.
        "broker.heartbeat.interval.ms": 500,
        "broker.session.timeout.ms": 3000,
    }


def class_archive(java: str, libs_dir: Path) -> Path:
    """Where the JVM's class-data-sharing archive for these jars and this `java` lives.

    The name changes with the Java binary and the fetched jars, so a stale archive (which
    the JVM would reject, starting slowly) is never used; a fresh one gets dumped instead.
    """
    real = Path(java).resolve()
    stamp = libs_dir / _STAMP
    key = f"{real}:{real.stat().st_mtime_ns}:{stamp.read_text() if stamp.is_file() else ''}"
    return libs_dir / ".cds" / f"kafka-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"
