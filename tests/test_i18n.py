"""gettext: each caption is one message id of the project's catalogs, the same in every
build (a live or saved broker's time is no part of it); table titles, column headers and
legend labels come from the extension's own catalog, which a project can translate."""

from __future__ import annotations

import os
import re
import shutil

from tests.helpers import ROOT, build_output, page_text, svg_text, write_project

PAGE = """\
.. rabbitmq-topology:: definitions.json
   :vhost: /
   :include: orders.*
   :show: diagram, bindings, queues
   :caption: How an order is routed
   :legend:

.. rabbitmq-topology:: api
   :show: queues
   :caption: Live queues
"""

PROJECT_PO = """\
msgid "How an order is routed"
msgstr "Wie eine Bestellung geleitet wird"

msgid "Live queues"
msgstr "Aktuelle Queues"
"""

EXTENSION_PO = """\
msgid "Bindings"
msgstr "Bindungen"

msgid "Source"
msgstr "Quelle"

msgid "(as of {time})"
msgstr "(Stand {time})"

msgid "Legend"
msgstr "Legende"

msgid "classic queue"
msgstr "klassische Queue"
"""


def project(tmp_path):
    root = write_project(tmp_path / "src", {"page": PAGE}, locale_dirs=["locale"])
    shutil.copy(ROOT / "sample_docs" / "broker" / "definitions.json", root)
    shutil.copytree(ROOT / "sample_docs" / "api", root / "api")
    return root


def message_ids(outdir) -> set[str]:
    text = (outdir / "page.pot").read_text(encoding="utf-8")
    return set(re.findall(r'^msgid "(.+)"$', text, flags=re.MULTILINE))


def test_captions_are_stable_message_ids(make_app, tmp_path):
    root = project(tmp_path)
    first = make_app("gettext", srcdir=root, builddir=tmp_path / "one", freshenv=True)
    first.build()
    ids = message_ids(first.outdir)
    assert {"How an order is routed", "Live queues"} <= ids
    # no title's own words, no time: only what the page says
    assert not [i for i in ids if re.search(r"Bindings|Queues:|as of|Name|Legend", i)], ids
    # the saved broker output changes (its time with it): the same message ids
    for file in (root / "api").iterdir():
        os.utime(file, (1_000_000_000, 1_000_000_000))
    second = make_app("gettext", srcdir=root, builddir=tmp_path / "two", freshenv=True)
    second.build()
    assert message_ids(second.outdir) == ids


def test_a_translation_reaches_titles_headers_and_the_legend(make_app, tmp_path):
    root = project(tmp_path)
    messages = root / "locale" / "de" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "page.po").write_text(PROJECT_PO, encoding="utf-8")
    (messages / "sphinxext_rabbit.po").write_text(EXTENSION_PO, encoding="utf-8")
    app = make_app("html", srcdir=root, freshenv=True, confoverrides={"language": "de"})
    app.build()
    assert build_output(app)[1] == ""
    text = page_text((app.outdir / "page.html").read_text(encoding="utf-8"))
    assert "Wie eine Bestellung geleitet wird" in text  # the figure's caption
    assert "Bindungen: Wie eine Bestellung geleitet wird" in text
    assert "Quelle" in text and "Source" not in text
    assert re.search(r"Queues \(Stand \d{4}-\d\d-\d\dT[^)]*\): Aktuelle Queues", text), text
    legend = "\n".join(svg_text(path.read_bytes())
                       for path in (app.outdir / "_images").glob("rabbitmq-*.svg"))
    assert "Legende" in legend and "klassische Queue" in legend
    # a later build in English, in the same process, has the extension's words in English
    # again (Sphinx's own catalogs stay as they were: its tests clear them between apps)
    english = make_app("html", srcdir=root, builddir=tmp_path / "en", freshenv=True)
    english.build()
    text = page_text((english.outdir / "page.html").read_text(encoding="utf-8"))
    assert "Bindings: " in text and "Source" in text
    assert "Bindungen" not in text and "Quelle" not in text
