"""Every place a topology can come from, named the way users write it, read into one Topology.

A source is a definitions export (JSON or YAML), saved management-API output (a file or a
folder of them), Kubernetes manifests of the Messaging Topology Operator (a file or a
folder), a management-API URL, or the name of a broker configured in ``conf.py``. Files
are told apart by their content. Several sources merge into one topology: a later one's
declaration of the same exchange, queue, policy or parameter wins, with a warning.

Plain Python: the CLI and the directive share it.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

# the module, not its names: topology.resolve imports sources.uris, so this package may be
# imported while topology.select is
from ..topology import select
from ..topology.model import ERROR, WARNING, Problem, Topology
from ..topology.records import record, replace
from . import definitions, k8s, management
from .documents import DEFAULT_MAX_BYTES, Document, read_text
from .uris import redact

if TYPE_CHECKING:  # fetch.py (HTTP) is imported when a broker is fetched
    from .fetch import Connection

#: Where the password of a broker given as a URL comes from, unless told otherwise.
PASSWORD_ENV = "RABBITMQ_PASSWORD"
USER_ENV = "RABBITMQ_USER"
_DEFINITION_SUFFIXES = (".json", ".yaml", ".yml")
_BROKER_KEYS = frozenset({"url", "user", "user_env", "password_env", "timeout", "deadline",
                          "verify", "cafile", "certfile", "keyfile"})


class SourceError(Exception):
    """A source written so that it cannot be used (the message says why and what to do)."""


@record(frozen=True)
class Broker:
    """A live broker: its name (the one conf.py gives it, else its URL), its management URL
    and where its credentials come from.

    The password is never held here, only the name of the environment variable that
    holds it, so a Broker can be pickled, logged and cached without a secret.
    """

    name: str
    url: str
    user: str | None = None
    password_env: str = PASSWORD_ENV
    timeout: float = 10.0
    #: seconds the whole fetch may take; None: fetch.DEFAULT_DEADLINE
    deadline: float | None = None
    verify: bool = True
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    def connection(self) -> Connection:
        from .fetch import DEFAULT_DEADLINE, Connection

        return Connection(self.url, user=self.user, password=os.environ.get(self.password_env),
                          timeout=self.timeout,
                          deadline=DEFAULT_DEADLINE if self.deadline is None else self.deadline,
                          verify=self.verify, cafile=self.cafile, certfile=self.certfile,
                          keyfile=self.keyfile, password_env=self.password_env)


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def broker_from_url(url: str, *, user: str | None = None,
                    password_env: str = PASSWORD_ENV, **tls: Any) -> Broker:
    """A broker written as a URL; credentials in it are refused, not used."""
    _refuse_user_info(url, password_env)
    url = url.rstrip("/")
    return Broker(url, url, user=user or os.environ.get(USER_ENV),
                  password_env=password_env, **tls)


def brokers_from_config(config: Mapping[str, Any], base_dir: str) -> dict[str, Broker]:
    """``rabbitmq_topology_brokers`` from conf.py: name -> settings.

    Settings: ``url`` (required), ``user`` or ``user_env``, ``password_env`` (default
    RABBITMQ_PASSWORD; a password itself is refused: conf.py values are pickled with the
    build environment), ``timeout`` (seconds a request), ``deadline`` (seconds the whole
    fetch), ``verify``, ``cafile``, ``certfile``, ``keyfile`` (relative to ``base_dir``).
    """
    brokers = {}
    for name, settings in config.items():
        if not isinstance(settings, dict) or not isinstance(settings.get("url"), str):
            raise SourceError(f"rabbitmq_topology_brokers[{name!r}] needs a 'url'")
        unknown = sorted(set(settings) - _BROKER_KEYS)
        if unknown:
            hint = (" (put the password in an environment variable and name it with "
                    "'password_env')" if "password" in unknown else "")
            raise SourceError(f"rabbitmq_topology_brokers[{name!r}] has unknown settings "
                              f"{', '.join(map(repr, unknown))}{hint}")
        for key in ("timeout", "deadline"):
            value = settings.get(key)
            if key in settings and (isinstance(value, bool) or not isinstance(value, (int, float))
                                    or not 0 < value < 1e6):  # NaN and infinity too
                raise SourceError(f"rabbitmq_topology_brokers[{name!r}]: {key!r} should be "
                                  "a number of seconds")
        user = settings.get("user") or os.environ.get(settings.get("user_env") or USER_ENV)
        files = {key: os.path.join(base_dir, settings[key])
                 for key in ("cafile", "certfile", "keyfile") if settings.get(key)}
        broker = broker_from_url(settings["url"], user=user,
                                 password_env=settings.get("password_env") or PASSWORD_ENV,
                                 timeout=float(settings.get("timeout", 10.0)),
                                 deadline=(float(settings["deadline"])
                                           if "deadline" in settings else None),
                                 verify=bool(settings.get("verify", True)), **files)
        brokers[name] = replace(broker, name=name)
    return brokers


def _refuse_user_info(url: str, password_env: str) -> None:
    # the user info an HTTP client would take: before the first "/", "?" or "#"
    if "@" in re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]:
        raise SourceError(f"{redact(url)}: a URL here must not hold a user or password "
                          f"(anyone who reads it reads them); give the user in {USER_ENV} "
                          f"and the password in {password_env}, or name a broker configured "
                          "with them")


def configured_broker_for(url: str, config: Mapping[str, Any], base_dir: str) -> Broker:
    """The broker of ``rabbitmq_topology_brokers`` (``config``) that ``url`` is on, with
    its settings, reading ``url`` (which may add a vhost to the configured path).

    A build sends credentials only to the brokers conf.py names: ``url`` must have the
    scheme, host and port of a configured ``url``, and its path must start with that one's
    path (the longest such wins). Raises SourceError otherwise, before any request.
    """
    _refuse_user_info(url, PASSWORD_ENV)
    wanted = _address(url)
    best: tuple[int, str] | None = None
    for name, settings in config.items():
        configured = _address(settings.get("url")) if isinstance(settings, dict) else None
        if (wanted is not None and configured is not None and wanted[0] == configured[0]
                and (wanted[1] + "/").startswith(configured[1] + "/")
                and (best is None or len(configured[1]) > best[0])):
            best = (len(configured[1]), name)
    if best is None:
        raise SourceError(f"{redact(url)}: no broker in rabbitmq_topology_brokers has this "
                          "address, and a build sends a user and password only to the "
                          "brokers conf.py names: add it there (url, user, password_env) and "
                          "write its name")
    name = best[1]
    broker = brokers_from_config({name: config[name]}, base_dir)[name]
    url = url.rstrip("/")
    return broker if url == broker.url else replace(broker, name=url, url=url)


def _address(url: Any) -> tuple[tuple[str, str, int], str] | None:
    """((scheme, host, port), path without its last "/") of a management URL, or None
    for what is no such URL (another scheme, a query or fragment, a port that is none)."""
    if not isinstance(url, str):
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return None
    if port is None or not parts.hostname or parts.query or parts.fragment:
        return None
    return (scheme, parts.hostname, port), parts.path.rstrip("/")


def parse_spec(spec: str, brokers: Mapping[str, Broker]) -> Broker | str:
    """A configured broker's name, a URL (a Broker), or else a path (returned as it is)."""
    if spec in brokers:
        return brokers[spec]
    if is_url(spec):
        return broker_from_url(spec)
    return spec

