"""fetch_api against the live test broker, and every way of reaching a broker that fails."""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sphinxext_rabbit.output.definitions import to_definitions
from sphinxext_rabbit.sources import Broker as SourceBroker
from sphinxext_rabbit.sources import fetch, read_live
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.sources.fetch import ENDPOINTS, Connection, FetchError, fetch_api
from sphinxext_rabbit.topology.select import Selection, views
from tests.broker import Broker, q, unique_prefix

#: given wherever a password is needed and must not come back in a message
HIDDEN_PASSWORD = "pw-NEVER-shown-4711"
#: queues in one vhost: more than one page of the API's largest page size
CROWD = 510

EXCHANGE_KEYS = ("vhost", "name", "type", "durable", "auto_delete", "internal", "arguments")
QUEUE_KEYS = ("vhost", "name", "durable", "auto_delete", "arguments")
BINDING_KEYS = ("vhost", "source", "destination", "destination_type", "routing_key",
                "arguments")
POLICY_KEYS = ("vhost", "name", "pattern", "apply-to", "definition", "priority")
PARAMETER_KEYS = ("vhost", "component", "name", "value")


def rows(items: list[dict[str, Any]], keys: tuple[str, ...]) -> set[str]:
    """Items reduced to some keys, comparable as a set."""
    return {json.dumps([item.get(key) for key in keys], sort_keys=True) for item in items}


def operator_policies(definitions: dict[str, Any]) -> list[dict[str, Any]]:
    """The operator policies of an export (parameters), as the API lists them."""
    return [{"vhost": p["vhost"], "name": p["name"], **p["value"]}
            for p in definitions["parameters"] if p["component"] == "operator_policy"]


def other_parameters(definitions: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in definitions["parameters"] if p["component"] != "operator_policy"]


def admin(broker: Broker, url: str | None = None) -> Connection:
    return Connection(url or broker.url, broker.user, broker.password)


def failure(connection: Connection, vhost: str | None = None) -> str:
    """The message fetch_api fails with, checked to hold no password anywhere."""
    with pytest.raises(FetchError) as caught:
        fetch_api(connection, vhost)
    error = caught.value
    shown = "".join(traceback.format_exception(error)) + repr(error) + repr(connection)
    assert error.__cause__ is None and error.__context__ is None
    if connection.password:
        token = base64.b64encode(f"{connection.user}:{connection.password}".encode()).decode()
        assert connection.password not in shown
        assert token not in shown
    return str(error)


# -- reading the declared topology --------------------------------------------------------


def test_every_declared_entity_is_read(broker: Broker, declared_topology: dict[str, Any]):
    bodies, warnings = fetch_api(admin(broker))
    assert warnings == []
    assert list(bodies) == list(ENDPOINTS)
    assert bodies["overview"]["rabbitmq_version"].startswith("3.")
    assert {v["name"] for v in declared_topology["vhosts"]} <= {v["name"] for v in bodies["vhosts"]}
    assert rows(declared_topology["exchanges"], EXCHANGE_KEYS) <= rows(bodies["exchanges"],
                                                                       EXCHANGE_KEYS)
    assert rows(declared_topology["queues"], QUEUE_KEYS) <= rows(bodies["queues"], QUEUE_KEYS)
    assert rows(declared_topology["bindings"], BINDING_KEYS) <= rows(bodies["bindings"],
                                                                     BINDING_KEYS)
    assert rows(declared_topology["policies"], POLICY_KEYS) <= rows(bodies["policies"],
                                                                    POLICY_KEYS)
    assert rows(operator_policies(declared_topology), POLICY_KEYS) <= rows(
        bodies["operator-policies"], POLICY_KEYS)
    assert rows(other_parameters(declared_topology), PARAMETER_KEYS) <= rows(
        bodies["parameters"], PARAMETER_KEYS)


def test_queues_keep_the_fields_the_topology_needs(broker: Broker,
                                                   declared_topology: dict[str, Any]):
    vhost = declared_topology["vhosts"][0]["name"]
    bodies, _ = fetch_api(admin(broker), vhost)
    types = {queue["name"]: queue["type"] for queue in bodies["queues"]}
    assert types["invoices"] == "quorum"
    assert types["payments"] == "classic"
    assert types["audit.log"] == "stream"
    assert all({"exclusive", "type"} <= set(queue) for queue in bodies["queues"])
    internal = {e["name"]: e["internal"] for e in bodies["exchanges"]}
    assert internal["billing.internal"] is True
    assert internal["billing"] is False


