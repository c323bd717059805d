"""What a diagram over its node budget draws as one: queues alike become a summary node.

Only about drawing (so in output/, not topology/): the topology is unchanged, every output
(DOT, Mermaid, the text fallback) draws the same groups, and the groups table lists their
members. Queues are alike when they receive from the same drawn nodes (the same exchanges,
by the same kinds of edge) and their names differ only by digits or share a prefix:
``svc007.q.01`` ... ``svc007.q.20`` bound from ``svc007.events`` become ``svc007.q.*``. A
group's dead-letter queues then receive from the group alone, so a repeated dead-letter fan
groups in the next pass the same way. Parallel edges of one kind between two drawn nodes
merge, with a count. When queues alone leave the diagram over its budget, exchanges of one
type whose names are alike are grouped as well, and the queues again.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Literal

from ..topology.model import DEFAULT_EXCHANGE, Edge, VhostTopology
from ..topology.records import field, record
from .wording import (
    crosses,
    drawn_queue_names,
    goes_via_default_exchange,
    linked_ends,
    routed_keys,
    routing_types,
)

#: Nodes a diagram draws before it groups (rabbitmq_topology_node_budget, --node-budget).
#: Measured with dot at the default sizes: a left-to-right fan of N queues is 60 pt a queue
#: tall (605 pt for 10, 2,405 pt for 40). 40 nodes, most of them queues, put about 25 in a
#: column, 1,500 pt: one 1440-pixel screen at 65 % zoom, where 10-pt labels are 8.7 pixels
#: high, about the smallest that reads (a 1080-pixel screen scrolls once).
DEFAULT_NODE_BUDGET = 40
#: edges a node of the budget may bring: a diagram with more edges than this many times
#: its node budget is over the budget too (a few nodes with hundreds of parallel bindings
#: between them), and its parallel edges merge
EDGES_PER_NODE = 3
#: the fewest queues a group holds
MIN_GROUP = 2
#: grouping passes: each may group the dead-letter targets of the groups before it
MAX_PASSES = 3
#: separators a name's prefixes are cut at, and how many of a name's prefixes are tried
_SEPARATORS = re.compile(r"[.\-_:/@]")
MAX_PREFIXES = 16
_DIGIT_RUNS = re.compile(r"(\d+)")
#: how many distinct keys a summary lists before it shows what they share
MAX_LISTED_KEYS = 2

NodeKey = tuple[str, str]
#: a node as drawn: an entity's key, or a group's id
DrawnNode = NodeKey | int
#: an edge as drawn: its source, its target, its kind, and whether it skips the default
#: exchange (drawn straight to the queue its key names)
DrawnRoute = tuple[DrawnNode, DrawnNode, str, bool]
CollapseMode = Literal["auto", "none", "globs"]


@record(frozen=True)
class Collapse:
    """``:collapse:`` / ``--collapse``: ``auto`` groups only past the node budget, ``none``
    never, globs group the queues they match (and nothing else)."""

    mode: CollapseMode = "auto"
    globs: tuple[str, ...] = ()


def parse_collapse(text: str | None) -> Collapse:
    """``auto``, ``none``, or comma-separated shell globs matched against whole queue names."""
    if text is None:
        return Collapse()
    items = [item.strip() for item in text.split(",") if item.strip()]
    if items in (["auto"], ["none"]):
        return Collapse(items[0])  # type: ignore[arg-type]  # one of the two, just checked
    if not items or "auto" in items or "none" in items:
        raise ValueError(f"{text!r} is not auto, none, or comma-separated queue name globs")
    return Collapse("globs", tuple(items))


@record
class Group:
    """Queues (or exchanges) drawn as one node: what their names share (``pattern``), the
    members (sorted), their types with counts, the distinct routing keys of the bindings
    to them, and the name it is shown by: its pattern, numbered when other groups of its
    vhost have the same one (``users.*.inbox (2 of 3)``: they receive from other nodes)."""

    pattern: str
    members: list[str]
    node_type: str = "queue"
    name: str = ""
    types: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


@record
class Grouping:
    """The groups of one view; ``group_of``: (node type, name) -> its group; ``routes``:
    the view's edges by the nodes they are drawn between (a group by its id), parallel ones
    of one kind together, in the order of the first of each."""

    groups: list[Group] = field(default_factory=list)
    group_of: dict[NodeKey, Group] = field(default_factory=dict)
    routes: dict[DrawnRoute, list[Edge]] = field(default_factory=dict)

    def add(self, group: Group) -> None:
        self.groups.append(group)
        for name in group.members:
            self.group_of[group.node_type, name] = group


@record
class Grouped:
    """What grouping did to a diagram: a grouping per view, its node counts, and whether
    the default exchange is drawn (where routes through it are drawn to)."""

    groupings: list[Grouping]
    nodes_before: int
    nodes_after: int
    budget: int
    collapse: Collapse
    show_default_exchange: bool
    edges_before: int = 0
    edges_after: int = 0

    @property
    def groups(self) -> list[Group]:
        return [group for grouping in self.groupings for group in grouping.groups]

    @property
    def over_budget(self) -> bool:
        return self.nodes_after > self.budget

    @property
    def changed(self) -> bool:
        """Whether the diagram draws anything as one: a group, or parallel edges."""
        return bool(self.groups) or self.edges_after < self.edges_before


def node_count(view: VhostTopology, linked: dict[str, tuple[str, str, str]]) -> int:
    """The nodes a drawing of *view* has without grouping (the default exchange aside); an
    external drawn as another vhost's node (*linked*, `wording.linked_ends`) is none."""
    return (len(view.exchanges) + len(view.queues) + len(view.externals) - len(linked)
            + len(view.stubs))


