"""Sphinx builds that draw a real, running RabbitMQ: what a docs team sees in CI.

The broker is the test node (tests/broker.py). A small counting proxy in front of it
(a real HTTP server forwarding to the broker) tells how often a build fetched.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sphinxext_rabbit.output.definitions import write_definitions
from sphinxext_rabbit.sources import Broker as SourceBroker
from sphinxext_rabbit.sources import read_live
from tests.broker import (
    FEDERATION_PASSWORD,
    MANAGEMENT_URL,
    PASSWORD,
    SHOVEL_PASSWORD,
    USER,
    q,
)
from tests.helpers import build_output, page_text, shown_type, svg_text, write_project

PASSWORD_VARIABLE = "SPHINXEXT_RABBIT_TEST_PASSWORD"
SECRETS = (SHOVEL_PASSWORD, FEDERATION_PASSWORD, PASSWORD)


class CountingProxy:
    """Forwards GETs to the broker and counts them by path (without the query)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                proxy.paths.append(self.path.split("?")[0])
                request = urllib.request.Request(MANAGEMENT_URL + self.path,
                                                 headers=dict(self.headers))
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, body, headers = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, body, headers = error.code, error.read(), error.headers
                self.send_response(status)
                self.send_header("Content-Type", headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fetches(self) -> int:
        """How many times the topology was fetched: each fetch asks for the overview once."""
        return self.paths.count("/api/overview")


@pytest.fixture
def proxy():
    counting = CountingProxy()
    yield counting
    counting.server.shutdown()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def project(root: Path, url: str, pages: dict[str, str], **conf: Any) -> Path:
    """A Sphinx project whose conf.py names the broker "test" at ``url``."""
    return write_project(
        root, pages,
        rabbitmq_topology_brokers={
            "test": {"url": url, "user": USER, "password_env": PASSWORD_VARIABLE}},
        rabbitmq_topology_snapshot_dir="snapshots", **conf)


def topology_page(source: str, vhost: str, extra: str = "") -> str:
    return (f".. rabbitmq-topology:: {source}\n   :vhost: {vhost}\n"
            f"   :show: diagram, bindings, queues\n{extra}")


@pytest.fixture
def billing(declared_topology, monkeypatch) -> str:
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)
    return declared_topology["vhosts"][0]["name"]


