"""Find a Graphviz ``dot`` (the configured one, else graphviz-pure's dot-compatible binary)
and draw with it, in a bounded time."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass

PURE_NAME = "graphviz-pure"
# graphviz-pure writes these (not pdf, not cmapx image maps)
_PURE_FORMATS = frozenset({"svg", "png", "dot", "xdot", "json", "plain"})
#: seconds a layout may take, in Sphinx builds and the command line alike
DEFAULT_TIMEOUT = 30.0
#: the most lines of what dot says that are passed on for one drawing
MAX_MESSAGES = 10
#: the longest side (pt) of a picture the command line writes: 4,000 pt is five screens,
#: past which a whole picture shown on one is shrunk below what can be read
MAX_SIDE = 4000
#: how much of an image's start its size is read from
_HEAD_BYTES = 4096
_SVG_SIZE = re.compile(rb'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"[^>]*?\bheight="([\d.]+)(pt|px)?"')
_PDF_SIZE = re.compile(rb"/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]")
#: dot draws bitmaps at 96 pixels an inch, 72 points
_PIXELS_PER_POINT = 96 / 72


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


class DotTimeout(Exception):
    """dot did not finish in time; it and what it started have been killed."""


class DotFailed(Exception):
    """dot exited with an error, or wrote no image; the message is what it said."""


class DotTooLarge(Exception):
    """dot laid out a picture larger than was allowed; it has not been written."""

    def __init__(self, width: float, height: float) -> None:
        super().__init__(f"{width:g} × {height:g} pt")
        self.width = width
        self.height = height


def picture_size(path: str, image_format: str) -> tuple[float, float] | None:
    """Width and height (pt) of an SVG, PNG or PDF image dot wrote; None for another
    format or one whose size cannot be told."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(_HEAD_BYTES)
    except OSError:
        return None
    if image_format == "png" and head[12:16] == b"IHDR":
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        return width / _PIXELS_PER_POINT, height / _PIXELS_PER_POINT
    if image_format == "svg" and (found := _SVG_SIZE.search(head)):
        scale = [1 / _PIXELS_PER_POINT if unit == b"px" else 1.0 for unit in found.group(2, 4)]
        return float(found.group(1)) * scale[0], float(found.group(3)) * scale[1]
    if image_format == "pdf":
        # cairo writes the page's size near the start or at the end
        with open(path, "rb") as stream:
            found_pdf = _PDF_SIZE.search(stream.read())
        if found_pdf:
            return float(found_pdf.group(1)), float(found_pdf.group(2))
    return None


def draw(binary: DotBinary, code: str, image_format: str, output: str, *,
         timeout: float, arguments: tuple[str, ...] | list[str] = (),
         max_side: float | None = None) -> list[str]:
    """Lay out *code* into the image *output* within *timeout* seconds; what dot said
    (its warnings, such as a bitmap scaled down to fit), one message a line. With
    *max_side*, a picture longer than that (pt) on a side is not written (`DotTooLarge`).

    The image is written beside *output* and renamed into place, so a killed or failed
    dot leaves no partial image that a later build would take as drawn."""
    partial = f"{output}.{os.getpid()}.partial"
    # a session of its own: on a timeout the whole group goes, also what a wrapper
    # script started (which would otherwise hold the pipe open, and the build with it)
    try:
        process = subprocess.Popen(
            [binary.path, *arguments, f"-T{image_format}", f"-o{partial}"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
    except OSError as exc:  # not executable, not a program
        raise DotFailed(f"{binary.path} cannot be run: {exc.strerror or exc}") from None
    with process:
        try:
            _, stderr = process.communicate(code.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            _remove(partial)
            raise DotTimeout(f"{binary.name} did not finish in {timeout:g} s") from None
    messages = dot_messages(binary, stderr.decode(errors="replace"))
    if process.returncode != 0 or not os.path.isfile(partial):
        _remove(partial)
        raise DotFailed("; ".join(messages) or f"{binary.name} exited with code "
                        f"{process.returncode} and wrote no image")
    if (max_side is not None and (size := picture_size(partial, image_format)) is not None
            and max(size) > max_side):
        _remove(partial)
        raise DotTooLarge(*size)
    os.replace(partial, output)
    return messages


def dot_messages(binary: DotBinary, stderr: str) -> list[str]:
    """What dot wrote to stderr, a message a distinct line, at most `MAX_MESSAGES` of them."""
    program = os.path.basename(binary.path)
    messages: dict[str, None] = {}  # in order, once each
    more = 0
    for line in stderr.split("\n"):  # not splitlines: a carriage return stays, escaped
        text = line.strip().removeprefix(f"{program}: ").removeprefix("Warning: ")
        if not text or f"Graphviz {binary.name}: {text}" in messages:
            continue
        if len(messages) < MAX_MESSAGES:
            messages[f"Graphviz {binary.name}: {text}"] = None
        else:
            more += 1
    if more:
        messages[f"Graphviz {binary.name}: and {more} more lines"] = None
    return list(messages)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended on its own meanwhile
            pass
    else:  # no process groups: the process alone
        process.kill()
    process.wait()


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
