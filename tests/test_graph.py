"""Tests for graph.py: the DOT it writes must render, and show what a reader needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.output.dot import dot_string, to_dot
from sphinxext_rabbit.output.text import to_text
from sphinxext_rabbit.output.wording import visible
from sphinxext_rabbit.topology.model import Edge, Exchange, Policy, Queue, VhostTopology
from sphinxext_rabbit.topology.records import replace
from sphinxext_rabbit.topology.resolve import edge_sort_key

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
DOT = shutil.which("dot")
PURE = shutil.which("graphviz-pure") or shutil.which(
    "graphviz-pure", path=str(Path(sys.executable).parent)
)
ENGINES = [pytest.param(engine, id=Path(engine).name) for engine in (DOT, PURE) if engine]
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz dot is not installed")

NASTY_NAMES = [
    'say "hi"',
    "back\\slash",
    "ends with \\",
    "\\N\\G\\E\\L\\n\\l\\\\",
    "<script>alert(1)</script>",
    "{brace} [x]; a -> b",
    "node",
    "graph",
    "edge",
    "subgraph",
    "ünïcødé ✓ 日本語 🐇",
    "q" * 255,
    "é" * 127 + "a",  # 255 bytes of UTF-8
    "a&amp;b &#38; &lt;",
    "tab\there bell\x07 del\x7f",
    "two\nlines",
    "json lone \ud800 surrogate",
    "a--b ... 'single'",
]


def binding(
    source: str,
    destination: str,
    key: str | None = "",
    *,
    destination_type: str = "queue",
    arguments: dict | None = None,
    vhost: str = "/",
) -> Edge:
    return Edge(
        "binding",
        vhost,
        source,
        "exchange",
        destination,
        destination_type,
        key,
        arguments or {},
        ("binding", None),
    )


def edge(
    kind: str,
    source: tuple[str, str],
    destination: tuple[str, str],
    key: str | None = None,
    origin: tuple = ("queue-argument", None),
    arguments: dict | None = None,
) -> Edge:
    return Edge(
        kind,
        "/",
        source[1],
        source[0],
        destination[1],
        destination[0],
        key,
        arguments or {},
        origin,
    )


def view_of(
    *entities: Exchange | Queue, edges: Sequence[Edge] = (), vhost: str = "/", **fields
) -> VhostTopology:
    view = VhostTopology(vhost, edges=sorted(edges, key=edge_sort_key), **fields)
    for entity in entities:
        target = view.exchanges if isinstance(entity, Exchange) else view.queues
        target[entity.name] = entity
    return view


def render(dot: str, engine: str | None = DOT) -> ET.Element:
    """Run Graphviz on *dot*; it must succeed and give well-formed SVG."""
    assert engine is not None
    result = subprocess.run([engine, "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return ET.fromstring(result.stdout)


def text_of(svg: ET.Element) -> str:
    return "".join(svg.itertext())


def groups(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [group for group in svg.iter(f"{SVG}g") if group.get("class") == kind]


def drawn_text(group: ET.Element) -> str:
    """The text a node or edge shows (its title and tooltips left out)."""
    return "".join("".join(text.itertext()) for text in group.iter(f"{SVG}text"))


def group_with_text(svg: ET.Element, kind: str, text: str) -> ET.Element:
    """The node or edge group whose drawn text includes *text*."""
    found = [group for group in groups(svg, kind) if text in drawn_text(group)]
    assert len(found) == 1, f"{len(found)} {kind}s show {text!r}"
    return found[0]


def outline(group: ET.Element) -> ET.Element:
    """The first drawn shape (the edge's path, the node's outline) of a group."""
    return next(
        element
        for element in group.iter()
        if element.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse")
    )


def tooltips(svg: ET.Element) -> list[str]:
    return [
        element.get(XLINK_TITLE) for element in svg.iter() if element.get(XLINK_TITLE) is not None
    ]


def sample_view() -> VhostTopology:
    dlx_policy = Policy("/", "dlx-all", ".*", "queues", {"dead-letter-exchange": "dlx"}, 1)
    view = view_of(
        Exchange("/", "orders", "topic"),
        Exchange("/", "by-header", "headers"),
        Exchange("/", "spread", "fanout"),
        Exchange("/", "ring", "x-consistent-hash"),
        Exchange("/", "dlx", "direct", arguments={"alternate-exchange": "unrouted"}),
        Exchange("/", "amq.topic", "topic", origin="builtin"),
        Exchange("/", "ghost", origin="missing"),
        Queue("/", "orders.created", "quorum", arguments={"x-queue-type": "quorum"}),
        Queue("/", "audit", "stream"),
        Queue("/", "tmp", exclusive=True, auto_delete=True, durable=False),
        edges=[
            binding("orders", "orders.created", "order.created"),
            binding(
                "by-header", "audit", "ignored-key", arguments={"x-match": "any", "format": "pdf"}
            ),
            binding("spread", "audit", "whatever"),
            binding("ring", "tmp", "3"),
            binding("ghost", "tmp", "lost"),
            binding("amq.topic", "orders", "#", destination_type="exchange"),
            edge(
                "dead-letter",
                ("queue", "orders.created"),
                ("exchange", "dlx"),
                "dead",
                ("policy", "dlx-all"),
            ),
            edge(
                "alternate",
                ("exchange", "dlx"),
                ("exchange", "unrouted"),
                origin=("exchange-argument", None),
            ),
            edge(
                "shovel",
                ("queue", "audit"),
                ("external", "amqp://archive/%2F queue audit"),
                origin=("parameter", "to-archive"),
            ),
            edge(
                "federation",
                ("external", "amqp://upstream/%2F exchange orders"),
                ("exchange", "orders"),
                origin=("policy", "federate"),
            ),
        ],
        externals={"amqp://archive/%2F queue audit", "amqp://upstream/%2F exchange orders"},
        stubs={("exchange", "unrouted")},
        policies=[dlx_policy],
    )
    view.effective_policies[("queue", "orders.created")] = dlx_policy
    return view


@needs_dot
@pytest.mark.parametrize("engine", ENGINES)
def test_nasty_names_render_intact(engine: str) -> None:
    names = NASTY_NAMES
    view = view_of(
        *(Exchange("/", f"x {name}", "direct") for name in names),
        *(Queue("/", name) for name in names),
        edges=[binding(f"x {name}", name, f"key {name}") for name in names],
        vhost='vhost "quoted" \\ {}',
    )
    svg = render(to_dot([view], legend=True, graph_name='my "graph" {}'), engine)
    shown = text_of(svg)
    titles = "\n".join(tooltips(svg))
    for name in names:
        for text in (visible(name), f"x {visible(name)}", f"key {visible(name)}"):
            assert text in shown
            assert text in titles
    # control characters are shown as escapes, never written raw
    assert "\\x07" in shown and "\\x0a" in shown and "\\ud800" in shown
    assert "\x07" not in shown


def test_dot_mentions_names_only_inside_quoted_strings() -> None:
    view = view_of(
        Queue("/", "node"),
        Exchange("/", "graph"),
        edges=[binding("graph", "node", "edge")],
        stubs={("queue", "subgraph")},
    )
    statement = re.compile(
        r'^(digraph "[^"]*" \{|(graph|node|edge) \[.*\];|'
        r"v0_[a-z]+\d+ (-> v0_[a-z]+\d+ )?\[.*\];|\})$"
    )
    for line in to_dot([view]).splitlines():
        assert statement.match(line), line


def test_same_input_gives_identical_dot() -> None:
    forward = sample_view()
    backward = sample_view()
    backward.exchanges = dict(reversed(backward.exchanges.items()))
    backward.queues = dict(reversed(backward.queues.items()))
    backward.externals = set(reversed(sorted(backward.externals)))
    assert to_dot([forward], legend=True) == to_dot([backward], legend=True)
    assert to_text([forward]) == to_text([backward])


@needs_dot
def test_labels_show_names_types_and_flags() -> None:
    svg = render(to_dot([sample_view()]))
    shown = text_of(svg)
    for text in (
        "orders",
        "topic",
        "orders.created",
        "quorum queue",
        "audit",
        "stream",
        "exclusive, auto-delete, durable=false",
        "x-consistent-hash",
    ):
        assert text in shown
    node = group_with_text(svg, "node", "amq.topic")
    assert "built-in" in "".join(node.itertext())
    assert outline(node).get("stroke") == "#404040"  # gray25


@needs_dot
def test_headers_binding_shows_arguments_not_key() -> None:
    svg = render(to_dot([sample_view()]))
    label = group_with_text(svg, "edge", "x-match=any")
    assert "format=pdf" in "".join(label.itertext())
    assert "ignored-key" not in text_of(svg)


@needs_dot
def test_binding_labels_by_exchange_type() -> None:
    svg = render(to_dot([sample_view()]))
    shown = text_of(svg)
    assert "order.created" in shown
    assert "weight 3" in shown
    assert "whatever" not in shown  # fanout ignores the key


def test_headers_binding_defaults_to_match_all_and_nested_values_are_compact_json() -> None:
    view = view_of(
        Exchange("/", "h", "headers"),
        Queue("/", "q"),
        edges=[binding("h", "q", arguments={"b": {"z": [1, None], "a": True}, "a": "x"})],
    )
    dot = to_dot([view])
    assert 'label="x-match=all\\na=x\\nb={\\"a\\":true,\\"z\\":[1,null]}"' in dot


@needs_dot
def test_edge_kinds_have_distinct_styles() -> None:
    svg = render(to_dot([sample_view()]))
    looks = {}
    for label in ("order.created", "dead-letter", "alternate", "shovel to-archive", "federation"):
        path = outline(group_with_text(svg, "edge", label))
        looks[label] = (path.get("stroke"), path.get("stroke-dasharray"), path.get("stroke-width"))
    assert looks["order.created"] == ("black", None, None)
    assert looks["dead-letter"] == ("#c00000", "5,2", "1.5")
    assert looks["alternate"][0] == "#994d00" and looks["alternate"][1] == "1,5"
    assert looks["shovel to-archive"] == ("blue", None, "2")
    assert looks["federation"] == ("#8020c0", "5,2", "2")
    assert len(set(looks.values())) == len(looks)


@needs_dot
def test_stubs_missing_and_externals_are_marked() -> None:
    svg = render(to_dot([sample_view()]))
    stub = group_with_text(svg, "node", "↗ unrouted")
    assert outline(stub).get("stroke-dasharray") == "1,5"
    missing = group_with_text(svg, "node", "ghost")
    assert "missing" in "".join(missing.itertext())
    assert outline(missing).get("stroke") == "#c00000"
    assert outline(missing).get("stroke-dasharray") == "5,2"
    external = group_with_text(svg, "node", "amqp://archive/%2F queue audit")
    assert "external" in "".join(external.itertext())


def test_endpoints_outside_the_view_are_drawn_as_stubs() -> None:
    view = view_of(Queue("/", "q"), edges=[binding("elsewhere", "q", "k")])
    dot = to_dot([view])
    assert 'label="↗ elsewhere"' in dot
    assert "v0_s1 -> v0_q0" in dot


@needs_dot
def test_tooltips_carry_full_details() -> None:
    svg = render(to_dot([sample_view()]))
    titles = tooltips(svg)
    queue = next(title for title in titles if title.startswith("queue orders.created"))
    assert queue.splitlines() == [
        "queue orders.created",
        "vhost /",
        "quorum queue",
        'arguments {"x-queue-type":"quorum"}',
        "policy dlx-all",
    ]
    dead = next(title for title in titles if title.startswith("dead-letter:"))
    assert dead.splitlines() == [
        "dead-letter: queue orders.created -> exchange dlx",
        "vhost /",
        "routing key dead",
        "from policy dlx-all",
    ]


#: (an exchange or queue, changes to one of its fields): together they change every field
#: but the vhost and the name, and arguments also by JSON type alone
ALIKE_BUT_FOR = [
    (Exchange("/", "a", "direct"), {"type": "topic"}),
    (Exchange("/", "a", "direct"), {"durable": False}),
    (Exchange("/", "a", "direct"), {"auto_delete": True}),
    (Exchange("/", "a", "direct"), {"internal": True}),
    (Exchange("/", "a", "direct"), {"origin": "builtin"}),
    (Exchange("/", "a", "direct"), {"origin": "missing"}),
    (Exchange("/", "a", "direct"), {"arguments": {"alternate-exchange": "b"}}),
    (
        Exchange("/", "a", "x-delayed-message", arguments={"x-delayed-type": "topic"}),
        {"arguments": {"x-delayed-type": "fanout"}},
    ),
    (Queue("/", "a"), {"type": "quorum"}),
    (Queue("/", "a"), {"durable": False}),
    (Queue("/", "a"), {"auto_delete": True}),
    (Queue("/", "a"), {"exclusive": True}),
    (Queue("/", "a"), {"origin": "shovel"}),
    (Queue("/", "a"), {"origin": "missing"}),
    (Queue("/", "a"), {"stats": {"messages": 3}}),
    (Queue("/", "a", arguments={"x-max-length": 1}), {"arguments": {"x-max-length": True}}),
    (Queue("/", "a", arguments={"x-max-length": 1}), {"arguments": {"x-max-length": "1"}}),
    (Queue("/", "a", arguments={"x-max-length": 1}), {"arguments": {"x-max-length": 1.0}}),
]


def node_statement(dot: str, node_type: str, name: str) -> str:
    """The statement of node *name*, but for its ID."""
    line = next(line for line in dot.splitlines() if f'tooltip="{node_type} {name}\\n' in line)
    return line.split(" ", 1)[1]


@pytest.mark.parametrize(
    ("entity", "changes"),
    ALIKE_BUT_FOR,
    ids=[f"{type(entity).__name__}-{next(iter(changes))}" for entity, changes in ALIKE_BUT_FOR],
)
def test_nodes_alike_but_for_one_field_are_each_drawn_as_when_alone(
    entity: Exchange | Queue, changes: dict
) -> None:
    """Nodes share what they show besides their names: no field may go unseen."""
    other = replace(entity, name="b", **changes)
    node_type = "exchange" if isinstance(entity, Exchange) else "queue"
    together = to_dot([view_of(entity, other)])
    assert node_statement(together, node_type, "b") == node_statement(
        to_dot([view_of(other)]), node_type, "b"
    )


def test_alike_nodes_cover_every_field() -> None:
    changed = {field for _, changes in ALIKE_BUT_FOR for field in changes}
    fields = {*Exchange.__slots__, *Queue.__slots__} - {"vhost", "name"}
    assert changed == fields


def test_nodes_alike_but_for_their_policies_show_their_own() -> None:
    policy = Policy("/", "p", "^b$", "queues", {"max-length": 1}, 1)
    view = view_of(
        Queue("/", "a"),
        Queue("/", "b"),
        effective_policies={("queue", "b"): policy},
        effective_operator_policies={("queue", "a"): policy},
    )
    dot = to_dot([view])
    assert node_statement(dot, "queue", "a").endswith('\\noperator policy p"];')
    assert node_statement(dot, "queue", "b").endswith('\\npolicy p"];')


def dead_letter_to_default(key: str | None) -> VhostTopology:
    return view_of(
        Queue("/", "work"),
        Queue("/", "work.retry"),
        edges=[edge("dead-letter", ("queue", "work"), ("exchange", ""), key)],
    )


@needs_dot
def test_dead_letter_through_default_exchange_goes_straight_to_the_queue() -> None:
    svg = render(to_dot([dead_letter_to_default("work.retry")]))
    shown = text_of(svg)
    assert "(default exchange)" not in shown
    route = group_with_text(svg, "edge", "dead-letter via default exchange")
    assert route.find(f"{SVG}title").text == "v0_q0->v0_q1"


@needs_dot
def test_dead_letter_to_default_exchange_without_key_draws_it() -> None:
    svg = render(to_dot([dead_letter_to_default(None)]))
    node = group_with_text(svg, "node", "(default exchange)")
    assert outline(node).get("fill") == "#f2f2f2"
    assert group_with_text(svg, "edge", "dead-letter") is not None


@needs_dot
def test_show_default_exchange_draws_its_implicit_routes() -> None:
    svg = render(to_dot([dead_letter_to_default("work.retry")], show_default_exchange=True))
    group_with_text(svg, "node", "(default exchange)")
    for name in ("work", "work.retry"):
        route = [group for group in groups(svg, "edge") if drawn_text(group) == name]
        assert len(route) == 1
        assert outline(route[0]).get("stroke") == "#737373"  # gray45
    assert "via default exchange" not in text_of(svg)


def test_default_exchange_also_routes_to_named_queues_outside_the_selection() -> None:
    view = view_of(
        Queue("/", "work"),
        edges=[edge("dead-letter", ("queue", "work"), ("exchange", ""), "parked")],
        stubs={("queue", "parked")},
    )
    shortcut = to_dot([view])
    assert 'v0_q0 -> v0_s1 [label="dead-letter via default exchange\\nparked"' in shortcut
    drawn = to_dot([view], show_default_exchange=True)
    assert 'v0_x0 -> v0_s2 [label="parked"' in drawn
    assert 'v0_x0 -> v0_q1 [label="work"' in drawn


def test_unreferenced_default_exchange_is_hidden_unless_asked() -> None:
    view = view_of(Exchange("/", "", origin="builtin"), Queue("/", "q"))
    assert "(default exchange)" not in to_dot([view])
    assert "(default exchange)" in to_dot([view], show_default_exchange=True)


@needs_dot
@pytest.mark.parametrize(
    "views", [[], [VhostTopology("/")], [VhostTopology("a"), VhostTopology("b")]]
)
def test_empty_views_still_render(views: list[VhostTopology]) -> None:
    svg = render(to_dot(views, legend=True))
    assert "nothing selected" in text_of(svg)


@needs_dot
def test_several_vhosts_are_boxed_and_kept_apart() -> None:
    first = view_of(Queue("a", "q"), vhost="a")
    second = view_of(
        Queue("b", "q"), Exchange("b", "x"), edges=[binding("x", "q", "k", vhost="b")], vhost="b"
    )
    dot = to_dot([first, second])
    svg = render(dot)
    clusters = {"".join(group.find(f"{SVG}text").itertext()) for group in groups(svg, "cluster")}
    assert clusters == {"vhost a", "vhost b"}
    assert "v0_q0" in dot and "v1_x0 -> v1_q1" in dot
    single = to_dot([first])
    assert "cluster" not in single


@needs_dot
def test_legend_lists_only_what_is_drawn() -> None:
    view = view_of(Exchange("/", "x", "fanout"), Queue("/", "q"), edges=[binding("x", "q")])
    shown = text_of(render(to_dot([view], legend=True)))
    assert "Legend" in shown and "fanout exchange" in shown and "classic queue" in shown
    assert "shovel" not in shown and "topic exchange" not in shown
    assert "Legend" not in text_of(render(to_dot([view])))
    full = text_of(render(to_dot([sample_view()], legend=True)))
    for text in (
        "dead-letter",
        "alternate exchange",
        "shovel",
        "federation",
        "built-in exchange",
        "missing: referenced, not declared",
        "↗ outside this selection",
        "external endpoint",
    ):
        assert text in full


def test_layout() -> None:
    assert 'rankdir="TB"' in to_dot([sample_view()], layout="TB")
    assert 'rankdir="LR"' in to_dot([sample_view()])
    with pytest.raises(ValueError, match="layout"):
        to_dot([sample_view()], layout="sideways")


def test_dot_string_escapes() -> None:
    assert dot_string('a"b\\c') == '"a\\"b\\\\c"'
    assert dot_string("one\ntwo") == '"one\\ntwo"'
    assert dot_string("&amp;") == '"&#38;amp;"'
    assert dot_string("bell\x07") == '"bell\\\\x07"'
    assert dot_string("\\", tooltip=True) == '"\\\\\\\\"'


def same_spacing(text: str) -> str:
    """Graphviz writes runs of spaces as space + no-break space; compare them as spaces."""
    return text.replace("\xa0", " ")


@needs_dot
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=60, deadline=None)
@given(text=st.text() | st.text(alphabet='\\"&;#<>{}\n \tNGELnlr0x7', max_size=30))
def test_dot_string_is_accepted_and_displayed_exactly(engine: str, text: str) -> None:
    svg = render(
        f"digraph {{ a [label={dot_string(text)}, tooltip={dot_string(text, tooltip=True)}] }}",
        engine,
    )
    node = groups(svg, "node")[0]
    expected = [same_spacing(visible(line)) for line in text.split("\n")]
    assert [same_spacing(tip) for tip in tooltips(node)] == (["\n".join(expected)] if text else [])
    # a label loses blank lines and end spaces to layout, never other characters
    lines = [
        same_spacing("".join(element.itertext())).strip(" ") for element in node.iter(f"{SVG}text")
    ]
    assert [line for line in lines if line] == [
        line.strip(" ") for line in expected if line.strip(" ")
    ]


def test_to_text() -> None:
    view = view_of(
        Exchange("/", "orders", "topic"),
        Exchange("/", "h", "headers"),
        Exchange("/", "ghost", origin="missing"),
        Queue("/", "orders.created"),
        Queue("/", "lonely"),
        edges=[
            binding("orders", "orders.created", "order.created"),
            binding("h", "orders.created", arguments={"x-match": "all", "kind": "a"}),
            binding("ghost", "orders.created", "k"),
            edge(
                "dead-letter", ("queue", "orders.created"), ("exchange", ""), "retry",
                ("policy", "dl")
            ),
            edge(
                "alternate", ("exchange", "orders"), ("exchange", "far"),
                origin=("exchange-argument", None)
            ),
        ],
        stubs={("exchange", "far")},
    )
    assert to_text([view, VhostTopology("empty")]) == (
        "vhost /\n"
        "  exchange orders -> exchange far (not selected) [alternate; exchange argument]\n"
        "  exchange ghost (missing) -> queue orders.created [key: k]\n"
        "  exchange h -> queue orders.created [x-match=all; kind=a]\n"
        "  exchange orders -> queue orders.created [key: order.created]\n"
        "  queue orders.created -> exchange (default exchange)"
        " [dead-letter; key: retry; policy dl]\n"
        "  queue lonely (not connected)\n"
        "\n"
        "vhost empty\n"
        "  (nothing selected)\n"
    )
    assert to_text([]) == "(nothing selected)\n"
