"""Turn a `tables.Table` into a docutils table node; a long table folded away in HTML; give
LaTeX its column widths."""

from __future__ import annotations

import html
import math
import re
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx import addnodes

from ..output.tables import Cell, EntityRef, Span, Table
from .i18n import translated

if TYPE_CHECKING:
    from collections.abc import Callable

#: the class of every table the extension writes (what its builder-specific handlers fix up)
TABLE_CLASS = "rabbitmq-table"


def extension_tables(doctree: nodes.Node) -> list[nodes.table]:
    """The tables of *doctree* that the extension wrote (a list: callers change the tree)."""
    return [table for table in doctree.findall(nodes.table) if TABLE_CLASS in table["classes"]]


#: the text builder wraps a column at its colwidth, counted in characters (HTML ignores the
#: widths, LaTeX gets its own, texinfo takes them as proportions); a wider cell of plain
#: words wraps at this width
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


def _column_widths(table: Table, headers: list[str]) -> list[int]:
    """Each column's widest cell, header included; at most MAX_TEXT_COLUMN for a column of
    plain words. A column that holds names is never narrower than its cells: the text
    builder's wrapping breaks words at hyphens and anywhere past the width, which would
    cut names."""
    widths = [len(header) for header in headers]
    names = [False] * len(headers)
    for row in table.rows:
        for column, cell in enumerate(row):
            widths[column] = max(widths[column], _text_width(cell))
            names[column] = names[column] or any(span.literal for span in cell)
    return [width if holds_names else min(width, MAX_TEXT_COLUMN)
            for width, holds_names in zip(widths, names, strict=True)]


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
               link_names: bool = False, caption: str | None = None, note: str | None = None,
               source: tuple[str | None, int | None] = (None, None)) -> nodes.table:
    """A table with title, header row and one row per table row ("none" when empty).

    *row_id* gives the ID of a row about an entity (a target for references to it), and
    with *link_names* entity names are references (for a Sphinx build to resolve).

    The title is the table's, in the document's language, then *note* and *caption*. Only
    the caption is a message of the project's catalogs (with *source* as its place), so
    that its message id is the caption alone, in every language and build: the title's
    own words come from the extension's catalog, and a note such as a live broker's time
    is no message at all."""
    columns = len(table.headers)
    node = nodes.table(classes=[TABLE_CLASS])
    title = nodes.title("", translated(table.title), translatable=False)
    if note:
        title += nodes.Text(f" {note}")
    if caption:
        # last: Sphinx moves a translatable inline's text to the end of its parent
        caption_node = nodes.inline(caption, caption, translatable=True)
        caption_node.source, caption_node.line = source
        title += [nodes.Text(": "), caption_node]
    node += title
    group = nodes.tgroup(cols=columns)
    node += group
    headers = [translated(header) for header in table.headers]
    group.extend(nodes.colspec(colwidth=width) for width in _column_widths(table, headers))
    group += nodes.thead("", nodes.row("", *(_entry([Span(header)]) for header in headers)))
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
        body += nodes.row("", _entry([Span(translated("none"))]),
                          *(_entry([]) for _ in range(columns - 1)))
    group += body
    return node


#: characters of 10 pt text a LaTeX table's line holds (Sphinx's default \linewidth,
#: about 470 pt, at about 5.3 pt a character), and those a column's padding takes
LATEX_LINE = 88
LATEX_COLUMN_PADDING = 2.5
#: past this many lines (rows, each as high as its most wrapped cell) a table is a
#: longtable, which breaks across pages where tabulary runs off the page's end
LATEX_PAGE_LINES = 30
#: where a table's words may break in LaTeX: after what Sphinx's inlineliteralwraps
#: breaks a literal after, and after the characters visitors.fit_latex_tables adds
#: breaks after
_LITERAL_BREAKS = re.compile(r"(?<=[.,;?!/|=_-])")
#: the ones visitors.fit_latex_tables adds
LATEX_LITERAL_BREAKS = re.compile(r"(?<=[|=_-])(?=.)")
#: the longest piece of a plain word that TeX's hyphenation leaves, counted generously
LATEX_HYPHENATED_WORD = 6


def _unbreakable(entry: nodes.Element) -> int:
    """The longest piece of an entry that LaTeX cannot break: the part of a word between
    the characters a line may break after (with the punctuation after it); TeX hyphenates
    a plain word, but never a paragraph's first."""
    words = entry.astext().split()
    return max((len(piece) if index == 0 or not piece.isalpha()
                else min(len(piece), LATEX_HYPHENATED_WORD)
                for index, word in enumerate(words) for piece in _LITERAL_BREAKS.split(word)),
               default=0)


def latex_column_widths(table: nodes.table) -> list[int]:
    """Each column's width in characters for LaTeX: at least its longest unbreakable piece
    (so that no cell runs into the next or off the page), and what is left of the line
    shared out by how much more the column's cells want, up to its widest cell."""
    group = next(table.findall(nodes.tgroup))
    rows = [list(row.findall(nodes.entry)) for row in group.findall(nodes.row)]
    columns = len(rows[0]) if rows else 0
    # one character to spare: bold headers and some letters are wider than the average
    least = [1 + max((_unbreakable(row[column]) for row in rows if column < len(row)),
                     default=0) for column in range(columns)]
    wanted = [max(least[column], *(len(row[column].astext()) for row in rows
                                   if column < len(row)), 1)
              for column in range(columns)]
    room = LATEX_LINE - LATEX_COLUMN_PADDING * columns
    spare = room - sum(least)
    more = sum(wanted) - sum(least)
    if sum(wanted) > room and spare > 0 and more > 0:
        wanted = [least[column] + math.floor(spare * (wanted[column] - least[column]) / more)
                  for column in range(columns)]
    elif sum(wanted) > room:
        wanted = least
    # \X{width}{total} is a share of the line, the column's padding included
    return [width + math.ceil(LATEX_COLUMN_PADDING) for width in wanted]


def latex_lines(table: nodes.table, widths: list[int]) -> int:
    """About how many lines the table takes with these column widths."""
    group = next(table.findall(nodes.tgroup))
    padding = math.ceil(LATEX_COLUMN_PADDING)
    return sum(max((math.ceil(len(entry.astext()) / max(1, width - padding))
                    for entry, width in zip(row.findall(nodes.entry), widths, strict=False)),
                   default=1)
               for row in group.findall(nodes.row))


def column_spec(table: nodes.table, separator: str) -> addnodes.tabular_col_spec:
    """What a ``tabularcolumns`` directive would say for *table*: wrapping columns
    (``\\X{width}{total}``) of `latex_column_widths`, with *separator* between them."""
    widths = latex_column_widths(table)
    total = sum(widths)
    columns = separator.join(f"\\X{{{width}}}{{{total}}}" for width in widths)
    return addnodes.tabular_col_spec(spec=f"{separator}{columns}{separator}")
