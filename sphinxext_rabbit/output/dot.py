"""Render vhost topologies as Graphviz DOT.

Visual language (``legend=True`` repeats it in the picture):

* exchanges are round or many-sided and amber: direct ``ellipse``, fanout ``hexagon``,
  topic ``octagon``, headers ``egg``, any other type a double ellipse;
* queues are box-like and blue: classic ``box``, quorum double box, stream ``cylinder``;
* external endpoints (other brokers) are grey ``box3d``; an end in another vhost of this
  broker that the diagram draws is an edge to that vhost's node instead;
* built-in exchanges are grey, missing entities (referenced, never declared) red and
  dashed, entities outside the selection small, dotted and marked ``↗``;
* edges: bindings black with the routing key (headers bindings: their arguments,
  consistent-hash: the weight, fanout-like types: nothing), dead-letter red dashed,
  alternate orange dotted, shovel blue bold, federation purple bold dashed, the default
  exchange's implicit routes thin grey.

Labels hold the name and a second line with the type and flags; every node and edge
has a tooltip with its full details.  Node IDs are synthetic (``v0_x3``), so data only
ever appears inside strings quoted by `dot_string`, after `visible` has made control
characters readable.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..topology.model import (
    DEFAULT_EXCHANGE,
    Edge,
    Exchange,
    Queue,
    VhostTopology,
    routing_type,
)
from ..topology.records import record
from .grouping import DrawnNode, Group, Grouped, Grouping, summary
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
)
from .wording import (
    STUB_MARK,
    binding_terms,
    compact_json,
    crosses,
    display_name,
    drawn_queue_names,
    entity_details,
    entity_look,
    goes_via_default_exchange,
    group_details,
    key_text,
    keys_text,
    linked_ends,
    origin_text,
    routing_types,
    source_exchange_type,
    visible,
)

if TYPE_CHECKING:
    from collections.abc import Callable

LAYOUTS = ("LR", "TB")

#: look -> (legend text, node attributes), in legend order; builtin, missing and stub are
#: statuses whose colours go over the entity's shape (their own shape is for the legend only)
_NODE_LOOKS: dict[str, tuple[str, dict[str, str]]] = {
    "exchange:direct": ("direct exchange", {"shape": "ellipse", "fillcolor": EXCHANGE_FILL}),
    "exchange:fanout": ("fanout exchange", {"shape": "hexagon", "fillcolor": EXCHANGE_FILL}),
    "exchange:topic": ("topic exchange", {"shape": "octagon", "fillcolor": EXCHANGE_FILL}),
    "exchange:headers": ("headers exchange", {"shape": "egg", "fillcolor": EXCHANGE_FILL}),
    "exchange:other": (
        "other exchange type",
        {"shape": "ellipse", "peripheries": "2", "fillcolor": EXCHANGE_FILL},
    ),
    "queue:classic": ("classic queue", {"shape": "box", "fillcolor": QUEUE_FILL}),
    "queue:quorum": (
        "quorum queue",
        {"shape": "box", "peripheries": "2", "fillcolor": QUEUE_FILL},
    ),
    "queue:stream": ("stream", {"shape": "cylinder", "fillcolor": QUEUE_FILL}),
    "queue:other": (
        "other queue type",
        {"shape": "box", "style": "filled,rounded", "fillcolor": QUEUE_FILL},
    ),
    "external": ("external endpoint", {"shape": "box3d", "fillcolor": EXTERNAL_FILL}),
    "builtin": (
        "built-in exchange",
        {"shape": "ellipse", "color": GREY_TEXT, "fontcolor": GREY_TEXT,
         "fillcolor": BUILTIN_FILL},
    ),
    "missing": (
        "missing: referenced, not declared",
        {
            "shape": "box",
            "color": RED,
            "fontcolor": RED,
            "style": "dashed,filled",
            "fillcolor": "white",
        },
    ),
    "stub": (
        f"{STUB_MARK} outside this selection",
        {
            "shape": "box",
            "color": GREY_TEXT,
            "fontcolor": GREY_TEXT,
            "style": "dotted,filled",
            "fillcolor": "white",
            "fontsize": "8",
        },
    ),
    # past the node budget (grouping.py); last, so that the legend's other IDs stay
    "queue:group": ("queues drawn as one (listed in a table)",
                    {"shape": "folder", "fillcolor": QUEUE_FILL}),
    "exchange:group": ("exchanges drawn as one (listed in a table)",
                       {"shape": "tab", "fillcolor": EXCHANGE_FILL}),
}
#: shapes of entities drawn without their type: missing ones and stubs
_PLAIN_SHAPES = {"exchange": "ellipse", "queue": "box", "external": "box3d"}
#: edge look -> (legend text, edge attributes), in legend order
_EDGE_LOOKS: dict[str, tuple[str, dict[str, str]]] = {
    "binding": ("binding (routing key)", {}),
    "default-route": (
        "default exchange route (queue name)",
        {"color": GREY_LINE, "fontcolor": GREY_TEXT, "arrowsize": "0.5"},
    ),
    # a thin coloured dash is lighter than its colour: this one is wider
    "dead-letter": (
        "dead-letter",
        {"color": RED, "fontcolor": RED, "style": "dashed", "penwidth": "1.5"},
    ),
    "alternate": (
        "alternate exchange",
        {"color": ORANGE, "fontcolor": ORANGE, "style": "dotted"},
    ),
    "shovel": ("shovel", {"color": BLUE, "fontcolor": BLUE, "style": "bold"}),
    "federation": (
        "federation",
        {"color": PURPLE, "fontcolor": PURPLE, "style": "bold,dashed"},
    ),
}
_GRAPH_ATTRS = {
    "fontname": "Helvetica",
    "fontsize": "10",
    "bgcolor": "transparent",
    "nodesep": "0.3",
    "ranksep": "0.6",
    "concentrate": "false",
}
_NODE_ATTRS = {
    "fontname": "Helvetica",
    "fontsize": "10",
    "style": "filled",
    "fillcolor": "white",
    "height": "0.3",
}
_EDGE_ATTRS = {"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"}
_VHOST_LABEL = {"labelloc": "t", "labeljust": "l", "fontcolor": GREY_TEXT}
_NOTHING = {"label": "nothing selected", "shape": "note"}

NodeKey = tuple[str, str]  # (node type, name), node type "exchange" | "queue" | "external"
GraphNode = tuple[str, str, str]  # (vhost, node type, name)
_DEFAULT_EXCHANGE_KEY = ("exchange", DEFAULT_EXCHANGE)
#: how many members and keys a group's or merged edge's tooltip names
MAX_TOOLTIP_NAMES = 10
#: a summary node's link: its group -> the URL of the table row that lists its members
GroupLink = Callable[[Group], str]


# -- DOT --------------------------------------------------------------------------------


def dot_string(text: str, *, tooltip: bool = False) -> str:
    """*text* as a double-quoted DOT string that displays exactly it, newlines as line breaks.

    Graphviz expands ``\\N``-style escapes and ``&entities;`` in labels, and unescapes a
    tooltip once more than a label (2.42 to 16.1 alike), so there backslashes are doubled
    twice.
    """
    if text.isprintable() and "\\" not in text and '"' not in text and "&" not in text:
        return f'"{text}"'  # most text: nothing to rewrite
    lines = (_escaped_visible(visible(line), tooltip) for line in text.split("\n"))
    return '"' + "\\n".join(lines) + '"'


def _escaped_visible(line: str, tooltip: bool = False) -> str:
    """A line `visible` has made readable, escaped as in `dot_string`, without the quotes."""
    backslash = "\\" * (4 if tooltip else 2)
    return line.replace("\\", backslash).replace('"', '\\"').replace("&", "&#38;")


def _attr_list(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{name}={dot_string(value)}" for name, value in attrs.items()) + "]"


@functools.cache
def _node_style(node_type: str, look: str | None, status: str | None) -> str:
    """A type look, with a status's colours over it (or over a plain shape when untyped),
    formatted once: thousands of nodes share a few."""
    attrs = dict(_NODE_LOOKS[look][1]) if look else {"shape": _PLAIN_SHAPES.get(node_type, "box")}
    if status:
        attrs.update(
            (name, value) for name, value in _NODE_LOOKS[status][1].items() if name != "shape"
        )
    return ", ".join(f"{name}={dot_string(value)}" for name, value in attrs.items())


def edge_label(view: VhostTopology, edge: Edge) -> list[str]:
    """An edge's label in the diagram, a line a term (none for a fanout binding)."""
    if edge.kind == "binding":
        return binding_terms(edge, source_exchange_type(view, edge.source))
    kind, name = edge.origin
    head = (
        f"shovel {visible(name)}"
        if edge.kind == "shovel" and kind == "parameter" and name is not None
        else visible(edge.kind)
    )
    return [head] if edge.routing_key is None else [head, key_text(edge.routing_key)]


