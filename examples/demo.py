"""``make run``: the whole product on this machine, in the foreground, until Ctrl-C or SIGTERM.

    python -m examples.demo [--jobs N] [--no-collector] [--backfill-days D [--backfill-jobs-per-day N]]

1. the store: ``rythmiq-otel up`` (embedded PostgreSQL unless ``DATABASE_URL``, migrations, the sink), with
   a bearer token made for this run unless ``RYTHMIQ_SINK_TOKEN`` is set;
2. the collector sidecar (``rythmiq-otel collector run``) exporting to the sink, when a collector binary
   can be had (built with ``collector build --if-go-available``); otherwise the services export straight
   to the sink, which stores the same rows;
3. the example system (``python -m examples.run``: api, Camber stand-in, workers, webhook, all under
   ``rythmiq-otel instrument``) exporting OTLP to the collector (or the sink);
4. traffic: a job a second (``_demo_traffic``), and every 15 s an operator summary read back from Postgres
   with the spec's §5 queries (``_demo_report``). ``--jobs N`` submits N jobs, waits until all their rows
   are stored, prints the summary and exits 0: a smoke test of the whole pipeline.

Every child runs in its own session (``_demo_processes``), so a Ctrl-C at the terminal reaches only this
command, which then stops them in order: services first (their last telemetry still has a collector and a
sink to go to), then the collector, then the store (which stops the embedded PostgreSQL if it started it).
Ports come from the components' own variables (``RYTHMIQ_SINK_PORT``, ``RYTHMIQ_COLLECTOR_*``) and default
to the standard ones; a port already taken is one line naming the variable to change. The children's
output goes to ``<RYTHMIQ_DATA_DIR>/demo/`` (every service's JSON lines, the store's and collector's logs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

import httpx
import psycopg

from examples import _backfill, _demo_report, _demo_traffic
from examples._demo_processes import Child, DemoError, check_ports
from examples.run import API_TOKEN
from rythmiq_otel.store import StoreError, load_settings, resolve_database_url

JOB_INTERVAL_SECONDS = 1.0
SUMMARY_INTERVAL_SECONDS = 15.0
LANDING_TIMEOUT_SECONDS = 60.0
COLLECTOR_PROGRESS_SECONDS = 15.0
BACKFILL_JOBS_PER_DAY = 1000
MAX_BACKFILL_DAYS = 90  # the raw tables' longest retention (§4.5): older history would be dropped at once
MAX_REFUSED_IN_A_ROW = 10
_STORE_READY = "rythmiq-otel sink listening on "
_COLLECTOR_READY = "Everything is ready"
_PROG = "python -m examples.demo"


def _rythmiq_otel(*arguments: str) -> list[str]:
    """The ``rythmiq-otel`` command of this interpreter (no PATH lookup: ``make run`` does not activate)."""
    return [sys.executable, "-m", "rythmiq_otel", *arguments]


class _CollectorBuild:
    """The collector sidecar's build (``collector build --if-go-available``), run in the background while
    the store starts and the history is sent: seconds once cached, minutes the first time (Go)."""

    def __init__(self) -> None:
        self.binary = os.environ.get("RYTHMIQ_COLLECTOR_BIN")
        self.process: subprocess.Popen[str] | None = None
        if self.binary:
            print(f"collector  {self.binary} (RYTHMIQ_COLLECTOR_BIN)", flush=True)
            return
        self.process = subprocess.Popen(_rythmiq_otel("collector", "build", "--if-go-available"), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.began = time.monotonic()

    def available(self) -> bool:
        """Wait for the build, saying every ``COLLECTOR_PROGRESS_SECONDS`` that it is still going; whether a
        collector binary can be run (one line either way)."""
        if self.process is None:
            return True
        try:
            output = self._wait(self.process)
        finally:
            if self.process.poll() is None:  # interrupted: do not leave the build running
                self.process.kill()
                self.process.wait()
        lines = output.strip().splitlines()
        binary = lines[-1].split(" ")[0] if lines else ""
        if self.process.returncode == 0 and binary and Path(binary).is_file():
            print(f"collector  {binary}", flush=True)
            return True
        failed = lines[-1] if lines else "build failed"
        reason = "Go is not installed" if self.process.returncode == 0 else failed
        print(f"collector  none ({reason}); the services export straight to the sink (same rows)", flush=True)
        return False

    def _wait(self, process: subprocess.Popen[str]) -> str:
        while True:
            try:
                output, _ = process.communicate(timeout=COLLECTOR_PROGRESS_SECONDS)
                return output
            except subprocess.TimeoutExpired:
                print(f"collector  still building the sidecar with Go ({time.monotonic() - self.began:.0f} s "
                      f"so far; minutes the first time, seconds once cached) ...", flush=True)


def _db(action: str, env: dict[str, str]) -> int:
    """``rythmiq-otel db <action>``, quietly: its exit status (``status``: 0 running, 3 stopped)."""
    return subprocess.run(_rythmiq_otel("db", action), check=False, env=env, capture_output=True).returncode


def _say_history(line: str) -> None:
    print(f"history    {line}", flush=True)


class _Demo:
    """The running system: its children (in start order), the sink and api addresses, the traffic."""

    def __init__(self, run_dir: Path, env: dict[str, str]) -> None:
        self.run_dir, self.env = run_dir, env
        self.children: list[Child] = []
        self.submitted: list[str] = []
        self.refused = 0  # jobs refused in a row

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, argv, env or self.env, self.run_dir / f"{name}.log")
        self.children.append(child)
        return child

    def stop(self) -> None:
        """Stop the children in reverse start order: services, collector, store (which stops Postgres)."""
        for child in reversed(self.children):
            child.stop(signal.SIGINT if child.name == "services" else signal.SIGTERM)
            print(f"stopped    {child.name}", flush=True)
            if "postgres: stopped" in child.tail:
                print("stopped    embedded PostgreSQL", flush=True)

    def start_store(self, token_generated: bool) -> str:
        """``rythmiq-otel up``; returns the sink's URL once it listens."""
        store = self.start("store", _rythmiq_otel("up"))

        def relay(line: str) -> None:
            if line.startswith(("postgres:", "migrations:", "dashboard:")):
                print(f"store      {line}", flush=True)

        ready = store.wait_for(lambda line: line.startswith(_STORE_READY), timeout=180, on_line=relay)
        url = ready.removeprefix(_STORE_READY).split(" ")[0]
        token = "generated for this run" if token_generated else "RYTHMIQ_SINK_TOKEN"
        print(f"store      sink {url} (token: {token})", flush=True)
        return url

    def start_collector(self, sink_url: str) -> str:
        """The sidecar, exporting to the sink; returns the OTLP/HTTP endpoint the services send to."""
        env = {**self.env, "RYTHMIQ_SINK_ENDPOINT": sink_url}
        env.setdefault("RYTHMIQ_COLLECTOR_STORAGE_DIR", str(self.run_dir.parent / "collector-queue"))
        collector = self.start("collector", _rythmiq_otel("collector", "run"), env)
        collector.wait_for(lambda line: _COLLECTOR_READY in line, timeout=60)
        host, _, port = self.env.get("RYTHMIQ_COLLECTOR_HTTP_ENDPOINT", "localhost:4318").rpartition(":")
        endpoint = f"http://{'127.0.0.1' if host in ('', '0.0.0.0', 'localhost') else host}:{port}"
        print(f"collector  {endpoint} -> sink; queue in {env['RYTHMIQ_COLLECTOR_STORAGE_DIR']}", flush=True)
        return endpoint

    def start_services(self, otlp_endpoint: str, headers: str | None) -> str:
        """api, Camber stand-in (with its worker pool) and webhook; returns the api URL."""
        env = {**self.env, "PYTHONUNBUFFERED": "1"}  # examples.run prints its addresses; we read them
        if headers:
            env["OTEL_EXPORTER_OTLP_HEADERS"] = headers
        services = self.start("services", [sys.executable, "-m", "examples.run", "--otlp-endpoint",
                                           otlp_endpoint, "--log-dir", str(self.run_dir), "--pool-size", "2"],
                              env)
        urls: dict[str, str] = {}

        def remember(line: str) -> None:
            name, _, rest = line.partition(" ")
            if rest.strip():
                urls[name] = rest.split()[0]

        services.wait_for(lambda line: line.startswith("logs "), timeout=90, on_line=remember)
        print(f"services   api {urls['api']}  webhook {urls['webhook']}  camber {urls['camber']}  "
              f"-> {otlp_endpoint}", flush=True)
        print(f"logs       {self.run_dir} (the services' JSON lines, the store's and collector's logs)",
              flush=True)
        return urls["api"]

    def backfill(self, sink_url: str, token: str, database_url: str, days: float, per_day: int) -> None:
        """Send ``days`` of history through the sink before the live system starts (``examples._backfill``);
        only the days before the store's earliest job, so a second run does not double the history."""
        try:
            end = _backfill.history_end(database_url, days)
            if end is None:
                print(f"history    already in the store (jobs from {days:g} days ago or more); "
                      "not sent again", flush=True)
                return
            print(f"history    sending {days:g} days of telemetry at about {per_day:,} jobs a day through "
                  f"the sink ...", flush=True)
            result = _backfill.backfill(sink_url, token, database_url, days=days, jobs_per_day=per_day,
                                        end=end, progress=_say_history)
        except (_backfill.BackfillError, psycopg.Error) as err:
            raise DemoError(f"the history backfill failed: {str(err).strip().splitlines()[0]}") from None
        print(f"history    {result.jobs:,} jobs ({result.log_records:,} log records, {result.spans:,} "
              f"spans, {result.metric_points:,} metric points) in {result.seconds:.0f} s; rollups and views "
              "refreshed", flush=True)

    def check_alive(self) -> None:
        for child in self.children:
            child.check_alive()

    def traffic(self, api_url: str, database_url: str, jobs: int | None) -> None:
        """Submit a job a second and print the summary every 15 s; with ``jobs``, stop when all landed."""
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        next_job = time.monotonic()
        next_summary = time.monotonic() + SUMMARY_INTERVAL_SECONDS
        landing_deadline: float | None = None
        with httpx.Client() as client:
            while True:
                self.check_alive()
                now = time.monotonic()
                if jobs is None or len(self.submitted) < jobs:
                    if now >= next_job:
                        next_job += JOB_INTERVAL_SECONDS
                        self._submit(client, api_url, headers)
                elif self._all_landed(database_url):
                    break
                elif landing_deadline is None:
                    landing_deadline = now + LANDING_TIMEOUT_SECONDS
                elif now > landing_deadline:
                    raise DemoError(f"the rows of {jobs} job(s) did not all reach Postgres within "
                                    f"{LANDING_TIMEOUT_SECONDS:.0f} s (see the logs in {self.run_dir})")
                if now >= next_summary:
                    next_summary += SUMMARY_INTERVAL_SECONDS
                    self.print_summary(database_url)
                time.sleep(0.2)
        print(f"landed     all {jobs} job(s): job_runs, cpu_metrics, logs", flush=True)
        self.print_summary(database_url)

    def _submit(self, client: httpx.Client, api_url: str, headers: dict[str, str]) -> None:
        """Submit the next job; a refusal is one line, and a run of them ends the demo (the api or the
        platform behind it is broken, and ``--jobs`` would otherwise wait forever)."""
        try:
            self.submitted.append(_demo_traffic.submit(client, api_url, headers, len(self.submitted)))
            self.refused = 0
        except httpx.HTTPError as err:
            self.refused += 1
            if self.refused >= MAX_REFUSED_IN_A_ROW:
                raise DemoError(f"the api refused {self.refused} jobs in a row, the last: {err}") from None
            print(f"traffic    job {len(self.submitted) + 1} not accepted: {err}", flush=True)

    def _all_landed(self, database_url: str) -> bool:
        try:
            return _demo_report.landed(database_url, self.submitted) == len(self.submitted)
        except psycopg.Error:
            return False  # the store is busy or restarting: ask again on the next round

    def print_summary(self, database_url: str) -> None:
        try:
            lines = _demo_report.summary(database_url, submitted=len(self.submitted))
        except psycopg.Error as err:
            lines = [f"-- summary unavailable: {str(err).strip().splitlines()[0]}"]
        print("\n".join(lines), flush=True)


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_BACKFILL_DAYS:
        raise argparse.ArgumentTypeError(f"want a number of days from 0 to {MAX_BACKFILL_DAYS}, not {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"want a whole number of jobs, 1 or more, not {text!r}")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """Bad input is one line on stderr and exit status 2 (the README's rule), not usage plus error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=_PROG, description="Run the whole Rythmiq One with its observability "
                            "store on this machine until Ctrl-C (see the module docstring).")
    parser.add_argument("--jobs", type=_positive_int, metavar="N",
                        help="submit N jobs, wait until their rows are in Postgres, print the summary, exit")
    parser.add_argument("--no-collector", action="store_true",
                        help="export straight to the sink instead of through the collector sidecar")
    parser.add_argument("--backfill-days", type=_days, default=0, metavar="D",
                        help="first send D days of past telemetry through the sink, so the dashboards show "
                             "trends (make run: 7); days already in the store are not sent again")
    parser.add_argument("--backfill-jobs-per-day", type=_positive_int, default=BACKFILL_JOBS_PER_DAY,
                        metavar="N", help=f"jobs a day in that history (default {BACKFILL_JOBS_PER_DAY}, the "
                                          "spec's launch volume)")
    return parser


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP stop the demo; while the children stop, further ones are ignored so a
    second Ctrl-C cannot cut the ordered shutdown short.

    SIGINT gets our handler too, not Python's default: started in the background of a script, this process
    inherits SIGINT *ignored*, and an ignored signal stays ignored across exec -- the services would then
    ignore the SIGINT that stops them. A handler is reset to the default in every child.
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)


