"""Text from the input (names, field names, file names, a broker's reason) reaches terminals
and logs escaped: no control character or bidirectional override of it is written raw, by
the command line or a Sphinx build, and what it was stays recognisable."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.cli import main
from sphinxext_rabbit.output.tables import bindings_table, queues_table
from sphinxext_rabbit.output.text import to_text
from sphinxext_rabbit.output.wording import visible
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.select import Selection, views
from tests.helpers import shown_type, write_project

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
#: pieces that forge lines or colours, reorder text, or trouble quoting and markup
PIECES = st.sampled_from([
    "\x1b[31m", "\x1b[2J", "\x1b]0;title\x07", "\x9b1m", "\n", "\r", "\r\n", "\t", "\x0b",
    "\x0c", "\x1c", "\x85", "\u2028", "\u2029", *BIDI, "\u200f", "é", "zürich", "日本",
    "🐇", '"', "'", "<script>alert(1)</script>", "{", "}", "\\", "\\x1b", "%s", "%(x)s",
    "::", " ", "WARNING: forged [rabbitmq.parse]",
])
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=3)), min_size=1, max_size=6).map(
    "".join).filter(lambda s: len(s.encode("utf-8", "surrogatepass")) <= 200)
#: what a file system takes: no slash, no NUL, no lone surrogate, not hidden
FILE_NAMES = HOSTILE.map(lambda s: s.replace("/", "").replace("\0", "")).filter(
    lambda s: s and not s.startswith(".") and not any(0xD800 <= ord(c) <= 0xDFFF for c in s))


def raw_unsafe(text: str, allowed: str = "\n") -> list[str]:
    """The characters of *text* that a terminal, a log or a browser would act on."""
    return [c for c in text if c not in allowed and (
        unicodedata.category(c) == "Cc" or c in BIDI or c in "\u2028\u2029")]


def definitions(queue: str, exchange: str, field: str) -> dict:
    """A queue with an unknown field, declared twice, bound from an undeclared exchange."""
    return {
        "queues": [{"name": queue, "vhost": "/", field: 1}, {"name": queue, "vhost": "/"}],
        "bindings": [{"source": exchange, "vhost": "/", "destination": queue,
                      "destination_type": "queue", "routing_key": exchange}],
    }


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file_name=FILE_NAMES, queue=HOSTILE, exchange=HOSTILE, field=HOSTILE)
def test_the_command_line_writes_input_text_escaped_and_intact(file_name, queue, exchange,
                                                               field):
    if field in ("name", "vhost") or field.startswith(("x-", "arguments")):
        field = "f" + field  # a field the format does not have
    exchange = "x" + exchange  # not the default exchange, nor a built-in one
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{file_name}.json"
        path.write_text(json.dumps(definitions(queue, exchange, field)), encoding="utf-8")
        broken = Path(folder) / f"{file_name}.broken.json"
        broken.write_text('{"queues": [,]}', encoding="utf-8")
        other = Path(folder) / "other.json"
        other.write_text(json.dumps({"queues": [{"name": "kept", "vhost": "/"}]}),
                         encoding="utf-8")
        runs = {
            "check": run_cli("check", str(path)),
            "check broken": run_cli("check", str(broken)),
            "dot": run_cli("dot", str(path)),
            "edges": run_cli("edges", str(path)),
            "diff": run_cli("diff", str(path), str(other)),
        }
    for command, (_code, out, err) in runs.items():
        assert raw_unsafe(out) == [], command
        assert raw_unsafe(err) == [], command
        # every message is one line of the compiler shape: none was forged or split
        for line in err.splitlines():
            assert line.endswith("]") and "[rabbitmq." in line, (command, line)
    _, _, check = runs["check"]
    assert check.count("\n") == 3  # unknown field, duplicate, dangling: one line each
    assert check.startswith(visible(f"{path}:1: "))
    assert repr(field) in check and repr(exchange) in check and repr(queue) in check
    assert runs["check broken"][2].startswith(visible(f"{broken}:1: error: not valid JSON"))
    [edge] = json.loads(runs["edges"][1])  # JSON escapes: the same names, exactly
    assert (edge["source"], edge["destination"], edge["routing_key"]) == (
        exchange, queue, exchange)
    diff = runs["diff"][1]
    assert diff.count("\n") >= 2 and repr(queue) in diff and visible(str(path)) in diff

    # the text fallback and the tables show the names escaped too
    built, _ = views(parse(json.dumps(definitions(queue, exchange, field))), Selection())
    assert raw_unsafe(to_text(built)) == []
    assert visible(queue) in to_text(built)
    for table in (bindings_table(built), queues_table(built)):
        for row in table.rows:
            for cell in row:
                for span in cell:
                    assert raw_unsafe(span.text) == []


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(FILE_NAMES, HOSTILE), min_size=3, max_size=6,
                unique_by=lambda pair: pair[0].lower()))
def test_a_sphinx_build_writes_input_text_escaped_and_intact(files):
    with tempfile.TemporaryDirectory() as folder:
        srcdir = Path(folder) / "src"
        (srcdir / "defs").mkdir(parents=True)
        for n, (file_name, name) in enumerate(files):
            # a file named in the message (not UTF-8), in the location (a parse error at a
            # line), or holding the names
            (srcdir / "defs" / f"{file_name}.json").write_bytes(
                [b"\xff", b"[,]", json.dumps(definitions(name, name + "x", "f" + name)).encode()
                 ][n % 3])
        write_project(srcdir, {"page": ".. rabbitmq-topology:: defs\n"
                                       "   :show: diagram, bindings, queues, exchanges\n"})
        completed = subprocess.run(
            [sys.executable, "-m", "sphinx", "-b", "html", "-q", "--no-color", str(srcdir),
             str(Path(folder) / "out")],
            capture_output=True, text=True, check=False)
        built = [p.read_text(encoding="utf-8") for p in (Path(folder) / "out").rglob("*")
                 if p.suffix in (".html", ".svg")]
    warnings = completed.stderr
    assert completed.returncode == 0, warnings
    assert raw_unsafe(warnings) == []
    for line in warnings.splitlines():
        # a whole warning a line (from Sphinx 8.0 on each ends with its "[rabbitmq.code]")
        assert "WARNING: " in line and line.endswith("]" if shown_type("io") else ""), line
    for n, (file_name, name) in enumerate(files):
        if n % 3 == 0:
            assert visible(f"page.rst:4: WARNING: defs/{file_name}.json: the file is not "
                           "UTF-8 text") in warnings
        else:
            assert visible(f"defs/{file_name}.json:1: WARNING: ") in warnings
        if n % 3 == 2:
            assert repr("f" + name) in warnings  # the unknown field
            assert repr(name + "x") in warnings  # the undeclared exchange
    for page in built:
        assert raw_unsafe(page, allowed="\n\t") == []


class HostileBroker(http.server.BaseHTTPRequestHandler):
    """Answers every request as a broker refusing it, with the reason the test set."""

    status = 401
    reason = ""

    def do_GET(self) -> None:
        body = json.dumps({"error": "not_authorised", "reason": self.reason}).encode()
        # the status line's phrase too (Latin-1, with no line break, and no white space but
        # spaces: http.client splits the status line at any, so a phrase of "\x1c" alone
        # would make it no HTTP status line at all)
        phrase = self.reason.encode("latin-1", "ignore").decode("latin-1")
        self.send_response(self.status, "".join(char for char in phrase
                                                if char == " " or not char.isspace()))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the tests read messages, not the server's log."""


