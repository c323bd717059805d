"""Find a Graphviz ``dot`` (the configured one, else graphviz-pure's dot-compatible binary)
and draw with it, in a bounded time."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ..topology.records import record

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
#: the longest a wait for dot sleeps where a process has no descriptor to wait on
_POLL = 0.01
#: the longest one wait for dot lasts (its callers wait again): poll() takes a C int of
#: milliseconds, which a time limit of a month or of float("inf") would overflow
_LONGEST_WAIT = 60.0
#: how much of an image's start its size is read from
_HEAD_BYTES = 4096
_SVG_SIZE = re.compile(rb'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"[^>]*?\bheight="([\d.]+)(pt|px)?"')
_PDF_SIZE = re.compile(rb"/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]")
#: dot draws bitmaps at 96 pixels an inch, 72 points
_PIXELS_PER_POINT = 96 / 72


@record(frozen=True)
class DotBinary:
    """The Graphviz program a diagram is laid out with, found on PATH or configured."""

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
    *max_side*, a picture longer than that (pt) on a side is not written (`DotTooLarge`)."""
    return Drawing(binary, code, [(image_format, output)], timeout=timeout,
                   arguments=arguments, max_side=max_side).result()


class Drawing:
    """One run of dot under way, laying out *code* once into every ``(format, path)`` of
    *outputs* (an image and its image map, say), for at most *timeout* seconds from its
    start. Nothing waits for it until `result` is asked for, so several can run at once;
    no thread is involved, so a process may fork while they run.

    Each file is written beside its path and renamed into place, so a killed or failed
    dot leaves no partial image that a later build would take as drawn."""

    def __init__(self, binary: DotBinary, code: str, outputs: list[tuple[str, str]], *,
                 timeout: float, arguments: tuple[str, ...] | list[str] = (),
                 max_side: float | None = None) -> None:
        self.binary = binary
        self.timeout = timeout
        self.max_side = max_side
        self.partials = [(image_format, output, f"{output}.{os.getpid()}.partial")
                         for image_format, output in outputs]
        self._outcome: list[str] | Exception | None = None
        self.deadline = time.monotonic() + timeout
        #: the deadline by the wall clock, which the files' times are told by
        self.latest_write = time.time() + timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._exit_fd: int | None = None
        self._stderr = tempfile.TemporaryFile()
        if timeout <= 0:
            # no time at all: not started, so that a run collected after it ended (by a
            # pool, busy meanwhile) is never taken as laid out in time
            self._finish(self._timeout())
            return
        # the text is read from a file and what dot says written to one: no pipe to keep
        # fed or drained while it runs
        with tempfile.TemporaryFile() as stdin:
            stdin.write(code.encode())
            stdin.seek(0)
            # a session of its own: on a timeout the whole group goes, also what a
            # wrapper script started
            try:
                self._process = subprocess.Popen(
                    [binary.path, *arguments,
                     *(f"-{flag}{value}" for image_format, _, partial in self.partials
                       for flag, value in (("T", image_format), ("o", partial)))],
                    stdin=stdin, stdout=subprocess.DEVNULL, stderr=self._stderr,
                    start_new_session=True)
            except OSError as exc:  # not executable, not a program
                self._finish(DotFailed(f"{binary.path} cannot be run: {exc.strerror or exc}"))
            else:
                self._exit_fd = _exit_fd(self._process.pid)

    def done(self, wait: float = 0.0) -> bool:
        """Whether dot has ended (or, past its time, been ended), waiting up to *wait*
        seconds for it."""
        if self._outcome is None:
            wait_for_any([self], wait)
            assert self._process is not None  # (set until there is an outcome)
            if self._process.poll() is not None:
                if time.monotonic() >= self.deadline and not self._written_in_time():
                    # looked at late (a pool busy writing a page meanwhile): when dot
                    # wrote its files tells whether it was in time, not when it was seen
                    self._finish(self._timeout())
                else:
                    self._collect()
            elif time.monotonic() >= self.deadline:
                self._time_out()
        return self._outcome is not None

    def kill(self) -> None:
        """Kill dot's process group at once, and wait for nothing: for a process about to
        end (on SIGTERM), which must not block on what it was doing when the signal came."""
        if self._outcome is None and self._process is not None:
            _signal_group(self._process)

    def stop(self) -> None:
        """End dot now, if it runs (no image is written)."""
        if self._outcome is None:
            assert self._process is not None
            _kill_group(self._process)
            self._finish(DotFailed(f"{self.binary.name} was stopped"))

    def result(self) -> list[str]:
        """Wait for dot: what it said, or the exception that says why there is no image
        (`DotTimeout`, `DotFailed`, `DotTooLarge`)."""
        while not self.done(wait=max(0.0, self.deadline - time.monotonic())):
            pass  # (ends: past the deadline, done() ends dot)
        if isinstance(self._outcome, Exception):
            raise self._outcome
        assert self._outcome is not None
        return self._outcome

    def _time_out(self) -> None:
        assert self._process is not None
        _kill_group(self._process)
        self._finish(self._timeout())

    def _timeout(self) -> DotTimeout:
        return DotTimeout(f"{self.binary.name} did not finish in {self.timeout:g} s")

    def _written_in_time(self) -> bool:
        """Whether the files of a dot that ended were all written by its deadline (one
        that wrote none failed: `_collect` says so)."""
        try:
            written = max(os.stat(partial).st_mtime for _, _, partial in self.partials)
        except OSError:
            return True
        return written <= self.latest_write

    def _collect(self) -> None:
        assert self._process is not None
        self._stderr.seek(0)
        messages = dot_messages(self.binary, self._stderr.read().decode(errors="replace"))
        returncode = self._process.returncode
        if returncode != 0 or not all(os.path.isfile(partial)
                                      for _, _, partial in self.partials):
            self._finish(DotFailed("; ".join(messages) or f"{self.binary.name} exited with "
                                   f"code {returncode} and wrote no image"))
            return
        for image_format, _, partial in self.partials:
            if (self.max_side is not None
                    and (size := picture_size(partial, image_format)) is not None
                    and max(size) > self.max_side):
                self._finish(DotTooLarge(*size))
                return
        for _, output, partial in self.partials:
            os.replace(partial, output)
        self._finish(messages)

    def _finish(self, outcome: list[str] | Exception) -> None:
        self._outcome = outcome
        self._stderr.close()
        self._process = None
        if self._exit_fd is not None:
            os.close(self._exit_fd)
            self._exit_fd = None
        for _, _, partial in self.partials:
            _remove(partial)


