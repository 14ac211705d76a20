# tempgate: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: demo test lint typecheck pytest faults bench system-packages clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

system-packages:
	bash scripts/ensure-system-packages mosquitto openssl chromium

demo: $(VENV)/.installed system-packages
	$(VENV)/bin/tempgate-demo $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed system-packages
	$(PY) -m pytest $(ARGS)

faults: $(VENV)/.installed system-packages
	$(PY) -m pytest tests/test_faults.py $(ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
