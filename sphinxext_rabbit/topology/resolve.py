"""What the broker would act on in one vhost: effective policies and every routing edge."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import unquote

from .endpoints import Endpoint, first_uri
from .model import (
    BUILTIN_EXCHANGES,
    ERROR,
    KNOWN_EXCHANGE_TYPES,
    WARNING,
    Edge,
    EdgeKind,
    Exchange,
    Origin,
    Parameter,
    Policy,
    Problem,
    ProblemCode,
    Queue,
    Severity,
    Topology,
    VhostTopology,
    is_builtin_exchange,
)
from .patterns import (
    FULL_TRIES,
    QUICK_LIMIT,
    InvalidPattern,
    Matcher,
    NameIndex,
    Regex,
    compile_pattern,
    gave_up_on,
    give_up_label,
)

#: a policy, its compiled pattern and the literal text the pattern starts with
Candidate = tuple[Policy, Regex, str]

_FEDERATION_KEYS = frozenset({"federation-upstream", "federation-upstream-set"})
_QUEUE_APPLY_TO = {"classic": "classic_queues", "quorum": "quorum_queues", "stream": "streams"}
#: what a policy's apply-to is checked against: "exchange", a queue type, or "other"
_APPLIES = ("exchange", *_QUEUE_APPLY_TO, "other")
# AMQP 1.0 shovel addresses: /queues/NAME, /exchanges/NAME[/KEY] (names percent-encoded);
# compiled by `re` when first used, as few vhosts have shovels
_AMQP10_ADDRESS = r"/(?P<kind>queues|exchanges)/(?P<name>[^/]*)(?:/(?P<key>.*))?"


def edge_sort_key(edge: Edge) -> tuple[str, str, str, str, str, str, str, Origin, str]:
    """An edge's fields, most significant first."""
    return (
        edge.vhost, edge.kind, edge.source_type, edge.source, edge.destination_type,
        edge.destination, edge.routing_key or "", edge.origin,
        json.dumps(edge.arguments, sort_keys=True, default=str) if edge.arguments else "")


