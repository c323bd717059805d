"""Every command's output for every source is what tests/golden/ holds, byte for byte (but
json's own words for a syntax error)."""

from __future__ import annotations

import re

import pytest

from tests import golden
from tests.helpers import REAL_DEFINITIONS

CASES = {case.id: case for case in golden.cases()}
#: cases with sources here, and golden folders whose sources are gone (stale unless skipped)
CASE_IDS = sorted(CASES.keys() | set(golden.stored_case_ids()))
#: json's own words for a syntax error change with Python (3.13 says "Illegal trailing
#: comma before end of object" where 3.12 says "Expecting property name enclosed in double
#: quotes"): they are compared as "...", the file, line and the rest of the line exactly
JSON_WORDS = re.compile(rb"(: not valid JSON: )[^\n]*?( \[rabbitmq\.parse\])$", re.MULTILINE)


def without_json_words(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name: JSON_WORDS.sub(rb"\1...\2", data) for name, data in files.items()}


def test_case_ids_are_unique():
    assert len(CASES) == len(golden.cases())


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_outputs_are_the_golden_files(case_id):
    case = CASES.get(case_id)
    if case is None:
        if case_id.startswith("corpus__") and not REAL_DEFINITIONS.is_dir():
            pytest.skip(golden.CORPUS_ABSENT)
        pytest.fail(f"tests/golden/{case_id} has no source any more; run "
                    f"`{golden.UPDATE_COMMAND}` to remove it")
    expected = without_json_words(golden.stored(case_id))
    actual = without_json_words(golden.golden(case))
    if expected != actual:
        pytest.fail(golden.difference(case_id, expected, actual), pytrace=False)


def test_no_golden_file_holds_a_secret_marker():
    # the fixtures' secrets all contain SECRET, which no name has (tests/fixtures/README.md)
    holding = [str(path.relative_to(golden.GOLDEN)) for path in golden.GOLDEN.rglob("*")
               if path.is_file() and b"SECRET" in path.read_bytes()]
    assert holding == []