def merged_edge_label(view: VhostTopology, edges: list[Edge],
                      routing_keys: set[str] | None = None) -> list[str]:
    """The label of parallel edges of one kind drawn as one: their common label, or the
    keys they share (*routing_keys*: their distinct keys, when known), and their count."""
    first = edge_label(view, edges[0])
    count = f"×{len(edges)}"
    if all(edge_label(view, edge) == first for edge in edges[1:]):  # (stops at the first other)
        return [*first, count]
    head = [] if edges[0].kind == "binding" else [visible(edges[0].kind)]
    if routing_keys is None:
        routing_keys = _routing_keys(edges)
    keys = keys_text(*summary(routing_keys))
    return [*head, *([keys] if keys else []), count]


def _routing_keys(edges: list[Edge]) -> set[str]:
    return {edge.routing_key for edge in edges if edge.routing_key is not None}


@functools.lru_cache(maxsize=65536)  # keys, origins and node descriptions repeat
def _escaped(text: str, tooltip: bool = False) -> str:
    """`dot_string` without the quotes: its escaping works character by character, so
    pieces escaped once can be joined into many labels and tooltips."""
    return dot_string(text, tooltip=tooltip)[1:-1]


@record(frozen=True)
class _NodeDescription:
    """What a node shows besides its name."""

    node_type: str
    label_head: str  # label text before the name
    label_tail: tuple[str, ...]  # label lines after it
    look: str | None  # the type look
    status: str | None  # builtin, missing or stub
    heading: str  # tooltip words before the name
    tooltip_tail: tuple[str, ...]  # tooltip lines after it


