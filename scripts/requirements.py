"""Print the project's Python requirements (runtime and test) from pyproject.toml.

The Makefile pipes this into pip so that pyproject.toml stays the single list of
dependencies without installing the project itself as a package.
"""

import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
    print(requirement)
