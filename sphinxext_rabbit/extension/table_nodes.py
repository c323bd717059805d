"""Turn a `tables.Table` into a docutils table node; a long table folded away in HTML."""

from __future__ import annotations

import html

from docutils import nodes

from ..output.tables import Cell, Span, Table

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


def _paragraph(cell: Cell) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    for span in cell:
        if span.literal:
            # a literal keeps names away from smartquotes; an empty one must still show
            text = span.text or '""'
            paragraph += nodes.literal(text, text)
        else:
            paragraph += nodes.Text(span.text)
    return paragraph


def _entry(cell: Cell) -> nodes.entry:
    entry = nodes.entry()
    entry += _paragraph(cell)
    return entry


def table_node(table: Table) -> nodes.table:
    """A table with title, header row and one row per table row ("none" when empty)."""
    columns = len(table.headers)
    node = nodes.table(classes=["rabbitmq-table"])
    node += nodes.title(table.title, table.title)
    group = nodes.tgroup(cols=columns)
    node += group
    group.extend(nodes.colspec(colwidth=width) for width in _column_widths(table))
    group += nodes.thead("", nodes.row("", *(_entry([Span(header)]) for header in table.headers)))
    body = nodes.tbody()
    for index, row in enumerate(table.rows):
        body += nodes.row("", *(_entry(cell) for cell in row),
                          ids=table.row_ids[index:index + 1])
    if not table.rows:
        # no spanning cell: the man page writer cannot draw one
        body += nodes.row("", _entry([Span("none")]), *(_entry([]) for _ in range(columns - 1)))
    group += body
    return node
