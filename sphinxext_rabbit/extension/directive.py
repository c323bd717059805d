"""The rabbitmq-topology directive: options in, diagram and table nodes out."""

from __future__ import annotations

import gc
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.ext.graphviz import align_spec, figure_wrapper
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from ..output.dot import to_dot
from ..output.grouping import Collapse, Group, Grouped, group_views, parse_collapse
from ..output.tables import (
    bindings_by_source,
    bindings_table,
    exchanges_table,
    groups_table,
    policies_table,
    queues_table,
)
from ..output.text import to_text
from ..output.wording import DRAW_LESS, budget_text, grouped_text, visible
from ..sources import (
    Broker,
    Build,
    FileSource,
    Source,
    SourceError,
    brokers_from_config,
    configured_broker_for,
    forget_parsed,
    is_url,
    read_for_build,
    stamps,
)
from ..sources.uris import redact
from ..topology.diff import differences
from ..topology.model import ERROR, Problem, Topology
from ..topology.select import (
    DIRECTIONS,
    Model,
    PatternError,
    Selection,
    close_to,
    parse_depth,
    parse_direction,
    parse_names,
    parse_patterns,
    view_option_text,
    views,
)
from .i18n import translated
from .table_nodes import details_node, table_node

if TYPE_CHECKING:
    from collections.abc import Callable

    from docutils.nodes import Node
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment
    from sphinx.util.typing import OptionSpec

logger = logging.getLogger(__name__)

SHOW_CHOICES = ("diagram", "bindings", "queues", "exchanges", "policies")
_TABLES = {
    "bindings": ("Bindings", bindings_table),
    "queues": ("Queues", queues_table),
    "exchanges": ("Exchanges", exchanges_table),
    "policies": ("Policies", policies_table),
}

#: the warnings this process has recorded in this build, so a page records only the
#: sources' problems no page before it in the process did
_recorded: set[tuple] = set()
#: How this build reads sources, and where its conf.py is; parallel readers are forked from
#: the main process after it is set, so they share it.
_build: Build | None = None
_confdir = {"path": ""}
#: whether this build froze the collector's objects (`read_ahead`)
_frozen = False


def start_build(app: Sphinx) -> None:
    """builder-inited: a new build, so live brokers are fetched again (once), and every
    source problem is reported again."""
    global _build
    snapshot_dir = app.config.rabbitmq_topology_snapshot_dir
    _build = Build(
        id=f"{os.getpid()}-{time.time_ns()}", cache_dir=str(app.doctreedir),
        roots=(str(app.srcdir), *(os.path.join(app.srcdir, folder)
                                  for folder in app.config.rabbitmq_topology_allowed_dirs)),
        snapshot_dir=os.path.join(app.confdir, snapshot_dir) if snapshot_dir else None,
        max_bytes=app.config.rabbitmq_topology_max_file_bytes)
    _recorded.clear()
    _confdir["path"] = str(app.confdir)
    if not hasattr(app.env, "rabbitmq_live_docs"):
        # pages drawing a live broker (see setup); state kept on the environment, as Sphinx
        # extensions do
        app.env.rabbitmq_live_docs = set()  # type: ignore[attr-defined]
    # docname -> the warnings its directives recorded
    app.env.rabbitmq_warnings = {}  # type: ignore[attr-defined]
    if not hasattr(app.env, "rabbitmq_drawn"):
        # docname -> {(sources, vhost, name): (their stamps, digest of what was drawn)}
        app.env.rabbitmq_drawn = {}  # type: ignore[attr-defined]


def end_reading(app: Sphinx, env: BuildEnvironment) -> None:
    """env-check-consistency, after the domain's checks (which read the reference sources):
    the build has read what its pages draw, so the parsed files are let go before pages are
    written."""
    forget_parsed()


