"""Sources as users name them: files and folders told apart by content, merged overlays,
brokers written as URLs or configured in conf.py, and the snapshot drawn when a broker is down.
"""

from __future__ import annotations

import calendar
import json
import os
import socket

import pytest
import yaml

from sphinxext_rabbit.output.definitions import write_definitions
from sphinxext_rabbit.sources import (
    SourceError,
    broker_from_url,
    brokers_from_config,
    merge,
    read_live_or_snapshot,
    read_path,
    snapshot_path,
)
from sphinxext_rabbit.topology.model import ERROR, WARNING, Exchange, Problem, Queue, Topology
from tests.helpers import FIXTURES, cli

OVERLAY = FIXTURES / "overlay"
BASE = str(OVERLAY / "base.json")
PROD = str(OVERLAY / "prod-overlay.json")
API = FIXTURES / "api"
K8S = FIXTURES / "k8s"
#: what prod-overlay.json sets on queue orders.created instead of base.json's {}
PROD_ARGUMENTS = {"x-delivery-limit": 5, "x-max-length": 100000}


def summary(topology: Topology) -> dict[str, list]:
    """The entities a diagram and its tables show, comparable whatever they were read from."""
    return {
        "vhosts": sorted(topology.vhost_names()),
        "exchanges": sorted((x.vhost, x.name, x.type) for x in topology.exchanges),
        "queues": sorted((q.vhost, q.name, q.type) for q in topology.queues),
        "bindings": sorted((b.vhost, b.source, b.destination, b.routing_key)
                           for b in topology.bindings),
        "policies": sorted((p.vhost, p.name, p.operator) for p in topology.policies),
        "parameters": sorted((p.vhost, p.component, p.name) for p in topology.parameters),
    }


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- what a path holds is told by its content ------------------------------------------------

BASE_SUMMARY = {
    "vhosts": ["shop"],
    "exchanges": [("shop", "orders", "topic"), ("shop", "orders.dlx", "fanout"),
                  ("shop", "payments", "direct")],
    # no x-queue-type: the vhost's default, quorum
    "queues": [("shop", "orders.created", "quorum"), ("shop", "orders.dead", "classic"),
               ("shop", "orders.shipped", "quorum"), ("shop", "payments", "quorum")],
    "bindings": [("shop", "orders", "orders.created", "order.created"),
                 ("shop", "orders", "orders.shipped", "order.shipped"),
                 ("shop", "orders.dlx", "orders.dead", ""),
                 ("shop", "payments", "payments", "payment")],
    "policies": [("shop", "orders-dlx", False)],
    "parameters": [],
}


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_a_cluster_export_reads_the_same_in_json_and_yaml(tmp_path, suffix):
    document = json.loads((OVERLAY / "base.json").read_text(encoding="utf-8"))
    path = tmp_path / f"definitions{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(document), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    topology = read_path(str(path))
    assert topology.problems == []
    assert summary(topology) == BASE_SUMMARY


def test_a_per_vhost_export_is_read_into_the_vhost_it_names():
    topology = read_path(str(FIXTURES / "per-vhost-marked.json"))
    assert topology.problems == []
    assert summary(topology)["queues"] == [("payments", "payments.dead", "classic"),
                                           ("payments", "payments.incoming", "quorum")]


def test_a_per_vhost_export_that_names_no_vhost_takes_the_one_given():
    path = str(FIXTURES / "per-vhost-unmarked.json")
    named = read_path(path, vhost="payments")
    assert named.problems == []
    assert named.vhost_names() == ["payments"]
    assert [problem.code for problem in read_path(path).problems] == ["vhost"]


