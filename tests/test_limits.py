"""A live fetch is bounded as a whole: a deadline, a page limit and a byte limit, whatever
the server does; past one, one located message, and no snapshot.

The servers are the hostile ones of tests/hostile.py, on 127.0.0.1. Each case checks how
long the failure took: within the deadline and a margin for the process or the build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sphinxext_rabbit.sources import SourceError, brokers_from_config, fetch
from sphinxext_rabbit.sources.fetch import Connection, FetchError, fetch_api
from tests import hostile
from tests.helpers import FIXTURES, ROOT, page_text, shown_type

#: seconds a failure may come after the deadline: the timer, the last read, threads
MARGIN = 1.5
#: and for a new process (its imports) or a Sphinx build
PROCESS_MARGIN = 8.0


def deadline_message(url: str, seconds: float) -> str:
    return (f"{url}: the fetch did not end within its deadline of {seconds:g} s: is the "
            "broker that slow, or does this server send its answers a trickle at a time? "
            "A big, busy broker may need a longer deadline ('deadline' in "
            "rabbitmq_topology_brokers, --deadline on the command line), or to be read one "
            "vhost at a time")


def bytes_message(url: str, limit: int, announced: str = "") -> str:
    said = f" (this one announces {announced} bytes)" if announced else ""
    return (f"{url}: the answers hold more than {limit:,} bytes in all, the most a fetch "
            f"reads{said}: is this a RabbitMQ management API? (to read less, end the URL "
            "with one vhost)")


def pages_message(url: str, limit: int) -> str:
    return (f"{url}: the list of exchanges has more than {limit:,} pages of 500, the most a "
            "fetch reads: is this a RabbitMQ management API? (to read less, end the URL "
            "with one vhost)")


def failure(connection: Connection) -> tuple[str, float]:
    """The message fetch_api fails with, and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(FetchError) as raised:
        fetch_api(connection)
    return str(raised.value), time.monotonic() - started


def slowly(behave: Callable[[hostile.Request], None],
           seconds: float) -> Callable[[hostile.Request], None]:
    def slow(request: hostile.Request) -> None:
        time.sleep(seconds)
        behave(request)
    return slow


# -- the limits, one by one ---------------------------------------------------------------

@pytest.mark.parametrize("behave", [hostile.trickle, hostile.slow_headers,
                                    slowly(hostile.endless_pages, 0.1)],
                         ids=["trickled-body", "slow-headers", "slow-endless-pages"])
@pytest.mark.parametrize("deadline", [0.5, 1.5])
def test_the_deadline_ends_a_fetch_that_each_read_keeps_alive(behave, deadline: float):
    with hostile.serve(behave) as server:
        message, took = failure(Connection(server.url, "guest", "guest", timeout=10,
                                           deadline=deadline))
    # the request under way when the deadline passed
    assert message.startswith(f"{server.url}/api/")
    assert message.partition(": ")[2] == deadline_message("", deadline).partition(": ")[2]
    assert deadline <= took < deadline + MARGIN


def test_a_page_count_that_never_ends_stops_at_the_page_limit():
    with hostile.serve(hostile.endless_pages) as server:
        message, took = failure(Connection(server.url, "guest", "guest", max_pages=40))
    assert message == pages_message(f"{server.url}/api/exchanges/{hostile.VHOST}", 40)
    # overview, vhosts, then the 40 pages read
    assert server.requests == 42
    assert took < 10


def test_a_list_announcing_a_billion_pages_is_refused_at_its_first_page():
    with hostile.serve(hostile.countless_pages) as server:
        message, took = failure(Connection(server.url, "guest", "guest"))
    assert message == pages_message(f"{server.url}/api/exchanges/{hostile.VHOST}",
                                    fetch.MAX_PAGES)
    assert server.requests == 3
    assert took < MARGIN


def test_a_content_length_of_gigabytes_is_refused_unread():
    with hostile.serve(hostile.huge_content_length) as server:
        message, took = failure(Connection(server.url, "guest", "guest"))
    assert message == bytes_message(f"{server.url}/api/overview", fetch.MAX_FETCH_BYTES,
                                    "10000000000")
    assert took < MARGIN


