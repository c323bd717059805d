"""Speed of reading a live broker against the plain HTTP GETs of the same URLs.

Run: ``.venv/bin/python bench/bench_fetch.py [--runs N] [--url URL] [--keep]``, with the
user in RABBITMQ_USER and the password in RABBITMQ_PASSWORD (defaults: the test broker of
``scripts/rabbitmq.sh``). The user must be an administrator: the benchmark declares the
topology of ``bench/generate.py`` (5,000 queues, 15,000 bindings, 400 exchanges, 250
policies) in vhosts of its own, named ``bench-fetch-*``, and deletes them at the end
unless ``--keep``. ``--queues N`` declares N queues instead, with 3N bindings and N/12.5
exchanges, ``--vhosts N`` spreads them over N vhosts (default 4), ``--queue-type classic``
makes every queue classic (thousands of quorum queues weigh on a shared test broker).

It also prints what the fetch's limits (``fetch.DEFAULT_DEADLINE``, ``MAX_PAGES``,
``MAX_FETCH_BYTES``) are measured against: the bytes of all the answers, the largest
answer, the most pages of one list, and the seconds of a fetch.

Target: ``sources.read_live`` of the whole broker (the GETs, JSON parsing, conversion,
loading into a Topology) takes at most 2x the time of the GETs alone, bodies read but not
parsed. The GETs are the very URLs ``fetch_api`` requests (paths, paging, columns),
recorded from one fetch. Both are timed in the same runs, alternating, because the
machine is shared; ``fetch_api`` alone and ``read_api`` alone say where the time goes.
Exits 0 when the target is met, 1 when it is not, 2 when the broker refuses a call.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import generate  # noqa: E402
from sphinxext_rabbit.sources import (  # noqa: E402
    PASSWORD_ENV,
    USER_ENV,
    Broker,
    broker_from_url,
    fetch,  # noqa: E402
    read_live,
)
from sphinxext_rabbit.sources.management import read_api  # noqa: E402

DEFAULT_URL = "http://127.0.0.1:15673"
# the test broker's administrator (scripts/rabbitmq.sh): no secret outside it
DEFAULT_USER = "sphinx-test"
DEFAULT_PASSWORD = "sphinx-test-password"
VHOST_PREFIX = "bench-fetch-"
#: seconds the broker may take to declare or delete thousands of queues
SLOW_REQUEST = 600.0
TARGET = 2.0
#: entities imported per request
IMPORT_BATCH = 10000


class BenchError(Exception):
    """The broker refused a call, or did not list the declared queues in time."""


class ManagementApi:
    """Calls to the management API with one user's basic auth."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.authorization = f"Basic {token}"
        self.opener = urllib.request.build_opener()

    def call(self, method: str, path: str, body: object = None) -> object:
        """``/api/<path>`` (percent-encoded); the decoded answer, None when it is empty."""
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": self.authorization, "Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=SLOW_REQUEST) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            with error:
                answer = error.read().decode(errors="replace")[:500]
            raise BenchError(f"{method} /api/{path}: HTTP {error.code}: {answer}") from None
        return json.loads(text) if text else None

    def get_raw(self, url: str) -> int:
        """GET a full URL and read the whole body without parsing it; its length."""
        request = urllib.request.Request(url)
        # as fetch sends it: only to this host, never along a redirect
        request.add_unredirected_header("Authorization", self.authorization)
        with self.opener.open(request, timeout=SLOW_REQUEST) as response:
            return len(response.read())


