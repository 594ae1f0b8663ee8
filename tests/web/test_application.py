"""web/application.py: Flask's ensure_sync, worked out once per function."""

from __future__ import annotations

import flask.app
import pytest


def test_ensure_sync_inspects_each_function_once_and_still_refuses_a_coroutine(
        app, client, monkeypatch):
    inspected = []
    original = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction",
                        lambda func: inspected.append(func) or original(func))

    def view():
        return "plain"

    assert app.ensure_sync(view) is view and app.ensure_sync(view) is view
    assert inspected.count(view) == 1

    async def coroutine():
        return "awaited"

    for _ in range(2):  # Flask's answer (no async support installed), every time
        with pytest.raises(RuntimeError, match="async"):
            app.ensure_sync(coroutine)
    assert inspected.count(coroutine) == 2
    # A page asks about its view, hooks and context processors: the first request only.
    client.get("/aide")
    inspected.clear()
    assert client.get("/aide").status_code == 200
    assert inspected == []
