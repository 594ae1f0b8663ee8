"""`flask --app app catalogue check [FILE]` and `catalogue add ENTRY_FILE`: the operator
checks the catalogue of referenced apps and adds an entry to it (domain/catalogue.py). The
site reads CATALOGUE_FILE at start-up: restart it after a change."""

from __future__ import annotations

import click
from flask import Flask, current_app

from domain import catalogue, catalogue_file
from domain.catalogue import CATEGORIES, CatalogueError


def register_catalogue(app: Flask) -> None:
    @app.cli.group("catalogue")
    def catalogue_group():
        """The catalogue of referenced health apps (CATALOGUE_FILE)."""

    @catalogue_group.command("check")
    @click.argument("path", metavar="[FILE]", required=False)
    def catalogue_check(path: str | None):
        """Check FILE (default: CATALOGUE_FILE) and print how many services each category
        has; exit code 1 and the problem, with its entry and field, otherwise."""
        target = path or current_app.config["CATALOGUE_FILE"]
        try:
            loaded = catalogue.load(target)
        except CatalogueError as problem:
            raise click.ClickException(str(problem)) from problem
        fictional = sum(entry.demo for entry in loaded.apps)
        click.echo(f"{target}: OK, {len(loaded)} service(s), {fictional} of them fictional "
                   "(demo).")
        for code in CATEGORIES:
            click.echo(f"  {code}: {len(loaded.in_category(code))}")

    @catalogue_group.command("add")
    @click.argument("entry_file")
    def catalogue_add(entry_file: str):
        """Add the one [[apps]] entry of ENTRY_FILE to CATALOGUE_FILE: checked alone, a new
        slug, and the whole file checked again before it is replaced (at once, never half
        written). Restart the site to show it."""
        target = current_app.config["CATALOGUE_FILE"]
        try:
            entry = catalogue_file.add_entry(target, entry_file)
        except CatalogueError as problem:
            raise click.ClickException(str(problem)) from problem
        click.echo(f'"{entry.slug}" ({entry.name}) added to {target}; restart the site to '
                   "show it.")
