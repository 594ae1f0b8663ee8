"""JSON log lines and the redaction of addresses (web/logs.py)."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from gunicorn.config import Config

from domain.audit import REQUEST_ID
from web import logs

TOKEN = "Zk3v9QxT2mL0pR7sW4yB8nC1dF6gH5jK_aE-uI0oP2q"


@pytest.mark.parametrize("address", [
    f"/agenda/abonnement/{TOKEN}.ics",
    f"/agenda/abonnement/{TOKEN}",
    f"/agenda/abonnement/{TOKEN}.ics?suivant=/profil&q=asthme",
    f"/agenda/abonnement/{TOKEN}?x=y#top",
    f"/agenda/abonnement/{TOKEN.replace('k', '%6B')}.ics",
    f"/agenda/abonnement%2F{TOKEN}.ics",
    f"/agenda/%61bonnement/{TOKEN}.ics",
    f"/agenda/%2561bonnement/{TOKEN}.ics",
    f"//agenda//abonnement///{TOKEN}.ics",
    f"/agenda/./abonnement/{TOKEN}.ics",
    f"/agenda/x/../abonnement/{TOKEN}.ics",
    f"/AGENDA/Abonnement/{TOKEN}.ICS",
    f"/mounted/agenda/abonnement/{TOKEN}.ics",
    f"https://carnet.example/agenda/abonnement/{TOKEN}.ics?x=1",
    f"https://user:pass@carnet.example/agenda/abonnement/{TOKEN}.ics",
    f"/agenda/abonnement/{TOKEN}.ics/extra",
])
def test_the_feed_token_never_survives(address):
    redacted = logs.redact_path(address)
    assert logs.REDACTED in redacted
    for piece in (TOKEN, TOKEN[:12], TOKEN[-12:], "%6B", "pass", "?", "suivant", "asthme"):
        assert piece not in redacted


def test_the_feed_keeps_its_shape():
    assert logs.redact_path(f"/agenda/abonnement/{TOKEN}.ics?x=y") == \
        "/agenda/abonnement/[redacted].ics"
    assert logs.redact_path(f"/agenda/abonnement/{TOKEN}") == "/agenda/abonnement/[redacted]"
    assert logs.redact_path(f"https://carnet.example/agenda/abonnement/{TOKEN}.ics") == \
        "https://carnet.example/agenda/abonnement/[redacted].ics"
    # Redacting twice changes nothing.
    once = logs.redact_path(f"/agenda/abonnement/{TOKEN}.ics")
    assert logs.redact_path(once) == once


@pytest.mark.parametrize(("address", "expected"), [
    ("/documents?q=asthme&page=2", "/documents"),
    ("/connexion?suivant=%2Fprofil", "/connexion"),
    ("/agenda/exporter/abonnement/arreter", "/agenda/exporter/abonnement/arreter"),
    ("/agenda/abonnement", "/agenda/abonnement"),
    ("/static/css/site.0123456789.css", "/static/css/site.0123456789.css"),
    ("https://carnet.example/profil?x=1", "https://carnet.example/profil"),
    ("", ""),
])
def test_other_addresses_lose_only_their_query(address, expected):
    assert logs.redact_path(address) == expected


def _isolated_logger(name: str, stream) -> logging.Logger:
    """A logger outside the logging tree: only our handler sees its records."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.Logger(name, logging.DEBUG)
    logger.addHandler(handler)
    return logger


def _line(**kwargs) -> dict:
    stream = io.StringIO()
    logger = _isolated_logger("carnet.test", stream)
    message = kwargs.pop("message", "hello %s")
    args = kwargs.pop("args", ("world",))
    logger.info(message, *args, **kwargs)
    text = stream.getvalue()
    assert text.count("\n") == 1, text
    return json.loads(text)


def test_a_line_is_one_json_object_with_the_request_id():
    token = REQUEST_ID.set("req-0123456789")
    try:
        line = _line(extra={"failed": ["redis"], "count": 3})
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "carnet.test"
    assert line["request_id"] == "req-0123456789"
    assert line["failed"] == ["redis"] and line["count"] == 3
    assert line["time"].endswith("Z") and "T" in line["time"]


def test_without_a_request_the_id_is_null():
    assert _line()["request_id"] is None


def test_exceptions_become_an_exc_field():
    stream = io.StringIO()
    logger = _isolated_logger("carnet.test", stream)
    try:
        raise ValueError(f"bad feed /agenda/abonnement/{TOKEN}.ics")
    except ValueError:
        logger.exception("failed")
    line = json.loads(stream.getvalue())
    assert "ValueError" in line["exc"] and "Traceback" in line["exc"]
    assert TOKEN not in stream.getvalue()


class Unprintable:
    def __str__(self):
        raise RuntimeError("no")

    __repr__ = __str__


def test_unserialisable_values_never_raise():
    line = _line(message="%s %d", args=("only one",),
                 extra={"odd": Unprintable(), "nan": float("nan"), "nested": {1: {2, 3}},
                        "raw": b"\x00\xff", "when": timedelta(seconds=3)})
    assert line["odd"] == "<unprintable Unprintable>"
    assert line["nan"] == "nan"
    assert line["nested"] == {"1": [2, 3]}
    assert "only one" in line["message"]


def test_messages_lose_tokens_and_query_strings():
    line = _line(message='127.0.0.1 - - "GET %s HTTP/1.1" 200',
                 args=(f"/agenda/abonnement/{TOKEN}.ics?q=asthme",))
    assert TOKEN not in line["message"] and "asthme" not in line["message"]
    assert "/agenda/abonnement/[redacted].ics HTTP/1.1" in line["message"]


