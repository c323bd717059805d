"""The route command, run as a user runs it: its contract (flags, JSON keys, exit codes)."""

from __future__ import annotations

import json

from tests.helpers import ROOT, cli

SAMPLE = str(ROOT / "sample_docs" / "broker" / "definitions.json")


def route(*args: str, check: bool = True):
    return cli("route", SAMPLE, "--vhost", "/", *args, check=check)


def route_json(*args: str) -> dict:
    return json.loads(route(*args, "--json").stdout)


def test_json_answer_has_the_contracts_keys_and_the_path_in_the_shape_edges_prints():
    answer = route_json("--exchange", "orders.events", "--routing-key", "order.paid")
    assert answer["queues"] == ["audit.log", "ops.dashboard-feed", "orders.archive",
                                "orders.fulfilment", "orders.ready-to-ship"]
    assert answer["unroutable"] is False
    assert answer["problems"] == []
    edges = json.loads(cli("edges", SAMPLE, "--vhost", "/").stdout)
    # every edge of the path is one of the edges the edges command prints, as it prints it
    assert all(edge in edges for edge in answer["path"])
    assert [(e["source"], e["destination"]) for e in answer["path"]][-1] == (
        "audit.trail", "audit.log")  # exchanges route in order: audit.trail after orders.events


def test_text_answer_is_one_line_per_hop():
    lines = route("--exchange", "orders.events", "--routing-key",
                  "order.created").stdout.splitlines()
    assert lines[0] == "vhost /: exchange orders.events (topic), routing key order.created"
    assert "  exchange orders.events → queue orders.created (binding key order.created)" in lines
    assert ("  exchange orders.events → queue orders.archive (binding key order.# matches "
            "order.created)") in lines
    assert "  exchange audit.trail → queue audit.log (fanout exchange: every binding)" in lines
    assert lines[-1] == ("  queues: audit.log, ops.dashboard-feed, orders.archive, "
                         "orders.created")


def test_headers_keep_their_types_and_header_gives_strings():
    typed = route_json("--exchange", "notifications.outbound",
                       "--headers", '{"channel": "sms", "region": "eu"}')
    assert typed["queues"] == ["notifications.sms"]
    strings = route_json("--exchange", "notifications.outbound", "--header", "channel=sms",
                         "--header", "region=eu")
    assert strings["queues"] == ["notifications.sms"]
    # a number is not the string the binding holds
    assert route_json("--exchange", "notifications.outbound",
                      "--headers", '{"channel": "sms", "region": 1}')["unroutable"] is True


def test_default_exchange_cc_and_bcc():
    answer = route_json("--exchange", "", "--routing-key", "orders.dead",
                        "--cc", "orders.archive", "--bcc", "audit.log")
    assert answer["queues"] == ["audit.log", "orders.archive", "orders.dead"]
    assert {e["origin"] for e in answer["path"]} == {"implicit"}
    assert answer["routing_keys"] == ["orders.dead", "orders.archive", "audit.log"]


def test_alternate_exchange_and_unroutable():
    answer = route_json("--exchange", "inventory.events", "--routing-key", "nothing.bound")
    assert answer["queues"] == ["unrouted.inspect"]
    assert answer["path"][0]["kind"] == "alternate"
    assert answer["path"][0]["origin"] == "policy:inventory-unrouted"
    nothing = route_json("--exchange", "orders.commands", "--routing-key", "no.such.command")
    assert nothing == {**nothing, "queues": [], "unroutable": True, "path": []}


def test_one_of_lists_the_choice_and_queues_only_sure_ones():
    answer = route_json("--exchange", "inventory.events", "--routing-key", "product.42")
    assert answer["queues"] == [] and answer["unroutable"] is False
    assert answer["one_of"][0]["exchange"] == "search.sharded"
    assert answer["one_of"][0]["alternatives"] == [["search.indexer.1"], ["search.indexer.2"]]


def test_internal_exchange_is_refused():
    completed = route("--exchange", "audit.trail", "--json")
    answer = json.loads(completed.stdout)
    assert answer["refused"] is True and answer["unroutable"] is True
    assert answer["problems"][0]["code"] == "route-refused"


def test_dead_letter_follows_and_names_the_cycle():
    answer = route_json("--exchange", "orders.commands", "--routing-key", "payment.request",
                        "--dead-letter")
    assert answer["queues"] == ["orders.payment-requests"]
    first, second = answer["dead_letter"]
    assert first["queue"] == "orders.payment-requests"
    assert first["queues"] == ["orders.payment-retry"]
    assert first["path"][0]["kind"] == "dead-letter"
    assert second["cycle"] == ["orders.payment-requests", "orders.payment-retry",
                               "orders.payment-requests"]
    text = route("--exchange", "orders.commands", "--routing-key", "payment.request",
                 "--dead-letter").stdout
    assert "dead-lettered by queue orders.payment-retry:" in text
    # without the flag there is no dead-letter part (the contract's keys only, and one_of)
    assert "dead_letter" not in route_json("--exchange", "orders.commands")


def test_exit_codes():
    missing = route("--exchange", "no.such.exchange", check=False)
    assert missing.returncode == 1 and "'no.such.exchange' does not exist" in missing.stderr
    unreadable = cli("route", "no/such/file.json", "--vhost", "/", "--exchange", "x",
                     check=False)
    assert unreadable.returncode == 1 and unreadable.stdout == ""
    vhost = cli("route", SAMPLE, "--vhost", "nope", "--exchange", "x", check=False)
    assert vhost.returncode == 1
    assert route("--exchange", "", "--headers", "[1]", check=False).returncode == 2
    assert route("--exchange", "", "--header", "novalue", check=False).returncode == 2
    assert route("--exchange", "", "--headers", '{"n": null}', check=False).returncode == 2
    assert cli("route", SAMPLE, "--exchange", "", check=False).returncode == 2  # no --vhost
