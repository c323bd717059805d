"""Builder side: draw diagram nodes through sphinx.ext.graphviz, or fall back to text."""

from __future__ import annotations

import html
import posixpath
import subprocess
from hashlib import sha1
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.ext.graphviz import GraphvizError, render_dot
from sphinx.util import logging

from .dotbin import DotBinary, find_dot

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator
    from sphinx.writers.latex import LaTeXTranslator
    from sphinx.writers.texinfo import TexinfoTranslator

    from .directive import rabbitmq_diagram

logger = logging.getLogger(__name__)

_PREFIX = "rabbitmq"
_DRAWING_FORMATS = frozenset({"html", "latex", "texinfo"})


def choose_dot(app: Sphinx) -> None:
    """Once per build: pick the dot binary and say which, or say what to install."""
    binary = None
    if app.builder.format in _DRAWING_FORMATS:
        binary = find_dot(app.config.graphviz_dot,
                          fallback=app.config.rabbitmq_topology_dot_fallback)
        if binary is None:
            logger.warning(
                "rabbitmq-topology: Graphviz 'dot' (graphviz_dot = %r) was not found, so "
                "topology diagrams are shown as text. Install the 'graphviz' system package "
                "(apt-get install graphviz), or pip install 'sphinxext-rabbit[dot]' for a "
                "pure-Python fallback.", app.config.graphviz_dot,
                type="rabbitmq", subtype="dot")
        elif binary.is_pure:
            logger.info("rabbitmq-topology: Graphviz dot not found; drawing with %s (%s)",
                        binary.name, binary.path)
        else:
            logger.info("rabbitmq-topology: drawing with Graphviz dot (%s)", binary.path)
    app.builder.rabbitmq_dot = binary  # type: ignore[attr-defined]


def _binary(translator: nodes.NodeVisitor) -> DotBinary | None:
    return getattr(translator.builder, "rabbitmq_dot", None)  # type: ignore[attr-defined]


def _dot_option(translator: nodes.NodeVisitor, binary: DotBinary) -> str:
    # the configured name keeps absolute paths out of the image hash when it is on PATH
    configured = translator.builder.config.graphviz_dot  # type: ignore[attr-defined]
    return configured if binary.name == "dot" else binary.path


def _render(translator: nodes.NodeVisitor, node: rabbitmq_diagram,
            image_format: str) -> tuple[str | None, str | None]:
    """(relative, absolute) image paths; (None, None) when the text fallback is wanted."""
    binary = _binary(translator)
    if binary is None or node["code"] is None:  # no dot, or too large to draw
        return None, None
    options = {**node["options"], "graphviz_dot": _dot_option(translator, binary)}
    try:
        if binary.is_pure and image_format == "png":
            return _render_png_without_map(translator, node["code"], binary)
        relative, absolute = render_dot(translator, node["code"], options, image_format,
                                        _PREFIX)
    except GraphvizError as exc:
        logger.warning("rabbitmq-topology: drawing failed: %s", exc, location=node,
                       type="rabbitmq", subtype="dot")
        return None, None
    if relative is None:
        return None, None
    return str(relative), str(absolute)


def _render_png_without_map(translator: nodes.NodeVisitor, code: str,
                            binary: DotBinary) -> tuple[str, str]:
    """graphviz-pure has no image maps, which render_dot always asks for with PNG."""
    builder = translator.builder  # type: ignore[attr-defined]
    digest = sha1(f"{code}\0{binary.name}\0png".encode(), usedforsecurity=False).hexdigest()
    name = f"{_PREFIX}-{digest}.png"
    absolute = builder.outdir / builder.imagedir / name
    if not absolute.is_file():
        absolute.parent.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run([binary.path, "-Tpng", f"-o{absolute}"],
                                   input=code.encode(), capture_output=True, check=False)
        if completed.returncode != 0 or not absolute.is_file():
            raise GraphvizError(completed.stderr.decode(errors="replace"))
    return posixpath.join(builder.imgpath, name), str(absolute)


def html_visit_rabbitmq_diagram(self: HTML5Translator, node: rabbitmq_diagram) -> None:
    binary = _binary(self)
    image_format = self.builder.config.rabbitmq_topology_output_format
    if binary is not None and binary.is_pure:
        image_format = "svg"  # graphviz-pure draws no PNG image maps
    relative, _absolute = _render(self, node, image_format)
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
    relative, _absolute = _render(self, node, "png" if binary and binary.is_pure else "pdf")
    if relative is None:
        return
    self.body.append(f"\n\\sphinxincludegraphics[]{{{relative}}}\n")
    raise nodes.SkipNode


def texinfo_visit_rabbitmq_diagram(self: TexinfoTranslator, node: rabbitmq_diagram) -> None:
    relative, _absolute = _render(self, node, "png")
    if relative is None:
        return
    self.body.append(f"@image{{{relative[:-4]},,,[RabbitMQ topology],png}}\n")
    raise nodes.SkipNode


def visit_fallback(self: nodes.NodeVisitor, node: rabbitmq_diagram) -> None:
    """Builders that cannot show images print the text child."""


def depart_diagram(self: nodes.NodeVisitor, node: rabbitmq_diagram) -> None:
    pass