#: The readers of a file, each with ``detect(Document) -> bool`` and
#: ``read(Document) -> Topology``: the first that detects a file reads it. A definitions
#: export is last, as it is what the others are not.
READERS = (k8s, management, definitions)


# -- files and folders ---------------------------------------------------------------------

#: The files this process parsed last, while their names, times and sizes stay the same: a
#: build that draws several vhosts of one export parses it once (readers leave the parsed
#: value as it is).
_parsed: OrderedDict[tuple, Document] = OrderedDict()
MAX_PARSED = 1


def forget_parsed() -> None:
    """Let the parsed files go (a big export's text and values are several times its size)
    once nothing more is to be read from them: the models read from them stay cached."""
    _parsed.clear()


def read_file(path: str, *, vhost: str | None = None, source: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES) -> Topology:
    """One file of any kind, told by its content: the first of `READERS` that detects it
    reads it."""
    source = path if source is None else source
    try:
        status = os.stat(path)
        key: tuple | None = (path, status.st_mtime_ns, status.st_size, max_bytes)
    except OSError:
        key = None  # read_text says why
    document = _parsed.get(key) if key is not None else None
    if key is not None and document is not None:
        _parsed.move_to_end(key)
        document = replace(document, source=source, vhost=vhost)
    else:
        text, problem = read_text(path, max_bytes)
        if text is None:
            assert problem is not None  # read_text gives one or the other
            return Topology(source=source, problems=[problem])
        document = Document.of(path, text, source=source, vhost=vhost)
        if key is not None:
            _parsed[key] = document
            if len(_parsed) > MAX_PARSED:
                _parsed.popitem(last=False)
    for reader in READERS:
        if reader.detect(document):
            return reader.read(document)
    return Topology(source=source, problems=[Problem(
        WARNING, "source", "neither a definitions export, saved management-API output "
        "nor Kubernetes manifests; skipped")])


