# Every target bootstraps .venv from requirements.lock when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
DATA_DIR ?= data
DEMO_CUSTOMERS ?= 20000
DEMO_DAYS ?= 60
DEMO_START ?= 2026-01-01
BENCH_EVENTS ?= 1000000
BENCH_DAYS ?= 100
BENCH_PEOPLE ?= 1000000
BENCH_TRAIT_CUSTOMERS ?= 1000000
BENCH_TRAIT_EVENTS ?= 10000000
BENCH_CONVERSIONS ?= 1000000
BENCH_ATTRIBUTION_ORDERS ?= 200000
# The run report's test renders it in Debian's Chromium, and the Spark build needs a Java (17),
# both installed once by `make install` when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The machine's environment sets PYTHONDONTWRITEBYTECODE; byte-code caching saves seconds
# of import time (Dagster, Great Expectations) on every command.
unexport PYTHONDONTWRITEBYTECODE
.DEFAULT_GOAL := help
.PHONY: help install demo test test-quarter ui bench lock clean

help: ## list every target
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.lock pyproject.toml
	command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	command -v java >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(BIN)/.installed ## create .venv and install the pinned dependencies

demo: install ## generate a sample world (20k customers, 60 days) and run every night of it
	$(BIN)/cdp generate --data-dir $(DATA_DIR) --customers $(DEMO_CUSTOMERS) --days $(DEMO_DAYS) --start $(DEMO_START) --seed 7
	$(BIN)/cdp run --data-dir $(DATA_DIR) --all
	$(BIN)/cdp status --data-dir $(DATA_DIR)
	$(BIN)/python -m tests.verify_published $(DATA_DIR)
	@echo
	@echo "Outputs:  $(DATA_DIR)/lake/<source>/<entity>/delivery_date=*/part-0.parquet  (typed lake)"
	@echo "          $(DATA_DIR)/lake/_ingest_log.parquet  (every file, reconciled)"
	@echo "          $(DATA_DIR)/quarantine/<source>/delivery_date=*/  (bad rows and files, with reasons)"
	@echo "          $(DATA_DIR)/warehouse/cdp.duckdb  (the working warehouse: every dbt model)"
	@echo "          $(DATA_DIR)/published/cdp.duckdb  (the analysts' snapshot: customers, events, orders, traits,"
	@echo "                    audiences, touchpoints, attribution, channel_performance, funnels, experiments)"
	@echo "          $(DATA_DIR)/published/audiences/<audience>/<date>/, published/conversions/<platform>/<date>/"
	@echo "Next:     make ui   -> Dagster UI on http://127.0.0.1:3000 (runs, gates, lineage)"
	@echo "          $(BIN)/cdp audiences --data-dir $(DATA_DIR)   (sizes, changes, overlaps; then cdp explain)"
	@echo "          $(BIN)/python -c \"import duckdb; duckdb.sql(\\\"from '$(DATA_DIR)/lake/_ingest_log.parquet'\\\").show()\""
	@echo "          $(BIN)/python -c \"import duckdb; duckdb.connect('$(DATA_DIR)/published/cdp.duckdb', read_only=True).sql('from customers limit 5').show()\""

test: install ## run the whole test suite
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-quarter: install ## standard traits and the example audience vs the truth, every night of a generated 100 days (~45 min)
	CDP_TEST_WORLD_DAYS=100 CDP_TEST_ALL_NIGHTS=1 $(BIN)/pytest -q tests/warehouse/test_traits_truth.py

ui: install ## open the Dagster UI on the local instance
	CDP_DATA_DIR=$(abspath $(DATA_DIR)) CDP_DAGSTER_STORAGE=$(abspath $(DATA_DIR))/.dagster DAGSTER_HOME=$(CURDIR) \
		$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

bench: install ## benchmark nights end to end and ingestion (BENCH_EVENTS), identity (BENCH_PEOPLE), traits (BENCH_TRAIT_*) and attribution (BENCH_CONVERSIONS, BENCH_ATTRIBUTION_ORDERS) against floors
	$(BIN)/python -m bench.nightly --events $(BENCH_EVENTS) --days $(BENCH_DAYS)
	$(BIN)/python -m bench.ingest --events $(BENCH_EVENTS)
	$(BIN)/python -m bench.identity --people $(BENCH_PEOPLE)
	$(BIN)/python -m bench.traits --customers $(BENCH_TRAIT_CUSTOMERS) --events $(BENCH_TRAIT_EVENTS)
	$(BIN)/python -m bench.attribution --conversions $(BENCH_CONVERSIONS)
	$(BIN)/python -m bench.attribution_warehouse --conversions $(BENCH_ATTRIBUTION_ORDERS)

lock: ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile --quiet pyproject.toml --extra test --extra spark --python-version 3.11 -o requirements.lock

clean: ## remove generated data, the local Dagster instance and .venv
	rm -rf $(DATA_DIR)/raw $(DATA_DIR)/truth $(DATA_DIR)/lake $(DATA_DIR)/quarantine $(DATA_DIR)/.dagster $(DATA_DIR)/warehouse \
		$(DATA_DIR)/.staging $(VENV)
