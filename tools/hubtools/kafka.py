"""A real single-node Apache Kafka 4.3.1 (KRaft, combined mode) run from Maven Central jars.

docs/architecture.md, "Local and test Kafka": no Docker and no fake broker. `fetch_jars()`
copies the jars of tools/kafka/pom.xml into tools/kafka/libs; `LocalKafka` formats a data directory
once and runs `kafka.Kafka` on 127.0.0.1. Tests start one per session on free ports and
stop, kill and restart it to simulate outages.

Start-up is kept short by a class-data-sharing archive (AppCDS): the first broker that
stops cleanly dumps the classes it loaded next to the jars, and every later JVM maps that
archive instead of loading and verifying ~40 MB of jars again.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from hubtools.kafka_admin import (
    ensure_topics,
    ensure_topics_async,
    run_sync,
    wait_for_group_coordinator,
    wait_until_answers,
)
from hubtools.kafka_dist import (
    LIBS_DIR,
    LOG4J2,
    BrokerTls,
    class_archive,
    fetch_jars,
    new_cluster_id,
    server_properties,
)
from hubtools.local_server import LocalServer

__all__ = ["LIBS_DIR", "BrokerTls", "LocalKafka", "ensure_topics", "fetch_jars", "free_ports"]

_LOG_TAIL_LINES = 40
_RUN_MARKER = "\n=== starting Kafka on "
_STOP_TIMEOUT = 30.0


def free_ports(count: int) -> list[int]:
    """Ports the kernel would hand out now on 127.0.0.1 (held together, so distinct)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class LocalKafka(LocalServer):
    """One broker+controller process on 127.0.0.1 with its data in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        partitions: int = 6,
        *,
        fast_start: bool = True,
        libs_dir: Path = LIBS_DIR,
        tls: BrokerTls | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        free = iter(free_ports(3))
        self.port = port if port is not None else next(free)
        self.controller_port = controller_port if controller_port is not None else next(free)
        if self.controller_port == self.port:
            self.controller_port = next(free)
        self.partitions = partitions
        self.fast_start = fast_start  # C1-only JIT: ~30% quicker start, lower peak speed
        self.libs_dir = libs_dir
        self.tls = tls  # a TLS listener besides the plaintext one the tooling uses
        self.tls_port = next(free)
        self.process: subprocess.Popen[bytes] | None = None
        self._dumping: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tls_bootstrap(self) -> str:
        if self.tls is None:
            raise ValueError("this broker has no TLS listener")
        return f"127.0.0.1:{self.tls_port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 90) -> None:
        """Format (first time only), launch, wait until it answers, create the topics."""
        if self.running:
            return
        deadline = time.monotonic() + timeout
        java = self._java()
        self._write_config()
        self._format(java)
        self._launch(java)
        try:
            run_sync(lambda: self._until_ready(deadline))
        except BaseException as exc:
            self.kill()
            if not isinstance(exc, Exception):
                raise  # Ctrl-C while starting: no broker left behind, no wrapping
            raise RuntimeError(
                f"Kafka did not start on {self.bootstrap}: {exc}\n{self._failure_report()}"
            ) from exc

    async def _until_ready(self, deadline: float) -> None:
        await wait_until_answers(
            self.bootstrap, deadline - time.monotonic(), alive=lambda: self.running
        )
        await ensure_topics_async(
            self.bootstrap,
            self.partitions,
            replication_factor=1,
            timeout_s=max(deadline - time.monotonic(), 1.0),
        )
        await wait_for_group_coordinator(self.bootstrap, max(deadline - time.monotonic(), 1.0))

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Controlled shutdown (SIGTERM); SIGKILL if it takes longer than `timeout` s."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._keep_class_archive(clean=process.returncode != -signal.SIGKILL)
        self.process = None
        _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed, the next start recovers the log."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._keep_class_archive(clean=False)
        self.process = None
        _LIVE.discard(self)

    def restart(self, timeout: float = 90) -> None:
        """Stop if running, then start on the same ports with the same data."""
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last `lines` lines of kafka.log."""
        return "\n".join(self._last_run_log()[-lines:])

    def _last_run_log(self) -> list[str]:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ["(no log)"]
        return text.rpartition(_RUN_MARKER)[2].splitlines()

    def _failure_report(self) -> str:
        """The ERROR lines of this run (the cause hides above long stack traces), then the tail."""
        lines = self._last_run_log()
        errors = [line for line in lines if "] ERROR " in line or "Exception:" in line][:8]
        return (
            f"--- errors in {self.log_file} ---\n" + "\n".join(errors) + "\n"
            "--- last lines ---\n" + "\n".join(lines[-_LOG_TAIL_LINES:])
        )

    # -- internals ------------------------------------------------------------------

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("Java is missing: apt-get install openjdk-17-jre-headless")
        fetch_jars(self.libs_dir)
        return java

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "log4j2.properties").write_text(LOG4J2)
        props = server_properties(
            self.data_dir / "logs", self.port, self.controller_port, self.partitions,
            tls=self.tls, tls_port=self.tls_port,
        )  # fmt: skip
        (self.data_dir / "server.properties").write_text(
            "".join(f"{key}={value}\n" for key, value in props.items())
        )

    def _cluster_id(self) -> str:
        path = self.data_dir / "cluster.id"
        if not path.is_file():
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def _jvm(self, java: str, *, dump: bool) -> list[str]:
        args = [java, "-Xms128m", "-Xmx512m", "-Djava.awt.headless=true", "-Xlog:cds*=error"]
        if self.fast_start:
            args.append("-XX:TieredStopAtLevel=1")
        archive = class_archive(java, self.libs_dir)
        if archive.is_file():
            args.append(f"-XX:SharedArchiveFile={archive}")
        elif dump:
            archive.parent.mkdir(exist_ok=True)
            self._dumping = archive.with_name(f"{archive.name}.{os.getpid()}.{id(self)}.tmp")
            args.append(f"-XX:ArchiveClassesAtExit={self._dumping}")
        args += [f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"]
        return [*args, "-cp", str(self.libs_dir / "*")]

    def _format(self, java: str) -> None:
        if (self.data_dir / "logs" / "meta.properties").is_file():
            return  # formatted before: the cluster id and the log stay
        done = subprocess.run(
            [*self._jvm(java, dump=False), "kafka.tools.StorageTool", "format",
             "-t", self._cluster_id(), "-c", "server.properties", "--ignore-formatted"],
            cwd=self.data_dir, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"formatting {self.data_dir} failed:\n{done.stdout}{done.stderr}")

    def _launch(self, java: str) -> None:
        with self.log_file.open("ab") as log:
            log.write(f"{_RUN_MARKER}{self.bootstrap} ===\n".encode())
            log.flush()
            # A session of its own: Ctrl-C in a terminal reaches the supervisor, which
            # then stops the broker in order, after the services.
            self.process = subprocess.Popen(
                [*self._jvm(java, dump=True), "kafka.Kafka", "server.properties"],
                cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _LIVE.add(self)

    def _keep_class_archive(self, *, clean: bool) -> None:
        dumping, self._dumping = self._dumping, None
        if dumping is None:
            return
        if clean and dumping.is_file() and dumping.stat().st_size > 0:
            os.replace(dumping, dumping.with_name(dumping.name.split(".jsa.")[0] + ".jsa"))
        else:
            dumping.unlink(missing_ok=True)


_LIVE: set[LocalKafka] = set()


@atexit.register
def _kill_leftovers() -> None:
    """A broker must not outlive the Python process that started it."""
    for broker in list(_LIVE):
        with contextlib.suppress(OSError):
            broker.kill()