@pytest.mark.parametrize("behave", [hostile.endless_chunked, hostile.endless_unsized],
                         ids=["chunked", "until-the-connection-ends"])
@pytest.mark.parametrize("limit", [1 << 20, 8 << 20])
def test_a_body_that_never_ends_stops_at_the_byte_limit(behave, limit: int):
    with hostile.serve(behave) as server:
        message, took = failure(Connection(server.url, "guest", "guest", max_bytes=limit))
    assert message == bytes_message(f"{server.url}/api/overview", limit)
    assert took < 5


def test_the_byte_limit_counts_every_answer_of_the_fetch():
    # each answer is small; together they are more than the limit allows
    with hostile.serve(hostile.Request.api) as server:
        whole = len(fetch_api(Connection(server.url, "guest", "guest"))[0])
        assert whole == len(fetch.ENDPOINTS)
        message, _took = failure(Connection(server.url, "guest", "guest", max_bytes=600))
    # the answer that would take the fetch past the limit, which its length tells
    url, _, reason = message.partition(": ")
    assert url.startswith(f"{server.url}/api/") and url != f"{server.url}/api/overview"
    assert reason.startswith("the answers hold more than 600 bytes in all, the most a fetch "
                             "reads (this one announces ")


def test_the_defaults_fit_a_broker_of_20000_queues():
    # measured on the test broker (see fetch.py): 40 pages, 20 MiB, 120 s at most
    assert fetch.MAX_PAGES >= 20 * 40
    assert fetch.MAX_FETCH_BYTES >= 8 * 20 * 2**20
    assert fetch.DEFAULT_DEADLINE >= 4 * 120


# -- the deadline as a setting ----------------------------------------------------------------

def test_a_configured_broker_takes_a_deadline():
    [broker] = brokers_from_config({"shop": {"url": "https://rabbit.example:15671",
                                             "deadline": 45}}, "/docs").values()
    assert broker.connection().deadline == 45.0
    [default] = brokers_from_config({"shop": {"url": "https://rabbit.example:15671"}},
                                    "/docs").values()
    assert default.connection().deadline == fetch.DEFAULT_DEADLINE


@pytest.mark.parametrize("deadline", ["60s", 0, -1, True, float("nan"), float("inf"), None])
def test_a_deadline_that_is_no_number_of_seconds_is_refused(deadline):
    with pytest.raises(SourceError) as raised:
        brokers_from_config({"shop": {"url": "https://rabbit.example:15671",
                                      "deadline": deadline}}, "/docs")
    assert str(raised.value) == ("rabbitmq_topology_brokers['shop']: 'deadline' should be a "
                                 "number of seconds")


# -- the command line ---------------------------------------------------------------------------

def command(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "sphinxext_rabbit", *args],
                               capture_output=True, text=True, cwd=ROOT, check=False,
                               timeout=timeout, env={**os.environ, "RABBITMQ_USER": "guest",
                                                     "RABBITMQ_PASSWORD": "guest"})
    return completed, time.monotonic() - started


def command_args(name: str, url: str, tmp_path: Path) -> list[str]:
    return {"dot": [url], "edges": [url], "check": [url],
            "render": [url, "-o", str(tmp_path / "out.svg")],
            "fetch": [url, "-o", str(tmp_path / "snapshot.json")],
            "diff": [url, str(FIXTURES / "overlay" / "base.json")]}[name]


@pytest.mark.parametrize("name", ["dot", "render", "edges", "check", "fetch", "diff"])
def test_every_command_that_fetches_takes_deadline(name: str, tmp_path: Path):
    with hostile.serve(hostile.trickle) as server:
        completed, took = command(name, *command_args(name, server.url, tmp_path),
                                  "--deadline", "1")
    assert completed.returncode == (2 if name == "diff" else 1)
    assert completed.stdout == ""
    assert completed.stderr == (f"{server.url}: error: "
                                f"{deadline_message(server.url + '/api/overview', 1)} "
                                "[rabbitmq.fetch]\n")
    assert 1 <= took < 1 + PROCESS_MARGIN
    assert list(tmp_path.iterdir()) == []  # no snapshot, no image


