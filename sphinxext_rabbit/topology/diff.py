"""What differs between two topologies, compared as they are drawn.

Both sides are the `VhostTopology` views that ``select.views`` gives for the same
`Selection`, so a page is compared with another source exactly as far as it shows it.
Views are paired by vhost; a vhost on one side only is one difference. Within a vhost:

* exchanges and queues: present on one side only, or what their nodes and tooltips
  show: status (declared, declared by a shovel, missing), type, durable, auto-delete,
  internal (exchanges), exclusive (queues), each argument, and the policy and operator
  policy in effect. Arguments the diagram shows as edges or as the type
  (``x-queue-type``, ``x-dead-letter-*``, ``alternate-exchange``) are compared through
  those instead, so one change is one difference;
* edges (bindings, dead-letter, alternate, shovel, federation): an edge is identified by
  its kind, both ends with their node types, its routing key and its arguments; when
  both sides have it but set it up differently (a dead-letter exchange now set by a
  policy instead of a queue argument, a shovel renamed) that is an ``origin``
  difference;
* policies and operator policies listed for the vhost: present on one side only, or a
  different pattern, apply-to, priority or definition key.

Not differences on their own:

* stubs (entities outside the selection that a kept edge reaches): a subsystem diagram
  draws them only to show where an edge goes, so the edge is what is compared; that the
  entity behind a stub changed is the business of the diagram that selects it;
* built-in exchanges (``amq.*``, the default exchange), even where a file declares
  them: every broker has them, an import skips them, and they are drawn only beside an
  edge, which is compared;
* an entity that is missing (referenced, never declared) or declared by a shovel on one
  side and absent on the other: the edge that made it appear is the difference;
* runtime parameters other than what their edges show (a shovel's ack mode, an
  upstream's ``max-hops``), and runtime figures (message and consumer counts).

Names and values are written with Python's ``repr`` quoting, so names with quotes,
newlines, markup or non-ASCII letters stay readable and unambiguous, and a sentence is
always one line. Everything printed comes from the model, whose parameter values and
policy definitions the loader has already stripped of credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..output.wording import DEFAULT_EXCHANGE_LABEL, compact_json, origin_words
from .model import (
    DEFAULT_EXCHANGE,
    Edge,
    Exchange,
    Origin,
    Policy,
    Queue,
    VhostTopology,
    is_builtin_exchange,
)
from .records import record

#: Arguments whose effect the comparison sees as an edge or as the queue type.
_DRAWN_ARGUMENTS = {
    "queue": frozenset({"x-queue-type", "x-dead-letter-exchange", "x-dead-letter-routing-key"}),
    "exchange": frozenset({"alternate-exchange"}),
}
_STATUS = {
    "declared": "declared",
    "shovel": "declared by a shovel",
    "missing": "missing (referenced, not declared)",
}
#: the left or right of a subject on one side only, on the side that has it
PRESENT = "present"
#: how a value that one side does not set is written
_NOT_SET = "not set"


@record(frozen=True)
class Difference:
    """One thing that differs between a left and a right topology.

    ``subject`` is what differs, e.g. ``queue 'orders'`` or
    ``binding exchange 'a' -> queue 'b' (key 'k')``, or "" for the vhost itself.
    ``aspect`` is None when the subject exists on one side only; then ``left`` or
    ``right`` (the side that has it) is `PRESENT` and the other None. Otherwise
    ``aspect`` names what differs (``type``, ``argument 'x-message-ttl'``, ``origin``,
    ...) and ``left`` / ``right`` hold its value on each side as text, None when that side
    does not set it.
    """

    vhost: str
    subject: str
    aspect: str | None
    left: str | None
    right: str | None

    def sentence(self, left: str, right: str) -> str:
        """One line naming both sources, e.g. ``queue 'q' in vhost '/' is only in a.json``."""
        where = f"vhost {self.vhost!r}"
        if self.subject:
            where = f"{self.subject} in {where}"
        if self.aspect is None:
            return f"{where} is only in {left if self.left is not None else right}"
        left_value = _NOT_SET if self.left is None else self.left
        right_value = _NOT_SET if self.right is None else self.right
        return f"{where}: {self.aspect} is {left_value} in {left} but {right_value} in {right}"

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.vhost, self.subject, self.aspect or "", self.left or "", self.right or "")


def differences(left: list[VhostTopology], right: list[VhostTopology]) -> list[Difference]:
    """Every difference between two lists of views, sorted by vhost, subject and aspect."""
    left_by_vhost = {view.vhost: view for view in left}
    right_by_vhost = {view.vhost: view for view in right}
    found: list[Difference] = []
    for vhost in left_by_vhost.keys() | right_by_vhost.keys():
        left_view, right_view = left_by_vhost.get(vhost), right_by_vhost.get(vhost)
        if left_view is None or right_view is None:
            found.append(_only_in(vhost, "", left_view is not None))
        else:
            found.extend(_vhost_differences(left_view, right_view))
    return sorted(found, key=Difference.sort_key)


def _only_in(vhost: str, subject: str, on_left: bool) -> Difference:
    return Difference(vhost, subject, None, PRESENT if on_left else None,
                      None if on_left else PRESENT)


def _vhost_differences(left: VhostTopology, right: VhostTopology) -> Iterator[Difference]:
    yield from _entity_differences(left, right, "exchange")
    yield from _entity_differences(left, right, "queue")
    yield from _edge_differences(left, right)
    yield from _policy_differences(left, right)


# -- exchanges and queues ----------------------------------------------------------------

def _entity_differences(left: VhostTopology, right: VhostTopology,
                        kind: str) -> Iterator[Difference]:
    """Differences of the exchanges (*kind* "exchange") or the queues of two views."""
    vhost = left.vhost
    left_entities: dict[str, Exchange | Queue] = getattr(left, f"{kind}s")
    right_entities: dict[str, Exchange | Queue] = getattr(right, f"{kind}s")
    for name in left_entities.keys() | right_entities.keys():
        if kind == "exchange" and is_builtin_exchange(name):
            continue  # declared or not, the broker has it (and an import skips it)
        left_entity, right_entity = left_entities.get(name), right_entities.get(name)
        subject = _node_text(kind, name)
        if left_entity is None or right_entity is None:
            present = right_entity if left_entity is None else left_entity
            if present is not None and present.origin == "declared":
                yield _only_in(vhost, subject, left_entity is not None)
            continue
        if left_entity.origin != right_entity.origin:
            yield Difference(vhost, subject, "status", _STATUS[left_entity.origin],
                             _STATUS[right_entity.origin])
            continue
        for aspect, left_value, right_value in _entity_aspects(left_entity, right_entity):
            if left_value != right_value:
                yield Difference(vhost, subject, aspect, left_value, right_value)
        yield from _mapping_differences(vhost, subject, "argument", left_entity.arguments,
                                        right_entity.arguments, _DRAWN_ARGUMENTS[kind])
        key = (kind, name)
        for aspect, found_left, found_right in (
            ("policy", left.effective_policies, right.effective_policies),
            ("operator policy", left.effective_operator_policies,
             right.effective_operator_policies),
        ):
            left_name, right_name = _policy_name(found_left, key), _policy_name(found_right, key)
            if left_name != right_name:
                yield Difference(vhost, subject, aspect, left_name, right_name)


def _entity_aspects(left: Exchange | Queue,
                    right: Exchange | Queue) -> Iterator[tuple[str, str, str]]:
    yield "type", repr(left.type), repr(right.type)
    flags = ["durable", "auto_delete", "internal" if isinstance(left, Exchange) else "exclusive"]
    for flag in flags:
        yield (flag.replace("_", "-"), _value_text(getattr(left, flag)),
               _value_text(getattr(right, flag)))


def _policy_name(found: dict[tuple[str, str], Policy], key: tuple[str, str]) -> str | None:
    policy = found.get(key)
    return None if policy is None else repr(policy.name)


def _mapping_differences(vhost: str, subject: str, what: str, left: dict[str, Any],
                         right: dict[str, Any],
                         skipped: frozenset[str] = frozenset()) -> Iterator[Difference]:
    """One difference per key set differently in two argument or definition maps."""
    for key in sorted(left.keys() | right.keys()):
        if key in skipped:
            continue
        left_value = _value_text(left[key]) if key in left else None
        right_value = _value_text(right[key]) if key in right else None
        if left_value != right_value:
            yield Difference(vhost, subject, f"{what} {key!r}", left_value, right_value)


def _value_text(value: Any) -> str:
    """Strings quoted like names; numbers, booleans, lists and maps as JSON."""
    return repr(value) if isinstance(value, str) else compact_json(value)


def _node_text(node_type: str, name: str) -> str:
    if node_type == "exchange" and name == DEFAULT_EXCHANGE:
        return DEFAULT_EXCHANGE_LABEL
    return f"{node_type} {name!r}"


# -- edges -------------------------------------------------------------------------------

def _edge_differences(left: VhostTopology, right: VhostTopology) -> Iterator[Difference]:
    left_origins, right_origins = _edges_by_identity(left), _edges_by_identity(right)
    for subject in left_origins.keys() | right_origins.keys():
        origins_left, origins_right = left_origins.get(subject), right_origins.get(subject)
        if origins_left is None or origins_right is None:
            yield _only_in(left.vhost, subject, origins_left is not None)
        elif origins_left != origins_right:
            yield Difference(left.vhost, subject, "origin", _origins_text(origins_left),
                             _origins_text(origins_right))


def _edges_by_identity(view: VhostTopology) -> dict[str, set[Origin]]:
    """Each edge's description (its identity, all of it shown) -> the origins setting it up.

    A set, as the broker keeps one binding where a file declares the same one twice.
    """
    found: dict[str, set[Origin]] = {}
    for edge in view.edges:
        found.setdefault(_edge_text(edge), set()).add(edge.origin)
    return found


def _edge_text(edge: Edge) -> str:
    details = [] if edge.routing_key is None else [f"key {edge.routing_key!r}"]
    if edge.arguments:
        details.append(f"arguments {compact_json(edge.arguments)}")
    text = (f"{edge.kind} {_node_text(edge.source_type, edge.source)} -> "
            f"{_node_text(edge.destination_type, edge.destination)}")
    return f"{text} ({', '.join(details)})" if details else text


def _origins_text(origins: set[Origin]) -> str:
    return ", ".join(sorted(_origin_text(origin) for origin in origins))


def _origin_text(origin: Origin) -> str:
    """``policy 'p'``: graph's wording for the kind, the name quoted like every name."""
    kind, name = origin
    return f"{origin_words(kind)} {name!r}" if name else origin_words(kind)


# -- policies ----------------------------------------------------------------------------

def _policy_differences(left: VhostTopology, right: VhostTopology) -> Iterator[Difference]:
    vhost = left.vhost
    left_policies, right_policies = _policies_by_subject(left), _policies_by_subject(right)
    for subject in left_policies.keys() | right_policies.keys():
        left_policy, right_policy = left_policies.get(subject), right_policies.get(subject)
        if left_policy is None or right_policy is None:
            yield _only_in(vhost, subject, left_policy is not None)
            continue
        for aspect, left_value, right_value in (
            ("pattern", repr(left_policy.pattern), repr(right_policy.pattern)),
            ("apply-to", repr(left_policy.apply_to), repr(right_policy.apply_to)),
            ("priority", str(left_policy.priority), str(right_policy.priority)),
        ):
            if left_value != right_value:
                yield Difference(vhost, subject, aspect, left_value, right_value)
        yield from _mapping_differences(vhost, subject, "definition key",
                                        left_policy.definition, right_policy.definition)


def _policies_by_subject(view: VhostTopology) -> dict[str, Policy]:
    return {f"{'operator policy' if p.operator else 'policy'} {p.name!r}": p
            for p in view.policies}
