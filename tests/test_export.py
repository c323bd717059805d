"""Snapshots: a Topology written back as a normal definitions file reads back the same."""

from __future__ import annotations

import json
import os
import stat

import pytest

from sphinxext_rabbit.output.definitions import METADATA_KEY, to_definitions, write_definitions
from sphinxext_rabbit.sources.definitions import load, parse
from sphinxext_rabbit.topology.diff import differences
from sphinxext_rabbit.topology.model import Exchange, Parameter, Policy, Queue, Topology
from sphinxext_rabbit.topology.records import replace
from sphinxext_rabbit.topology.select import Selection, views
from tests.helpers import DEFINITION_FILES, FIXTURES, ROOT

SAMPLE = ROOT / "sample_docs" / "broker" / "definitions.json"
#: every definitions file the project has: fixtures, the samples, the real corpus if present


def written(topology: Topology, tmp_path) -> str:
    path = tmp_path / "snapshot.json"
    write_definitions(topology, path)
    return path.read_text(encoding="utf-8")


def by_key(document: dict, key: str, name: str, vhost: str = "/") -> dict:
    return next(item for item in document[key]
                if item["name"] == name and item["vhost"] == vhost)


def model(topology: Topology) -> dict:
    """What a round trip must keep, independent of the order the file listed it in."""
    return {
        "vhosts": topology.vhosts,
        **{key: sorted(getattr(topology, key), key=repr)
           for key in ("exchanges", "queues", "bindings", "policies", "parameters")},
    }


def typed_in_arguments(topology: Topology) -> Topology:
    """The one intended change: a queue whose type is neither set in its arguments nor its
    vhost's default says it there, as only ``x-queue-type`` tells an importing broker."""
    queues = []
    for queue in topology.queues:
        if (not isinstance(queue.arguments.get("x-queue-type"), str)
                and queue.type != (topology.vhosts.get(queue.vhost) or "classic")):
            queue = replace(queue, arguments={**queue.arguments, "x-queue-type": queue.type})
        queues.append(queue)
    return replace(topology, queues=queues)


@pytest.mark.parametrize("path", DEFINITION_FILES, ids=[p.name for p in DEFINITION_FILES])
def test_reading_a_written_topology_back_gives_the_same_model(path, tmp_path):
    topology = load(path)
    again = parse(written(topology, tmp_path))
    assert again.problems == []
    assert model(again) == model(typed_in_arguments(topology))
    # so a page built from the snapshot draws what one built from the original draws
    assert differences(views(topology, Selection())[0], views(again, Selection())[0]) == []


def test_a_type_the_broker_would_not_see_on_import_moves_into_the_arguments():
    cli_export = to_definitions(load(FIXTURES / "export-cli.json"))
    # this export gives the stream's type only beside the arguments, where imports ignore it
    assert by_key(cli_export, "queues", "work.stream") == {
        "name": "work.stream", "vhost": "/", "type": "stream", "durable": True,
        "auto_delete": False, "arguments": {"x-queue-type": "stream"},
    }
    sample = to_definitions(load(SAMPLE))
    # billing's default type is quorum: its queues stay without x-queue-type, as declared
    assert by_key(sample, "queues", "payments.authorise", "billing")["arguments"] == {}
    assert by_key(sample, "queues", "payments.authorise", "billing")["type"] == "quorum"
    assert {"name": "billing", "metadata": {"default_queue_type": "quorum"}} in sample["vhosts"]
    assert by_key(sample, "queues", "orders.dead")["arguments"] == {"x-queue-type": "classic"}


