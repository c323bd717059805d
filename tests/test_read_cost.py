"""The reader's shortcuts give what the slow paths gave.

`redact_value` walks a value once, checking its depth and whether anything in it is a
secret, and gives back the very value when nothing is: each test here compares it with
the copy every value used to be, or checks that what was read is never changed (the model
now shares it with the parsed document, which a build keeps to read other vhosts from).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.sources import read_file
from sphinxext_rabbit.sources.definitions import MAX_DEPTH, parse, read
from sphinxext_rabbit.sources.documents import Document
from sphinxext_rabbit.sources.uris import REDACTED, TooDeep, is_secret_key, redact, redact_value


def copied(value: Any) -> Any:
    """What `redact_value` gave before: a copy of everything, secrets redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [copied(item) for item in value]
    if isinstance(value, dict):
        redacted = {}
        for key, item in value.items():
            if isinstance(key, str):
                key = redact(key)
                if is_secret_key(key):
                    redacted[key] = REDACTED
                    continue
            redacted[key] = copied(item)
        return redacted
    return value


def depth(value: Any) -> int:
    """Containers nested in each other, the value itself included."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


#: texts that redact changes, that it looks at twice ("@", "?") and leaves, and plain ones
TEXTS = st.sampled_from([
    "quorum", "amqp://host/%2F", "amqp://user:pw@host", "amqp://host?password=pw",
    "amqp://host?heartbeat=5", "ops@example.com", "is it?", "amqp://u@", "x-queue-type",
    "password", "x-api-key", "Token", "amqp://user:pw@host/auth", "", "@", "?",
]) | st.text(alphabet="ab@?:/", max_size=6)
KEYS = TEXTS | st.integers(-2, 2) | st.booleans()  # YAML gives keys that are no text
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXTS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_redact_value_gives_the_copy_it_gave_and_shares_only_what_holds_no_secret(value):
    before = copy.deepcopy(value)
    expected = copied(value)
    got = redact_value(value)
    assert got == expected
    assert value == before  # nothing read is changed
    if isinstance(value, (dict, list)):
        # a copy only when something in it was redacted (a redacted key is another key,
        # or falls together with one: the copy is never equal to the value)
        assert (got is value) == (expected == value)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.integers(1, 4))
def test_the_depth_is_checked_in_the_same_walk_all_through(value, max_depth):
    if depth(value) > max_depth:
        with pytest.raises(TooDeep):
            redact_value(value, max_depth=max_depth)
    else:
        assert redact_value(value, max_depth=max_depth) == copied(value)


@pytest.mark.parametrize("secret_first", [True, False])
def test_nesting_under_a_secret_or_after_one_is_too_deep_all_the_same(secret_first):
    nested: Any = "deep"
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    items = [("password", "pw"), ("x-deep", nested)]  # the secret is found before the depth
    if not secret_first:
        items.reverse()
    with pytest.raises(TooDeep):
        redact_value({"x": dict(items)}, max_depth=MAX_DEPTH)
    with pytest.raises(TooDeep):
        redact_value({"password": [nested]}, max_depth=MAX_DEPTH)
    assert redact_value({"password": nested}, max_depth=MAX_DEPTH) == {"password": REDACTED}
    assert redact_value({"x-deep": nested}, max_depth=MAX_DEPTH) == {"x-deep": nested}


def test_a_parameter_value_too_deep_under_a_secret_key_is_skipped():
    nested: Any = {}
    for _ in range(MAX_DEPTH):
        nested = {"k": nested}
    doc = {"parameters": [{"vhost": "/", "component": "shovel", "name": "s",
                           "value": {"src-uri": "amqp://u:pw@host", "password": nested}}]}
    topology = parse(json.dumps(doc))
    assert [(p.code, p.where) for p in topology.problems] == [("limit", "parameters[0]")]
    assert topology.parameters == []


SHARED = {
    "vhosts": [{"name": "a"}, {"name": "b"}],
    "queues": [
        {"name": "q", "vhost": vhost, "durable": True, "auto_delete": False,
         "arguments": {"x-queue-type": "quorum", "x-dead-letter-exchange": "dlx",
                       "x-extra": {"nested": ["list", {"deeper": 1}]}}}
        for vhost in ("a", "b")],
    "exchanges": [{"name": "x", "vhost": "a", "type": "topic", "durable": True,
                   "auto_delete": False, "internal": False,
                   "arguments": {"alternate-exchange": "ae", "x-api-key": "ZQX1J"}}],
    "bindings": [{"source": "x", "vhost": "a", "destination": "q", "destination_type": "queue",
                  "routing_key": "k", "arguments": {"x-match": "all", "uri": "amqp://u:ZQX2J@h"}}],
    "policies": [{"vhost": "b", "name": "p", "pattern": "^q$", "apply-to": "queues",
                  "priority": 1, "definition": {"max-length": 5, "ha-params": ["n1", "n2"]}}],
    "parameters": [{"vhost": "a", "component": "shovel", "name": "s",
                    "value": {"src-uri": "amqp://host", "dest-uri": "amqp://u:ZQX3J@host",
                              "src-queue": "q"}}],
}


def test_the_model_shares_what_holds_no_secret_and_reading_changes_nothing(tmp_path):
    path = tmp_path / "definitions.json"
    text = json.dumps(SHARED)
    path.write_text(text, encoding="utf-8")
    document = Document.of(str(path), text, source="d", vhost=None)
    whole = read(document)
    assert document.value == SHARED  # the parsed document is as it was
    [queue_a, queue_b] = whole.queues
    assert queue_a.arguments is document.value["queues"][0]["arguments"]  # shared, not copied
    [exchange] = whole.exchanges
    assert exchange.arguments == {"alternate-exchange": "ae", "x-api-key": REDACTED}
    [binding] = whole.bindings
    assert binding.arguments == {"x-match": "all", "uri": "amqp://h"}
    [parameter] = whole.parameters
    assert parameter.value["dest-uri"] == "amqp://host"
    assert "ZQX" not in repr(whole)
    # a build reads the vhosts of one export from the one parsed document: each read gives
    # what reading that vhost alone from the text gives
    for vhost in ("a", "b", "a"):
        again = read_file(str(path), vhost=vhost, source="d")
        assert again == parse(text, vhost=vhost, source="d")
    assert document.value == SHARED  # what the model shares is still as parsed


def test_a_binding_of_any_wrong_destination_type_is_reported_as_before():
    def binding(destination_type, source="x"):
        return {"source": source, "vhost": "/", "destination": "q",
                "destination_type": destination_type, "routing_key": "", "arguments": {}}
    doc = {"bindings": [binding("queue"), binding("topic"), binding(3), binding(None),
                        binding(["queue"]), binding({"queue": 1}), binding("queue", source=7),
                        binding("Queue", source=None), binding("exchange")]}
    topology = parse(json.dumps(doc))
    assert [(p.severity, p.code, p.where) for p in topology.problems] == [
        ("error", "destination-type", "bindings[1]"),
        ("error", "schema", "bindings[2].destination_type"),
        ("error", "schema", "bindings[3]"),
        ("error", "schema", "bindings[4].destination_type"),
        ("error", "schema", "bindings[5].destination_type"),
        ("error", "schema", "bindings[6].source"),
        ("error", "schema", "bindings[7]"),
    ]
    assert [b.destination_type for b in topology.bindings] == ["queue", "exchange"]
