"""Sphinx builds with the extension against the same pages as plain graphviz blocks (issue 16).

Run: ``.venv/bin/python bench/build.py`` (``--rounds N``; ``--definitions FILE`` draws the
whole vhosts of FILE, page after page, instead of the generated subsystem export;
``--show diagram,bindings`` adds the bindings tables; ``--keep DIR`` keeps the projects).

Every build is a ``sphinx-build`` process; builds of different kinds run in turns, and the
least wall and the least CPU time (the process and its children: parallel readers, ``dot``)
of each kind is compared, so that the machine's changing load falls on all kinds alike.
``dot`` is a counting wrapper first on PATH, so each build says how many layouts it ran.
The extension's modules are compiled first, as an installed package's are: where
PYTHONDONTWRITEBYTECODE is set, each build would otherwise compile them again.
``--only builds`` runs the builds alone, ``--only memory`` the memory measure alone.

What is printed, with issue 16's targets:

* cold serial build, 40 pages, vs the same pages as ``.. graphviz::`` blocks of the same
  DOT: wall and CPU (target <= 1.15x);
* cold ``-j 2`` vs cold serial, 16 and 40 pages (target <= 0.65x wall), and what ``-j 2``
  gives the graphviz project, for reference; cold ``-j auto`` (40 pages);
* after editing one queue in one vhost, which pages a rebuild reads again (target: only
  those drawing that vhost);
* a no-op rebuild vs the graphviz project's, and how many ``dot`` runs (target: none);
* peak memory (traced Python allocations) of reading one page that draws the largest
  vhost with its bindings table (dummy builder), and of building it to HTML (reading and
  writing), vs ``json.load`` of the file (target <= 3x); and a cold HTML build's time.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import generate_subsystems, write  # noqa: E402
from bench.project import (  # noqa: E402
    DEFINITIONS,
    Page,
    subsystem_pages,
    whole_vhost_pages,
    write_project,
)

#: the DOT the wrapper below passes on to
REAL_DOT = shutil.which("dot")


def children_cpu() -> float:
    """CPU time of the finished children of this process, and of theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Build:
    wall: float
    cpu: float
    dot_runs: int
    reread: list[str]


@dataclass
class Project:
    """A source folder and its build folder, built by sphinx-build with a counting dot."""

    source: str
    pages: list[Page]
    bin_dir: str
    builds: dict[str, list[Build]] = field(default_factory=dict)

    @property
    def out(self) -> str:
        return os.path.join(self.source, "_build")

    def clean(self) -> None:
        shutil.rmtree(self.out, ignore_errors=True)

    def doctree_times(self) -> dict[str, int]:
        folder = os.path.join(self.out, "doctrees")
        return {page.name: os.stat(os.path.join(folder, f"{page.name}.doctree")).st_mtime_ns
                for page in self.pages
                if os.path.exists(os.path.join(folder, f"{page.name}.doctree"))}

    def build(self, kind: str, *, jobs: int | str = 1, cold: bool = True) -> Build:
        if cold:
            self.clean()
        before = self.doctree_times()
        counter = os.path.join(self.bin_dir, "count")
        open(counter, "w").close()
        environment = dict(os.environ, PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}")
        command = [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-j", str(jobs),
                   self.source, os.path.join(self.out, "html"),
                   "-d", os.path.join(self.out, "doctrees")]
        cpu = children_cpu()
        wall = time.perf_counter()
        completed = subprocess.run(command, env=environment, capture_output=True, text=True)
        wall = time.perf_counter() - wall
        cpu = children_cpu() - cpu
        if completed.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{completed.stderr}")
        if completed.stderr and kind not in self.builds:
            print(f"  ({self.source}: {completed.stderr.strip().splitlines()[0]} ...)")
        after = self.doctree_times()
        with open(counter) as stream:
            dot_runs = len(stream.readlines())
        build = Build(wall, cpu, dot_runs,
                      sorted(name for name, stamp in after.items() if before.get(name) != stamp))
        self.builds.setdefault(kind, []).append(build)
        return build

    def best(self, kind: str) -> Build:
        builds = self.builds[kind]
        return Build(min(b.wall for b in builds), min(b.cpu for b in builds),
                     builds[-1].dot_runs, builds[-1].reread)


def dot_wrapper(folder: str) -> str:
    """A folder holding ``dot``: a script that counts its runs in ``count`` beside it."""
    if REAL_DOT is None:
        sys.exit("Graphviz dot is not installed")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, "dot")
    with open(script, "w") as stream:
        stream.write(f'#!/bin/sh\necho run >> "{folder}/count"\nexec "{REAL_DOT}" "$@"\n')
    os.chmod(script, 0o755)
    return folder


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x"


def edit_one_queue(definitions: str, vhost: str) -> str | None:
    """Give the first queue of *vhost* in the file a new argument; the queue's name."""
    with open(definitions, encoding="utf-8") as stream:
        document = json.load(stream)
    for queue in document.get("queues", []):
        if queue.get("vhost") == vhost:
            queue.setdefault("arguments", {})["x-max-length"] = 4242
            write(document, definitions)
            return queue["name"]
    return None


