"""Work done once per build: an edited file re-reads only the pages whose drawn vhosts
changed, an unchanged diagram is not laid out again, parallel readers share what the main
process read, and ``edges`` writes its JSON in one call."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sphinxext_rabbit.sources
from sphinxext_rabbit.output.dot import to_dot
from sphinxext_rabbit.output.text import to_text
from sphinxext_rabbit.sources import read_path
from sphinxext_rabbit.topology.records import replace
from sphinxext_rabbit.topology.select import Model, Selection, parse_patterns, views
from tests.helpers import build_output, page_text, write_project

VHOSTS = ("a", "b")


def subsystems(vhosts: tuple[str, ...] = VHOSTS, systems: int = 2) -> dict:
    """Per vhost, *systems* subsystems ``<vhost>sN``: an exchange bound to three queues."""
    document: dict = {"vhosts": [{"name": vhost} for vhost in vhosts], "exchanges": [],
                      "queues": [], "bindings": []}
    for vhost in vhosts:
        for system in (f"{vhost}s{n}" for n in range(systems)):
            document["exchanges"].append({"name": f"{system}.events", "vhost": vhost,
                                          "type": "topic"})
            for number in range(3):
                queue = f"{system}.q{number}"
                document["queues"].append({"name": queue, "vhost": vhost, "arguments": {}})
                document["bindings"].append({
                    "source": f"{system}.events", "vhost": vhost, "destination": queue,
                    "destination_type": "queue", "routing_key": f"{system}.k{number}",
                    "arguments": {}})
    return document


def drawing(vhost: str | None, include: str | None = None) -> str:
    lines = [".. rabbitmq-topology:: /definitions.json", "   :show: diagram"]
    lines += [f"   :vhost: {vhost}"] if vhost else []
    lines += [f"   :include: {include}"] if include else []
    return "\n".join(lines) + "\n"


PAGES = {
    "a0": drawing("a", "as0.*"),
    "a1": drawing("a", "as1.*"),
    "b0": drawing("b", "bs0.*"),
    "every": drawing(None),
    "plain": "No diagram here.\n",
}


def counting_dot(folder: Path) -> Path:
    """A ``dot`` that counts its runs, one line each, in ``runs`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "dot"
    script.write_text(f'#!/bin/sh\necho run >> "{folder}/runs"\nexec "{shutil.which("dot")}" '
                      '"$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return script


def dot_runs(script: Path) -> int:
    runs = script.parent / "runs"
    count = len(runs.read_text().splitlines()) if runs.exists() else 0
    runs.unlink(missing_ok=True)
    return count


def project(root: Path, pages: dict[str, str], **conf: object) -> Path:
    srcdir = write_project(root, pages, **conf)
    (srcdir / "definitions.json").write_text(json.dumps(subsystems(), indent=1),
                                             encoding="utf-8")
    return srcdir


def edit_queue(srcdir: Path, name: str) -> None:
    path = srcdir / "definitions.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    [queue] = [q for q in document["queues"] if q["name"] == name]
    queue["arguments"]["x-max-length"] = 10
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))


def build_reading(make_app, srcdir: Path, **kwargs: object) -> tuple[list[str], object]:
    """Build; the pages Sphinx read."""
    app = make_app("html", srcdir=srcdir, **kwargs)
    read: list[str] = []
    app.connect("env-before-read-docs", lambda _app, _env, docnames: read.extend(docnames))
    app.build()
    return sorted(read), app


def test_an_edited_queue_rereads_only_the_pages_drawing_its_vhost(make_app, tmp_path):
    dot = counting_dot(tmp_path / "bin")
    srcdir = project(tmp_path / "src", PAGES, graphviz_dot=str(dot))
    read, app = build_reading(make_app, srcdir, freshenv=True)
    assert read == ["a0", "a1", "b0", "every", "index", "plain"]
    assert dot_runs(dot) == 4  # one a diagram
    assert not build_output(app)[1]

    # a queue of vhost b that page b0 does not draw: b0 is read again but draws the same
    # picture, so only the page drawing every vhost is laid out again
    edit_queue(srcdir, "bs1.q0")
    read, app = build_reading(make_app, srcdir)
    assert read == ["b0", "every"]
    assert dot_runs(dot) == 1
    [image] = [p for p in (app.outdir / "_images").iterdir()
               if p.name in (app.outdir / "every.html").read_text(encoding="utf-8")]
    assert "x&#45;max&#45;length" in image.read_text(encoding="utf-8")  # dot escapes "-"

    read, _app = build_reading(make_app, srcdir)  # nothing changed: nothing read or drawn
    assert read == []
    assert dot_runs(dot) == 0


def test_a_removed_or_added_file_rereads_the_pages_of_a_folder(make_app, tmp_path):
    srcdir = write_project(tmp_path / "src", {"folder": ".. rabbitmq-topology:: defs\n",
                                              "plain": "No diagram here.\n"})
    (srcdir / "defs").mkdir()
    (srcdir / "defs" / "one.json").write_text(json.dumps(subsystems(("a",), 1)))
    read, _app = build_reading(make_app, srcdir, freshenv=True)
    assert read == ["folder", "index", "plain"]
    (srcdir / "defs" / "two.json").write_text(json.dumps(subsystems(("b",), 1)))
    read, app = build_reading(make_app, srcdir)
    assert read == ["folder"]
    assert "bs0.q0" in page_text((app.outdir / "folder.html").read_text(encoding="utf-8"))
    (srcdir / "defs" / "one.json").unlink()
    read, app = build_reading(make_app, srcdir)
    assert read == ["folder"]
    assert "as0.q0" not in page_text((app.outdir / "folder.html").read_text(encoding="utf-8"))


def test_parallel_readers_share_what_the_main_process_read(make_app, tmp_path, monkeypatch):
    """Each (file, vhost) is read once in a parallel build, by the main process before the
    readers are forked (a reader would log its own pid)."""
    log = tmp_path / "reads.log"
    read_path = sphinxext_rabbit.sources.read_path

    def logged(path: str, **kwargs: object):
        with open(log, "a") as stream:
            stream.write(f"{os.getpid()} {os.path.basename(path)} {kwargs.get('vhost')}\n")
        return read_path(path, **kwargs)

    monkeypatch.setattr(sphinxext_rabbit.sources, "read_path", logged)
    pages = {f"{name}{copy}": body for name, body in PAGES.items() for copy in range(3)}
    srcdir = project(tmp_path / "src", pages)
    app = make_app("html", srcdir=srcdir, freshenv=True, parallel=2)
    app.build()
    reads = log.read_text().splitlines()
    assert sorted(line.split(" ", 1)[1] for line in reads) == [
        "definitions.json None", "definitions.json a", "definitions.json b"]
    assert {line.split()[0] for line in reads} == {str(os.getpid())}
    assert not build_output(app)[1]
    for page in pages:  # every diagram drawn, from what the main process read
        assert page.startswith("plain") or '<object data="_images/rabbitmq-' in (
            app.outdir / f"{page}.html").read_text(encoding="utf-8")


def test_a_serial_build_reads_its_sources_first_and_keeps_them_from_the_collector(
        make_app, tmp_path, monkeypatch):
    """A serial build reads each (file, vhost) once, before its first page; while its pages
    are read and written, what it read is in the collector's permanent generation, which
    full collections pass over (they went through a big export's objects several times a
    build); the build lets it go as it ends."""
    events: list[tuple[str, object]] = []
    read_path = sphinxext_rabbit.sources.read_path

    def logged(path: str, **kwargs: object):
        events.append(("read", kwargs.get("vhost")))
        return read_path(path, **kwargs)

    monkeypatch.setattr(sphinxext_rabbit.sources, "read_path", logged)
    srcdir = project(tmp_path / "src", PAGES)
    app = make_app("html", srcdir=srcdir, freshenv=True)
    app.connect("doctree-read", lambda app, doctree: events.append(
        ("page read", gc.get_freeze_count() > 0)))
    app.connect("doctree-resolved", lambda app, doctree, docname: events.append(
        ("page written", gc.get_freeze_count() > 0)))
    assert gc.get_freeze_count() == 0
    app.build()
    assert not build_output(app)[1]
    reads = [vhost for kind, vhost in events if kind == "read"]
    assert sorted(reads, key=str) == [None, "a", "b"]
    assert events[:len(reads)] == [("read", vhost) for vhost in reads]
    pages = events[len(reads):]
    assert len(pages) == 2 * (len(PAGES) + 1)  # (and the index)
    assert all(frozen is True for _kind, frozen in pages)
    assert gc.get_freeze_count() == 0


def test_a_serial_build_fetches_no_broker_for_a_directive_commented_out(
        make_app, tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(sphinxext_rabbit.sources, "read_live_or_snapshot",
                        lambda broker, **kwargs: fetched.append(broker.name))
    pages = {**PAGES, "notes": "..\n   .. rabbitmq-topology:: live\n"}
    srcdir = project(tmp_path / "src", pages,
                     rabbitmq_topology_brokers={"live": {"url": "http://127.0.0.1:9"}})
    read, app = build_reading(make_app, srcdir, freshenv=True)
    assert "notes" in read and not build_output(app)[1]
    assert fetched == []


@pytest.mark.parametrize("unbuffered", [False, True])
def test_edges_writes_its_json_in_one_call(tmp_path, unbuffered):
    """On an unbuffered stdout (PYTHONUNBUFFERED=1, common in containers: each write goes to
    the system) as on a buffered one, the JSON is written whole, not token by token."""
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps(subsystems(("a",), 20)), encoding="utf-8")
    # the standard output Python makes, over a file that counts the writes it is given
    counting = (
        "import io, sys\n"
        "from sphinxext_rabbit.cli import main\n"
        "class Counting(io.FileIO):\n"
        "    writes = 0\n"
        "    def write(self, data):\n"
        "        Counting.writes += 1\n"
        "        return super().write(data)\n"
        "raw = Counting(sys.stdout.fileno(), 'w', closefd=False)\n"
        "unbuffered = sys.argv[2] == 'True'\n"
        "sys.stdout = io.TextIOWrapper(raw if unbuffered else io.BufferedWriter(raw),\n"
        "                              encoding='utf-8', write_through=unbuffered)\n"
        "code = main(['edges', sys.argv[1]])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(f'{code} {Counting.writes}')\n"
    )
    completed = subprocess.run([sys.executable, "-c", counting, str(path), str(unbuffered)],
                               capture_output=True, text=True, check=True)
    assert len(json.loads(completed.stdout)) == 20 * 3
    assert completed.stderr == "0 1"


def selections(names: list[str]) -> list[Selection]:
    """Narrowed selections of every kind over these names: globs with and without a literal
    start, several includes, excludes, regexes."""
    starts = sorted({name[:3] for name in names if name})[:4]
    chosen = [parse_patterns(f"{start}*") for start in starts]
    chosen += [parse_patterns(",".join(f"{start}*" for start in starts)),
               parse_patterns("*.q*"), parse_patterns("re:^o")]
    found = [Selection(include=include) for include in chosen]
    found += [Selection(include=include, default_exchange=True, hide_temporary=True)
              for include in chosen]
    found += [Selection(exclude=parse_patterns(f"{start}*")) for start in starts]
    return found


SELECTED = sorted([*Path("tests/fixtures").glob("*.json"), Path("sample_docs/broker"),
                   *Path("../shared/definitions/real").glob("*.json")])


@pytest.mark.parametrize("path", SELECTED, ids=str)
def test_a_shared_model_selects_what_a_fresh_read_does(path):
    """A build selects from a model resolved (and indexed) once; the command line from a
    fresh one. Both draw the same, for every selection."""
    shared = Model(read_path(str(path)))
    for vhost in shared.vhost_names:
        view = shared.vhost(vhost)[0]
        for selection in selections([*view.queues, *view.exchanges]):
            selection = replace(selection, vhosts=[vhost])
            fresh = views(read_path(str(path)), selection)
            again = views(shared, selection)
            assert to_dot(again[0]) == to_dot(fresh[0])
            assert to_text(again[0]) == to_text(fresh[0])
            assert [v.effective_policies for v in again[0]] == [
                v.effective_policies for v in fresh[0]]
            assert again[1] == fresh[1]