def bench_definitions(user: str, queues: int = 5000, vhosts: int = 4,
                      queue_type: str | None = None) -> dict:
    """The generated topology, in ``bench-fetch-*`` vhosts, in a shape RabbitMQ 3.10 takes.

    3.10 refuses two things the generator writes: ``x-dead-letter-exchange`` on a stream
    (streams do not dead-letter) and a policy applying to ``quorum_queues`` (3.12 added
    the per-type targets); those policies apply to ``queues``, which includes them.
    """
    document = generate(queues=queues, bindings=3 * queues, exchanges=queues * 2 // 25,
                        vhosts=vhosts)
    if queue_type is not None:
        for queue in document["queues"]:
            queue["arguments"]["x-queue-type"] = queue_type
    renamed = {vhost["name"]: f"{VHOST_PREFIX}{index}"
               for index, vhost in enumerate(document["vhosts"])}
    for key in ("queues", "exchanges", "bindings", "policies"):
        for item in document[key]:
            item["vhost"] = renamed[item["vhost"]]
    for queue in document["queues"]:
        if queue["arguments"]["x-queue-type"] == "stream":
            queue["arguments"].pop("x-dead-letter-exchange", None)
    for policy in document["policies"]:
        if policy["apply-to"] == "quorum_queues":
            policy["apply-to"] = "queues"
    return {
        "vhosts": [{"name": name} for name in renamed.values()],
        # no users: the generated admin would be a real login on a shared broker
        "users": [],
        "permissions": [{"user": user, "vhost": name, "configure": ".*", "write": ".*",
                         "read": ".*"} for name in renamed.values()],
        **{key: document[key] for key in ("exchanges", "queues", "bindings", "policies")},
    }


def declare(api: ManagementApi, definitions: dict, wait: float) -> None:
    """Import the definitions, then wait until every queue is listed."""
    vhosts = [vhost["name"] for vhost in definitions["vhosts"]]
    existing = {vhost["name"] for vhost in api.call("GET", "vhosts")} & set(vhosts)
    if existing:  # left by --keep: the import is the same, and quick
        print(f"reusing vhosts {', '.join(sorted(existing))}")
    started = time.perf_counter()
    # in parts: the broker refuses a request body over 20 MB (management.http.max_body_size)
    api.call("POST", "definitions", {key: definitions[key]
                                     for key in ("vhosts", "users", "permissions")})
    for key in ("exchanges", "queues", "bindings", "policies"):
        for start in range(0, len(definitions[key]), IMPORT_BATCH):
            api.call("POST", "definitions",
                     {key: definitions[key][start:start + IMPORT_BATCH]})
    expected = len(definitions["queues"])
    while True:
        listed = sum(
            api.call("GET", f"queues/{quote(vhost, safe='')}?page=1&page_size=1&columns=name")
            ["total_count"] for vhost in vhosts)
        if listed >= expected:
            break
        if time.perf_counter() - started > wait:
            raise BenchError(f"only {listed} of {expected} queues listed after {wait:g} s")
        time.sleep(0.5)
    print(f"declared {expected} queues, {len(definitions['bindings'])} bindings, "
          f"{len(definitions['exchanges'])} exchanges, {len(definitions['policies'])} "
          f"policies in {len(vhosts)} vhosts ({', '.join(vhosts)}) "
          f"in {time.perf_counter() - started:.1f} s")


def delete_vhosts(api: ManagementApi, vhosts: list[str]) -> None:
    for vhost in vhosts:
        try:
            api.call("DELETE", f"vhosts/{quote(vhost, safe='')}")
        except BenchError as error:  # one not created (or gone) must not keep the others
            print(f"could not delete vhost {vhost!r}: {error}", file=sys.stderr)


def recorded_urls(connection: fetch.Connection) -> list[str]:
    """The URLs one ``fetch_api`` of the whole broker requests, in order."""
    urls: list[str] = []
    original_get = fetch._Api.get

    def recording_get(api: fetch._Api, path: str) -> fetch._Answer:
        urls.append(api.origin + path)
        return original_get(api, path)

    with mock.patch.object(fetch._Api, "get", recording_get):
        fetch.fetch_api(connection)
    return urls


def endpoint_of(url: str) -> str:
    """The endpoint a recorded URL lists: ``queues`` for ``.../api/queues?page=2&...``."""
    return url.partition("?")[0].partition("/api/")[2]


def get_all(api: ManagementApi, urls: list[str]) -> dict[str, float]:
    """GET every URL, bodies read but not parsed; the seconds spent per endpoint."""
    seconds: dict[str, float] = {}
    for url in urls:
        started = time.perf_counter()
        api.get_raw(url)
        endpoint = endpoint_of(url)
        seconds[endpoint] = seconds.get(endpoint, 0.0) + time.perf_counter() - started
    return seconds


