"""Regular expressions matched as RabbitMQ matches policy patterns: PCRE on UTF-8 bytes.

The broker searches a name with Erlang's ``re`` (PCRE, interpreted) on the name's UTF-8
bytes, without its unicode option: ``.`` is one byte, ``\\d`` and ``\\s`` are ASCII, and
the whole PCRE syntax is valid (``\\z``, ``\\Q...\\E``, ``(?i)`` anywhere, ``(*UCP)``,
possessive quantifiers, atomic groups). Past PCRE's match limit (ten million steps) it
gives up and counts the name as not matched. The same library, interpreted too (the JIT
counts its limit otherwise), decides the same; a test compares it with the broker.

Known differences (README, "Policy patterns"): Erlang's character tables are Latin-1, so
for the broker ``\\w``, ``\\b``, ``[[:alpha:]]`` and ``(?i)`` also take bytes 0xAA, 0xB5,
0xBA and 0xC0-0xFF (less 0xD7 and 0xF7) for letters, where these tables are ASCII; the
pcre2 package reads ``\\x`` and ``\\u`` escapes as Python does and refuses ``\\C``; and
PCRE2 accepts syntax that PCRE 8.45 (Erlang/OTP 27 and older) refuses, and reads ``{,3}``
as a quantifier.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import lru_cache

import pcre2

#: steps a pattern may take on a name once PCRE has given up on it for FULL_TRIES names:
#: a catastrophic pattern then costs a fraction of a millisecond per further name, not a
#: tenth of a second, while the names it decides quickly are decided exactly as before
QUICK_LIMIT = 10_000
FULL_TRIES = 5


class InvalidPattern(ValueError):
    """A pattern PCRE does not compile; the message is PCRE's."""


class GaveUp(Exception):
    """PCRE stopped at a limit before deciding whether the pattern matches."""


class Regex:
    """A pattern compiled as the broker compiles it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.code = _compile(subject(text))
        self.quick_code: pcre2.Pattern | None = None

    def search(self, name: bytes, *, quick: bool = False) -> bool:
        """Whether the pattern matches somewhere in *name* (UTF-8 bytes, see
        :func:`subject`), taking at most QUICK_LIMIT steps when *quick*."""
        code = self.code
        if quick:
            if self.quick_code is None:
                # a limit set at the start of a pattern lowers the library's for it alone
                self.quick_code = _compile(f"(*LIMIT_MATCH={QUICK_LIMIT})".encode()
                                           + subject(self.text))
            code = self.quick_code
        try:
            return code.search(name) is not None
        except pcre2.LibraryError as exc:  # the match, depth or heap limit
            raise GaveUp(str(exc)) from None


def _compile(pattern: bytes) -> pcre2.Pattern:
    try:
        # no JIT: the interpreter counts steps as the broker's PCRE does
        return pcre2.compile(pattern, jit=False)
    except pcre2.PatternError as exc:
        raise InvalidPattern(str(exc)) from None


@lru_cache(maxsize=4096)
def compile_pattern(text: str) -> Regex:
    """*text* compiled (once: loading checks each policy's pattern, resolving uses it);
    InvalidPattern when PCRE refuses it, as the broker does."""
    return Regex(text)


def subject(name: str) -> bytes:
    """A name as PCRE sees it: its UTF-8 bytes (a lone surrogate, which JSON allows but
    no broker name holds, passed through rather than refused)."""
    return name.encode("utf-8", "surrogatepass")


class Matcher:
    """Searches names with patterns for one run, and keeps where PCRE gave up.

    After PCRE has given up on FULL_TRIES names for one pattern, further names get
    QUICK_LIMIT steps: the cost of a catastrophic pattern stays bounded however many names
    there are, and a name the pattern decides within that is decided exactly.
    """

    def __init__(self) -> None:
        #: pattern -> what it gave up on (the callers' labels, in order)
        self.gave_up: dict[Regex, list[str]] = {}

    def search(self, regex: Regex, name: str, kind: str | None = None) -> bool:
        """Whether *regex* matches *name*; False, noted as the name's repr (after *kind*,
        as in ``queue 'q1'``), when PCRE gives up (the broker then counts the name as not
        matched)."""
        failed = self.gave_up.get(regex)
        try:
            return regex.search(subject(name),
                                quick=failed is not None and len(failed) >= FULL_TRIES)
        except GaveUp:
            self.gave_up.setdefault(regex, []).append(give_up_label(name, kind))
            return False


def give_up_label(name: str, kind: str | None = None) -> str:
    """How a note of the names PCRE gave up on names *name*: its repr, after *kind* (as in
    ``queue 'q1'``) when given."""
    return repr(name) if kind is None else f"{kind} {name!r}"


def gave_up_on(labels: list[str]) -> str:
    """The names a pattern gave up on, for a message: the first and how many more."""
    more = len(labels) - 1
    return labels[0] + (f" (and {more} other name{'s' if more > 1 else ''})" if more else "")


class NameIndex:
    """Names sorted, by which a pattern's literal start (a policy's ``^literal``, a
    selection glob's text before its first wildcard) finds the only names it may match: a
    name without that start cannot match. Positions are those of the names as given."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        #: the positions of the names, in the names' order
        self.order = sorted(range(len(names)), key=names.__getitem__)
        self.sorted = [names[position] for position in self.order]

    def starting_with(self, start: str) -> Sequence[int]:
        """The positions of the names that start with *start* (every one for ""), in order."""
        if not start:
            return range(len(self.names))
        found = []
        for index in range(bisect.bisect_left(self.sorted, start), len(self.sorted)):
            if not self.sorted[index].startswith(start):
                break
            found.append(self.order[index])
        return sorted(found)
