"""Render vhost topologies as a Mermaid flowchart, for pages that render Mermaid (READMEs
and pull requests on code hosts).

The same selection and wording as the DOT diagram (graph.py), in the shapes Mermaid's
flowchart has: exchanges round or many-sided, queues box-like, one subgraph per vhost.
Node IDs are synthetic (``n0``, ``n1``...), so data only ever appears inside quoted
labels, where every character that Mermaid's syntax, its Markdown strings or HTML could
read is written as an entity code (``#35;``).
"""

from __future__ import annotations

import re

from ..topology.model import DEFAULT_EXCHANGE, Edge, Exchange, Queue, VhostTopology
from .dot import LAYOUTS, edge_label, merged_edge_label
from .grouping import Grouped, Grouping
from .palette import (
    BLUE,
    BUILTIN_FILL,
    EXCHANGE_FILL,
    EXTERNAL_FILL,
    GREY_LINE,
    GREY_TEXT,
    ORANGE,
    PURPLE,
    QUEUE_FILL,
    RED,
    css_colour,
)
from .wording import (
    STUB_MARK,
    display_name,
    drawn_queue_names,
    entity_details,
    entity_look,
    goes_via_default_exchange,
    group_details,
    linked_ends,
    visible,
)

#: look -> (start, end) of a node statement's shape, as near the DOT shapes as Mermaid's
#: flowchart allows: ellipse -> stadium, hexagon -> hexagon, octagon -> trapezoid, egg ->
#: circle, double ellipse -> double circle, double box -> subroutine, box3d -> flag
_SHAPES = {
    "exchange:direct": ("([", "])"),
    "exchange:fanout": ("{{", "}}"),
    "exchange:topic": ("[/", "\\]"),
    "exchange:headers": ("((", "))"),
    "exchange:other": ("(((", ")))"),
    "queue:classic": ("[", "]"),
    "queue:quorum": ("[[", "]]"),
    "queue:stream": ("[(", ")]"),
    "queue:other": ("(", ")"),
    "external": (">", "]"),
    "queue:group": ("[[", "]]"),
    "exchange:group": ("{{", "}}"),
}
#: shapes of entities drawn without their type (missing ones and stubs), as in DOT
_PLAIN_LOOKS = {"exchange": "exchange:direct", "queue": "queue:classic", "external": "external"}
#: class -> its style, in the DOT diagram's colours (palette.py); every node has one of these
_CLASSES = {
    "exchange": f"fill:{EXCHANGE_FILL},stroke:black,color:black",
    "queue": f"fill:{QUEUE_FILL},stroke:black,color:black",
    "external": f"fill:{EXTERNAL_FILL},stroke:black,color:black",
    "builtin": f"fill:{BUILTIN_FILL},stroke:{css_colour(GREY_TEXT)},color:{css_colour(GREY_TEXT)}",
    "missing": f"fill:white,stroke:{RED},color:{RED},stroke-dasharray:5 3",
    "stub": (f"fill:white,stroke:{css_colour(GREY_TEXT)},color:{css_colour(GREY_TEXT)},"
             "stroke-dasharray:2 2,font-size:10px"),
    "nothing": "fill:white,stroke:black,color:black",
}
#: edge look -> (arrow, linkStyle or "" for Mermaid's own), after dot.py's edge looks
_ARROWS = {
    "binding": ("-->", ""),
    "default-route": ("-->", f"stroke:{css_colour(GREY_LINE)},stroke-width:0.6px,"
                             f"color:{css_colour(GREY_TEXT)}"),
    "dead-letter": ("-.->", f"stroke:{RED},stroke-width:1.5px,color:{RED}"),
    "alternate": ("-.->", f"stroke:{ORANGE},color:{ORANGE},stroke-dasharray:2 3"),
    "shovel": ("==>", f"stroke:{BLUE},color:{BLUE}"),
    "federation": ("==>", f"stroke:{PURPLE},color:{PURPLE},stroke-dasharray:6 3"),
}
_SHORTCUT = " via default exchange"
#: what a label shows as it is: letters, digits, space and punctuation that none of
#: Mermaid's flowchart syntax, Markdown strings, entity codes and HTML gives a meaning
#: inside a quoted label; the rest of ASCII is written as an entity code. Beyond ASCII,
#: `visible` has already written what would reorder or break lines as escapes.
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9 .,:/=+@()\-\x80-\U0010ffff]")


