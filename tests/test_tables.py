"""Tests for tables.py and table_nodes.py: the rows a reader sees, names kept literal."""

from __future__ import annotations

import pytest
from docutils import nodes
from docutils.core import publish_from_doctree
from docutils.utils import new_document
from docutils.writers import get_writer_class

from sphinxext_rabbit.extension.table_nodes import docutils_table, table_node
from sphinxext_rabbit.output.tables import (
    Span,
    Table,
    bindings_table,
    exchanges_table,
    policies_table,
    queues_table,
)
from sphinxext_rabbit.topology.model import Exchange, Policy, Queue, VhostTopology
from tests.test_graph import binding, edge, view_of

DLX_POLICY = Policy(
    "/", "dlx-all", "^orders", "queues", {"dead-letter-exchange": "dlx", "max-length": 10}, 5
)
LIMITS = Policy("/", "limits", ".*", "queues", {"max-length": 1000}, 0, operator=True)
AE_POLICY = Policy("/", "ae", "^x", "exchanges", {"alternate-exchange": "unrouted"})


def shown(cell: list[Span]) -> str:
    """A cell as text, literal spans in backquotes."""
    return "".join(f"`{span.text}`" if span.literal else span.text for span in cell)


def rows(table: Table) -> list[list[str]]:
    return [[shown(cell) for cell in row] for row in table.rows]


def topology() -> VhostTopology:
    view = view_of(
        Exchange("/", "orders", "topic"),
        Exchange("/", "by-header", "headers"),
        Exchange("/", "later", "x-delayed-message", arguments={"x-delayed-type": "topic"}),
        Exchange(
            "/",
            "x-ae",
            "fanout",
            durable=False,
            auto_delete=True,
            internal=True,
            arguments={"alternate-exchange": "unrouted"},
        ),
        Exchange("/", "amq.direct", "direct", origin="builtin"),
        Exchange("/", "ghost", origin="missing"),
        Queue(
            "/",
            "orders.created",
            "quorum",
            arguments={
                "x-queue-type": "quorum",
                "x-max-length": 500,
                "x-dead-letter-exchange": "dlx",
                "x-dead-letter-routing-key": "dead",
                "x-bound": {"b": [1], "a": None},
                "ignored": 1,
            },
        ),
        Queue("/", "orders.paid", arguments={"x-message-ttl": 60000}),
        Queue(
            "/",
            "tmp",
            exclusive=True,
            auto_delete=True,
            durable=False,
            arguments={"x-dead-letter-exchange": "dlx"},
        ),
        edges=[
            binding("orders", "orders.created", "order.created"),
            binding("orders", "x-ae", "", destination_type="exchange"),
            binding(
                "by-header",
                "orders.paid",
                "not-used",
                arguments={"format": "pdf", "x-match": "any"},
            ),
            binding("ghost", "tmp", 'k"ey--a...b'),
            edge(
                "dead-letter",
                ("queue", "orders.created"),
                ("exchange", "dlx"),
                "dead",
                ("queue-argument", None),
            ),
            edge("dead-letter", ("queue", "orders.paid"), ("exchange", ""), None,
                 ("policy", "dlx-all")),
            edge(
                "alternate",
                ("exchange", "x-ae"),
                ("exchange", "unrouted"),
                origin=("exchange-argument", None),
            ),
        ],
        stubs={("exchange", "dlx"), ("exchange", "unrouted")},
        policies=[LIMITS, DLX_POLICY, AE_POLICY],
    )
    view.effective_policies.update(
        {
            ("queue", "orders.created"): DLX_POLICY,
            ("queue", "orders.paid"): DLX_POLICY,
            ("exchange", "x-ae"): AE_POLICY,
        }
    )
    view.effective_operator_policies.update(
        {("queue", "orders.paid"): LIMITS, ("queue", "tmp"): LIMITS}
    )
    return view


