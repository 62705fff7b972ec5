"""The life of an import job, whatever the service and whatever its rows mean.

A request checks the caps (`check_room`), records a job (`create`) and spawns its work on
the app's `JobTasks`; `run` runs the service's steps, keeps the job's heartbeat while they
run, and writes on the job whatever ends it: done, failed with a `HubError`'s detail,
failed with a generic message after logging anything else, or interrupted by shutdown.
Jobs are rows, so they outlive their process. One whose heartbeat stopped long ago is
stale and reported failed (`fail_stale`); at start-up, `JobTasks.start` also fails the
jobs found running whose heartbeat then stays still for `RESTART_GRACE_SECONDS`: their
process is gone (a restart), while a live replica's jobs keep beating and are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import clock
from hub_shared.config import ImportsConfig
from hub_shared.storage.db import SessionFactory, table_of
from hub_shared.web.auth import Principal
from hub_shared.web.errors import HubError, NotFound, RateLimited

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS: Final = 10.0
# A job whose heartbeat is older than this no longer runs (its process is gone).
STALE_AFTER: Final = timedelta(seconds=120)
# Found running at start-up and not beating for this long: cut off by a restart. Three
# heartbeats, so that a live replica's job, beating every 10 s, is never taken for dead.
RESTART_GRACE_SECONDS = 3 * HEARTBEAT_SECONDS
WAIT_SECONDS: Final = 30.0  # ?wait=true: files of a few thousand rows finish well within this
REPORT_ISSUES: Final = 1000
ISSUES_PER_INSERT: Final = 5000
INTERRUPTED: Final = "interrupted by restart; re-submit"
RESTARTED: Final = "interrupted by a restart; batches already applied stay applied; re-submit"
SHUTDOWN: Final = "interrupted by shutdown; re-submit"
FAILED: Final = "the import failed; batches already applied stay applied; re-submit"


@dataclass(frozen=True)
class ImportJobs:
    """One kind of import job: its tables (the job's `import_id`, `client_id`, `status`,
    counters, `message`, `started_at`, `heartbeat_at`, `finished_at`; the issues'
    `import_id`, `row_no`, `column_name`, `msg`, `id`), what it is called, and what its
    report holds (`fields` of the job, then each issue list of `issue_lists`, by level)."""

    job: type[SQLModel]
    issue: type[SQLModel]
    noun: str  # "enterprise import": in messages and logs
    path: str  # the jobs' route, "/v1/enterprises/imports"
    sees_all: str  # the scope that sees every client's jobs
    fields: tuple[str, ...]
    issue_lists: tuple[tuple[str, str | None], ...] = (("errors", None),)

    @property
    def jobs(self) -> Table:
        return table_of(self.job)

    def _one(self, import_id: str) -> ColumnElement[bool]:
        return self.jobs.c.import_id == import_id

    def status_url(self, import_id: str) -> str:
        return f"{self.path}/{import_id}"

    # -- writing a job ---------------------------------------------------------------------

    async def create(self, sessions: SessionFactory, client_id: str, media_type: str) -> str:
        """A new running job of `client_id`; its id."""
        import_id = str(uuid.uuid4())
        job = self.job(
            import_id=import_id, client_id=client_id, media_type=media_type, status="running"
        )
        async with sessions() as session, session.begin():
            session.add(job)
        return import_id

    async def set(self, session: AsyncSession, import_id: str, **values: Any) -> None:
        """Set the job's columns (none: only its heartbeat) in the session's transaction."""
        query = update(self.jobs).where(self._one(import_id))
        conn = await session.connection()
        await conn.execute(query.values(heartbeat_at=clock.now(), **values))

    async def add(self, session: AsyncSession, import_id: str, **counts: int) -> None:
        """Add to the job's counters, in the session's transaction."""
        c = self.jobs.c
        await self.set(session, import_id, **{name: c[name] + n for name, n in counts.items()})

    async def add_issues(
        self, conn: AsyncConnection, import_id: str, issues: Sequence[Mapping[str, Any]]
    ) -> None:
        """Each issue's `row_no`, `column_name`, `msg` (and the service's own columns)."""
        table = table_of(self.issue)
        for start in range(0, len(issues), ISSUES_PER_INSERT):
            rows = [
                {"import_id": import_id, **i} for i in issues[start : start + ISSUES_PER_INSERT]
            ]
            await conn.execute(insert(table), rows)

    async def run(
        self, sessions: SessionFactory, import_id: str, steps: Callable[[], Awaitable[None]]
    ) -> None:
        """The whole job; whatever ends it early is written on the job, never lost."""
        status, message = "failed", None
        beating = asyncio.create_task(self._beat(sessions, import_id))
        try:
            await steps()
            status = "done"
        except asyncio.CancelledError:
            message = SHUTDOWN
            raise
        except HubError as exc:
            message = exc.detail
        except Exception:
            log.exception("%s %s failed", self.noun, import_id)
            message = FAILED
        finally:
            beating.cancel()
            with suppress(asyncio.CancelledError):
                await beating
            async with sessions() as session, session.begin():
                await self.set(
                    session, import_id, status=status, message=message, finished_at=clock.now()
                )
            log.info("%s %s: %s %s", self.noun, import_id, status, message or "")

    async def _beat(self, sessions: SessionFactory, import_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                async with sessions() as session, session.begin():
                    await self.set(session, import_id)
            except Exception:  # the next beat may pass; the job goes on meanwhile
                log.warning("%s %s: heartbeat not written", self.noun, import_id, exc_info=True)

    # -- jobs whose process is gone --------------------------------------------------------

    async def fail_stale(self, sessions: SessionFactory, import_id: str | None = None) -> int:
        """Mark running jobs whose heartbeat stopped as failed (their process is gone)."""
        c = self.jobs.c
        query = (
            update(self.jobs)
            .where(c.status == "running", c.heartbeat_at < clock.now() - STALE_AFTER)
            .values(status="failed", message=INTERRUPTED, finished_at=clock.now())
        )
        if import_id is not None:
            query = query.where(self._one(import_id))
        async with sessions() as session, session.begin():
            result = await (await session.connection()).execute(query)
            return int(result.rowcount)

    async def running(self, sessions: SessionFactory) -> dict[str, datetime | None]:
        """The running jobs and their last heartbeat."""
        c = self.jobs.c
        async with sessions() as session:
            conn = await session.connection()
            rows = await conn.execute(
                select(c.import_id, c.heartbeat_at).where(c.status == "running")
            )
            return {import_id: beat for import_id, beat in rows.all()}

    async def fail_silent(
        self, sessions: SessionFactory, seen: Mapping[str, datetime | None]
    ) -> int:
        """Mark the jobs of `seen` whose heartbeat has not moved since as cut off by a
        restart; a job whose process lives has beaten meanwhile and is left alone."""
        c, failed = self.jobs.c, 0
        async with sessions() as session, session.begin():
            conn = await session.connection()
            for import_id, beat in seen.items():
                same = c.heartbeat_at.is_(None) if beat is None else c.heartbeat_at == beat
                query = (
                    update(self.jobs)
                    .where(self._one(import_id), c.status == "running", same)
                    .values(status="failed", message=RESTARTED, finished_at=clock.now())
                )
                failed += int((await conn.execute(query)).rowcount)
        return failed

    # -- caps ------------------------------------------------------------------------------

    async def check_room(
        self, sessions: SessionFactory, client_id: str, config: ImportsConfig
    ) -> None:
        """429 when the client, or the service, already runs as many imports as allowed."""
        c = self.jobs.c
        running = (
            select(c.client_id, func.count())
            .where(c.status == "running", c.heartbeat_at > clock.now() - STALE_AFTER)
            .group_by(c.client_id)
        )
        async with sessions() as session:
            counts: dict[str, int] = dict(
                (await (await session.connection()).execute(running)).all()
            )
        if counts.get(client_id, 0) >= config.jobs_per_client:
            raise RateLimited(
                f"{client_id} already runs {config.jobs_per_client} {self.noun}s; "
                "wait for one to end",
                headers={"Retry-After": "30"},
            )
        if sum(counts.values()) >= config.jobs_overall:
            raise RateLimited(
                f"the service already runs {config.jobs_overall} {self.noun}s",
                headers={"Retry-After": "30"},
            )

    # -- reading a job ---------------------------------------------------------------------

    async def visible(
        self, sessions: SessionFactory, import_id: str, who: Principal
    ) -> Mapping[str, Any]:
        """The job, when `who` submitted it or holds `sees_all`; else 404."""
        async with sessions() as session:
            conn = await session.connection()
            job = (await conn.execute(select(self.jobs).where(self._one(import_id)))).first()
        if job is None or (job.client_id != who.id and self.sees_all not in who.scopes):
            raise NotFound(f"no {self.noun} {import_id}")
        return dict(job._mapping)

    async def issues(
        self, sessions: SessionFactory, import_id: str, level: str | None = None
    ) -> list[dict[str, Any]]:
        """The first `REPORT_ISSUES` issues (of a level), in row order."""
        i = table_of(self.issue).c
        query = select(i.row_no, i.column_name, i.msg).where(i.import_id == import_id)
        if level is not None:
            query = query.where(i.level == level)
        query = query.order_by(i.row_no, i.id).limit(REPORT_ISSUES)
        async with sessions() as session:
            rows = (await (await session.connection()).execute(query)).all()
        return [{"row": r.row_no, "column": r.column_name, "msg": r.msg} for r in rows]

    async def report(
        self, sessions: SessionFactory, import_id: str, who: Principal
    ) -> dict[str, Any]:
        """The job's progress and outcome, its issues, its links; a stale job is failed."""
        job = await self.visible(sessions, import_id, who)
        beat = job["heartbeat_at"]
        stale = beat is not None and clock.as_utc(beat) < clock.now() - STALE_AFTER
        if job["status"] == "running" and stale and await self.fail_stale(sessions, import_id):
            job = await self.visible(sessions, import_id, who)
        lists = {
            key: await self.issues(sessions, import_id, level) for key, level in self.issue_lists
        }
        status_url = self.status_url(import_id)
        return {
            **{name: job[name] for name in self.fields},
            **lists,
            "started_at": iso(job["started_at"]),
            "finished_at": iso(job["finished_at"]),
            "status_url": status_url,
            "errors_url": f"{status_url}/errors.csv",
        }

    async def answer(
        self,
        sessions: SessionFactory,
        task: asyncio.Task[None],
        import_id: str,
        who: Principal,
        *,
        wait: bool,
        accepted: Mapping[str, Any],
    ) -> JSONResponse:
        """202 with the job's `status_url` (and `accepted`'s fields); with `wait`, 200 and
        the report when the job ends within `WAIT_SECONDS`."""
        if wait:
            await asyncio.wait({task}, timeout=WAIT_SECONDS)
            if task.done():
                return JSONResponse(await self.report(sessions, import_id, who))
        status_url = self.status_url(import_id)
        return JSONResponse(
            {"import_id": import_id, "status": "running", **accepted, "status_url": status_url},
            status_code=202,
            headers={"Location": status_url},
        )


