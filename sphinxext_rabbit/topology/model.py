"""The topology model: plain records shared by every stage and output.

Records are made with `records.record` (slotted, with a dataclass's ``__init__``, repr and
equality), frozen only where they are hashed (a key of a set or a cache, as problems and
brokers are): a frozen record sets each field through ``object.__setattr__``, 2.5 times
slower to make (10.4K instructions for six fields, against 4.2K). No stage changes a record
it did not make, nor what a record holds: the arguments, definitions and values of
entities are the parsed document's own objects where they hold no secret
(`sources.uris.redact_value`), and a build reads that document again for other vhosts.
"""

from __future__ import annotations

from typing import Any, Literal

from .records import field, field_names, record

Severity = Literal["error", "warning"]
#: the warning subtypes (``rabbitmq.<code>``); problems.CATALOG describes each
ProblemCode = Literal[
    "parse", "io", "limit", "schema", "unknown-field", "duplicate", "vhost", "destination-type",
    "policy-pattern", "pattern-limit", "uri", "dangling", "policy-tie", "exchange-type",
    "empty-selection", "option", "path", "cluster", "override", "source", "fetch", "snapshot",
    "drift", "dead-letter-cycle", "default-exchange-binding", "x-match",
    "policy-matches-nothing", "route", "route-incomplete", "route-refused", "dot",
    "dot-warning", "focus", "node-budget", "target", "unknown-reference",
    "stale-description", "duplicate-description", "coverage",
]
#: what an edge does: binding | dead-letter | alternate | shovel | federation
EdgeKind = Literal["binding", "dead-letter", "alternate", "shovel", "federation"]
#: where an edge comes from; "policy" and "parameter" name theirs (`Origin`); "implicit": a
#: default-exchange route the routing simulator makes up (route.IMPLICIT)
OriginKind = Literal["binding", "queue-argument", "exchange-argument", "policy", "parameter",
                     "implicit"]
#: (kind, name): the name of the policy or parameter, None for the other kinds
Origin = tuple[OriginKind, str | None]
#: declared (in the input), builtin (amq.* / default), shovel (declared by a shovel that
#: uses it) or missing (referenced only)
EntityOrigin = Literal["declared", "builtin", "shovel", "missing"]

ERROR: Severity = "error"
WARNING: Severity = "warning"

DEFAULT_EXCHANGE = ""
#: Exchanges every vhost has without declaring them, with their types.
BUILTIN_EXCHANGES = {
    "": "direct",
    "amq.default": "direct",
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.topic": "topic",
    "amq.headers": "headers",
    "amq.match": "headers",
    "amq.rabbitmq.trace": "topic",
    "amq.rabbitmq.event": "topic",
    "amq.rabbitmq.log": "topic",
}


def is_builtin_exchange(name: str) -> bool:
    """Whether the broker declares the exchange itself (``amq.*`` is reserved to it)."""
    return name in BUILTIN_EXCHANGES or name.startswith("amq.")


#: the ``x-match`` values of a headers binding the broker takes
X_MATCH_MODES = ("all", "any", "all-with-x", "any-with-x")

KNOWN_EXCHANGE_TYPES = frozenset({
    "direct", "fanout", "topic", "headers",
    "x-local-random", "x-modulus-hash", "x-consistent-hash", "x-random",
    "x-jms-topic", "x-recent-history", "x-delayed-message", "x-federation-upstream",
})


@record(frozen=True)
class Problem:
    """Something wrong with the input, located as precisely as the input allows.

    ``code`` is the warning subtype users put in ``suppress_warnings``
    (``rabbitmq.<code>``); ``where`` is a line number when the parser gave one,
    else a path into the document such as ``queues[3]``; ``source`` is the file it is
    in, when that is not the topology's own source (merged inputs).
    """

    severity: Severity
    code: ProblemCode
    message: str
    line: int | None = None
    where: str | None = None
    source: str | None = None

    def location(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        return self.where or ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in field_names(self)}


@record  # not frozen: see the module's docstring
class Exchange:
    """An exchange of a vhost, as its definition declares it."""

    vhost: str
    name: str
    type: str = "direct"
    durable: bool = True
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    origin: EntityOrigin = "declared"


