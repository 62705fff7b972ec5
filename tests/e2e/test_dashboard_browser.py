"""The office dashboard in a real browser: Debian's chromium, headless, driven by
Playwright for Python. An office signs in with its token, sees a new alert of its county
arrive live (and never one of another county), opens it and acknowledges it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from hubtools.kafka import LocalKafka
from tests.support.notifier_harness import RENCHENG, Hub, new_alert, running_hub, until

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_FOR_REVIEW = Path("/tmp/dashboard.png")


@pytest.fixture
async def hub(kafka: LocalKafka, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(kafka, sqlite_url, tmp_path, http=True) as running:
        yield running


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        raise RuntimeError("Debian's chromium is missing: apt-get install -y chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_an_office_signs_in_sees_an_alert_arrive_live_and_acknowledges_it(
    hub: Hub, browser: Browser, tmp_path: Path
) -> None:
    page: Page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    await page.goto(f"{hub.base_url}/dashboard")
    await expect(page.get_by_role("heading", name="社保经办机构登录")).to_be_visible()
    await page.fill("#token", "not-a-token")
    await page.click("#sign-in")
    await expect(page.get_by_role("alert")).to_contain_text("令牌无效")
    await page.fill("#token", RENCHENG)
    await page.click("#sign-in")
    await page.wait_for_url(f"{hub.base_url}/dashboard")
    await expect(page.locator("#who")).to_contain_text("任城区")
    await expect(page.locator("#live-status")).to_have_text("实时: 已连接", timeout=15_000)
    assert await page.evaluate("document.cookie") == ""  # the token is HttpOnly

    elsewhere, ours = new_alert("370812"), new_alert("370811")
    await hub.publish("alert.raised", elsewhere)
    await hub.publish("alert.raised", ours)
    row = page.locator(f"#alert-{ours['alert_id']}")
    await expect(row).to_be_visible(timeout=20_000)  # no reload: it came over the stream
    await expect(row).to_contain_text("任城区")
    await expect(row).to_contain_text("待确认")
    await expect(page.locator(f"#alert-{elsewhere['alert_id']}")).to_have_count(0)
    await expect(page.locator("#toast")).to_contain_text("新预警")

    await row.click()
    detail = page.locator("#detail")
    await expect(detail).to_contain_text("施工许可证已发放 24 小时")
    await expect(detail).to_contain_text("permit.issued")
    await expect(detail).to_contain_text("推送记录")
    await expect(page.locator("#chart-open canvas")).to_have_count(1)
    await page.click("#ack-button")
    await expect(page.locator("#ack-state")).to_contain_text("已由 rencheng")
    await expect(row).to_contain_text("已确认", timeout=10_000)

    acked = await until(
        lambda: hub.stored(ours["alert_id"], acknowledged_by="rencheng"), what="the ack"
    )
    assert acked["status"] == "open"
    shot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    shutil.copyfile(shot, SCREENSHOT_FOR_REVIEW)
    assert shot.stat().st_size > 10_000
    # Everything the page loaded came from the notifier itself: no CDN, no other host.
    assert requested
    assert all(url.startswith(hub.base_url) for url in requested), requested
    assert errors == []
