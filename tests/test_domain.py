"""The rabbitmq domain in real builds: descriptions, roles, drawn targets, checks, the
index, objects.inv, coverage and clickable diagrams."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sphinxext_rabbit.extension.domain import (
    Key,
    TargetError,
    key_of,
    parse_target,
    qualified,
    target_text,
)
from tests.helpers import ROOT, build_output, page_text, shown_type

DOMAIN_ROOT = ROOT / "tests" / "roots" / "test-domain"
HOSTILE = "<img src=x onerror=alert(1)>"


def copy_root(tmp_path: Path, name: str = "project") -> Path:
    target = tmp_path / name
    shutil.copytree(DOMAIN_ROOT, target)
    return target


def build(make_app, srcdir: Path, builder: str = "html", **kwargs):
    app = make_app(builder, srcdir=srcdir, freshenv=kwargs.pop("freshenv", True), **kwargs)
    app.build()
    # the nodes and roles it registered, so that the next app of the test registers them anew
    app.cleanup()
    return app


def warnings_of(app) -> list[str]:
    """The build's warnings, one a line, without the colours a terminal may have turned on."""
    return re.sub(r"\x1b\[[0-9;]*m", "", build_output(app)[1]).splitlines()


def hrefs(html: str) -> dict[str, str]:
    """Link text -> href of the page's internal references."""
    found = {}
    for href, text in re.findall(r'<a class="reference internal" href="([^"]*)"[^>]*>(.*?)</a>',
                                 html, re.DOTALL):
        found.setdefault(page_text(text).strip(), href)
    return found


# -- targets ------------------------------------------------------------------------------

@given(st.sampled_from(["vhost", "exchange", "queue", "policy"]), st.text(min_size=1),
       st.text())
def test_a_resolved_target_names_its_entity_whatever_the_names_hold(kind, vhost, name):
    key = Key(kind, vhost, vhost) if kind == "vhost" else Key(kind, vhost, name)
    target = target_text(key)
    assert key_of(kind, target) == key
    assert not any(character.isspace() for character in target)  # one objects.inv field


def test_a_role_in_the_vhost_form_reads_as_its_resolved_target():
    assert qualified("billing", "invoices.due") == "{billing}invoices.due"
    assert qualified("/", "a b}") == "{/}a%20b%7D"


def test_targets_name_the_current_vhost_unless_braces_name_another():
    assert parse_target("orders.created", "/") == ("/", "orders.created")
    assert parse_target("{billing}a/b: c.d e", "/") == ("billing", "a/b: c.d e")
    assert parse_target("{%2F}x", "billing") == ("/", "x")
    assert parse_target("{}{weird", "billing") == ("billing", "{weird")
    assert parse_target("{a%7Db}x}y", "/") == ("a}b", "x}y")
    for bad in ("{unclosed", "{50%}x", "{%ff}x"):
        with pytest.raises(TargetError):
            parse_target(bad, "/")


# -- a build --------------------------------------------------------------------------------

def test_roles_link_to_descriptions_else_table_rows(make_app, tmp_path):
    app = build(make_app, copy_root(tmp_path))
    assert warnings_of(app) == []
    index = (app.outdir / "index.html").read_text(encoding="utf-8")
    links = hrefs(index)
    assert links["orders.created"] == "#rabbitmq-queue-orders.created"  # its description
    assert links["orders.in"] == "sub/diagram.html#rabbitmq-row-exchange-orders.in"  # a row
    # the same name in another vhost is another entity, linked apart
    assert (links["invoices/due: march 2026"]
            == "sub/diagram.html#rabbitmq-row-queue-billing-invoices-due-march-2026")
    assert re.search(r'href="sub/diagram.html#rabbitmq-row-queue-billing-orders.created"[^>]*>'
                     r'<code[^>]*><span class="pre">orders.created', index)
    # a hostile name is text, linked to its description on the other page
    assert "<img src" not in index and "&lt;img" in index
    assert links[HOSTILE].startswith("sub/diagram.html#rabbitmq-queue-")
    diagram = (app.outdir / "sub" / "diagram.html").read_text(encoding="utf-8")
    assert "<img src=x" not in diagram
    # the tables' names link to descriptions, from a page in a sub-folder
    assert hrefs(diagram)["orders.created"] == "../index.html#rabbitmq-queue-orders.created"
    assert 'id="rabbitmq-row-queue-orders.dead"' in diagram
    # after rabbitmq:current-vhost, names are in that vhost
    assert re.search(r'href="#rabbitmq-row-queue-billing-orders.created"[^>]*>'
                     r'<code[^>]*><span class="pre">orders.created</span></code></a> is another',
                     diagram)