def outdated_documents(app: Sphinx, env: BuildEnvironment, added: set[str],
                       changed: set[str], removed: set[str]) -> list[str]:
    """env-get-outdated: the pages that draw a live broker or a file that is missing (as
    Sphinx does for a missing dependency), which every build reads again, and those whose
    files hold something else for what they draw (a digest per vhost drawn), not every
    page that reads a changed file.

    A changed source is read here, in the main process, before any parallel reader is
    forked: the readers share what it read. What it holds is kept beside the doctrees
    (`checked_digests`), so that the next build does not read it again while it stays as
    it is, even when no page was read and Sphinx keeps the environment it had."""
    assert _build is not None  # set when the build started
    outdated = set(env.rabbitmq_live_docs) - removed  # type: ignore[attr-defined]
    digests: dict[tuple, str] = {}
    drawn: dict[str, dict] = env.rabbitmq_drawn  # type: ignore[attr-defined]
    checked_file = os.path.join(app.doctreedir, "rabbitmq-checked.json")
    checked = checked_digests(checked_file)
    checking: dict[str, str] = {}  # what this build checked, kept for the next one
    # another version may read a file into something else
    version = app.extensions["sphinxext_rabbit"].version
    for docname, reads in drawn.items():
        if docname in removed or docname in changed:
            continue
        for key, (stamped, digest) in reads.items():
            targets, vhost, name = key
            current = stamps(targets)
            if any(size < 0 for stamp in current for _file, _time, size in stamp):
                outdated.add(docname)  # a missing file: read (and reported) every build
                break
            if stamped == current:
                continue
            if key not in digests:
                state = json.dumps([version, name, vhost, current])
                digests[key] = checking[state] = checked.get(state) or read_for_build(
                    list(targets), vhost=vhost, build=_build, name=name).digest(vhost)
            if digests[key] != digest:
                outdated.add(docname)
                break
    if checking != checked:
        try:
            Path(checked_file).write_text(json.dumps(checking), encoding="utf-8")
        except OSError:
            pass  # (only a cache: the next build reads the files again)
    return sorted(outdated)


def checked_digests(path: str) -> dict[str, str]:
    """What the last build found sources to hold (digests by name, vhost and files' stamps)
    where they were not as the pages recorded them; empty when that cannot be read."""
    try:
        checked = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return checked if isinstance(checked, dict) else {}


def rabbitmq_warning(message: str, *, subtype: str,
                     location: str | tuple[str | None, int | None] | nodes.Node | None = None,
                     ) -> None:
    """Every warning the extension gives, typed ``rabbitmq.<subtype>``: its text, and a
    location that names a file, with what `visible` escapes shown as escapes, so a name,
    a file name or a broker's reason cannot forge lines or colours in a log."""
    if isinstance(location, str):
        location = visible(location)
    logger.warning(visible(message), location=location, type="rabbitmq", subtype=subtype)


def report_warnings(app: Sphinx, env: BuildEnvironment) -> None:
    """env-updated: the warnings pages recorded while they were read (here or in parallel
    readers, merged into *env*), in page-name order, each once: a source's problem at the
    first page that met it, so serial and parallel builds report the same, in one order."""
    recorded = getattr(env, "rabbitmq_warnings", {})
    reported: set[tuple] = set()
    for docname in sorted(recorded):
        for key, message, location, subtype in recorded[docname]:
            if key not in reported:
                reported.add(key)
                rabbitmq_warning(message, location=location, subtype=subtype)
    recorded.clear()  # reported: a page read in a later build records its own again


class rabbitmq_diagram(nodes.General, nodes.Element):  # noqa: N801 - docutils node style
    """The diagram; its child is the plain-text fallback for builders that cannot draw."""


def show_option(argument: str | None) -> list[str]:
    chosen = [item.strip() for item in (argument or "").split(",") if item.strip()]
    for item in chosen:
        if item not in SHOW_CHOICES:
            raise ValueError(f"{item!r} is not one of {', '.join(SHOW_CHOICES)}")
    return chosen


def collapse_option(argument: str | None) -> Collapse:
    return parse_collapse(argument or "")


