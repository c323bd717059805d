"""Messaging Topology Operator manifests: read into the model, resolved, drawn."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from sphinxext_rabbit.output.dot import to_dot
from sphinxext_rabbit.sources.documents import MAX_YAML_ALIASES
from sphinxext_rabbit.sources.k8s import looks_like_manifests, read_manifests
from sphinxext_rabbit.topology.model import ERROR
from sphinxext_rabbit.topology.resolve import resolve
from tests.helpers import FIXTURES, ROOT, run_dot, svg_text

K8S = FIXTURES / "k8s"
EXAMPLES = K8S / "examples"
SHOP = K8S / "shop.yaml"


def read(path: Path):
    return read_manifests(path.read_text(encoding="utf-8"), source=path.name)


def read_folder(folder: Path):
    """What `kubectl apply -f folder` applies: every file, one after the other."""
    text = "\n---\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml")))
    return read_manifests(text, source=folder.name)


def read_text(text: str, vhost: str | None = None):
    return read_manifests(text, source="inline.yaml", vhost=vhost)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first occurrence of *fragment*."""
    return text[:text.index(fragment)].count("\n") + 1


def edges(topology, vhost: str) -> set[tuple]:
    view, problems = resolve(topology, vhost)
    assert problems == []
    return {(e.kind, e.source_type, e.source, e.destination_type, e.destination, e.routing_key,
             e.as_dict()["origin"]) for e in view.edges}


def summary(topology) -> dict[str, list]:
    """The entities, comparable across inputs."""
    return {
        "exchanges": sorted((e.vhost, e.name, e.type) for e in topology.exchanges),
        "queues": sorted((q.vhost, q.name, q.type, q.durable) for q in topology.queues),
        "bindings": sorted((b.vhost, b.source, b.destination, b.destination_type,
                            b.routing_key) for b in topology.bindings),
    }


# -- the operator's own examples ---------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")),
                         ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_of_the_operator_reads_without_problems(path):
    assert read(path).problems == []


def test_example_exchanges_get_their_type_vhost_and_arguments():
    topics = read(EXAMPLES / "topic-exchanges" / "topic-exchanges.yaml")
    fanout = read(EXAMPLES / "exchanges" / "fanout-exchange-with-args.yaml")

    assert [(e.vhost, e.name, e.type, e.durable) for e in topics.exchanges] == [
        ("/", "topic-a", "topic", True), ("/", "topic-b", "topic", True)]
    [exchange] = fanout.exchanges
    assert (exchange.vhost, exchange.name, exchange.type) == (
        "/test-vhost", "fanout-alt-exchange", "fanout")
    assert exchange.arguments == {"alternate-exchange": "direct-exchange"}


def test_example_queues_take_their_type_from_spec_type():
    [quorum] = read(EXAMPLES / "queues" / "quorum-queue.yaml").queues  # rabbitmq.com/v1alpha1
    [stream] = read(EXAMPLES / "queues" / "stream-queue.yaml").queues

    assert (quorum.vhost, quorum.name, quorum.type, quorum.durable) == (
        "/test-vhost", "test", "quorum", True)
    assert (stream.vhost, stream.name, stream.type) == ("/", "my_stream_queue", "stream")
    assert stream.arguments == {"x-max-length-bytes": 1000000000, "x-queue-type": "stream"}


def test_example_policy_applies_to_the_queue_beside_it():
    topology = read(EXAMPLES / "queues" / "lazy-queue.yaml")

    [policy] = topology.policies
    assert (policy.vhost, policy.name, policy.pattern, policy.apply_to, policy.priority) == (
        "test-vhost", "lazy-queue-policy", "^lazy-queue-", "queues", 0)
    assert policy.definition == {"queue-mode": "lazy"}
    view, _ = resolve(topology, "test-vhost")
    assert view.effective_policies[("queue", "lazy-queue-example")] is policy


def test_example_operator_policy_is_an_operator_policy_for_queues():
    [policy] = read(EXAMPLES / "operator-policies" / "operator-policy.yaml").policies

    assert policy.operator
    assert (policy.vhost, policy.name, policy.pattern, policy.apply_to) == (
        "/", "my-operator-policy", "^abc", "queues")
    assert policy.definition == {"expires": 1800000}


