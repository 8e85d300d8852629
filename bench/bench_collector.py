"""Benchmark of the collector sidecar: what its PII block (``transform/pii``) costs per record.

The bundled ``collector/config.yaml`` runs every record through about a hundred OTTL statements with RE2
patterns generated from ``rythmiq_otel/pii.py``. This measures the collector's own CPU per log record, span
and metric point with that block and without it (the same config with ``transform/pii`` taken out of the
pipelines), side by side: the two collectors are started in turn in every round, on the same bodies (the
sink benchmark's worker stage logs, spans and points), exporting to a discard OTLP endpoint in a child
process. CPU is the collector process's user + system time from /proc, from the first request until its
exporter has sent every item (its own ``otelcol_exporter_sent_*`` counters). Run::

    .venv/bin/python bench/bench_collector.py --batches 100 --batch 512 --rounds 5
    git show main:collector/config.yaml > /tmp/config-main.yaml
    .venv/bin/python bench/bench_collector.py --baseline /tmp/config-main.yaml  # and main's config

Needs the collector binary (``rythmiq-otel collector build`` or ``RYTHMIQ_COLLECTOR_BIN``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_distro import discard_endpoint  # noqa: E402
from bench_sink import log_bodies, metric_bodies, span_bodies, tree_cpu_seconds  # noqa: E402

from rythmiq_otel.store.collector import find_binary  # noqa: E402
from tests.collector._process import CollectorProcess  # noqa: E402

CONFIG = ROOT / "collector" / "config.yaml"
# signal: (OTLP path, the exporter counter that says every item left, the bodies' builder)
SIGNALS: dict[str, tuple[str, str, Callable[[int, int], list[bytes]]]] = {
    "logs": ("/v1/logs", "otelcol_exporter_sent_log_records", log_bodies),
    "spans": ("/v1/traces", "otelcol_exporter_sent_spans", span_bodies),
    "points": ("/v1/metrics", "otelcol_exporter_sent_metric_points", metric_bodies),
}


def config_without_pii(directory: Path) -> Path:
    """``collector/config.yaml`` with ``transform/pii`` out of every pipeline (the block itself stays)."""
    text = CONFIG.read_text()
    stripped = text.replace("memory_limiter, transform/pii, resource", "memory_limiter, resource")
    if stripped.count("memory_limiter, resource") != 3:
        raise SystemExit("collector/config.yaml's pipelines changed: update config_without_pii")
    path = directory / "config-without-pii.yaml"
    path.write_text(stripped)
    return path


def cpu_per_item(collector: CollectorProcess, signal: str, bodies: list[bytes], items: int) -> float:
    """µs of the collector's CPU per item to take ``bodies`` in and send all ``items`` on."""
    path, sent_metric, _ = SIGNALS[signal]
    assert collector.process is not None
    pid = collector.process.pid
    already = collector.metric(sent_metric)
    start = tree_cpu_seconds([pid])
    with httpx.Client(base_url=collector.otlp_http_url, timeout=30) as client:
        for body in bodies:
            response = client.post(path, content=body, headers={"Content-Type": "application/x-protobuf"})
            response.raise_for_status()
    collector.wait_for_metric(sent_metric, already + items, timeout=120)
    return (tree_cpu_seconds([pid]) - start) * 1e6 / items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="requests per signal per round")
    parser.add_argument("--batch", type=int, default=512, help="items per request")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each running every collector")
    parser.add_argument(
        "--baseline", type=Path, help="another config to run side by side (e.g. main's config.yaml); "
        "the table adds its column and the ratio of collector/config.yaml to it",
    )
    args = parser.parse_args()
    if args.baseline is not None and not args.baseline.is_file():
        raise SystemExit(f"--baseline {args.baseline}: no such file")
    binary = find_binary()
    if binary is None:
        raise SystemExit("no collector binary: run `rythmiq-otel collector build` first")
    bodies = {signal: build(args.batches, args.batch) for signal, (_, _, build) in SIGNALS.items()}
    items = args.batches * args.batch
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch, discard_endpoint() as endpoint:
        configs = {"with transform/pii": CONFIG, "without": config_without_pii(Path(scratch))}
        if args.baseline is not None:
            configs = {"baseline": args.baseline.resolve(), **configs}
        for round_number in range(args.rounds):
            for variant, config in configs.items():
                collector = CollectorProcess(
                    binary.path, [config], sink_url=endpoint,
                    storage_dir=Path(scratch) / f"queue-{round_number}-{len(results)}",
                    log_path=Path(scratch) / "collector.log", env={"RYTHMIQ_COLLECTOR_LOG_LEVEL": "warn"},
                )
                collector.start()
                try:
                    for signal in SIGNALS:
                        results.setdefault((variant, signal), []).append(
                            cpu_per_item(collector, signal, bodies[signal], items))
                finally:
                    collector.kill()
            print(f"round {round_number + 1} (load average {os.getloadavg()[0]:.1f})", flush=True)
    print(f"# {args.batches} requests x {args.batch} items per signal, {args.rounds} rounds; medians")
    print()
    base = ["baseline, µs CPU per item", "with transform/pii", "without", "with / baseline", "with / without"]
    columns = base if args.baseline is not None else [base[1] + ", µs CPU per item", base[2], base[4]]
    print("| signal | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for signal in SIGNALS:
        median = {variant: statistics.median(results[(variant, signal)]) for variant in configs}
        with_pii, without = median["with transform/pii"], median["without"]
        cells = [f"{with_pii:.1f}", f"{without:.1f}", f"{with_pii / without:.2f}x"]
        if args.baseline is not None:
            baseline = median["baseline"]
            cells = [f"{baseline:.1f}", *cells[:2], f"{with_pii / baseline:.3f}x", cells[2]]
        print(f"| {signal} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
