"""Broker semantics: what the resolved routing graph says the broker would do."""

from __future__ import annotations

import json

import pytest

from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.resolve import resolve


def definitions(**lists):
    """A full-cluster export with vhost '/' filled in on every entity."""
    for items in lists.values():
        for item in items:
            item.setdefault("vhost", "/")
    return {"rabbitmq_version": "3.13.7", **lists}


def resolved(doc, vhost="/"):
    topology = parse(json.dumps(doc))
    assert not [p for p in topology.problems if p.severity == "error"], topology.problems
    return resolve(topology, vhost)


def edges_of(view, kind):
    return [
        (e.source, e.destination, e.routing_key, e.as_dict()["origin"])
        for e in view.edges if e.kind == kind
    ]


def queue(name, **arguments):
    return {"name": name, "durable": True, "auto_delete": False, "arguments": arguments}


def exchange(name, type_="direct", **arguments):
    return {
        "name": name,
        "type": type_,
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": arguments,
    }


def policy(name, pattern, definition, apply_to="all", priority=0):
    return {
        "name": name,
        "pattern": pattern,
        "apply-to": apply_to,
        "definition": definition,
        "priority": priority,
    }


def test_dead_letter_argument_wins_over_policy():
    view, problems = resolved(
        definitions(
            exchanges=[exchange("dlx.arg"), exchange("dlx.policy")],
            queues=[queue("q.arg", **{"x-dead-letter-exchange": "dlx.arg"}), queue("q.policy")],
            policies=[
                policy(
                    "dlx",
                    "^q\\.",
                    {"dead-letter-exchange": "dlx.policy", "dead-letter-routing-key": "dead"},
                    apply_to="queues",
                )
            ],
        )
    )
    assert edges_of(view, "dead-letter") == [
        ("q.arg", "dlx.arg", "dead", "queue-argument"),
        ("q.policy", "dlx.policy", "dead", "policy:dlx"),
    ]
    assert problems == []


def test_dead_letter_to_default_exchange_keeps_routing_key():
    view, problems = resolved(
        definitions(
            queues=[
                queue(
                    "work",
                    **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "work.retry"},
                ),
                queue("work.retry"),
            ],
        )
    )
    assert edges_of(view, "dead-letter") == [("work", "", "work.retry", "queue-argument")]
    assert "" not in view.exchanges  # drawn only on request
    assert problems == []


def test_alternate_exchange_argument_wins_over_policy():
    view, _ = resolved(
        definitions(
            exchanges=[
                exchange("in", **{"alternate-exchange": "ae.arg"}),
                exchange("other"),
                exchange("ae.arg", "fanout"),
                exchange("ae.policy", "fanout"),
            ],
            policies=[
                policy(
                    "ae", "^(in|other)$", {"alternate-exchange": "ae.policy"}, apply_to="exchanges"
                )
            ],
        )
    )
    assert edges_of(view, "alternate") == [
        ("in", "ae.arg", None, "exchange-argument"),
        ("other", "ae.policy", None, "policy:ae"),
    ]


def test_one_policy_applies_highest_priority_and_apply_to():
    view, problems = resolved(
        definitions(
            queues=[queue("orders", **{"x-queue-type": "quorum"}), queue("audit")],
            exchanges=[exchange("orders")],
            policies=[
                policy("low", ".*", {"max-length": 1}, priority=1),
                policy("high", "orders", {"max-length": 2}, priority=5),
                policy("classic-only", "orders", {}, apply_to="classic_queues", priority=9),
                policy("exchanges", "orders", {}, apply_to="exchanges", priority=7),
            ],
        )
    )
    effective = {k: p.name for k, p in view.effective_policies.items()}
    assert effective == {
        ("queue", "orders"): "high",
        ("queue", "audit"): "low",
        ("exchange", "orders"): "exchanges",
    }
    # "orders" is a quorum queue: classic-only matches nothing of its kind, which is said
    assert [(p.code, p.message.split("'")[1]) for p in problems] == [
        ("policy-matches-nothing", "classic-only")]


