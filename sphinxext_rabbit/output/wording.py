"""The wording every output shares: how names, keys, arguments, types, flags and origins
read, and which characters of input are shown as escapes."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..topology.model import (
    BUILTIN_EXCHANGES,
    DEFAULT_EXCHANGE,
    Edge,
    Exchange,
    Origin,
    OriginKind,
    Queue,
    VhostTopology,
    routing_type,
)

if TYPE_CHECKING:
    from .grouping import Group, Grouped

#: exchange types that ignore a binding's routing key
KEY_IGNORED_TYPES = frozenset({"fanout", "x-random", "x-local-random", "x-modulus-hash"})
DEFAULT_EXCHANGE_LABEL = "(default exchange)"
STUB_MARK = "↗"
#: what a directive's warning tells to draw less with (its options, as a sentence)
DRAW_LESS = "Draw a part with :focus:, or narrow it with :vhost:, :include: or :exclude:"

#: what `visible` rewrites: control characters, the line and paragraph separators (line
#: breaks to `str.splitlines`), bidirectional embeddings, overrides and isolates (which
#: reorder what a terminal or page shows), lone surrogates and non-characters. A pattern,
#: compiled by `re` when first used, as few names need it (compiling its range of
#: surrogates costs as much as drawing hundreds of nodes)
_INVISIBLE_BEYOND_ASCII = (r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                           r"\ud800-\udfff\ufffe\uffff")
_INVISIBLE = rf"[\x00-\x1f{_INVISIBLE_BEYOND_ASCII}]"
#: entity types drawn with a look of their own; others share ``exchange:other``/``queue:other``
_LOOK_TYPES = {"exchange": frozenset({"direct", "fanout", "topic", "headers"}),
               "queue": frozenset({"classic", "quorum", "stream"})}



def visible(text: str) -> str:
    """*text* with what `_INVISIBLE` names as escapes: what every output (DOT, tables, text,
    warnings, messages) shows of a string from the input."""
    if text.isprintable():  # none of those is printable, and most text holds none
        return text
    return re.sub(_INVISIBLE, _escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_json(text: str) -> str:
    """JSON *text* with what `visible` escapes written as JSON escapes: the same value,
    safe to show. (JSON escapes control characters in strings itself; outside strings it
    has only ASCII.)"""
    return re.sub(f"[{_INVISIBLE_BEYOND_ASCII}]", _json_escape_char, text)


def _json_escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"  # all of them are below U+10000


#: `json.dumps` with options builds an encoder on every call
_COMPACT_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compact_json(value: Any) -> str:
    return visible(_COMPACT_ENCODER.encode(value))


def value_text(value: Any) -> str:
    """An argument value as a reader wants it: strings bare (empty as ``""``), the rest JSON."""
    if isinstance(value, str):
        return visible(value) or '""'
    return compact_json(value)


def key_text(routing_key: str) -> str:
    return visible(routing_key) or '""'


def display_name(node_type: str, name: str) -> str:
    if node_type == "exchange" and name == DEFAULT_EXCHANGE:
        return DEFAULT_EXCHANGE_LABEL
    return visible(name)


def exchange_type_text(exchange: Exchange) -> str:
    real = routing_type(exchange)
    kind = visible(exchange.type)
    return kind if real == exchange.type else f"{kind} ({visible(real)})"


def queue_type_text(queue: Queue) -> str:
    return "stream" if queue.type == "stream" else f"{visible(queue.type)} queue"


def entity_flags(entity: Exchange | Queue) -> list[str]:
    """The flags a reader must notice, durability aside."""
    if isinstance(entity, Exchange):
        flags = ["internal"] if entity.internal else []
    else:
        flags = ["exclusive"] if entity.exclusive else []
    if entity.auto_delete:
        flags.append("auto-delete")
    return flags


def source_exchange_type(view: VhostTopology, name: str) -> str | None:
    """The routing type of exchange *name*, also for built-in ones outside the view."""
    exchange = view.exchanges.get(name)
    if exchange is not None and exchange.origin != "missing":
        return routing_type(exchange)
    return BUILTIN_EXCHANGES.get(name)


def routing_types(view: VhostTopology) -> dict[str, str | None]:
    """Exchange name -> `source_exchange_type`, for every exchange of *view* and the
    built-in ones: looked up once per drawing (a name it lacks routes as None)."""
    return {**BUILTIN_EXCHANGES,
            **{name: source_exchange_type(view, name) for name in view.exchanges}}


def is_headers_binding(edge: Edge, exchange_type: str | None) -> bool:
    return exchange_type == "headers" or "x-match" in edge.arguments


def routed_keys(edges: list[Edge], exchange_type: str | None) -> set[str]:
    """The distinct routing keys of bindings *edges* from an exchange of *exchange_type*
    that it routes by: not a fanout-like exchange's, nor a headers binding's."""
    if exchange_type in KEY_IGNORED_TYPES:
        return set()
    return {edge.routing_key for edge in edges
            if edge.routing_key is not None and not is_headers_binding(edge, exchange_type)}


def argument_terms(arguments: dict[str, Any], *, headers: bool = False) -> list[str]:
    """``key=value`` per argument, sorted; for a headers binding ``x-match`` (default all) first."""
    items = sorted(arguments.items())
    if headers:
        match = arguments.get("x-match", "all")
        items = [("x-match", match), *((key, value) for key, value in items if key != "x-match")]
    return [f"{visible(key)}={value_text(value)}" for key, value in items]


def binding_terms(edge: Edge, exchange_type: str | None, *, key_prefix: str = "") -> list[str]:
    """What a binding matches on, a term a line: routing key, weight or header arguments."""
    if is_headers_binding(edge, exchange_type):
        return argument_terms(edge.arguments, headers=True)
    others = argument_terms(edge.arguments)
    if exchange_type == "x-consistent-hash":
        return [f"weight {key_text(edge.routing_key or '')}", *others]
    if exchange_type in KEY_IGNORED_TYPES:
        return others
    return [key_prefix + key_text(edge.routing_key or ""), *others]


def origin_words(kind: OriginKind) -> str:
    """The kind of an edge's origin in words: ``queue argument``, ``policy``, ..."""
    return kind.replace("-", " ")


