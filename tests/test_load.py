"""Reading every export shape people hand the directive, and reporting what is wrong."""

from __future__ import annotations

import json

from sphinxext_rabbit.sources.definitions import UNKNOWN_VHOST, parse


def codes(topology):
    return [(p.severity, p.code) for p in topology.problems]


def test_per_vhost_export_takes_vhost_from_marker():
    doc = {
        "rabbitmq_definition_format": "single_virtual_host",
        "original_vhost_name": "billing",
        "queues": [{"name": "invoices", "durable": True, "arguments": {}}],
    }
    topology = parse(json.dumps(doc))
    assert [(q.vhost, q.name) for q in topology.queues] == [("billing", "invoices")]
    assert topology.problems == []


def test_unmarked_per_vhost_export_uses_option_or_warns():
    doc = json.dumps({"queues": [{"name": "q", "arguments": {}}]})
    assert parse(doc, vhost="shipping").queues[0].vhost == "shipping"
    topology = parse(doc)
    assert topology.queues[0].vhost == UNKNOWN_VHOST
    assert codes(topology) == [("warning", "vhost")]
    assert ":vhost:" in topology.problems[0].message


def test_quirks_of_real_exports_load_quietly():
    doc = {
        "rabbit_version": "3.7.28",
        "users": [{"name": "guest", "password": "plain", "tags": ""}],
        "queues": [{"name": "a", "vhost": "/", "arguments": []}, {"name": "b", "vhost": "/"}],
        "exchanges": [
            {"name": "", "vhost": "/", "type": "direct"},
            {"name": "amq.direct", "vhost": "/", "type": "direct"},
        ],
        "bindings": [
            {
                "source": "amq.direct",
                "vhost": "/",
                "destination": "a",
                "destination_type": "queue",
                "routing_key": "a",
                "arguments": {"x-bound-from": [{"uri": "amqp://u:p@h", "vhost": "/", "hops": 1}]},
            }
        ],
    }
    topology = parse(json.dumps(doc))
    assert topology.problems == []
    assert [q.arguments for q in topology.queues] == [{}, {}]
    assert [x.name for x in topology.exchanges] == ["", "amq.direct"]
    assert "plain" not in repr(topology)


def test_malformed_json_gives_the_line():
    topology = parse('{\n  "queues": [\n    {"name": "a",}\n  ]\n}\n')
    assert codes(topology) == [("error", "parse")]
    assert topology.problems[0].line == 3


def test_malformed_yaml_gives_the_line_and_no_snippet():
    topology = parse("queues:\n  - name: a\n    password: hunter2: x\n", is_yaml=True)
    [problem] = topology.problems
    assert (problem.code, problem.line) == ("parse", 3)
    assert "hunter2" not in problem.message


def test_yaml_has_the_same_structures():
    text = "queues:\n  - name: a\n    vhost: /\n    durable: true\n    arguments: {}\n"
    topology = parse(text, is_yaml=True)
    assert [(q.vhost, q.name) for q in topology.queues] == [("/", "a")]


def test_wrong_types_are_located_and_the_rest_still_loads():
    text = json.dumps(
        {
            "queues": [
                {"name": "good", "vhost": "/"},
                {"name": 42, "vhost": "/"},
                "not an object",
                {"name": "flag", "vhost": "/", "durable": "yes"},
            ],
            "exchanges": {"not": "a list"},
            "bindings": [
                {
                    "source": "x",
                    "vhost": "/",
                    "destination": "good",
                    "destination_type": "topic",
                    "routing_key": "",
                }
            ],
            "surprise": 1,
        },
        indent=2,
    )
    topology = parse(text)
    assert [q.name for q in topology.queues] == ["good", "flag"]
    assert topology.bindings == []
    problems = {(p.code, p.where): p for p in topology.problems}
    assert (
        problems[("schema", "queues[1].name")].line
        == text.splitlines().index('      "name": 42,') + 1
    )
    assert ("schema", "queues[2]") in problems
    assert ("schema", "queues[3].durable") in problems
    assert ("schema", "exchanges") in problems
    assert ("destination-type", "bindings[0]") in problems
    assert ("unknown-field", "surprise") in problems


def test_duplicate_declaration_warns_and_later_wins():
    doc = {
        "exchanges": [
            {"name": "x", "vhost": "/", "type": "direct"},
            {"name": "x", "vhost": "/", "type": "topic"},
        ]
    }
    topology = parse(json.dumps(doc))
    assert [x.type for x in topology.exchanges] == ["topic"]
    assert codes(topology) == [("warning", "duplicate")]


def test_credentials_in_parameters_are_removed_at_load():
    doc = {
        "parameters": [
            {
                "vhost": "/",
                "component": "shovel",
                "name": "s",
                "value": {
                    "src-uri": ["amqp://user:SECRET1@a", "amqp://:SECRET2@b"],
                    "dest-uri": "amqps://u:SECRET%5F3@c/v",
                    "dest-password": "SECRET4",
                },
            }
        ]
    }
    topology = parse(json.dumps(doc))
    assert "SECRET" not in repr(topology)


