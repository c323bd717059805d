"""The rabbitmq-topology directive: options in, diagram and table nodes out."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.ext.graphviz import figure_wrapper
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .diff import differences
from .graph import to_dot, to_text
from .model import ERROR, Problem, Topology
from .select import PatternError, Selection, parse_patterns, views
from .sources import (
    Broker,
    SourceError,
    brokers_from_config,
    configured_broker_for,
    files_of,
    is_url,
    merge,
    once_per_build,
    read_live_or_snapshot,
    read_path,
    snapshot_path,
)
from .table_nodes import table_node
from .tables import bindings_table, exchanges_table, policies_table, queues_table
from .uris import redact

if TYPE_CHECKING:
    from collections.abc import Callable

    from docutils.nodes import Node
    from sphinx.application import Sphinx
    from sphinx.util.typing import OptionSpec

logger = logging.getLogger(__name__)

SHOW_CHOICES = ("diagram", "bindings", "queues", "exchanges", "policies")
_TABLES = {
    "bindings": ("Bindings", bindings_table),
    "queues": ("Queues", queues_table),
    "exchanges": ("Exchanges", exchanges_table),
    "policies": ("Policies", policies_table),
}

# One model per input version per process: a directive re-reads only what changed.
_topologies: dict[tuple, Topology] = {}
_reported: set[tuple] = set()
#: Which build this process is part of, and where its conf.py is; parallel readers are
#: forked from the main process after it is set, so they share it (see once_per_build).
_build = {"id": "", "confdir": ""}


def start_build(app: Sphinx) -> None:
    """builder-inited: a new build, so live brokers are fetched again (once)."""
    _build["id"] = f"{os.getpid()}-{time.time_ns()}"
    for key in [key for key in _topologies if key[0] == "live"]:  # earlier builds' fetches
        del _topologies[key]
        _reported.discard(key)
    _build["confdir"] = str(app.confdir)
    if not hasattr(app.env, "rabbitmq_live_docs"):
        app.env.rabbitmq_live_docs = set()  # pages drawing a live broker (see setup)


class rabbitmq_diagram(nodes.General, nodes.Element):  # noqa: N801 - docutils node style
    """The diagram; its child is the plain-text fallback for builders that cannot draw."""


def show_option(argument: str | None) -> list[str]:
    chosen = [item.strip() for item in (argument or "").split(",") if item.strip()]
    for item in chosen:
        if item not in SHOW_CHOICES:
            raise ValueError(f"{item!r} is not one of {', '.join(SHOW_CHOICES)}")
    return chosen


def layout_option(argument: str | None) -> str:
    # directives.choice lower-cases what it is given
    return directives.choice((argument or "").lower(), ("lr", "tb")).upper()


def _cached(key: tuple, read: Callable[[], Topology]) -> tuple[Topology, bool]:
    """The topology for ``key``, and whether its problems are new to this process."""
    topology = _topologies.get(key)
    if topology is None:
        topology = _topologies[key] = read()
    first = key not in _reported
    _reported.add(key)
    return topology, first


def _stamp(path: str) -> tuple:
    """What says a file (or a folder's files) changed: names, times and sizes."""
    stamps = []
    for file in files_of(path):
        try:
            stat = os.stat(file)
        except OSError:
            stamps.append((file, 0, -1))
        else:
            stamps.append((file, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


class RabbitmqTopology(SphinxDirective):
    """Draw the topology of one or more sources (files, folders, live brokers), with tables."""

    required_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[OptionSpec] = {
        "vhost": directives.unchanged_required,
        "include": directives.unchanged_required,
        "exclude": directives.unchanged_required,
        "show": show_option,
        "caption": directives.unchanged_required,
        "name": directives.unchanged,
        "legend": directives.flag,
        "layout": layout_option,
        "default-exchange": directives.flag,
        "hide-temporary": directives.flag,
        "compare": directives.unchanged_required,
        "alt": directives.unchanged,
    }

    def run(self) -> list[Node]:
        specs = self.arguments[0].split()
        source = " + ".join(specs)
        vhost = self.options.get("vhost")
        try:
            selection = Selection(
                vhosts=[vhost] if vhost is not None else None,
                include=parse_patterns(self.options.get("include")),
                exclude=parse_patterns(self.options.get("exclude")),
                default_exchange="default-exchange" in self.options,
                hide_temporary="hide-temporary" in self.options,
            )
        except PatternError as exc:
            self.warn(str(exc), subtype="option")
            return []
        read = self.read(specs, source, vhost)
        if read is None:
            return []
        topology, first_use = read
        built, problems = views(topology, selection)
        self.report_problems(source, topology, problems, first_use=first_use)
        compare = self.options.get("compare", self.config.rabbitmq_topology_compare)
        if compare and compare != "none":  # ":compare: none" opts out of conf.py's default
            self.compare(compare, source, built, selection)
        return self.nodes(source, built, selection, topology)

    # -- reading -------------------------------------------------------------------------

    def read(self, specs: list[str], source: str,
             vhost: str | None) -> tuple[Topology, bool] | None:
        """The sources merged, each read once per process (a live broker once per build),
        and whether one of them is new to this process (its problems not yet reported);
        None, with a warning, when a source may not be read."""
        parts = []
        first_use = False
        for spec in specs:
            try:
                # only the brokers a page names are checked: a bad entry spoils only them
                configured = self.config.rabbitmq_topology_brokers
                target: Broker | str = spec  # a path, unless it names a broker
                if is_url(spec):  # credentials go only to the brokers conf.py names
                    target = configured_broker_for(spec, configured, _build["confdir"])
                elif spec in configured:
                    target = brokers_from_config({spec: configured[spec]},
                                                 _build["confdir"])[spec]
            except SourceError as exc:
                self.warn(str(exc), subtype="source")
                return None
            if isinstance(target, Broker):
                part, first = self.read_live(target)
            else:
                rel_filename, filename = self.env.relfn2path(target)
                if not self.allowed(str(filename)):
                    self.warn(f"{spec} is outside the source directory; list its folder in "
                              "rabbitmq_topology_allowed_dirs in conf.py to allow it",
                              subtype="path")
                    return None
                for file in [str(filename), *files_of(str(filename))]:
                    self.env.note_dependency(file)
                # the allowed folders decide which files of a folder are read
                key = ("path", str(filename), _stamp(str(filename)), vhost,
                       tuple(self.config.rabbitmq_topology_allowed_dirs))
                part, first = _cached(key, lambda f=str(filename), r=str(rel_filename):
                                      read_path(f, vhost=vhost, source=r,
                                                max_bytes=self.config.
                                                rabbitmq_topology_max_file_bytes,
                                                allowed=self.allowed))
            first_use = first_use or first
            parts.append(part)
        return merge(parts, source=source), first_use

    def read_live(self, broker: Broker) -> tuple[Topology, bool]:
        """A broker fetched once per build, whole, shared by every directive and process
        (each draws its own vhost of it); its URL may name one vhost to fetch less."""
        self.env.rabbitmq_live_docs.add(self.env.current_document.docname)  # read every build
        snapshot_dir = self.config.rabbitmq_topology_snapshot_dir
        if snapshot_dir:
            snapshot_dir = os.path.join(_build["confdir"], snapshot_dir)
        cache_file = os.path.join(self.env.doctreedir, "rabbitmq-live",
                                  os.path.basename(snapshot_path("", broker, None)))
        key = ("live", _build["id"], broker.name)
        return _cached(key, lambda: once_per_build(
            cache_file, _build["id"],
            lambda: read_live_or_snapshot(broker, snapshot_dir=snapshot_dir)))

    def compare(self, spec: str, source: str, built: list, selection: Selection) -> None:
        """One warning per difference between what the page draws and ``spec``."""
        read = self.read(spec.split(), spec, selection.vhosts[0] if selection.vhosts else None)
        if read is None:
            return
        other_built, problems = views(read[0], selection)
        for problem in problems:
            if problem.severity == ERROR or problem.code == "fetch":
                self.warn(f"{redact(spec)}: {problem.message}", subtype=problem.code)
        for difference in differences(built, other_built):
            self.warn(difference.sentence(source, redact(spec)), subtype="drift")

    def allowed(self, filename: str) -> bool:
        """Definitions come from the source directory or a folder conf.py names."""
        target = os.path.realpath(filename)
        roots = [self.env.srcdir, *(os.path.join(self.env.srcdir, folder)
                                    for folder in self.config.rabbitmq_topology_allowed_dirs)]
        return any(os.path.commonpath([target, os.path.realpath(root)])
                   == os.path.realpath(root) for root in roots)

    # -- reporting -----------------------------------------------------------------------

    def warn(self, message: str, *, subtype: str) -> None:
        logger.warning("rabbitmq-topology: %s", message, location=self.get_location(),
                       type="rabbitmq", subtype=subtype)

    def report_problems(self, source: str, topology: Topology, problems: list[Problem], *,
                        first_use: bool) -> None:
        own = set(topology.problems)
        for problem in problems:
            if problem in own and not first_use:
                continue  # a source's own problems are reported once, not per directive
            self.report(source, problem, in_file=problem in own)

    def report(self, source: str, problem: Problem, *, in_file: bool) -> None:
        source = problem.source or source
        if in_file and problem.line is not None:
            location: object = f"{source}:{problem.line}"
            message = problem.message
        else:
            location = self.get_location()
            where = f" ({problem.where})" if problem.where else ""
            message = f"{source}{where}: {problem.message}"
        logger.warning(message, location=location, type="rabbitmq", subtype=problem.code)

    # -- output --------------------------------------------------------------------------

    def nodes(self, source: str, built: list, selection: Selection,
              topology: Topology) -> list[Node]:
        config = self.config
        show = self.options.get("show") or list(config.rabbitmq_topology_default_show)
        result: list[Node] = []
        caption = self.options.get("caption")
        if "diagram" in show:
            diagram = rabbitmq_diagram()
            size = sum(len(v.exchanges) + len(v.queues) + len(v.externals) + len(v.stubs)
                       for v in built)
            limit = config.rabbitmq_topology_max_nodes
            if size > limit:
                # dot's layout time grows fast, and such a picture is unreadable anyway
                self.warn(f"{source}: the diagram would have {size} nodes, more than "
                          f"rabbitmq_topology_max_nodes ({limit}); shown as text. Narrow it "
                          "with :vhost:, :include: or :exclude:", subtype="limit")
                diagram["code"] = None
            else:
                diagram["code"] = to_dot(
                    built,
                    layout=self.options.get("layout", config.rabbitmq_topology_layout),
                    legend="legend" in self.options or config.rabbitmq_topology_legend,
                    show_default_exchange=selection.default_exchange,
                )
            diagram["alt"] = self.options.get("alt", f"RabbitMQ topology from {source}")
            diagram["options"] = {"docname": self.env.current_document.docname}
            diagram += nodes.literal_block(text := to_text(built), text)
            self.set_source_info(diagram)
            result.append(figure_wrapper(self, diagram, caption) if caption else diagram)
        for kind in SHOW_CHOICES[1:]:
            if kind in show:
                title, build_table = _TABLES[kind]
                title = f"{title}: {caption}" if caption else title
                if kind == "queues" and topology.taken_at is not None:
                    title += f" (as of {topology.taken_at})"
                table = table_node(build_table(built, title=title))
                self.set_source_info(table)
                result.append(table)
        if result:
            self.add_name(result[0])
        return result


class RabbitmqProblemCodes(SphinxDirective):
    """A table of every problem code, generated from the catalogue so it cannot go stale."""

    def run(self) -> list[Node]:
        from .problems import catalog_table

        table = table_node(catalog_table())
        self.set_source_info(table)
        return [table]