def test_example_v1alpha1_binding_without_routing_key():
    [binding] = read(EXAMPLES / "bindings" / "binding.yaml").bindings

    assert (binding.vhost, binding.source, binding.destination, binding.destination_type,
            binding.routing_key, binding.arguments) == (
        "/test-vhost", "test", "test", "queue", "", {})


def test_example_vhost_is_declared_and_super_stream_skipped():
    assert read(EXAMPLES / "vhosts" / "vhost-limits.yaml").vhosts == {"myvhost": None}
    stream = read(EXAMPLES / "superstream" / "superstream.yaml")
    assert summary(stream) == {"exchanges": [], "queues": [], "bindings": []}


def test_federation_example_draws_the_upstream_named_by_its_secret():
    topology = read_folder(EXAMPLES / "federations")

    assert topology.problems == []
    assert topology.vhosts == {"upstream": None, "downstream": None}
    [upstream] = topology.parameters
    assert (upstream.vhost, upstream.component, upstream.name) == (
        "downstream", "federation-upstream", "origin")
    assert edges(topology, "downstream") == {
        ("binding", "exchange", "fanout", "queue", "downstream-queue", "", "binding"),
        ("federation", "external", "secret federation-uri (uri) exchange fanout", "exchange",
         "fanout",
         None, "policy:federation-policy"),
    }


def test_shovel_example_moves_between_endpoints_its_secret_names():
    topology = read_folder(EXAMPLES / "shovels")

    assert topology.vhosts == {"source": None, "destination": None}
    # the example's own typo: the broker would refuse it, the diagram shows it as written
    assert {(q.vhost, q.name, q.type) for q in topology.queues} == {
        ("source", "source-queue", "classic"), ("destination", "destination-queue", "quoum")}
    assert edges(topology, "/") == {
        ("shovel", "external", "secret shovel-secret (srcUri) queue source-queue", "external",
         "secret shovel-secret (destUri) queue destination-queue", None,
         "parameter:shovel-example")}


# -- every kind together ---------------------------------------------------------------------------

def test_every_kind_reads_with_the_operators_defaults():
    topology = read(SHOP)

    assert topology.problems == []
    assert topology.vhosts == {"shop": "quorum"}
    assert summary(topology)["exchanges"] == [
        ("shop", "audit", "fanout"), ("shop", "orders", "topic"),
        ("shop", "orders.dlx", "fanout"), ("shop", "orders.unrouted", "fanout"),
        ("shop", "stock", "direct")]  # no type: direct
    assert summary(topology)["queues"] == [
        ("shop", "orders.audit", "stream", True),
        ("shop", "orders.created", "quorum", True),  # no type: the vhost's default
        ("shop", "orders.dead", "classic", True),
        ("shop", "orders.shipped", "quorum", True),
        ("shop", "orders.unroutable", "classic", False)]  # durable unset: transient
    shipped = next(q for q in topology.queues if q.name == "orders.shipped")
    assert shipped.arguments == {"x-delivery-limit": 10, "x-queue-type": "quorum"}
    assert {(p.name, p.operator, p.apply_to, p.priority): p.definition
            for p in topology.policies} == {
        ("orders-dlx", False, "queues", 1): {"dead-letter-exchange": "orders.dlx",
                                             "dead-letter-routing-key": "dead"},
        ("federate-stock", False, "exchanges", 0): {"federation-upstream": "warehouse"},
        ("orders-delivery-limit", True, "quorum_queues", 0): {"delivery-limit": 5},
    }
    assert {(p.component, p.name): p.value for p in topology.parameters} == {
        ("federation-upstream", "warehouse"): {
            "uri": "secret://warehouse-upstream/uri", "exchange": "stock-levels",
            "max-hops": 1, "ack-mode": "on-confirm"},
        ("shovel", "dead-orders-to-archive"): {
            "src-uri": "secret://archive-shovel/srcUri",
            "dest-uri": "secret://archive-shovel/destUri", "src-queue": "orders.dead",
            "dest-exchange": "archive", "dest-exchange-key": "orders", "ack-mode": "on-confirm"},
    }


