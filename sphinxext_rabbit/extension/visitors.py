"""Builder side: draw diagram nodes through sphinx.ext.graphviz, or fall back to text."""

from __future__ import annotations

import html
import posixpath
import re
from hashlib import sha1
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from docutils import nodes
from sphinx.util import logging

from ..output.dot import LINK_ATTRIBUTES, dot_string
from ..output.graphviz import DotBinary, DotFailed, DotTimeout, draw, find_dot
from .directive import rabbitmq_warning
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
    from sphinx.builders import Builder
    from sphinx.writers.html5 import HTML5Translator
    from sphinx.writers.latex import LaTeXTranslator
    from sphinx.writers.texinfo import TexinfoTranslator

    from .directive import rabbitmq_diagram

logger = logging.getLogger(__name__)

_PREFIX = "rabbitmq"
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


def _binary(translator: nodes.NodeVisitor) -> DotBinary | None:
    return getattr(translator.builder, "rabbitmq_dot", None)  # type: ignore[attr-defined]


def page_links(code: str, builder: Builder) -> str:
    """*code* with its links to anchors of the page being written (``URL="#..."``: a
    summary node's link to its row of the groups table) made relative to the image, which
    HTML builders write into a folder of the output's root. (In DOT text a quote from the
    input is always escaped, so ``URL="#`` is only ever an attribute.)"""
    docname = getattr(builder, "current_docname", None)
    if 'URL="#' not in code or builder.format != "html" or docname is None:
        return code
    up = "../" * len([part for part in builder.imagedir.split("/") if part])
    return code.replace('URL="#', f'URL="{up}{builder.get_target_uri(docname)}#')


def linked_code(translator: nodes.NodeVisitor, node: rabbitmq_diagram,
                from_image: bool) -> str:
    """The diagram's DOT with each node's link to its entity's description, else its table
    row (`dot.LINK_ATTRIBUTES` replaced; dropped for an entity with neither). The address is
    relative to the image when *from_image* (an SVG shown by <object> resolves its links
    so), else to the page (a PNG's image map). The image is cached by this text."""
    from .domain import Key, RabbitmqDomain

    code: str = node["code"]
    links = node.get("links") or {}
    if not links:
        return code
    builder = translator.builder  # type: ignore[attr-defined]
    domain: RabbitmqDomain = builder.env.domains["rabbitmq"]
    image_to_root = "../" * len(PurePosixPath(builder.imagedir).parts)

    def address(node_id: str) -> str | None:
        found = domain.target_of(Key(*links[node_id]), at_most=0)
        if found is None:
            return None
        docname, anchor = found
        if from_image:
            page = builder.get_target_uri(docname)
            if page.startswith("#"):  # singlehtml: every page is one file
                page = builder.config.root_doc + builder.out_suffix
            page = image_to_root + page
        else:
            page = builder.get_relative_uri(builder.current_docname, docname).split("#", 1)[0]
            if not page:  # this page, named: page_links takes "#..." for the image's own
                own = builder.get_target_uri(builder.current_docname).split("#", 1)[0]
                page = "./" if own.endswith("/") else (
                    posixpath.basename(own) or builder.config.root_doc + builder.out_suffix)
        return quote(page, safe="/:.~-_") + "#" + anchor

    def replace(match: re.Match[str]) -> str:
        url = address(match.group(1))
        if url is None:
            return ""
        return f'{match.group(1)} [URL={dot_string(url)}, target="_top"];'

    return _LINKED.sub(replace, code)


_LINKED = re.compile(r"^(v\d+_[a-z]+\d+) " + re.escape(LINK_ATTRIBUTES) + "$", re.MULTILINE)


