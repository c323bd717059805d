"""Mermaid output that the real Mermaid (mermaid-cli, in Debian's Chromium) renders: every
fixture and sample source, the hostile fixture, and names hypothesis makes up."""

from __future__ import annotations

import html
import io
import json
import os
import re
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.cli import main
from sphinxext_rabbit.output.mermaid import to_mermaid
from sphinxext_rabbit.output.wording import visible
from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.select import Selection, views
from tests.golden import _run, cases
from tests.helpers import ROOT, cli, run_dot
from tests.test_properties import NAMES

MMDC = ROOT / ".mermaid" / "node_modules" / ".bin" / "mmdc"
PUPPETEER_CONFIG = ROOT / "tests" / "mermaid-puppeteer.json"
#: the corpus's large files exceed Mermaid's default limits of text and edges, which are
#: settings of the page, not the syntax: raised here so that only syntax is judged
MERMAID_CONFIG = {"maxTextSize": 10_000_000, "maxEdges": 100_000}
HOSTILE = "tests/fixtures/hostile.json"


def mmdc() -> Path:
    if not MMDC.exists():
        message = f"mermaid-cli is not installed at {MMDC} (bash scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return MMDC


def render(diagrams: list[str], folder: Path) -> list[str]:
    """Render *diagrams* with one mmdc run (it starts a browser: about 3 s); the SVGs' texts.
    mmdc stops at the first diagram it cannot parse and says why: the test fails with that."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "diagrams.md"
    source.write_text("".join(f"```mermaid\n{text}```\n\n" for text in diagrams),
                      encoding="utf-8")
    config = folder / "mermaid.json"
    config.write_text(json.dumps(MERMAID_CONFIG), encoding="utf-8")
    completed = subprocess.run(
        [str(mmdc()), "-p", str(PUPPETEER_CONFIG), "-c", str(config), "-q",
         "-i", str(source), "-o", str(folder / "out.md")],
        capture_output=True, text=True, timeout=600, check=False)
    error = completed.stderr.split("\n    at ", 1)[0]
    assert completed.returncode == 0, error[-3000:]
    svgs = [folder / f"out-{index}.svg" for index in range(1, len(diagrams) + 1)]
    return [svg.read_text(encoding="utf-8") for svg in svgs]


def source_diagrams() -> list[str]:
    """The flowchart of each sample source and top-level fixture (and the hostile one with
    the default exchange drawn), each distinct one once."""
    found = []
    for case in cases():
        # each diagram costs mmdc about a second: the sample's sources, and the fixtures'
        # files of the top folder (those in subfolders are API bodies and manifests whose
        # topologies the sample's draw too)
        if case.tree == "sample" or (case.tree == "fixtures" and case.id.count("__") == 1):
            found.append(_run(case, ["mermaid"])[1])
    found.append(_run_hostile_default_exchange())
    return sorted({text for text in found if text})


def _run_hostile_default_exchange() -> str:
    stdout = io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(io.StringIO()):
        main(["mermaid", HOSTILE, "--default-exchange"])
    return stdout.getvalue()


def test_every_source_renders_in_mermaid(tmp_path):
    diagrams = source_diagrams()
    assert len(diagrams) > 25
    svgs = render(diagrams, tmp_path)
    assert all("<svg" in svg for svg in svgs)


def test_mermaid_draws_in_the_colours_of_the_dot_diagram(tmp_path):
    """Each colour a Mermaid class or link style names is one that dot's SVG of the same
    source shows; and Mermaid's SVG styles the nodes with them."""
    sources = [["sample_docs/broker/definitions.json"], [HOSTILE],
               ["sample_docs/broker/definitions.json", "--focus", "orders.created"]]
    texts = []
    for arguments in sources:
        dot_svg = run_dot(cli("dot", *arguments).stdout).decode()
        drawn = set(re.findall(r'(?:fill|stroke)="([^"]+)"', dot_svg))
        text = cli("mermaid", *arguments).stdout
        styles = [line for line in text.splitlines()
                  if line.lstrip().startswith(("classDef ", "linkStyle "))]
        named = {colour for line in styles
                 for colour in re.findall(r"(?:fill|stroke|color):([^,;\s]+)", line)}
        assert named and named <= drawn, (named - drawn, arguments)
        texts.append(text)
    classes = {line.split()[1] for text in texts for line in text.splitlines()
               if line.lstrip().startswith("classDef ")}
    assert {"exchange", "queue", "external", "builtin", "missing", "stub"} <= classes
    svgs = render(texts, tmp_path)
    assert "#c00000" in svgs[0] and "#404040" in svgs[0] and "#fdf0d5" in svgs[0]


def test_hostile_names_render_intact(tmp_path):
    """Every name of the hostile fixture shows in the rendered SVG as it is (escaped once
    by the SVG itself), none read as markup."""
    text = _run(next(case for case in cases() if case.sources == (HOSTILE,)), ["mermaid"])[1]
    (svg,) = render([text], tmp_path)
    shown = html.unescape(re.sub(r"<[^>]*>", "", svg.split("</style>", 1)[-1]))
    doc = json.loads((ROOT / HOSTILE).read_text(encoding="utf-8"))
    names = [visible(item["name"]) for key in ("queues", "exchanges") for item in doc[key]]
    assert names
    for name in names:
        assert name.strip() in shown, name
    assert "<img" not in svg


@st.composite
def hostile_definitions(draw):
    """One vhost with many made-up names: queues bound to exchanges of each type by keys."""
    names = draw(st.lists(NAMES, min_size=12, max_size=12, unique=True))
    queues, exchanges, keys = names[:5], names[5:9], names[9:]
    types = ["direct", "topic", "headers", "fanout"]
    return {
        "queues": [{"name": name, "vhost": "/", "durable": True,
                    "arguments": {"x-queue-type": kind, "x-dead-letter-exchange": exchanges[0]}}
                   for name, kind in zip(queues, ["classic", "quorum", "stream", "x", "classic"],
                                         strict=True)],
        "exchanges": [{"name": name, "vhost": "/", "type": kind}
                      for name, kind in zip(exchanges, types, strict=True)],
        "bindings": [{"source": exchanges[index % 4], "vhost": "/", "destination": queue,
                      "destination_type": "queue", "routing_key": keys[index % 3],
                      "arguments": {}} for index, queue in enumerate(queues)],
    }


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_definitions(), min_size=3, max_size=3))
def test_made_up_names_render(tmp_path_factory, docs):
    """Each example is one mmdc run of three diagrams."""
    diagrams = []
    for doc in docs:
        topology = parse(json.dumps(doc))
        built, _ = views(topology, Selection())
        diagrams.append(to_mermaid(built))
    render(diagrams, tmp_path_factory.mktemp("made-up"))
