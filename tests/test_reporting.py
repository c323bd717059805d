"""Each problem of a source is reported once per build: however many pages draw it, in
parallel builds (whose readers are forked processes) and in every build of one process;
and a parallel build reports the same as a serial one, in the same order."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from sphinx.cmd.build import build_main

from tests.helpers import ROOT, build_output, shown_type, write_project

PROBLEMS = ROOT / "tests" / "roots" / "test-problems"
PAGES = 8  # more pages than -j 4 has readers, so each reader draws several


def problem_pages(root: Path) -> Path:
    """Pages that each draw the same broken file, the same file with dangling references,
    and a missing file; two of them also name a vhost the file does not have."""
    root.mkdir(parents=True)
    for name in ("broken.json", "dangling.json"):
        shutil.copy(PROBLEMS / name, root / name)
    pages = {}
    for n in range(PAGES):
        body = (".. rabbitmq-topology:: broken.json\n\n"
                ".. rabbitmq-topology:: dangling.json\n\n"
                ".. rabbitmq-topology:: missing.json\n")
        if n in (3, 5):
            body += "\n.. rabbitmq-topology:: dangling.json\n   :vhost: nope\n"
        pages[f"page{n}"] = body
    return write_project(root, pages)


def sphinx_build(srcdir: Path, outdir: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "--no-color", *options,
         str(srcdir), str(outdir)],
        capture_output=True, text=True, check=False)


def test_parallel_and_serial_builds_report_each_source_problem_once_in_one_order(tmp_path):
    srcdir = problem_pages(tmp_path / "src")
    parallel = sphinx_build(srcdir, tmp_path / "parallel", "-j", "4")
    serial = sphinx_build(srcdir, tmp_path / "serial")
    assert parallel.returncode == serial.returncode == 0, parallel.stderr
    assert "Traceback" not in parallel.stderr
    # json's own words after "not valid JSON: " change with Python (3.13)
    warnings = re.sub(r"(not valid JSON: )[^[\n]*?( \[rabbitmq|$)", r"\1...\2",
                      parallel.stderr.replace(str(srcdir) + "/", ""), flags=re.M).splitlines()
    assert warnings == [
        # the sources' problems once: a file's own at their line, the rest at the first
        # page that drew them
        "broken.json:4: WARNING: not valid JSON: ..." + shown_type("parse"),
        "dangling.json:4: WARNING: queues[1].name should be a string, not a number; skipped"
        + shown_type("schema"),
        "dangling.json:8: WARNING: bindings[1]: binding from 'amq.direct' to 'kept' has "
        "destination_type 'weird'; it must be 'queue' or 'exchange'; skipped"
        + shown_type("destination-type"),
        "page0.rst:6: WARNING: dangling.json (vhost '/'): a binding from 'nowhere' to 'kept' "
        "refers to exchange 'nowhere', which is not declared" + shown_type("dangling"),
        "page0.rst:8: WARNING: missing.json: cannot read the file: No such file or directory"
        + shown_type("io"),
        # about a directive's own selection: one each
        "page3.rst:10: WARNING: dangling.json: vhost 'nope' is not in this source (it has: "
        "'/')" + shown_type("vhost"),
        "page5.rst:10: WARNING: dangling.json: vhost 'nope' is not in this source (it has: "
        "'/')" + shown_type("vhost"),
    ], warnings
    assert parallel.stderr == serial.stderr  # the same words, in the same order


def test_every_build_in_one_process_reports_the_problems_and_fails_with_w(tmp_path):
    srcdir = problem_pages(tmp_path / "src")
    outdir = tmp_path / "out"
    for build, options in enumerate((["-E"], ["-E"], ["-j", "2", "-E"], [])):
        warnings = tmp_path / f"warnings{build}.txt"
        if build == 3:  # an incremental build, after a page changed (a missing file is a
            # dependency that counts as changed: every page drawing it is read again)
            page = srcdir / "page4.rst"
            page.write_text(page.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
        code = build_main(["-b", "html", "-q", "-W", "--keep-going", *options,
                           "-w", str(warnings), str(srcdir), str(outdir)])
        assert code == 1, build  # -W: warnings fail the build
        text = warnings.read_text(encoding="utf-8")
        assert text.count("broken.json:4: WARNING: not valid JSON") == 1, (build, text)
        assert text.count("missing.json: cannot read the file") == 1, (build, text)
        assert "page0.rst:8: WARNING: missing.json: cannot read the file" in text


def test_more_sources_than_the_cache_holds_are_all_reported_every_build(tmp_path, make_app):
    srcdir = tmp_path / "src"
    srcdir.mkdir()
    files = 40  # more than the parsed sources kept in a process
    for n in range(files):
        (srcdir / f"broken{n:02}.json").write_text('{"queues": [,]}', encoding="utf-8")
    write_project(srcdir, {"many": "".join(f".. rabbitmq-topology:: broken{n:02}.json\n\n"
                                           for n in range(files))})
    for _build in range(2):
        app = make_app("html", srcdir=srcdir, freshenv=True)
        app.build()
        warnings = build_output(app)[1]
        assert warnings.count("WARNING: not valid JSON") == files
        for n in range(files):
            assert f"broken{n:02}.json:1: WARNING: not valid JSON" in warnings
