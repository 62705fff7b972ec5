"""Enterprise import jobs (docs/interfaces.md §5, `POST /v1/enterprises:import`) and their routes.

The request checks credentials, media type and header (401/403/415/400/422 change nothing),
records a job in `enrollment_imports` and answers 202; a task of the app reads the file and
applies it in batches of `BATCH_ROWS`, one transaction each, updating the job's counters in
that same transaction. Jobs are rows, so they survive restarts: a job whose process died
(no heartbeat for `STALE_AFTER`) is marked failed with "interrupted by restart; re-submit".
Its committed batches stay, and re-submitting is idempotent: unchanged rows are no-ops.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import and_, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from enrollment.imports import importer
from enrollment.imports.importer import CSV, XLSX, Issue, ParsedFile, Upload, ValidRow
from enrollment.imports.upload_guard import check_job_room
from enrollment.tables import ImportIssue, ImportJob
from hub_shared import clock
from hub_shared.auth import BREAK_GLASS, Principal, scoped
from hub_shared.db import SessionFactory, table_of
from hub_shared.dependencies import runtime_of
from hub_shared.errors import HubError, NotFound
from hub_shared.http import require_media_type
from hub_shared.runtime import ServiceRuntime
from hub_shared.spreadsheets import neutral_row
from hub_shared.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
REPORT_ISSUES = 1000
WAIT_SECONDS = 30.0  # ?wait=true: files of a few thousand rows finish well within this
HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=120)
INTERRUPTED = "interrupted by restart; re-submit"


_ISSUES = table_of(ImportIssue)


class ImportTasks:
    """The import jobs running in this process, held so they are not garbage-collected."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        # One turn of the loop first: a task cancelled before its first step never runs, so
        # a job spawned just before shutdown would skip the `finally` that marks it ended.
        await asyncio.sleep(0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def fail_stale_jobs(sessions: SessionFactory, import_id: str | None = None) -> int:
    """Mark running jobs whose heartbeat stopped as failed (their process is gone)."""
    query = (
        update(ImportJob)
        .where(col(ImportJob.status) == "running")
        .where(col(ImportJob.heartbeat_at) < clock.now() - STALE_AFTER)
        .values(status="failed", message=INTERRUPTED, finished_at=clock.now())
    )
    if import_id is not None:
        query = query.where(col(ImportJob.import_id) == import_id)
    async with sessions() as session, session.begin():
        result = await session.exec(query)
        return int(result.rowcount)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: ServiceRuntime = app.state.runtime  # started by the app's own lifespan
    if failed := await fail_stale_jobs(runtime.sessions):
        log.warning("enterprise import: %d job(s) %s", failed, INTERRUPTED)
    app.state.enterprise_imports = tasks = ImportTasks()
    try:
        yield
    finally:
        await tasks.stop()


import_router = APIRouter(prefix="/v1", tags=["registry"], lifespan=_lifespan)
Enterprises = Annotated[Principal, scoped("enterprises:write")]


async def _add_issues(conn: AsyncConnection, import_id: str, issues: Sequence[Issue]) -> None:
    for start in range(0, len(issues), 5000):
        rows = [
            {"import_id": import_id, "row_no": i.row, "column_name": i.column}
            | {"level": i.level, "msg": i.msg}
            for i in issues[start : start + 5000]
        ]
        await conn.execute(insert(_ISSUES), rows)


async def _set_job(session: AsyncSession, import_id: str, **values: Any) -> None:
    where = col(ImportJob.import_id) == import_id
    await session.exec(update(ImportJob).where(where).values(heartbeat_at=clock.now(), **values))


async def _read(
    runtime: ServiceRuntime, import_id: str, upload: Upload, who: Principal
) -> ParsedFile:
    """Validate every row in a worker thread, keeping the job's heartbeat meanwhile."""
    reading = asyncio.ensure_future(asyncio.to_thread(upload.read, who))
    try:
        while not (await asyncio.wait({reading}, timeout=HEARTBEAT_SECONDS))[0]:
            async with runtime.sessions() as session, session.begin():
                await _set_job(session, import_id)
    except BaseException:
        reading.cancel()
        raise
    parsed = reading.result()
    async with runtime.sessions() as session, session.begin():
        await _add_issues(await session.connection(), import_id, parsed.issues)
        warnings = sum(i.level == "warning" for i in parsed.issues)
        await _set_job(
            session,
            import_id,
            rows_total=parsed.rows_total,
            rows_done=parsed.rows_total - len(parsed.valid),
            rows_failed=parsed.rows_failed,
            duplicates=parsed.duplicates,
            error_count=len(parsed.issues) - warnings,
            warning_count=warnings,
        )
    return parsed


async def _apply(
    runtime: ServiceRuntime, import_id: str, batch: list[ValidRow], who: Principal
) -> None:
    """One batch and the job's counters in a transaction of its own (a concurrent insert of
    the same USCC, on PostgreSQL, makes the redo see it as an update)."""
    job = table_of(ImportJob).c

    async def work(uow: UnitOfWork) -> None:
        done = await importer.apply_batch(uow.session, batch, who, runtime.source)
        await _add_issues(await uow.session.connection(), import_id, done.issues)
        await _set_job(
            uow.session,
            import_id,
            rows_done=job.rows_done + len(batch),
            created=job.created + done.created,
            updated=job.updated + done.updated,
            unchanged=job.unchanged + done.unchanged,
            rows_failed=job.rows_failed + len(done.issues),
            error_count=job.error_count + len(done.issues),
        )

    await runtime.writes.alone(work)


async def run_import(
    runtime: ServiceRuntime, import_id: str, upload: Upload, who: Principal
) -> None:
    """The whole job; whatever ends it early is written on the job, never lost."""
    status, message = "failed", None
    try:
        parsed = await _read(runtime, import_id, upload, who)
        for start in range(0, len(parsed.valid), BATCH_ROWS):
            await _apply(runtime, import_id, parsed.valid[start : start + BATCH_ROWS], who)
        status = "done"
    except asyncio.CancelledError:
        message = "interrupted by shutdown; re-submit"
        raise
    except HubError as exc:
        message = exc.detail
    except Exception:
        log.exception("enterprise import %s failed", import_id)
        message = "the import failed; batches already applied stay applied; re-submit"
    finally:
        async with runtime.sessions() as session, session.begin():
            await _set_job(
                session, import_id, status=status, message=message, finished_at=clock.now()
            )
        log.info("enterprise import %s: %s %s", import_id, status, message or "")


def _stale(job: ImportJob) -> bool:
    beat = job.heartbeat_at.replace(tzinfo=job.heartbeat_at.tzinfo or UTC)
    return job.status == "running" and beat < clock.now() - STALE_AFTER


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=moment.tzinfo or UTC).isoformat() if moment else None