def test_every_kind_resolves_into_its_routes():
    assert edges(read(SHOP), "shop") == {
        ("binding", "exchange", "orders", "queue", "orders.created", "order.created", "binding"),
        ("binding", "exchange", "orders", "queue", "orders.shipped", "order.shipped", "binding"),
        ("binding", "exchange", "orders", "exchange", "audit", "order.#", "binding"),
        ("binding", "exchange", "audit", "queue", "orders.audit", "", "binding"),
        ("binding", "exchange", "orders.dlx", "queue", "orders.dead", "", "binding"),
        ("binding", "exchange", "orders.unrouted", "queue", "orders.unroutable", "", "binding"),
        ("alternate", "exchange", "orders", "exchange", "orders.unrouted", None,
         "exchange-argument"),
        ("dead-letter", "queue", "orders.created", "exchange", "orders.dlx", "dead",
         "policy:orders-dlx"),
        ("dead-letter", "queue", "orders.shipped", "exchange", "orders.dlx", "dead",
         "policy:orders-dlx"),
        ("federation", "external", "secret warehouse-upstream (uri) exchange stock-levels",
         "exchange",
         "stock", None, "policy:federate-stock"),
        ("shovel", "external", "secret archive-shovel (srcUri) queue orders.dead", "external",
         "secret archive-shovel (destUri) exchange archive", "orders",
         "parameter:dead-orders-to-archive"),
    }


def test_operator_policy_is_effective_on_the_quorum_queues_it_matches():
    view, _ = resolve(read(SHOP), "shop")

    assert {name for (_, name) in view.effective_operator_policies} == {
        "orders.created", "orders.shipped"}


def test_the_real_dot_draws_it():
    view, _ = resolve(read(SHOP), "shop")

    text = svg_text(run_dot(to_dot([view], legend=True)))

    for name in ("orders.created", "orders.unroutable", "stock",
                 "secret warehouse-upstream (uri) exchange stock-levels",
                 "secret archive-shovel (destUri) exchange archive"):
        assert name in text


def test_asking_for_one_vhost_reads_only_it():
    text = SHOP.read_text(encoding="utf-8").replace(
        "  name: orders.audit\n  vhost: shop", "  name: orders.audit\n  vhost: audit")

    only_shop = read_text(text, vhost="shop")

    assert "orders.audit" not in {q.name for q in only_shop.queues}
    assert "orders.created" in {q.name for q in only_shop.queues}


# -- documents, lists, other objects -------------------------------------------------------------

EXCHANGE = """\
apiVersion: rabbitmq.com/v1beta1
kind: Exchange
metadata: {name: events}
spec: {name: events, type: topic, rabbitmqClusterReference: {name: rabbit}}
"""
QUEUE = """\
apiVersion: rabbitmq.com/v1beta1
kind: Queue
metadata: {name: audit}
spec: {name: audit, durable: true, rabbitmqClusterReference: {name: rabbit}}
"""
BINDING = """\
apiVersion: rabbitmq.com/v1beta1
kind: Binding
metadata: {name: events-audit}
spec:
  source: events
  destination: audit
  destinationType: queue
  routingKey: "#"
  rabbitmqClusterReference: {name: rabbit}
"""


def test_documents_a_list_and_json_give_the_same_topology():
    documents = read_text("---\n".join((EXCHANGE, QUEUE, BINDING)))
    items = [yaml.safe_load(manifest) for manifest in (EXCHANGE, QUEUE, BINDING)]
    as_list = read_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    as_json = read_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))

    assert summary(documents) == {
        "exchanges": [("/", "events", "topic")],
        "queues": [("/", "audit", "classic", True)],
        "bindings": [("/", "events", "audit", "queue", "#")],
    }
    assert summary(as_list) == summary(documents)
    assert summary(as_json) == summary(documents)
    assert documents.problems == as_list.problems == as_json.problems == []


def test_objects_of_other_groups_and_routeless_kinds_are_skipped_silently():
    others = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {exchange: events}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: consumer}
