"""Diagrams are laid out once every page is read, while pages are written: one at a time
beside a serial build, N at a time under ``-j N``, and the pages come out alike; a PNG with
links is laid out once for its image and its image map."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import build_output, ended, page_text, shown_type, write_project
from tests.test_build_once import counting_dot, dot_runs, drawing, subsystems
from tests.test_domain import build, copy_root, warnings_of

#: one diagram a page, each another, and one drawing every vhost
PAGES = {**{f"{vhost}{n}": drawing(vhost, f"{vhost}s{n}.*") for vhost in ("a", "b")
            for n in range(3)}, "every": drawing(None), "plain": "No diagram here.\n"}


def watching_dot(folder: Path, *, seconds: float = 0.3) -> Path:
    """A ``dot`` that takes *seconds* more than dot does, and writes at its start how many
    runs of it are under way (itself too) to ``concurrent``, a line a run."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "dot"
    script.write_text(
        "#!/bin/sh\n"
        f'touch "{folder}/running.$$"\n'
        f'ls "{folder}" | grep -c "^running" >> "{folder}/concurrent"\n'
        f"sleep {seconds}\n"
        f'"{shutil.which("dot")}" "$@"\n'
        "code=$?\n"
        f'rm -f "{folder}/running.$$"\n'
        "exit $code\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def runs_at_once(script: Path) -> list[int]:
    """For each run since the last call, how many ran when it started."""
    counts = script.parent / "concurrent"
    runs = [int(line) for line in counts.read_text().split()]
    counts.unlink()
    return runs


def project(root: Path, pages: dict[str, str], **conf: object) -> Path:
    srcdir = write_project(root, pages, **conf)
    (srcdir / "definitions.json").write_text(json.dumps(subsystems(systems=3)),
                                             encoding="utf-8")
    return srcdir


def pages_of(app) -> dict[str, str]:
    return {name: (app.outdir / f"{name}.html").read_text(encoding="utf-8")
            for name in ("index", *PAGES)}


def test_j_2_lays_out_two_diagrams_at_a_time_and_writes_what_a_serial_build_does(
        make_app, tmp_path):
    built = {}
    dot = watching_dot(tmp_path / "bin")  # (its path names the images)
    for parallel in (1, 2):
        srcdir = project(tmp_path / f"src{parallel}", PAGES, graphviz_dot=str(dot))
        app = build(make_app, srcdir, parallel=parallel)
        assert build_output(app)[1] == ""
        runs = runs_at_once(dot)
        assert len(runs) == 7  # each diagram once
        assert max(runs) == parallel
        built[parallel] = pages_of(app)
        images = sorted(path.name for path in (app.outdir / "_images").iterdir())
        assert len(images) == 7
        for name, page in built[parallel].items():
            shown = re.findall(r'<object data="_images/(rabbitmq-[0-9a-f]+\.svg)"', page)
            assert len(shown) == (name not in ("index", "plain"))
            assert set(shown) <= set(images)
    assert built[1] == built[2]


def wait_for(condition, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_a_serial_build_lays_out_the_next_diagram_while_it_writes_a_page(make_app, tmp_path):
    dot = watching_dot(tmp_path / "bin")
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(dot))
    app = make_app("html", srcdir=srcdir, freshenv=True)
    with_diagrams = sorted(name for name in PAGES if name != "plain")
    laid_out_meanwhile = {}

    def writing(app, pagename, templatename, context, doctree) -> None:
        if pagename in with_diagrams[:-1]:  # a page before the last one with a diagram
            laid_out_meanwhile[pagename] = wait_for(
                lambda: any(dot.parent.glob("running.*")))

    app.connect("html-page-context", writing)
    app.build()
    app.cleanup()
    assert build_output(app)[1] == ""
    assert laid_out_meanwhile == dict.fromkeys(with_diagrams[:-1], True)
    runs = runs_at_once(dot)
    assert len(runs) == len(with_diagrams)
    assert max(runs) == 1  # beside the build, one at a time


def test_two_cold_serial_builds_write_the_same_bytes(make_app, tmp_path):
    srcdir = project(tmp_path / "src", PAGES, rabbitmq_topology_default_show=["diagram", "queues"])
    written = []
    for _ in range(2):
        shutil.rmtree(srcdir / "_build", ignore_errors=True)
        app = build(make_app, srcdir)
        assert build_output(app)[1] == ""
        written.append({path.relative_to(app.outdir): path.read_bytes()
                        for path in sorted(app.outdir.rglob("*")) if path.is_file()
                        if path.suffix in (".html", ".svg")})
    assert len([path for path in written[0] if path.suffix == ".svg"]) == 7
    assert written[0] == written[1]


#: a dot that never finishes laying out page a1's diagram (subsystem as1), writing the ids
#: of its processes into its folder as ``shell.pid`` and ``sleep.pid``; it draws the others
STUCK_DOT = """#!/bin/sh
input=$(mktemp)
cat > "$input"
if grep -q 'as1[.]q0' "$input"; then
    rm -f "$input"
    echo $$ > "{folder}/shell.pid"
    sleep 300 &
    echo $! > "{folder}/sleep.pid"
    wait
    exit 1
fi
"{dot}" "$@" < "$input"
code=$?
rm -f "$input"
exit $code
"""
#: a conf.py's: while page a0 is written, once page a1's diagram is being laid out, the
#: build is stopped (by an error, by Ctrl-C, or by SIGTERM)
STOP_WHILE_A0_IS_WRITTEN = """
import os, signal, time
from pathlib import Path

def stop(app, pagename, *_):
    if pagename != "a0":
        return
    deadline = time.monotonic() + 10
    while not Path({pid!r}).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    if {signal_name!r}:
        os.kill(os.getpid(), getattr(signal, {signal_name!r}))
        time.sleep(10)  # (interrupted, or ended)
    raise RuntimeError("stopped while a0 is written")

def setup(app):
    app.connect("html-page-context", stop)
"""


@pytest.mark.parametrize("how", ["error", "SIGINT", "SIGTERM"])
def test_a_serial_build_that_stops_early_leaves_no_dot_running(tmp_path, how):
    """An error ends the build with build-finished; Ctrl-C (SIGINT) and SIGTERM (a cancelled
    CI job) end the process without it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "dot"
    script.write_text(STUCK_DOT.format(folder=folder, dot=shutil.which("dot")),
                      encoding="utf-8")
    script.chmod(0o755)
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(script),
                     rabbitmq_topology_dot_timeout=300)
    with (srcdir / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(STOP_WHILE_A0_IS_WRITTEN.format(pid=str(folder / "sleep.pid"),
                                                   signal_name=how != "error" and how))
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(srcdir),
         str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        # as at a terminal (see test_an_interrupted_render_leaves_no_dot_running)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert time.monotonic() - started < 60
    if how == "SIGTERM":
        assert completed.returncode == -signal.SIGTERM  # ended as SIGTERM ends it
    else:
        assert completed.returncode == 2
        assert ("Interrupted!" if how == "SIGINT" else "stopped while a0 is written"
                ) in completed.stderr
    # page a1's layout ran beside the writing of page a0, and was ended with the build
    for pid_file in ("shell.pid", "sleep.pid"):
        assert ended(int((folder / pid_file).read_text()))


@pytest.mark.parametrize("parallel", [1, 2])
@pytest.mark.parametrize("timeout", [0, -1])
def test_no_time_to_lay_out_shows_every_diagram_as_text(make_app, tmp_path, parallel,
                                                        timeout):
    srcdir = project(tmp_path / "src", PAGES, rabbitmq_topology_dot_timeout=timeout)
    app = build(make_app, srcdir, parallel=parallel)
    warnings = warnings_of(app)
    assert len(warnings) == 7
    assert all(f"in {timeout:g} s (rabbitmq_topology_dot_timeout); shown as text" in warning
               and warning.endswith(shown_type("limit")) for warning in warnings)
    assert not list(app.outdir.rglob("*.svg"))
    assert "exchange as1.events -> queue as1.q0" in page_text(pages_of(app)["a1"])


@pytest.mark.parametrize("parallel", [1, 2])
@pytest.mark.parametrize("timeout", [3e6, float("inf")])
def test_a_limit_of_a_month_or_none_draws_every_diagram(make_app, tmp_path, parallel, timeout):
    srcdir = project(tmp_path / "src", PAGES)
    app = build(make_app, srcdir, parallel=parallel,
                confoverrides={"rabbitmq_topology_dot_timeout": timeout})
    assert warnings_of(app) == []
    assert len(list((app.outdir / "_images").glob("rabbitmq-*.svg"))) == 7


@pytest.mark.parametrize("builder", ["html", "dirhtml", "singlehtml", "epub", "latex",
                                     "texinfo", "text", "man"])
def test_a_serial_build_lays_out_what_its_builder_shows_once(make_app, tmp_path, builder):
    dot = counting_dot(tmp_path / "bin")
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(dot), copyright="2026, us",
                     version="1")
    app = build(make_app, srcdir, builder)
    assert warnings_of(app) == []
    images = [path for path in app.outdir.rglob("rabbitmq-*")
              if path.suffix in (".svg", ".png", ".pdf")]
    assert dot_runs(dot) == len(images) == (0 if builder in ("text", "man") else 7)


@pytest.mark.parametrize("parallel", [1, 2])
def test_the_pages_written_without_being_read_are_drawn(make_app, tmp_path, parallel):
    """A page Sphinx writes again without reading it (its link now leads elsewhere) has
    no layout waiting: it is laid out when written, and what is unchanged is not."""
    dot = counting_dot(tmp_path / "bin")
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(dot),
                     rabbitmq_topology_default_show=["diagram", "queues"])
    build(make_app, srcdir, parallel=parallel)
    assert dot_runs(dot) == 7
    # a description of a queue page a0 draws: a0 is read, and links its node to it
    (srcdir / "plain.rst").write_text(
        "Plain\n=====\n\n.. rabbitmq:queue:: as0.q0\n   :vhost: a\n\n   The first.\n",
        encoding="utf-8")
    app = build(make_app, srcdir, parallel=parallel, freshenv=False)
    assert build_output(app)[1] == ""
    assert dot_runs(dot) == 2  # a0's and every's diagram, which link to the description
    for name, page in pages_of(app).items():
        if name not in ("index", "plain"):
            [image] = re.findall(r'<object data="_images/(rabbitmq-[0-9a-f]+\.svg)"', page)
            svg = html.unescape((app.outdir / "_images" / image).read_text(encoding="utf-8"))
            assert ("plain.html#rabbitmq-queue-a-as0.q0" in svg) == (name in ("a0", "every"))


#: a dot that fails on the diagrams drawing a queue of subsystem bs1, and draws the others
FAILING_DOT = """#!/bin/sh
input=$(mktemp)
cat > "$input"
if grep -q 'bs1[.]q0' "$input"; then
    echo "Error: <stdin>: syntax error in line 1 near 'bs1'" >&2
    rm -f "$input"
    exit 1
fi
"{dot}" "$@" < "$input"
code=$?
rm -f "$input"
exit $code
"""


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_failed_layout_warns_once_at_its_diagram_and_the_rest_is_drawn(
        make_app, tmp_path, parallel):
    script = tmp_path / "bin" / "dot"
    script.parent.mkdir()
    script.write_text(FAILING_DOT.format(dot=shutil.which("dot")), encoding="utf-8")
    script.chmod(0o755)
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(script))
    app = build(make_app, srcdir, parallel=parallel)
    assert warnings_of(app) == [
        f"{srcdir}/{name}.rst:4: WARNING: rabbitmq-topology: drawing failed: Graphviz dot: "
        "Error: <stdin>: syntax error in line 1 near 'bs1'" + shown_type("dot")
        for name in ("b1", "every")]
    pages = pages_of(app)
    for name in ("b1", "every"):
        assert "<object" not in pages[name]
        assert "exchange bs1.events -> queue bs1.q0" in page_text(pages[name])  # the text
    for name in ("a0", "a1", "a2", "b0", "b2"):
        assert pages[name].count('<object data="_images/rabbitmq-') == 1


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_png_with_links_is_laid_out_once_for_its_image_and_its_map(
        make_app, tmp_path, parallel):
    dot = counting_dot(tmp_path / "bin")
    app = build(make_app, copy_root(tmp_path), parallel=parallel,
                confoverrides={"rabbitmq_topology_output_format": "png",
                               "graphviz_dot": str(dot)})
    assert warnings_of(app) == []
    images = list((app.outdir / "_images").glob("rabbitmq-*.png"))
    maps = list((Path(app.doctreedir) / "rabbitmq-maps").glob("rabbitmq-*.cmapx"))
    assert len(images) == len(maps) == 1  # the root's one diagram
    assert dot_runs(dot) == 1
    page = (app.outdir / "sub" / "diagram.html").read_text(encoding="utf-8")
    name = re.search(r'<img [^>]*usemap="#([^"]+)"', page).group(1)
    assert f'<map id="{name}" name="{name}">' in page
    assert '<area shape="rect" href="../index.html#rabbitmq-queue-orders.created"' in page


def test_a_layout_that_ended_past_its_limit_is_text_however_late_the_build_looked(
        make_app, tmp_path):
    """The background run of page a1 takes 1.5 s against a limit of 1 s while page a0 is
    written for 3 s: by the time the build looks, dot has long ended, but it wrote its image
    past the limit, so a1 is text with a `limit` warning, as when the build waits."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "dot"
    script.write_text(f'#!/bin/sh\nsleep 1.5\nexec "{shutil.which("dot")}" "$@"\n',
                      encoding="utf-8")
    script.chmod(0o755)
    pages = {"a0": drawing("a", "as0.*"), "a1": drawing("a", "as1.*")}
    srcdir = project(tmp_path / "src", pages, graphviz_dot=str(script),
                     rabbitmq_topology_dot_timeout=1)
    app = make_app("html", srcdir=srcdir, freshenv=True)

    def writing(app, pagename, *_):
        if pagename == "a0":
            time.sleep(3)

    app.connect("html-page-context", writing)
    app.build()
    app.cleanup()
    warnings = warnings_of(app)
    assert len(warnings) == 2, warnings  # a0 waited for at its limit, a1 judged late
    assert all("a0.rst:" in warning or "a1.rst:" in warning for warning in warnings)
    assert all("in 1 s (rabbitmq_topology_dot_timeout); shown as text" in warning
               and warning.endswith(shown_type("limit")) for warning in warnings)
    assert not list(app.outdir.rglob("*.svg"))


@pytest.mark.parametrize("value", [float("nan"), "30"])
def test_a_limit_that_is_no_number_is_warned_of_and_the_default_used(make_app, tmp_path,
                                                                     value):
    if isinstance(value, str):  # (only conf.py can set one: Sphinx refuses the override)
        srcdir = project(tmp_path / "src", PAGES, rabbitmq_topology_dot_timeout=value)
        app = build(make_app, srcdir)
    else:
        srcdir = project(tmp_path / "src", PAGES)
        app = build(make_app, srcdir, confoverrides={"rabbitmq_topology_dot_timeout": value})
    ours = [warning for warning in warnings_of(app) if "not a number of seconds" in warning]
    assert ours == [f"WARNING: rabbitmq_topology_dot_timeout is {value!r}, not a number of "
                    f"seconds; 30 is used{shown_type('option')}"]
    assert len(list((app.outdir / "_images").glob("rabbitmq-*.svg"))) == 7


def test_a_diagram_only_another_builder_shows_is_not_laid_out(make_app, tmp_path):
    dot = counting_dot(tmp_path / "bin")
    pages = {"a0": drawing("a", "as0.*"),
             "a1": ".. only:: latex\n\n" + "".join(f"   {line}\n" for line in
                                                  drawing("a", "as1.*").splitlines())}
    srcdir = project(tmp_path / "src", pages, graphviz_dot=str(dot))
    app = build(make_app, srcdir)
    assert warnings_of(app) == []
    assert dot_runs(dot) == 1
    assert len(list((app.outdir / "_images").glob("rabbitmq-*.svg"))) == 1


def test_a_layout_that_ended_in_time_is_drawn_however_late_the_build_looked(make_app,
                                                                           tmp_path):
    """The other side of the late look: a1's real dot ends well within 1 s while page a0
    is written for 3 s, and the build, looking only then, still takes its image."""
    pages = {"a0": drawing("a", "as0.*"), "a1": drawing("a", "as1.*")}
    srcdir = project(tmp_path / "src", pages, rabbitmq_topology_dot_timeout=1)
    app = make_app("html", srcdir=srcdir, freshenv=True)

    def writing(app, pagename, *_):
        if pagename == "a0":
            time.sleep(3)

    app.connect("html-page-context", writing)
    before = signal.getsignal(signal.SIGTERM)
    app.build()
    app.cleanup()
    assert warnings_of(app) == []
    assert len(list(app.outdir.rglob("rabbitmq-*.svg"))) == 2
    assert signal.getsignal(signal.SIGTERM) == before  # the build put SIGTERM's back


#: a process that has a dot run (a wrapper that sleeps) and takes SIGTERM while it waits
#: inside Popen's own lock, as when the signal comes during a poll for the run's end
TERMINATED_WHILE_WAITING = """
import os, signal, sys, time
from pathlib import Path
from sphinxext_rabbit.extension import layouts
from sphinxext_rabbit.output.graphviz import DotBinary, Drawing

folder = Path(sys.argv[1])
drawing = Drawing(DotBinary(str(folder / "dot"), "dot"), "digraph {}",
                  [("svg", str(folder / "out.svg"))], timeout=300)
layouts._end_on_terminate.add(drawing)
while not (folder / "sleep.pid").exists():
    time.sleep(0.01)
with drawing._process._waitpid_lock:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
"""


def test_sigterm_while_waiting_for_dot_ends_the_process_and_its_run(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "dot"
    script.write_text(f'#!/bin/sh\necho $$ > "{folder}/shell.pid"\nsleep 300 &\n'
                      f'echo $! > "{folder}/sleep.pid"\nwait\n', encoding="utf-8")
    script.chmod(0o755)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", TERMINATED_WHILE_WAITING, str(folder)], capture_output=True,
        text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert time.monotonic() - started < 20  # not stuck on the lock it was holding
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    for pid_file in ("shell.pid", "sleep.pid"):
        assert ended(int((folder / pid_file).read_text()))
