"""emit(): one log call per event, carrying the event name, the given §1.1 fields and a clean ``extra``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from rythmiq_otel import vocab
from rythmiq_otel.distro.services._events import emit
from tests.distro.recording import collect

LOGGER = "tests.distro.events"


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    yield from collect(LOGGER)


def test_the_event_name_fields_and_extra_ride_on_the_record(records):
    emit(logging.getLogger(LOGGER), logging.WARNING, "OCR rollback triggered", event=vocab.EVENT_OCR_ROLLBACK,
         stage="ocr", job_id=None, extra={"reason": "low confidence", "ocr_confidence": None})
    (record,) = records
    assert (record.levelno, record.getMessage()) == (logging.WARNING, "OCR rollback triggered")
    assert getattr(record, vocab.EVENT_FIELD) == vocab.EVENT_OCR_ROLLBACK
    assert record.stage == "ocr"
    assert record.extra == {"reason": "low confidence"}
    assert not hasattr(record, "job_id")


def test_no_extra_means_no_extra_attribute(records):
    emit(logging.getLogger(LOGGER), logging.INFO, "Job created", event=vocab.EVENT_JOB_CREATED)
    assert not hasattr(records[0], "extra")
