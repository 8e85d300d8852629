"""A local stand-in for Camber, the job platform: queue, run the worker, call the webhook.

``POST /v1/jobs`` takes the api's §2.2 payload and answers 202. A dispatcher runs each job in a worker
process -- an idle one from a pool of reusable processes (warm after their first job), or a fresh one
when the payload asks for ``"execution": "fresh"`` or the pool is busy (always cold) -- with the payload on
STDIN, reads the result from the worker's result pipe, signs it (HMAC-SHA256) and POSTs it to the webhook.
A worker that dies without a result still produces a ``failed`` webhook call: the platform never loses a
job. The platform itself is not a Rythmiq service and emits no telemetry; it only carries the payload.

Configuration: ``CAMBER_PORT``, ``CAMBER_WEBHOOK_URL``, ``CAMBER_WEBHOOK_SECRET``, ``CAMBER_POOL_SIZE``
(default 1), ``CAMBER_LOG_DIR`` (each worker's stdout goes to ``worker-<n>.jsonl`` there),
``CAMBER_WORKER_COMMAND`` (JSON list; default: the worker under ``rythmiq-otel instrument``).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from examples._instrumented import instrumented
from examples._signing import SIGNATURE_HEADER, sign

_CONTEXT_KEYS = ("traceparent", "tracestate", "baggage", "correlation_id")
_WEBHOOK_ATTEMPTS = 10


class WorkerProcess:
    """One worker process: payload lines in on STDIN, result lines out on a dedicated pipe."""

    _numbers = itertools.count(1)

    def __init__(self, command: list[str], log_dir: Path) -> None:
        read_end, write_end = os.pipe()
        self.log = open(log_dir / f"worker-{next(self._numbers)}.jsonl", "ab")  # noqa: SIM115 -- lives with the process
        env = {**os.environ, "CAMBER_RESULT_FD": str(write_end), "RYTHMIQ_SERVICE": "worker",
               "OTEL_SERVICE_NAME": "rythmiq-worker"}
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=self.log, stderr=self.log, pass_fds=(write_end,), env=env,
            text=True,
        )
        os.close(write_end)
        self.results = os.fdopen(read_end, "r", encoding="utf-8")

    def run(self, payload: dict[str, Any], *, last: bool) -> dict[str, Any] | None:
        """Send one payload; return the worker's result, or ``None`` when the worker died first."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(payload) + "\n")
            self.process.stdin.flush()
            if last:
                self.process.stdin.close()
        except BrokenPipeError:
            return None
        line = self.results.readline()
        return json.loads(line) if line else None

    def close(self) -> None:
        """Let the worker see EOF and exit (flushing its telemetry)."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.results.close()
        self.log.close()


class Platform:
    """The queue, the pool and the webhook caller."""

    def __init__(self, *, webhook_url: str, secret: str, pool_size: int, log_dir: Path,
                 worker_command: list[str]) -> None:
        self.webhook_url, self.secret, self.log_dir = webhook_url, secret, log_dir
        self.worker_command = worker_command
        self.idle: queue.Queue[WorkerProcess] = queue.Queue()
        self.pool: list[WorkerProcess] = [WorkerProcess(worker_command, log_dir) for _ in range(pool_size)]
        for worker in self.pool:
            self.idle.put(worker)
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.dispatcher = threading.Thread(target=self._dispatch, name="camber-dispatch", daemon=True)
        self.dispatcher.start()

    def submit(self, payload: dict[str, Any]) -> None:
        self.jobs.put(payload)

    def _dispatch(self) -> None:
        while (payload := self.jobs.get()) is not None:
            threading.Thread(target=self._run, args=(payload,), daemon=True).start()

    def _run(self, payload: dict[str, Any]) -> None:
        pooled = None
        if payload.get("execution") != "fresh":
            try:
                pooled = self.idle.get_nowait()
            except queue.Empty:
                pooled = None
        if pooled is not None:
            result = pooled.run(payload, last=False)
            if result is None:  # the worker died: replace it so the pool keeps its size
                pooled.close()
                self.pool.remove(pooled)
                pooled = WorkerProcess(self.worker_command, self.log_dir)
                self.pool.append(pooled)
            self.idle.put(pooled)
        else:
            fresh = WorkerProcess(self.worker_command, self.log_dir)
            result = fresh.run(payload, last=True)
            fresh.close()
        if result is None:
            result = {"job_id": payload.get("job_id"), "status": "failed", "error_code": "INTERNAL_ERROR",
                      "error_stage": "ingestion", **{k: payload[k] for k in _CONTEXT_KEYS if k in payload}}
        self._call_webhook(result)

    def _call_webhook(self, result: dict[str, Any]) -> None:
        """POST the signed result; retry with backoff while the webhook is unreachable or failing (5xx)."""
        body = json.dumps(result).encode()
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        for attempt in range(_WEBHOOK_ATTEMPTS):
            try:
                if httpx.post(self.webhook_url, content=body, timeout=10, headers=headers).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(min(0.25 * 2**attempt, 5))
        print(f"camber: gave up calling the webhook for job {result.get('job_id')}", file=sys.stderr)

    def close(self) -> None:
        self.jobs.put(None)
        for worker in self.pool:
            worker.close()


def _handler(platform: Platform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200 if self.path == "/healthz" else 404, {"status": "ok"})

        def do_POST(self) -> None:
            if self.path != "/v1/jobs":
                self._reply(404, {"error": "not found"})
                return
            try:
                payload = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            except ValueError:
                self._reply(400, {"error": "body is not JSON"})
                return
            if not isinstance(payload, dict):
                self._reply(400, {"error": "body is not a JSON object"})
                return
            platform.submit(payload)
            self._reply(202, {"accepted": True})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the platform's access log is not part of the example's telemetry."""

    return Handler


def main() -> None:
    log_dir = Path(os.environ.get("CAMBER_LOG_DIR", "."))
    command = os.environ.get("CAMBER_WORKER_COMMAND")
    platform = Platform(
        webhook_url=os.environ["CAMBER_WEBHOOK_URL"],
        secret=os.environ["CAMBER_WEBHOOK_SECRET"],
        pool_size=int(os.environ.get("CAMBER_POOL_SIZE", "1")),
        log_dir=log_dir,
        worker_command=json.loads(command) if command else instrumented("-m", "examples.worker"),
    )
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("CAMBER_PORT", "0"))), _handler(platform))
    print(json.dumps({"camber": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        platform.close()


if __name__ == "__main__":
    main()
