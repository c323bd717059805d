"""No secret reaches any output, whatever characters it holds and wherever a source puts it.

Every generated secret is made of arbitrary pieces (whitespace, "/", "#", "@", "?", ":",
non-ASCII...) each followed by a marker, ``ZQX<n>J``: plain ASCII, which no output escapes
or splits, so a leak of any part of a secret that spans a piece shows as a marker. Each
test asserts that no marker and no whole secret appears in what a user can see or keep.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.cli import main
from sphinxext_rabbit.output.definitions import write_definitions
from sphinxext_rabbit.output.dot import to_dot
from sphinxext_rabbit.output.tables import (
    bindings_table,
    exchanges_table,
    policies_table,
    queues_table,
)
from sphinxext_rabbit.output.text import to_text
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.sources.k8s import read_manifests
from sphinxext_rabbit.sources.management import read_api, read_api_text
from sphinxext_rabbit.sources.uris import REDACTED, is_secret_key, redact, redact_value
from sphinxext_rabbit.topology.endpoints import Endpoint
from sphinxext_rabbit.topology.select import Selection, views
from tests.helpers import build_output, run_dot, shown_type, svg_text

MARKER = re.compile(r"ZQX\d+J")
#: characters that broke the old pattern, or that a parser may take for a delimiter
AWKWARD = st.sampled_from([" ", "\t", "\u00a0", "\u3000", "/", "#", "@", "?", ":", "%", "&",
                           "=", "\n", "\\", '"', "'", "é", "密", "🐇", "\u202e", "\x00"])
PIECE = st.lists(AWKWARD | st.text(max_size=3), max_size=4).map("".join).filter(
    lambda piece: "ZQX" not in piece)
HOSTS = st.sampled_from(["remote.example", "Upstream-EU.example", "10.1.2.3", "[2001:db8::7]",
                         "localhost", ""])
PATHS = st.sampled_from(["", "/", "/%2F", "/billing", "/Z%C3%BCrich", "?heartbeat=5",
                         "/orders?heartbeat=5&connection_timeout=9"])
SCHEMES = st.sampled_from(["amqp", "amqps", "AMQP", "https"])
#: every spelling of a key that names a secret: the words, with and without x-, in any case
SECRET_WORDS = ["pass", "password", "passwd", "pwd", "db-password", "secret", "client_secret",
                "token", "access-token", "credential", "credentials", "api-key", "apikey",
                "api_key", "auth", "authorization", "oauth", "private-key", "private_key",
                "privatekey"]


@st.composite
def case_of(draw, text: st.SearchStrategy[str]) -> str:
    """A text in upper, lower, title or mixed case."""
    word = draw(text)
    style = draw(st.sampled_from(["lower", "upper", "title", "mixed"]))
    if style == "mixed":
        flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        return "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))
    return getattr(word, style)()


SECRET_KEYS = case_of(st.tuples(st.sampled_from(["", "x-", "X-"]),
                                st.sampled_from(SECRET_WORDS)).map("".join))


class Secrets:
    """Hands out secrets, each with markers of its own, and remembers them."""

    def __init__(self, draw) -> None:
        self.draw = draw
        self.made: list[str] = []

    def text(self) -> str:
        pieces = self.draw(st.lists(PIECE, min_size=1, max_size=3))
        secret = "".join(f"{piece}ZQX{len(self.made) * 4 + n}J"
                         for n, piece in enumerate(pieces))
        self.made.append(secret)
        return secret

    def uri(self) -> str:
        """A URI with user info in one of the forms brokers and files hold."""
        draw = self.draw
        scheme, host, path = draw(SCHEMES), draw(HOSTS), draw(PATHS)
        port = draw(st.sampled_from(["", ":5672", ":5671", ":15672"]))
        user = draw(st.sampled_from(["", "shovel", "fed-user", "ZQX_user"]))
        if user == "ZQX_user":
            user = self.text()  # a user name can be as odd as a password
        password = self.text()
        form = draw(st.sampled_from(["user-password", "password", "user", "no-slashes",
                                     "prose", "query"]))
        if form == "user-password":
            return f"{scheme}://{user}:{password}@{host}{port}{path}"
        if form == "password":
            return f"{scheme}://:{password}@{host}{port}{path}"
        if form == "user":
            return f"{scheme}://{password}@{host}{port}{path}"
        if form == "no-slashes":
            return f"{scheme}:{user}:{password}@{host}{port}{path}"
        if form == "prose":
            return f"primary upstream at {scheme}://{user}:{password}@{host}{port} (EU)"
        # a secret query field (amqps' certificate password), percent-encoded as written
        encoded = quote(password, safe="")
        self.made.append(encoded)
        return f"{scheme}://{user}:{self.text()}@{host}{port}/%2F?cacertfile=/ca.pem&" \
               f"{draw(SECRET_KEYS)}={encoded}"

    def value(self):
        """A JSON value holding secrets: a URI, or a secret key's value, possibly nested."""
        draw = self.draw
        kind = draw(st.sampled_from(["uri", "keyed", "list", "nested"]))
        if kind == "uri":
            return self.uri()
        if kind == "keyed":
            held = draw(st.sampled_from(["text", "object", "list"]))
            secret = self.text()
            return {draw(SECRET_KEYS): {"text": secret, "object": {"value": secret},
                                        "list": [secret]}[held]}
        if kind == "list":
            return ["amqp://plain.example", self.uri(), 7]
        return {"endpoints": [{"uri": self.uri(), "weight": 1}],
                draw(SECRET_KEYS): {"value": self.text(), "also": [self.text()]}}


