"""The extension's tables in a doctree: one node holding a `tables.Table`, whose rows HTML
writes one at a time and every other builder gets as a docutils table; a long table folded
away in HTML; LaTeX's column widths."""

from __future__ import annotations

import html
import math
import operator
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from docutils import nodes
from docutils.utils import normalize_language_tag, smartquotes
from sphinx import addnodes
from sphinx.builders.epub3 import Epub3Builder
from sphinx.transforms import SphinxSmartQuotes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import is_smartquotable

from ..output.tables import Cell, EntityRef, Span, Table
from ..topology.records import replace
from .i18n import translated

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder

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


class rabbitmq_table(nodes.General, nodes.Element):  # noqa: N801 - docutils node style
    """One of the extension's tables, held whole: thousands of rows are thousands of small
    records, where docutils nodes (entry > paragraph > literal...) took megabytes to hold
    and seconds to transform and pickle (issue 16).

    ``node["table"]`` is its `tables.Table` (headers in the document's language, a "none"
    row when it has none), ``node["row_ids"]`` each row's IDs, ``node["widths"]`` the text
    builder's column widths, ``node["link_names"]`` whether entity names link. Its first
    child is the title, a real node, so that i18n translates the caption. The HTML builders
    write the rows one at a time (`html_style.html_visit_table`); every other builder gets
    the docutils table (`docutils_table`, by `PrepareTables`)."""


class rabbitmq_table_name(nodes.Inline, nodes.Element):  # noqa: N801 - docutils node style
    """An entity name of a table written to HTML, resolved once for every cell showing it:
    its child is a reference to the entity's description (``pending_xref`` until resolved),
    or the name alone."""


def _reference(entity: EntityRef, literal: nodes.literal) -> addnodes.pending_xref:
    """A name that links to its entity's description when the build has one (resolved by
    the rabbitmq domain when pages are written; else it stays text)."""
    from .domain import DESCRIBED_ONLY, Key, target_text

    kind = entity[0]
    return addnodes.pending_xref("", literal, refdomain="rabbitmq", reftype=kind,
                                 reftarget=target_text(Key(*entity)), refexplicit=True,
                                 refwarn=False, **{DESCRIBED_ONLY: True})


def literal_text(span: Span) -> str:
    # a literal keeps names away from smartquotes; an empty one must still show
    return span.text or '""'


#: what a cell shows for a name that links: its nodes, given the span and its literal text
NameNodes = Callable[[Span, str], list[nodes.Node]]


def _linked(span: Span, text: str) -> list[nodes.Node]:
    assert span.entity is not None
    return [_reference(span.entity, nodes.literal(text, text))]


def _entry(cell: Cell, names: NameNodes | None = None) -> nodes.entry:
    paragraph = nodes.paragraph()
    for span in cell:
        if span.literal:
            text = literal_text(span)
            if names is not None and span.entity is not None:
                paragraph += names(span, text)
            else:
                paragraph += nodes.literal(text, text)
        else:
            paragraph += nodes.Text(span.text)
    entry = nodes.entry()
    entry += paragraph
    return entry


