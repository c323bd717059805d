"""Where a build's time goes, per process: a Sphinx extension that writes when each phase
starts and ends, with the process's CPU time, and a summary of what it wrote (issue 16).

On a loaded machine wall-clock ratios say little; the CPU time of each phase, and which
phases run alone in the main process, explain them. Measurement only: it wraps Sphinx's
own methods. The interpreter's own exit after the exit handlers (freeing what the
build made, about 0.2 s) is not seen.

Run (from the repository's root; ``LOG`` is appended to, so remove it first)::

    RABBIT_TIMELINE=LOG PYTHONPATH=. .venv/bin/python -m sphinx -q -b html -j 2 \\
        -D extensions=sphinxext_rabbit,bench.timeline SOURCE OUT
    .venv/bin/python bench/timeline.py LOG
"""

from __future__ import annotations

import functools
import os
import pickle
import sys
import time
from collections import defaultdict
from typing import Any

#: the phases of the main process: (name, the event it starts at, the one it ends at)
MAIN_PHASES = [
    ("startup (to the extensions' setup)", None, "setup"),
    ("reading ahead (the sources' parse)", "env-before-read-docs", "env-before-read-docs-end"),
    ("reading", "env-before-read-docs-end", "env-updated"),
    ("env-updated .. write-started", "env-updated", "write-started"),
    ("writing", "write-started", "finish>"),
    ("finish", "finish>", "finish<"),
    ("to the exit handlers", "finish<", "exit"),
]


def _log(event: str, detail: str = "") -> None:
    with open(os.environ["RABBIT_TIMELINE"], "a", encoding="utf-8") as stream:
        stream.write(f"{os.getpid()} {time.time():.4f} {time.process_time():.4f} {event} "
                     f"{detail}\n")


def _wrap(owner: Any, name: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        detail = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        _log(f"{name}>", detail)
        try:
            return original(*args, **kwargs)
        finally:
            _log(f"{name}<", detail)

    setattr(owner, name, wrapper)


class _TimedPickle:
    """What sphinx.builders pickles a parallel reader's environment with, timed."""

    HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    dump = staticmethod(pickle.dump)
    load = staticmethod(pickle.load)

    @staticmethod
    def dumps(value: Any, *args: Any) -> bytes:
        _log("dumps>")
        data = pickle.dumps(value, *args)
        _log("dumps<", str(len(data)))
        return data

    @staticmethod
    def loads(data: bytes) -> Any:
        _log("loads>", str(len(data)))
        value = pickle.loads(data)
        _log("loads<")
        return value


def setup(app: Any) -> dict[str, Any]:
    import atexit

    import sphinx.builders
    from sphinx.builders.html import StandaloneHTMLBuilder
    from sphinx.environment import BuildEnvironment

    try:  # when the process started (Linux): field 22 of its stat, in clock ticks since boot
        with open("/proc/self/stat", encoding="ascii") as stream:
            ticks = int(stream.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as stream:
            boot = next(int(line.split()[1]) for line in stream if line.startswith("btime"))
        _log("start", f"{boot + ticks / os.sysconf('SC_CLK_TCK'):.2f}")
    except (OSError, ValueError, StopIteration):
        pass
    _log("setup")
    sphinx.builders.pickle = _TimedPickle  # type: ignore[assignment]
    _wrap(sphinx.builders.Builder, "read_doc")
    _wrap(BuildEnvironment, "get_and_resolve_doctree")
    for name in ("write_doc_serialized", "write_doc", "finish"):
        _wrap(StandaloneHTMLBuilder, name)
    for event in ("env-before-read-docs", "env-updated", "write-started", "build-finished"):
        app.connect(event, functools.partial(lambda name, *_: _log(name), event), priority=0)
        app.connect(event, functools.partial(lambda name, *_: _log(name), event + "-end"),
                    priority=999)
    app.connect("env-merge-info", lambda *_: _log("env-merge-info"), priority=0)
    atexit.register(lambda: _log("exit"))
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def summary(path: str) -> None:
    rows = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            pid, wall, cpu, event, *detail = line.split()
            rows.append((pid, float(wall), float(cpu), event, " ".join(detail)))
    main = rows[0][0]
    start = float(rows[0][4]) if rows[0][3] == "start" else rows[0][1] - rows[0][2]

    def at(event: str) -> tuple[float, float] | None:
        return next(((wall, cpu) for pid, wall, cpu, name, _ in rows
                     if pid == main and name == event), None)

    print(f"{'main process':40s} {'wall':>6s} {'CPU':>6s}")
    for name, begin, end in MAIN_PHASES:
        first, last = (at(begin) if begin else (start, 0.0)), at(end)
        if first is not None and last is not None:
            print(f"  {name:38s} {last[0] - first[0]:6.3f} {last[1] - first[1]:6.3f}")
    sizes = [int(detail) for _, _, _, name, detail in rows if name == "dumps<"]
    if sizes:
        print(f"  readers' environments pickled back: {', '.join(map(str, sizes))} bytes")
    children: dict[str, list] = defaultdict(list)
    for row in rows:
        if row[0] != main:
            children[row[0]].append(row)
    for pid, own in children.items():
        kind = "reader" if any(row[3] == "read_doc>" for row in own) else "writer"
        pages = sum(row[3] in ("read_doc<", "write_doc<") for row in own)
        print(f"{kind} {pid}: {own[0][1] - start:6.3f} .. {own[-1][1] - start:6.3f} s, "
              f"{pages} pages, CPU {own[-1][2] - own[0][2]:.3f} s")


if __name__ == "__main__":
    summary(sys.argv[1])