def document(draw) -> tuple[dict, list[str]]:
    """A definitions export with secrets in every place a value can come from."""
    secrets = Secrets(draw)

    def arguments(**known):
        return {**known, draw(SECRET_KEYS): secrets.text(), "x-endpoint": secrets.value()}

    vhost = "/"
    doc = {
        "users": [{"name": "admin", "password_hash": secrets.text(), "tags": ["administrator"]},
                  {"name": "legacy", "password": secrets.text(), "tags": []}],
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {"name": "events", "vhost": vhost, "type": "topic", "durable": True,
             "auto_delete": False, "internal": False,
             "arguments": arguments(**{"alternate-exchange": "unrouted"})},
            {"name": "unrouted", "vhost": vhost, "type": "fanout", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}},
            {"name": "match", "vhost": vhost, "type": "headers", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}},
        ],
        "queues": [
            {"name": "orders", "vhost": vhost, "durable": True, "auto_delete": False,
             "arguments": arguments(**{"x-queue-type": "quorum",
                                       "x-dead-letter-exchange": "unrouted"})},
            {"name": "audit", "vhost": vhost, "durable": True, "auto_delete": False,
             "arguments": {}},
        ],
        "bindings": [
            {"source": "events", "vhost": vhost, "destination": "orders",
             "destination_type": "queue", "routing_key": "order.#", "arguments": {}},
            {"source": "match", "vhost": vhost, "destination": "audit",
             "destination_type": "queue", "routing_key": "",
             "arguments": arguments(**{"x-match": "any", "region": "eu"})},
        ],
        "policies": [
            {"vhost": vhost, "name": "federate", "pattern": "^events$", "apply-to": "exchanges",
             "priority": 1, "definition": arguments(**{"federation-upstream-set": "all"})},
        ],
        "parameters": [
            {"vhost": vhost, "component": "operator_policy", "name": "limits",
             "value": {"pattern": ".*", "apply-to": "queues", "priority": 0,
                       "definition": arguments(**{"max-length": 1000})}},
            {"vhost": vhost, "component": "federation-upstream", "name": "eu",
             "value": {"uri": secrets.uri(), "exchange": "events", **arguments()}},
            {"vhost": vhost, "component": "shovel", "name": "archive",
             "value": {"src-uri": [secrets.uri(), secrets.uri()], "src-queue": "orders",
                       "dest-uri": secrets.uri(), "dest-exchange": "archive",
                       "dest-exchange-key": "archived", "src-consumer-args": arguments()}},
            {"vhost": vhost, "component": "custom-plugin", "name": "settings",
             "value": [secrets.value(), {"nested": [[secrets.value()]]}]},
        ],
    }
    return doc, secrets.made


documents = st.composite(document)


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The markers and whole secrets ``text`` holds: none, unless a secret got through."""
    return MARKER.findall(text) + [s for s in secrets if s and len(s) > 3 and s in text]


def table_text(built) -> str:
    return "\n".join(span.text for build in (bindings_table, queues_table, exchanges_table,
                                             policies_table)
                     for row in build(built).rows for cell in row for span in cell)


def run_cli(*args: str) -> str:
    """The command line in this process: what it prints on stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(list(args))
    return out.getvalue() + err.getvalue()


