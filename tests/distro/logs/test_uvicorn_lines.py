"""uvicorn under ``rythmiq-otel instrument``: its own log lines are §1.1 JSON without ``color_message``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

SERVE = """
import threading, time, uvicorn

async def app(scope, receive, send):
    pass

server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off"))
threading.Thread(target=lambda: (time.sleep(1.0), setattr(server, "should_exit", True)), daemon=True).start()
server.run()
"""


def test_uvicorns_colour_copy_of_the_message_stays_out_of_the_json_lines(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = run_instrumented(SERVE, RYTHMIQ_SERVICE="api")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert any(line["message"].startswith("Started server process") for line in lines), lines
    assert not [line for line in lines if "color_message" in line.get("extra", {})]
    assert "\\u001b" not in result.stdout and "\x1b" not in result.stdout
