"""Narrow a resolved topology to what one diagram shows: vhosts, name patterns, a focus
with its depth and direction, stubs; and the named views of conf.py that set them."""

from __future__ import annotations

import fnmatch
import functools
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Literal

from .lint import lint
from .model import (
    BUILTIN_EXCHANGES,
    DEFAULT_EXCHANGE,
    ERROR,
    WARNING,
    Edge,
    Exchange,
    Problem,
    Queue,
    Topology,
    VhostTopology,
)
from .patterns import InvalidPattern, Matcher, NameIndex, Regex, compile_pattern, gave_up_on
from .records import field, record
from .resolve import edge_sort_key, resolve


@record
class Glob:
    """A shell glob: the regex it means (Python's re on the name), and the literal text
    every name it matches starts with, by which an index finds them."""

    regex: re.Pattern[str]
    start: str


#: a shell glob or an ``re:`` pattern (PCRE, as for policies)
NamePattern = Glob | Regex
#: which way a focus walks: along the messages (down), against them (up), or both
Direction = Literal["down", "up", "both"]
DIRECTIONS: tuple[Direction, ...] = ("down", "up", "both")
#: (vhost, node type, name): a node of the graph a focus walks, across vhosts
GraphNode = tuple[str, str, str]


class PatternError(ValueError):
    """A selection pattern that cannot be used; the message says which and why."""


@record
class Selection:
    """What the directive's options and the CLI's flags ask for (``vhosts`` None: every one)."""

    vhosts: list[str] | None = None
    include: list[NamePattern] = field(default_factory=list)
    exclude: list[NamePattern] = field(default_factory=list)
    default_exchange: bool = False
    #: leave out exclusive and auto-delete queues (a live broker's client sessions)
    hide_temporary: bool = False
    #: exchange and queue names: keep only what is within ``depth`` hops of them (None:
    #: any number) in ``direction``, walking what the other fields keep
    focus: list[str] = field(default_factory=list)
    depth: int | None = None
    direction: Direction = "both"

    def wants(self, name: str, matcher: Matcher) -> bool:
        """Whether the patterns keep *name*; *matcher* notes where PCRE gave up."""
        if not self.narrowed:
            return True
        if self.include and not any(_matches(p, name, matcher) for p in self.include):
            return False
        return not any(_matches(p, name, matcher) for p in self.exclude)

    @property
    def narrowed(self) -> bool:
        return bool(self.include or self.exclude)

    def hidden(self, queue: Queue) -> bool:
        return self.hide_temporary and (queue.exclusive or queue.auto_delete)


def parse_names(text: str | Iterable[str] | None) -> list[str]:
    """Comma-separated names (a comma inside one written ``\\,``), as :focus: takes them."""
    if text is None:
        return []
    return _split(text) if isinstance(text, str) else [i for t in text for i in _split(t)]


def parse_depth(text: str | int | None) -> int | None:
    """A number of hops, 0 or more; None for none given."""
    if text is None:
        return None
    try:
        depth = -1 if isinstance(text, bool) else int(text)
    except ValueError:
        depth = -1
    if depth < 0:
        raise PatternError(f"depth {text!r} is not a whole number of hops, 0 or more")
    return depth


def parse_direction(text: str | None) -> Direction:
    """down, up or both (the default), in any case."""
    chosen = (text or "both").strip().lower()
    for direction in DIRECTIONS:
        if chosen == direction:
            return direction
    raise PatternError(f"direction {text!r} is not one of {', '.join(DIRECTIONS)}")


def parse_patterns(text: str | Iterable[str] | None) -> list[NamePattern]:
    """Comma-separated shell globs matched against the whole name; ``re:`` for a regex.

    A regex is searched like a policy pattern: unanchored, by PCRE on the name's UTF-8
    bytes, with its match limit. A comma inside a regex is written ``\\,``.
    """
    if text is None:
        return []
    items = _split(text) if isinstance(text, str) else [i for t in text for i in _split(t)]
    patterns: list[NamePattern] = []
    for item in items:
        if item.startswith("re:"):
            try:
                patterns.append(compile_pattern(item[3:]))
            except InvalidPattern as exc:
                raise PatternError(f"{item!r} is not a valid regular expression (PCRE, as "
                                   f"for policy patterns): {exc}") from None
        else:
            with warnings.catch_warnings():
                # a glob such as [[:alpha:]] makes re warn of a possible nested set; the
                # glob means what fnmatch means by it, so the warning would only mislead
                warnings.simplefilter("ignore", FutureWarning)
                patterns.append(Glob(re.compile(fnmatch.translate(item)),
                                     re.split(r"[*?[]", item, maxsplit=1)[0]))
    return patterns


