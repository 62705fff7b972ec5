"""Pages sign in with server-side sessions: the browser holds an opaque id, never the
token; signing out revokes it; cookies are Secure when the deployment says https; report
pages and downloads take a one-use link, and no route takes a token in its address."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hub_shared.config import ServiceName
from tests.support.asgi import app_of
from tests.support.dashboard import sign_in
from tests.support.hub import REPORTS_TOKEN, bearer, running, settings_for, write_config

OFFICE = "office-rencheng"


def browser(app: object, scheme: str = "http") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://hub.test")


def cookie_value(response: httpx.Response, name: str) -> str:
    found = re.search(rf"{name}=([^;]+)", response.headers.get("set-cookie", ""))
    assert found, response.headers
    return found[1]


async def test_signing_out_revokes_the_session_on_the_server(tmp_path: Path) -> None:
    app = app_of("notifier", tmp_path)
    async with running(app), browser(app) as first:
        signed_in = await sign_in(first, OFFICE)
        assert signed_in.status_code == 303
        session = cookie_value(signed_in, "hub_office_session")
        assert OFFICE not in signed_in.headers["set-cookie"]
        assert (await first.get("/dashboard")).status_code == 200
        assert "secure" not in signed_in.headers["set-cookie"].lower()

        async with browser(app) as replay:  # a copy of the cookie, kept by someone else
            replay.cookies.set("hub_office_session", session, domain="hub.test")
            assert (await replay.get("/dashboard")).status_code == 200
            await first.post("/dashboard/logout")
            after = await replay.get("/dashboard")
        assert (after.status_code, after.headers["location"]) == (303, "/dashboard/login")


async def test_cookies_are_secure_when_the_deployment_says_https(tmp_path: Path) -> None:
    from notifier.app import create_app

    config = write_config(tmp_path / "hub.toml")
    settings = settings_for(
        "notifier",
        config=config,
        bootstrap="127.0.0.1:9",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'n.db'}",
        data_dir=tmp_path,
    ).model_copy(update={"served_over_https": True})
    app = create_app(settings)
    async with running(app), browser(app) as behind_a_proxy:  # the proxy forwards http
        form = await behind_a_proxy.get("/dashboard/login")
        assert "secure" in form.headers["set-cookie"].lower()


async def test_report_pages_take_a_one_use_link_never_a_token(tmp_path: Path) -> None:
    app = app_of("incidents", tmp_path)
    page = "/v1/reports/annual-submission?division_code=370800&year=2021"
    async with running(app), browser(app) as http:
        by_token = await http.get(f"/reports/trends?division_code=370800&token={REPORTS_TOKEN}")
        link = (await http.post("/v1/reports/links", headers=bearer(REPORTS_TOKEN))).json()
        first = await http.get(f"/reports/trends?division_code=370800&link={link['link']}")
        again = await http.get(f"{page}&link={link['link']}")

    assert by_token.status_code == 401
    assert link["expires_in"] == 300
    assert first.status_code == 200, first.text
    assert REPORTS_TOKEN not in first.headers["set-cookie"]
    assert "hub_reports_session=" in first.headers["set-cookie"]
    assert again.status_code == 401  # used up


@pytest.mark.parametrize("service", ["permit-ingest", "enrollment", "incidents", "notifier"])
def test_no_route_takes_a_token_in_its_address(tmp_path: Path, service: ServiceName) -> None:
    spec = app_of(service, tmp_path).openapi()
    names = {
        parameter["name"].lower()
        for operations in spec["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query"
    }
    assert not names & {"token", "access_token", "bearer", "authorization"}
