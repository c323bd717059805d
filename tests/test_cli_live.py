"""The command line against the live test broker, run as a user runs it: a separate process,
credentials in its environment only.

Only the vhosts ``declared_topology`` declared are read (``--vhost``): the broker is shared
with other tests and sessions, whose vhosts come and go while these run.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.broker import (
    FEDERATION_PASSWORD,
    MANAGEMENT_URL,
    PASSWORD,
    SHOVEL_PASSWORD,
    USER,
    Broker,
    q,
)
from tests.helpers import FIXTURES, ROOT

#: what no output, message or snapshot may hold
SECRETS = (SHOVEL_PASSWORD, FEDERATION_PASSWORD, PASSWORD, "password_hash",
           base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
#: the environment a user sets, instead of giving the password as an argument
CREDENTIALS = {"RABBITMQ_USER": USER, "RABBITMQ_PASSWORD": PASSWORD}
#: the endpoints a user saves (one file each) to draw a broker from saved output
ENDPOINTS = ("overview", "vhosts", "exchanges", "queues", "bindings", "policies",
             "operator-policies", "parameters")
#: endpoints that list every vhost: there is no form limited to one
WHOLE_BROKER = ("overview", "vhosts", "parameters")


def sphinxext_rabbit(*args: str, env: dict[str, str] | None = None
                     ) -> subprocess.CompletedProcess[str]:
    """Run the command with ``env`` (default: CREDENTIALS) as its only credentials; fail the
    test if anything it printed holds a secret."""
    environment = {key: value for key, value in os.environ.items() if key not in CREDENTIALS}
    environment.update(CREDENTIALS if env is None else env)
    completed = subprocess.run([sys.executable, "-m", "sphinxext_rabbit", *args],
                               capture_output=True, text=True, env=environment, cwd=ROOT,
                               check=False, timeout=60)
    printed = completed.stdout + completed.stderr
    for secret in SECRETS:
        assert secret not in printed, args
    return completed


def edges(source: str, vhost: str, *options: str,
          env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """``edges SOURCE --vhost VHOST``, which must succeed without a word on stderr."""
    completed = sphinxext_rabbit("edges", source, "--vhost", vhost, *options, env=env)
    assert (completed.returncode, completed.stderr) == (0, "")
    return json.loads(completed.stdout)


def in_vhost(definitions: dict[str, Any], key: str, vhost: str) -> list[dict[str, Any]]:
    return [item for item in definitions[key] if item["vhost"] == vhost]


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=[0, 1], ids=["slash-in-name", "non-ascii-name"])
def vhost(request: pytest.FixtureRequest, declared_topology: dict[str, Any]) -> str:
    return declared_topology["vhosts"][request.param]["name"]


@pytest.fixture(scope="module")
def snapshots(declared_topology: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, tuple[str, subprocess.CompletedProcess[str]]]:
    """Per declared vhost: the snapshot ``fetch`` wrote of it, and how ``fetch`` ran."""
    folder = tmp_path_factory.mktemp("snapshots")
    written = {}
    for index, item in enumerate(declared_topology["vhosts"]):
        path = str(folder / f"vhost-{index}.json")
        written[item["name"]] = path, sphinxext_rabbit(
            "fetch", MANAGEMENT_URL, "--vhost", item["name"], "-o", path)
    return written


# -- every way of saving the broker draws what the live broker draws --------------------------
# The declared topology has no exclusive queue (the API lists one, an export leaves it out),
# and built-in exchanges are drawn only beside a binding, whatever the source: so the
# routes are the same, not merely alike.

def test_the_live_broker_draws_every_declared_route(vhost: str,
                                                    declared_topology: dict[str, Any]):
    routes = edges(MANAGEMENT_URL, vhost)
    declared = {(b["source"], b["destination"], b["routing_key"])
                for b in in_vhost(declared_topology, "bindings", vhost)}
    assert {(e["source"], e["destination"], e["routing_key"])
            for e in routes if e["kind"] == "binding"} == declared
    billing, zurich = (item["name"] for item in declared_topology["vhosts"])
    assert {e["kind"] for e in routes} == {
        billing: {"binding", "alternate", "dead-letter", "shovel"},
        zurich: {"binding", "federation"},
    }[vhost]


def test_saved_api_output_draws_what_the_live_broker_draws(vhost: str, broker: Broker,
                                                           tmp_path: Path):
    for endpoint in ENDPOINTS:
        path = endpoint if endpoint in WHOLE_BROKER else f"{endpoint}/{q(vhost)}"
        body = broker.request("GET", path)
        (tmp_path / f"{endpoint}.json").write_text(json.dumps(body), encoding="utf-8")
    assert edges(str(tmp_path), vhost) == edges(MANAGEMENT_URL, vhost)


@pytest.fixture(scope="module")
def cluster_export(broker: Broker, declared_topology: dict[str, Any],
                   tmp_path_factory: pytest.TempPathFactory) -> str:
    """``GET /api/definitions`` saved once: with other sessions' vhosts it takes seconds."""
    export = tmp_path_factory.mktemp("export") / "definitions.json"
    export.write_text(json.dumps(broker.request("GET", "definitions")), encoding="utf-8")
    return str(export)