def view_option_text(value: Any) -> str:
    """A value of a view in conf.py (``rabbitmq_topology_views``) as a directive option's
    text: a list is its items comma-separated (a comma inside an item kept as ``\\,``),
    a number its digits; a flag's True is handled by the caller."""
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return ", ".join(item.replace(",", "\\,") for item in value)
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise PatternError(f"{value!r} is neither a string, a number, nor a list of strings")


def close_to(word: str, choices: Iterable[str]) -> str:
    """`` — did you mean 'X'?`` for the closest of *choices*, or ""."""
    import difflib  # for a message about a mistake: not paid for on every run

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" — did you mean {close[0]!r}?" if close else ""


def _matches(pattern: NamePattern, name: str, matcher: Matcher) -> bool:
    if isinstance(pattern, Regex):
        return matcher.search(pattern, name)
    return pattern.regex.match(name) is not None  # (translate ends the regex with \Z)


def _split(text: str) -> list[str]:
    parts = re.split(r"(?<!\\),", text)
    return [p.replace("\\,", ",").strip() for p in parts if p.strip()]


@record
class VhostIndex:
    """Where a narrowed selection finds what it keeps in a resolved vhost without going
    through all of it: the queues' and exchanges' names sorted, with their positions in
    the vhost, and the edges at each name."""

    #: node type -> its names, in the vhost's order, indexed by their starts
    names: dict[str, NameIndex]
    #: name (of a queue or an exchange) -> positions in ``edges`` of the edges at it
    edges_at: dict[str, list[int]]

    @classmethod
    def of(cls, view: VhostTopology) -> VhostIndex:
        edges_at: dict[str, list[int]] = {}
        for position, edge in enumerate(view.edges):
            edges_at.setdefault(edge.source, []).append(position)
            if edge.destination != edge.source:
                edges_at.setdefault(edge.destination, []).append(position)
        names = {kind: NameIndex(list(entities))
                 for kind, entities in (("queue", view.queues), ("exchange", view.exchanges))}
        return cls(names, edges_at)


