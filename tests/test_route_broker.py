"""The route engine against a real broker: what `route` says is where the broker put each message.

A routing topology covering every rule (topic words, typed headers in all four modes,
exchange-to-exchange cycles, alternate exchanges by argument and by policy and in chains,
a matching binding to an exchange that routes nowhere, the default and ``amq.*``
exchanges, CC/BCC, an internal exchange, a consistent-hash exchange, dead-lettering and
its cycles) is declared in three vhosts of their own. Probe messages, hand-picked and
generated from a fixed seed, are published through the management API, each with its own
payload; then every queue is read, and for each probe the queues holding its payload must
be exactly those that `route` names from the definitions the broker exports (one copy a
queue). A few probes go through the command line against the live broker instead.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

import pytest

from sphinxext_rabbit.sources.definitions import read_document
from sphinxext_rabbit.topology.route import Route, Router, published
from sphinxext_rabbit.topology.select import Selection, views
from tests.broker import (
    MANAGEMENT_URL,
    Broker,
    BrokerError,
    declare,
    delete_vhosts,
    q,
    unique_prefix,
)
from tests.helpers import ROOT

TOPIC = "tópic/x"
HEADERS = "hdr/ü"
TOPIC_PATTERNS = ["", "#", "*", "a.*.b", "a.#", "#.c", "a..b", "*.*", "a*", "#.#", "a.#.c",
                  "b", "c.*"]
HEADER_BINDINGS = {
    "h.all-typed": {"x-match": "all", "n": 1, "s": "1"},
    "h.any-bool-float": {"x-match": "any", "b": True, "f": 2.5},
    "h.all-with-x": {"x-match": "all-with-x", "x-k": "v", "r": "eu"},
    "h.any-with-x": {"x-match": "any-with-x", "x-k": 1},
    "h.only-x": {"x-match": "all", "x-k": "v"},  # all, x- skipped: every message
    "h.any-nothing": {"x-match": "any", "x-k": "v"},  # any, nothing compared: none
    "h.array": {"a": [1, "x"]},
    "h.default-all": {"r": "eu", "n": 2},
}
#: queues the dead-letter probes use; no other probe may reach them
DEAD_LETTER_QUEUES = ("dl.by-argument", "dl.by-policy", "dl.keep-keys", "dl.self-reject",
                      "dl.ttl-self", "dl.ttl-hop")


def _exchange(vhost, name, type_, *, internal=False, **arguments):
    return {"vhost": vhost, "name": name, "type": type_, "durable": True,
            "auto_delete": False, "internal": internal, "arguments": arguments}


def _queue(vhost, name, **arguments):
    return {"vhost": vhost, "name": name, "durable": True, "auto_delete": False,
            "arguments": arguments}


def _bind(vhost, source, destination, key="", to="queue", **arguments):
    return {"vhost": vhost, "source": source, "destination": destination,
            "destination_type": to, "routing_key": key, "arguments": arguments}


def routing_topology(vhost: str, variant: int) -> dict[str, Any]:
    """Every routing rule in one vhost; *variant* changes a few bindings, so vhosts differ."""
    exchanges = [
        _exchange(vhost, TOPIC, "topic"),
        _exchange(vhost, "direct", "direct"),
        _exchange(vhost, "fan", "fanout"),
        _exchange(vhost, HEADERS, "headers"),
        _exchange(vhost, "ring.1", "fanout"),
        _exchange(vhost, "ring.2", "topic"),
        _exchange(vhost, "ring.3", "direct"),
        _exchange(vhost, "ae.arg", "direct", **{"alternate-exchange": "ae.target"}),
        _exchange(vhost, "ae.pol", "direct"),
        _exchange(vhost, "ae.both", "direct", **{"alternate-exchange": "ae.target"}),
        _exchange(vhost, "ae.chain.1", "topic", **{"alternate-exchange": "ae.chain.2"}),
        _exchange(vhost, "ae.chain.2", "direct", **{"alternate-exchange": "ae.pol"}),
        _exchange(vhost, "ae.target", "fanout"),
        _exchange(vhost, "sink.front", "direct", **{"alternate-exchange": "ae.target"}),
        _exchange(vhost, "sink", "direct"),
        _exchange(vhost, "front", "topic"),
        _exchange(vhost, "inner", "fanout", internal=True),
        _exchange(vhost, "hash", "x-consistent-hash"),
        _exchange(vhost, "dlx", "direct"),
        _exchange(vhost, "dlx.policy", "fanout"),
    ]
    queues = [_queue(vhost, name) for name in (
        "q/topic", "q.direct.1", "q.direct.2", "q.fan", "q.ring.1", "q.ring.2", "q.ring.3",
        "q.ae", "q.chain", "q.front", "q.inner", "q.hash.1", "q.hash.2", "q.amq",
        "q.amq.headers", "q.ü/ß", *HEADER_BINDINGS)]
    queues += [_queue(vhost, f"t{index}") for index in range(len(TOPIC_PATTERNS))]
    queues += [
        _queue(vhost, "dl.by-argument", **{"x-dead-letter-exchange": "dlx",
                                           "x-dead-letter-routing-key": "dead.a"}),
        _queue(vhost, "dl.by-policy"),
        _queue(vhost, "dl.keep-keys", **{"x-dead-letter-exchange": "dlx"}),
        _queue(vhost, "dl.self-reject", **{"x-dead-letter-exchange": "",
                                           "x-dead-letter-routing-key": "dl.self-reject"}),
        _queue(vhost, "dl.ttl-self", **{"x-message-ttl": 0, "x-dead-letter-exchange": "",
                                        "x-dead-letter-routing-key": "dl.ttl-self"}),
        _queue(vhost, "dl.ttl-hop", **{"x-message-ttl": 0, "x-dead-letter-exchange": "dlx",
                                       "x-dead-letter-routing-key": "dead.a"}),
        _queue(vhost, "dead.a"), _queue(vhost, "dead.keep"), _queue(vhost, "dead.policy"),
    ]
    bindings = [_bind(vhost, TOPIC, f"t{i}", p) for i, p in enumerate(TOPIC_PATTERNS)]
    bindings += [_bind(vhost, HEADERS, name, **arguments)
                 for name, arguments in HEADER_BINDINGS.items()]
    bindings += [
        _bind(vhost, TOPIC, "q/topic", "a.b" if variant else "c.c"),
        _bind(vhost, "direct", "q.direct.1", "a"),
        _bind(vhost, "direct", "q.direct.2", "b"),
        _bind(vhost, "direct", "q.ü/ß", "" if variant else "c"),
        _bind(vhost, "direct", "fan", "c", to="exchange"),
        _bind(vhost, "fan", "q.fan"),
        # a cycle: ring.1 -> ring.2 -> ring.3 -> ring.1, and back from ring.2
        _bind(vhost, "ring.1", "ring.2", to="exchange"),
        _bind(vhost, "ring.2", "ring.3", "a.#", to="exchange"),
        _bind(vhost, "ring.2", "ring.1", "#", to="exchange"),
        _bind(vhost, "ring.3", "ring.1", "a", to="exchange"),
        _bind(vhost, "ring.1", "q.ring.1"),
        _bind(vhost, "ring.2", "q.ring.2", "*.b"),
        _bind(vhost, "ring.3", "q.ring.3", "a.b"),
        _bind(vhost, "ring.3", "q.ring.1", "a"),
        _bind(vhost, "ae.target", "q.ae"),
        _bind(vhost, "ae.arg", "q.direct.1", "a"),
        _bind(vhost, "ae.pol", "q.direct.2", "b"),
        _bind(vhost, "ae.both", "q.direct.1", "a"),
        _bind(vhost, "ae.chain.1", "q.chain", "x.#"),
        _bind(vhost, "ae.chain.2", "q.chain", "y"),
        _bind(vhost, "sink.front", "sink", "s", to="exchange"),
        _bind(vhost, "sink.front", "q.direct.1", "a"),
        _bind(vhost, "front", "inner", "#", to="exchange"),
        _bind(vhost, "front", "q.front", "a.#"),
        _bind(vhost, "inner", "q.inner"),
        _bind(vhost, "hash", "q.hash.1", "1"),
        _bind(vhost, "hash", "q.hash.2", "2"),
        _bind(vhost, "amq.topic", "q.amq", "a.*"),
        _bind(vhost, "amq.direct", "q.amq", "b"),
        _bind(vhost, "amq.fanout", "q.amq"),
        _bind(vhost, "amq.headers", "q.amq.headers", **{"x-match": "any", "r": "eu"}),
        _bind(vhost, "amq.match", "q.amq.headers", **{"n": 1}),
        _bind(vhost, "dlx", "dead.a", "dead.a"),
        _bind(vhost, "dlx", "dead.keep", "dl.keep-keys"),
        _bind(vhost, "dlx", "dead.keep", "k.cc"),
        _bind(vhost, "dlx.policy", "dead.policy"),
    ]
    policies = [
        {"vhost": vhost, "name": "ae-by-policy", "pattern": r"^ae\.(pol|both)$",
         "apply-to": "exchanges", "priority": 0,
         "definition": {"alternate-exchange": "ae.chain.1" if variant else "ae.target"}},
        {"vhost": vhost, "name": "dead-letter-by-policy", "pattern": r"^dl\.by-policy$",
         "apply-to": "queues", "priority": 0,
         "definition": {"dead-letter-exchange": "dlx.policy"}},
    ]
    return {"vhosts": [{"name": vhost}], "exchanges": exchanges, "queues": queues,
            "bindings": bindings, "policies": policies}


#: (exchange, routing key, headers) published as they are
HAND_PICKED = [
    *((TOPIC, key, {}) for key in ["", "a", "a..b", ".", "a*", "a.b.c", "c", "a.x.b", "b",
                                   "c.d", "a.b", "c.c"]),
    *((HEADERS, "", headers) for headers in [
        {"n": 1, "s": "1"}, {"n": 1.0, "s": "1"}, {"n": "1", "s": "1"}, {"n": 1, "s": 1},
        {"b": True}, {"b": 1}, {"f": 2.5}, {"f": "2.5"}, {"x-k": "v", "r": "eu"},
        {"r": "eu"}, {"x-k": 1}, {"x-k": "1"}, {"a": [1, "x"]}, {"a": ["1", "x"]},
        {"r": "eu", "n": 2}, {}]),
    ("direct", "a", {}), ("direct", "c", {}), ("direct", "", {}), ("direct", "zz", {}),
    ("direct", "a", {"CC": ["b"], "BCC": ["c"]}), (TOPIC, "a", {"CC": ["a.b", "zz"]}),
    ("ring.1", "a.b", {}), ("ring.1", "x.b", {}), ("ring.2", "a", {}), ("ring.3", "a", {}),
    ("ae.arg", "a", {}), ("ae.arg", "zz", {}), ("ae.pol", "b", {}), ("ae.pol", "zz", {}),
    ("ae.both", "zz", {}), ("ae.chain.1", "x.1", {}), ("ae.chain.1", "y", {}),
    ("ae.chain.1", "zz", {}), ("sink.front", "s", {}), ("sink.front", "zz", {}),
    ("sink.front", "a", {"CC": ["s"]}), ("front", "a.b", {}), ("front", "b", {}),
    ("", "q.fan", {}), ("", "q.ü/ß", {"CC": ["q/topic"], "BCC": ["nonexistent"]}),
    ("", "nonexistent", {}), ("amq.default", "q.front", {}),
    ("amq.topic", "a.b", {}), ("amq.direct", "b", {}), ("amq.fanout", "x", {}),
    ("amq.headers", "", {"r": "eu"}), ("amq.match", "", {"n": 1.0}),
    ("amq.match", "", {"n": "1"}), ("hash", "k1", {}), ("hash", "k2", {}),
    ("hash", "", {"CC": ["k3"]}),
]
#: (queue, how its message dies)
DEAD_LETTER_PROBES = [("dl.by-argument", "reject"), ("dl.by-policy", "reject"),
                      ("dl.keep-keys", "reject"), ("dl.self-reject", "reject"),
                      ("dl.ttl-self", "expire"), ("dl.ttl-hop", "expire")]


def generated_probes(count: int, seed: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Probes from a fixed seed: random exchanges, keys of random words, typed headers."""
    rng = random.Random(seed)
    exchanges = [TOPIC, "direct", "fan", HEADERS, "ring.1", "ring.2", "ring.3", "ae.arg",
                 "ae.pol", "ae.both", "ae.chain.1", "sink.front", "front", "amq.topic",
                 "amq.direct", "amq.headers", ""]
    words = ["a", "b", "c", "", "x", "y", "s"]
    values = {"n": [1, "1", 1.0, 2], "s": ["1", 1], "b": [True, 1, "true"], "f": [2.5, "2.5"],
              "r": ["eu", "us"], "x-k": ["v", 1], "a": [[1, "x"], ["1", "x"]]}
    queue_names = ["q.fan", "q/topic", "q.ü/ß", "q.direct.1", "t0", "nonexistent"]
    probes = []
    for _ in range(count):
        exchange = rng.choice(exchanges)
        if exchange == "":
            key = rng.choice(queue_names)
        else:
            key = ".".join(rng.choice(words) for _ in range(rng.randint(0, 3)))
        headers = {name: rng.choice(options) for name, options in values.items()
                   if rng.random() < 0.3}
        if rng.random() < 0.25:
            headers["CC"] = [rng.choice(words + queue_names)]
        if rng.random() < 0.15:
            headers["BCC"] = [rng.choice(words + queue_names)]
        probes.append((exchange, key, headers))
    return probes


