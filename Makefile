# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test dev install lint bench clean

demo: install
	$(BIN)/backroom demo

test: install
	bash scripts/ensure-postgres.sh
	$(BIN)/pytest

dev: install
	$(BIN)/backroom db upgrade
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/backroom dev

install: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh runtime
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check .

# Not part of the tests: minutes each; add --postgres URL to the scripts for PostgreSQL figures.
bench: install
	$(BIN)/python benchmarks/bench_generator.py --venues 25 --days 365
	$(BIN)/python benchmarks/bench_raw_layer.py
	$(BIN)/python benchmarks/bench_analytics.py step
	$(BIN)/python benchmarks/bench_analytics.py backfill --venues 25 --days 365
	$(BIN)/python benchmarks/bench_analytics.py day --history 90 --history 730
	$(BIN)/python benchmarks/bench_analytics.py refresh --venues 25 --days 365
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python -m benchmarks.bench_delivery --subscriptions 1 --subscriptions 7 --subscriptions 50
	$(BIN)/python -m benchmarks.bench_report_time --subscriptions 1 --subscriptions 7 --subscriptions 50 --subscriptions 200

clean:
	rm -rf var