def select(view: VhostTopology, selection: Selection, matcher: Matcher,
           reached: Reached | None = None, index: VhostIndex | None = None) -> VhostTopology:
    """Keep the wanted entities, the edges that touch them, and a stub for each other end.

    Stubs mark edges that leave the selection and edges that enter it, so a subsystem
    diagram shows where its messages go and where they come from. With *reached* (what a
    focus reached in this vhost), only that is kept, and only its edges are looked at.
    With an *index*, a narrowed selection too costs what it keeps, not what the vhost holds.
    """
    if reached is not None or not selection.narrowed:
        index = None
    kept = VhostTopology(view.vhost, policies=view.policies)
    # (a hidden queue's routes go with it even when the queue is not wanted)
    hidden = {name for name, q in view.queues.items() if selection.hidden(q)
              } if selection.hide_temporary else set()
    if reached is not None:
        kept.queues = {name: view.queues[name] for name in sorted(reached.queues)}
        kept.exchanges = exchanges = {name: view.exchanges[name]
                                      for name in sorted(reached.exchanges)}
        edges = [view.edges[index] for index in sorted(reached.edges)]
    else:
        queues = _wanted(view.queues, selection, matcher,
                         index.names["queue"] if index is not None else None)
        kept.queues = {name: q for name, q in queues.items() if name not in hidden
                       } if hidden else queues
        wanted_exchanges = _wanted(view.exchanges, selection, matcher,
                                   index.names["exchange"] if index is not None else None)
        kept.exchanges = exchanges = {
            name: x for name, x in wanted_exchanges.items() if x.origin != "builtin"
        }
        # built-in exchanges are drawn only beside something drawn; the default one on request
        builtins = {
            name
            for name, x in wanted_exchanges.items()
            if x.origin == "builtin" and name != DEFAULT_EXCHANGE
        }
        if builtins:
            for edge in _edges_at(view, index, builtins):
                for name, other_type, other in (
                    (edge.source, edge.destination_type, edge.destination),
                    (edge.destination, edge.source_type, edge.source),
                ):
                    if name in builtins and _kept(kept, other_type, other):
                        exchanges[name] = view.exchanges[name]
        edges = view.edges
    if selection.default_exchange:
        exchanges[DEFAULT_EXCHANGE] = view.exchanges.get(DEFAULT_EXCHANGE) or Exchange(
            view.vhost, DEFAULT_EXCHANGE, BUILTIN_EXCHANGES[DEFAULT_EXCHANGE], origin="builtin"
        )
    if index is not None:  # the edges at what is kept, only
        edges = _edges_at(view, index, [*kept.queues, *exchanges])

    narrowed = selection.narrowed or reached is not None
    # by node type (an external is no entity: it is drawn as the end of its edges)
    kept_names: dict[str, dict[str, Queue] | dict[str, Exchange] | dict[str, None]] = {
        "queue": kept.queues, "exchange": exchanges, "external": {}}
    for edge in edges:
        if hidden and (
            (edge.source_type == "queue" and edge.source in hidden)
            or (edge.destination_type == "queue" and edge.destination in hidden)
        ):
            continue  # a hidden queue's routes go with it, not even as a stub
        source_kept = edge.source in kept_names[edge.source_type]
        destination_kept = edge.destination in kept_names[edge.destination_type]
        if edge.destination == DEFAULT_EXCHANGE and edge.destination_type == "exchange":
            # dead-lettering through the default exchange: the renderer draws it
            destination_kept = destination_kept or source_kept
        if not (
            source_kept
            or destination_kept
            or (edge.source_type == edge.destination_type == "external" and not narrowed)
        ):
            continue  # (a shovel between two other brokers is drawn in a whole vhost)
        kept.edges.append(edge)
        if not (source_kept and destination_kept):
            for kind, name, is_kept in (
                (edge.source_type, edge.source, source_kept),
                (edge.destination_type, edge.destination, destination_kept),
            ):
                if kind == "external":
                    kept.externals.add(name)
                    if name in view.links:
                        kept.links[name] = view.links[name]
                elif not is_kept:
                    kept.stubs.add((kind, name))

    for found, kept_found in ((view.effective_policies, kept.effective_policies),
                              (view.effective_operator_policies,
                               kept.effective_operator_policies)):
        if reached is None and index is None:
            kept_found.update((key, policy) for key, policy in found.items()
                              if key[1] in kept_names[key[0]])
        else:  # (only what was kept is looked up)
            kept_found.update((key, found[key]) for kind, names in kept_names.items()
                              for name in names if (key := (kind, name)) in found)
    if narrowed:
        in_use = {p.name for p in kept.effective_policies.values()}
        in_use.update(p.name for p in kept.effective_operator_policies.values())
        kept.policies = [p for p in view.policies if p.name in in_use]
    return kept


def _wanted(entities: dict[str, Any], selection: Selection, matcher: Matcher,
            names: NameIndex | None) -> dict[str, Any]:
    """The entities whose names the selection wants (a copy, in their order). With their
    *names* indexed, when every include pattern is a glob that starts with some text, only
    the names that start so are looked at."""
    if not selection.narrowed:
        return dict(entities)
    candidates: Iterable[str] = entities
    starts = [p.start for p in selection.include if isinstance(p, Glob) and p.start]
    if names is not None and starts and len(starts) == len(selection.include):
        found = {position for start in starts for position in names.starting_with(start)}
        candidates = [names.names[position] for position in sorted(found)]
    return {name: entities[name] for name in candidates if selection.wants(name, matcher)}


def _edges_at(view: VhostTopology, index: VhostIndex | None,
              names: Iterable[str]) -> list[Edge]:
    """The edges at *names*, in the vhost's order (with no index: every edge)."""
    if index is None:
        return view.edges
    positions = sorted({p for name in names for p in index.edges_at.get(name, ())})
    return [view.edges[position] for position in positions]


def _kept(view: VhostTopology, kind: str, name: str) -> bool:
    if kind == "queue":
        return name in view.queues
    if kind == "exchange":
        return name in view.exchanges
    return False


