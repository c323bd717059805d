"""A live RabbitMQ for the tests: the ``broker`` fixture, and topologies declared on it.

``broker`` uses the node of ``scripts/rabbitmq.sh`` when its management API answers, else
starts it (and stops it when the session ends). Where it cannot be started, tests that
need it fail when ``CI`` is set and are skipped otherwise. ``declared_topology`` declares
:func:`shared_topology` on it once per session, in vhosts of its own.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.helpers import ROOT

# scripts/rabbitmq.sh sets up the same ports and user: change both together
MANAGEMENT_URL = "http://127.0.0.1:15673"
AMQP_PORT = 5673
USER = "sphinx-test"
PASSWORD = "sphinx-test-password"
SCRIPT = ROOT / "scripts" / "rabbitmq.sh"
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
#: in the URIs of the declared shovel and federation upstream; must never be shown
SHOVEL_PASSWORD = "s3cret-SHOVEL"
FEDERATION_PASSWORD = "s3cret-FEDERATION"


class BrokerError(Exception):
    """The management API refused a declaration; the message holds its answer."""


@dataclass(frozen=True)
class Broker:
    """A management API and an administrator's credentials."""

    url: str
    user: str
    password: str = field(repr=False)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/api/<path>`` (``path`` percent-encoded); the decoded JSON answer or None."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            with error:
                answer = error.read().decode(errors="replace")
            raise BrokerError(f"{method} /api/{path}: HTTP {error.code}: {answer}") from None
        return json.loads(text) if text else None

    def answers(self) -> bool:
        try:
            self.request("GET", "overview")
        except (OSError, BrokerError, ValueError):
            return False
        return True

    def delete(self, path: str) -> None:
        """DELETE, where a thing already gone is fine."""
        try:
            self.request("DELETE", path)
        except BrokerError as error:
            if "HTTP 404" not in str(error):
                raise


def q(name: str) -> str:
    """A name as one segment of an API path (``/`` is ``%2F``)."""
    return quote(name, safe="")


def declare(broker: Broker, definitions: dict[str, Any]) -> None:
    """Declare a definitions export's vhosts and entities one by one through the API.

    Parameters with component ``operator_policy`` (how exports hold operator policies)
    go to ``/api/operator-policies``. Declaring the same document again changes nothing.
    """
    for vhost in definitions.get("vhosts", []):
        broker.request("PUT", f"vhosts/{q(vhost['name'])}", {})
    for exchange in definitions.get("exchanges", []):
        broker.request("PUT", f"exchanges/{q(exchange['vhost'])}/{q(exchange['name'])}", {
            key: exchange[key]
            for key in ("type", "durable", "auto_delete", "internal", "arguments")})
    for queue in definitions.get("queues", []):
        broker.request("PUT", f"queues/{q(queue['vhost'])}/{q(queue['name'])}", {
            key: queue[key] for key in ("durable", "auto_delete", "arguments")})
    for binding in definitions.get("bindings", []):
        kind = "q" if binding["destination_type"] == "queue" else "e"
        broker.request(
            "POST", f"bindings/{q(binding['vhost'])}/e/{q(binding['source'])}"
                    f"/{kind}/{q(binding['destination'])}",
            {"routing_key": binding["routing_key"], "arguments": binding["arguments"]})
    for policy in definitions.get("policies", []):
        broker.request("PUT", f"policies/{q(policy['vhost'])}/{q(policy['name'])}", {
            key: policy[key] for key in ("pattern", "apply-to", "definition", "priority")})
    for parameter in definitions.get("parameters", []):
        vhost, name = q(parameter["vhost"]), q(parameter["name"])
        if parameter["component"] == "operator_policy":
            broker.request("PUT", f"operator-policies/{vhost}/{name}", parameter["value"])
        else:
            broker.request("PUT", f"parameters/{q(parameter['component'])}/{vhost}/{name}",
                           {"value": parameter["value"]})