class _Vhost:
    def __init__(self, broker: Broker, name: str) -> None:
        self.broker = broker
        self.name = name
        self.path = q(name)

    def publish(self, exchange: str, key: str, headers: dict, payload: str) -> bool:
        answer = self.broker.request(
            "POST", f"exchanges/{self.path}/{q(exchange or 'amq.default')}/publish",
            {"properties": {"headers": headers} if headers else {}, "routing_key": key,
             "payload": payload, "payload_encoding": "string"})
        return answer["routed"]

    def take(self, queue: str, ackmode: str = "ack_requeue_false", count: int = 10_000):
        return self.broker.request("POST", f"queues/{self.path}/{q(queue)}/get",
                                   {"count": count, "ackmode": ackmode, "encoding": "auto"})

    def queues(self) -> list[str]:
        return [item["name"] for item in self.broker.request("GET", f"queues/{self.path}")]

    def router(self) -> Router:
        """A router over the definitions the broker exports of this vhost."""
        export = self.broker.request("GET", f"definitions/{self.path}")
        built, problems = views(read_document(export, vhost=self.name, source="export"),
                                Selection(vhosts=[self.name]))
        assert not [p for p in problems if p.severity == "error"], problems
        return Router(built[0])


def _where_each_payload_is(vhost: _Vhost) -> dict[str, list[str]]:
    """Payload -> the queues holding it, each queue read until a round brings nothing new."""
    found: dict[str, list[str]] = {}
    names = vhost.queues()
    for _ in range(5):  # a publish answered may still be on its way into a queue
        new = 0
        for queue in names:
            for message in vhost.take(queue):
                found.setdefault(message["payload"], []).append(queue)
                new += 1
        if not new:
            return found
    raise AssertionError("queues kept filling")


