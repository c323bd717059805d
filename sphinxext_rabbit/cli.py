"""The sphinxext-rabbit command: the directive's pipeline without Sphinx."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .model import ERROR, Problem, Topology
from .select import PatternError, Selection, parse_patterns, views
from .sources import (
    PASSWORD_ENV,
    USER_ENV,
    Broker,
    SourceError,
    brokers_from_config,
    merge,
    parse_spec,
    read_live,
    read_path,
)
from .uris import redact

_RENDER_FORMATS = ("svg", "png", "pdf")


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
    live.add_argument("--timeout", type=_seconds, help="seconds (default: 10)")
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
    parser.add_argument("--default-exchange", action="store_true",
                        help="draw the default exchange and its implicit bindings")
    parser.add_argument("--hide-temporary", action="store_true",
                        help="leave out exclusive and auto-delete queues")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sphinxext-rabbit",
        description="Draw, check and compare RabbitMQ topologies: definitions exports, "
                    "saved management-API output, Kubernetes manifests, live brokers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dot = commands.add_parser("dot", help="print the diagram as Graphviz DOT")
    render = commands.add_parser("render", help="draw the diagram into an svg/png/pdf file")
    edges = commands.add_parser("edges", help="print the resolved routing graph as JSON")
    for command in (dot, render, edges):
        _source_arguments(command)
        _selection_arguments(command)
    for command in (dot, render):
        command.add_argument("--layout", choices=("LR", "TB"), default="LR")
        command.add_argument("--legend", action="store_true", help="add a legend")
    render.add_argument("-o", "--output", required=True,
                        help="the image to write; its suffix picks svg, png or pdf")
    render.add_argument("--dot-command", default=None,
                        help="the Graphviz dot binary (default: dot, else graphviz-pure)")
    check = commands.add_parser(
        "check", help="list every problem; exit 1 when one of them is an error")
    _source_arguments(check)
    fetch = commands.add_parser(
        "fetch", help="save a live broker as a definitions file (a snapshot, no secrets)")
    fetch.add_argument("sources", nargs=1, metavar="BROKER",
                       help="a management URL, or a broker named in --conf")
    fetch.add_argument("-o", "--output", required=True, help="the JSON file to write")
    _source_arguments(fetch, several=False)
    diff = commands.add_parser(
        "diff", help="list what differs between two sources; exit 1 when they differ")
    diff.add_argument("left", metavar="A", help="a source, as for dot")
    diff.add_argument("right", metavar="B", help="another source")
    _source_arguments(diff, several=False)
    _selection_arguments(diff)
    return parser


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        vhosts=args.vhost,
        include=parse_patterns(getattr(args, "include", None)),
        exclude=parse_patterns(getattr(args, "exclude", None)),
        default_exchange=getattr(args, "default_exchange", False),
        hide_temporary=getattr(args, "hide_temporary", False),
    )


def _brokers(args: argparse.Namespace) -> dict[str, Broker]:
    if args.conf is None:
        return {}
    import runpy

    try:
        settings = runpy.run_path(args.conf).get("rabbitmq_topology_brokers", {})
    except Exception as exc:  # a conf.py can raise anything; say so, do not trace back
        raise SourceError(f"{args.conf}: cannot read it: {type(exc).__name__}: {exc}") from None
    return brokers_from_config(settings, os.path.dirname(os.path.abspath(args.conf)))


def _read(specs: list[str], args: argparse.Namespace) -> Topology:
    """The sources merged; a broker that cannot be fetched is an error problem."""
    from .fetch import FetchError

    brokers = _brokers(args)
    vhost_hint = args.vhost[0] if args.vhost and len(args.vhost) == 1 else None
    parts = []
    for spec in specs:
        target = parse_spec(spec, brokers)
        if isinstance(target, str):
            parts.append(read_path(target, vhost=vhost_hint))
            continue
        # what the command line gives wins over conf.py's settings of a named broker
        for setting in ("user", "password_env", "timeout", "cafile", "certfile", "keyfile"):
            if getattr(args, setting) is not None:
                setattr(target, setting, getattr(args, setting))
        try:
            parts.append(read_live(target, vhost=vhost_hint))
        except FetchError as exc:
            parts.append(Topology(source=target.name,
                                  problems=[Problem(ERROR, "fetch", str(exc))]))
    return merge(parts, source=" + ".join(redact(spec) for spec in specs))


def _report(source: str, problems: list[Problem]) -> bool:
    """Print problems to stderr; true when one of them is an error."""
    for problem in problems:
        print(format_problem(source, problem), file=sys.stderr)
    return any(p.severity == ERROR for p in problems)


def _unreadable(problems: list[Problem]) -> bool:
    return any(p.code in ("parse", "io", "vhost", "fetch") and p.severity == ERROR
               for p in problems)


def main(argv: list[str] | None = None) -> int:
    try:
        return _run(_parser().parse_args(argv))
    except BrokenPipeError:
        # the reader went away (| head): point stdout at nothing, so the exit flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "diff":
            return _diff(args)
        selection = _selection(args)
        topology = _read(args.sources, args)
    except (PatternError, SourceError) as exc:
        print(f"sphinxext-rabbit: {exc}", file=sys.stderr)
        return 2
    if args.command == "fetch":
        return _fetch(topology, args.output)
    built, problems = views(topology, selection)
    has_errors = _report(topology.source, problems)
    if args.command == "check":
        return 1 if has_errors else 0
    if _unreadable(problems):
        return 1
    if args.command == "edges":
        edges = [edge.as_dict() for view in built for edge in view.edges]
        json.dump(edges, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    from .graph import to_dot

    dot = to_dot(built, layout=args.layout, legend=args.legend,
                 show_default_exchange=args.default_exchange)
    if args.command == "dot":
        sys.stdout.write(dot)
        return 0
    return _render(dot, args.output, args.dot_command)


def _render(dot: str, output: str, dot_command: str | None) -> int:
    import subprocess

    from .dotbin import find_dot

    image_format = os.path.splitext(output)[1].lstrip(".").lower()
    if image_format not in _RENDER_FORMATS:
        print(f"sphinxext-rabbit: cannot tell the image format of {output!r}; "
              f"use a name ending in .{', .'.join(_RENDER_FORMATS)}", file=sys.stderr)
        return 2
    binary = find_dot(dot_command or "dot")
    if binary is None:
        print("sphinxext-rabbit: Graphviz is not installed: install the 'graphviz' system "
              "package, or pip install 'sphinxext-rabbit[dot]'", file=sys.stderr)
        return 1
    if not binary.supports(image_format):
        print(f"sphinxext-rabbit: {binary.name} cannot write {image_format}; install the "
              "'graphviz' system package for it", file=sys.stderr)
        return 1
    completed = subprocess.run([binary.path, f"-T{image_format}", f"-o{output}"],
                               input=dot.encode(), capture_output=True, check=False)
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip()
        print(f"sphinxext-rabbit: {binary.name} failed: {message}", file=sys.stderr)
        return 1
    return 0


def _fetch(topology: Topology, output: str) -> int:
    """Write the fetched broker as a definitions file; nothing when it could not be read."""
    if _report(topology.source, topology.problems):
        return 1
    from .export import write_definitions

    write_definitions(topology, output)
    counts = (f"{len(topology.exchanges)} exchanges, {len(topology.queues)} queues, "
              f"{len(topology.bindings)} bindings")
    print(f"sphinxext-rabbit: wrote {output} ({counts}, taken {topology.taken_at})",
          file=sys.stderr)
    return 0


def _diff(args: argparse.Namespace) -> int:
    """Exit 0 when the two sources draw the same, 1 when they differ, 2 when one is unusable."""
    from .diff import differences

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
    for difference in found:
        print(difference.sentence(left, right))
    return 1 if found else 0