def measure(api: ManagementApi, broker: Broker, runs: int) -> int:
    connection = broker.connection()
    urls = recorded_urls(connection)
    # one untimed round of each warms the imports and the broker's caches for all runs
    sizes = [api.get_raw(url) for url in urls]
    bodies, _warnings = fetch.fetch_api(connection)
    read_api(bodies, source=broker.url)
    counts = {key: len(bodies[key]) for key in fetch.ENDPOINTS[1:]}
    print(f"the whole broker: {len(urls)} GETs, {sum(sizes) / 1e6:.1f} MB, {counts}")
    largest = max(range(len(urls)), key=sizes.__getitem__)
    pages = [url.partition("?")[0] for url in urls if "page=" in url]
    print(f"limits: all answers {sum(sizes) / 2**20:.1f} MiB of MAX_FETCH_BYTES "
          f"{fetch.MAX_FETCH_BYTES / 2**20:.0f} MiB; the largest {sizes[largest] / 2**20:.1f} "
          f"MiB ({endpoint_of(urls[largest])}); the most pages of one list "
          f"{max(map(pages.count, pages), default=0)} of MAX_PAGES {fetch.MAX_PAGES}")

    timings: dict[str, list[float]] = {"raw": [], "fetch": [], "read": [], "full": []}
    fastest_raw: dict[str, float] = {}

    def timed(name: str, action, *args, **kwargs):
        started = time.perf_counter()
        result = action(*args, **kwargs)
        timings[name].append(time.perf_counter() - started)
        return result

    for _ in range(runs):
        by_endpoint = timed("raw", get_all, api, urls)
        if timings["raw"][-1] == min(timings["raw"]):
            fastest_raw = by_endpoint
        fetched, _warnings = timed("fetch", fetch.fetch_api, connection)
        timed("read", read_api, fetched, source=broker.url)
        topology = timed("full", read_live, broker)
    best = {name: min(seconds) for name, seconds in timings.items()}
    print(f"limits: fetch_api took {min(timings['fetch']):.1f} to {max(timings['fetch']):.1f} s "
          f"of DEFAULT_DEADLINE {fetch.DEFAULT_DEADLINE:g} s")
    ratio = best["full"] / best["raw"]
    print(f"best of {runs}: raw GETs {best['raw'] * 1e3:.0f} ms, fetch_api "
          f"{best['fetch'] * 1e3:.0f} ms, read_api {best['read'] * 1e3:.0f} ms, read_live "
          f"{best['full'] * 1e3:.0f} ms -> {ratio:.2f}x the raw GETs (target <= {TARGET:g}x)")
    requests = [endpoint_of(url) for url in urls]
    print("raw GETs by endpoint (fastest run): " + ", ".join(
        f"{endpoint} {requests.count(endpoint)}x {seconds * 1e3:.0f} ms"
        for endpoint, seconds in sorted(fastest_raw.items(), key=lambda item: -item[1])))
    print(f"read_live's topology: {len(topology.queues)} queues, {len(topology.bindings)} "
          f"bindings, {len(topology.exchanges)} exchanges, {len(topology.policies)} policies")
    met = ratio <= TARGET
    print("target met" if met else "TARGET MISSED")
    return 0 if met else 1



def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default=DEFAULT_URL, help="the management API (no vhost)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the bench-fetch-* vhosts (a later run reuses them)")
    parser.add_argument("--wait", type=float, default=300.0,
                        help="seconds to wait for the broker to list every queue")
    parser.add_argument("--queues", type=int, default=5000,
                        help="queues to declare, with 3 bindings each (default 5000)")
    parser.add_argument("--vhosts", type=int, default=4, help="vhosts to spread them over")
    parser.add_argument("--queue-type", choices=("classic", "quorum", "stream"),
                        help="every queue of this type (default: a mix)")
    args = parser.parse_args()

    user = os.environ.get(USER_ENV, DEFAULT_USER)
    # read_live takes the password from the environment only
    os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
    api = ManagementApi(args.url, user, os.environ[PASSWORD_ENV])
    definitions = bench_definitions(user, args.queues, args.vhosts, args.queue_type)
    try:
        declare(api, definitions, args.wait)
        return measure(api, broker_from_url(args.url, user=user), args.runs)
    except BenchError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            started = time.perf_counter()
            delete_vhosts(api, [vhost["name"] for vhost in definitions["vhosts"]])
            print(f"deleted the bench-fetch-* vhosts in {time.perf_counter() - started:.1f} s")

if __name__ == "__main__":
    sys.exit(main())
