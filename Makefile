# The two commands of the README: `make run` (the whole product on an embedded Postgres) and `make test`.
# Both set up .venv themselves on a fresh machine; nothing else needs to be installed but Python 3.11+
# (and Go, to build the collector sidecar; without it the collector tests skip and say so).
VENV ?= .venv
# Days of past telemetry `make run` sends first, so the dashboards open on trends (0: none).
BACKFILL_DAYS ?= 7
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup collector test lint run
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

collector: setup
	$(BIN)/rythmiq-otel collector build --if-go-available

lint: setup
	$(BIN)/ruff check .

test: setup collector lint
	$(BIN)/pytest

run: setup
	$(BIN)/python -m examples.demo --backfill-days $(BACKFILL_DAYS)
