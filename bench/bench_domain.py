"""What the rabbitmq domain costs a build: the 20,000-entity export drawn on 40 pages, with
and without roles and descriptions, and whether a no-op rebuild runs dot.

Run: ``.venv/bin/python bench/bench_domain.py`` (several minutes: each build lays out 40
diagrams). Targets (issue 13), in CPU time of the whole sphinx-build process and its
children (dot), best of ``--runs``:

* a cold build with 40 pages of roles and descriptions <= 1.1x the same build without them;
* a no-op rebuild starts no ``dot``.

``--main DIR`` also times the pages without roles with the package found in DIR (a checkout
without the domain), for what the domain costs pages that do not use it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import generate  # noqa: E402

PAGES = 40
DOMAINS = ["orders", "payments", "shipping", "billing", "audit", "users", "stock", "mail"]
VHOSTS = ["/", "vhost-1", "vhost-2", "vhost-3"]
#: descriptions and roles a page has
DESCRIBED = 25
NAMED = 50


def page_queues(export: dict, vhost: str, domain: str, prefix: str) -> list[str]:
    return sorted(q["name"] for q in export["queues"] if q["vhost"] == vhost
                  and q["name"].startswith(f"{domain}.service-{prefix}"))


def page(export: dict, number: int, with_domain: bool) -> str:
    """A page: the tables of one domain's queues and exchanges in one vhost (625 queues),
    a diagram of a few of them, and (with the domain) 50 roles and 25 descriptions."""
    vhost = VHOSTS[number % 4]
    # the domains whose queues are in this vhost (generate.py: queue i is in vhost i % 4
    # and domain i % 8); pages 8 apart show the same queues and describe others of them
    domain = DOMAINS[number % 4 + 4 * (number // 4 % 2)]
    lines = [f"Page {number}", "=" * 20, ""]
    if with_domain:
        lines += [f".. rabbitmq:current-vhost:: {vhost}", ""]
    lines += [".. rabbitmq-topology:: definitions.json", f"   :vhost: {vhost}",
              f"   :include: {domain}.*", "   :show: queues, exchanges", "",
              ".. rabbitmq-topology:: definitions.json", f"   :vhost: {vhost}",
              f"   :include: {domain}.service-{number % 9 + 1}{number % 10}*",
              "   :show: diagram", ""]
    queues = page_queues(export, vhost, domain, "")
    named = [queues[(number * 7 + index * 13) % len(queues)] for index in range(NAMED)]
    if with_domain:
        lines += [" ".join(f"See :rabbitmq:queue:`{name}`." for name in named), ""]
        first = number // 8 * DESCRIBED
        for name in queues[first:first + DESCRIBED]:
            lines += [f".. rabbitmq:queue:: {name}", "",
                      f"   The inbox of {name}. Consumers must be idempotent.", ""]
    else:
        lines += [" ".join(f"See ``{name}``." for name in named), ""]
    return "\n".join(lines) + "\n"


def project(folder: Path, export: dict, definitions: Path, with_domain: bool,
            dot_log: Path) -> None:
    folder.mkdir(parents=True)
    shutil.copy(definitions, folder / "definitions.json")
    # a dot that notes each start, so that a rebuild that starts none can be told
    wrapper = folder / "counting-dot"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{dot_log}"\nexec dot "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    (folder / "conf.py").write_text(
        f'extensions = ["sphinxext_rabbit"]\ngraphviz_dot = {str(wrapper)!r}\n'
        # the generated policies match by number, so some match nothing in a vhost; the
        # diagrams are past the node budget on purpose (the domain's cost is measured)
        'suppress_warnings = ["rabbitmq.policy-matches-nothing", "rabbitmq.node-budget"]\n',
        encoding="utf-8")
    toctree = "".join(f"   page{number}\n" for number in range(PAGES))
    (folder / "index.rst").write_text(f"Bench\n=====\n\n.. toctree::\n\n{toctree}",
                                      encoding="utf-8")
    for number in range(PAGES):
        (folder / f"page{number}.rst").write_text(page(export, number, with_domain),
                                                  encoding="utf-8")


def build(source: Path, output: Path, python_path: str | None = None) -> float:
    """CPU seconds of one sphinx-build process and its children."""
    environment = dict(os.environ)
    if python_path:
        environment["PYTHONPATH"] = python_path
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # run in the checkout whose package is timed: ``-m`` puts the working folder first on
    # sys.path, before PYTHONPATH and the editable install
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(output)],
        capture_output=True, text=True, env=environment, check=False,
        cwd=python_path or None)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0 or completed.stderr.strip():
        raise SystemExit(f"build of {source} failed or warned:\n{completed.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--main", help="a checkout without the domain, to time as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        export = generate()
        definitions = root / "definitions.json"
        definitions.write_text(json.dumps(export), encoding="utf-8")
        dot_log = root / "dot-runs"
        with_domain, without = root / "with", root / "without"
        project(with_domain, export, definitions, True, dot_log)
        project(without, export, definitions, False, dot_log)
        kinds = [("without roles and descriptions", without, None),
                 ("with roles and descriptions", with_domain, None)]
        if args.main:
            kinds.insert(0, ("without, package from --main", without, args.main))
        best: dict[str, float] = {}
        for run in range(args.runs):
            for label, source, python_path in kinds:
                output = root / f"out-{run}-{len(best)}-{label[:4]}"
                taken = build(source, output, python_path)
                best[label] = min(best.get(label, taken), taken)
        for label, seconds in best.items():
            print(f"cold build {label}: {seconds:.1f} s CPU")
        ratio = best["with roles and descriptions"] / best["without roles and descriptions"]
        print(f"ratio with / without: {ratio:.3f} (target <= 1.1)")
        output = root / "rebuilt"
        build(with_domain, output)
        dot_log.unlink()
        build(with_domain, output)
        runs = len(dot_log.read_text().splitlines()) if dot_log.exists() else 0
        print(f"dot runs in a no-op rebuild: {runs} (target 0)")
        return 0 if ratio <= 1.1 and runs == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
