"""HTML in real themes, in headless Chromium: tables that fit the page, and diagrams that
follow the theme's light and dark modes at WCAG AA contrast.

The screenshots of the diagrams are kept in pytest's temporary folder
(``.../test_themes*/themes/<theme>-<mode>-<n>.png``) for a reader to look at.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.browser import open_page
from tests.helpers import ROOT, write_project

SAMPLE = ROOT / "sample_docs"
#: the width the tables must fit in, in CSS pixels
CONTENT_WIDTH = 1000
#: WCAG 2 level AA for text; the diagrams hold their lines to it too
AA = 4.5
#: pages of a build that hold no content of the sample's
GENERATED_PAGES = frozenset({"genindex.html", "search.html"})


def sphinx_build(source: Path, out: Path, *settings: str) -> Path:
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-d", str(out / ".doctrees"),
         *settings, str(source), str(out)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    return out


# -- tables ----------------------------------------------------------------------------

TABLE_WIDTHS = """
const out = [];
for (const table of document.querySelectorAll('table')) {
  const box = table.parentElement, style = getComputedStyle(box);
  const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  out.push({title: (table.querySelector('caption') || {}).textContent || table.className,
            ours: table.classList.contains('rabbitmq-table'),
            scroll: table.scrollWidth, client: table.clientWidth,
            width: table.getBoundingClientRect().width, room: inner,
            boxScroll: box.scrollWidth, boxClient: box.clientWidth,
            ownBox: box.classList.contains('table-wrapper')});
}
return out;
"""

CONTENT = "div.body, article[role=main]"  # alabaster, furo
CONTENT_WIDTH_JS = f"""
const body = document.querySelector({CONTENT!r}), style = getComputedStyle(body);
return body.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
"""


@pytest.fixture(scope="module")
def sample_sites(tmp_path_factory) -> dict[str, Path]:
    """sample_docs built with alabaster (its own conf.py) and with furo."""
    root = tmp_path_factory.mktemp("sample-sites")
    return {"alabaster": sphinx_build(SAMPLE, root / "alabaster"),
            "furo": sphinx_build(SAMPLE, root / "furo", "-D", "html_theme=furo")}


def set_content_width(driver, page: Path) -> float:
    """Size the window so that the theme's content column is CONTENT_WIDTH px wide where
    the theme lets it grow that far (alabaster); furo's column stops at 46em, narrower (736
    px, 810 px on wide windows, where furo enlarges its font). Returns the content width
    the tables are measured in."""
    driver.set_window_size(1280, 1000)
    open_page(driver, page)
    for _ in range(3):  # the column follows the window one for one, past a breakpoint
        width = driver.execute_script(CONTENT_WIDTH_JS)
        if abs(width - CONTENT_WIDTH) < 1:
            break
        window = driver.get_window_size()["width"]
        driver.set_window_size(round(window + CONTENT_WIDTH - width), 1000)
        open_page(driver, page)
    return float(driver.execute_script(CONTENT_WIDTH_JS))


@pytest.mark.parametrize("theme", ["alabaster", "furo"])
def test_no_table_of_the_sample_scrolls_at_1000px(browser, sample_sites, theme):
    site = sample_sites[theme]
    pages = sorted(p for p in site.glob("*.html") if p.name not in GENERATED_PAGES)
    width = set_content_width(browser, site / "index.html")
    assert width <= CONTENT_WIDTH + 0.5
    if theme == "alabaster":
        assert width == pytest.approx(CONTENT_WIDTH, abs=0.5)
    too_wide, ours = [], 0
    for page in pages:
        open_page(browser, page)
        for table in browser.execute_script(TABLE_WIDTHS):
            ours += table["ours"]
            if (table["scroll"] > table["client"] or table["width"] > table["room"] + 0.5
                    or (table["ownBox"] and table["boxScroll"] > table["boxClient"])):
                too_wide.append((page.name, table["title"], table["width"], table["room"]))
    assert ours >= 30  # the sample's tables were all measured
    assert not too_wide


def test_names_break_only_where_they_copy_whole(browser, sample_sites):
    """Long names get line-break opportunities after . - _ / (<wbr>), which a reader who
    copies the name does not get: the selection is the name as the broker has it."""
    page = sample_sites["alabaster"] / "options.html"
    html = page.read_text(encoding="utf-8")
    assert "orders.</span><wbr><span" in html
    assert "&<wbr>" not in html and not any(f"&{e}<wbr>" in html for e in ("amp", "lt", "gt"))
    open_page(browser, page)
    copied = browser.execute_script("""
