"""Reading the example system's JSON log files while its services are still writing them."""

from __future__ import annotations

import json
from typing import Any

from examples.run import ExampleSystem

SERVICE_ORDER = ("api", "worker", "webhook")


def json_lines(system: ExampleSystem) -> list[dict[str, Any]]:
    """Every complete JSON line written so far, api first, then workers, then webhook (each in its order).

    A service may be appending a line while we read (lines are written off the calling thread), so the
    text after the last newline is left for the next read.
    """
    files = sorted(system.log_files(), key=lambda path: SERVICE_ORDER.index(path.stem.split("-")[0]))
    complete = (path.read_text().rpartition("\n")[0] for path in files)
    return [json.loads(line) for text in complete for line in text.splitlines() if line.strip()]
