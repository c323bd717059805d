"""Read management-API output (saved with curl, or fetched live) into the Topology an export gives.

Users save the bodies of ``/api/exchanges``, ``/api/queues``, ``/api/bindings``,
``/api/policies``, ``/api/operator-policies``, ``/api/parameters``, ``/api/vhosts`` (and
``/api/overview``): one file per endpoint, a folder of them, or one object keyed by
endpoint. They are turned into the shape of a definitions export and read by
``load.read_document``, so they get every check an export gets; the queues' message and
consumer counts and the time the state was taken are added on top.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..topology.model import (
    ERROR,
    WARNING,
    Problem,
    ProblemCode,
    Severity,
    Topology,
    is_builtin_exchange,
)
from ..topology.records import record, replace
from .definitions import ENTITY_KEYS, TOP_LEVEL_KEYS, read_document
from .documents import (
    DEFAULT_MAX_BYTES,
    Document,
    Locator,
    ParseError,
    json_kind,
    read_json,
    read_text,
)

# an endpoint named as a key or a file name: "queues" (fetch.ENDPOINTS, the live client's
# keys), "/api/queues/detailed", "api_operator_policies.json", "queues-page-2.json".
# The module's patterns are compiled by `re` when first used: telling an export from API
# output seldom needs them, and compiling them would cost every run that reads an export.
_ENDPOINT_NAME = (
    r"(?i)/?(?:api[/_.-])?(?P<name>overview|vhosts|exchanges|queues|bindings|policies|"
    r"operator[-_]policies|parameters)(?![A-Za-z0-9])")
#: Top-level keys only a definitions export has.
_EXPORT_MARKERS = frozenset({
    "rabbit_version", "rabbitmq_version", "product_name", "product_version",
    "rabbitmq_definition_format", "original_cluster_name", "original_vhost_name",
    "explanation", "users", "permissions", "topic_permissions", "global_parameters",
})
#: Fields the broker adds to listed entities and an export never has.
_RUNTIME_FIELDS = frozenset({
    "message_stats", "consumers", "messages", "messages_ready", "messages_unacknowledged",
    "state", "node", "policy", "effective_policy_definition", "user_who_performed_action",
    "properties_key", "idle_since", "garbage_collection", "backing_queue_status", "memory",
    "tracing", "cluster_state",
})
#: Fields of /api/overview, a single object rather than a list.
_OVERVIEW_FIELDS = frozenset({"management_version", "object_totals", "exchange_types"})
#: Vhost fields the loader reads (the default queue type lives in the metadata).
_VHOST_FIELDS = frozenset({"name", "metadata", "default_queue_type"})
_POLICY_FIELDS = ("pattern", "apply-to", "definition", "priority")
#: The part of a Problem's ``where`` that names an item: "queues[7]" of "queues[7].name".
_ITEM_WHERE = r"(?P<key>[a-z]+)\[(?P<index>\d+)\]"


def endpoint_of(body: Any) -> str | None:
    """The endpoint a saved body came from, told by its content; None when it cannot be told.

    A list (or a paged body, whose ``items`` it looks at) is named by its first object
    that says which endpoint it is from: bindings have ``destination_type``, parameters
    ``component``, policies ``pattern`` and ``apply-to`` (operator policies look the same:
    only a name can tell them apart), exchanges ``type`` and ``internal``, queues
    ``durable`` and one of ``exclusive``/``node``/``state``/``messages``/``consumers``,
    vhosts ``name`` and ``tracing`` or ``cluster_state``. ``/api/overview`` is an object with
    ``management_version``. An empty list cannot be told.
    """
    if _is_paged(body):
        body = body["items"]
    elif isinstance(body, dict):
        return "overview" if body.keys() & _OVERVIEW_FIELDS else None
    if not isinstance(body, list):
        return None
    for item in body:
        if isinstance(item, dict):
            endpoint = _item_endpoint(item.keys())
            if endpoint is not None:
                return endpoint
    return None


def _item_endpoint(fields: Any) -> str | None:
    if "destination_type" in fields:
        return "bindings"
    if "component" in fields:
        return "parameters"
    if "pattern" in fields and "apply-to" in fields:
        return "policies"
    if "type" in fields and "internal" in fields:
        return "exchanges"
    if "durable" in fields and fields & {"exclusive", "node", "state", "messages", "consumers"}:
        return "queues"
    if "name" in fields and fields & {"tracing", "cluster_state"}:
        return "vhosts"
    return None


def is_api_output(document: Any) -> bool:
    """Whether a parsed file is saved management-API output rather than a definitions export.

    Told by content, never by file name:

    - a list is API output when it is empty or ``endpoint_of`` names its endpoint (an
      export is always an object);
    - an object is when it is a paged body (``items`` and ``page``) or ``/api/overview``;
    - any other object is an export when it has a key only exports have
      (``rabbit_version``, ``rabbitmq_version``, ``product_version``, ``users``, ...).
      Otherwise it is API output when its keys name endpoints (``queues``, ``/api/queues``)
      and one of them is written the API's way (``/api/queues``, ``operator-policies``)
      or holds a paged body, or an item carries a field only the broker's lists have
      (``node``, ``state``, ``messages``, ``user_who_performed_action``,
      ``properties_key``, ...). An object keyed ``queues``/``exchanges``/... with none of
      these signs is indistinguishable from an export, and reading it as one gives the
      same topology.
    """
    if isinstance(document, list):
        return not document or endpoint_of(document) is not None
    if not isinstance(document, dict):
        return False
    if _is_paged(document) or document.keys() & _OVERVIEW_FIELDS:
        return True
    if document.keys() & _EXPORT_MARKERS:
        return False
    keyed = [(key, value) for key, value in document.items() if _endpoint_name(key)]
    if not keyed:
        return False
    return any(key not in TOP_LEVEL_KEYS or _is_paged(value)
               or (isinstance(value, list) and _has_runtime_field(value))
               for key, value in keyed)


def _has_runtime_field(items: list[Any]) -> bool:
    return any(isinstance(item, dict) and not item.keys().isdisjoint(_RUNTIME_FIELDS)
               for item in items)


def _is_paged(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("items"), list) and "page" in body


def _endpoint_name(name: Any) -> str | None:
    """The endpoint a key or a file name names (see _ENDPOINT_NAME), or None."""
    found = re.match(_ENDPOINT_NAME, name) if isinstance(name, str) else None
    return found["name"].lower().replace("_", "-") if found else None


# -- turning bodies into an export's document -------------------------------------------

@record
class _Body:
    """One endpoint's list of items, and how to find an item in the text it came from.

    ``source`` is the saved file, None for a body fetched live; ``locate`` turns
    (index, field...) of an item into a line of that file.
    """

    endpoint: str
    items: list[Any]
    source: str | None
    locate: Callable[[tuple[Any, ...]], int | None]


def _no_line(_path: tuple) -> None:
    return None


class _Collector:
    """Gathers endpoint bodies, then reads them as one definitions document."""

    def __init__(self) -> None:
        self.bodies: list[_Body] = []
        self.problems: list[Problem] = []
        # endpoint -> pages seen and the page count the bodies announce
        self.pages: dict[str, tuple[set[int], int]] = {}
        self.unpaged: set[str] = set()

    def problem(self, severity: Severity, code: ProblemCode, message: str, source: str | None,
                line: int | None = None, where: str | None = None) -> None:
        self.problems.append(Problem(severity, code, message, line, where, source))

    def add(self, endpoint: str, body: Any, *, source: str | None,
            locate: Callable[[tuple], int | None] = _no_line) -> None:
        """One endpoint's body; ``locate`` finds paths inside it, such as (3, "name")."""
        if body is None or endpoint == "overview":
            return  # the overview holds no entity
        if _is_paged(body):
            pages, count = self.pages.get(endpoint, (set(), 0))
            page, page_count = body.get("page"), body.get("page_count")
            if isinstance(page, int) and isinstance(page_count, int):
                self.pages[endpoint] = (pages | {page}, max(count, page_count))
            self.bodies.append(_Body(endpoint, body["items"], source,
                                     lambda path: locate(("items", *path))))
        elif isinstance(body, list):
            self.unpaged.add(endpoint)
            self.bodies.append(_Body(endpoint, body, source, locate))
        else:
            self.problem(ERROR, "schema", f"the {endpoint} body should be a list or a paged "
                         f"object, not {json_kind(body)}; skipped", source, locate(()), endpoint)

    def add_keyed(self, document: dict[Any, Any], *, source: str | None,
                  locate: Callable[[tuple], int | None] = _no_line) -> None:
        """An object keyed by endpoint; ``locate`` finds paths from the object's top."""
        for key, body in document.items():
            endpoint = _endpoint_name(key)
            if endpoint is None:
                self.problem(WARNING, "unknown-field", f"{key!r} names no management-API "
                             "endpoint; ignored", source, locate((key,)), str(key))
            else:
                def in_body(path: tuple[Any, ...], key: Any = key) -> int | None:
                    return locate((key, *path))

                self.add(endpoint, body, source=source, locate=in_body)

    def add_saved(self, text: str, *, source: str, name_hint: str | None) -> bool:
        """One saved file's text: a body of one endpoint, or an object keyed by endpoint.

        Returns whether it was management-API output.
        """
        try:
            document = read_json(text)
        except ParseError as exc:
            self.problem(ERROR, exc.code, exc.message, source, exc.line)
            return False
        content = endpoint_of(document)
        if content == "overview":
            return True  # it holds no entity
        if isinstance(document, list) or _is_paged(document):
            named = _endpoint_name(os.path.basename(name_hint or ""))
            endpoint = content if content is not None and (content, named) != (
                "policies", "operator-policies") else named
            items = document["items"] if _is_paged(document) else document
            if endpoint is None:
                if items:  # an empty list holds nothing to miss
                    self.problem(WARNING, "schema", "cannot tell which management-API "
                                 "endpoint this list came from; name the file after it "
                                 "(queues.json, bindings.json, ...); skipped", source, 1)
                return not items
            if isinstance(document, list):
                # load's locator finds the elements of a top-level key's list: give the
                # list a key, on the first line so that every line number stays the same
                locator = Locator('{"":' + text + "\n}", is_yaml=False)
                self.add(endpoint, document, source=source,
                         locate=lambda path: locator(("", *path)))
            else:
                self.add(endpoint, document, source=source, locate=Locator(text, False))
            return True
        if is_api_output(document):
            self.add_keyed(document, source=source, locate=Locator(text, False))
            return True
        self.problem(WARNING, "schema", "this is not saved management-API output (a "
                     "definitions export is read as a definitions file); skipped", source, 1)
        return False

    def read(self, *, source: str, vhost: str | None, taken_at: str | None) -> Topology:
        document: dict[str, list[Any]] = {key: [] for key in (
            "vhosts", "exchanges", "queues", "bindings", "policies", "parameters")}
        # per document key, where each of its items came from: (body, index in the body)
        origins: dict[str, list[tuple[_Body, int]]] = {key: [] for key in document}
        stats: dict[tuple[Any, Any], dict[str, int]] = {}
        # an entity listed twice (pages fetched while the broker changed, queues saved
        # twice, operator policies in /api/parameters too) is one; only entries that share
        # their names are compared whole
        named: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for body in self.bodies:
            key = "parameters" if body.endpoint == "operator-policies" else body.endpoint
            for index, item in enumerate(body.items):
                if isinstance(item, dict):
                    entry = _as_definition(body.endpoint, item)
                    if entry is None:
                        continue
                    names = (key, *(str(entry.get(field)) for field in _NAMING_FIELDS))
                    same_names = named.setdefault(names, [])
                    if same_names and _dumped(entry) in map(_dumped, same_names):
                        continue
                    same_names.append(entry)
                else:
                    entry = item  # the loader reports each, located
                document[key].append(entry)
                origins[key].append((body, index))
                if body.endpoint == "queues" and isinstance(item, dict):
                    figures = {name: item[name] for name in ("messages", "consumers")
                               if type(item.get(name)) is int}
                    if figures:
                        stats[item.get("vhost"), item.get("name")] = figures

        def locate(path: tuple) -> int | None:
            if len(path) < 2 or not isinstance(path[1], int):
                return None
            body, index = origins[path[0]][path[1]]
            return body.locate((index, *path[2:]))

        topology = read_document(document, vhost=vhost, source=source, locate=locate)
        topology.problems[:0] = self.problems
        topology.problems.extend(self.missing_pages())
        topology.problems[:] = [_in_body(problem, origins) for problem in topology.problems]
        topology.queues = [replace(queue, stats=stats.get((queue.vhost, queue.name)))
                           for queue in topology.queues]
        topology.taken_at = taken_at
        return topology

    def missing_pages(self) -> Iterable[Problem]:
        for endpoint, (pages, count) in sorted(self.pages.items()):
            missing = sorted(set(range(1, count + 1)) - pages)
            if missing and endpoint not in self.unpaged:
                yield Problem(WARNING, "schema", f"{endpoint}: page(s) "
                              f"{', '.join(map(str, missing))} of {count} are not here, so "
                              f"their {endpoint} are missing", where=endpoint)