@record(frozen=True)
class _NodeTemplate:
    """A node statement's text around its names, escaped: before its label's name, between
    that and its tooltip's name, and after that but for the tooltip's last lines (which
    vary more)."""

    label_head: str
    middle: str
    tooltip_middle: str

    def statement(self, node_id: str, label_name: str, tooltip_name: str,
                  tooltip_end: str, attributes: str = "") -> str:
        return (f"{node_id}{self.label_head}{label_name}{self.middle}{tooltip_name}"
                f'{self.tooltip_middle}{tooltip_end}"{attributes}];')


@record
class _Node:
    """A node as the edges of its drawing need it: the routing type of the exchange of its
    name (by which bindings from it are labelled), and its ID and its type and name as edge
    tooltips show them (set as its statement is written)."""

    routing_type: str | None
    id: str = ""
    tip: str = ""


@record  # not frozen: one per node or edge (see model.py)
class _Route:
    """An edge to write: its source, the node it is drawn to, whether that skips the default
    exchange, and the edges it stands for (with grouping, the parallel ones of one kind;
    else one)."""

    source: _Node
    target: _Node
    shortcut: bool
    edges: list[Edge]


class _VhostDrawing:
    """The DOT node and edge statements of one vhost, and the looks they use.

    Thousands of nodes differ only by name, and thousands of edges only by their ends: what
    they share is worded and escaped once per drawing, and each statement is that text with
    its names put in.
    """

    def __init__(self, index: int, view: VhostTopology, show_default_exchange: bool,
                 linked: dict[str, tuple[str, str, str]],
                 grouping: Grouping | None = None, group_link: GroupLink | None = None,
                 ) -> None:
        self.prefix = f"v{index}_"
        self.view = view
        #: externals drawn as the node of another vhost's drawing: name -> that node
        self.linked = linked
        #: the edges to or from those, written by `to_dot` once every node has its ID: each
        #: end (a node of this drawing, or the (vhost, node type, name) of another's), and
        #: the statement's text
        self.crossing: list[tuple[_Node | GraphNode, _Node | GraphNode, tuple[str, str]]] = []
        #: queues drawn as one node each group, and their parallel edges merged
        self.grouping = grouping
        self.group_link = group_link
        #: node type -> name -> node, for every node drawn
        self.nodes: defaultdict[str, dict[str, _Node]] = defaultdict(dict)
        #: endpoints the view does not hold, drawn as outside the selection like its stubs
        self.outside: dict[NodeKey, _Node] = {}
        self.node_lines: list[str] = []
        self.edge_lines: list[str] = []
        self.looks: set[str] = set()
        self.edge_looks: set[str] = set()
        self.vhost_line = f"vhost {visible(view.vhost)}"
        #: exchange name -> the type it routes as
        self.routing_types = routing_types(view)
        # the memos of this drawing
        self._templates: dict[_NodeDescription, _NodeTemplate] = {}
        self._entity_templates: dict[tuple[Any, ...], _NodeTemplate] = {}
        self._arguments_lines: dict[str, str] = {}
        self._edge_texts: dict[tuple, tuple[str, str]] = {}
        self._policy_lines: dict[tuple[str, str], str] = {}
        self._draw(show_default_exchange)

    def _draw(self, show_default_exchange: bool) -> None:
        view = self.view
        nodes = self.nodes
        exchanges = dict(view.exchanges)
        # the default exchange is drawn only when something leads to it, or when asked
        default_exchange = exchanges.pop(DEFAULT_EXCHANGE, None)
        externals = [name for name in view.externals if name not in self.linked]
        group_of = self.grouping.group_of if self.grouping is not None else {}
        #: node type -> the names drawn as a node of their own (not in a group)
        own: dict[str, list[str]] = {}
        for node_type, names in (("exchange", exchanges), ("queue", view.queues),
                                 ("external", externals)):
            own[node_type] = ([name for name in names if (node_type, name) not in group_of]
                              if group_of else list(names))
            nodes[node_type] = {name: _Node(self.routing_types.get(name))
                                for name in own[node_type]}
        #: a group's id -> its node
        group_nodes: dict[int, _Node] = {}
        if self.grouping is not None:
            for group in self.grouping.groups:
                # (an exchange group's members route alike: one type)
                group_node = group_nodes[id(group)] = _Node(
                    self.routing_types.get(group.members[0]))
                nodes[group.node_type].update(dict.fromkeys(group.members, group_node))
        routes = (self._routes(show_default_exchange) if self.grouping is None
                  else self._grouped_routes(self.grouping, group_nodes))
        draw_default = _DEFAULT_EXCHANGE_KEY in self.outside or (
            show_default_exchange and bool(view.queues)
        )
        if draw_default or (show_default_exchange and default_exchange is not None):
            exchanges[DEFAULT_EXCHANGE] = default_exchange or Exchange(
                view.vhost, DEFAULT_EXCHANGE, "direct", origin="builtin"
            )
            # routes to it may hold its node already
            nodes["exchange"][DEFAULT_EXCHANGE] = self._outside_node(*_DEFAULT_EXCHANGE_KEY)
            del self.outside[_DEFAULT_EXCHANGE_KEY]
            if _DEFAULT_EXCHANGE_KEY not in group_of:
                own["exchange"].append(DEFAULT_EXCHANGE)
        self._write_nodes(exchanges, own)

        # a shortcut's tooltip still names the default exchange it goes through
        default_tip = f"exchange {_escaped_visible(display_name(*_DEFAULT_EXCHANGE_KEY), True)}"
        for route in routes:
            head, tail = self._route_text(route)
            self.edge_lines.append(
                f"{route.source.id} -> {route.target.id} {head}{route.source.tip} -> "
                f"{default_tip if route.shortcut else route.target.tip}{tail}")
        if draw_default and show_default_exchange:
            self._default_routes()
        if not self.node_lines:
            self.node_lines.append(f"{self.prefix}empty {_attr_list(_NOTHING)};")

    def _routes(self, show_default_exchange: bool) -> list[_Route]:
        """The route of each edge; endpoints the view does not hold go to `outside`, edges
        to or from another vhost's drawing to `crossing`."""
        view = self.view
        nodes = self.nodes
        queue_names = drawn_queue_names(view)
        shortcuts = not show_default_exchange
        routes: list[_Route] = []
        linked = self.linked
        for edge in view.edges:
            if linked and crosses(edge, linked):
                self._cross(edge)
                continue
            source = (nodes[edge.source_type].get(edge.source)
                      or self._outside_node(edge.source_type, edge.source))
            # Unless the default exchange is drawn, a route through it goes straight to
            # the queue its routing key names.
            shortcut = shortcuts and goes_via_default_exchange(edge, queue_names)
            if shortcut and edge.routing_key is not None:
                target_type, target_name = "queue", edge.routing_key
            else:
                target_type, target_name = edge.destination_type, edge.destination
            target = (nodes[target_type].get(target_name)
                      or self._outside_node(target_type, target_name))
            routes.append(_Route(source, target, shortcut, [edge]))
        return routes

    def _grouped_routes(self, grouping: Grouping, group_nodes: dict[int, _Node]) -> list[_Route]:
        """The routes grouping worked out (`Grouping.routes`: parallel edges of one kind are
        one); endpoints the view does not hold go to `outside`, edges to or from another
        vhost's drawing to `crossing`."""
        linked = self.linked
        if linked:
            for edge in self.view.edges:
                if crosses(edge, linked):
                    self._cross(edge)
        routes = []
        for (source, target, _kind, shortcut), edges in grouping.routes.items():
            if linked and crosses(edges[0], linked):
                continue  # (crossed above)
            routes.append(_Route(self._drawn_node(source, group_nodes),
                                 self._drawn_node(target, group_nodes), shortcut, edges))
        return routes

    def _drawn_node(self, end: DrawnNode, group_nodes: dict[int, _Node]) -> _Node:
        """The node of a route's end: a group's, an entity's, or one outside the view."""
        if isinstance(end, int):
            return group_nodes[end]
        return self.nodes[end[0]].get(end[1]) or self._outside_node(*end)

    def _route_text(self, route: _Route) -> tuple[str, str]:
        """A route's statement text (`_edge_text`, `_merged_text`)."""
        if len(route.edges) > 1:
            return self._merged_text(route.edges, route.shortcut)
        (edge,) = route.edges
        if edge.arguments:  # seldom, and seldom alike
            return self._edge_text(edge, route.shortcut)
        # all that the text depends on: thousands of edges share a few
        memo = (edge.kind, route.source.routing_type, edge.routing_key, edge.origin,
                route.shortcut)
        text = self._edge_texts.get(memo)
        if text is None:
            text = self._edge_texts[memo] = self._edge_text(edge, route.shortcut)
        return text

    def _cross(self, edge: Edge) -> None:
        """Keep an edge with an end in another vhost's drawing for `to_dot`."""
        source, destination = (
            self.linked[name] if node_type == "external" and name in self.linked
            else self.nodes[node_type].get(name) or self._outside_node(node_type, name)
            for node_type, name in ((edge.source_type, edge.source),
                                    (edge.destination_type, edge.destination)))
        self.crossing.append((source, destination, self._edge_text(edge, False)))

    def _merged_text(self, edges: list[Edge], shortcut: bool) -> tuple[str, str]:
        """`_edge_text` of parallel edges drawn as one; the tooltip names their keys."""
        routing_keys = _routing_keys(edges)
        lines = merged_edge_label(self.view, edges, routing_keys)
        if shortcut:
            lines[0] += " via default exchange"
        tail = "\\n" + _escaped(self.vhost_line, True)
        named = sorted({key_text(key) for key in routing_keys})
        if named:
            more = f" and {len(named) - MAX_TOOLTIP_NAMES} more" if len(
                named) > MAX_TOOLTIP_NAMES else ""
            tail += "\\nrouting keys " + _escaped(
                ", ".join(named[:MAX_TOOLTIP_NAMES]) + more, True)
        kind = edges[0].kind
        look = kind if kind in _EDGE_LOOKS else "binding"
        attrs = self._attributes(_escaped("\n".join(lines)), look)
        return f'[{attrs}tooltip="{kind} ×{len(edges)}: ', tail + '"];'

    def _outside_node(self, node_type: str, name: str) -> _Node:
        """The node of an endpoint the view does not hold, made when first met."""
        found = self.outside.get((node_type, name))
        if found is None:
            found = self.outside[node_type, name] = _Node(self.routing_types.get(name))
        return found

    def _write_nodes(self, exchanges: dict[str, Exchange], own: dict[str, list[str]]) -> None:
        """The statement of every node, in order: *exchanges*, queues, groups, externals and
        stubs (*own*: node type -> the names not in a group)."""
        view = self.view
        nodes = self.nodes
        for name in sorted(own["exchange"]):
            self._entity("exchange", "x", exchanges[name])
        for name in sorted(own["queue"]):
            self._entity("queue", "q", view.queues[name])
        for group in self.grouping.groups if self.grouping is not None else ():
            self._group(group)
        if len(view.externals) > len(self.linked):
            external = self._template(_NodeDescription(
                "external", "", ("external",), "external", None, "external endpoint",
                (f"seen from {self.vhost_line}",)))
            for name in sorted(view.externals):
                if name not in self.linked:
                    self._write_node(nodes["external"][name], "external", name, "ext", external)
        for node_type, name in sorted(view.stubs | self.outside.keys()):
            if name not in nodes[node_type]:
                stub = self._template(_NodeDescription(
                    node_type, f"{STUB_MARK} ", (), None, "stub", node_type,
                    (self.vhost_line, "outside this selection")))
                node = nodes[node_type][name] = self._outside_node(node_type, name)
                self._write_node(node, node_type, name, "s", stub)

    def _write_node(self, node: _Node, node_type: str, name: str, id_letter: str,
                    template: _NodeTemplate, tooltip_end: str = "", attributes: str = "",
                    ) -> None:
        """A node's statement (*tooltip_end*: its tooltip's last lines, *attributes*: more
        after it, escaped), and its ID and tooltip name."""
        shown = display_name(node_type, name)
        label_name = _escaped_visible(shown)
        tooltip_name = _escaped_visible(shown, True)
        node.id = f"{self.prefix}{id_letter}{len(self.node_lines)}"
        node.tip = f"{node_type} {tooltip_name}"
        self.node_lines.append(template.statement(node.id, label_name, tooltip_name,
                                                  tooltip_end, attributes))

    def _entity(self, node_type: str, id_letter: str, entity: Exchange | Queue) -> None:
        """An exchange or queue's statement."""
        # All that the template shows, `_describe`'s fields (and an exchange's routing type,
        # which an argument may set): nodes alike in it share one.
        alike: tuple[Any, ...]
        if isinstance(entity, Exchange):
            alike = (node_type, entity.type, routing_type(entity), entity.durable,
                     entity.auto_delete, entity.internal, entity.origin)
        else:
            alike = (node_type, entity.type, entity.durable, entity.auto_delete,
                     entity.exclusive, entity.origin)
        template = self._entity_templates.get(alike)
        if template is None:
            template = self._template(self._describe(node_type, entity))
            self._entity_templates[alike] = template
        name = entity.name
        tooltip_end = self._arguments_line(entity.arguments) if entity.arguments else ""
        tooltip_end += self._policies_lines((node_type, name))
        self._write_node(self.nodes[node_type][name], node_type, name, id_letter, template,
                         tooltip_end)

    def _group(self, group: Group) -> None:
        """A summary node: the pattern its queues' names share, how many of which type,
        their keys; its tooltip names them, its link goes to the table that lists them."""
        node_type = f"{group.node_type} group"
        details = group_details(group)
        template = self._template(_NodeDescription(
            node_type, "", (details,), f"{group.node_type}:group", None,
            node_type, (self.vhost_line, details)))
        names = [visible(name) for name in group.members[:MAX_TOOLTIP_NAMES]]
        more = len(group.members) - len(names)
        tooltip_end = "\\n" + _escaped(", ".join(names) + (f" and {more} more" if more else ""),
                                       True)
        link = self.group_link(group) if self.group_link is not None else None
        attributes = (f', URL={dot_string(link)}, target="_top"' if link else "")
        self._write_node(self.nodes[group.node_type][group.members[0]], node_type, group.name,
                         "g", template, tooltip_end, attributes)

    def _describe(self, node_type: str, entity: Exchange | Queue) -> _NodeDescription:
        """What an exchange or queue node shows besides its name, arguments and policies."""
        if entity.origin == "missing":
            return _NodeDescription(node_type, "", (f"missing {node_type}",), None, "missing",
                                    node_type,
                                    (self.vhost_line, "missing: referenced but not declared"))
        details_line = entity_details(entity)
        status = "builtin" if entity.origin == "builtin" else None
        return _NodeDescription(node_type, "", (details_line,), entity_look(node_type, entity),
                                status, node_type, (self.vhost_line, details_line))

    def _arguments_line(self, arguments: dict[str, Any]) -> str:
        """A tooltip's arguments line, escaped, after its line break: worded once per drawing
        for each repr (which tells JSON values apart exactly: 1, True, "1")."""
        text = repr(arguments)
        line = self._arguments_lines.get(text)
        if line is None:
            # compact JSON is made visible and holds no line break
            line = "\\narguments " + _escaped_visible(compact_json(arguments), True)
            self._arguments_lines[text] = line
        return line

    def _policies_lines(self, key: NodeKey) -> str:
        """The tooltip lines of a node naming the policy and operator policy that apply,
        escaped, each after its line break (many nodes share a policy: worded once)."""
        view = self.view
        lines = ""
        for words, policies in (("policy", view.effective_policies),
                                ("operator policy", view.effective_operator_policies)):
            policy = policies.get(key)
            if policy is not None:
                line = self._policy_lines.get((words, policy.name))
                if line is None:
                    line = "\\n" + _escaped(f"{words} {visible(policy.name)}", True)
                    self._policy_lines[words, policy.name] = line
                lines += line
        return lines

    def _template(self, description: _NodeDescription) -> _NodeTemplate:
        """The template of the nodes *description* fits."""
        template = self._templates.get(description)
        if template is None:
            self.looks.update(item for item in (description.look, description.status) if item)
            label_end = "".join("\\n" + _escaped(line) for line in description.label_tail)
            tooltip_end = "".join("\\n" + _escaped(line, True)
                                  for line in description.tooltip_tail)
            style = _node_style(description.node_type, description.look, description.status)
            template = self._templates[description] = _NodeTemplate(
                f' [label="{_escaped(description.label_head)}',
                f'{label_end}", {style}, tooltip="{_escaped(description.heading, True)} ',
                tooltip_end,
            )
        return template

    def _edge_text(self, edge: Edge, shortcut: bool) -> tuple[str, str]:
        """An edge statement's text before its source's tooltip name (from the attribute
        list's start) and after its destination's, escaped."""
        lines = edge_label(self.view, edge)
        if shortcut:
            lines[0] += " via default exchange"
        tail = "\\n" + _escaped(self.vhost_line, True)
        if edge.routing_key is not None:
            tail += "\\nrouting key " + _escaped(key_text(edge.routing_key), True)
        if edge.arguments:
            tail += self._arguments_line(edge.arguments)
        tail += "\\nfrom " + _escaped(origin_text(edge.origin), True)
        look = edge.kind if edge.kind in _EDGE_LOOKS else "binding"
        attrs = self._attributes(_escaped("\n".join(lines)), look)
        return f'[{attrs}tooltip="{edge.kind}: ', tail + '"];'

    def _default_routes(self) -> None:
        """The default exchange's implicit routes: to every queue, and to the queues outside
        the selection that routes to it name."""
        view = self.view
        named = {
            edge.routing_key
            for edge in view.edges
            if (edge.destination_type, edge.destination) == _DEFAULT_EXCHANGE_KEY
            and edge.routing_key in self.nodes["queue"]
        }
        group_of = self.grouping.group_of if self.grouping is not None else {}
        routed: dict[int, list[str]] = defaultdict(list)  # a group's routes are one edge
        for name in sorted(set(view.queues) | named):
            group = group_of.get(("queue", name))
            if group is not None:
                routed[id(group)].append(name)
                if len(routed[id(group)]) == len(group.members):
                    tooltip = [f"the default exchange routes each queue's name to it "
                               f"({len(group.members)} queues)", self.vhost_line]
                    self._edge(_DEFAULT_EXCHANGE_KEY, ("queue", name),
                               f"×{len(group.members)}", "default-route",
                               _escaped("\n".join(tooltip), True))
                continue
            tooltip = [
                f"the default exchange routes key {visible(name)} to queue {visible(name)}",
                self.vhost_line,
            ]
            self._edge(_DEFAULT_EXCHANGE_KEY, ("queue", name), _escaped(visible(name)),
                       "default-route", _escaped("\n".join(tooltip), True))

    def _attributes(self, label: str, look: str) -> str:
        """``label="...", style...,`` of an edge: what comes before its tooltip."""
        self.edge_looks.add(look)
        attrs = f'label="{label}", ' if label else ""
        if style := _edge_style(look):
            attrs += style + ", "
        return attrs

    def _edge(self, source: NodeKey, target: NodeKey, label: str, look: str, tooltip: str) -> None:
        """An edge statement; *label* and *tooltip* come escaped (`_escaped`), without quotes."""
        source_id = self.nodes[source[0]][source[1]].id
        target_id = self.nodes[target[0]][target[1]].id
        self.edge_lines.append(f'{source_id} -> {target_id} '
                               f'[{self._attributes(label, look)}tooltip="{tooltip}"];')


