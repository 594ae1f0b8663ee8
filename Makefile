# Carnet santé — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PORT ?= 5000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-fast bench bench-million bench-cluster setup setup-test lock assets translations migrate seed \
        chromium nginx extract-translations update-translations lint clean

run: setup migrate
	$(FLASK) demo seed --if-empty
	$(FLASK) activation expire
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup-test chromium nginx
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# Without the browser tests: quick feedback while working.
test-fast: setup-test
	$(PY) -m pytest -p no:cacheprovider -m "not browser" $(PYTEST_ARGS)

bench: setup-test migrate
	$(PY) benchmarks/pages.py
	$(PY) benchmarks/floor.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/codes.py
	$(PY) benchmarks/vault.py
	$(PY) benchmarks/growth.py
	$(PY) benchmarks/profile.py
	$(PY) benchmarks/access.py
	$(PY) benchmarks/messaging.py
	$(PY) benchmarks/export.py
	$(PY) benchmarks/ips_export.py
	$(PY) benchmarks/api.py
	$(PY) benchmarks/audit_throughput.py
	$(PY) benchmarks/outbox.py
	$(PY) benchmarks/activation_oracles.py

# A million insured people and spaces on PostgreSQL (DATABASE_URL, else CI's database, in a
# schema of its own): searches, history, code checks and nightly jobs, with query plans.
# About 5 minutes; BENCH_MILLION_N=20000 for a quick look.
bench-million: setup-test
	$(PY) benchmarks/million.py

# Two gunicorn instances behind nginx with a private PostgreSQL cluster, Redis and an S3
# server on loopback: a mixed workload at 16 and 64 connections, a soak (600 s), kill -9 of
# each instance and a PostgreSQL restart under load, then audit and vault verify.
bench-cluster: setup-test
	$(PY) benchmarks/cluster.py

setup: $(VENV)/.installed assets translations

setup-test: setup $(VENV)/.installed-test

# Python packages come from the hashed lock files only (`make lock` writes them from
# pyproject.toml): the runtime lock for `make run`, the test lock (a superset, same versions)
# on top of it for the tests. --no-deps: a package missing from a lock fails loudly instead
# of being fetched unpinned. A lock file newer than its stamp reinstalls.
$(VENV)/.installed: requirements/runtime.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements/runtime.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements/test.txt
	touch $@

# Refresh both lock files from pyproject.toml with uv, installed (hash-checked) in a
# throw-away virtual environment. Pins already in a lock are kept unless asked:
#   make lock                          after editing pyproject.toml: add/drop what changed
#   make lock UPGRADE=1                every package to its newest allowed version
#   make lock UPGRADE_PACKAGE="flask"  only the named packages (space-separated)
# The test lock is resolved with the runtime lock as a constraint, so shared packages keep
# exactly the runtime versions. Python 3.11 on Linux, like the Docker image.
LOCK_COMPILE = "$$tools/bin/uv" pip compile pyproject.toml --quiet --generate-hashes \
  --python-version 3.11 --python-platform linux --index-url https://pypi.org/simple \
  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) \
  $(foreach package,$(UPGRADE_PACKAGE),--upgrade-package $(package))

lock:
	tools="$$(mktemp -d)" && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && \
	"$$tools/bin/pip" install -q --require-hashes -r requirements/lock-tools.txt && \
	$(LOCK_COMPILE) -o requirements/runtime.txt && \
	$(LOCK_COMPILE) --extra test --constraint requirements/runtime.txt -o requirements/test.txt

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

# nginx for the TLS end-to-end test (tests/deploy/test_tls.py runs it itself, as the test
# user, on a high port of 127.0.0.1). On Debian 12 the `nginx` package is the smallest with
# /usr/sbin/nginx and the ssl module (nginx-light is nginx plus the echo module; on Debian 11
# `nginx` pulls nginx-core). Its postinst starts the stock site on port 80 wherever services
# may start: stopped and disabled at once (a no-op where policy-rc.d forbids it, as in
# containers), so only the binary is left.
nginx:
	test -x /usr/sbin/nginx || (apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q --no-install-recommends nginx && \
	  { invoke-rc.d nginx stop; update-rc.d nginx disable; } >/dev/null 2>&1; \
	  test -x /usr/sbin/nginx)

lint: setup-test
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules static/vendor translations/*/LC_MESSAGES/*.mo
