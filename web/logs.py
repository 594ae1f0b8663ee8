"""Log lines as JSON, one object a line, and addresses fit for a log.

Every line carries `time` (ISO 8601, UTC), `level`, `logger`, `message` and the id of the
request (or command run) being served, plus the fields a caller passes with `extra=`.
Logs never hold a token, a code or a search term (SECURITY.md): `redact_path` drops query
strings and hides the agenda subscription token, which has to travel in the address
because calendar applications cannot send a header. The gunicorn access log and error log
go through the same formatter (`GunicornLogger`, named in gunicorn.conf.py).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, date, datetime
from urllib.parse import unquote

from gunicorn.glogging import Logger as _GunicornBaseLogger

from domain.audit import REQUEST_ID

REDACTED = "[redacted]"
FEED_PREFIX = "/agenda/abonnement/"
ICS_SUFFIX = ".ics"

# An absolute URL: scheme, then an authority we keep without its user:password part.
_ABSOLUTE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)$",
                       re.DOTALL)
# The feed's address once decoded and normalised, wherever the app is mounted.
_FEED = re.compile(r"(?i)^(?P<mount>.*?)/agenda/abonnement/(?P<token>.+)$", re.DOTALL)
# The same inside free text (messages, tracebacks): raw or percent-encoded slashes.
_FEED_IN_TEXT = re.compile(
    r"(?i)(?P<lead>agenda(?:/|%2f)+abonnement(?:/|%2f)+)(?!\[redacted\])[^\s\"'<>?#]+")
# A path or URL inside free text (a request line, a message, a traceback).
_ADDRESS_IN_TEXT = re.compile(
    r"(?:\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#\"'<>]+)?/[^\s\"'<>]*")
_MAX_DECODE = 4
_MAX_DEPTH = 6
_MAX_FIELD = 4000


def _normalise(path: str) -> str:
    """The path as a router could understand it: percent-decoded (repeatedly, against
    double encoding), backslashes as slashes, repeated slashes merged, dot segments
    resolved. Used only to recognise the feed, never written to a log."""
    for _ in range(_MAX_DECODE):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    path = re.sub(r"/+", "/", path.replace("\\", "/"))
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(segments) > 1:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    normalised = "/".join(segments)
    return normalised if normalised.startswith("/") else "/" + normalised


def redact_path(path_or_url: str) -> str:
    """A path or URL fit for a log: no query string (nor fragment), no user:password, and
    the agenda subscription token replaced by `[redacted]` in every spelling a router
    would accept (percent-encoded, doubled slashes, dot segments, any letter case)."""
    if not path_or_url:
        return path_or_url or ""
    text = str(path_or_url)
    prefix = ""
    absolute = _ABSOLUTE.match(text)
    if absolute:
        authority = absolute["authority"].rpartition("@")[2]
        prefix = f"{absolute['scheme']}://{authority}"
        text = absolute["rest"]
    path = re.split(r"[?#]", text, maxsplit=1)[0]
    feed = _FEED.match(_normalise(path))
    if feed:
        suffix = ICS_SUFFIX if feed["token"].lower().endswith(ICS_SUFFIX) else ""
        return f"{prefix}{feed['mount']}{FEED_PREFIX}{REDACTED}{suffix}"
    if _FEED_IN_TEXT.search(path):  # a spelling the normalisation did not foresee
        return f"{prefix}{_FEED_IN_TEXT.sub(_hide_feed_token, path)}"
    return f"{prefix}{path}"


def _hide_feed_token(match: re.Match) -> str:
    return f"{match['lead']}{REDACTED}"


def _redact_address(match: re.Match) -> str:
    return redact_path(match[0])


def scrub(text: str) -> str:
    """Free text fit for a log: every path or URL in it goes through `redact_path` (no
    query string, no feed token), however the text came to hold one (a request line in a
    message, a traceback)."""
    if "/" in text:
        text = _ADDRESS_IN_TEXT.sub(_redact_address, text)
    if "bonnement" in text.lower():  # what is left: encoded slashes, no leading slash
        text = _FEED_IN_TEXT.sub(_hide_feed_token, text)
    return text


def _plain(value, depth: int = 0):
    """A value json.dumps always accepts; anything else becomes its (scrubbed) text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return scrub(value[:_MAX_FIELD])
    if isinstance(value, datetime | date):
        return value.isoformat()
    if depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {str(_plain(key, depth + 1)): _plain(item, depth + 1)
                for key, item in list(value.items())[:100]}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item, depth + 1) for item in list(value)[:100]]
    try:
        return scrub(str(value)[:_MAX_FIELD])
    except Exception:  # a __str__ that fails must not take the log line with it
        return f"<unprintable {type(value).__name__}>"


