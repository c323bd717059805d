"""Speed and memory of the pipeline against json.load, on a generated 20,000-entity export.

Run: ``.venv/bin/python bench/bench.py`` (add ``--keep FILE`` to keep the export).
Budgets (issue 12), compared as ratios in one run because the machine is shared:

* load + resolve + DOT for one vhost <= 2.5x ``json.load`` of the same file (in process,
  CPU time; ``bench/instructions.sh`` counts it in instructions too);
* the CLI ``dot`` command as a whole process <= 2.0x a process that only json.loads: the
  budget is counted in instructions by ``bench/instructions.sh`` (the same from run to
  run); the CPU time shown here is a rougher view of it;
* peak memory (max RSS of the process) <= 1.5x that of the json.load process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import generate  # noqa: E402
from sphinxext_rabbit.output import dot  # noqa: E402
from sphinxext_rabbit.output.dot import to_dot  # noqa: E402
from sphinxext_rabbit.sources.definitions import load  # noqa: E402
from sphinxext_rabbit.topology.select import Selection, views  # noqa: E402

VHOST = "vhost-1"
#: issue 12's budgets, as ratios to json.load
IN_PROCESS_TARGET, WHOLE_PROCESS_TARGET, MEMORY_TARGET = 2.5, 2.0, 1.5
JSON_ONLY = "import json,sys; json.load(open(sys.argv[1]))"
#: memos that live for a process; cleared so that each timed run starts cold
CACHES = (dot._escaped,)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children.

    CPU time, not wall time: on a shared machine a run that waits for a core does not
    count the wait, so the ratios stay comparable from one run to the next.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best_of_each(runs: int, *actions) -> list[float]:
    """The least CPU time of each action, run in turns so that the machine's changing load
    falls on all of them alike."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(runs):
        for action, taken in zip(actions, times, strict=True):
            started = cpu_seconds()
            action()
            taken.append(cpu_seconds() - started)
    return [min(taken) for taken in times]


def pipeline(path: str) -> str:
    for cache in CACHES:
        cache.cache_clear()
    topology = load(path, vhost=VHOST)
    built, _problems = views(topology, Selection(vhosts=[VHOST]))
    return to_dot(built)


def process(command: list[str]):
    """An action that runs *command* as a whole child process."""
    return lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


# Each child reports its own peak from /proc (VmHWM, in KiB): ru_maxrss would also count
# the peak this bench process had when it forked the child.
_PEAK = (
    "; sys.stderr.write([line.split()[1] for line in open('/proc/self/status')"
    " if line.startswith('VmHWM')][0])"
)
JSON_PEAK = JSON_ONLY + _PEAK
CLI_PEAK = (
    "import sys, os; from sphinxext_rabbit.cli import main; sys.stdout = open(os.devnull, 'w'); "
    "main(['dot', sys.argv[1], '--vhost', sys.argv[2]])" + _PEAK
)


def peak_rss(code: str, *args: str) -> int:
    """Peak RSS (KiB) of a fresh Python process running *code*."""
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return int(completed.stderr.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", help="write the generated export here and keep it")
    args = parser.parse_args()

    document = generate()
    path = args.keep or os.path.join(tempfile.mkdtemp(), "definitions.json")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2)
    counts = {
        key: len(document[key]) for key in ("queues", "bindings", "exchanges", "policies", "vhosts")
    }
    print(f"export: {os.path.getsize(path) / 1e6:.1f} MB, {counts}")

    def json_load() -> None:
        with open(path, encoding="utf-8") as stream:
            json.load(stream)

    pipeline(path)  # warm the regex cache and imports, as json_load's are warm
    json_seconds, pipeline_seconds = best_of_each(args.runs, json_load, lambda: pipeline(path))
    in_process = pipeline_seconds / json_seconds
    print(
        f"in process, least CPU time of {args.runs}: json.load {json_seconds * 1e3:.1f} ms, "
        f"load+resolve+DOT of {VHOST!r} {pipeline_seconds * 1e3:.1f} ms "
        f"-> {in_process:.2f}x (target <= {IN_PROCESS_TARGET}x)"
    )

    json_command = [sys.executable, "-c", JSON_ONLY, path]
    cli_command = [sys.executable, "-m", "sphinxext_rabbit", "dot", path, "--vhost", VHOST]
    json_process, cli_process = best_of_each(args.runs, process(json_command),
                                             process(cli_command))
    whole = cli_process / json_process
    print(
        f"whole process, least CPU time of {args.runs}: json.load {json_process * 1e3:.1f} ms, "
        f"sphinxext-rabbit dot {cli_process * 1e3:.1f} ms -> {whole:.2f}x "
        f"(target <= {WHOLE_PROCESS_TARGET}x)"
    )

    json_rss = peak_rss(JSON_PEAK, path)
    cli_rss = peak_rss(CLI_PEAK, path, VHOST)
    memory = cli_rss / json_rss
    print(
        f"peak RSS: json.load {json_rss / 1024:.1f} MiB, sphinxext-rabbit dot "
        f"{cli_rss / 1024:.1f} MiB -> {memory:.2f}x (target <= {MEMORY_TARGET}x)"
    )
    met = (in_process <= IN_PROCESS_TARGET and whole <= WHOLE_PROCESS_TARGET
           and memory <= MEMORY_TARGET)
    print("all targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