class _Resolver:
    def __init__(self, topology: Topology, vhost: str) -> None:
        self.vhost = vhost
        self.view = VhostTopology(vhost)
        self.problems: list[Problem] = []
        self.matcher = Matcher()
        for exchange in topology.exchanges:
            if exchange.vhost == vhost:
                self.view.exchanges[exchange.name] = exchange
        for queue in topology.queues:
            if queue.vhost == vhost:
                self.view.queues[queue.name] = queue
        self.view.policies = [p for p in topology.policies if p.vhost == vhost]
        self.bindings = [b for b in topology.bindings if b.vhost == vhost]
        self.parameters = [p for p in topology.parameters if p.vhost == vhost]
        #: shovels of the other vhosts, which may declare a queue in this one
        self.other_shovels = [p for p in topology.parameters if p.vhost != vhost
                              and p.component == "shovel" and isinstance(p.value, dict)]
        # upstreams the source could not read are unknown, not missing
        self.upstreams_unknown = "parameters" in topology.unread
        self.edges: list[Edge] = []

    def problem(self, severity: Severity, code: ProblemCode, message: str) -> None:
        self.problems.append(Problem(severity, code, message, where=f"vhost {self.vhost!r}"))

    # -- entities referenced but not declared -----------------------------------------

    def exchange(self, name: str, referrer: str) -> None:
        """Make sure a referenced exchange has a node: built-in, or marked missing."""
        if name in self.view.exchanges:
            return
        if is_builtin_exchange(name):
            self.view.exchanges[name] = Exchange(
                self.vhost, name, BUILTIN_EXCHANGES.get(name, "topic"), origin="builtin")
            return
        self.problem(ERROR, "dangling", f"{referrer} refers to exchange {name!r}, which is "
                     "not declared")
        self.view.exchanges[name] = Exchange(self.vhost, name, "unknown", origin="missing")

    def queue(self, name: str, referrer: str) -> None:
        if name in self.view.queues:
            return
        self.problem(ERROR, "dangling", f"{referrer} refers to queue {name!r}, which is not "
                     "declared")
        self.view.queues[name] = Queue(self.vhost, name, "unknown", origin="missing")

    def endpoint(self, type_: str, name: str, referrer: str) -> None:
        if type_ == "queue":
            self.queue(name, referrer)
        elif type_ == "exchange":
            self.exchange(name, referrer)

    # -- policies ------------------------------------------------------------------------

    def effective_policies(self) -> None:
        #: id of a policy -> its compiled pattern and its literal start
        self.compiled: dict[int, tuple[Regex, str]] = {}
        if not self.view.policies:
            return  # (without policies the entities need no index)
        compiled = self.compiled
        for policy in self.view.policies:
            try:
                compiled[id(policy)] = (compile_pattern(policy.pattern),
                                        _literal_prefix(policy.pattern))
            except InvalidPattern:  # (loading has reported it; a policy built in code)
                continue
        #: the declared queues and exchanges, in order: (kind, name, what a policy's
        #: apply-to is checked against), and their names indexed
        self.declared = [
            ("queue", name, queue.type if queue.type in _QUEUE_APPLY_TO else "other")
            for name, queue in self.view.queues.items() if queue.origin == "declared"]
        self.declared += [("exchange", name, "exchange")
                          for name, exchange in self.view.exchanges.items()
                          if exchange.origin == "declared"]
        self.names = NameIndex([name for _, name, _ in self.declared])
        # (most vhosts have no operator policies: their pass is skipped)
        passes = [(found, self.candidates(operator)) for operator, found in (
            (False, self.view.effective_policies), (True, self.view.effective_operator_policies))
            if any(p.operator == operator for p in self.view.policies)]
        for position, (kind, name, _) in enumerate(self.declared):
            for found, candidates in passes:
                listed = candidates.get(position)
                if listed is not None:
                    chosen = self.pick(listed, kind, name)
                    if chosen is not None:
                        found[(kind, name)] = chosen
        self.unmatched_policies()
        self.report_gave_up()

    def candidates(self, operator: bool) -> dict[int, list[Candidate]]:
        """Position in `declared` -> the policies (or operator policies) that may apply to
        that entity, highest priority first; an entity that none may is left out. A policy
        may apply to the entities of its apply-to whose names start with its literal start."""
        ordered = sorted((p for p in self.view.policies
                          if p.operator == operator and id(p) in self.compiled),
                         key=lambda p: (-p.priority, p.name))
        found: defaultdict[int, list[Candidate]] = defaultdict(list)
        for policy in ordered:
            pattern, start = self.compiled[id(policy)]
            covered = {applies for applies in _APPLIES if _applies_to(policy.apply_to, applies)}
            for position in self.names.starting_with(start):
                if self.declared[position][2] in covered:
                    found[position].append((policy, pattern, start))
        return found

    def pick(self, candidates: list[Candidate], kind: str, name: str) -> Policy | None:
        best: Policy | None = None
        for policy, pattern, _start in candidates:
            if best is not None and policy.priority < best.priority:
                break
            if not self.matcher.search(pattern, name, kind):
                continue
            if best is None:
                best = policy
            else:
                what = "operator policies" if policy.operator else "policies"
                self.problem(WARNING, "policy-tie",
                             f"{what} {best.name!r} and {policy.name!r} both match {kind} "
                             f"{name!r} with priority {policy.priority}; the broker picks "
                             "one unpredictably — give one a higher priority")
        return best

    def unmatched_policies(self) -> None:
        """Policies whose pattern matches no entity of their apply-to kind: a typo, or
        entities that are gone (policies that apply somewhere are skipped: they match)."""
        applied = {id(p) for found in (self.view.effective_policies,
                                       self.view.effective_operator_policies)
                   for p in found.values()}
        unapplied = [p for p in self.view.policies
                     if id(p) not in applied and id(p) in self.compiled]
        if not unapplied:
            return
        declared = {kind for kind, _, _ in self.declared}
        for policy in unapplied:
            pattern, start = self.compiled[id(policy)]
            kinds = {"exchanges": ("exchange",), "all": ("exchange", "queue")}.get(
                policy.apply_to, ("queue",))
            if not any(kind in declared for kind in kinds):
                continue  # a source without queues or exchanges (a policies file) cannot tell
            # the only names it may match, searched in their order
            candidates = [self.declared[position]
                          for position in self.names.starting_with(start)]
            if not self.matches_some(pattern, policy.apply_to, candidates):
                what = "operator policy" if policy.operator else "policy"
                kind = _APPLY_TO_WORDS.get(policy.apply_to, "entity")
                self.problem(WARNING, "policy-matches-nothing",
                             f"{what} {policy.name!r} (pattern {policy.pattern!r}, apply-to "
                             f"{policy.apply_to!r}) matches no {kind} declared in the vhost: "
                             "check the pattern, or leave it for entities declared later")

    def matches_some(self, pattern: Regex, apply_to: str,
                     entities: list[tuple[str, str, str]]) -> bool:
        """Whether *pattern* matches one of the (kind, name, what apply-to is checked
        against) *entities* that *apply_to* covers (a name PCRE gave up on is not matched,
        and is noted once)."""
        given_up = set(self.matcher.gave_up.get(pattern, ()))
        for kind, name, applies in entities:
            if not _applies_to(apply_to, applies):
                continue
            if (give_up_label(name, kind) not in given_up
                    and self.matcher.search(pattern, name, kind)):
                return True
        return False

    def report_gave_up(self) -> None:
        """One warning per pattern on which PCRE gave up, naming a policy that has it."""
        policies = {p.pattern: p for p in reversed(self.view.policies)}
        for regex, labels in self.matcher.gave_up.items():
            policy = policies[regex.text]
            what = "operator policy" if policy.operator else "policy"
            quick = (f"; names after the first {FULL_TRIES} were given {QUICK_LIMIT:,} steps "
                     "each") if len(labels) > FULL_TRIES else ""
            self.problem(WARNING, "pattern-limit",
                         f"{what} {policy.name!r} has pattern {policy.pattern!r}, on which PCRE "
                         f"gives up at its match limit for {gave_up_on(labels)}: the broker "
                         f"counts such a name as not matched, and so does the drawing{quick}")

    def policy_of(self, kind: str, name: str) -> tuple[dict[str, Any], Origin | None]:
        """The definition of the policy that applies to an entity, and that policy as the
        origin of what it sets; ({}, None) when none does."""
        policy = self.view.effective_policies.get((kind, name))
        if policy is None:
            return {}, None
        return policy.definition, ("policy", policy.name)

    # -- edges ---------------------------------------------------------------------------

    def add(self, kind: EdgeKind, source: str, source_type: str, destination: str,
            destination_type: str, routing_key: str | None, arguments: dict[str, Any],
            origin: Origin) -> None:
        self.edges.append(Edge(kind, self.vhost, source, source_type, destination,
                               destination_type, routing_key, arguments, origin))

    def binding_edges(self) -> None:
        exchanges, queues, append = self.view.exchanges, self.view.queues, self.edges.append
        for binding in self.bindings:
            source, destination = binding.source, binding.destination
            targets = queues if binding.destination_type == "queue" else exchanges
            if source not in exchanges or destination not in targets:
                referrer = f"a binding from {source!r} to {destination!r}"
                self.exchange(source, referrer)
                self.endpoint(binding.destination_type, destination, referrer)
            append(Edge("binding", self.vhost, source, "exchange", destination,
                        binding.destination_type, binding.routing_key, binding.arguments,
                        ("binding", None)))

    def dead_letter_edges(self) -> None:
        for name, queue in list(self.view.queues.items()):
            definition, policy = self.policy_of("queue", name)
            exchange = queue.arguments.get("x-dead-letter-exchange")
            origin: Origin | None = ("queue-argument", None)
            if exchange is None:
                exchange, origin = definition.get("dead-letter-exchange"), policy
            if exchange is None or origin is None:
                continue
            if not isinstance(exchange, str):
                self.problem(WARNING, "schema", f"queue {name!r} has a dead-letter exchange "
                             "that is not a string; ignored")
                continue
            routing_key = queue.arguments.get("x-dead-letter-routing-key")
            if routing_key is None:
                routing_key = definition.get("dead-letter-routing-key")
            # the default exchange is drawn only on request; the referrer is worded only
            # for an exchange without a node yet
            if exchange != "" and exchange not in self.view.exchanges:
                self.exchange(exchange, f"the dead-letter setting of queue {name!r}")
            self.add("dead-letter", name, "queue", exchange, "exchange",
                     routing_key if isinstance(routing_key, str) else None, {}, origin)

    def alternate_edges(self) -> None:
        for name, exchange in list(self.view.exchanges.items()):
            if exchange.origin != "declared":
                continue
            alternate = exchange.arguments.get("alternate-exchange")
            origin: Origin | None = ("exchange-argument", None)
            if alternate is None:
                definition, origin = self.policy_of("exchange", name)
                alternate = definition.get("alternate-exchange")
            if not isinstance(alternate, str) or origin is None:
                continue
            if alternate not in self.view.exchanges:
                self.exchange(alternate, f"the alternate exchange of exchange {name!r}")
            self.add("alternate", name, "exchange", alternate, "exchange", None, {}, origin)

    def federation_edges(self) -> None:
        upstreams = {p.name: p.value for p in self.parameters
                     if p.component == "federation-upstream" and isinstance(p.value, dict)}
        sets = {p.name: p.value for p in self.parameters
                if p.component == "federation-upstream-set"}
        # (only the entities of policies that federate are looked at, and sorted: most
        # vhosts have none)
        federates = {id(policy) for policy in self.view.policies
                     if not _FEDERATION_KEYS.isdisjoint(policy.definition)}
        federating = [(key, policy) for key, policy in self.view.effective_policies.items()
                      if id(policy) in federates] if federates else []
        for (kind, name), policy in sorted(federating, key=lambda item: item[0]):
            definition = policy.definition
            chosen: list[str] = []
            if isinstance(definition.get("federation-upstream"), str):
                chosen.append(definition["federation-upstream"])
            upstream_set = definition.get("federation-upstream-set")
            if upstream_set == "all":
                chosen.extend(sorted(upstreams))
            elif isinstance(upstream_set, str):
                members = sets.get(upstream_set)
                if not isinstance(members, list):
                    if self.upstreams_unknown:
                        continue
                    self.problem(ERROR, "dangling", f"policy {policy.name!r} refers to "
                                 f"federation upstream set {upstream_set!r}, which is not "
                                 "declared")
                    continue
                chosen.extend(m["upstream"] for m in members
                              if isinstance(m, dict) and isinstance(m.get("upstream"), str))
            for upstream in chosen:
                value = upstreams.get(upstream)
                if value is None:
                    if self.upstreams_unknown:
                        continue
                    self.problem(ERROR, "dangling", f"policy {policy.name!r} refers to "
                                 f"federation upstream {upstream!r}, which is not declared")
                    continue
                remote_name = value.get(kind)
                remote_name = remote_name if isinstance(remote_name, str) else name
                uri = first_uri(value.get("uri"))
                endpoint = Endpoint(uri) if uri else None
                where = endpoint.label() if endpoint else "upstream"
                source = f"{where} {kind} {remote_name}"
                self.view.externals.add(source)
                if endpoint is not None:
                    self.link(source, endpoint, kind, remote_name)
                self.add("federation", source, "external", name, kind, None,
                         {"upstream": upstream}, ("policy", policy.name))

    def shovel_edges(self) -> None:
        for parameter in self.parameters:
            if parameter.component != "shovel" or not isinstance(parameter.value, dict):
                continue
            value = parameter.value
            referrer = f"shovel {parameter.name!r}"
            source = self.shovel_end(value, "src", referrer)
            destination = self.shovel_end(value, "dest", referrer)
            if source is None or destination is None:
                self.problem(WARNING, "schema", f"shovel {parameter.name!r} names no source "
                             "or no destination; not drawn")
                continue
            key = destination[2] if destination[2] is not None else source[2]
            self.add("shovel", source[0], source[1], destination[0], destination[1], key,
                     {}, ("parameter", parameter.name))

    def queues_of_other_shovels(self) -> None:
        """The queues that shovels of other vhosts declare in this one (``amqp:///V``)."""
        for parameter in self.other_shovels:
            for side in ("src", "dest"):
                address = _shovel_address(parameter.value, side)
                if (address is not None and address[0] == "queue"
                        and _shovel_vhost(parameter, side) == self.vhost):
                    self.declared_by_shovel(parameter.value, side, address[1])

    def other_shovel_edges(self) -> None:
        """The shovels of other vhosts with an end in this one (``amqp:///V``) are edges
        here too, from or to the real node, so a drawing of this vhost alone shows where
        its messages go; the edge's vhost is the shovel's (select drops this copy when
        that vhost is drawn too)."""
        for parameter in self.other_shovels:
            sides = [(address, _shovel_vhost(parameter, side), side) for side in ("src", "dest")
                     if (address := _shovel_address(parameter.value, side)) is not None]
            if len(sides) < 2 or all(vhost != self.vhost for _, vhost, _ in sides):
                continue  # (a shovel naming no end is reported in its own vhost)
            ends = []
            for (kind, name, key), vhost, side in sides:
                if vhost == self.vhost:
                    self.endpoint(kind, name, f"shovel {parameter.name!r} of vhost "
                                              f"{parameter.vhost!r}")
                    ends.append((name, kind, key))
                    continue
                uri = first_uri(parameter.value.get(f"{side}-uri")) or "amqp://"
                where = f"vhost {vhost}" if vhost is not None else Endpoint(uri).label()
                external = f"{where} {kind} {name}"
                self.view.externals.add(external)
                if vhost is not None:
                    self.view.links[external] = (vhost, kind, name)
                ends.append((external, "external", key))
            (source, source_type, source_key), (destination, destination_type, key) = ends
            self.edges.append(Edge("shovel", parameter.vhost, source, source_type,
                                   destination, destination_type,
                                   key if key is not None else source_key, {},
                                   ("parameter", parameter.name)))

    def declared_by_shovel(self, value: dict[str, Any], side: str, name: str) -> None:
        """An AMQP 0-9-1 shovel declares a queue it does not find (unless predeclared)."""
        if (name not in self.view.queues
                and value.get(f"{side}-protocol", "amqp091") == "amqp091"
                and value.get(f"{side}-predeclared") is not True):
            self.view.queues[name] = Queue(self.vhost, name, "classic", origin="shovel")

    def shovel_end(self, value: dict[str, Any], side: str,
                   referrer: str) -> tuple[str, str, str | None] | None:
        """(name, node type, routing key) of one end of a shovel."""
        address = _shovel_address(value, side)
        if address is None:
            return None
        kind, name, key = address
        uri = first_uri(value.get(f"{side}-uri"))
        endpoint = Endpoint(uri or "amqp://")
        if value.get(f"{side}-protocol") == "local" or (endpoint.local
                                                         and endpoint.vhost == self.vhost):
            if kind == "queue":
                self.declared_by_shovel(value, side, name)
            self.endpoint(kind, name, referrer)
            return name, kind, key
        external = f"{endpoint.label()} {kind} {name}"
        self.view.externals.add(external)
        self.link(external, endpoint, kind, name)
        return external, "external", key

    def link(self, external: str, endpoint: Endpoint, kind: str, name: str) -> None:
        """Note an external that is an entity of another vhost of this broker."""
        if endpoint.local and endpoint.vhost != self.vhost:
            self.view.links[external] = (endpoint.vhost, kind, name)

    def run(self) -> tuple[VhostTopology, list[Problem]]:
        self.queues_of_other_shovels()
        self.effective_policies()
        self.binding_edges()
        self.dead_letter_edges()
        self.alternate_edges()
        self.federation_edges()
        self.shovel_edges()
        self.other_shovel_edges()
        for exchange in self.view.exchanges.values():
            if exchange.origin == "declared" and exchange.type not in KNOWN_EXCHANGE_TYPES:
                self.problem(WARNING, "exchange-type", f"exchange {exchange.name!r} has type "
                             f"{exchange.type!r}, which is not a type RabbitMQ or its "
                             "plugins define (drawn as a generic exchange)")
        self.edges.sort(key=edge_sort_key)
        self.view.edges = self.edges
        return self.view, self.problems


