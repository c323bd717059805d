"""Laying out diagrams: the DOT text each diagram is drawn from for the builder and the
files it is drawn into (named by that text), one ``dot`` run for all of them, and a pool
of runs started once every page is read, laid out while pages are written: one run at a
time in a serial build, N under ``-j N``.

dot is run here, not through sphinx.ext.graphviz's render_dot, which has no time limit
and drops what dot says; its settings (graphviz_dot, graphviz_dot_args) are honoured."""

from __future__ import annotations

import atexit
import math
import os
import posixpath
import re
import signal
import threading
import weakref
from collections import OrderedDict
from hashlib import sha1
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from sphinx import addnodes

from ..output.dot import LINK_ATTRIBUTES, dot_string
from ..output.graphviz import (
    DEFAULT_TIMEOUT,
    DotBinary,
    DotFailed,
    DotTimeout,
    Drawing,
    wait_for_any,
)
from ..output.wording import DRAW_LESS
from ..topology.records import record
from .directive import rabbitmq_diagram, rabbitmq_warning

if TYPE_CHECKING:
    from docutils import nodes
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

_PREFIX = "rabbitmq"
#: the folder, under the doctrees, of PNG image maps: part of a page, not of the output
MAPS_FOLDER = "rabbitmq-maps"


def binary_of(builder: Builder) -> DotBinary | None:
    """The dot this build draws with (visitors.choose_dot), None for none."""
    return getattr(builder, "rabbitmq_dot", None)


def image_format_of(builder: Builder, binary: DotBinary) -> str | None:
    """What the builder shows a diagram as; None for a builder that shows text."""
    if builder.format == "html":
        # graphviz-pure draws no PNG image maps
        return "svg" if binary.is_pure else builder.config.rabbitmq_topology_output_format
    if builder.format == "latex":
        return "png" if binary.is_pure else "pdf"
    if builder.format == "texinfo":
        return "png"
    return None


def page_links(code: str, builder: Builder, docname: str) -> str:
    """*code* with its links to anchors of the page *docname* (``URL="#..."``: a summary
    node's link to its row of the groups table) made relative to the image, which HTML
    builders write into a folder of the output's root. (In DOT text a quote from the input
    is always escaped, so ``URL="#`` is only ever an attribute.)"""
    if 'URL="#' not in code or builder.format != "html":
        return code
    up = "../" * len([part for part in builder.imagedir.split("/") if part])
    return code.replace('URL="#', f'URL="{up}{page_file(builder, docname)}#')


def page_file(builder: Builder, docname: str) -> str:
    """The file, from the output's root, that shows page *docname*: singlehtml shows
    every page in its root document's."""
    page = builder.get_target_uri(docname)
    if page.startswith("#"):
        return builder.config.root_doc + builder.out_suffix  # type: ignore[attr-defined]
    return page


def linked_code(builder: Builder, docname: str, code: str, links: dict,
                from_image: bool) -> str:
    """A diagram's DOT with each node's link to its entity's description, else its table
    row (`dot.LINK_ATTRIBUTES` replaced; dropped for an entity with neither). The address is
    relative to the image when *from_image* (an SVG shown by <object> resolves its links
    so), else to the page *docname* (a PNG's image map)."""
    from .domain import Key, RabbitmqDomain

    if not links:
        return code
    domain: RabbitmqDomain = builder.env.domains["rabbitmq"]  # type: ignore[assignment]
    image_to_root = "../" * len(PurePosixPath(builder.imagedir).parts)

    def address(node_id: str) -> str | None:
        found = domain.target_of(Key(*links[node_id]), at_most=0)
        if found is None:
            return None
        target, anchor = found
        if from_image:
            page = image_to_root + page_file(builder, target)
        else:
            page = builder.get_relative_uri(docname, target).split("#", 1)[0]
            if not page:  # this page, named: page_links takes "#..." for the image's own
                own = builder.get_target_uri(docname).split("#", 1)[0]
                page = "./" if own.endswith("/") else (
                    posixpath.basename(own)
                    or builder.config.root_doc + builder.out_suffix)  # type: ignore[attr-defined]
        return quote(page, safe="/:.~-_") + "#" + anchor

    def replace(match: re.Match[str]) -> str:
        url = address(match.group(1))
        if url is None:
            return ""
        return f'{match.group(1)} [URL={dot_string(url)}, target="_top"];'

    return _LINKED.sub(replace, code)