def routing_type(exchange: Exchange) -> str:
    """The type that routes: a delayed-message exchange routes as its ``x-delayed-type``."""
    delayed = exchange.arguments.get("x-delayed-type")
    if exchange.type == "x-delayed-message" and isinstance(delayed, str):
        return delayed
    return exchange.type


@record  # not frozen: see the module's docstring
class Queue:
    """``stats``: runtime figures ("messages", "consumers") when the input is
    management-API output."""

    vhost: str
    name: str
    type: str = "classic"
    durable: bool = True
    auto_delete: bool = False
    exclusive: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    origin: EntityOrigin = "declared"
    stats: dict[str, int] | None = None


@record  # not frozen: see the module's docstring
class Binding:
    """A binding of a vhost: from the exchange *source* to a queue or an exchange."""

    vhost: str
    source: str
    destination: str
    destination_type: str
    routing_key: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)


@record
class Policy:
    """``operator``: an operator policy (from ``parameters``, component ``operator_policy``)."""

    vhost: str
    name: str
    pattern: str
    apply_to: str = "all"
    definition: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    operator: bool = False


@record
class Parameter:
    """A runtime parameter (shovel, federation upstream, ...); URIs carry no credentials."""

    vhost: str
    component: str
    name: str
    value: Any


@record
class Topology:
    """Everything one input declares, for every vhost it covers.

    ``vhosts``: declared vhosts with their default queue type (None = classic);
    ``taken_at``: when a fetched or saved broker state was taken (ISO 8601, UTC), None
    for exports; ``unread``: lists the source could not read (``"parameters"`` when the
    broker refused them), so nothing is called missing for want of them.
    """

    source: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    vhosts: dict[str, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    taken_at: str | None = None
    unread: frozenset[str] = frozenset()

    def vhost_names(self) -> list[str]:
        """Every vhost the input mentions, sorted."""
        names = set(self.vhosts)
        items: list[Exchange] | list[Queue] | list[Binding] | list[Policy] | list[Parameter]
        for items in (self.exchanges, self.queues, self.bindings, self.policies, self.parameters):
            names.update(item.vhost for item in items)
        return sorted(names)


@record  # not frozen: see the module's docstring
class Edge:
    """One route the broker acts on: what ``edges`` prints and the diagram draws.

    ``source_type`` and ``destination_type``: exchange | queue | external.
    """

    kind: EdgeKind
    vhost: str
    source: str
    source_type: str
    destination: str
    destination_type: str
    routing_key: str | None
    arguments: dict[str, Any]
    origin: Origin

    def as_dict(self) -> dict[str, Any]:
        """The fields as ``edges`` prints them, the origin as ``policy:NAME``."""
        kind, name = self.origin
        return {"kind": self.kind, "vhost": self.vhost, "source": self.source,
                "source_type": self.source_type, "destination": self.destination,
                "destination_type": self.destination_type, "routing_key": self.routing_key,
                "arguments": self.arguments, "origin": kind if name is None else f"{kind}:{name}"}


@record
class VhostTopology:
    """One vhost as the broker would act on it: what every renderer draws from.

    ``resolve`` builds it for all of a vhost; ``select`` narrows it to a subsystem
    and records in ``stubs`` the (node type, name) of entities outside the selection
    that kept edges still reach, so a diagram shows where messages leave it.
    ``externals``: endpoints on other brokers (shovel / federation), by display name;
    ``links``: the externals that are entities of another vhost of this broker (a shovel
    or federation URI without a host, such as ``amqp:///billing``): display name ->
    (vhost, node type, name), so a drawing of that vhost too draws the edge to its node;
    ``edges``: sorted by resolve.edge_sort_key, renderers keep that order;
    ``policies``: the policies and operator policies defined in the vhost;
    ``effective_policies``: ("queue" | "exchange", name) -> the one policy that applies.
    """

    vhost: str
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    externals: set[str] = field(default_factory=set)
    links: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    effective_policies: dict[tuple[str, str], Policy] = field(default_factory=dict)
    effective_operator_policies: dict[tuple[str, str], Policy] = field(default_factory=dict)
    stubs: set[tuple[str, str]] = field(default_factory=set)