def api_bodies(doc: dict) -> dict:
    """What the management API would answer for ``doc``, keyed by endpoint."""
    operator = [p for p in doc["parameters"] if p["component"] == "operator_policy"]
    return {"vhosts": doc["vhosts"], "exchanges": doc["exchanges"], "queues": doc["queues"],
            "bindings": doc["bindings"], "policies": doc["policies"],
            "operator-policies": [{"vhost": p["vhost"], "name": p["name"], **p["value"]}
                                  for p in operator],
            "parameters": [p for p in doc["parameters"] if p not in operator]}


def manifests(doc: dict) -> str:
    """Messaging Topology Operator manifests of ``doc``'s exchanges, queues, bindings and
    policies (the operator keeps shovel and federation URIs in Secrets, never read)."""
    objects = [{"kind": "Exchange", "metadata": {"name": f"x{n}"}, "spec": {
        "name": x["name"], "type": x["type"], "arguments": x["arguments"],
        "rabbitmqClusterReference": {"name": "c"}}} for n, x in enumerate(doc["exchanges"])]
    objects += [{"kind": "Queue", "metadata": {"name": f"q{n}"}, "spec": {
        "name": q["name"], "arguments": q["arguments"],
        "rabbitmqClusterReference": {"name": "c"}}} for n, q in enumerate(doc["queues"])]
    objects += [{"kind": "Binding", "metadata": {"name": f"b{n}"}, "spec": {
        "source": b["source"], "destination": b["destination"], "destinationType": "queue",
        "routingKey": b["routing_key"], "arguments": b["arguments"],
        "rabbitmqClusterReference": {"name": "c"}}} for n, b in enumerate(doc["bindings"])]
    objects += [{"kind": "Policy", "metadata": {"name": f"p{n}"}, "spec": {
        "name": p["name"], "pattern": p["pattern"], "applyTo": p["apply-to"],
        "definition": p["definition"], "rabbitmqClusterReference": {"name": "c"}}}
        for n, p in enumerate(doc["policies"])]
    return yaml.safe_dump_all([{"apiVersion": "rabbitmq.com/v1beta1", **o} for o in objects],
                              allow_unicode=True)


def drawn(topology) -> str:
    """Everything the core draws of a topology: DOT, text fallback, tables, edges, problems."""
    built, problems = views(topology, Selection())
    return "\n".join([to_dot(built, legend=True), to_text(built), table_text(built),
                      json.dumps([e.as_dict() for v in built for e in v.edges],
                                 ensure_ascii=False),
                      *(p.message for p in problems + topology.problems)])


# -- one value ------------------------------------------------------------------------------

@pytest.mark.parametrize(("uri", "redacted"), [
    # forms the broker accepts in shovel and federation parameters (tested in test_live below)
    ("amqp://user:pa ss@host", "amqp://host"),
    ("amqp://user:pa\tss@host:5672/%2F", "amqp://host:5672/%2F"),
    ("amqp://user:pa\u00a0ss@host/vhost", "amqp://host/vhost"),
    ("amqps://user:p@ss:w√rd@host/v?heartbeat=5", "amqps://host/v?heartbeat=5"),
    ("amqp://user:p:q@[::1]:5673/x", "amqp://[::1]:5673/x"),
    ("amqps://user:pw@host/%2F?password=certificate-pw&heartbeat=5",
     "amqps://host/%2F?password=(redacted)&heartbeat=5"),
    # forms it refuses, which a file may still hold: stripped just the same
    ("amqp://user:pa/ss@host", "amqp://host"),
    ("amqp://user:pa#ss@host/v", "amqp://host/v"),
    ("amqp://user:pa%ss@host", "amqp://host"),
    # no "//", a "?" in the user info, no host after the "@", prose: nothing of it shown
    ("amqp:user:pw@host", REDACTED),
    ("amqp://user:pa?ss@host", REDACTED),
    ("amqps://host/?password=p@ss", REDACTED),
    ("amqp://user:pw@host name", REDACTED),
    ("the upstream is amqp://user:pw@host", REDACTED),
    # no user info: as written
    ("amqp://host/%2F", "amqp://host/%2F"),
    ("CEGA_CONNECTION", "CEGA_CONNECTION"),
    ("ops@example.com", "ops@example.com"),
    ("secret://archive/srcUri", "secret://archive/srcUri"),
])
def test_user_info_is_stripped_as_the_broker_reads_it(uri, redacted):
    assert redact(uri) == redacted


@settings(max_examples=400, deadline=None)
@given(SCHEMES, st.sampled_from(["", "user", "fed-user"]), PIECE, HOSTS,
       st.sampled_from(["", ":5672"]), PATHS)
