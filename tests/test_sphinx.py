"""The directive in real Sphinx builds: what a reader and a docs maintainer see."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, build_output, page_text, shown_type, svg_text


def warnings_of(app) -> str:
    return build_output(app)[1]


def graphviz_pure_warnings_only(app) -> None:
    """graphviz-pure's own words (it knows no width for non-ASCII characters such as the
    stub mark) are passed on as rabbitmq.dot-warning, located at the directive; nothing else."""
    lines = warnings_of(app).splitlines()
    assert lines
    for line in lines:
        assert "index.rst:6: WARNING: rabbitmq-topology: Graphviz graphviz-pure: " in line
        assert "non-ASCII character" in line and shown_type("dot-warning") in line


def svg_files(app):
    return sorted((app.outdir / "_images").glob("rabbitmq-*.svg"))


@pytest.mark.sphinx(
    "html", testroot="basic", freshenv=True, srcdir="test_html_diagram_caption_numref_and_tables"
)
def test_html_diagram_caption_numref_and_tables(app):
    app.build()
    assert warnings_of(app) == ""
    html = (app.outdir / "index.html").read_text(encoding="utf-8")
    text = page_text(html)
    # the figure is numbered and :numref: points at it
    assert "Fig. 1 How an order is routed" in text
    assert re.search(r'<a class="reference internal" href="#fig-orders">.*Fig. 1', html)
    assert '<object data="_images/rabbitmq-' in html
    # every table is a real numbered-able table with a title
    for title in ("Bindings", "Queues", "Exchanges", "Policies"):
        assert f"{title}: How an order is routed" in text
    # names are literals, so smartquotes leave them alone
    other = page_text((app.outdir / "other.html").read_text(encoding="utf-8"))
    assert 'k"ey--a...b' in other
    assert 'it\'s--"quoted"...' in other
    # the dead-letter target and where it comes from
    assert "orders-dlx" in text
    svg = "\n".join(svg_text(p.read_bytes()) for p in svg_files(app))
    assert "orders.created" in svg


@pytest.mark.sphinx(
    "html", testroot="basic", freshenv=True, srcdir="test_svg_for_each_diagram_with_names_intact"
)
def test_svg_for_each_diagram_with_names_intact(app):
    app.build()
    images = {p.name: svg_text(p.read_bytes()) for p in svg_files(app)}
    assert len(images) == 3  # index (vhost /), other (every vhost), sub/page (billing)
    joined = "\n".join(images.values())
    for name in ("orders.created", "orders.audit", 'k"ey--a...b', "invoices.new", "x-match=any"):
        assert name in joined
    sub = (app.outdir / "sub" / "page.html").read_text(encoding="utf-8")
    assert '<object data="../_images/rabbitmq-' in sub


@pytest.mark.sphinx(
    "latex", testroot="basic", freshenv=True, srcdir="test_latex_includes_pdf_and_tables"
)
def test_latex_includes_pdf_and_tables(app):
    app.build()
    tex = next(app.outdir.glob("*.tex")).read_text(encoding="utf-8")
    included = re.findall(r"\\sphinxincludegraphics\[\]\{(rabbitmq-[0-9a-f]+\.pdf)\}", tex)
    assert included
    for name in included:
        assert (app.outdir / name).read_bytes().startswith(b"%PDF")
    assert "How an order is routed" in tex
    assert r"\sphinxstyletheadfamily" in tex  # tables reach LaTeX as tables


@pytest.mark.sphinx(
    "text", testroot="basic", freshenv=True, srcdir="test_text_builder_gets_a_readable_fallback"
)
def test_text_builder_gets_a_readable_fallback(app):
    app.build()
    text = (app.outdir / "index.txt").read_text(encoding="utf-8")
    assert "orders" in text and "orders.created" in text
    assert "order.created" in text
    # a table row reads on one line: its columns are as wide as their cells, not one
    # character (which Sphinx before 8.2 wrapped forever)
    row = '| exchange "orders" | queue "orders.created" | "order.created" |'
    assert row in re.sub(r" +\|", " |", text)


@pytest.mark.sphinx(
    "html",
    testroot="problems",
    freshenv=True,
    srcdir="test_bad_input_is_located_and_the_rest_is_drawn",
)
def test_bad_input_is_located_and_the_rest_is_drawn(app):
    app.build()
    warnings = warnings_of(app)
    assert "Traceback" not in warnings
    assert "broken.json:4: WARNING: not valid JSON" in warnings
    assert "dangling.json:4: WARNING: queues[1].name should be a string" in warnings
    assert (
        "dangling.json:8: WARNING: bindings[1]: binding from 'amq.direct' to 'kept' has "
        "destination_type 'weird'" in warnings
    )
    assert "refers to exchange 'nowhere', which is not declared" in warnings
    assert "which is not declared" + shown_type("dangling") in warnings
    assert "index.rst:8: WARNING: missing-file.json: cannot read the file" in warnings
    assert (
        "index.rst:10: WARNING: rabbitmq-topology: 're:(' is not a valid regular "
        "expression" in warnings
    )
    text = "\n".join(svg_text(p.read_bytes()) for p in svg_files(app))
    assert "kept" in text and "nowhere" in text and "missing" in text


@pytest.mark.sphinx(
    "html", testroot="secrets", freshenv=True, srcdir="test_secrets_reach_no_output_of_any_builder"
)
def test_secrets_reach_no_output_of_any_builder(app, make_app, tmp_path):
    builders = {"html": app}
    app.build()
    for name in ("latex", "text", "man", "singlehtml"):
        other = make_app(name, srcdir=app.srcdir, builddir=tmp_path / name, freshenv=True)
        other.build()
        builders[name] = other
    secrets = [
        b"SECRET_HASH",
        b"SECRET_PLAIN",
        b"SECRET_SHOVEL",
        b"SECRET%5FSHOVEL",
        b"SECRET_NOUSER",
        b"SECRET_FED",
        b"d41d8cd98f00",
        b"pa55w0rd",
    ]
    searched = 0
    for built in builders.values():
        for root in (built.outdir, built.doctreedir):
            for path in root.rglob("*"):
                if path.is_file():
                    searched += 1
                    data = path.read_bytes()
                    for secret in secrets:
                        assert secret not in data, (secret, path)
        for secret in secrets:
            assert secret.decode() not in warnings_of(built)
    assert searched > 20
    text = page_text((app.outdir / "index.html").read_text(encoding="utf-8"))
    assert "dr.example.com" in "\n".join(svg_text(p.read_bytes()) for p in svg_files(app))
    assert "to-dr" in text or "to-dr" in "\n".join(svg_text(p.read_bytes()) for p in svg_files(app))


@pytest.mark.sphinx(
    "html",
    testroot="basic",
    freshenv=True,
    srcdir="test_editing_the_definitions_rebuilds_exactly_the_pages_using_it",
)
def test_editing_the_definitions_rebuilds_exactly_the_pages_using_it(app, make_app):
    app.build()
    unused = app.outdir / "unused.html"
    before = {p: p.stat().st_mtime_ns for p in (unused, app.outdir / "other.html")}
    time.sleep(0.01)
    definitions = app.srcdir / "broker" / "definitions.json"
    definitions.write_text(
        definitions.read_text(encoding="utf-8").replace('"order.created"', '"order.placed"'),
        encoding="utf-8",
    )
    again = make_app("html", srcdir=app.srcdir)
    again.build()
    assert unused.stat().st_mtime_ns == before[unused]
    assert (app.outdir / "other.html").stat().st_mtime_ns != before[app.outdir / "other.html"]
    assert "order.placed" in page_text((app.outdir / "other.html").read_text(encoding="utf-8"))


@pytest.mark.sphinx(
    "html",
    testroot="problems",
    freshenv=True,
    srcdir="test_a_warning_subtype_can_be_suppressed",
    confoverrides={"suppress_warnings": ["rabbitmq.dangling"]},
)
def test_a_warning_subtype_can_be_suppressed(app):
    """suppress_warnings silences one subtype, on Sphinx versions that show it and that
    do not."""
    app.build()
    warnings = warnings_of(app)
    assert "refers to exchange 'nowhere'" not in warnings
    assert "broken.json:4: WARNING: not valid JSON" in warnings


@pytest.mark.sphinx(
    "html",
    testroot="basic",
    freshenv=True,
    parallel=2,
    srcdir="test_parallel_build_is_clean_and_identical",
)
def test_parallel_build_is_clean_and_identical(app, make_app, tmp_path):
    app.build()
    assert warnings_of(app) == ""
    serial = make_app("html", srcdir=app.srcdir, builddir=tmp_path / "serial", freshenv=True)
    serial.build()
    for page in ("index.html", "other.html", "sub/page.html"):
        assert (app.outdir / page).read_bytes() == (serial.outdir / page).read_bytes()
    assert [p.name for p in svg_files(app)] == [p.name for p in svg_files(serial)]
    for left, right in zip(svg_files(app), svg_files(serial), strict=True):
        assert left.read_bytes() == right.read_bytes()


@pytest.mark.sphinx(
    "html",
    testroot="basic",
    freshenv=True,
    confoverrides={"graphviz_dot": "no-such-dot", "rabbitmq_topology_dot_fallback": False},
    srcdir="no-graphviz",
)
def test_no_graphviz_gives_one_warning_per_build_and_text(app):
    app.build()
    warnings = warnings_of(app)
    assert warnings.count("was not found") == 1
    assert "apt-get install graphviz" in warnings
    assert "sphinxext-rabbit[dot]" in warnings
    assert "Traceback" not in warnings
    text = page_text((app.outdir / "index.html").read_text(encoding="utf-8"))
    assert "orders.created" in text
    assert svg_files(app) == []


@pytest.mark.sphinx(
    "html",
    testroot="basic",
    freshenv=True,
    confoverrides={"graphviz_dot": "no-such-dot"},
    srcdir="graphviz-pure",
)
def test_graphviz_pure_fallback_draws_svg_and_says_so(app):
    if (
        shutil.which("graphviz-pure") is None
        and not (Path(sys.executable).parent / "graphviz-pure").exists()
    ):
        pytest.fail("graphviz-pure (the [dot] extra) is not installed")
    app.build()
    graphviz_pure_warnings_only(app)
    assert "drawing with graphviz-pure" in build_output(app)[0]
    assert len(svg_files(app)) == 3


@pytest.mark.sphinx("html", testroot="paths", freshenv=True, srcdir="paths")
def test_definitions_outside_the_source_dir_need_permission(app):
    for folder, queue in (("outside-defs", "escaped-queue"), ("allowed-defs", "allowed-queue")):
        (app.srcdir.parent / folder).mkdir(exist_ok=True)
        (app.srcdir.parent / folder / "definitions.json").write_text(
            f'{{"queues": [{{"name": "{queue}", "vhost": "/"}}]}}', encoding="utf-8"
        )
    app.build()
    warnings = warnings_of(app)
    assert (
        "index.rst:4: WARNING: rabbitmq-topology: ../outside-defs/definitions.json is outside "
        "the source directory; list its folder in rabbitmq_topology_allowed_dirs"
    ) in warnings
    text = page_text((app.outdir / "index.html").read_text(encoding="utf-8"))
    assert "escaped-queue" not in text
    assert "allowed-queue" in text


@pytest.mark.sphinx(
    "html",
    testroot="basic",
    freshenv=True,
    confoverrides={"rabbitmq_topology_max_nodes": 3},
    srcdir="max-nodes",
)
def test_a_diagram_over_the_node_limit_is_text_with_one_warning_each(app):
    started = time.perf_counter()
    app.build()
    assert time.perf_counter() - started < 60
    warnings = warnings_of(app)
    assert warnings.count("more than rabbitmq_topology_max_nodes (3); shown as text. Draw a "
                          "part with :focus:, or narrow it with :vhost:, :include: or "
                          ":exclude:") == 2
    assert "sub/page" not in warnings  # the billing vhost has 2 nodes: still drawn
    assert len(svg_files(app)) == 1
    text = page_text((app.outdir / "index.html").read_text(encoding="utf-8"))
    assert "queue orders.created" in text


@pytest.mark.sphinx(
    "latex",
    testroot="basic",
    freshenv=True,
    confoverrides={"graphviz_dot": "no-such-dot"},
    srcdir="latex-graphviz-pure",
)
def test_latex_with_graphviz_pure_uses_png(app):
    # graphviz-pure writes no PDF and no image maps: LaTeX gets plain PNGs
    app.build()
    graphviz_pure_warnings_only(app)
    tex = next(app.outdir.glob("*.tex")).read_text(encoding="utf-8")
    included = re.findall(r"\\sphinxincludegraphics\[\]\{(rabbitmq-[0-9a-f]+\.png)\}", tex)
    assert included
    for name in included:
        assert (app.outdir / name).read_bytes().startswith(b"\x89PNG")


def test_man_pages_keep_names_whole(tmp_path):
    """groff hyphenates words at a line's end ("orders.com‐" / "mands" in sample_docs'
    man page before the fix): no inline literal (bold in the rendered page) may come out
    cut, at any width."""
    import subprocess

    # a process of its own, without colours (Sphinx 9 colours when CI is set)
    subprocess.run([sys.executable, "-m", "sphinx", "-N", "-q", "-b", "man",
                    str(ROOT / "sample_docs"), str(tmp_path)], check=True, timeout=300)
    (page,) = tmp_path.glob("*.1")
    source = page.read_text(encoding="utf-8").replace("\\%", "").replace("\\-", "-")
    literal_words = {word for literal in re.findall(r"\\fB(.+?)\\fP", source)
                     for word in literal.split() if re.search(r"\w[._/-]\w", word)}
    assert "orders.commands" in literal_words
    for width in (50, 60, 80):
        shown = subprocess.run(
            ["groff", "-t", "-man", "-Tutf8", f"-rLL={width}n", str(page)],
            capture_output=True, text=True, timeout=60, check=True).stdout
        assert "o\bor\brd\bde\ber\brs\bs" in shown  # bold is overstruck, as looked for
        # a bold word ending a line in a bold hyphen, and the bold word starting the next
        # line, make a literal's name: hyphenation cut it (names with a dot, dash, slash or
        # underscore: plain words may be bold elsewhere too)
        lines = [re.sub(".\b", "", line) if "\b" in line else "" for line in
                 shown.replace("\u2010\b\u2010", "\0").splitlines()]
        cut = [(line, after) for line, after in zip(lines, lines[1:], strict=False)
               if line.endswith("\0") and after.split()
               and line.split()[-1][:-1] + after.split()[0] in literal_words]
        assert not cut, (width, cut[:5])


@pytest.mark.sphinx("text", testroot="basic", freshenv=True,
                    srcdir="test_a_fanout_binding_key_is_shown_as_ignored")
def test_a_fanout_binding_key_is_shown_as_ignored(app):
    """The bindings table keeps the key the broker stores for a fanout binding (here the
    empty one, written as in the diagram), marked as ignored; the diagram leaves it out."""
    app.build()
    text = (app.outdir / "index.txt").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if 'exchange "orders.dlx"' in line]
    assert any('"""" (ignored by fanout)' in line for line in rows), rows
