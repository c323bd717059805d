"""The legend on the sample pages: compact, below the graph, outside every vhost's box."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.helpers import ROOT, cli, run_dot

SAMPLE = ROOT / "sample_docs"
#: directive options that select or lay out, as the command line's flags
_FLAGS = {"vhost": "--vhost", "include": "--include", "exclude": "--exclude",
          "layout": "--layout", "default-exchange": "--default-exchange",
          "hide-temporary": "--hide-temporary", "focus": "--focus", "depth": "--depth",
          "direction": "--direction", "view": "--view"}


def legend_directives() -> list[tuple[str, list[str]]]:
    """Every rabbitmq-topology directive of the sample pages that draws a legend (not the
    ones quoted in code blocks), as the command line's arguments without --legend."""
    found = []
    for page in sorted(SAMPLE.rglob("*.rst")):
        if "_build" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"^\.\. rabbitmq-topology:: (.+)\n((?:   :.*\n)*)", text,
                                 flags=re.MULTILINE):
            options = dict(re.findall(r"^   :([\w-]+):[ ]?(.*)$", match[2], flags=re.MULTILINE))
            if "legend" not in options:
                continue
            # a source is relative to its page, or to the source folder when it starts "/"
            arguments = [str(SAMPLE / spec[1:] if spec.startswith("/") else page.parent / spec)
                         for spec in match[1].split()]
            if "view" in options:
                arguments += ["--conf", str(SAMPLE / "conf.py")]
            for name, flag in _FLAGS.items():
                if name in options:
                    arguments += [flag] + ([options[name]] if options[name] else [])
            found.append((str(page.relative_to(SAMPLE)), arguments))
    return found


def area(dot: str) -> float:
    width, height = re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
                              run_dot(dot)).groups()
    return float(width) * float(height)


def test_the_sample_pages_draw_legends() -> None:
    assert len(legend_directives()) >= 3


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz dot")
@pytest.mark.parametrize(("page", "arguments"), legend_directives(),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_the_legend_takes_at_most_a_sixth_of_the_figure(page: str, arguments: list[str]) -> None:
    plain = cli("dot", *arguments).stdout
    with_legend = cli("dot", *arguments, "--legend").stdout
    assert "Legend" in with_legend and "Legend" not in plain
    # below the graph, as the graph's label: no cluster holds it
    assert 'labelloc="b"' in with_legend.splitlines()[-2]
    assert "cluster_legend" not in with_legend
    share = 1 - area(plain) / area(with_legend)
    assert 0 < share <= 1 / 6, (page, share)
