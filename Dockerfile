# Carnet santé: the web application image (gunicorn). The same image runs the outbox worker,
# the migrations and the operator commands (`flask --app app ...`); see compose.yaml.
#
# Secrets are never in the image: SECRET_KEY and the rest come from the environment, the
# key file (CARNET_KEY_FILE) is mounted read-only at run time.

# --- htmx, from the npm registry at the exact version of package-lock.json ---------------
FROM node:22-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

# --- Python packages: the hashed runtime lock only, wheels only, nothing unpinned --------
FROM python:3.11-slim-bookworm AS python-packages
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY requirements/runtime.txt /tmp/runtime.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
       --only-binary=:all: -r /tmp/runtime.txt

# --- The application --------------------------------------------------------------------
FROM python:3.11-slim-bookworm

# WeasyPrint (the PDF summary and letters) needs Pango and HarfBuzz and some fonts;
# postgresql-client gives pg_dump/pg_restore for `flask --app app backup`.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
       fonts-dejavu-core fonts-liberation postgresql-client \
    && rm -rf /var/lib/apt/lists/*
# (DL3008, "pin apt versions", is ignored on purpose: Debian stable only ships security
# fixes and its mirrors drop superseded versions, so pins would break rebuilds without
# making them safer. The base image tag fixes the release.)

RUN groupadd --system --gid 10001 carnet \
    && useradd --system --no-log-init --uid 10001 --gid carnet \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin carnet

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CARNET_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000

COPY --from=python-packages /opt/venv /opt/venv

# The code belongs to root: the site's user can read it, never change it.
WORKDIR /app
COPY app.py config.py extensions.py gunicorn.conf.py alembic.ini babel.cfg ./
COPY blueprints/ blueprints/
COPY domain/ domain/
COPY web/ web/
COPY templates/ templates/
COPY static/ static/
COPY translations/ translations/
COPY migrations/ migrations/
# The rest of the source, served at /code-source as the AGPL asks of a network service:
# the licence, how it is built and deployed, its scripts and benchmarks.
COPY LICENSE README.md pyproject.toml Makefile Dockerfile .dockerignore compose.yaml \
     package.json package-lock.json ./
COPY requirements/ requirements/
COPY scripts/ scripts/
COPY deploy/ deploy/
COPY benchmarks/ benchmarks/
COPY --from=assets /build/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
RUN pybabel compile -d translations \
    && python -m compileall -q -j 0 app.py config.py extensions.py blueprints domain web migrations \
    && mkdir -p instance \
    && chown carnet:carnet instance \
    && chmod 0700 instance

# instance/: upload spooling (and blobs, letters and outbox files only if the settings
# keep them local). A volume in compose.
# By number (the `carnet` user above), so that the host and orchestrators can tell it is
# not root.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('GUNICORN_BIND', '0.0.0.0:8000').split(',')[0].rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