PEAK_OF_JSON_LOAD = """
import json, sys, tracemalloc
tracemalloc.start()
with open(sys.argv[1], encoding="utf-8") as stream:
    json.load(stream)
print(tracemalloc.get_traced_memory()[1])
"""
#: builds the project with the builder named by the third argument (with its imports done):
#: the dummy builder reads and writes nothing, so runs no dot; html reads and writes. Prints
#: the build's wall and CPU time and, when the fourth argument is "trace", its traced peak
PEAK_OF_BUILDING = """
import sys, time, tracemalloc
from sphinx.application import Sphinx
source, out, builder, trace = sys.argv[1:5]
app = Sphinx(source, source, out + "/" + builder, out + "/doctrees", builder, status=None,
             warning=sys.stderr, freshenv=True)
if trace == "trace":
    tracemalloc.start()
wall, cpu = time.perf_counter(), time.process_time()
app.build()
print(time.perf_counter() - wall, time.process_time() - cpu, tracemalloc.get_traced_memory()[1])
"""


def traced(code: str, *arguments: str) -> list[float]:
    """The numbers *code* prints last (a peak, or times and a peak), *code* run in a
    process of its own with *arguments*."""
    completed = subprocess.run([sys.executable, "-c", code, *arguments], check=True,
                               capture_output=True, text=True)
    return [float(word) for word in completed.stdout.splitlines()[-1].split()]


def memory(definitions: str, vhost: str, folder: str) -> None:
    """The peak of reading (dummy builder), and of reading and writing (html), one page that
    draws *vhost* with its bindings table, vs json.load; and a cold HTML build's time."""
    big = Page("big", vhost, None)
    drawn = os.path.join(folder, "memory-page")
    empty = os.path.join(folder, "memory-empty")
    write_project(drawn, definitions, [big], graphviz=False, show="diagram, bindings")
    write_project(empty, definitions, [], graphviz=False)
    json_peak = traced(PEAK_OF_JSON_LOAD, definitions)[-1]
    for builder, doing in (("dummy", "reading"), ("html", "building (reading and writing)")):
        page_peak = traced(PEAK_OF_BUILDING, drawn, os.path.join(drawn, "_build"), builder,
                           "trace")[-1]
        empty_peak = traced(PEAK_OF_BUILDING, empty, os.path.join(empty, "_build"), builder,
                            "trace")[-1]
        print(f"peak memory, {doing} one page drawing vhost {vhost!r} with its bindings "
              f"table: {page_peak / 2**20:.1f} MiB ({(page_peak - empty_peak) / 2**20:.1f} "
              f"MiB more than an empty project), json.load {json_peak / 2**20:.1f} MiB -> "
              f"{ratio(page_peak, json_peak)} ({ratio(page_peak - empty_peak, json_peak)} "
              "without Sphinx's own) (target <= 3x)")
    # (tracing slows a build several times over: timed untraced)
    wall, cpu, _ = traced(PEAK_OF_BUILDING, drawn, os.path.join(drawn, "_build"), "html",
                          "time")
    print(f"  cold HTML build of that page: {wall:.2f} s wall, {cpu:.2f} s CPU "
          "(Sphinx's own start-up left out)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--definitions", help="a definitions file: pages draw its vhosts whole")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--show", default="diagram", help="the directive's :show:")
    parser.add_argument("--keep", help="build in this folder and keep it")
    parser.add_argument("--only", choices=("builds", "memory"), help="run only these")
    args = parser.parse_args()
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "sphinxext_rabbit"),
                           quiet=1)

    folder = args.keep or tempfile.mkdtemp(prefix="rabbit-build-bench-")
    os.makedirs(folder, exist_ok=True)
    definitions = os.path.join(folder, "definitions.json")
    if args.definitions:
        shutil.copyfile(args.definitions, definitions)
        with open(definitions, encoding="utf-8") as stream:
            document = json.load(stream)
        vhosts = sorted({q.get("vhost", "/") for q in document.get("queues", [])}
                        | {v["name"] for v in document.get("vhosts", [])}) or ["/"]
        pages = whole_vhost_pages(args.pages, vhosts)
    else:
        document = generate_subsystems()
        write(document, definitions)
        pages = subsystem_pages(args.pages)
    counts = {key: len(document.get(key, [])) for key in ("vhosts", "exchanges", "queues",
                                                          "bindings", "policies")}
    print(f"{args.definitions or 'generated subsystem export'}: "
          f"{os.path.getsize(definitions) / 1e6:.1f} MB, {counts}; {len(pages)} pages, "
          f":show: {args.show}; {args.rounds} rounds")
    if args.only != "memory":
        builds(args, folder, definitions, pages)
    if args.only != "builds":
        memory(definitions, max(pages, key=lambda page: sum(
            q.get("vhost") == page.vhost for q in document.get("queues", []))).vhost, folder)
    if not args.keep:
        shutil.rmtree(folder)
    return 0


