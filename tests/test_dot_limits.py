"""dot's layout has a time limit (killed past it, text shown), and what dot says is passed
on as located warnings: on the command line and in Sphinx builds, with the real dot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import (
    build_output,
    cli,
    ended,
    fan_out_definitions,
    page_text,
    shown_type,
    slow_dot,
    tangled_definitions,
    write_project,
)

#: a diagram dot takes seconds on (about 5 s for 100 exchanges here), and the small limit
#: the tests give it: at ten times the limit a slow machine still hits it
SLOW = tangled_definitions(150, 600)
LIMIT = 0.5
#: drawn one node an entity, as they are: no grouping past the node budget
UNGROUPED = ["--collapse", "none"]
NO_BUDGET = 100_000


def write_json(path: Path, value: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def no_process_mentions(folder: Path) -> bool:
    """No process runs with *folder* on its command line (a dot left behind)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(folder).encode() in cmdline.read_bytes():
                return False
        except OSError:  # ended meanwhile
            continue
    return True


# -- command line ------------------------------------------------------------------------


def test_render_stops_a_slow_layout_at_its_limit_and_writes_nothing(tmp_path):
    source = write_json(tmp_path / "slow.json", SLOW)
    image = tmp_path / "out" / "slow.svg"
    image.parent.mkdir()
    started = time.monotonic()
    completed = cli("render", str(source), "-o", str(image), "--dot-timeout", str(LIMIT),
                    *UNGROUPED, check=False)
    elapsed = time.monotonic() - started
    assert completed.returncode == 1
    assert completed.stderr == (
        f"{source}: error: dot did not lay out the diagram in 0.5 s (--dot-timeout), so "
        f"{image} was not written; draw a part with --focus, or narrow it with --vhost, "
        "--include or --exclude, or raise --dot-timeout [rabbitmq.limit]\n")
    assert elapsed < 10  # the layout alone takes longer; the limit stopped it
    assert list(image.parent.iterdir()) == []  # no image, no partial one
    assert no_process_mentions(image.parent)


def test_render_kills_the_whole_process_group_of_a_slow_dot(tmp_path):
    script = slow_dot(tmp_path)
    source = write_json(tmp_path / "small.json", fan_out_definitions(2))
    started = time.monotonic()
    completed = cli("render", str(source), "-o", str(tmp_path / "small.svg"),
                    "--dot-command", str(script), "--dot-timeout", "1", check=False)
    assert time.monotonic() - started < 20  # not the child sleep's 300 s
    assert completed.returncode == 1
    assert "did not lay out the diagram in 1 s (--dot-timeout)" in completed.stderr
    for pid_file in ("shell.pid", "sleep.pid"):
        assert ended(int((tmp_path / pid_file).read_text()))
    assert not (tmp_path / "small.svg").exists()