@pytest.mark.parametrize("name, read, expected", [
    pytest.param("queues.json", lambda t: sorted((q.name, q.exclusive) for q in t.queues), [
        ("audit.log", False), ("orders.created", False), ("orders.dead", False),
        ("orders.unrouted", False), ("payments", False), ("scratch", False),
        ("session.replies", True), ("shard.1", False), ("shard.2", False)], id="queues"),
    # only the file's name tells operator policies from policies
    pytest.param("operator-policies.json", lambda t: [(p.name, p.operator) for p in t.policies],
                 [("op-max-length", True)], id="operator-policies"),
    # the default exchange's implicit binding to each queue is not one of them
    pytest.param("bindings.json", lambda t: sorted((b.source, b.destination) for b in t.bindings), [
        ("amq.topic", "payments"), ("audit", "audit.log"), ("events", "payments"),
        ("orders", "audit"), ("orders", "orders.created"), ("orders", "orders.created"),
        ("orders", "session.replies"), ("orders.dlx", "orders.dead"),
        ("orders.unrouted", "orders.unrouted"), ("shard", "shard.1"), ("shard", "shard.2")],
        id="bindings"),
])
def test_one_saved_api_body_is_read_as_the_endpoint_it_came_from(name, read, expected):
    topology = read_path(str(API / "endpoints" / name))
    assert topology.problems == []
    assert read(topology) == expected
    assert topology.taken_at is not None  # saved state: the file's time


def test_a_folder_of_saved_api_bodies_is_one_broker_like_its_export():
    folder = read_path(str(API / "endpoints"))
    export = read_path(str(API / "definitions.json"), vhost="mgmt-fixture")
    assert folder.problems == export.problems == []
    found, exported = summary(folder), summary(export)
    # the broker lists the exclusive queue held open while saving, and its binding; its
    # export leaves both out. Nothing else differs.
    found["queues"].remove(("mgmt-fixture", "session.replies", "classic"))
    found["bindings"].remove(("mgmt-fixture", "orders", "session.replies", "reply.#"))
    assert found == exported
    assert folder.taken_at is not None and export.taken_at is None


def test_a_manifest_file_is_read_as_the_objects_it_declares():
    topology = read_path(str(K8S / "shop.yaml"))
    assert topology.problems == []
    assert topology.vhosts == {"shop": "quorum"}
    assert summary(topology)["exchanges"] == [
        ("shop", "audit", "fanout"), ("shop", "orders", "topic"),
        ("shop", "orders.dlx", "fanout"), ("shop", "orders.unrouted", "fanout"),
        ("shop", "stock", "direct")]
    assert summary(topology)["parameters"] == [
        ("shop", "federation-upstream", "warehouse"),
        ("shop", "shovel", "dead-orders-to-archive")]


def test_a_folder_of_manifests_is_read_as_one_cluster():
    topology = read_path(str(K8S / "examples" / "federations"))
    assert [p for p in topology.problems if p.severity == ERROR] == []
    assert summary(topology) == {
        "vhosts": ["downstream", "upstream"],
        "exchanges": [("downstream", "fanout", "fanout"), ("upstream", "fanout", "fanout")],
        "queues": [("downstream", "downstream-queue", "quorum"),
                   ("upstream", "upstream-queue", "quorum")],
        "bindings": [("downstream", "fanout", "downstream-queue", ""),
                     ("upstream", "fanout", "upstream-queue", "")],
        # the policy (policy.yaml) and the upstream it names (federation.yaml) meet
        "policies": [("downstream", "federation-policy", False)],
        "parameters": [("downstream", "federation-upstream", "origin")],
    }


@pytest.mark.parametrize("written_as", ["json-list", "json-object", "yaml-in-a-json-file"])
def test_manifests_are_told_by_their_content_whatever_the_file_is_named(tmp_path, written_as):
    shop = (K8S / "shop.yaml").read_text(encoding="utf-8")
    manifests = list(yaml.safe_load_all(shop))
    exchange = next(m for m in manifests if m["kind"] == "Exchange")
    as_yaml, path = tmp_path / "expected.yaml", tmp_path / "cluster.json"
    if written_as == "json-list":
        as_yaml.write_text(shop, encoding="utf-8")
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}),
                        encoding="utf-8")
    elif written_as == "json-object":
        as_yaml.write_text(yaml.safe_dump(exchange), encoding="utf-8")
        path.write_text(json.dumps(exchange, indent=2), encoding="utf-8")
    else:
        as_yaml.write_text(shop, encoding="utf-8")
        path.write_text(shop, encoding="utf-8")
    topology = read_path(str(path))
    assert topology.problems == []
    assert summary(topology) == summary(read_path(str(as_yaml)))
    assert topology.exchanges


