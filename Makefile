# `make test` and `make demo` need nothing but a Python 3.10+ on PATH: they create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck docs check clean

$(STAMP): setup.cfg pyproject.toml requirements-test.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . -r requirements-dev.txt
	touch $(STAMP)

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest

demo: $(STAMP)  ## run the example project against its development issuer
	$(BIN)/python example_project/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check django_jwt_at

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

check: test lint typecheck docs  ## everything CI runs

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .mypy_cache .ruff_cache