def test_bindings_table() -> None:
    table = bindings_table([topology()])
    assert table.title == "Bindings"
    assert table.headers == ["Source", "Destination", "Routing key / arguments"]
    assert rows(table) == [
        ["exchange `by-header`", "queue `orders.paid`", "`x-match=any`, `format=pdf`"],
        ["exchange `ghost` (missing)", "queue `tmp`", '`k"ey--a...b`'],
        ["exchange `orders`", "exchange `x-ae`", '`""`'],
        ["exchange `orders`", "queue `orders.created`", "`order.created`"],
    ]


def test_several_vhosts_add_a_vhost_column() -> None:
    other = view_of(
        Exchange("b", "x", "direct"),
        Queue("b", "q"),
        edges=[binding("x", "q", "k", vhost="b")],
        vhost="b",
    )
    table = bindings_table([topology(), other], title="Routes")
    assert table.title == "Routes"
    assert table.headers[0] == "Vhost"
    assert rows(table)[0][0] == "`/`"
    assert rows(table)[-1] == ["`b`", "exchange `x`", "queue `q`", "`k`"]


def test_queues_table() -> None:
    table = queues_table([topology()])
    assert table.headers == [
        "Name",
        "Type",
        "Durable",
        "Effective policy",
        "Dead-letter target",
        "Key arguments",
    ]
    assert rows(table) == [
        [
            "`orders.created`",
            "quorum",
            "yes",
            "`dlx-all`",
            "exchange `dlx`, key `dead` (queue argument)",
            '`x-bound={"a":null,"b":[1]}`, `x-max-length=500`',
        ],
        [
            "`orders.paid`",
            "classic",
            "yes",
            "`dlx-all`; operator policy `limits`",
            "default exchange (policy `dlx-all`)",
            "`x-message-ttl=60000`",
        ],
        # no dead-letter edge here (say, selected away): the argument stays visible
        [
            "`tmp`",
            "classic",
            "no, exclusive, auto-delete",
            "operator policy `limits`",
            "—",
            "`x-dead-letter-exchange=dlx`",
        ],
    ]


def test_exchanges_table() -> None:
    table = exchanges_table([topology()])
    assert table.headers == ["Name", "Type", "Flags", "Effective policy", "Alternate exchange"]
    assert rows(table) == [
        ["`amq.direct` (built-in)", "direct", "durable", "—", "—"],
        ["`by-header`", "headers", "durable", "—", "—"],
        ["`ghost` (missing)", "—", "—", "—", "—"],
        ["`later`", "x-delayed-message (topic)", "durable", "—", "—"],
        ["`orders`", "topic", "durable", "—", "—"],
        [
            "`x-ae`",
            "fanout",
            "not durable, internal, auto-delete",
            "`ae`",
            "exchange `unrouted` (exchange argument)",
        ],
    ]


def test_policies_table() -> None:
    table = policies_table([topology()])
    assert table.headers == [
        "Name",
        "Kind",
        "Pattern",
        "Apply to",
        "Priority",
        "Definition",
        "Applies to",
    ]
    assert rows(table) == [
        [
            "`ae`",
            "policy",
            "`^x`",
            "exchanges",
            "0",
            "`alternate-exchange=unrouted`",
            "exchange `x-ae`",
        ],
        [
            "`dlx-all`",
            "policy",
            "`^orders`",
            "queues",
            "5",
            "`dead-letter-exchange=dlx`, `max-length=10`",
            "queues `orders.created`, `orders.paid`",
        ],
        [
            "`limits`",
            "operator policy",
            "`.*`",
            "queues",
            "0",
            "`max-length=1000`",
            "queues `orders.paid`, `tmp`",
        ],
    ]


def test_policies_table_counts_many_entities() -> None:
    view = topology()
    for number in range(12):
        name = f"bulk{number}"
        view.queues[name] = Queue("/", name)
        view.effective_policies[("queue", name)] = DLX_POLICY
    applies_to = rows(policies_table([view]))[1][-1]
    assert applies_to == "14 queues"


def test_stubs_are_not_rows() -> None:
    names = [shown(row[0]) for row in exchanges_table([topology()]).rows]
    assert "`dlx`" not in names and "`unrouted`" not in names


