# The two commands of the README:
#   make run    set up and run the whole platform (embedded defaults unless DATABASE_URL/REDIS_URL)
#   make test   set up and run every check and the full test suite against Postgres and Redis
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# Links printed by the demo and put into emails point at the port the platform listens on.
SITE_URL ?= http://127.0.0.1:$(PORT)
export SITE_URL
PYTEST_ARGS ?=

.PHONY: run test install install-dev services browser lint checks pytest migrate demo clean lock audit pip-audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

## make run: migrate, seed the demo, then web + Celery worker + beat in one terminal (Ctrl-C stops all)
run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho --procfile Procfile.dev start

services:
	scripts/ensure-services

browser:
	scripts/ensure-browser

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --severity-level medium --configfile pyproject.toml --recursive .

checks: install-dev services
	DJANGO_SETTINGS_MODULE=ekomi.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	scripts/check-deploy

pytest: install-dev services browser bench-tools
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## make test: lint, migrations and deploy checks, then the whole suite (exit non-zero on failure)
test: lint checks pytest

## make audit: check both lock files against the advisories PyPI publishes (needs pypi.org);
## pins behind their newest release pass only when requirements/reviewed.txt records a review
audit: install-dev
	$(BIN)/python scripts/advisories.py requirements/base.txt requirements/dev.txt

## make pip-audit: the same with pip-audit, where PyPI's per-release API or OSV is reachable
pip-audit: install-dev
	$(BIN)/pip-audit --strict --disable-pip --requirement requirements/base.txt
	$(BIN)/pip-audit --strict --disable-pip --requirement requirements/dev.txt

## make lock: re-pin every dependency after changing pyproject.toml
lock: install-dev
	$(BIN)/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements/base.txt pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.txt pyproject.toml

clean:
	rm -rf var/ .pytest_cache .ruff_cache

## make bench: seed ekomi_bench at the issue's scale (10k shops, 10M reviews, 1M invitations),
## run every benchmark, print the table and write bench/results/<timestamp>.json (takes long)
## make bench-small: the same at 200 shops, 200k reviews, 20k invitations (a few minutes)
## (both install the dev lock: the email figures need the aiosmtpd sink)
.PHONY: bench bench-small bench-tools
bench-tools:
	scripts/ensure-bench-tools

bench: install-dev services bench-tools
	$(BIN)/python -m bench run

bench-small: install-dev services bench-tools
	$(BIN)/python -m bench run --small