def _outcomes(route: Route) -> list[set[str]]:
    """Every set of queues the broker may deliver to: the sure ones and one alternative of
    each choice."""
    outcomes = [set(route.queues)]
    for choice in route.choices:
        outcomes = [found | set(alternative) for found in outcomes
                    for alternative in choice.alternatives]
    return outcomes


@pytest.fixture(scope="module")
def routing_vhosts(broker: Broker):
    prefix = unique_prefix()
    names = [f"{prefix}route/α", f"{prefix}Zürich/ß", f"{prefix}plain"]
    documents = [routing_topology(name, variant) for variant, name in enumerate(names)]
    try:
        for document in documents:
            declare(broker, document)
        yield [_Vhost(broker, name) for name in names]
    finally:
        for document in documents:
            delete_vhosts(broker, document)


def test_route_names_exactly_the_queues_the_broker_delivered_to(routing_vhosts):
    probes = HAND_PICKED + generated_probes(40, seed=14)
    checked = 0
    for vhost in routing_vhosts:
        router = vhost.router()
        for queue in vhost.queues():
            vhost.take(queue)  # start empty
        expected: dict[str, tuple[tuple, Route, bool]] = {}
        for index, (exchange, key, headers) in enumerate(probes):
            payload = f"probe-{index}"
            routed = vhost.publish(exchange, key, headers, payload)
            route = router.publish(exchange, published(key, headers))
            assert not route.problems, (exchange, key, headers, route.problems)
            expected[payload] = ((exchange, key, headers), route, routed)
        # an internal exchange: the broker refuses the publish, and route says so
        with pytest.raises(BrokerError, match="cannot publish to internal exchange"):
            vhost.publish("inner", "", {}, "refused")
        assert router.publish("inner", published("")).refused
        where = _where_each_payload_is(vhost)
        for payload, (probe, route, routed) in expected.items():
            received = where.get(payload, [])
            assert len(received) == len(set(received)), probe  # one copy a queue
            assert set(received) in _outcomes(route), (vhost.name, probe, route.queues,
                                                       route.choices, sorted(received))
            assert routed == (not route.unroutable), probe  # the broker's own "routed"
            checked += 1
        assert not set(where) - set(expected)
    assert checked >= 3 * 60