def group_views(views: list[VhostTopology], collapse: Collapse, budget: int,
                *, show_default_exchange: bool = False) -> Grouped | None:
    """The groups of a diagram of *views*; None when it draws every queue as it is
    (``none``, or ``auto`` within the budget: of nodes, and of edges, EDGES_PER_NODE
    times as many)."""
    drawn = {view.vhost: view for view in views}
    linked = [linked_ends(view, drawn) for view in views]
    before = sum(node_count(view, ends) for view, ends in zip(views, linked, strict=True))
    edges = sum(len(view.edges) for view in views)
    within = before <= budget and edges <= EDGES_PER_NODE * budget
    if collapse.mode == "none" or (collapse.mode == "auto" and within):
        return None
    indexes = [_ViewIndex(view, show_default_exchange) for view in views]
    groupings = [Grouping() for _ in views]
    after = before
    if collapse.mode == "globs":
        for index, grouping in zip(indexes, groupings, strict=True):
            for group in _glob_groups(index, collapse.globs):
                grouping.add(group)
                after -= len(group.members) - 1
    else:
        after = _group_queues(indexes, groupings, before, budget)
        if after > budget:
            # The last resort: exchanges alike too (same type, names differing by digits
            # or sharing a prefix), then the queues again, which they make more alike.
            coarse = [Grouping() for _ in views]
            coarse_after = before
            for index, grouping in zip(indexes, coarse, strict=True):
                for group in _exchange_families(index):
                    grouping.add(group)
                    coarse_after -= len(group.members) - 1
            coarse_after = _group_queues(indexes, coarse, coarse_after, budget)
            if coarse_after < after:
                groupings, after = coarse, coarse_after
    edges_after = 0
    for index, grouping, ends in zip(indexes, groupings, linked, strict=True):
        grouping.routes = index.drawn_routes(grouping)
        _describe(index, grouping)
        edges_after += _drawn_edge_count(grouping, ends)
    return Grouped(groupings, before, after, budget, collapse, show_default_exchange, edges,
                   edges_after)


def _drawn_edge_count(grouping: Grouping, linked: dict[str, tuple[str, str, str]]) -> int:
    """The edges a drawing of *grouping* has: a route is one, but an edge to or from an
    external drawn as another vhost's node (*linked*, `wording.linked_ends`) is drawn on
    its own, between the vhosts' boxes."""
    return sum(len(edges) if crosses(edges[0], linked) else 1
               for edges in grouping.routes.values())


class _Numbers(dict[str, int]):
    """Name -> node number, for the nodes of one type: a name not numbered yet (the end of
    an edge that the view does not hold) is given the next number when first looked up."""

    def __init__(self, node_type: str, nodes: list[NodeKey]) -> None:
        super().__init__()
        self.node_type = node_type
        #: node number -> the node, shared by the types
        self.nodes = nodes

    def __missing__(self, name: str) -> int:
        number = self[name] = len(self.nodes)
        self.nodes.append((self.node_type, name))
        return number


