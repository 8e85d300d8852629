"""Sparse logging: CPU per call and how late a line reaches its stream, with and without the gathering window.

``bench_distro.py`` logs in bursts of 200 calls; a real service logs a line now and then, and each line
then wakes the idle background thread, which costs CPU of its own (scheduler, cold caches). This logs one
call, sleeps ``--gap`` ms, and so on, in rounds that alternate the JSON-only call (spec §1.6), ours with
the background thread's gathering window off (``gather 0``) and ours as shipped (``GATHER_S``), all in one
process. Reported: process CPU µs per call (the sleep's own wake-up included, which the JSON-only call pays
too) and, for ours, the delay from the call to its line's ``write`` (p50, p99, max), INFO and ERROR. Run::

    .venv/bin/python bench/bench_log_latency.py --gap 0.2 --rounds 8
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_distro import JOB_ID, SpecJsonFormatter, _isolated_logger, discard_endpoint, setup_ours  # noqa: E402

from rythmiq_otel import vocab  # noqa: E402
from rythmiq_otel.distro._background import BACKGROUND, GATHER_S  # noqa: E402

CALLS = 200


class _Stamped:
    """A stream that notes when each line was written (``perf_counter``), then discards it."""

    def __init__(self, sink: TextIO) -> None:
        self.sink = sink
        self.written: list[float] = []

    def write(self, text: str) -> int:
        now = time.perf_counter()
        self.written.extend(now for _ in range(text.count("\n")))
        return self.sink.write(text)

    def flush(self) -> None:
        self.sink.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=0.2, help="ms of sleep between two calls")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of 200 calls a variant (one warms up)")
    args = parser.parse_args()
    extra = {"event": vocab.EVENT_STAGE_COMPLETED, "stage": "ocr", "job_id": JOB_ID, "cpu_seconds": 0.08,
             "extra": {"ocr_confidence": 0.87}}
    devnull = open(os.devnull, "w")  # noqa: SIM115 -- the JSON-only lines
    names = ("JSON-only call", "ours, gather 0", f"ours, gather {GATHER_S * 1e3:g} ms")
    cpu: dict[str, list[float]] = {name: [] for name in names}
    delays: dict[str, list[float]] = {name: [] for name in list(cpu)[1:]}
    error_delays: dict[str, list[float]] = {name: [] for name in list(cpu)[1:]}
    with discard_endpoint() as endpoint:
        ours = setup_ours(endpoint)
        json_only = _isolated_logger("bench.latency.json_only", logging.StreamHandler(devnull))
        json_only.handlers[0].setFormatter(SpecJsonFormatter("worker"))
        with ours.tracer.start_as_current_span("calls"):
            for round_number in range(args.rounds):
                for name, gather in zip(cpu, (None, 0.0, GATHER_S), strict=True):
                    stream = _Stamped(devnull)
                    sys.stdout = stream  # type: ignore[assignment]
                    if gather is not None:
                        BACKGROUND._gather_s = gather
                    called, errors = [], []
                    log = json_only if gather is None else ours.log
                    start = time.process_time()
                    for n in range(CALLS):
                        called.append(time.perf_counter())
                        if n % 20 == 19:
                            errors.append(n)
                            log.error("Stage failed", extra=extra)
                        else:
                            log.info("Stage completed", extra=extra)
                        time.sleep(args.gap / 1e3)
                    ours.flush()
                    used = (time.process_time() - start) * 1e6 / CALLS
                    sys.stdout = sys.__stdout__
                    if round_number == 0:
                        continue
                    cpu[name].append(used)
                    if gather is not None:
                        late = [(w - c) * 1e3 for w, c in zip(stream.written, called, strict=True)]
                        error_delays[name] += [late[n] for n in errors]
                        delays[name] += [d for n, d in enumerate(late) if n not in set(errors)]
        BACKGROUND._gather_s = GATHER_S
        ours.stop()
    _report(args, cpu, delays, error_delays)


def _report(args: argparse.Namespace, cpu: dict[str, list[float]], delays: dict[str, list[float]],
            error_delays: dict[str, list[float]]) -> None:
    print(f"gap {args.gap} ms; {args.rounds - 1} rounds of {CALLS} calls; load {os.getloadavg()[0]:.1f}")
    print()
    print("| variant | CPU µs per call | vs JSON-only | INFO line delay ms p50 / p99 / max | "
          "ERROR line delay ms p50 / max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = statistics.median(cpu["JSON-only call"])
    for name, values in cpu.items():
        value = statistics.median(values)
        late = ""
        if name in delays:
            info, error = sorted(delays[name]), sorted(error_delays[name])
            late = (f"{info[len(info) // 2]:.2f} / {info[int(len(info) * 0.99)]:.2f} / {info[-1]:.2f} | "
                    f"{error[len(error) // 2]:.2f} / {error[-1]:.2f}")
        else:
            late = "- | -"
        print(f"| {name} | {value:.1f} | {value / base:.2f}x | {late} |")


if __name__ == "__main__":
    main()
