"""HTML only: the package's stylesheet (tables that fit the page, diagrams that follow the
theme's dark mode) and the points where long names in tables may break."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.fileutil import copy_asset_file

from .table_nodes import extension_tables

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

STYLESHEET = "sphinxext-rabbit.css"
_STATIC = Path(__file__).parent / "static"
#: a line may break after these: in names (``.``, ``-``, ``_``, ``/``), between a
#: pattern's alternatives (``|``) and after the key of a ``key=value`` term
_BREAK_AFTER = re.compile(r"(?<=[./_|=-])")
#: a line-break opportunity that copies as nothing, so a copied name is the name
_BREAK = "<wbr>"


class breakable_text(nodes.inline):
    """Text of a table cell that HTML may break after `_BREAK_AFTER`'s characters. Its
    text stays one node, so the search index still holds each name whole."""


def copy_stylesheet(app: Sphinx) -> list[tuple[str, dict[str, object], str]]:
    """Put the stylesheet into _static, before an epub builder lists the files it packs."""
    copy_asset_file(str(_STATIC / STYLESHEET), str(Path(app.builder.outdir) / "_static"))
    return []  # html-collect-pages: no page of its own


def mark_breakable_text(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """In HTML, the text of the extension's tables (names, keys, patterns) may break after
    `_BREAK_AFTER`'s characters, so that a table fits the page instead of scrolling."""
    if app.builder.format != "html":
        return
    for table in extension_tables(doctree):
        for entry in table.findall(nodes.entry):
            for text in list(entry.findall(nodes.Text)):
                if len(_BREAK_AFTER.split(text.astext())) > 1:
                    text.parent.replace(text, breakable_text("", text.astext()))


def visit_breakable_text(self: HTML5Translator, node: breakable_text) -> None:
    # each piece is written (escaped, and in a literal kept from wrapping) as the
    # translator writes any text, so a break never falls inside an entity
    for index, piece in enumerate(p for p in _BREAK_AFTER.split(node.astext()) if p):
        if index:
            self.body.append(_BREAK)
        self.visit_Text(nodes.Text(piece))
    raise nodes.SkipNode


def depart_breakable_text(self: HTML5Translator, node: breakable_text) -> None:
    pass
