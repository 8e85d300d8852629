"""The job page's span waterfall reads like a trace: a parent above the children that start with it."""

from __future__ import annotations

from rythmiq_otel.console.dashboards._render import _waterfall


def _span(text: str, at: str, duration_ms: float) -> dict[str, object]:
    return {"kind": "span", "service": "worker", "text": text, "at": at, "duration_ms": duration_ms}


def test_a_parent_that_starts_with_its_first_child_is_drawn_above_it() -> None:
    spans = [
        _span("stage ingestion", "2026-12-06T05:22:40.031000+00:00", 333.4),
        _span("job", "2026-12-06T05:22:40.031000+00:00", 2333.6),
        _span("stage quality", "2026-12-06T05:22:40.364000+00:00", 333.4),
        _span("POST /jobs", "2026-12-06T05:22:38.934000+00:00", 35.0),
    ]
    svg = _waterfall(spans)
    names = ("POST /jobs", "job", "stage ingestion", "stage quality")
    order = [svg.index(f"worker · {name}<") for name in names]
    assert order == sorted(order)