def wait_for_any(drawings: list[Drawing], wait: float) -> None:
    """Wait until one of *drawings* has ended or is past its time, at most *wait* seconds.

    Where the system gives a process a descriptor that becomes readable when it ends
    (Linux), the wait ends then. Otherwise the first is waited for, at most `_POLL`
    seconds (the callers wait again): Popen.wait with a timeout polls with doubling
    sleeps, up to 50 ms, and saw a 20 ms layout end at 31 ms. Ctrl-C stops the drawings."""
    running = [drawing for drawing in drawings if drawing._outcome is None]
    if not running or wait <= 0:
        return
    now = time.monotonic()
    wait = min(wait, _LONGEST_WAIT, *(max(0.0, drawing.deadline - now) for drawing in running))
    try:
        exit_fds = [fd for drawing in running if (fd := drawing._exit_fd) is not None]
        if len(exit_fds) == len(running):
            ends = select.poll()
            for fd in exit_fds:
                ends.register(fd, select.POLLIN)
            ends.poll(wait * 1000)
        else:
            assert running[0]._process is not None  # (set until there is an outcome)
            try:
                running[0]._process.wait(min(wait, _POLL))
            except subprocess.TimeoutExpired:
                pass
    except BaseException:
        for drawing in running:
            drawing.stop()  # interrupted (Ctrl-C): dot, in a session of its own, stays not
        raise


def _exit_fd(pid: int) -> int | None:
    """A descriptor readable once process *pid* has ended (Linux's pidfd); None where
    there is none."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None or not hasattr(select, "poll"):
        return None
    try:
        return pidfd_open(pid)
    except OSError:  # an older kernel, or one that refuses it
        return None


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
    _signal_group(process)
    process.wait()


def _signal_group(process: subprocess.Popen[bytes]) -> None:
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended on its own meanwhile
            pass
    else:  # no process groups: the process alone
        process.kill()


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
