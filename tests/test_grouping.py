"""Past the node budget a diagram groups alike queues: what the command line and a Sphinx
build show of sample_docs/large (248 queues), and of small sources (nothing grouped)."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys

from sphinxext_rabbit.output.grouping import Collapse, group_views
from sphinxext_rabbit.output.wording import KEY_IGNORED_TYPES, routed_keys
from sphinxext_rabbit.topology.model import Edge, Exchange, Queue, VhostTopology
from sphinxext_rabbit.topology.records import replace
from sphinxext_rabbit.topology.resolve import edge_sort_key
from tests.helpers import ROOT, cli, run_dot, svg_text, write_project

LARGE = "sample_docs/large/definitions.json"
SMALL = "sample_docs/broker/definitions.json"


def test_a_large_vhost_is_drawn_as_summary_nodes_that_dot_lays_out_readably():
    completed = cli("dot", LARGE)
    dot = completed.stdout
    # thirty workers bound from one exchange, names differing by digits: one node
    assert 'label="orders.worker.*\\n30 quorum queues, keys orders.* (31)"' in dot
    assert "orders.worker.07" not in dot.split("tooltip=")[0]
    # their sixty bindings one edge with a count, their dead-letters another
    assert 'label="keys orders.* (31)\\n×60"' in dot
    assert 'label="dead-letter\\n×30"' in dot
    assert completed.stderr.count("note: grouped for the node budget (40 nodes, 120 edges; "
                                  "--node-budget): 264 nodes drawn as 32: 240 queues as 8 "
                                  "groups") == 1
    assert "; 728 edges as 24; --collapse none" in completed.stderr
    assert "--collapse none" in completed.stderr
    svg = run_dot(dot)
    width, height = map(float, re.search(rb'width="([\d.]+)pt" height="([\d.]+)pt"',
                                         svg).groups())
    assert max(width, height) < 1000
    assert "orders.worker.*" in svg_text(svg)


def test_collapse_none_draws_every_queue_and_globs_group_only_those():
    every = cli("dot", LARGE, "--collapse", "none").stdout
    assert "orders.worker.07\\nquorum queue" in every and "×" not in every
    globbed = cli("dot", LARGE, "--collapse", "orders.worker.*").stdout
    assert "orders.worker.*\\n30 quorum queues" in globbed
    assert "payments.worker.07\\nquorum queue" in globbed
    refused = cli("dot", LARGE, "--collapse", "auto, x*", check=False)
    assert refused.returncode == 2 and "--collapse" in refused.stderr


def test_a_diagram_within_the_budget_is_drawn_as_it_was():
    for source in (SMALL, LARGE):
        selected = ["--vhost", "billing"] if source == SMALL else ["--include", "orders.*"]
        grouped = cli("dot", source, *selected)
        assert cli("dot", source, *selected, "--collapse", "none").stdout == grouped.stdout
        assert "note:" not in grouped.stderr and "×" not in grouped.stdout


def test_over_the_budget_even_after_grouping_is_a_node_budget_warning(tmp_path):
    # queues with nothing alike: names apart, each bound from its own exchange
    words = ["apple", "brook", "cedar", "delta", "ember", "fjord", "grove", "heron"]
    definitions = {
        "exchanges": [{"name": f"{word}-in", "vhost": "/", "type": "direct"} for word in words],
        "queues": [{"name": word, "vhost": "/"} for word in words],
        "bindings": [{"source": f"{word}-in", "vhost": "/", "destination": word,
                      "destination_type": "queue", "routing_key": word} for word in words]}
    path = tmp_path / "apart.json"
    path.write_text(json.dumps(definitions), encoding="utf-8")
    completed = cli("dot", str(path), "--node-budget", "10")
    assert ("warning: the diagram has 16 nodes even after grouping, more than its node "
            "budget (10), too many to read; draw a part with --focus or --include"
            ) in completed.stderr
    assert completed.stderr.count("[rabbitmq.node-budget]") == 1
    run_dot(completed.stdout)


def test_render_writes_no_picture_larger_than_max_side(tmp_path):
    output = tmp_path / "large.svg"
    refused = cli("render", LARGE, "--collapse", "none", "-o", str(output), check=False)
    assert refused.returncode == 1
    assert re.search(r"error: the picture would be [\d.]+ × [\d.]+ pt, more than --max-side "
                     r"\(4000 pt\) on a side.*was not written", refused.stderr)
    assert not output.exists() and list(tmp_path.iterdir()) == []
    cli("render", LARGE, "-o", str(output))
    assert b"orders.worker.*" in output.read_bytes()
    png = tmp_path / "large.png"
    refused = cli("render", LARGE, "--max-side", "300", "-o", str(png), check=False)
    assert refused.returncode == 1 and not png.exists()


def test_mermaid_and_the_text_fallback_group_alike():
    mermaid = cli("mermaid", LARGE).stdout
    assert '[["orders.worker.#42;<br>30 quorum queues, keys orders.#42; (31)"]]' in mermaid
    # 8 exchanges to their groups, 8 groups dead-lettering, 8 dead-letter bindings
    assert len(re.findall(r"^  n\d+ [-.=]+>", mermaid, re.MULTILINE)) == 24


def test_sphinx_groups_links_to_the_groups_table_and_folds_the_long_bindings_table(tmp_path):
    root = write_project(tmp_path / "src", {"large": (
        ".. rabbitmq-topology:: definitions.json\n\n"
        ".. rabbitmq-topology:: definitions.json\n   :collapse: none\n   :node-budget: 300\n"
        "   :show: diagram\n")})
    (root / "definitions.json").write_text((ROOT / LARGE).read_text(encoding="utf-8"),
                                           encoding="utf-8")
    out = tmp_path / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", str(root), str(out)],
        capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "WARNING" not in completed.stderr
    # said once, for the one diagram that grouped
    assert completed.stdout.count("grouped for the node budget (40 nodes, 120 edges; "
                                  ":node-budget: or rabbitmq_topology_node_budget)") == 1
    # the names as written, without the line-break opportunities (<wbr>) tables give them
    html = (out / "large.html").read_text(encoding="utf-8").replace(
        '</span><wbr><span class="pre">', "")
    row = re.search(r'<tr class="[^"]*" id="(rabbitmq-groups-0-\d+)">\s*<td><p><code[^>]*>'
                    r'<span class="pre">orders.worker.\*</span>', html)
    assert row, "no row of the groups table for orders.worker.*"
    assert "orders.worker.30" in html
    images = sorted((out / "_images").glob("rabbitmq-*.svg"))
    linked = [image.read_text(encoding="utf-8") for image in images]
    assert any(f'xlink:href="../large.html#{row.group(1)}"' in svg for svg in linked)
    assert html.count("<details") == 1
    assert '<summary>All 488 bindings</summary>' in html
    short, full = html.split("<details", 1)
    assert "Bindings, by source exchange" in short and "orders.events" in short
    assert full.count("orders.worker.") >= 60


def test_singlehtml_summary_nodes_link_to_their_rows_in_the_one_page(tmp_path):
    root = write_project(tmp_path / "src", {"large": ".. rabbitmq-topology:: definitions.json\n"})
    (root / "definitions.json").write_text((ROOT / LARGE).read_text(encoding="utf-8"),
                                           encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "singlehtml", str(root),
                    str(out)], check=True, timeout=300)
    page = (out / "index.html").read_text(encoding="utf-8")
    [svg] = [image.read_text(encoding="utf-8") for image in (out / "_images").glob("*.svg")]
    rows = re.findall(r'xlink:href="\.\./index\.html#(rabbitmq-groups-[0-9-]+)"', svg)
    assert rows, "no summary node links to its row"
    assert all(f'id="{row}"' in page for row in rows)
    assert "#document-" not in svg


def test_text_and_latex_builds_list_every_binding(tmp_path):
    root = write_project(tmp_path / "src", {"large": ".. rabbitmq-topology:: definitions.json\n"})
    (root / "definitions.json").write_text((ROOT / LARGE).read_text(encoding="utf-8"),
                                           encoding="utf-8")
    for builder in ("text", "latex"):
        subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", builder, str(root),
                        str(tmp_path / builder)], check=True, timeout=300)
    text = (tmp_path / "text" / "large.txt").read_text(encoding="utf-8")
    assert "queue group orders.worker.* (30 quorum queues" in text
    assert text.count('"orders.shard07.*"') == 1  # the full bindings table, once
    assert "by source exchange" in text
    [latex] = (tmp_path / "latex").glob("*.tex")
    assert latex.read_text(encoding="utf-8").count("shard") == 240  # every keyed binding


def write(tmp_path, definitions: dict) -> str:
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps(definitions), encoding="utf-8")
    return str(path)


def test_a_repeated_dead_letter_fan_through_the_default_exchange_groups_too(tmp_path):
    # each worker dead-letters to its own parking queue, by name through the default exchange
    queues, bindings = [], []
    for number in range(1, 26):
        worker = f"jobs.worker-{number}"
        queues += [{"name": worker, "vhost": "/", "arguments": {
                        "x-dead-letter-exchange": "", "x-dead-letter-routing-key":
                        f"{worker}.parked"}},
                   {"name": f"{worker}.parked", "vhost": "/"}]
        bindings.append({"source": "jobs", "vhost": "/", "destination": worker,
                         "destination_type": "queue", "routing_key": f"job.{number}"})
    path = write(tmp_path, {"exchanges": [{"name": "jobs", "vhost": "/", "type": "direct"}],
                            "queues": queues, "bindings": bindings})
    completed = cli("dot", path, "--node-budget", "10")
    dot = completed.stdout
    assert 'label="jobs.worker-*\\n25 classic queues, keys job.* (25)"' in dot
    # the parking queues receive from the group alone: the next pass groups them
    assert 'label="jobs.worker-*.parked\\n25 classic queues"' in dot
    assert ('label="dead-letter via default exchange\\nkeys jobs.worker-*.parked (25)\\n×25"'
            in dot)
    assert "51 nodes drawn as 3: 50 queues as 2 groups" in completed.stderr
    assert "node-budget]" not in completed.stderr
    run_dot(dot)


def test_exchanges_alike_are_grouped_when_queues_alone_stay_over_the_budget(tmp_path):
    # 30 services, each an exchange and two queues of its own: 90 nodes, 60 when the queues
    # of a service are one; over 40, so the exchanges are grouped and the queues again
    exchanges, queues, bindings = [], [], []
    for number in range(30):
        exchange = f"svc{number:02d}.events"
        exchanges.append({"name": exchange, "vhost": "/", "type": "topic"})
        for part in ("a", "b"):
            queue = f"svc{number:02d}.{part}"
            queues.append({"name": queue, "vhost": "/"})
            bindings.append({"source": exchange, "vhost": "/", "destination": queue,
                             "destination_type": "queue", "routing_key": f"svc{number:02d}.#"})
    completed = cli("dot", write(tmp_path, {"exchanges": exchanges, "queues": queues,
                                            "bindings": bindings}))
    assert 'label="svc*.events\\n30 topic exchanges"' in completed.stdout
    assert "90 nodes drawn as" in completed.stderr
    assert "30 exchanges as 1 group (svc*.events)" in completed.stderr
    assert "node-budget]" not in completed.stderr
    run_dot(completed.stdout)


def test_an_invalid_collapse_option_is_an_option_warning(tmp_path):
    root = write_project(tmp_path / "src", {"page": (
        ".. rabbitmq-topology:: definitions.json\n   :collapse: none, orders.*\n")})
    (root / "definitions.json").write_text((ROOT / SMALL).read_text(encoding="utf-8"),
                                           encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(root), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False)
    assert "page.rst:4: ERROR: Error in \"rabbitmq-topology\" directive" in completed.stderr
    assert "'none, orders.*' is not auto, none, or comma-separated queue name globs" in (
        completed.stderr)


def test_the_note_counts_edges_to_another_vhosts_node_as_the_dot_draws_them(tmp_path):
    # twelve workers in vhost "jobs" (one group), each with two shovels to one exchange of
    # vhost "audit": the DOT draws the 24 shovels between the boxes one by one
    queues = [{"name": f"jobs.worker-{number:02d}", "vhost": "jobs"} for number in range(12)]
    bindings = [{"source": "work", "vhost": "jobs", "destination": queue["name"],
                 "destination_type": "queue", "routing_key": "job"} for queue in queues]
    shovels = [{"vhost": "jobs", "component": "shovel", "name": f"{queue['name']}-{copy}",
                "value": {"src-uri": "amqp:///jobs", "src-queue": queue["name"],
                          "dest-uri": "amqp:///audit", "dest-exchange": "trail"}}
               for queue in queues for copy in ("a", "b")]
    path = write(tmp_path, {
        "vhosts": [{"name": "jobs"}, {"name": "audit"}],
        "exchanges": [{"name": "work", "vhost": "jobs", "type": "direct"},
                      {"name": "trail", "vhost": "audit", "type": "fanout"}],
        "queues": queues, "bindings": bindings, "parameters": shovels})
    completed = cli("dot", path, "--node-budget", "5")
    edges = [line for line in completed.stdout.splitlines() if " -> " in line]
    shovels_drawn = [line for line in edges if "shovel" in line]
    assert len(shovels_drawn) == 24
    note = re.search(r"(\d+) edges as (\d+)", completed.stderr)
    assert note is not None, completed.stderr
    assert (int(note[1]), int(note[2])) == (36, len(edges))
    run_dot(completed.stdout)


def _grouping_of(view, show_default_exchange, budget):
    """What group_views makes of *view*, in terms that do not depend on its edges' order:
    each group, and each route's edges as their indices in the view."""
    grouped = group_views([view], Collapse(), budget, show_default_exchange=show_default_exchange)
    (grouping,) = grouped.groupings
    names = {id(group): group.name for group in grouping.groups}
    position = {id(edge): number for number, edge in enumerate(view.edges)}
    routes = {(names.get(source, source), names.get(target, target), kind, shortcut):
              sorted(position[id(edge)] for edge in edges)
              for (source, target, kind, shortcut), edges in grouping.routes.items()}
    return ([(group.name, group.members, group.types, group.keys) for group in grouping.groups],
            routes, grouped.nodes_after, grouped.edges_after)