class _ViewIndex:
    """What grouping asks of one view, worked out once for all its passes: where each edge
    is drawn (a route through the default exchange straight to the queue its key names,
    unless that exchange is drawn) and the sources of each queue, with the nodes numbered
    (thousands of edges meet a few hundred sources), and the routing types."""

    def __init__(self, view: VhostTopology, show_default_exchange: bool) -> None:
        self.view = view
        queue_names = drawn_queue_names(view)
        shortcuts = not show_default_exchange
        #: node number -> the node, and node type -> name -> its number: every node of the
        #: view first, then the ends of edges it does not hold, as met
        self.nodes: list[NodeKey] = []
        numbers: dict[str, _Numbers] = {}
        for node_type, names in (("exchange", view.exchanges), ("queue", view.queues),
                                 ("external", view.externals)):
            numbers[node_type] = _Numbers(node_type, self.nodes)
            numbers[node_type].update(zip(names, itertools.count(len(self.nodes))))
            self.nodes += [(node_type, name) for name in names]
        self.numbers = numbers
        queue_numbers = numbers["queue"]
        #: each edge's ends as drawn, by number, its kind, whether it is a shortcut
        self.ends: list[tuple[int, int, str, bool]] = []
        ends = self.ends
        #: a source as a queue sees it, (kind, node number), and its number; the sources
        #: of each queue (by name), by those numbers
        self.sources: dict[tuple[str, int], int] = {}
        sources = self.sources
        incoming: dict[int, set[int]] = defaultdict(set)  # by the queue's number
        # Edges come sorted by kind and source (resolve.edge_sort_key): the source of a
        # run of them is looked up once.
        kind = source_type = source_name = ""
        source = -1
        pair: int | None = None
        for edge in view.edges:
            if (edge.source != source_name or edge.source_type != source_type
                    or edge.kind != kind):
                kind, source_type, source_name = edge.kind, edge.source_type, edge.source
                source = numbers[source_type][source_name]
                pair = None
            target_type, target_name = edge.destination_type, edge.destination
            shortcut = False
            # (the first two tests are `goes_via_default_exchange`'s: most edges fail them,
            # without a call)
            if (target_type == "exchange" and target_name == DEFAULT_EXCHANGE and shortcuts
                    and goes_via_default_exchange(edge, queue_names)):
                shortcut = True
                target_type, target_name = "queue", edge.routing_key or ""
            if target_type == "queue":
                target = queue_numbers[target_name]
                if pair is None:
                    pair = sources.setdefault((kind, source), len(sources))
                incoming[target].add(pair)
            else:
                target = numbers[target_type][target_name]
            ends.append((source, target, kind, shortcut))
        nodes = self.nodes
        self.incoming = {nodes[number][1]: frozenset(pairs) for number, pairs in incoming.items()}
        #: the queues a group may take: declared ones (a missing one stays in sight), sorted
        self.groupable = sorted(name for name, queue in view.queues.items()
                                if queue.origin != "missing")
        #: queue name -> its pieces (`_families`)
        self.pieces: dict[str, list[str]] = {}
        #: exchange name -> the type it routes as
        self.routing_types = routing_types(view)

    def drawn_routes(self, grouping: Grouping) -> dict[DrawnRoute, list[Edge]]:
        """The edges by the nodes they are drawn between with *grouping*: parallel ones of
        one kind are one, in the order of the first of each."""
        # each node number -> the number of the node it is drawn as: its own, or its
        # group's (numbered after the nodes)
        drawn = list(range(len(self.nodes)))
        groups = grouping.groups
        for number, group in enumerate(groups, len(self.nodes)):
            node_numbers = self.numbers[group.node_type]
            for name in group.members:
                drawn[node_numbers[name]] = number
        numbered: defaultdict[tuple[int, int, str, bool], list[Edge]] = defaultdict(list)
        for edge, (source, target, kind, shortcut) in zip(self.view.edges, self.ends,
                                                           strict=True):
            numbered[drawn[source], drawn[target], kind, shortcut].append(edge)

        def node(number: int) -> DrawnNode:
            return (self.nodes[number] if number < len(self.nodes)
                    else id(groups[number - len(self.nodes)]))

        return {(node(source), node(target), kind, shortcut): edges
                for (source, target, kind, shortcut), edges in numbered.items()}