def test_any_password_is_stripped_and_the_rest_kept(scheme, user, password, host, port, path):
    uri = f"{scheme}://{user}:{password}ZQX1J@{host}{port}{path}"
    redacted = redact(uri)
    assert not leaks(redacted, [password + "ZQX1J"])
    if "?" not in password:  # a "?" in the user info: where the query starts is unknown
        assert redacted == f"{scheme}://{host}{port}{path}"


@settings(max_examples=300, deadline=None)
@given(SECRET_KEYS)
def test_every_spelling_of_a_secret_key_is_one(key):
    assert is_secret_key(key)
    assert redact_value({key: "ZQX1J", "x-queue-type": "quorum"}) == {
        key: REDACTED, "x-queue-type": "quorum"}


@pytest.mark.parametrize("key", ["x-queue-type", "x-dead-letter-exchange", "alternate-exchange",
                                 "federation-upstream", "max-length", "src-uri", "dest-queue",
                                 "x-match", "uri", "ack-mode", "trust-user-id"])
def test_the_keys_that_draw_a_topology_are_no_secret(key):
    assert not is_secret_key(key)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_nested_values_keep_no_secret(data):
    secrets = Secrets(data.draw)
    value = [secrets.value() for _ in range(3)]
    assert not leaks(json.dumps(redact_value(value), ensure_ascii=False), secrets.made)


# -- every source, every output --------------------------------------------------------------

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=documents())
def test_no_secret_of_any_source_reaches_any_output(case, tmp_path_factory):
    doc, secrets = case
    folder = tmp_path_factory.mktemp("secrets")
    export = folder / "definitions.json"
    export.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    saved = folder / "api.json"
    saved.write_text(json.dumps(api_bodies(doc), ensure_ascii=False), encoding="utf-8")
    yaml_export = folder / "definitions.yaml"
    yaml_export.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    k8s = folder / "topology.yaml"
    k8s.write_text(manifests(doc), encoding="utf-8")
    assert leaks(export.read_text(encoding="utf-8"), secrets)  # they are there to be found

    topologies = {
        "export": parse(export.read_text(encoding="utf-8")),
        "yaml": parse(yaml_export.read_text(encoding="utf-8"), is_yaml=True),
        "saved API output": read_api_text(saved.read_text(encoding="utf-8"), source="api.json"),
        "live answer": read_api(api_bodies(doc), source="http://broker:15672"),
        "manifests": read_manifests(k8s.read_text(encoding="utf-8"), source="topology.yaml"),
    }
    for source, topology in topologies.items():
        assert topology.queues and topology.policies, source
        assert not leaks(drawn(topology), secrets), source
        write_definitions(topology, folder / "snapshot.json")
        assert not leaks((folder / "snapshot.json").read_text(encoding="utf-8"), secrets), source

    other = folder / "other.json"
    other.write_text(json.dumps({**doc, "queues": doc["queues"][:1]}, ensure_ascii=False),
                     encoding="utf-8")
    for path in (export, saved, yaml_export, k8s):
        printed = [run_cli(command, str(path)) for command in ("dot", "edges", "check")]
        printed.append(run_cli("diff", str(path), str(other)))
        printed.append(run_cli("fetch", str(path), "-o", str(folder / "fetched.json")))
        printed.append((folder / "fetched.json").read_text(encoding="utf-8"))
        assert not leaks("\n".join(printed), secrets), path.name
    # the drawing a reader sees, tooltips included
    assert not leaks(svg_text(run_dot(to_dot(views(topologies["export"], Selection())[0]))),
                     secrets)


def test_the_drawing_names_the_hosts_it_strips_credentials_from():
    doc = {"vhosts": [{"name": "/"}],
           "queues": [{"name": "out", "vhost": "/", "arguments": {}}],
           "parameters": [{"vhost": "/", "component": "shovel", "name": "s", "value": {
               "src-queue": "out", "dest-queue": "in",
               "dest-uri": "amqps://user:pa ss/w#rd@Remote.Example:5671/Z%C3%BCrich"}}]}
    [edge] = views(parse(json.dumps(doc)), Selection())[0][0].edges
    assert edge.destination == "Remote.Example:5671/Zürich queue in"
    assert Endpoint("amqp://[::1]:5672/x").label() == "vhost x"


# -- a value that is no URI ------------------------------------------------------------------

