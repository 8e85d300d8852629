"""The export path piece by piece, ours beside upstream's, on the records and spans of bench_distro's job.

Captures the log records and spans that ``bench_distro``'s job shape hands to our exporters (40 jobs), then
times, in interleaved rounds on one thread (``time.thread_time``, medians, ratio ours / upstream): the log
and span encoders (ours against upstream's ``encode_logs``/``encode_spans`` + serialise), the span PII scrub
(``scrub_span``, no upstream twin), and one OTLP POST to a discard server in a child process (upstream's
``requests`` transport with our fork-safe session against the urllib3 transport our exporters use). Run::

    .venv/bin/python bench/bench_export.py --rounds 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import bench_distro  # noqa: E402
from opentelemetry.exporter.http.transport._requests import RequestsHTTPTransport  # noqa: E402
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs  # noqa: E402
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans  # noqa: E402

from rythmiq_otel.distro._pii import scrub_span  # noqa: E402
from rythmiq_otel.distro.setup import _direct_exporters  # noqa: E402
from rythmiq_otel.distro.setup._lifecycle import fork_safe_session  # noqa: E402
from rythmiq_otel.distro.setup._otlp_logs import encode_logs_request  # noqa: E402
from rythmiq_otel.distro.setup._otlp_spans import encode_spans_request  # noqa: E402
from rythmiq_otel.pii import DEFAULT_SCRUBBER  # noqa: E402


def capture(endpoint: str, jobs: int = 40) -> tuple[list[Any], list[Any]]:
    """The log records and spans ``jobs`` of bench_distro's jobs hand to our exporters."""
    logs: list[Any] = []
    spans: list[Any] = []
    encoders = (_direct_exporters.encode_logs_request, _direct_exporters.encode_spans_request)

    def keep(into: list[Any], encode: Callable[[Sequence[Any]], bytes]) -> Callable[[Sequence[Any]], bytes]:
        return lambda items: (into.extend(items), encode(items))[1]

    _direct_exporters.encode_logs_request = keep(logs, encoders[0])
    _direct_exporters.encode_spans_request = keep(spans, encoders[1])
    stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 -- the JSON lines
    try:
        bench_distro.time_jobs(bench_distro.setup_ours(endpoint), jobs)
    finally:
        sys.stdout.close()
        sys.stdout = stdout
        _direct_exporters.encode_logs_request, _direct_exporters.encode_spans_request = encoders
    return logs, spans


def per_item(work: Callable[[], object], items: int, repeat: int = 5) -> float:
    """Thread CPU µs per item of ``work`` (which handles ``items`` items), over ``repeat`` calls."""
    start = time.thread_time()
    for _ in range(repeat):
        work()
    return (time.thread_time() - start) / repeat / items * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (medians are reported)")
    parser.add_argument("--body", type=int, default=50_000, help="bytes of the POST body")
    args = parser.parse_args()
    with bench_distro.discard_endpoint() as endpoint:
        logs, spans = capture(endpoint)
        url = f"{endpoint}/v1/logs"
        body = os.urandom(args.body)
        transports = {
            "requests": RequestsHTTPTransport(verify=True, cert=None, session=fork_safe_session()),
            "urllib3": _direct_exporters._http_transport("logs", url),
        }

        def post(transport: Any) -> Callable[[], object]:
            headers = {"Content-Type": "application/x-protobuf"}
            return lambda: transport.request("POST", url, data=body, headers=headers, timeout=10)

        def scrub() -> object:
            return [scrub_span(span, DEFAULT_SCRUBBER) for span in spans]

        pairs: dict[str, tuple[Callable[[], object] | None, Callable[[], object], int]] = {
            f"encode {len(logs)} log records, per record": (
                lambda: encode_logs(logs).SerializeToString(), lambda: encode_logs_request(logs), len(logs)
            ),
            f"encode {len(spans)} spans, per span": (
                lambda: encode_spans(spans).SerializeToString(),
                lambda: encode_spans_request(spans),
                len(spans),
            ),
            "PII scrub, per span": (None, scrub, len(spans)),
            f"one POST of {args.body} bytes": (post(transports["requests"]), post(transports["urllib3"]), 1),
        }
        results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in pairs}
        for _ in range(args.rounds):
            for name, (upstream, ours, items) in pairs.items():
                if upstream is not None:
                    results[name][0].append(per_item(upstream, items))
                results[name][1].append(per_item(ours, items))
    print(f"{args.rounds} rounds; load {os.getloadavg()[0]:.1f}\n")
    print("| thread CPU, median µs | upstream | ours | ours / upstream |")
    print("| --- | ---: | ---: | ---: |")
    for name, (upstream_times, our_times) in results.items():
        ours_median = statistics.median(our_times)
        if upstream_times:
            upstream_median = statistics.median(upstream_times)
            ratio = ours_median / upstream_median
            print(f"| {name} | {upstream_median:.2f} | {ours_median:.2f} | {ratio:.2f} |")
        else:
            print(f"| {name} | | {ours_median:.2f} | |")


if __name__ == "__main__":
    main()