def layout_option(argument: str | None) -> str:
    # directives.choice lower-cases what it is given
    return directives.choice((argument or "").lower(), ("lr", "tb")).upper()


#: how big and where the image is, checked as docutils' image directive checks them (by
#: `RabbitmqTopology.size`, so that a bad value is warned about and the rest still drawn)
SIZE_CHECKS: dict[str, Callable[[str], object]] = {
    "width": directives.length_or_percentage_or_unitless,
    "height": directives.length_or_unitless,
    "scale": directives.percentage,
    "align": align_spec,
}
SIZE_OPTIONS = dict.fromkeys(SIZE_CHECKS, directives.unchanged_required)
#: the ones conf.py may set for every diagram, as rabbitmq_topology_<name>
CONFIGURED_SIZES = ("width", "align")


def _conf_line(setting: str) -> str | None:
    """Where conf.py sets *setting* (``path:line``); None when it does not (``-D``)."""
    path = os.path.join(_confdir["path"], "conf.py")
    try:
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if re.match(rf"{setting}\s*=", line):
                    return f"{path}:{number}"
    except (OSError, UnicodeDecodeError):
        pass
    return None


def target_of(spec: str, env: BuildEnvironment, docname: str) -> Source:
    """What a source written in a page names: a broker conf.py configures (by its name or
    a URL on it), else a file or folder (relative to the page). Raises SourceError."""
    configured = env.config.rabbitmq_topology_brokers
    if is_url(spec):  # credentials go only to the brokers conf.py names
        return configured_broker_for(spec, configured, _confdir["path"])
    if spec in configured:  # only the brokers a page names are checked
        return brokers_from_config({spec: configured[spec]}, _confdir["path"])[spec]
    name, path = env.relfn2path(spec, docname)
    return FileSource(str(path), str(name))


#: a directive that reads sources as a page writes it: its sources and its option lines
_READING_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\.[ \t]+rabbitmq-(?:topology|route)::(?P<sources>[^\n]*)\n"
    r"(?P<options>(?:(?P=indent)[ \t]+:[^\n]*\n)*)", re.MULTILINE)
_SOURCE_OPTION = re.compile(r"^[ \t]*:(vhost|compare|view):[ \t]*(.*?)[ \t]*$", re.MULTILINE)


def _records_digest(targets: list[Source]) -> bool:
    """Whether a page records a digest of what it draws from *targets* (to tell a later
    build whether to read it again): only for files, as a live broker is read every build."""
    return not any(isinstance(target, Broker) for target in targets)