def origin_text(origin: Origin) -> str:
    """Where an edge comes from, in words: ``queue argument``, ``policy P``, ..."""
    kind, name = origin
    return f"{origin_words(kind)} {visible(name)}" if name else origin_words(kind)



def entity_details(entity: Exchange | Queue) -> str:
    """A node's second line: its type, flags, durability and whether it is built in."""
    if isinstance(entity, Exchange):
        details = [exchange_type_text(entity)]
    else:
        details = [queue_type_text(entity)]
    details += entity_flags(entity)
    if not entity.durable:
        details.append("durable=false")
    if entity.origin == "builtin":
        details.append("built-in")
    return ", ".join(details)


def drawn_queue_names(view: VhostTopology) -> set[str]:
    """The queues a drawing of *view* shows, stubs included: where shortcuts may lead."""
    return set(view.queues) | {name for node_type, name in view.stubs if node_type == "queue"}


def goes_via_default_exchange(edge: Edge, queue_names: set[str]) -> bool:
    """Whether *edge* leads to the default exchange with the name of a drawn queue as its
    key: unless the default exchange is drawn, it is drawn straight to that queue."""
    return (
        edge.destination == DEFAULT_EXCHANGE
        and edge.destination_type == "exchange"
        and edge.routing_key is not None
        and edge.routing_key in queue_names
    )


def entity_look(node_type: str, entity: Exchange | Queue) -> str:
    """The look of a declared or built-in entity by its type: ``queue:quorum``,
    ``exchange:other``, ..."""
    known = entity.type in _LOOK_TYPES.get(node_type, ())
    return f"{node_type}:{entity.type}" if known else f"{node_type}:other"