@functools.cache
def _edge_style(look: str) -> str:
    """An edge look's attributes, formatted once: thousands of edges share a few looks."""
    return ", ".join(f"{name}={dot_string(value)}" for name, value in _EDGE_LOOKS[look][1].items())


#: a legend swatch's size in points: as wide as a short edge, as high as a line of 8 pt text
_SWATCH_WIDTH, _SWATCH_HEIGHT = 20, 9
#: legend entries a row: the legend is a strip below the graph, as wide as an LR graph
#: mostly is, narrower below a TB one
_LEGEND_COLUMNS = {"LR": 4, "TB": 3}


#: shapes with square corners (the rest are round or many-sided)
_BOX_SHAPES = frozenset({"box", "box3d", "cylinder", "folder", "tab"})


def _html(text: str) -> str:
    """*text* escaped for an HTML-like label."""
    import html  # here, for a legend: with html.entities, 8M instructions to import

    return html.escape(text, quote=True)


def _node_swatch(attrs: dict[str, str]) -> str:
    """A node look as a small box in a legend cell: its fill, line colour and style;
    round-cornered for exchanges (round or many-sided) and double-lined where the node
    has two peripheries."""
    style = [word for word in attrs.get("style", "").split(",") if word in ("dashed", "dotted")]
    if attrs.get("shape") not in _BOX_SHAPES or "rounded" in attrs.get("style", ""):
        style.append("rounded")
    color = _html(attrs.get("color", "black"))
    double = attrs.get("peripheries") == "2"
    inset = 6 if double else 2  # the lines and gaps around the fill
    box = (f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" COLOR="{color}" '
           f'BGCOLOR="{_html(attrs.get("fillcolor", "white"))}"'
           + (f' STYLE="{",".join(style)}"' if style else "")
           + f'><TR><TD WIDTH="{_SWATCH_WIDTH - inset}" HEIGHT="{_SWATCH_HEIGHT - inset}">'
           "</TD></TR></TABLE>")
    if double:
        box = (f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0" '
               f'COLOR="{color}"><TR><TD>{box}</TD></TR></TABLE>')
    return box


