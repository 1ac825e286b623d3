# cfsp-sim: two commands on a fresh machine.
#   make run   - create .venv if missing, install the project, run the bundled default scenario
#   make test  - install the dev extra, then lint, type-check and run the whole test suite
#   make bench - print the benchmark figures (not part of the timed test suite)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/eu27_baseline.toml
RUN_ARGS ?=

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/cfsp-sim run $(SCENARIO) --force $(RUN_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks
	$(BIN)/mypy sim

test: lint
	$(BIN)/python -m pytest -q --nbmake --cov --cov-report=term tests sim notebooks
	$(BIN)/python tests/coverage_floor.py

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