def mermaid_label(lines: list[str]) -> str:
    """*lines* (shown text, from `visible`) as a double-quoted Mermaid label."""
    return '"' + "<br>".join(_LABEL_UNSAFE.sub(_entity, line) for line in lines) + '"'


def _entity(match: re.Match[str]) -> str:
    return f"#{ord(match.group())};"


class _Flowchart:
    """The statements of a flowchart, with the node IDs it has handed out."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.edges: list[str] = []
        #: edge look -> the indices of its edges, for its linkStyle
        self.looks: dict[str, list[int]] = {}

    def node(self, look: str, css_class: str, lines: list[str]) -> str:
        node_id = f"n{len(self.lines)}"  # one statement per node
        start, end = _SHAPES[look]
        self.lines.append(f"    {node_id}{start}{mermaid_label(lines)}{end}:::{css_class}")
        return node_id

    def edge(self, source: str, target: str, look: str, label: list[str]) -> None:
        arrow = _ARROWS[look][0]
        text = f"|{mermaid_label(label)}|" if label else ""
        self.looks.setdefault(look, []).append(len(self.edges))
        self.edges.append(f"  {source} {arrow}{text} {target}")


#: an edge between two vhosts' subgraphs, written once every node has its ID: each end as
#: (vhost, node type, name), its look and label
_Crossing = tuple[tuple[str, str, str], tuple[str, str, str], str, list[str]]


def _vhost(chart: _Flowchart, view: VhostTopology, show_default_exchange: bool,
           linked: dict[str, tuple[str, str, str]], crossing: list[_Crossing],
           grouping: Grouping | None = None) -> dict[tuple[str, str], str]:
    """The nodes of *view* into the chart's lines, its edges into its edges (those with an
    end drawn in another vhost into *crossing*); the IDs of its nodes. With *grouping*,
    each group is one node and parallel edges of one kind one edge."""
    ids: dict[tuple[str, str], str] = {}
    group_of = grouping.group_of if grouping is not None else {}
    queue_names = drawn_queue_names(view)
    shortcuts = not show_default_exchange
    routes = []
    for edge in view.edges:
        shortcut = shortcuts and goes_via_default_exchange(edge, queue_names)
        target: tuple[str, str] = (edge.destination_type, edge.destination)
        if shortcut and edge.routing_key is not None:
            target = ("queue", edge.routing_key)
        routes.append(((edge.source_type, edge.source), target, shortcut, edge))
    ends = {end for source, target, _, _ in routes for end in (source, target)}
    default_key = ("exchange", DEFAULT_EXCHANGE)
    exchanges: dict[str, Exchange] = dict(view.exchanges)
    default_exchange = exchanges.pop(DEFAULT_EXCHANGE, None)
    routes_default = show_default_exchange and bool(view.queues)
    if default_key in ends or routes_default or (show_default_exchange and default_exchange):
        exchanges[DEFAULT_EXCHANGE] = default_exchange or Exchange(
            view.vhost, DEFAULT_EXCHANGE, "direct", origin="builtin")
    entities: list[tuple[str, Exchange | Queue]] = [
        ("exchange", exchanges[name]) for name in sorted(exchanges)]
    entities += [("queue", view.queues[name]) for name in sorted(view.queues)]
    for node_type, entity in entities:
        if (node_type, entity.name) in group_of:
            continue
        name = display_name(node_type, entity.name)
        if entity.origin == "missing":
            ids[node_type, entity.name] = chart.node(
                _PLAIN_LOOKS[node_type], "missing", [name, f"missing {node_type}"])
        else:
            css_class = "builtin" if entity.origin == "builtin" else node_type
            ids[node_type, entity.name] = chart.node(
                entity_look(node_type, entity), css_class, [name, entity_details(entity)])
    for group in grouping.groups if grouping is not None else ():
        css_class = "queue" if group.node_type == "queue" else "exchange"
        group_id = chart.node(f"{group.node_type}:group", css_class,
                              [visible(group.name), group_details(group)])
        ids.update(((group.node_type, name), group_id) for name in group.members)
    for name in sorted(set(view.externals) - linked.keys()):
        ids["external", name] = chart.node("external", "external", [visible(name), "external"])
    for node_type, name in sorted(view.stubs | ends):
        if (node_type, name) not in ids and not (node_type == "external" and name in linked):
            ids[node_type, name] = chart.node(
                _PLAIN_LOOKS.get(node_type, "queue:classic"), "stub",
                [f"{STUB_MARK} {display_name(node_type, name)}"])
    if not ids:
        chart.node("queue:classic", "nothing", ["nothing selected"])
    #: (source id, target id, kind, shortcut[, index]) -> the edges drawn as one edge:
    #: with grouping the parallel ones, else each its own
    parallel: dict[tuple[object, ...], list[Edge]] = {}
    drawn: list[tuple[str, str, bool]] = []
    for index, (source, target, shortcut, edge) in enumerate(routes):
        if linked and any(kind == "external" and name in linked for kind, name in (source,
                                                                                  target)):
            label = edge_label(view, edge)
            if shortcut:
                label[0] += _SHORTCUT
            source_end, target_end = (
                linked[name] if kind == "external" and name in linked else (view.vhost, kind, name)
                for kind, name in (source, target))
            crossing.append((source_end, target_end,
                             edge.kind if edge.kind in _ARROWS else "binding", label))
            continue
        route_ends = (ids[source], ids[target], edge.kind, shortcut)
        key = route_ends if grouping is not None else (*route_ends, index)
        if key not in parallel:
            parallel[key] = []
            drawn.append((ids[source], ids[target], shortcut))
        parallel[key].append(edge)
    for (source_id, target_id, shortcut), edges in zip(drawn, parallel.values(), strict=True):
        label = (edge_label(view, edges[0]) if len(edges) == 1
                 else merged_edge_label(view, edges))
        if shortcut:
            label[0] += _SHORTCUT
        look = edges[0].kind if edges[0].kind in _ARROWS else "binding"
        chart.edge(source_id, target_id, look, label)
    if routes_default:
        named = {edge.routing_key for edge in view.edges
                 if (edge.destination_type, edge.destination) == default_key
                 and edge.routing_key is not None and edge.routing_key in queue_names}
        routed: dict[int, list[str]] = {}  # a group's routes are one edge
        for name in sorted(set(view.queues) | named):
            queue_group = group_of.get(("queue", name))
            if queue_group is None:
                chart.edge(ids[default_key], ids["queue", name], "default-route",
                           [visible(name)])
            elif len(routed.setdefault(id(queue_group), [])) + 1 == len(
                    queue_group.members):
                chart.edge(ids[default_key], ids["queue", name], "default-route",
                           [f"×{len(queue_group.members)}"])
            else:
                routed[id(queue_group)].append(name)
    return ids


def to_mermaid(views: list[VhostTopology], *, layout: str = "LR",
               show_default_exchange: bool = False, grouped: Grouped | None = None) -> str:
    """A Mermaid ``flowchart`` of *views*, a subgraph per vhost; with *grouped*, as the
    DOT diagram groups them.

    The same input always gives the same text, byte for byte.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    chart = _Flowchart()
    head = [f"flowchart {layout}"]
    body: list[str] = []
    drawn = {view.vhost: view for view in views}
    ids: dict[str, dict[tuple[str, str], str]] = {}
    crossing: list[_Crossing] = []
    for index, view in enumerate(views):
        start = len(chart.lines)
        ids[view.vhost] = _vhost(chart, view, show_default_exchange,
                                 linked_ends(view, drawn), crossing,
                                 grouped.groupings[index] if grouped is not None else None)
        body += [f"  subgraph v{index}[{mermaid_label([f'vhost {visible(view.vhost)}'])}]",
                 *chart.lines[start:], "  end"]
    for ends in crossing:
        source, target = (ids[vhost][node_type, name] for vhost, node_type, name in ends[:2])
        chart.edge(source, target, ends[2], ends[3])
    if not views:
        chart.node("queue:classic", "nothing", ["nothing selected"])
        body += chart.lines
    lines = head + body + chart.edges
    used = {line.rsplit(":::", 1)[1] for line in chart.lines}
    lines += [f"  classDef {name} {style}" for name, style in _CLASSES.items() if name in used]
    for look, (_, style) in _ARROWS.items():
        if style and look in chart.looks:
            lines.append(f"  linkStyle {','.join(map(str, chart.looks[look]))} {style}")
    return "\n".join(lines) + "\n"