async def _visible_job(session: AsyncSession, import_id: str, who: Principal) -> ImportJob:
    job = await session.get(ImportJob, import_id)
    if job is None or (job.client_id != who.id and BREAK_GLASS not in who.scopes):
        raise NotFound(f"no enterprise import {import_id}")
    return job


async def _issues(session: AsyncSession, import_id: str, level: str) -> list[dict[str, Any]]:
    query = (
        select(ImportIssue)
        .where(col(ImportIssue.import_id) == import_id, col(ImportIssue.level) == level)
        .order_by(col(ImportIssue.row_no), col(ImportIssue.id))
        .limit(REPORT_ISSUES)
    )
    rows = (await session.exec(query)).all()
    return [{"row": i.row_no, "column": i.column_name, "msg": i.msg} for i in rows]


async def import_report(runtime: ServiceRuntime, import_id: str, who: Principal) -> dict[str, Any]:
    async with runtime.sessions() as session:
        job = await _visible_job(session, import_id, who)
    if _stale(job) and await fail_stale_jobs(runtime.sessions, import_id):
        async with runtime.sessions() as session:
            job = await _visible_job(session, import_id, who)
    async with runtime.sessions() as session:
        errors = await _issues(session, import_id, "error")
        warnings = await _issues(session, import_id, "warning")
    status_url = f"/v1/enterprises/imports/{import_id}"
    return {
        **job.model_dump(include={"import_id", "status", "rows_total", "rows_done"}),
        **job.model_dump(include={"created", "updated", "unchanged", "rows_failed"}),
        **job.model_dump(include={"duplicates", "error_count", "warning_count", "message"}),
        "errors": errors,
        "warnings": warnings,
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "status_url": status_url,
        "errors_url": f"{status_url}/errors.csv",
    }