def table_node(table: Table, row_id: Callable[[EntityRef], str] | None = None, *,
               link_names: bool = False, caption: str | None = None, note: str | None = None,
               source: tuple[str | None, int | None] = (None, None)) -> rabbitmq_table:
    """A table with title, header row and one row per table row ("none" when empty).

    *row_id* gives the ID of a row about an entity (a target for references to it), and
    with *link_names* entity names are references (for a Sphinx build to resolve).

    The title is the table's, in the document's language, then *note* and *caption*. Only
    the caption is a message of the project's catalogs (with *source* as its place), so
    that its message id is the caption alone, in every language and build: the title's
    own words come from the extension's catalog, and a note such as a live broker's time
    is no message at all."""
    columns = len(table.headers)
    title = nodes.title("", translated(table.title), translatable=False)
    if note:
        title += nodes.Text(f" {note}")
    if caption:
        # last: Sphinx moves a translatable inline's text to the end of its parent
        caption_node = nodes.inline(caption, caption, translatable=True)
        caption_node.source, caption_node.line = source
        title += [nodes.Text(": "), caption_node]
    headers = [translated(header) for header in table.headers]
    row_ids: list[tuple[str, ...]] = []
    for index in range(len(table.rows)):
        ids = tuple(table.row_ids[index:index + 1])
        if row_id is not None and index < len(table.row_entities):
            entity = table.row_entities[index]
            if entity is not None:
                ids += (row_id(entity),)
        row_ids.append(ids)
    # no spanning cell for "none": the man page writer cannot draw one
    rows = table.rows or [[[Span(translated("none"))], *([] for _ in range(columns - 1))]]
    node = rabbitmq_table(table=Table(table.title, headers, rows), row_ids=row_ids,
                          widths=_column_widths(table, headers), link_names=link_names,
                          classes=[TABLE_CLASS])
    node += title
    return node


def table_skeleton(node: rabbitmq_table, title: nodes.Node) -> tuple[nodes.table, nodes.tbody]:
    """The docutils table of *node* under *title*, without its rows, and its (empty) body."""
    table: Table = node["table"]
    result = nodes.table()
    result.update_basic_atts(node)
    result.source, result.line = node.source, node.line
    result += title
    group = nodes.tgroup(cols=len(table.headers))
    result += group
    group.extend(nodes.colspec(colwidth=width) for width in node["widths"])
    group += nodes.thead("", nodes.row("", *(_entry([Span(header)])
                                            for header in table.headers)))
    body = nodes.tbody()
    group += body
    return result, body


def table_rows(node: rabbitmq_table, names: NameNodes | None) -> Iterator[nodes.row]:
    """The rows of *node* as docutils rows, one at a time; *names* makes the nodes of an
    entity's name (None: a literal)."""
    table: Table = node["table"]
    row_ids: list[tuple[str, ...]] = node["row_ids"]
    for index, cells in enumerate(table.rows):
        yield nodes.row("", *(_entry(cell, names) for cell in cells),
                        ids=list(row_ids[index] if index < len(row_ids) else ()))


def docutils_table(node: rabbitmq_table) -> nodes.table:
    """What *node* is as a docutils table, every name a reference when it links; a row's
    IDs are a target at the start of its first cell, which the LaTeX and Texinfo writers
    make a label of (of a row's IDs they write nothing), and the HTML ones an anchor."""
    # the title moves: a copy would lose what Sphinx's gettext builder reads (the
    # caption's ``uid``)
    result, body = table_skeleton(node, node.pop(0))
    for row in table_rows(node, _linked if node["link_names"] else None):
        first_cell = row.next_node(nodes.paragraph)  # every row has cells, each a paragraph
        if row["ids"] and first_cell is not None:
            first_cell.insert(0, nodes.target("", "", ids=row["ids"]))
            row["ids"] = []
        body += row
    return result


def named_entities(node: rabbitmq_table) -> list[rabbitmq_table_name]:
    """One reference of each entity name the table links (for HTML, which resolves each
    once): the entity and its literal text say which."""
    names: dict[tuple[EntityRef, str], rabbitmq_table_name] = {}
    if node["link_names"]:
        for row in node["table"].rows:
            for cell in row:
                for span in cell:
                    if span.literal and span.entity is not None:
                        text = literal_text(span)
                        if (span.entity, text) not in names:
                            names[span.entity, text] = rabbitmq_table_name(
                                "", *_linked(span, text), entity=span.entity, text=text)
    return list(names.values())


def table_words(node: rabbitmq_table) -> str:
    """Every word of the table's headers and cells, for the search index."""
    table: Table = node["table"]
    return " ".join([*table.headers, *(literal_text(span) if span.literal else span.text
                                       for row in table.rows for cell in row
                                       for span in cell)])


