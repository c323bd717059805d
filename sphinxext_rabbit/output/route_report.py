"""How a route is told: the route command's lines and JSON, the rabbitmq-route table."""

from __future__ import annotations

from typing import Any

from ..topology.model import BUILTIN_EXCHANGES, Exchange, VhostTopology
from ..topology.route import DEFAULT_ALIASES, IMPLICIT, ONE_OF_TYPES, Choice, DeadLetter, Hop, Route
from .tables import Cell, Span, Table
from .wording import (
    argument_terms,
    display_name,
    exchange_type_text,
    is_headers_binding,
    key_text,
    origin_text,
    source_exchange_type,
    value_text,
    visible,
)

UNROUTABLE = "unroutable"


def _name(node_type: str, name: str) -> Cell:
    if node_type == "exchange" and name in DEFAULT_ALIASES:
        return [Span("the default exchange")]
    return [Span(f"{node_type} "), Span(display_name(node_type, name), literal=True)]


def exchange_spans(view: VhostTopology, name: str) -> Cell:
    """``exchange NAME (type)``."""
    if name in DEFAULT_ALIASES:
        return _name("exchange", name)
    exchange = view.exchanges.get(name) or Exchange(
        view.vhost, name, BUILTIN_EXCHANGES.get(name, "unknown"), origin="builtin")
    return [*_name("exchange", name), Span(f" ({exchange_type_text(exchange)})")]


def message_spans(route: Route) -> Cell:
    """What was published: the routing key, CC/BCC keys, the headers."""
    keys = route.message.routing_keys or ("",)
    spans = [Span("routing key "), Span(visible(keys[0]), literal=True)]
    if len(keys) > 1:
        spans += [Span(", CC/BCC keys ")] + _listed([Span(visible(k), literal=True)
                                                      for k in keys[1:]])
    headers = {name: value for name, value in (route.message.headers or {}).items()
               if name != "CC"}
    if headers:
        spans += [Span(", headers ")] + _listed([
            Span(f"{visible(name)}={value_text(value)}", literal=True)
            for name, value in sorted(headers.items())])
    return spans


def _listed(spans: list[Span], separator: str = ", ") -> Cell:
    cell: Cell = []
    for index, span in enumerate(spans):
        if index:
            cell.append(Span(separator))
        cell.append(span)
    return cell


def why_spans(view: VhostTopology, hop: Hop) -> Cell:
    """Why the message takes *hop*: which binding matched, or which setting sent it."""
    edge = hop.edge
    if edge.kind == "alternate":
        spans = [Span(f"no binding matched: alternate exchange, from {origin_text(edge.origin)}")]
    elif edge.kind == "dead-letter":
        spans = [Span(f"dead-letter exchange, from {origin_text(edge.origin)}, ")]
        spans += ([Span("routing key "), Span(key_text(edge.routing_key), literal=True)]
                  if edge.routing_key is not None else [Span("keeping its routing keys")])
    elif edge.origin == IMPLICIT:
        spans = [Span("routing key "), Span(key_text(edge.routing_key or ""), literal=True),
                 Span(" names the queue")]
    else:
        kind = source_exchange_type(view, edge.source)
        if is_headers_binding(edge, kind):
            spans = [Span("headers match ")] + _listed(
                [Span(term, literal=True) for term in argument_terms(edge.arguments,
                                                                     headers=True)])
        elif hop.key is not None and hop.key == edge.routing_key:
            spans = [Span("binding key "), Span(key_text(hop.key), literal=True)]
        elif hop.key is not None:
            spans = [Span("binding key "), Span(key_text(edge.routing_key or ""), literal=True),
                     Span(" matches "), Span(key_text(hop.key), literal=True)]
        elif kind in ONE_OF_TYPES:
            spans = [Span(f"one of the bindings of a {visible(kind)} exchange")]
        else:
            spans = [Span(f"{visible(kind or 'any')} exchange: every binding")]
    if hop.again:
        spans.append(Span("; already reached, so no second copy"
                          if edge.destination_type == "queue"
                          else "; already routed (each exchange routes a message once)"))
    return spans


def hop_spans(view: VhostTopology, hop: Hop) -> Cell:
    """``exchange A → queue B (why)``."""
    edge = hop.edge
    return [*_name(edge.source_type, edge.source), Span(" → "),
            *_name(edge.destination_type, edge.destination), Span(" ("),
            *why_spans(view, hop), Span(")")]


def choice_spans(view: VhostTopology, choice: Choice) -> Cell:
    """``exchange X (type) delivers to one of: a | b, c``."""
    alternatives = [_listed([Span(visible(q), literal=True) for q in alternative])
                    or [Span("nothing")] for alternative in choice.alternatives]
    spans = [*exchange_spans(view, choice.exchange), Span(" delivers to one of: ")]
    for index, alternative in enumerate(alternatives):
        spans += ([Span(" | ")] if index else []) + alternative
    return spans