@record
class Reached:
    """What a focus reached in one vhost: names, and the indices of their edges."""

    exchanges: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    edges: set[int] = field(default_factory=set)


class _Index:
    """One vhost's edges by the node they leave and the node they enter: built when a walk
    first enters the vhost, once."""

    def __init__(self, view: VhostTopology) -> None:
        #: node -> (edge index, the node at its other end), by way
        self.out: defaultdict[tuple[str, str], list[tuple[int, tuple[str, str]]]] = \
            defaultdict(list)
        self.into: defaultdict[tuple[str, str], list[tuple[int, tuple[str, str]]]] = \
            defaultdict(list)
        for index, edge in enumerate(view.edges):
            source = (edge.source_type, edge.source)
            destination = _walked_destination(view, edge)
            self.out[source].append((index, destination))
            self.into[destination].append((index, source))


def _walked_destination(view: VhostTopology, edge: Edge) -> tuple[str, str]:
    """Where an edge leads: dead-lettering through the default exchange with a routing key
    leads to the queue that key names (the default exchange routes to every queue, so a
    walk never goes through it)."""
    if (edge.destination_type == "exchange" and edge.destination == DEFAULT_EXCHANGE
            and edge.routing_key is not None and edge.routing_key in view.queues):
        return "queue", edge.routing_key
    return edge.destination_type, edge.destination


class _Graph:
    """The resolved vhosts as one graph: an external end that is an entity of another
    drawn vhost (`VhostTopology.links`) is the same node as that entity."""

    def __init__(self, resolved: dict[str, VhostTopology], selection: Selection,
                 matcher: Matcher) -> None:
        self.resolved = resolved
        self.selection = selection
        self.matcher = matcher
        self.indexes: dict[str, _Index] = {}
        self.aliases: defaultdict[GraphNode, list[GraphNode]] = defaultdict(list)
        for vhost, view in resolved.items():
            for external, target in sorted(view.links.items()):
                if target[0] in resolved:
                    self.aliases[vhost, "external", external].append(target)
                    self.aliases[target].append((vhost, "external", external))

    def index(self, vhost: str) -> _Index:
        found = self.indexes.get(vhost)
        if found is None:
            found = self.indexes[vhost] = _Index(self.resolved[vhost])
        return found

    def walkable(self, node: GraphNode) -> bool:
        """Whether the selection's other fields keep *node*, so a walk may enter it."""
        vhost, kind, name = node
        view = self.resolved[vhost]
        if kind == "external":  # the same node as its entity in another vhost, if any
            return all(self.walkable(entity) for entity in self.aliases.get(node, ()))
        if kind == "queue":
            queue = view.queues.get(name)
            return queue is not None and not self.selection.hidden(queue) and \
                self.selection.wants(name, self.matcher)
        return (kind == "exchange" and name != DEFAULT_EXCHANGE and name in view.exchanges
                and self.selection.wants(name, self.matcher))

    def same(self, node: GraphNode) -> list[GraphNode]:
        """*node* and the nodes it is the same entity as."""
        return [node, *self.aliases.get(node, ())]

    def walk(self, starts: list[GraphNode], depth: int | None,
             direction: Direction) -> set[GraphNode]:
        """What is within *depth* hops of *starts*: downstream, upstream, or the union of
        both (not what a step up then a step down reaches: a queue's neighbours)."""
        reached: set[GraphNode] = set()
        for forward in {"down": (True,), "up": (False,), "both": (True, False)}[direction]:
            seen = {same for start in starts for same in self.same(start)}
            frontier = sorted(seen)
            hops = 0
            # (each node enters the frontier once: the walk ends on any graph)
            while frontier and (depth is None or hops < depth):
                hops += 1
                following = []
                for vhost, kind, name in frontier:
                    index = self.index(vhost)
                    for _, (other_kind, other) in (index.out if forward else index.into).get(
                            (kind, name), ()):
                        for node in self.same((vhost, other_kind, other)):
                            if node not in seen and self.walkable(node):
                                seen.add(node)
                                following.append(node)
                frontier = following
            reached |= seen
        return reached

    def reached(self, nodes: set[GraphNode]) -> dict[str, Reached]:
        """Per vhost, the exchanges and queues among *nodes*, and every edge that touches
        a node of them (its other end becomes a stub when it was not reached)."""
        found: dict[str, Reached] = {}
        for vhost, kind, name in nodes:
            index = self.index(vhost)
            entry = found.setdefault(vhost, Reached())
            if kind == "queue":
                entry.queues.add(name)
            elif kind == "exchange":
                entry.exchanges.add(name)
            for way in (index.out, index.into):
                entry.edges.update(edge for edge, _ in way.get((kind, name), ()))
        return found


