# Developer and CI entry points. `make run` is all a new developer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.NOTPARALLEL:

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# Stamps live inside what they describe: deleting .venv or node_modules re-runs the install.
PIP_STAMP := $(VENV)/.installed-requirements
NPM_STAMP := node_modules/.installed-package-lock
PYTEST_ARGS ?=
# Compiled translations are build output (git-ignored), made from the committed .po files.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

.PHONY: help install migrate demo collectstatic run test lint check clean messages

help:
	@echo "make install        .venv (requirements-dev.txt) and node_modules (npm ci)"
	@echo "make run            install, migrate, load demo data, then web + Celery worker + beat on http://127.0.0.1:8000"
	@echo "make test           the whole pytest suite (extra arguments: make test PYTEST_ARGS='-k heartbeat -x')"
	@echo "make lint | check   ruff; makemigrations --check and manage.py check"
	@echo "make migrate | demo | collectstatic | clean"

install: $(PIP_STAMP) $(NPM_STAMP) $(MO_FILES)

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(PIP_STAMP)
	@echo ">> compilemessages $*"
	$(MANAGE) compilemessages --locale $* --ignore .venv --ignore node_modules --verbosity 0

$(BIN)/python:
	@echo ">> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(PIP_STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	@echo ">> pip install -r requirements-dev.txt"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	@echo ">> npm ci"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) load_demo

collectstatic: install
	$(MANAGE) collectstatic --noinput --verbosity 0

# The embedded shape (development keys, SQLite unless DATABASE_URL, static files from the source folders)
# whatever the shell says; DEBUG stays off, so pages show the portal's own 404/500 (DJANGO_DEBUG=1 opts in).
run: export PORTAL_ENV := embedded
run: install migrate demo
	@scripts/run.sh

# make exits 2 on any failure: the pytest exit code is printed so that .ci/run can tell 5 (no tests) apart.
test: install
	@echo "$(BIN)/pytest $(PYTEST_ARGS)"
	@rc=0; $(BIN)/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "make test: pytest exited with code $$rc" >&2; fi; \
	exit $$rc

# Re-extract translatable strings after changing templates or code, then translate the new entries.
messages: install
	$(MANAGE) makemessages -l en --ignore=.venv --ignore=node_modules --ignore=var --ignore=tests --ignore=bench

lint: install
	$(BIN)/ruff check .

check: install
	$(MANAGE) makemigrations --check --dry-run
	$(MANAGE) check

# Keeps var/db.sqlite3 (your local data); delete it by hand for a fresh database.
clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache var/staticfiles var/celery var/celerybeat-schedule*
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
