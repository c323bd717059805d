"""Render vhost topologies as tables: plain rows of text spans, for any output."""

from __future__ import annotations

from collections import Counter

from ..topology.model import DEFAULT_EXCHANGE, Edge, Exchange, Origin, Queue, VhostTopology
from ..topology.problems import CATALOG
from ..topology.records import field, record
from .grouping import Grouped, summary
from .wording import (
    KEY_IGNORED_TYPES,
    argument_terms,
    binding_terms,
    endpoint_status,
    entity_flags,
    exchange_type_text,
    group_count,
    is_headers_binding,
    key_text,
    origin_words,
    source_exchange_type,
    visible,
)

NONE = "—"
#: how many entity names the policies table lists before it only counts them
MAX_NAMES = 10
#: bindings a table lists before it is shown by source exchange (the whole one folded);
#: rabbitmq_topology_table_row_budget
TABLE_ROW_BUDGET = 100
#: queue arguments the queues table shows in their own columns
_QUEUE_COLUMN_ARGUMENTS = frozenset({"x-queue-type"})
_DEAD_LETTER_ARGUMENTS = frozenset({"x-dead-letter-exchange", "x-dead-letter-routing-key"})


#: an entity a span names: its kind (vhost, exchange, queue, policy), vhost and name
EntityRef = tuple[str, str, str]


@record(frozen=True)
class Span:
    """A piece of a cell; literal spans (names, keys, values) are printed verbatim. A span
    that names an entity says which, so that an output can link it."""

    text: str
    literal: bool = False
    entity: EntityRef | None = None


Cell = list[Span]


@record
class Table:
    """A titled table whose cells are lists of spans; ``row_ids``: the rows' link targets
    (none, or one a row)."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    row_ids: list[str] = field(default_factory=list)
    #: the entity each row is about (a row of queues, exchanges or policies), if any
    row_entities: list[EntityRef | None] = field(default_factory=list)


def _code(text: str) -> Span:
    return Span(visible(text), literal=True)


def _joined(pieces: list[Cell], separator: str = ", ") -> Cell:
    """*pieces* in one cell, separated by plain *separator*; ``—`` when there are none."""
    cell: Cell = []
    for index, piece in enumerate(pieces):
        if index:
            cell.append(Span(separator))
        cell += piece
    return cell or [Span(NONE)]


def _terms(terms: list[str]) -> Cell:
    """Terms built by graph.py, already made visible, as literal spans."""
    return _joined([[Span(term, literal=True)] for term in terms])


def _named(kind: str, vhost: str, name: str) -> Span:
    """An entity's name, marked as naming it."""
    return Span(visible(name), literal=True, entity=(kind, vhost, name))


def _endpoint(view: VhostTopology, node_type: str, name: str) -> Cell:
    if node_type == "exchange" and name == DEFAULT_EXCHANGE:
        return [Span("default exchange")]
    if node_type not in ("exchange", "queue"):
        return [Span(f"{node_type} "), _code(name)]
    cell = [Span(f"{node_type} "), _named(node_type, view.vhost, name)]
    if endpoint_status(view, node_type, name) == "missing":
        cell.append(Span(" (missing)"))
    return cell


def _entity_name(entity: Exchange | Queue) -> Cell:
    if isinstance(entity, Exchange) and entity.name == DEFAULT_EXCHANGE:
        cell = [Span("(default exchange)")]
    else:
        cell = [_named("exchange" if isinstance(entity, Exchange) else "queue", entity.vhost,
                       entity.name)]
    if entity.origin == "builtin":
        cell.append(Span(" (built-in)"))
    elif entity.origin == "missing":
        cell.append(Span(" (missing)"))
    return cell


def _effective_policy(view: VhostTopology, node_type: str, name: str) -> Cell:
    pieces = []
    if (policy := view.effective_policies.get((node_type, name))) is not None:
        pieces.append([_named("policy", view.vhost, policy.name)])
    if (policy := view.effective_operator_policies.get((node_type, name))) is not None:
        pieces.append([Span("operator policy "), _code(policy.name)])
    return _joined(pieces, "; ")


def _origin(origin: Origin) -> Cell:
    """``(queue argument)``, ``(policy NAME)``: where an edge comes from."""
    kind, name = origin
    if name:
        return [Span(f" ({origin_words(kind)} "), _code(name), Span(")")]
    return [Span(f" ({origin_words(kind)})")]


def _targets(view: VhostTopology, edges: list[Edge]) -> Cell:
    """Where dead-letter or alternate *edges* lead, with their keys and origins."""
    pieces = []
    for edge in edges:
        piece = _endpoint(view, edge.destination_type, edge.destination)
        if edge.routing_key is not None:
            piece += [Span(", key "), _code(edge.routing_key)]
        pieces.append(piece + _origin(edge.origin))
    return _joined(pieces, "; ")