def read_folder(path: str, *, vhost: str | None = None, source: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES,
                allowed: Callable[[str], bool] | None = None) -> Topology:
    """Every definitions-like file in a folder (not its subfolders), merged.

    A folder of saved management-API bodies (one file per endpoint) is read as one
    broker's state; any other folder as files merged in name order. A file for which
    ``allowed`` (given the file's path) says no, such as a link out of the folders a build
    may read, is not read: a warning names it, and the others are read.
    """
    source = path if source is None else source
    try:
        names = _definition_files(path)
    except OSError as exc:
        return Topology(source=source, problems=[Problem(
            ERROR, "io", f"cannot read the folder: {exc.strerror or exc}")])
    if not names:
        return Topology(source=source, problems=[Problem(
            WARNING, "source", "the folder holds no .json, .yaml or .yml file")])
    kept = [name for name in names if allowed is None or allowed(os.path.join(path, name))]
    refused = [Problem(WARNING, "path", "it leads out of the folders definitions may be read "
                       "from (the source directory and rabbitmq_topology_allowed_dirs); "
                       "not read", source=os.path.join(source, name))
               for name in sorted(set(names) - set(kept))]
    names = kept
    files = [os.path.join(path, name) for name in names]
    # saved API bodies come as a folder of them: the first file tells (reading every file
    # to tell would parse each twice), and read_api_folder warns of any file that is not one
    if not names:
        topology = Topology(source=source)
    elif all(name.lower().endswith(".json") for name in names) and _is_api_file(files[0]):
        topology = management.read_api_folder(path, vhost=vhost, max_bytes=max_bytes,
                                              names=names)
    else:
        topology = merge([read_file(file, vhost=vhost, source=os.path.join(source, name),
                                    max_bytes=max_bytes)
                          for file, name in zip(files, names, strict=True)], source=source)
    topology.problems[:0] = refused
    return topology


def _definition_files(folder: str) -> list[str]:
    """The names of the entries of a folder a source reads, sorted: every one with a
    definitions suffix but folders (a FIFO or a device is refused when it is read)."""
    return sorted(name for name in os.listdir(folder)
                  if name.lower().endswith(_DEFINITION_SUFFIXES)
                  and not os.path.isdir(os.path.join(folder, name)))


def _is_api_file(path: str) -> bool:
    text, _problem = read_text(path)
    try:
        return text is not None and management.is_api_output(json.loads(text))
    except (ValueError, RecursionError):
        return False


