"""An import's errors.csv lists every issue, in row order, on either database, where the
job's report stops at the first `REPORT_ISSUES`: for both kinds of import job."""

from __future__ import annotations

import csv
import io

import pytest

from enrollment.imports.api import JOBS as ENTERPRISE_IMPORTS
from hub_shared.import_jobs.issues_csv import ISSUES_PER_PAGE, issues_csv
from hub_shared.import_jobs.jobs import REPORT_ISSUES, ImportJobs
from hub_shared.storage.db import create_tables, make_engine, make_sessions, table_of
from hub_shared.web.auth import Principal
from incidents.training.roster_import import JOBS as ROSTER_IMPORTS

# Two issues a row, more than a page of the CSV and more than the report holds.
ROWS = ISSUES_PER_PAGE // 2 + 7
OWNER = Principal(id="importer", kind="client", scopes=frozenset(), divisions=())


@pytest.mark.parametrize(
    ("jobs", "download"),
    [(ENTERPRISE_IMPORTS, "enterprise-import"), (ROSTER_IMPORTS, "key-personnel-import")],
    ids=["enterprise", "roster"],
)
async def test_errors_csv_lists_every_issue_in_row_order(
    jobs: ImportJobs, download: str, database_url: str
) -> None:
    engine = make_engine(database_url)
    await create_tables(engine, [table_of(jobs.job), table_of(jobs.issue)])
    sessions = make_sessions(engine)
    try:
        import_id = await jobs.create(sessions, OWNER.id, "text/csv")
        leveled = "level" in table_of(jobs.issue).c
        issues = [
            {"row_no": row, "column_name": column, "msg": f"bad {column}"}
            | ({"level": "error"} if leveled else {})
            for row in range(ROWS + 1, 1, -1)  # stored last row first: the CSV sorts them
            for column in ("name", "uscc")
        ]
        async with sessions() as session, session.begin():
            await jobs.add_issues(await session.connection(), import_id, issues)

        answer = await issues_csv(jobs, sessions, import_id, OWNER)
        text = "".join([chunk async for chunk in answer.body_iterator])  # type: ignore[misc]
        reported = await jobs.issues(sessions, import_id)
    finally:
        await engine.dispose()

    assert text.startswith("\ufeff")
    header, *lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert header == ["row", "column", *(["level"] if leveled else []), "message"]
    assert len(lines) == 2 * ROWS > ISSUES_PER_PAGE
    assert [int(line[0]) for line in lines] == sorted(int(line[0]) for line in lines)
    assert {(line[0], line[1]) for line in lines} == {
        (str(row), column) for row in range(2, ROWS + 2) for column in ("name", "uscc")
    }
    assert len(reported) == REPORT_ISSUES < len(lines)
    filename = f"{download}-{import_id}-errors.csv"
    assert answer.headers["content-disposition"] == f'attachment; filename="{filename}"'