def _edges_by_source(view: VhostTopology, kind: str) -> dict[str, list[Edge]]:
    """The *kind* edges of *view* by source name, in the view's (sorted) order."""
    found: dict[str, list[Edge]] = {}
    for edge in view.edges:
        if edge.kind == kind:
            found.setdefault(edge.source, []).append(edge)
    return found


def _with_vhost(views: list[VhostTopology], headers: list[str]) -> list[str]:
    return ["Vhost", *headers] if len(views) > 1 else headers


def _row(views: list[VhostTopology], view: VhostTopology, cells: list[Cell]) -> list[Cell]:
    return [[_named("vhost", view.vhost, view.vhost)], *cells] if len(views) > 1 else cells


def _binding_terms(edge: Edge, exchange_type: str | None) -> Cell:
    """What a binding matches on; for an exchange type that ignores the routing key (which
    the diagram leaves out), the key the broker stores all the same, marked so."""
    cell = _terms(binding_terms(edge, exchange_type))
    if exchange_type not in KEY_IGNORED_TYPES or is_headers_binding(edge, exchange_type):
        return cell
    key = [Span(key_text(edge.routing_key or ""), literal=True),
           Span(f" (ignored by {visible(exchange_type)})")]
    return key if cell == [Span(NONE)] else [*key, Span(", "), *cell]


def bindings_table(views: list[VhostTopology], *, title: str = "Bindings") -> Table:
    headers = _with_vhost(views, ["Source", "Destination", "Routing key / arguments"])
    rows = []
    for view in views:
        for edge in view.edges:
            if edge.kind != "binding":
                continue
            rows.append(
                _row(
                    views,
                    view,
                    [
                        _endpoint(view, edge.source_type, edge.source),
                        _endpoint(view, edge.destination_type, edge.destination),
                        _binding_terms(edge, source_exchange_type(view, edge.source)),
                    ],
                )
            )
    return Table(title, headers, rows)


def groups_table(views: list[VhostTopology], grouped: Grouped, *, title: str = "Groups",
                 row_id: str = "") -> Table:
    """One row per summary node of a grouped diagram, listing every member; with *row_id*,
    rows are link targets ``ROW_ID-1``, ``ROW_ID-2``..., in the order of ``grouped.groups``."""
    headers = _with_vhost(views, ["Drawn as", "What", "Members"])
    rows = []
    for view, grouping in zip(views, grouped.groupings, strict=True):
        for group in grouping.groups:
            rows.append(_row(views, view, [
                [_code(group.name)],
                [Span(f"{group.node_type} group: {group_count(group)}"),
                 *([Span(", "), *_keys(group.keys)] if group.keys else [])],
                _joined([[_code(name)] for name in group.members]),
            ]))
    ids = [f"{row_id}-{index}" for index in range(1, len(rows) + 1)] if row_id else []
    return Table(title, headers, rows, ids)


def _keys(keys: list[str]) -> Cell:
    """Routing keys in few words (`grouping.summary`), the keys themselves literal."""
    shown, count = summary(keys)
    if len(shown) == count:
        return _joined([[Span(key_text(key), literal=True)] for key in shown])
    if shown:
        return [Span("keys "), Span(visible(shown[0]), literal=True), Span(f" ({count})")]
    return [Span(f"{count} keys")]


def bindings_by_source(views: list[VhostTopology], *, title: str = "Bindings") -> Table:
    """The bindings table in short: one row per source exchange, with how many bindings
    it has, to how many destinations, and the keys they share."""
    headers = _with_vhost(views, ["Source", "Bindings", "Destinations", "Routing keys"])
    rows = []
    for view in views:
        by_source: dict[tuple[str, str], list[Edge]] = {}
        for edge in view.edges:
            if edge.kind == "binding":
                by_source.setdefault((edge.source_type, edge.source), []).append(edge)
        for (source_type, source), edges in by_source.items():
            destinations = Counter(edge.destination_type for edge in
                                   {(edge.destination_type, edge.destination): edge
                                    for edge in edges}.values())
            exchange_type = source_exchange_type(view, source)
            keyed = exchange_type not in KEY_IGNORED_TYPES
            keys = [edge.routing_key or "" for edge in edges
                    if keyed and not is_headers_binding(edge, exchange_type)]
            rows.append(_row(views, view, [
                _endpoint(view, source_type, source),
                [Span(str(len(edges)))],
                [Span(", ".join(f"{count} {kind}{'s' if count > 1 else ''}"
                                for kind, count in sorted(destinations.items())))],
                _keys(keys),
            ]))
    return Table(title, headers, rows)


#: runtime figures a queue row shows when the input had them, in column order
_STATS = ("messages", "consumers")


