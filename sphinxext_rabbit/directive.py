"""The rabbitmq-topology directive: options in, diagram and table nodes out."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.ext.graphviz import figure_wrapper
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .graph import to_dot, to_text
from .load import load
from .model import Problem, Topology
from .select import PatternError, Selection, parse_patterns, views
from .table_nodes import table_node
from .tables import bindings_table, exchanges_table, policies_table, queues_table

if TYPE_CHECKING:
    from docutils.nodes import Node
    from sphinx.util.typing import OptionSpec

logger = logging.getLogger(__name__)

SHOW_CHOICES = ("diagram", "bindings", "queues", "exchanges", "policies")
_TABLES = {
    "bindings": ("Bindings", bindings_table),
    "queues": ("Queues", queues_table),
    "exchanges": ("Exchanges", exchanges_table),
    "policies": ("Policies", policies_table),
}

# One model per input file version per process: a directive re-reads only what changed.
_topologies: dict[tuple[str, int, int, str | None], Topology] = {}
_reported: set[tuple[str, int, int, str | None]] = set()


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


def load_cached(path: str, vhost: str | None, source: str,
                max_bytes: int) -> tuple[Topology, bool]:
    """The topology of ``path``, and whether its problems are new to this process."""
    stat = os.stat(path) if os.path.exists(path) else None
    key = (path, stat.st_mtime_ns if stat else 0, stat.st_size if stat else -1, vhost)
    topology = _topologies.get(key)
    if topology is None:
        topology = _topologies[key] = load(path, vhost=vhost, source=source,
                                           max_bytes=max_bytes)
    first = key not in _reported
    _reported.add(key)
    return topology, first


class RabbitmqTopology(SphinxDirective):
    """Draw the topology in a definitions file, with tables."""

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
        "alt": directives.unchanged,
    }

    def run(self) -> list[Node]:
        rel_filename, filename = self.env.relfn2path(self.arguments[0])
        source = str(rel_filename)
        if not self.allowed(str(filename)):
            logger.warning(
                "rabbitmq-topology: %s is outside the source directory; list its folder in "
                "rabbitmq_topology_allowed_dirs in conf.py to allow it", self.arguments[0],
                location=self.get_location(), type="rabbitmq", subtype="path")
            return []
        self.env.note_dependency(rel_filename)
        vhost = self.options.get("vhost")
        try:
            selection = Selection(
                vhosts=[vhost] if vhost is not None else None,
                include=parse_patterns(self.options.get("include")),
                exclude=parse_patterns(self.options.get("exclude")),
                default_exchange="default-exchange" in self.options,
            )
        except PatternError as exc:
            logger.warning("rabbitmq-topology: %s", exc, location=self.get_location(),
                           type="rabbitmq", subtype="option")
            return []
        topology, first_use = load_cached(str(filename), vhost, source,
                                          self.config.rabbitmq_topology_max_file_bytes)
        built, problems = views(topology, selection)
        for problem in problems:
            if problem in topology.problems and not first_use:
                continue  # a file's own problems are reported once, not per directive
            self.report(source, problem, in_file=problem in topology.problems)

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
                logger.warning(
                    "rabbitmq-topology: %s: the diagram would have %d nodes, more than "
                    "rabbitmq_topology_max_nodes (%d); shown as text. Narrow it with "
                    ":vhost:, :include: or :exclude:", source, size, limit,
                    location=self.get_location(), type="rabbitmq", subtype="limit")
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
                table = table_node(build_table(built, title=f"{title}: {caption}"
                                               if caption else title))
                self.set_source_info(table)
                result.append(table)
        if result:
            self.add_name(result[0])
        return result

    def allowed(self, filename: str) -> bool:
        """Definitions come from the source directory or a folder conf.py names."""
        target = os.path.realpath(filename)
        roots = [self.env.srcdir, *(os.path.join(self.env.srcdir, folder)
                                    for folder in self.config.rabbitmq_topology_allowed_dirs)]
        return any(os.path.commonpath([target, os.path.realpath(root)])
                   == os.path.realpath(root) for root in roots)

    def report(self, source: str, problem: Problem, *, in_file: bool) -> None:
        if in_file and problem.line is not None:
            location: object = f"{source}:{problem.line}"
            message = problem.message
        else:
            location = self.get_location()
            where = f" ({problem.where})" if problem.where else ""
            message = f"{source}{where}: {problem.message}"
        logger.warning(message, location=location, type="rabbitmq", subtype=problem.code)


class RabbitmqProblemCodes(SphinxDirective):
    """A table of every problem code, generated from the catalogue so it cannot go stale."""

    def run(self) -> list[Node]:
        from .problems import catalog_table

        table = table_node(catalog_table())
        self.set_source_info(table)
        return [table]