def _edge_swatch(attrs: dict[str, str]) -> str:
    """An edge look as a short line in a legend cell: its colour, style and weight."""
    style = [word for word in attrs.get("style", "").split(",") if word in ("dashed", "dotted")]
    weight = "2" if "bold" in attrs.get("style", "") else "1"
    return (f'<TABLE BORDER="0" CELLBORDER="{weight}" CELLSPACING="0" CELLPADDING="0" '
            f'SIDES="B"><TR><TD SIDES="B" COLOR="{_html(attrs.get("color", "black"))}" '
            f'WIDTH="{_SWATCH_WIDTH}" HEIGHT="{_SWATCH_HEIGHT // 2}"'
            + (f' STYLE="{",".join(style)}"' if style else "")
            + "></TD></TR></TABLE>")


def _legend(looks: set[str], edge_looks: set[str], layout: str,
            translate: Callable[[str], str], title: str | None) -> str | None:
    """An HTML-like graph label: *title* (when one vhost is drawn) and a legend of the looks
    the picture uses, a small table of swatches and words; None when it uses none."""
    entries = [(_node_swatch(attrs), text, attrs.get("fontcolor", "black"))
               for look, (text, attrs) in _NODE_LOOKS.items() if look in looks]
    entries += [(_edge_swatch(attrs), text, attrs.get("fontcolor", "black"))
                for look, (text, attrs) in _EDGE_LOOKS.items() if look in edge_looks]
    if not entries:
        return None
    columns = min(_LEGEND_COLUMNS[layout], len(entries))
    rows = []
    for first in range(0, len(entries), columns):
        rows.append("<TR>" + "".join(
            f'<TD>{swatch}</TD><TD ALIGN="LEFT"><FONT COLOR="{_html(color)}">'
            f"{_html(visible(translate(text)))}</FONT></TD>"
            for swatch, text, color in entries[first:first + columns]) + "</TR>")
    heading = (f'<TD ROWSPAN="{len(rows)}" VALIGN="TOP"><B>{_html(visible(translate("Legend")))}'
               "</B></TD>")
    rows[0] = rows[0].replace("<TR>", f"<TR>{heading}", 1)
    legend = (f'<TABLE BORDER="1" STYLE="rounded" COLOR="{GREY_LINE}" CELLBORDER="0" '
              f'CELLSPACING="0" CELLPADDING="1"><TR><TD><FONT POINT-SIZE="8"><TABLE '
              f'BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}'
              "</TABLE></FONT></TD></TR></TABLE>")
    head = (f'<TD VALIGN="TOP" CELLPADDING="4"><FONT COLOR="{_VHOST_LABEL["fontcolor"]}">'
            f"{_html(title)}</FONT></TD>" if title is not None else "")
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{head}'
            f"<TD>{legend}</TD></TR></TABLE>>")