def test_an_export_whose_values_hold_kubernetes_fields_is_still_an_export(tmp_path):
    export = json.loads((OVERLAY / "base.json").read_text(encoding="utf-8"))
    export["parameters"] = [{"vhost": "shop", "component": "note", "name": "deployed-by",
                             "value": {"apiVersion": "v1", "kind": "ConfigMap"}}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    topology = read_path(str(path))
    assert topology.problems == []
    assert summary(topology) == {**BASE_SUMMARY, "parameters": [
        ("shop", "note", "deployed-by")]}


APP_MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders-service
spec:
  replicas: 2
---
apiVersion: v1
kind: Service
metadata:
  name: orders-service
spec:
  ports:
    - port: 80
"""


@pytest.mark.parametrize("other_objects", ["secret", "deployment-and-service"])
def test_other_kubernetes_objects_in_a_manifest_folder_are_passed_over(tmp_path, other_objects):
    if other_objects == "secret":  # the operator's own example folder holds one
        folder = str(K8S / "examples" / "federations")
    else:
        (tmp_path / "shop.yaml").write_text((K8S / "shop.yaml").read_text(encoding="utf-8"),
                                            encoding="utf-8")
        (tmp_path / "app.yaml").write_text(APP_MANIFESTS, encoding="utf-8")
        folder = str(tmp_path)
    assert read_path(folder).problems == []


def test_a_folder_with_nothing_to_read_is_a_source_warning(tmp_path):
    (tmp_path / "notes.txt").write_text("exported by hand\n", encoding="utf-8")
    (tmp_path / "old.json").mkdir()  # a folder, whatever its name says
    topology = read_path(str(tmp_path))
    assert topology.problems == [
        Problem(WARNING, "source", "the folder holds no .json, .yaml or .yml file")]
    assert summary(topology) == summary(Topology())


def test_a_json_file_that_is_no_topology_at_all_is_a_source_warning(tmp_path):
    (tmp_path / "package.json").write_text(
        '{"name": "shop-docs", "version": "1.0.0", "scripts": {"build": "make html"}}',
        encoding="utf-8")
    assert [problem.code for problem in read_path(str(tmp_path)).problems] == ["source"]


def test_a_missing_path_is_an_io_error_that_names_it(tmp_path):
    missing = str(tmp_path / "brokers" / "prod.json")
    topology = read_path(missing)
    assert topology.source == missing
    assert topology.problems == [
        Problem(ERROR, "io", "cannot read the file: No such file or directory")]
    completed = cli("edges", missing, check=False)
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == (f"{missing}: error: cannot read the file: No such file or "
                                "directory [rabbitmq.io]\n")


# -- several sources merge into one topology --------------------------------------------------

def test_an_overlay_replaces_a_queue_and_adds_a_binding_and_a_policy():
    merged = merge([read_path(BASE), read_path(PROD)], source="shop (prod)")
    queues = {queue.name: queue for queue in merged.queues}
    assert queues["orders.created"].arguments == PROD_ARGUMENTS
    assert queues["orders.shipped"].arguments == {}  # untouched by the overlay
    found = summary(merged)
    assert found["bindings"] == sorted([
        *BASE_SUMMARY["bindings"], ("shop", "orders", "payments", "order.paid")])
    assert found["policies"] == [("shop", "orders-dlx", False), ("shop", "payments-ttl", False)]
    assert merged.problems == [Problem(
        WARNING, "override", f"queue 'orders.created' in vhost 'shop' from {BASE} is replaced "
        f"by the one in {PROD}", source=PROD)]


def test_the_later_source_wins():
    merged = merge([read_path(PROD), read_path(BASE)], source="shop")
    [queue] = [queue for queue in merged.queues if queue.name == "orders.created"]
    assert queue.arguments == {}
    assert merged.problems[0].message.endswith(f"from {PROD} is replaced by the one in {BASE}")


def test_an_overlay_queue_keeps_the_type_its_vhost_gives_it():
    merged = merge([read_path(BASE), read_path(PROD)], source="shop (prod)")
    [queue] = [queue for queue in merged.queues if queue.name == "orders.created"]
    assert queue.type == "quorum"


def test_several_sources_and_a_folder_of_them_draw_the_same():
    files = cli("edges", BASE, PROD)
    folder = cli("edges", str(OVERLAY))  # its files merge in name order: base, then prod
    assert files.stdout == folder.stdout
    assert files.stderr == folder.stderr == (
        f"{PROD}: warning: queue 'orders.created' in vhost 'shop' from {BASE} is replaced by "
        f"the one in {PROD} [rabbitmq.override]\n")
    routes = [(edge["source"], edge["destination"], edge["routing_key"])
              for edge in json.loads(files.stdout) if edge["kind"] == "binding"]
    # base.json and the overlay both declare this binding; the broker keeps one
    assert routes.count(("orders", "orders.created", "order.created")) == 1
    assert ("orders", "payments", "order.paid") in routes


def test_each_problem_names_the_source_it_is_in(tmp_path):
    staging = tmp_path / "staging-overlay.json"
    staging.write_text('{\n  "queues": [\n    {"name": "payments", "vhost": "shop", '
                       '"argumnets": {}}\n  ]\n}\n', encoding="utf-8")
    missing = tmp_path / "not-written-yet.json"
    broken = FIXTURES / "broken.json"
    parts = [read_path(str(path)) for path in (BASE, staging, broken, missing)]
    merged = merge(parts, source="shop")
    assert sorted(((p.source, p.line, p.code) for p in merged.problems), key=repr) == sorted([
        (str(staging), 3, "unknown-field"),
        (str(staging), None, "override"),
        (str(broken), 7, "parse"),
        (str(missing), None, "io"),
    ], key=repr)
    completed = cli("check", BASE, str(staging), str(broken), str(missing), check=False)
    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    # json's own words after the colon change with Python (3.13: "Illegal trailing comma")
    [parse_error] = [line for line in lines if line.startswith(f"{broken}:")]
    assert parse_error.startswith(f"{broken}:7: error: not valid JSON: ")
    assert parse_error.endswith(" [rabbitmq.parse]")
    assert f"{missing}: error: cannot read the file: No such file or directory " \
           "[rabbitmq.io]" in lines
    assert f"{staging}:3: warning: queues[0] has an unknown field 'argumnets' " \
           "[rabbitmq.unknown-field]" in lines


# -- brokers: a URL, or a name configured in conf.py ---------------------------------------

@pytest.mark.parametrize("url", [
    "http://admin:hunter2-PROD@rabbit.example:15672/%2F",
    "HTTPS://admin:hunter2-PROD@rabbit.example:15671",
    "http://:hunter2-PROD@rabbit.example:15672",
])
def test_a_url_with_credentials_is_refused_without_showing_them(url):
    with pytest.raises(SourceError) as refused:
        broker_from_url(url)
    message = str(refused.value)
    assert "hunter2-PROD" not in message and "admin" not in message
    assert "rabbit.example" in message
    assert message.endswith("a URL here must not hold a user or password (anyone who reads it "
                            "reads them); give the user in RABBITMQ_USER and the password in "
                            "RABBITMQ_PASSWORD, or name a broker configured with them")


def test_an_at_sign_in_the_vhost_of_a_url_is_no_credential(monkeypatch):
    monkeypatch.setenv("RABBITMQ_USER", "docs-reader")
    broker = broker_from_url("http://rabbit.example:15672/team@eu/")
    assert (broker.url, broker.user) == ("http://rabbit.example:15672/team@eu", "docs-reader")


def test_a_password_in_conf_py_is_refused_with_a_hint():
    config = {"prod": {"url": "https://rabbit.example:15671", "user": "docs",
                       "password": "hunter2-PROD"}}
    with pytest.raises(SourceError) as refused:
        brokers_from_config(config, "/docs")
    assert str(refused.value) == (
        "rabbitmq_topology_brokers['prod'] has unknown settings 'password' (put the password "
        "in an environment variable and name it with 'password_env')")


@pytest.mark.parametrize("settings", [{"user": "docs"}, {"url": None},
                                      "https://rabbit.example:15671"])
def test_a_configured_broker_needs_a_url(settings):
    with pytest.raises(SourceError, match=r"^rabbitmq_topology_brokers\['prod'\] needs a 'url'$"):
        brokers_from_config({"prod": settings}, "/docs")


def test_a_configured_broker_takes_its_user_and_password_from_the_variables_it_names(
        monkeypatch):
    monkeypatch.setenv("PROD_RABBIT_USER", "docs-reader")
    monkeypatch.setenv("PROD_RABBIT_PASSWORD", "hunter2-PROD")
    monkeypatch.setenv("RABBITMQ_PASSWORD", "the-default-variable")
    [(name, broker)] = brokers_from_config({"prod": {
        "url": "https://rabbit.example:15671", "user_env": "PROD_RABBIT_USER",
        "password_env": "PROD_RABBIT_PASSWORD", "cafile": "certs/ca.pem", "timeout": 3}},
        "/docs").items()
    connection = broker.connection()
    assert (name, broker.name, broker.user) == ("prod", "prod", "docs-reader")
    assert (connection.user, connection.password) == ("docs-reader", "hunter2-PROD")
    assert (connection.cafile, connection.timeout) == ("/docs/certs/ca.pem", 3.0)
    assert "hunter2-PROD" not in repr(broker) + repr(connection)


def test_a_timeout_that_is_no_number_is_refused():
    with pytest.raises(SourceError, match="timeout"):
        brokers_from_config({"prod": {"url": "https://rabbit.example:15671",
                                      "timeout": "10s"}}, "/docs")


# -- a broker that cannot be reached ----------------------------------------------------------

#: a fixed "now" for the snapshot's age: 2026-11-27 12:00:00 UTC
NOW = calendar.timegm((2026, 11, 27, 12, 0, 0))
THREE_HOURS_EARLIER = "2026-11-27T09:00:00Z"
VHOST = "billing/eu"


@pytest.fixture
def unreachable(monkeypatch):
    """A configured broker on a port nobody listens on, and the reason it cannot be read."""
    monkeypatch.setenv("RABBITMQ_PASSWORD", "hunter2-PROD")
    port = free_port()
    [broker] = brokers_from_config({"prod": {"url": f"http://127.0.0.1:{port}",
                                             "user": "docs"}}, "/docs").values()
    reason = (f"http://127.0.0.1:{port}/api/overview: connection refused by 127.0.0.1:{port}: "
              "is the broker running? is the management plugin enabled on that port?")
    return broker, reason


def test_an_unreachable_broker_is_drawn_from_its_snapshot_saying_how_old_it_is(
        tmp_path, unreachable):
    broker, reason = unreachable
    snapshot = snapshot_path(str(tmp_path), broker, VHOST)
    assert os.path.dirname(snapshot) == str(tmp_path)  # the '/' in the vhost is no folder
    write_definitions(Topology(
        source="http://127.0.0.1/", vhosts={VHOST: None},
        exchanges=[Exchange(VHOST, "invoices", "topic")], queues=[Queue(VHOST, "invoices.new")],
        taken_at=THREE_HOURS_EARLIER), snapshot)
    topology = read_live_or_snapshot(broker, vhost=VHOST, snapshot_dir=str(tmp_path),
                                     now=lambda: NOW)
    assert topology.problems == [Problem(
        WARNING, "fetch", f"{reason}; drawn from the snapshot {snapshot}, taken 3 hours ago "
        f"({THREE_HOURS_EARLIER})")]
    assert summary(topology)["queues"] == [(VHOST, "invoices.new", "classic")]


def test_an_unreachable_broker_without_a_snapshot_draws_nothing(tmp_path, unreachable):
    broker, reason = unreachable
    topology = read_live_or_snapshot(broker, vhost=VHOST, snapshot_dir=str(tmp_path),
                                     now=lambda: NOW)
    assert topology.problems == [Problem(WARNING, "fetch", f"{reason}; nothing drawn")]
    assert (topology.exchanges, topology.queues, topology.bindings) == ([], [], [])
    assert os.listdir(tmp_path) == []  # nothing fetched, no snapshot written


def test_without_a_snapshot_folder_the_warning_says_how_to_get_one(unreachable):
    broker, reason = unreachable
    topology = read_live_or_snapshot(broker, now=lambda: NOW)
    assert topology.problems == [Problem(
        WARNING, "fetch", f"{reason}; nothing drawn; set rabbitmq_topology_snapshot_dir to "
        "draw the last snapshot instead")]
    assert topology.source == "prod"