def test_dead_letter_routes_match_where_the_broker_dead_letters(routing_vhosts):
    for vhost in routing_vhosts:
        router = vhost.router()
        for name in DEAD_LETTER_QUEUES:
            vhost.take(name)
        # each probe has a queue of its own, which nothing else reaches
        wanted, cycles = {}, {}
        for index, (queue, death) in enumerate(DEAD_LETTER_PROBES):
            payload = f"dead-{index}"
            cc = {"CC": ["k.cc"]} if queue == "dl.keep-keys" else {}
            assert vhost.publish("", queue, cc, payload)
            if death == "reject":
                [message] = vhost.take(queue, "reject_requeue_false", 1)
                assert message["payload"] == payload
            route = router.publish("", published(queue, cc))
            letter = {d.queue: d for d in router.dead_letters(route)}[queue]
            cycles[queue] = letter.cycle
            reached = set(letter.route.queues)
            if letter.cycle and death == "expire":
                reached -= set(letter.cycle)  # no reject on the cycle: the broker drops it
            wanted[payload] = sorted(reached)
        where = _where_each_payload_is(vhost)
        assert {payload: sorted(where.get(payload, [])) for payload in wanted} == wanted
        assert cycles["dl.self-reject"] == ["dl.self-reject", "dl.self-reject"]
        assert wanted["dead-3"] == ["dl.self-reject"]  # rejected: round it goes
        assert cycles["dl.ttl-self"] == ["dl.ttl-self", "dl.ttl-self"]
        assert wanted["dead-4"] == []  # expired on a cycle: dropped
        assert wanted["dead-2"] == ["dead.keep"]  # its own key kept, CC included


