# One command each: `make demo` sets up the runtime and runs the first-minute demo;
# `make test` sets up everything (training extra included) and runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup setup-runtime test lint demo clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[service]'
	touch $@

$(VENV)/.dev: pyproject.toml package-lock.json | $(VENV)/bin/python
	scripts/setup-system.sh
	$(PIP) install --quiet -e '.[service,train,bench,synth,geo-dem,pdf,dev]'
	scripts/setup-browser.sh $(PY)
	touch $(VENV)/.runtime $@

setup-runtime: $(VENV)/.runtime
setup: $(VENV)/.dev

test: setup
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

demo: setup-runtime
	$(VENV)/bin/linepatrol demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