def _tricky_view():
    """A view whose edges meet what grouping looks up once per run of edges from one
    source: one name as an exchange and as a queue, one source with two kinds of edge,
    routes through the default exchange (straight to a queue, or to a missing one),
    headers and fanout bindings (no keys) and x-match arguments."""
    exchanges = {name: Exchange("/", name, kind) for name, kind in
                 [("a.1", "topic"), ("a.2", "topic"), ("h", "headers"), ("f", "fanout"),
                  ("q.1", "direct")]}
    queues = {f"q.{n}": Queue("/", f"q.{n}") for n in range(1, 9)}
    queues["dlx.1"] = Queue("/", "dlx.1")
    queues["dlx.2"] = Queue("/", "dlx.2")

    def edge(kind, source_type, source, destination_type, destination, key=None, **arguments):
        return Edge(kind, "/", source, source_type, destination, destination_type, key,
                    arguments, ("binding", None) if kind == "binding" else ("policy", "p"))

    edges = []
    for n in range(1, 9):
        edges.append(edge("binding", "exchange", "a.1" if n % 2 else "a.2", "queue",
                          f"q.{n}", f"k.{n}"))
        edges.append(edge("binding", "exchange", "h", "queue", f"q.{n}", None,
                          **{"x-match": "any"}))
        edges.append(edge("binding", "exchange", "q.1", "queue", f"q.{n}", "same",
                          **({"x-match": "all"} if n == 3 else {})))
        edges.append(edge("dead-letter", "queue", f"q.{n}", "exchange", "f"))
        edges.append(edge("dead-letter", "queue", f"q.{n}", "exchange", "", f"dlx.{n % 2 + 1}"))
        edges.append(edge("alternate", "queue", f"q.{n}", "exchange", "", "nowhere"))
    edges.append(edge("binding", "exchange", "f", "queue", "dlx.1", "ignored"))
    edges.append(edge("shovel", "exchange", "q.1", "queue", "q.2"))
    edges.append(edge("shovel", "queue", "q.1", "queue", "q.3"))
    edges.append(edge("binding", "exchange", "f", "queue", "dlx.2", "ignored"))
    return VhostTopology("/", exchanges, queues, edges=edges)


