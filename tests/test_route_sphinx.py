"""The rabbitmq-route directive in real builds: claims checked, paths drawn and explained."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.helpers import build_output, page_text, run_dot, shown_type, svg_text


def _warnings(app) -> list[str]:
    text = re.sub(r"\x1b\[[0-9;]*m", "", build_output(app)[1])  # colours
    return [line for line in text.splitlines() if "WARNING" in line]


@pytest.mark.sphinx("html", testroot="route", freshenv=True,
                    srcdir="test_route_claims_are_checked_and_drawn")
def test_route_claims_are_checked_and_drawn(app):
    app.build()
    warnings = _warnings(app)
    # every true claim builds clean; each wrong one warns once, at its directive's line
    assert not [w for w in warnings if "index.rst" in w]
    assert [re.search(r"failing\.rst:(\d+)", w)[1] for w in warnings] == ["4", "9", "13", "17",
                                                                         "21"]
    assert warnings[0].split("failing.rst:4: ")[1] == (
        "WARNING: rabbitmq-route: broker/definitions.json: a message published to exchange "
        "'orders.in' with routing key 'order.created.eu' reaches 'audit.all', "
        "'orders.created', not what :expect: says (expected but not reached: 'sms'; reached "
        "but not expected: 'audit.all')" + shown_type("route"))
    assert ("is expected to be unroutable, but reaches 'unrouted.inspect'"
            + shown_type("route")) in warnings[1]
    assert "'no.such.exchange' does not exist in vhost '/'" in warnings[2]
    assert "'notify' is internal: the broker refuses" in warnings[3]
    assert shown_type("route-refused") in warnings[3]
    assert ":exchange: is missing" in warnings[4] and shown_type("option") in warnings[4]
    assert "'region' is not name=value" in build_output(app)[1]

    html = (app.outdir / "index.html").read_text(encoding="utf-8")
    text = page_text(html)
    assert "Fig. 1 An order created in the EU" in text
    assert re.search(r'<a class="reference internal" href="#fig-created">.*Fig. 1', html)
    assert "Route: An order created in the EU" in text
    one_line = " ".join(text.split())
    for row in [
        "published exchange orders.in (topic), routing key order.created.eu, headers "
        "region=eu, severity=critical",
        "expected orders.created, audit.all, sms (checked by the build)",
        "sms exchange orders.in → exchange notify (binding key order.created.eu); exchange "
        "notify → queue sms (headers match x-match=all, region=eu, severity=critical)",
        # typed headers: {"n": 1} matches the binding n=1, {"n": "1"} does not
        "count exchange orders.in → exchange notify (binding key order.created.eu); exchange "
        "notify → queue count (headers match x-match=all, n=1)",
        # names and keys are literals: smartquotes leave them alone
        "k\"ey--a...b exchange commands → queue k\"ey--a...b (binding key it's--\"quoted\"...)",
        "the default exchange → queue count (routing key count names the queue)",
        "exchange commands → exchange unrouted (no binding matched: alternate exchange, from "
        "policy unrouted)",
        "dead-lettered by orders.created queue orders.created → exchange orders.dlx "
        "(dead-letter exchange, from queue argument, keeping its routing keys); queues: "
        "orders.dead",
    ]:
        assert row in one_line, row

    # every route drawn: 7 on index, 3 on failing (not the unusable); one image per
    # distinct diagram, so two pages drawing the same route share a file
    for page, drawn in (("index.html", 7), ("failing.html", 3)):
        images = re.findall(r"_images/(rabbitmq-[0-9a-f]+\.svg)", (app.outdir / page).read_text())
        assert len(images) == drawn, page
        assert all((app.outdir / "_images" / image).is_file() for image in images)
    svgs = sorted((app.outdir / "_images").glob("rabbitmq-*.svg"))
    # the route of the first page (the file names are digests, in no page order)
    first = next(p for p in svgs if "severity" in svg_text(p.read_bytes())
                 and "orders.in" in svg_text(p.read_bytes()))
    svg = first.read_bytes().decode()
    # the path is bold, what it does not take is grey, and both are drawn
    assert svg.count('stroke-width="2.5"') >= 5
    shown = svg_text(first.read_bytes())
    for name in ("orders.in", "notify", "sms", "orders.created", "audit.all", "count"):
        assert name in shown
    assert "#737373" in svg  # gray45


@pytest.mark.sphinx("html", testroot="route", freshenv=True,
                    srcdir="test_route_warnings_fail_w_and_can_be_suppressed",
                    confoverrides={"suppress_warnings": ["rabbitmq.route"]})
def test_route_warnings_fail_w_and_can_be_suppressed(app, tmp_path):
    app.build()
    warnings = _warnings(app)
    # the route claims' warnings are gone; the broker's refusal (another subtype) is not
    assert not [w for w in warnings if "not what :expect: says" in w]
    assert [w for w in warnings if "'notify' is internal: the broker refuses" in w]
    (app.srcdir / "failing.rst").write_text(
        (app.srcdir / "failing.rst").read_text().split(".. rabbitmq-route:: broker/"
                                                        "definitions.json\n   :exchange: "
                                                        "unrouted")[0], encoding="utf-8")
    strict = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                             str(app.srcdir), str(tmp_path / "html")],
                            capture_output=True, text=True, check=False)
    assert strict.returncode != 0
    assert "failing.rst:4" in strict.stderr and "not what :expect: says" in strict.stderr


@pytest.mark.sphinx("text", testroot="route", freshenv=True,
                    srcdir="test_route_text_builder_prints_the_hops")
def test_route_text_builder_prints_the_hops(app):
    app.build()
    text = (app.outdir / "index.txt").read_text(encoding="utf-8")
    assert "vhost /: exchange orders.in (topic), routing key order.created.eu, headers " \
           "region=eu, severity=critical" in text
    assert "exchange notify → queue sms (headers match x-match=all, region=eu, " \
           "severity=critical)" in text
    assert "queues: audit.all, orders.created, sms" in text


def test_route_dot_is_accepted_and_deterministic():
    from sphinxext_rabbit.output.dot import Highlight, to_dot
    from sphinxext_rabbit.sources import read_path
    from sphinxext_rabbit.topology.route import Router, around, published
    from sphinxext_rabbit.topology.select import Selection, views
    from tests.helpers import ROOT

    topology = read_path(str(ROOT / "sample_docs" / "broker" / "definitions.json"))
    [view], _ = views(topology, Selection(vhosts=["/"]))
    router = Router(view)
    for exchange, key in [("orders.events", "order.paid"), ("", "orders.payment-requests"),
                          ("inventory.events", "product.1"), ("orders.commands", "x")]:
        route = router.publish(exchange, published(key))
        drawn = [to_dot([part], highlight=Highlight(path, nodes))
                 for part, path, nodes in (around(view, route, router.dead_letters(route))
                                           for _ in range(2))]
        assert drawn[0] == drawn[1]
        assert svg_text(run_dot(drawn[0]))