def test_top_level_must_be_an_object():
    assert codes(parse("[1, 2]")) == [("error", "schema")]
    assert codes(parse("")) == [("error", "parse")]


def test_yaml_alias_bomb_is_refused_quickly():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]"
              for i in range(12)]
    topology = parse("\n".join(lines) + "\n", is_yaml=True)
    [problem] = topology.problems
    assert (problem.severity, problem.code) == ("error", "limit")
    assert "aliases" in problem.message


def test_yaml_dates_and_bytes_stay_text_as_in_json():
    text = "queues:\n- name: q\n  vhost: /\n  arguments: {since: 2024-01-01, b: !!binary aGk=}\n"
    [queue] = parse(text, is_yaml=True).queues
    assert queue.arguments == {"since": "2024-01-01", "b": "aGk="}


def test_deep_nesting_is_refused_not_recursed():
    deep = "[" * 100_000 + "]" * 100_000
    assert [p.code for p in parse('{"queues": ' + deep + "}").problems] == ["parse"]
    nested: dict = {}
    for _ in range(200):
        nested = {"k": nested}
    doc = {"queues": [{"name": "q", "vhost": "/", "arguments": {"x-deep": nested}}]}
    topology = parse(json.dumps(doc))
    assert [p.code for p in topology.problems] == ["limit"]
    assert topology.queues[0].arguments == {}
    binding = {"source": "x", "vhost": "/", "destination": "q", "destination_type": "queue",
               "routing_key": "", "arguments": {"x-deep": nested}}
    topology = parse(json.dumps({"bindings": [binding]}))
    assert [(p.code, p.where) for p in topology.problems] == [("limit", "bindings[0].arguments")]
    assert topology.bindings[0].arguments == {}


def test_file_over_the_size_limit_is_refused(tmp_path):
    from sphinxext_rabbit.sources.definitions import load

    path = tmp_path / "big.json"
    path.write_text('{"queues": []}' + " " * 2000, encoding="utf-8")
    [problem] = load(path, max_bytes=1000).problems
    assert problem.code == "limit"
    assert "2,014 bytes, more than the 1,000 allowed" in problem.message


def test_an_unknown_field_is_located_at_its_own_line():
    text = json.dumps({"queues": [{"name": "q", "vhost": "/", "durable": True,
                                   "arguments": {}, "auto_delte": True}]}, indent=2)
    [problem] = parse(text).problems
    assert (problem.code, problem.where) == ("unknown-field", "queues[0].auto_delte")
    assert problem.line == text.splitlines().index('      "auto_delte": true') + 1


def test_one_vhost_is_read_without_the_others_and_problems_keep_their_indexes():
    bad_elsewhere = {"name": 42, "vhost": "b", "durable": "maybe", "extra": 1}
    doc = {
        "queues": [bad_elsewhere, {"name": "q", "vhost": "a"}, bad_elsewhere,
                   {"name": "r", "vhost": "a", "durable": "yes"}],
        "bindings": [{"source": "x", "vhost": "b", "destination": 7}] * 3 + [
            {"source": "x", "vhost": "a", "destination": "q", "destination_type": "queue"},
            {"source": "x", "vhost": "a", "destination": "q", "destination_type": "stream"}],
    }
    topology = parse(json.dumps(doc), vhost="a")
    assert [(q.vhost, q.name, q.durable) for q in topology.queues] == [
        ("a", "q", True), ("a", "r", True)]
    assert [(b.vhost, b.destination, b.routing_key) for b in topology.bindings] == [
        ("a", "q", "")]
    assert [(p.code, p.where) for p in topology.problems] == [
        ("schema", "queues[3].durable"), ("destination-type", "bindings[4]")]


def test_what_is_wrong_with_a_list_s_objects_comes_before_what_is_wrong_with_their_fields():
    doc = {
        "queues": [
            {"name": "q", "vhost": "/", "arguments": "none", "exclusive": 1},
            {"name": "q", "vhost": "/", "durable": None, "auto_delete": "true"},
            {"name": "r", "vhost": "/", "autodelete": True},
            {"name": "s", "vhost": 5},
            ["t"],
        ],
        "bindings": [
            {"source": 1, "vhost": "/", "destination": None, "destination_type": "queue",
             "routing_key": []},
            {"source": "x", "destination": "q", "destination_type": "queue",
             "arguments": [1]},
        ],
    }
    topology = parse(json.dumps(doc))
    assert [(p.code, p.where) for p in topology.problems] == [
        ("unknown-field", "queues[2].autodelete"), ("schema", "queues[3].vhost"),
        ("schema", "queues[4]"),
        ("schema", "queues[0].arguments"), ("schema", "queues[0].exclusive"),
        ("duplicate", "queues[1]"), ("schema", "queues[1].durable"),
        ("vhost", "bindings[1]"),
        ("schema", "bindings[0].source"), ("schema", "bindings[0]"),
        ("schema", "bindings[0].routing_key"), ("schema", "bindings[1].arguments"),
    ]
    assert [(q.name, q.durable, q.auto_delete, q.exclusive) for q in topology.queues] == [
        ("q", True, True, False), ("r", True, False, False)]
    assert [(b.vhost, b.arguments) for b in topology.bindings] == [("/", {})]
