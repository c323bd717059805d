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
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from ..topology.model import Edge, VhostTopology
from .wording import (
    KEY_IGNORED_TYPES,
    drawn_queue_names,
    goes_via_default_exchange,
    is_headers_binding,
    source_exchange_type,
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
CollapseMode = Literal["auto", "none", "globs"]


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class Grouping:
    """The groups of one view; ``group_of``: (node type, name) -> its group."""

    groups: list[Group] = field(default_factory=list)
    group_of: dict[NodeKey, Group] = field(default_factory=dict)

    def add(self, group: Group) -> None:
        self.groups.append(group)
        for name in group.members:
            self.group_of[group.node_type, name] = group


@dataclass(slots=True)
class Grouped:
    """What grouping did to a diagram: a grouping per view, and its node counts."""

    groupings: list[Grouping]
    nodes_before: int
    nodes_after: int
    budget: int
    collapse: Collapse
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


def node_count(view: VhostTopology) -> int:
    """The nodes a drawing of *view* has without grouping (the default exchange aside)."""
    return len(view.exchanges) + len(view.queues) + len(view.externals) + len(view.stubs)


def group_views(views: list[VhostTopology], collapse: Collapse, budget: int,
                *, show_default_exchange: bool = False) -> Grouped | None:
    """The groups of a diagram of *views*; None when it draws every queue as it is
    (``none``, or ``auto`` within the budget: of nodes, and of edges, EDGES_PER_NODE
    times as many)."""
    before = sum(node_count(view) for view in views)
    edges = sum(len(view.edges) for view in views)
    within = before <= budget and edges <= EDGES_PER_NODE * budget
    if collapse.mode == "none" or (collapse.mode == "auto" and within):
        return None
    groupings = [Grouping() for _ in views]
    after = before
    if collapse.mode == "globs":
        for view, grouping in zip(views, groupings, strict=True):
            for group in _glob_groups(view, collapse.globs):
                grouping.add(group)
                after -= len(group.members) - 1
    else:
        after = _group_queues(views, groupings, before, budget, show_default_exchange)
        if after > budget:
            # The last resort: exchanges alike too (same type, names differing by digits
            # or sharing a prefix), then the queues again, which they make more alike.
            coarse = [Grouping() for _ in views]
            coarse_after = before
            for view, grouping in zip(views, coarse, strict=True):
                for group in _exchange_families(view):
                    grouping.add(group)
                    coarse_after -= len(group.members) - 1
            coarse_after = _group_queues(views, coarse, coarse_after, budget,
                                         show_default_exchange)
            if coarse_after < after:
                groupings, after = coarse, coarse_after
    for view, grouping in zip(views, groupings, strict=True):
        _describe(view, grouping)
    grouped = Grouped(groupings, before, after, budget, collapse, edges)
    grouped.edges_after = drawn_edge_count(views, grouped, show_default_exchange)
    return grouped


def _group_queues(views: list[VhostTopology], groupings: list[Grouping], nodes: int,
                  budget: int, show_default_exchange: bool) -> int:
    """Add queue groups, the largest first, until the diagram is within *budget* or no
    more queues are alike; the nodes left."""
    for _ in range(MAX_PASSES):
        candidates = [(group, grouping)
                      for view, grouping in zip(views, groupings, strict=True)
                      for group in _candidates(view, grouping, show_default_exchange)]
        # the largest first, so that as few queues as will do are hidden
        candidates.sort(key=lambda found: (-len(found[0].members), found[0].pattern))
        for group, grouping in candidates:
            if nodes <= budget:
                break
            grouping.add(group)
            nodes -= len(group.members) - 1
        if nodes <= budget or not candidates:
            break
    return nodes


def _exchange_families(view: VhostTopology) -> list[Group]:
    """Declared exchanges of one routing type whose names are alike (`_families`)."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for name, exchange in sorted(view.exchanges.items()):
        if exchange.origin == "declared":
            by_type[source_exchange_type(view, name) or exchange.type].append(name)
    return [Group(pattern, members, "exchange") for names in by_type.values()
            for pattern, members in _families(names)]


def _groupable(view: VhostTopology, grouping: Grouping) -> list[str]:
    """The queues a group may take: declared ones (a missing one stays in sight), sorted."""
    return sorted(name for name, queue in view.queues.items()
                  if queue.origin != "missing" and ("queue", name) not in grouping.group_of)


def _glob_groups(view: VhostTopology, globs: tuple[str, ...]) -> list[Group]:
    """A group per glob, of the queues it matches first."""
    patterns = [re.compile(fnmatch.translate(glob)) for glob in globs]
    members: dict[str, list[str]] = defaultdict(list)
    for name in _groupable(view, Grouping()):
        for glob, pattern in zip(globs, patterns, strict=True):
            if pattern.match(name):
                members[glob].append(name)
                break
    return [Group(glob, members[glob]) for glob in globs if len(members[glob]) >= MIN_GROUP]


def _drawn_edges(view: VhostTopology, grouping: Grouping, show_default_exchange: bool,
                 ) -> Iterator[tuple[Edge, DrawnNode, DrawnNode, bool]]:
    """Each edge, the nodes it is drawn between (a group: its id) and whether it is drawn
    straight to the queue its key names, unless the default exchange is drawn."""
    queue_names = drawn_queue_names(view)
    group_of = grouping.group_of
    for edge in view.edges:
        shortcut = (not show_default_exchange and edge.routing_key is not None
                    and goes_via_default_exchange(edge, queue_names))
        source: NodeKey = (edge.source_type, edge.source)
        target: NodeKey = (("queue", edge.routing_key or "") if shortcut
                           else (edge.destination_type, edge.destination))
        source_group, target_group = group_of.get(source), group_of.get(target)
        yield (edge, id(source_group) if source_group else source,
               id(target_group) if target_group else target, shortcut)


def drawn_edge_count(views: list[VhostTopology], grouped: Grouped,
                     show_default_exchange: bool) -> int:
    """The edges a grouped diagram draws: parallel ones of one kind as one."""
    return sum(len({(source, target, edge.kind, shortcut)
                    for edge, source, target, shortcut
                    in _drawn_edges(view, grouping, show_default_exchange)})
               for view, grouping in zip(views, grouped.groupings, strict=True))


def _candidates(view: VhostTopology, grouping: Grouping,
                show_default_exchange: bool) -> list[Group]:
    """Groups of the ungrouped queues that receive from the same drawn nodes."""
    names = _groupable(view, grouping)
    if len(names) < MIN_GROUP:
        return []
    receives: dict[str, set[tuple[str, DrawnNode]]] = defaultdict(set)
    for edge, source, target, _shortcut in _drawn_edges(view, grouping, show_default_exchange):
        if isinstance(target, tuple) and target[0] == "queue":  # (not a group)
            receives[target[1]].add((edge.kind, source))
    alike: dict[frozenset[tuple[str, DrawnNode]], list[str]] = defaultdict(list)
    for name in names:
        alike[frozenset(receives.get(name, ()))].append(name)
    return [Group(pattern, members) for bucket in alike.values() if len(bucket) >= MIN_GROUP
            for pattern, members in _families(bucket)]


def _families(names: list[str]) -> list[tuple[str, list[str]]]:
    """Names that differ only by digits, then names that share a prefix (the longest
    first), each family of at least MIN_GROUP."""
    by_shape: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name in names:
        by_shape[tuple(_DIGIT_RUNS.split(name)[::2])].append(name)
    families: list[tuple[str, list[str]]] = []
    rest: list[str] = []
    for members in by_shape.values():
        if len(members) >= MIN_GROUP:
            families.append((digits_pattern(members), members))
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


def digits_pattern(names: list[str]) -> str:
    """Names of one shape (the same but for digit runs) as one: the runs that differ ``*``."""
    pieces = [_DIGIT_RUNS.split(name) for name in names]
    first = pieces[0]
    return "".join(piece if index % 2 == 0 or all(other[index] == piece for other in pieces)
                   else "*" for index, piece in enumerate(first))


def summary(texts: Iterable[str]) -> tuple[list[str], int]:
    """Distinct *texts* as few words: up to MAX_LISTED_KEYS of them, else what they share
    (``svc007.*``, by digits or a common prefix) or nothing; and how many there are."""
    distinct = sorted(set(texts))
    if len(distinct) <= MAX_LISTED_KEYS:
        return distinct, len(distinct)
    if len({tuple(_DIGIT_RUNS.split(text)[::2]) for text in distinct}) == 1:
        return [digits_pattern(distinct)], len(distinct)
    prefix = _common_prefix(distinct)
    return ([prefix + "*"] if prefix else []), len(distinct)


def _common_prefix(texts: list[str]) -> str:
    first, last = texts[0], texts[-1]  # sorted: they differ the most
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def _describe(view: VhostTopology, grouping: Grouping) -> None:
    """Each group's name, types and the keys of the bindings to its members."""
    keys: dict[int, set[str]] = defaultdict(set)
    for edge in view.edges:
        group = grouping.group_of.get((edge.destination_type, edge.destination))
        if group is None or group.node_type != "queue" or edge.kind != "binding":
            continue
        exchange_type = source_exchange_type(view, edge.source)
        # (the keys the exchanges route by: not a fanout's, nor a headers binding's)
        if (edge.routing_key is not None and exchange_type not in KEY_IGNORED_TYPES
                and not is_headers_binding(edge, exchange_type)):
            keys[id(group)].add(edge.routing_key)
    for group in grouping.groups:
        group.members.sort()
    alike = Counter((group.node_type, group.pattern) for group in grouping.groups)
    numbered: Counter[tuple[str, str]] = Counter()
    for group in sorted(grouping.groups, key=lambda group: group.members[0]):
        key = (group.node_type, group.pattern)
        numbered[key] += 1
        group.name = (f"{group.pattern} ({numbered[key]} of {alike[key]})" if alike[key] > 1
                      else group.pattern)
    for group in grouping.groups:
        group.types = dict(sorted(Counter(
            view.queues[name].type if group.node_type == "queue"
            else source_exchange_type(view, name) or view.exchanges[name].type
            for name in group.members).items()))
        group.keys = sorted(keys[id(group)])