def queues_table(views: list[VhostTopology], *, title: str = "Queues") -> Table:
    """One row per queue; messages and consumers too when the input had them (API output)."""
    stats = [key for key in _STATS
             if any(q.stats and key in q.stats for v in views for q in v.queues.values())]
    headers = _with_vhost(
        views,
        [
            "Name",
            "Type",
            "Durable",
            "Effective policy",
            "Dead-letter target",
            "Key arguments",
            *(key.capitalize() for key in stats),
        ],
    )
    rows = []
    subjects: list[EntityRef | None] = []
    for view in views:
        dead_letters_of = _edges_by_source(view, "dead-letter")
        for name, queue in sorted(view.queues.items()):
            subjects.append(("queue", view.vhost, name))
            figures = [[Span(str(queue.stats[key]) if queue.stats and key in queue.stats
                             else NONE)] for key in stats]
            if queue.origin == "missing":
                rows.append(
                    _row(views, view, [_entity_name(queue)]
                         + [[Span(NONE)] for _ in range(5)] + figures)
                )
                continue
            dead_letters = dead_letters_of.get(name, [])
            shown = _QUEUE_COLUMN_ARGUMENTS | (_DEAD_LETTER_ARGUMENTS if dead_letters else set())
            key_arguments = {
                key: value
                for key, value in queue.arguments.items()
                if key.startswith("x-") and key not in shown
            }
            durable = ", ".join(["yes" if queue.durable else "no", *entity_flags(queue)])
            rows.append(
                _row(
                    views,
                    view,
                    [
                        _entity_name(queue),
                        [Span(visible(queue.type))],
                        [Span(durable)],
                        _effective_policy(view, "queue", name),
                        _targets(view, dead_letters),
                        _terms(argument_terms(key_arguments)),
                        *figures,
                    ],
                )
            )
    return Table(title, headers, rows, row_entities=subjects)


def exchanges_table(views: list[VhostTopology], *, title: str = "Exchanges") -> Table:
    headers = _with_vhost(
        views, ["Name", "Type", "Flags", "Effective policy", "Alternate exchange"]
    )
    rows = []
    subjects: list[EntityRef | None] = []
    for view in views:
        alternates_of = _edges_by_source(view, "alternate")
        for name, exchange in sorted(view.exchanges.items()):
            subjects.append(("exchange", view.vhost, name) if name != DEFAULT_EXCHANGE
                            else None)
            if exchange.origin == "missing":
                rows.append(
                    _row(views, view, [_entity_name(exchange)] + [[Span(NONE)] for _ in range(4)])
                )
                continue
            flags = ", ".join(
                ["durable" if exchange.durable else "not durable", *entity_flags(exchange)]
            )
            rows.append(
                _row(
                    views,
                    view,
                    [
                        _entity_name(exchange),
                        [Span(exchange_type_text(exchange))],
                        [Span(flags)],
                        _effective_policy(view, "exchange", name),
                        _targets(view, alternates_of.get(name, [])),
                    ],
                )
            )
    return Table(title, headers, rows, row_entities=subjects)


def _applies_to(view: VhostTopology, name: str, operator: bool) -> Cell:
    """The entities in *view* whose effective (operator) policy is *name*."""
    effective = view.effective_operator_policies if operator else view.effective_policies
    groups = []
    for node_type, entities in (("queue", view.queues), ("exchange", view.exchanges)):
        groups.append(
            (
                node_type,
                sorted(
                    entity
                    for entity in entities
                    if (policy := effective.get((node_type, entity))) is not None
                    and policy.name == name
                ),
            )
        )
    if sum(len(names) for _, names in groups) > MAX_NAMES:
        return [
            Span(", ".join(f"{len(names)} {node_type}s" for node_type, names in groups if names))
        ]
    pieces = []
    for node_type, names in groups:
        if names:
            noun = f"{node_type}s " if len(names) > 1 else f"{node_type} "
            pieces.append([Span(noun), *_joined([[_named(node_type, view.vhost, name)]
                                                 for name in names])])
    return _joined(pieces, "; ")


def policies_table(views: list[VhostTopology], *, title: str = "Policies") -> Table:
    headers = _with_vhost(
        views,
        [
            "Name",
            "Kind",
            "Pattern",
            "Apply to",
            "Priority",
            "Definition",
            "Applies to",
        ],
    )
    rows = []
    subjects: list[EntityRef | None] = []
    for view in views:
        for policy in sorted(view.policies, key=lambda policy: (policy.operator, policy.name)):
            subjects.append(("policy", view.vhost, policy.name))
            rows.append(
                _row(
                    views,
                    view,
                    [
                        [_named("policy", view.vhost, policy.name)],
                        [Span("operator policy" if policy.operator else "policy")],
                        [_code(policy.pattern)],
                        [Span(visible(policy.apply_to))],
                        [Span(str(policy.priority))],
                        _terms(argument_terms(policy.definition)),
                        _applies_to(view, policy.name, policy.operator),
                    ],
                )
            )
    return Table(title, headers, rows, row_entities=subjects)


def catalog_table(title: str = "Problems the extension reports") -> Table:
    rows = [[[Span(f"rabbitmq.{code}", literal=True)], [Span(severity)], [Span(cause)],
             [Span(fix)]]
            for code, (severity, cause, fix) in sorted(CATALOG.items())]
    return Table(title, ["Code (type.subtype)", "Severity", "What causes it", "How to fix it"],
                 rows)
