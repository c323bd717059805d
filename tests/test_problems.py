"""The problem catalogue behind the reference page covers every code the code reports."""

from __future__ import annotations

import re
from typing import get_args

from sphinxext_rabbit.output.tables import catalog_table
from sphinxext_rabbit.topology.model import ProblemCode
from sphinxext_rabbit.topology.problems import CATALOG
from tests.helpers import ROOT

# a code is the second argument of problem()/Problem(), or a logger subtype
REPORTED = re.compile(r'(?:\b(?:ERROR|WARNING),\s*|subtype=)"([a-z-]+)"')


def test_every_reported_code_is_documented_and_nothing_else():
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (ROOT / "sphinxext_rabbit").rglob("*.py")
                       if p.name != "problems.py")
    reported = set(REPORTED.findall(source))
    assert len(reported) >= 14
    assert reported == set(CATALOG)


def test_the_type_of_codes_names_the_catalogued_ones():
    """mypy checks each reported code against ProblemCode; the catalogue must match it."""
    assert list(get_args(ProblemCode)) == list(CATALOG)


def test_the_reference_page_lists_them():
    table = catalog_table()
    codes = [row[0][0].text for row in table.rows]
    assert codes == sorted(f"rabbitmq.{code}" for code in CATALOG)
    built = (ROOT / "sample_docs" / "problems.rst").read_text(encoding="utf-8")
    assert ".. rabbitmq-problem-codes::" in built
