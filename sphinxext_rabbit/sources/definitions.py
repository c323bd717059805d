"""Read a definitions export (JSON or YAML, full cluster or one vhost) into a Topology."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from ..topology.endpoints import not_amqp_uris
from ..topology.model import (
    ERROR,
    WARNING,
    Binding,
    Exchange,
    Parameter,
    Policy,
    Problem,
    ProblemCode,
    Queue,
    Severity,
    Topology,
)
from ..topology.patterns import InvalidPattern, compile_pattern
from .documents import (
    DEFAULT_MAX_BYTES,
    Document,
    Locator,
    ParseError,
    is_yaml_path,
    json_kind,
    read_json,
    read_text,
    read_yaml,
)
from .uris import REDACTED, TooDeep, redact_value

#: (index in its list, object, vhost) of an entity the document declares
Entry = tuple[int, dict[str, Any], str]

#: Deeper arguments, definitions or parameter values are refused: no real file needs them,
#: and every renderer would have to recurse through them.
MAX_DEPTH = 32

#: Shown instead of a vhost name that neither the file nor the user gave.
UNKNOWN_VHOST = "(unknown vhost)"

TOP_LEVEL_KEYS = frozenset({
    "rabbit_version", "rabbitmq_version", "product_name", "product_version",
    "rabbitmq_definition_format", "original_cluster_name", "original_vhost_name",
    "explanation", "users", "vhosts", "permissions", "topic_permissions", "parameters",
    "global_parameters", "policies", "queues", "exchanges", "bindings",
    # per-vhost exports (4.x) describe their vhost at the top level
    "metadata", "description", "default_queue_type", "limits", "tags",
    # a snapshot of a live broker says when it was taken (export.METADATA_KEY)
    "sphinxext_rabbit",
})
ENTITY_KEYS = {
    "queues": frozenset({"name", "vhost", "durable", "auto_delete", "arguments", "type",
                         "exclusive"}),
    "exchanges": frozenset({"name", "vhost", "type", "durable", "auto_delete", "internal",
                            "arguments"}),
    "bindings": frozenset({"source", "vhost", "destination", "destination_type",
                           "routing_key", "arguments"}),
    "policies": frozenset({"vhost", "name", "pattern", "apply-to", "definition", "priority"}),
    "parameters": frozenset({"vhost", "component", "name", "value"}),
}
#: The fields of the parameters that hold AMQP URIs, by component.
_URI_FIELDS = {"shovel": ("src-uri", "dest-uri"), "federation-upstream": ("uri",)}
#: (a tuple: a destination_type of the wrong type may be unhashable)
_DESTINATION_TYPES = ("queue", "exchange")
_APPLY_TO = frozenset({"all", "queues", "exchanges", "classic_queues", "quorum_queues",
                       "streams"})


class _Reader:
    """Validates one parsed document; every complaint becomes a located Problem."""

    def __init__(self, document: dict[str, Any], locate: Callable[[tuple], int | None],
                 vhost: str | None) -> None:
        self.document = document
        self.locate = locate
        self.topology = Topology()
        self.problems = self.topology.problems
        self.single_vhost = self._single_vhost_name(vhost)
        # asked for one vhost: the others are not read (a big export stays fast)
        self.wanted_vhost = None if self.single_vhost else vhost

    def problem(self, severity: Severity, code: ProblemCode, message: str,
                path: tuple[Any, ...] = ()) -> None:
        where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p)
                        for i, p in enumerate(path)) or None
        self.problems.append(Problem(severity, code, message, self.locate(path), where))

    # -- document shape ----------------------------------------------------------

    def _single_vhost_name(self, requested: str | None) -> str | None:
        """The vhost of a per-vhost export, or None for a full-cluster export."""
        doc = self.document
        marked = doc.get("rabbitmq_definition_format") == "single_virtual_host"
        if not marked and not self._entities_lack_vhost():
            return None
        named = doc.get("original_vhost_name")
        if isinstance(named, str):
            if requested is not None and requested != named:
                self.problem(WARNING, "vhost",
                             f"this is an export of vhost {named!r}, not of {requested!r}")
            return named
        if requested is not None:
            return requested
        self.problem(WARNING, "vhost",
                     "this is a per-vhost export that does not name its vhost; "
                     "give it with the :vhost: option (or --vhost)")
        return UNKNOWN_VHOST

    def _entities_lack_vhost(self) -> bool:
        seen_any = False
        # not policies or parameters: 3.10's per-vhost exports keep their vhost field
        for key in ("queues", "exchanges", "bindings"):
            items = self.document.get(key)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        if "vhost" in item:
                            return False
                        seen_any = True
        return seen_any

    def vhosts_of_entities(self) -> set[str]:
        return {vhost for key in ("queues", "exchanges", "bindings", "policies", "parameters")
                if isinstance(items := self.document.get(key), list)
                for item in items
                if isinstance(item, dict) and isinstance(vhost := item.get("vhost"), str)}

    def entries(self, key: str, *, in_vhost: bool = True) -> list[Entry]:
        """The entries of a list that are in a wanted vhost.

        Another vhost's objects are passed over unread; an item that is not an object, an
        unknown field or a vhost that is not a string is reported.
        """
        value = self.document.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(ERROR, "schema", f"{key!r} should be a list, not {json_kind(value)}",
                         (key,))
            return []
        known = ENTITY_KEYS.get(key)
        reported = len(self.problems)
        entries, objects = self.read_list(key, value, in_vhost, known=None)
        # Unknown fields are rare: the fields of all the objects are checked at once, and
        # only when one is unknown is the list read again, checking each object, so that
        # every problem stands in order.
        if known is not None and not known.issuperset(set().union(*objects)):
            del self.problems[reported:]
            entries, _ = self.read_list(key, value, in_vhost, known=known)
        return entries

    def read_list(self, key: str, value: list[Any], in_vhost: bool, *,
                  known: frozenset[str] | None) -> tuple[list[Entry], list[dict[str, Any]]]:
        """One pass over a list: its entries, and the objects read from it. Each object's
        fields are checked against ``known``, unless it is None (entries checks them all at
        once)."""
        wanted = self.wanted_vhost if in_vhost else None
        # a per-vhost export's vhost, or "" for the list of vhosts; None: each object names its own
        common_vhost = (self.single_vhost or None) if in_vhost else ""
        entries = []
        objects = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                self.problem(ERROR, "schema",
                             f"{key}[{index}] should be an object, not {json_kind(item)}",
                             (key, index))
                continue
            vhost = item.get("vhost") if common_vhost is None else common_vhost
            if wanted is not None and vhost != wanted and isinstance(vhost, str):
                continue  # another vhost's: neither read nor checked
            objects.append(item)
            if known is not None and not known.issuperset(item):
                for field in sorted(item.keys() - known):
                    self.problem(WARNING, "unknown-field",
                                 f"{key}[{index}] has an unknown field {field!r}",
                                 (key, index, field))
            if not isinstance(vhost, str):
                vhost = self.bad_vhost(key, index, vhost)
                if vhost is None:
                    continue
            entries.append((index, item, vhost))
        return entries, objects

    # -- field access --------------------------------------------------------------
    # Each takes a field's value and returns it, or what is assumed instead, reporting why.
    # The long lists (queues, bindings) call them only for a value of an unexpected type.

    def bad_vhost(self, key: str, index: int, vhost: Any) -> str | None:
        if vhost is None:
            self.problem(WARNING, "vhost", f"{key}[{index}] has no vhost; assumed '/'",
                         (key, index))
            return "/"
        self.problem(ERROR, "schema", f"{key}[{index}].vhost should be a string, "
                     f"not {json_kind(vhost)}; skipped", (key, index, "vhost"))
        return None

    def text(self, key: str, index: int, field: str, value: Any) -> str | None:
        if isinstance(value, str):
            return value
        if value is None:
            self.problem(ERROR, "schema", f"{key}[{index}] has no {field!r}; skipped",
                         (key, index))
        else:
            self.problem(ERROR, "schema", f"{key}[{index}].{field} should be a string, "
                         f"not {json_kind(value)}; skipped", (key, index, field))
        return None

    def flag(self, key: str, index: int, field: str, value: Any, default: bool) -> bool:
        """``default``: what a missing field means, and what a wrong one is taken for."""
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        self.problem(WARNING, "schema", f"{key}[{index}].{field} should be true or false, "
                     f"not {json_kind(value)}; {str(default).lower()} assumed", (key, index, field))
        return default

    def mapping(self, key: str, index: int, field: str, value: Any) -> dict[str, Any]:
        """Arguments or a definition, with its secrets redacted (uris.redact_value)."""
        if isinstance(value, dict):
            try:
                return redact_value(value, max_depth=MAX_DEPTH)
            except TooDeep:
                self.problem(WARNING, "limit", f"{key}[{index}].{field} is nested more than "
                             f"{MAX_DEPTH} levels deep; ignored", (key, index, field))
                return {}
        if value is None or value == []:  # real exports write [] for "no arguments"
            return {}
        self.problem(WARNING, "schema", f"{key}[{index}].{field} should be an object, "
                     f"not {json_kind(value)}; ignored", (key, index, field))
        return {}

    # -- entities --------------------------------------------------------------------

    def read(self) -> Topology:
        for field in sorted(self.document.keys() - TOP_LEVEL_KEYS):
            self.problem(WARNING, "unknown-field", f"unknown top-level field {field!r}",
                         (field,))
        self.read_vhosts()
        self.read_exchanges()
        self.read_queues()
        self.read_bindings()
        self.read_policies()
        self.read_parameters()
        wanted = self.wanted_vhost
        # the declared vhosts first: gathering every entity's vhost takes a while
        if (wanted is not None and wanted not in self.topology.vhosts
                and wanted not in self.topology.vhost_names()):
            # asked for a vhost the file lacks: look through the others, to name them
            for vhost in sorted(self.vhosts_of_entities()):
                self.topology.vhosts.setdefault(vhost, None)
        snapshot = self.document.get("sphinxext_rabbit")
        if isinstance(snapshot, dict):
            self.read_snapshot_metadata(snapshot)
        return self.topology

    def read_snapshot_metadata(self, snapshot: dict[str, Any]) -> None:
        """When a snapshot was taken, and which lists the broker did not give (export.py)."""
        if isinstance(snapshot.get("taken_at"), str):
            self.topology.taken_at = snapshot["taken_at"]
        unread = snapshot.get("unread", [])
        if isinstance(unread, list) and all(isinstance(key, str) for key in unread):
            self.topology.unread = frozenset(unread)
        else:
            self.problem(WARNING, "schema", "sphinxext_rabbit.unread should be a list of "
                         "names such as 'parameters'; ignored", ("sphinxext_rabbit",))

    def read_vhosts(self) -> None:
        vhosts = self.topology.vhosts
        if self.single_vhost is not None:
            vhosts[self.single_vhost] = _default_queue_type(self.document)
            return
        for index, item, _ in self.entries("vhosts", in_vhost=False):
            name = self.text("vhosts", index, "name", item.get("name"))
            if name is not None:
                vhosts[name] = _default_queue_type(item)

    def read_exchanges(self) -> None:
        declared: dict[tuple[str, str], Exchange] = {}
        for index, item, vhost in self.entries("exchanges"):
            name = self.text("exchanges", index, "name", item.get("name"))
            type_ = self.text("exchanges", index, "type", item.get("type"))
            if name is None or type_ is None:
                continue
            key = (vhost, name)
            if key in declared:
                self.duplicate("exchanges", index, "exchange", name, vhost)
            declared[key] = Exchange(
                vhost, name, type_,
                durable=self.flag("exchanges", index, "durable", item.get("durable", True),
                                  True),
                auto_delete=self.flag("exchanges", index, "auto_delete",
                                      item.get("auto_delete", False), False),
                internal=self.flag("exchanges", index, "internal", item.get("internal", False),
                                   False),
                arguments=self.mapping("exchanges", index, "arguments", item.get("arguments")),
            )
        self.topology.exchanges = list(declared.values())

    def duplicate(self, key: str, index: int, what: str, name: str, vhost: str) -> None:
        self.problem(WARNING, "duplicate", f"{key}[{index}]: {what} {name!r} in vhost "
                     f"{vhost!r} is declared again; the later one is used", (key, index))

    def read_queues(self) -> None:
        declared: dict[tuple[str, str], Queue] = {}
        default_types = self.topology.vhosts
        for index, item, vhost in self.entries("queues"):
            name = item.get("name")
            if not isinstance(name, str):
                name = self.text("queues", index, "name", name)
                if name is None:
                    continue
            arguments = self.mapping("queues", index, "arguments", item.get("arguments"))
            queue_type = arguments.get("x-queue-type")
            if not isinstance(queue_type, str):
                # CLI and 4.3+ exports also write the type beside the arguments
                queue_type = item.get("type")
            if not isinstance(queue_type, str):
                queue_type = default_types.get(vhost) or "classic"
            key = (vhost, name)
            if key in declared:
                self.duplicate("queues", index, "queue", name, vhost)
            durable = item.get("durable", True)
            auto_delete = item.get("auto_delete", False)
            exclusive = item.get("exclusive", False)
            if not (isinstance(durable, bool) and isinstance(auto_delete, bool)
                    and isinstance(exclusive, bool)):
                durable = self.flag("queues", index, "durable", durable, True)
                auto_delete = self.flag("queues", index, "auto_delete", auto_delete, False)
                exclusive = self.flag("queues", index, "exclusive", exclusive, False)
            declared[key] = Queue(vhost, name, queue_type, durable, auto_delete, exclusive,
                                  arguments)
        self.topology.queues = list(declared.values())

    def read_bindings(self) -> None:
        bindings = self.topology.bindings
        for index, item, vhost in self.entries("bindings"):
            source = item.get("source")
            destination = item.get("destination")
            destination_type = item.get("destination_type")
            routing_key = item.get("routing_key", "")
            if not (isinstance(source, str) and isinstance(destination, str)
                    and destination_type in _DESTINATION_TYPES and isinstance(routing_key, str)):
                source = self.text("bindings", index, "source", source)
                destination = self.text("bindings", index, "destination", destination)
                destination_type = self.text("bindings", index, "destination_type",
                                             destination_type)
                routing_key = self.text("bindings", index, "routing_key", routing_key)
                if (source is None or destination is None or destination_type is None
                        or routing_key is None):
                    continue
                if destination_type not in _DESTINATION_TYPES:
                    self.problem(ERROR, "destination-type",
                                 f"bindings[{index}]: binding from {source!r} to "
                                 f"{destination!r} has destination_type {destination_type!r}; "
                                 "it must be 'queue' or 'exchange'; skipped", ("bindings", index))
                    continue
            arguments = item.get("arguments")
            if not isinstance(arguments, dict) or arguments:  # anything but the usual {}
                arguments = self.mapping("bindings", index, "arguments", arguments)
            bindings.append(Binding(vhost, source, destination, destination_type, routing_key,
                                    arguments))

    def read_policies(self) -> None:
        for index, item, vhost in self.entries("policies"):
            self.add_policy("policies", index, item, vhost, item.get("name"), operator=False)

    def add_policy(self, key: str, index: int, item: dict[str, Any], vhost: str,
                   name: Any, *, operator: bool) -> None:
        """Policies and operator policies share their shape."""
        pattern = self.text(key, index, "pattern", item.get("pattern"))
        if not isinstance(name, str) or pattern is None:
            if not isinstance(name, str):
                self.problem(ERROR, "schema", f"{key}[{index}] has no name; skipped",
                             (key, index))
            return
        try:
            compile_pattern(pattern)
        except InvalidPattern as exc:
            self.problem(ERROR, "policy-pattern", f"{key}[{index}]: policy {name!r} has "
                         f"pattern {pattern!r}, which PCRE (the broker's regular expressions) "
                         f"refuses ({exc}); skipped", (key, index))
            return
        apply_to = item.get("apply-to", "all")
        if not isinstance(apply_to, str) or apply_to not in _APPLY_TO:
            shown = repr(apply_to) if isinstance(apply_to, str) else json_kind(apply_to)
            self.problem(WARNING, "schema", f"{key}[{index}]: policy {name!r} has apply-to "
                         f"{shown}; expected one of {', '.join(sorted(_APPLY_TO))}; "
                         "'all' assumed", (key, index))
            apply_to = "all"
        priority = item.get("priority", 0)
        if isinstance(priority, str) and re.fullmatch(r"-?\d+", priority):
            priority = int(priority)
        if not isinstance(priority, int) or isinstance(priority, bool):
            self.problem(WARNING, "schema", f"{key}[{index}]: policy {name!r} has priority "
                         f"of type {json_kind(priority)}; 0 assumed", (key, index))
            priority = 0
        definition = self.mapping(key, index, "definition", item.get("definition"))
        self.topology.policies.append(Policy(vhost, name, pattern, apply_to, definition,
                                             priority, operator))

    def read_parameters(self) -> None:
        for index, item, vhost in self.entries("parameters"):
            component = self.text("parameters", index, "component", item.get("component"))
            name = self.text("parameters", index, "name", item.get("name"))
            if component is None or name is None:
                continue
            value = item.get("value")
            try:
                redacted = redact_value(value, max_depth=MAX_DEPTH)
            except TooDeep:
                self.problem(WARNING, "limit", f"parameters[{index}].value is nested more "
                             f"than {MAX_DEPTH} levels deep; skipped", ("parameters", index))
                continue
            if component == "operator_policy":
                if isinstance(value, dict):
                    self.add_policy("parameters", index, value, vhost, name, operator=True)
                else:
                    self.problem(ERROR, "schema", f"parameters[{index}]: operator policy "
                                 f"{name!r} should have an object value; skipped",
                                 ("parameters", index))
                continue
            if component in _URI_FIELDS and isinstance(redacted, dict):
                self.check_uris(index, component, name, redacted)
            self.topology.parameters.append(Parameter(vhost, component, name, redacted))

    def check_uris(self, index: int, component: str, name: str, value: dict[str, Any]) -> None:
        """One warning for each URI of a shovel or upstream that is no AMQP URI, such as a
        placeholder (``"uri": "CEGA_CONNECTION"``): resolve draws it as written."""
        for field in _URI_FIELDS[component]:
            for uri in not_amqp_uris(value.get(field)):
                what = (f"{field} {uri!r}, which is not an AMQP URI" if uri != REDACTED else
                        f"a {field} that is not an AMQP URI and holds an '@' after a scheme, "
                        f"so it is not shown (user info in it would be)")
                self.problem(WARNING, "uri", f"parameters[{index}]: {component} {name!r} has "
                             f"{what} (amqp://HOST[:PORT][/VHOST]); that end is drawn as an "
                             f"external endpoint named {uri!r}", ("parameters", index))


def _default_queue_type(vhost: dict[str, Any]) -> str | None:
    metadata = vhost.get("metadata")
    found = metadata.get("default_queue_type") if isinstance(metadata, dict) else None
    found = found or vhost.get("default_queue_type")
    return found if isinstance(found, str) and found != "undefined" else None


# -- entry points ------------------------------------------------------------------------

def parse(text: str, *, is_yaml: bool = False, vhost: str | None = None,
          source: str = "") -> Topology:
    """Parse definitions text; never raises on bad input, reports Problems instead.

    ``vhost`` names the vhost of a per-vhost export that does not name it; in a
    full-cluster export it is the only vhost read.
    """
    try:
        if is_yaml:
            import yaml

            document = read_yaml(text, lambda loader: yaml.load(text, Loader=loader))  # noqa: S506
        else:
            document = read_json(text)
    except ParseError as exc:
        return Topology(source=source, problems=[exc.problem()])
    return read_document(document, vhost=vhost, source=source,
                         locate=Locator(text, is_yaml))


def read_document(document: Any, *, vhost: str | None = None, source: str = "",
                  locate: Callable[[tuple], int | None] | None = None) -> Topology:
    """Check and read an already parsed definitions document.

    Other sources (saved management-API output, Kubernetes manifests) build this shape
    and come through here, so every source gets the same checks. ``locate`` turns a
    path such as ``("queues", 3, "name")`` into a line of the source file.
    """
    if not isinstance(document, dict):
        return Topology(source=source, problems=[Problem(
            ERROR, "schema",
            f"a definitions file holds an object at the top, not {json_kind(document)}", 1)])
    topology = _Reader(document, locate or _no_line, vhost).read()
    topology.source = source
    return topology


def _no_line(_path: tuple) -> None:
    return None


def load(path: str | os.PathLike[str], *, vhost: str | None = None,
         source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Topology:
    """Read a definitions file; ``source`` is how problems name it (default: the path)."""
    path = os.fspath(path)
    source = path if source is None else source
    text, problem = read_text(path, max_bytes)
    if text is None:
        assert problem is not None  # read_text gives one or the other
        return Topology(source=source, problems=[problem])
    return parse(text, is_yaml=is_yaml_path(path), vhost=vhost, source=source)


def detect(document: Document) -> bool:
    """Every document but a JSON object that holds none of an export's keys; also a text
    that is no valid JSON, so that `parse` reports where it fails."""
    value = document.value
    return not (document.parsed and isinstance(value, dict) and value
                and not value.keys() & TOP_LEVEL_KEYS)


def read(document: Document) -> Topology:
    if not document.parsed:
        return parse(document.text, is_yaml=document.is_yaml, vhost=document.vhost,
                     source=document.source)
    return read_document(document.value, vhost=document.vhost, source=document.source,
                         locate=Locator(document.text, False))