def test_the_brokers_export_draws_what_the_live_broker_draws(vhost: str, cluster_export: str):
    assert edges(cluster_export, vhost) == edges(MANAGEMENT_URL, vhost)


def test_the_export_of_one_vhost_draws_what_the_live_broker_draws(vhost: str, broker: Broker,
                                                                  tmp_path: Path):
    export = tmp_path / "definitions.json"
    body = broker.request("GET", f"definitions/{q(vhost)}")
    assert "vhosts" not in body  # a 3.10 vhost export does not name its vhost: --vhost does
    export.write_text(json.dumps(body), encoding="utf-8")
    assert edges(str(export), vhost) == edges(MANAGEMENT_URL, vhost)


def test_a_fetched_snapshot_draws_what_the_live_broker_draws(
        vhost: str, snapshots: dict[str, tuple[str, subprocess.CompletedProcess[str]]]):
    snapshot, _ = snapshots[vhost]
    assert edges(snapshot, vhost) == edges(MANAGEMENT_URL, vhost)


def test_fetch_says_what_it_wrote_and_the_snapshot_holds_no_secret(
        declared_topology: dict[str, Any],
        snapshots: dict[str, tuple[str, subprocess.CompletedProcess[str]]]):
    for vhost, (snapshot, fetched) in snapshots.items():
        counts = [len(in_vhost(declared_topology, key, vhost))
                  for key in ("exchanges", "queues", "bindings")]
        assert (fetched.returncode, fetched.stdout) == (0, "")
        assert fetched.stderr.startswith(
            f"sphinxext-rabbit: wrote {snapshot} ({counts[0]} exchanges, {counts[1]} queues, "
            f"{counts[2]} bindings, taken 20")
        text = Path(snapshot).read_text(encoding="utf-8")
        for secret in SECRETS:
            assert secret not in text, vhost
    # the shovel and the upstream whose URIs held the passwords are there, without them
    texts = "".join(Path(path).read_text(encoding="utf-8") for path, _ in snapshots.values())
    assert '"dest-uri": "amqp://archive.example.invalid:5672/archive"' in texts
    assert '"uri": "amqp://upstream.example.invalid:5672/%2F"' in texts


# -- drift between a snapshot and the broker --------------------------------------------------

def test_diff_is_silent_while_the_snapshot_agrees_and_names_a_binding_deleted_since(
        broker: Broker, declared_topology: dict[str, Any],
        snapshots: dict[str, tuple[str, subprocess.CompletedProcess[str]]]):
    vhost = declared_topology["vhosts"][0]["name"]
    snapshot, _ = snapshots[vhost]
    agreeing = sphinxext_rabbit("diff", snapshot, MANAGEMENT_URL, "--vhost", vhost)
    assert (agreeing.returncode, agreeing.stdout, agreeing.stderr) == (0, "", "")
    bindings = f"bindings/{q(vhost)}/e/billing/q/invoices"
    [binding] = broker.request("GET", bindings)
    broker.request("DELETE", f"{bindings}/{q(binding['properties_key'])}")
    try:
        drifted = sphinxext_rabbit("diff", snapshot, MANAGEMENT_URL, "--vhost", vhost)
    finally:
        broker.request("POST", bindings, {"routing_key": binding["routing_key"],
                                          "arguments": binding["arguments"]})
    assert (drifted.returncode, drifted.stderr) == (1, "")
    assert drifted.stdout == (f"binding exchange 'billing' -> queue 'invoices' (key "
                              f"'invoice.#') in vhost {vhost!r} is only in {snapshot}\n")
    restored = sphinxext_rabbit("diff", snapshot, MANAGEMENT_URL, "--vhost", vhost)
    assert (restored.returncode, restored.stdout) == (0, "")