spec: {replicas: 2}
---
apiVersion: rabbitmq.com/v1beta1
kind: User
metadata: {name: consumer}
spec: {rabbitmqClusterReference: {name: rabbit}}
---
"""
    topology = read_text(others + EXCHANGE)

    assert topology.problems == []
    assert summary(topology)["exchanges"] == [("/", "events", "topic")]


def test_values_are_json_as_kubernetes_reads_them():
    text = EXCHANGE.replace(
        "type: topic", "type: topic, arguments: {since: 2024-01-01, blob: !!binary AAEC, "
        "tags: !!set {a, b}}")

    topology = read_text(text)
    view, _ = resolve(topology, "/")

    assert topology.exchanges[0].arguments == {
        "since": "2024-01-01", "blob": "AAEC", "tags": {"a": None, "b": None}}
    assert "2024-01-01" in to_dot([view])


def test_secret_data_never_reaches_the_topology_or_the_drawing():
    secrets = [d for d in yaml.safe_load_all(SHOP.read_text(encoding="utf-8"))
               if d["kind"] == "Secret"]
    written = [v for d in secrets for v in (*d.get("data", {}).values(),
                                            *d.get("stringData", {}).values())]
    plain = [base64.b64decode(v).decode() for d in secrets for v in d.get("data", {}).values()]
    plain += [v for d in secrets for v in d.get("stringData", {}).values()]
    markers = ("K8S_SECRET", "secret-host")
    assert len(plain) == 5 and all(any(m in v for m in markers) for v in plain)

    topology = read(SHOP)
    view, _ = resolve(topology, "shop")
    seen = repr(topology) + repr(view) + to_dot([view])

    for text in (*written, *markers):
        assert text not in seen


# -- problems, located at the manifest's line -------------------------------------------------

def test_a_field_of_the_wrong_type_is_reported_at_its_line_and_ignored():
    text = EXCHANGE + "---\n" + QUEUE.replace("durable: true", 'durable: "yes"')

    topology = read_text(text)

    [problem] = topology.problems
    assert (problem.severity, problem.code, problem.line) == (
        "warning", "schema", line_of(text, 'durable: "yes"'))
    assert problem.message == (
        "Queue 'audit': spec.durable should be true or false, not a string; ignored")
    assert [(q.name, q.durable) for q in topology.queues] == [("audit", False)]


def test_a_missing_required_field_skips_the_object_at_the_manifests_line():
    text = EXCHANGE + "---\n" + QUEUE.replace("name: audit, ", "")

    topology = read_text(text)

    [problem] = topology.problems
    assert (problem.severity, problem.code, problem.line, problem.where) == (
        ERROR, "schema", line_of(text, "kind: Queue") - 1, "Queue 'audit'")
    assert problem.message == "Queue 'audit': spec.name is missing; skipped"
    assert topology.queues == []


def test_routing_keys_is_not_a_binding_field():
    text = BINDING.replace('routingKey: "#"', "routingKeys: [a, b]")

    topology = read_text(text)

    [problem] = topology.problems
    assert (problem.code, problem.line) == ("unknown-field", line_of(text, "routingKeys"))
    assert "did you mean 'routingKey'?" in problem.message
    assert [b.routing_key for b in topology.bindings] == [""]


def test_problems_of_the_definitions_checks_name_the_manifest():
    policy = """\
apiVersion: rabbitmq.com/v1beta1
kind: Policy
metadata: {name: broken-policy}
spec:
  name: ttl
  pattern: "(["
  definition: {message-ttl: 1000}
  rabbitmqClusterReference: {name: rabbit}
"""
    again = QUEUE.replace("{name: audit}", "{name: audit-again}")
    text = "---\n".join((QUEUE, again, policy))

    problems = read_text(text).problems

    assert [(p.code, p.line, p.where) for p in problems] == [
        ("duplicate", line_of(text, "{name: audit-again}") - 2, "Queue 'audit-again'"),
        ("policy-pattern", line_of(text, "kind: Policy") - 1, "Policy 'broken-policy'"),
    ]
    assert problems[0].message.startswith("Queue 'audit-again': queue 'audit' in vhost '/'")
    assert "queues[" not in problems[0].message


def test_unknown_kinds_and_versions_of_the_group_are_reported():
    text = EXCHANGE.replace("kind: Exchange", "kind: Exchnage") + "---\n" + """\
apiVersion: rabbitmq.com/v1alpha1
kind: Shovel
metadata: {name: old}
spec: {name: old, uriSecret: {name: uris}, srcQueue: a, destQueue: b}
---
just text
"""
    problems = read_text(text).problems

    assert [(p.severity, p.code, p.line) for p in problems] == [
        ("warning", "schema", 1),
        ("warning", "schema", line_of(text, "apiVersion: rabbitmq.com/v1alpha1")),
        ("warning", "schema", line_of(text, "just text")),
    ]
    assert "'Exchnage' is not a kind of rabbitmq.com" in problems[0].message
    assert "serves Shovel as rabbitmq.com/v1beta1" in problems[1].message


def test_a_uri_secret_that_cannot_name_a_secret_is_an_error():
    text = """\