@pytest.mark.parametrize("behave, message", [
    (hostile.slow_headers, lambda url: deadline_message(url, 2)),
    (hostile.huge_content_length,
     lambda url: bytes_message(url, fetch.MAX_FETCH_BYTES, "10000000000")),
    # at full speed: the byte limit, at its default, comes long before the deadline
    (hostile.endless_chunked, lambda url: bytes_message(url, fetch.MAX_FETCH_BYTES)),
], ids=["slow-headers", "huge-content-length", "endless-chunked"])
def test_fetch_writes_no_snapshot_past_a_limit(behave, message, tmp_path: Path):
    snapshot = tmp_path / "snapshot.json"
    with hostile.serve(behave) as server:
        completed, took = command("fetch", server.url, "-o", str(snapshot), "--deadline", "2")
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == (f"{server.url}: error: {message(server.url + '/api/overview')}"
                                " [rabbitmq.fetch]\n")
    assert took < 2 + PROCESS_MARGIN
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan", "1e9"])
def test_a_deadline_flag_that_is_no_number_of_seconds_is_refused(value: str):
    completed, _took = command("check", "http://127.0.0.1:1", f"--deadline={value}")
    assert completed.returncode == 2
    assert f"argument --deadline: {value!r} is not a number of seconds above 0" in \
        completed.stderr


# -- a Sphinx build ------------------------------------------------------------------------------

def sphinx_project(root: Path, url: str, **settings: object) -> Path:
    """A project drawing the broker "hostile" at ``url``, with a snapshot folder."""
    root.mkdir()
    conf = {"extensions": ["sphinxext_rabbit"], "rabbitmq_topology_snapshot_dir": "snapshots",
            "rabbitmq_topology_brokers": {"hostile": {"url": url, "user": "guest",
                                                      **settings}}}
    (root / "conf.py").write_text("".join(f"{key} = {value!r}\n" for key, value in conf.items()),
                                  encoding="utf-8")
    (root / "index.rst").write_text("Live\n====\n\n.. rabbitmq-topology:: hostile\n",
                                    encoding="utf-8")
    return root


def sphinx_build(srcdir: Path, timeout: float = 120) -> tuple[list[str], float]:
    """Build in a process of its own (a hang fails the test, not the run): the warnings."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-N", "-E", str(srcdir),
         str(srcdir / "_build")], capture_output=True, text=True, check=False, timeout=timeout)
    assert completed.returncode == 0, completed.stderr
    return completed.stderr.splitlines(), time.monotonic() - started


@pytest.mark.parametrize("behave", [hostile.trickle, hostile.slow_headers],
                         ids=["trickled-body", "slow-headers"])
def test_a_build_ends_at_the_deadline_with_one_warning_and_no_snapshot(behave, tmp_path):
    with hostile.serve(behave) as server:
        srcdir = sphinx_project(tmp_path / "src", server.url, deadline=2)
        warnings, took = sphinx_build(srcdir)
    assert warnings == [
        f"{srcdir}/index.rst:4: WARNING: hostile: "
        f"{deadline_message(server.url + '/api/overview', 2)}; nothing drawn"
        + shown_type("fetch")]
    assert took < 2 + PROCESS_MARGIN
    assert not (srcdir / "snapshots").exists()


def test_a_build_past_the_byte_limit_keeps_the_last_snapshot(tmp_path):
    with hostile.serve(hostile.Request.api) as good:
        srcdir = sphinx_project(tmp_path / "src", good.url)
        assert sphinx_build(srcdir)[0] == []
    [snapshot] = (srcdir / "snapshots").iterdir()
    before = snapshot.read_bytes()
    conf = srcdir / "conf.py"
    with hostile.serve(hostile.huge_content_length) as server:
        conf.write_text(conf.read_text().replace(good.url, server.url), encoding="utf-8")
        [warning], took = sphinx_build(srcdir)
    too_long = bytes_message(server.url + "/api/overview", fetch.MAX_FETCH_BYTES, "10000000000")
    assert warning.startswith(f"{srcdir}/index.rst:4: WARNING: hostile: {too_long}; drawn "
                              f"from the snapshot {snapshot}, taken ")
    assert took < PROCESS_MARGIN
    assert snapshot.read_bytes() == before
    assert "orders.created" in page_text(
        (srcdir / "_build" / "index.html").read_text(encoding="utf-8"))