def run(jobs: int | None, use_collector: bool, backfill_days: float = 0,
        backfill_per_day: int = BACKFILL_JOBS_PER_DAY) -> None:
    """Start everything, run the traffic, stop everything (also on failure or Ctrl-C)."""
    try:
        store = load_settings()
    except StoreError as err:
        raise DemoError(str(err)) from err
    token_generated = not os.environ.get("RYTHMIQ_SINK_TOKEN")
    token = os.environ.get("RYTHMIQ_SINK_TOKEN") or secrets.token_urlsafe(24)
    env = {**os.environ, "RYTHMIQ_SINK_TOKEN": token}
    run_dir = store.data_dir / "demo"
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        run_dir.mkdir(parents=True)
    except OSError as err:
        raise DemoError(f"cannot write the run's logs to {run_dir} ({err.strerror}); "
                        f"check RYTHMIQ_DATA_DIR") from None
    print("rythmiq demo: the whole Rythmiq One and its observability store on this machine; Ctrl-C stops it",
          flush=True)
    demo = _Demo(run_dir, env)
    embedded_was_running = store.database_url is None and _db("status", env) == 0
    try:
        with _stop_signals():
            if not use_collector:
                print("collector  off (--no-collector); the services export straight to the sink", flush=True)
            build = _CollectorBuild() if use_collector else None
            check_ports(env, collector=use_collector)
            sink_url = demo.start_store(token_generated)
            database_url = resolve_database_url(store)
            if backfill_days:
                demo.backfill(sink_url, token, database_url, backfill_days, backfill_per_day)
            use_collector = build is not None and build.available()
            if use_collector:
                api_url = demo.start_services(demo.start_collector(sink_url), headers=None)
            else:
                api_url = demo.start_services(sink_url, headers=f"Authorization=Bearer%20{token}")
            pace = f"{jobs} job(s), one a second" if jobs else "a job a second"
            print(f"traffic    {pace}: 5 in 7 succeed, 2 fail (error codes in turn), 1 in 7 runs in a fresh "
                  f"(cold) worker; summary every {SUMMARY_INTERVAL_SECONDS:.0f} s", flush=True)
            demo.traffic(api_url, database_url, jobs)
            if jobs and store.database_url is None and not embedded_was_running:
                print("                  (PostgreSQL stops with the demo: to trace afterwards, "
                      "`rythmiq-otel db start` first)", flush=True)
    finally:
        demo.stop()
        if store.database_url is None and not embedded_was_running and _db("status", env) == 0:
            _db("stop", env)
            print("stopped    embedded PostgreSQL (left running by the store)", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        run(args.jobs, use_collector=not args.no_collector, backfill_days=args.backfill_days,
            backfill_per_day=args.backfill_jobs_per_day)
    except DemoError as err:
        print(f"{_PROG}: {err}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        pass  # Ctrl-C / SIGTERM: the normal way to stop, and everything has been stopped
    return 0


if __name__ == "__main__":
    sys.exit(main())
