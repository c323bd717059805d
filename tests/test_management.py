"""Saved management-API output reads into the topology the export of the same broker gives."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sphinxext_rabbit.sources.definitions import read_document
from sphinxext_rabbit.sources.management import (
    endpoint_of,
    is_api_output,
    read_api,
    read_api_file,
    read_api_folder,
    read_api_text,
)
from tests.helpers import FIXTURES, REAL_DEFINITIONS, ROOT

API = FIXTURES / "api"
ENDPOINTS = API / "endpoints"
PAGES = sorted((API / "paged").glob("*.json"))
VHOST = "mgmt-fixture"


def bodies() -> dict[str, object]:
    """The saved bodies by endpoint name, as the live client hands them over."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in ENDPOINTS.glob("*.json")}


def model(topology) -> tuple:
    """What a reader of the diagram and tables gets, in a comparable form.

    Exclusive queues and the bindings to them are left out: the broker's lists have them
    (marked exclusive), its exports never do.
    """
    exclusive = {(q.vhost, q.name) for q in topology.queues if q.exclusive}

    def dumped(value):
        return json.dumps(value, sort_keys=True)

    return (
        sorted((x.vhost, x.name, x.type, x.durable, x.auto_delete, x.internal,
                dumped(x.arguments)) for x in topology.exchanges),
        sorted((q.vhost, q.name, q.type, q.durable, q.auto_delete, dumped(q.arguments))
               for q in topology.queues if (q.vhost, q.name) not in exclusive),
        sorted((b.vhost, b.source, b.destination, b.destination_type, b.routing_key,
                dumped(b.arguments)) for b in topology.bindings
               if b.destination_type == "exchange" or (b.vhost, b.destination) not in exclusive),
        sorted((p.vhost, p.name, p.pattern, p.apply_to, dumped(p.definition), p.priority,
                p.operator) for p in topology.policies),
        sorted((p.vhost, p.component, p.name, dumped(p.value)) for p in topology.parameters),
        sorted(topology.vhosts.items()),
    )


@pytest.fixture(scope="module")
def exported() -> tuple:
    # the broker's own per-vhost export, as 3.10 writes it: no marker, and a vhost field
    # on policies and parameters only
    document = json.loads((API / "definitions.json").read_text(encoding="utf-8"))
    topology = read_document(document, vhost=VHOST)
    assert topology.problems == []
    return model(topology)


def folder_of(tmp_path: Path, files: dict[str, object]) -> Path:
    """A folder of saved bodies: name -> a fixture Path to copy, or text to write."""
    folder = tmp_path / "saved"
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copyfile(content, folder / name)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    return folder


def endpoint_files(*, but: tuple[str, ...] = ()) -> dict[str, Path]:
    return {path.name: path for path in ENDPOINTS.glob("*.json") if path.stem not in but}


# -- the same topology as the export, whichever way the bodies were saved -------------------

def test_a_folder_of_bodies_gives_what_the_export_gives(exported):
    topology = read_api_folder(ENDPOINTS)
    assert topology.problems == []
    assert model(topology) == exported
    assert topology.source == str(ENDPOINTS)


@pytest.mark.parametrize("key", ["{}", "/api/{}"])
def test_one_object_keyed_by_endpoint_gives_what_the_export_gives(exported, key):
    text = json.dumps({key.format(name): body for name, body in bodies().items()}, indent=2)
    assert is_api_output(json.loads(text))
    topology = read_api_text(text, source="state.json")
    assert topology.problems == []
    assert model(topology) == exported


def test_live_bodies_give_what_the_export_gives(exported):
    topology = read_api(bodies(), source="http://127.0.0.1:15673", vhost=VHOST,
                        taken_at="2026-11-27T03:50:00Z")
    assert topology.problems == []
    assert model(topology) == exported
    assert topology.taken_at == "2026-11-27T03:50:00Z"
    assert read_api(bodies(), source="live", vhost="elsewhere").queues == []


def test_paged_queues_give_what_the_export_gives(exported, tmp_path):
    folder = folder_of(tmp_path, {**endpoint_files(but=("queues",)),
                                  **{page.name: page for page in PAGES}})
    topology = read_api_folder(folder)
    assert topology.problems == []
    assert model(topology) == exported


def test_a_missing_page_is_reported_and_the_rest_read(tmp_path):
    page_2 = json.loads(PAGES[1].read_text(encoding="utf-8"))
    folder = folder_of(tmp_path, {**endpoint_files(but=("queues",)),
                                  PAGES[0].name: PAGES[0], PAGES[2].name: PAGES[2]})
    topology = read_api_folder(folder)
    [problem] = topology.problems
    assert (problem.severity, problem.code) == ("warning", "schema")
    assert problem.message == "queues: page(s) 2 of 3 are not here, so their queues are missing"
    names = {q.name for q in topology.queues}
    assert len(names) == 6
    assert not names & {item["name"] for item in page_2["items"]}
    # with the whole list saved too, no queue is missing
    folder = folder_of(tmp_path / "whole", {**endpoint_files(), PAGES[0].name: PAGES[0]})
    assert read_api_folder(folder).problems == []