def test_names_are_literal_spans_that_name_their_entity() -> None:
    table = queues_table([topology()])
    assert table.rows[0][0] == [Span("orders.created", literal=True,
                                     entity=("queue", "/", "orders.created"))]
    assert table.rows[0][1] == [Span("quorum")]
    assert table.row_entities[0] == ("queue", "/", "orders.created")


def test_empty_views_give_empty_tables() -> None:
    assert bindings_table([VhostTopology("/")]).rows == []
    assert queues_table([]).rows == []


def literal_texts(node: nodes.Node) -> list[str]:
    return [literal.astext() for literal in node.findall(nodes.literal)]


def test_table_node_structure_and_literals() -> None:
    node = docutils_table(table_node(bindings_table([topology()])))
    assert isinstance(node, nodes.table)
    assert node[0].astext() == "Bindings"
    group = node[1]
    assert isinstance(group, nodes.tgroup) and group["cols"] == 3
    assert len(list(group.findall(nodes.colspec))) == 3
    head, body = group[3], group[4]
    assert isinstance(head, nodes.thead) and head.astext().split() == [
        "Source",
        "Destination",
        "Routing",
        "key",
        "/",
        "arguments",
    ]
    assert isinstance(body, nodes.tbody) and len(body) == 4
    assert literal_texts(body[1]) == ["ghost", "tmp", 'k"ey--a...b']
    # the empty routing key still shows
    assert literal_texts(body[2]) == ["orders", "x-ae", '""']
    assert [
        text.astext()
        for text in body[0][0].findall(nodes.Text)
        if not isinstance(text.parent, nodes.literal)
    ] == ["exchange "]


def test_table_node_for_no_rows_says_none() -> None:
    node = docutils_table(table_node(policies_table([VhostTopology("/")])))
    body = next(node.findall(nodes.tbody))
    assert len(body) == 1
    assert [entry.astext() for entry in body[0]] == ["none"] + [""] * 6


@pytest.mark.filterwarnings("ignore:The default for the setting:FutureWarning")
@pytest.mark.parametrize("writer", ["html5", "latex", "manpage", "xml"])
def test_table_node_writes_cleanly(writer: str) -> None:
    document = new_document("<test>")
    document += docutils_table(table_node(queues_table([topology()], title="Queues of /")))
    document += docutils_table(table_node(policies_table([])))
    # a warning from the writer fails here, as it fails a build run with -W
    # a writer instance: docutils 0.21 takes no name here, 0.22 deprecates writer_name
    output = publish_from_doctree(
        document, writer=get_writer_class(writer)(),
        settings_overrides={"halt_level": 2, "report_level": 2},
    ).decode()
    assert "orders.created" in output
    assert "Queues of /" in output or writer == "manpage"  # man pages drop table titles


def test_saved_api_output_adds_messages_and_consumers_and_hides_temporary_queues():
    from sphinxext_rabbit.sources import read_path
    from sphinxext_rabbit.topology.select import Selection, views
    from tests.helpers import ROOT

    topology = read_path(str(ROOT / "tests" / "fixtures" / "api" / "endpoints"))
    built, _problems = views(topology, Selection(vhosts=["mgmt-fixture"]))
    table = queues_table(built)
    assert table.headers[-2:] == ["Messages", "Consumers"]
    rows = {shown(row[0]): [shown(cell) for cell in row[-2:]] for row in table.rows}
    assert rows["`orders.created`"] == ["4", "1"]
    assert rows["`audit.log`"][0] == "4"
    assert "`session.replies`" in rows and "`scratch`" in rows

    hidden, _problems = views(topology, Selection(vhosts=["mgmt-fixture"], hide_temporary=True))
    names = {shown(row[0]) for row in queues_table(hidden).rows}
    assert "`session.replies`" not in names  # exclusive
    assert not any("session.replies" in (e.source, e.destination) for e in hidden[0].edges)
    assert {"`orders.created`", "`scratch`"} <= names  # (scratch is only not durable)


def test_an_export_has_no_runtime_columns():
    view = view_of(Queue("/", "q"))
    assert "Messages" not in queues_table([view]).headers