@pytest.mark.parametrize("given_in", ["url", "argument"])
@pytest.mark.parametrize("index", [0, 1], ids=["slash-in-name", "non-ascii-name"])
def test_one_vhost_limits_every_list(broker: Broker, declared_topology: dict[str, Any],
                                     given_in: str, index: int):
    vhost = declared_topology["vhosts"][index]["name"]
    if given_in == "url":
        bodies, warnings = fetch_api(admin(broker, f"{broker.url}/{q(vhost)}"))
    else:
        bodies, warnings = fetch_api(admin(broker), vhost)
    assert warnings == []
    assert [v["name"] for v in bodies["vhosts"]] == [vhost]
    for endpoint in ENDPOINTS[2:]:
        assert {item["vhost"] for item in bodies[endpoint]} <= {vhost}, endpoint
    mine = {key: [item for item in items if item["vhost"] == vhost]
            for key, items in declared_topology.items() if key != "vhosts"}
    assert rows(mine["exchanges"], EXCHANGE_KEYS) <= rows(bodies["exchanges"], EXCHANGE_KEYS)
    assert rows(mine["queues"], QUEUE_KEYS) == rows(bodies["queues"], QUEUE_KEYS)
    assert rows(mine["bindings"], BINDING_KEYS) <= rows(bodies["bindings"], BINDING_KEYS)
    assert rows(mine["policies"], POLICY_KEYS) == rows(bodies["policies"], POLICY_KEYS)
    assert rows(other_parameters(mine), PARAMETER_KEYS) <= rows(bodies["parameters"],
                                                                PARAMETER_KEYS)


def test_the_default_vhost_is_read_from_a_url_ending_in_2f(broker: Broker):
    bodies, _ = fetch_api(admin(broker, f"{broker.url}/%2F"))
    assert [v["name"] for v in bodies["vhosts"]] == ["/"]
    assert {"amq.direct", "amq.topic"} <= {e["name"] for e in bodies["exchanges"]}
    assert {e["vhost"] for e in bodies["exchanges"]} == {"/"}


def test_a_url_and_an_argument_naming_other_vhosts_are_refused(broker: Broker):
    assert failure(admin(broker, f"{broker.url}/%2F"), "orders") == (
        f"{broker.url}: the URL names vhost '/' but vhost 'orders' was asked for: "
        "give one of them")


# -- paging --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded_vhost(broker: Broker) -> Iterator[str]:
    """A vhost with CROWD queues, imported in one request (one PUT each takes seconds)."""
    vhost = f"{unique_prefix()}crowd"
    broker.request("PUT", f"vhosts/{q(vhost)}", {})
    queues = [{"name": f"q{i:04}", "durable": True, "auto_delete": False, "arguments": {}}
              for i in range(CROWD)]
    broker.request("POST", f"definitions/{q(vhost)}", {"queues": queues})
    yield vhost
    broker.delete(f"vhosts/{q(vhost)}")


def test_every_page_of_a_long_list_is_read(broker: Broker, crowded_vhost: str):
    bodies, _ = fetch_api(admin(broker), crowded_vhost)
    assert sorted(queue["name"] for queue in bodies["queues"]) == [
        f"q{i:04}" for i in range(CROWD)]


def test_small_pages_read_the_same_lists(broker: Broker, declared_topology: dict[str, Any],
                                         monkeypatch: pytest.MonkeyPatch):
    vhost = declared_topology["vhosts"][0]["name"]
    whole, _ = fetch_api(admin(broker), vhost)
    monkeypatch.setattr(fetch, "PAGE_SIZE", 4)
    paged, _ = fetch_api(admin(broker), vhost)
    for endpoint, keys in (("exchanges", EXCHANGE_KEYS), ("queues", QUEUE_KEYS)):
        assert len(paged[endpoint]) > 2 * 4, endpoint  # three pages or more
        names = [item["name"] for item in paged[endpoint]]
        assert len(set(names)) == len(names)
        assert rows(paged[endpoint], keys) == rows(whole[endpoint], keys)


