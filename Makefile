# cfsp-sim: two commands on a fresh machine.
#   make run   - create .venv if missing, install the project, run the bundled default scenario
#   make test  - install the dev extra, then lint, type-check and run the whole test suite
#   make test-fast - the edit loop: the tests not marked slow (no lint, no coverage), ~3 minutes
#   make bench - print the benchmark figures (not part of the timed test suite)
#   make lab   - install the notebooks extra (JupyterLab, ipywidgets) and open the notebooks
#   make gallery - rerun the README's comparisons: docs/gallery/ and the README's numbers

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= eu27_baseline
RUN_ARGS ?=

.PHONY: run test test-fast lint bench lab gallery clean

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
	$(BIN)/ruff check sim tests benchmarks tools
	$(BIN)/ruff format --check sim tests benchmarks tools
	$(BIN)/mypy sim

test: lint
	$(BIN)/python -m pytest -q --durations=15 --cov --cov-report=term tests sim
	$(BIN)/python tests/coverage_floor.py

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow" --durations=10 tests sim

$(VENV)/.installed-lab: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $@

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks

gallery: $(VENV)/.installed
	$(BIN)/python tools/gallery.py

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
