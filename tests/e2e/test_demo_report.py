"""The demo's operator summary read back from a seeded store: labelled columns, one unit for CPU hours."""

from __future__ import annotations

import re

import psycopg

from examples import _demo_report
from tests.seed_store import seed


def test_summary_lines_on_a_week_of_history(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        summary = seed(conn, days=7, jobs_per_day=300, trace_jobs=1)
    lines = _demo_report.summary(database_url, submitted=0)
    text = "\n".join(lines)
    assert re.search(r"jobs 24h \d+ +\(completed \d+, failed \d+, in progress \d+\)", text), text
    cpu = next(line for line in lines if "cpu this month" in line)
    assert re.fullmatch(r" +cpu this month [\d.]+ h of 200 h \([\d.]+%\), projected [\d.]+ h by month end",
                        cpu)
    errors = [line for line in lines if re.search(r" job [0-9a-f]", line)]
    assert len(errors) == 3 and "recent errors" in errors[0]
    for line in errors:
        assert re.search(r"\d\d:\d\d:\d\d  [A-Z_]+ +job [0-9a-f-]{36}  (fast path|standard path|before the "
                         r"path was chosen)$", line), line
    assert summary.failed >= 3


def test_cpu_hours_keep_their_unit_from_seconds_to_hours() -> None:
    assert _demo_report._hours(1.7 / 3600) == "0.00047 h"
    assert _demo_report._hours(0.5) == "0.50 h"
    assert _demo_report._hours(162.25) == "162.25 h"
    assert _demo_report._hours(None) == "n/a"
