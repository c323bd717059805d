"""Selection: vhosts, include/exclude patterns, built-ins and stubs for edges that leave."""

from __future__ import annotations

import json

import pytest

from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.patterns import Matcher
from sphinxext_rabbit.topology.select import PatternError, Selection, parse_patterns, views

DOC = {
    "vhosts": [{"name": "/"}, {"name": "billing"}],
    "exchanges": [
        {"name": "orders", "vhost": "/", "type": "topic"},
        {"name": "audit", "vhost": "/", "type": "fanout"},
        {"name": "invoices", "vhost": "billing", "type": "direct"},
    ],
    "queues": [
        {"name": "orders.created", "vhost": "/"},
        {"name": "orders.dead", "vhost": "/"},
        {
            "name": "audit.log",
            "vhost": "/",
            "arguments": {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "orders.dead"},
        },
        {"name": "invoices.new", "vhost": "billing"},
    ],
    "bindings": [
        {
            "source": "orders",
            "vhost": "/",
            "destination": "orders.created",
            "destination_type": "queue",
            "routing_key": "order.created",
        },
        {
            "source": "orders",
            "vhost": "/",
            "destination": "audit",
            "destination_type": "exchange",
            "routing_key": "#",
        },
        {
            "source": "audit",
            "vhost": "/",
            "destination": "audit.log",
            "destination_type": "queue",
            "routing_key": "",
        },
        {
            "source": "amq.topic",
            "vhost": "/",
            "destination": "audit.log",
            "destination_type": "queue",
            "routing_key": "log.#",
        },
        {
            "source": "invoices",
            "vhost": "billing",
            "destination": "invoices.new",
            "destination_type": "queue",
            "routing_key": "new",
        },
    ],
}


def build(**options):
    return views(parse(json.dumps(DOC)), Selection(**options))


def test_every_vhost_by_default_one_view_each():
    result, problems = build()
    assert [v.vhost for v in result] == ["/", "billing"]
    assert problems == []


def test_vhost_option_keeps_one_and_unknown_vhost_is_an_error():
    result, _ = build(vhosts=["billing"])
    assert [v.vhost for v in result] == ["billing"]
    result, problems = build(vhosts=["nope"])
    assert result == []
    assert [p.code for p in problems] == ["vhost"]
    assert "'/', 'billing'" in problems[0].message


def test_builtin_appears_only_when_bound_from_and_default_exchange_on_request():
    [root, _], _ = build()
    assert root.exchanges["amq.topic"].origin == "builtin"
    assert "" not in root.exchanges
    [root, _], _ = build(default_exchange=True)
    assert root.exchanges[""].origin == "builtin"


def test_include_keeps_edges_inside_and_stubs_edges_that_leave():
    [root], _ = build(vhosts=["/"], include=parse_patterns("orders*"))
    assert sorted(root.exchanges) == ["orders"]
    assert sorted(root.queues) == ["orders.created", "orders.dead"]
    assert root.stubs == {("exchange", "audit")}
    assert {(e.source, e.destination) for e in root.edges} == {
        ("orders", "orders.created"),
        ("orders", "audit"),
    }


def test_exclude_and_regex():
    [root], _ = build(
        vhosts=["/"], include=parse_patterns("re:^audit"), exclude=parse_patterns("*.log")
    )
    assert sorted(root.exchanges) == ["audit"]
    assert root.queues == {}
    assert root.stubs == {("exchange", "orders"), ("queue", "audit.log")}


def test_dead_letter_through_default_exchange_survives_selection():
    [root], _ = build(vhosts=["/"], include=parse_patterns("audit.log"))
    assert [
        (e.kind, e.destination, e.routing_key) for e in root.edges if e.kind == "dead-letter"
    ] == [("dead-letter", "", "orders.dead")]


def test_pattern_that_matches_nothing_warns():
    _, problems = build(include=parse_patterns("nothing-like-this"))
    assert [p.code for p in problems] == ["empty-selection"]


def test_bad_regex_is_a_pattern_error():
    with pytest.raises(PatternError, match="not a valid regular expression"):
        parse_patterns("re:(")


def test_glob_list_with_spaces_and_escaped_comma():
    patterns = parse_patterns(" a.* , re:^b\\,c$ ")
    assert [Selection(include=[p]).wants(n, Matcher()) for p in patterns
            for n in ("a.x", "b,c")] == [True, False, False, True]
