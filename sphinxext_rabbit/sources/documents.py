"""Reading a document within limits: a file's text (regular files only, size-capped,
UTF-8), JSON and YAML parsed into JSON's types (aliases and integer digits capped), and the
lines that a path inside the document came from. Every reader of sources/ builds on these."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from ..topology.model import ERROR, Problem, ProblemCode
from ..topology.records import record

#: YAML aliases allowed in one file; more could expand into a "billion laughs".
MAX_YAML_ALIASES = 100
#: Larger files are refused unless the caller allows more.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def json_kind(value: Any) -> str:
    """A value's JSON type, named without echoing the value (it may be a secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# -- locating problems in the source text ------------------------------------------------

class Locator:
    """Turns a path such as ("queues", 3, "name") into a line, parsing again only on demand."""

    def __init__(self, text: str, is_yaml: bool) -> None:
        self.text = text
        self.is_yaml = is_yaml
        # top-level key -> [(start, end) of its value, then of each list element]
        self._spans: dict[str, list[tuple[int, int]]] | None = None

    def __call__(self, path: tuple) -> int | None:
        if not path:
            return None
        if self._spans is None:
            try:
                self._spans = self._yaml_spans() if self.is_yaml else self._json_spans()
            except Exception:  # a locator must never turn a warning into a crash
                self._spans = {}
        spans = self._spans.get(path[0])
        if spans is None:
            return None
        start, end = spans[0]
        if len(path) > 1 and isinstance(path[1], int) and path[1] < len(spans) - 1:
            start, end = spans[path[1] + 1]
            if len(path) > 2 and not self.is_yaml:
                field = re.compile(re.escape(json.dumps(path[2])) + r"\s*:")
                found = field.search(self.text, start, end)
                start = found.start() if found else start
        return line_at(self.text, start)

    def _json_spans(self) -> dict[str, list[tuple[int, int]]]:
        text = self.text
        decoder = json.JSONDecoder()
        whitespace = re.compile(r"[ \t\n\r]*")
        scanstring = json.decoder.scanstring  # type: ignore[attr-defined]

        def skip(pos: int) -> int:
            found = whitespace.match(text, pos)  # (it matches anywhere, if only "")
            return found.end() if found else pos

        found: dict[str, list[tuple[int, int]]] = {}
        pos = skip(0)
        if text[pos:pos + 1] != "{":
            return found
        pos += 1
        while True:
            pos = skip(pos)
            if text[pos:pos + 1] != '"':
                return found
            key, pos = scanstring(text, pos + 1)
            pos = skip(skip(pos) + 1)  # past the colon
            start = pos
            spans = []
            if text[pos:pos + 1] == "[":
                pos = skip(pos + 1)
                while text[pos:pos + 1] != "]":
                    _value, end = decoder.raw_decode(text, pos)
                    spans.append((pos, end))
                    pos = skip(end)
                    if text[pos:pos + 1] == ",":
                        pos = skip(pos + 1)
                pos += 1
            else:
                _value, pos = decoder.raw_decode(text, pos)
            found[key] = [(start, pos), *spans]
            pos = skip(pos)
            if text[pos:pos + 1] != ",":
                return found
            pos += 1

    def _yaml_spans(self) -> dict[str, list[tuple[int, int]]]:
        import yaml

        root = yaml.compose(self.text, Loader=_yaml_loader())
        found: dict[str, list[tuple[int, int]]] = {}
        if isinstance(root, yaml.MappingNode):
            for key_node, value_node in root.value:
                spans = [(value_node.start_mark.index, value_node.end_mark.index)]
                if isinstance(value_node, yaml.SequenceNode):
                    spans.extend((item.start_mark.index, item.end_mark.index)
                                 for item in value_node.value)
                found[str(key_node.value)] = spans
        return found


def line_at(text: str, offset: int) -> int:
    """The 1-based line of *text* that *offset* falls in."""
    return text.count("\n", 0, offset) + 1


