"""Golden files: what a user gets from every source the tests, the sample and the corpus hold.

``tests/golden/<case>/`` holds, for one source (or a few sources and options), the output
of each command, byte for byte; ``tests/test_golden.py`` compares, and a refactor must
leave them unchanged. After an intended change of behaviour, rewrite them from the
checkout's root and review the diff::

    .venv/bin/python -m tests.golden --update

``tests/golden/README.md`` lists the files of a case and their format.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import io
import os
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

# The package's entry points the golden files go through: a refactor that moves them
# changes this block only.
from sphinxext_rabbit.cli import main as command_line
from sphinxext_rabbit.output.grouping import DEFAULT_NODE_BUDGET, Collapse, group_views
from sphinxext_rabbit.output.tables import (
    TABLE_ROW_BUDGET,
    bindings_by_source,
    bindings_table,
    exchanges_table,
    groups_table,
    policies_table,
    queues_table,
)
from sphinxext_rabbit.output.text import to_text
from sphinxext_rabbit.sources import merge, read_path
from sphinxext_rabbit.topology.select import Selection, parse_patterns, views
from tests.helpers import REAL_DEFINITIONS, ROOT

GOLDEN = ROOT / "tests" / "golden"
UPDATE_COMMAND = ".venv/bin/python -m tests.golden --update"
#: the trees whose every definitions-like file is a case, by the prefix of its case id
TREES = {
    "fixtures": ROOT / "tests" / "fixtures",
    "roots": ROOT / "tests" / "roots",
    "sample": ROOT / "sample_docs",
    "corpus": REAL_DEFINITIONS,
}
SOURCE_SUFFIXES = (".json", ".yaml", ".yml")
#: built documentation inside a tree is output, not a source
SKIPPED_FOLDERS = frozenset({"_build"})
#: the corpus sits outside the checkout; without it its cases are skipped, as in test_corpus
CORPUS_ABSENT = "../shared/definitions/real is absent"
#: the corpus's files may not be copied into the project (its SOURCES.md), and its outputs
#: would copy most of them: a corpus case keeps only their digests, in this file
DIGESTS = "SHA256SUMS"

#: the command runs of a case: (command line after the sources, the file of its stdout);
#: ``check`` comes first, as the others' warnings are compared with its own
RUNS = (
    (["check"], "check.stdout.txt"),
    (["dot"], "dot.dot"),
    (["dot", "--legend"], "dot-legend.dot"),
    (["dot", "--default-exchange"], "dot-default-exchange.dot"),
    (["dot", "--legend", "--default-exchange"], "dot-legend-default-exchange.dot"),
    (["edges"], "edges.json"),
    (["mermaid"], "mermaid.mmd"),
    (["mermaid", "--default-exchange"], "mermaid-default-exchange.mmd"),
)
TABLES = (bindings_table, queues_table, exchanges_table, policies_table)


@dataclass(frozen=True)
class Case:
    """Sources (paths relative to the checkout, as a user types them) and options."""

    id: str
    sources: tuple[str, ...]
    vhost: str | None = None
    include: str | None = None
    exclude: str | None = None
    hide_temporary: bool = False

    @property
    def tree(self) -> str:
        return self.id.split("__", 1)[0]

    def options(self, command: str) -> list[str]:
        """The options as flags of *command*: ``check`` selects nothing but the vhost."""
        flags = [] if self.vhost is None else ["--vhost", self.vhost]
        if command == "check":
            return flags
        for flag, value in (("--include", self.include), ("--exclude", self.exclude)):
            if value is not None:
                flags += [flag, value]
        return flags + (["--hide-temporary"] if self.hide_temporary else [])

    def selection(self) -> Selection:
        """The options as the directive gives them to the pipeline."""
        return Selection(vhosts=None if self.vhost is None else [self.vhost],
                         include=parse_patterns(self.include),
                         exclude=parse_patterns(self.exclude),
                         hide_temporary=self.hide_temporary)


#: sources read as folders, or several at once, or with options, as the tests and the
#: sample's pages read them (every single file is a case of its own anyway)
OTHER_CASES = (
    Case("fixtures__api__endpoints", ("tests/fixtures/api/endpoints",)),
    Case("fixtures__api__paged", ("tests/fixtures/api/paged",)),
    Case("fixtures__api__definitions.json__vhost-mgmt-fixture",
         ("tests/fixtures/api/definitions.json",), vhost="mgmt-fixture"),
    Case("fixtures__per-vhost-unmarked.json__vhost-payments",
         ("tests/fixtures/per-vhost-unmarked.json",), vhost="payments"),
    Case("fixtures__export-4.1.json__vhost-absent", ("tests/fixtures/export-4.1.json",),
         vhost="absent"),
    Case("fixtures__k8s__examples__federations", ("tests/fixtures/k8s/examples/federations",)),
    Case("fixtures__k8s__examples__shovels", ("tests/fixtures/k8s/examples/shovels",)),
    Case("fixtures__overlay", ("tests/fixtures/overlay",)),
    Case("fixtures__overlay__base.json+prod-overlay.json",
         ("tests/fixtures/overlay/base.json", "tests/fixtures/overlay/prod-overlay.json")),
    Case("sample__api", ("sample_docs/api",)),
    Case("sample__api__hide-temporary", ("sample_docs/api",), hide_temporary=True),
    Case("sample__k8s", ("sample_docs/k8s",)),
    Case("sample__broker__definitions.json__vhost-billing",
         ("sample_docs/broker/definitions.json",), vhost="billing"),
    Case("sample__broker__definitions.json__include-exclude",
         ("sample_docs/broker/definitions.json",), vhost="/", include="orders.*, audit.*",
         exclude="*.dead"),
    Case("sample__broker__definitions.json__include-regex",
         ("sample_docs/broker/definitions.json",), vhost="/",
         include=r"re:^(notifications|search)\."),
    Case("sample__broker__definitions.json+overlays__prod.json__vhost-shipping",
         ("sample_docs/broker/definitions.json", "sample_docs/overlays/prod.json"),
         vhost="shipping"),
)


def source_files(tree: Path) -> list[Path]:
    """Every definitions-like file under *tree*, sorted; none when the tree is absent."""
    found = []
    for folder, subfolders, names in os.walk(tree):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS)
        found += [Path(folder, name) for name in names if name.endswith(SOURCE_SUFFIXES)]
    return sorted(found)


def cases() -> list[Case]:
    """Every case whose sources are here: one per source file, then the others."""
    found = []
    for prefix, tree in TREES.items():
        for path in source_files(tree):
            case_id = "__".join([prefix, *path.relative_to(tree).parts])
            found.append(Case(case_id, (os.path.relpath(path, ROOT),)))
    return found + list(OTHER_CASES)


def _run(case: Case, command: list[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``sphinxext-rabbit COMMAND SOURCES OPTIONS``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            status = command_line([command[0], *case.sources, *case.options(command[0]),
                                   *command[1:]])
        except SystemExit as exit_:  # argparse refusing the command line
            status = exit_.code
    return status, stdout.getvalue(), stderr.getvalue()


def _plain(text: str) -> str:
    """A span's text with the characters that delimit spans and cells escaped."""
    for character in ("\\", "`", "|"):
        text = text.replace(character, "\\" + character)
    return text.replace("\n", "\\n")