def _focus_starts(graph: _Graph, topology: Topology, wanted: list[str],
                  selection: Selection) -> tuple[list[GraphNode], list[Problem]]:
    """The nodes the focus names, and a warning for each name that names none of them."""
    starts: list[GraphNode] = []
    problems = []
    for name in selection.focus:
        found = [node for vhost in wanted for kind in ("exchange", "queue")
                 if graph.walkable(node := (vhost, kind, name))]
        if found:
            starts += found
            continue
        problems.append(Problem(WARNING, "focus", _unfocused(graph, topology, wanted, name)))
    return starts, problems


def _unfocused(graph: _Graph, topology: Topology, wanted: list[str], name: str) -> str:
    """Why a focus name names nothing, and the closest name that the selection holds."""
    message = f"focus {name!r} is no exchange or queue of this selection"
    elsewhere = sorted({entity.vhost for entities in (topology.exchanges, topology.queues)
                        for entity in entities if entity.name == name})
    if any(vhost in wanted for vhost in elsewhere):
        message += " (include/exclude or hide-temporary leave it out)"
    elif elsewhere:
        message += f" (it is in vhost {elsewhere[0]!r}, which the selection leaves out)"
    else:
        names = sorted({n for vhost in wanted for kind in ("exchange", "queue")
                        for n in getattr(graph.resolved[vhost], kind + "s")
                        if graph.walkable((vhost, kind, n))})
        message += close_to(name, names)
    return message


def _link_across(result: list[VhostTopology], resolved: dict[str, VhostTopology],
                 selection: Selection) -> None:
    """Shovels and federation links between the vhosts of *result*: an edge whose end in
    another vhost is kept there is kept too (with a stub for its end here when that was
    left out), and an end kept here that another vhost has but left out is a stub there,
    so that a drawing draws each such edge between the two vhosts' nodes."""
    drawn = {view.vhost: view for view in result}

    def copied(edge: Edge, view: VhostTopology) -> bool:
        """A shovel of another vhost copied into *view* (resolve), which that vhost draws."""
        return edge.vhost != view.vhost and edge.vhost in drawn

    for view in result:
        # (with one vhost drawn there is no other to have copied an edge from)
        if len(drawn) > 1 and any(copied(edge, view) for edge in view.edges):
            view.edges = [edge for edge in view.edges if not copied(edge, view)]

    def kept_there(external: str, links: dict[str, tuple[str, str, str]]) -> bool:
        target = links.get(external)
        return target is not None and target[0] in drawn and _kept(drawn[target[0]],
                                                                   *target[1:])

    for view in result:
        full = resolved[view.vhost]
        if not full.links:  # (most vhosts have none: their edges are not looked at)
            continue
        kept_edges = {id(edge) for edge in view.edges}
        for edge in full.edges:
            if id(edge) in kept_edges or copied(edge, view):
                continue
            ends = ((edge.source_type, edge.source), (edge.destination_type, edge.destination))
            if not any(kind == "external" and kept_there(name, full.links)
                       for kind, name in ends):
                continue
            if any(kind == "queue" and name in full.queues
                   and selection.hidden(full.queues[name]) for kind, name in ends):
                continue
            view.edges.append(edge)
            for kind, name in ends:
                if kind == "external":
                    view.externals.add(name)
                    if name in full.links:
                        view.links[name] = full.links[name]
                elif not _kept(view, kind, name):
                    view.stubs.add((kind, name))
        if len(view.edges) > len(kept_edges):
            view.edges.sort(key=edge_sort_key)
    for view in result:
        for vhost, kind, name in view.links.values():
            target = drawn.get(vhost)
            if target is None or _kept(target, kind, name) or (kind, name) in target.stubs:
                continue
            if name in getattr(resolved[vhost], kind + "s"):
                target.stubs.add((kind, name))