#: what `Highlight` puts over the looks of what a message takes (bold, in its own colours)
#: and of the rest (grey)
_PATH_EDGE = _attr_list({"penwidth": "2.5"})[1:-1]
_PATH_NODE = _attr_list({"penwidth": "2.5"})
_FADED_EDGE = _attr_list({"color": GREY_LINE, "fontcolor": GREY_TEXT})[1:-1]
_FADED_NODE = _attr_list({"color": GREY_TEXT, "fontcolor": GREY_TEXT})


@record(frozen=True)
class Highlight:
    """What a message takes through a drawing: ``edges`` are indices into the view's edges,
    ``nodes`` (node type, name) keys; the rest is faded."""

    edges: set[int]
    nodes: set[NodeKey]


#: what a linked node is stated again with; replaced, or dropped, when the page is written
LINK_ATTRIBUTES = '[URL="#rabbitmq-link", target="_top"];'


def _link(drawing: _VhostDrawing, links: dict[str, tuple[str, str, str]]) -> None:
    for node_type in ("exchange", "queue"):
        named = sorted(drawing.nodes[node_type].items())
        # a summary node stands for several names, and links to its row of the groups table
        shared = Counter(node.id for _, node in named)
        for name, node in named:
            if shared[node.id] == 1:
                links[node.id] = (node_type, drawing.view.vhost, name)
                drawing.node_lines.append(f"{node.id} {LINK_ATTRIBUTES}")