def endpoint_status(view: VhostTopology, node_type: str, name: str) -> str | None:
    """``missing`` for a referenced, undeclared entity, ``not selected`` for a stub."""
    entities: dict[str, Exchange] | dict[str, Queue] = (
        view.exchanges if node_type == "exchange" else view.queues if node_type == "queue" else {})
    entity = entities.get(name)
    if entity is not None and entity.origin == "missing":
        return "missing"
    if entity is None and (node_type, name) in view.stubs:
        return "not selected"
    return None


def linked_ends(view: VhostTopology, drawn: dict[str, VhostTopology]
                ) -> dict[str, tuple[str, str, str]]:
    """The externals of *view* that are entities of another vhost with a node in *drawn*
    (by vhost): drawn as edges to that node, not as external nodes."""
    linked = {}
    for external, (vhost, node_type, name) in view.links.items():
        other = drawn.get(vhost)
        if other is not None and external in view.externals and (
                name in (other.queues if node_type == "queue" else other.exchanges)
                or (node_type, name) in other.stubs):
            linked[external] = (vhost, node_type, name)
    return linked


def crosses(edge: Edge, linked: dict[str, tuple[str, str, str]]) -> bool:
    """Whether an end of *edge* is an external drawn as another vhost's node (*linked*,
    `linked_ends`): such an edge is drawn on its own, between the vhosts' boxes."""
    return ((edge.source_type == "external" and edge.source in linked)
            or (edge.destination_type == "external" and edge.destination in linked))


#: a queue type's plural, in a group's count
_PLURALS = {"classic": "classic queues", "quorum": "quorum queues", "stream": "streams"}


def keys_text(shown: list[str], count: int) -> str:
    """Routing keys in few words, from `grouping.summary`: ``key a``, ``keys a, b``,
    ``keys svc007.* (12)``, ``12 keys``."""
    if not count:
        return ""
    if len(shown) == count:
        return ("key " if count == 1 else "keys ") + ", ".join(key_text(key) for key in shown)
    if shown:
        return f"keys {visible(shown[0])} ({count})"
    return f"{count} keys"


def budget_text(budget: int) -> str:
    """A node budget and the edges that come with it: ``40 nodes, 120 edges``."""
    from .grouping import EDGES_PER_NODE

    return f"{budget} nodes, {EDGES_PER_NODE * budget} edges"


def grouped_text(grouped: Grouped) -> str:
    """What grouping did to a diagram: ``1325 nodes drawn as 65: 1260 queues as 63 groups
    (svc000.q.*, svc001.q.*, ...); 3843 edges as 189``."""
    parts = []
    for node_type in ("queue", "exchange"):
        groups = [group for group in grouped.groups if group.node_type == node_type]
        if groups:
            members = sum(len(group.members) for group in groups)
            patterns = ", ".join(visible(group.name) for group in groups[:3])
            parts.append(f"{members} {node_type}s as {len(groups)} "
                         f"group{'s' if len(groups) > 1 else ''} ({patterns}"
                         f"{', ...' if len(groups) > 3 else ''})")
    if grouped.edges_after < grouped.edges_before:
        parts.append(f"{grouped.edges_before} edges as {grouped.edges_after}")
    return f"{grouped.nodes_before} nodes drawn as {grouped.nodes_after}: " + "; ".join(parts)


def group_details(group: Group) -> str:
    """A group's second line: ``20 quorum queues, keys svc007.*``, ``63 topic exchanges``."""
    from .grouping import summary

    keys = keys_text(*summary(group.keys))
    return f"{group_count(group)}, {keys}" if keys else group_count(group)


def group_count(group: Group) -> str:
    """How many of what a group stands for: ``20 quorum queues``, ``63 topic exchanges``."""
    total = len(group.members)
    if group.node_type == "exchange":
        mix = ", ".join(visible(exchange_type) for exchange_type in group.types)
        return f"{total} {mix} exchanges"
    if len(group.types) == 1:
        (queue_type,) = group.types
        words = f"{total} {_PLURALS.get(queue_type, visible(queue_type) + ' queues')}"
    else:
        mix = ", ".join(f"{count} {visible(queue_type)}" for queue_type, count
                        in sorted(group.types.items(), key=lambda item: (-item[1], item[0])))
        words = f"{total} queues ({mix})"
    return words