def delete_vhosts(broker: Broker, definitions: dict[str, Any]) -> None:
    """Delete a document's vhosts, and with them everything declared in them."""
    for vhost in definitions.get("vhosts", []):
        broker.delete(f"vhosts/{q(vhost['name'])}")


def _exchange(vhost: str, name: str, type_: str, *, internal: bool = False,
              arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "type": type_, "durable": True,
            "auto_delete": False, "internal": internal, "arguments": arguments or {}}


def _queue(vhost: str, name: str, queue_type: str,
           arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "durable": True, "auto_delete": False,
            "arguments": {"x-queue-type": queue_type, **(arguments or {})}}


def _binding(vhost: str, source: str, destination: str, routing_key: str = "", *,
             to: str = "queue", arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"vhost": vhost, "source": source, "destination": destination,
            "destination_type": to, "routing_key": routing_key, "arguments": arguments or {}}


def _policy(vhost: str, name: str, pattern: str, apply_to: str,
            definition: dict[str, Any], priority: int = 0) -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "pattern": pattern, "apply-to": apply_to,
            "definition": definition, "priority": priority}


def shared_topology(prefix: str) -> dict[str, Any]:
    """The shared test topology, as a full-cluster definitions export (what the broker
    would export of it, less its defaults); its two vhosts' names start with ``prefix``.

    ``PREFIXbilling/eu`` (a ``/`` in the name): exchanges of types topic (with an
    alternate exchange), fanout, direct, headers, x-consistent-hash and an internal one;
    quorum, classic and stream queues; routing-key, headers-argument and
    exchange-to-exchange bindings; dead-lettering by queue argument (``invoices``) and by
    policy (``payments``); an operator policy; a shovel whose URIs hold SHOVEL_PASSWORD.
    ``PREFIXZürich-é``: non-ASCII names, and an exchange federated by policy from an
    upstream whose URI holds FEDERATION_PASSWORD.
    """
    billing, zurich = f"{prefix}billing/eu", f"{prefix}Zürich-é"
    return {
        "vhosts": [{"name": billing}, {"name": zurich}],
        "exchanges": [
            _exchange(billing, "billing", "topic",
                      arguments={"alternate-exchange": "billing.unrouted"}),
            _exchange(billing, "billing.unrouted", "fanout"),
            _exchange(billing, "billing.audit", "fanout"),
            _exchange(billing, "billing.dlx", "direct"),
            _exchange(billing, "billing.headers", "headers"),
            _exchange(billing, "billing.shards", "x-consistent-hash"),
            _exchange(billing, "billing.internal", "topic", internal=True),
            _exchange(zurich, "bestellungen", "topic"),
            _exchange(zurich, "commandes-é", "direct"),
        ],
        "queues": [
            _queue(billing, "invoices", "quorum",
                   {"x-dead-letter-exchange": "billing.dlx",
                    "x-dead-letter-routing-key": "invoices.dead"}),
            _queue(billing, "invoices.dead", "classic"),
            _queue(billing, "payments", "classic"),
            _queue(billing, "payments.dead", "classic"),
            _queue(billing, "audit.log", "stream"),
            _queue(billing, "unrouted", "classic"),
            _queue(billing, "reports.eu", "classic"),
            _queue(billing, "shard.1", "classic"),
            _queue(billing, "shard.2", "classic"),
            _queue(billing, "internal.events", "quorum"),
            _queue(zurich, "bestellungen.zürich", "quorum"),
            _queue(zurich, "commandes-é.traitées", "classic"),
        ],
        "bindings": [
            _binding(billing, "billing", "invoices", "invoice.#"),
            _binding(billing, "billing", "payments", "payment.*"),
            _binding(billing, "billing", "billing.audit", "#", to="exchange"),
            _binding(billing, "billing", "billing.internal", "internal.#", to="exchange"),
            _binding(billing, "billing.audit", "audit.log"),
            _binding(billing, "billing.unrouted", "unrouted"),
            _binding(billing, "billing.dlx", "invoices.dead", "invoices.dead"),
            _binding(billing, "billing.dlx", "payments.dead", "payments"),
            _binding(billing, "billing.headers", "reports.eu",
                     arguments={"x-match": "all", "region": "eu", "format": "pdf"}),
            _binding(billing, "billing.shards", "shard.1", "1"),
            _binding(billing, "billing.shards", "shard.2", "2"),
            _binding(billing, "billing.internal", "internal.events", "internal.#"),
            _binding(zurich, "bestellungen", "bestellungen.zürich", "bestellung.#"),
            _binding(zurich, "bestellungen", "commandes-é", "commande.*", to="exchange"),
            _binding(zurich, "commandes-é", "commandes-é.traitées", "traitée"),
        ],
        "policies": [
            _policy(billing, "payments-dlx", "^payments$", "queues",
                    {"dead-letter-exchange": "billing.dlx"}, priority=1),
            _policy(zurich, "federate-bestellungen", "^bestellungen$", "exchanges",
                    {"federation-upstream": "zentrale"}),
        ],
        "parameters": [
            {"vhost": billing, "component": "operator_policy", "name": "queue-limits",
             "value": {"pattern": ".", "apply-to": "queues", "priority": 0,
                       "definition": {"max-length": 100000}}},
            # both ends need a login the broker does not know: the shovel just retries
            {"vhost": billing, "component": "shovel", "name": "invoices-archive",
             "value": {
                 "src-protocol": "amqp091",
                 "src-uri": f"amqp://shovel-user:{SHOVEL_PASSWORD}@127.0.0.1:{AMQP_PORT}"
                            f"/{q(billing)}",
                 "src-queue": "invoices.dead",
                 "dest-protocol": "amqp091",
                 "dest-uri": f"amqp://shovel-user:{SHOVEL_PASSWORD}"
                             "@archive.example.invalid:5672/archive",
                 "dest-queue": "invoices.archive",
                 "reconnect-delay": 30}},
            {"vhost": zurich, "component": "federation-upstream", "name": "zentrale",
             "value": {
                 "uri": f"amqp://federation-user:{FEDERATION_PASSWORD}"
                        "@upstream.example.invalid:5672/%2F",
                 "exchange": "bestellungen",
                 "max-hops": 1,
                 "reconnect-delay": 30}},
        ],
    }