def tables_text(built: list) -> str:
    """Each table: its title, its headers, then one line a row; cells apart by `` | ``,
    literal spans (names, keys, values) in backquotes. As the directive shows them: the
    groups of a diagram past its node budget first, the bindings by source exchange too
    past the row budget."""
    blocks = []
    tables = [build_table(built) for build_table in TABLES]
    if len(tables[0].rows) > TABLE_ROW_BUDGET:
        tables.insert(0, bindings_by_source(built))
    grouped = group_views(built, Collapse(), DEFAULT_NODE_BUDGET)
    if grouped is not None and grouped.groups:
        tables.insert(0, groups_table(built, grouped))
    for table in tables:
        lines = [f"## {table.title}", " | ".join(_plain(header) for header in table.headers)]
        for row in table.rows:
            lines.append(" | ".join(
                "".join(f"`{_plain(span.text)}`" if span.literal else _plain(span.text)
                        for span in cell)
                for cell in row))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def outputs(case: Case) -> dict[str, bytes]:
    """What every run of *case* gives: file name -> content."""
    files: dict[str, str] = {}
    statuses = []
    previous = os.getcwd()
    os.chdir(ROOT)  # the sources are named as a user in the checkout names them
    try:
        for command, stdout_file in RUNS:
            status, stdout, stderr = _run(case, command)
            statuses.append(f"{' '.join(command)}: {status}\n")
            if stdout:
                files[stdout_file] = stdout
            if command == ["check"]:
                files["check.txt"] = stderr
            elif stderr != files["check.txt"]:
                files[f"{Path(stdout_file).stem}.stderr.txt"] = stderr
        topology = merge([read_path(source, vhost=case.vhost) for source in case.sources],
                         source=" + ".join(case.sources))
        built, _problems = views(topology, case.selection())  # (check.txt has the problems)
    finally:
        os.chdir(previous)
    files["status.txt"] = "".join(statuses)
    files["text.txt"] = to_text(built, group_views(built, Collapse(), DEFAULT_NODE_BUDGET))
    files["tables.txt"] = tables_text(built)
    return {name: text.encode("utf-8") for name, text in sorted(files.items())}