_LINKED = re.compile(r"^(v\d+_[a-z]+\d+) " + re.escape(LINK_ATTRIBUTES) + "$", re.MULTILINE)


@record(frozen=True)
class Layout:
    """One diagram as a builder draws it: the DOT text dot is given, and the files it is
    drawn into, each named by that text, the dot command and arguments and the format
    (never by a page or an absolute path), so the same drawing has one image whichever
    page shows it, and an unchanged one is not laid out again."""

    code: str
    image_format: str
    image: Path
    #: a PNG's image map (dot's cmapx), when its nodes link
    image_map: Path | None

    def missing(self) -> list[tuple[str, str]]:
        """The (format, path) of each file not drawn yet."""
        files = [(self.image_format, self.image)]
        if self.image_map is not None:
            files.append(("cmapx", self.image_map))
        return [(image_format, str(path)) for image_format, path in files
                if not path.is_file()]


def layout_of(builder: Builder, docname: str, code: str | None,
              links: dict | None) -> Layout | None:
    """How the builder draws a diagram of page *docname* (its DOT *code*, the entities its
    nodes stand for *links*); None when it is shown as text: no dot, too large to draw
    (*code* None), or a builder that shows no pictures."""
    binary = binary_of(builder)
    if binary is None or code is None:
        return None
    image_format = image_format_of(builder, binary)
    if image_format is None:
        return None
    links = links or {}
    if builder.format == "html":
        code = linked_code(builder, docname, code, links, from_image=image_format == "svg")
    code = page_links(code, builder, docname)
    config = builder.config
    # the configured name keeps absolute paths out of the name when dot is on PATH
    dot = config.graphviz_dot if binary.name == "dot" else binary.path

    def name(file_format: str) -> str:
        digest = sha1("\0".join([code, dot, *config.graphviz_dot_args, file_format]).encode(),
                      usedforsecurity=False).hexdigest()
        return f"{_PREFIX}-{digest}.{file_format}"

    image_map = None
    if image_format == "png" and links and builder.format == "html":
        image_map = Path(builder.doctreedir) / MAPS_FOLDER / name("cmapx")
    return Layout(code, image_format, builder.outdir / builder.imagedir / name(image_format),
                  image_map)


def start(builder: Builder, layout: Layout, outputs: list[tuple[str, str]]) -> Drawing:
    """A dot run drawing *outputs* (files of *layout*), started now."""
    binary = binary_of(builder)
    assert binary is not None  # (a layout is only made with one)
    for _format, path in outputs:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    drawing = Drawing(binary, layout.code, outputs,
                      timeout=builder.config.rabbitmq_topology_dot_timeout,
                      arguments=list(builder.config.graphviz_dot_args))
    _end_on_terminate.add(drawing)
    return drawing


class _EndOnTerminate:
    """SIGTERM (a cancelled CI job, `timeout`, `docker stop`) while this process runs dot:
    Sphinx emits no build-finished for it, and dot runs in a session of its own, so the runs
    this process started are killed (without waiting: the signal may come while this
    process waits for one), then the process ends as SIGTERM would have ended it. Set only
    where SIGTERM had its default action; put back when the build finishes."""

    def __init__(self) -> None:
        self.runs: weakref.WeakSet[Drawing] = weakref.WeakSet()
        self.pid = os.getpid()

    def add(self, drawing: Drawing) -> None:
        if self.pid != os.getpid():  # a forked writer: its parent's runs are not its own
            self.runs, self.pid = weakref.WeakSet(), os.getpid()
        self.runs.add(drawing)
        if (signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
                and threading.current_thread() is threading.main_thread()):
            signal.signal(signal.SIGTERM, self)

    def __call__(self, signum: int, frame: object) -> None:
        if self.pid == os.getpid():
            for drawing in list(self.runs):
                drawing.kill()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def remove(self) -> None:
        if (signal.getsignal(signal.SIGTERM) is self
                and threading.current_thread() is threading.main_thread()):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


_end_on_terminate = _EndOnTerminate()


