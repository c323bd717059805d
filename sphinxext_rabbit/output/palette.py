"""The colours every drawing uses (DOT and Mermaid), chosen once.

Every text and line keeps WCAG AA contrast (4.5:1) against the fills and a white page,
and, inverted by the stylesheet in a dark theme, against a dark page, as drawn: thin lines
and small text show lighter than their colour (tests/test_themes.py measures it). Colours
are as Graphviz names them; `css_colour` gives the ones CSS does not know (Mermaid).
"""

from __future__ import annotations

import re

EXCHANGE_FILL = "#fdf0d5"
QUEUE_FILL = "#dcebfa"
EXTERNAL_FILL = "#eeeeee"
BUILTIN_FILL = "#f2f2f2"
RED = "#c00000"
ORANGE = "#994d00"
PURPLE = "#8020c0"
BLUE = "blue"
#: text and node outlines that step back; lines that step back, on the page
GREY_TEXT = "gray25"
GREY_LINE = "gray45"

#: X11's greys, ``gray0`` (black) to ``gray100`` (white), which Graphviz knows and CSS not
_X11_GREY = re.compile(r"gr[ae]y(\d{1,3})")


def css_colour(colour: str) -> str:
    """*colour* as CSS writes it: an X11 grey as ``#rrggbb`` (its level rounded half up,
    as X11's table has it: ``gray25`` is ``#404040``), any other as it is."""
    match = _X11_GREY.fullmatch(colour)
    if match is None or int(match[1]) > 100:
        return colour
    level = (int(match[1]) * 255 + 50) // 100
    return "#" + f"{level:02x}" * 3
