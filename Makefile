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
	DAGSTER_HOME=$(CURDIR)/var/dagster $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

install: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh runtime
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	mkdir -p var/dagster
	touch $@

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/bench_raw_layer.py

clean:
	rm -rf var