#: what SmartQuotes escapes in the text it is given (as SphinxSmartQuotes.get_tokens does,
#: Sphinx 7.2-9; tests/test_big_tables.py compares a table's quotes with a paragraph's)
_ESCAPED = re.compile(r"(?<=\x00)([-\\'\".`])")


class TableQuotes(SphinxSmartQuotes):
    """Smart quotes in the words of the extension's tables, as SphinxSmartQuotes puts them
    in every paragraph, each cell a paragraph of its own: a table's cells are no nodes
    while the page is read (`rabbitmq_table`)."""

    default_priority = SphinxSmartQuotes.default_priority + 1

    def apply(self, **kwargs: Any) -> None:
        if not self.is_available():
            return
        settings = self.document.settings
        alternative = isinstance(settings.smart_quotes, str) and settings.smart_quotes.startswith(
            "alt")
        for node in self.document.findall(rabbitmq_table):
            if not is_smartquotable(node):
                continue
            language = _quotes_language(node.get_language_code(settings.language_code),
                                        alternative)
            table: Table = node["table"]
            headers = [self.educated([Span(header)], language)[0].text
                       for header in table.headers]
            node["table"] = replace(table, headers=headers, rows=[
                _kept([self.educated(cell, language) for cell in row], row)
                for row in table.rows])

    def educated(self, cell: Cell, language: str) -> Cell:
        tokens = [("literal", literal_text(span)) if span.literal
                  else ("plain", _ESCAPED.sub(r"\\\1", span.text)) for span in cell]
        texts = smartquotes.educate_tokens(tokens, attr=self.config.smartquotes_action,
                                           language=language)
        return _kept([span if span.literal or text == span.text else replace(span, text=text)
                      for span, text in zip(cell, texts, strict=True)], cell)


def _kept(new: list, old: list) -> list:
    """*old* when *new* holds the same items, as most cells and rows do: a table of
    thousands of rows is not copied for the few quotes it has."""
    return old if all(map(operator.is_, new, old)) else new


def _quotes_language(language: str, alternative: bool) -> str:
    """The language whose quotes SmartQuotes uses for text in *language* ('': none), chosen
    as docutils' SmartQuotes.apply chooses it (docutils 0.18-0.22)."""
    if alternative:
        language = (language.replace("-x-altquot", "") if "-x-altquot" in language
                    else language + "-x-altquot")
    for tag in normalize_language_tag(language):
        if tag in smartquotes.smartchars.quotes:
            return tag
    return ""


def writes_rows(builder: Builder) -> bool:
    """Whether *builder* writes a `rabbitmq_table`'s rows one at a time: the HTML builders,
    but epub, whose write_doc changes the links of the doctree (fix_ids, visible links)."""
    return builder.format == "html" and not isinstance(builder, Epub3Builder)


def choose_table_form(app: Sphinx) -> None:
    """builder-inited: what `PrepareTables` makes of the tables for this build's builder
    (which a transform has no public way to in Sphinx 9): rows written one at a time, the
    docutils table, or, for the dummy builder, which writes nothing, the node as it is."""
    # state kept on the environment, as Sphinx extensions do
    app.env.rabbitmq_table_form = (  # type: ignore[attr-defined]
        "rows" if writes_rows(app.builder)
        else "kept" if app.builder.name == "dummy" else "docutils")


class PrepareTables(SphinxPostTransform):
    """Before references are resolved: for HTML, a table gets one reference of each name
    it links (resolved once, copied into each row as it is written) and its words (for the
    search index); any other builder gets the docutils table, which it writes as it is."""

    default_priority = 5  # before ReferencesResolver, which resolves the names

    def run(self, **kwargs: Any) -> None:
        form = getattr(self.env, "rabbitmq_table_form", "docutils")
        if form == "kept":
            return
        for node in list(self.document.findall(rabbitmq_table)):
            if form == "rows":
                node.extend(named_entities(node))
                node += nodes.Text(table_words(node))
            else:
                node.replace_self(docutils_table(node))


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