def drawn(builder: Builder, node: rabbitmq_diagram, docname: str) -> Layout | None:
    """The diagram *node* of page *docname* laid out (by the pool, or here now when it has
    not); None, with a warning at the node when dot failed, for the text fallback."""
    layout = layout_of(builder, docname, node["code"], node.get("links"))
    if layout is None:
        return None
    outputs = layout.missing()
    if not outputs:
        return layout
    pool = _pool if _pool is not None and _pool.pid == os.getpid() else None
    drawing = pool.take(layout) if pool is not None else None
    if drawing is None:
        drawing = start(builder, layout, outputs)
    binary = binary_of(builder)
    assert binary is not None
    timeout = builder.config.rabbitmq_topology_dot_timeout
    try:
        messages = drawing.result()
    except DotTimeout:
        rabbitmq_warning(
            f"rabbitmq-topology: {binary.name} did not lay out this diagram in "
            f"{timeout:g} s (rabbitmq_topology_dot_timeout); shown as text. {DRAW_LESS}, "
            "or raise rabbitmq_topology_dot_timeout", location=node, subtype="limit")
        return None
    except DotFailed as exc:
        rabbitmq_warning(f"rabbitmq-topology: drawing failed: {exc}", location=node,
                         subtype="dot")
        return None
    for message in messages:
        rabbitmq_warning(f"rabbitmq-topology: {message}", location=node,
                         subtype="dot-warning")
    return layout


# -- laid out once every page is read, while pages are written --------------------------------

class LayoutPool:
    """Layouts waiting to be drawn, at most *size* dot runs at a time, started in the
    order they are given (the order pages are written in). A run is started or collected
    only when the process that made the pool asks (`pump`, `take`): it holds no thread, so
    Sphinx may fork its writers meanwhile."""

    def __init__(self, builder: Builder, size: int) -> None:
        self.builder = builder
        self.size = size
        self.pid = os.getpid()
        self.waiting: OrderedDict[Layout, None] = OrderedDict()
        self.running: dict[Layout, Drawing] = {}
        self.ended: dict[Layout, Drawing] = {}

    def add(self, layout: Layout) -> None:
        if layout.missing():
            self.waiting[layout] = None

    def pump(self, wait: float = 0.0) -> None:
        """Collect the runs that ended (waiting up to *wait* seconds for one), and start
        waiting layouts while fewer than *size* run."""
        wait_for_any(list(self.running.values()), wait)
        for layout, drawing in list(self.running.items()):
            if drawing.done():
                self.ended[layout] = self.running.pop(layout)
        while self.waiting and len(self.running) < self.size:
            layout, _ = self.waiting.popitem(last=False)
            outputs = layout.missing()
            if outputs:
                self.running[layout] = start(self.builder, layout, outputs)

    def take(self, layout: Layout) -> Drawing | None:
        """The ended run that drew *layout*, once (a later page showing the same diagram
        finds its files); None when the pool has not got it."""
        if layout in self.waiting:
            self.waiting.move_to_end(layout, last=False)  # needed first
        while layout not in self.ended:
            if layout not in self.running and layout not in self.waiting:
                return None
            self.pump(wait=self.builder.config.rabbitmq_topology_dot_timeout)
        return self.ended.pop(layout)

    def close(self) -> None:
        """End what still runs (a build that stopped early); only the process that made
        the pool owns its runs."""
        if self.pid != os.getpid():
            return
        for drawing in self.running.values():
            drawing.stop()
        self.running.clear()
        self.waiting.clear()
        self.ended.clear()


#: the attribute of a diagram's node that holds its `Layout` once it is laid out
LAID_OUT = "rabbitmq_layout"
#: this build's pool, in the process that made it; None when it has nothing to lay out
_pool: LayoutPool | None = None
#: the diagrams of the pages read this build: docname -> [(DOT, links)], in reading order
_DIAGRAMS = "rabbitmq_diagrams"


