"""Where a message goes: the routing engine against reference matchers and the broker's rules."""

from __future__ import annotations

import json
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.route import (
    MessageError,
    Router,
    TopicTrie,
    dead_lettered,
    headers_match,
    published,
)
from sphinxext_rabbit.topology.select import Selection, views

# -- reference matchers: the broker's definitions, written as plainly as possible ----------


def reference_topic(pattern: str, key: str) -> bool:
    """rabbit_exchange_type_topic's meaning, by recursion on words."""
    pattern_words = pattern.split(".") if pattern else []
    key_words = key.split(".") if key else []

    @cache
    def match(p: int, k: int) -> bool:
        if p == len(pattern_words):
            return k == len(key_words)
        word = pattern_words[p]
        if word == "#":
            return match(p + 1, k) or (k < len(key_words) and match(p, k + 1))
        if k == len(key_words):
            return False
        return (word == "*" or word == key_words[k]) and match(p + 1, k + 1)

    return match(0, 0)


def _type_class(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"  # rabbit_misc:type_class puts every integer and float type in one
    return type(value).__name__


def _amqp(value):
    """How to_amqp_table types a JSON value, for Erlang's term equality inside containers."""
    if isinstance(value, dict):
        return ("table", tuple(sorted((k, _amqp(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("array", tuple(_amqp(v) for v in value))
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("long", value)
    if isinstance(value, float):
        return ("double", value)
    return ("longstr", value)


def reference_headers(arguments: dict, headers: dict) -> bool:
    """rabbit_exchange_type_headers:headers_match, transcribed: a merge of the two tables
    sorted by key."""
    mode = arguments.get("x-match", "all")
    mode = mode if mode in ("all", "any", "all-with-x", "any-with-x") else "all"
    pattern = sorted(arguments.items())
    data = sorted(headers.items())
    all_match, any_match = True, False
    while True:
        if mode.startswith("all") and not all_match:
            return False
        if mode.startswith("any") and any_match:
            return True
        if not pattern:
            return all_match if mode.startswith("all") else any_match
        (pk, pv) = pattern[0]
        if pk == "x-match" or (pk.startswith("x-") and mode in ("all", "any")):
            pattern = pattern[1:]
            continue
        if not data:
            all_match = False
            pattern = []
            continue
        (dk, dv) = data[0]
        if pk > dk:
            data = data[1:]
            continue
        if pk < dk:
            all_match = False
            pattern = pattern[1:]
            continue
        if pv is None:
            any_match = True
        elif _type_class(pv) != _type_class(dv):
            all_match = False
        elif (pv == dv) if _type_class(pv) == "number" else (_amqp(pv) == _amqp(dv)):
            any_match = True
        else:
            all_match = False
        pattern, data = pattern[1:], data[1:]


WORDS = st.sampled_from(["a", "b", "", "*", "#", "a*"])
TOPIC_KEYS = st.lists(st.sampled_from(["a", "b", "", "*", "#", "a*"]), max_size=5).map(".".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(WORDS, max_size=5).map(".".join), min_size=1, max_size=8), TOPIC_KEYS)
def test_topic_trie_agrees_with_the_reference_matcher(patterns, key):
    trie = TopicTrie()
    for index, pattern in enumerate(patterns):
        trie.add(pattern, index)
    assert trie.match(key) == {i for i, p in enumerate(patterns) if reference_topic(p, key)}


def test_topic_rules_the_broker_showed():
    # checked by publishing on RabbitMQ 3.10.8 (see tests/test_route_broker.py)
    cases = {
        "": ["", "#", "#.#"],
        "a": ["#", "*", "a.#", "#.#"],
        "a..b": ["#", "a.*.b", "a.#", "a..b", "#.#"],
        ".": ["#", "*.*", "#.#"],
        "a*": ["#", "*", "a*", "#.#"],
        "a.b.c": ["#", "a.#", "#.c", "#.#"],
    }
    patterns = ["", "#", "*", "a.*.b", "a.#", "#.c", "a..b", "*.*", "a*", "#.#"]
    trie = TopicTrie()
    for index, pattern in enumerate(patterns):
        trie.add(pattern, index)
    for key, expected in cases.items():
        assert sorted(patterns[i] for i in trie.match(key)) == sorted(expected), key


def test_topic_match_stays_linear_on_many_hashes():
    trie = TopicTrie()
    trie.add(".".join(["#"] * 60) + ".z", 0)
    assert trie.match(".".join(["a"] * 255)) == set()


SCALARS = st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 2.5, 0.0]),
                    st.sampled_from(["1", "eu", "", "x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2)
                      | st.dictionaries(st.sampled_from(["k", "j"]), inner, max_size=2),
                      max_leaves=4)
HEADER_NAMES = st.sampled_from(["a", "b", "x-a", "x-b", "region"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(HEADER_NAMES, VALUES | st.none(), max_size=4),
       st.sampled_from([None, "all", "any", "all-with-x", "any-with-x", "bogus"]),
       st.dictionaries(HEADER_NAMES, VALUES, max_size=4))
def test_headers_matching_agrees_with_the_brokers_algorithm(arguments, mode, headers):
    if mode is not None:
        arguments = {**arguments, "x-match": mode}
    assert headers_match(arguments, headers) == reference_headers(arguments, headers)


def test_headers_values_keep_their_types():
    assert headers_match({"n": 1}, {"n": 1.0})  # numbers compare by value, as the broker does
    assert not headers_match({"n": 1}, {"n": "1"})
    assert not headers_match({"b": 1}, {"b": True})
    assert not headers_match({"a": [1]}, {"a": [1.0]})  # inside arrays types count
    assert headers_match({"x-match": "all", "x-k": 1}, {})  # x- arguments skipped
    assert not headers_match({"x-match": "all-with-x", "x-k": 1}, {})
    assert not headers_match({"x-match": "any"}, {"a": 1})  # nothing to match: none
    assert headers_match({"x-match": "all"}, {})


# -- the engine over small topologies ----------------------------------------------------


def _view(doc: dict, vhost: str = "/"):
    for key in ("exchanges", "queues", "bindings", "policies"):
        for item in doc.get(key, []):
            item.setdefault("vhost", vhost)
    for binding in doc.get("bindings", []):
        binding.setdefault("destination_type", "queue")
        binding.setdefault("routing_key", "")
        binding.setdefault("arguments", {})
    built, problems = views(parse(json.dumps(doc)), Selection(vhosts=[vhost]))
    return built[0]


def _route(doc, exchange, key="", headers=None, vhost="/"):
    return Router(_view(doc, vhost)).publish(exchange, published(key, headers))


def _x(name, type_="direct", **extra):
    return {"name": name, "type": type_, **extra}


def _q(name, **arguments):
    return {"name": name, "arguments": {k.replace("_", "-"): v for k, v in arguments.items()}}


def _b(source, destination, key="", to="queue", **arguments):
    return {"source": source, "destination": destination, "destination_type": to,
            "routing_key": key, "arguments": arguments}


def test_exchange_to_exchange_cycles_route_each_exchange_once_and_queue_once():
    doc = {"exchanges": [_x("a", "fanout"), _x("b", "fanout"), _x("c", "topic")],
           "queues": [_q("q1"), _q("q2")],
           "bindings": [_b("a", "b", to="exchange"), _b("b", "a", to="exchange"),
                        _b("b", "c", to="exchange"), _b("c", "a", "#", to="exchange"),
                        _b("a", "q1"), _b("b", "q1"), _b("c", "q2", "k.#")]}
    route = _route(doc, "a", "k.x")
    assert route.queues == ["q1", "q2"]
    again = [(h.edge.source, h.edge.destination) for h in route.hops if h.again]
    assert sorted(again) == [("b", "a"), ("b", "q1"), ("c", "a")]


def test_alternate_exchange_only_when_nothing_matches_and_chains_stop_at_loops():
    doc = {"exchanges": [_x("in", arguments={"alternate-exchange": "ae1"}),
                         _x("ae1", arguments={"alternate-exchange": "ae2"}),
                         _x("ae2", arguments={"alternate-exchange": "in"}),
                         _x("sink")],
           "queues": [_q("main"), _q("caught")],
           "bindings": [_b("in", "main", "k"), _b("ae2", "caught", "other"),
                        _b("in", "sink", "to-sink", to="exchange")]}
    assert _route(doc, "in", "k").queues == ["main"]
    # ae1 matches nothing, so its own alternate ae2 is used; ae2's alternate is "in", seen
    route = _route(doc, "in", "other")
    assert route.queues == ["caught"]
    assert [h.edge.kind for h in route.hops] == ["alternate", "alternate", "binding"]
    unrouted = _route(doc, "in", "nothing")
    assert unrouted.unroutable and [h.again for h in unrouted.hops] == [False, False, True]
    # a matching binding to an exchange that routes nowhere is a match: no alternate
    sunk = _route(doc, "in", "to-sink")
    assert sunk.unroutable and [h.edge.destination for h in sunk.hops] == ["sink"]


def test_alternate_exchange_by_policy_and_the_argument_wins():
    doc = {"exchanges": [_x("by-policy"), _x("by-argument", arguments={
               "alternate-exchange": "from-argument"}),
               _x("from-policy", "fanout"), _x("from-argument", "fanout")],
           "queues": [_q("policy.q"), _q("argument.q")],
           "bindings": [_b("from-policy", "policy.q"), _b("from-argument", "argument.q")],
           "policies": [{"name": "ae", "pattern": "^by-", "apply-to": "exchanges",
                         "definition": {"alternate-exchange": "from-policy"}}]}
    assert _route(doc, "by-policy", "k").queues == ["policy.q"]
    assert _route(doc, "by-argument", "k").queues == ["argument.q"]
    [hop, _] = _route(doc, "by-policy", "k").hops
    assert hop.edge.origin == ("policy", "ae")


def test_cc_and_bcc_add_keys_and_headers_exchanges_see_cc_only():
    doc = {"exchanges": [_x("d"), _x("h", "headers")],
           "queues": [_q("k1"), _q("k2"), _q("k3"), _q("has-cc"), _q("has-bcc")],
           "bindings": [_b("d", "k1", "k1"), _b("d", "k2", "k2"), _b("d", "k3", "k3"),
                        _b("h", "has-cc", **{"x-match": "any", "CC": ["k2"]}),
                        _b("h", "has-bcc", **{"x-match": "any", "BCC": ["k3"]})]}
    message = {"CC": ["k2"], "BCC": ["k3", "k1"]}
    assert _route(doc, "d", "k1", message).queues == ["k1", "k2", "k3"]
    assert _route(doc, "h", "", message).queues == ["has-cc"]
    assert _route(doc, "", "nothing", message).queues == ["k1", "k2", "k3"]
    with pytest.raises(MessageError):
        published("k", {"CC": "k2"})  # the broker refuses a CC that is not an array


def test_default_exchange_routes_by_queue_name_only_to_queues_that_exist():
    doc = {"exchanges": [_x("x")], "queues": [_q("jobs")],
           "bindings": [_b("x", "gone", "k")]}  # "gone" is missing
    route = _route(doc, "", "jobs")
    assert route.queues == ["jobs"] and route.hops[0].edge.origin == ("implicit", None)
    assert _route(doc, "amq.default", "jobs").queues == ["jobs"]
    missing = _route(doc, "", "gone")
    assert missing.unroutable and missing.unmatched_keys == ["gone"]
    bound = _route(doc, "x", "k")
    assert bound.unroutable
    assert [p.code for p in bound.problems] == ["route-incomplete"]
    assert "queue 'gone' does not exist" in bound.problems[0].message


def test_internal_exchanges_refuse_a_publish_but_route_what_reaches_them():
    doc = {"exchanges": [_x("front", "fanout"), _x("inner", "fanout", internal=True)],
           "queues": [_q("q")],
           "bindings": [_b("front", "inner", to="exchange"), _b("inner", "q")]}
    refused = _route(doc, "inner")
    assert refused.unroutable and [p.code for p in refused.problems] == ["route-refused"]
    assert _route(doc, "front").queues == ["q"]
    assert _route(doc, "amq.rabbitmq.trace").problems[0].code == "route-refused"


@pytest.mark.parametrize("kind", ["x-consistent-hash", "x-random", "x-modulus-hash",
                                  "x-local-random"])
def test_exchanges_that_pick_one_queue_answer_one_of(kind):
    doc = {"exchanges": [_x("pick", kind), _x("fan", "fanout")],
           "queues": [_q("q1"), _q("q2"), _q("q3"), _q("q4")],
           "bindings": [_b("pick", "q1", "1"), _b("pick", "q2", "2"),
                        _b("pick", "fan", "1", to="exchange"), _b("fan", "q3"),
                        _b("fan", "q4")]}
    route = _route(doc, "pick", "any")
    assert route.queues == [] and not route.unroutable
    [choice] = route.choices
    assert choice.exchange == "pick"
    assert choice.alternatives == [("q1",), ("q2",), ("q3", "q4")]
    assert route.reached() == ["q1", "q2", "q3", "q4"]
    # one destination only: no choice to make
    single = {**doc, "bindings": [_b("pick", "q1", "1"), _b("pick", "q1", "2")]}
    assert _route(single, "pick").queues == ["q1"]


def test_missing_exchanges_and_unknown_types_are_named():
    doc = {"exchanges": [_x("x", "topic"), _x("jms", "x-jms-topic")],
           "queues": [_q("q")],
           "bindings": [_b("x", "nowhere", "#", to="exchange"), _b("x", "jms", "#", to="exchange"),
                        _b("jms", "q")]}
    route = _route(doc, "x", "k")
    messages = [p.message for p in route.problems]
    assert any("'nowhere' does not exist" in m for m in messages)
    assert any("'jms' has type 'x-jms-topic'" in m for m in messages)


def test_delayed_message_exchanges_route_as_their_delayed_type():
    doc = {"exchanges": [_x("later", "x-delayed-message", arguments={"x-delayed-type": "topic"})],
           "queues": [_q("q")], "bindings": [_b("later", "q", "a.#")]}
    assert _route(doc, "later", "a.b").queues == ["q"]


# -- dead-lettering ------------------------------------------------------------------------


def _dead_letters(doc, exchange, key="", headers=None):
    router = Router(_view(doc))
    return router.dead_letters(router.publish(exchange, published(key, headers)))


def test_dead_letter_routing_key_replaces_the_keys_and_drops_cc():
    doc = {"exchanges": [_x("in"), _x("dlx")],
           "queues": [_q("work", x_dead_letter_exchange="dlx",
                         x_dead_letter_routing_key="dead"),
                      _q("keep", x_dead_letter_exchange="dlx"),
                      _q("dead"), _q("cc"), _q("keep.dead")],
           "bindings": [_b("in", "work", "w"), _b("in", "keep", "k"), _b("dlx", "dead", "dead"),
                        _b("dlx", "cc", "c"), _b("dlx", "keep.dead", "k")]}
    [letter] = _dead_letters(doc, "in", "w")
    assert letter.route.queues == ["dead"]
    assert letter.route.message.routing_keys == ("dead",)
    # without a dead-letter routing key the original keys go on, CC included
    [letter] = _dead_letters(doc, "in", "k", {"CC": ["c"]})
    assert letter.route.queues == ["cc", "keep.dead"]
    assert dead_lettered(published("k", {"CC": ["c"]}), "r").headers == {}


def test_dead_letter_argument_wins_over_the_policy():
    doc = {"exchanges": [_x("in", "fanout"), _x("by-arg", "fanout"), _x("by-policy", "fanout")],
           "queues": [_q("a", x_dead_letter_exchange="by-arg"), _q("b"), _q("arg.dead"),
                      _q("policy.dead")],
           "bindings": [_b("in", "a"), _b("in", "b"), _b("by-arg", "arg.dead"),
                        _b("by-policy", "policy.dead")],
           "policies": [{"name": "dl", "pattern": "^[ab]$", "apply-to": "queues",
                         "definition": {"dead-letter-exchange": "by-policy"}}]}
    letters = {d.queue: d.route.queues for d in _dead_letters(doc, "in")}
    assert letters == {"a": ["arg.dead"], "b": ["policy.dead"]}


def test_dead_letter_cycles_are_cut_where_they_return():
    doc = {"exchanges": [_x("in")],
           "queues": [_q("self", x_dead_letter_exchange="", x_dead_letter_routing_key="self"),
                      _q("one", x_dead_letter_exchange="", x_dead_letter_routing_key="two"),
                      _q("two", x_dead_letter_exchange="", x_dead_letter_routing_key="one"),
                      _q("gone", x_dead_letter_exchange="nowhere")],
           "bindings": [_b("in", "self", "s"), _b("in", "one", "o"), _b("in", "gone", "g")]}
    [letter] = _dead_letters(doc, "in", "s")
    assert letter.cycle == ["self", "self"]
    first, second = _dead_letters(doc, "in", "o")
    assert (first.queue, first.cycle) == ("one", None)
    assert (second.queue, second.cycle) == ("two", ["one", "two", "one"])
    [dropped] = _dead_letters(doc, "in", "g")
    assert dropped.route.unroutable
    assert "drops" in dropped.route.problems[0].message


# -- the whole route against a transcription of rabbit_exchange:route ----------------------


def reference_route(doc: dict, start: str, keys: list[str], headers: dict) -> set[str]:
    """rabbit_exchange:route, transcribed: a stack of exchanges, a seen set, a queue set."""
    exchanges = {x["name"]: x for x in doc["exchanges"]}
    queues = {q["name"] for q in doc["queues"]}
    policy_ae = {p["pattern"][1:-1]: p["definition"]["alternate-exchange"]
                 for p in doc.get("policies", [])}

    def type_route(name: str) -> list[tuple[str, str]]:
        kind = exchanges[name]["type"]
        found = []
        for b in doc["bindings"]:
            if b["source"] != name:
                continue
            if kind == "fanout":
                hit = True
            elif kind == "direct":
                hit = b["routing_key"] in keys
            elif kind == "topic":
                hit = any(reference_topic(b["routing_key"], k) for k in keys)
            else:
                hit = reference_headers(b["arguments"], headers)
            if hit:
                found.append((b["destination_type"], b["destination"]))
        return found

    if start == "":
        return {k for k in keys if k in queues}
    work, seen, result = [start], {start}, set()
    while work:
        name = work.pop(0)
        destinations = type_route(name)
        if not destinations:
            ae = exchanges[name].get("arguments", {}).get("alternate-exchange",
                                                          policy_ae.get(name))
            destinations = [("exchange", ae)] if ae else []
        for kind, destination in destinations:
            if kind == "queue":
                result.add(destination)
            elif destination not in seen:
                seen.add(destination)
                if destination in exchanges:
                    work.insert(0, exchanges[destination]["name"])
    return result & queues


EXCHANGE_NAMES = ["e0", "e1", "e2", "e3"]


@st.composite
def topologies(draw):
    exchanges = []
    for name in EXCHANGE_NAMES:
        exchange = {"name": name, "type": draw(st.sampled_from(
            ["direct", "fanout", "topic", "headers"])), "arguments": {}}
        ae = draw(st.sampled_from([None, *EXCHANGE_NAMES]))
        if ae is not None:
            exchange["arguments"]["alternate-exchange"] = ae
        exchanges.append(exchange)
    policies = [{"name": f"ae-{name}", "pattern": f"^{name}$", "apply-to": "exchanges",
                 "definition": {"alternate-exchange": draw(st.sampled_from(EXCHANGE_NAMES))}}
                for name in draw(st.lists(st.sampled_from(EXCHANGE_NAMES), unique=True,
                                          max_size=2))]
    bindings = draw(st.lists(st.builds(
        lambda s, d, key, args: {"source": s, "destination": d[1], "destination_type": d[0],
                                 "routing_key": key, "arguments": args},
        st.sampled_from(EXCHANGE_NAMES),
        st.sampled_from([("queue", "q0"), ("queue", "q1"), ("queue", "q2"),
                         *(("exchange", n) for n in EXCHANGE_NAMES)]),
        TOPIC_KEYS,
        st.dictionaries(st.sampled_from(["a", "x-a"]), SCALARS, max_size=2).map(
            lambda a: a if not a else {**a, "x-match": "any"})), max_size=10))
    return {"exchanges": exchanges, "queues": [_q("q0"), _q("q1"), _q("q2")],
            "bindings": bindings, "policies": policies}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies(), st.sampled_from(["", *EXCHANGE_NAMES]), TOPIC_KEYS,
       st.lists(st.sampled_from(["q0", "a.b", "", "b"]), max_size=2),
       st.dictionaries(st.sampled_from(["a", "x-a"]), SCALARS, max_size=2))
def test_routes_agree_with_the_brokers_algorithm(doc, start, key, cc, headers):
    route = _route(json.loads(json.dumps(doc)), start, key, {**headers, "CC": cc})
    keys = [key, *cc]
    assert set(route.queues) == reference_route(doc, start, keys, {**headers, "CC": cc})
    assert route.queues == sorted(set(route.queues))
    assert route.unroutable == (not route.queues)
