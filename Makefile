# The two commands of the README: `make run` (app with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: install install-test run serve worker db-upgrade seed test test-unit coverage lint gates format bench clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

db-upgrade: install
	$(BIN)/flask db upgrade

seed: db-upgrade
	$(BIN)/flask seed-demo

# Serves the app with demo data on the embedded defaults (SQLite, SqliteHuey, payments off),
# with a job worker beside it; Ctrl-C stops both.
run: seed
	@mkdir -p instance
	@$(BIN)/huey_consumer marketplace.jobs.huey --workers 1 --logfile instance/huey.log >/dev/null 2>&1 & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  echo "Marketplace on http://$(HOST):$(PORT)/ (job worker pid $$worker; demo logins in README.md)"; \
	  $(BIN)/flask run --host $(HOST) --port $(PORT)

# The production processes (README "Production"): gunicorn and the Huey job workers (which also
# schedule the periodic jobs), started together by honcho from the Procfile; Ctrl-C or SIGTERM stops
# them all, and if one of them stops the others are stopped too. PROCESSES=web or PROCESSES=worker
# runs one kind only (a web host, a worker host); WORKER_PROCESSES=N runs N job worker processes.
PROCESSES ?=
WORKER_PROCESSES ?= 1
serve: install
	PATH="$(abspath $(BIN)):$$PATH" MARKETPLACE_ENV=production \
	  $(BIN)/honcho start --no-colour -f Procfile -c worker=$(WORKER_PROCESSES) $(PROCESSES)

worker: install
	$(BIN)/huey_consumer marketplace.jobs.huey --workers 2

# The suite runs in TEST_WORKERS processes (pytest-xdist), each on its own database (tests/conftest.py);
# TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: install-test
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The fast unit layer: the pure rules (bid, demand line, solver model rules) with no app and no database, in seconds.
test-unit: install-test
	$(BIN)/pytest -q tests/unit tests/solver/test_award_model_rules.py tests/solver/test_pooling_model_rules.py

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The cheap architecture gates of .ci/run (README "Checks"): the layer contracts of .importlinter,
# the type checker (strict on the solver, plain on the services) and the module size limit.
gates: install-test
	$(BIN)/python .ci/module_size.py
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy --strict solver
	$(BIN)/mypy marketplace/services

# `make test` with the coverage of marketplace/ and solver/ reported per file (pyproject.toml).
coverage: install-test
	$(BIN)/pytest -n $(TEST_WORKERS) --cov --cov-report=term $(PYTEST_ARGS)

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks write their figures to bench/results/*.md.
bench: install-test
	$(BIN)/python -m bench.pooling --twice
	$(BIN)/python -m bench.pooling --family skewed --sizes 10000,100000 --twice
	$(BIN)/python -m bench.award
	$(BIN)/python -m bench.award_quarters --large
	$(BIN)/python -m bench.demand_upload
	$(BIN)/python -m bench.web  # needs BENCH_DATABASE_URL (PostgreSQL, wiped) and wrk; skips without them
	$(BIN)/python -m bench.web_scale

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache test-artifacts
