"""Narrow a resolved topology to what one diagram shows: vhosts, name patterns, stubs."""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .lint import lint
from .model import (
    BUILTIN_EXCHANGES,
    DEFAULT_EXCHANGE,
    ERROR,
    WARNING,
    Exchange,
    Problem,
    Topology,
    VhostTopology,
)
from .patterns import InvalidPattern, Matcher, Regex, compile_pattern, gave_up_on, subject
from .resolve import resolve

#: a shell glob (Python's re on the name) or an ``re:`` pattern (PCRE, as for policies)
NamePattern = re.Pattern[str] | Regex


class PatternError(ValueError):
    """A selection pattern that cannot be used; the message says which and why."""


@dataclass(slots=True, frozen=True)
class Selection:
    """What the directive's options and the CLI's flags ask for (``vhosts`` None: every one)."""

    vhosts: list[str] | None = None
    include: list[NamePattern] = field(default_factory=list)
    exclude: list[NamePattern] = field(default_factory=list)
    default_exchange: bool = False
    #: leave out exclusive and auto-delete queues (a live broker's client sessions)
    hide_temporary: bool = False

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
                patterns.append(re.compile(fnmatch.translate(item)))
    return patterns


def _matches(pattern: NamePattern, name: str, matcher: Matcher) -> bool:
    if isinstance(pattern, Regex):
        return matcher.search(pattern, subject(name), repr(name))
    return pattern.match(name) is not None  # (translate ends the regex with \Z)


def _split(text: str) -> list[str]:
    parts = re.split(r"(?<!\\),", text)
    return [p.replace("\\,", ",").strip() for p in parts if p.strip()]


def select(view: VhostTopology, selection: Selection, matcher: Matcher) -> VhostTopology:
    """Keep the wanted entities, the edges that touch them, and a stub for each other end.

    Stubs mark edges that leave the selection and edges that enter it, so a subsystem
    diagram shows where its messages go and where they come from.
    """
    kept = VhostTopology(view.vhost, policies=view.policies)
    # (a hidden queue's routes go with it even when the queue is not wanted)
    hidden = {name for name, q in view.queues.items() if q.exclusive or q.auto_delete
              } if selection.hide_temporary else set()
    queues = _wanted(view.queues, selection, matcher)
    kept.queues = {name: q for name, q in queues.items() if name not in hidden
                   } if hidden else queues
    wanted_exchanges = _wanted(view.exchanges, selection, matcher)
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
        for edge in view.edges:
            for name, other_type, other in (
                (edge.source, edge.destination_type, edge.destination),
                (edge.destination, edge.source_type, edge.source),
            ):
                if name in builtins and _kept(kept, other_type, other):
                    exchanges[name] = view.exchanges[name]
    if selection.default_exchange:
        exchanges[DEFAULT_EXCHANGE] = view.exchanges.get(DEFAULT_EXCHANGE) or Exchange(
            view.vhost, DEFAULT_EXCHANGE, BUILTIN_EXCHANGES[DEFAULT_EXCHANGE], origin="builtin"
        )

    kept_names = {"queue": kept.queues, "exchange": exchanges}  # by node type
    for edge in view.edges:
        if hidden and (
            (edge.source_type == "queue" and edge.source in hidden)
            or (edge.destination_type == "queue" and edge.destination in hidden)
        ):
            continue  # a hidden queue's routes go with it, not even as a stub
        source_kept = edge.source in kept_names.get(edge.source_type, ())
        destination_kept = edge.destination in kept_names.get(edge.destination_type, ())
        if edge.destination == DEFAULT_EXCHANGE and edge.destination_type == "exchange":
            # dead-lettering through the default exchange: the renderer draws it
            destination_kept = destination_kept or source_kept
        if not (
            source_kept
            or destination_kept
            or (edge.source_type == edge.destination_type == "external" and not selection.narrowed)
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
                elif not is_kept:
                    kept.stubs.add((kind, name))

    for key, policy in view.effective_policies.items():
        if _kept(kept, *key):
            kept.effective_policies[key] = policy
    for key, policy in view.effective_operator_policies.items():
        if _kept(kept, *key):
            kept.effective_operator_policies[key] = policy
    if selection.narrowed:
        in_use = {p.name for p in kept.effective_policies.values()}
        in_use.update(p.name for p in kept.effective_operator_policies.values())
        kept.policies = [p for p in view.policies if p.name in in_use]
    return kept


def _wanted(entities: dict[str, Any], selection: Selection,
            matcher: Matcher) -> dict[str, Any]:
    """The entities whose names the selection wants (a copy)."""
    if not selection.narrowed:
        return dict(entities)
    return {name: entity for name, entity in entities.items() if selection.wants(name, matcher)}


def _kept(view: VhostTopology, kind: str, name: str) -> bool:
    if kind == "queue":
        return name in view.queues
    if kind == "exchange":
        return name in view.exchanges
    return False


def views(topology: Topology, selection: Selection) -> tuple[list[VhostTopology], list[Problem]]:
    """The one pipeline the directive and the CLI share: resolve and select each vhost."""
    problems = list(topology.problems)
    available = topology.vhost_names()
    # a source that could not be read, or held nothing to read, has said so already
    unreadable = not available and any(p.code in ("parse", "io", "fetch", "source")
                                       for p in problems)
    if selection.vhosts is None:
        wanted = available
    else:
        wanted = []
        for vhost in selection.vhosts:
            if vhost in available:
                wanted.append(vhost)
            elif not unreadable:  # (a source that could not be read has said so already)
                known = ", ".join(repr(v) for v in available) or "none"
                problems.append(
                    Problem(
                        ERROR, "vhost", f"vhost {vhost!r} is not in this source (it has: {known})"
                    )
                )
    result = []
    matcher = Matcher()
    for vhost in wanted:
        resolved, found = resolve(topology, vhost)
        problems.extend(found)
        problems.extend(lint(resolved))
        result.append(select(resolved, selection, matcher))
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
