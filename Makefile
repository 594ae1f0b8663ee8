# Carnet santé — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PORT ?= 5000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-fast bench setup assets translations migrate seed chromium \
        extract-translations update-translations lint clean

run: setup migrate
	$(FLASK) demo seed --if-empty
	$(FLASK) activation expire
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup chromium
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# Without the browser tests: quick feedback while working.
test-fast: setup
	$(PY) -m pytest -p no:cacheprovider -m "not browser" $(PYTEST_ARGS)

bench: setup migrate
	$(PY) benchmarks/pages.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/codes.py
	$(PY) benchmarks/vault.py
	$(PY) benchmarks/profile.py
	$(PY) benchmarks/access.py
	$(PY) benchmarks/messaging.py

setup: $(VENV)/.installed assets translations

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) scripts/requirements.py | $(PY) -m pip install -q -r /dev/stdin
	touch $@

assets: static/vendor/htmx.min.js

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

translations: $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d translations -l $*

extract-translations: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location \
	  --sort-output --ignore-dirs='.* _* node_modules' -o translations/messages.pot . \
	  2>&1 | grep -v '^extracting' || true

update-translations: extract-translations
	$(VENV)/bin/pybabel update -N --ignore-obsolete -w 100 \
	  -i translations/messages.pot -d translations 2>&1 | grep -v '^updating' || true
	$(PY) scripts/fill_source_catalogue.py

migrate: setup
	$(FLASK) db upgrade

chromium:
	test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules static/vendor translations/*/LC_MESSAGES/*.mo