const found = [];
for (const code of document.querySelectorAll('table.rabbitmq-table code')) {
  if (!code.querySelector('wbr')) continue;
  const range = document.createRange();
  range.selectNodeContents(code);
  const selection = getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  found.push(selection.toString());
}
return found;
""")
    assert "orders.payment-requests" in copied
    assert "cap-queue-length" in copied
    assert all(" " not in name and "\n" not in name for name in copied)


# -- diagrams in light and dark ----------------------------------------------------------

#: theme -> (its html_theme, the element whose data-theme its switch sets, the button to
#: press for a mode: furo's one button cycles through auto, dark and light; pydata's menu
#: has one per mode)
PYDATA_MENU = 'button.theme-change-button[data-mode="{mode}"]'
THEMES = {
    "furo": ("furo", "body", ".content-icon-container .theme-toggle"),
    "pydata-sphinx-theme": ("pydata_sphinx_theme", "documentElement", PYDATA_MENU),
    "sphinx-book-theme": ("sphinx_book_theme", "documentElement", PYDATA_MENU),
}
DIAGRAMS = """
Diagrams small enough to be shown at their size: contrast is a matter of colour here.

.. rabbitmq-topology:: definitions.json
   :vhost: /
   :include: orders.events, unrouted*, audit.*
   :show: diagram

.. rabbitmq-topology:: definitions.json
   :vhost: billing
   :layout: TB
   :show: diagram, queues
"""


@pytest.fixture(scope="module")
def theme_sites(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("theme-sites")
    sites = {}
    for name, (html_theme, _, _) in THEMES.items():
        project = write_project(root / name / "src", {"diagrams": DIAGRAMS},
                                html_theme=html_theme)
        shutil.copy(SAMPLE / "broker" / "definitions.json", project / "definitions.json")
        sites[name] = sphinx_build(project, root / name / "html")
    return sites


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("themes")


def switch_to(driver, holder: str, switch: str, mode: str) -> None:
    """Press the theme's own switch until it says *mode*."""
    for _ in range(4):
        if driver.execute_script(f"return document.{holder}.dataset.theme") == mode:
            return
        driver.execute_script(f"document.querySelector({switch.format(mode=mode)!r}).click()")
    pytest.fail(f"the theme's switch never set data-theme={mode!r} on <{holder}>")


#: the colour an element stands on: its own background or its nearest ancestor's
BEHIND = """
const behind = element => {
  for (let e = element; e; e = e.parentElement) {
    const colour = getComputedStyle(e).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
  }
  return 'rgb(255, 255, 255)';
};
"""
DIAGRAM_RECTANGLES = BEHIND + """
return [...document.querySelectorAll('div.rabbitmq-topology > object')].map(o => {
  const r = o.getBoundingClientRect();
  return [r.left + scrollX, r.top + scrollY, r.width, r.height,
          behind(o.parentElement), getComputedStyle(o).filter];
});"""


def diagram_shots(driver) -> list[tuple[bytes, str]]:
    """A PNG of each diagram as the page shows it (what is behind it included), and the
    colour of the page there."""
    shots = []
    # where the diagrams are once the page has settled (fonts, scripts, the images' sizes,
    # the themes' colour transitions)
    rectangles, same = None, 0
    for _ in range(40):
        time.sleep(0.25)
        found = driver.execute_script(DIAGRAM_RECTANGLES)
        same = same + 1 if found == rectangles else 0
        if same == 2:
            break
        rectangles = found
    for left, top, width, height, ground, _ in rectangles:
        # inside the image's box: a theme may draw a border or a focus ring on it
        clip = {"x": left + 2, "y": top + 2, "width": width - 4, "height": height - 4,
                "scale": 1}
        # the drawing inside the <object> is a document of its own, which follows the
        # switch on its own time: the same picture twice in a row is the settled one
        png = None
        for _ in range(20):
            shot = base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True, "clip": clip})["data"])
            if shot == png:
                break
            png = shot
            time.sleep(0.2)
        assert png is not None
        shots.append((png, ground))
    return shots


def luminance(rgb: tuple[int, ...]) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