def test_a_written_snapshot_has_an_exports_shape_without_users_or_permissions():
    document = to_definitions(load(SAMPLE))
    assert sorted(document) == ["bindings", "exchanges", "parameters", "policies", "queues",
                                "rabbitmq_definition_format", "vhosts"]
    assert document["rabbitmq_definition_format"] == "cluster"
    assert by_key(document, "parameters", "cap-queue-length") == {
        "vhost": "/", "component": "operator_policy", "name": "cap-queue-length",
        "value": {"pattern": "^(orders|notifications)\\.", "apply-to": "queues",
                  "priority": 0, "definition": {"max-length": 100000}},
    }
    assert "cap-queue-length" not in [p["name"] for p in document["policies"]]
    assert by_key(document, "exchanges", "audit.trail") == {
        "name": "audit.trail", "vhost": "/", "type": "fanout", "durable": True,
        "auto_delete": False, "internal": True, "arguments": {},
    }


def test_an_exclusive_queue_of_a_management_api_snapshot_stays_exclusive():
    topology = parse(json.dumps({"queues": [
        {"name": "amq.gen-reply", "vhost": "/", "durable": False, "auto_delete": True,
         "exclusive": True, "arguments": {}},
        {"name": "work", "vhost": "/", "arguments": {}},
    ]}))
    document = to_definitions(topology)
    assert by_key(document, "queues", "amq.gen-reply")["exclusive"] is True
    assert "exclusive" not in by_key(document, "queues", "work")  # exports never say it
    assert [q.exclusive for q in parse(json.dumps(document)).queues] == [True, False]


def test_a_topology_built_in_code_is_written_without_credentials_too(tmp_path):
    topology = Topology(
        vhosts={"/": None},
        parameters=[Parameter("/", "shovel", "out", {
            "src-queue": "work", "dest-uri": "amqp://user:SECRET_A@remote.example.com/",
            "dest-password": "SECRET_B"})],
        policies=[Policy("/", "federate", "^x$", "exchanges",
                         {"federation-upstream": "amqp://u:SECRET_C@up.example.com"},
                         operator=True)],
    )
    text = written(topology, tmp_path)
    assert "SECRET" not in text
    assert "remote.example.com" in text and "up.example.com" in text


def test_placeholders_that_resolving_adds_are_not_written():
    topology = Topology(
        vhosts={"/": None},
        exchanges=[Exchange("/", "orders", "topic"),
                   Exchange("/", "amq.topic", "topic", origin="builtin"),
                   Exchange("/", "gone", "unknown", origin="missing")],
        queues=[Queue("/", "work"), Queue("/", "copied", origin="shovel"),
                Queue("/", "lost", "unknown", origin="missing")],
    )
    document = to_definitions(topology)
    assert [x["name"] for x in document["exchanges"]] == ["orders"]
    assert [q["name"] for q in document["queues"]] == ["work"]


def test_an_export_read_from_a_file_is_written_without_snapshot_metadata():
    # (the loader records the path as source; a converted file must not carry it)
    assert METADATA_KEY not in to_definitions(load(SAMPLE))


def test_when_and_where_a_snapshot_was_taken_is_kept_without_credentials():
    topology = load(FIXTURES / "per-vhost-marked.json")
    topology.source = "https://monitor:hunter2@mq.example.com:15672/api/definitions"
    topology.taken_at = "2025-03-01T09:30:00Z"
    document = to_definitions(topology)
    assert document[METADATA_KEY] == {
        "taken_at": "2025-03-01T09:30:00Z",
        "source": "https://mq.example.com:15672/api/definitions",
    }
    # reading it back gives the time, and no warning about the key
    again = parse(json.dumps(document))
    assert again.problems == []
    assert again.taken_at == "2025-03-01T09:30:00Z"