@functools.cache
def _yaml_loader() -> type:
    """A safe YAML loader that builds only JSON's types, as Kubernetes reads manifests:
    the renderers expect JSON data, so dates and bytes stay text and sets become maps;
    and only integers that Python can write out again (see `unreadable_json`)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class JsonTypesLoader(base):  # type: ignore[misc,valid-type]
        def construct_integer(self, node: Any) -> int:
            try:
                value = base.construct_yaml_int(self, node)
                # a hexadecimal or sexagesimal one is built without the digit limit, and
                # would fail where it is drawn
                str(value)
            except ValueError:
                raise ParseError(too_long_integer(), node.start_mark.line + 1) from None
            return value

    for tag in ("timestamp", "binary"):
        JsonTypesLoader.add_constructor(f"tag:yaml.org,2002:{tag}", base.construct_yaml_str)
    JsonTypesLoader.add_constructor("tag:yaml.org,2002:set", base.construct_yaml_map)
    JsonTypesLoader.add_constructor("tag:yaml.org,2002:int", JsonTypesLoader.construct_integer)
    return JsonTypesLoader


def is_yaml_path(path: str) -> bool:
    return path.lower().endswith((".yaml", ".yml"))


class ParseError(Exception):
    """Text that cannot be read as JSON or YAML within the limits: one located problem."""

    def __init__(self, message: str, line: int | None, code: ProblemCode = "parse") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.code = code

    def problem(self) -> Problem:
        return Problem(ERROR, self.code, self.message, self.line)


#: Why a well-formed document cannot be read: nesting deeper than Python's stack...
TOO_DEEP = "nested too deeply to read"


def too_long_integer() -> str:
    """...or an integer longer than Python turns text into and back (4,300 digits, unless
    ``sys.set_int_max_str_digits`` or ``PYTHONINTMAXSTRDIGITS`` says otherwise)."""
    return (f"an integer of more than {sys.get_int_max_str_digits():,} digits, more than "
            "Python reads")


def unreadable_json(error: ValueError | RecursionError) -> str | None:
    """Why ``json.loads`` refused well-formed JSON; None when the text is not JSON."""
    if isinstance(error, RecursionError):
        return TOO_DEEP
    if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
        return None
    return too_long_integer()  # the one other ValueError json.loads raises


def read_json(text: str) -> Any:
    """``json.loads``, what stops it a ParseError at its line (where one can be told)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = unreadable_json(exc)
        if reason is None:
            raise ParseError(f"not valid JSON: {getattr(exc, 'msg', exc)}",
                             getattr(exc, "lineno", None)) from None
        line = None
        if reason != TOO_DEEP:  # the first run of that many digits: the integer, surely
            found = re.search(f"[0-9]{{{sys.get_int_max_str_digits() + 1}}}", text)
            line = line_at(text, found.start()) if found else None
        raise ParseError(reason, line) from None


def read_yaml(text: str, build: Callable[[type], Any]) -> Any:
    """``build(loader class)`` over YAML text within the limits (aliases, nesting), with
    YAML's errors turned into a ParseError that quotes no part of the text."""
    import yaml

    loader = _yaml_loader()
    try:
        aliases = sum(isinstance(event, yaml.AliasEvent)
                      for event in yaml.parse(text, Loader=loader))
        if aliases > MAX_YAML_ALIASES:
            raise ParseError(f"the YAML uses {aliases} aliases; more than "
                             f"{MAX_YAML_ALIASES} are refused (an alias bomb?)", None, "limit")
        return build(loader)
    except yaml.MarkedYAMLError as exc:
        # The problem text only: the context snippet could quote a secret.
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ParseError(f"not valid YAML: {exc.problem or exc.context}", line) from None
    except yaml.YAMLError:
        raise ParseError("not valid YAML", None) from None
    except RecursionError:
        raise ParseError(TOO_DEEP, None) from None


def read_text(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str | None, Problem | None]:
    """A file's text, or the problem that stops it being read (size limit, not UTF-8, I/O).

    Only a regular file is read: a FIFO would block opening or reading it for ever, a
    device such as /dev/zero never ends. The path is looked at before it is opened (opening
    some devices does something), opened without waiting (a FIFO swapped in since opens at
    once), and what was opened is looked at again.
    """
    try:
        problem = _not_a_file(os.stat(path).st_mode)
        if problem is not None:
            return None, problem
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as stream:
            status = os.fstat(descriptor)
            problem = _not_a_file(status.st_mode)
            if problem is not None:
                return None, problem
            if status.st_size > max_bytes:
                return None, _too_big(status.st_size, max_bytes)
            # as much as the file holds: read(n) sets n bytes aside first (64 MiB by default)
            data = stream.read(status.st_size + 1)
            if len(data) > status.st_size:  # it grew since: read on, to the limit
                data += stream.read(max_bytes + 1 - len(data))
        if len(data) > max_bytes:
            return None, _too_big(len(data), max_bytes)
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, Problem(ERROR, "parse", "the file is not UTF-8 text")
    except OSError as exc:
        return None, Problem(ERROR, "io", f"cannot read the file: {exc.strerror or exc}")
    # as text mode reads it: line ends in one form
    return (text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text), None


def _not_a_file(mode: int) -> Problem | None:
    """Why what a path names (its ``st_mode``) is not read, unless it is a regular file."""
    import stat

    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return Problem(ERROR, "io", f"cannot read it: it is {kind}, and only regular files are read")


def _too_big(size: int, max_bytes: int) -> Problem:
    return Problem(ERROR, "limit", f"the file has {size:,} bytes, more than the {max_bytes:,} "
                   "allowed (rabbitmq_topology_max_file_bytes)")


@record
class Document:
    """A file's text and what tells its kind: what each reader of `sources.READERS`
    detects (``detect(document)``) and reads (``read(document)``)."""

    path: str
    #: how problems name the file
    source: str
    text: str
    #: the only vhost to read, if one was asked for
    vhost: str | None
    is_yaml: bool
    #: whether the text is JSON; ``value`` is then what it holds (parsed once for all readers)
    parsed: bool
    value: Any

    @classmethod
    def of(cls, path: str, text: str, *, source: str, vhost: str | None) -> Document:
        is_yaml = is_yaml_path(path)
        if not is_yaml:
            try:
                return cls(path, source, text, vhost, False, True, json.loads(text))
            except (ValueError, RecursionError):
                pass  # YAML in a .json file, or not valid: a reader says which
        return cls(path, source, text, vhost, is_yaml, False, None)
