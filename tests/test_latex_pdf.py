"""The sample documentation as a PDF: every cell of the extension's tables shows whole,
and none runs into the next (the LaTeX writer's tabulary clipped "Durable" and policy
patterns before the tables got column widths of their own)."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import unicodedata

import pytest
from docutils import nodes

from sphinxext_rabbit.extension.table_nodes import docutils_table, rabbitmq_table
from tests.helpers import ROOT

TOOLS = ("latexmk", "pdflatex", "pdftotext")
needs_tex = pytest.mark.skipif(
    not os.environ.get("CI") and not all(shutil.which(tool) for tool in TOOLS),
    reason="needs TeX and poppler-utils (scripts/setup.sh installs them)")
#: LaTeX's space between two columns' text: \tabcolsep on either side
COLUMN_GAP_PT = 12.0


def extension_tables(doctrees) -> list[nodes.table]:
    """The extension's tables of the pickled doctrees, as the builders write them (a
    doctree holds each whole, as one node: see table_nodes.rabbitmq_table)."""
    tables = []
    for path in sorted(doctrees.glob("*.doctree")):
        with open(path, "rb") as file:
            document = pickle.load(file)  # noqa: S301 - the doctrees this test built
        tables += [docutils_table(table) for table in document.findall(rabbitmq_table)]
    return tables


def squeezed(text: str) -> str:
    """*text* without what wrapping adds or takes: spaces, line ends and hyphens."""
    return re.sub(r"[\s\-\u2010\u00ad]", "", unicodedata.normalize("NFKC", text))


def table_environments(tex: str) -> list[tuple[int, int, list[str]]]:
    """Each table environment of the .tex: its first and last line and header texts."""
    found = []
    for match in re.finditer(r"\\begin\{(tabular|longtable|tabulary)\}.*?\\end\{\1\}", tex,
                             flags=re.DOTALL):
        # a header cell ends where its varwidth box does (Sphinx 9), or at the next cell
        headers = re.findall(r"\\sphinxstyletheadfamily\s*\\sphinxAtStartPar\s*(.*?)\s*"
                             r"(?:\\sphinxbeforeendvarwidth|&|\\\\)", match[0],
                             flags=re.DOTALL)
        first = tex.count("\n", 0, match.start()) + 1
        found.append((first, first + match[0].count("\n"), headers))
    return found


@needs_tex
def test_every_table_cell_of_the_sample_pdf_is_whole(tmp_path):
    out, doctrees = tmp_path / "latex", tmp_path / "doctrees"
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "latex", "-d", str(doctrees),
                    str(ROOT / "sample_docs"), str(out)], check=True, timeout=300)
    (tex_file,) = out.glob("*.tex")
    made = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                           tex_file.name], cwd=out, capture_output=True, text=True,
                          timeout=300, check=False)
    assert made.returncode == 0, made.stdout[-3000:]
    text = subprocess.run(["pdftotext", "-raw", tex_file.with_suffix(".pdf").name, "-"],
                          cwd=out, capture_output=True, text=True, check=True).stdout
    shown = squeezed(text)

    tables = extension_tables(doctrees)
    assert len(tables) > 20
    cells = {entry.astext() for table in tables for entry in table.findall(nodes.entry)}
    assert {"Durable", "Consumers", "^orders\\.(?!dead$)"} <= cells
    missing = sorted(cell for cell in cells if squeezed(cell) not in shown)
    assert not missing, missing[:10]

    # no cell's text runs past the gap into the next one's
    ours = [(first, last) for first, last, headers in table_environments(
        tex_file.read_text(encoding="utf-8"))
        if headers in [[entry.astext() for entry in next(table.findall(nodes.thead))
                        .findall(nodes.entry)] for table in tables]]
    assert len(ours) >= len(tables) / 2
    log = tex_file.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    too_wide = [(float(points), int(line)) for points, line in re.findall(
        r"Overfull \\hbox \(([\d.]+)pt too wide\) in paragraph at lines (\d+)--", log)
        if any(first <= int(line) <= last for first, last in ours)]
    assert all(points < COLUMN_GAP_PT for points, _ in too_wide), too_wide
