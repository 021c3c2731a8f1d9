# `make test` and `make demo` need nothing but a Python 3.10+ on PATH: they create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
PYTHON_ID := $(VENV)/.python-id

.PHONY: test demo lint typecheck docs check clean fuzz bench dist sdist-test FORCE

# The interpreter .venv was made with; a .venv of another one (`make PYTHON=python3.12 test`
# after a run with python3) is replaced. The file's time changes only when it is.
WANT_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])' 2>/dev/null)
$(PYTHON_ID): FORCE
	@test -n "$(WANT_PYTHON)" || { echo "$(PYTHON) is not a Python interpreter"; exit 1; }
	@if [ "$$(cat $(PYTHON_ID) 2>/dev/null)" != "$(WANT_PYTHON)" ]; then \
		echo "creating $(VENV) with $(WANT_PYTHON)"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) \
		&& $(BIN)/python -m pip install --quiet --upgrade pip \
		&& echo "$(WANT_PYTHON)" > $(PYTHON_ID); \
	fi

# The demo needs the package and its own dependencies only.
$(DEMO_STAMP): $(PYTHON_ID) setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_STAMP)

$(STAMP): $(PYTHON_ID) setup.cfg pyproject.toml requirements-test.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e . -r requirements-dev.txt
	touch $(STAMP) $(DEMO_STAMP)

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest

demo: $(DEMO_STAMP)  ## run the example project against its development issuer
	$(BIN)/python example_project/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check django_jwt_at

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The sdist and wheel, checked by twine; then the suite run from the unpacked sdist, which
# must carry everything it needs (MANIFEST.in).
dist: $(STAMP)  ## build dist/ and check it
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*

sdist-test: dist  ## run the test suite from the unpacked sdist
	rm -rf build/sdist-test && mkdir -p build/sdist-test
	tar xzf dist/*.tar.gz -C build/sdist-test --strip-components=1
	cd build/sdist-test && $(CURDIR)/$(BIN)/python -m pytest -q -p no:cacheprovider

check: test lint typecheck docs  ## everything CI runs

# Coverage-guided fuzzing of the validation core (atheris/libFuzzer), not part of `check`.
# New corpus units and crash reproducers go to fuzz/.work/ (git-ignored); the seeds stay in fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZ_WORK := fuzz/.work
fuzz: $(STAMP)  ## fuzz the token validation for FUZZ_SECONDS seconds (default 60)
	$(BIN)/python -c "import atheris" 2>/dev/null || $(BIN)/python -m pip install --quiet -r requirements-fuzz.txt
	mkdir -p $(FUZZ_WORK)/corpus $(FUZZ_WORK)/artifacts
	$(BIN)/python fuzz/fuzz_validate.py -max_total_time=$(FUZZ_SECONDS) -max_len=12000 -timeout=10 \
		-artifact_prefix=$(FUZZ_WORK)/artifacts/ $(FUZZ_WORK)/corpus fuzz/corpus

# Benchmarks (bench/README.md): every comparison interleaved in one process, medians of
# repeated batches, ratios printed side by side; never part of `check`. BENCH_REPEATS,
# BENCH_BATCH, BENCH_E2E_BATCH and BENCH_HOSTILE_BATCH shorten or lengthen the run. Each
# script also writes bench/results/<script>.json (BENCH_RESULTS: another directory), from
# which bench/chart.py draws docs/_static/benchmark.svg.
bench: $(STAMP)  ## run the validator, scaling, end-to-end, server and hostile-input benchmarks, then draw the chart
	$(BIN)/python -c "import rest_framework_simplejwt, authlib, jwt, joserfc, gunicorn, uvicorn" 2>/dev/null || $(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/validators.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/end_to_end.py
	$(BIN)/python bench/servers.py
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/chart.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .mypy_cache .ruff_cache fuzz/.work build dist