def test_an_interrupted_render_leaves_no_dot_running(tmp_path):
    # dot runs in a session of its own (so that a timeout ends what it started), where
    # the terminal's Ctrl-C does not reach it: the interrupted wait must end it
    script = slow_dot(tmp_path)
    source = write_json(tmp_path / "small.json", fan_out_definitions(2))
    process = subprocess.Popen(
        [sys.executable, "-m", "sphinxext_rabbit", "render", str(source), "-o",
         str(tmp_path / "small.svg"), "--dot-command", str(script), "--dot-timeout", "300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # as at a terminal: a CI job run in the background may ignore SIGINT, and its
        # children with it, where Python then raises no KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not (tmp_path / "sleep.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) != 0
    for pid_file in ("shell.pid", "sleep.pid"):
        assert ended(int((tmp_path / pid_file).read_text()))
    assert not (tmp_path / "small.svg").exists()


def test_render_uses_the_default_limit_and_says_so(tmp_path):
    completed = cli("render", "--help")
    assert "--dot-timeout SECONDS" in completed.stdout and "(default: 30)" in completed.stdout
    refused = cli("render", "x.json", "-o", "x.svg", "--dot-timeout", "0", check=False)
    assert refused.returncode == 2 and "not a number of seconds above 0" in refused.stderr


def test_render_passes_on_what_dot_says(tmp_path):
    # 800 queues under one exchange: a PNG taller than cairo's bitmaps, scaled to fit
    source = write_json(tmp_path / "tall.json", fan_out_definitions(800))
    image = tmp_path / "tall.png"
    completed = cli("render", str(source), "-o", str(image), *UNGROUPED,
                    "--max-side", str(NO_BUDGET))
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"{source}: warning: Graphviz dot: graph is too large for "
                           "cairo-renderer bitmaps. Scaling by ")
    assert line.endswith(" to fit [rabbitmq.dot-warning]")
    assert image.read_bytes().startswith(b"\x89PNG")


def test_what_a_dot_says_reaches_the_terminal_escaped_and_bounded(tmp_path):
    # a dot that draws, and writes forged lines and colours and a flood of warnings
    script = tmp_path / "chatty-dot"
    script.write_text(
        "#!/bin/sh\n"
        'for a; do case $a in -o*) out=${a#-o};; esac; done\n'
        "echo '<svg xmlns=\"http://www.w3.org/2000/svg\"/>' > \"$out\"\n"
        "printf 'Warning: \\033[31mred\\r\\342\\200\\256evil\\n' >&2\n"
        "for n in $(seq 1 50); do echo \"Warning: number $n\" >&2; done\n",
        encoding="utf-8")
    script.chmod(0o755)
    source = write_json(tmp_path / "small.json", fan_out_definitions(2))
    completed = cli("render", str(source), "-o", str(tmp_path / "small.svg"),
                    "--dot-command", str(script))
    lines = completed.stderr.splitlines()
    prefix = f"{source}: warning: Graphviz dot: "
    assert lines[0] == prefix + "\\x1b[31mred\\x0d\\u202eevil [rabbitmq.dot-warning]"
    assert lines[1:10] == [f"{prefix}number {n} [rabbitmq.dot-warning]" for n in range(1, 10)]
    assert lines[10:] == [f"{prefix}and 41 more lines [rabbitmq.dot-warning]"]
    assert (tmp_path / "small.svg").read_text().startswith("<svg")


# -- Sphinx ------------------------------------------------------------------------------


def diagram_pages(root: Path, **conf: object) -> Path:
    write_json(root / "slow.json", SLOW)
    write_json(root / "small.json", fan_out_definitions(2))
    return write_project(root, {
        "slow": ".. rabbitmq-topology:: slow.json\n\n.. rabbitmq-topology:: small.json\n",
        "other": ".. rabbitmq-topology:: small.json\n   :layout: TB\n",
    }, rabbitmq_topology_node_budget=NO_BUDGET, **conf)


def test_a_slow_layout_is_text_with_one_warning_and_the_rest_is_drawn(make_app, tmp_path):
    srcdir = diagram_pages(tmp_path / "src", rabbitmq_topology_dot_timeout=LIMIT)
    app = make_app("html", srcdir=srcdir, freshenv=True)
    started = time.monotonic()
    app.build()
    assert time.monotonic() - started < 30
    warnings = build_output(app)[1]
    assert warnings.count("WARNING") == 1
    assert (f"{srcdir}/slow.rst:4: WARNING: rabbitmq-topology: dot did not lay out this "
            "diagram in 0.5 s (rabbitmq_topology_dot_timeout); shown as text. Draw a part "
            "with :focus:, or narrow it with :vhost:, :include: or :exclude:, or raise "
            "rabbitmq_topology_dot_timeout"
            + shown_type("limit")) in warnings
    page = (app.outdir / "slow.html").read_text(encoding="utf-8")
    assert "vhost /\n  exchange ex" in page_text(page)  # the text fallback
    assert page.count('<object data="_images/rabbitmq-') == 1  # the small one is drawn
    images = sorted(p.name for p in (app.outdir / "_images").iterdir())
    assert len(images) == 2 and all(name.endswith(".svg") for name in images)
    assert no_process_mentions(app.outdir)


@pytest.mark.parametrize(("builder", "parallel"), [("html", 1), ("latex", 1), ("html", 2),
                                                   ("latex", 2)])
def test_a_dot_that_never_finishes_is_stopped_once_per_diagram(make_app, tmp_path, builder,
                                                               parallel):
    """Also under -j 2, where two are laid out at a time."""
    script = slow_dot(tmp_path)
    srcdir = diagram_pages(tmp_path / "src", graphviz_dot=str(script),
                           rabbitmq_topology_dot_timeout=1)
    app = make_app(builder, srcdir=srcdir, freshenv=True, parallel=parallel)
    started = time.monotonic()
    app.build()
    assert time.monotonic() - started < 60  # three diagrams of a second each, not 300 s
    warnings = build_output(app)[1]
    assert warnings.count("WARNING") == 3
    assert warnings.count("did not lay out this diagram in 1 s") == 3
    for where in ("slow.rst:4", "slow.rst:6", "other.rst:4"):
        assert f"{where}: WARNING: rabbitmq-topology: dot did not lay out" in warnings
    assert ended(int((tmp_path / "sleep.pid").read_text()))
    assert no_process_mentions(tmp_path)
    if builder == "html":
        assert "exchange fan -> queue q0" in page_text((app.outdir / "other.html").read_text())


def test_what_dot_says_is_a_located_warning_in_a_build(make_app, tmp_path):
    write_json(tmp_path / "src" / "tall.json", fan_out_definitions(800))
    srcdir = write_project(tmp_path / "src", {"tall": ".. rabbitmq-topology:: tall.json\n"},
                           rabbitmq_topology_output_format="png",
                           rabbitmq_topology_node_budget=NO_BUDGET)
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    [line] = build_output(app)[1].splitlines()
    assert (f"{srcdir}/tall.rst:4: WARNING: rabbitmq-topology: Graphviz dot: graph is too "
            "large for cairo-renderer bitmaps. Scaling by ") in line
    assert shown_type("dot-warning") in line
    [image] = (app.outdir / "_images").iterdir()
    assert image.read_bytes().startswith(b"\x89PNG")


def test_a_wait_for_several_layouts_ends_when_one_of_them_ends(tmp_path):
    # the -j N pool waits for whichever of its dot runs ends first, to start the next
    # layout at once: a slow diagram started earlier holds up none of the others
    from sphinxext_rabbit.output.graphviz import DotBinary, Drawing, find_dot, wait_for_any

    binary = find_dot(fallback=False)
    assert binary is not None
    assert hasattr(os, "pidfd_open")  # Linux: the wait is on the processes' ends, no polling
    slow = Drawing(DotBinary(str(slow_dot(tmp_path)), "dot"), "digraph { a }",
                   [("svg", str(tmp_path / "slow.svg"))], timeout=60)
    try:
        # nothing has ended: one wait lasts as long as it is given, not a busy return
        started = time.monotonic()
        wait_for_any([slow], 0.5)
        assert time.monotonic() - started >= 0.45
        quick = Drawing(binary, "digraph { a -> b }", [("svg", str(tmp_path / "quick.svg"))],
                        timeout=60)
        started = time.monotonic()
        wait_for_any([slow, quick], 50)  # one wait: it ends when the quick one does
        assert time.monotonic() - started < 20  # not the slow one's limit
        assert quick.done()
        assert quick.result() == []
        assert (tmp_path / "quick.svg").read_text().startswith("<?xml")
        assert not slow.done()
    finally:
        slow.stop()
    for pid_file in ("shell.pid", "sleep.pid"):
        assert ended(int((tmp_path / pid_file).read_text()))


@pytest.mark.parametrize("timeout", [3e6, float("inf")])
def test_a_layout_without_a_practical_limit_is_drawn(tmp_path, timeout):
    # a month, or no limit at all: one wait is bounded, the limit is still the one given
    from sphinxext_rabbit.output.graphviz import Drawing, find_dot

    binary = find_dot(fallback=False)
    assert binary is not None
    drawing = Drawing(binary, "digraph { a -> b }", [("svg", str(tmp_path / "a.svg"))],
                      timeout=timeout)
    assert drawing.result() == []
    assert (tmp_path / "a.svg").read_text().startswith("<?xml")