def result_spans(route: Route) -> Cell:
    if route.refused:
        return [Span("refused: the broker does not take the message")]
    if route.unroutable:
        return [Span("unroutable: no queue receives it")]
    if not route.queues:
        return [Span("lands in one queue of a choice above")]
    return [Span("queues: ")] + _listed([Span(visible(q), literal=True) for q in route.queues])


def _text(spans: Cell) -> str:
    return "".join(span.text or '""' if span.literal else span.text for span in spans)


def route_lines(view: VhostTopology, route: Route,
                dead_letters: list[DeadLetter] | None = None) -> list[str]:
    """The command's answer: what was published, one line per hop, where it lands."""
    lines = [_text([Span(f"vhost {visible(view.vhost)}: "), *exchange_spans(view, route.exchange),
                    Span(", "), *message_spans(route)])]
    lines += _route_body(view, route, "  ")
    for letter in dead_letters or ():
        lines.append(_text([Span("dead-lettered by "), *_name("queue", letter.queue), Span(":")]))
        lines.append("  " + _text(hop_spans(view, letter.hop)))
        lines += _route_body(view, letter.route, "  ")
        if letter.cycle:
            lines.append("  " + _text(cycle_spans(letter.cycle)))
    return lines


def _route_body(view: VhostTopology, route: Route, indent: str) -> list[str]:
    lines = [indent + _text(hop_spans(view, hop)) for hop in route.hops]
    lines += [indent + _text(choice_spans(view, choice)) for choice in route.choices]
    lines += [indent + _text([Span("the default exchange has no queue named "),
                              Span(key_text(key), literal=True)])
              for key in route.unmatched_keys]
    return lines + [indent + _text(result_spans(route))]


def cycle_spans(cycle: list[str]) -> Cell:
    """A dead-letter cycle, and what the broker does with a message that goes round it."""
    return ([Span("cycle: ")] + _listed([Span(visible(q), literal=True) for q in cycle], " → ")
            + [Span(": a message rejected somewhere on it goes round again; one that only "
                    "expired, overflowed or hit its delivery limit is dropped here")])


def route_dict(route: Route, dead_letters: list[DeadLetter] | None = None) -> dict[str, Any]:
    """The command's JSON answer (README: "The route command")."""
    answer = {
        "vhost": route.vhost,
        "exchange": route.exchange,
        "routing_keys": list(route.message.routing_keys or ()),
        "queues": route.queues,
        "unroutable": route.unroutable,
        "refused": route.refused,
        "path": [hop.edge.as_dict() for hop in route.hops],
        "one_of": [{"exchange": choice.exchange, "type": choice.type,
                    "alternatives": [list(alternative) for alternative in choice.alternatives],
                    "path": [hop.edge.as_dict() for hop in choice.hops]}
                   for choice in route.choices],
        "problems": [problem.as_dict() for problem in route.problems],
    }
    if dead_letters is not None:
        answer["dead_letter"] = [
            {"queue": letter.queue, **route_dict(letter.route),
             "path": [letter.hop.edge.as_dict(), *(h.edge.as_dict() for h in letter.route.hops)],
             "cycle": letter.cycle}
            for letter in dead_letters]
    return answer


def route_table(view: VhostTopology, route: Route, dead_letters: list[DeadLetter] | None,
                title: str, expected: list[str] | None = None) -> Table:
    """The directive's table: what is published, each queue reached and the hops that lead
    there, and the claim the build checked (*expected*)."""
    rows = [[[Span("published")], [*exchange_spans(view, route.exchange), Span(", "),
                                   *message_spans(route)]]]
    if expected is not None:
        rows.append([[Span("expected")], _listed([Span(visible(q), literal=True)
                                                  for q in expected] or [Span(UNROUTABLE)])
                     + [Span(" (checked by the build)")]])
    for queue in route.reached():
        cell: Cell = []
        for index, hop in enumerate(route.chain(queue)):
            cell += ([Span("; ")] if index else []) + hop_spans(view, hop)
        if queue not in route.queues:
            cell += [Span(" — one of the queues a choice picks from")]
        rows.append([[Span(visible(queue), literal=True)], cell])
    for choice in route.choices:
        rows.append([[Span("one of")], choice_spans(view, choice)])
    if route.unroutable:
        rows.append([[Span(UNROUTABLE)], result_spans(route)])
    for letter in dead_letters or ():
        cell = hop_spans(view, letter.hop) + [Span("; ")] + result_spans(letter.route)
        if letter.cycle:
            cell += [Span("; ")] + cycle_spans(letter.cycle)
        rows.append([[Span("dead-lettered by "), Span(visible(letter.queue), literal=True)],
                     cell])
    return Table(title, ["Queue", "How the message gets there"], rows)