def test_queues_carry_their_message_and_consumer_counts(broker: Broker, crowded_vhost: str):
    for _ in range(3):
        broker.request("POST", f"exchanges/{q(crowded_vhost)}/amq.default/publish", {
            "properties": {}, "routing_key": "q0007", "payload": "x",
            "payload_encoding": "string"})
    deadline = time.monotonic() + 20  # the broker publishes queue figures every second
    while True:
        bodies, _ = fetch_api(admin(broker), crowded_vhost)
        queue = next(queue for queue in bodies["queues"] if queue["name"] == "q0007")
        # messages and consumers may arrive in different rounds of figures
        if (queue.get("messages"), queue.get("consumers")) == (3, 0) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (queue.get("messages"), queue.get("consumers")) == (3, 0)


# -- users with fewer rights -----------------------------------------------------------------


@pytest.fixture(scope="module")
def monitoring_user(broker: Broker, declared_topology: dict[str, Any]) -> Iterator[str]:
    """A user tagged monitoring, with permissions on the first declared vhost only."""
    name = f"{unique_prefix()}monitor"
    broker.request("PUT", f"users/{q(name)}", {"password": HIDDEN_PASSWORD,
                                               "tags": "monitoring"})
    vhost = declared_topology["vhosts"][0]["name"]
    broker.request("PUT", f"permissions/{q(vhost)}/{q(name)}",
                   {"configure": ".*", "write": ".*", "read": ".*"})
    yield name
    broker.delete(f"users/{q(name)}")


def test_a_monitoring_user_is_warned_that_shovels_and_federation_are_missing(
        broker: Broker, declared_topology: dict[str, Any], monitoring_user: str):
    vhost = declared_topology["vhosts"][0]["name"]
    bodies, warnings = fetch_api(Connection(broker.url, monitoring_user, HIDDEN_PASSWORD),
                                 vhost)
    assert warnings == [
        f"{broker.url}/api/parameters: the broker refused user {monitoring_user!r} "
        "(HTTP 401: User not authorised to access object): check the tags and permissions "
        f"of user {monitoring_user!r}; shovels and federation upstreams are not shown "
        "(the policymaker or administrator tag allows reading them)"]
    assert bodies["parameters"] is None  # unknown: not read, rather than empty
    assert "billing" in {exchange["name"] for exchange in bodies["exchanges"]}
    assert not any(HIDDEN_PASSWORD in warning for warning in warnings)


def test_the_whole_broker_for_a_user_who_may_read_one_vhost_is_that_vhost(
        broker: Broker, declared_topology: dict[str, Any], monitoring_user: str, monkeypatch):
    readable, other = (v["name"] for v in declared_topology["vhosts"])
    bodies, _warnings = fetch_api(Connection(broker.url, monitoring_user, HIDDEN_PASSWORD))
    vhosts = {item["vhost"] for key in ("exchanges", "queues") for item in bodies[key]}
    assert readable in vhosts and other not in vhosts
    monkeypatch.setenv("MONITOR_PASSWORD", HIDDEN_PASSWORD)
    topology = read_live(SourceBroker("m", broker.url, monitoring_user, "MONITOR_PASSWORD"))
    # the refused parameters are unknown, not missing: no "not declared" for the upstream
    _built, problems = views(topology, Selection(vhosts=[readable]))
    assert [p.code for p in problems] == ["fetch"]
    _built, problems = views(topology, Selection(vhosts=[other]))
    assert [p.code for p in problems] == ["fetch", "vhost"]
    # and so they stay in a snapshot of it
    snapshot = parse(json.dumps(to_definitions(topology)))
    _built, problems = views(snapshot, Selection(vhosts=[readable]))
    assert problems == []


def test_a_user_without_a_management_tag(broker: Broker):
    name = f"{unique_prefix()}no-tags"
    broker.request("PUT", f"users/{q(name)}", {"password": HIDDEN_PASSWORD, "tags": ""})
    try:
        message = failure(Connection(broker.url, name, HIDDEN_PASSWORD))
    finally:
        broker.delete(f"users/{q(name)}")
    assert message == (f"{broker.url}/api/overview: the broker refused user {name!r} "
                       f"(HTTP 401: Not management user): give user {name!r} the monitoring "
                       "tag (or management)")


