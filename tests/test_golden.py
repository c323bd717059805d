"""Every command's output for every source is what tests/golden/ holds, byte for byte."""

from __future__ import annotations

import pytest

from tests import golden
from tests.helpers import REAL_DEFINITIONS

CASES = {case.id: case for case in golden.cases()}
#: cases with sources here, and golden folders whose sources are gone (stale unless skipped)
CASE_IDS = sorted(CASES.keys() | set(golden.stored_case_ids()))


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
    expected, actual = golden.stored(case_id), golden.golden(case)
    if expected != actual:
        pytest.fail(golden.difference(case_id, expected, actual), pytrace=False)


def test_no_golden_file_holds_a_secret_marker():
    # the fixtures' secrets all contain SECRET, which no name has (tests/fixtures/README.md)
    holding = [str(path.relative_to(golden.GOLDEN)) for path in golden.GOLDEN.rglob("*")
               if path.is_file() and b"SECRET" in path.read_bytes()]
    assert holding == []