def test_in_latex_a_role_to_a_table_row_lands_on_a_label_of_that_row(make_app, tmp_path):
    app = build(make_app, copy_root(tmp_path), "latex")
    (tex,) = app.outdir.glob("*.tex")
    text = tex.read_text(encoding="utf-8")
    linked = set(re.findall(r"\\hyperref\[\\detokenize\{([^}]*:rabbitmq-row-[^}]*)\}\]", text))
    assert "sub/diagram:rabbitmq-row-exchange-orders.in" in linked
    labels = set(re.findall(r"\\label\{\\detokenize\{([^}]*)\}\}", text))
    assert linked <= labels, sorted(linked - labels)


def test_index_entries_and_the_domain_index(make_app, tmp_path):
    app = build(make_app, copy_root(tmp_path))
    genindex = page_text((app.outdir / "genindex.html").read_text(encoding="utf-8"))
    assert "orders.created (queue in /)" in genindex
    assert "invoices (exchange in billing)" in genindex
    entities = page_text((app.outdir / "rabbitmq-entities.html").read_text(encoding="utf-8"))
    words = " ".join(entities.split())
    assert "vhost / " in words and "vhost billing " in words
    assert "orders.created (queue) Consumed by the fulfilment service." in words
    assert "At-least-once" not in words  # the first sentence only
    # (after the headings' links at the top) the vhosts in order, their entities under them
    assert words.index("orders.created (queue)") < words.rindex("vhost billing") < words.index(
        "invoices (exchange)")


