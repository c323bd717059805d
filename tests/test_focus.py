"""Subsystem views: :focus: with :depth: and :direction:, named views from conf.py, and
shovel and federation links between vhosts of one broker drawn to the real nodes.

The source is the sample's design doc (sample_docs/broker/design.json): an order service,
a billing service and their event bus, one vhost each, joined by shovels (``amqp:///V``)
and federation upstreams (``amqp:///events``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import uuid

from tests.broker import MANAGEMENT_URL, PASSWORD, USER, q
from tests.helpers import ROOT, cli, run_dot, write_project

DESIGN = "sample_docs/broker/design.json"
_CLUSTER = re.compile(r'^graph \[label="vhost (?P<vhost>[^"]*)"')
_NODE = re.compile(r'^(?P<id>v\d+_\w+) \[label="(?P<label>[^"\\]*)')


def drawing(dot: str) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
    """Per vhost the names drawn as nodes and those drawn as stubs (``↗``), and node ID ->
    ``vhost/name``: what a reader sees in each box."""
    nodes: dict[str, set[str]] = {}
    stubs: dict[str, set[str]] = {}
    ids: dict[str, str] = {}
    vhost = ""
    title = re.search(r'^graph \[label="vhost ([^"]*)"', dot, re.MULTILINE)
    for line in dot.splitlines():
        if (cluster := _CLUSTER.match(line)) is not None:
            vhost = cluster["vhost"]
        elif (node := _NODE.match(line)) is not None:
            vhost = vhost or (title[1] if title else "")
            label = node["label"]
            if label.startswith("↗ "):
                stubs.setdefault(vhost, set()).add(label[2:])
            else:
                nodes.setdefault(vhost, set()).add(label)
            ids[node["id"]] = f"{vhost}/{label.removeprefix('↗ ')}"
    return nodes, stubs, ids


def arrows(dot: str, ids: dict[str, str]) -> set[tuple[str, str]]:
    """Every edge as (``vhost/name``, ``vhost/name``)."""
    return {(ids[a], ids[b]) for a, b in re.findall(r"^(v\w+) -> (v\w+) ", dot, re.MULTILINE)}


def dot_of(*args: str, source: str = DESIGN) -> str:
    dot = cli("dot", source, *args).stdout
    run_dot(dot)  # dot accepts it
    return dot


# -- the walk ----------------------------------------------------------------------------


def test_down_follows_shovel_federation_and_alternate_across_vhosts():
    nodes, stubs, _ = drawing(dot_of("--focus", "orders.outbox", "--direction", "down",
                                     "--depth", "2"))
    # hop 1: the shovel to the bus; hop 2: what the bus routes to, federates and
    # alternates to (and the other broker an edge of those leads to: an external node)
    assert nodes == {
        "orders": {"orders.outbox", "events"},
        "events": {"events", "events.audit", "events.unrouted",
                   "archive.example.com/audit queue audit.events"},
        "billing": {"events"},
    }
    # the edges leaving what is kept end in stubs: the next hop, outside the selection
    assert {"orders.payment-updates"} <= stubs["orders"]
    assert {"billing.order-events"} <= stubs["billing"]


def test_up_follows_federation_back_to_the_bus_and_its_shovels():
    nodes, _, _ = drawing(dot_of("--focus", "billing.order-events", "--direction", "up"))
    assert nodes == {
        "billing": {"billing.order-events", "events", "billing.outbox"},
        "events": {"events"},
        "orders": {"orders.outbox"},
    }


def test_both_is_what_feeds_it_and_what_it_feeds_not_its_siblings():
    nodes, stubs, _ = drawing(dot_of("--focus", "events.audit", "--depth", "2"))
    assert nodes == {
        "events": {"events.audit", "events", "archive.example.com/audit queue audit.events"},
        "orders": {"orders.outbox"},
        "billing": {"billing.outbox"},
    }
    # a sibling (another destination of the exchange that feeds it) is only a stub
    assert "events.unrouted" in stubs["events"]


def test_depth_zero_keeps_the_focus_and_stubs_its_neighbours():
    nodes, stubs, _ = drawing(dot_of("--focus", "billing.charge", "--depth", "0"))
    assert nodes == {"billing": {"billing.charge"}}
    assert stubs == {"billing": {"billing.commands", "billing.dlx"}}


def test_focus_walks_only_what_vhost_and_include_keep():
    nodes, stubs, _ = drawing(dot_of("--focus", "orders.outbox", "--direction", "down",
                                     "--vhost", "orders", "--vhost", "events",
                                     "--exclude", "events.unrouted"))
    # billing is left out by --vhost: its shovel into the bus is an external node there
    assert nodes == {"orders": {"orders.outbox", "events", "orders.payment-updates",
                                "orders.dlx", "orders.dead"},
                     "events": {"events", "events.audit", "vhost billing queue billing.outbox",
                                "archive.example.com/audit queue audit.events"}}
    assert stubs["events"] == {"events.unrouted"}  # excluded: not walked through


def test_a_focus_that_names_nothing_is_a_warning_with_the_closest_name():
    completed = cli("dot", DESIGN, "--focus", "orders.outbx, billing.charge", "--depth", "0")
    assert (f"{DESIGN}: warning: focus 'orders.outbx' is no exchange or queue of this "
            "selection — did you mean 'orders.outbox'? [rabbitmq.focus]") in completed.stderr
    assert drawing(completed.stdout)[0]["billing"] == {"billing.charge"}  # the rest drawn
    completed = cli("dot", DESIGN, "--vhost", "orders", "--vhost", "events",
                    "--focus", "billing.charge")
    assert ("focus 'billing.charge' is no exchange or queue of this selection (it is in "
            "vhost 'billing', which the selection leaves out) [rabbitmq.focus]"
            ) in completed.stderr
    completed = cli("dot", DESIGN, "--exclude", "billing.*", "--focus", "billing.charge")
    assert ("focus 'billing.charge' is no exchange or queue of this selection "
            "(include/exclude or hide-temporary leave it out)") in completed.stderr


def test_bad_depth_and_direction_are_refused():
    for flags in (["--depth", "-1"], ["--depth", "two"], ["--direction", "sideways"]):
        completed = cli("dot", DESIGN, "--focus", "events", *flags, check=False)
        assert completed.returncode == 2 and completed.stdout == "", flags
        assert "sphinxext-rabbit: d" in completed.stderr


# -- links between vhosts ----------------------------------------------------------------


def test_shovels_and_federation_between_drawn_vhosts_end_at_the_real_nodes():
    dot = dot_of()
    nodes, stubs, ids = drawing(dot)
    assert not re.search(r'_ext\d+ \[label="vhost ', dot)  # no stand-in for a drawn vhost
    assert {("orders/orders.outbox", "events/events"),
            ("billing/billing.outbox", "events/events"),
            ("events/events", "billing/events"),
            ("events/events", "orders/events")} <= arrows(dot, ids)
    assert 'tooltip="shovel: queue orders.outbox in vhost orders -> exchange events' in dot
    # one vhost drawn alone: the others' ends are external nodes, named by their vhost
    alone = dot_of("--vhost", "billing")
    assert 'label="vhost events exchange events\\nexternal"' in alone


def test_a_shovel_of_another_vhost_is_drawn_where_its_end_is_once():
    # declared in the bus's vhost, which is not drawn: from the outbox to a stand-in
    dot = dot_of("--vhost", "billing", "--vhost", "orders")
    nodes, _, ids = drawing(dot)
    assert ("billing/billing.outbox", "billing/vhost events exchange events") in arrows(dot, ids)
    assert dot.count('label="shovel billing-outbox"') == 1
    # the bus drawn too: one edge, the bus's own, between the two boxes
    dot = dot_of()
    nodes, _, ids = drawing(dot)
    assert ("billing/billing.outbox", "events/events") in arrows(dot, ids)
    assert dot.count('label="shovel billing-outbox"') == 1
    edges = json.loads(cli("edges", DESIGN).stdout)
    assert [e["vhost"] for e in edges if e["origin"] == "parameter:billing-outbox"] == ["events"]
    # the focus alone, depth 0: where the outbox's messages go is still drawn, to a stub
    dot = dot_of("--focus", "billing.outbox", "--depth", "0")
    nodes, stubs, ids = drawing(dot)
    assert nodes == {"billing": {"billing.outbox"}} and stubs == {"events": {"events"}}
    assert arrows(dot, ids) == {("billing/billing.outbox", "events/events")}


def test_a_link_to_an_entity_left_out_is_a_stub_in_its_vhost():
    dot = dot_of("--include", "orders.*, events.audit")
    nodes, stubs, ids = drawing(dot)
    assert "events" in stubs["events"] and "events" not in nodes.get("events", set())
    assert ("orders/orders.outbox", "events/events") in arrows(dot, ids)


def test_a_queue_a_shovel_declares_in_another_vhost_is_a_node_there(tmp_path):
    """An AMQP 0-9-1 shovel declares a queue it does not find, in the vhost its URI names
    (the broker test below checks it): drawn there, not as missing, not as a stand-in."""
    source = tmp_path / "defs.json"
    source.write_text(json.dumps({
        "vhosts": [{"name": "a"}, {"name": "b"}],
        "queues": [{"name": "a.out", "vhost": "a", "durable": True, "auto_delete": False,
                    "arguments": {}}],
        "parameters": [{"vhost": "a", "component": "shovel", "name": "copy", "value": {
            "src-uri": "amqp:///a", "src-queue": "a.out",
            "dest-uri": "amqp:///b", "dest-queue": "b.new"}}]}), encoding="utf-8")
    assert cli("check", str(source)).stdout.endswith(": no problems\n")
    dot = dot_of(source=str(source))
    nodes, _, ids = drawing(dot)
    assert nodes == {"a": {"a.out"}, "b": {"b.new"}}
    assert ("a/a.out", "b/b.new") in arrows(dot, ids)
    assert 'tooltip="queue b.new\\nvhost b\\nclassic queue"' in dot  # not missing


# -- named views: the command line -------------------------------------------------------


def test_a_view_from_conf_py_and_flags_that_override_it(tmp_path):
    conf = tmp_path / "conf.py"
    conf.write_text("rabbitmq_topology_views = {'billing': {'vhost': 'billing', "
                    "'focus': ['billing.charge'], 'depth': 1, 'show': ['diagram']}}\n",
                    encoding="utf-8")
    completed = cli("dot", DESIGN, "--conf", str(conf), "--view", "billing")
    assert drawing(completed.stdout)[0] == {"billing": {"billing.charge", "billing.commands",
                                                        "billing.dlx"}}
    assert "view 'billing': 'show' is not used by the command line; ignored" in \
        completed.stderr
    completed = cli("dot", DESIGN, "--conf", str(conf), "--view", "billing", "--depth", "0")
    assert drawing(completed.stdout)[0] == {"billing": {"billing.charge"}}
    completed = cli("dot", DESIGN, "--conf", str(conf), "--view", "biling", check=False)
    assert completed.returncode == 2
    assert ("view 'biling' is not in rabbitmq_topology_views of "
            f"{conf} (it has: 'billing') — did you mean 'billing'?") in completed.stderr
    completed = cli("dot", DESIGN, "--view", "billing", check=False)
    assert completed.returncode == 2 and "--view needs --conf" in completed.stderr


# -- named views and focus: Sphinx -------------------------------------------------------


def test_views_in_a_sphinx_build_with_located_warnings(tmp_path):
    srcdir = tmp_path / "src"
    (srcdir / "broker").mkdir(parents=True)
    shutil.copy(ROOT / DESIGN, srcdir / "broker" / "design.json")
    views = {"billing": {"vhost": "billing", "focus": "billing.charge", "depth": 1,
                         "show": ["diagram", "queues"], "legend": True},
             "typo": {"vhost": "billing", "includes": ["billing.*"], "depth": "deep"}}
    write_project(srcdir, {
        "view": ".. rabbitmq-topology:: broker/design.json\n   :view: billing\n",
        "override": ".. rabbitmq-topology:: broker/design.json\n   :view: billing\n"
                    "   :depth: 0\n   :show: diagram\n",
        "bad": ".. rabbitmq-topology:: broker/design.json\n   :view: biling\n\n"
               ".. rabbitmq-topology:: broker/design.json\n   :view: typo\n\n"
               ".. rabbitmq-topology:: broker/design.json\n   :focus: billing.chrage\n",
    }, rabbitmq_topology_views=views)
    out = tmp_path / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "--no-color", str(srcdir),
         str(out)], capture_output=True, text=True, check=False, timeout=300)
    assert completed.returncode == 0, completed.stderr
    warnings = completed.stderr
    assert (f"{srcdir / 'bad.rst'}:4: WARNING: rabbitmq-topology: view 'biling' is not in "
            "rabbitmq_topology_views (conf.py; it has: 'billing', 'typo') — did you mean "
            "'billing'?") in warnings
    assert (f"{srcdir / 'bad.rst'}:7: WARNING: rabbitmq-topology: view 'typo' in "
            "rabbitmq_topology_views (conf.py) has key 'includes', which is no option of "
            "rabbitmq-topology — did you mean 'include'?; ignored") in warnings
    assert "view 'typo' in rabbitmq_topology_views (conf.py): depth: " in warnings
    assert (f"{srcdir / 'bad.rst'}:10: WARNING: broker/design.json: focus 'billing.chrage' "
            "is no exchange or queue of this selection — did you mean 'billing.charge'?"
            ) in warnings
    view = (out / "view.html").read_text(encoding="utf-8")
    override = (out / "override.html").read_text(encoding="utf-8")
    assert "Queues" in view and "Queues" not in override  # :show: overrides the view's
    def image(page: str) -> str:
        (name,) = re.findall(r'<object data="(_images/rabbitmq-[^"]+\.svg)"',
                             (out / f"{page}.html").read_text(encoding="utf-8"))
        return (out / name).read_text(encoding="utf-8")

    assert ">billing.dlx<" in image("view") and "Legend" in image("view")  # the view's
    # :depth: 0 overrides the view's depth: the dead-letter exchange is only a stub
    assert ">↗ billing.dlx<" in image("override") and "Legend" in image("override")


# -- the broker: amqp:///V is a vhost of the same broker ---------------------------------


def test_the_broker_moves_messages_between_its_vhosts_as_drawn(broker):
    """A shovel and a federation upstream with ``amqp:///VHOST`` URIs carry messages
    between two vhosts of the one broker; the drawing of the broker draws them between the
    nodes of the two vhosts."""
    prefix = f"views-{uuid.uuid4().hex[:8]}"
    orders, billing = f"{prefix}-orders", f"{prefix}-billing"
    try:
        for vhost in (orders, billing):
            broker.request("PUT", f"vhosts/{q(vhost)}", {})
        broker.request("PUT", f"queues/{q(orders)}/orders.outbox", {"durable": True})
        for vhost, name in ((orders, "events"), (billing, "events"), (billing, "billing.in")):
            broker.request("PUT", f"exchanges/{q(vhost)}/{name}",
                           {"type": "fanout", "durable": True})
        broker.request("PUT", f"queues/{q(orders)}/orders.audit", {"durable": True})
        # a queue the shovel does not find in the other vhost: it declares it there
        broker.request("PUT", f"parameters/shovel/{q(orders)}/audit-copy", {"value": {
            "src-protocol": "amqp091", "src-uri": f"amqp:///{q(orders)}",
            "src-queue": "orders.audit", "dest-protocol": "amqp091",
            "dest-uri": f"amqp:///{q(billing)}", "dest-queue": "billing.audit-copy"}})
        for queue, exchange in (("billing.from-shovel", "billing.in"),
                                ("billing.from-federation", "events")):
            broker.request("PUT", f"queues/{q(billing)}/{queue}", {"durable": True})
            broker.request("POST", f"bindings/{q(billing)}/e/{exchange}/q/{queue}",
                           {"routing_key": ""})
        broker.request("PUT", f"parameters/shovel/{q(billing)}/outbox", {"value": {
            "src-protocol": "amqp091", "src-uri": f"amqp:///{q(orders)}",
            "src-queue": "orders.outbox", "dest-protocol": "amqp091",
            "dest-uri": f"amqp:///{q(billing)}", "dest-exchange": "billing.in"}})
        broker.request("PUT", f"parameters/federation-upstream/{q(billing)}/orders", {
            "value": {"uri": f"amqp:///{q(orders)}", "exchange": "events"}})
        broker.request("PUT", f"policies/{q(billing)}/federate", {
            "pattern": "^events$", "apply-to": "exchanges",
            "definition": {"federation-upstream": "orders"}})
        got: dict[str, list] = {}
        deadline = time.monotonic() + 30
        while len(got) < 2 and time.monotonic() < deadline:
            for exchange, key in (("amq.default", "orders.outbox"), ("events", "")):
                broker.request("POST", f"exchanges/{q(orders)}/{exchange}/publish", {
                    "properties": {}, "routing_key": key, "payload": "hello",
                    "payload_encoding": "string"})
            time.sleep(0.5)
            for queue in ("billing.from-shovel", "billing.from-federation"):
                messages = broker.request("POST", f"queues/{q(billing)}/{queue}/get", {
                    "count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"})
                if messages:
                    got[queue] = messages
        assert set(got) == {"billing.from-shovel", "billing.from-federation"}
        declared = broker.request("GET", f"queues/{q(billing)}/billing.audit-copy")
        assert declared["name"] == "billing.audit-copy"
        received = got["billing.from-federation"][0]["properties"]["headers"]
        assert received["x-received-from"][0]["vhost"] == orders  # the same broker's vhost

        completed = subprocess.run(
            [sys.executable, "-m", "sphinxext_rabbit", "dot", MANAGEMENT_URL,
             "--vhost", orders, "--vhost", billing, "--focus", "billing.from-shovel",
             "--direction", "up"],
            capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
            env={"PATH": "/usr/bin:/bin", "RABBITMQ_USER": USER,
                 "RABBITMQ_PASSWORD": PASSWORD})
        assert completed.returncode == 0, completed.stderr
        run_dot(completed.stdout)
        nodes, _, ids = drawing(completed.stdout)
        assert nodes == {billing: {"billing.from-shovel", "billing.in"},
                         orders: {"orders.outbox"}}
        assert (f"{orders}/orders.outbox", f"{billing}/billing.in") in arrows(
            completed.stdout, ids)
        whole = subprocess.run(
            [sys.executable, "-m", "sphinxext_rabbit", "edges", MANAGEMENT_URL,
             "--vhost", billing], capture_output=True, text=True, cwd=ROOT, timeout=120,
            check=False, env={"PATH": "/usr/bin:/bin", "RABBITMQ_USER": USER,
                              "RABBITMQ_PASSWORD": PASSWORD})
        kinds = {(e["kind"], e["source"]) for e in json.loads(whole.stdout)
                 if e["kind"] in ("shovel", "federation")}
        assert kinds == {("shovel", f"vhost {orders} queue orders.outbox"),
                         ("federation", f"vhost {orders} exchange events")}
    finally:
        for vhost in (orders, billing):
            broker.delete(f"vhosts/{q(vhost)}")


def test_the_design_doc_definitions_are_clean():
    assert cli("check", DESIGN).stdout == f"{DESIGN}: no problems\n"


def test_mermaid_draws_links_between_vhosts_to_the_real_nodes_too():
    chart = cli("mermaid", DESIGN).stdout
    box = ""
    where = {}
    for line in chart.splitlines():
        if (start := re.match(r"  subgraph v\d+\[\"vhost (.*)\"\]", line)) is not None:
            box = start[1]
        elif (node := re.match(r"    (n\d+)\S*?\"([^\"<]*)", line)) is not None:
            where[node[1]] = f"{box}/{node[2]}"
    shovels = {(where[a], where[b]) for a, b in
               re.findall(r"^  (n\d+) ==>\|\"shovel [^\"]*\"\| (n\d+)$", chart, re.MULTILINE)}
    assert shovels == {("orders/orders.outbox", "events/events"),
                       ("billing/billing.outbox", "events/events"),
                       ("events/events.audit", "events/archive.example.com/audit queue "
                                               "audit.events")}
    assert "vhost orders queue" not in chart


def test_the_sample_design_pages_build_clean_and_draw_links_between_vhosts(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
         "--no-color", str(ROOT / "sample_docs"), str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600)
    assert completed.returncode == 0, completed.stderr

    def images(page: str) -> list[str]:
        html = (tmp_path / "design" / f"{page}.html").read_text(encoding="utf-8")
        return [(tmp_path / "design" / name).read_text(encoding="utf-8")
                for name in re.findall(r'<object data="(\.\./_images/[^"]+\.svg)"', html)]

    overview, = images("index")
    assert ("shovel: queue orders.outbox in vhost orders &#45;&gt; exchange events&#10;"
            "vhost events") in overview  # the edge's tooltip
    assert "vhost orders queue orders.outbox" not in overview  # no stand-in
    billing_view, upstream = images("billing")
    assert ">vhost events exchange events<" in billing_view  # the bus is not drawn there
    assert ">orders.outbox<" in upstream and ">billing.charge<" not in upstream
    assert len(images("orders")) == len(images("bus")) == 2