def golden(case: Case) -> dict[str, bytes]:
    """What the golden folder of *case* holds: its outputs, or for the corpus their digests
    (in ``sha256sum`` format; ``--print`` shows an output itself)."""
    files = outputs(case)
    if case.tree != "corpus":
        return files
    digests = "".join(f"{hashlib.sha256(content).hexdigest()}  {name}\n"
                      for name, content in files.items())
    return {DIGESTS: digests.encode("utf-8")}


def stored(case_id: str) -> dict[str, bytes]:
    """The golden files of a case as they are on disk (none when it has no folder)."""
    folder = GOLDEN / case_id
    if not folder.is_dir():
        return {}
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def stored_case_ids() -> list[str]:
    return sorted(path.name for path in GOLDEN.iterdir() if path.is_dir())


def difference(case_id: str, expected: dict[str, bytes], actual: dict[str, bytes],
               *, shown_files: int = 3, shown_lines: int = 60) -> str:
    """What differs, as unified diffs of the first few differing files."""
    differing = sorted(name for name in expected.keys() | actual.keys()
                       if expected.get(name) != actual.get(name))
    lines = [f"golden files of {case_id} differ: {', '.join(differing)}"]
    for name in differing[:shown_files]:
        diff = list(difflib.unified_diff(
            expected.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True),
            actual.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True),
            f"tests/golden/{case_id}/{name}" if name in expected else "/dev/null",
            "now" if name in actual else "/dev/null"))
        if len(diff) > shown_lines:
            diff = [*diff[:shown_lines], f"... {len(diff) - shown_lines} more diff lines\n"]
        lines.append("".join(diff).rstrip("\n"))
    if DIGESTS in differing:
        lines.append("The corpus's outputs are kept as digests; print one with "
                     f"`.venv/bin/python -m tests.golden --print {case_id} FILE` (at both "
                     "commits, to compare).")
    lines.append(f"If the change is intended, run `{UPDATE_COMMAND}` and commit the diff.")
    return "\n".join(lines)


def update() -> None:
    """Rewrite every case's files; drop the folders of cases that are gone."""
    current = cases()
    wanted = {case.id for case in current}
    corpus_here = REAL_DEFINITIONS.is_dir()
    for case_id in stored_case_ids():
        if case_id not in wanted and (corpus_here or not case_id.startswith("corpus__")):
            shutil.rmtree(GOLDEN / case_id)
            print(f"removed {case_id}")
    for case in current:
        files = golden(case)
        if stored(case.id) == files:
            continue
        folder = GOLDEN / case.id
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        print(f"wrote {case.id}")
    if not corpus_here:
        print(f"corpus cases left as they were: {CORPUS_ABSENT}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.golden",
        description="Rewrite the golden files from what the code produces now (run from "
                    "the checkout's root); tests/test_golden.py compares them.")
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    parser.add_argument("--print", nargs=2, metavar=("CASE", "FILE"),
                        help="print one output of a case (a corpus case's too)")
    args = parser.parse_args(argv)
    if args.print:
        case_id, name = args.print
        found = {case.id: case for case in cases()}
        if case_id not in found:
            parser.error(f"no case {case_id!r} (its sources are not here?)")
        files = outputs(found[case_id])
        if name not in files:
            parser.error(f"case {case_id} has no {name!r}; it has {', '.join(files)}")
        sys.stdout.buffer.write(files[name])
    elif args.update:
        update()
    else:
        parser.error("nothing done without --update or --print; compare with "
                     ".venv/bin/python -m pytest tests/test_golden.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