@pytest.mark.parametrize("text", [
    f"Error handling request /agenda/%61bonnement/{TOKEN}.ics",
    f"Invalid request from ip=1.2.3.4: GET //agenda/abonnement/{TOKEN} HTTP/1.0",
    f"fetching https://carnet.example/agenda/abonnement/{TOKEN}.ics?x=1 failed",
    f"path agenda%2Fabonnement%2F{TOKEN}.ics",
])
def test_free_text_never_keeps_the_token(text):
    scrubbed = logs.scrub(text)
    assert TOKEN not in scrubbed and TOKEN[:12] not in scrubbed
    assert logs.REDACTED in scrubbed


def test_free_text_keeps_what_is_not_an_address_or_a_query():
    text = 'File "/opt/carnet-sante/web/x.py", line 3: 2 sent, 0 to retry /documents?q=asthme'
    assert logs.scrub(text) == \
        'File "/opt/carnet-sante/web/x.py", line 3: 2 sent, 0 to retry /documents'


def _gunicorn_logger(stream) -> logs.GunicornLogger:
    config = Config()
    config.set("accesslog", "-")
    logger = logs.GunicornLogger(config)
    for handler in logger.access_log.handlers:
        if getattr(handler, "_gunicorn", False):
            handler.setStream(stream)
    return logger


def test_the_gunicorn_access_line_redacts_the_feed_and_the_query():
    stream = io.StringIO()
    logger = _gunicorn_logger(stream)
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": f"/agenda/abonnement/{TOKEN}.ics?x=y",
        "PATH_INFO": f"/agenda/abonnement/{TOKEN}.ics", "QUERY_STRING": "x=y",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7",
        "HTTP_USER_AGENT": "Calendar/1.0",
        "HTTP_REFERER": f"https://carnet.example/agenda/abonnement/{TOKEN}.ics?y=z",
        "werkzeug.proxy_fix.orig": {"REMOTE_ADDR": "127.0.0.1"},
    }
    response = SimpleNamespace(status="200 OK", sent=512,
                               headers=[("Content-Type", "text/calendar"),
                                        ("X-Request-ID", "abcdef0123456789")])
    logger.access(response, None, environ, timedelta(milliseconds=12))
    text = stream.getvalue()
    assert TOKEN not in text and "x=y" not in text and "y=z" not in text
    line = json.loads(text)
    assert line["logger"] == "gunicorn.access"
    assert line["path"] == "/agenda/abonnement/[redacted].ics"
    assert line["message"] == '"GET /agenda/abonnement/[redacted].ics HTTP/1.1" 200'
    assert line["status"] == 200 and line["bytes"] == 512 and line["duration_ms"] == 12.0
    assert line["remote_addr"] == "203.0.113.7" and line["peer"] == "127.0.0.1"
    assert line["request_id"] == "abcdef0123456789"
    assert line["referer"] == "https://carnet.example/agenda/abonnement/[redacted].ics"


def test_vault_search_terms_never_reach_the_access_log():
    """Issue 13, item 12: a search is a GET, its words were in the access log."""
    stream = io.StringIO()
    logger = _gunicorn_logger(stream)
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": "/documents?q=s%C3%A9ropositivit%C3%A9+VIH",
        "PATH_INFO": "/documents", "QUERY_STRING": "q=s%C3%A9ropositivit%C3%A9+VIH",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": "https://carnet.example/documents?q=VIH",
    }
    response = SimpleNamespace(status="200 OK", sent=2048, headers=[])
    logger.access(response, None, environ, timedelta(milliseconds=9))
    text = stream.getvalue()
    assert "VIH" not in text and "ropositivit" not in text and "q=" not in text
    assert json.loads(text)["path"] == "/documents"


def test_the_gunicorn_error_log_is_json_too():
    config = Config()
    logger = logs.GunicornLogger(config)
    stream = io.StringIO()
    for handler in logger.error_log.handlers:
        if getattr(handler, "_gunicorn", False):
            handler.setStream(stream)
    logger.error("Error handling request %s", f"/agenda/abonnement/{TOKEN}.ics?q=asthme")
    line = json.loads(stream.getvalue())
    assert line["logger"] == "gunicorn.error" and line["level"] == "ERROR"
    assert line["message"] == "Error handling request /agenda/abonnement/[redacted].ics"


def _root_marked_handlers():
    return [handler for handler in logging.getLogger().handlers
            if getattr(handler, logs._HANDLER_MARK, False)]


def test_configure_installs_json_once_in_production_only():
    root = logging.getLogger()
    level = root.level
    before = list(root.handlers)
    # Another test may have built a production app already (its handler stays installed).
    root.handlers[:] = [handler for handler in before
                        if not getattr(handler, logs._HANDLER_MARK, False)]
    try:
        testing = Flask("t1")
        testing.config.update(TESTING=True, CARNET_ENV="test")
        logs.configure(testing)
        assert not _root_marked_handlers()
        development = Flask("t0")
        development.config.update(CARNET_ENV="development")
        logs.configure(development)  # readable lines while developing
        assert not _root_marked_handlers()

        production = Flask("t2")
        production.config.update(CARNET_ENV="production")
        logs.configure(production)
        logs.configure(production)
        marked = _root_marked_handlers()
        assert len(marked) == 1
        assert isinstance(marked[0].formatter, logs.JsonFormatter)
        assert root.level == logging.INFO
    finally:
        root.handlers[:] = before
        root.setLevel(level)
