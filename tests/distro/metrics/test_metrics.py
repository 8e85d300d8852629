"""The §3.1 catalog: exact names, types, label keys, §3.2 buckets, and label values that stay bounded."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader, Sum

from rythmiq_otel import vocab
from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro.metrics._catalog import MAX_PATHS, Instruments, _PathBound, bound_labels, views


def _collect(record: list[tuple[str, float, dict]]) -> dict[str, list]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=views())
    instruments = Instruments(provider.get_meter("test"))
    for name, value, labels in record:
        instruments.record(name, value, **labels)
    BACKGROUND.flush()  # the measurements are aggregated on the background thread
    data = reader.get_metrics_data()
    provider.shutdown()
    return {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_all_nine_metrics_export_with_their_types_label_keys_and_bucket_boundaries() -> None:
    labels = {"status": "success", "processing_path": "fast", "execution_temp": "warm", "stage": "ocr",
              "error_code": "OCR_FAILURE", "method": "POST", "path": "/jobs"}
    metrics = _collect([(name, 0.7, labels) for name in vocab.METRIC_LABELS])
    assert set(metrics) == set(vocab.METRIC_LABELS)
    for name, metric in metrics.items():
        (point,) = metric.data.data_points
        assert tuple(point.attributes) == vocab.METRIC_LABELS[name], name
        if name in vocab.METRIC_BUCKETS:
            assert isinstance(metric.data, Histogram), name
            assert tuple(point.explicit_bounds) == vocab.METRIC_BUCKETS[name], name
        else:
            assert isinstance(metric.data, Sum) and metric.data.is_monotonic, name
            assert name.endswith("_total")


def test_the_spec_bucket_boundaries_are_the_ones_in_section_3_2() -> None:
    assert vocab.METRIC_BUCKETS[vocab.METRIC_JOB_CPU] == (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
    for name in (vocab.METRIC_QUALITY_SCORE, vocab.METRIC_OCR_CONFIDENCE):
        assert vocab.METRIC_BUCKETS[name] == (0.25, 0.5, 0.65, 0.75, 0.85, 0.95, 1.0)
    assert {view._instrument_name for view in views()} == set(vocab.METRIC_BUCKETS)


def test_ids_and_unknown_keys_never_become_labels() -> None:
    attributes = bound_labels(
        vocab.METRIC_JOBS_TOTAL,
        {"status": "success", "processing_path": "fast", "job_id": "550e8400-e29b-41d4-a716-446655440000",
         "correlation_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
    )
    assert attributes == {"status": "success", "processing_path": "fast"}


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        (vocab.METRIC_JOBS_TOTAL, {"status": "weird", "processing_path": "turbo"},
         {"status": vocab.OTHER, "processing_path": vocab.OTHER}),
        (vocab.METRIC_ERRORS_TOTAL, {"error_code": "ocr_failure", "stage": "OCR"},
         {"error_code": "OCR_FAILURE", "stage": "ocr"}),
        (vocab.METRIC_ERRORS_TOTAL, {"error_code": "E_RANDOM_42", "stage": "TRANSFORM"},
         {"error_code": vocab.OTHER, "stage": "schema"}),
        (vocab.METRIC_JOB_LATENCY, {"processing_path": "standard"},
         {"processing_path": "standard", "execution_temp": vocab.OTHER}),
        (vocab.METRIC_API_REQUESTS, {"method": "get", "path": "/jobs/{job_id}", "status": 404},
         {"method": "GET", "path": "/jobs/{job_id}", "status": "404"}),
        (vocab.METRIC_API_REQUESTS, {"method": "BREW", "path": "/jobs/550e8400-e29b-41d4-a716-446655440000",
                                     "status": 999},
         {"method": vocab.OTHER, "path": vocab.OTHER, "status": vocab.OTHER}),
        (vocab.METRIC_API_LATENCY, {"method": "POST", "path": "/users/123456"},
         {"method": "POST", "path": vocab.OTHER}),
    ],
)
def test_label_values_are_bounded(name: str, labels: dict, expected: dict) -> None:
    assert bound_labels(name, labels) == expected


def test_distinct_paths_are_capped_so_a_route_explosion_cannot_explode_cardinality() -> None:
    bound = _PathBound()
    paths = {bound(f"/r{i}/x") for i in range(MAX_PATHS * 3)}
    assert len(paths) <= MAX_PATHS + 1
    assert vocab.OTHER in paths


def test_recording_a_name_outside_the_catalog_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        _collect([("rythmiq_made_up_total", 1, {})])