def _shovel_vhost(parameter: Parameter, side: str) -> str | None:
    """The vhost of this broker that one side of a shovel is in, None for another broker:
    the ``local`` protocol is the shovel's own vhost, else the URI says (``amqp:///V``)."""
    if parameter.value.get(f"{side}-protocol") == "local":
        return parameter.vhost
    endpoint = Endpoint(first_uri(parameter.value.get(f"{side}-uri")) or "amqp://")
    return endpoint.vhost if endpoint.local else None


def _shovel_address(value: dict[str, Any], side: str) -> tuple[str, str, str | None] | None:
    """(node type, name, routing key) that one side of a shovel names, wherever it is."""
    key = value.get(f"{side}-exchange-key")
    for field in (f"{side}-queue", f"{side}-address", f"{side}-exchange"):
        candidate = value.get(field)
        if not isinstance(candidate, str):
            continue
        matched = re.fullmatch(_AMQP10_ADDRESS, candidate)
        if matched:
            key = matched["key"] if matched["key"] is not None else key
            return ("queue" if matched["kind"] == "queues" else "exchange",
                    unquote(matched["name"]), key if isinstance(key, str) else None)
        return ("exchange" if field.endswith("exchange") else "queue", candidate,
                key if isinstance(key, str) else None)
    return None


