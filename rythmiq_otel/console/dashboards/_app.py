"""The dashboard web app: the pages, their JSON twins, the job search, login -- all behind the token.

Routes (every one but ``/login`` needs the token, as ``Authorization: Bearer <token>`` or the session
cookie the login page sets):

- ``/`` -> ``/operations``; ``/operations``, ``/cost``, ``/product`` (``?range=``) and ``/<name>.json``;
- ``/jobs?q=<id>`` (the search box) -> ``/jobs/<id>``; ``/jobs/<id>`` and ``/jobs/<id>.json``;
- ``/login`` (GET form, POST token -> cookie), ``/logout`` (POST).

Without the token a page redirects to the login form and a ``.json`` answers 401; nothing else is said,
not even whether the path exists. Every query runs read-only through ``run_dashboard`` / ``job_trace``;
a bad range is a 400 with one sentence, an unknown or hostile id a 404 "not found", and a store error a
503 that names the problem but never echoes SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, quote

import psycopg
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ._definitions import DASHBOARDS
from ._jobs import job_trace, parse_job_id
from ._render import CSP, dashboard_page, job_page, login_page, message_page
from ._run import run_dashboard

__all__ = ["COOKIE", "create_app"]

log = logging.getLogger(__name__)

COOKIE = "rythmiq_dashboard_session"
_SESSION_DAYS = 30
_MAX_BODY = 16 * 1024  # the login form is the only body this app reads
_OPEN_PATHS = frozenset({"/login"})
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def session_value(token: str) -> str:
    """The cookie's value: derived from the token (the token itself never sits in a cookie), so changing
    the token logs every browser out."""
    return hmac.new(token.encode(), b"rythmiq-dashboard-session", hashlib.sha256).hexdigest()


def _authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or "application/json" in request.headers.get("accept", "")


def _safe_next(path: str) -> str:
    """Only a path on this site (no ``//host``, no scheme) may be the target after login."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


class _Guard(BaseHTTPMiddleware):
    """The token check in front of every route, plus the security headers on every answer."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self._token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path in _OPEN_PATHS or _authorised(request, self._token):
            response = await call_next(request)
        elif _wants_json(request):
            response = JSONResponse({"error": "the dashboard token is required (Authorization: Bearer ...)"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        else:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        response.headers.update(_HEADERS)
        return response


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)


def _store_problem(err: psycopg.Error) -> str:
    """What went wrong with the store, in words, without the statement or its parameters."""
    if isinstance(err, psycopg.errors.UndefinedFunction | psycopg.errors.UndefinedTable):
        return "the store's schema is older than this dashboard: run `rythmiq-otel migrate`"
    if isinstance(err, psycopg.OperationalError | psycopg.errors.InsufficientPrivilege):
        return f"the store cannot be read ({type(err).__name__})"
    return f"a dashboard query failed ({type(err).__name__}); the server log has the details"


def _auth_routes(token: str) -> list[Route]:
    """``/login`` (the form; its POST sets the session cookie) and ``/logout``."""

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return _html(login_page(_safe_next(request.query_params.get("next", "/"))))
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_BODY:
                return _html(login_page("/", failed=True), 413)
        try:
            form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
        except ValueError:  # more fields than a login form has
            form = {}
        given = (form.get("token") or [""])[0].strip()
        target = _safe_next((form.get("next") or ["/"])[0])
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return _html(login_page(target, failed=True), 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, session_value(token), max_age=_SESSION_DAYS * 86400, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
        return response

    def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return [Route("/login", login, methods=["GET", "POST"]), Route("/logout", logout, methods=["POST"])]


def create_app(pool: ConnectionPool, token: str) -> Starlette:
    """The app over ``pool`` (connections to the store), opening only for ``token``."""

    def guarded_read(request: Request, read: Callable[[psycopg.Connection], Any]) -> Any:
        try:
            with pool.connection() as conn:
                return read(conn)
        except psycopg.Error as err:
            log.warning("dashboard query for %s failed: %s", request.url.path, err)
            raise _StoreUnavailable(_store_problem(err)) from err

    def dashboard(request: Request) -> Response:
        raw = request.path_params["name"]
        as_json = raw.endswith(".json")
        name = raw.removesuffix(".json")
        if name not in DASHBOARDS:
            return _not_found(as_json, "There is no such page; the dashboards are "
                              + ", ".join(DASHBOARDS) + ".")
        chosen = request.query_params.get("range") or None
        try:
            data = guarded_read(request, lambda conn: run_dashboard(conn, name, chosen))
        except ValueError as err:
            if as_json:
                return JSONResponse({"error": str(err)}, status_code=400)
            return _html(message_page("Not a time range this dashboard shows", _sentence(str(err))), 400)
        except _StoreUnavailable as err:
            return _unavailable(as_json, str(err))
        return JSONResponse(data) if as_json else _html(dashboard_page(data))

    def search(request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        key = parse_job_id(query)
        if key is None:
            return _not_found(False, _unknown(query), search=query)
        return RedirectResponse(f"/jobs/{key}", status_code=303)

    def job(request: Request) -> Response:
        raw = request.path_params["identifier"]
        as_json = raw.endswith(".json")
        identifier = raw.removesuffix(".json")
        key = parse_job_id(identifier)
        if key is None:
            return _not_found(as_json, _unknown(identifier), search=identifier)
        try:
            data = guarded_read(request, lambda conn: job_trace(conn, key))
        except _StoreUnavailable as err:
            return _unavailable(as_json, str(err))
        if data is None:
            return _not_found(as_json, f"No job or trace {key} is stored: no job_runs row, log record, span,"
                              " cpu_metrics row or error carries that id.", search=identifier)
        return JSONResponse(data) if as_json else _html(job_page(data))

    def home(request: Request) -> Response:
        return RedirectResponse("/operations", status_code=303)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        pool.open()
        try:
            yield
        finally:
            pool.close()

    routes = [
        Route("/", home),
        *_auth_routes(token),
        Route("/jobs", search),
        Route("/jobs/{identifier:path}", job),
        Route("/{name}", dashboard),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Guard, token=token)],
                     lifespan=lifespan)


class _StoreUnavailable(Exception):
    """A store error, already turned into words for the page."""


def _unknown(identifier: str) -> str:
    shown = identifier if len(identifier) <= 80 else identifier[:77] + "..."
    return f"Not found: {shown!r} is not a job_id, correlation_id or trace id (a UUID or 32 hex digits)."


def _not_found(as_json: bool, message: str, *, search: str = "") -> Response:
    if as_json:
        return JSONResponse({"error": message}, status_code=404)
    return _html(message_page("Not found", message, search=search[:200]), 404)


def _unavailable(as_json: bool, message: str) -> Response:
    if as_json:
        return JSONResponse({"error": message}, status_code=503)
    return _html(message_page("The store cannot be read", _sentence(message)), 503)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
