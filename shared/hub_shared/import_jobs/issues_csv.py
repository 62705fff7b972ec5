"""Every issue of an import job as CSV, streamed a page at a time: the job's report lists
only the first `REPORT_ISSUES` of each level, the CSV all of them.

Columns `row,column,message`, with `level` before the message when the service's issue
table has one; UTF-8 with a BOM, so that Excel reads it; every cell made inert
(`spreadsheets.neutral_row`), since a column name comes from the file's header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Final

from fastapi.responses import StreamingResponse
from sqlalchemy import and_, or_, select

from hub_shared.import_jobs.jobs import ImportJobs
from hub_shared.spreadsheets import neutral_row
from hub_shared.storage.db import SessionFactory, table_of
from hub_shared.web.auth import Principal

ISSUES_PER_PAGE: Final = 5000


async def issue_lines(
    jobs: ImportJobs, sessions: SessionFactory, import_id: str
) -> AsyncIterator[str]:
    """The header, then every issue in row order, a page (keyset-paged) per chunk."""
    i = table_of(jobs.issue).c
    level = [i.level] if "level" in i else []
    columns = [i.row_no, i.column_name, *level, i.msg]
    header = ["row", "column", *(["level"] if level else []), "message"]
    yield "\ufeff" + ",".join(header) + "\r\n"
    last_row, last_id = 0, 0
    while True:
        after = or_(i.row_no > last_row, and_(i.row_no == last_row, i.id > last_id))
        query = (
            select(*columns, i.id)
            .where(i.import_id == import_id, after)
            .order_by(i.row_no, i.id)
            .limit(ISSUES_PER_PAGE)
        )
        async with sessions() as session:
            page = (await (await session.connection()).execute(query)).all()
        if not page:
            return
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(neutral_row(r[:-1]) for r in page)
        yield out.getvalue()
        last_row, last_id = page[-1].row_no, page[-1].id


async def issues_csv(
    jobs: ImportJobs, sessions: SessionFactory, import_id: str, who: Principal
) -> StreamingResponse:
    """The job's issues as a CSV download, when `who` may see the job (else 404)."""
    await jobs.visible(sessions, import_id, who)
    filename = f"{jobs.noun.replace(' ', '-')}-{import_id}-errors.csv"
    return StreamingResponse(
        issue_lines(jobs, sessions, import_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
