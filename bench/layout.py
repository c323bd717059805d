"""Layout time and picture size of one big vhost: ``render`` against ``dot`` on a naive DOT.

Run: ``.venv/bin/python bench/layout.py [--runs N] [--vhost V] [--source EXPORT]``: the
vhost of bench/generate.py's export, or of a definitions export such as the largest file of
../shared/definitions/real/ (``--source ../shared/definitions/real/rabbitmq__rabbitmq-server__\
definition.json --vhost /``).
Target (issue 16), a ratio of CPU time (this process's children) in one run, alternating:

* ``sphinxext-rabbit render`` of the vhost to SVG (read, resolve, group, DOT, layout) <= 0.3x
  ``dot -Tsvg`` of a naive DOT of it: one node per exchange and queue, one edge per binding
  labelled with its routing key, as the picture would be without grouping;
* and no side of its picture over 4,000 pt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import best_of_each, process  # noqa: E402
from bench.generate import generate  # noqa: E402

MAX_SIDE = 4000


def naive_dot(document: dict, vhost: str) -> str:
    """One node per exchange and queue of *vhost*, one edge per binding with its key."""
    ids: dict[tuple[str, str], str] = {}
    lines = ["digraph naive {", "rankdir=LR;"]
    for kind, key in (("exchange", "exchanges"), ("queue", "queues")):
        for entity in document[key]:
            if entity.get("vhost") == vhost:
                ids[kind, entity["name"]] = node = f"n{len(ids)}"
                lines.append(f"{node} [label={json.dumps(entity['name'])}];")
    for binding in document["bindings"]:
        if binding.get("vhost") == vhost:
            source = ids["exchange", binding["source"]]
            target = ids[binding["destination_type"], binding["destination"]]
            lines.append(f"{source} -> {target} [label={json.dumps(binding['routing_key'])}];")
    return "\n".join([*lines, "}"]) + "\n"


def picture_side(path: str) -> float:
    with open(path, "rb") as stream:
        found = re.search(rb'width="([\d.]+)pt" height="([\d.]+)pt"', stream.read(4096))
    assert found, f"{path} is not an SVG dot wrote"
    return max(float(found.group(1)), float(found.group(2)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vhost", default="vhost-1")
    parser.add_argument("--source", help="a definitions export (default: generated)")
    args = parser.parse_args()

    folder = tempfile.mkdtemp()
    if args.source:
        path = args.source
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    else:
        document = generate()
        path = os.path.join(folder, "definitions.json")
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(document, stream)
    naive = os.path.join(folder, "naive.dot")
    with open(naive, "w", encoding="utf-8") as stream:
        stream.write(naive_dot(document, args.vhost))
    queues = sum(queue["vhost"] == args.vhost for queue in document["queues"])
    bindings = sum(binding["vhost"] == args.vhost for binding in document["bindings"])
    print(f"vhost {args.vhost!r}: {queues} queues, {bindings} bindings")

    picture = os.path.join(folder, "render.svg")
    render = [sys.executable, "-m", "sphinxext_rabbit", "render", path, "--vhost", args.vhost,
              "-o", picture]
    naive_command = ["dot", "-Tsvg", naive, "-o", os.path.join(folder, "naive.svg")]
    subprocess.run(render, check=True)  # warm: compiled modules, the file in the page cache
    naive_seconds, render_seconds = best_of_each(args.runs, process(naive_command),
                                                 process(render))
    ratio = render_seconds / naive_seconds
    side = picture_side(picture)
    print(f"least CPU time of {args.runs}: dot -Tsvg of the naive DOT {naive_seconds:.2f} s "
          f"(its picture {picture_side(os.path.join(folder, 'naive.svg')):,.0f} pt on its "
          f"longest side), sphinxext-rabbit render {render_seconds:.2f} s -> {ratio:.2f}x "
          f"(target <= 0.3x); its picture {side:,.0f} pt on its longest side (target <= "
          f"{MAX_SIDE:,})")
    met = ratio <= 0.3 and side <= MAX_SIDE
    print("all targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
