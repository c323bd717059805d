"""The text fallback: a diagram as readable lines, for builders that draw no images."""

from __future__ import annotations

from ..topology.model import Edge, VhostTopology
from .wording import (
    binding_terms,
    display_name,
    endpoint_status,
    key_text,
    origin_text,
    source_exchange_type,
    visible,
)

NodeKey = tuple[str, str]


def _text_endpoint(view: VhostTopology, node_type: str, name: str) -> str:
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


def to_text(views: list[VhostTopology]) -> str:
    """A readable fallback for text builders: every edge, then the unconnected entities."""
    blocks = []
    for view in views:
        lines = [f"vhost {visible(view.vhost)}"]
        connected: set[NodeKey] = set()
        for edge in view.edges:
            connected |= {
                (edge.source_type, edge.source),
                (edge.destination_type, edge.destination),
            }
            terms = _text_terms(view, edge)
            lines.append(
                f"  {_text_endpoint(view, edge.source_type, edge.source)}"
                f" -> {_text_endpoint(view, edge.destination_type, edge.destination)}"
                + (f" [{'; '.join(terms)}]" if terms else "")
            )
        entities = [("exchange", name) for name in sorted(view.exchanges)]
        entities += [("queue", name) for name in sorted(view.queues)]
        for node_type, name in entities:
            if (node_type, name) not in connected:
                lines.append(f"  {_text_endpoint(view, node_type, name)} (not connected)")
        if len(lines) == 1:
            lines.append("  (nothing selected)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else "(nothing selected)\n"