def _group_queues(indexes: list[_ViewIndex], groupings: list[Grouping], nodes: int,
                  budget: int) -> int:
    """Add queue groups, the largest first, until the diagram is within *budget* or no
    more queues are alike; the nodes left.

    A pass after the first takes only the queues fed by a group the pass before made: of
    the others, the one before took every family there is (else it met the budget)."""
    added: list[list[Group]] = []  # by the pass before, in each view
    for _ in range(MAX_PASSES):
        candidates = [(group, number)
                      for number, (index, grouping) in enumerate(zip(indexes, groupings,
                                                                     strict=True))
                      for group in _candidates(index, grouping,
                                               added[number] if added else None)]
        # the largest first, so that as few queues as will do are hidden
        candidates.sort(key=lambda found: (-len(found[0].members), found[0].pattern))
        added = [[] for _ in indexes]
        for group, number in candidates:
            if nodes <= budget:
                break
            groupings[number].add(group)
            added[number].append(group)
            nodes -= len(group.members) - 1
        if nodes <= budget or not candidates:
            break
    return nodes


def _exchange_families(index: _ViewIndex) -> list[Group]:
    """Declared exchanges of one routing type whose names are alike (`_families`)."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for name, exchange in sorted(index.view.exchanges.items()):
        if exchange.origin == "declared":
            by_type[index.routing_types.get(name) or exchange.type].append(name)
    return [Group(pattern, members, "exchange") for names in by_type.values()
            for pattern, members in _families(names, {})]


def _glob_groups(index: _ViewIndex, globs: tuple[str, ...]) -> list[Group]:
    """A group per glob, of the queues it matches first."""
    patterns = [re.compile(fnmatch.translate(glob)) for glob in globs]
    members: dict[str, list[str]] = defaultdict(list)
    for name in index.groupable:
        for glob, pattern in zip(globs, patterns, strict=True):
            if pattern.match(name):
                members[glob].append(name)
                break
    return [Group(glob, members[glob]) for glob in globs if len(members[glob]) >= MIN_GROUP]


def _candidates(index: _ViewIndex, grouping: Grouping,
                added: list[Group] | None) -> list[Group]:
    """Groups of the ungrouped queues that receive from the same drawn nodes: of every
    one (*added* None), or of those fed by a group of *added*."""
    group_of = grouping.group_of
    nodes = index.nodes
    # each source as drawn: itself, or from its node's group (numbered after the others)
    drawn_source = list(range(len(index.sources)))
    group_sources: dict[tuple[str, int], int] = {}
    #: each grouped source -> the id of its node's group
    source_groups: dict[int, int] = {}
    if group_of:
        for (kind, node), pair in index.sources.items():
            group = group_of.get(nodes[node])
            if group is not None:
                drawn_source[pair] = group_sources.setdefault(
                    (kind, id(group)), len(index.sources) + len(group_sources))
                source_groups[pair] = id(group)
    nothing: frozenset[int] = frozenset()
    incoming = index.incoming
    fed: set[int] | None = None
    if added is not None:
        new = {id(group) for group in added}
        fed = {pair for pair, group_id in source_groups.items() if group_id in new}
        if not fed:
            return []
    names = (index.groupable if not any(group.node_type == "queue" for group in grouping.groups)
             else [name for name in index.groupable if ("queue", name) not in group_of])
    if fed is not None:
        names = [name for name in names if not fed.isdisjoint(incoming.get(name, nothing))]
    if len(names) < MIN_GROUP:
        return []
    alike: dict[frozenset[int], list[str]] = defaultdict(list)
    if group_sources:  # (else each source is drawn as itself)
        as_drawn = drawn_source.__getitem__
        for name in names:
            alike[frozenset(map(as_drawn, incoming.get(name, nothing)))].append(name)
    else:
        for name in names:
            alike[incoming.get(name, nothing)].append(name)
    return [Group(pattern, members) for bucket in alike.values() if len(bucket) >= MIN_GROUP
            for pattern, members in _families(bucket, index.pieces)]


def _families(names: list[str], pieces: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Names that differ only by digits, then names that share a prefix (the longest
    first), each family of at least MIN_GROUP. *pieces*: name -> its pieces
    (`_DIGIT_RUNS`), kept across calls (passes meet the same names)."""
    by_shape: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name in names:
        split = pieces.get(name)
        if split is None:
            split = pieces[name] = _DIGIT_RUNS.split(name)
        by_shape[tuple(split[::2])].append(name)
    families: list[tuple[str, list[str]]] = []
    rest: list[str] = []
    for members in by_shape.values():
        if len(members) >= MIN_GROUP:
            families.append((_pattern([pieces[name] for name in members]), members))
        else:
            rest += members
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for name in rest:
        for cut in list(_SEPARATORS.finditer(name))[:MAX_PREFIXES]:
            by_prefix[name[:cut.end()]].append(name)
    taken: set[str] = set()
    for prefix in sorted(by_prefix, key=lambda prefix: (-len(prefix), prefix)):
        members = [name for name in by_prefix[prefix] if name not in taken]
        if len(members) >= MIN_GROUP:
            families.append((prefix + "*", members))
            taken.update(members)
    return families