apiVersion: rabbitmq.com/v1beta1
kind: Federation
metadata: {name: upstream}
spec:
  name: upstream
  uriSecret: {name: "amqp://user:pw@host"}
  rabbitmqClusterReference: {name: rabbit}
"""
    topology = read_text(text)

    [problem] = topology.problems
    assert (problem.severity, problem.line) == (ERROR, line_of(text, "uriSecret"))
    assert "pw@host" not in problem.message
    assert topology.parameters == []


def test_objects_of_several_clusters_are_warned_about_once_per_cluster():
    other = QUEUE.replace("{name: rabbit}", "{name: other-rabbit, namespace: team-b}")
    text = "---\n".join((EXCHANGE, other, other.replace("audit", "audit2"), BINDING))

    [problem] = read_text(text).problems

    assert (problem.code, problem.line) == ("cluster", line_of(text, "other-rabbit"))
    assert problem.message == (
        "Queue 'audit' belongs to RabbitmqCluster 'other-rabbit' in namespace 'team-b', but "
        "Exchange 'events' (line 1) to RabbitmqCluster 'rabbit'; the diagram draws them as "
        "one broker")


def test_a_namespace_left_out_is_the_objects_own():
    text = EXCHANGE.replace("metadata: {name: events}",
                            "metadata: {name: events, namespace: team-a}")
    text += "---\n" + QUEUE.replace("{name: rabbit}", "{name: rabbit, namespace: team-a}")

    assert read_text(text).problems == []


def test_a_missing_cluster_reference_is_warned_but_drawn():
    topology = read_text(EXCHANGE.replace(", rabbitmqClusterReference: {name: rabbit}", ""))

    [problem] = topology.problems
    assert (problem.severity, problem.code, problem.line) == ("warning", "schema", 1)
    assert [e.name for e in topology.exchanges] == ["events"]


def test_malformed_yaml_is_one_located_parse_error():
    text = EXCHANGE + "---\n" + QUEUE.replace("kind: Queue", "kind: Queue: broken")

    topology = read_text(text)

    [problem] = topology.problems
    assert (problem.severity, problem.code, problem.line) == (
        ERROR, "parse", line_of(text, "kind: Queue: broken"))
    assert problem.message.startswith("not valid YAML: mapping values are not allowed")
    assert topology.exchanges == []


def test_the_yaml_limits_of_definitions_files_apply():
    anchor = "arguments: &a {x-max-length: 1}\n"
    aliases = "".join(f"  k{i}: *a\n" for i in range(MAX_YAML_ALIASES + 1))
    bomb = QUEUE + f"extra:\n  base:\n    {anchor}" + aliases
    deep = EXCHANGE.replace("type: topic", "type: topic, arguments: " + "[" * 2000 + "]" * 2000)

    [too_many] = read_text(bomb).problems
    [too_deep] = read_text(deep).problems

    assert (too_many.severity, too_many.code) == (ERROR, "limit")
    assert f"more than {MAX_YAML_ALIASES}" in too_many.message
    assert (too_deep.severity, too_deep.code, too_deep.line) == (ERROR, "parse", 4)


# -- telling manifests from definitions ------------------------------------------------------------

def test_definitions_files_do_not_look_like_manifests():
    others = [p for p in [*FIXTURES.rglob("*.yaml"), *FIXTURES.rglob("*.json"),
                          *(ROOT / "sample_docs" / "broker").glob("*")]
              if K8S not in p.parents]
    assert len(others) >= 10

    for path in others:
        assert not looks_like_manifests(path.read_text(encoding="utf-8-sig")), path


def test_manifests_look_like_manifests():
    assert looks_like_manifests(SHOP.read_text(encoding="utf-8"))
    assert looks_like_manifests(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        yaml.safe_load(EXCHANGE)]}))
    # a Secret beside them is read as a manifest too, and passed over without a word
    secret = EXAMPLES / "shovels" / "shovel-secret.yaml"
    assert looks_like_manifests(secret.read_text(encoding="utf-8"))
    topology = read_manifests(secret.read_text(encoding="utf-8"), source=str(secret))
    assert (topology.problems, topology.queues, topology.parameters) == ([], [], [])
