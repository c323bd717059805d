"""Sphinx extension that draws RabbitMQ topologies from broker definitions."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the command line's start-up; only checkers need it
    from sphinx.application import Sphinx
    from sphinx.util.typing import ExtensionMetadata

__version__ = "0.1.0"


def setup(app: Sphinx) -> ExtensionMetadata:
    # Sphinx is imported here, not at module level, so the command line starts fast.
    from .directive import RabbitmqProblemCodes, RabbitmqTopology, rabbitmq_diagram
    from .render import (
        choose_dot,
        depart_diagram,
        html_visit_rabbitmq_diagram,
        latex_visit_rabbitmq_diagram,
        texinfo_visit_rabbitmq_diagram,
        visit_fallback,
    )

    app.setup_extension("sphinx.ext.graphviz")
    app.add_node(
        rabbitmq_diagram,
        html=(html_visit_rabbitmq_diagram, depart_diagram),
        latex=(latex_visit_rabbitmq_diagram, depart_diagram),
        texinfo=(texinfo_visit_rabbitmq_diagram, depart_diagram),
        text=(visit_fallback, depart_diagram),
        man=(visit_fallback, depart_diagram),
    )
    app.add_directive("rabbitmq-topology", RabbitmqTopology)
    app.add_directive("rabbitmq-problem-codes", RabbitmqProblemCodes)
    # these shape the DOT built while reading, so changing them re-reads ("env")
    app.add_config_value("rabbitmq_topology_default_show", ["diagram", "bindings"], "env",
                         types=frozenset({list, tuple}))
    app.add_config_value("rabbitmq_topology_layout", "LR", "env", types=frozenset({str}))
    app.add_config_value("rabbitmq_topology_legend", False, "env", types=frozenset({bool}))
    # folders outside the source directory (relative to it) that definitions may come from
    app.add_config_value("rabbitmq_topology_allowed_dirs", [], "env",
                         types=frozenset({list, tuple}))
    app.add_config_value("rabbitmq_topology_max_file_bytes", 64 * 1024 * 1024, "env",
                         types=frozenset({int}))
    app.add_config_value("rabbitmq_topology_max_nodes", 1500, "env", types=frozenset({int}))
    # these only change how the written output draws it
    app.add_config_value("rabbitmq_topology_output_format", "svg", "html",
                         types=frozenset({str}))
    app.add_config_value("rabbitmq_topology_dot_fallback", True, "html",
                         types=frozenset({bool}))
    app.connect("builder-inited", choose_dot)
    return {
        "version": __version__,
        # no state of ours lives in the environment, so reading and writing parallelize
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
