"""Where a message goes: the broker's routing (rabbit_exchange:route) over a resolved vhost.

A `Router` answers for one `VhostTopology`: the exchange types' matching (a topic trie,
direct keys, fanout, typed headers), exchange-to-exchange routes with each exchange
visited once, alternate exchanges when an exchange's own bindings match nothing, the
default exchange, CC/BCC keys, exchanges that pick one of their queues, and where a
dead-lettered message goes next. It reads the routes resolve made (bindings, alternate and
dead-letter edges), so arguments win over policies as there.

A `Message` whose keys or headers are None stands for any message: bindings whose outcome
depends on the unknown part make the answer `uncertain` (the lints follow only routes
that every such message takes).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .model import (
    BUILTIN_EXCHANGES,
    DEFAULT_EXCHANGE,
    ERROR,
    WARNING,
    X_MATCH_MODES,
    Edge,
    Origin,
    Problem,
    ProblemCode,
    Severity,
    VhostTopology,
    routing_type,
)
from .records import field, record
from .resolve import edge_sort_key

#: exchange types that deliver to exactly one of their bound destinations, by a hash or at
#: random: which one cannot be told from definitions
ONE_OF_TYPES = frozenset({"x-consistent-hash", "x-random", "x-local-random", "x-modulus-hash"})
#: the origin of the made-up edge of a default-exchange route (the broker has no binding)
IMPLICIT: Origin = ("implicit", None)
DEFAULT_ALIASES = frozenset({DEFAULT_EXCHANGE, "amq.default"})
#: built-in exchanges the broker declares internal
_INTERNAL_BUILTINS = frozenset({"amq.rabbitmq.trace"})


class MessageError(ValueError):
    """A message the broker would refuse; the text says why."""


@record(frozen=True)
class Message:
    """What routing looks at: the routing keys (the key, then the CC, then the BCC header's)
    and the headers a headers exchange sees (the broker removes BCC before routing).
    ``None``: not known, any message."""

    routing_keys: tuple[str, ...] | None
    headers: dict[str, Any] | None


def published(routing_key: str, headers: dict[str, Any] | None = None) -> Message:
    """A message as a client publishes it; its ``CC`` and ``BCC`` headers add routing keys."""
    headers = dict(headers or {})
    keys = [routing_key]
    for name in ("CC", "BCC"):
        if name not in headers:
            continue
        value = headers[name]
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise MessageError(f"the {name} header must be an array of strings (the broker "
                               "refuses the message otherwise)")
        keys.extend(value)
    headers.pop("BCC", None)
    for name, value in headers.items():
        if value is None:
            raise MessageError(f"header {name!r} is null, which the broker refuses")
    return Message(tuple(keys), headers)


def dead_lettered(message: Message, routing_key: str | None) -> Message:
    """The message a queue dead-letters: a dead-letter routing key replaces its keys (and
    drops its CC header), else it keeps them, CC and BCC included (rabbit_dead_letter)."""
    if routing_key is None:
        return message
    headers = message.headers
    if headers is not None and "CC" in headers:
        headers = {name: value for name, value in headers.items() if name != "CC"}
    return Message((routing_key,), headers)


# -- matching -------------------------------------------------------------------------


def topic_words(key: str) -> list[str]:
    """A topic key's words: ``""`` has none, ``a..b`` three (the middle one empty)."""
    return key.split(".") if key else []


class TopicTrie:
    """Binding patterns by word, as the broker's topic exchange keeps them; `match` visits
    each (node, position) once, so ``#.#.#`` against a long key stays linear."""

    def __init__(self) -> None:
        self.children: dict[str, TopicTrie] = {}
        self.ends: list[int] = []

    def add(self, pattern: str, value: int) -> None:
        node = self
        for word in topic_words(pattern):
            child = node.children.get(word)
            if child is None:
                child = node.children[word] = TopicTrie()
            node = child
        node.ends.append(value)

    def match(self, key: str) -> set[int]:
        """The values of the patterns *key* matches."""
        words = topic_words(key)
        found: set[int] = set()
        # (node, words consumed, inside a "#" that may take more words)
        stack = [(self, 0, False)]
        seen: set[tuple[int, int, bool]] = set()
        while stack:
            node, position, in_hash = stack.pop()
            state = (id(node), position, in_hash)
            if state in seen:
                continue
            seen.add(state)
            if in_hash:
                stack.append((node, position, False))
                if position < len(words):
                    stack.append((node, position + 1, True))
                continue
            if position == len(words):
                found.update(node.ends)
            else:
                for word in (words[position], "*"):
                    child = node.children.get(word)
                    if child is not None:
                        stack.append((child, position + 1, False))
            hash_child = node.children.get("#")
            if hash_child is not None:
                stack.append((hash_child, position, True))
        return found


def matches_every_key(pattern: str) -> bool:
    """Whether a topic pattern matches any key at all: only ``#`` words."""
    return all(word == "#" for word in topic_words(pattern))


def x_match(arguments: dict[str, Any]) -> str:
    """A headers binding's mode; a value the broker would refuse reads as ``all``, as the
    broker reads bindings made before it checked them."""
    mode = arguments.get("x-match", "all")
    return mode if mode in X_MATCH_MODES else "all"


def compared_arguments(arguments: dict[str, Any]) -> list[tuple[str, Any]]:
    """The binding arguments a headers exchange compares with the message's headers:
    ``x-match`` never, other ``x-`` arguments only in the ``-with-x`` modes."""
    with_x = x_match(arguments).endswith("-with-x")
    return [(name, value) for name, value in arguments.items()
            if name != "x-match" and (with_x or not name.startswith("x-"))]


def headers_match(arguments: dict[str, Any], headers: dict[str, Any] | None) -> bool | None:
    """Whether a headers binding matches; None when *headers* is None and it depends on them."""
    wants_all = x_match(arguments).startswith("all")
    compared = compared_arguments(arguments)
    if headers is None:
        return None if compared else wants_all
    matched_one = False
    for name, expected in compared:
        if name in headers and same_value(expected, headers[name]):
            matched_one = True
        elif wants_all:
            return False
    return True if wants_all else matched_one


def same_value(expected: Any, actual: Any) -> bool:
    """A header value equal to a binding's as the broker compares them: a null binding value
    asks only for the header; numbers compare by value, integer or not; everything else,
    and numbers inside arrays and tables, with their type (``1`` is not ``"1"``)."""
    if expected is None:
        return True
    if _is_number(expected) and _is_number(actual):
        return bool(expected == actual)
    return bool(_typed(expected) == _typed(actual))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _typed(value: Any) -> Any:
    """A JSON value with each scalar tagged by its type, so equal means equal in AMQP."""
    if isinstance(value, dict):
        return ("table", tuple(sorted((name, _typed(item)) for name, item in value.items())))
    if isinstance(value, list):
        return ("array", tuple(_typed(item) for item in value))
    return (type(value).__name__, value)


# -- results --------------------------------------------------------------------------


@record
class Hop:
    """One route a message takes: ``edge`` as the edges command prints it (a default-exchange
    route is made up, origin ``implicit``); ``key``: the routing key that matched, when keys
    decide; ``again``: its destination was already reached (one copy per queue, each
    exchange routes once)."""

    edge: Edge
    key: str | None = None
    again: bool = False


@record(frozen=True)
class Choice:
    """An exchange that delivers to exactly one of its destinations: ``hops`` are its
    bindings (and the routes beyond them), ``alternatives`` the sorted queue names each
    destination leads to, one of which receives the message."""

    exchange: str
    type: str
    hops: list[Hop]
    alternatives: list[tuple[str, ...]]


@record
class Route:
    """Where a message published to ``exchange`` lands.

    ``queues``: sorted, each once, the queues it surely lands in; ``hops``: the routes it
    takes, in the order the exchanges route; ``choices``: exchanges on the way that pick
    one queue; ``unmatched_keys``: keys the default exchange found no queue for;
    ``problems``: what stops the answer being complete (missing entities, exchange types
    whose routing is not known, a publish the broker refuses); ``refused``: the broker
    refuses the publish; ``uncertain``: it depends on keys or headers the message left
    unknown.
    """

    vhost: str
    exchange: str
    message: Message
    queues: list[str] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    unmatched_keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    refused: bool = False
    uncertain: bool = False

    @property
    def unroutable(self) -> bool:
        """Surely lands nowhere: no queue, and no choice with a queue to pick."""
        return not self.queues and not any(
            any(alternative) for choice in self.choices for alternative in choice.alternatives)

    def chain(self, queue: str) -> list[Hop]:
        """The hops that first led to *queue*, from the exchange published to."""
        first: dict[tuple[str, str], Hop] = {}
        for hop in [*self.hops, *(h for choice in self.choices for h in choice.hops)]:
            if not hop.again:
                first.setdefault((hop.edge.destination_type, hop.edge.destination), hop)
        chain: list[Hop] = []
        step = first.get(("queue", queue))
        while step is not None and len(chain) < len(first):  # (a chain never repeats a hop)
            chain.append(step)
            step = first.get(("exchange", step.edge.source))
        return chain[::-1]

    def reached(self) -> list[str]:
        """Every queue it may land in: the sure ones, then those of the choices."""
        names = list(self.queues)
        for choice in self.choices:
            names += sorted({n for alternative in choice.alternatives for n in alternative}
                            - set(names))
        return names


@record(frozen=True)
class DeadLetter:
    """Where a message dead-lettered by ``queue`` goes: ``hop`` is its dead-letter edge,
    ``route`` the route from the dead-letter exchange; ``cycle``: the queues of the cycle
    when the route leads back to one the message already died in (first and last the same)."""

    queue: str
    hop: Hop
    route: Route
    cycle: list[str] | None = None


# -- routing --------------------------------------------------------------------------


class Router:
    """Routes messages through one resolved vhost; build it once for many messages."""

    def __init__(self, view: VhostTopology) -> None:
        self.view = view
        #: exchange -> its bindings, in edge order
        self.bindings: dict[str, list[Edge]] = {}
        #: exchange -> its alternate-exchange edge; queue -> its dead-letter edge
        self.alternates: dict[str, Edge] = {}
        self.dead_letter_edges: dict[str, Edge] = {}
        for edge in view.edges:
            if edge.kind == "binding" and edge.source_type == "exchange":
                self.bindings.setdefault(edge.source, []).append(edge)
            elif edge.kind == "alternate":
                self.alternates[edge.source] = edge
            elif edge.kind == "dead-letter" and edge.source_type == "queue":
                self.dead_letter_edges[edge.source] = edge
        self._tries: dict[str, TopicTrie] = {}

    def exchange_type(self, name: str) -> str | None:
        """The routing type of an exchange that exists, else None."""
        if name in DEFAULT_ALIASES:
            return "default"
        exchange = self.view.exchanges.get(name)
        if exchange is not None:
            return None if exchange.origin == "missing" else routing_type(exchange)
        return BUILTIN_EXCHANGES.get(name)

    def queue_exists(self, name: str) -> bool:
        queue = self.view.queues.get(name)
        return queue is not None and queue.origin != "missing"

    def trie(self, exchange: str) -> TopicTrie:
        trie = self._tries.get(exchange)
        if trie is None:
            trie = self._tries[exchange] = TopicTrie()
            for index, edge in enumerate(self.bindings.get(exchange, ())):
                trie.add(edge.routing_key or "", index)
        return trie

    def publish(self, exchange: str, message: Message) -> Route:
        """The route of a message a client publishes to *exchange* (which must exist)."""
        route = Route(self.view.vhost, exchange, message)
        found = self.view.exchanges.get(exchange)
        if exchange in _INTERNAL_BUILTINS or found is not None and found.internal:
            route.refused = True
            route.problems.append(self.problem(
                ERROR, "route-refused", f"exchange {exchange!r} is internal: the broker "
                "refuses to publish to it (only exchange-to-exchange bindings and alternate "
                "exchanges reach it)"))
            return route
        _Walk(self, route).run(exchange)
        return route

    def forward(self, exchange: str, message: Message) -> Route:
        """The route of a message the broker itself sends to *exchange* (dead-lettering)."""
        route = Route(self.view.vhost, exchange, message)
        _Walk(self, route).run(exchange)
        return route

    def dead_letters(self, route: Route) -> list[DeadLetter]:
        """From each queue *route* reaches, where a message it dead-letters goes next, and on
        from there; each queue once, cycles cut where they return (rabbit_dead_letter)."""
        result: list[DeadLetter] = []
        pending: deque[tuple[str, Message, tuple[str, ...]]] = deque(
            (name, route.message, (name,)) for name in route.reached())
        expanded: set[str] = set()
        while pending:
            name, message, history = pending.popleft()
            if name in expanded:
                continue
            expanded.add(name)
            edge = self.dead_letter_edges.get(name)
            queue = self.view.queues.get(name)
            if edge is None or queue is None or queue.type == "stream":
                continue  # (streams never dead-letter)
            letter = dead_lettered(message, edge.routing_key)
            target = edge.destination
            onward = Route(self.view.vhost, target, letter)
            if self.exchange_type(target) is None:
                onward.problems.append(self.problem(
                    WARNING, "route-incomplete", f"the dead-letter exchange {target!r} of "
                    f"queue {name!r} does not exist: the broker drops what the queue "
                    "dead-letters"))
            else:
                onward = self.forward(target, letter)
            cycle = None
            for reached in onward.reached():
                if reached in history:
                    cycle = cycle or [*history[history.index(reached):], reached]
                else:
                    pending.append((reached, letter, (*history, reached)))
            result.append(DeadLetter(name, Hop(edge, edge.routing_key), onward, cycle))
        return result

    def problem(self, severity: Severity, code: ProblemCode, message: str) -> Problem:
        return Problem(severity, code, message, where=f"vhost {self.view.vhost!r}")


def around(view: VhostTopology, route: Route, dead_letters: list[DeadLetter] | None = None
           ) -> tuple[VhostTopology, set[int], set[tuple[str, str]]]:
    """The part of *view* a route passes through, to draw: every route out of the exchanges
    it reaches (so the bindings that did not match show too) and its dead-letter routes;
    with the indices of the edges it takes and the (node type, name) of what it reaches."""
    hops = [*route.hops, *(h for choice in route.choices for h in choice.hops)]
    for letter in dead_letters or ():
        shortcut = letter.hop.edge.destination in DEFAULT_ALIASES and (
            letter.hop.edge.routing_key is not None)
        hops.append(letter.hop)
        # a drawing takes a dead-letter route with a key through the default exchange
        # straight to the queue the key names
        hops += [h for h in (*letter.route.hops, *(h for c in letter.route.choices
                                                 for h in c.hops))
                 if not (shortcut and h.edge.origin == IMPLICIT)]
    taken = {id(hop.edge) for hop in hops}
    exchanges = {_canonical(route.exchange)} | {
        hop.edge.destination for hop in hops if hop.edge.destination_type == "exchange"}
    edges = {id(hop.edge): hop.edge for hop in hops}
    for edge in view.edges:
        if edge.source_type == "exchange" and edge.source in exchanges and edge.kind in (
                "binding", "alternate"):
            edges[id(edge)] = edge
    part = VhostTopology(view.vhost, policies=view.policies)
    part.edges = sorted(edges.values(), key=edge_sort_key)
    nodes: set[tuple[str, str]] = {("exchange", route.exchange)}
    for edge in part.edges:
        for node_type, name in ((edge.source_type, edge.source),
                                (edge.destination_type, edge.destination)):
            if node_type == "queue" and name in view.queues:
                part.queues[name] = view.queues[name]
            elif node_type == "exchange" and name in view.exchanges:
                part.exchanges[name] = view.exchanges[name]
            if id(edge) in taken:
                nodes.add((node_type, name))
    if route.exchange in view.exchanges:
        part.exchanges[route.exchange] = view.exchanges[route.exchange]
    for letter in dead_letters or ():
        named = letter.hop.edge.routing_key
        if letter.hop.edge.destination in DEFAULT_ALIASES and named in view.queues:
            part.queues[named] = view.queues[named]  # where the drawing's shortcut goes
            nodes.add(("queue", named))
    for key, policy in view.effective_policies.items():
        if key[1] in (part.queues if key[0] == "queue" else part.exchanges):
            part.effective_policies[key] = policy
    path = {index for index, edge in enumerate(part.edges) if id(edge) in taken}
    return part, path, nodes


class _Walk:
    """One message through the exchanges: a work list that routes each exchange once and
    collects queues in a set, as rabbit_exchange:route does."""

    def __init__(self, router: Router, route: Route) -> None:
        self.router = router
        self.route = route
        self.message = route.message
        self.queues: set[str] = set()
        self.seen: set[str] = set()
        self.work: deque[str] = deque()
        #: exchange -> the queues it surely leads to, for the destinations of choices
        self.leads: dict[str, tuple[str, ...]] = {}

    def run(self, start: str) -> None:
        self.seen.add(_canonical(start))
        self.work.append(_canonical(start))
        while self.work:
            self.exchange(self.work.popleft())
        self.route.queues = sorted(self.queues)

    def exchange(self, name: str) -> None:
        """Route through one exchange: its type's matches, else its alternate exchange."""
        router = self.router
        kind = router.exchange_type(name)
        if kind == "default":
            self.follow(self.default_routes())
            return
        edges = router.bindings.get(name, [])
        matched, unsure = self.matches(name, kind, edges)
        if kind in ONE_OF_TYPES:
            destinations = {(e.destination_type, e.destination) for e in edges}
            if len(destinations) > 1:
                self.choose(name, kind, edges)
                return
            matched = [Hop(edge) for edge in edges]
        if unsure:
            self.route.uncertain = True
        if matched:
            self.follow(matched)
        elif not unsure and name in router.alternates:
            self.follow([Hop(router.alternates[name])])

    def matches(self, name: str, kind: str | None,
                edges: list[Edge]) -> tuple[list[Hop], bool]:
        """The bindings of exchange *name* the message matches, and whether others may."""
        keys = self.message.routing_keys
        if kind == "fanout":
            return [Hop(edge) for edge in edges], False
        if kind == "direct":
            if keys is None:
                return [], bool(edges)
            return [Hop(edge, edge.routing_key) for edge in edges
                    if edge.routing_key in keys], False
        if kind == "topic":
            if keys is None:
                sure = [Hop(edge) for edge in edges if matches_every_key(edge.routing_key or "")]
                return sure, len(sure) < len(edges)
            trie = self.router.trie(name)
            matched_by: dict[int, str] = {}
            for key in keys:
                for index in trie.match(key):
                    matched_by.setdefault(index, key)
            return [Hop(edges[index], key) for index, key in sorted(matched_by.items())], False
        if kind == "headers":
            hops, unsure = [], False
            for edge in edges:
                outcome = headers_match(edge.arguments, self.message.headers)
                unsure = unsure or outcome is None
                if outcome:
                    hops.append(Hop(edge))
            return hops, unsure
        if kind in ONE_OF_TYPES:
            return [], False
        what = ("does not exist" if kind is None
                else f"has type {kind!r}, whose routing is not known")
        self.route.problems.append(self.router.problem(
            WARNING, "route-incomplete", f"exchange {name!r} {what}: where it routes is left "
            "out"))
        return [], True

    def default_routes(self) -> list[Hop]:
        """The default exchange: to the queue each routing key names."""
        keys = self.message.routing_keys
        if keys is None:
            self.route.uncertain = True
            return []
        hops = []
        for key in sorted(set(keys)):
            if self.router.queue_exists(key):
                hops.append(Hop(Edge("binding", self.router.view.vhost, DEFAULT_EXCHANGE,
                                     "exchange", key, "queue", key, {}, IMPLICIT), key))
            else:
                self.route.unmatched_keys.append(key)
        return hops

    def follow(self, hops: list[Hop]) -> None:
        """Take matched routes: queues receive a copy, exchanges join the work list."""
        for hop in hops:
            edge = hop.edge
            target = edge.destination
            self.route.hops.append(hop)
            if edge.destination_type == "queue":
                if not self.router.queue_exists(target):
                    self.missing(edge, "queue")
                elif target in self.queues:
                    hop.again = True
                else:
                    self.queues.add(target)
                continue
            canonical = _canonical(target)
            if canonical in self.seen:
                hop.again = True
            elif self.router.exchange_type(canonical) is None:
                self.missing(edge, "exchange")
            else:
                self.seen.add(canonical)
                self.work.append(canonical)

    def choose(self, name: str, kind: str, edges: list[Edge]) -> None:
        """An exchange that picks one destination: each destination's queues, as one choice."""
        hops = [Hop(edge) for edge in edges]
        alternatives: set[tuple[str, ...]] = set()
        for edge in edges:
            if edge.destination_type == "queue":
                sure = (edge.destination,) if self.router.queue_exists(edge.destination) else ()
                if not sure:
                    self.missing(edge, "queue")
                alternatives.add(sure)
                continue
            lead = () if _canonical(edge.destination) in self.seen else self.leads.get(
                edge.destination)
            if lead is None:
                # a walk of its own (once per exchange), which has this one routed already
                inner = Route(self.route.vhost, edge.destination, self.message)
                walk = _Walk(self.router, inner)
                walk.seen |= self.seen
                walk.leads = self.leads
                self.leads[edge.destination] = ()
                walk.run(edge.destination)
                lead = self.leads[edge.destination] = tuple(inner.queues)
                hops += inner.hops
                self.route.choices += inner.choices
                self.route.problems += inner.problems
                self.route.unmatched_keys += inner.unmatched_keys
                self.route.uncertain = self.route.uncertain or inner.uncertain
            alternatives.add(lead)
        self.route.choices.append(Choice(name, kind, hops, sorted(alternatives)))

    def missing(self, edge: Edge, kind: str) -> None:
        self.route.problems.append(self.router.problem(
            WARNING, "route-incomplete", f"a binding of exchange {edge.source!r} matches, but "
            f"its destination {kind} {edge.destination!r} does not exist"))


def _canonical(exchange: str) -> str:
    """``amq.default`` is the default exchange."""
    return DEFAULT_EXCHANGE if exchange in DEFAULT_ALIASES else exchange
