"""Rebuilds as a user runs them, each ``sphinx-build`` a process of its own: a source
whose files are as the last build left them is not opened again, and an unchanged
diagram is not laid out again."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.test_build_once import PAGES, counting_dot, dot_runs, edit_queue, project

#: sphinx-build, counting how often the build opens a file named definitions.json
COUNTING_OPENS = """
import sys
from sphinx.cmd.build import main

opened = []
def count(event, arguments):
    if event == "open" and str(arguments[0]).endswith("definitions.json"):
        opened.append(arguments[0])
sys.addaudithook(count)
code = main(sys.argv[1:])
print(f"opened {len(opened)}")
sys.exit(code)
"""


@dataclass
class Rebuild:
    opened: int  # times definitions.json was opened
    read: list[str]  # pages read (their doctrees written)
    dot_runs: int
    warnings: str


def doctree_times(doctrees: Path) -> dict[str, int]:
    return {path.stem: path.stat().st_mtime_ns for path in doctrees.glob("*.doctree")}


def sphinx_build(srcdir: Path, dot: Path, *arguments: str) -> Rebuild:
    out = srcdir / "_build"
    before = doctree_times(out / "doctrees")
    completed = subprocess.run(
        [sys.executable, "-c", COUNTING_OPENS, "-q", "-b", "html", *arguments, str(srcdir),
         str(out / "html"), "-d", str(out / "doctrees")],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, PATH=f"{dot.parent}{os.pathsep}{os.environ['PATH']}"))
    assert completed.returncode == 0, completed.stderr
    after = doctree_times(out / "doctrees")
    opened = int(completed.stdout.rsplit("opened ", 1)[1])
    return Rebuild(opened, sorted(name for name in after if before.get(name) != after[name]),
                   dot_runs(dot), completed.stderr)


def test_a_rebuild_opens_no_source_that_is_as_the_last_build_left_it(tmp_path):
    dot = counting_dot(tmp_path / "bin")
    srcdir = project(tmp_path / "src", PAGES)
    cold = sphinx_build(srcdir, dot)
    assert cold.read == ["a0", "a1", "b0", "every", "index", "plain"]
    assert cold.dot_runs == 4
    assert cold.warnings == ""

    assert sphinx_build(srcdir, dot) == Rebuild(0, [], 0, "")

    # the edited file is read once, to tell which pages draw something else; the pages of
    # vhost a, which draw what they drew, keep the stamps of the file before the edit
    edit_queue(srcdir, "bs1.q0")
    edited = sphinx_build(srcdir, dot)
    assert edited.opened >= 1
    assert edited.read == ["b0", "every"]
    assert edited.dot_runs == 1
    # ... and not again by the next builds
    assert sphinx_build(srcdir, dot) == Rebuild(0, [], 0, "")

    # touched, not changed: read once, no page read, nothing drawn
    path = srcdir / "definitions.json"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    touched = sphinx_build(srcdir, dot)
    assert touched.opened >= 1
    assert (touched.read, touched.dot_runs) == ([], 0)
    assert sphinx_build(srcdir, dot) == Rebuild(0, [], 0, "")
