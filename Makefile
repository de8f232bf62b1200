# routeplanner developer entry points. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup system-deps run test lint fix bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The periodic search is compiled (numba) into its on-disk cache once, after install and after
## its sources change, so the first plan and each test process load it instead of compiling.
HGS_BUILT := $(VENV)/.hgs-compiled-stamp
$(HGS_BUILT): $(STAMP) $(wildcard routeplanner/scheduling/hgs/*.py)
	$(PY) -c 'from routeplanner.scheduling.hgs import warm_up; warm_up()'
	touch $(HGS_BUILT)

setup: $(STAMP) $(HGS_BUILT)

## Debian packages the browser, calendar and PostgreSQL tests use, and axe-core from npm (only installs what is missing).
system-deps:
	bash .ci/system-deps

## Plan the bundled Heidelberg sample region and serve the web UI on http://$(HOST):$(PORT)/
run: setup
	$(PY) -m routeplanner demo --host $(HOST) --port $(PORT)

## Set up everything and run the whole test suite. The PostgreSQL tests start (and remove) a
## throwaway cluster unless RP_TEST_POSTGRES_URL names a server (tests/postgres_cluster.py).
test: setup system-deps
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check routeplanner tests benchmarks sample_data docs
	$(VENV)/bin/ruff format --check routeplanner tests benchmarks sample_data docs
	$(VENV)/bin/mypy

fix: setup
	$(VENV)/bin/ruff check --fix routeplanner tests benchmarks sample_data docs
	$(VENV)/bin/ruff format routeplanner tests benchmarks sample_data docs

## Regenerate docs/cli.md and docs/settings.md from the code (a test fails when they are stale).
docs: setup
	$(PY) -m routeplanner.cli.reference

bench: setup system-deps
	bash benchmarks/run_all.sh $(PY)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