@pytest.fixture(scope="module")
def hostile_broker() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileBroker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


REASONS = HOSTILE.filter(lambda s: len(s) < 150)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(reason=REASONS, status=st.sampled_from([401, 403, 500, 503]))
def test_a_brokers_reason_reaches_the_terminal_escaped(hostile_broker, monkeypatch, reason,
                                                       status):
    monkeypatch.setattr(HostileBroker, "reason", reason)
    monkeypatch.setattr(HostileBroker, "status", status)
    monkeypatch.setenv("RABBITMQ_USER", "docs")
    monkeypatch.setenv("RABBITMQ_PASSWORD", "pw")
    code, out, err = run_cli("check", hostile_broker)
    assert code == 1
    assert raw_unsafe(err) == []
    [line] = err.splitlines()  # one message, whatever the reason holds
    assert line.startswith(f"{hostile_broker}: error: ") and line.endswith("[rabbitmq.fetch]")
    if status != 401 or reason.strip():
        assert visible(reason.strip()[:100]) in line


def test_a_brokers_reason_reaches_the_build_log_escaped(hostile_broker, monkeypatch,
                                                        tmp_path):
    reason = "\x1b[31mrefused\x1b[0m\nsrc/index.rst:1: WARNING: forged \u202eevil"
    monkeypatch.setattr(HostileBroker, "reason", reason)
    monkeypatch.setattr(HostileBroker, "status", 500)
    srcdir = write_project(tmp_path / "src", {"live": ".. rabbitmq-topology:: evil\n"},
                           rabbitmq_topology_brokers={"evil": {
                               "url": hostile_broker, "user": "docs",
                               "password_env": "EVIL_PASSWORD"}})
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "--no-color", str(srcdir),
         str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
        env={**os.environ, "EVIL_PASSWORD": "pw"})
    assert raw_unsafe(completed.stderr) == []
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"{srcdir}/live.rst:4: WARNING: evil: ")
    assert visible(reason) in line and line.endswith(shown_type("fetch"))