def test_files_are_told_by_content_not_by_name(exported, tmp_path):
    # only a name tells operator policies from policies: that file keeps its name
    files = endpoint_files(but=("operator-policies",))
    folder = folder_of(tmp_path, {f"body-{index}.json": path
                                  for index, path in enumerate(files.values())})
    shutil.copyfile(ENDPOINTS / "operator-policies.json", folder / "operator-policies.json")
    topology = read_api_folder(folder)
    assert topology.problems == []
    assert model(topology) == exported


def test_endpoints_by_content():
    for path in ENDPOINTS.glob("*.json"):
        expected = "policies" if path.stem == "operator-policies" else path.stem
        assert endpoint_of(json.loads(path.read_text(encoding="utf-8"))) == expected
    assert {endpoint_of(json.loads(page.read_text(encoding="utf-8"))) for page in PAGES} \
        == {"queues"}
    assert endpoint_of([]) is None
    assert endpoint_of([{"name": "alice", "password_hash": "x", "tags": []}]) is None  # users


def test_an_empty_list_is_named_by_its_file():
    assert read_api_text("[]", source="queues.json", name_hint="queues.json").problems == []
    topology = read_api_text('[{"name": "q", "vhost": "/", "durable": true}]',
                             source="dump.json", name_hint="queues.json")
    assert [q.name for q in topology.queues] == ["q"]
    [problem] = read_api_text('[{"name": "q", "vhost": "/", "durable": true}]',
                              source="dump.json", name_hint="dump.json").problems
    assert (problem.severity, problem.code) == ("warning", "schema")
    assert "name the file after it" in problem.message


# -- what the broker adds and an export leaves out ---------------------------------------------

def test_built_in_exchanges_and_default_bindings_are_not_declared():
    topology = read_api_folder(ENDPOINTS)
    names = {x.name for x in topology.exchanges}
    assert "" not in names
    assert not {name for name in names if name.startswith("amq.")}
    assert all(b.source != "" for b in topology.bindings)
    # a binding from a built-in exchange is the user's: it stays
    assert ("amq.topic", "payments", "payment.#") in {
        (b.source, b.destination, b.routing_key) for b in topology.bindings}


def test_queues_carry_their_figures_and_exclusive_ones_are_marked():
    queues = {q.name: q for q in read_api_folder(ENDPOINTS).queues}
    assert queues["orders.created"].stats == {"messages": 4, "consumers": 1}
    assert queues["audit.log"].stats == {"messages": 4, "consumers": 0}
    assert [name for name, q in queues.items() if q.exclusive] == ["session.replies"]
    body = [{"name": "q", "vhost": "/", "durable": True, "exclusive": False,
             "messages": "many", "consumers": True}]
    assert read_api({"queues": body}, source="live").queues[0].stats is None


# -- telling API output from exports ---------------------------------------------------------

def export_paths() -> list[Path]:
    paths = [*FIXTURES.glob("*.json"), *(ROOT / "sample_docs" / "broker").glob("*.json"),
             API / "definitions.json"]
    if REAL_DEFINITIONS.is_dir():
        paths += REAL_DEFINITIONS.glob("*.json")
    return sorted(paths)


@pytest.mark.parametrize("path", export_paths(), ids=lambda path: path.name)
def test_exports_are_not_api_output(path):
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError:
        pytest.skip("not valid JSON")
    assert not is_api_output(document)


@pytest.mark.parametrize("path", [*sorted(ENDPOINTS.glob("*.json")), *PAGES],
                         ids=lambda path: path.name)
def test_saved_bodies_are_api_output(path):
    assert is_api_output(json.loads(path.read_text(encoding="utf-8")))


def test_keyed_objects_are_api_output_only_with_a_sign_of_it():
    queue = {"name": "q", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}}
    assert not is_api_output({"queues": [queue]})
    assert is_api_output({"queues": [{**queue, "node": "rabbit@a", "state": "running"}]})
    assert is_api_output({"/api/queues": [queue]})
    assert is_api_output({"queues": {"items": [queue], "page": 1, "page_count": 1}})
    assert not is_api_output({"rabbit_version": "3.10.8", "queues": [{**queue, "node": "n"}]})
    assert not is_api_output("queues")


# -- problems: located, never a crash, never a secret ----------------------------------------