# Attributes every LogRecord has: anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, `extra` fields,
    and `exc` (the traceback as text) when an exception is logged. Never raises."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self._format(record)
        except Exception:  # the last resort still writes one valid JSON line
            return json.dumps({"time": self._time(record), "level": "ERROR",
                               "logger": "web.logs", "message": "unformattable log record",
                               "request_id": None})

    def _time(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _message(self, record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except Exception:  # arguments that do not fit the format
            return f"{_plain(record.msg)} {_plain(record.args)}"

    def _format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": _plain(self._message(record)),
            "request_id": _plain(getattr(record, "request_id", None) or REQUEST_ID.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in entry and not key.startswith("_"):
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, allow_nan=False)


_HANDLER_MARK = "_carnet_json"


def configure(app) -> None:
    """In production: the root logger writes JSON lines to stderr at INFO (the site's own
    lines, Flask's, the operator commands' and the outbox worker's). Development keeps
    Flask's readable lines. Safe to call more than once."""
    if app.debug or app.config.get("CARNET_ENV") != "production":
        return
    from flask.logging import default_handler

    root = logging.getLogger()
    if not any(getattr(handler, _HANDLER_MARK, False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Flask's own handler would print the app's lines a second time, as plain text.
    app.logger.removeHandler(default_handler)


def _header(headers, name: str) -> str | None:
    items = headers.items() if hasattr(headers, "items") else headers or ()
    for key, value in items:
        if key.lower() == name:
            return value
    return None


def access_fields(resp, req, environ: Mapping, request_time) -> dict:
    """The fields of one access-log line (gunicorn's `access` hook arguments)."""
    method = environ.get("REQUEST_METHOD", "-")
    target = environ.get("RAW_URI") or environ.get("PATH_INFO") or "-"
    status = getattr(resp, "status", None)
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    try:
        status = int(status)
    except (TypeError, ValueError):
        status = None
    original = environ.get("werkzeug.proxy_fix.orig") or {}
    referer = environ.get("HTTP_REFERER")
    return {
        "method": method,
        "path": redact_path(target),
        "protocol": environ.get("SERVER_PROTOCOL"),
        "status": status,
        "bytes": getattr(resp, "sent", None),
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        # ProxyFix (TRUSTED_PROXY_HOPS) has put the client's address here by the time
        # the line is written; the proxy's own address is kept beside it.
        "remote_addr": environ.get("REMOTE_ADDR"),
        "peer": original.get("REMOTE_ADDR"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
        "referer": redact_path(referer) if referer else None,
        # The id the app gave the request (web/proxy.py), as it answered it.
        "request_id": _header(getattr(resp, "headers", None), "x-request-id"),
    }


class GunicornLogger(_GunicornBaseLogger):
    """gunicorn's logger with JSON lines: the access log writes `access_fields` (the path
    redacted, never the query string), the error log goes through the same formatter.
    gunicorn's `access_log_format` is not used."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):  # not handlers of a logconfig
                    handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            fields = access_fields(resp, req, environ, request_time)
            self.access_log.info('"%s %s %s" %s', fields["method"], fields["path"],
                                 fields["protocol"], fields["status"], extra=fields)
        except Exception:
            self.error(traceback.format_exc())