#: pixels this close belong to one mark: the letters of a word, whose thinnest stems,
#: drawn across two pixels, never show the full colour of the ink on their own
NEAR = range(-3, 4)


def ink_contrasts(png: bytes) -> tuple[tuple[int, ...], list[tuple[float, int]]]:
    """The colour most of the image shows (the page behind the drawing), and for each mark
    of the drawing (a word, a line, an outline: a group of nearby pixels of none of the
    flat colours that cover the image), its contrast with the flat colours around it
    (the worst of them) and its size in pixels.

    A mark's contrast is that of its most contrasting pixel: the anti-aliased rims of
    letters are lighter than their ink, the middle of a stem or a line is not."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    pixels = list(image.get_flattened_data())
    # a flat colour fills whole 5 x 5 squares somewhere; ink, however common (black),
    # only does in marks wider than the drawing draws
    flat = Counter(
        pixels[y * width + x] for y in range(2, height - 2, 2) for x in range(2, width - 2, 2)
        if all(pixels[(y + dy) * width + x + dx] == pixels[y * width + x]
               for dx in (-2, 0, 2) for dy in (-2, 0, 2)))
    areas = {colour for colour, count in flat.items() if count >= sum(flat.values()) * 0.005}
    page = flat.most_common(1)[0][0]
    seen = bytearray(len(pixels))
    marks = []
    for start in range(len(pixels)):
        if seen[start] or pixels[start] in areas:
            continue
        seen[start] = 1
        group, stack, around = [], [start], Counter()
        while stack:
            index = stack.pop()
            group.append(index)
            x, y = index % width, index // width
            for dx in NEAR:
                for dy in NEAR:
                    nx, ny = x + dx, y + dy
                    if 0 <= nx < width and 0 <= ny < height:
                        other = ny * width + nx
                        if pixels[other] in areas:
                            around[pixels[other]] += 1
                        elif not seen[other]:
                            seen[other] = 1
                            stack.append(other)
        if not around:
            continue
        total = sum(around.values())
        behind = [colour for colour, count in around.items() if count >= total * 0.2]
        marks.append((min(max(contrast(pixels[i], colour) for i in group)
                          for colour in behind), len(group)))
    return page, marks


TABLE_COLOURS = BEHIND + """
const colours = [];
for (const e of document.querySelectorAll('table.rabbitmq-table :is(th, td, code, caption)')) {
  colours.push([getComputedStyle(e).color, behind(e)]);
}
return colours;
"""


def rgb(css: str) -> tuple[int, ...]:
    return tuple(int(float(part)) for part in css[css.index("(") + 1:-1].split(",")[:3])


@pytest.mark.parametrize("theme", list(THEMES))
def test_diagrams_follow_the_theme_switch_at_aa_contrast(browser, theme_sites, screenshots,
                                                         theme):
    _, holder, switch = THEMES[theme]
    browser.set_window_size(1280, 1000)
    open_page(browser, theme_sites[theme] / "diagrams.html")
    pages = {}
    for mode in ("light", "dark", "light"):
        switch_to(browser, holder, switch, mode)
        shots = diagram_shots(browser)
        assert len(shots) == 2
        pages[mode] = []
        for number, (png, ground) in enumerate(shots):
            (screenshots / f"{theme}-{mode}-{number}.png").write_bytes(png)
            page, marks = ink_contrasts(png)
            # marks of under a dozen pixels are the dots of dotted lines, partly covered
            faint = sorted((round(value, 2), size) for value, size in marks
                           if value < AA and size >= 12)
            assert len(marks) >= 10, (mode, number)  # the drawing was seen
            assert not faint, (theme, mode, number, faint[:10])
            pages[mode].append(page)
            # the drawing stands on the page's own background, not on a panel of its own
            near = all(abs(p - g) <= 2 for p, g in zip(page, rgb(ground), strict=True))
            assert near, (mode, number, page, ground)
        # the tables beside them take the theme's colours, readable in either mode
        colours = browser.execute_script(TABLE_COLOURS)
        assert colours
        assert min(contrast(rgb(ink), rgb(ground)) for ink, ground in colours) >= AA, mode
    # and that background is light, then dark
    assert all(luminance(colour) > 0.8 for colour in pages["light"])
    assert all(luminance(colour) < 0.05 for colour in pages["dark"])
