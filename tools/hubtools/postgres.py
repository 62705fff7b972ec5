"""A throwaway PostgreSQL cluster for tests, run with Debian's own initdb and pg_ctl.

docs/architecture.md, "Tests": PostgreSQL refuses to run as root and these machines run everything
as root, so as root the server runs as the `postgres` user (`runuser -u postgres`) in a
directory it owns under /tmp (pytest's temporary directories sit below a 0700 root
directory that `postgres` cannot traverse). Clients connect over 127.0.0.1 only, with
scram-sha-256 and a generated password of the superuser `hub`. Durability is switched off
(fsync, synchronous_commit, full_page_writes): the cluster is thrown away anyway.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from hubtools.local_server import LocalServer

__all__ = ["LocalPostgres", "find_pg_bin"]

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "hub"
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found under {root}/*/bin or on PATH; "
    "install them with: apt-get install -y postgresql"
)
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: no socket path-length or permission trouble
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


def find_pg_bin() -> Path:
    """The bin directory of the newest installed PostgreSQL; RuntimeError if none is."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    candidates = sorted(
        (p.parent for p in PG_ROOT.glob("*/bin/initdb") if (p.parent / "pg_ctl").is_file()),
        key=lambda b: version(b / "initdb"),
    )
    if candidates:
        return candidates[-1]
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise RuntimeError(_MISSING.format(root=PG_ROOT))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPostgres(LocalServer):
    """One postmaster on 127.0.0.1:`port`; `create_database` hands out SQLAlchemy URLs."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port if port is not None else _free_port()
        self.password = secrets.token_urlsafe(24)
        self._as_root = os.geteuid() == 0
        self._base: Path | None = None  # holds pgdata and the server log
        self._bin: Path | None = None

    @property
    def pgdata(self) -> Path:
        if self._base is None:
            raise RuntimeError("LocalPostgres is not started")
        return self._base / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.pgdata.parent / "postgres.log"

    @property
    def running(self) -> bool:
        return self._base is not None and (self.pgdata / "postmaster.pid").is_file()

    def start(self, timeout: float = 60) -> None:
        """initdb, configure and start the server; returns when it accepts connections."""
        if self.running:
            return
        self._bin = find_pg_bin()
        self._base = self._make_base()
        try:
            self._init_cluster()
            self._run(
                "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-w",
                "-t", str(int(timeout)), "start",
            )  # fmt: skip
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown, then remove the cluster when it lives outside `data_dir`."""
        if self._base is None:
            return
        try:
            if self.running:
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
        finally:
            if self._as_root:
                shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def url(self, database: str) -> str:
        """SQLAlchemy URL (asyncpg driver) of `database` on this server."""
        return f"postgresql+asyncpg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` and return its SQLAlchemy URL."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, database: str, sql: str) -> str:
        """Run SQL through psql as the superuser; returns its unaligned output."""
        if self._bin is None or not self.running:
            raise RuntimeError("LocalPostgres is not started")
        done = subprocess.run(
            [str(self._bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
             "-c", sql],
            env={**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed on {database}: {done.stderr.strip()}")
        return done.stdout

    # -- internals ------------------------------------------------------------------

    def _make_base(self) -> Path:
        if not self._as_root:
            base = self.data_dir
            shutil.rmtree(base / "pgdata", ignore_errors=True)
            base.mkdir(parents=True, exist_ok=True)
            return base
        # /tmp is world-traversable; mkdtemp gives 0700, then `postgres` owns it.
        base = Path(tempfile.mkdtemp(prefix="hub-pg-", dir="/tmp"))
        self._own(base)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "cluster-location").write_text(f"{base}\n")
        return base

    def _init_cluster(self) -> None:
        assert self._base is not None
        pwfile = self._base / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._own(pwfile)
        try:
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={pwfile}",
                "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync",
                "--no-instructions",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        self._configure()

    def _own(self, path: Path) -> None:
        if self._as_root:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError(
                    "running as root needs the `postgres` user to own the cluster: "
                    "apt-get install -y postgresql"
                ) from exc
            os.chown(path, user.pw_uid, user.pw_gid)

    def _configure(self) -> None:
        settings = {**_SETTINGS, "port": str(self.port)}
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# hubtools.postgres: a throwaway test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        (self.pgdata / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER  ADDRESS        METHOD\n"
            "host    all       all   127.0.0.1/32   scram-sha-256\n"
        )

    def _run(self, program: str, *args: str) -> None:
        assert self._bin is not None
        assert self._base is not None
        command = [str(self._bin / program), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd=self._base, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = ""
            if self.log_file.is_file():
                log = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(
                f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{log}"
            )
