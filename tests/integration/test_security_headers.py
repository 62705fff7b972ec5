"""Every answer carries a Content-Security-Policy without inline scripts, frame-ancestors
'none' and nosniff; the dashboard's sign-in refuses a post not from its own form."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hub_shared.config import ServiceName
from tests.support.asgi import app_of
from tests.support.dashboard import sign_in
from tests.support.hub import running

PAGES: list[tuple[ServiceName, str]] = [
    ("notifier", "/dashboard/login"),
    ("notifier", "/dashboard"),
    ("incidents", "/reports/trends"),
    ("enrollment", "/v1/coverage/permits/x"),
    ("permit-ingest", "/healthz"),
]


def client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.mark.parametrize(("service", "path"), PAGES, ids=[p for _, p in PAGES])
async def test_every_answer_carries_the_security_headers(
    tmp_path: Path, service: ServiceName, path: str
) -> None:
    async with client(app_of(service, tmp_path)) as http:
        answer = await http.get(path)

    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_no_page_template_holds_an_inline_script() -> None:
    root = Path(__file__).resolve().parents[2] / "services"
    templates = list(root.glob("*/*/**/templates/*.html"))  # each service, any package
    assert len(templates) >= 7
    for template in templates:
        for tag in re.findall(r"<script\b[^>]*>", template.read_text(encoding="utf-8")):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)


async def test_sign_in_refuses_a_post_not_from_its_own_form(tmp_path: Path) -> None:
    app = app_of("notifier", tmp_path)
    async with (
        running(app),
        client(app) as forged,
        client(app) as other_site,
        client(app) as browser,
    ):
        no_value = await forged.post("/dashboard/login", data={"token": "office-rencheng"})
        form = await other_site.get("/dashboard/login")
        csrf = re.findall(r'name="csrf" value="([^"]+)"', form.text)[0]
        cross_origin = await other_site.post(
            "/dashboard/login",
            data={"token": "office-rencheng", "csrf": csrf},
            headers={"Origin": "https://evil.example"},
        )
        genuine = await sign_in(browser, "office-rencheng")

    assert (no_value.status_code, cross_origin.status_code) == (403, 403)
    assert "hub_office_session" not in no_value.headers.get("set-cookie", "")
    assert genuine.status_code == 303
    assert "hub_office_session=" in genuine.headers["set-cookie"]
