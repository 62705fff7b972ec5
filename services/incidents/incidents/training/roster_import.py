"""Key-personnel import jobs: `POST /v1/key-personnel:import` (CSV or XLSX), the job's
progress and report, and every row issue as CSV, in the shape of the enterprise import.

The request checks credentials, media type and header (nothing is stored when they fail),
records a job and answers 202 (or, with ?wait=true, the final report when the job ends
within 30 s). A task reads and validates every row, then applies the valid ones in batches,
each batch and the job's counters in one transaction. A repeated row is unchanged. The job's
life and report are `hub_shared.import_jobs`'s, as for the enterprise import: a job whose
process died (a restart, or no heartbeat for two minutes) is marked failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlmodel import col, select

from hub_shared.import_jobs.issues_csv import issues_csv
from hub_shared.import_jobs.jobs import ImportJobs, JobTasks, job_lifespan
from hub_shared.runtime import ServiceRuntime
from hub_shared.web.auth import CurrentPrincipal, Principal
from hub_shared.web.dependencies import RuntimeDep
from hub_shared.web.http import require_media_type
from hub_shared.web.openapi_docs import answered_as
from incidents.api import PiiDep
from incidents.training import roster_file
from incidents.training.import_tables import IncidentsRosterImport, IncidentsRosterImportIssue
from incidents.training.intake import person_row
from incidents.training.schemas import KeyPersonIn
from incidents.training.tables import IncidentsKeyPerson

log = logging.getLogger(__name__)
BATCH_ROWS: Final = 1000
JOBS: Final = ImportJobs(
    job=IncidentsRosterImport,
    issue=IncidentsRosterImportIssue,
    noun="key-personnel import",
    path="/v1/key-personnel/imports",
    sees_all="admin",
    fields=(
        *("import_id", "status", "rows_total", "rows_done", "created", "unchanged"),
        *("rows_failed", "error_count", "message"),
    ),
)


router = APIRouter(tags=["training"], lifespan=job_lifespan(JOBS, "roster_imports"))


def can_write_training(principal: CurrentPrincipal) -> None:
    principal.require("training:write")


async def _issues(
    runtime: ServiceRuntime, import_id: str, issues: Sequence[roster_file.Issue]
) -> None:
    rows = [{"row_no": i.row_no, "column_name": i.column, "msg": i.msg[:500]} for i in issues]
    async with runtime.sessions() as session, session.begin():
        await JOBS.add_issues(await session.connection(), import_id, rows)


async def _apply(
    runtime: ServiceRuntime, import_id: str, batch: list[KeyPersonIn], key: bytes, who: Principal
) -> None:
    rows = {r.roster_id: r for r in (person_row(p, key=key, by=who.id) for p in batch)}
    async with runtime.sessions() as session, session.begin():
        known = set(
            (
                await session.exec(
                    select(IncidentsKeyPerson.roster_id).where(
                        col(IncidentsKeyPerson.roster_id).in_(list(rows))
                    )
                )
            ).all()
        )
        fresh = [row for roster_id, row in rows.items() if roster_id not in known]
        session.add_all(fresh)
        await JOBS.add(
            session,
            import_id,
            rows_done=len(batch),
            created=len(fresh),
            unchanged=len(batch) - len(fresh),
        )


async def run_import(
    runtime: ServiceRuntime, import_id: str, rows: list[list[Any]], key: bytes, who: Principal
) -> None:
    """Validate every row, then apply the valid ones batch by batch; `JOBS.run` writes the
    end, whatever it is."""

    async def steps() -> None:
        parsed = await asyncio.to_thread(roster_file.parse, rows)
        outside = [row for row, p in parsed.valid if not who.covers(p.division_code)]
        valid = [p for _, p in parsed.valid if who.covers(p.division_code)]
        issues = parsed.issues + [
            roster_file.Issue(row, "division_code", "outside this credential's divisions")
            for row in outside
        ]
        await _issues(runtime, import_id, issues)
        failed = roster_file.rows_with_issues(parsed) + len(outside)
        async with runtime.sessions() as session, session.begin():
            await JOBS.set(
                session,
                import_id,
                rows_total=parsed.rows_total,
                rows_done=failed,
                rows_failed=failed,
                error_count=len(issues),
            )
        for batch in roster_file.split(valid, BATCH_ROWS):
            await _apply(runtime, import_id, batch, key, who)

    await JOBS.run(runtime.sessions, import_id, steps)


async def report(runtime: ServiceRuntime, import_id: str, who: Principal) -> dict[str, Any]:
    return await JOBS.report(runtime.sessions, import_id, who)


@router.post(
    "/v1/key-personnel:import",
    status_code=202,
    dependencies=[Depends(can_write_training)],
    summary="Import key personnel from CSV (UTF-8 or GB18030) or XLSX",
    description="Columns uscc, name, division_code, industry_code, role, id_number, "
    "person_name, listed_on (or 统一社会信用代码, 单位名称, 行政区划代码, 行业代码, 岗位, "
    "身份证号, 姓名, 登记日期); 岗位 may be 分管负责人, 安全管理部门主要负责人 or 一线班组长.",
)
async def import_key_personnel(
    request: Request, who: CurrentPrincipal, runtime: RuntimeDep, pii: PiiDep, wait: bool = False
) -> JSONResponse:
    media = require_media_type(request, roster_file.CSV, roster_file.XLSX)
    rows = await asyncio.to_thread(roster_file.rows_of, await request.body(), media)
    roster_file.header(rows)  # 422 before any job exists
    import_id = await JOBS.create(runtime.sessions, who.id, media)
    tasks: JobTasks = request.app.state.roster_imports
    task = tasks.spawn(run_import(runtime, import_id, rows, pii.key, who), f"roster-{import_id}")
    return await JOBS.answer(runtime.sessions, task, import_id, who, wait=wait, accepted={})


@router.get("/v1/key-personnel/imports/{import_id}", dependencies=[Depends(can_write_training)])
async def import_status(
    import_id: str, who: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Progress and report of a key-personnel import."""
    return await report(runtime, import_id, who)


@router.get(
    "/v1/key-personnel/imports/{import_id}/errors.csv",
    dependencies=[Depends(can_write_training)],
    response_class=StreamingResponse,
    responses=answered_as("every issue of the import", "text/csv"),
)
async def import_errors(
    import_id: str, who: CurrentPrincipal, runtime: RuntimeDep
) -> StreamingResponse:
    """Every row issue of an import, as CSV (row, column, message)."""
    return await issues_csv(JOBS, runtime.sessions, import_id, who)
