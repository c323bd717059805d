"""Lints on a resolved vhost: what the broker refuses or silently undoes."""

from __future__ import annotations

from .model import (
    WARNING,
    X_MATCH_MODES,
    Problem,
    ProblemCode,
    Severity,
    VhostTopology,
    routing_type,
)

#: how a queue gets a message TTL: its argument, or a policy's or operator policy's key
_TTL_ARGUMENT = "x-message-ttl"
_TTL_POLICY_KEY = "message-ttl"

#: a queue a message is in, and the routing keys it then carries (None: any keys)
_State = tuple[str, tuple[str, ...] | None]


def lint(view: VhostTopology) -> list[Problem]:
    """The problems of one resolved vhost that no single entry shows."""
    problems = []

    def problem(severity: Severity, code: ProblemCode, message: str) -> None:
        problems.append(Problem(severity, code, message, where=f"vhost {view.vhost!r}"))

    for edge in view.edges:
        if edge.kind != "binding":
            continue
        if edge.source in ("", "amq.default"):
            problem(WARNING, "default-exchange-binding",
                    f"a binding from the default exchange to {edge.destination_type} "
                    f"{edge.destination!r}: the broker refuses to bind the default "
                    "exchange (it routes to every queue by name already)")
        if not edge.arguments:
            continue  # (x-match is "all")
        mode = edge.arguments.get("x-match", "all")
        if mode not in X_MATCH_MODES and (exchange := view.exchanges.get(edge.source)
                                          ) is not None and routing_type(exchange) == "headers":
            problem(WARNING, "x-match", f"the headers binding from {edge.source!r} to "
                    f"{edge.destination_type} {edge.destination!r} has x-match "
                    f"{_shown(mode)}, which the broker refuses (it takes all, any, "
                    "all-with-x or any-with-x)")
    for cycle in dead_letter_cycles(view):
        steps = " → ".join(repr(name) for name in cycle)
        problem(WARNING, "dead-letter-cycle",
                f"dead-letter cycle {steps}: every queue on it expires messages, and the "
                "broker drops a message that comes back to a queue it expired in (unless a "
                "consumer rejected it on the way), so what expires here is lost")
    return problems


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} (not a string)"


def expiring_queues(view: VhostTopology) -> set[str]:
    """The queues that have a message TTL, so messages leave them with nobody doing
    anything (streams do not expire messages; a missing queue has none)."""
    by_policy = {name for policies in (view.effective_policies,
                                       view.effective_operator_policies)
                 for (kind, name), policy in policies.items()
                 if kind == "queue" and _TTL_POLICY_KEY in policy.definition}
    return {name for name, queue in view.queues.items()
            if queue.origin != "missing" and queue.type != "stream"
            and (_TTL_ARGUMENT in queue.arguments or name in by_policy)}


def dead_letter_cycles(view: VhostTopology) -> list[list[str]]:
    """The dead-letter cycles that every message takes once it is on them, and in which
    every queue expires messages; each as its queues, the first repeated at the end.

    A step is followed only where every message goes: the dead-letter exchange's bindings
    that match whatever the headers, with the keys a dead-letter routing key sets (or those
    of the step before; a first step without one stands for any keys).
    """
    # only queues that expire messages can be on such a cycle: most vhosts have none
    expiring = expiring_queues(view)
    if not expiring:
        return []
    # imported here: the routing simulator is needed only where queues expire messages, and
    # importing it would cost every other run (its records are built when it is imported)
    from .route import Message, Router

    router = Router(view)
    expiring &= router.dead_letter_edges.keys()
    routes: dict[tuple[str, tuple[str, ...] | None], list[str]] = {}  # (exchange, keys)

    def onward(queue: str, keys: tuple[str, ...] | None) -> list[_State]:
        """The (queue, keys) states a message dead-lettered by *queue* surely reaches."""
        edge = router.dead_letter_edges[queue]
        if edge.routing_key is not None:
            keys = (edge.routing_key,)
        memo = (edge.destination, keys)
        reached = routes.get(memo)
        if reached is None:
            if router.exchange_type(edge.destination) is None:
                reached = []
            else:
                reached = router.forward(edge.destination, Message(keys, None)).queues
            routes[memo] = reached
        return [(name, keys) for name in reached if name in expiring]

    found: dict[tuple[str, ...], list[str]] = {}
    done: set[_State] = set()
    for start in sorted(expiring):
        state = (start, None)
        if state in done:
            continue
        # an iterative depth-first walk; a state on the current path again closes a cycle
        path: list[_State] = [state]
        on_path: set[_State] = {state}
        stack = [iter(onward(*state))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if following in on_path:
                cycle = [name for name, _ in path[path.index(following):]]
                turn = cycle.index(min(cycle))  # one rotation of each cycle
                ordered = cycle[turn:] + cycle[:turn]
                found.setdefault(tuple(ordered), ordered + ordered[:1])
                continue
            if following in done:
                continue
            path.append(following)
            on_path.add(following)
            stack.append(iter(onward(*following)))
    return [found[key] for key in sorted(found)]