def read_ahead(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """env-before-read-docs: read the files the pages about to be read draw (and, when they
    are read in parallel, fetch their brokers), and resolve them, before any of them is
    read, then move that out of the garbage collector's way: parallel readers, forked next,
    share it and none parses what another did; a serial read finds it cached. A page is
    only looked through for the lines of the directives (reStructuredText): what that
    misses, its reader reads itself."""
    if not docnames:
        return
    # Parsing and resolving a big export makes a million objects that stay, none garbage:
    # with the collector on, they set off full collections that go through all of them
    # (measured: 3 of them, 0.13 s, in a 40-page build drawing a 4.4 MB export)
    collecting = gc.isenabled()
    gc.disable()
    try:
        # (the readers of a parallel build share a fetch through a file anyway; a serial
        # build fetches a broker when a page draws it, not for a directive commented out)
        read = read_what_pages_draw(env, docnames, brokers=app.parallel > 1)
    finally:
        if collecting:
            gc.enable()
    if not read:
        return
    # what was read, and Sphinx's own state, go to the collector's permanent generation:
    # later collections (a parallel reader's, the pages' while they are written) neither
    # go through them nor copy the pages they are on (measured: a third of the parallel
    # readers' CPU time, and a full collection of 0.07 s as a serial build finishes);
    # see `thaw`
    global _frozen
    gc.collect()  # (garbage now would stay frozen, uncollected, until the build ends)
    gc.freeze()
    _frozen = True


def read_what_pages_draw(env: BuildEnvironment, docnames: list[str], *, brokers: bool) -> bool:
    """Read and resolve the files (and with *brokers*, fetch the brokers) the directives of
    the pages *docnames* draw and compare with, and the digest each page records of them;
    whether there was any."""
    assert _build is not None  # set when the build started
    read = False
    default_compare = env.config.rabbitmq_topology_compare
    configured_views = env.config.rabbitmq_topology_views
    for docname in docnames:
        try:
            text = Path(env.doc2path(docname)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # its reader says why
        for found in _READING_DIRECTIVE.finditer(text):
            options = dict(_SOURCE_OPTION.findall(found["options"]))
            view = configured_views.get(options.get("view")) if isinstance(
                configured_views, dict) else None
            if isinstance(view, dict):  # what the page writes wins over its view
                options = {**{key: str(view[key]) for key in ("vhost", "compare")
                              if key in view}, **options}
            compare = options.get("compare", default_compare)
            for written in (found["sources"], compare if compare != "none" else None):
                specs = (written or "").split()
                try:
                    targets = [target_of(spec, env, docname) for spec in specs]
                except SourceError:
                    continue  # its reader warns
                if targets and all(brokers if isinstance(t, Broker) else _build.allowed(t.path)
                                   for t in targets):
                    model = read_for_build(targets, vhost=options.get("vhost"), build=_build,
                                           name=" + ".join(specs))
                    model.resolve_all()
                    read = True
                    if _records_digest(targets):
                        # what each reader records of the page (`RabbitmqTopology.read`): a
                        # digest costs a walk over every entity, which a forked reader pays
                        # again in copied memory
                        model.digest(options.get("vhost"))
    return read


def thaw(app: Sphinx, exception: BaseException | None) -> None:
    """build-finished: what `read_ahead` froze is collected again."""
    global _frozen
    if _frozen:
        gc.unfreeze()
        _frozen = False


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
        "focus": directives.unchanged_required,
        "depth": directives.nonnegative_int,
        "direction": lambda argument: directives.choice((argument or "").lower(), DIRECTIONS),
        "view": directives.unchanged_required,
        "collapse": collapse_option,
        "node-budget": directives.positive_int,
        **SIZE_OPTIONS,
    }
    #: options a view in conf.py may not set: a label names one figure
    NOT_IN_VIEWS: ClassVar[frozenset[str]] = frozenset({"view", "name"})

    def run(self) -> list[Node]:
        specs = self.arguments[0].split()
        source = " + ".join(specs)
        # the options written here override the view's
        self.options = {**self.view_options(), **self.options}
        vhost = self.options.get("vhost")
        try:
            selection = Selection(
                vhosts=[vhost] if vhost is not None else None,
                include=parse_patterns(self.options.get("include")),
                exclude=parse_patterns(self.options.get("exclude")),
                default_exchange="default-exchange" in self.options,
                hide_temporary="hide-temporary" in self.options,
                focus=parse_names(self.options.get("focus")),
                depth=parse_depth(self.options.get("depth")),
                direction=parse_direction(self.options.get("direction")),
            )
        except PatternError as exc:
            self.warn(str(exc), subtype="option")
            return []
        read = self.read(specs, source, vhost)
        if read is None:
            return []
        model, identity = read
        from .domain import note_read  # (the domain imports this module)

        note_read(self, (identity, vhost), model.topology)
        built, problems = views(model, selection)
        self.report_problems(source, model.topology, identity, problems)
        compare = self.options.get("compare", self.config.rabbitmq_topology_compare)
        if compare and compare != "none":  # ":compare: none" opts out of conf.py's default
            self.compare(compare, source, built, selection)
        return self.nodes(source, built, selection, model.topology)

    def view_options(self) -> dict[str, object]:
        """The options of the view that :view: names, converted as if written here; a
        warning for a view that is not there and for each key that is no option."""
        name = self.options.get("view")
        if name is None:
            return {}
        configured = self.config.rabbitmq_topology_views
        if not isinstance(configured, dict):  # (Sphinx warns of the type, and goes on)
            configured = {}
        settings = configured.get(name)
        if not isinstance(settings, dict):
            if name in configured:
                self.report(f"rabbitmq-topology: view {name!r} in rabbitmq_topology_views "
                            "(conf.py) is not a dict of directive options; ignored", "option",
                            sources=(("view", name),))
            else:
                known = ", ".join(repr(view) for view in sorted(configured)) or "none"
                self.warn(f"view {name!r} is not in rabbitmq_topology_views (conf.py; it has: "
                          f"{known}){close_to(name, configured)}", subtype="option")
            return {}
        options: dict[str, object] = {}
        allowed = [key for key in self.option_spec if key not in self.NOT_IN_VIEWS]
        for key, value in settings.items():
            converter = self.option_spec.get(key) if key in allowed else None
            where = f"rabbitmq-topology: view {name!r} in rabbitmq_topology_views (conf.py)"
            if converter is None:
                self.report(f"{where} has key {key!r}, which is no option of "
                            f"rabbitmq-topology{close_to(str(key), allowed)}; ignored",
                            "option", sources=(("view", name),))
                continue
            try:
                if converter is directives.flag:  # True sets a flag, False leaves it out
                    if not isinstance(value, bool):
                        raise ValueError(f"{value!r} is not true or false")
                    if value:
                        options[key] = None
                    continue
                options[key] = converter(view_option_text(value))
            except (ValueError, PatternError) as exc:
                self.report(f"{where}: {key}: {exc}; ignored", "option",
                            sources=(("view", name),))
        return options

    # -- reading -------------------------------------------------------------------------

    def read(self, specs: list[str], source: str,
             vhost: str | None) -> tuple[Model, tuple] | None:
        """The sources merged, as this build draws them, and what tells them from other
        sources: what their problems are reported once for; None, with a warning, when a
        source may not be read."""
        assert _build is not None  # set when the build started
        targets: list[Source] = []
        for spec in specs:
            try:
                target = self.target(spec)
            except SourceError as exc:
                self.warn(str(exc), subtype="source")
                return None
            if isinstance(target, FileSource) and not _build.allowed(target.path):
                self.warn(f"{spec} is outside the source directory; list its folder in "
                          "rabbitmq_topology_allowed_dirs in conf.py to allow it",
                          subtype="path")
                return None
            if isinstance(target, Broker):
                # read every build
                self.env.rabbitmq_live_docs.add(self.env.docname)  # type: ignore[attr-defined]
            targets.append(target)
        model = read_for_build(targets, vhost=vhost, build=_build, name=source)
        if _records_digest(targets):
            # what says when this page is to be read again (see outdated_documents)
            drawn = self.env.rabbitmq_drawn.setdefault(  # type: ignore[attr-defined]
                self.env.docname, {})
            drawn[tuple(targets), vhost, source] = (stamps(targets), model.digest(vhost))
        return model, tuple(("live", t.name) if isinstance(t, Broker) else ("path", t.path)
                            for t in targets)

    def target(self, spec: str) -> Source:
        return target_of(spec, self.env, self.env.docname)

    def compare(self, spec: str, source: str, built: list, selection: Selection) -> None:
        """One warning per difference between what the page draws and ``spec``."""
        read = self.read(spec.split(), spec, selection.vhosts[0] if selection.vhosts else None)
        if read is None:
            return
        other, identity = read
        other_built, problems = views(other, selection)
        for problem in problems:
            if problem.severity == ERROR or problem.code == "fetch":
                self.report(f"{redact(spec)}: {problem.message}", problem.code,
                            sources=identity)
        for difference in differences(built, other_built):
            self.warn(difference.sentence(source, redact(spec)), subtype="drift")

    # -- reporting -----------------------------------------------------------------------

    def warn(self, message: str, *, subtype: str) -> None:
        self.report(f"rabbitmq-topology: {message}", subtype)

    def report_problems(self, source: str, topology: Topology, identity: tuple,
                        problems: list[Problem]) -> None:
        """The sources' problems (what reading and resolving them found: resolve's are
        located in a vhost) once a build, and those of this directive's selection."""
        own = set(topology.problems)
        for problem in problems:
            source_name = problem.source or source
            if problem in own and problem.line is not None:
                self.report(problem.message, problem.code, sources=identity,
                            file_location=f"{source_name}:{problem.line}")
                continue
            where = f" ({problem.where})" if problem.where else ""
            message = f"{source_name}{where}: {problem.message}"
            of_sources = problem in own or problem.where is not None
            self.report(message, problem.code, sources=identity if of_sources else None)

    def report(self, message: str, subtype: str, *, sources: tuple | None = None,
               file_location: str | None = None) -> None:
        """A warning, kept in the environment until every page is read, then given by
        report_warnings in page order, so a parallel build gives the same words in
        the same order as a serial one. A problem of *sources* (what tells them apart) is
        given once a build: at *file_location* when it has one, else at the first directive
        that met it; any other warning is this directive's own."""
        location = file_location or self.get_location()
        key = (sources, location if file_location or sources is None else None, message,
               subtype)
        if key in _recorded:
            return
        _recorded.add(key)
        docname = self.env.docname
        self.env.rabbitmq_warnings.setdefault(docname, []).append(  # type: ignore[attr-defined]
            (key, message, location, subtype))

    # -- output --------------------------------------------------------------------------

    def size(self, diagram: rabbitmq_diagram) -> None:
        """The image's width, height, scale and alignment: the directive's options, else
        conf.py's defaults; a bad value is warned about (conf.py's once, located there) and
        left out."""
        for name, check in SIZE_CHECKS.items():
            value = self.options.get(name)
            if value is not None:
                try:
                    diagram[name] = check(value)
                except ValueError as exc:
                    self.warn(f":{name}: {value!r} is not used: {exc}", subtype="option")
                continue
            configured = (getattr(self.config, f"rabbitmq_topology_{name}")
                          if name in CONFIGURED_SIZES else None)
            if configured is not None:
                try:
                    diagram[name] = check(str(configured))
                except ValueError as exc:
                    setting = f"rabbitmq_topology_{name}"
                    self.report(f"{setting} = {configured!r} is not used: {exc}", "option",
                                sources=("conf.py",), file_location=_conf_line(setting))

    def nodes(self, source: str, built: list, selection: Selection,
              topology: Topology) -> list[Node]:
        from .domain import DrawnTargets

        targets = DrawnTargets(self)
        config = self.config
        show = self.options.get("show") or list(config.rabbitmq_topology_default_show)
        result: list[Node] = []
        caption = self.options.get("caption")
        if "diagram" in show:
            diagram = rabbitmq_diagram()
            grouped = self.grouped(source, built, selection)
            size = (grouped.nodes_after if grouped is not None
                    else sum(len(v.exchanges) + len(v.queues) + len(v.externals) + len(v.stubs)
                             for v in built))
            limit = config.rabbitmq_topology_max_nodes
            if size > limit:
                # dot's layout time grows fast, and such a picture is unreadable anyway
                self.warn(f"{source}: the diagram would have {size} nodes, more than "
                          f"rabbitmq_topology_max_nodes ({limit}); shown as text. {DRAW_LESS}",
                          subtype="limit")
                diagram["code"] = None
            else:
                diagram["links"] = {}
                diagram["code"] = to_dot(
                    built,
                    links=diagram["links"],
                    layout=self.options.get("layout", config.rabbitmq_topology_layout),
                    legend="legend" in self.options or config.rabbitmq_topology_legend,
                    show_default_exchange=selection.default_exchange,
                    grouped=grouped,
                    group_link=self.group_link(grouped),
                    translate=translated,
                )
            diagram["alt"] = self.options.get("alt", f"RabbitMQ topology from {source}")
            self.size(diagram)
            diagram += nodes.literal_block(text := to_text(built, grouped), text)
            targets.diagram(diagram, built)
            self.set_source_info(diagram)
            # (figure_wrapper is typed for graphviz nodes; it reads only what every node has)
            result.append(figure_wrapper(self, diagram, caption)  # type: ignore[arg-type]
                          if caption else diagram)
            if grouped is not None and grouped.groups:
                # what the summary nodes stand for, each row the target of its node's link
                table = table_node(groups_table(built, grouped, title="Groups",
                                                row_id=self.groups_anchor),
                                   caption=caption, source=self.get_source_info())
                self.set_source_info(table)
                result.append(table)
        for kind in SHOW_CHOICES[1:]:
            if kind in show:
                title, build_table = _TABLES[kind]
                note = None
                if kind == "queues" and topology.taken_at is not None:
                    note = translated("(as of {time})").format(time=topology.taken_at)
                full = build_table(built, title=title)
                shown: Node = table_node(full, targets.row_id, link_names=True,
                                         caption=caption, note=note,
                                         source=self.get_source_info())
                budget = config.rabbitmq_topology_table_row_budget
                if kind == "bindings" and len(full.rows) > budget:
                    # too long to read through: by source, the whole of it folded below
                    short = table_node(bindings_by_source(
                        built, title=f"{title}, by source exchange"), caption=caption,
                        source=self.get_source_info())
                    self.set_source_info(short)
                    result.append(short)
                    summary = translated("All {count} bindings").format(count=len(full.rows))
                    shown = details_node(summary, shown)
                self.set_source_info(shown)
                result.append(shown)
        if result:
            self.add_name(result[0])
        return result


    def grouped(self, source: str, built: list, selection: Selection) -> Grouped | None:
        """The diagram's groups past its node budget (or as :collapse: names them), said
        once as an info message; a warning when it is over the budget even so."""
        budget = self.options.get("node-budget", self.config.rabbitmq_topology_node_budget)
        collapse = self.options.get("collapse", Collapse())
        grouped = group_views(built, collapse, budget,
                              show_default_exchange=selection.default_exchange)
        if grouped is None:
            return None
        self.groups_anchor = f"rabbitmq-groups-{self.env.new_serialno('rabbitmq-groups')}"
        if grouped.changed:
            # grouping is what the budget asks for, so a note: no one needs to act on it
            logger.info(visible(
                f"rabbitmq-topology: {source}: grouped for the node budget "
                f"({budget_text(budget)}; :node-budget: or rabbitmq_topology_node_budget): "
                f"{grouped_text(grouped)}; "
                ":collapse: none or a larger :node-budget: draws every one, :focus: or "
                ":include: draws a part"), location=self.get_location())
        if grouped.over_budget:
            self.warn(f"{source}: the diagram has {grouped.nodes_after} nodes even after "
                      f"grouping, more than its node budget ({budget}), too many to read; "
                      "draw a part with :focus: or :include:, group more with :collapse: "
                      "GLOB, or raise :node-budget:", subtype="node-budget")
        return grouped

    def group_link(self, grouped: Grouped | None) -> Callable[[Group], str] | None:
        """A summary node's link to its row of the groups table, on this page: the page's
        address is put before it when the image is written (`layouts.page_links`)."""
        if grouped is None:
            return None
        rows = {id(group): index for index, group in enumerate(grouped.groups, 1)}
        anchor = self.groups_anchor
        return lambda group: f"#{anchor}-{rows[id(group)]}"


class RabbitmqProblemCodes(SphinxDirective):
    """A table of every problem code, generated from the catalogue so it cannot go stale."""

    def run(self) -> list[Node]:
        from ..output.tables import catalog_table

        table = table_node(catalog_table())
        self.set_source_info(table)
        return [table]
