"""Write the Sphinx projects of the build benchmark (build.py): pages that each draw one
selection of one definitions file, with the extension's directive, or as plain
``.. graphviz::`` blocks of the DOT that directive draws.

Run: ``.venv/bin/python bench/project.py FOLDER`` writes the 40-page project of issue 16
(the subsystem export of generate.py, one ~20-queue subsystem a page) into FOLDER.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import VHOSTS, generate_subsystems, subsystem_name, write  # noqa: E402

if TYPE_CHECKING:
    from sphinxext_rabbit.topology.model import Topology

#: the name the pages give the definitions file (in the source folder)
DEFINITIONS = "definitions.json"


@dataclass(frozen=True)
class Page:
    """One page: the vhost it draws and its ``:include:`` (None: the whole vhost)."""

    name: str
    vhost: str
    include: str | None


def subsystem_pages(count: int) -> list[Page]:
    """Page ``p`` draws vhost ``p % 4``, its subsystem ``p // 4``: ten pages a vhost for 40."""
    return [Page(f"page{p:02d}", VHOSTS[p % len(VHOSTS)],
                 f"{subsystem_name(p % len(VHOSTS), p // len(VHOSTS))}.*")
            for p in range(count)]


def whole_vhost_pages(count: int, vhosts: list[str]) -> list[Page]:
    """Page ``p`` draws the whole of vhost ``p % len(vhosts)``."""
    return [Page(f"page{p:02d}", vhosts[p % len(vhosts)], None) for p in range(count)]


def directive(page: Page, show: str) -> str:
    lines = [f".. rabbitmq-topology:: /{DEFINITIONS}", f"   :vhost: {page.vhost}",
             f"   :show: {show}"]
    if page.include is not None:
        lines.append(f"   :include: {page.include}")
    return "\n".join(lines) + "\n"


def graphviz_block(dot: str) -> str:
    return ".. graphviz::\n\n" + "".join(f"   {line}\n" if line else "\n"
                                          for line in dot.splitlines())


@functools.lru_cache(maxsize=4)
def _read(definitions: str, vhost: str) -> Topology:
    from sphinxext_rabbit.sources import read_path

    return read_path(definitions, vhost=vhost, source=DEFINITIONS)


def page_dot(definitions: str, page: Page) -> str:
    """The DOT the directive draws for *page* with the default options."""
    import sphinxext_rabbit.sources  # noqa: F401  (first: topology.resolve imports sources.uris)
    from sphinxext_rabbit.output.dot import to_dot
    from sphinxext_rabbit.topology.select import Selection, parse_patterns, views

    topology = _read(definitions, page.vhost)
    built, _problems = views(topology, Selection(vhosts=[page.vhost],
                                                 include=parse_patterns(page.include)))
    return to_dot(built, layout="LR", legend=False, show_default_exchange=False)


def write_project(folder: str, definitions: str, pages: list[Page], *, graphviz: bool,
                  show: str = "diagram") -> None:
    """A Sphinx source folder: conf.py, an index with a toctree, one file per page, and a
    copy of *definitions*. With *graphviz*, each page holds the DOT its directive would draw
    as a ``.. graphviz::`` block, and the project does not load the extension."""
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    shutil.copyfile(definitions, os.path.join(folder, DEFINITIONS))
    extension = "sphinx.ext.graphviz" if graphviz else "sphinxext_rabbit"
    with open(os.path.join(folder, "conf.py"), "w", encoding="utf-8") as stream:
        stream.write(f"project = 'bench'\nextensions = [{extension!r}]\n"
                     "graphviz_output_format = 'svg'\n")
    index = ["Bench", "=====", "", ".. toctree::", ""] + [f"   {p.name}" for p in pages]
    with open(os.path.join(folder, "index.rst"), "w", encoding="utf-8") as stream:
        stream.write("\n".join(index) + "\n")
    for page in pages:
        what = page.include or "everything"
        body = graphviz_block(page_dot(definitions, page)) if graphviz else directive(page, show)
        title = f"{page.name}: {what} in {page.vhost}"
        with open(os.path.join(folder, f"{page.name}.rst"), "w", encoding="utf-8") as stream:
            stream.write(f"{title}\n{'=' * len(title)}\n\nThe subsystem's routing.\n\n{body}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--graphviz", action="store_true",
                        help="plain graphviz blocks of the same DOT instead of the directive")
    args = parser.parse_args()
    definitions = os.path.join(os.path.dirname(os.path.abspath(args.folder)),
                               "subsystems.json")
    write(generate_subsystems(), definitions)
    write_project(args.folder, definitions, subsystem_pages(args.pages), graphviz=args.graphviz)


if __name__ == "__main__":
    main()
