"""Read RabbitMQ Messaging Topology Operator manifests (Kubernetes objects) into a Topology.

The operator (github.com/rabbitmq/messaging-topology-operator) declares on the broker what
objects of API group ``rabbitmq.com`` describe. This module builds from them the shape of a
definitions export and reads that with `load.read_document`, so manifests get every check an
export gets, each problem located at the line of its manifest.
"""

from __future__ import annotations

import re
from typing import Any

from ..topology.endpoints import SECRET_SCHEME
from ..topology.model import ERROR, WARNING, Problem, ProblemCode, Severity, Topology
from ..topology.records import record, replace
from .definitions import read_document
from .documents import Document, ParseError, json_kind, read_yaml

GROUP = "rabbitmq.com"

#: Spec fields per kind and the JSON type the operator's CRDs give them (api/v1beta1/*_types.go);
#: None where operator versions disagree on the type.
_SPECS: dict[str, dict[str, type | None]] = {
    "Exchange": {"name": str, "vhost": str, "type": str, "durable": bool, "autoDelete": bool,
                 "arguments": dict, "rabbitmqClusterReference": dict},
    "Queue": {"name": str, "vhost": str, "type": str, "durable": bool, "autoDelete": bool,
              "deleteIfEmpty": bool, "deleteIfUnused": bool, "arguments": dict,
              "rabbitmqClusterReference": dict},
    "Binding": {"vhost": str, "source": str, "destination": str, "destinationType": str,
                "routingKey": str, "arguments": dict, "rabbitmqClusterReference": dict},
    "Policy": {"name": str, "vhost": str, "pattern": str, "applyTo": str, "priority": int,
               "definition": dict, "rabbitmqClusterReference": dict},
    "OperatorPolicy": {"name": str, "vhost": str, "pattern": str, "applyTo": str,
                       "priority": int, "definition": dict,
                       "rabbitmqClusterReference": dict},
    "Federation": {"name": str, "vhost": str, "rabbitmqClusterReference": dict,
                   "uriSecret": dict, "prefetch-count": int, "ackMode": str, "expires": int,
                   "messageTTL": int, "maxHops": int, "reconnectDelay": int,
                   "trustUserId": bool, "exchange": str, "queue": str},
    "Shovel": {"name": str, "vhost": str, "rabbitmqClusterReference": dict,
               "uriSecret": dict, "ackMode": str, "prefetchCount": int, "reconnectDelay": int,
               "addForwardHeaders": bool, "deleteAfter": str, "srcDeleteAfter": str,
               "srcPrefetchCount": int, "destAddForwardHeaders": bool,
               "destAddTimestampHeader": bool, "destProtocol": str, "destQueue": str,
               "destExchange": str, "destExchangeKey": str, "destAddress": str,
               # strings in early operator releases, objects since
               "destPublishProperties": None, "destApplicationProperties": None,
               "destProperties": None, "destMessageAnnotations": dict,
               "srcProtocol": str, "srcQueue": str, "srcExchange": str, "srcExchangeKey": str,
               "srcConsumerArgs": dict, "srcAddress": str},
    "Vhost": {"name": str, "tracing": bool, "tags": list, "defaultQueueType": str,
              "limits": dict, "rabbitmqClusterReference": dict},
}
#: Fields without which there is nothing to draw (the CRDs leave a binding's optional, but
#: the operator cannot declare a binding without them).
_NEEDED = {
    "Exchange": ("name",), "Queue": ("name",), "Vhost": ("name",),
    "Binding": ("source", "destination", "destinationType"),
    "Policy": ("name", "pattern", "definition"),
    "OperatorPolicy": ("name", "pattern", "definition"),
    "Federation": ("name", "uriSecret"), "Shovel": ("name", "uriSecret"),
}
#: Federation, Shovel and OperatorPolicy came with v1beta1; the others were served before.
_VERSIONS = {kind: ("v1beta1",) for kind in ("Federation", "Shovel", "OperatorPolicy")} | {
    kind: ("v1alpha1", "v1alpha2", "v1beta1")
    for kind in ("Exchange", "Queue", "Binding", "Policy", "Vhost")}