def test_anchored_patterns_of_different_lengths_each_reach_their_names():
    """Candidates are narrowed by the start of a name; short names, longer literal starts
    and unanchored patterns must all still be matched as the broker matches them."""
    view, problems = resolved(
        definitions(
            queues=[queue(name) for name in ("o", "or", "orders.eu", "orders.euro", "audit")],
            policies=[
                policy("orders-eu", r"^orders\.eu$", {}, priority=4),
                policy("orders", r"^orders\.", {}, priority=3),
                policy("or", "^or", {}, priority=2),
                policy("anything", ".", {}, priority=1),
            ],
        )
    )
    effective = {name: p.name for (_, name), p in view.effective_policies.items()}
    assert effective == {"o": "anything", "or": "or", "orders.eu": "orders-eu",
                         "orders.euro": "orders", "audit": "anything"}
    assert problems == []


def test_policy_tie_is_reported():
    _, problems = resolved(
        definitions(
            queues=[queue("orders")],
            policies=[policy("a", "^ord", {}, priority=3), policy("b", "ers$", {}, priority=3)],
        )
    )
    assert [p.code for p in problems] == ["policy-tie"]
    assert "'a' and 'b' both match queue 'orders'" in problems[0].message


def test_operator_policy_is_separate_from_policy():
    doc = definitions(
        queues=[queue("orders")],
        policies=[policy("user", ".*", {"message-ttl": 10})],
        parameters=[
            {
                "component": "operator_policy",
                "name": "limits",
                "value": {
                    "pattern": ".*",
                    "definition": {"max-length": 100},
                    "priority": 0,
                    "apply-to": "queues",
                },
            }
        ],
    )
    view, _ = resolved(doc)
    assert view.effective_policies[("queue", "orders")].name == "user"
    assert view.effective_operator_policies[("queue", "orders")].name == "limits"


def test_builtin_source_is_drawn_and_undeclared_is_missing():
    view, problems = resolved(
        definitions(
            queues=[queue("q")],
            bindings=[
                {
                    "source": "amq.topic",
                    "destination": "q",
                    "destination_type": "queue",
                    "routing_key": "#",
                    "arguments": {},
                },
                {
                    "source": "ghost",
                    "destination": "nowhere",
                    "destination_type": "queue",
                    "routing_key": "",
                    "arguments": {},
                },
            ],
        )
    )
    assert view.exchanges["amq.topic"].origin == "builtin"
    assert view.exchanges["amq.topic"].type == "topic"
    assert view.exchanges["ghost"].origin == "missing"
    assert view.queues["nowhere"].origin == "missing"
    assert sorted(p.message for p in problems) == [
        "a binding from 'ghost' to 'nowhere' refers to exchange 'ghost', which is not declared",
        "a binding from 'ghost' to 'nowhere' refers to queue 'nowhere', which is not declared",
    ]


def test_exchange_to_exchange_cycle_resolves():
    view, problems = resolved(
        definitions(
            exchanges=[exchange("a", "topic"), exchange("b", "topic")],
            bindings=[
                {
                    "source": "a",
                    "destination": "b",
                    "destination_type": "exchange",
                    "routing_key": "x",
                    "arguments": {},
                },
                {
                    "source": "b",
                    "destination": "a",
                    "destination_type": "exchange",
                    "routing_key": "y",
                    "arguments": {},
                },
            ],
        )
    )
    assert edges_of(view, "binding") == [("a", "b", "x", "binding"), ("b", "a", "y", "binding")]
    assert problems == []