#: the shape of a public overlay (a federation.json of a Federated EGA node) whose URIs are
#: placeholders a deployment fills in
PLACEHOLDERS = {
    "queues": [{"name": "from_cega", "vhost": "sda", "durable": True, "auto_delete": False,
                "arguments": {}}],
    "exchanges": [{"name": "to_cega", "vhost": "sda", "type": "topic", "durable": True,
                   "auto_delete": False, "internal": False, "arguments": {}}],
    "parameters": [
        {"component": "federation-upstream", "name": "from_cega", "vhost": "sda",
         "value": {"ack-mode": "on-confirm", "queue": "to_fega", "uri": "CEGA_CONNECTION"}},
        {"component": "shovel", "name": "to_cega", "vhost": "sda",
         "value": {"dest-exchange": "localega", "dest-protocol": "amqp091",
                   "dest-uri": "CEGA_CONNECTION", "src-exchange": "to_cega",
                   "src-exchange-key": "#", "src-protocol": "amqp091",
                   "src-uri": "amqp:///sda"}},
    ],
    "policies": [{"vhost": "sda", "name": "from_cega", "pattern": "from_cega",
                  "apply-to": "queues", "priority": 0,
                  "definition": {"federation-upstream": "from_cega"}}],
}


def test_a_placeholder_uri_is_an_external_endpoint_named_as_written_with_one_warning():
    topology = parse(json.dumps(PLACEHOLDERS, indent=1))
    built, problems = views(topology, Selection())
    [view] = built
    assert sorted(view.externals) == ["CEGA_CONNECTION exchange localega",
                                      "CEGA_CONNECTION queue to_fega"]
    assert not any("EGA_CONNECTION" in name and "vhost" in name for name in view.externals)
    warnings = [p for p in problems if p.code == "uri"]
    assert [(p.line, p.message) for p in warnings] == [
        (23, "parameters[0]: federation-upstream 'from_cega' has uri 'CEGA_CONNECTION', which "
             "is not an AMQP URI (amqp://HOST[:PORT][/VHOST]); that end is drawn as an "
             "external endpoint named 'CEGA_CONNECTION'"),
        (33, "parameters[1]: shovel 'to_cega' has dest-uri 'CEGA_CONNECTION', which is not an "
             "AMQP URI (amqp://HOST[:PORT][/VHOST]); that end is drawn as an external "
             "endpoint named 'CEGA_CONNECTION'")]
    assert "CEGA_CONNECTION" in svg_text(run_dot(to_dot(built)))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(
    lambda text: "://" not in text and "@" not in text and "?" not in text))
def test_any_value_without_a_scheme_is_drawn_exactly_as_written(placeholder):
    doc = {"queues": [{"name": "in", "vhost": "/", "arguments": {}}],
           "parameters": [{"vhost": "/", "component": "shovel", "name": "s", "value": {
               "src-uri": placeholder, "src-queue": "remote", "dest-queue": "in"}}]}
    topology = parse(json.dumps(doc))
    built, problems = views(topology, Selection())
    assert built[0].externals == {f"{placeholder} queue remote"}
    assert [p.code for p in topology.problems] == ["uri"]


def test_a_value_that_hides_user_info_is_shown_redacted_with_its_own_warning():
    doc = {"queues": [{"name": "in", "vhost": "/", "arguments": {}}],
           "parameters": [{"vhost": "/", "component": "shovel", "name": "s", "value": {
               "src-uri": "amqp:user:hunter2@host", "src-queue": "remote",
               "dest-queue": "in"}}]}
    topology = parse(json.dumps(doc))
    [problem] = topology.problems
    assert problem.code == "uri" and "hunter2" not in problem.message
    assert "holds an '@' after a scheme, so it is not shown" in problem.message
    assert views(topology, Selection())[0][0].externals == {"(redacted) queue remote"}


# -- Sphinx builds: pages, images, doctrees, the environment ---------------------------------

def sphinx_project(root: Path, pages: dict[str, str], **conf) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"extensions": ["sphinxext_rabbit"], **conf}
    (root / "conf.py").write_text("".join(f"{key} = {value!r}\n"
                                          for key, value in settings.items()), encoding="utf-8")
    toctree = "".join(f"   {name}\n" for name in pages)
    (root / "index.rst").write_text(f"Secrets\n=======\n\n.. toctree::\n\n{toctree}",
                                    encoding="utf-8")
    for name, body in pages.items():
        (root / f"{name}.rst").write_text(f"{name}\n{'=' * len(name)}\n\n{body}",
                                          encoding="utf-8")
    return root


def directive(source: str, extra: str = "") -> str:
    return (f".. rabbitmq-topology:: {source}\n"
            f"   :show: diagram, bindings, queues, exchanges, policies\n   :legend:\n{extra}\n")