def _pattern(pieces: list[list[str]]) -> str:
    """Names of one shape (the same but for digit runs), split at their digit runs, as
    one: the runs that differ ``*``."""
    first = pieces[0]
    return "".join(piece if index % 2 == 0 or all(other[index] == piece for other in pieces)
                   else "*" for index, piece in enumerate(first))


def summary(texts: Iterable[str]) -> tuple[list[str], int]:
    """Distinct *texts* as few words: up to MAX_LISTED_KEYS of them, else what they share
    (``svc007.*``, by digits or a common prefix) or nothing; and how many there are."""
    distinct = sorted(set(texts))
    if len(distinct) <= MAX_LISTED_KEYS:
        return distinct, len(distinct)
    pieces = _one_shape(distinct)
    if pieces is not None:
        return [_pattern(pieces)], len(distinct)
    prefix = _common_prefix(distinct)
    return ([prefix + "*"] if prefix else []), len(distinct)


def _one_shape(texts: list[str]) -> list[list[str]] | None:
    """*texts* split at their digit runs when they are of one shape, else None (told by
    the first of another: thousands of keys seldom are)."""
    shape = _DIGIT_RUNS.split(texts[0])[::2]
    pieces = []
    for text in texts:
        split = _DIGIT_RUNS.split(text)
        if split[::2] != shape:
            return None
        pieces.append(split)
    return pieces


def _common_prefix(texts: list[str]) -> str:
    first, last = texts[0], texts[-1]  # sorted: they differ the most
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def _describe(index: _ViewIndex, grouping: Grouping) -> None:
    """Each group's name, types and the keys of the bindings to its members."""
    view = index.view
    for group in grouping.groups:
        group.members.sort()
    alike = Counter((group.node_type, group.pattern) for group in grouping.groups)
    numbered: Counter[tuple[str, str]] = Counter()
    for group in sorted(grouping.groups, key=lambda group: group.members[0]):
        key = (group.node_type, group.pattern)
        numbered[key] += 1
        group.name = (f"{group.pattern} ({numbered[key]} of {alike[key]})" if alike[key] > 1
                      else group.pattern)
    keys = _binding_keys(index, grouping)
    for group in grouping.groups:
        types = (Counter(view.queues[name].type for name in group.members)
                 if group.node_type == "queue"
                 else Counter(index.routing_types.get(name) or view.exchanges[name].type
                              for name in group.members))
        group.types = dict(sorted(types.items()))
        group.keys = sorted(keys.get(id(group), ())) if group.node_type == "queue" else []


def _binding_keys(index: _ViewIndex, grouping: Grouping) -> dict[int, set[str]]:
    """The id of each group -> the distinct keys of the bindings to its members: those the
    exchanges route by (not a fanout's, nor a headers binding's)."""
    keys: dict[int, set[str]] = defaultdict(set)
    for (_source, target, kind, shortcut), edges in grouping.routes.items():
        if kind != "binding" or shortcut or not isinstance(target, int):
            continue
        # one source exchange, or a group of exchanges of one routing type
        exchange_type = index.routing_types.get(edges[0].source)
        keys[target] |= routed_keys(edges, exchange_type)
    return keys
