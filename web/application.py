"""The application class: Flask's, with its template environment (web/templating.py) and
the answer of ensure_sync kept per function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from web import templating


class Application(Flask):
    jinja_environment = templating.Environment

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask asks this of every view, hook and template context processor on every
        request (23 times for a signed-in help page, 13 for a bare route), and each time
        inspects the function's code to see whether it is a coroutine. The answer never
        changes for a function: it is worked out once. The functions asked about are the
        app's own (registered at start-up), so the table does not grow with requests."""
        try:
            return self._synchronous[func]
        except KeyError:
            made = self._synchronous[func] = super().ensure_sync(func)
            return made
