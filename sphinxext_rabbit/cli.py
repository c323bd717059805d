"""The sphinxext-rabbit command: the directive's pipeline without Sphinx."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import installed_version
from .sources import (
    PASSWORD_ENV,
    USER_ENV,
    Broker,
    SourceError,
    brokers_from_config,
    forget_parsed,
    merge,
    parse_spec,
    read_live,
    read_path,
)
from .sources.uris import redact
from .topology.model import ERROR, Problem, Topology, VhostTopology
from .topology.records import replace
from .topology.select import (
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

if TYPE_CHECKING:
    from .output.grouping import Grouped

_RENDER_FORMATS = ("svg", "png", "pdf", "mmd")
#: what `render` writes as text itself, without Graphviz
_MERMAID_FORMAT = "mmd"


def say(text: str) -> None:
    """Print one message line to stderr: text from the input in it (names, file names, a
    broker's reason) is shown escaped, so it cannot forge lines or colours in a terminal
    or a CI log."""
    from .output.wording import visible

    print(visible(text), file=sys.stderr)


def format_problem(source: str, problem: Problem) -> str:
    """``file:line: severity: message [rabbitmq.code]`` — the shape compilers use."""
    source = problem.source or source
    where = f"{source}:{problem.line}" if problem.line is not None else source
    if problem.line is None and problem.where:
        where = f"{where} ({problem.where})"
    return f"{where}: {problem.severity}: {problem.message} [rabbitmq.{problem.code}]"


def _source_arguments(parser: argparse.ArgumentParser, *, several: bool = True) -> None:
    if several:
        parser.add_argument(
            "sources", nargs="+", metavar="SOURCE",
            help="a definitions export (JSON or YAML), saved management-API output, "
                 "Kubernetes manifests (a file or a folder), a management URL, or a broker "
                 "named in --conf; several merge, later ones overriding")
    parser.add_argument("--vhost", action="append",
                        help="only this vhost (repeatable); default: every vhost")
    live = parser.add_argument_group("live brokers")
    live.add_argument("--user", help=f"management user (default: ${USER_ENV})")
    live.add_argument("--password-env", metavar="NAME",
                      help="the environment variable that holds the password (default: "
                           f"{PASSWORD_ENV}); never give a password as an argument")
    live.add_argument("--timeout", type=_seconds,
                      help="seconds each request may take (default: 10)")
    live.add_argument("--deadline", type=_seconds, metavar="SECONDS",
                      help="seconds the whole fetch of a broker may take (default: 600)")
    live.add_argument("--cafile", help="CA bundle that verifies the broker's certificate")
    live.add_argument("--certfile", help="client certificate (PEM)")
    live.add_argument("--keyfile", help="client certificate's key (PEM)")
    live.add_argument("--conf", metavar="CONF_PY",
                      help="a Sphinx conf.py whose rabbitmq_topology_brokers name brokers")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include", action="append",
                        help="comma-separated name globs to keep ('re:' for a regex)")
    parser.add_argument("--exclude", action="append",
                        help="comma-separated name globs to leave out ('re:' for a regex)")
    parser.add_argument("--focus", action="append", metavar="NAME",
                        help="comma-separated exchange or queue names: keep what is within "
                             "--depth hops of them (repeatable)")
    parser.add_argument("--depth", metavar="N",
                        help="hops from --focus to keep (default: any number)")
    parser.add_argument("--direction", metavar="WAY",
                        help="which way --focus follows messages: down, up, or both (the "
                             "default)")
    parser.add_argument("--view", metavar="NAME",
                        help="a view of --conf's rabbitmq_topology_views; the flags given "
                             "here override its settings")
    parser.add_argument("--default-exchange", action="store_true",
                        help="draw the default exchange and its implicit bindings")
    parser.add_argument("--hide-temporary", action="store_true",
                        help="leave out exclusive and auto-delete queues")


def _drawing_arguments(parser: argparse.ArgumentParser) -> None:
    _source_arguments(parser)
    _selection_arguments(parser)
    parser.add_argument("--layout", choices=("LR", "TB"), default="LR")
    parser.add_argument("--legend", action="store_true", help="add a legend")
    _grouping_arguments(parser)


def _grouping_arguments(parser: argparse.ArgumentParser) -> None:
    from .output.grouping import DEFAULT_NODE_BUDGET

    parser.add_argument("--collapse", default="auto", metavar="MODE",
                        help="group alike queues (and, if need be, exchanges) into summary "
                             "nodes: auto past the node budget, none never, or GLOB[,GLOB]: "
                             "the queues the globs match (default: auto)")
    parser.add_argument("--node-budget", type=_positive, default=DEFAULT_NODE_BUDGET,
                        metavar="N", help="nodes a diagram draws before it groups "
                                          f"(default: {DEFAULT_NODE_BUDGET})")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


def _render_arguments(parser: argparse.ArgumentParser) -> None:
    from .output.graphviz import DEFAULT_TIMEOUT, MAX_SIDE

    _drawing_arguments(parser)
    parser.add_argument("-o", "--output", required=True,
                        help="the image to write; its suffix picks svg, png or pdf, or "
                             ".mmd for Mermaid text")
    parser.add_argument("--dot-command", default=None,
                        help="the Graphviz dot binary (default: dot, else graphviz-pure)")
    parser.add_argument("--dot-timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                        metavar="SECONDS",
                        help="seconds the layout may take before dot is stopped and "
                             f"nothing is written (default: {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--max-side", type=_positive, default=MAX_SIDE, metavar="PT",
                        help="the longest side, in points, of a picture that is written; "
                             "a larger one is too small to read once shown whole "
                             f"(default: {MAX_SIDE})")


def _mermaid_arguments(parser: argparse.ArgumentParser) -> None:
    _source_arguments(parser)
    _selection_arguments(parser)
    parser.add_argument("--layout", choices=("LR", "TB"), default="LR")
    _grouping_arguments(parser)


def _edges_arguments(parser: argparse.ArgumentParser) -> None:
    _source_arguments(parser)
    _selection_arguments(parser)


def _fetch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs=1, metavar="BROKER",
                        help="a management URL, or a broker named in --conf")
    parser.add_argument("-o", "--output", required=True, help="the JSON file to write")
    _source_arguments(parser, several=False)


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("left", metavar="A", help="a source, as for dot")
    parser.add_argument("right", metavar="B", help="another source")
    _source_arguments(parser, several=False)
    _selection_arguments(parser)


def _route_arguments(parser: argparse.ArgumentParser) -> None:
    _source_arguments(parser)
    message = parser.add_argument_group("the message (--vhost: exactly one)")
    message.add_argument("--exchange", required=True,
                         help='the exchange it is published to ("" is the default exchange)')
    message.add_argument("--routing-key", default="", metavar="K")
    message.add_argument("--headers", metavar="JSON",
                         help='headers as a JSON object, values keeping their types: '
                              '\'{"n": 1}\' is not \'{"n": "1"}\'')
    message.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                         help="a header with a string value (repeatable)")
    message.add_argument("--cc", action="append", default=[], metavar="K",
                         help="an extra routing key, as the CC header adds (repeatable)")
    message.add_argument("--bcc", action="append", default=[], metavar="K",
                         help="an extra routing key, as the BCC header adds (repeatable)")
    parser.add_argument("--dead-letter", action="store_true",
                        help="also follow, from each queue reached, where it dead-letters")
    parser.add_argument("--json", action="store_true", help="answer as one JSON object")


#: command -> (help, what adds its arguments)
_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "dot": ("print the diagram as Graphviz DOT", _drawing_arguments),
    "mermaid": ("print the diagram as a Mermaid flowchart", _mermaid_arguments),
    "render": ("draw the diagram into an svg/png/pdf file, or Mermaid text (.mmd)",
               _render_arguments),
    "edges": ("print the resolved routing graph as JSON", _edges_arguments),
    "check": ("list every problem; exit 1 when one of them is an error", _source_arguments),
    "fetch": ("save a live broker as a definitions file (a snapshot, no secrets)",
              _fetch_arguments),
    "diff": ("list what differs between two sources; exit 1 when they differ",
             _diff_arguments),
    "route": ("tell which queues a message lands in, and why", _route_arguments),
}


class _VersionAction(argparse.Action):
    """``--version``, as argparse's own, but reading the installed version only when it is
    asked for: reading it costs more than the rest of a command's start-up."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"{parser.prog} {installed_version()}")
        parser.exit()


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of *command* only: argparse's set-up costs a run
    about as much as drawing a small export, and one command's help and errors do not
    involve the others."""
    parser = argparse.ArgumentParser(
        prog="sphinxext-rabbit",
        description="Draw, check and compare RabbitMQ topologies: definitions exports, "
                    "saved management-API output, Kubernetes manifests, live brokers.")
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments) in _COMMANDS.items():
        if command in (None, name):
            add_arguments(commands.add_parser(name, help=help_text))
    return parser


#: the settings of a view the command line takes, by its flags' names
_VIEW_FLAGS = ("vhost", "include", "exclude", "focus", "depth", "direction",
               "default-exchange", "hide-temporary", "layout", "legend")


def _apply_view(args: argparse.Namespace) -> None:
    """Fill the flags not given from the view ``--view`` names in ``--conf``'s
    rabbitmq_topology_views; a key the command line has no flag for is said and ignored."""
    name = getattr(args, "view", None)
    if name is None:
        return
    if args.conf is None:
        raise SourceError("--view needs --conf CONF_PY, whose rabbitmq_topology_views "
                          "names the view")
    configured = _conf(args.conf).get("rabbitmq_topology_views", {})
    settings = configured.get(name) if isinstance(configured, dict) else None
    if not isinstance(settings, dict):
        known = ", ".join(repr(v) for v in sorted(configured)) if isinstance(
            configured, dict) and configured else "none"
        raise SourceError(f"view {name!r} is not in rabbitmq_topology_views of {args.conf} "
                          f"(it has: {known}){close_to(name, configured or ())}")
    for key, value in settings.items():
        if key not in _VIEW_FLAGS or not hasattr(args, dest := key.replace("-", "_")):
            say(f"sphinxext-rabbit: view {name!r}: {key!r} is not used by the command line; "
                "ignored")
            continue
        if getattr(args, dest) not in (None, False):
            continue  # given on the command line
        if isinstance(getattr(args, dest), bool):  # a flag
            if not isinstance(value, bool):
                raise PatternError(f"view {name!r}: {key}: {value!r} is not true or false")
            setattr(args, dest, value)
            continue
        text = view_option_text(value)
        if key == "layout":
            if text.upper() not in ("LR", "TB"):
                raise PatternError(f"view {name!r}: layout {text!r} is not LR or TB")
            text = text.upper()
        setattr(args, dest, [text] if key in ("vhost", "include", "exclude", "focus")
                else text)


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        vhosts=args.vhost,
        include=parse_patterns(getattr(args, "include", None)),
        exclude=parse_patterns(getattr(args, "exclude", None)),
        default_exchange=getattr(args, "default_exchange", False),
        hide_temporary=getattr(args, "hide_temporary", False),
        focus=parse_names(getattr(args, "focus", None)),
        depth=parse_depth(getattr(args, "depth", None)),
        direction=parse_direction(getattr(args, "direction", None)),
    )


def _brokers(args: argparse.Namespace) -> dict[str, Broker]:
    if args.conf is None:
        return {}
    settings = _conf(args.conf).get("rabbitmq_topology_brokers", {})
    return brokers_from_config(settings, os.path.dirname(os.path.abspath(args.conf)))


_conf_settings: dict[str, dict[str, Any]] = {}


def _conf(path: str) -> dict[str, Any]:
    """The names a conf.py sets, run once."""
    if path not in _conf_settings:
        import runpy

        try:
            _conf_settings[path] = runpy.run_path(path)
        except Exception as exc:  # a conf.py can raise anything; say so, do not trace back
            raise SourceError(f"{path}: cannot read it: {type(exc).__name__}: {exc}") from None
    return _conf_settings[path]


def _read(specs: list[str], args: argparse.Namespace) -> Topology:
    """The sources merged; a broker that cannot be fetched is an error problem."""
    brokers = _brokers(args)
    vhost_hint = args.vhost[0] if args.vhost and len(args.vhost) == 1 else None
    parts = []
    for spec in specs:
        target = parse_spec(spec, brokers)
        if isinstance(target, str):
            parts.append(read_path(target, vhost=vhost_hint))
        else:
            parts.append(_read_broker(target, args, vhost_hint))
    # a command reads a file once: its parsed document (the whole export, every vhost) goes
    # now rather than at exit, where the interpreter's last collection would walk all of it
    forget_parsed()
    return merge(parts, source=" + ".join(redact(spec) for spec in specs))


def _read_broker(broker: Broker, args: argparse.Namespace, vhost: str | None) -> Topology:
    # imported here: the HTTP client's imports would cost every file-only run a tenth of it
    from .sources.fetch import FetchError

    # what the command line gives wins over conf.py's settings of a named broker
    broker = replace(broker, **{
        setting: getattr(args, setting)
        for setting in ("user", "password_env", "timeout", "deadline", "cafile", "certfile",
                        "keyfile")
        if getattr(args, setting) is not None})
    try:
        return read_live(broker, vhost=vhost)
    except FetchError as exc:
        return Topology(source=broker.name, problems=[Problem(ERROR, "fetch", str(exc))])


def _report(source: str, problems: list[Problem]) -> bool:
    """Print problems to stderr; true when one of them is an error."""
    for problem in problems:
        say(format_problem(source, problem))
    return any(p.severity == ERROR for p in problems)


def _unreadable(problems: list[Problem]) -> bool:
    return any(p.code in ("parse", "io", "vhost", "fetch") and p.severity == ERROR
               for p in problems)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in _COMMANDS else None
    try:
        return _run(_parser(command).parse_args(argv))
    except _OutputError as exc:
        say(f"sphinxext-rabbit: cannot write to standard output: {exc}")
        return 1


class _OutputError(Exception):
    """Standard output cannot be written: closed, full, or its reader gone (``| head``)."""


def _write_out(text: str) -> None:
    """Write to stdout now, so that a failure is told here rather than lost at exit."""
    if sys.stdout is None:  # started with it closed
        raise _OutputError("it is closed")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:  # BrokenPipeError too
        _quiet_stdout()
        raise _OutputError(exc.strerror or str(exc)) from None


def _quiet_stdout() -> None:
    """Point stdout at nothing, so that what is left in its buffer goes quietly."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run() -> None:
    """The installed command and ``python -m``: `main`, and its exit code."""
    # The cycle collector: off, as a run makes no cycles, and what the imports made frozen,
    # which the collections the interpreter makes as it exits then pass over (8% of a
    # 20,000-entity dot's instructions together; bench/instructions.sh)
    gc.disable()
    gc.freeze()
    code = main()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()  # what argparse's help left
    except OSError:
        _quiet_stdout()
        code = code or 1
    if sys.stderr is not None:
        sys.stderr.flush()
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
    try:
        _apply_view(args)
        if args.command == "diff":
            return _diff(args)
        selection = _selection(args)
        topology = _read(args.sources, args)
    except (PatternError, SourceError) as exc:
        say(f"sphinxext-rabbit: {exc}")
        return 2
    if args.command == "fetch":
        return _fetch(topology, args.output)
    if args.command == "route":
        return _route(topology, args)
    built, problems = views(topology, selection)
    has_errors = _report(topology.source, problems)
    if args.command == "check":
        from .output.wording import visible

        if has_errors:  # the errors are the answer
            return 1
        _write_out(f"{visible(topology.source)}: {_summary(problems)}\n")
        return 0
    if _unreadable(problems):
        return 1
    if args.command == "edges":
        from .output.wording import visible_json

        edges = [edge.as_dict() for view in built for edge in view.edges]
        _write_out(visible_json(json.dumps(edges, ensure_ascii=False, indent=2,
                                           sort_keys=True)) + "\n")
        return 0
    try:
        grouped = _grouped(built, topology.source, args)
    except ValueError as exc:
        say(f"sphinxext-rabbit: --collapse: {exc}")
        return 2
    if args.command == "mermaid" or _image_format(args) == _MERMAID_FORMAT:
        return _mermaid(built, args, grouped)
    from .output.dot import to_dot

    dot = to_dot(built, layout=args.layout, legend=args.legend,
                 show_default_exchange=args.default_exchange, grouped=grouped)
    if args.command == "dot":
        _write_out(dot)
        return 0
    return _render(dot, topology.source, args)


def _grouped(built: list[VhostTopology], source: str, args: argparse.Namespace) -> Grouped | None:
    """The diagram's groups, as the directive makes them: said as a note on stderr, with a
    node-budget warning when it is over the budget even so."""
    from .output.grouping import group_views, parse_collapse
    from .output.wording import budget_text, grouped_text
    from .topology.model import WARNING

    budget = args.node_budget
    grouped = group_views(built, parse_collapse(args.collapse), budget,
                          show_default_exchange=args.default_exchange)
    if grouped is None:
        return None
    if grouped.changed:
        say(f"{source}: note: grouped for the node budget ({budget_text(budget)}; "
            "--node-budget): "
            f"{grouped_text(grouped)}; --collapse none or a larger --node-budget draws every "
            "one, --focus or --include draws a part")
    if grouped.over_budget:
        _report(source, [Problem(
            WARNING, "node-budget", f"the diagram has {grouped.nodes_after} nodes even after "
            f"grouping, more than its node budget ({budget}), too many to read; draw a part "
            "with --focus or --include, group more with --collapse GLOB, or raise "
            "--node-budget")])
    return grouped


def _render(dot: str, source: str, args: argparse.Namespace) -> int:
    from .output.graphviz import DotFailed, DotTimeout, DotTooLarge, draw, find_dot
    from .topology.model import WARNING

    output = args.output
    image_format = _image_format(args)
    if image_format not in _RENDER_FORMATS:
        say(f"sphinxext-rabbit: cannot tell the image format of {output!r}; "
            f"use a name ending in .{', .'.join(_RENDER_FORMATS)}")
        return 2
    binary = find_dot(args.dot_command or "dot")
    if binary is None:
        say("sphinxext-rabbit: Graphviz is not installed: install the 'graphviz' system "
            "package, or pip install 'sphinxext-rabbit[dot]'")
        return 1
    if not binary.supports(image_format):
        say(f"sphinxext-rabbit: {binary.name} cannot write {image_format}; install the "
            "'graphviz' system package for it")
        return 1
    timeout = args.dot_timeout
    try:
        messages = draw(binary, dot, image_format, output, timeout=timeout,
                        max_side=args.max_side)
    except DotTooLarge as exc:
        _report(source, [Problem(
            ERROR, "limit", f"the picture would be {exc.width:g} × {exc.height:g} pt, more than "
            f"--max-side ({args.max_side} pt) on a side, too small to read once shown whole, "
            f"so {output} was not written; draw a part with --focus or --include, group more "
            "with --collapse GLOB or a smaller --node-budget, or raise --max-side")])
        return 1
    except DotTimeout:
        _report(source, [Problem(
            ERROR, "limit", f"{binary.name} did not lay out the diagram in {timeout:g} s "
            f"(--dot-timeout), so {output} was not written; draw a part with --focus, or "
            "narrow it with --vhost, --include or --exclude, or raise --dot-timeout")])
        return 1
    except DotFailed as exc:
        say(f"sphinxext-rabbit: {binary.name} failed: {exc}")
        return 1
    _report(source, [Problem(WARNING, "dot-warning", message) for message in messages])
    return 0


def _image_format(args: argparse.Namespace) -> str | None:
    """What ``render -o`` is to write, by the output's suffix; None for other commands."""
    output = getattr(args, "output", None)
    if args.command != "render" or output is None:
        return None
    return os.path.splitext(output)[1].lstrip(".").lower()


def _mermaid(built: list[VhostTopology], args: argparse.Namespace,
             grouped: Grouped | None) -> int:
    """Print the Mermaid flowchart, or write it to ``render -o``'s file."""
    from .output.mermaid import to_mermaid

    text = to_mermaid(built, layout=args.layout, show_default_exchange=args.default_exchange,
                      grouped=grouped)
    if args.command == "mermaid":
        _write_out(text)
        return 0
    if args.legend:
        say("sphinxext-rabbit: --legend is not drawn in Mermaid output; writing it without")
    try:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        say(f"sphinxext-rabbit: cannot write {args.output}: {exc.strerror or exc}")
        return 1
    return 0


def _summary(problems: list[Problem]) -> str:
    """What a successful check found: ``no problems``, ``no errors, 1 warning``, ..."""
    if not problems:
        return "no problems"
    return f"no errors, {len(problems)} warning{'s' if len(problems) > 1 else ''}"


def _fetch(topology: Topology, output: str) -> int:
    """Write the fetched broker as a definitions file; nothing when it could not be read."""
    if _report(topology.source, topology.problems):
        return 1
    from .output.definitions import write_definitions

    try:
        write_definitions(topology, output)
    except OSError as exc:
        say(f"sphinxext-rabbit: cannot write {output}: {exc.strerror or exc}")
        return 1
    counts = (f"{len(topology.exchanges)} exchanges, {len(topology.queues)} queues, "
              f"{len(topology.bindings)} bindings")
    say(f"sphinxext-rabbit: wrote {output} ({counts}, taken {topology.taken_at})")
    return 0


def _diff(args: argparse.Namespace) -> int:
    """Exit 0 when the two sources draw the same, 1 when they differ, 2 when one is unusable."""
    from .output.wording import visible
    from .topology.diff import differences

    selection = _selection(args)
    sides = []
    for spec in (args.left, args.right):
        topology = _read([spec], args)
        built, problems = views(topology, selection)
        _report(topology.source, problems)
        if _unreadable(problems):
            return 2
        sides.append((redact(spec), built))
    (left, left_views), (right, right_views) = sides
    found = differences(left_views, right_views)
    _write_out("".join(f"{visible(difference.sentence(left, right))}\n" for difference in found))
    return 1 if found else 0


def _route(topology: Topology, args: argparse.Namespace) -> int:
    """Exit 0 with the answer, 1 when the source or the exchange is not there, 2 for a
    message the broker would refuse."""
    from .output.route_report import route_dict, route_lines
    from .topology.route import MessageError, Router, published

    if len(args.vhost or ()) != 1:
        print("sphinxext-rabbit: route needs exactly one --vhost", file=sys.stderr)
        return 2
    try:
        message = published(args.routing_key, _headers(args))
    except MessageError as exc:
        print(f"sphinxext-rabbit: {exc}", file=sys.stderr)
        return 2
    built, problems = views(topology, Selection(vhosts=args.vhost))
    _report(topology.source, problems)
    if _unreadable(problems) or not built:
        return 1
    router = Router(built[0])
    if router.exchange_type(args.exchange) is None:
        print(f"sphinxext-rabbit: exchange {args.exchange!r} does not exist in vhost "
              f"{args.vhost[0]!r}", file=sys.stderr)
        return 1
    route = router.publish(args.exchange, message)
    dead_letters = router.dead_letters(route) if args.dead_letter else None
    if args.json:
        json.dump(route_dict(route, dead_letters), sys.stdout, ensure_ascii=False, indent=2,
                  sort_keys=True)
        sys.stdout.write("\n")
    else:
        _report(topology.source, route.problems)
        sys.stdout.write("".join(line + "\n" for line in route_lines(built[0], route,
                                                                      dead_letters)))
    return 0


def _headers(args: argparse.Namespace) -> dict:
    """--headers (JSON, typed), then --header NAME=VALUE (strings), then --cc/--bcc."""
    from .topology.route import MessageError

    headers = {}
    if args.headers is not None:
        try:
            headers = json.loads(args.headers)
        except ValueError as exc:
            raise MessageError(f"--headers is not JSON: {exc}") from None
        if not isinstance(headers, dict):
            raise MessageError("--headers must be a JSON object")
    for item in args.header:
        name, equals, value = item.partition("=")
        if not equals:
            raise MessageError(f"--header {item!r} is not NAME=VALUE")
        headers[name] = value
    for name, keys in (("CC", args.cc), ("BCC", args.bcc)):
        if keys:
            earlier = headers.get(name, [])
            headers[name] = [*earlier, *keys] if isinstance(earlier, list) else earlier
    return headers
