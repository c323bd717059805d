"""Under ``-j N`` diagrams are laid out N at a time once every page is read, and the pages
come out as a serial build writes them; a PNG with links is laid out once for its image
and its image map."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import build_output, page_text, shown_type, write_project
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


def test_j_2_draws_the_pages_written_without_being_read(make_app, tmp_path):
    """A page Sphinx writes again without reading it (its link now leads elsewhere) has
    no layout waiting: it is laid out when written, and what is unchanged is not."""
    dot = counting_dot(tmp_path / "bin")
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(dot),
                     rabbitmq_topology_default_show=["diagram", "queues"])
    build(make_app, srcdir, parallel=2)
    assert dot_runs(dot) == 7
    # a description of a queue page a0 draws: a0 is read, and links its node to it
    (srcdir / "plain.rst").write_text(
        "Plain\n=====\n\n.. rabbitmq:queue:: as0.q0\n   :vhost: a\n\n   The first.\n",
        encoding="utf-8")
    app = build(make_app, srcdir, parallel=2, freshenv=False)
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