def test_a_vhost_the_user_may_not_read_is_an_error(
        broker: Broker, declared_topology: dict[str, Any], monitoring_user: str):
    vhost = declared_topology["vhosts"][1]["name"]
    assert failure(Connection(broker.url, monitoring_user, HIDDEN_PASSWORD), vhost) == (
        f"{broker.url}/api/exchanges/{q(vhost)}: the broker refused user "
        f"{monitoring_user!r} (HTTP 401: User not authorised to access virtual host): "
        f"give user {monitoring_user!r} permissions on that vhost")


# -- failures ------------------------------------------------------------------------------


def test_a_wrong_password(broker: Broker):
    assert failure(Connection(broker.url, broker.user, HIDDEN_PASSWORD)) == (
        f"{broker.url}/api/overview: the broker refused user 'sphinx-test' "
        "(HTTP 401: Login failed): check the user and the password")


def test_no_user(broker: Broker):
    assert failure(Connection(broker.url)) == (
        f"{broker.url}/api/overview: the broker asks who is calling (HTTP 401): "
        "give a user and a password")


def test_credentials_in_the_url_are_used_and_never_shown(broker: Broker):
    host = broker.url.removeprefix("http://")
    right = Connection(f"http://{broker.user}:{broker.password}@{host}")
    assert right.url == broker.url
    assert broker.password not in repr(right)
    assert fetch_api(right)[0]["overview"]["rabbitmq_version"]
    wrong = Connection(f"http://{broker.user}:{HIDDEN_PASSWORD}@{host}/%2F")
    assert failure(wrong) == (
        f"{broker.url}/api/overview: the broker refused user 'sphinx-test' "
        "(HTTP 401: Login failed): check the user and the password")


def test_a_vhost_that_does_not_exist(broker: Broker):
    message = failure(admin(broker), "no-such-vhost")
    assert message.startswith(
        f"vhost 'no-such-vhost' does not exist on {broker.url} (its vhosts: '/'")


def test_a_url_without_the_management_api(broker: Broker):
    assert failure(admin(broker, f"{broker.url}/rabbitmq/billing/eu")) == (
        f"{broker.url}/rabbitmq/billing/eu/api/overview: no management API there "
        "(HTTP 404): is the management plugin enabled (rabbitmq-plugins enable "
        "rabbitmq_management), and does the URL hold its path prefix "
        "(management.path_prefix), if one is set? A vhost at the end of the URL is "
        "percent-encoded (%2F for /)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_port_nobody_listens_on():
    port = free_port()
    assert failure(Connection(f"http://127.0.0.1:{port}", "guest", HIDDEN_PASSWORD)) == (
        f"http://127.0.0.1:{port}/api/overview: connection refused by 127.0.0.1:{port}: "
        "is the broker running? is the management plugin enabled on that port?")


def test_the_amqp_port_instead_of_the_management_port(broker: Broker):
    assert failure(Connection("http://127.0.0.1:5673", "guest", HIDDEN_PASSWORD)) == (
        "http://127.0.0.1:5673/api/overview: 127.0.0.1:5673 did not answer HTTP: is it the "
        "management port (15672), not AMQP (5672)? write https:// if it serves TLS")


def test_an_unknown_host():
    assert failure(Connection("http://nonexistent.invalid:15672", "guest",
                              HIDDEN_PASSWORD)) == (
        "http://nonexistent.invalid:15672/api/overview: unknown host 'nonexistent.invalid': "
        "check the host name in the URL")


def test_a_server_that_never_answers():
    with socket.socket() as silent:
        # the kernel accepts the connection; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        message = failure(Connection(f"http://127.0.0.1:{port}", "guest", HIDDEN_PASSWORD,
                                     timeout=0.3))
        assert time.monotonic() - started < 5
    assert message == (
        f"http://127.0.0.1:{port}/api/overview: no answer from 127.0.0.1:{port} within "
        "0.3 s: is that the management port, and can this machine reach it? (a slow "
        "broker needs a longer timeout)")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:15672", "127.0.0.1:15672",
                                 "http://127.0.0.1:port"])
def test_an_address_that_is_not_a_management_url(url: str):
    assert failure(Connection(url, "guest", HIDDEN_PASSWORD)) == (
        f"{url!r} is not a management API address: write http://HOST:15672 or "
        "https://HOST:15671, with the path prefix if the API has one, and a "
        "percent-encoded vhost to read one vhost")


# -- servers that are not RabbitMQ ----------------------------------------------------------


