"""What used to end in a traceback is one message naming the file or URL, with the exit code
the README gives, and everything else still drawn: list items that are no objects, JSON
nested 200,000 deep, integers of thousands of digits, a snapshot that cannot be written,
an output that cannot be written (a closed or full stdout, a reader gone).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.sources import read_path
from sphinxext_rabbit.sources.management import read_api
from tests import hostile
from tests.helpers import FIXTURES, ROOT, page_text, shown_type

TIMEOUT = 60
DIGITS = sys.get_int_max_str_digits()
TOO_LONG = f"an integer of more than {DIGITS:,} digits, more than Python reads"


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sphinxext_rabbit", *args], text=True,
                          cwd=ROOT, check=False, timeout=TIMEOUT,
                          **{"capture_output": True, **kwargs})


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string" if isinstance(value, str) else "a list"


# -- list items that are no objects -----------------------------------------------------------

def topology_items(topology) -> set[str]:
    return ({f"exchange {x.name}" for x in topology.exchanges}
            | {f"queue {q.name}" for q in topology.queues}
            | {f"binding {b.source}>{b.destination}" for b in topology.bindings}
            | {f"policy {p.name}" for p in topology.policies}
            | {f"parameter {p.name}" for p in topology.parameters} | set(topology.vhosts))


#: each endpoint's good item, as tests/hostile.py lists it, and what it draws
GOOD = {**{key: value[0] for key, value in hostile.TOPOLOGY.items() if value},
        "policies": {"name": "ha", "vhost": hostile.VHOST, "pattern": "^orders",
                     "apply-to": "queues", "definition": {"max-length": 10}, "priority": 1},
        "operator-policies": {"name": "cap", "vhost": hostile.VHOST, "pattern": ".*",
                              "apply-to": "queues", "definition": {"max-length": 99},
                              "priority": 0},
        "parameters": {"vhost": hostile.VHOST, "component": "federation-upstream",
                       "name": "up", "value": {"uri": "amqp://elsewhere"}}}
DRAWN = {"vhosts": hostile.VHOST, "exchanges": "exchange orders",
         "queues": "queue orders.created", "bindings": "binding orders>orders.created",
         "policies": "policy ha", "operator-policies": "policy cap",
         "parameters": "parameter up"}
#: JSON values that are no objects
NOT_OBJECTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20), lambda children: st.lists(children, max_size=3), max_leaves=6)


@st.composite
def bodies_with_strays(draw) -> tuple[str, list[Any], list[int]]:
    """An endpoint, its list (the good item among things that are no objects), and where
    those are."""
    endpoint = draw(st.sampled_from(sorted(GOOD)))
    strays = draw(st.lists(NOT_OBJECTS, min_size=1, max_size=6))
    at = draw(st.integers(0, len(strays)))
    items = [*strays[:at], GOOD[endpoint], *strays[at:]]
    return endpoint, items, [i for i in range(len(items)) if i != at]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(case=bodies_with_strays(), shape=st.sampled_from(["list", "paged", "keyed"]))
def test_items_that_are_no_objects_are_each_an_error_and_the_rest_is_drawn(
        case, shape: str, tmp_path_factory: pytest.TempPathFactory):
    endpoint, items, strays = case
    if shape == "list":
        body: Any = items
    elif shape == "paged":
        body = {"items": items, "page": 1, "page_count": 1, "page_size": 500}
    else:
        body = {f"/api/{endpoint}": items}
    path = tmp_path_factory.mktemp("saved") / f"{endpoint}.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    expected = [f"{endpoint}[{index}] should be an object, not {kind(items[index])}"
                for index in strays]
    fetched = body if shape == "keyed" else {endpoint: body}
    for topology in (read_path(str(path)), read_api(fetched, source="http://broker")):
        errors = [p.message for p in topology.problems if p.severity == "error"]
        assert errors == expected
        assert DRAWN[endpoint] in topology_items(topology)


def test_a_live_broker_whose_lists_hold_numbers_and_strings(tmp_path: Path):
    bodies = {key: [*value, 7, "queue", None] if isinstance(value, list) else value
              for key, value in hostile.TOPOLOGY.items()}
    with hostile.serve(lambda request: request.api(bodies)) as server:
        completed = run("check", server.url, env={**os.environ, "RABBITMQ_USER": "guest"})
        edges = run("edges", server.url, "--default-exchange")
    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    for endpoint in ("vhosts", "exchanges", "queues", "bindings"):
        for index, value in enumerate((7, "queue", None), start=1):
            assert (f"{server.url} ({endpoint}[{index}]): error: {endpoint}[{index}] should be "
                    f"an object, not {kind(value)} [rabbitmq.schema]") in lines
    assert len(lines) == 3 * 7  # the seven lists, three strays each, nothing else
    assert edges.returncode == 0  # schema errors skip entries; the rest is drawn
    assert {(edge["source"], edge["destination"]) for edge in json.loads(edges.stdout)} >= {
        ("orders", "orders.created")}


# -- nested too deeply ----------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [40, 900, 5000, 200_000])
def test_a_saved_body_nested_deeply_is_one_message_or_read_without_the_nesting(
        depth: int, tmp_path: Path):
    arguments = "[" * depth + "]" * depth
    queue = json.dumps(GOOD["queues"]).replace('"arguments": {}',
                                               f'"arguments": {{"x": {arguments}}}')
    (tmp_path / "queues.json").write_text(f"[{queue}]", encoding="utf-8")
    completed = run("check", str(tmp_path / "queues.json"))
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert completed.stderr in (
        # what the interpreter's stack can parse comes without the nesting...
        f"{tmp_path}/queues.json:1: warning: queues[0].arguments is nested more than 32 "
        "levels deep; ignored [rabbitmq.limit]\n",
        f"{tmp_path}/queues.json (queues[0].arguments): warning: queues[0].arguments is "
        "nested more than 32 levels deep; ignored [rabbitmq.limit]\n",
        # ...the rest is an error
        f"{tmp_path}/queues.json: error: nested too deeply to read [rabbitmq.parse]\n")
    if depth == 200_000:
        assert completed.returncode == 1 and "error" in completed.stderr


def test_a_live_answer_nested_200000_deep_is_one_message():
    with hostile.serve(hostile.nested(200_000)) as server:
        completed = run("dot", server.url)
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == (
        f"{server.url}: error: {server.url}/api/overview: the answer cannot be read (nested "
        "too deeply to read): is the URL the management API's address? [rabbitmq.fetch]\n")


# -- integers longer than Python reads ----------------------------------------------------------

LONG_INTEGERS = {  # YAML writes (JSON writes only the first two)
    "decimal": "7" * (DIGITS + 1), "negative": "-" + "9" * (DIGITS * 2),
    "hexadecimal": "0x" + "f" * DIGITS, "binary": "0b" + "1" * (DIGITS * 4),
    "sexagesimal": "1" + ":59" * DIGITS,
}


@pytest.mark.parametrize("form", ["decimal", "negative"])
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_an_export_holding_an_integer_too_long_to_read(form: str, suffix: str, tmp_path: Path):
    number = LONG_INTEGERS[form]
    text = ('{"queues": [\n{"name": "q", "vhost": "/", "durable": true,\n'
            f' "arguments": {{"x-max-length": {number}}}}}]}}\n')
    path = tmp_path / f"definitions{suffix}"
    path.write_text(text, encoding="utf-8")
    completed = run("check", str(path))
    assert (completed.returncode, completed.stderr) == (
        1, f"{path}:3: error: {TOO_LONG} [rabbitmq.parse]\n")


@pytest.mark.parametrize("form", sorted(LONG_INTEGERS))
def test_a_yaml_export_holding_an_integer_too_long_to_write_out(form: str, tmp_path: Path):
    path = tmp_path / "definitions.yaml"
    path.write_text("queues:\n- name: q\n  vhost: /\n  arguments:\n"
                    f"    x-max-length: {LONG_INTEGERS[form]}\n", encoding="utf-8")
    for command in ("check", "dot", "edges"):
        completed = run(command, str(path))
        assert (completed.returncode, completed.stdout) == (1, "")
        assert completed.stderr == f"{path}:5: error: {TOO_LONG} [rabbitmq.parse]\n"


@pytest.mark.parametrize("form", sorted(LONG_INTEGERS))
def test_manifests_one_of_which_holds_an_integer_too_long_draw_the_others(form, tmp_path):
    path = tmp_path / "queues.yaml"
    path.write_text(
        "apiVersion: rabbitmq.com/v1beta1\nkind: Queue\nmetadata: {name: good}\n"
        "spec: {name: orders.created, rabbitmqClusterReference: {name: shop}}\n---\n"
        "apiVersion: rabbitmq.com/v1beta1\nkind: Queue\nmetadata: {name: bad}\n"
        "spec:\n  name: orders.bad\n  rabbitmqClusterReference: {name: shop}\n"
        f"  arguments:\n    x-max-length: {LONG_INTEGERS[form]}\n", encoding="utf-8")
    completed = run("check", str(path))
    assert (completed.returncode, completed.stderr) == (
        1, f"{path}:13: error: {TOO_LONG}; this Queue is skipped [rabbitmq.parse]\n")
    topology = read_path(str(path))
    assert [queue.name for queue in topology.queues] == ["orders.created"]


def test_saved_api_output_holding_an_integer_too_long(tmp_path: Path):
    path = tmp_path / "queues.json"
    path.write_text(f'[\n{{"name": "q", "vhost": "/", "messages": {"1" * 5000}}}]\n',
                    encoding="utf-8")
    completed = run("check", str(path))
    assert (completed.returncode, completed.stderr) == (
        1, f"{path}:2: error: {TOO_LONG} [rabbitmq.parse]\n")


def test_a_live_page_count_too_long_to_read():
    def behave(request: hostile.Request) -> None:
        if "page" in request.query:
            request.answer(b'{"items": [], "page": 1, "page_count": ' + b"9" * 5000 + b"}")
        else:
            request.api()
    with hostile.serve(behave) as server:
        completed = run("check", server.url)
    assert completed.returncode == 1
    assert completed.stderr == (
        f"{server.url}: error: {server.url}/api/exchanges/{hostile.VHOST}: the answer cannot "
        f"be read ({TOO_LONG}): is the URL the management API's address? [rabbitmq.fetch]\n")


# -- a snapshot that cannot be written ------------------------------------------------------------

@pytest.fixture
def api_server():
    with hostile.serve(hostile.Request.api) as server:
        yield server


def no_space_left(limit: int):
    """For a child process: files may not grow past ``limit`` bytes, as on a full disk (the
    write fails with EFBIG instead of the process being killed)."""
    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_files


@pytest.mark.parametrize("case", ["missing-folder", "onto-a-folder", "onto-a-fifo",
                                  "disk-full"])
def test_fetch_into_what_cannot_be_written_is_one_message(case: str, api_server, tmp_path):
    previous = b'{"a previous snapshot": true}\n'
    target = {"missing-folder": tmp_path / "absent" / "snapshot.json",
              "onto-a-folder": tmp_path / "folder", "onto-a-fifo": tmp_path / "fifo",
              "disk-full": tmp_path / "snapshot.json"}[case]
    if case == "onto-a-folder":
        target.mkdir()
    elif case == "onto-a-fifo":
        os.mkfifo(target)
    elif case == "disk-full":
        target.write_bytes(previous)
    before = sorted(tmp_path.rglob("*"))
    completed = run("fetch", api_server.url, "-o", str(target),
                    preexec_fn=no_space_left(100) if case == "disk-full" else None)
    reason = {"missing-folder": "No such file or directory",
              "onto-a-folder": "it is a folder; a snapshot replaces a file whole",
              "onto-a-fifo": "it is not a regular file; a snapshot replaces a file whole",
              "disk-full": "File too large"}[case]
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == f"sphinxext-rabbit: cannot write {target}: {reason}\n"
    assert sorted(tmp_path.rglob("*")) == before  # no partial file left beside it
    if case == "disk-full":
        assert target.read_bytes() == previous
    if case == "onto-a-fifo":
        assert target.is_fifo()


def test_a_build_whose_snapshot_cannot_be_written_draws_the_broker(api_server, tmp_path):
    srcdir = tmp_path / "src"
    srcdir.mkdir()
    (srcdir / "conf.py").write_text(
        "extensions = ['sphinxext_rabbit']\nrabbitmq_topology_snapshot_dir = 'snapshots'\n"
        f"rabbitmq_topology_brokers = {{'shop': {{'url': {api_server.url!r}}}}}\n",
        encoding="utf-8")
    (srcdir / "snapshots").write_text("a file where the folder should be", encoding="utf-8")
    (srcdir / "index.rst").write_text("Shop\n====\n\n.. rabbitmq-topology:: shop\n   :show: "
                                      "queues\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-N", "-E", str(srcdir),
         str(srcdir / "_build")], capture_output=True, text=True, check=False, timeout=TIMEOUT)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == (
        f"{srcdir}/index.rst:4: WARNING: shop: cannot write the snapshot "
        f"{srcdir}/snapshots/shop.json: File exists; drawn from the broker as fetched"
        + shown_type("snapshot") + "\n")
    assert "orders.created" in page_text(
        (srcdir / "_build" / "index.html").read_text(encoding="utf-8"))


# -- an output that cannot be written -------------------------------------------------------------

EXPORT = str(FIXTURES / "export-3.7.json")
OUTPUTS = {"dot": [EXPORT], "edges": [EXPORT],
           "diff": [EXPORT, str(FIXTURES / "overlay" / "base.json")]}


@pytest.mark.parametrize("command", sorted(OUTPUTS))
@pytest.mark.parametrize("stdout, reason", [
    ("full", "No space left on device"), ("closed", "it is closed"),
    ("reader-gone", "Broken pipe")])
def test_an_output_that_cannot_be_written_is_one_message(command: str, stdout: str,
                                                         reason: str):
    args = [sys.executable, "-m", "sphinxext_rabbit", command, *OUTPUTS[command]]
    if stdout == "full":
        with open("/dev/full", "w") as full:
            completed = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True,
                                       cwd=ROOT, timeout=TIMEOUT, check=False)
        code, stderr = completed.returncode, completed.stderr
    elif stdout == "closed":
        completed = subprocess.run(args, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                   timeout=TIMEOUT, check=False, preexec_fn=lambda: os.close(1))
        code, stderr = completed.returncode, completed.stderr
    else:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=ROOT)
        process.stdout.close()  # as `| head -c0` would, before anything is written
        stderr = process.stderr.read()
        code = process.wait(timeout=TIMEOUT)
        process.stderr.close()
    assert (code, stderr) == (
        1, f"sphinxext-rabbit: cannot write to standard output: {reason}\n")