#: Kinds of the group that declare no route. A SuperStream does (an exchange bound to stream
#: partitions), but the operator names those at run time, differently across its releases.
_NO_ROUTES = frozenset({
    "User", "Permission", "TopicPermission", "SchemaReplication", "SuperStream",
    "SuperStreamConsumer", "CompositeConsumer", "CompositeConsumerSet", "RabbitmqCluster"})

_SECTIONS = ("vhosts", "exchanges", "queues", "bindings", "policies", "parameters")
#: export field -> spec field, where the names differ (to locate load.py's problems)
_SPEC_FIELD = {"auto_delete": "autoDelete", "destination_type": "destinationType",
               "routing_key": "routingKey", "apply-to": "applyTo"}
_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", dict: "an object",
               list: "a list"}
# The module's patterns are compiled by `re` when first used: most runs read no manifests,
# and compiling them would cost every run that reads an export.
# a Kubernetes object name (RFC 1123 subdomain), which a Secret's must be
_OBJECT_NAME = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_CAMEL_HUMP = r"(?<=[a-z])([A-Z]+)"
# how load.py names an entry in a problem: "queues[3]"
_DOCUMENT_ENTRY = r"(\w+)\[(\d+)\]"

_API_VERSION = r"""(?m)(?:^|[{,])[ \t-]*["']?apiVersion["']?[ \t]*:"""
_KIND = r"""(?m)(?:^|[{,])[ \t-]*["']?kind["']?[ \t]*:"""


def looks_like_manifests(text: str) -> bool:
    """Whether the text holds Kubernetes objects rather than a definitions export: the
    operator's, or others (a Secret, a Deployment) that reading passes over.

    A cheap test on the text (YAML or JSON), without parsing it.
    """
    # the substring first: the patterns would take a while over a big export
    return ("apiVersion" in text and re.search(_API_VERSION, text) is not None
            and re.search(_KIND, text) is not None)


def _secret_uri(secret: str, key: str) -> str:
    """Stands for the URI kept under ``key`` in a Kubernetes Secret, which is never read.

    uris.Endpoint takes it for another broker, labelled ``secret/key``.
    """
    return f"{SECRET_SCHEME}{secret}/{key}"


@record
class _Cluster:
    """The RabbitmqCluster a resource belongs to, as its rabbitmqClusterReference gives it."""

    by: str  # "name" or "connectionSecret"
    name: str
    namespace: str | None  # None: the namespace the resource is applied in

    def same_as(self, other: _Cluster) -> bool:
        return (self.by, self.name) == (other.by, other.name) and (
            None in (self.namespace, other.namespace) or self.namespace == other.namespace)

    def describe(self) -> str:
        what = "RabbitmqCluster" if self.by == "name" else "the cluster of connection Secret"
        where = f" in namespace {self.namespace!r}" if self.namespace else ""
        return f"{what} {self.name!r}{where}"


@record
class _Manifest:
    """One rabbitmq.com object: how problems name it and where its parts are."""

    kind: str
    label: str
    line: int
    namespace: str | None
    spec: dict[str, Any]
    lines: dict[str, int]  # spec field -> line of its key

    def line_of(self, field: str) -> int:
        return self.lines.get(field, self.line)


