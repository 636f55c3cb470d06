# The only entry point people and CI use. Every target sets up what it needs on a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
REQS := requirements/base.txt requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) | sha256sum | cut -c1-12)
WITH_ENV := source scripts/env.sh &&
# The front-end's JS tools (ESLint, Prettier, esbuild) come from static_src/package-lock.json.
NODE_MODULES := static_src/node_modules
NODE_STAMP := $(NODE_MODULES)/.installed-$(shell sha256sum static_src/package-lock.json | cut -c1-12)
ESLINT := $(NODE_MODULES)/.bin/eslint -c static_src/eslint.config.mjs
PRETTIER := $(NODE_MODULES)/.bin/prettier --config static_src/.prettierrc.json
JS_SOURCES := static/js static_src/*.js static_src/*.mjs

.PHONY: install node-install services run test check lint lint-js fmt fmt-js typecheck imports \
	migrations-check schema-check deploy-check bench

install: $(STAMP)

$(STAMP): $(REQS)
	scripts/install.sh
	rm -f $(VENV)/.installed-* && touch $@

# Node 20 and npm from the machine; npm ci installs exactly the lockfile (again only when it changes).
node-install: $(NODE_STAMP)

$(NODE_STAMP): static_src/package-lock.json
	cd static_src && npm ci --no-audit --no-fund
	rm -f $(NODE_MODULES)/.installed-* && touch $@

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

# ESLint (rules in static_src/eslint.config.mjs: ES modules, no var, no globals) and Prettier.
lint-js: $(NODE_STAMP)
	$(ESLINT) $(JS_SOURCES)
	$(PRETTIER) --check $(JS_SOURCES)

fmt-js: $(NODE_STAMP)
	$(PRETTIER) --write $(JS_SOURCES)
	$(ESLINT) --fix $(JS_SOURCES)

typecheck: services
	$(WITH_ENV) $(VENV)/bin/mypy apps skriptoteket

imports: install
	$(VENV)/bin/lint-imports

migrations-check: services
	$(WITH_ENV) $(VENV)/bin/python manage.py makemigrations --check --dry-run
	$(WITH_ENV) $(VENV)/bin/python manage.py check --fail-level WARNING

# Both OpenAPI documents (/api/schema/ and the data API v1's, see docs/api.md) generate without
# a warning and validate; tests/contract checks that every response body is typed.
schema-check: services
	$(WITH_ENV) $(VENV)/bin/python manage.py spectacular --validate --fail-on-warn >/dev/null
	$(WITH_ENV) $(VENV)/bin/python manage.py spectacular --validate --fail-on-warn \
	  --custom-settings apps.kvcollections.api.schema.V1_SCHEMA_SETTINGS >/dev/null

# Django's deployment checks with the values a production host sets (HTTPS on, DEBUG off).
deploy-check: services
	$(WITH_ENV) DEBUG=false HTTPS=true ALLOWED_HOSTS=skriptoteket.example.org \
	  CSRF_TRUSTED_ORIGINS=https://skriptoteket.example.org \
	  $(VENV)/bin/python manage.py check --deploy --fail-level WARNING

check: lint lint-js typecheck imports migrations-check schema-check deploy-check test

bench: services
	scripts/bench.sh
