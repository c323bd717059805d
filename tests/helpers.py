"""Shared by the tests: run the real dot, read SVG text, run the command line."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# the read-only corpus of real files sits beside the checkout, in CI as here
REAL_DEFINITIONS = ROOT.parent / "shared" / "definitions" / "real"
#: every definitions export the tests have: fixtures, the sample's, and the real corpus
DEFINITION_FILES = sorted(
    [*FIXTURES.glob("*.json"), *FIXTURES.glob("*.yaml"),
     *(ROOT / "sample_docs" / "broker").glob("*.*")]
) + (sorted(REAL_DEFINITIONS.glob("*.json")) if REAL_DEFINITIONS.is_dir() else [])


def run_dot(dot: str, image_format: str = "svg") -> bytes:
    """Render with the real Graphviz dot; fail the test when dot rejects the DOT."""
    completed = subprocess.run(
        ["dot", f"-T{image_format}"], input=dot.encode(), capture_output=True, check=False
    )
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    return completed.stdout


def svg_text(svg: bytes) -> str:
    """All the text a reader sees in an SVG (entities decoded), one piece a line."""
    root = ET.fromstring(svg)
    return "\n".join(t for t in root.itertext() if t.strip())


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "sphinxext_rabbit", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def page_text(html: str) -> str:
    """What a reader sees of an HTML page: tags dropped, entities decoded."""
    import html as html_module
    import re

    body = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.DOTALL)
    return html_module.unescape(re.sub(r"<[^>]+>", "", body))