def warnings_of(app) -> list[str]:
    """The build's warnings, less those of a second app built in the same test (Sphinx
    then warns that its own nodes are registered again)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", build_output(app)[1])
    return [line for line in text.splitlines() if "already registered" not in line]


def built_text(app) -> str:
    """Everything a build wrote and keeps: pages, images, doctrees, the environment."""
    chunks = []
    for folder in (Path(app.outdir), Path(app.doctreedir), Path(app.srcdir) / "snapshots"):
        chunks += [path.read_bytes().decode("utf-8", "replace")
                   for path in folder.rglob("*") if path.is_file()]
    return "\n".join(chunks)


def test_a_live_broker_is_fetched_once_per_build_and_drawn_on_every_page(
        make_app, tmp_path, proxy, billing, declared_topology):
    zurich = declared_topology["vhosts"][1]["name"]
    pages = {f"page{n}": topology_page("test", billing) for n in range(4)}
    pages["zurich"] = topology_page("test", zurich)
    srcdir = project(tmp_path / "src", proxy.url, pages)
    app = make_app("html", srcdir=srcdir, parallel=2, freshenv=True)
    app.build()
    assert warnings_of(app) == []
    assert proxy.fetches() == 1
    for name in pages:
        text = page_text((Path(app.outdir) / f"{name}.html").read_text(encoding="utf-8"))
        if name == "zurich":
            assert "bestellungen.zürich" in text and "invoice.#" not in text
        else:
            assert "invoice.#" in text and "payments.dead" in text
    # the snapshot a build without the broker would draw
    [snapshot] = (srcdir / "snapshots").glob("*.json")
    assert json.loads(snapshot.read_text(encoding="utf-8"))["sphinxext_rabbit"]["taken_at"]

    # a page that draws a live broker is read again by the next build, and fetched again
    again = make_app("html", srcdir=srcdir)
    again.build()
    assert proxy.fetches() == 2
    assert "page0" in again._status.getvalue()


def test_queue_table_shows_what_the_broker_holds_as_of_the_fetch(make_app, tmp_path,
                                                                  billing, broker):
    # a new queue has no figures until the broker's next statistics round (every second)
    deadline = time.monotonic() + 15
    while not all("messages" in queue for queue in broker.request("GET", f"queues/{q(billing)}")):
        assert time.monotonic() < deadline, "the broker published no queue figures"
        time.sleep(0.5)
    srcdir = project(tmp_path / "src", MANAGEMENT_URL, {"live": topology_page(
        "test", billing, "   :hide-temporary:\n")})
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    assert warnings_of(app) == []
    text = page_text((Path(app.outdir) / "live.html").read_text(encoding="utf-8"))
    assert "Queues (as of 20" in text
    assert "Messages" in text and "Consumers" in text


def test_a_broker_that_is_down_draws_the_snapshot_and_says_how_old_it_is(
        make_app, tmp_path, billing):
    srcdir = project(tmp_path / "src", f"http://127.0.0.1:{free_port()}",
                     {"live": topology_page("test", billing)})
    topology = read_live(SourceBroker("test", MANAGEMENT_URL, USER, PASSWORD_VARIABLE),
                         vhost=billing)
    topology.taken_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7300))
    (srcdir / "snapshots").mkdir()
    write_definitions(topology, srcdir / "snapshots" / "test.json")
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    [warning] = warnings_of(app)
    assert "live.rst:4: WARNING: test: http://127.0.0.1:" in warning
    assert "connection refused" in warning.lower() or "refused" in warning
    assert "drawn from the snapshot" in warning and "taken 2 hours ago" in warning
    assert warning.endswith(shown_type("fetch"))
    assert "invoices.dead" in page_text((Path(app.outdir) / "live.html").read_text("utf-8"))


def test_without_a_snapshot_a_down_broker_is_one_warning_and_an_empty_diagram(
        make_app, tmp_path, billing):
    srcdir = project(tmp_path / "src", f"http://127.0.0.1:{free_port()}",
                     {"one": topology_page("test", billing),
                      "two": topology_page("test", billing)})
    app = make_app("html", srcdir=srcdir, freshenv=True, confoverrides={
        "rabbitmq_topology_snapshot_dir": None})
    app.build()
    # tried once for the build (not once per directive), and said once
    [warning] = warnings_of(app)
    assert "one.rst:4: WARNING: test: " in warning
    assert "nothing drawn; set rabbitmq_topology_snapshot_dir" in warning
    # an empty diagram of the vhost, no broken image
    images = [svg_text(p.read_bytes()) for p in (Path(app.outdir) / "_images").glob("*.svg")]
    assert images and all("nothing selected" in image for image in images)


def test_compare_warns_when_a_binding_is_removed_behind_the_docs_back(
        make_app, tmp_path, billing, broker):
    srcdir = project(tmp_path / "src", MANAGEMENT_URL, {
        "billing": topology_page("broker.json", billing, "   :compare: test\n")})
    topology = read_live(SourceBroker("test", MANAGEMENT_URL, USER, PASSWORD_VARIABLE),
                         vhost=billing)
    write_definitions(topology, srcdir / "broker.json")
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    assert warnings_of(app) == []

    binding = f"bindings/{q(billing)}/e/billing/q/payments/{q('payment.*')}"
    broker.delete(binding)
    try:
        again = make_app("html", srcdir=srcdir, freshenv=True)
        again.build()
    finally:
        broker.request("POST", f"bindings/{q(billing)}/e/billing/q/payments",
                       {"routing_key": "payment.*", "arguments": {}})
    [warning] = warnings_of(again)
    assert "billing.rst:4: WARNING: " in warning
    assert "binding exchange 'billing' -> queue 'payments'" in warning
    assert "is only in broker.json" in warning
    assert warning.endswith(shown_type("drift"))


def test_no_secret_reaches_pages_images_doctrees_environment_or_snapshots(
        make_app, tmp_path, declared_topology, billing):
    zurich = declared_topology["vhosts"][1]["name"]
    srcdir = project(tmp_path / "src", MANAGEMENT_URL, {
        "billing": topology_page("test", billing, "   :legend:\n"),
        "zurich": topology_page("test", zurich),
        "tables": topology_page("test", billing).replace(
            "bindings, queues", "bindings, queues, exchanges, policies")})
    for builder in ("html", "text"):
        app = make_app(builder, srcdir=srcdir, builddir=tmp_path / builder, freshenv=True)
        app.build()
        everything = built_text(app) + "".join(build_output(app))
        assert "archive.example.invalid" in everything  # the shovel is drawn ...
        for secret in SECRETS:
            assert secret not in everything  # ... without its password
        assert "password_hash" not in everything


def test_a_compare_default_in_conf_checks_every_diagram_against_another_file(make_app,
                                                                              tmp_path):
    # no broker needed: a committed snapshot and the docs' own file drift apart
    docs = json.loads((Path(__file__).parent / "fixtures" / "overlay" / "base.json")
                      .read_text(encoding="utf-8"))
    srcdir = project(tmp_path / "src", "http://127.0.0.1:9", {
        "shop": topology_page("docs.json", "shop"),
        "orders": topology_page("docs.json", "shop", "   :include: orders.*\n"),
    }, rabbitmq_topology_compare="snapshot.json")
    (srcdir / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
    docs["bindings"] = [b for b in docs["bindings"] if b["destination"] != "orders.shipped"]
    (srcdir / "snapshot.json").write_text(json.dumps(docs), encoding="utf-8")
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    warnings = warnings_of(app)
    assert len(warnings) == 2  # one per page that draws the binding
    for page, warning in zip(("orders", "shop"), warnings, strict=True):
        assert f"{page}.rst:4: WARNING: rabbitmq-topology: binding exchange 'orders' -> " \
               "queue 'orders.shipped'" in warning
        assert warning.endswith("is only in docs.json" + shown_type("drift"))


def test_a_bad_broker_setting_spoils_only_the_pages_that_name_it(make_app, tmp_path):
    base = (Path(__file__).parent / "fixtures" / "overlay" / "base.json").read_text("utf-8")
    srcdir = project(tmp_path / "src", "http://127.0.0.1:9", {
        "files": topology_page("docs.json", "shop", "   :compare: none\n"),
        "broker": topology_page("bad", "shop"),
    }, rabbitmq_topology_compare="other.json")
    (srcdir / "docs.json").write_text(base, encoding="utf-8")
    conf = (srcdir / "conf.py").read_text(encoding="utf-8")
    (srcdir / "conf.py").write_text(conf + "rabbitmq_topology_brokers['bad'] = "
                                    "{'url': 'http://127.0.0.1:9', 'password': 'hunter2'}\n",
                                    encoding="utf-8")
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    # the file page draws, and ":compare: none" spares it the missing other.json
    [warning] = warnings_of(app)
    assert "broker.rst:4: WARNING: rabbitmq-topology: rabbitmq_topology_brokers['bad'] has " \
           "unknown settings 'password'" in warning
    assert "hunter2" not in warning and warning.endswith(shown_type("source"))
    assert "orders.created" in page_text((Path(app.outdir) / "files.html").read_text("utf-8"))
