"""Broken copies of real and fixture files: each loads or reports, never crashes or hangs."""

from __future__ import annotations

import json
import random
import time

import pytest

from sphinxext_rabbit.output.dot import to_dot
from sphinxext_rabbit.output.tables import (
    bindings_table,
    exchanges_table,
    policies_table,
    queues_table,
)
from sphinxext_rabbit.output.text import to_text
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.select import Selection, views
from tests.helpers import FIXTURES, REAL_DEFINITIONS, ROOT

SOURCES = sorted(
    [*FIXTURES.glob("*.json"), *FIXTURES.glob("*.yaml"),
     *(ROOT / "sample_docs" / "broker").glob("*.*"),
     *(REAL_DEFINITIONS.glob("*.json") if REAL_DEFINITIONS.is_dir() else [])]
)
WRONG_VALUES = [None, 0, -1, 1.5, True, "", "x", [], {}, [None], {"": None}, "\x00<&>\"'{}"]


def everything(text: str, is_yaml: bool) -> None:
    """The whole pipeline and every renderer, as the directive and the CLI run them.

    A mutant must not hang either: each one is done within a few seconds.
    """
    started = time.perf_counter()
    topology = parse(text, is_yaml=is_yaml)
    for problem in topology.problems:
        assert problem.message
        # located: at a line or a path, unless it is about the whole file (then its name)
        whole_file = problem.code in ("vhost", "parse", "io", "limit")
        assert problem.line is not None or problem.where or whole_file, problem
    built, _problems = views(topology, Selection(default_exchange=True))
    to_dot(built, legend=True, show_default_exchange=True)
    to_text(built)
    for table in (bindings_table, queues_table, exchanges_table, policies_table):
        table(built)
    assert time.perf_counter() - started < 5


def mutants(document, rng: random.Random, count: int):
    """Copies with one value swapped for a wrong type, or one key removed."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((*path, key))
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node[:5]):
                paths.append((*path, index))
                walk(value, (*path, index))

    walk(document, ())
    for path in rng.sample(paths, min(count, len(paths))):
        for replace in (True, False):
            copy = json.loads(json.dumps(document))
            parent = copy
            for step in path[:-1]:
                parent = parent[step]
            if replace:
                parent[path[-1]] = rng.choice(WRONG_VALUES)
            elif isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
            yield copy


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_truncated_files_never_crash(path):
    text = path.read_text(encoding="utf-8")
    is_yaml = path.suffix in (".yaml", ".yml")
    step = max(1, len(text) // 40)
    for end in range(0, len(text), step):
        everything(text[:end], is_yaml)


@pytest.mark.parametrize("path", [p for p in SOURCES if p.suffix == ".json"],
                         ids=[p.name for p in SOURCES if p.suffix == ".json"])
def test_wrong_types_and_missing_keys_never_crash(path):
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        pytest.skip("malformed on purpose; the truncation test covers it")
    rng = random.Random(path.name)  # the same mutants on every run
    for mutant in mutants(document, rng, 60):
        everything(json.dumps(mutant), False)