def _highlight(drawing: _VhostDrawing, highlight: Highlight) -> None:
    """Restyle a drawing's statements: each edge line ends ``"];`` and a node stated again
    takes the later attributes."""
    for index in range(len(drawing.view.edges)):
        look = _PATH_EDGE if index in highlight.edges else _FADED_EDGE
        drawing.edge_lines[index] = f"{drawing.edge_lines[index][:-2]}, {look}];"
    for node_type, nodes in sorted(drawing.nodes.items()):
        for name, node in sorted(nodes.items()):
            look = _PATH_NODE if (node_type, name) in highlight.nodes else _FADED_NODE
            drawing.node_lines.append(f"{node.id} {look};")


def _crossing_lines(drawings: list[_VhostDrawing]) -> list[str]:
    """The statements of the edges between two drawings, each to its node in the other."""
    by_vhost = {drawing.view.vhost: drawing for drawing in drawings}

    def node_and_tip(end: _Node | GraphNode) -> tuple[_Node, str]:
        if isinstance(end, _Node):
            return end, end.tip
        vhost, node_type, name = end
        there = by_vhost[vhost].nodes[node_type][name]
        return there, f"{there.tip} in vhost {_escaped_visible(visible(vhost), True)}"

    lines = []
    for drawing in drawings:
        for source_end, target_end, text in drawing.crossing:
            (source, source_tip), (target, target_tip) = map(node_and_tip,
                                                             (source_end, target_end))
            lines.append(f"{source.id} -> {target.id} {text[0]}{source_tip} -> {target_tip}"
                         f"{text[1]}")
    return lines


