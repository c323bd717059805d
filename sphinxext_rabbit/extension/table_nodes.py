"""Turn a `tables.Table` into a docutils table node; a long table folded away in HTML."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx import addnodes

from ..output.tables import Cell, EntityRef, Span, Table

if TYPE_CHECKING:
    from collections.abc import Callable

#: the text builder wraps a column at its colwidth, counted in characters (HTML ignores the
#: widths, LaTeX and texinfo take them as proportions); a wider cell wraps at this width
MAX_TEXT_COLUMN = 40


class rabbitmq_details(nodes.container):  # noqa: N801 - docutils node style
    """What HTML shows folded (a ``<details>`` element whose ``<summary>`` is the node's
    ``summary``) and every other builder shows as it is (a container, as they know it)."""


def details_node(summary: str, *children: nodes.Node) -> rabbitmq_details:
    node = rabbitmq_details(summary=summary)
    node.extend(children)
    return node


def html_visit_details(self: nodes.NodeVisitor, node: rabbitmq_details) -> None:
    self.body.append(  # type: ignore[attr-defined]  # the HTML translator's
        f'<details class="rabbitmq-details"><summary>{html.escape(node["summary"])}'
        "</summary>\n")


def html_depart_details(self: nodes.NodeVisitor, node: rabbitmq_details) -> None:
    self.body.append("</details>\n")  # type: ignore[attr-defined]


def _text_width(cell: Cell) -> int:
    # the text builder writes a literal between quotes
    return sum(len(span.text or '""') + 2 if span.literal else len(span.text) for span in cell)


def _column_widths(table: Table) -> list[int]:
    """Each column's widest cell, header included, at most MAX_TEXT_COLUMN."""
    widths = [len(header) for header in table.headers]
    for row in table.rows:
        for column, cell in enumerate(row):
            widths[column] = max(widths[column], _text_width(cell))
    return [min(width, MAX_TEXT_COLUMN) for width in widths]


def _reference(entity: EntityRef, literal: nodes.literal) -> addnodes.pending_xref:
    """A name that links to its entity's description when the build has one (resolved by
    the rabbitmq domain when pages are written; else it stays text)."""
    from .domain import DESCRIBED_ONLY, Key, target_text

    kind = entity[0]
    return addnodes.pending_xref("", literal, refdomain="rabbitmq", reftype=kind,
                                 reftarget=target_text(Key(*entity)), refexplicit=True,
                                 refwarn=False, **{DESCRIBED_ONLY: True})


def _paragraph(cell: Cell, link_names: bool) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    for span in cell:
        if span.literal:
            # a literal keeps names away from smartquotes; an empty one must still show
            text = span.text or '""'
            literal = nodes.literal(text, text)
            if link_names and span.entity is not None:
                paragraph += _reference(span.entity, literal)
            else:
                paragraph += literal
        else:
            paragraph += nodes.Text(span.text)
    return paragraph


def _entry(cell: Cell, link_names: bool = False) -> nodes.entry:
    entry = nodes.entry()
    entry += _paragraph(cell, link_names)
    return entry


def table_node(table: Table, row_id: Callable[[EntityRef], str] | None = None, *,
               link_names: bool = False) -> nodes.table:
    """A table with title, header row and one row per table row ("none" when empty);
    *row_id* gives the ID of a row about an entity (a target for references to it), and
    with *link_names* entity names are references (for a Sphinx build to resolve)."""
    columns = len(table.headers)
    node = nodes.table(classes=["rabbitmq-table"])
    node += nodes.title(table.title, table.title)
    group = nodes.tgroup(cols=columns)
    node += group
    group.extend(nodes.colspec(colwidth=width) for width in _column_widths(table))
    group += nodes.thead("", nodes.row("", *(_entry([Span(header)]) for header in table.headers)))
    body = nodes.tbody()
    for index, row in enumerate(table.rows):
        row_node = nodes.row("", *(_entry(cell, link_names) for cell in row),
                             ids=table.row_ids[index:index + 1])
        if row_id is not None and index < len(table.row_entities):
            entity = table.row_entities[index]
            if entity is not None:
                row_node["ids"].append(row_id(entity))
        body += row_node
    if not table.rows:
        # no spanning cell: the man page writer cannot draw one
        body += nodes.row("", _entry([Span("none")]), *(_entry([]) for _ in range(columns - 1)))
    group += body
    return node
