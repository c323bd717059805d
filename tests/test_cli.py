"""The sphinxext-rabbit command, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import FIXTURES, cli, run_dot, svg_text

DEFINITIONS = {
    "rabbitmq_version": "3.13.7",
    "users": [{"name": "admin", "password_hash": "HASH_SHOULD_NOT_LEAK"}],
    "vhosts": [{"name": "/"}, {"name": "billing"}],
    "exchanges": [
        {"name": "orders", "vhost": "/", "type": "topic"},
        {
            "name": "invoices",
            "vhost": "billing",
            "type": "direct",
            "arguments": {"alternate-exchange": "unrouted"},
        },
        {"name": "unrouted", "vhost": "billing", "type": "fanout"},
    ],
    "queues": [
        {"name": "orders.created", "vhost": "/", "arguments": {"x-dead-letter-exchange": "orders"}},
        {"name": "invoices.new", "vhost": "billing", "arguments": {}},
    ],
    "bindings": [
        {
            "source": "orders",
            "vhost": "/",
            "destination": "orders.created",
            "destination_type": "queue",
            "routing_key": "order.created",
            "arguments": {},
        },
        {
            "source": "invoices",
            "vhost": "billing",
            "destination": "invoices.new",
            "destination_type": "queue",
            "routing_key": "new",
            "arguments": {},
        },
    ],
    "parameters": [
        {
            "vhost": "billing",
            "component": "shovel",
            "name": "to-dr",
            "value": {
                "src-uri": "amqp:///billing",
                "src-queue": "invoices.new",
                "dest-uri": "amqp://dr:SHOVEL_PASSWORD@dr.example.com",
                "dest-queue": "invoices",
            },
        }
    ],
}


@pytest.fixture
def definitions(tmp_path):
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps(DEFINITIONS), encoding="utf-8")
    return str(path)


def test_dot_draws_every_vhost_by_default(definitions):
    text = svg_text(run_dot(cli("dot", definitions).stdout))
    for name in (
        "orders",
        "orders.created",
        "invoices",
        "invoices.new",
        "unrouted",
        "billing",
        "dr.example.com queue invoices",
    ):
        assert name in text


def test_vhost_include_exclude_flags_mirror_the_directive(definitions):
    dot = cli(
        "dot", definitions, "--vhost", "billing", "--include", "invoices*", "--exclude", "*.new"
    ).stdout
    text = svg_text(run_dot(dot))
    assert "invoices" in text
    assert "invoices.new" in text  # kept as a stub: the binding leaves the selection
    assert "orders" not in text


def test_edges_json_shape_and_order(definitions):
    first = cli("edges", definitions).stdout
    assert first == cli("edges", definitions).stdout
    edges = json.loads(first)
    assert [(e["kind"], e["vhost"], e["source"], e["destination"]) for e in edges] == [
        ("binding", "/", "orders", "orders.created"),
        ("dead-letter", "/", "orders.created", "orders"),
        ("alternate", "billing", "invoices", "unrouted"),
        ("binding", "billing", "invoices", "invoices.new"),
        ("shovel", "billing", "invoices.new", "dr.example.com queue invoices"),
    ]
    assert set(edges[0]) == {
        "kind",
        "vhost",
        "source",
        "source_type",
        "destination",
        "destination_type",
        "routing_key",
        "arguments",
        "origin",
    }
    assert edges[4]["destination_type"] == "external"
    assert edges[4]["origin"] == "parameter:to-dr"
    assert edges[1]["origin"] == "queue-argument"


def test_no_secret_in_any_command_output(definitions):
    for args in (("dot", definitions), ("edges", definitions), ("check", definitions)):
        completed = cli(*args, check=False)
        for secret in ("HASH_SHOULD_NOT_LEAK", "SHOVEL_PASSWORD"):
            assert secret not in completed.stdout + completed.stderr


def test_check_lists_problems_and_fails_on_errors(tmp_path, definitions):
    assert cli("check", definitions).stderr == ""
    broken = dict(
        DEFINITIONS,
        bindings=[
            {
                "source": "orders",
                "vhost": "/",
                "destination": "ghost",
                "destination_type": "queue",
                "routing_key": "",
                "arguments": {},
            }
        ],
        exchanges=[*DEFINITIONS["exchanges"], {"name": "odd", "vhost": "/", "type": "x-custom"}],
    )
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    completed = cli("check", str(path), check=False)
    assert completed.returncode == 1
    assert (
        "error: a binding from 'orders' to 'ghost' refers to queue 'ghost', which is "
        "not declared [rabbitmq.dangling]" in completed.stderr
    )
    assert "warning: exchange 'odd' has type 'x-custom'" in completed.stderr


def test_malformed_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n "queues": [\n  {"name": "a",}\n ]\n}\n', encoding="utf-8")
    completed = cli("dot", str(path), check=False)
    assert completed.returncode == 1
    assert f"{path}:3: error: not valid JSON" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("image_format", ["svg", "png", "pdf"])
def test_render_writes_the_image(tmp_path, definitions, image_format):
    output = tmp_path / f"topology.{image_format}"
    cli("render", definitions, "-o", str(output))
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}[image_format]
    assert output.read_bytes().startswith(magic)


def test_command_line_on_a_file_imports_no_sphinx_and_no_http_client(definitions):
    """Start-up is a large part of a command's time: only what drawing a file needs."""
    code = (
        "import sys; from sphinxext_rabbit.cli import main; main(['dot', sys.argv[1]]); "
        "sys.stderr.write(' '.join(m for m in sys.modules if m.split('.')[0] in "
        "('sphinx', 'docutils', 'yaml', 'http', 'ssl') "
        "or m == 'sphinxext_rabbit.fetch'))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, definitions], capture_output=True, text=True, check=True
    )
    assert completed.stderr == ""


@pytest.mark.parametrize("columns", [50, 120])
def test_help_is_as_wide_as_the_terminal(columns):
    """COLUMNS sizes the help, as argparse does; usage lines wrap within it."""
    completed = subprocess.run(
        [sys.executable, "-m", "sphinxext_rabbit", "dot", "--help"],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": str(columns)},
    )
    widths = [len(line) for line in completed.stdout.splitlines()]
    assert max(widths) <= columns
    assert max(widths) > columns - 30  # filled, not wrapped at a fixed narrower width


def test_console_script_is_installed():
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlib.metadata import entry_points; "
            "print([e.value for e in entry_points(group='console_scripts')"
            " if e.name == 'sphinxext-rabbit'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.strip() == "['sphinxext_rabbit.cli:run']"


def test_secrets_fixture_leaks_through_no_command(tmp_path):
    """tests/fixtures/secrets.json: every secret in it contains SECRET, and no name does."""
    path = str(FIXTURES / "secrets.json")
    assert "SECRET" in (FIXTURES / "secrets.json").read_text(encoding="utf-8")
    outputs = [cli(command, path, check=False) for command in ("dot", "edges", "check")]
    for completed in outputs:
        assert "SECRET" not in completed.stdout + completed.stderr
    assert "shovel local-to-remote" in outputs[0].stdout  # drawn, credentials gone
    image = tmp_path / "secrets.svg"
    cli("render", path, "-o", str(image))
    assert b"SECRET" not in image.read_bytes()