def _charset(request: Request) -> str | None:
    for param in request.headers.get("content-type", "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            CSV: {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@import_router.post(
    "/enterprises:import",
    status_code=202,
    summary="Import enterprises from CSV (UTF-8 or GB18030) or XLSX",
    description="Columns uscc, name, division_code, industry_code, employees (or 统一社会信用代码, "
    "单位名称/企业名称, 行政区划代码, 行业代码, 从业人数). 202 with a status_url; with "
    f"?wait=true, 200 and the final report when the job ends within {WAIT_SECONDS:.0f} s.",
    openapi_extra=_BODY,
)
async def import_enterprises(
    request: Request, who: Enterprises, wait: bool = False
) -> JSONResponse:
    media = require_media_type(request, CSV, XLSX)
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        await check_job_room(session, who.id, runtime.settings.hub.imports)
    body = await request.body()
    upload = await asyncio.to_thread(importer.open_upload, body, media, _charset(request))
    job = ImportJob(
        import_id=str(uuid.uuid4()), client_id=who.id, media_type=media, status="running"
    )
    async with runtime.sessions() as session, session.begin():
        session.add(job)
    tasks: ImportTasks = request.app.state.enterprise_imports
    task = tasks.spawn(run_import(runtime, job.import_id, upload, who), f"import-{job.import_id}")
    if wait:
        await asyncio.wait({task}, timeout=WAIT_SECONDS)
        if task.done():
            return JSONResponse(await import_report(runtime, job.import_id, who))
    status_url = f"/v1/enterprises/imports/{job.import_id}"
    answer = {"import_id": job.import_id, "status": "running", "rows_total": None}
    return JSONResponse(
        answer | {"status_url": status_url}, status_code=202, headers={"Location": status_url}
    )


@import_router.get("/enterprises/imports/{import_id}", summary="Progress and report of an import")
async def import_status(import_id: str, request: Request, who: Enterprises) -> dict[str, Any]:
    return await import_report(runtime_of(request), import_id, who)


async def _issue_csv(sessions: SessionFactory, import_id: str) -> AsyncIterator[str]:
    yield "\ufeffrow,column,level,message\r\n"  # the BOM makes Excel read UTF-8
    last_row, last_id = 0, 0
    while True:
        after = or_(
            col(ImportIssue.row_no) > last_row,
            and_(col(ImportIssue.row_no) == last_row, col(ImportIssue.id) > last_id),
        )
        query = (
            select(ImportIssue)
            .where(col(ImportIssue.import_id) == import_id, after)
            .order_by(col(ImportIssue.row_no), col(ImportIssue.id))
            .limit(5000)
        )
        async with sessions() as session:
            page = (await session.exec(query)).all()
        if not page:
            return
        out = io.StringIO()
        csv.writer(out).writerows(
            neutral_row((i.row_no, i.column_name, i.level, i.msg)) for i in page
        )
        yield out.getvalue()
        last_row, last_id = page[-1].row_no, page[-1].id or 0


@import_router.get(
    "/enterprises/imports/{import_id}/errors.csv", summary="Every row error and warning, as CSV"
)
async def import_errors_csv(
    import_id: str, request: Request, who: Enterprises
) -> StreamingResponse:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        await _visible_job(session, import_id, who)
    filename = f"enterprise-import-{import_id}-errors.csv"
    return StreamingResponse(
        _issue_csv(runtime.sessions, import_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
