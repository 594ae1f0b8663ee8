"""The catalogue of referenced apps (domain/catalogue.py), read once when the app starts:
a faulty CATALOGUE_FILE stops the start with the CatalogueError naming the entry and the
field. Views and the OAuth server ask `current()` (`current().get(client_id)`)."""

from __future__ import annotations

from flask import Flask, current_app

from domain import catalogue
from domain.catalogue import Catalogue

EXTENSION = "carnet_catalogue"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = catalogue.load(app.config["CATALOGUE_FILE"])


def current() -> Catalogue:
    """The catalogue this app loaded at start-up."""
    return current_app.extensions[EXTENSION]
