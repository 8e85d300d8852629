"""The dashboards in a real browser: Debian's headless Chromium driven by playwright-python, against a real
dashboard server over a seeded store. Screenshots of every page go to ``test-artifacts/dashboards/``
(``RYTHMIQ_TEST_ARTIFACTS`` overrides the directory); the README's copies live in ``docs/images/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import playwright.sync_api as playwright_api
import psycopg
import pytest

from rythmiq_otel.console.dashboards._format import human
from rythmiq_otel.console.dashboards._server import DashboardThread
from rythmiq_otel.console.dashboards._settings import DashboardSettings

from .seed import Seed

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-test-token-0123456789"
ARTIFACTS = Path(os.environ.get("RYTHMIQ_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def base_url(seeded: tuple[str, Seed]) -> Iterator[str]:
    server = DashboardThread(DashboardSettings(token=TOKEN, token_source="test", port=0), seeded[0])
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def problems() -> list[str]:
    """The console errors and page errors of the test's page (none allowed at its end)."""
    return []


@pytest.fixture
def page(
    browser: playwright_api.Browser, base_url: str, problems: list[str]
) -> Iterator[playwright_api.Page]:
    """A logged-in page that records every console error and page error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=base_url)
    opened = context.new_page()
    opened.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    opened.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    opened.goto("/operations")
    assert "/login" in opened.url
    opened.fill("input[name=token]", TOKEN)
    opened.click("button[type=submit]")
    opened.wait_for_url("**/operations")
    yield opened
    assert problems == []
    context.close()


def _artifact(name: str) -> Path:
    ARTIFACTS.joinpath("dashboards").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "dashboards" / name


def _shot(page: playwright_api.Page, name: str) -> None:
    page.screenshot(path=str(_artifact(f"{name}.png")), full_page=True)


def _stat(page: playwright_api.Page, panel: str) -> str:
    return page.locator(f"[data-panel={panel}] .big").inner_text()


def test_operations_numbers_and_range_selector(page: playwright_api.Page, seeded: tuple[str, Seed]) -> None:
    seed = seeded[1]
    day = seed.since(timedelta(hours=24))
    assert _stat(page, "jobs") == human(len(day), "count")
    finished = [j for j in day if j.ran]
    rate = 100 * sum(j.status == "failed" for j in finished) / len(finished)
    assert _stat(page, "error_rate") == human(rate, "percent")
    assert page.locator("[data-panel=throughput] svg rect").count() >= 24
    assert "No alert rule has been evaluated yet" in page.locator("[data-panel=alerts]").inner_text()
    _shot(page, "operations")
    page.click("text=7 days")
    page.wait_for_url("**/operations?range=7d")
    assert _stat(page, "jobs") == human(len(seed.since(timedelta(days=7))), "count")


def test_cost_and_product_render(page: playwright_api.Page, seeded: tuple[str, Seed]) -> None:
    page.click("nav >> text=CPU budget")
    page.wait_for_url("**/cost")
    assert page.locator("[data-panel=cpu_used] .big").inner_text().endswith(" h")
    assert page.locator("[data-panel=daily_cpu] svg").count() == 1
    _shot(page, "cost")
    page.click("nav >> text=Product health")
    page.wait_for_url("**/product")
    ran = [j for j in seeded[1].since(timedelta(days=7)) if j.ran]
    fast = sum(j.path == "fast" for j in ran)
    assert human(100 * fast / len(ran), "percent") in page.locator("[data-panel=path_split]").inner_text()
    _shot(page, "product")


def test_search_finds_a_job_and_shows_its_three_services(
    page: playwright_api.Page, seeded: tuple[str, Seed], problems: list[str]
) -> None:
    job = next(j for j in seeded[1].jobs if j.status == "failed")
    page.fill("input[name=q]", str(job.job_id))
    page.press("input[name=q]", "Enter")
    page.wait_for_url(f"**/jobs/{job.job_id}")
    timeline = page.locator("#timeline").inner_text()
    for service in ("api", "worker", "webhook"):
        assert service in timeline
    assert page.locator("#waterfall svg rect").count() == 3
    assert job.error_code in page.locator("#errors").inner_text()
    _shot(page, "job")
    page.fill("input[name=q]", "'; DROP TABLE job_runs; --")
    page.press("input[name=q]", "Enter")
    assert page.locator("h1").inner_text() == "Not found"
    # The browser reports the 404 status itself; that one line is the expected answer, nothing else.
    assert [p for p in problems if "status of 404" not in p] == []
    problems.clear()


def test_without_the_token_no_route_shows_data(browser: playwright_api.Browser, base_url: str,
                                               seeded: tuple[str, Seed]) -> None:
    context = browser.new_context(base_url=base_url)
    anonymous = context.new_page()
    job = seeded[1].jobs[0]
    for route in ("/", "/operations", "/cost?range=month", "/product", f"/jobs/{job.job_id}",
                  f"/jobs?q={job.job_id}"):
        anonymous.goto(route)
        assert "/login" in anonymous.url, route
        # the login form only (it remembers where to go next, nothing the store holds)
        assert anonymous.locator("section, table, svg").count() == 0, route
        assert str(job.correlation_id) not in anonymous.content()
    response = anonymous.goto("/operations.json")
    assert response is not None and response.status == 401
    context.close()


@pytest.fixture(scope="module")
def history_url(migrated_database_factory) -> str:
    """A store holding eight days of realistic history (the shape the demo's backfill follows), with the
    alert rules evaluated once over it (as `up` does every minute)."""
    from rythmiq_otel.console.alerts import load_alert_settings, record
    from tests.seed_store import seed

    url = migrated_database_factory()
    with psycopg.connect(url, autocommit=True) as conn:
        seed(conn, days=8, jobs_per_day=1000, trace_jobs=20)
        record(conn, load_alert_settings({}))
    return url


def test_a_week_of_history_renders_every_panel(browser: playwright_api.Browser, history_url: str) -> None:
    """Every panel has data to draw over a realistic week (the alerts' states included), no console
    error; these screenshots are the ones docs/images/ keeps for the README."""
    server = DashboardThread(DashboardSettings(token=TOKEN, token_source="test", port=0), history_url)
    server.start()
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=server.url,
                                  extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        for name, route in (("operations", "/operations"), ("cost", "/cost"), ("product", "/product")):
            page.goto(route)
            empty = page.locator("section .empty")
            assert empty.count() == 0, (name, empty.all_inner_texts())
            page.screenshot(path=str(_artifact(f"history-{name}.png")), full_page=True)
        with psycopg.connect(history_url) as conn:
            row = conn.execute("SELECT job_id FROM logs WHERE job_id IS NOT NULL AND service = 'webhook'"
                               " ORDER BY \"timestamp\" DESC LIMIT 1").fetchone()
        assert row is not None
        page.goto(f"/jobs/{row[0]}")
        assert page.locator("#waterfall svg rect").count() >= 3
        page.screenshot(path=str(_artifact("history-job.png")), full_page=True)
    finally:
        context.close()
        server.stop()
    assert problems == []