def test_the_command_answers_from_the_live_broker(routing_vhosts, broker):
    vhost = routing_vhosts[0]
    router = vhost.router()
    environment = {**os.environ, "RABBITMQ_PASSWORD": broker.password}
    for exchange, key, headers in [(TOPIC, "a..b", {}), (HEADERS, "", {"n": 1, "s": "1"}),
                                   ("ae.chain.1", "zz", {}), ("direct", "a", {"CC": ["c"]})]:
        command = [sys.executable, "-m", "sphinxext_rabbit", "route", MANAGEMENT_URL,
                   "--user", broker.user, "--password-env", "RABBITMQ_PASSWORD",
                   "--vhost", vhost.name, "--exchange", exchange, "--routing-key", key,
                   "--headers", json.dumps(headers), "--json"]
        completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                                   env=environment, check=False, timeout=60)
        assert completed.returncode == 0, completed.stderr
        answer = json.loads(completed.stdout)
        assert answer["queues"] == router.publish(exchange, published(key, headers)).queues
        vhost.publish(exchange, key, headers, "live")
        assert sorted(_where_each_payload_is(vhost).get("live", [])) == answer["queues"]


def test_the_lints_name_what_the_broker_refuses_or_drops(routing_vhosts):
    vhost = routing_vhosts[0]
    for path, arguments, refusal in [
        (f"bindings/{vhost.path}/e/amq.default/q/{q('q.fan')}", {}, "HTTP 401"),
        (f"bindings/{vhost.path}/e/{q(HEADERS)}/q/{q('q.fan')}", {"x-match": "some"},
         "HTTP 400"),
        (f"bindings/{vhost.path}/e/{q(HEADERS)}/q/{q('q.fan')}", {"x-match": 1}, "HTTP 400"),
    ]:
        with pytest.raises(BrokerError, match=refusal):
            vhost.broker.request("POST", path, {"routing_key": "k", "arguments": arguments})
    export = vhost.broker.request("GET", f"definitions/{vhost.path}")
    _, problems = views(read_document(export, vhost=vhost.name), Selection(vhosts=[vhost.name]))
    cycles = [p.message for p in problems if p.code == "dead-letter-cycle"]
    # the self-loop that expires (the broker dropped its message above), not the one a
    # consumer rejects into (the broker delivered that one again)
    assert cycles == ["dead-letter cycle 'dl.ttl-self' → 'dl.ttl-self': every queue on it "
                      "expires messages, and the broker drops a message that comes back to "
                      "a queue it expired in (unless a consumer rejected it on the way), so "
                      "what expires here is lost"]