def note_diagrams(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: the diagrams of the page just read (here or in a parallel reader,
    merged with `merge_diagrams`), for the pool; none for a builder that shows text."""
    binary = binary_of(app.builder)
    if binary is None or image_format_of(app.builder, binary) is None:
        return
    found = [(node["code"], node.get("links")) for node in doctree.findall(rabbitmq_diagram)
             if node["code"] is not None and _shown(app.builder, node)]
    if found:
        diagrams = getattr(app.env, _DIAGRAMS, None)
        if diagrams is None:
            diagrams = {}
            setattr(app.env, _DIAGRAMS, diagrams)
        diagrams[app.env.docname] = found


def _shown(builder: Builder, node: rabbitmq_diagram) -> bool:
    """Whether the builder shows *node*: not inside an ``only`` whose condition is false
    for its tags (Sphinx takes those out as it writes; laid out, their image would be
    written for no page)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, addnodes.only):
            try:
                if not builder.tags.eval_condition(parent["expr"]):
                    return False
            except Exception:  # noqa: BLE001 - Sphinx warns of it and keeps the content
                pass
        parent = parent.parent
    return True


def check_dot_timeout(app: Sphinx, config: Config) -> None:
    """config-inited: a time limit that is not a number of seconds (a string, NaN) is
    warned of once, and the default used, instead of failing every diagram."""
    value = config.rabbitmq_topology_dot_timeout
    try:
        seconds = float(value) if isinstance(value, (int, float)) else math.nan
    except OverflowError:  # an int past floats: no clock reaches it
        seconds = math.nan
    if isinstance(value, bool) or math.isnan(seconds):
        rabbitmq_warning(f"rabbitmq_topology_dot_timeout is {value!r}, not a number of "
                         f"seconds; {DEFAULT_TIMEOUT:g} is used", subtype="option")
        config.rabbitmq_topology_dot_timeout = DEFAULT_TIMEOUT


def merge_diagrams(app: Sphinx, env: BuildEnvironment, docnames: set[str],
                   other: BuildEnvironment) -> None:
    """env-merge-info: a parallel reader's diagrams."""
    theirs = getattr(other, _DIAGRAMS, {})
    if theirs:
        ours = getattr(env, _DIAGRAMS, None)
        if ours is None:
            ours = {}
            setattr(env, _DIAGRAMS, ours)
        ours.update((docname, theirs[docname]) for docname in docnames if docname in theirs)


def start_layouts(app: Sphinx, env: BuildEnvironment) -> None:
    """env-updated: every page is read, so each diagram's links are known; lay out those
    of the pages read, page by page in the order pages are written, while Sphinx goes on
    to write them (`collect_layouts`). What the pool does not have (a page written without
    being read) is laid out when written."""
    global _pool
    diagrams: dict[str, list] = env.__dict__.pop(_DIAGRAMS, None) or {}  # (not pickled)
    _end_pool()
    if not diagrams:
        return
    # -j N: N dot runs at a time. A serial build runs one beside it (a choice: one
    # more process, so the next page's diagram is laid out while this one is written)
    pool = LayoutPool(app.builder, max(1, app.parallel))
    for docname in sorted(diagrams):
        for code, links in diagrams[docname]:
            layout = layout_of(app.builder, docname, code, links)
            if layout is not None:
                pool.add(layout)
    if pool.waiting:
        _pool = pool
        # Sphinx emits no build-finished for Ctrl-C: no run outlives the process either
        # (SIGTERM: `_EndOnTerminate`)
        atexit.register(pool.close)
        pool.pump()


def _end_pool() -> None:
    """End this build's pool, if any, and what still runs."""
    global _pool
    if _pool is None:
        return
    _pool.close()
    atexit.unregister(_pool.close)
    _pool = None


def collect_layouts(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """doctree-resolved: before a page is written (here, or by a writer process forked
    with what this one holds), its diagrams are laid out, and what dot said is said here,
    once; one that failed is shown as text. The writer is given each layout on its node
    (`LAID_OUT`). Without a pool (no page was read), the writer lays them out."""
    if _pool is None or _pool.pid != os.getpid():
        return
    for node in doctree.findall(rabbitmq_diagram):
        layout = drawn(app.builder, node, docname)
        if layout is None:
            node["code"] = None  # the writer shows the text
        else:
            node[LAID_OUT] = layout
    _pool.pump()


def end_layouts(app: Sphinx, exception: BaseException | None) -> None:
    """build-finished: no run outlives the build."""
    _end_pool()
    _end_on_terminate.remove()
