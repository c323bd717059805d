"""The sphinxext-rabbit command: the directive's pipeline without Sphinx."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .load import load
from .model import ERROR, Problem
from .select import PatternError, Selection, parse_patterns, views

_RENDER_FORMATS = ("svg", "png", "pdf")


def format_problem(source: str, problem: Problem) -> str:
    """``file:line: severity: message [rabbitmq.code]`` — the shape compilers use."""
    where = f"{source}:{problem.line}" if problem.line is not None else source
    if problem.line is None and problem.where:
        where = f"{where} ({problem.where})"
    return f"{where}: {problem.severity}: {problem.message} [rabbitmq.{problem.code}]"


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="definitions export (JSON or YAML)")
    parser.add_argument("--vhost", action="append",
                        help="only this vhost (repeatable); default: every vhost")
    parser.add_argument("--include", action="append",
                        help="comma-separated name globs to keep ('re:' for a regex)")
    parser.add_argument("--exclude", action="append",
                        help="comma-separated name globs to leave out ('re:' for a regex)")
    parser.add_argument("--default-exchange", action="store_true",
                        help="draw the default exchange and its implicit bindings")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sphinxext-rabbit",
        description="Draw and check RabbitMQ topologies from definitions exports.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dot = commands.add_parser("dot", help="print the diagram as Graphviz DOT")
    _selection_arguments(dot)
    _diagram_arguments(dot)
    render = commands.add_parser("render", help="draw the diagram into an svg/png/pdf file")
    _selection_arguments(render)
    _diagram_arguments(render)
    render.add_argument("-o", "--output", required=True,
                        help="the image to write; its suffix picks svg, png or pdf")
    render.add_argument("--dot-command", default=None,
                        help="the Graphviz dot binary (default: dot, else graphviz-pure)")
    check = commands.add_parser(
        "check", help="list every problem; exit 1 when one of them is an error")
    check.add_argument("file", help="definitions export (JSON or YAML)")
    check.add_argument("--vhost", action="append", help="only this vhost (repeatable)")
    edges = commands.add_parser("edges", help="print the resolved routing graph as JSON")
    _selection_arguments(edges)
    return parser


def _diagram_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layout", choices=("LR", "TB"), default="LR")
    parser.add_argument("--legend", action="store_true", help="add a legend")


def _build(args: argparse.Namespace) -> tuple[list, list[Problem]]:
    selection = Selection(
        vhosts=args.vhost,
        include=parse_patterns(getattr(args, "include", None)),
        exclude=parse_patterns(getattr(args, "exclude", None)),
        default_exchange=getattr(args, "default_exchange", False),
    )
    vhost_hint = args.vhost[0] if args.vhost and len(args.vhost) == 1 else None
    topology = load(args.file, vhost=vhost_hint)
    return views(topology, selection)


def _report(source: str, problems: list[Problem]) -> bool:
    """Print problems to stderr; true when one of them is an error."""
    for problem in problems:
        print(format_problem(source, problem), file=sys.stderr)
    return any(p.severity == ERROR for p in problems)


def _unreadable(problems: list[Problem]) -> bool:
    return any(p.code in ("parse", "io", "vhost") and p.severity == ERROR for p in problems)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        built, problems = _build(args)
    except PatternError as exc:
        print(f"sphinxext-rabbit: {exc}", file=sys.stderr)
        return 2
    has_errors = _report(args.file, problems)
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