_LITERAL_START = re.compile(r"\^((?:[\w-]|\\[.\-/])*)")


def _literal_prefix(pattern: str) -> str:
    """Text every name an anchored pattern matches starts with, "" when none is sure: a
    cheap test before PCRE. The last literal character is left out when what follows may
    make it optional: ``?``, ``*``, ``{...}``, also after ``\\E``, ``\\Q`` or a ``(?...)``
    such as a comment, which PCRE skips before a quantifier."""
    matched = _LITERAL_START.match(pattern)
    if matched is None or "|" in pattern:
        return ""  # unanchored, or an alternative may start otherwise
    literal = matched.group(1).replace("\\", "")
    rest = pattern[matched.end():]
    if rest[:1] in ("?", "*", "{") or rest.startswith(("\\E", "\\Q", "(?")):
        return literal[:-1]
    return literal


_APPLY_TO_WORDS = {"all": "queue or exchange", "queues": "queue", "exchanges": "exchange",
                   "classic_queues": "classic queue", "quorum_queues": "quorum queue",
                   "streams": "stream"}


def _applies_to(apply_to: str, applies: str) -> bool:
    """Whether a policy's apply-to covers an exchange, a queue of a type, or "other" queues."""
    if apply_to == "all":
        return True
    if applies == "exchange":
        return apply_to == "exchanges"
    return apply_to == "queues" or apply_to == _QUEUE_APPLY_TO.get(applies)


def resolve(topology: Topology, vhost: str) -> tuple[VhostTopology, list[Problem]]:
    """Resolve one vhost; problems found on the way are returned, not raised."""
    return _Resolver(topology, vhost).run()
