"""Drift: what differs between two topologies as a page draws them, one sentence each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sphinxext_rabbit.sources.definitions import load, parse
from sphinxext_rabbit.topology.diff import Difference, differences
from sphinxext_rabbit.topology.select import Selection, parse_patterns, views
from tests.helpers import DEFINITION_FILES, FIXTURES
from tests.test_export import SAMPLE

DRIFT = FIXTURES / "drift"


def sentences(left, right, selection=None, names=("docs.json", "broker.json")):
    """Compare two topologies as a page with *selection* draws them."""
    selection = selection or Selection()
    found = differences(views(left, selection)[0], views(right, selection)[0])
    return [difference.sentence(*names) for difference in found]


def edited(path: Path, edit) -> tuple:
    """The topology in *path* and the one after *edit* changed a copy of its document."""
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    return load(path), parse(json.dumps(document))


def named(items: list[dict], name: str) -> dict:
    return next(item for item in items if item["name"] == name)


def edit_sample(document: dict) -> None:
    """A binding removed, a queue type changed, a policy priority changed, a dead-letter
    argument removed, an exchange added."""
    document["bindings"] = [
        b for b in document["bindings"]
        if (b["source"], b["destination"]) != ("orders.events", "orders.created")
    ]
    named(document["queues"], "orders.dead")["arguments"]["x-queue-type"] = "quorum"
    named(document["policies"], "orders-dead-letter")["priority"] = 20
    del named(document["queues"], "orders.payment-retry")["arguments"]["x-dead-letter-exchange"]
    document["exchanges"].append({"name": "orders.audit", "vhost": "/", "type": "topic",
                                  "durable": True, "auto_delete": False, "internal": False,
                                  "arguments": {}})


def test_each_change_to_a_real_export_is_one_sentence_naming_both_sources():
    left, right = edited(SAMPLE, edit_sample)
    assert sentences(left, right) == [
        "binding exchange 'orders.events' -> queue 'orders.created' (key 'order.created') "
        "in vhost '/' is only in docs.json",
        # without its own dead-letter exchange the queue falls to the policy's, keeping its key
        "dead-letter queue 'orders.payment-retry' -> exchange 'orders.commands' "
        "(key 'payment.request') in vhost '/' is only in docs.json",
        "dead-letter queue 'orders.payment-retry' -> exchange 'orders.dlx' "
        "(key 'payment.request') in vhost '/' is only in broker.json",
        "exchange 'orders.audit' in vhost '/' is only in broker.json",
        "policy 'orders-dead-letter' in vhost '/': priority is 10 in docs.json "
        "but 20 in broker.json",
        "queue 'orders.dead' in vhost '/': type is 'classic' in docs.json "
        "but 'quorum' in broker.json",
    ]
    # swapped sides, swapped words
    assert sentences(right, left)[3] == "exchange 'orders.audit' in vhost '/' is only in docs.json"


@pytest.mark.parametrize("path", DEFINITION_FILES, ids=[p.name for p in DEFINITION_FILES])
def test_the_same_definitions_listed_in_another_order_do_not_differ(path):
    topology = load(path)
    reordered = load(path)
    for items in (reordered.exchanges, reordered.queues, reordered.bindings,
                  reordered.policies, reordered.parameters):
        items.reverse()
    assert sentences(topology, reordered) == []


def test_the_selection_narrows_the_comparison():
    left, right = edited(SAMPLE, edit_sample)
    without_dead = Selection(vhosts=["/"], exclude=parse_patterns("orders.dead"))
    assert not any("'orders.dead'" in s for s in sentences(left, right, without_dead))
    assert len(sentences(left, right, without_dead)) == 5
    assert sentences(left, right, Selection(vhosts=["billing", "shipping"])) == []


def test_entities_outside_the_selection_count_only_through_the_edges_drawn_to_them():
    def edit(document):
        # the alternate exchange of orders.events, drawn as a stub beside orders.*
        named(document["exchanges"], "unrouted")["type"] = "direct"
        document["queues"].remove(named(document["queues"], "unrouted.inspect"))
        document["bindings"] = [b for b in document["bindings"]
                                if b["destination"] != "unrouted.inspect"]

    left, right = edited(SAMPLE, edit)
    orders = Selection(vhosts=["/"], include=parse_patterns("orders.*"))
    assert sentences(left, right, orders) == []
    assert sentences(left, right, Selection(vhosts=["/"])) == [
        "binding exchange 'unrouted' -> queue 'unrouted.inspect' (key '') "
        "in vhost '/' is only in docs.json",
        "exchange 'unrouted' in vhost '/': type is 'fanout' in docs.json but 'direct' "
        "in broker.json",
        "queue 'unrouted.inspect' in vhost '/' is only in docs.json",
    ]

    def bind_outside(document):
        document["bindings"].append({"source": "orders.events", "vhost": "/",
                                     "destination": "search.indexer.1",
                                     "destination_type": "queue", "routing_key": "order.#",
                                     "arguments": {}})

    # the new stub is drawn only to end the new edge: one change, one sentence
    left, right = edited(SAMPLE, bind_outside)
    assert sentences(left, right, orders) == [
        "binding exchange 'orders.events' -> queue 'search.indexer.1' (key 'order.#') "
        "in vhost '/' is only in broker.json",
    ]


def test_a_built_in_exchange_is_not_reported_beside_the_binding_that_drew_it():
    def edit(document):
        document["bindings"] = [b for b in document["bindings"] if b["source"] != "amq.topic"]

    left, right = edited(SAMPLE, edit)
    assert sentences(left, right) == [
        "binding exchange 'amq.topic' -> queue 'notifications.device-acks' "
        "(key 'devices.*.ack') in vhost '/' is only in docs.json",
    ]


def test_declaring_a_built_in_exchange_or_not_is_no_difference():
    def edit(document):  # quirks.json declares "" and amq.direct, as some real files do
        document["exchanges"] = [x for x in document["exchanges"]
                                 if x["name"] not in ("", "amq.direct")]

    left, right = edited(FIXTURES / "quirks.json", edit)
    assert sentences(left, right) == []
    assert sentences(left, right, Selection(default_exchange=True)) == []


def test_a_vhost_on_one_side_only_is_one_sentence():
    def edit(document):
        for key in ("vhosts", "queues", "exchanges", "bindings", "policies", "parameters"):
            document[key] = [item for item in document[key]
                             if "shipping" not in (item.get("vhost"), item.get("name"))]

    left, right = edited(SAMPLE, edit)
    assert sentences(left, right) == ["vhost 'shipping' is only in docs.json"]


def test_a_per_vhost_export_matches_the_same_vhost_in_a_full_export():
    per_vhost = load(FIXTURES / "per-vhost-marked.json")
    full = load(DRIFT / "full-export-with-payments.json")
    assert sentences(per_vhost, full, Selection(vhosts=["payments"])) == []
    assert sentences(per_vhost, full) == ["vhost '/' is only in broker.json"]


def test_a_route_set_up_another_way_is_an_origin_difference():
    def document(queue_arguments, policies):
        return json.dumps({
            "vhosts": [{"name": "/"}],
            "exchanges": [{"name": "dlx", "vhost": "/", "type": "fanout"}],
            "queues": [{"name": "work", "vhost": "/", "arguments": queue_arguments}],
            "policies": policies,
        })

    by_argument = parse(document({"x-dead-letter-exchange": "dlx"}, []))
    by_policy = parse(document({}, [{"vhost": "/", "name": "dead letters", "pattern": "^work$",
                                     "definition": {"dead-letter-exchange": "dlx"}}]))
    assert sentences(by_argument, by_policy) == [
        "dead-letter queue 'work' -> exchange 'dlx' in vhost '/': origin is queue argument "
        "in docs.json but policy 'dead letters' in broker.json",
        "policy 'dead letters' in vhost '/' is only in broker.json",
        "queue 'work' in vhost '/': policy is not set in docs.json but 'dead letters' "
        "in broker.json",
    ]


def test_flags_arguments_and_policy_definitions_are_compared_key_by_key():
    def edit(document):
        retry = named(document["queues"], "orders.payment-retry")
        retry["durable"] = False
        retry["arguments"]["x-message-ttl"] = 60000
        retry["arguments"]["x-max-length"] = 10
        named(document["exchanges"], "audit.trail")["internal"] = False
        named(document["policies"], "notifications-ttl")["definition"] = {"message-ttl": "1d"}
        named(document["policies"], "notifications-ttl")["apply-to"] = "classic_queues"

    left, right = edited(SAMPLE, edit)
    assert sentences(left, right) == [
        "exchange 'audit.trail' in vhost '/': internal is true in docs.json "
        "but false in broker.json",
        "policy 'notifications-ttl' in vhost '/': apply-to is 'queues' in docs.json "
        "but 'classic_queues' in broker.json",
        "policy 'notifications-ttl' in vhost '/': definition key 'message-ttl' is 86400000 "
        "in docs.json but '1d' in broker.json",
        "queue 'orders.payment-retry' in vhost '/': argument 'x-max-length' is not set "
        "in docs.json but 10 in broker.json",
        "queue 'orders.payment-retry' in vhost '/': argument 'x-message-ttl' is 30000 "
        "in docs.json but 60000 in broker.json",
        "queue 'orders.payment-retry' in vhost '/': durable is true in docs.json "
        "but false in broker.json",
    ]


def test_odd_names_stay_quoted_unambiguous_and_on_one_line():
    def edit(document):
        document["queues"] = [q for q in document["queues"]
                              if q["name"] not in ("line1\nline2", "it's", "日本語")]
        named(document["exchanges"], "<script>alert(1)</script>")["type"] = "direct"
        long_queue = next(q for q in document["queues"] if q["name"].startswith("long-"))
        long_queue["durable"] = False
        document["bindings"] = [b for b in document["bindings"]
                                if b["destination"] != "missing.queue"]

    left, right = edited(FIXTURES / "hostile.json", edit)
    found = sentences(left, right, names=("a", "b"))
    long_name = "long-queue-name-" * 15 + "long-queue-name"
    assert found == [
        # the queue this binding made appear, never declared, is not a sentence of its own
        "binding exchange '{braces}' -> queue 'missing.queue' (key 'gone') in vhost '/' "
        "is only in a",
        "exchange '<script>alert(1)</script>' in vhost '/': type is 'topic' in a but "
        "'direct' in b",
        # still bound, so drawn as missing: declared in one, only referenced in the other
        "queue \"it's\" in vhost '/': status is declared in a but missing "
        "(referenced, not declared) in b",
        "queue 'line1\\nline2' in vhost '/': status is declared in a but missing "
        "(referenced, not declared) in b",
        f"queue '{long_name}' in vhost '/': durable is true in a but false in b",
        "queue '日本語' in vhost '/': status is declared in a but missing "
        "(referenced, not declared) in b",
    ]
    assert all("\n" not in sentence for sentence in found)


def test_no_secret_reaches_a_sentence():
    secrets = FIXTURES / "secrets.json"

    def edit(document):
        for parameter in document["parameters"]:
            value = parameter["value"]
            if parameter["name"] == "local-to-remote":
                value["dest-uri"] = "amqp://archiver:SECRET_NEW@archive-2.example.com/%2F"
            if parameter["name"] == "remote":
                value["uri"] = "amqps://fed:SECRET_FED_ROTATED@remote/vhost"  # a new password

    left, right = edited(secrets, edit)
    found = sentences(left, right)
    assert found == [
        "shovel queue 'outbox' -> external 'archive-2.example.com queue outbox-archive' "
        "in vhost '/' is only in broker.json",
        "shovel queue 'outbox' -> external 'archive.example.com queue outbox-archive' "
        "in vhost '/' is only in docs.json",
    ]
    assert "SECRET" not in repr(differences(views(left, Selection())[0],
                                            views(right, Selection())[0]))


def test_differences_are_sorted_values_not_the_input_order():
    left, right = edited(SAMPLE, edit_sample)
    found = differences(views(left, Selection())[0], views(right, Selection())[0])
    reversed_views = differences(views(left, Selection())[0][::-1],
                                 views(right, Selection())[0][::-1])
    assert found == reversed_views
    assert found[3] == Difference("/", "exchange 'orders.audit'", None, None, "present")
