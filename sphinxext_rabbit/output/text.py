"""The text fallback: a diagram as readable lines, for builders that draw no images."""

from __future__ import annotations

from ..topology.model import Edge, VhostTopology
from .grouping import Grouped, Grouping, summary
from .wording import (
    binding_terms,
    display_name,
    endpoint_status,
    group_details,
    key_text,
    keys_text,
    origin_text,
    source_exchange_type,
    visible,
)

NodeKey = tuple[str, str]


def _group_endpoints(grouping: Grouping | None) -> dict[NodeKey, str]:
    """Each grouped node -> how its group is written, worded once a group."""
    if grouping is None:
        return {}
    written = {id(group): f"{group.node_type} group {visible(group.name)} "
                          f"({group_details(group)})" for group in grouping.groups}
    return {node: written[id(group)] for node, group in grouping.group_of.items()}


def _text_endpoint(view: VhostTopology, node_type: str, name: str,
                   groups: dict[NodeKey, str]) -> str:
    """An edge's end as written: its group (*groups*: `_group_endpoints`), or itself."""
    group = groups.get((node_type, name))
    if group is not None:
        return group
    text = f"{node_type} {display_name(node_type, name)}"
    status = endpoint_status(view, node_type, name)
    return f"{text} ({status})" if status else text


def _text_terms(view: VhostTopology, edge: Edge) -> list[str]:
    if edge.kind == "binding":
        return binding_terms(edge, source_exchange_type(view, edge.source), key_prefix="key: ")
    terms = [visible(edge.kind)]
    if edge.routing_key is not None:
        terms.append(f"key: {key_text(edge.routing_key)}")
    return [*terms, origin_text(edge.origin)]


def _merged_terms(view: VhostTopology, edges: list[Edge]) -> list[str]:
    """The terms of parallel edges written as one line: their common terms, or the kind
    and the keys they share, and their count."""
    first = _text_terms(view, edges[0])
    if all(_text_terms(view, edge) == first for edge in edges[1:]):  # (stops at the first other)
        return [*first, f"×{len(edges)}"]
    keys = keys_text(*summary(edge.routing_key for edge in edges
                              if edge.routing_key is not None))
    return [visible(edges[0].kind), *([keys] if keys else []), f"×{len(edges)}"]


def _endpoint_once(view: VhostTopology, node: NodeKey, groups: dict[NodeKey, str],
                   worded: dict[NodeKey, str]) -> str:
    """`_text_endpoint` of *node*, worded once: kept in *worded*."""
    text = worded.get(node)
    if text is None:
        text = worded[node] = _text_endpoint(view, *node, groups)
    return text


def to_text(views: list[VhostTopology], grouped: Grouped | None = None) -> str:
    """A readable fallback for text builders: every edge, then the unconnected entities;
    with *grouped*, its groups as one each and parallel edges as one line."""
    blocks = []
    for index, view in enumerate(views):
        grouping = grouped.groupings[index] if grouped is not None else None
        groups = _group_endpoints(grouping)
        lines = [f"vhost {visible(view.vhost)}"]
        #: each end of an edge -> it as written (worded once, not once an edge)
        connected: dict[NodeKey, str] = {}
        #: (source, destination, kind) as written -> the edges written so, in order
        written: dict[tuple[str, str, str], list[Edge]] = {}
        for edge in view.edges:
            ends = (_endpoint_once(view, (edge.source_type, edge.source), groups, connected),
                    _endpoint_once(view, (edge.destination_type, edge.destination), groups,
                                   connected),
                    edge.kind if grouping is not None else str(len(written)))
            written.setdefault(ends, []).append(edge)
        for (source, destination, _), edges in written.items():
            terms = (_text_terms(view, edges[0]) if len(edges) == 1
                     else _merged_terms(view, edges))
            lines.append(f"  {source} -> {destination}"
                         + (f" [{'; '.join(terms)}]" if terms else ""))
        entities = [("exchange", name) for name in sorted(view.exchanges)]
        entities += [("queue", name) for name in sorted(view.queues)]
        unconnected: dict[str, None] = {}  # (a group is written once)
        for node_type, name in entities:
            if (node_type, name) not in connected:
                unconnected[_text_endpoint(view, node_type, name, groups)] = None
        lines += [f"  {endpoint} (not connected)" for endpoint in unconnected]
        if len(lines) == 1:
            lines.append("  (nothing selected)")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) if blocks else "(nothing selected)\n"