class NotRabbitmq(http.server.BaseHTTPRequestHandler):
    """A login page, the way a proxy in front of the broker may answer, or a redirect."""

    def do_GET(self) -> None:
        if self.path.startswith("/sso/"):
            self.send_response(302)
            self.send_header("Location",
                             f"https://admin:{HIDDEN_PASSWORD}@sso.example.invalid/login")
            self.end_headers()
            return
        page = b"<html><body><form>Log in</form></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        """Quiet: the tests read messages, not the server's log."""


def serve(context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotRabbitmq)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def html_port() -> Iterator[int]:
    yield from serve()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: it makes the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(scope="module")
def tls_port(certificate: tuple[Path, Path]) -> Iterator[int]:
    yield from serve(server_context(certificate))


@pytest.fixture(scope="module")
def client_certificate_port(certificate: tuple[Path, Path]) -> Iterator[int]:
    """A TLS server that wants a client certificate, the one it has itself."""
    context = server_context(certificate)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(certificate[0])
    yield from serve(context)


def not_json(url: str) -> str:
    return (f"{url}/api/overview: the answer is not the management API's JSON (Content-Type "
            "text/html; charset=utf-8): is the URL the management API's address, not a "
            "proxy or a login page?")


def test_a_page_that_is_not_json(html_port: int):
    url = f"http://127.0.0.1:{html_port}"
    assert failure(Connection(url, "guest", HIDDEN_PASSWORD)) == not_json(url)


def test_a_redirect_is_shown_not_followed(html_port: int):
    url = f"http://127.0.0.1:{html_port}/sso"
    assert failure(Connection(url, "guest", HIDDEN_PASSWORD)) == (
        f"{url}/api/overview: redirects to 'https://sso.example.invalid/login': give that "
        "address as the URL")


def test_a_certificate_nobody_vouches_for(tls_port: int):
    message = failure(Connection(f"https://127.0.0.1:{tls_port}", "guest", HIDDEN_PASSWORD))
    assert message.startswith(f"https://127.0.0.1:{tls_port}/api/overview: the broker's TLS "
                              "certificate is not trusted (self")
    assert message.endswith("): give the CA certificate that signed it as cafile, or turn "
                            "verify off for a test broker")


def test_a_cafile_or_no_verification_gets_through_tls(tls_port: int,
                                                      certificate: tuple[Path, Path]):
    url = f"https://127.0.0.1:{tls_port}"
    trusted = Connection(url, "guest", HIDDEN_PASSWORD, cafile=str(certificate[0]))
    unverified = Connection(url, "guest", HIDDEN_PASSWORD, verify=False)
    # past the handshake: what fails now is the page, which is not the API
    assert failure(trusted) == not_json(url)
    assert failure(unverified) == not_json(url)


def test_a_client_certificate_is_presented(client_certificate_port: int,
                                           certificate: tuple[Path, Path]):
    url = f"https://127.0.0.1:{client_certificate_port}"
    cert, key = (str(path) for path in certificate)
    with_certificate = Connection(url, "guest", HIDDEN_PASSWORD, cafile=cert,
                                  certfile=cert, keyfile=key)
    assert failure(with_certificate) == not_json(url)
    message = failure(Connection(url, "guest", HIDDEN_PASSWORD, cafile=cert))
    assert message.startswith(f"{url}/api/overview: TLS handshake failed (")
    # (TLS 1.3 reports the refusal as an alert or as the connection closing, by timing)
    assert message.endswith("check cafile, certfile and keyfile")


def test_https_to_a_plain_http_port(broker: Broker):
    message = failure(Connection("https://127.0.0.1:15673", "guest", HIDDEN_PASSWORD))
    assert message.startswith("https://127.0.0.1:15673/api/overview: TLS handshake failed (")
    assert message.endswith("): does 127.0.0.1:15673 serve HTTPS (else write http://)? "
                            "check cafile, certfile and keyfile")


def test_a_cafile_that_cannot_be_read():
    message = failure(Connection("https://127.0.0.1:15671", "guest", HIDDEN_PASSWORD,
                                 cafile="/nonexistent/ca.pem"))
    assert message.startswith(
        "cannot use the TLS files (cafile '/nonexistent/ca.pem', certfile None, keyfile None) "
        "for https://127.0.0.1:15671: ")

