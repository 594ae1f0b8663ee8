"""The source code's version (domain/source.py): read from pyproject.toml once per process."""

from __future__ import annotations

from pathlib import Path

from domain import source

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_the_one_the_project_declares():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert source.version(ROOT) == declared != ""


def test_the_version_is_read_once_the_one_of_the_code_running(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "1.2.3"\n')
    assert source.version(tmp_path) == "1.2.3"
    # A release unpacked over the folder is not this process's code until it restarts.
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "9.9.9"\n')
    assert source.version(tmp_path) == "1.2.3"


def test_an_unreadable_file_gives_no_version(tmp_path):
    assert source.version(tmp_path / "missing") == ""
    (tmp_path / "pyproject.toml").write_text("not = [toml")
    assert source.version(tmp_path) == ""