def read_path(path: str, *, vhost: str | None = None, source: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES,
              allowed: Callable[[str], bool] | None = None) -> Topology:
    """A file or a folder; ``allowed`` says which files of a folder may be read."""
    if os.path.isdir(path):
        return read_folder(path, vhost=vhost, source=source, max_bytes=max_bytes,
                           allowed=allowed)
    return read_file(path, vhost=vhost, source=source, max_bytes=max_bytes)


def files_of(path: str) -> list[str]:
    """The files a path source reads: what a build must watch for changes."""
    if not os.path.isdir(path):
        return [path]
    try:
        return [os.path.join(path, name) for name in _definition_files(path)]
    except OSError:
        return []


# -- merging -------------------------------------------------------------------------------

def merge(parts: list[Topology], *, source: str) -> Topology:
    """One topology of several: a later part's exchange, queue, policy or parameter replaces
    an earlier one of the same name (a warning says so); bindings add up, without repeats.

    Each part's problems keep their file in ``Problem.source``. ``taken_at`` is the oldest
    of the parts' times: the merged state is no newer than that.
    """
    if len(parts) == 1:
        return parts[0]
    merged = Topology(source=source)
    # per kind: the merged list, an entity's identity, and how a warning names it
    kinds: list[tuple[str, list[Any], Callable[[Any], tuple], Callable[[Any], str]]] = [
        ("exchanges", merged.exchanges, lambda x: (x.vhost, x.name),
         lambda x: f"exchange {x.name!r}"),
        ("queues", merged.queues, lambda q: (q.vhost, q.name), lambda q: f"queue {q.name!r}"),
        ("policies", merged.policies, lambda p: (p.vhost, p.operator, p.name),
         lambda p: f"{'operator policy' if p.operator else 'policy'} {p.name!r}"),
        ("parameters", merged.parameters, lambda p: (p.vhost, p.component, p.name),
         lambda p: f"{p.component} parameter {p.name!r}"),
    ]
    # (kind, identity) -> (position in the merged list, the part that declared it)
    declared: dict[tuple, tuple[int, Topology]] = {}
    seen_bindings: set[str] = set()
    for part in parts:
        merged.problems.extend(p if p.source is not None or part.source == source
                               else replace(p, source=part.source) for p in part.problems)
        for vhost, default_type in part.vhosts.items():
            if default_type is not None or vhost not in merged.vhosts:
                merged.vhosts[vhost] = default_type
        for kind, items, identity, describe in kinds:
            for item in getattr(part, kind):
                key = (kind, identity(item))
                if key in declared:
                    position, earlier = declared[key]
                    items[position] = item
                    merged.problems.append(Problem(
                        WARNING, "override", f"{describe(item)} in vhost {item.vhost!r} from "
                        f"{earlier.source} is replaced by the one in {part.source}",
                        source=part.source))
                else:
                    position = len(items)
                    items.append(item)
                declared[key] = (position, part)
        for binding in part.bindings:
            same = json.dumps([binding.vhost, binding.source, binding.destination,
                               binding.destination_type, binding.routing_key,
                               binding.arguments], sort_keys=True, default=str)
            if same not in seen_bindings:  # the broker keeps one of identical bindings
                seen_bindings.add(same)
                merged.bindings.append(binding)
    for (kind, _identity), (position, part) in declared.items():
        queue = merged.queues[position] if kind == "queues" else None
        # a part that did not declare the queue's vhost typed it without the vhost's
        # default queue type; an import would give it that default
        if (queue is not None and queue.vhost not in part.vhosts and queue.type == "classic"
                and "x-queue-type" not in queue.arguments and merged.vhosts.get(queue.vhost)):
            merged.queues[position] = replace(queue, type=merged.vhosts[queue.vhost] or "classic")
    merged.unread = frozenset().union(*(part.unread for part in parts))
    times = [part.taken_at for part in parts if part.taken_at is not None]
    merged.taken_at = min(times) if times else None
    return merged


# -- live brokers ----------------------------------------------------------------------------

