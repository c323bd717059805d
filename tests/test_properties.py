"""Property-based: any names and arguments give DOT that dot accepts, with every name intact."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.graph import to_dot, visible
from sphinxext_rabbit.load import parse
from sphinxext_rabbit.select import Selection, views
from tests.helpers import run_dot, svg_text

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
    bindings = draw(st.lists(st.tuples(st.sampled_from(exchanges + ["undeclared"]),
                                       st.sampled_from(queues + ["missing"]), NAMES,
                                       st.dictionaries(st.text(max_size=5), JSON_VALUES,
                                                       max_size=2)),
                             max_size=5))
    return {
        "queues": [{"name": n, "vhost": "/", "arguments": {"x-dead-letter-exchange": exchanges[0]}}
                   for n in queues],
        "exchanges": [{"name": n, "vhost": "/", "type": draw(st.sampled_from(
            ["direct", "topic", "headers", "fanout", "x-custom"]))} for n in exchanges],
        "bindings": [{"source": s, "vhost": "/", "destination": d, "destination_type": "queue",
                      "routing_key": k, "arguments": a} for s, d, k, a in bindings],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_any_names_draw_intact_and_deterministically(doc):
    text = json.dumps(doc)
    built, _problems = views(parse(text), Selection())
    dot = to_dot(built, legend=True)
    assert dot == to_dot(views(parse(text), Selection())[0], legend=True)
    shown = svg_text(run_dot(dot))
    for entity in doc["queues"] + doc["exchanges"]:
        # control characters and lone surrogates are shown as \x.. escapes, the rest as is
        shown_name = visible(entity["name"]).strip()
        assert not shown_name or shown_name in shown