def declare_shared_topology(broker: Broker, prefix: str) -> dict[str, Any]:
    """Declare :func:`shared_topology` and return it: what the tests should find."""
    definitions = shared_topology(prefix)
    declare(broker, definitions)
    return definitions


def unique_prefix() -> str:
    """A vhost-name prefix of this session: runs that share the broker stay apart."""
    return f"t{uuid.uuid4().hex[:6]}-"


def _start_broker() -> str | None:
    """Start the test node; None when it answers, else why it does not."""
    if not SERVER.exists():
        return f"RabbitMQ is not installed ({SERVER} is missing): run 'bash scripts/setup.sh'"
    completed = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True,
                               text=True, timeout=300, check=False)
    if completed.returncode != 0:
        return f"'bash scripts/rabbitmq.sh start' failed:\n{completed.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """The test node's management API, with an administrator."""
    node = Broker(MANAGEMENT_URL, USER, PASSWORD)
    if node.answers():
        yield node
        return
    problem = _start_broker()
    if problem is not None:
        message = f"no RabbitMQ for the tests at {MANAGEMENT_URL}: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(f"{message}\n(start one with: bash scripts/rabbitmq.sh start)")
    try:
        yield node
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=120,
                       check=False)


@pytest.fixture(scope="session")
def declared_topology(broker: Broker) -> Iterator[dict[str, Any]]:
    """:func:`shared_topology`, declared on the broker for this session."""
    definitions = declare_shared_topology(broker, unique_prefix())
    yield definitions
    delete_vhosts(broker, definitions)
