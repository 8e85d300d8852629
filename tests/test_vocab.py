"""The vocabulary's mappings between the spec's spellings (docs/vocabulary.md)."""

from __future__ import annotations

import pytest

from rythmiq_otel import vocab


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("OCR", "ocr"),
        ("FETCH", "ingestion"),
        ("TRANSFORM", "schema"),
        ("quality_scoring", "quality"),
        ("schema_adaptation", "schema"),
        ("upload", "packaging"),
        (" Pre_OCR ", "pre_ocr"),
        ("delivery", "delivery"),
    ],
)
def test_every_spec_spelling_maps_to_the_log_schema_stage(spelling: str, canonical: str) -> None:
    assert vocab.canonical_stage(spelling) == canonical


@pytest.mark.parametrize("name", ["", "ocr2", "stage-7", "FETCHING"])
def test_unknown_stage_names_are_not_guessed(name: str) -> None:
    assert vocab.canonical_stage(name) is None


def test_the_seven_worker_stages_each_have_one_cpu_metrics_column() -> None:
    assert set(vocab.STAGE_CPU_COLUMN) == set(vocab.WORKER_STAGES)
    assert len(set(vocab.STAGE_CPU_COLUMN.values())) == 7
    assert "delivery" not in vocab.WORKER_STAGES


def test_metric_catalog_matches_spec_section_3_1() -> None:
    assert vocab.METRIC_LABELS == {
        "rythmiq_jobs_total": ("status", "processing_path"),
        "rythmiq_job_latency_seconds": ("processing_path", "execution_temp"),
        "rythmiq_job_cpu_seconds": ("processing_path", "stage"),
        "rythmiq_errors_total": ("error_code", "stage"),
        "rythmiq_quality_score": ("processing_path",),
        "rythmiq_ocr_confidence": ("processing_path",),
        "rythmiq_cold_starts_total": (),
        "rythmiq_api_requests_total": ("method", "path", "status"),
        "rythmiq_api_latency_seconds": ("method", "path"),
    }


def test_bucket_boundaries_match_spec_section_3_2() -> None:
    assert vocab.METRIC_BUCKETS["rythmiq_job_cpu_seconds"] == (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
    assert vocab.METRIC_BUCKETS["rythmiq_quality_score"] == (0.25, 0.5, 0.65, 0.75, 0.85, 0.95, 1.0)
    assert vocab.METRIC_BUCKETS["rythmiq_ocr_confidence"] == (0.25, 0.5, 0.65, 0.75, 0.85, 0.95, 1.0)
    for bounds in vocab.METRIC_BUCKETS.values():
        assert list(bounds) == sorted(set(bounds))
    assert 30 in vocab.METRIC_BUCKETS["rythmiq_job_latency_seconds"]  # the §7.4 P95 alert threshold


def test_cpu_metrics_columns_cover_the_spec_insert() -> None:
    spec_insert_columns = {
        "execution_temperature", "processing_path", "total_cpu_seconds", "total_wall_seconds",
        "fetch_cpu_seconds", "quality_cpu_seconds", "pre_ocr_cpu_seconds", "enhancement_cpu_seconds",
        "ocr_cpu_seconds", "schema_cpu_seconds", "upload_cpu_seconds", "input_file_size_bytes",
        "output_file_size_bytes", "quality_score", "ocr_confidence", "enhancement_skipped", "page_count",
    }
    assert set(vocab.CPU_METRICS_COLUMNS) == spec_insert_columns
