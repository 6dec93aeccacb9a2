# PartnerHub developer commands. `make help` lists them.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The test suite runs on PostgreSQL and Redis; these are the defaults of a local install (see README).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/partnerhub
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?= -n 2

.DEFAULT_GOAL := help
.PHONY: help install install-test run test fuzz lint format migrate seed worker beat manage clean

help: ## List the make targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed ## Create .venv and install PartnerHub into it

install-test: $(VENV)/.installed-test ## Create .venv and install PartnerHub with the test tools

run: $(VENV)/.installed ## Start database, demo data, Celery worker and the portal on http://127.0.0.1:8000/ (Ctrl-C stops all)
	$(PY) scripts/run_local.py

test: $(VENV)/.installed-test ## Run the whole test suite on PostgreSQL and Redis
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(PY) -m pytest $(PYTEST_ARGS)

fuzz: $(VENV)/.installed-test ## Fuzz every API operation longer than make test does (FUZZ_MAX_EXAMPLES, default 200)
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		FUZZ_MAX_EXAMPLES="$${FUZZ_MAX_EXAMPLES:-200}" FUZZ_COVERAGE=1 $(PY) -m pytest tests/quality/test_api_fuzz.py $(PYTEST_ARGS)

lint: $(VENV)/.installed-test ## Check code style (ruff check and ruff format --check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-test ## Reformat the code and apply safe lint fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: $(VENV)/.installed ## Apply migrations (to DATABASE_URL, or to the embedded database of make run)
	$(PY) scripts/run_local.py manage migrate --noinput

seed: $(VENV)/.installed ## Load the demo data again (idempotent)
	$(PY) scripts/run_local.py manage seed_demo

manage: $(VENV)/.installed ## Any manage.py command on the same database: make manage ARGS="createsuperuser"
	$(PY) scripts/run_local.py manage $(ARGS)

worker: $(VENV)/.installed ## Run a Celery worker on Redis (REDIS_URL, default redis://127.0.0.1:6379/0)
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" $(PY) scripts/run_local.py exec \
		$(VENV)/bin/celery -A partnerhub worker -l info

beat: $(VENV)/.installed ## Run Celery beat (periodic tasks kept in the database) on Redis, like make worker
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" $(PY) scripts/run_local.py exec \
		$(VENV)/bin/celery -A partnerhub beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler

.PHONY: bench-provisioning
bench-provisioning: $(VENV)/.installed ## Provision N approved applications (default 500) on two Celery workers on Redis; print throughput and latency
	$(PY) scripts/bench_provisioning.py --applications $(or $(N),500) $(ARGS)

clean: ## Delete local run data (.run: embedded database, queued jobs); make run recreates the demo data
	@if [ -f .run/pgdata/postmaster.pid ]; then echo "The embedded database is running: stop make run first."; exit 1; fi
	rm -rf .run

.PHONY: bench
bench: $(VENV)/.installed ## Load a real server at full scale with wrk, compare key pages with bare ceilings (docs/PERFORMANCE.md)
	$(PY) scripts/bench.py

.PHONY: bench-cobrand
bench-cobrand: $(VENV)/.installed ## Render N co-branded files (default 300, PDF and PNG) on two Celery workers on Redis; print renders/min and latency
	$(PY) scripts/bench_cobrand.py --renders $(or $(N),300) $(ARGS)

.PHONY: bench-helpdesk
bench-helpdesk: $(VENV)/.installed ## django-helpdesk's ticket list on the same 200,000 tickets, measured like make bench (docs/PERFORMANCE.md)
	$(PY) scripts/bench_helpdesk.py