def test_intersphinx_links_from_another_project(make_app, tmp_path):
    first = build(make_app, copy_root(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    inventory = first.outdir / "objects.inv"
    (other / "conf.py").write_text(
        'extensions = ["sphinx.ext.intersphinx", "sphinxext_rabbit"]\n'
        f'intersphinx_mapping = {{"orders": ("https://orders.example/", {str(inventory)!r})}}\n',
        encoding="utf-8")
    (other / "index.rst").write_text(
        "Other\n=====\n\nSee :rabbitmq:queue:`orders.created`, "
        ":rabbitmq:queue:`{billing}invoices/due: march 2026` and "
        ":rabbitmq:exchange:`orders.in`.\n", encoding="utf-8")
    app = build(make_app, other)
    assert warnings_of(app) == []
    links = hrefs((app.outdir / "index.html").read_text(encoding="utf-8").replace(
        'class="reference external"', 'class="reference internal"'))
    assert links["orders.created"] == (
        "https://orders.example/index.html#rabbitmq-queue-orders.created")
    assert links["invoices/due: march 2026"] == (
        "https://orders.example/sub/diagram.html"
        "#rabbitmq-row-queue-billing-invoices-due-march-2026")
    assert links["orders.in"].endswith("#rabbitmq-row-exchange-orders.in")


# -- checks -------------------------------------------------------------------------------

BROKEN = """

A typo: :rabbitmq:queue:`orders.creatd`, and :rabbitmq:queue:`{bad`.

.. rabbitmq:queue:: orders.created

   Again.

.. rabbitmq:queue:: orders.gone

   Gone.
"""


def broken_root(tmp_path: Path) -> Path:
    root = copy_root(tmp_path, "broken")
    with (root / "sub" / "diagram.rst").open("a", encoding="utf-8") as page:
        page.write(BROKEN)
    return root


def expected_warnings(root: Path) -> list[str]:
    page = root / "sub" / "diagram.rst"
    # the lines of BROKEN, after the page's own
    typo, twice, gone = (len((DOMAIN_ROOT / "sub" / "diagram.rst").read_text(
        encoding="utf-8").splitlines()) + offset for offset in (3, 5, 9))
    return [
        f"{page}:{typo}: WARNING: rabbitmq:queue: '{{bad': the '{{' that opens a vhost is not "
        "closed by '}'; write '{}{bad' for a name that starts with '{'" + shown_type("target"),
        f"{page}:{twice}: WARNING: queue 'orders.created' in vhost '/' is described twice; first "
        "at index.rst:14" + shown_type("duplicate-description"),
        f"{page}:{gone}: WARNING: queue 'orders.gone' in vhost '/' is described, but the "
        "reference topology does not contain it — did you mean 'orders.dead'?"
        + shown_type("stale-description"),
        f"{page}:{typo}: WARNING: queue 'orders.creatd' in vhost '/' is in no topology of this "
        "build — did you mean 'orders.created'?" + shown_type("unknown-reference"),
    ]


def test_checks_warn_once_at_the_page_and_line(make_app, tmp_path):
    root = broken_root(tmp_path)
    app = build(make_app, root)
    assert warnings_of(app) == expected_warnings(root)
    # a build that reads nothing again says nothing again
    again = build(make_app, root, freshenv=False)
    assert warnings_of(again) == []


def test_checks_are_the_same_in_a_parallel_build(make_app, tmp_path):
    root = broken_root(tmp_path)
    app = build(make_app, root, parallel=2)
    assert warnings_of(app) == expected_warnings(root)


def test_the_reference_topology_can_be_named_in_conf(make_app, tmp_path):
    root = copy_root(tmp_path)
    smaller = json.loads((root / "broker" / "definitions.json").read_text(encoding="utf-8"))
    smaller["queues"] = [q for q in smaller["queues"] if q["name"] != "orders.created"]
    (root / "reference.json").write_text(json.dumps(smaller), encoding="utf-8")
    app = build(make_app, root, confoverrides={
        "rabbitmq_reference_sources": ["reference.json"]})
    warnings = warnings_of(app)
    assert warnings == [
        f"{root / 'index.rst'}:14: WARNING: queue 'orders.created' in vhost '/' is described, "
        "but the reference topology does not contain it — did you mean 'orders.dead'?"
        + shown_type("stale-description")]


# -- incremental and parallel ---------------------------------------------------------------

def test_a_moved_description_re_resolves_and_a_deleted_page_drops_its_objects(make_app,
                                                                               tmp_path):
    root = copy_root(tmp_path)
    build(make_app, root)
    index = root / "index.rst"
    text = index.read_text(encoding="utf-8")
    description = (".. rabbitmq:queue:: orders.created\n\n   Consumed by the fulfilment "
                   "service. At-least-once; consumers must be idempotent.\n")
    assert description in text
    index.write_text(text.replace(description, ""), encoding="utf-8")
    with (root / "sub" / "diagram.rst").open("a", encoding="utf-8") as page:
        page.write("\n" + description)
    app = build(make_app, root, freshenv=False)
    assert warnings_of(app) == []
    assert hrefs((app.outdir / "index.html").read_text(encoding="utf-8"))["orders.created"] == (
        "sub/diagram.html#rabbitmq-queue-orders.created")
    # sub/diagram.rst was read again; index.rst too (edited). Now delete the page.
    (root / "sub" / "diagram.rst").unlink()
    index.write_text(index.read_text(encoding="utf-8").replace("   sub/diagram\n", ""),
                     encoding="utf-8")
    app = build(make_app, root, freshenv=False)
    domain = app.env.domains["rabbitmq"]
    assert "sub/diagram" not in domain.data["descriptions"]
    assert all(docname == "index" for _, docname, _ in domain.targets().values())


def test_a_page_not_read_again_is_written_again_when_its_target_moves(make_app, tmp_path):
    root = copy_root(tmp_path)
    (root / "third.rst").write_text(
        "Third\n=====\n\nSee :rabbitmq:exchange:`orders.in`.\n", encoding="utf-8")
    index = root / "index.rst"
    index.write_text(index.read_text(encoding="utf-8") + "   third\n", encoding="utf-8")
    app = build(make_app, root)
    assert hrefs((app.outdir / "third.html").read_text(encoding="utf-8"))["orders.in"] == (
        "sub/diagram.html#rabbitmq-row-exchange-orders.in")
    index.write_text(index.read_text(encoding="utf-8") + "\n.. rabbitmq:exchange:: orders.in"
                     "\n\n   Where orders enter.\n", encoding="utf-8")
    app = build(make_app, root, freshenv=False)
    assert hrefs((app.outdir / "third.html").read_text(encoding="utf-8"))["orders.in"] == (
        "index.html#rabbitmq-exchange-orders.in")


def test_a_parallel_build_is_the_serial_one(make_app, tmp_path):
    root = copy_root(tmp_path)
    serial = build(make_app, root, builddir=tmp_path / "serial")
    parallel = build(make_app, root, builddir=tmp_path / "parallel", parallel=2)
    for page in ("index.html", "sub/diagram.html", "rabbitmq-entities.html", "genindex.html"):
        assert (serial.outdir / page).read_bytes() == (parallel.outdir / page).read_bytes()
    assert (serial.outdir / "objects.inv").read_bytes() == (
        parallel.outdir / "objects.inv").read_bytes()


@pytest.mark.parametrize("builder", ["html", "dirhtml", "singlehtml", "latex", "epub", "text",
                                     "man"])
def test_every_builder_is_clean(make_app, tmp_path, builder):
    app = build(make_app, copy_root(tmp_path), builder, warningiserror=True)
    assert warnings_of(app) == []


# -- coverage -------------------------------------------------------------------------------

def test_coverage_reports_undocumented_entities_by_vhost(make_app, tmp_path):
    app = build(make_app, copy_root(tmp_path), "rabbitmq-coverage")
    assert warnings_of(app) == []
    report = json.loads((app.outdir / "rabbitmq-coverage.json").read_text(encoding="utf-8"))
    assert report["entities"] == 9 and report["documented"] == 3
    slash = report["vhosts"]["/"]
    assert (slash["entities"], slash["documented"], slash["percent"]) == (6, 2, 33.3)
    assert {"kind": "queue", "name": "orders.dead"} in slash["undocumented"]
    assert {"kind": "queue", "name": HOSTILE} not in slash["undocumented"]
    assert report["vhosts"]["billing"]["undocumented"] == [
        {"kind": "queue", "name": "invoices/due: march 2026"},
        {"kind": "queue", "name": "orders.created"}]
    text = (app.outdir / "rabbitmq-coverage.txt").read_text(encoding="utf-8")
    assert "vhost billing: 1 of 3 described (33.3%)" in text
    assert "  undocumented queue orders.dead" in text


def test_coverage_under_the_threshold_fails_the_build(make_app, tmp_path):
    app = build(make_app, copy_root(tmp_path), "rabbitmq-coverage",
                confoverrides={"rabbitmq_coverage_threshold": 50})
    assert app.statuscode == 1
    assert warnings_of(app) == [
        "WARNING: rabbitmq-coverage: 33.3% of the reference topology's entities are "
        "described, under rabbitmq_coverage_threshold (50%); see rabbitmq-coverage.txt"
        + shown_type("coverage")]
    app = build(make_app, copy_root(tmp_path, "again"), "rabbitmq-coverage",
                confoverrides={"rabbitmq_coverage_threshold": 30})
    assert app.statuscode == 0


# -- clickable diagrams ---------------------------------------------------------------------

def svg_links(app) -> dict[str, str]:
    """A node's tooltip's first two lines (kind, name; vhost) -> the address it links to,
    in every SVG of the build."""
    import html

    found = {}
    for svg in (app.outdir / "_images").glob("rabbitmq-*.svg"):
        for href, title in re.findall(r'<a xlink:href="([^"]*)" xlink:title="([^"]*)"',
                                      svg.read_text(encoding="utf-8")):
            found["; ".join(html.unescape(title).split("\n")[:2])] = html.unescape(href)
    return found


@pytest.mark.parametrize(("builder", "page"), [("html", "../index.html"),
                                               ("dirhtml", "../"),
                                               ("singlehtml", "../index.html")])
def test_diagram_nodes_link_to_descriptions_else_rows(make_app, tmp_path, builder, page):
    app = build(make_app, copy_root(tmp_path), builder)
    assert warnings_of(app) == []
    links = svg_links(app)
    # an SVG shown by <object> resolves its links from the image's folder
    assert links["queue orders.created; vhost /"] == f"{page}#rabbitmq-queue-orders.created"
    rows = {"html": "../sub/diagram.html", "dirhtml": "../sub/diagram/",
            "singlehtml": "../index.html"}[builder]
    assert links["queue orders.dead; vhost /"] == f"{rows}#rabbitmq-row-queue-orders.dead"
    assert links["queue orders.created; vhost billing"] == (
        f"{rows}#rabbitmq-row-queue-billing-orders.created")
    assert links["exchange invoices; vhost billing"] == (
        f"{page}#rabbitmq-exchange-billing-invoices")
    svg = next((app.outdir / "_images").glob("rabbitmq-*.svg")).read_text(encoding="utf-8")
    assert svg.count('target="_top"') == len(links)
    assert "<img" not in svg


def test_png_diagrams_get_an_image_map(make_app, tmp_path):
    app = build(make_app, copy_root(tmp_path),
                confoverrides={"rabbitmq_topology_output_format": "png"})
    assert warnings_of(app) == []
    page = (app.outdir / "sub" / "diagram.html").read_text(encoding="utf-8")
    name = re.search(r'<img [^>]*usemap="#([^"]+)"', page).group(1)
    assert f'<map id="{name}" name="{name}">' in page
    areas = re.findall(r'<area shape="[a-z]+" href="([^"]*)" target="_top" title="([^"\n]*)',
                       page)
    assert ("../index.html#rabbitmq-queue-orders.created", "queue orders.created") in areas
    assert ("diagram.html#rabbitmq-row-queue-orders.dead", "queue orders.dead") in areas
    assert "<img src=x" not in page


# -- MyST -----------------------------------------------------------------------------------

MYST_PAGE = """# Orders in Markdown

```{rabbitmq:vhost} billing
```

```{rabbitmq:queue} orders.created
Billing's copy of the orders.
```

Invoices leave through {rabbitmq:exchange}`invoices`; orders land in
{rabbitmq:queue}`orders.created`, and in {rabbitmq:queue}`{/}orders.created` of `/`.

```{rabbitmq-topology} broker/definitions.json
:vhost: billing
:show: diagram, queues
```
"""


def test_myst_pages_use_the_directive_the_domain_and_the_roles(make_app, tmp_path):
    root = copy_root(tmp_path)
    (root / "conf.py").write_text('extensions = ["myst_parser", "sphinxext_rabbit"]\n',
                                  encoding="utf-8")
    (root / "markdown.md").write_text(MYST_PAGE, encoding="utf-8")
    index = root / "index.rst"
    index.write_text(index.read_text(encoding="utf-8") + "   markdown\n", encoding="utf-8")
    app = build(make_app, root)
    assert warnings_of(app) == []
    page = (app.outdir / "markdown.html").read_text(encoding="utf-8")
    links = hrefs(page)
    assert links["invoices"] == "index.html#rabbitmq-exchange-billing-invoices"
    assert links["orders.created"] == "#rabbitmq-queue-billing-orders.created"
    assert 'href="index.html#rabbitmq-queue-orders.created"' in page
    assert 'id="rabbitmq-row-queue-billing-invoices-due-march-2026"' in page
    # the index groups the two orders.created under one word
    assert "(queue in billing)" in page_text(
        (app.outdir / "genindex.html").read_text(encoding="utf-8"))


# -- in a browser ---------------------------------------------------------------------------

def test_clicking_a_queue_in_a_sub_folder_diagram_lands_on_its_description(
        make_app, tmp_path, browser):
    from selenium.webdriver.common.by import By

    from tests.browser import open_page

    app = build(make_app, copy_root(tmp_path))
    page = app.outdir / "sub" / "diagram.html"

    def click_node(title: str) -> None:
        open_page(browser, page)
        browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "object.graphviz"))
        node = next(link for link in browser.find_elements(By.CSS_SELECTOR, "a")
                    if (link.get_attribute("xlink:title") or "").startswith(title))
        node.find_element(By.CSS_SELECTOR, "text").click()
        browser.switch_to.default_content()

    click_node("queue orders.created\n")
    assert browser.current_url == (app.outdir / "index.html").as_uri() + (
        "#rabbitmq-queue-orders.created")
    described = browser.find_element(By.ID, "rabbitmq-queue-orders.created")
    assert described.text.startswith("queue orders.created")

    click_node(f"queue {HOSTILE}\n")
    assert browser.current_url.startswith(page.as_uri() + "#rabbitmq-queue-")
    anchor = browser.current_url.split("#", 1)[1]
    assert HOSTILE in browser.find_element(By.ID, anchor).text
    assert browser.find_elements(By.CSS_SELECTOR, "img[src=x]") == []
    # nothing ran: an alert would be open, and the page's script state untouched
    assert browser.execute_script("return typeof window.alert") == "function"
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check


def test_the_diagram_is_a_target_also_when_shown_as_text(make_app, tmp_path):
    root = copy_root(tmp_path)
    index = root / "index.rst"
    index.write_text(index.read_text(encoding="utf-8").replace(
        "(vhost :rabbitmq:vhost:`/`)", "(vhost :rabbitmq:vhost:`billing`)"), encoding="utf-8")
    app = build(make_app, root, confoverrides={"graphviz_dot": "no-such-dot",
                                               "rabbitmq_topology_dot_fallback": False})
    assert hrefs((app.outdir / "index.html").read_text(encoding="utf-8"))["billing"] == (
        "sub/diagram.html#rabbitmq-diagram-0")
    page = (app.outdir / "sub" / "diagram.html").read_text(encoding="utf-8")
    assert '<span id="rabbitmq-diagram-0"></span><div class="highlight' in page