def builds(args: argparse.Namespace, folder: str, definitions: str, pages: list[Page]) -> None:
    bin_dir = dot_wrapper(os.path.join(folder, "bin"))

    def project(name: str, pages: list[Page], graphviz: bool) -> Project:
        source = os.path.join(folder, name)
        write_project(source, definitions, pages, graphviz=graphviz, show=args.show)
        return Project(source, pages, bin_dir)

    few = pages[:16]
    rabbit = project("rabbit", pages, graphviz=False)
    plain = project("graphviz", pages, graphviz=True)
    rabbit_few = project("rabbit-16", few, graphviz=False)

    for _ in range(args.rounds):
        rabbit.build("cold")
        plain.build("cold")
        rabbit.build("cold -j 2", jobs=2)
        plain.build("cold -j 2", jobs=2)
        rabbit_few.build("cold")
        rabbit_few.build("cold -j 2", jobs=2)
        rabbit.build("cold -j auto", jobs="auto")
    for _ in range(args.rounds):  # (each project is built from the last cold build)
        rabbit.build("no-op", cold=False)
        plain.build("no-op", cold=False)

    serial, graphviz = rabbit.best("cold"), plain.best("cold")
    print(f"cold serial build, {len(pages)} pages: {serial.wall:.2f} s wall, {serial.cpu:.2f} s "
          f"CPU ({serial.dot_runs} dot runs); graphviz blocks {graphviz.wall:.2f} s wall, "
          f"{graphviz.cpu:.2f} s CPU ({graphviz.dot_runs} dot runs) -> "
          f"{ratio(serial.wall, graphviz.wall)} wall, {ratio(serial.cpu, graphviz.cpu)} CPU "
          "(target <= 1.15x)")
    for name, built in ((f"{len(few)}", rabbit_few), (f"{len(pages)}", rabbit)):
        one, two = built.best("cold"), built.best("cold -j 2")
        print(f"cold -j 2 vs serial, {name} pages: {two.wall:.2f} s vs {one.wall:.2f} s wall "
              f"-> {ratio(two.wall, one.wall)} (target <= 0.65x); CPU {two.cpu:.2f} s vs "
              f"{one.cpu:.2f} s -> {ratio(two.cpu, one.cpu)}")
    one, auto = rabbit.best("cold"), rabbit.best("cold -j auto")
    print(f"cold -j auto ({os.cpu_count()} CPUs) vs serial, {len(pages)} pages: "
          f"{auto.wall:.2f} s vs {one.wall:.2f} s wall -> {ratio(auto.wall, one.wall)}; CPU "
          f"{auto.cpu:.2f} s vs {one.cpu:.2f} s -> {ratio(auto.cpu, one.cpu)}")
    one, two = plain.best("cold"), plain.best("cold -j 2")
    print(f"  (what -j 2 gives Sphinx itself, graphviz blocks, {len(pages)} pages: "
          f"{ratio(two.wall, one.wall)} wall, {ratio(two.cpu, one.cpu)} CPU)")
    noop, plain_noop = rabbit.best("no-op"), plain.best("no-op")
    print(f"no-op rebuild: {noop.wall:.2f} s wall, {noop.cpu:.2f} s CPU; graphviz blocks "
          f"{plain_noop.wall:.2f} s, {plain_noop.cpu:.2f} s -> {ratio(noop.wall, plain_noop.wall)} "
          f"wall, {ratio(noop.cpu, plain_noop.cpu)} CPU; {noop.dot_runs} dot runs, "
          f"{len(noop.reread)} pages read again (target: no dot run)")

    edited_vhost = pages[len(pages) // 2].vhost
    queue = edit_one_queue(os.path.join(rabbit.source, DEFINITIONS), edited_vhost)
    if queue is None:
        print(f"edit: vhost {edited_vhost!r} has no queue to edit")
    else:
        edited = rabbit.build("edited", cold=False)
        drawing = sorted(page.name for page in pages if page.vhost == edited_vhost)
        verdict = "as targeted" if edited.reread == drawing else "TARGET MISSED"
        print(f"edit queue {queue!r} of vhost {edited_vhost!r}: {len(edited.reread)} of "
              f"{len(pages)} pages read again ({len(drawing)} draw that vhost; {verdict}), "
              f"{edited.dot_runs} dot runs, {edited.wall:.2f} s wall")
        for _ in range(args.rounds):
            rabbit.build("no-op after the edit", cold=False)
        after = rabbit.best("no-op after the edit")
        print(f"no-op rebuild after the edit: {after.wall:.2f} s wall, {after.cpu:.2f} s CPU -> "
              f"{ratio(after.wall, plain_noop.wall)} wall, {ratio(after.cpu, plain_noop.cpu)} "
              f"CPU the graphviz project's no-op; {after.dot_runs} dot runs, "
              f"{len(after.reread)} pages read again")


if __name__ == "__main__":
    sys.exit(main())