# -- credentials and brokers that cannot be read --------------------------------------------

def test_password_env_names_the_variable_that_holds_the_password(vhost: str):
    # the default variable holds a wrong password: only the named one can succeed
    env = {"RABBITMQ_USER": USER, "RABBITMQ_PASSWORD": "not-the-password",
           "DOCS_RABBIT_PASSWORD": PASSWORD}
    assert edges(MANAGEMENT_URL, vhost, "--password-env", "DOCS_RABBIT_PASSWORD",
                 env=env) == edges(MANAGEMENT_URL, vhost)


WRONG_PASSWORD = {"RABBITMQ_USER": USER, "RABBITMQ_PASSWORD": "not-the-password"}
REFUSED = (f"{MANAGEMENT_URL}: error: {MANAGEMENT_URL}/api/overview: the broker refused user "
           f"{USER!r} (HTTP 401: Login failed): check the user and the password in "
           "$RABBITMQ_PASSWORD [rabbitmq.fetch]\n")


@pytest.mark.parametrize("command", ["edges", "fetch"])
def test_a_wrong_password_is_one_message_that_says_to_check_it(command: str, tmp_path: Path):
    snapshot = tmp_path / "snapshot.json"
    output = ["-o", str(snapshot)] if command == "fetch" else []
    completed = sphinxext_rabbit(command, MANAGEMENT_URL, *output, env=WRONG_PASSWORD)
    assert (completed.returncode, completed.stdout, completed.stderr) == (1, "", REFUSED)
    assert "not-the-password" not in completed.stderr
    assert not snapshot.exists()


def test_a_wrong_password_for_one_vhost_is_still_one_message(declared_topology: dict[str, Any]):
    vhost = declared_topology["vhosts"][0]["name"]
    completed = sphinxext_rabbit("edges", MANAGEMENT_URL, "--vhost", vhost, env=WRONG_PASSWORD)
    assert (completed.returncode, completed.stderr) == (1, REFUSED)


def test_a_port_nobody_listens_on_is_one_message():
    url = f"http://127.0.0.1:{free_port()}"
    completed = sphinxext_rabbit("edges", url)
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == (
        f"{url}: error: {url}/api/overview: connection refused by {url[7:]}: is the broker "
        "running? is the management plugin enabled on that port? [rabbitmq.fetch]\n")


def test_a_server_that_never_answers_is_one_message_after_the_timeout():
    with socket.socket() as silent:
        # the kernel accepts the connection; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        completed = sphinxext_rabbit("edges", url, "--timeout", "0.5")
        assert time.monotonic() - started < 10
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == (
        f"{url}: error: {url}/api/overview: no answer from {url[7:]} within 0.5 s: is that "
        "the management port, and can this machine reach it? (a slow broker needs a longer "
        "timeout) [rabbitmq.fetch]\n")


@pytest.mark.parametrize("command", ["edges", "fetch", "diff"])
def test_a_url_with_credentials_is_refused_without_echoing_them(command: str, tmp_path: Path):
    url = MANAGEMENT_URL.replace("://", f"://{USER}:{PASSWORD}@")
    snapshot = tmp_path / "snapshot.json"
    args = {"edges": [url], "fetch": [url, "-o", str(snapshot)],
            "diff": [url, str(FIXTURES / "overlay" / "base.json")]}[command]
    completed = sphinxext_rabbit(command, *args)  # which fails on any echo of PASSWORD
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == (
        f"sphinxext-rabbit: {MANAGEMENT_URL}: a URL here must not hold a user or password "
        "(anyone who reads it reads them); give the user in RABBITMQ_USER and the password "
        "in RABBITMQ_PASSWORD, or name a broker configured with them\n")
    assert not snapshot.exists()


def test_a_broker_named_in_conf_py(vhost: str, tmp_path: Path):
    conf = tmp_path / "conf.py"
    conf.write_text(f"rabbitmq_topology_brokers = {{'local': {{'url': {MANAGEMENT_URL!r}, "
                    f"'user': {USER!r}, 'password_env': 'MY_PW'}}}}\n", encoding="utf-8")
    # no RABBITMQ_* variable: conf.py names the user and the variable with the password
    assert edges("local", vhost, "--conf", str(conf), env={"MY_PW": PASSWORD}) == edges(
        MANAGEMENT_URL, vhost)