def _render(translator: nodes.NodeVisitor, node: rabbitmq_diagram,
            image_format: str, code: str | None = None, *,
            folder: Path | None = None) -> str | None:
    """The image's path relative to the page; None when the text fallback is wanted.

    dot is run here, not through sphinx.ext.graphviz's render_dot, which has no time limit
    and drops what dot says; its settings (graphviz_dot, graphviz_dot_args) are honoured."""
    binary = _binary(translator)
    if binary is None or node["code"] is None:  # no dot, or too large to draw
        return None
    builder = translator.builder  # type: ignore[attr-defined]
    config = builder.config
    code = page_links(code or node["code"], builder)
    arguments = list(config.graphviz_dot_args)
    # the same drawing has one image, whichever page shows it; the configured name keeps
    # absolute paths out of the name when dot is on PATH
    dot = config.graphviz_dot if binary.name == "dot" else binary.path
    digest = sha1("\0".join([code, dot, *arguments, image_format]).encode(),
                  usedforsecurity=False).hexdigest()
    name = f"{_PREFIX}-{digest}.{image_format}"
    absolute = (folder or builder.outdir / builder.imagedir) / name
    if not absolute.is_file():
        absolute.parent.mkdir(parents=True, exist_ok=True)
        timeout = config.rabbitmq_topology_dot_timeout
        try:
            messages = draw(binary, code, image_format, str(absolute),
                            timeout=timeout, arguments=arguments)
        except DotTimeout:
            rabbitmq_warning(
                f"rabbitmq-topology: {binary.name} did not lay out this diagram in "
                f"{timeout:g} s (rabbitmq_topology_dot_timeout); shown as text. Narrow it "
                "with :vhost:, :include: or :exclude:, or raise "
                "rabbitmq_topology_dot_timeout", location=node, subtype="limit")
            return None
        except DotFailed as exc:
            rabbitmq_warning(f"rabbitmq-topology: drawing failed: {exc}", location=node,
                             subtype="dot")
            return None
        for message in messages:
            rabbitmq_warning(f"rabbitmq-topology: {message}", location=node,
                             subtype="dot-warning")
    return posixpath.join(builder.imgpath, name)


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
    binary = _binary(self)
    image_format = self.builder.config.rabbitmq_topology_output_format
    if binary is not None and binary.is_pure:
        image_format = "svg"  # graphviz-pure draws no PNG image maps
    code = linked_code(self, node, from_image=image_format == "svg")
    relative = _render(self, node, image_format, code)
    # the diagram's ID: references to what it draws lead here (IDs are made by make_id)
    ids = "".join(f' id="{html.escape(anchor)}"' for anchor in node["ids"][:1])
    if relative is None:
        self.body.append(f"<span{ids}></span>")
        return  # the literal-block child is the fallback
    alt = html.escape(node["alt"])
    size = _html_size(node, str(self.builder.outdir / self.builder.imagedir
                                / posixpath.basename(relative)), image_format)
    # in a figure, the figure is aligned (figure_wrapper moves :align: to it)
    align = f" align-{node['align']}" if "align" in node else ""
    self.body.append(f'<div{ids} class="graphviz rabbitmq-topology{align}">')
    if image_format == "svg":
        self.body.append(f'<object data="{html.escape(relative)}" type="image/svg+xml" '
                         f'class="graphviz"{size}><p class="warning">{alt}</p></object>')
    else:
        image_map = _image_map(self, node, code) if node.get("links") else None
        if image_map is None:
            self.body.append(f'<img src="{html.escape(relative)}" alt="{alt}" '
                             f'class="graphviz"{size}/>')
        else:
            name, areas = image_map
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


def _image_map(translator: HTML5Translator, node: rabbitmq_diagram,
               code: str) -> tuple[str, str] | None:
    """A PNG's image map (dot's cmapx, whose attributes dot escapes), named after its DOT
    so that two diagrams of a page keep theirs apart; None when dot could not write it."""
    builder = translator.builder
    # kept with the doctrees: an image map is part of the page, not a file of the output
    folder = Path(builder.doctreedir) / "rabbitmq-maps"
    relative = _render(translator, node, "cmapx", code, folder=folder)
    if relative is None:
        return None
    path = folder / posixpath.basename(relative)
    name = "rabbitmq-map-" + posixpath.basename(relative).split("-", 1)[1].split(".")[0]
    areas = _MAP_START.sub(f'<map id="{name}" name="{name}">',
                           _AREA_ID.sub(r"\1", path.read_text(encoding="utf-8")))
    return name, areas


def latex_visit_rabbitmq_diagram(self: LaTeXTranslator, node: rabbitmq_diagram) -> None:
    binary = _binary(self)
    relative = _render(self, node, "png" if binary and binary.is_pure else "pdf")
    if relative is None:
        return
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
    relative = _render(self, node, "png")
    if relative is None:
        return
    self.body.append(f"@image{{{relative[:-4]},,,[RabbitMQ topology],png}}\n")
    raise nodes.SkipNode


def visit_fallback(self: nodes.NodeVisitor, node: rabbitmq_diagram) -> None:
    """Builders that cannot show images print the text child."""


def depart_diagram(self: nodes.NodeVisitor, node: rabbitmq_diagram) -> None:
    pass
