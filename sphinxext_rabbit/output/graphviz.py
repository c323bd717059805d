"""Find a Graphviz ``dot`` (the configured one, else graphviz-pure's dot-compatible binary)
and draw with it, in a bounded time."""

from __future__ import annotations

import os
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


def draw(binary: DotBinary, code: str, image_format: str, output: str, *,
         timeout: float, arguments: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Lay out *code* into the image *output* within *timeout* seconds; what dot said
    (its warnings, such as a bitmap scaled down to fit), one message a line.

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
