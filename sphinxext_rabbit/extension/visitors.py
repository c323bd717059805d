"""Builder side: write the markup of diagrams laid out by `layouts` (an image, its links
and map, sphinx.ext.graphviz's look), or fall back to text."""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util import logging

from ..output.graphviz import find_dot
from .directive import rabbitmq_warning
from .layouts import LAID_OUT, Layout, drawn
from .table_nodes import (
    LATEX_LITERAL_BREAKS,
    LATEX_PAGE_LINES,
    column_spec,
    extension_tables,
    latex_column_widths,
    latex_lines,
)

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator
    from sphinx.writers.latex import LaTeXTranslator
    from sphinx.writers.texinfo import TexinfoTranslator

    from .directive import rabbitmq_diagram

logger = logging.getLogger(__name__)

_DRAWING_FORMATS = frozenset({"html", "latex", "texinfo"})


#: "\\%" before a word keeps groff from hyphenating it
_MAN_NO_HYPHENATION = "\\%"


def keep_man_names_whole(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """In man pages, inline literals (the names, keys and values of the tables and route
    reports, and those a page's text quotes) are never hyphenated, so that they copy as
    they are."""
    if app.builder.format != "man":
        return
    for literal in doctree.findall(nodes.literal):
        for text in list(literal.findall(nodes.Text)):
            pieces: list[nodes.Node] = []
            for word in re.split(r"(\s+)", text.astext()):
                if word and not word.isspace():
                    pieces.append(nodes.raw("", _MAN_NO_HYPHENATION, format="manpage"))
                if word:
                    pieces.append(nodes.Text(word))
            text.parent.replace(text, pieces)


def keep_text_names_whole(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """In text output, a table cell holding names is one unwrapped line: its column is as
    wide as it (table_nodes), and the text writer would otherwise wrap its paragraph at
    70 characters first, breaking names at hyphens and joining the pieces with a space
    ("orders.payment- retry")."""
    if app.builder.format != "text":
        return
    for table in extension_tables(doctree):
        for paragraph in list(table.findall(nodes.paragraph)):
            if isinstance(paragraph.parent, nodes.entry) and any(
                    True for _ in paragraph.findall(nodes.literal)):
                line = nodes.line("", "", *paragraph.children)
                paragraph.replace_self(nodes.line_block("", line))


#: a line break LaTeX may take, put after a dash or underscore in a table's words
_LATEX_BREAK = "\\allowbreak{}"


def fit_latex_tables(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """In LaTeX, each table of the extension gets wrapping columns as wide as its cells
    need (what a ``tabularcolumns`` directive gives), so that no cell is clipped, and
    breaks across pages (longtable) when it is long; names break after ``-``, ``_``,
    ``=`` and ``|`` too (Sphinx breaks literals after ``.`` and ``/``)."""
    if app.builder.format != "latex":
        return
    style = app.config.latex_table_style
    separator = "" if "booktabs" in style or "borderless" in style else "|"
    for table in extension_tables(doctree):
        # measured before the breaks go in
        spec = column_spec(table, separator)
        table.parent.insert(table.parent.index(table), spec)
        if latex_lines(table, latex_column_widths(table)) > LATEX_PAGE_LINES:
            table["classes"].append("longtable")
        for entry in table.findall(nodes.entry):
            for text in list(entry.findall(nodes.Text)):
                pieces: list[nodes.Node] = []
                for piece in LATEX_LITERAL_BREAKS.split(text.astext()):
                    if pieces:
                        pieces.append(nodes.raw("", _LATEX_BREAK, format="latex"))
                    pieces.append(nodes.Text(piece))
                text.parent.replace(text, pieces)


def choose_dot(app: Sphinx) -> None:
    """Once per build: pick the dot binary and say which, or say what to install."""
    binary = None
    if app.builder.format in _DRAWING_FORMATS:
        binary = find_dot(app.config.graphviz_dot,
                          fallback=app.config.rabbitmq_topology_dot_fallback)
        if binary is None:
            rabbitmq_warning(
                f"rabbitmq-topology: Graphviz 'dot' (graphviz_dot = "
                f"{app.config.graphviz_dot!r}) was not found, so topology diagrams are shown "
                "as text. Install the 'graphviz' system package (apt-get install graphviz), "
                "or pip install 'sphinxext-rabbit[dot]' for a pure-Python fallback.",
                subtype="dot")
        elif binary.is_pure:
            logger.info("rabbitmq-topology: Graphviz dot not found; drawing with %s (%s)",
                        binary.name, binary.path)
            if app.config.rabbitmq_topology_output_format == "png":
                logger.info("rabbitmq-topology: %s writes no image maps, so diagrams are "
                            "drawn as SVG (whose nodes link) instead of PNG", binary.name)
        else:
            logger.info("rabbitmq-topology: drawing with Graphviz dot (%s)", binary.path)
    app.builder.rabbitmq_dot = binary  # type: ignore[attr-defined]


def _drawn(translator: nodes.NodeVisitor, node: rabbitmq_diagram) -> tuple[Layout, str] | None:
    """The diagram laid out, and its image's path relative to the page; None when the
    text fallback is wanted."""
    builder = translator.builder  # type: ignore[attr-defined]
    # laid out as the page was resolved (layouts.collect_layouts), else now
    layout = node.get(LAID_OUT) or drawn(builder, node, getattr(builder, "current_docname", ""))
    if layout is None:
        return None
    return layout, posixpath.join(builder.imgpath, layout.image.name)


def _scaled(length: str, scale: int) -> str:
    """A docutils length (``12cm``, ``80%``, ``300`` for pixels) times *scale* percent."""
    number, unit = re.fullmatch(r"([0-9.]+)\s*(.*)", length).groups()  # type: ignore[union-attr]
    return f"{float(number) * scale / 100:g}{unit or 'px'}"


def _natural_size(path: str, image_format: str) -> tuple[str, str] | None:
    """The width and height dot gave the image: an SVG's (in points), a PNG's (in pixels)."""
    try:
        with open(path, "rb") as file:
            head = file.read(4096)
    except OSError:
        return None
    if image_format == "png":
        if head[:8] != b"\x89PNG\r\n\x1a\n" or len(head) < 24:
            return None
        return f"{int.from_bytes(head[16:20], 'big')}px", f"{int.from_bytes(head[20:24], 'big')}px"
    found = re.search(rb'<svg width="([0-9.]+)(pt|px)" height="([0-9.]+)(pt|px)"', head)
    if found is None:
        return None
    width, width_unit, height, height_unit = (part.decode() for part in found.groups())
    return width + width_unit, height + height_unit


def _html_size(node: rabbitmq_diagram, path: str, image_format: str) -> str:
    """The image's ``style`` attribute for :width:, :height: and :scale:, as docutils sizes
    an image: a scale multiplies the given lengths, or dot's own size when none is given."""
    lengths = {name: node[name] for name in ("width", "height") if name in node}
    scale = node.get("scale")
    if scale is not None:
        if not lengths:
            natural = _natural_size(path, image_format)
            lengths = dict(zip(("width", "height"), natural, strict=True)) if natural else {}
        lengths = {name: _scaled(length, scale) for name, length in lengths.items()}
    # a unitless length is in pixels
    style = "; ".join(f"{name}: {length}{'px' if re.fullmatch(r'[0-9.]+', length) else ''}"
                      for name, length in lengths.items())
    return f' style="{html.escape(style)}"' if style else ""


def html_visit_rabbitmq_diagram(self: HTML5Translator, node: rabbitmq_diagram) -> None:
    found = _drawn(self, node)
    # the diagram's ID: references to what it draws lead here (IDs are made by make_id)
    ids = "".join(f' id="{html.escape(anchor)}"' for anchor in node["ids"][:1])
    if found is None:
        self.body.append(f"<span{ids}></span>")
        return  # the literal-block child is the fallback
    layout, relative = found
    alt = html.escape(node["alt"])
    size = _html_size(node, str(layout.image), layout.image_format)
    # in a figure, the figure is aligned (figure_wrapper moves :align: to it)
    align = f" align-{node['align']}" if "align" in node else ""
    self.body.append(f'<div{ids} class="graphviz rabbitmq-topology{align}">')
    if layout.image_format == "svg":
        self.body.append(f'<object data="{html.escape(relative)}" type="image/svg+xml" '
                         f'class="graphviz"{size}><p class="warning">{alt}</p></object>')
    elif layout.image_map is None:
        self.body.append(f'<img src="{html.escape(relative)}" alt="{alt}" '
                         f'class="graphviz"{size}/>')
    else:
        name, areas = _image_map(layout.image_map)
        self.body.append(f'<img src="{html.escape(relative)}" alt="{alt}" '
                         f'usemap="#{name}" class="graphviz"{size}/>{areas}')
    self.body.append("</div>\n")
    raise nodes.SkipNode


#: what goes around an image to align it, as Sphinx's LaTeX writer aligns a block image
_LATEX_ALIGN = {"left": ("{", "\\hspace*{\\fill}}"),
                "center": ("{\\hspace*{\\fill}", "\\hspace*{\\fill}}"),
                "right": ("{\\hspace*{\\fill}", "}")}


_MAP_START = re.compile(r'^<map id="[^"]*" name="[^"]*">')
#: dot numbers areas node1, node2... in every map: IDs a page must not hold twice
_AREA_ID = re.compile(r'(<area shape="[a-z]+") id="[^"]*"')


def _image_map(path: Path) -> tuple[str, str]:
    """A PNG's image map (dot's cmapx, whose attributes dot escapes), named after its DOT
    so that two diagrams of a page keep theirs apart."""
    name = "rabbitmq-map-" + path.name.split("-", 1)[1].split(".")[0]
    areas = _MAP_START.sub(f'<map id="{name}" name="{name}">',
                           _AREA_ID.sub(r"\1", path.read_text(encoding="utf-8")))
    return name, areas


def latex_visit_rabbitmq_diagram(self: LaTeXTranslator, node: rabbitmq_diagram) -> None:
    found = _drawn(self, node)
    if found is None:
        return
    relative = found[1]
    scale = node.get("scale", 100)
    options = [f"{name}={length}" for name in ("width", "height") if name in node
               if (length := self.latex_image_length(node[name], scale))]
    if "scale" in node and not options:
        # \sphinxincludegraphics still shrinks what is wider than the text
        options.append(f"scale={scale / 100:g}")
    before, after = _LATEX_ALIGN.get(node.get("align", ""), ("", ""))
    # the diagram's label: references to what it draws lead here
    self.body.append(f"\n{self.hypertarget_to(node)}{before}"
                     f"\\sphinxincludegraphics[{','.join(options)}]{{{relative}}}{after}\n")
    raise nodes.SkipNode


def texinfo_visit_rabbitmq_diagram(self: TexinfoTranslator, node: rabbitmq_diagram) -> None:
    found = _drawn(self, node)
    if found is None:
        return
    relative = found[1]
    self.body.append(f"@image{{{relative[:-4]},,,[RabbitMQ topology],png}}\n")
    raise nodes.SkipNode


def visit_fallback(self: nodes.NodeVisitor, node: rabbitmq_diagram) -> None:
    """Builders that cannot show images print the text child."""


def depart_diagram(self: nodes.NodeVisitor, node: rabbitmq_diagram) -> None:
    pass
