# cfsp-sim: two commands on a fresh machine.
#   make run   - create .venv if missing, install the project, run the bundled default scenario
#   make test  - install the dev extra, then lint, type-check and run the whole test suite
#   make test-fast - the edit loop: the tests not marked slow (no lint, no coverage), ~3 minutes
#   make bench - print the benchmark figures (not part of the timed test suite)
#   make lab   - install the notebooks extra (JupyterLab, ipywidgets) and open the notebooks
#   make explore - the what-if explorer (notebooks/05_explorer.ipynb) as a web page, served by Voila
#   make gallery - rerun the findings' comparisons: docs/gallery/, the findings pages' and README's numbers
#   make docs  - build the documentation site into site/ (mkdocs build --strict; make test runs it)
#   make browser - install headless Chromium from Debian's packages (the docs' browser test)
#   make docs-notebooks - execute notebooks/ into docs/notebooks/ (the site renders those outputs)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= eu27_baseline
RUN_ARGS ?=

.PHONY: run test test-fast lint bench lab explore gallery clean docs docs-notebooks browser

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

test: lint docs browser
	$(BIN)/python -m pytest -q --durations=15 --cov --cov-report=term tests sim
	$(BIN)/python tests/coverage_floor.py

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow" --durations=10 tests sim

$(VENV)/.installed-lab: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $@

# JupyterLab refuses to run as root without --allow-root (containers, CI): given when root
ROOT_FLAG = $$(if [ "$$(id -u)" -eq 0 ]; then echo --allow-root; fi)

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks $(ROOT_FLAG)

# The what-if explorer as a web page (Voila runs notebooks/05_explorer.ipynb; no code shown)
EXPLORE_PORT ?= 8866
explore: $(VENV)/.installed-lab
	$(BIN)/voila notebooks/05_explorer.ipynb --port=$(EXPLORE_PORT) --no-browser

gallery: $(VENV)/.installed
	$(BIN)/python tools/gallery.py

# The documentation site: strict, so a warning, a broken link or anchor, or a missing reference
# fails the build. The dev extra includes the docs extra.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-notebooks: $(VENV)/.installed-dev
	$(BIN)/python tools/docs_notebooks.py

# Headless Chromium for tests/test_docs.py, from Debian's packages (no browser downloads):
# skips apt when it is already there; CI runs as root on a machine that may be new.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then echo "browser: $(CHROMIUM)"; \
	else \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site .cache
