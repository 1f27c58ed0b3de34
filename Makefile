# The two-command door: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-$(shell cat requirements.txt constraints.txt | cksum | cut -d' ' -f1)
DEV := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt constraints.txt | cksum | cut -d' ' -f1)
DEMO_PASSWORD ?= demo-portal-2026
HOST ?= 127.0.0.1
PORT ?= 8000
# E-mailed links and the visas' issuer name the server `make run` starts, unless set (make run PORT=8010).
export PORTAL_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: help install install-runtime run migrate test lint format bench lock db-start db-stop worker beat clean

help:
	@echo "make run     install, migrate, load DUO/MONDO and demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test    the whole test suite (PostgreSQL: DATABASE_URL or the embedded server)"
	@echo "make lint    ruff format check and lint, then the import contracts (lint-imports)"
	@echo "make bench   benchmarks, printing figures"
	@echo "make worker  a Celery worker (needs REDIS_URL)   make beat  the Celery beat scheduler"
	@echo "make db-stop stop the embedded PostgreSQL        make lock  refresh constraints.txt"

# Serving needs only the runtime packages; tests and lint add the development tools.
$(RUNTIME): requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	rm -f $(VENV)/.runtime-*
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	rm -f $(VENV)/.dev-*
	touch $(DEV)

# schemathesis needs the PyPI `requests` library, which the portal's `requests` app shadows: it
# gets a venv of its own and runs out of process (tests/portal/test_schemathesis.py).
ST_VENV := .venv-schemathesis
ST_STAMP := $(ST_VENV)/.installed-$(shell cksum < tests/schemathesis/requirements.txt | cut -d' ' -f1)

$(ST_STAMP): tests/schemathesis/requirements.txt
	test -x $(ST_VENV)/bin/python || $(PYTHON) -m venv $(ST_VENV)
	$(ST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/schemathesis/requirements.txt
	rm -f $(ST_VENV)/.installed-*
	touch $(ST_STAMP)

# The test OpenID provider's node packages (tests/oidc.py); `npm ci` again only when the lock file
# is newer than what it installed. Without npm its tests skip (fail in CI, which installs it).
OIDC_PROVIDER := tests/oidc_provider

install: $(DEV) $(ST_STAMP)
	@if [ ! -d $(OIDC_PROVIDER)/node_modules ] || [ $(OIDC_PROVIDER)/package-lock.json -nt $(OIDC_PROVIDER)/node_modules ]; then \
	  if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --prefix $(OIDC_PROVIDER); \
	  else echo "npm is missing: the OpenID provider tests will be skipped (apt-get install nodejs npm)"; fi; \
	fi

install-runtime: $(RUNTIME)

# Development runs with DEBUG on unless the caller says otherwise.
run migrate db-start worker beat: export DEBUG ?= true

migrate: install-runtime
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py load_ontologies
	$(BIN)/python manage.py seed_demo --if-empty --password $(DEMO_PASSWORD)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m tests.perf.bench_matcher
	$(BIN)/python -m tests.perf.bench_node_api
	$(BIN)/python -m tests.perf.bench_verifier

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install-runtime
	$(BIN)/celery -A portal worker --loglevel=INFO

beat: install-runtime
	$(BIN)/celery -A portal beat --loglevel=INFO

db-start: install-runtime
	$(BIN)/python -m portal.embedded_db start

db-stop: install-runtime
	$(BIN)/python -m portal.embedded_db stop

lock: install
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) $(ST_VENV) staticfiles test-artifacts .pytest_cache .ruff_cache