def to_dot(
    views: list[VhostTopology],
    *,
    layout: str = "LR",
    legend: bool = False,
    show_default_exchange: bool = False,
    graph_name: str = "rabbitmq",
    highlight: Highlight | None = None,
    grouped: Grouped | None = None,
    group_link: GroupLink | None = None,
    translate: Callable[[str], str] = str,
    links: dict[str, tuple[str, str, str]] | None = None,
) -> str:
    """One ``digraph`` of *views*, labelled with its vhost, or a box per vhost when several;
    with *highlight*, the route of a message through the one view is marked; with
    *grouped* (`grouping.group_views`), each group of queues is one node linked to
    *group_link*, and parallel edges of one kind are one; *translate* gives the legend's
    words in the document's language.

    With *links* (a dict, filled here), each exchange and queue node is stated once more
    with `LINK_ATTRIBUTES`, a placeholder for the address it links to, and *links* maps its
    ID to its kind, vhost and name: the address depends on where the page and the
    description are written, known only then (see extension/visitors.py).

    The same input always gives the same text, byte for byte.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    lines = [
        f"digraph {dot_string(graph_name)} {{",
        f"graph {_attr_list({'rankdir': layout, **_GRAPH_ATTRS})};",
        f"node {_attr_list(_NODE_ATTRS)};",
        f"edge {_attr_list(_EDGE_ATTRS)};",
    ]
    if highlight is not None and grouped is not None:
        raise ValueError("a highlighted route is drawn without grouping")
    if grouped is not None and grouped.show_default_exchange != show_default_exchange:
        raise ValueError("grouped for a drawing with the default exchange shown otherwise")
    groupings = grouped.groupings if grouped is not None else [None] * len(views)
    drawn = {view.vhost: view for view in views}
    drawings = [
        _VhostDrawing(index, view, show_default_exchange, linked_ends(view, drawn), grouping,
                      group_link)
        for index, (view, grouping) in enumerate(zip(views, groupings, strict=True))
    ]
    if highlight is not None:
        for drawing in drawings:
            _highlight(drawing, highlight)
    if links is not None:
        for drawing in drawings:
            _link(drawing, links)
    for index, drawing in enumerate(drawings):
        body = drawing.node_lines + drawing.edge_lines
        if len(drawings) > 1:
            box = {"label": f"vhost {visible(drawing.view.vhost)}", **_VHOST_LABEL}
            box.update(style="rounded", color=GREY_LINE)
            body = [f"subgraph cluster_{index} {{", f"graph {_attr_list(box)};", *body, "}"]
        lines += body
    # edges between vhosts, outside the boxes (an edge in a box would pull its ends in)
    lines += _crossing_lines(drawings)
    if not drawings:
        lines.append(f"empty {_attr_list(_NOTHING)};")
    # the graph's label is set last, so that no cluster inherits it
    title = f"vhost {visible(drawings[0].view.vhost)}" if len(drawings) == 1 else None
    label = None
    if legend:
        # below the graph, after the title of its one vhost (a graph has one label)
        looks = set().union(*(drawing.looks for drawing in drawings))
        edge_looks = set().union(*(drawing.edge_looks for drawing in drawings))
        label = _legend(looks, edge_looks, layout, translate, title)
    if label is not None:
        lines.append(f'graph [label={label}, labelloc="b", labeljust="l"];')
    elif title is not None:
        lines.append(f"graph {_attr_list({'label': title, **_VHOST_LABEL})};")
    lines.append("}")
    return "\n".join(lines) + "\n"
