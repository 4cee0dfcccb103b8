# Ops-Core developer commands. Every target that needs the virtual environment
# depends on `install`, so each one works on a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' opscore/__init__.py)

.PHONY: install ui-assets run test lint fmt check bench bench-quick bench-check docker clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Mermaid build the web page at /ui serves; skipped with a note when npm is missing.
ui-assets: install
	$(BIN)/python scripts/fetch_mermaid.py

run: install ui-assets
	$(BIN)/opscore db upgrade
	$(BIN)/opscore serve

test: install ui-assets
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: install
	$(BIN)/opscore machines check machines

# Benchmarks (never part of `make test`): `bench` runs everything, with profiles, and
# writes docs/benchmarks.md; `bench-quick` is a smoke run of under a minute.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ui-assets
	$(BIN)/python scripts/bench --write --profile

bench-quick: $(BENCH_STAMP)
	$(BIN)/python scripts/bench --quick

# The quick run again, failing when a same-run ratio is more than 30% worse than recorded.
bench-check: $(BENCH_STAMP)
	$(BIN)/python scripts/bench --quick --check

# The production image (needs a Docker engine); it ships the Mermaid build when present.
docker: ui-assets
	docker build -t opscore:$(VERSION) .

clean:
	rm -rf $(VENV) var build dist *.egg-info .pytest_cache .ruff_cache test-artifacts \
		opscore/api/ui/static/vendor
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
