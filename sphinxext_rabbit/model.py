"""The topology model: plain dataclasses shared by every stage and output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"

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
KNOWN_EXCHANGE_TYPES = frozenset({
    "direct", "fanout", "topic", "headers",
    "x-local-random", "x-modulus-hash", "x-consistent-hash", "x-random",
    "x-jms-topic", "x-recent-history", "x-delayed-message", "x-federation-upstream",
})


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the input, located as precisely as the input allows.

    ``code`` is the warning subtype users put in ``suppress_warnings``
    (``rabbitmq.<code>``); ``where`` is a line number when the parser gave one,
    else a path into the document such as ``queues[3]``.
    """

    severity: str
    code: str
    message: str
    line: int | None = None
    where: str | None = None
    #: the file it is in, when that is not the topology's own source (merged inputs)
    source: str | None = None

    def location(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        return self.where or ""


@dataclass(slots=True)
class Exchange:
    vhost: str
    name: str
    type: str = "direct"
    durable: bool = True
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    #: "declared" (in the input), "builtin" (amq.* / default), "missing" (referenced only)
    origin: str = "declared"


@dataclass(slots=True)
class Queue:
    vhost: str
    name: str
    type: str = "classic"
    durable: bool = True
    auto_delete: bool = False
    exclusive: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    #: "declared", "shovel" (declared by a shovel that uses it) or "missing" (referenced only)
    origin: str = "declared"
    #: runtime figures ("messages", "consumers") when the input is management-API output
    stats: dict[str, int] | None = None


@dataclass(slots=True)
class Binding:
    vhost: str
    source: str
    destination: str
    destination_type: str
    routing_key: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Policy:
    vhost: str
    name: str
    pattern: str
    apply_to: str = "all"
    definition: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    #: operator policies come from ``parameters`` with component ``operator_policy``
    operator: bool = False


@dataclass(slots=True)
class Parameter:
    """A runtime parameter (shovel, federation upstream, ...); URIs carry no credentials."""

    vhost: str
    component: str
    name: str
    value: Any


@dataclass(slots=True)
class Topology:
    """Everything one input declares, for every vhost it covers."""

    source: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    #: declared vhosts with their default queue type (None = classic)
    vhosts: dict[str, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: when a fetched or saved broker state was taken (ISO 8601, UTC); None for exports
    taken_at: str | None = None

    def vhost_names(self) -> list[str]:
        """Every vhost the input mentions, sorted."""
        names = set(self.vhosts)
        for items in (self.exchanges, self.queues, self.bindings, self.policies, self.parameters):
            names.update(item.vhost for item in items)
        return sorted(names)


@dataclass(frozen=True, slots=True)
class Edge:
    """One route the broker acts on: what ``edges`` prints and the diagram draws."""

    kind: str  # binding | dead-letter | alternate | shovel | federation
    vhost: str
    source: str
    source_type: str  # exchange | queue | external
    destination: str
    destination_type: str  # exchange | queue | external
    routing_key: str | None
    arguments: dict[str, Any]
    #: binding | queue-argument | exchange-argument | policy:N | operator-policy:N | parameter:N
    origin: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "vhost": self.vhost,
            "source": self.source,
            "source_type": self.source_type,
            "destination": self.destination,
            "destination_type": self.destination_type,
            "routing_key": self.routing_key,
            "arguments": self.arguments,
            "origin": self.origin,
        }


@dataclass(slots=True)
class VhostTopology:
    """One vhost as the broker would act on it: what every renderer draws from.

    ``resolve`` builds it for all of a vhost; ``select`` narrows it to a subsystem
    and records in ``stubs`` the entities outside the selection that kept edges
    still reach, so a diagram shows where messages leave it.
    """

    vhost: str
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    #: endpoints on other brokers (shovel / federation), by display name
    externals: set[str] = field(default_factory=set)
    #: sorted by resolve.edge_sort_key; renderers keep that order
    edges: list[Edge] = field(default_factory=list)
    #: policies and operator policies defined in this vhost
    policies: list[Policy] = field(default_factory=list)
    #: ("queue" | "exchange", name) -> the one policy that applies
    effective_policies: dict[tuple[str, str], Policy] = field(default_factory=dict)
    effective_operator_policies: dict[tuple[str, str], Policy] = field(default_factory=dict)
    #: (node type, name) of entities drawn only as a stub
    stubs: set[tuple[str, str]] = field(default_factory=set)
