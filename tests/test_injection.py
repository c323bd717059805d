"""Hostile names render as text: a real headless Chromium runs none of them as script."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import page_text

HOSTILE = ["<img src=x onerror=alert(1)>", '"><script>alert(1)</script>', "<svg onload=alert(3)>",
           "<b onmouseover=alert(4)>p</b>", "'\"><script>alert(5)</script>"]
# Loaded before anything else on the page: any alert() leaves a mark in the DOM.
RECORDER = ("<script>window.alert = function (m) { document.documentElement"
            ".setAttribute('data-alerted', String(m)); };</script>")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is needed: apt-get install chromium (scripts/setup.sh)")
    return found


def alerts_in(page) -> str | None:
    """Load *page* with the alert recorder in headless Chromium; the recorded alert, if any."""
    html = page.read_text(encoding="utf-8").replace("<head>", "<head>" + RECORDER, 1)
    recorded = page.with_name("recorded-" + page.name)
    recorded.write_text(html, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        completed = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--allow-file-access-from-files",
             "--virtual-time-budget=3000", "--dump-dom", recorded.as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert "<html" in completed.stdout, completed.stderr[-2000:]
    marker = 'data-alerted="'
    if marker not in completed.stdout:
        return None
    return completed.stdout.split(marker, 1)[1].split('"', 1)[0]


def test_the_recorder_catches_a_real_alert(tmp_path):
    page = tmp_path / "control.html"
    page.write_text("<html><head></head><body><img src=x onerror=alert(7)></body></html>",
                    encoding="utf-8")
    assert alerts_in(page) == "7"


@pytest.mark.sphinx("html", testroot="injection", freshenv=True, srcdir="injection")
def test_hostile_names_are_text_in_html_svg_and_browser(app):
    app.build()
    page = app.outdir / "index.html"
    text = page_text(page.read_text(encoding="utf-8"))
    for name in HOSTILE:
        assert name in text  # shown, as text, in the tables
    for svg in (app.outdir / "_images").glob("rabbitmq-*.svg"):
        root = ET.parse(svg).getroot()  # well-formed XML
        for element in root.iter():
            assert not element.tag.endswith("script")
            assert not any(attribute.lower().startswith("on") for attribute in element.attrib)
        shown = "\n".join(root.itertext())
        assert "<img src=x onerror=alert(1)>" in shown
    assert alerts_in(page) is None
