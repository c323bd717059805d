"""The text builder keeps every name of the extension's tables whole: Sphinx's text writer
wraps a paragraph at 70 characters, breaking at hyphens ("orders.payment- retry"), and a
table cell at its column's width."""

from __future__ import annotations

import subprocess
import sys

from docutils import nodes
from sphinx import addnodes

from tests.helpers import ROOT
from tests.test_latex_pdf import extension_tables


def test_every_name_in_the_sample_text_tables_is_whole(tmp_path):
    out, doctrees = tmp_path / "text", tmp_path / "doctrees"
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "text", "-d", str(doctrees),
                    str(ROOT / "sample_docs"), str(out)], check=True, timeout=300)
    text = "\n".join(page.read_text(encoding="utf-8") for page in sorted(out.glob("*.txt")))
    cells = [entry for table in extension_tables(doctrees) for entry in table.findall(nodes.entry)
             if any(True for _ in entry.findall(nodes.literal))]
    # as the text writer writes a cell: a literal between quotes
    # (a name linked to its description is a literal inside a reference, written the same)
    shown = {"".join(f'"{node.astext()}"' if isinstance(node, nodes.literal)
                     or isinstance(node, addnodes.pending_xref) else node.astext()
                     for node in entry.children[0].children) for entry in cells}
    assert any("orders.payment-retry" in cell and len(cell) > 70 for cell in shown)
    # each on one line of its own column, nothing cut or rejoined
    cut = sorted(cell for cell in shown if cell not in text)
    assert not cut, cut[:5]