def kept_text(*folders: Path) -> str:
    """Every file a build wrote or keeps, as text (pickles hold names as UTF-8)."""
    return "\n".join(path.read_bytes().decode("utf-8", "replace")
                     for folder in folders for path in folder.rglob("*") if path.is_file())


@settings(max_examples=3, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases=st.lists(documents(), min_size=5, max_size=5))
def test_no_secret_reaches_a_sphinx_build(cases, make_app, tmp_path_factory):
    root = tmp_path_factory.mktemp("sphinx-secrets")
    pages = {}
    secrets: list[str] = []
    for n, (doc, made) in enumerate(cases):
        secrets += made
        (root / f"case{n}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        (root / f"api{n}.json").write_text(json.dumps(api_bodies(doc), ensure_ascii=False),
                                           "utf-8")
        (root / f"k8s{n}.yaml").write_text(manifests(doc), "utf-8")
        pages[f"case{n}"] = (directive(f"case{n}.json", f"   :compare: api{n}.json\n")
                             + directive(f"api{n}.json") + directive(f"k8s{n}.yaml"))
    srcdir = sphinx_project(root / "src", pages)
    for name in list((root).glob("*.json")) + list(root.glob("*.yaml")):
        name.rename(srcdir / name.name)
    for builder in ("html", "text"):
        app = make_app(builder, srcdir=srcdir, builddir=root / builder, freshenv=True)
        app.build()
        everything = (kept_text(Path(app.outdir), Path(app.doctreedir))
                      + build_output(app)[1] + build_output(app)[0])
        assert "events" in everything and "archive" in everything  # drawn ...
        assert not leaks(everything, secrets), builder  # ... without a secret


# -- credentials go only to the brokers conf.py names ----------------------------------------

