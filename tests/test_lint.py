"""The lints check and the directives report: what the broker refuses or silently undoes."""

from __future__ import annotations

import json

import pytest

from sphinxext_rabbit.sources import read_path
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.select import Selection, views
from tests.helpers import REAL_DEFINITIONS, ROOT, cli

LINTS = ("dead-letter-cycle", "default-exchange-binding", "x-match", "policy-matches-nothing")


def lints(doc: dict) -> list[tuple[str, str]]:
    for key in ("exchanges", "queues", "bindings", "policies"):
        for item in doc.get(key, []):
            item.setdefault("vhost", "/")
    _, problems = views(parse(json.dumps(doc)), Selection())
    return [(p.code, p.message) for p in problems if p.code in LINTS]


def _q(name, **arguments):
    return {"name": name, "arguments": {k.replace("_", "-"): v for k, v in arguments.items()}}


def _b(source, destination, key="", to="queue", **arguments):
    return {"source": source, "destination": destination, "destination_type": to,
            "routing_key": key, "arguments": arguments}


def test_a_dead_letter_queue_that_dead_letters_to_itself_by_a_catch_all_policy():
    doc = {"queues": [_q("work"), _q("dlq")],
           "policies": [{"name": "everything", "pattern": ".*", "apply-to": "queues",
                         "definition": {"dead-letter-exchange": "",
                                        "dead-letter-routing-key": "dlq",
                                        "message-ttl": 60000}}]}
    assert lints(doc) == [("dead-letter-cycle", "dead-letter cycle 'dlq' → 'dlq': every "
                           "queue on it expires messages, and the broker drops a message "
                           "that comes back to a queue it expired in (unless a consumer "
                           "rejected it on the way), so what expires here is lost")]


def test_cycles_are_named_in_order_once_and_only_when_every_queue_expires():
    ttl_loop = {"exchanges": [{"name": "x", "type": "fanout"}],
                "queues": [_q("b", x_message_ttl=5, x_dead_letter_exchange="",
                              x_dead_letter_routing_key="a"),
                           _q("a", x_message_ttl=5, x_dead_letter_exchange="x"),
                           _q("c")],
                "bindings": [_b("x", "b"), _b("x", "c")]}
    [(code, message)] = lints(ttl_loop)
    assert code == "dead-letter-cycle" and "'a' → 'b' → 'a'" in message
    # the usual retry loop: the work queue has no TTL, a consumer rejects into the retry
    retry = json.loads(json.dumps(ttl_loop))
    del retry["queues"][1]["arguments"]["x-message-ttl"]
    assert lints(retry) == []
    # a TTL from a policy counts like the argument
    retry["policies"] = [{"name": "ttl", "pattern": "^a$", "apply-to": "queues",
                          "definition": {"message-ttl": 1000}}]
    assert [code for code, _ in lints(retry)] == ["dead-letter-cycle"]
    # a route that depends on the message's keys or headers is not a sure cycle
    keyed = json.loads(json.dumps(ttl_loop))
    keyed["exchanges"][0]["type"] = "direct"
    assert lints(keyed) == []


def test_a_ttl_counts_from_an_operator_policy_and_only_from_a_queue_s_own_policy():
    loop = {"exchanges": [{"name": "x", "type": "fanout"}],
            "queues": [_q("a", x_message_ttl=5, x_dead_letter_exchange="x"),
                       _q("b", x_dead_letter_exchange="", x_dead_letter_routing_key="a")],
            "bindings": [_b("x", "b")]}
    assert lints(loop) == []  # b has no TTL
    # an exchange named b with a TTL in its policy gives the queue b none
    named_alike = json.loads(json.dumps(loop))
    named_alike["exchanges"].append({"name": "b", "type": "direct"})
    named_alike["policies"] = [{"name": "ttl", "pattern": "^b$", "apply-to": "exchanges",
                                "definition": {"message-ttl": 1000}}]
    assert lints(named_alike) == []
    # an operator policy's TTL counts like a policy's
    operator = json.loads(json.dumps(loop))
    operator["parameters"] = [{"vhost": "/", "component": "operator_policy", "name": "ttl",
                               "value": {"pattern": "^b$", "apply-to": "queues",
                                         "definition": {"message-ttl": 1000}}}]
    assert [code for code, _ in lints(operator)] == ["dead-letter-cycle"]


def test_a_binding_from_the_default_exchange_and_a_refused_x_match():
    doc = {"exchanges": [{"name": "h", "type": "headers"}, {"name": "d", "type": "direct"}],
           "queues": [_q("q")],
           "bindings": [_b("", "q", "q"), _b("amq.default", "q", "q"),
                        _b("h", "q", **{"x-match": "some"}), _b("h", "q", **{"x-match": 1}),
                        _b("h", "q", **{"x-match": "any-with-x", "x-a": 1}),
                        _b("d", "q", "k", **{"x-match": "some"})]}
    found = lints(doc)
    assert [code for code, _ in found] == ["default-exchange-binding"] * 2 + ["x-match"] * 2
    assert "has x-match 'some', which the broker refuses" in found[2][1]
    assert "has x-match 1 (not a string)" in found[3][1]


def test_a_policy_that_matches_nothing_of_its_kind():
    doc = {"exchanges": [{"name": "orders", "type": "topic"}],
           "queues": [_q("orders.created"), _q("events", x_queue_type="stream")],
           "policies": [
               {"name": "typo", "pattern": "^ordres\\.", "apply-to": "queues", "definition": {}},
               {"name": "wrong-kind", "pattern": "^orders$", "apply-to": "queues",
                "definition": {}},
               {"name": "no-quorum", "pattern": "", "apply-to": "quorum_queues",
                "definition": {}},
               # matches, but a higher priority policy applies: not unused
               {"name": "outranked", "pattern": "^orders", "apply-to": "all",
                "definition": {}, "priority": 1},
               {"name": "winner", "pattern": "^orders\\.created$", "apply-to": "queues",
                "definition": {}, "priority": 2},
               {"name": "streams", "pattern": "^ev", "apply-to": "streams", "definition": {}}],
           "parameters": [{"vhost": "/", "component": "operator_policy", "name": "op",
                           "value": {"pattern": "^nothing", "apply-to": "queues",
                                     "definition": {"max-length": 1}}}]}
    found = dict((message.split("'")[1], message) for _, message in lints(doc))
    assert sorted(found) == ["no-quorum", "op", "typo", "wrong-kind"]
    assert "matches no queue declared in the vhost" in found["typo"]
    assert found["op"].startswith("operator policy 'op'")
    assert "matches no quorum queue" in found["no-quorum"]


@pytest.mark.parametrize("path", sorted(REAL_DEFINITIONS.glob("*.json")) + sorted(
    (ROOT / "sample_docs" / "broker").glob("*.*")), ids=lambda p: p.name)
def test_no_lint_fires_on_real_exports_or_the_sample(path):
    topology = read_path(str(path))
    _, problems = views(topology, Selection())
    assert [p.message for p in problems if p.code in LINTS] == []


def test_check_reports_the_lints_with_their_codes(tmp_path):
    doc = {"queues": [{"name": "dlq", "vhost": "/", "arguments": {
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq",
        "x-message-ttl": 1}}]}
    (tmp_path / "d.json").write_text(json.dumps(doc))
    completed = cli("check", str(tmp_path / "d.json"))  # warnings: exit 0
    assert "warning: dead-letter cycle 'dlq' → 'dlq'" in completed.stderr
    assert "[rabbitmq.dead-letter-cycle]" in completed.stderr
