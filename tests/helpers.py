"""Shared by the tests: run the real dot, read SVG text, run the command line."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# the read-only corpus of real files sits beside the checkout, in CI as here
REAL_DEFINITIONS = ROOT.parent / "shared" / "definitions" / "real"
#: every definitions export the tests have: fixtures, the sample's, and the real corpus
DEFINITION_FILES = sorted(
    [*FIXTURES.glob("*.json"), *FIXTURES.glob("*.yaml"),
     *(ROOT / "sample_docs" / "broker").glob("*.*")]
) + (sorted(REAL_DEFINITIONS.glob("*.json")) if REAL_DEFINITIONS.is_dir() else [])


def run_dot(dot: str, image_format: str = "svg") -> bytes:
    """Render with the real Graphviz dot; fail the test when dot rejects the DOT."""
    completed = subprocess.run(
        ["dot", f"-T{image_format}"], input=dot.encode(), capture_output=True, check=False
    )
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    return completed.stdout


def svg_text(svg: bytes) -> str:
    """All the text a reader sees in an SVG (entities decoded), one piece a line."""
    root = ET.fromstring(svg)
    return "\n".join(t for t in root.itertext() if t.strip())


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "sphinxext_rabbit", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def build_output(app) -> tuple[str, str]:
    """What a test app's build printed and warned. Sphinx 7.3 added app.status and
    app.warning; 7.2 has only app._status and app._warning, which later versions keep."""
    return app._status.getvalue(), app._warning.getvalue()


def shown_type(code: str) -> str:
    """How Sphinx ends a warning of subtype *code*: " [rabbitmq.code]" from Sphinx 8.0 on
    (show_warning_types' default), nothing before it. On every version,
    test_a_warning_subtype_can_be_suppressed checks the subtype itself."""
    import sphinx

    return f" [rabbitmq.{code}]" if sphinx.version_info >= (8, 0) else ""


def page_text(html: str) -> str:
    """What a reader sees of an HTML page: tags dropped, entities decoded."""
    import html as html_module
    import re

    body = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.DOTALL)
    return html_module.unescape(re.sub(r"<[^>]+>", "", body))


def write_project(root: Path, pages: dict[str, str], **conf: object) -> Path:
    """A Sphinx project at *root*: conf.py with the extension and *conf*, an index whose
    toctree lists *pages* (name -> reStructuredText body)."""
    root.mkdir(parents=True, exist_ok=True)
    settings = {"extensions": ["sphinxext_rabbit"], **conf}
    (root / "conf.py").write_text(
        "".join(f"{key} = {value!r}\n" for key, value in settings.items()), encoding="utf-8")
    toctree = "".join(f"   {name}\n" for name in pages)
    (root / "index.rst").write_text(f"Index\n=====\n\n.. toctree::\n\n{toctree}",
                                    encoding="utf-8")
    for name, body in pages.items():
        (root / f"{name}.rst").write_text(f"{name.title()}\n{'=' * len(name)}\n\n{body}",
                                          encoding="utf-8")
    return root


def tangled_definitions(exchanges: int, bindings: int) -> dict:
    """As many exchanges as queues, with *bindings* random ones among them: under the node
    limit, yet slow to lay out (100 and 400 take dot about 5 s; dot's time grows fast)."""
    import random

    choose = random.Random(7).choice
    names = [f"ex{n}" for n in range(exchanges)]
    queues = [f"q{n}" for n in range(exchanges)]
    return {
        "exchanges": [{"name": name, "vhost": "/", "type": "topic"} for name in names],
        "queues": [{"name": name, "vhost": "/"} for name in queues],
        "bindings": [
            {"source": choose(names), "vhost": "/", "destination": destination,
             "destination_type": "exchange" if destination in names else "queue",
             "routing_key": f"k{n}", "arguments": {}}
            for n, destination in enumerate(choose(names + queues) for _ in range(bindings))],
    }


def fan_out_definitions(queues: int) -> dict:
    """One fanout exchange bound to *queues* queues: a tall picture, quick to lay out."""
    return {
        "exchanges": [{"name": "fan", "vhost": "/", "type": "fanout"}],
        "queues": [{"name": f"q{n}", "vhost": "/"} for n in range(queues)],
        "bindings": [{"source": "fan", "vhost": "/", "destination": f"q{n}",
                      "destination_type": "queue", "routing_key": "", "arguments": {}}
                     for n in range(queues)],
    }


def slow_dot(folder: Path) -> Path:
    """A stand-in for dot that never finishes: a shell that waits on a child ``sleep``
    (which would hold dot's pipes open if only the shell were killed). It writes the two
    process ids into *folder* as ``shell.pid`` and ``sleep.pid``."""
    script = folder / "slow-dot"
    script.write_text("#!/bin/sh\n"
                      f"echo $$ > '{folder}/shell.pid'\n"
                      "sleep 300 &\n"
                      f"echo $! > '{folder}/sleep.pid'\n"
                      "wait\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def ended(pid: int, within: float = 5.0) -> bool:
    """Whether process *pid* ends within *within* seconds (a zombie, waiting to be reaped,
    has ended): a killed process dies when it is next scheduled, not at once."""
    import time

    deadline = time.monotonic() + within
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
