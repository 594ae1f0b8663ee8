"""The layers' rules, read from the source with `ast` (README "How it is built"):
every blueprint stands alone (it imports web/ and domain/, never another blueprint), web/
imports no blueprint, domain/ knows nothing of Flask, and no view writes an audit row."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module this file imports, absolute, with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(ROOT).parent.parts[: len(
                    path.relative_to(ROOT).parent.parts) - node.level + 1]
                base = ".".join(package + ((node.module,) if node.module else ()))
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _area(path: Path) -> str:
    return path.relative_to(ROOT / "blueprints").parts[0]


def cross_area_imports() -> list[str]:
    problems = []
    for path in _modules("blueprints"):
        if path.parent == ROOT / "blueprints":
            continue  # blueprints/__init__.py registers every area
        own = _area(path)
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] == "blueprints" and len(parts) > 1 and parts[1] != own:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return problems


def web_imports_of_blueprints() -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {name}"
            for path in _modules("web") for line, name in _imports(path)
            if name.split(".")[0] == "blueprints"]


def domain_imports_of_the_web() -> list[str]:
    banned = ("flask", "flask_babel", "flask_login", "flask_wtf", "werkzeug", "web",
              "blueprints", "extensions", "jinja2")
    return [f"{path.relative_to(ROOT)}:{line} imports {name}"
            for path in _modules("domain") for line, name in _imports(path)
            if name.split(".")[0] in banned]


def audit_writes(folder: str) -> list[str]:
    """Calls of audit.record / audit.record_many (or the names imported from it)."""
    problems = []
    for path in _modules(folder):
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = {alias.asname or alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module == "domain.audit"
                    for alias in node.names if alias.name in ("record", "record_many")}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func
            if (isinstance(called, ast.Attribute) and called.attr in ("record", "record_many")
                    and isinstance(called.value, ast.Name) and called.value.id == "audit") or (
                    isinstance(called, ast.Name) and called.id in imported):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return problems


@pytest.mark.parametrize("check", [cross_area_imports, web_imports_of_blueprints,
                                   domain_imports_of_the_web])
def test_the_layers_hold(check):
    assert check() == []


def test_no_view_writes_an_audit_row():
    assert audit_writes("blueprints") == []


def test_the_checks_see_what_they_forbid(tmp_path, monkeypatch):
    """The checks find a planted breach (so an empty answer means something)."""
    fake = tmp_path / "blueprints" / "pro"
    fake.mkdir(parents=True)
    (tmp_path / "blueprints" / "__init__.py").write_text("")
    (fake / "views.py").write_text(
        "from blueprints.documents.views import x\nfrom ..auth import forms\n"
        "from domain import audit\naudit.record(None, None, 'a')\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "glue.py").write_text("import blueprints.pro\n")
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "rule.py").write_text("from flask import request\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert len(cross_area_imports()) == 4  # module and name, for both imports
    assert web_imports_of_blueprints() == ["web/glue.py:1 imports blueprints.pro"]
    assert domain_imports_of_the_web() == ["domain/rule.py:1 imports flask",
                                           "domain/rule.py:1 imports flask.request"]
    assert audit_writes("blueprints") == ["blueprints/pro/views.py:4"]


def undocumented_domain_services() -> list[str]:
    """Public functions and classes of domain/ (models aside) without a docstring."""
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
            for path in _modules("domain") if "models" not in path.relative_to(ROOT).parts
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef | ast.ClassDef)
            and not node.name.startswith("_") and not ast.get_docstring(node)]


def test_every_domain_service_says_what_it_does():
    assert undocumented_domain_services() == []
