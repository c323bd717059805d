"""Find a Graphviz ``dot``: the configured one, else graphviz-pure's dot-compatible binary."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

PURE_NAME = "graphviz-pure"
# graphviz-pure writes these (not pdf, not cmapx image maps)
_PURE_FORMATS = frozenset({"svg", "png", "dot", "xdot", "json", "plain"})


@dataclass(frozen=True, slots=True)
class DotBinary:
    path: str
    name: str  # "dot" (Graphviz) or "graphviz-pure"

    @property
    def is_pure(self) -> bool:
        return self.name == PURE_NAME

    def supports(self, image_format: str) -> bool:
        return not self.is_pure or image_format in _PURE_FORMATS


def _which(command: str) -> str | None:
    # a venv's scripts are not on PATH when its python is run by full path
    return shutil.which(command) or shutil.which(
        command, path=os.path.dirname(sys.executable))


def find_dot(configured: str = "dot", *, fallback: bool = True) -> DotBinary | None:
    """The binary to run, or None when neither Graphviz nor graphviz-pure is installed."""
    found = _which(configured)
    if found:
        return DotBinary(found, PURE_NAME if os.path.basename(found) == PURE_NAME else "dot")
    if fallback:
        pure = _which(PURE_NAME)
        if pure:
            return DotBinary(pure, PURE_NAME)
    return None
