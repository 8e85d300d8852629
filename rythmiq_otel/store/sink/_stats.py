"""The sink's own health metrics and their Prometheus text exposition (``GET /metrics``).

Counted per process: records accepted and rejected per signal, repairs per reason, PII redactions per
rule, responses per status code, the batch size and write latency as histograms, and the queue depth and
in-flight requests as gauges. The two §3.2 gauges (``rythmiq_cpu_hours_current_month``,
``rythmiq_jobs_in_progress``) are computed from Postgres at scrape time by the receiver.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterable

from ._pipeline import Outcome

BATCH_BUCKETS = (1, 10, 50, 100, 512, 1000, 5000)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Histogram:
    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def lines(self, name: str, labels: str = "") -> Iterable[str]:
        sep = "," if labels else ""
        cumulative = 0
        for bound, count in zip((*self.bounds, "+Inf"), self.counts, strict=True):
            cumulative += count
            yield f'{name}_bucket{{{labels}{sep}le="{bound}"}} {cumulative}'
        yield f"{name}_sum{{{labels}}} {self.total}"
        yield f"{name}_count{{{labels}}} {cumulative}"


class SinkStats:
    """Thread-safe tallies of everything the sink did, rendered as Prometheus text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.repairs: Counter[str] = Counter()
        self.redactions: Counter[str] = Counter()
        self.responses: Counter[tuple[str, int]] = Counter()
        self.batch_records = _Histogram(BATCH_BUCKETS)
        self.write_seconds = _Histogram(LATENCY_BUCKETS)
        self.queue_depth = 0
        self.inflight = 0
        self.buffered_bytes = 0

    def record(self, outcome: Outcome) -> None:
        """Count one request that reached the writer."""
        with self._lock:
            self.accepted[outcome.signal] += outcome.accepted
            self.rejected[outcome.signal] += outcome.rejected
            self.repairs.update(outcome.ctx.repairs)
            for where, count in outcome.ctx.redactions.items():
                self.redactions[where.rsplit(":", 1)[-1]] += count
            self.batch_records.observe(outcome.accepted + outcome.rejected)
            self.write_seconds.observe(outcome.write_seconds)

    def response(self, signal: str, status: int) -> None:
        """Count one response by signal and HTTP status."""
        with self._lock:
            self.responses[signal, status] += 1

    def render(self, gauges: dict[str, float] | None = None) -> str:
        """The Prometheus text exposition of every counter, plus the given gauges."""
        out: list[str] = []
        with self._lock:
            _counter(out, "rythmiq_sink_records_accepted_total", "signal", self.accepted,
                     "Records committed to Postgres.")
            _counter(out, "rythmiq_sink_records_rejected_total", "signal", self.rejected,
                     "Records rejected (reported in partial_success).")
            _counter(out, "rythmiq_sink_repairs_total", "reason", self.repairs,
                     "Values repaired or items rejected, by reason.")
            _counter(out, "rythmiq_sink_pii_redactions_total", "rule", self.redactions,
                     "PII redacted by the sink layer, by rule.")
            out.append("# HELP rythmiq_sink_responses_total Responses by signal and status code.")
            out.append("# TYPE rythmiq_sink_responses_total counter")
            out.extend(f'rythmiq_sink_responses_total{{signal="{s}",code="{c}"}} {n}'
                       for (s, c), n in sorted(self.responses.items()))
            out.append("# TYPE rythmiq_sink_batch_records histogram")
            out.extend(self.batch_records.lines("rythmiq_sink_batch_records"))
            out.append("# TYPE rythmiq_sink_write_seconds histogram")
            out.extend(self.write_seconds.lines("rythmiq_sink_write_seconds"))
            all_gauges = {"rythmiq_sink_queue_depth": float(self.queue_depth),
                          "rythmiq_sink_inflight_requests": float(self.inflight),
                          "rythmiq_sink_buffered_bytes": float(self.buffered_bytes), **(gauges or {})}
        for name, value in all_gauges.items():
            out.append(f"# TYPE {name} gauge")
            out.append(f"{name} {value}")
        return "\n".join(out) + "\n"


def _counter(out: list[str], name: str, label: str, values: Counter[str], help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} counter")
    out.extend(f'{name}{{{label}="{key}"}} {count}' for key, count in sorted(values.items()))
