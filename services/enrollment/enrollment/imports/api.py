"""Enterprise import jobs (docs/interfaces.md §5, `POST /v1/enterprises:import`) and their routes.

The request checks credentials, media type and header (401/403/415/400/422 change nothing),
records a job in `enrollment_imports` and answers 202; a task of the app reads the file and
applies it in batches of `BATCH_ROWS`, one transaction each, updating the job's counters in
that same transaction. The job's life, caps and report are `hub_shared.import_jobs`'s: jobs
are rows, so they survive restarts, and a job whose process died (a restart, or no heartbeat
for `STALE_AFTER`) is marked failed. Its committed batches stay, and re-submitting is
idempotent: unchanged rows are no-ops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from enrollment.imports import importer
from enrollment.imports.importer import CSV, XLSX, Issue, ParsedFile, Upload, ValidRow
from enrollment.tables import ImportIssue, ImportJob
from hub_shared.import_jobs.issues_csv import issues_csv
from hub_shared.import_jobs.jobs import WAIT_SECONDS, ImportJobs, JobTasks, job_lifespan
from hub_shared.runtime import ServiceRuntime
from hub_shared.storage.uow import UnitOfWork
from hub_shared.web.auth import BREAK_GLASS, Principal, scoped
from hub_shared.web.dependencies import runtime_of
from hub_shared.web.http import require_media_type
from hub_shared.web.openapi_docs import answered_as

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
JOBS = ImportJobs(
    job=ImportJob,
    issue=ImportIssue,
    noun="enterprise import",
    path="/v1/enterprises/imports",
    sees_all=BREAK_GLASS,
    fields=(
        *("import_id", "status", "rows_total", "rows_done", "created", "updated", "unchanged"),
        *("rows_failed", "duplicates", "error_count", "warning_count", "message"),
    ),
    issue_lists=(("errors", "error"), ("warnings", "warning")),
)


import_router = APIRouter(
    prefix="/v1", tags=["registry"], lifespan=job_lifespan(JOBS, "enterprise_imports")
)
Enterprises = Annotated[Principal, scoped("enterprises:write")]


def _issue_rows(issues: Sequence[Issue]) -> list[dict[str, Any]]:
    return [
        {"row_no": i.row, "column_name": i.column, "level": i.level, "msg": i.msg} for i in issues
    ]


async def _read(
    runtime: ServiceRuntime, import_id: str, upload: Upload, who: Principal
) -> ParsedFile:
    """Validate every row in a worker thread (the job's heartbeat goes on meanwhile)."""
    parsed = await asyncio.to_thread(upload.read, who)
    async with runtime.sessions() as session, session.begin():
        await JOBS.add_issues(await session.connection(), import_id, _issue_rows(parsed.issues))
        warnings = sum(i.level == "warning" for i in parsed.issues)
        await JOBS.set(
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

    async def work(uow: UnitOfWork) -> None:
        done = await importer.apply_batch(uow.session, batch, who, runtime.source)
        await JOBS.add_issues(await uow.session.connection(), import_id, _issue_rows(done.issues))
        await JOBS.add(
            uow.session,
            import_id,
            rows_done=len(batch),
            created=done.created,
            updated=done.updated,
            unchanged=done.unchanged,
            rows_failed=len(done.issues),
            error_count=len(done.issues),
        )

    await runtime.writes.alone(work)


async def run_import(
    runtime: ServiceRuntime, import_id: str, upload: Upload, who: Principal
) -> None:
    """Read the file, then apply its valid rows batch by batch; `JOBS.run` writes the end."""

    async def steps() -> None:
        parsed = await _read(runtime, import_id, upload, who)
        for start in range(0, len(parsed.valid), BATCH_ROWS):
            await _apply(runtime, import_id, parsed.valid[start : start + BATCH_ROWS], who)

    await JOBS.run(runtime.sessions, import_id, steps)


async def import_report(runtime: ServiceRuntime, import_id: str, who: Principal) -> dict[str, Any]:
    return await JOBS.report(runtime.sessions, import_id, who)


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
    await JOBS.check_room(runtime.sessions, who.id, runtime.settings.hub.imports)
    body = await request.body()
    upload = await asyncio.to_thread(importer.open_upload, body, media, _charset(request))
    import_id = await JOBS.create(runtime.sessions, who.id, media)
    tasks: JobTasks = request.app.state.enterprise_imports
    task = tasks.spawn(run_import(runtime, import_id, upload, who), f"import-{import_id}")
    return await JOBS.answer(
        runtime.sessions, task, import_id, who, wait=wait, accepted={"rows_total": None}
    )


@import_router.get("/enterprises/imports/{import_id}", summary="Progress and report of an import")
async def import_status(import_id: str, request: Request, who: Enterprises) -> dict[str, Any]:
    return await import_report(runtime_of(request), import_id, who)


@import_router.get(
    "/enterprises/imports/{import_id}/errors.csv",
    summary="Every row error and warning, as CSV",
    response_class=StreamingResponse,
    responses=answered_as("every issue of the import", "text/csv"),
)
async def import_errors_csv(
    import_id: str, request: Request, who: Enterprises
) -> StreamingResponse:
    return await issues_csv(JOBS, runtime_of(request).sessions, import_id, who)
