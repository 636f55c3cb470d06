# The only entry point people and CI use. Every target sets up what it needs on a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
REQS := requirements/base.txt requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) | sha256sum | cut -c1-12)
WITH_ENV := source scripts/env.sh &&

.PHONY: install services run test check lint fmt typecheck imports migrations-check deploy-check bench

install: $(STAMP)

$(STAMP): $(REQS)
	scripts/install.sh
	rm -f $(VENV)/.installed-* && touch $@

services: install
	scripts/services.sh

run: services
	scripts/run.sh

test: services
	scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: services
	$(WITH_ENV) $(VENV)/bin/mypy apps skriptoteket

imports: install
	$(VENV)/bin/lint-imports

migrations-check: services
	$(WITH_ENV) $(VENV)/bin/python manage.py makemigrations --check --dry-run
	$(WITH_ENV) $(VENV)/bin/python manage.py check --fail-level WARNING

# Django's deployment checks with the values a production host sets (HTTPS on, DEBUG off).
deploy-check: services
	$(WITH_ENV) DEBUG=false HTTPS=true ALLOWED_HOSTS=skriptoteket.example.org \
	  CSRF_TRUSTED_ORIGINS=https://skriptoteket.example.org \
	  $(VENV)/bin/python manage.py check --deploy --fail-level WARNING

check: lint typecheck imports migrations-check deploy-check test

bench: services
	scripts/bench.sh
