"""`hub run` supervises like an init system: a service killed with SIGKILL is started
again, the other services keep running (same processes), and only Ctrl-C stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from hubtools.kafka import LocalKafka
from hubtools.run import SERVICE_MODULES
from tests.support.hub import write_config

STARTED = re.compile(r"(\S+) started \(pid=(\d+)\)")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Output:
    """The hub's output, read in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        assert proc.stdout is not None
        self._stdout = proc.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def starts(self) -> list[tuple[str, int]]:
        return [(m[1], int(m[2])) for line in self.lines if (m := STARTED.search(line))]

    def until(self, probe: Callable[[], bool], what: str, timeout: float = 30) -> None:
        """Wait until `probe` holds, woken by each new line of output."""
        with self._changed:
            if not self._changed.wait_for(probe, timeout):
                raise AssertionError(f"timed out waiting for {what}:\n{''.join(self.lines)}")


def test_a_killed_service_is_restarted_and_nothing_else_stops(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    hub = Path(sys.executable).parent / "hub"
    stubs = [f"--service-command={name}=exec sleep 300" for name in SERVICE_MODULES]
    env = {
        **os.environ,
        "HUB_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_CONFIG": str(write_config(tmp_path / "hub.toml")),
    }
    proc = subprocess.Popen(
        [str(hub), "run", *stubs], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    out = Output(proc)
    try:
        out.until(lambda: len(out.starts()) == 4, "the four services")
        first = dict(out.starts())
        os.kill(first["enrollment"], signal.SIGKILL)
        out.until(lambda: len(out.starts()) == 5, "enrollment started again")
        restarted = out.starts()[-1]
        assert restarted[0] == "enrollment" and restarted[1] != first["enrollment"]
        assert proc.poll() is None
        others = [pid for name, pid in first.items() if name != "enrollment"]
        assert all(alive(pid) for pid in [*others, restarted[1]])

        os.kill(first["notifier"], signal.SIGKILL)  # a second service, a second time
        out.until(lambda: len(out.starts()) == 6, "notifier started again")
        assert out.starts()[-1][0] == "notifier"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 130
    assert not any(alive(pid) for _name, pid in out.starts())
    assert any("exited (rc=-9)" in line and "restarting it in" in line for line in out.lines)