def read_live(broker: Broker, *, vhost: str | None = None) -> Topology:
    """Fetch a broker now. Raises fetch.FetchError with a message for the user."""
    from .fetch import fetch_api

    taken_at = management.iso_utc(time.time())
    bodies, warnings = fetch_api(broker.connection(), vhost=vhost)
    topology = management.read_api(bodies, source=redact(broker.url), vhost=vhost,
                                   taken_at=taken_at)
    topology.unread = frozenset(key for key in ("parameters",) if bodies.get(key) is None)
    topology.problems[:0] = [Problem(WARNING, "fetch", warning) for warning in warnings]
    return topology


def snapshot_path(snapshot_dir: str, broker: Broker, vhost: str | None) -> str:
    """``<dir>/<broker name or host>[--<vhost>].json``, safe as a file name."""
    name = broker.name if broker.name != broker.url else re.sub(r"^https?://", "", broker.url)
    if vhost is not None:
        name = f"{name}--{vhost}"
    return os.path.join(snapshot_dir, re.sub(r"[^A-Za-z0-9._-]+", "_", name) + ".json")


def read_live_or_snapshot(broker: Broker, *, vhost: str | None = None,
                          snapshot_dir: str | None = None,
                          now: Callable[[], float] = time.time) -> Topology:
    """Fetch a broker and keep a snapshot of it; when it cannot be fetched, draw the last
    snapshot (or nothing) with one warning that says why and how old the snapshot is."""
    from .fetch import FetchError

    snapshot = snapshot_path(snapshot_dir, broker, vhost) if snapshot_dir else None
    try:
        topology = read_live(broker, vhost=vhost)
    except FetchError as exc:
        reason = str(exc)
    else:
        if snapshot is not None:
            from ..output.definitions import write_definitions

            try:
                os.makedirs(os.path.dirname(snapshot), exist_ok=True)
                write_definitions(topology, snapshot)
            except OSError as exc:
                topology.problems.insert(0, Problem(
                    WARNING, "snapshot", f"cannot write the snapshot {snapshot}: "
                    f"{exc.strerror or exc}; drawn from the broker as fetched"))
        return topology
    if snapshot is None or not os.path.exists(snapshot):
        hint = ("" if snapshot_dir else
                "; set rabbitmq_topology_snapshot_dir to draw the last snapshot instead")
        return Topology(source=broker.name, problems=[Problem(
            WARNING, "fetch", f"{reason}; nothing drawn{hint}")])
    topology = read_path(snapshot, vhost=vhost)
    if any(problem.severity == ERROR for problem in topology.problems):
        drawn = f"the snapshot {snapshot} has errors too (below); what it holds is drawn"
    else:
        drawn = f"drawn from the snapshot {snapshot}, taken {_age(topology.taken_at, now())}"
    topology.problems.insert(0, Problem(WARNING, "fetch", f"{reason}; {drawn}"))
    return topology