#: The fields that name an entry of any endpoint (the rest describe it).
_NAMING_FIELDS = ("vhost", "name", "component", "source", "destination", "destination_type",
                  "routing_key")


def _dumped(entry: Any) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


def _as_definition(endpoint: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """An item as an export writes it, or None for what an export leaves out."""
    if endpoint == "exchanges" and isinstance(item.get("name"), str) \
            and is_builtin_exchange(item["name"]):
        return None  # "" and amq.*: every vhost has them, and exports never list them
    if endpoint == "bindings" and item.get("source") == "":
        return None  # the default exchange's implicit binding, one per queue
    if endpoint == "operator-policies":
        # exports write operator policies as parameters of component operator_policy
        entry: dict[str, Any] = {field: item[field] for field in ("vhost", "name")
                                 if field in item}
        return {**entry, "component": "operator_policy",
                "value": {field: item[field] for field in _POLICY_FIELDS if field in item}}
    fields = _VHOST_FIELDS if endpoint == "vhosts" else ENTITY_KEYS[endpoint]
    # the export's own fields only: the broker's runtime fields would read as unknown ones
    return {field: value for field, value in item.items() if field in fields}


def _in_body(problem: Problem, origins: dict[str, list[tuple[_Body, int]]]) -> Problem:
    """Name the saved file and the item's place in its body, not in the merged document."""
    found = re.match(_ITEM_WHERE, problem.where or "")
    if found is None or found["key"] not in origins:
        return problem
    body, index = origins[found["key"]][int(found["index"])]
    merged, own = found.group(0), f"{body.endpoint}[{index}]"
    message = problem.message
    if message.startswith(merged):
        message = own + message[len(merged):]
    return replace(problem, message=message, where=own + (problem.where or "")[len(merged):],
                   source=body.source or problem.source)


# -- entry points ------------------------------------------------------------------------

def read_api(bodies: dict[str, Any], *, source: str, vhost: str | None = None,
             taken_at: str | None = None) -> Topology:
    """Read endpoint bodies, keyed by endpoint, into the Topology an export of them gives.

    Keys are endpoint names (``fetch.ENDPOINTS``, as the live client gives them) or paths
    (``/api/queues``, ``/api/queues/detailed``); bodies are lists or paged objects, None
    for one not fetched. Left out, as exports leave them out: the default and ``amq.*``
    exchanges, the default exchange's implicit bindings, the broker's runtime fields.
    Exclusive queues are kept, marked ``exclusive``; queues get ``stats`` (``messages``,
    ``consumers``) where the body had them. ``vhost`` reads only that vhost; ``taken_at``
    (ISO 8601, UTC) is when the bodies were fetched.
    """
    collector = _Collector()
    if isinstance(bodies, dict):
        collector.add_keyed(bodies, source=None)
    else:
        collector.problem(ERROR, "schema", "management-API bodies come keyed by endpoint, "
                          f"not as {json_kind(bodies)}", None)
    return collector.read(source=source, vhost=vhost, taken_at=taken_at)


def read_api_text(text: str, *, source: str, name_hint: str | None = None,
                  vhost: str | None = None, taken_at: str | None = None) -> Topology:
    """Read one saved file: one endpoint's body (a list or a paged object) or an object
    keyed by endpoint. The endpoint is told by content (``endpoint_of``), else by
    ``name_hint``, the file's name (``queues.json``, ``operator-policies.json``); only the
    name tells operator policies from policies. Never raises: problems name ``source``
    and the line.
    """
    collector = _Collector()
    collector.add_saved(text, source=source, name_hint=name_hint)
    return collector.read(source=source, vhost=vhost, taken_at=taken_at)


def read_api_file(path: str | os.PathLike[str], *, vhost: str | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Topology:
    """Read one saved file (see read_api_text); ``taken_at`` is its modification time."""
    path = os.fspath(path)
    collector = _Collector()
    modified = _read_saved(collector, path, max_bytes)
    return collector.read(source=path, vhost=vhost,
                          taken_at=iso_utc(modified) if modified is not None else None)


def read_api_folder(path: str | os.PathLike[str], *, vhost: str | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES,
                    names: list[str] | None = None) -> Topology:
    """Read a folder of saved bodies, one ``*.json`` file per endpoint (or page): the
    files ``names`` names, by default every ``*.json`` entry but folders.

    Each file is told by its content, its name when the content cannot tell (an empty
    list, operator policies); a file that is not API output is a warning and skipped.
    Problems name their file (``Problem.source``). ``taken_at`` is the newest
    modification time of the files read, in ISO 8601 UTC (``2026-11-27T03:50:00Z``): the
    state cannot be newer than the last file saved.
    """
    path = os.fspath(path)
    collector = _Collector()
    try:
        if names is None:
            names = sorted(name for name in os.listdir(path) if name.lower().endswith(".json")
                           and not os.path.isdir(os.path.join(path, name)))
    except OSError as exc:
        names = []
        collector.problem(ERROR, "io", f"cannot read the folder: {exc.strerror or exc}", path)
    else:
        if not names:
            collector.problem(ERROR, "io", "the folder holds no .json file", path)
    times = [_read_saved(collector, os.path.join(path, name), max_bytes) for name in names]
    newest = max((time for time in times if time is not None), default=None)
    return collector.read(source=path, vhost=vhost,
                          taken_at=iso_utc(newest) if newest is not None else None)


def _read_saved(collector: _Collector, path: str, max_bytes: int) -> float | None:
    """Add one saved file to ``collector``; its modification time if it was API output."""
    text, problem = read_text(path, max_bytes)
    if text is None:
        assert problem is not None  # read_text gives one or the other
        collector.problem(problem.severity, problem.code, problem.message, path)
        return None
    try:
        modified = os.path.getmtime(path)
    except OSError:  # gone since it was read: its time is unknown, its content is not
        modified = None
    return modified if collector.add_saved(text, source=path, name_hint=path) else None


def iso_utc(timestamp: float) -> str:
    """A time as ISO 8601 UTC, the way ``Topology.taken_at`` holds it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def detect(document: Document) -> bool:
    return document.parsed and is_api_output(document.value)


def read(document: Document) -> Topology:
    return read_api_text(document.text, source=document.source,
                         name_hint=os.path.basename(document.path), vhost=document.vhost,
                         taken_at=modified_at(document.path))


def modified_at(path: str) -> str | None:
    """When a saved file was last written, as ``Topology.taken_at``: when it was saved."""
    try:
        return iso_utc(os.path.getmtime(path))
    except OSError:
        return None
