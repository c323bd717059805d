"""Sphinx extension that draws RabbitMQ topologies from broker definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Sphinx is imported by setup(), not by the command line
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment
    from sphinx.util.typing import ExtensionMetadata

#: the distribution whose installed metadata holds the version (set in pyproject.toml only)
DISTRIBUTION = "sphinxext-rabbit"


def installed_version() -> str:
    """The version of the installed distribution; Sphinx's "unknown version" when the
    package is imported from a folder on sys.path without being installed."""
    # imported here: importlib.metadata would double the command line's start-up
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown version"


def __getattr__(name: str) -> str:
    # ``__version__`` is read from the metadata when asked for, not at every import
    if name == "__version__":
        return installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def setup(app: Sphinx) -> ExtensionMetadata:
    # Sphinx is imported here, not at module level, so the command line starts fast.
    from .extension.directive import (
        RabbitmqProblemCodes,
        RabbitmqTopology,
        end_reading,
        outdated_documents,
        rabbitmq_diagram,
        read_ahead,
        report_warnings,
        start_build,
        thaw,
    )
    from .extension.i18n import load_catalogs
    from .extension.visitors import (
        choose_dot,
        depart_diagram,
        fit_latex_tables,
        html_visit_rabbitmq_diagram,
        keep_man_names_whole,
        keep_text_names_whole,
        latex_visit_rabbitmq_diagram,
        texinfo_visit_rabbitmq_diagram,
        visit_fallback,
    )
    from .output.graphviz import DEFAULT_TIMEOUT
    from .output.grouping import DEFAULT_NODE_BUDGET
    from .output.tables import TABLE_ROW_BUDGET

    app.setup_extension("sphinx.ext.graphviz")
    app.add_node(
        rabbitmq_diagram,
        html=(html_visit_rabbitmq_diagram, depart_diagram),
        latex=(latex_visit_rabbitmq_diagram, depart_diagram),
        texinfo=(texinfo_visit_rabbitmq_diagram, depart_diagram),
        text=(visit_fallback, depart_diagram),
        man=(visit_fallback, depart_diagram),
    )
    from .extension.html_style import html_depart_table, html_visit_table
    from .extension.table_nodes import (
        PrepareTables,
        TableQuotes,
        choose_table_form,
        html_depart_details,
        html_visit_details,
        rabbitmq_details,
        rabbitmq_table,
    )

    # other builders show its content as a container's
    app.add_node(rabbitmq_details, html=(html_visit_details, html_depart_details))
    # a table, numbered as docutils tables are; only HTML writes it, every other builder
    # gets a docutils table (PrepareTables)
    app.add_enumerable_node(rabbitmq_table, "table", html=(html_visit_table, html_depart_table))
    app.add_transform(TableQuotes)
    app.add_post_transform(PrepareTables)
    app.connect("builder-inited", choose_table_form)
    app.add_directive("rabbitmq-topology", RabbitmqTopology)
    app.add_directive("rabbitmq-problem-codes", RabbitmqProblemCodes)
    from .extension.html_style import (
        STYLESHEET,
        breakable_text,
        copy_stylesheet,
        depart_breakable_text,
        mark_breakable_text,
        visit_breakable_text,
    )
    from .extension.route_directive import RabbitmqRoute

    app.add_directive("rabbitmq-route", RabbitmqRoute)
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
    # nodes a diagram draws before it groups alike queues and exchanges (:node-budget:)
    app.add_config_value("rabbitmq_topology_node_budget", DEFAULT_NODE_BUDGET, "env",
                         types=frozenset({int}))
    # bindings a table lists before it shows them by source exchange (all in a fold)
    app.add_config_value("rabbitmq_topology_table_row_budget", TABLE_ROW_BUDGET, "env",
                         types=frozenset({int}))
    # these only change how the written output draws it
    app.add_config_value("rabbitmq_topology_output_format", "svg", "html",
                         types=frozenset({str}))
    app.add_config_value("rabbitmq_topology_dot_fallback", True, "html",
                         types=frozenset({bool}))
    # seconds dot may take to lay out one diagram; past it the text is shown
    app.add_config_value("rabbitmq_topology_dot_timeout", DEFAULT_TIMEOUT, "html",
                         types=frozenset({int, float}))
    # live brokers: name -> {"url", "user" or "user_env", "password_env", "timeout",
    # "verify", "cafile", "certfile", "keyfile"}; no password (conf.py is pickled)
    app.add_config_value("rabbitmq_topology_brokers", {}, "env", types=frozenset({dict}))
    # where fetched brokers are kept, relative to conf.py; drawn when a broker is down
    app.add_config_value("rabbitmq_topology_snapshot_dir", None, "env",
                         types=frozenset({str, type(None)}))
    # a source every diagram is compared with, unless its :compare: names another
    app.add_config_value("rabbitmq_topology_compare", None, "env",
                         types=frozenset({str, type(None)}))
    # named views: name -> {directive option: value}, used by :view: NAME
    app.add_config_value("rabbitmq_topology_views", {}, "env", types=frozenset({dict}))
    # the width and alignment of every diagram without :width: or :align: (as docutils
    # writes them: "100%", "600px", "center"); None leaves the image as dot draws it
    app.add_config_value("rabbitmq_topology_width", None, "env",
                         types=frozenset({str, type(None)}))
    app.add_config_value("rabbitmq_topology_align", None, "env",
                         types=frozenset({str, type(None)}))
    app.connect("env-before-read-docs", load_catalogs)
    app.connect("builder-inited", choose_dot)
    app.connect("builder-inited", start_build)
    app.connect("env-get-outdated", outdated_documents)
    app.connect("env-before-read-docs", read_ahead)
    app.connect("build-finished", thaw)
    app.connect("env-purge-doc", forget_document)
    app.connect("env-merge-info", merge_documents)
    app.connect("env-updated", report_warnings)
    app.connect("env-check-consistency", end_reading, priority=900)
    app.connect("doctree-resolved", keep_man_names_whole)
    app.connect("doctree-resolved", keep_text_names_whole)
    app.connect("doctree-resolved", fit_latex_tables)
    from .extension.layouts import (
        check_dot_timeout,
        collect_layouts,
        end_layouts,
        merge_diagrams,
        note_diagrams,
        start_layouts,
    )

    # diagrams are laid out once every page is read, while pages are written (N at a time
    # under -j N, one at a time in a serial build)
    app.connect("config-inited", check_dot_timeout)
    app.connect("doctree-read", note_diagrams)
    app.connect("env-merge-info", merge_diagrams)
    app.connect("env-updated", start_layouts, priority=900)
    app.connect("doctree-resolved", collect_layouts, priority=900)
    app.connect("build-finished", end_layouts)
    setup_domain(app)
    # HTML only: the stylesheet, and where the names in tables may break
    app.add_css_file(STYLESHEET)
    app.connect("html-collect-pages", copy_stylesheet)
    app.add_node(breakable_text, html=(visit_breakable_text, depart_breakable_text))
    app.connect("doctree-resolved", mark_breakable_text)
    return {
        "version": installed_version(),
        # bumped whenever what the extension keeps in the environment changes shape (or its
        # classes move), so that Sphinx rereads every page instead of unpickling stale state
        "env_version": 4,
        # the state in the environment (pages drawing live brokers, the warnings pages
        # recorded) is merged from parallel readers, so reading and writing parallelize
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }


def setup_domain(app: Sphinx) -> None:
    """The rabbitmq domain (extension/domain.py), its checks and its coverage builder."""
    from .extension.domain import (
        RabbitmqDomain,
        check_pages,
        pages_to_rewrite,
        quiet_missing_reference,
    )

    app.add_domain(RabbitmqDomain)
    # sources (relative to conf.py, or names of rabbitmq_topology_brokers) that descriptions
    # and roles are checked against and coverage counts; none: what the directives read
    app.add_config_value("rabbitmq_reference_sources", [], "env",
                         types=frozenset({list, tuple}))
    # the share of the reference topology's exchanges, queues and policies (a percentage)
    # that -b rabbitmq-coverage requires described; 0: report only
    app.add_config_value("rabbitmq_coverage_threshold", 0, "",
                         types=frozenset({int, float}))
    from .extension.coverage import RabbitmqCoverageBuilder, fail_under_threshold

    app.add_builder(RabbitmqCoverageBuilder)
    app.connect("build-finished", fail_under_threshold)
    app.connect("env-check-consistency", check_pages)
    app.connect("env-updated", pages_to_rewrite)
    app.connect("warn-missing-reference", quiet_missing_reference)


def _live(env: BuildEnvironment) -> set[str]:
    """The pages that draw a live broker, which every build reads again."""
    # state kept on the environment, as Sphinx extensions do
    if not hasattr(env, "rabbitmq_live_docs"):
        env.rabbitmq_live_docs = set()  # type: ignore[attr-defined]
    live: set[str] = env.rabbitmq_live_docs  # type: ignore[attr-defined]
    return live


def forget_document(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _live(env).discard(docname)
    getattr(env, "rabbitmq_warnings", {}).pop(docname, None)
    getattr(env, "rabbitmq_drawn", {}).pop(docname, None)


def merge_documents(app: Sphinx, env: BuildEnvironment, docnames: set[str],
                    other: BuildEnvironment) -> None:
    _live(env).update(_live(other) & docnames)
    # state on the environment
    for state in ("rabbitmq_warnings", "rabbitmq_drawn"):
        recorded = getattr(other, state, {})
        getattr(env, state).update((name, recorded[name]) for name in docnames
                                   if name in recorded)
