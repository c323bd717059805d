"""Property-based: any names and arguments give DOT that dot accepts, with every name intact."""

from __future__ import annotations

import json
import re

from docutils.core import publish_from_doctree
from docutils.utils import new_document
from docutils.writers import html5_polyglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.extension.table_nodes import docutils_table, table_node
from sphinxext_rabbit.output.dot import to_dot
from sphinxext_rabbit.output.tables import bindings_table, queues_table
from sphinxext_rabbit.output.wording import visible
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.select import Selection, views
from tests.helpers import page_text, run_dot, svg_text

# names as hostile as the broker allows: any text up to 255 UTF-8 bytes, DOT keywords too
NAMES = st.one_of(
    st.sampled_from(["node", "graph", "edge", "subgraph", "<script>alert(1)</script>",
                     '"><img src=x onerror=alert(1)>', "{braces}", "a\\b", "&amp;", "a\nb"]),
    st.text(min_size=1, max_size=40).filter(lambda s: len(s.encode("utf-8", "surrogatepass"))
                                            <= 255),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@st.composite
def definitions(draw):
    queues = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    exchanges = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    arguments = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=2)
    to_queues = draw(st.lists(st.tuples(st.sampled_from(exchanges + ["undeclared"]),
                                        st.sampled_from(queues + ["missing"]), NAMES, arguments),
                              max_size=5))
    # exchange-to-exchange bindings, self-loops and cycles included
    to_exchanges = draw(st.lists(st.tuples(st.sampled_from(exchanges),
                                           st.sampled_from(exchanges), NAMES),
                                 max_size=3))
    doc = {
        "queues": [{"name": n, "vhost": "/", "arguments": {"x-dead-letter-exchange": exchanges[0]}}
                   for n in queues],
        "exchanges": [{"name": n, "vhost": "/", "type": draw(st.sampled_from(
            ["direct", "topic", "headers", "fanout", "x-custom"]))} for n in exchanges],
        "bindings": [{"source": s, "vhost": "/", "destination": d, "destination_type": "queue",
                      "routing_key": k, "arguments": a} for s, d, k, a in to_queues]
        + [{"source": s, "vhost": "/", "destination": d, "destination_type": "exchange",
            "routing_key": k, "arguments": {}} for s, d, k in to_exchanges],
    }
    if draw(st.booleans()):  # a duplicate declaration: the later one wins, with a warning
        doc["queues"].append(dict(doc["queues"][0], durable=False))
    return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_any_names_draw_intact_once_and_deterministically(doc):
    text = json.dumps(doc)
    built, _problems = views(parse(text), Selection())
    [view] = built
    dot = to_dot(built, legend=True)
    assert dot == to_dot(views(parse(text), Selection())[0], legend=True)

    # every entity is one node; every binding one edge in the edges and in the table
    assert len(re.findall(r"^v0_[xq]\d+ \[", dot, re.MULTILINE)) == len(view.exchanges) + len(
        view.queues)
    drawn = sorted((e.source, e.destination, e.destination_type, e.routing_key,
                    json.dumps(e.arguments, sort_keys=True)) for e in view.edges
                   if e.kind == "binding")
    declared = sorted((b["source"], b["destination"], b["destination_type"], b["routing_key"],
                       json.dumps(b["arguments"], sort_keys=True)) for b in doc["bindings"])
    assert drawn == declared
    assert len(bindings_table(built).rows) == len(declared)
    assert sorted(row[0][0].text for row in queues_table(built).rows) == sorted(
        visible(name) for name in view.queues
    )

    shown = svg_text(run_dot(dot))
    for entity in doc["queues"] + doc["exchanges"]:
        # control characters and lone surrogates are shown as \x.. escapes, the rest as is
        shown_name = visible(entity["name"]).strip()
        assert not shown_name or shown_name in shown

    # in HTML every name is escaped: markup in a name never reaches the page as markup
    document = new_document("<property>")
    document += docutils_table(table_node(bindings_table(built)))
    document += docutils_table(table_node(queues_table(built)))
    # a writer instance: docutils 0.21 takes no name here, 0.22 deprecates writer_name
    page = publish_from_doctree(document, writer=html5_polyglot.Writer(),
                                settings_overrides={"report_level": 5}).decode()
    # (what a reader sees has tags dropped: a name that became markup would lose its "<...>")
    for entity in doc["queues"]:
        name = visible(entity["name"])
        assert " ".join(name.split()) in " ".join(page_text(page).split())