def test_a_snapshot_of_a_broker_that_refused_its_parameters_draws_no_upstream_as_missing():
    federated = {
        "vhosts": [{"name": "/"}],
        "exchanges": [{"name": "events", "vhost": "/", "type": "topic"}],
        "policies": [{"name": "fed", "vhost": "/", "pattern": "^events$",
                      "apply-to": "exchanges", "definition": {"federation-upstream": "eu"}}],
    }
    topology = parse(json.dumps(federated))
    topology.taken_at = "2025-03-01T09:30:00Z"
    topology.unread = frozenset({"parameters"})  # as read_live records a refused list
    document = to_definitions(topology)
    assert document[METADATA_KEY]["unread"] == ["parameters"]
    again = parse(json.dumps(document))
    assert again.unread == frozenset({"parameters"})
    _built, problems = views(again, Selection())
    assert problems == []  # without "unread": the upstream 'eu' would be "not declared"


def test_a_malformed_unread_list_is_reported_and_ignored():
    document = {"vhosts": [{"name": "/"}], METADATA_KEY: {"unread": "parameters"}}
    topology = parse(json.dumps(document))
    assert topology.unread == frozenset()
    assert [(p.code, p.message) for p in topology.problems] == [
        ("schema", "sphinxext_rabbit.unread should be a list of names such as 'parameters'; "
                   "ignored")]


def test_the_file_is_deterministic_sorted_indented_and_ends_with_a_newline(tmp_path):
    topology = load(SAMPLE)
    text = written(topology, tmp_path)
    for items in (topology.exchanges, topology.queues, topology.bindings,
                  topology.policies, topology.parameters):
        items.reverse()
    assert written(topology, tmp_path) == text
    assert text.endswith("}\n")
    assert text.startswith('{\n  "bindings": [\n    {\n      "arguments": {},')
    names = [q["name"] for q in json.loads(text)["queues"] if q["vhost"] == "/"]
    assert names == sorted(names)


def test_a_name_python_cannot_encode_as_utf8_is_written_escaped(tmp_path):
    # JSON may hold a lone surrogate; UTF-8 cannot, so the file falls back to \u escapes
    topology = parse('{"queues": [{"name": "half \\ud800 pair", "vhost": "/"}]}')
    text = written(topology, tmp_path)
    assert "half \\ud800 pair" in text
    assert [q.name for q in parse(text).queues] == ["half \ud800 pair"]


def test_replacing_a_snapshot_keeps_its_permissions_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "snapshot.json"
    path.write_text("old\n", encoding="utf-8")
    os.chmod(path, 0o640)
    write_definitions(load(SAMPLE), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert json.loads(path.read_text(encoding="utf-8"))["rabbitmq_definition_format"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot.json"]
    (tmp_path / "plain.txt").write_text("", encoding="utf-8")
    write_definitions(load(SAMPLE), tmp_path / "fresh.json")
    # a new snapshot is as readable as any new file, not private like a temporary file
    assert (stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode)
            == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode))


def test_a_failed_write_leaves_the_previous_snapshot_whole(tmp_path):
    path = tmp_path / "snapshot.json"
    path.write_text('{"previous": true}\n', encoding="utf-8")
    unwritable = Topology(vhosts={"/": None},
                          exchanges=[Exchange("/", "x", arguments={"not json": {1, 2}})])
    with pytest.raises(TypeError):
        write_definitions(unwritable, path)
    assert path.read_text(encoding="utf-8") == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]


def test_a_write_that_cannot_finish_leaves_no_temporary_file(tmp_path):
    (tmp_path / "taken.json").mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        write_definitions(load(SAMPLE), tmp_path / "taken.json")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.json"]


def test_no_secret_of_the_secrets_fixture_is_written(tmp_path):
    topology = load(FIXTURES / "secrets.json")
    topology.source = "https://monitor:SECRET_MONITOR@mq.example.com:15672/api/definitions"
    topology.taken_at = "2025-03-01T09:30:00Z"
    text = written(topology, tmp_path)
    assert "mq.example.com" in text
    assert "SECRET" not in text.upper()
    document = json.loads(text)
    assert "users" not in document
    shovel = by_key(document, "parameters", "local-to-remote")["value"]
    assert shovel["dest-uri"] == "amqp://archive.example.com/%2F"  # the host stays
