"""The dashboard server over real HTTP (uvicorn on a free port, real Postgres): the token rule on every route,
the JSON twins, the job search and trace page, hostile input, and what a page says when it cannot read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest

from rythmiq_otel.console.dashboards import dashboard_names
from rythmiq_otel.console.dashboards._app import COOKIE, session_value
from rythmiq_otel.console.dashboards._render import CSP
from rythmiq_otel.console.dashboards._server import DashboardThread
from rythmiq_otel.console.dashboards._settings import DashboardSettings

from .seed import Seed

TOKEN = "test-token-0123456789abcdef"
ROUTES = ["/", "/operations", "/operations.json", "/cost", "/cost.json?range=month", "/product",
          "/product.json", "/jobs?q=x", "/jobs/00000000-0000-0000-0000-000000000000",
          "/jobs/00000000-0000-0000-0000-000000000000.json", "/nope", "/static/dashboard.css", "/logout"]
HOSTILE = ["'; DROP TABLE job_runs; --", "<script>alert(1)</script>", "../../etc/passwd", "%00", "1 OR 1=1",
           "x" * 5000, "00000000-0000-0000-0000-00000000000g", "\u202e\u0000", "{}", "$__timeFrom()"]


@contextmanager
def _client(url: str) -> Iterator[httpx.Client]:
    """A dashboard server over ``url`` on a free port, and a client that does not follow redirects."""
    server = DashboardThread(DashboardSettings(token=TOKEN, token_source="test", port=0), url)
    server.start()
    try:
        with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(seeded: tuple[str, Seed]) -> Iterator[httpx.Client]:
    with _client(seeded[0]) as c:
        yield c


@pytest.fixture
def client(server: httpx.Client) -> httpx.Client:
    """The module's client with no session cookie left over from another test."""
    server.cookies.clear()
    return server


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("credentials", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                         {"Authorization": f"Basic {TOKEN}"}, {"Cookie": f"{COOKIE}=forged"}])
def test_nothing_answers_without_the_token(client: httpx.Client, route: str, credentials: dict) -> None:
    for method in ("GET", "POST"):
        response = client.request(method, route, headers=credentials)
        assert response.status_code in (303, 401), (method, route, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login?next=")
        assert "job" not in response.text.lower() or response.status_code == 401
        assert response.headers["content-security-policy"] == CSP


def test_json_without_token_is_401(client: httpx.Client) -> None:
    response = client.get("/operations.json")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_login_sets_an_httponly_samesite_cookie_that_opens_the_pages(client: httpx.Client) -> None:
    wrong = client.post("/login", data={"token": "nope", "next": "/cost"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    right = client.post("/login", data={"token": TOKEN, "next": "/cost"})
    assert right.status_code == 303 and right.headers["location"] == "/cost"
    cookie = right.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and TOKEN not in cookie
    client.cookies.clear()
    page = client.get("/cost", headers={"Cookie": f"{COOKIE}={session_value(TOKEN)}"})
    assert page.status_code == 200 and "CPU hours used" in page.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client: httpx.Client, target: str) -> None:
    response = client.post("/login", data={"token": TOKEN, "next": target})
    assert response.headers["location"] == "/"


def test_login_with_a_hostile_body_is_refused(client: httpx.Client) -> None:
    many = "&".join(f"f{i}=1" for i in range(50))
    assert client.post("/login", content=many,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 401
    huge = client.post("/login", content="token=" + "a" * 100_000,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code in (401, 413)


@pytest.mark.parametrize("name", dashboard_names())
def test_each_page_and_its_json_twin(client: httpx.Client, name: str) -> None:
    page = client.get(f"/{name}", headers=_auth())
    assert page.status_code == 200
    data = client.get(f"/{name}.json", headers=_auth()).json()
    assert data["dashboard"] == name
    for panel_name, panel in data["panels"].items():
        assert f'data-panel="{panel_name}"' in page.text
        assert panel["title"] in page.text
    assert f'http-equiv="refresh" content="{data["refresh_seconds"]}"' in page.text
    assert "<script" not in page.text


def test_root_leads_to_operations(client: httpx.Client) -> None:
    assert client.get("/", headers=_auth()).headers["location"] == "/operations"


def test_a_bad_range_is_one_sentence(client: httpx.Client) -> None:
    page = client.get("/operations?range=1y", headers=_auth())
    assert page.status_code == 400 and "dashboard shows 24h, 7d, 30d, month" in page.text
    assert client.get("/cost.json?range=24h", headers=_auth()).status_code == 400


def test_search_finds_a_seeded_job_with_its_three_services(
    client: httpx.Client, seeded: tuple[str, Seed]
) -> None:
    job = next(j for j in seeded[1].jobs if j.status == "failed")
    found = client.get(f"/jobs?q={job.correlation_id}", headers=_auth())
    assert found.status_code == 303 and found.headers["location"] == f"/jobs/{job.correlation_id}"
    page = client.get(found.headers["location"], headers=_auth())
    assert page.status_code == 200
    data = client.get(f"/jobs/{job.job_id}.json", headers=_auth()).json()
    assert data["services"] == ["api", "webhook", "worker"]
    assert data["job"]["job_id"] == str(job.job_id)
    assert data["cpu_metrics"]["total_cpu_seconds"] == pytest.approx(job.cpu_seconds)
    assert [e["error_code"] for e in data["errors"]] == [job.error_code]
    assert str(job.job_id) in page.text and job.error_code in page.text
    # the trace id spelling (32 hex digits) finds the same job
    assert client.get(f"/jobs/{job.correlation_id.hex}.json", headers=_auth()).json()["job"] == data["job"]


def test_unknown_id_says_so(client: httpx.Client) -> None:
    missing = "6f1c2b7e-0000-4000-8000-000000000000"
    page = client.get(f"/jobs/{missing}", headers=_auth())
    assert page.status_code == 404 and "No job or trace" in page.text
    assert client.get(f"/jobs/{missing}.json", headers=_auth()).status_code == 404


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_ids_are_not_found_never_an_error(client: httpx.Client, hostile: str) -> None:
    for response in (client.get("/jobs", params={"q": hostile}, headers=_auth()),
                     client.get("/jobs/" + quote(hostile, safe=""), headers=_auth())):
        assert response.status_code == 404, hostile
        assert "Not found" in response.text or "not found" in response.text.lower()
        assert not re.search(r"SELECT|psycopg|Traceback|<script>", response.text)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_ranges_are_400_never_an_error(client: httpx.Client, hostile: str) -> None:
    response = client.get("/operations", params={"range": hostile}, headers=_auth())
    assert response.status_code == 400
    assert not re.search(r"SELECT|psycopg|Traceback|<script>", response.text)


def test_store_unreachable_is_503_without_sql(free_port_url: str) -> None:
    with _client(free_port_url) as unreachable:
        page = unreachable.get("/operations", headers=_auth())
        assert page.status_code == 503 and "cannot be read" in page.text
        assert "SELECT" not in page.text
        assert unreachable.get("/operations.json", headers=_auth()).status_code == 503


def test_old_schema_says_migrate(pg_admin_url: str, empty_database_url: str) -> None:
    with _client(empty_database_url) as old:
        page = old.get("/operations", headers=_auth())
        assert page.status_code == 503 and "rythmiq-otel migrate" in page.text
