"""Which Postgres the store talks to: ``DATABASE_URL`` when set, else the embedded server.

Every command and the sink resolve their connection string here, so "embedded unless told otherwise" is
decided in one place.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from . import _embedded
from ._settings import StoreSettings, load_settings

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def resolve_database_url(settings: StoreSettings | None = None, *, start: bool = False) -> str:
    """Return the connection string of the store's database.

    Args:
        settings: the store settings (default: read from the environment).
        start: start the embedded server when it is not running (the sink and ``up`` do; ``migrate`` and
            the readers do not, so a stopped server is reported instead of silently started).

    Raises:
        EmbeddedServerError: no ``DATABASE_URL`` and the embedded server is not running (or failed to start).
    """
    settings = load_settings() if settings is None else settings
    if settings.database_url is not None:
        return settings.database_url
    state = _embedded.start(settings.pgdata) if start else _embedded.state(settings.pgdata)
    return state.url()


def database_url_for(url: str, database: str) -> str:
    """The same server and credentials as ``url``, but connected to ``database``.

    Accepts both libpq forms: a ``postgresql://`` URL (the path is replaced) and a ``key=value`` string.
    """
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + quote(database, safe="")))
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname=database)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (URL userinfo or ``password=``), for messages."""
    url = _URL_PASSWORD.sub(r"\1***@", url)
    return _KEYWORD_PASSWORD.sub(r"\1***", url)
