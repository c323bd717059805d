"""Write a Topology back as a normal full-cluster definitions file, without secrets.

A snapshot of a broker is committed and built from later, and can be imported again
(``rabbitmqctl import_definitions``, the management UI), so it has an export's shape:
``vhosts``, ``exchanges``, ``queues``, ``bindings``, ``policies`` and ``parameters``
(operator policies as component ``operator_policy``), marked
``"rabbitmq_definition_format": "cluster"`` as 4.1+ exports are. There are no users or
permissions: the model holds none, and a snapshot must not carry password hashes.
Only entities the input declared are written: not the built-in, missing or
shovel-declared placeholders (should a topology built in code hold them), nor runtime
figures (``Queue.stats``), which are no definitions.

When and where a snapshot was taken (``Topology.taken_at``, and ``Topology.source``
without credentials), and the lists the broker refused to give (``Topology.unread``), go
in the top-level `METADATA_KEY`, which the broker ignores on import. A topology without
``taken_at`` (an export read from a file) gets no time or source, so converting a file
does not record a local path.

Reading the file back (``load.parse``) gives the same model, with one exception made
for the broker's sake: a queue whose type is neither the vhost's default nor set in its
arguments (CLI and 4.3.3+ exports write it only as a top-level ``type``, which the
broker ignores on import) gets ``x-queue-type`` in its arguments, so an import creates
it with the right type.
"""

from __future__ import annotations

import errno
import json
import os
from typing import Any

from ..sources.uris import redact, redact_value
from ..topology.model import Binding, Exchange, Parameter, Policy, Queue, Topology

#: The top-level key recording when and where a snapshot was taken.
METADATA_KEY = "sphinxext_rabbit"


def to_definitions(topology: Topology) -> dict[str, Any]:
    """The full-cluster definitions document of *topology*; lists sorted, secrets removed."""
    document: dict[str, Any] = {"rabbitmq_definition_format": "cluster"}
    metadata: dict[str, Any] = {}
    if topology.taken_at is not None:  # a snapshot; an export read from a file is not one
        metadata["taken_at"] = topology.taken_at
        if topology.source:
            metadata["source"] = redact(topology.source)
    if topology.unread:
        # what the broker refused to list is unknown, not empty: kept so, a snapshot of a
        # fetch without /api/parameters draws no upstream as missing
        metadata["unread"] = sorted(topology.unread)
    if metadata:
        document[METADATA_KEY] = metadata
    document["vhosts"] = [_vhost(name, default_type)
                          for name, default_type in sorted(topology.vhosts.items())]
    exchanges = [x for x in topology.exchanges if x.origin == "declared"]
    document["exchanges"] = [_exchange(x) for x in sorted(exchanges, key=_named)]
    queues = [q for q in topology.queues if q.origin == "declared"]
    document["queues"] = [_queue(q, topology.vhosts.get(q.vhost))
                          for q in sorted(queues, key=_named)]
    document["bindings"] = [_binding(b) for b in sorted(topology.bindings, key=_binding_order)]
    policies = sorted(topology.policies, key=_named)
    document["policies"] = [_policy(p) for p in policies if not p.operator]
    parameters = [_parameter(p) for p in topology.parameters]
    parameters += [_operator_policy(p) for p in policies if p.operator]
    document["parameters"] = sorted(parameters, key=_parameter_order)
    return document


def write_definitions(topology: Topology, path: str | os.PathLike[str]) -> None:
    """Write `to_definitions` as JSON, byte for byte the same for the same topology.

    Keys sorted, indented by 2, a final newline. The file is written beside *path* and
    then renamed over it, so a failure leaves the previous snapshot whole; a *path* that
    is there but is no regular file (a folder, a device) is refused. Raises OSError. A new
    file gets the permissions any new file gets (the umask's); a replaced one keeps its own.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isfile(path):
        # renaming over a device or a folder would replace it, or fail half-way
        kind = "a folder" if os.path.isdir(path) else "not a regular file"
        raise OSError(errno.EEXIST, f"it is {kind}; a snapshot replaces a file whole", path)
    document = to_definitions(topology)
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a name: only \u escapes can carry it
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if os.path.exists(path):
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _named(item: Exchange | Queue | Policy) -> tuple[str, str]:
    return item.vhost, item.name


def _binding_order(binding: Binding) -> tuple[str, ...]:
    return (binding.vhost, binding.source, binding.destination_type, binding.destination,
            binding.routing_key, json.dumps(binding.arguments, sort_keys=True))


def _parameter_order(parameter: dict[str, Any]) -> tuple[str, str, str]:
    return parameter["vhost"], parameter["component"], parameter["name"]


def _vhost(name: str, default_queue_type: str | None) -> dict[str, Any]:
    if default_queue_type is None:
        return {"name": name}
    return {"name": name, "metadata": {"default_queue_type": default_queue_type}}


def _exchange(exchange: Exchange) -> dict[str, Any]:
    return {"name": exchange.name, "vhost": exchange.vhost, "type": exchange.type,
            "durable": exchange.durable, "auto_delete": exchange.auto_delete,
            "internal": exchange.internal, "arguments": redact_value(exchange.arguments)}


def _queue(queue: Queue, vhost_default_type: str | None) -> dict[str, Any]:
    arguments = queue.arguments
    if (not isinstance(arguments.get("x-queue-type"), str)
            and queue.type != (vhost_default_type or "classic")):
        arguments = {**arguments, "x-queue-type": queue.type}
    item = {"name": queue.name, "vhost": queue.vhost, "type": queue.type,
            "durable": queue.durable, "auto_delete": queue.auto_delete,
            "arguments": redact_value(arguments)}
    if queue.exclusive:  # management-API snapshots list exclusive queues; exports never do
        item["exclusive"] = True
    return item


def _binding(binding: Binding) -> dict[str, Any]:
    return {"source": binding.source, "vhost": binding.vhost,
            "destination": binding.destination, "destination_type": binding.destination_type,
            "routing_key": binding.routing_key,
            "arguments": redact_value(binding.arguments)}


def _policy_fields(policy: Policy) -> dict[str, Any]:
    # The loader redacts every source; a Topology built in code may not have been through
    # it, and a snapshot is committed: what it writes passes the same redaction again.
    return {"pattern": policy.pattern, "apply-to": policy.apply_to,
            "definition": redact_value(policy.definition), "priority": policy.priority}


def _policy(policy: Policy) -> dict[str, Any]:
    return {"vhost": policy.vhost, "name": policy.name, **_policy_fields(policy)}


def _operator_policy(policy: Policy) -> dict[str, Any]:
    return {"vhost": policy.vhost, "component": "operator_policy", "name": policy.name,
            "value": _policy_fields(policy)}


def _parameter(parameter: Parameter) -> dict[str, Any]:
    return {"vhost": parameter.vhost, "component": parameter.component,
            "name": parameter.name, "value": redact_value(parameter.value)}