class _ManifestReader:
    """Turns composed YAML documents into a definitions document, remembering their lines."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.document: dict[str, list[dict[str, Any]]] = {key: [] for key in _SECTIONS}
        #: the manifest of each entry of self.document, in the same order
        self.origins: dict[str, list[_Manifest]] = {key: [] for key in _SECTIONS}
        self.problems: list[Problem] = []
        self.cluster: tuple[_Cluster, _Manifest] | None = None
        self.other_clusters: list[_Cluster] = []

    def problem(self, severity: Severity, code: ProblemCode, message: str, line: int,
                manifest: _Manifest | None = None) -> None:
        self.problems.append(Problem(severity, code, message, line,
                                     manifest.label if manifest else None))

    # -- documents -------------------------------------------------------------------------

    def read(self, node: Any) -> None:
        """One YAML document, or one item of a ``kind: List``."""
        line = node.start_mark.line + 1
        if node.id != "mapping":
            if node.id == "scalar" and node.tag.endswith(":null"):
                return  # an empty document, as after a trailing '---'
            self.problem(WARNING, "schema", "this YAML document is not a Kubernetes object; "
                         "ignored", line)
            return
        fields = _keys(node)
        api_version = _text(fields.get("apiVersion"))
        kind = _text(fields.get("kind"))
        if api_version is None or kind is None:
            self.problem(WARNING, "schema", "this YAML document is not a Kubernetes object "
                         "(it lacks apiVersion or kind); ignored", line)
            return
        items = fields.get("items")
        if kind == "List" and items is not None and items.id == "sequence":
            for item in items.value:
                self.read(item)
            return
        group, _, version = api_version.rpartition("/")
        if group != GROUP or kind in _NO_ROUTES:
            return  # Secrets, ConfigMaps, Users...: never constructed, so never read
        if kind not in _SPECS:
            self.problem(WARNING, "schema", f"{kind!r} is not a kind of {GROUP} that this "
                         "extension knows; ignored", line)
            return
        if version not in _VERSIONS[kind]:
            served = " or ".join(f"{GROUP}/{v}" for v in _VERSIONS[kind])
            self.problem(WARNING, "schema", f"the operator serves {kind} as {served}, not as "
                         f"{api_version!r}; ignored", line)
            return
        try:
            manifest = self.manifest(kind, fields, line)
        except ParseError as exc:  # a value that cannot be read: the other objects can
            self.problem(ERROR, exc.code, f"{exc.message}; this {kind} is skipped",
                         exc.line or line)
            return
        if manifest is not None:
            self.add(manifest)

    def manifest(self, kind: str, fields: dict[str, Any], line: int) -> _Manifest | None:
        metadata = fields.get("metadata")
        metadata = _keys(metadata) if metadata is not None and metadata.id == "mapping" else {}
        name = _text(metadata.get("name"))
        label = kind if name is None else f"{kind} {name!r}"
        spec = fields.get("spec")
        if spec is None or spec.id != "mapping":
            self.problem(ERROR, "schema", f"{label} has no spec; skipped", line)
            return None
        lines = {key.value: key.start_mark.line + 1 for key, _ in spec.value
                 if key.id == "scalar"}
        return _Manifest(kind, label, line, _text(metadata.get("namespace")),
                         self.loader.construct_document(spec), lines)

    # -- one resource ----------------------------------------------------------------------

    def add(self, manifest: _Manifest) -> None:
        spec = self.valid_spec(manifest)
        if spec is None:
            return
        reference = manifest.spec.get("rabbitmqClusterReference")
        if reference is None or isinstance(reference, dict):  # another type is reported
            self.note_cluster(manifest, reference or {})
        kind = manifest.kind
        if "uriSecret" in spec:
            secret = spec["uriSecret"].get("name")
            if not isinstance(secret, str) or not re.fullmatch(_OBJECT_NAME, secret):
                self.problem(ERROR, "schema", f"{manifest.label}: spec.uriSecret.name should "
                             "be the name of a Secret; skipped",
                             manifest.line_of("uriSecret"), manifest)
                return
        section, entry = _ENTRIES[kind](spec)
        if kind != "Vhost":
            entry["vhost"] = spec.get("vhost", "/")  # the CRDs' default
        self.document[section].append(entry)
        self.origins[section].append(manifest)

    def valid_spec(self, manifest: _Manifest) -> dict[str, Any] | None:
        """The spec fields of the kind that have the CRD's type; None if it cannot be drawn."""
        schema = _SPECS[manifest.kind]
        needed = _NEEDED[manifest.kind]
        label = manifest.label
        spec: dict[str, Any] = {}
        for field, value in manifest.spec.items():
            if value is None:
                continue  # Kubernetes treats a null field as an unset one
            if field not in schema:
                import difflib  # rarely needed: not paid for on every start

                close = difflib.get_close_matches(str(field), schema, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problem(WARNING, "unknown-field", f"{label}: spec has an unknown field "
                             f"{field!r}, which the operator does not read{hint}",
                             manifest.line_of(field), manifest)
                continue
            expected = schema[field]
            if expected is None or _is_a(value, expected):
                spec[field] = value
                continue
            wanted = f"spec.{field} should be {_TYPE_NAMES[expected]}, not {json_kind(value)}"
            if field in needed:
                self.problem(ERROR, "schema", f"{label}: {wanted}; skipped",
                             manifest.line_of(field), manifest)
                return None
            self.problem(WARNING, "schema", f"{label}: {wanted}; ignored",
                         manifest.line_of(field), manifest)
        for field in needed:
            if spec.get(field, "") == "":
                self.problem(ERROR, "schema", f"{label}: spec.{field} is missing; skipped",
                             manifest.line, manifest)
                return None
        return spec

    def note_cluster(self, manifest: _Manifest, reference: dict[str, Any]) -> None:
        """Warn when the resources belong to several clusters: a diagram draws one broker."""
        cluster = _cluster(reference, manifest.namespace)
        line = manifest.line_of("rabbitmqClusterReference")
        if cluster is None:
            self.problem(WARNING, "schema", f"{manifest.label}: spec.rabbitmqClusterReference "
                         "should give the name of a RabbitmqCluster or a connectionSecret; "
                         "the operator refuses it without", line, manifest)
            return
        if self.cluster is None:
            self.cluster = (cluster, manifest)
            return
        first, first_manifest = self.cluster
        if first.same_as(cluster) or any(cluster.same_as(c) for c in self.other_clusters):
            return
        self.other_clusters.append(cluster)
        # entities of clusters drawn as one would merge vhosts of the same name
        self.problem(WARNING, "cluster", f"{manifest.label} belongs to {cluster.describe()}, but "
                     f"{first_manifest.label} (line {first_manifest.line}) to "
                     f"{first.describe()}; the diagram draws them as one broker", line,
                     manifest)

    # -- problems that load.read_document finds ----------------------------------------------

    def locate(self, path: tuple) -> int | None:
        """The line of a definitions-document path such as ("queues", 3, "auto_delete")."""
        origins = self.origins.get(path[0]) if path else None
        if origins is None or len(path) < 2:
            return None
        manifest = origins[path[1]]
        if len(path) < 3:
            return manifest.line
        return manifest.line_of(_SPEC_FIELD.get(path[2], path[2]))

    def in_manifest_terms(self, problem: Problem) -> Problem:
        """Name the manifest instead of the built document's entry (``queues[3]``)."""
        entry = re.match(_DOCUMENT_ENTRY, problem.where or "")
        origins = self.origins.get(entry[1]) if entry else None
        if entry is None or origins is None:
            return problem
        label = origins[int(entry[2])].label
        message = problem.message
        if message.startswith(entry[0]):
            message = label + message[len(entry[0]):]
        return replace(problem, message=message, where=label)


# -- spec -> definitions entry -------------------------------------------------------------
# Unset booleans are false: the operator's Go structs send their zero value (durable too).

def _exchange(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "exchanges", {"name": spec["name"], "type": spec.get("type", "direct"),
                         "durable": spec.get("durable", False),
                         "auto_delete": spec.get("autoDelete", False),
                         "arguments": spec.get("arguments", {})}


def _queue(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    arguments = dict(spec.get("arguments", {}))
    if spec.get("type"):
        # the operator's client puts the type in the arguments, over any given there
        arguments["x-queue-type"] = spec["type"]
    return "queues", {"name": spec["name"], "durable": spec.get("durable", False),
                      "auto_delete": spec.get("autoDelete", False), "arguments": arguments}


def _binding(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "bindings", {"source": spec["source"], "destination": spec["destination"],
                        "destination_type": spec["destinationType"],
                        "routing_key": spec.get("routingKey", ""),
                        "arguments": spec.get("arguments", {})}


def _policy_value(spec: dict[str, Any], apply_to: str) -> dict[str, Any]:
    return {"pattern": spec["pattern"], "apply-to": spec.get("applyTo", apply_to),
            "priority": spec.get("priority", 0), "definition": spec["definition"]}


def _policy(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "policies", {"name": spec["name"], **_policy_value(spec, "all")}


def _operator_policy(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "parameters", {"component": "operator_policy", "name": spec["name"],
                          "value": _policy_value(spec, "queues")}


def _parameter_value(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's settings under the broker's names: srcQueue -> src-queue, messageTTL ->
    message-ttl."""
    return {re.sub(_CAMEL_HUMP, lambda hump: "-" + hump[1].lower(), field): value
            for field, value in spec.items()
            if field not in ("name", "vhost", "uriSecret", "rabbitmqClusterReference")}


def _federation(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    value = {"uri": _secret_uri(spec["uriSecret"]["name"], "uri"), **_parameter_value(spec)}
    return "parameters", {"component": "federation-upstream", "name": spec["name"],
                          "value": value}


def _shovel(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    secret = spec["uriSecret"]["name"]
    value = {"src-uri": _secret_uri(secret, "srcUri"), "dest-uri": _secret_uri(secret, "destUri"),
             **_parameter_value(spec)}
    return "parameters", {"component": "shovel", "name": spec["name"], "value": value}


def _vhost(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "vhosts", {"name": spec["name"], "default_queue_type": spec.get("defaultQueueType")}


_ENTRIES = {"Exchange": _exchange, "Queue": _queue, "Binding": _binding, "Policy": _policy,
            "OperatorPolicy": _operator_policy, "Federation": _federation, "Shovel": _shovel,
            "Vhost": _vhost}


# -- helpers ---------------------------------------------------------------------------------

def _keys(mapping: Any) -> dict[str, Any]:
    """A mapping node's children by key, for the keys that are plain scalars."""
    return {key.value: value for key, value in mapping.value if key.id == "scalar"}


def _text(node: Any) -> str | None:
    return node.value if node is not None and node.id == "scalar" and node.value else None


def _is_a(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _cluster(reference: dict[str, Any], namespace: str | None) -> _Cluster | None:
    """Which cluster a rabbitmqClusterReference names; its namespace defaults to the object's."""
    own = reference.get("namespace")
    namespace = own if isinstance(own, str) and own else namespace
    name = reference.get("name")
    if isinstance(name, str) and name:
        return _Cluster("name", name, namespace)
    secret = reference.get("connectionSecret")
    name = secret.get("name") if isinstance(secret, dict) else None
    if isinstance(name, str) and name:
        return _Cluster("connectionSecret", name, namespace)
    return None


def read_manifests(text: str, *, source: str, vhost: str | None = None) -> Topology:
    """Read Messaging Topology Operator manifests; never raises on bad input.

    ``text`` holds one or more YAML documents (or JSON), each a Kubernetes object or a
    ``kind: List`` of them. Objects of other API groups (Secrets, ConfigMaps...) are skipped
    without being read. ``vhost``, when given, is the only vhost read.
    """
    def read_each(loader_class: type) -> _ManifestReader:
        loader = loader_class(text)
        try:
            reader = _ManifestReader(loader)
            while loader.check_node():
                reader.read(loader.get_node())
        finally:
            loader.dispose()
        return reader

    try:
        reader = read_yaml(text, read_each)
    except ParseError as exc:
        return Topology(source=source, problems=[exc.problem()])
    topology = read_document(reader.document, vhost=vhost, source=source, locate=reader.locate)
    problems = reader.problems + [reader.in_manifest_terms(p) for p in topology.problems]
    topology.problems = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
    return topology


def detect(document: Document) -> bool:
    """Kubernetes objects: a JSON one with ``apiVersion`` and ``kind``, or a text (YAML,
    several JSON documents) that `looks_like_manifests`."""
    if document.parsed:
        value = document.value
        return isinstance(value, dict) and "apiVersion" in value and "kind" in value
    return looks_like_manifests(document.text)


def read(document: Document) -> Topology:
    return read_manifests(document.text, source=document.source, vhost=document.vhost)
