# Agora: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: demo test lint install serve serve-prod migrate clean schema fuzz bench bench-quick

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input -v0

# Install, migrate, make a local CA (under var/, never committed) if there is none, load the demo
# data, then serve the site and run the clock together.
demo: migrate
	DJANGO_DEBUG=1 $(PY) manage.py ca_init --if-missing
	DJANGO_DEBUG=1 AGORA_DEMO_SERVER=http://$(HOST):$(PORT) $(PY) manage.py demo_load
	DJANGO_DEBUG=1 $(PY) manage.py search_reindex --if-empty
	DJANGO_DEBUG=1 HOST=$(HOST) PORT=$(PORT) PY=$(PY) ./bin/serve

serve: migrate
	DJANGO_DEBUG=1 HOST=$(HOST) PORT=$(PORT) PY=$(PY) ./bin/serve

# Production (docs/deploy.md): gunicorn + the clock (+ search_sync), DEBUG off; needs DJANGO_SECRET_KEY and a
# migrated database. Not `migrate` first: in production migrations are a deliberate step, after a backup.
serve-prod: install
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) ./bin/serve-prod

# The whole suite, on two worker processes (pytest-xdist; each worker gets its own test database).
# Plain --dist load: it keeps pytest-django's order (transactional tests, whose flush empties the
# migrations' rows, after the others); --dist loadfile does not, and loadgroup groups nothing with
# pytest 9.2 (xdist 3.8 renames item._nodeid, which pytest no longer reads). The demo story's module
# fixture is then set up once per worker that runs its checks.
# PYTEST_XDIST= runs it in one process. With DATABASE_URL set it runs against that PostgreSQL server.
PYTEST_XDIST ?= -n 2
test: install
	mkdir -p var
	DJANGO_DEBUG=1 $(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_DEBUG=1 $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/bandit -c pyproject.toml -r . -q
	mkdir -p var && DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	mkdir -p var && DJANGO_DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.check.yaml && diff -u docs/openapi.yaml var/openapi.check.yaml || (echo 'docs/openapi.yaml is stale: run make schema' && false)

# Hostile input: schemathesis against docs/openapi.yaml on a live server with the demo data, once per role
# (anonymous, purchaser, agency, operator, supervisor); fixed seed, bounded examples (docs/architecture.md).
# FUZZ_SEED and FUZZ_EXAMPLES change them.
fuzz: install
	mkdir -p var
	$(PY) tests/fuzz/run.py

# Every benchmark, one table (bench/run.py; how to read it: bench/README.md). Figures, never timed tests.
# bench-quick: the same figures at smaller sizes, under 5 minutes. The rush needs PostgreSQL on 127.0.0.1:5432.
bench: install
	mkdir -p var
	$(PY) bench/run.py

bench-quick: install
	mkdir -p var
	$(PY) bench/run.py --quick

# Regenerate the committed OpenAPI schema; `make lint` fails when it is stale.
schema: install
	DJANGO_DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

clean:
	rm -rf var/test-agora*.sqlite3* .pytest_cache .mypy_cache .ruff_cache
