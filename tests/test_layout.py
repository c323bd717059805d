"""The package's layout holds: no Sphinx below the Sphinx layer, no private name imported
from another module, and every stage only imports stages below it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sphinxext_rabbit"
#: stage -> the stages it may import (the CLI and setup() sit on top of all of them)
MAY_IMPORT = {
    "topology": {"topology", "output.wording"},
    "sources": {"sources", "topology"},
    "output": {"output", "topology", "sources.uris"},
    "extension": {"extension", "output", "sources", "topology"},
}


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of each import in the module at *path*."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names]))
    return found


def modules() -> list[Path]:
    paths = sorted(PACKAGE.rglob("*.py"))
    assert len(paths) > 30
    return paths


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else ""


def test_no_sphinx_or_docutils_below_the_sphinx_layer():
    for path in modules():
        if path.parent.name in ("sources", "topology", "output") or path.name == "cli.py":
            for module, _names in imports_of(path):
                assert module.split(".")[0] not in ("sphinx", "docutils"), (path, module)


def test_no_private_name_is_imported_from_another_module():
    for path in modules():
        for module, names in imports_of(path):
            if module.startswith("sphinxext_rabbit"):
                private = [name for name in names if name.startswith("_")
                           and not name.startswith("__")]
                assert not private, (path, module, private)


def within(module: str, allowed: set[str]) -> bool:
    rest = module.removeprefix("sphinxext_rabbit").lstrip(".")
    return any(rest == stage or rest.startswith(f"{stage}.") for stage in allowed)


def test_stages_import_only_what_lies_below_them():
    for path in modules():
        own = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        allowed = MAY_IMPORT.get(stage_of(own))
        if allowed is None:
            continue  # setup() and the CLI sit on top
        for module, names in imports_of(path):
            if module.split(".")[0] != "sphinxext_rabbit":
                continue
            # ``from ..sources import uris`` imports the module sources.uris
            assert within(module, allowed) or all(within(f"{module}.{name}", allowed)
                                                  for name in names), (path, module, names)


def test_the_layout_check_sees_a_wrong_import():
    assert not within("sphinxext_rabbit.extension.directive", MAY_IMPORT["topology"])
    assert within("sphinxext_rabbit.topology.model", MAY_IMPORT["output"])


def test_every_module_imports_on_its_own():
    """No import cycle: each module, imported first in a fresh interpreter, loads."""
    import subprocess
    import sys

    names = [".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
             .removesuffix(".__init__") for path in modules()
             if path.name != "__main__.py"]  # (running it is the CLI, tested elsewhere)
    script = ("import importlib, subprocess, sys\n"
              "failed = [n for n in sys.argv[1:] if subprocess.run("
              "[sys.executable, '-c', f'import {n}'], capture_output=True).returncode]\n"
              "print(' '.join(failed))")
    completed = subprocess.run([sys.executable, "-c", script, *names], capture_output=True,
                               text=True, timeout=300, check=True)
    assert completed.stdout.split() == []