class Model:
    """A topology and each of its vhosts resolved and linted once, when first asked for:
    what every directive of a build that draws the same source selects from. What it holds
    is never changed: its topology is as read."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.resolved: dict[str, tuple[VhostTopology, list[Problem]]] = {}
        self.indexes: dict[str, VhostIndex] = {}
        self.digests: dict[str | None, str] = {}

    @functools.cached_property
    def vhost_names(self) -> list[str]:
        return self.topology.vhost_names()

    def vhost(self, name: str) -> tuple[VhostTopology, list[Problem]]:
        """The vhost resolved, and the problems resolving and linting it found."""
        found = self.resolved.get(name)
        if found is None:
            view, problems = resolve(self.topology, name)
            found = self.resolved[name] = (view, problems + lint(view))
        return found

    def index(self, name: str) -> VhostIndex:
        """Where narrowed selections find what they keep in the resolved vhost."""
        found = self.indexes.get(name)
        if found is None:
            found = self.indexes[name] = VhostIndex.of(self.vhost(name)[0])
        return found

    def resolve_all(self) -> None:
        for name in self.vhost_names:
            self.index(name)

    def digest(self, vhost: str | None) -> str:
        """A digest of what a drawing of *vhost* (None: of every vhost) depends on: the
        entities, problems and times read, and the other vhosts' names only where a drawing
        names them (when it draws every vhost, or one the source lacks)."""
        found = self.digests.get(vhost)
        if found is None:
            import hashlib  # (a build's caching asks for digests; the command line does not)

            topology = self.topology
            names = self.vhost_names
            vhosts: Any = (topology.vhosts.get(vhost) if vhost is not None and vhost in names
                           else (topology.vhosts, names))
            text = repr((topology.source, topology.exchanges, topology.queues,
                         topology.bindings, topology.policies, topology.parameters, vhosts,
                         topology.problems, topology.taken_at, sorted(topology.unread)))
            found = self.digests[vhost] = hashlib.sha256(text.encode()).hexdigest()
        return found


def views(source: Topology | Model,
          selection: Selection) -> tuple[list[VhostTopology], list[Problem]]:
    """The one pipeline the directive and the CLI share: resolve and select each vhost
    (a `Model` has resolved them once for every selection)."""
    shared = isinstance(source, Model)
    model = source if isinstance(source, Model) else Model(source)
    topology = model.topology
    problems = list(topology.problems)
    if selection.vhosts is None:
        wanted = model.vhost_names
    else:
        wanted = []
        for vhost in selection.vhosts:
            # the declared vhosts first: gathering every entity's vhost takes a while
            if vhost in topology.vhosts or vhost in model.vhost_names:
                wanted.append(vhost)
                continue
            available = model.vhost_names
            # a source that could not be read, or held nothing to read, has said so already
            if available or not any(p.code in ("parse", "io", "fetch", "source")
                                    for p in problems):
                known = ", ".join(repr(v) for v in available) or "none"
                problems.append(
                    Problem(
                        ERROR, "vhost", f"vhost {vhost!r} is not in this source (it has: {known})"
                    )
                )
    matcher = Matcher()
    resolved: dict[str, VhostTopology] = {}
    for vhost in wanted:
        resolved[vhost], found = model.vhost(vhost)
        problems.extend(found)
    if selection.focus:
        graph = _Graph(resolved, selection, matcher)
        starts, unfocused = _focus_starts(graph, topology, wanted, selection)
        problems += unfocused
        reached = graph.reached(graph.walk(starts, selection.depth, selection.direction))
        result = [select(resolved[vhost], selection, matcher, reached[vhost])
                  for vhost in wanted if vhost in reached]
    else:
        # (an index pays for itself from the second selection of a vhost)
        result = [select(resolved[vhost], selection, matcher, index=model.index(vhost)
                         if selection.narrowed and shared else None) for vhost in wanted]
    _link_across(result, resolved, selection)
    for regex, labels in matcher.gave_up.items():
        problems.append(Problem(WARNING, "pattern-limit", f"pattern 're:{regex.text}': PCRE "
                                f"gives up at its match limit on {gave_up_on(labels)}, "
                                "which is taken as not matched"))
    if selection.narrowed and result and not any(v.exchanges or v.queues for v in result):
        problems.append(
            Problem(
                WARNING,
                "empty-selection",
                "the include/exclude patterns match no exchange or queue",
            )
        )
    return result, problems
