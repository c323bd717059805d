"""Long tables (issue 16): a doctree holds each of the extension's tables as one node, which
HTML writes one row at a time and every other builder gets as a docutils table. What a
reader gets is every row, each a link target, each name linked to its description, the
words with the same smart quotes as the page's paragraphs; and the page's doctree stays
small (a 3,720-row table was ~40 MiB of docutils nodes)."""

from __future__ import annotations

import json
import pickle
import re

from tests.helpers import fan_out_definitions, write_project

QUEUES = 600

PAGE = """\
.. rabbitmq:queue:: q7

   The seventh queue.

.. rabbitmq-topology:: definitions.json
   :show: bindings, queues
   :name: big-tables

See :numref:`big-tables`.
"""


def project(tmp_path):
    root = write_project(tmp_path / "src", {"big": PAGE}, numfig=True)
    (root / "definitions.json").write_text(json.dumps(fan_out_definitions(QUEUES)),
                                           encoding="utf-8")
    return root


def build(make_app, root, builder: str):
    app = make_app(builder, srcdir=root, freshenv=True)
    app.build()
    app.cleanup()
    return app


def test_every_row_of_a_long_table_is_written_linked_and_a_target(make_app, tmp_path):
    root = project(tmp_path)
    app = build(make_app, root, "html")
    page = (app.outdir / "big.html").read_text(encoding="utf-8")
    # the queues table: a row per queue, each the target of the queue's references
    assert len(set(re.findall(r'<tr class="row-(?:odd|even)" id="rabbitmq-row-queue-[^"]+"',
                              page))) == QUEUES
    # the folded full bindings table and the queues table name q7, each time linked to
    # its description; a queue without one is a name alone
    assert page.count('class="reference internal" href="#rabbitmq-queue-q7"') == 2
    assert 'href="#rabbitmq-queue-q8"' not in page
    assert page.count('<span class="pre">q8</span>') == 2
    # rows alternate within each table, the header row first
    body = page.split('id="rabbitmq-row-queue-', 1)[0].rsplit("<tbody>", 1)[1]
    assert re.findall(r'<tr class="(row-\w+)"', body) == ["row-even"]
    # the table is numbered, and :numref: leads to it
    assert re.search(r'href="#big-tables"><span class="std std-numref">Table 1</span>', page)
    # the page's doctree holds each table as one node, not a node per cell
    with open(app.doctreedir / "big.doctree", "rb") as file:
        document = pickle.load(file)  # noqa: S301 - the doctree this test built
    assert sum(1 for _ in document.findall()) < 200

    text = (build(make_app, root, "text").outdir / "big.txt").read_text(encoding="utf-8")
    assert all(f'"q{n}"' in text for n in range(QUEUES))


def test_table_words_get_the_smart_quotes_of_paragraphs(make_app, tmp_path):
    page = ".. rabbitmq-problem-codes::\n\nEach cluster's manifests.\n"
    root = write_project(tmp_path / "src", {"codes": page})
    html = (build(make_app, root, "html").outdir / "codes.html").read_text(encoding="utf-8")
    assert "Each cluster\u2019s manifests." in html
    assert "Give each cluster\u2019s manifests their own directive" in html
    # the text builder has no smart quotes (smartquotes_excludes), in tables neither
    text = (build(make_app, root, "text").outdir / "codes.txt").read_text(encoding="utf-8")
    assert "Each cluster's manifests." in text
    assert "cluster's manifests" in " ".join(text.split()).replace("| ", "")
