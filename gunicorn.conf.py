"""gunicorn settings for Carnet santé: `gunicorn -c gunicorn.conf.py` from the project folder.

Behind nginx (deploy/nginx/) or another TLS proxy. The client's address and scheme are the
app's business: it believes exactly TRUSTED_PROXY_HOPS proxies (web/proxy.py, ProxyFix),
so gunicorn is told to trust no forwarded header at all. Logs are JSON lines (web/logs.py):
the access log never holds a query string nor the agenda subscription token.

Environment:
  GUNICORN_BIND      address to listen on (default 127.0.0.1:8000; the image uses 0.0.0.0:8000)
  GUNICORN_WORKERS   worker processes (default 2 x CPUs + 1, at most 8)
  GUNICORN_THREADS   threads per worker (default 4: gthread workers, so a long download,
                     an export of a whole space, never gets its worker killed by the timeout)
  GUNICORN_TIMEOUT   seconds a request may take before its worker is restarted (default 60)
  GUNICORN_LOGLEVEL  error log level (default info)
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# The app (an application factory) and where it lives.
wsgi_app = "app:create_app()"
chdir = ROOT

# Sockets and workers. Each worker holds its own database pool: past 8 workers the
# database, not the CPU, is what runs out; add instances instead.
bind = [address.strip() for address in
        os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if address.strip()]
workers = _int("GUNICORN_WORKERS", min(2 * _cpus() + 1, 8))
# Four threads: a slow request (an upload, a deposit, an export) holds one thread, not
# its worker. Measured (2 cores, 2026-12-07): workers of one thread served pages that only
# read at 15 to 35 % more of hello world's throughput (benchmarks/load.py: 5 x 1 against
# 2 x 4, SQLite and PostgreSQL), threads of a worker taking turns at Python's lock; but
# under the cluster's mix of reads and writes (benchmarks/cluster.py, 2 instances of
# 2 x 1 against 1 x 4, two runs each) every request's p99 rose to about 200 ms, against
# 154-167: a request waited behind an upload its worker had taken first. A shorter switch
# interval of the interpreter (1 ms instead of 5) changed nothing.
threads = _int("GUNICORN_THREADS", 4)
# Created once per worker; the app (database engine, key file) must not be shared across
# a fork.
preload_app = False
# The worker heartbeat file: on a memory file system, so a slow disk never blocks it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
umask = 0o077

# Timeouts. nginx buffers slow clients, so a request reaches a worker whole.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# Proxies: none trusted here. The app applies TRUSTED_PROXY_HOPS itself; gunicorn must
# neither rewrite the scheme from X-Forwarded-Proto nor map proxy headers into the
# environment, whatever address (or Unix socket) the request comes from.
forwarded_allow_ips = ""
secure_scheme_headers = {}
forwarder_headers = ""
proxy_protocol = False

# No runtime control socket: it would be created under $HOME, which the service user
# has not (systemd ProtectHome, the image's user).
control_socket_disable = True

# Logs: JSON lines, the access log to stdout, gunicorn's own messages to stderr.
logger_class = "web.logs.GunicornLogger"
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
capture_output = False
proc_name = "carnet-sante"
