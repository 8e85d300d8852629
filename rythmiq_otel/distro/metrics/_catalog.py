"""The §3.1 metric catalog: nine instruments, the §3.2 bucket boundaries as Views, bounded labels.

Service code records through :func:`instruments` (``instruments().record(vocab.METRIC_JOBS_TOTAL, 1,
status="success", processing_path="fast")``). Names, instrument types and label keys come from ``vocab``;
every label value is bounded before it reaches the SDK:

* keys outside the metric's ``vocab.METRIC_LABELS`` are dropped, missing ones become ``vocab.OTHER``;
* enumerated keys (status, processing_path, execution_temp, stage, error_code, method) keep known values
  and map anything else to ``vocab.OTHER``; ``status`` on API metrics is an HTTP status code 100-599;
* ``path`` (a route template) keeps at most ``MAX_PATHS`` distinct values and refuses anything that looks
  like an id (a UUID or a run of digits) -- ids never become labels.

Until ``configure()`` installs a MeterProvider the instruments are the API's no-ops, so recording is always
safe.

The calling thread only looks the instrument up (an unknown name still raises there) and captures the
value, the labels and the current context (exemplars need it); bounding the labels and the SDK's
aggregation -- a few microseconds a record, as much as a small log call -- run on the background thread
(``_background``), which ``shutdown()`` flushes before the final export. A measurement reaches its
aggregation milliseconds later, which at most moves it into the next export interval. What a record costs
is the SDK's own work (about 9 µs: the measurement's attribute copy and check, hashing, aggregation;
bench/bench_span_metrics.py); bounding the labels is well under a microsecond, so remembering bounded sets
was measured and not kept.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import context, metrics
from opentelemetry.sdk.metrics import Histogram
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

from rythmiq_otel import vocab
from rythmiq_otel.distro._background import BACKGROUND

__all__ = ["MAX_PATHS", "Instruments", "bound_labels", "instruments", "views"]

MAX_PATHS = 100
_COUNTERS = frozenset(
    {vocab.METRIC_JOBS_TOTAL, vocab.METRIC_ERRORS_TOTAL, vocab.METRIC_COLD_STARTS, vocab.METRIC_API_REQUESTS}
)
_UNITS = {
    vocab.METRIC_JOB_LATENCY: "s", vocab.METRIC_JOB_CPU: "s", vocab.METRIC_API_LATENCY: "s",
    vocab.METRIC_QUALITY_SCORE: "1", vocab.METRIC_OCR_CONFIDENCE: "1",
}
_DESCRIPTIONS = {
    vocab.METRIC_JOBS_TOTAL: "Total jobs processed",
    vocab.METRIC_JOB_LATENCY: "End-to-end job latency",
    vocab.METRIC_JOB_CPU: "CPU time per job/stage",
    vocab.METRIC_ERRORS_TOTAL: "Errors by type",
    vocab.METRIC_QUALITY_SCORE: "Input quality distribution",
    vocab.METRIC_OCR_CONFIDENCE: "OCR confidence distribution",
    vocab.METRIC_COLD_STARTS: "Cold start count",
    vocab.METRIC_API_REQUESTS: "API request count",
    vocab.METRIC_API_LATENCY: "API response latency",
}
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_ID_LIKE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-|\d{4,}")


def _one_of(allowed: tuple[str, ...], normalise: Callable[[str], str] = str.lower) -> Callable[[Any], str]:
    def bound(value: Any) -> str:
        text = normalise(str(value))
        return text if text in allowed else vocab.OTHER

    return bound


def _stage(value: Any) -> str:
    return vocab.canonical_stage(str(value)) or vocab.OTHER


def _http_status(value: Any) -> str:
    text = str(value)
    return text if text.isdigit() and 100 <= int(text) <= 599 else vocab.OTHER


class _PathBound:
    """Keeps route templates, at most ``MAX_PATHS`` of them; ids and overflow become ``vocab.OTHER``."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, value: Any) -> str:
        text = str(value)
        if text in self.seen:
            return text
        if _ID_LIKE.search(text) or not text.startswith("/"):
            return vocab.OTHER
        with self.lock:
            if len(self.seen) >= MAX_PATHS:
                return vocab.OTHER
            self.seen.add(text)
        return text


_BOUNDS: dict[str, Callable[[Any], str]] = {
    "processing_path": _one_of(vocab.PROCESSING_PATHS),
    "execution_temp": _one_of(vocab.EXECUTION_TEMPERATURES),
    "stage": _stage,
    "error_code": _one_of(vocab.ERROR_CODES, str.upper),
    "method": _one_of(_HTTP_METHODS, str.upper),
    "path": _PathBound(),
}
_JOB_STATUS = _one_of(vocab.JOB_OUTCOMES)


def bound_labels(name: str, labels: dict[str, Any]) -> dict[str, str]:
    """The attributes to record for metric ``name``: exactly its label keys, each value bounded."""
    bounded = {}
    for key in vocab.METRIC_LABELS[name]:
        value = labels.get(key)
        if value is None:
            bounded[key] = vocab.OTHER
        elif key == "status":
            bounded[key] = _JOB_STATUS(value) if name == vocab.METRIC_JOBS_TOTAL else _http_status(value)
        else:
            bounded[key] = _BOUNDS[key](value)
    return bounded


def views() -> list[View]:
    """One View per histogram with the §3.2 boundaries (latency ones chosen in ``vocab``)."""
    return [
        View(
            instrument_type=Histogram,
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=list(bounds)),
        )
        for name, bounds in vocab.METRIC_BUCKETS.items()
    ]


class Instruments:
    """The nine instruments, created from the meter provider in force when first asked for."""

    def __init__(self, meter: metrics.Meter) -> None:
        # name -> the instrument's own add (counters) or record (histograms) method
        self._instruments: dict[str, Callable[..., None]] = {}
        for name in vocab.METRIC_LABELS:
            unit = _UNITS.get(name, "1")
            if name in _COUNTERS:
                counter = meter.create_counter(name, unit=unit, description=_DESCRIPTIONS[name])
                self._instruments[name] = counter.add
            else:
                histogram = meter.create_histogram(name, unit=unit, description=_DESCRIPTIONS[name])
                self._instruments[name] = histogram.record

    def record(self, name: str, value: float = 1, **labels: Any) -> None:
        """Add ``value`` to counter ``name`` or record it in histogram ``name``, with bounded labels.

        Raises ``KeyError`` for a name outside the §3.1 catalog (a programming error, not data). The
        recording itself runs on the background thread (module docstring).
        """
        BACKGROUND.submit(_record, (name, self._instruments[name], value, labels, context.get_current()))


_log = logging.getLogger("rythmiq_otel.distro")


def _record(captured: tuple[str, Callable[..., None], float, dict[str, Any], context.Context]) -> None:
    """Bound the labels and hand the measurement to the SDK (on the background thread)."""
    name, add_or_record, value, labels, ctx = captured
    try:
        add_or_record(value, bound_labels(name, labels), context=ctx)
    except Exception:
        # House rule: never hurt the host -- a label whose str() raises loses this one measurement.
        _log.exception("A %s measurement could not be recorded; it was dropped.", name)


_made: dict[str, Instruments] = {}


def instruments() -> Instruments:
    """The process's catalog instruments (from the global MeterProvider ``configure()`` set)."""
    made = _made.get("instruments")
    if made is None:
        made = _made.setdefault("instruments", Instruments(metrics.get_meter("rythmiq_otel")))
    return made
