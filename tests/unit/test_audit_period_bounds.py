"""GET /v1/audit refuses a period it cannot express in UTC with 400, not a server error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.asgi import app_of, call

TOKEN = "audit-operator-token-0123456789abcdef"
OPERATOR = (
    f'\n[[clients]]\nid = "ops"\ntoken = "{TOKEN}"\nscopes = ["admin"]\ndivisions = ["370800"]\n'
)


async def test_a_bound_before_year_one_in_utc_is_a_bad_request(tmp_path: Path) -> None:
    """0001-01-01T00:00:00+01:17 lies before year 1 once in UTC: found by fuzzing, it
    raised OverflowError (500)."""
    app = app_of("notifier", tmp_path, OPERATOR)
    headers = [("Authorization", f"Bearer {TOKEN}")]
    path = "/v1/audit?until=0001-01-01T00%3A00%3A00%2B01%3A17"
    answer = await call(app, "GET", path, headers)
    assert answer.status == 400, answer.body
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "since and until" in json.loads(answer.body)["detail"]