def test_federation_upstream_set_from_policy_draws_external_sources():
    doc = definitions(
        exchanges=[exchange("events", "topic")],
        parameters=[
            {
                "component": "federation-upstream",
                "name": "eu",
                "value": {"uri": "amqps://fed:S3cret@eu.example.com/billing"},
            },
            {
                "component": "federation-upstream",
                "name": "us",
                "value": {"uri": ["amqp://us.example.com"], "exchange": "events.us"},
            },
            {
                "component": "federation-upstream-set",
                "name": "everywhere",
                "value": [{"upstream": "eu"}, {"upstream": "us"}],
            },
        ],
        policies=[
            policy(
                "fed", "^events$", {"federation-upstream-set": "everywhere"}, apply_to="exchanges"
            )
        ],
    )
    view, problems = resolved(doc)
    assert edges_of(view, "federation") == [
        ("eu.example.com/billing exchange events", "events", None, "policy:fed"),
        ("us.example.com exchange events.us", "events", None, "policy:fed"),
    ]
    assert all(e.source_type == "external" for e in view.edges)
    assert "S3cret" not in repr(view)
    assert problems == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"src-uri": "amqp://", "src-queue": "a", "dest-uri": "amqp://", "dest-queue": "b"},
            ("a", "queue", "b", "queue"),
        ),
        (
            {
                "src-uri": "amqp://",
                "src-queue": "a",
                "dest-uri": "amqp://shovel:pw@dr.example.com:5672/%2F",
                "dest-exchange": "x",
                "dest-exchange-key": "k",
            },
            ("a", "queue", "dr.example.com:5672 exchange x", "external"),
        ),
        (
            {
                "src-protocol": "amqp10",
                "src-uri": "amqp://localhost:5672",
                "src-address": "/queues/a",
                "dest-protocol": "amqp10",
                "dest-uri": "amqp://localhost:5672",
                "dest-address": "/exchanges/x/key",
            },
            ("a", "queue", "x", "exchange"),
        ),
    ],
)
def test_shovel_edges(value, expected):
    doc = definitions(
        queues=[queue("a"), queue("b")],
        exchanges=[exchange("x")],
        parameters=[{"component": "shovel", "name": "move", "value": value}],
    )
    view, problems = resolved(doc)
    [edge] = [e for e in view.edges if e.kind == "shovel"]
    assert (edge.source, edge.source_type, edge.destination, edge.destination_type) == expected
    assert edge.origin == ("parameter", "move")
    assert "pw" not in repr(view)
    assert problems == []


def test_shovel_declares_its_missing_queue_without_a_warning():
    doc = definitions(
        parameters=[
            {
                "component": "shovel",
                "name": "s",
                "value": {
                    "src-uri": "amqp://",
                    "src-queue": "in",
                    "dest-uri": "amqp://",
                    "dest-queue": "out",
                },
            }
        ]
    )
    view, problems = resolved(doc)
    assert view.queues["out"].origin == "shovel"
    assert problems == []


def test_queue_type_from_argument_then_type_then_vhost_default():
    doc = {
        "vhosts": [{"name": "/", "metadata": {"default_queue_type": "quorum"}}],
        "queues": [
            queue("a", **{"x-queue-type": "stream"}) | {"vhost": "/"},
            {"name": "b", "vhost": "/", "type": "classic", "arguments": {}},
            {"name": "c", "vhost": "/"},
        ],
    }
    view, _ = resolved(doc)
    assert {n: q.type for n, q in view.queues.items()} == {
        "a": "stream",
        "b": "classic",
        "c": "quorum",
    }


def test_unknown_exchange_type_is_drawn_and_reported():
    view, problems = resolved(definitions(exchanges=[exchange("x", "x-custom")]))
    assert view.exchanges["x"].type == "x-custom"
    assert [p.code for p in problems] == ["exchange-type"]


@pytest.mark.parametrize("named", ["federation-upstream", "federation-upstream-set"])
def test_an_upstream_the_source_could_not_read_is_unknown_not_missing(named):
    doc = definitions(
        exchanges=[{"name": "events", "type": "topic"}],
        policies=[policy("fed", "^events$", {named: "eu"}, apply_to="exchanges")],
    )
    topology = parse(json.dumps(doc))
    _view, problems = resolve(topology, "/")
    assert [p.code for p in problems] == ["dangling"]
    topology.unread = frozenset({"parameters"})  # a broker that refused /api/parameters
    view, problems = resolve(topology, "/")
    assert (problems, edges_of(view, "federation")) == ([], [])