def test_problems_name_the_file_and_the_line(tmp_path):
    queues = json.loads((ENDPOINTS / "queues.json").read_text(encoding="utf-8"))
    queues[7]["name"] = 42
    exchanges = json.loads((ENDPOINTS / "exchanges.json").read_text(encoding="utf-8"))
    assert exchanges[10]["name"] == "orders"  # after the 7 built-ins that are left out
    exchanges[10]["durable"] = "maybe"
    operator = json.loads((ENDPOINTS / "operator-policies.json").read_text(encoding="utf-8"))
    operator.append({**operator[0], "name": "broken", "pattern": "("})
    texts = {name: json.dumps(body, indent=4) for name, body in (
        ("queues.json", queues), ("exchanges.json", exchanges),
        ("operator-policies.json", operator))}
    texts["bindings.json"] = '[\n  {"source": "orders",\n   "vhost": "x",}\n]\n'
    folder = folder_of(tmp_path, {**endpoint_files(but=("queues", "exchanges", "bindings",
                                                       "operator-policies")), **texts})

    topology = read_api_folder(folder)

    def line_of(name, needle, nth=0):
        lines = texts[name].splitlines()
        return [index for index, line in enumerate(lines, 1) if line == needle][nth]

    found = {(p.code, Path(p.source).name, p.where, p.line): p.message
             for p in topology.problems}
    # json's own words after the colon change with Python (3.13: "Illegal trailing comma")
    assert found.pop(("parse", "bindings.json", None, 3)).startswith("not valid JSON: ")
    assert found == {
        ("schema", "queues.json", "queues[7].name", line_of("queues.json", '        "name": 42,')):
            "queues[7].name should be a string, not a number; skipped",
        ("schema", "exchanges.json", "exchanges[10].durable",
         line_of("exchanges.json", '        "durable": "maybe",')):
            "exchanges[10].durable should be true or false, not a string; true assumed",
        ("policy-pattern", "operator-policies.json", "operator-policies[1]",
         line_of("operator-policies.json", "    {", nth=1)):
            "operator-policies[1]: policy 'broken' has pattern '(', which PCRE (the "
            "broker's regular expressions) refuses (compilation failed at position 1; "
            "missing closing parenthesis); skipped",
    }
    assert all(p.source == str(folder / Path(p.source).name) for p in topology.problems)
    # everything valid is still read
    assert len(topology.queues) == 8
    assert {x.name for x in topology.exchanges} >= {"orders", "audit", "shard"}


def test_a_file_that_is_not_api_output_is_a_warning(exported, tmp_path):
    folder = folder_of(tmp_path, {**endpoint_files(), "export.json": API / "definitions.json",
                                  "notes.txt": "not read"})
    topology = read_api_folder(folder)
    [problem] = topology.problems
    assert (problem.severity, problem.code, problem.source) == (
        "warning", "schema", str(folder / "export.json"))
    assert model(topology) == exported


def test_bad_input_gives_problems_not_exceptions(tmp_path):
    topology = read_api({"queues": "many", "bindings": {"items": "none"},
                         "exchanges": [1, {"name": 5, "vhost": "/", "type": "direct"},
                                       {"name": "kept", "vhost": "/", "type": "fanout",
                                        "internal": False}],
                         "bogus": []}, source="live")
    assert [x.name for x in topology.exchanges] == ["kept"]
    assert sorted((p.code, p.where) for p in topology.problems) == [
        ("schema", "bindings"), ("schema", "exchanges[0]"), ("schema", "exchanges[1].name"),
        ("schema", "queues"), ("unknown-field", "bogus")]
    assert [p.code for p in read_api(["queues"], source="live").problems] == ["schema"]
    assert [(p.code, p.line) for p in read_api_text("{\n[", source="x.json").problems] \
        == [("parse", 2)]
    assert [p.code for p in read_api_file(tmp_path / "absent.json").problems] == ["io"]
    assert [p.code for p in read_api_folder(tmp_path / "absent").problems] == ["io"]
    (tmp_path / "latin1.json").write_bytes(b'["\xe9"]')
    assert [p.code for p in read_api_file(tmp_path / "latin1.json").problems] == ["parse"]


def test_no_secret_reaches_the_topology_or_a_problem(tmp_path):
    parameters = json.loads((ENDPOINTS / "parameters.json").read_text(encoding="utf-8"))
    leaky = next(p for p in parameters if p["component"] == "shovel")
    assert "SECRET_API_SHOVEL" in json.dumps(leaky)
    parameters.append({**leaky, "name": 7})  # a problem about an item holding a secret
    folder = folder_of(tmp_path, {**endpoint_files(but=("parameters",)),
                                  "parameters.json": json.dumps(parameters, indent=4)})
    for topology in (read_api_folder(folder), read_api(bodies(), source="live")):
        assert "SECRET" not in repr(topology)
    assert [p.code for p in read_api_folder(folder).problems] == ["schema"]


# -- when the state was taken -------------------------------------------------------------------

def test_taken_at_is_the_newest_saved_body_in_utc(tmp_path):
    folder = folder_of(tmp_path, {**endpoint_files(), "export.json": API / "definitions.json"})
    newest = 1_795_751_400  # 2026-11-27T03:50:00Z
    for index, path in enumerate(sorted(folder.glob("*.json"))):
        os.utime(path, (newest - 60 * index, newest - 60 * index))
    os.utime(folder / "export.json", (newest + 3600, newest + 3600))  # not API output
    assert read_api_folder(folder).taken_at == "2026-11-27T03:50:00Z"
    os.utime(folder / "queues.json", (newest - 86_400, newest - 86_400))
    assert read_api_file(folder / "queues.json").taken_at == "2026-11-26T03:50:00Z"
    assert read_api_text("[]", source="x.json").taken_at is None
