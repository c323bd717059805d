"""Real definition files written by other people: every entity and binding is drawn."""

from __future__ import annotations

import json

import pytest

from tests.helpers import REAL_DEFINITIONS, cli, run_dot, svg_text

REAL_FILES = sorted(REAL_DEFINITIONS.glob("*.json")) if REAL_DEFINITIONS.is_dir() else []

pytestmark = pytest.mark.skipif(not REAL_FILES, reason="../shared/definitions/real is absent")


def declared(raw: dict):
    """(vhost, kind, name) of what the file declares, as the file says it."""
    single = raw.get("original_vhost_name")
    for kind in ("queues", "exchanges"):
        for item in raw.get(kind) or []:
            yield item.get("vhost", single), kind, item["name"]


@pytest.mark.parametrize("path", REAL_FILES, ids=[p.name for p in REAL_FILES])
def test_every_declared_entity_and_binding_is_drawn(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    edges = json.loads(cli("edges", str(path), check=False).stdout)
    drawn = {
        (e["vhost"], e["source"], e["destination"], e["destination_type"], e["routing_key"])
        for e in edges
        if e["kind"] == "binding"
    }
    single = raw.get("original_vhost_name")
    for binding in raw.get("bindings") or []:
        if binding["destination_type"] not in ("queue", "exchange"):
            continue  # invalid: reported by check, below
        key = (
            binding.get("vhost", single),
            binding["source"],
            binding["destination"],
            binding["destination_type"],
            binding["routing_key"],
        )
        assert key in drawn

    # (past the node budget alike queues are one node, and the table lists them)
    text = svg_text(run_dot(cli("dot", str(path), "--collapse", "none").stdout))
    for vhost, _kind, name in declared(raw):
        assert name in text, (vhost, name)
        if vhost is not None:
            assert vhost in text


def test_invalid_destination_type_is_an_error_in_check():
    path = REAL_DEFINITIONS / "rabbitmq__rabbitmq-server__failing_case28.json"
    completed = cli("check", str(path), check=False)
    assert completed.returncode == 1
    assert (
        f"{path}:26: error: bindings[0]: binding from 'x_demo_28' to 'q_demo_28' has "
        "destination_type '日本語_28'" in completed.stderr
    )
