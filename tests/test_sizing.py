""":width:, :height:, :scale: and :align: on diagrams, and conf.py's defaults for them, in
HTML and LaTeX, as Sphinx's figures take them."""

from __future__ import annotations

import re
import shutil

from tests.helpers import ROOT, build_output, shown_type, write_project

DEFINITIONS = ROOT / "sample_docs" / "broker" / "definitions.json"

PAGE = """\
.. rabbitmq-topology:: definitions.json
   :vhost: billing
   :show: diagram
   :width: 50%
   :align: center

.. rabbitmq-topology:: definitions.json
   :vhost: billing
   :show: diagram
   :scale: 50
   :caption: Half size
   :align: right

.. rabbitmq-topology:: definitions.json
   :vhost: billing
   :show: diagram
   :height: 4cm
   :scale: 50

.. rabbitmq-topology:: definitions.json
   :vhost: billing
   :show: diagram
   :width: wide
   :align: middle

.. rabbitmq-route:: definitions.json
   :vhost: billing
   :exchange: payments.events
   :routing-key: payment.captured
   :width: 300
"""


def project(tmp_path, **conf):
    root = write_project(tmp_path / "src", {"page": PAGE}, **conf)
    shutil.copy(DEFINITIONS, root / "definitions.json")
    return root


def diagrams(html: str) -> list[str]:
    return re.findall(r'<div(?: id="[^"]*")? class="graphviz rabbitmq-topology[^"]*">.*?</div>',
                      html)


def test_html_sizes_and_aligns_diagrams(make_app, tmp_path):
    app = make_app("html", srcdir=project(tmp_path), freshenv=True)
    app.build()
    warnings = build_output(app)[1]
    html = (app.outdir / "page.html").read_text(encoding="utf-8")
    first, scaled, tall, bad, route = diagrams(html)
    assert re.match(r'<div id="[^"]+" class="graphviz rabbitmq-topology align-center">', first)
    assert 'style="width: 50%"' in first
    # a scale without lengths scales dot's own size (points in an SVG)
    width, height = (float(number) for number in re.search(
        r'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
        (app.outdir / re.search(r'data="([^"]+)"', scaled).group(1)).read_text(encoding="utf-8"),
    ).groups())
    assert f'style="width: {width / 2:g}pt; height: {height / 2:g}pt"' in scaled
    # in a figure the figure is aligned, as Sphinx's figures are
    assert re.search(r'<figure class="align-right"[^>]*>\s*<div id="[^"]+" class="graphviz '
                     r'rabbitmq-topology">', html)
    assert 'style="height: 2cm"' in tall
    assert 'style="width: 300px"' in route
    # a bad value is warned about, located, and the diagram drawn without it
    assert "<object" in bad and "style=" not in bad and "align-" not in bad
    for option, value in (("width", "wide"), ("align", "middle")):
        assert re.search(rf"page.rst:\d+: WARNING: rabbitmq-topology: :{option}: '{value}' is "
                         rf"not used: .*{re.escape(shown_type('option'))}", warnings), warnings
    assert len(warnings.splitlines()) == 2, warnings


def test_conf_py_sets_the_default_width_and_alignment(make_app, tmp_path):
    app = make_app("html", srcdir=project(tmp_path, rabbitmq_topology_width="80%",
                                          rabbitmq_topology_align="left"), freshenv=True)
    app.build()
    html = (app.outdir / "page.html").read_text(encoding="utf-8")
    first, scaled, tall, bad, route = diagrams(html)
    assert "align-center" in first and 'width: 50%' in first  # the option wins
    assert "align-left" in tall and "width: 40%" in tall  # conf's width, scaled
    assert "align-left" in route and "width: 300px" in route


def test_a_bad_default_in_conf_py_is_warned_about_once(make_app, tmp_path):
    app = make_app("html", srcdir=project(tmp_path, rabbitmq_topology_width="huge"),
                   freshenv=True)
    app.build()
    warnings = [line for line in build_output(app)[1].splitlines() if line]
    assert len(warnings) == 3, warnings  # the page's two, and conf.py's once
    # located at the line of conf.py that sets it
    assert [line for line in warnings if re.search(
        r"conf.py:2: WARNING: rabbitmq_topology_width = 'huge' is not used: ", line)], warnings


def test_latex_sizes_and_aligns_diagrams(make_app, tmp_path):
    app = make_app("latex", srcdir=project(tmp_path), freshenv=True)
    app.build()
    tex = next(app.outdir.glob("*.tex")).read_text(encoding="utf-8")
    included = re.findall(r"\n(.*\\sphinxincludegraphics\[(.*?)\]\{rabbitmq-[0-9a-f]+\.pdf\}.*)\n",
                          tex)
    assert [options for _, options in included] == [
        r"width=0.500\linewidth", "scale=0.5", "height=2.00000cm", "", r"width=300\sphinxpxdimen"]
    # after the diagram's label (references to what it draws lead there)
    assert re.match(r"\\label\{[^\n]*?\}\}\{\\hspace\*\{\\fill\}\\sphinxincludegraphics",
                    included[0][0])
    assert included[0][0].endswith(r"\hspace*{\fill}}")
