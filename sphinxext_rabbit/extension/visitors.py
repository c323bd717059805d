"""Builder side: draw diagram nodes through sphinx.ext.graphviz, or fall back to text."""

from __future__ import annotations

import html
import posixpath
import re
from hashlib import sha1
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util import logging

from ..output.graphviz import DotBinary, DotFailed, DotTimeout, draw, find_dot
from .directive import rabbitmq_warning

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


def _render(translator: nodes.NodeVisitor, node: rabbitmq_diagram,
            image_format: str) -> str | None:
    """The image's path relative to the page; None when the text fallback is wanted.

    dot is run here, not through sphinx.ext.graphviz's render_dot, which has no time limit
    and drops what dot says; its settings (graphviz_dot, graphviz_dot_args) are honoured."""
    binary = _binary(translator)
    if binary is None or node["code"] is None:  # no dot, or too large to draw
        return None
    builder = translator.builder  # type: ignore[attr-defined]
    config = builder.config
    code = page_links(node["code"], builder)
    arguments = list(config.graphviz_dot_args)
    # the same drawing has one image, whichever page shows it; the configured name keeps
    # absolute paths out of the name when dot is on PATH
    dot = config.graphviz_dot if binary.name == "dot" else binary.path
    digest = sha1("\0".join([code, dot, *arguments, image_format]).encode(),
                  usedforsecurity=False).hexdigest()
    name = f"{_PREFIX}-{digest}.{image_format}"
    absolute = builder.outdir / builder.imagedir / name
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


def html_visit_rabbitmq_diagram(self: HTML5Translator, node: rabbitmq_diagram) -> None:
    binary = _binary(self)
    image_format = self.builder.config.rabbitmq_topology_output_format
    if binary is not None and binary.is_pure:
        image_format = "svg"  # graphviz-pure draws no PNG image maps
    relative = _render(self, node, image_format)
    if relative is None:
        return  # the literal-block child is the fallback
    alt = html.escape(node["alt"])
    self.body.append('<div class="graphviz rabbitmq-topology">')
    if image_format == "svg":
        self.body.append(f'<object data="{html.escape(relative)}" type="image/svg+xml" '
                         f'class="graphviz"><p class="warning">{alt}</p></object>')
    else:
        self.body.append(f'<img src="{html.escape(relative)}" alt="{alt}" class="graphviz"/>')
    self.body.append("</div>\n")
    raise nodes.SkipNode


def latex_visit_rabbitmq_diagram(self: LaTeXTranslator, node: rabbitmq_diagram) -> None:
    binary = _binary(self)
    relative = _render(self, node, "png" if binary and binary.is_pure else "pdf")
    if relative is None:
        return
    self.body.append(f"\n\\sphinxincludegraphics[]{{{relative}}}\n")
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
