"""HTML only: the package's stylesheet (tables that fit the page, diagrams that follow the
theme's dark mode), the points where long names in tables may break, and the tables'
rows written one at a time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.fileutil import copy_asset_file

from ..output.tables import Span
from .table_nodes import (
    extension_tables,
    rabbitmq_table,
    rabbitmq_table_name,
    table_rows,
    table_skeleton,
)

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
        mark_breakable(table)


def mark_breakable(element: nodes.Element) -> None:
    """The text of *element*'s table cells as `breakable_text` where it may break."""
    for entry in element.findall(nodes.entry):
        for text in list(entry.findall(nodes.Text)):
            if len(_BREAK_AFTER.split(text.astext())) > 1:
                text.parent.replace(text, breakable_text("", text.astext()))


def html_visit_table(self: HTML5Translator, node: rabbitmq_table) -> None:
    """The table as the translator writes a docutils table (its own visit and depart
    methods), but one row at a time: each row is made, written and dropped, so a table of
    thousands of rows never is thousands of nodes. A name in a cell is a copy of its
    reference, resolved once for the table (`table_nodes.PrepareTables`)."""
    names = {(name["entity"], name["text"]): name.children
             for name in node.findall(rabbitmq_table_name)}

    def name_nodes(span: Span, text: str) -> list[nodes.Node]:
        return [child.deepcopy() for child in names[span.entity, text]]

    # a copy of the title: writing a page leaves its doctree as it was
    table, body = table_skeleton(node, node[0].deepcopy())
    mark_breakable(table)  # the header row
    title, group = table.children
    self.dispatch_visit(table)
    title.walkabout(self)
    self.dispatch_visit(group)
    for child in group.children[:-1]:  # the column specifications and the header row
        child.walkabout(self)
    self.dispatch_visit(body)
    for row in table_rows(node, name_nodes if node["link_names"] else None):
        body += row
        mark_breakable(row)
        start = len(self.body)
        row.walkabout(self)
        # one string a row: the page's body is not tens of thousands of small strings
        self.body[start:] = ["".join(self.body[start:])]
        body.remove(row)
    self.dispatch_departure(body)
    self.dispatch_departure(group)
    self.dispatch_departure(table)
    raise nodes.SkipNode


def html_depart_table(self: HTML5Translator, node: rabbitmq_table) -> None:
    pass  # (the visit skips the node)


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