class Recorder:
    """An HTTP server on 127.0.0.1 that records every request and answers 404."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[tuple[str, str | None]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                recorder.requests.append((self.path, self.headers.get("Authorization")))
                body = b'{"error":"not_found","reason":"Not Found"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def users(self) -> set[str]:
        import base64

        return {base64.b64decode(header.split()[1]).decode() if header else ""
                for _path, header in self.requests}


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_url_conf_py_does_not_name_is_refused_before_any_request(make_app, tmp_path,
                                                                   recorder, monkeypatch):
    monkeypatch.setenv("RABBITMQ_USER", "ci-admin")
    monkeypatch.setenv("RABBITMQ_PASSWORD", "ENV_PASSWORD")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "docs.json").write_text(json.dumps(PLACEHOLDERS), "utf-8")
    near = recorder.url + "/rabbitmq"
    urls = [recorder.url, f"{recorder.url}/%2F", f"{near}mq", f"{recorder.url}/other",
            f"http://localhost:{recorder.port}/rabbitmq", f"https://127.0.0.1:{recorder.port}"
            "/rabbitmq", f"http://127.0.0.1:{recorder.port + 1}/rabbitmq", f"{near}?x=1"]
    pages = {f"page{n}": directive(url) for n, url in enumerate(urls)}
    pages["compare"] = directive("docs.json", f"   :compare: {recorder.url}/sda\n")
    srcdir = sphinx_project(tmp_path / "src", pages, rabbitmq_topology_brokers={
        "near": {"url": near, "user": "docs-reader", "password_env": "NEAR_PASSWORD"}})
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    assert recorder.requests == []
    warnings = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", build_output(app)[1])
                .splitlines() if "no broker in rabbitmq_topology_brokers" in line]
    refused = ("no broker in rabbitmq_topology_brokers has this address, and a build sends a "
               "user and password only to the brokers conf.py names: add it there (url, user, "
               "password_env) and write its name" + shown_type("source"))
    expected = [f"page{n}.rst:4: WARNING: rabbitmq-topology: {url}: {refused}"
                for n, url in enumerate(urls)]
    expected.append(f"compare.rst:4: WARNING: rabbitmq-topology: {recorder.url}/sda: {refused}")
    assert sorted(line.split("src/", 1)[-1] for line in warnings) == sorted(expected)


def test_a_url_of_a_configured_broker_is_read_with_that_brokers_settings(make_app, tmp_path,
                                                                       recorder, monkeypatch):
    monkeypatch.setenv("RABBITMQ_USER", "ci-admin")
    monkeypatch.setenv("RABBITMQ_PASSWORD", "ENV_PASSWORD")
    monkeypatch.setenv("SHOP_PASSWORD", "shop-password")
    srcdir = sphinx_project(tmp_path / "src", {
        "whole": directive(f"{recorder.url}/"),
        "billing": directive(f"{recorder.url}/billing")}, rabbitmq_topology_brokers={
        "shop": {"url": recorder.url, "user": "docs-reader", "password_env": "SHOP_PASSWORD",
                 "timeout": 3}})
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.build()
    assert recorder.requests  # it was asked (and said there is no API there) ...
    assert recorder.users() == {"docs-reader:shop-password"}  # ... with the broker's login
    assert {path for path, _ in recorder.requests} == {"/api/overview", "/billing/api/overview"}
    assert "no management API there" in build_output(app)[1]


@pytest.mark.parametrize(("configured", "written", "used"), [
    ("https://rabbit.example:15671", "https://rabbit.example:15671/billing", "prod"),
    ("https://rabbit.example:15671/", "HTTPS://Rabbit.Example:15671", "prod"),
    ("https://rabbit.example", "https://rabbit.example:443/%2F", "prod"),
    ("http://rabbit.example/rabbitmq", "http://rabbit.example/rabbitmq/", "prod"),
    ("http://rabbit.example/rabbitmq", "http://rabbit.example/rabbitmqx", None),
    ("http://rabbit.example/rabbitmq", "http://rabbit.example/", None),
    ("https://rabbit.example:15671", "http://rabbit.example:15671", None),
    ("https://rabbit.example:15671", "https://rabbit.example:15672", None),
    ("https://rabbit.example:15671", "https://rabbit.example.evil:15671", None),
    ("https://rabbit.example:15671", "https://rabbit.example:15671?next=evil", None),
    ("https://rabbit.example:15671", "https://rabbit.example:15671#x", None),
    ("https://rabbit.example:15671", "https://rabbit.example:99999", None),
])
def test_a_url_matches_a_configured_broker_by_scheme_host_port_and_path(configured, written,
                                                                       used):
    from sphinxext_rabbit.sources import SourceError, configured_broker_for

    config = {"prod": {"url": configured, "user": "docs", "password_env": "PROD_PW",
                       "cafile": "ca.pem", "timeout": 4},
              "prefixed": {"url": "https://rabbit.example:15671/deeper/still"}}
    if used is None:
        with pytest.raises(SourceError, match="no broker in rabbitmq_topology_brokers"):
            configured_broker_for(written, config, "/docs")
        return
    broker = configured_broker_for(written, config, "/docs")
    assert (broker.user, broker.password_env, broker.cafile, broker.timeout) == (
        "docs", "PROD_PW", "/docs/ca.pem", 4.0)
    assert broker.url == written.rstrip("/")


def test_the_longest_configured_path_wins():
    from sphinxext_rabbit.sources import configured_broker_for

    config = {"root": {"url": "https://h", "user": "a"},
              "api": {"url": "https://h/rabbitmq", "user": "b"}}
    assert configured_broker_for("https://h/rabbitmq/%2F", config, "/").user == "b"
    assert configured_broker_for("https://h/other", config, "/").user == "a"
    assert configured_broker_for("https://h/rabbitmq", config, "/").name == "api"


def test_the_command_line_keeps_reading_the_url_it_is_given(recorder, monkeypatch):
    monkeypatch.setenv("RABBITMQ_USER", "ci-admin")
    monkeypatch.setenv("RABBITMQ_PASSWORD", "ENV_PASSWORD")
    printed = run_cli("check", recorder.url)
    assert recorder.users() == {"ci-admin:ENV_PASSWORD"}
    assert "no management API there" in printed and "ENV_PASSWORD" not in printed


# -- a real broker ---------------------------------------------------------------------------

#: what the broker takes in a URI's password unencoded: anything but "@" (its user info ends
#: at the first one), "/", "#", "?" (they end the authority) and "%" (an escape)
BROKER_PIECE = st.lists(st.sampled_from([" ", "\t", "\u00a0", ":", "&", "=", "'", "é", "密",
                                         "🐇"])
                        | st.characters(exclude_characters="@/#?%",
                                        exclude_categories=("Cs", "Cc")),
                        min_size=1, max_size=5).map("".join).filter(lambda p: "ZQX" not in p)


def strings(value) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [text for item in value for text in strings(item)] if isinstance(value, list) else []


@settings(max_examples=2, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pieces=st.lists(BROKER_PIECE, min_size=9, max_size=9))
def test_no_password_the_broker_holds_reaches_any_output(pieces, broker, make_app,
                                                        tmp_path_factory, monkeypatch):
    from tests.broker import MANAGEMENT_URL, PASSWORD, USER, delete_vhosts, q, unique_prefix

    passwords = [f"{piece}ZQX{n}J" for n, piece in enumerate(pieces)]
    vhost = f"{unique_prefix()}secrets"
    root = tmp_path_factory.mktemp("live-secrets")
    monkeypatch.setenv("SECRETS_TEST_PASSWORD", PASSWORD)
    monkeypatch.setenv("RABBITMQ_USER", USER)
    monkeypatch.setenv("RABBITMQ_PASSWORD", PASSWORD)
    v = q(vhost)
    broker.request("PUT", f"vhosts/{v}", {})
    try:
        broker.request("PUT", f"exchanges/{v}/events", {"type": "headers", "durable": True,
                       "arguments": {"X-Token": passwords[0],
                                     "x-mirror": [f"amqps://:{passwords[1]}@m.example.invalid"]}})
        broker.request("PUT", f"queues/{v}/orders", {"durable": True, "arguments": {
            "x-api-key": passwords[2], "x-upstream": {"uri": f"amqp://u:{passwords[3]}@up"}}})
        broker.request("POST", f"bindings/{v}/e/events/q/orders", {"routing_key": "", "arguments": {
            "x-match": "any", "Auth": passwords[4], "to": f"amqp://b:{passwords[5]}@b.invalid"}})
        broker.request("PUT", f"parameters/federation-upstream/{v}/zentrale", {"value": {
            "uri": f"amqp://fed:{passwords[6]}@upstream.example.invalid:5672/%2F",
            "reconnect-delay": 30}})
        broker.request("PUT", f"policies/{v}/federate", {"pattern": "^events$",
                       "apply-to": "exchanges", "definition": {"federation-upstream": "zentrale"}})
        broker.request("PUT", f"parameters/shovel/{v}/archive", {"value": {
            "src-uri": f"amqp:///{v}", "src-queue": "orders",
            "dest-uri": [f"amqp://shovel:{passwords[7]}@archive.example.invalid:5672/archive",
                         f"amqps://shovel:{passwords[8]}@archive2.example.invalid/archive"],
            "dest-queue": "archived", "reconnect-delay": 30}})
        # the broker holds every password as written
        held = "\n".join(strings([broker.request("GET", f"parameters/{c}/{v}")
                                  for c in ("shovel", "federation-upstream")]
                                 + broker.request("GET", f"bindings/{v}")
                                 + [broker.request("GET", f"queues/{v}/orders"),
                                    broker.request("GET", f"exchanges/{v}/events")]))
        assert [password for password in passwords if password not in held] == []

        page = directive("test", f"   :vhost: {vhost}\n")
        srcdir = sphinx_project(root / "src", {"live": page, "again": page},
                                # the URL names the vhost: only it is fetched
                                rabbitmq_topology_brokers={"test": {
                                    "url": f"{MANAGEMENT_URL}/{v}", "user": USER,
                                    "password_env": "SECRETS_TEST_PASSWORD"}},
                                rabbitmq_topology_snapshot_dir="snapshots")
        for builder in ("html", "text"):
            app = make_app(builder, srcdir=srcdir, builddir=root / builder, freshenv=True)
            app.build()
            doctrees = Path(app.doctreedir)
            assert (doctrees / "rabbitmq-live" / "test.json").is_file()  # the fetch cache
            assert (srcdir / "snapshots" / "test.json").is_file()
            everything = (kept_text(Path(app.outdir), doctrees, srcdir / "snapshots")
                          + build_output(app)[1] + build_output(app)[0])
            assert "archive.example.invalid" in everything  # drawn ...
            assert "upstream.example.invalid" in everything
            assert not leaks(everything, passwords), builder  # ... without a password

        snapshot = root / "fetched.json"
        printed = [run_cli(command, MANAGEMENT_URL, "--vhost", vhost)
                   for command in ("dot", "edges", "check")]
        printed.append(run_cli("fetch", MANAGEMENT_URL, "--vhost", vhost, "-o", str(snapshot)))
        printed.append(snapshot.read_text(encoding="utf-8"))
        edited = json.loads(snapshot.read_text(encoding="utf-8"))
        edited["bindings"] = []
        (root / "edited.json").write_text(json.dumps(edited), encoding="utf-8")
        printed.append(run_cli("diff", MANAGEMENT_URL, str(root / "edited.json"),
                               "--vhost", vhost))
        assert "binding exchange 'events' -> queue 'orders'" in printed[-1]
        assert "archive.example.invalid" in printed[0]
        assert not leaks("\n".join(printed), passwords)
    finally:
        delete_vhosts(broker, {"vhosts": [{"name": vhost}]})
