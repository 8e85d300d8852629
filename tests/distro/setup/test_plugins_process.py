"""Exporters and samplers by entry point, as upstream loads them: a real process with a plugin package on
its PYTHONPATH (a module and its ``.dist-info`` declaring the entry points)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.otlp_capture import OtlpCapture

PLUGIN = """
import json, os
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

OUT = os.environ["PLUGIN_OUT"]

def _write(entry):
    with open(OUT, "a") as out:
        out.write(json.dumps(entry) + "\\n")

class SpanFile(SpanExporter):
    def export(self, spans):
        for span in spans:
            _write({"span": span.name})
        return SpanExportResult.SUCCESS

class KeepOnly(Sampler):
    def should_sample(self, parent_context, trace_id, name, *args, **kwargs):
        return SamplingResult(Decision.RECORD_AND_SAMPLE if name == "keep" else Decision.DROP)
    def get_description(self):
        return "KeepOnly"

def keep_only(arg):
    _write({"sampler_arg": arg})
    return KeepOnly()
"""
ENTRY_POINTS = """
[opentelemetry_traces_exporter]
spanfile = rythmiq_test_plugin:SpanFile

[opentelemetry_traces_sampler]
keep_only = rythmiq_test_plugin:keep_only
"""
SPANS = """
from opentelemetry import trace
for name in ("keep", "drop"):
    trace.get_tracer("t").start_span(name).end()
"""


def test_an_exporter_and_a_sampler_from_entry_points_are_used(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]],
    otlp_capture: OtlpCapture,
    tmp_path: Path,
) -> None:
    (tmp_path / "rythmiq_test_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "rythmiq_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rythmiq-test-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    out = tmp_path / "out.jsonl"
    result = run_instrumented(
        SPANS, PYTHONPATH=str(tmp_path), PLUGIN_OUT=str(out),
        OTEL_TRACES_EXPORTER="spanfile,otlp", OTEL_TRACES_SAMPLER="keep_only", OTEL_TRACES_SAMPLER_ARG="0.5",
    )
    assert result.returncode == 0, result.stderr
    assert '"WARN"' not in result.stdout, result.stdout
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == [{"sampler_arg": 0.5}, {"span": "keep"}]
    assert [span["name"] for span in otlp_capture.spans()] == ["keep"]