def iso(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC (naive values, as SQLite returns them, are UTC)."""
    return clock.as_utc(moment).isoformat() if moment else None


class JobTasks:
    """The import jobs running in this process, held so that they are not garbage-collected,
    and the watch for jobs a restart cut off. One per app and kind of job."""

    def __init__(self, jobs: ImportJobs, sessions: SessionFactory) -> None:
        self.jobs = jobs
        self._sessions = sessions
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def start(self) -> None:
        """Fail the stale jobs now, and watch the other running ones: those of a process
        that died in a restart stop beating, and are failed once `RESTART_GRACE_SECONDS`
        have passed without a beat."""
        if failed := await self.jobs.fail_stale(self._sessions):
            log.warning("%s: %d job(s) %s", self.jobs.noun, failed, INTERRUPTED)
        if seen := await self.jobs.running(self._sessions):
            self.spawn(self._watch(seen), f"{self.jobs.noun}-restart-watch")

    async def _watch(self, seen: Mapping[str, datetime | None]) -> None:
        await asyncio.sleep(RESTART_GRACE_SECONDS)
        if failed := await self.jobs.fail_silent(self._sessions, seen):
            log.warning("%s: %d job(s) %s", self.jobs.noun, failed, RESTARTED)

    async def stop(self) -> None:
        # One turn of the loop first: a task cancelled before its first step never runs, so
        # a job spawned just before shutdown would skip the `finally` that marks it ended.
        await asyncio.sleep(0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def job_lifespan(
    jobs: ImportJobs, state: str
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The lifespan of the router of `jobs`: the app's `JobTasks` at `app.state.<state>`,
    started (stale and restart-cut jobs failed) and, at shutdown, stopped."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sessions: SessionFactory = app.state.runtime.sessions  # started by the app's lifespan
        tasks = JobTasks(jobs, sessions)
        setattr(app.state, state, tasks)
        await tasks.start()
        try:
            yield
        finally:
            await tasks.stop()

    return lifespan