def test_grouping_does_not_depend_on_the_order_of_the_edges():
    # Edges come sorted by kind and source, and grouping looks a run's source up once;
    # in any other order it must find the same groups and routes.
    view = _tricky_view()
    view.edges.sort(key=edge_sort_key)
    for show_default_exchange, budget in itertools.product((False, True), (4, 12)):
        expected = _grouping_of(view, show_default_exchange, budget)
        assert any(keys for _name, _members, _types, keys in expected[0])
        if budget == 12:  # queues bound from a.1 and from a.2 are not alike
            assert [members for _name, members, _types, _keys in expected[0]] == [
                ["q.1", "q.5", "q.7"], ["q.4", "q.6", "q.8"]]
        for seed in range(5):
            edges = view.edges.copy()
            random.Random(seed).shuffle(edges)
            shuffled = replace(view, edges=edges)
            position = {id(edge): view.edges.index(edge) for edge in edges}
            groups, routes, nodes, drawn_edges = _grouping_of(shuffled, show_default_exchange,
                                                              budget)
            assert (groups, nodes, drawn_edges) == (expected[0], expected[2], expected[3])
            assert {route: sorted(position[id(shuffled.edges[index])] for index in indices)
                    for route, indices in routes.items()} == expected[1]


def test_the_keys_a_group_shows_are_those_its_exchanges_route_by():
    def binding(key, arguments=None):
        return Edge("binding", "/", "x", "exchange", "q", "queue", key, arguments or {},
                    ("binding", None))

    edges = [binding("a.1"), binding("a.1"), binding(None), binding("b", {"x-match": "any"}),
             binding("c", {"x-max-priority": 3})]
    # a topic or direct exchange routes by the keys: each once, not a headers binding's
    assert routed_keys(edges, "topic") == routed_keys(edges, "direct") == {"a.1", "c"}
    assert routed_keys(edges, None) == {"a.1", "c"}  # an exchange the view lacks
    # a headers exchange routes by headers, a fanout by nothing: no keys to show
    assert routed_keys(edges, "headers") == set()
    for exchange_type in KEY_IGNORED_TYPES:
        assert routed_keys(edges, exchange_type) == set()