def _age(taken_at: str | None, now: float) -> str:
    if taken_at is None:
        return "at an unknown time"
    import calendar

    try:
        seconds = now - calendar.timegm(time.strptime(taken_at, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return f"at {taken_at}"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago ({taken_at})"
    return f"less than a minute ago ({taken_at})"


def once_per_build(cache_file: str, build: str, produce: Callable[[], Topology]) -> Topology:
    """``produce()`` once per build however many processes ask: the first runs it under a
    file lock and leaves its result in ``cache_file``; the others (parallel readers) wait for
    the lock and read that. The result holds no secret: loading has redacted them."""
    import pickle

    os.makedirs(os.path.dirname(cache_file), exist_ok=True)
    with open(cache_file + ".lock", "a") as lock:
        try:
            import fcntl
        except ImportError:  # no fcntl (Windows): each process fetches for itself
            pass
        else:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        try:
            with open(cache_file, "rb") as stream:
                cached_build, topology = pickle.load(stream)
            if cached_build == build:
                return topology
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            pass  # none yet, or unreadable: produce it
        topology = produce()
        partial = f"{cache_file}.{os.getpid()}"
        with open(partial, "wb") as stream:
            pickle.dump((build, topology), stream)
        os.replace(partial, cache_file)
        return topology


# -- reading for a build -------------------------------------------------------------------

@record(frozen=True)
class FileSource:
    """A file or folder a build draws: its path, and how its problems name it."""

    path: str
    name: str


@record(frozen=True)
class Build:
    """How one build reads its sources, the same for every page and process of the build.

    ``id`` tells builds apart (a live broker is fetched once a build); ``cache_dir`` is a
    folder the build's processes share (a fetched broker is left there for the others);
    ``roots`` are the folders files may be read from; ``snapshot_dir`` is where fetched
    brokers are kept (None: nowhere).
    """

    id: str
    cache_dir: str
    roots: tuple[str, ...]
    snapshot_dir: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES

    def allowed(self, path: str) -> bool:
        """Whether a file may be read: it is (links followed) inside one of the roots."""
        target = os.path.realpath(path)
        return any(os.path.commonpath([target, root]) == root
                   for root in map(os.path.realpath, self.roots))


Source = Broker | FileSource
#: The models this process read, the most recently used last: a page (of this build or the
#: next one in the process) reads again only what changed. Only a cache: what a page
#: reports comes from the model it is given.
_models: OrderedDict[tuple, select.Model] = OrderedDict()
MAX_CACHED_MODELS = 32


def read_for_build(sources: Sequence[Source], *, vhost: str | None, build: Build,
                   name: str) -> select.Model:
    """What a build draws of *sources* (merged, named *name*), with their problems: a file
    is read once per process while it is unchanged, a live broker fetched once per build
    however many processes ask (its snapshot drawn when it cannot be), and each vhost
    resolved once, for every page that draws it."""
    if len(sources) == 1:
        return _read_one(sources[0], vhost, build)
    key = ("merged", tuple(_key(source, vhost, build) for source in sources), name)
    return _cached(key, lambda: select.Model(merge(
        [_read_one(source, vhost, build).topology for source in sources], source=name)))


def stamps(sources: Sequence[Source]) -> tuple:
    """What says that a file source (or a folder's files) changed: names, times and sizes;
    live brokers change at any time, and have none."""
    return tuple(_stamp(source.path) for source in sources if isinstance(source, FileSource))


def _read_one(source: Source, vhost: str | None, build: Build) -> select.Model:
    key = _key(source, vhost, build)
    if isinstance(source, FileSource):
        return _cached(key, lambda: select.Model(read_path(
            source.path, vhost=vhost, source=source.name, max_bytes=build.max_bytes,
            allowed=build.allowed)))
    for old in [old for old in _models if old[0] == "live" and old[1] != build.id]:
        del _models[old]  # an earlier build's fetch
    cache_file = os.path.join(build.cache_dir, "rabbitmq-live",
                              os.path.basename(snapshot_path("", source, None)))
    # the whole broker, fetched once: each page draws its own vhost of it
    return _cached(key, lambda: select.Model(once_per_build(
        cache_file, build.id,
        lambda: read_live_or_snapshot(source, snapshot_dir=build.snapshot_dir))))


def _key(source: Source, vhost: str | None, build: Build) -> tuple:
    if isinstance(source, FileSource):
        # the roots decide which files of a folder are read
        return ("path", source.path, _stamp(source.path), vhost, source.name, build.roots,
                build.max_bytes)
    return ("live", build.id, source)


def _cached(key: tuple, read: Callable[[], select.Model]) -> select.Model:
    model = _models.get(key)
    if model is None:
        model = _models[key] = read()
        if len(_models) > MAX_CACHED_MODELS:
            _models.popitem(last=False)
    else:
        _models.move_to_end(key)
    return model


def _stamp(path: str) -> tuple:
    stamps = []
    for file in files_of(path):
        try:
            status = os.stat(file)
        except OSError:
            stamps.append((file, 0, -1))
        else:
            stamps.append((file, status.st_mtime_ns, status.st_size))
    return tuple(stamps)
