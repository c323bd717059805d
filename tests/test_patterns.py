"""Policy patterns and re: selection patterns match as the broker matches: PCRE on bytes.

The table of pattern/name pairs holds what RabbitMQ 3.10 (Erlang/OTP 25) does with them,
each chosen where Python's ``re`` would decide otherwise or refuse the pattern; the live
test declares the table on the test broker and compares its ``policy`` with ours.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import warnings

import pcre2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sphinxext_rabbit.sources.definitions import parse
from sphinxext_rabbit.topology.patterns import FULL_TRIES, Matcher, compile_pattern
from sphinxext_rabbit.topology.resolve import resolve
from sphinxext_rabbit.topology.select import Selection, parse_patterns, views
from tests.broker import delete_vhosts, q, unique_prefix
from tests.helpers import ROOT, build_output, cli, shown_type

#: (pattern, [(name, whether the broker applies the policy)]), as the broker decided
TABLE: list[tuple[str, list[tuple[str, bool]]]] = [
    # \w, \d, \s, POSIX classes, \p and . act on the UTF-8 bytes (the broker's tables
    # take bytes such as 0xC3 for Latin-1 letters, ours do not: no row depends on that)
    (r"^\w+$", [("zürich", False), ("zurich", True)]),
    (r"^.{2}$", [("é", True), ("ab", True), ("日", False)]),
    (r"^.{3}$", [("日", True), ("é", False)]),
    (r"^\d+$", [("١٢", False), ("12", True)]),
    (r"[[:alpha:]]", [("1", False), ("1a", True)]),
    (r"^caf.$", [("café", False), ("cafe", True)]),
    (r"^[é]$", [("é", False)]),
    (r"^\xc3\xa9$", [("é", True)]),
    (r"^\xe9$", [("é", False)]),
    (r"(?i)^ÉTÉ$", [("été", False), ("ÉTÉ", True)]),
    (r"^a\sb$", [("a\u00a0b", False), ("a b", True)]),
    (r"^\p{L}+$", [("é", False), ("ab", True)]),
    # PCRE syntax that Python's re refuses or reads otherwise
    (r"a\z", [("ba", True), ("ab", False)]),
    (r"\Qa.b\E", [("xa.by", True), ("axb", False)]),
    (r"^x(?i)ab$", [("xAB", True), ("XAB", False)]),
    (r"(*UCP)^\w+$", [("zürich", True)]),
    (r"^a++a", [("aaa", False)]),
    (r"^(?>a+)b", [("aab", True), ("aaa", False)]),
    (r"^\N+$", [("abc", True)]),
    (r"^a\hb$", [("a b", True), ("ab", False)]),
    (r"a\Kb", [("ab", True)]),
    (r"^(?|(a)|(b))$", [("b", True)]),
    (r"^(?<n>a)\k<n>$", [("aa", True), ("ab", False)]),
    (r"^(a(?1)?b)$", [("aabb", True), ("aab", False)]),
    # past PCRE's match limit the broker gives up: no policy from that pattern
    (r"^(a|aa)+$", [("a" * 40 + "b", False), ("aaaa", True)]),
    (r"^(?:(a|aa)+$|a)", [("a" * 29 + "b", True), ("a" * 30 + "b", False),
                          ("a" * 29 + "é", True), ("a" * 30 + "é", False)]),
    (r"^([a-z]+\.?)+$", [("a" * 30 + "-", False), ("orders.eu", True)]),
]

CATASTROPHIC = "^(a|aa)+$"
LONG_NAME = "a" * 60 + "b"


def document(vhost: str, pattern: str, names: list[str]) -> dict:
    """One vhost: a queue and an exchange per name, and one policy with *pattern*."""
    return {
        "vhosts": [{"name": vhost}],
        "queues": [{"vhost": vhost, "name": name, "durable": True, "auto_delete": False,
                    "arguments": {}} for name in names],
        "exchanges": [{"vhost": vhost, "name": name, "type": "fanout", "durable": True,
                       "auto_delete": False, "internal": False, "arguments": {}}
                      for name in names],
        "policies": [{"vhost": vhost, "name": "p", "pattern": pattern, "apply-to": "all",
                      "definition": {"max-length": 1}, "priority": 0}],
    }


def effective(doc: dict, vhost: str) -> dict[tuple[str, str], str | None]:
    """The extension's effective policy name of each queue and exchange."""
    topology = parse(json.dumps(doc))
    assert not [p for p in topology.problems if p.severity == "error"], topology.problems
    view, _problems = resolve(topology, vhost)
    found = {key: policy.name for key, policy in view.effective_policies.items()}
    return {(kind, entity["name"]): found.get((kind, entity["name"]))
            for kind in ("queue", "exchange") for entity in doc[f"{kind}s"]}


def test_the_table_has_enough_pairs():
    assert sum(len(names) for _, names in TABLE) >= 30


@pytest.mark.parametrize(("pattern", "names"), TABLE, ids=[p for p, _ in TABLE])
def test_the_extension_applies_policies_as_the_broker_does(pattern, names):
    got = effective(document("v", pattern, [n for n, _ in names]), "v")
    assert got == {(kind, name): "p" if applies else None
                   for kind in ("queue", "exchange") for name, applies in names}


def test_the_broker_applies_the_policies_the_extension_does(broker):
    """Each table row in a vhost of its own, so each policy field tells one pattern."""
    prefix = unique_prefix()
    docs = [document(f"{prefix}pcre-{index}", pattern, [n for n, _ in names])
            for index, (pattern, names) in enumerate(TABLE)]
    try:
        for doc in docs:
            vhost = q(doc["vhosts"][0]["name"])
            broker.request("PUT", f"vhosts/{vhost}", {})
            for policy in doc["policies"]:  # first: the queues get it when declared
                broker.request("PUT", f"policies/{vhost}/{q(policy['name'])}", {
                    key: policy[key] for key in ("pattern", "apply-to", "definition",
                                                 "priority")})
            for kind in ("queue", "exchange"):
                for entity in doc[f"{kind}s"]:
                    broker.request("PUT", f"{kind}s/{vhost}/{q(entity['name'])}", {
                        key: value for key, value in entity.items()
                        if key not in ("vhost", "name")})
        compared = 0
        for doc in docs:
            vhost = doc["vhosts"][0]["name"]
            ours = effective(doc, vhost)
            theirs = {("exchange", x["name"]): x.get("policy") or None
                      for x in broker.request("GET", f"exchanges/{q(vhost)}")
                      if x["name"] in {e["name"] for e in doc["exchanges"]}}
            # a queue's policy is listed once its first statistics are in (a few seconds)
            deadline = time.monotonic() + 60
            while True:
                queues = broker.request("GET", f"queues/{q(vhost)}")
                if all("policy" in queue for queue in queues) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            theirs.update({("queue", queue["name"]): queue.get("policy") or None
                           for queue in queues})
            assert ours == theirs, doc["policies"][0]["pattern"]
            compared += len(ours)
        assert compared >= 60  # 30 pairs, each a queue and an exchange
    finally:
        delete_vhosts(broker, {"vhosts": [doc["vhosts"][0] for doc in docs]})


# -- what PCRE accepts is no error; what it refuses still is ---------------------------------

BROKER_SYNTAX = [r"a\z", r"\Qa.b\E", r"^x(?i)y", r"(*UCP)^\w+$", r"[[:alpha:]]+", r"a++b",
                 r"(?>a+)b", r"(?<n>a)\k<n>", r"(a(?1)?b)", r"\h\R\N", r"a\Kb"]
REFUSED = [r"(", r"[a", r"a{2,1}", r"*a", r"(?<=a+)b", r"\p{Nope}", r"(?P<1>a)"]


def policy_problems(patterns: list[str]) -> list[str]:
    doc = {"policies": [{"vhost": "/", "name": f"p{i}", "pattern": p, "apply-to": "all",
                         "definition": {}, "priority": i} for i, p in enumerate(patterns)]}
    return [p.message for p in parse(json.dumps(doc)).problems if p.code == "policy-pattern"]


def test_valid_broker_patterns_are_not_errors():
    assert policy_problems(BROKER_SYNTAX) == []


@pytest.mark.parametrize("pattern", REFUSED)
def test_patterns_pcre_refuses_are_errors(pattern):
    [message] = policy_problems([pattern])
    assert f"has pattern {pattern!r}, which PCRE (the broker's regular expressions) refuses (" \
           "compilation failed at position " in message


def test_re_selection_patterns_are_pcre_on_bytes():
    names = ["zürich", "zurich", "é", "xa.by"]

    def kept(option):
        selection = Selection(include=parse_patterns(option))
        return [n for n in names if selection.wants(n, Matcher())]

    assert kept(r"re:^\w+$") == ["zurich"]
    assert kept(r"re:^.{2}$") == ["é"]
    assert kept(r"re:\Qa.b\E, re:a\z") == ["xa.by"]
    # globs are Python's, on characters: ? is one character, é included
    assert kept("?") == ["é"]


def test_bad_re_selection_pattern_names_pcre():
    with pytest.raises(ValueError, match=r"'re:\(' is not a valid regular expression \(PCRE"):
        parse_patterns("re:(")


# -- the match limit: one warning, a bounded time, nothing drawn from the pattern ----------

def limited_document(names: list[str]) -> dict:
    return {
        "queues": [{"vhost": "/", "name": n, "durable": True, "auto_delete": False,
                    "arguments": {}} for n in names],
        "policies": [
            {"vhost": "/", "name": "bad", "pattern": CATASTROPHIC, "apply-to": "all",
             "definition": {"max-length": 1}, "priority": 5},
            {"vhost": "/", "name": "fallback", "pattern": ".", "apply-to": "all",
             "definition": {"max-length": 2}, "priority": 1},
        ],
    }


def test_a_pattern_past_the_match_limit_applies_nothing_with_one_warning():
    doc = limited_document([LONG_NAME, "aaaa"])
    [view], problems = views(parse(json.dumps(doc)), Selection())
    assert {name: p.name for (_, name), p in view.effective_policies.items()} == {
        LONG_NAME: "fallback", "aaaa": "bad"}
    [warning] = [p for p in problems if p.code == "pattern-limit"]
    assert warning.severity == "warning"
    assert warning.message == (
        f"policy 'bad' has pattern '{CATASTROPHIC}', on which PCRE gives up at its match "
        f"limit for queue '{LONG_NAME}': the broker counts such a name as not matched, and "
        "so does the drawing")


def test_many_names_past_the_limit_cost_a_bounded_time():
    names = [f"{'a' * (40 + n % 200)}b{n}" for n in range(2000)]
    started = time.monotonic()
    [view], problems = views(parse(json.dumps(limited_document(names))), Selection())
    elapsed = time.monotonic() - started
    assert {p.name for p in view.effective_policies.values()} == {"fallback"}
    [warning] = [p for p in problems if p.code == "pattern-limit"]
    assert f"for queue '{names[0]}' (and 1999 other names)" in warning.message
    assert f"names after the first {FULL_TRIES} were given 10,000 steps each" in warning.message
    # FULL_TRIES tenths of a second, then well under a millisecond a name (measured ~2 s)
    assert elapsed < 30, elapsed


def test_check_diff_and_sphinx_build_finish_fast_on_a_catastrophic_pattern(tmp_path, make_app):
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps(limited_document([LONG_NAME, "a" * 200 + "c", "aaaa"])),
                    encoding="utf-8")
    for args in (("check", str(path)), ("diff", str(path), str(path)),
                 ("dot", str(path), "--include", r"re:^(x|xx)+$")):
        started = time.monotonic()
        completed = cli(*args, check=False)
        assert time.monotonic() - started < 30, args
        assert completed.returncode == 0, completed.stderr
    assert cli("check", str(path)).stderr.count("[rabbitmq.pattern-limit]") == 1

    srcdir = tmp_path / "docs"
    srcdir.mkdir()
    (srcdir / "conf.py").write_text("extensions = ['sphinxext_rabbit']\n", encoding="utf-8")
    (srcdir / "index.rst").write_text(
        f"Page\n====\n\n.. rabbitmq-topology:: /{path.name}\n   :include: re:^(a|aa)+$\n",
        encoding="utf-8")
    (srcdir / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    app = make_app("html", srcdir=srcdir, freshenv=True)
    started = time.monotonic()
    app.build()
    assert time.monotonic() - started < 60
    warnings_text = re.sub(r"\x1b\[[0-9;]*m", "", build_output(app)[1])
    limit_warnings = [line for line in warnings_text.splitlines()
                      if "gives up at its match limit" in line]
    assert len(limit_warnings) == 2  # the policy and :include:
    assert all(line.endswith(shown_type("pattern-limit")) for line in limit_warnings)
    assert ("pattern 're:^(a|aa)+$': PCRE gives up at its match limit on "
            f"'{LONG_NAME}' (and 1 other name), which is taken as not matched") in warnings_text


# -- no Python warning reaches the user ---------------------------------------------------

def test_no_python_warning_from_patterns_on_the_command_line(tmp_path):
    doc = {"queues": [{"vhost": "/", "name": "a1", "durable": True, "auto_delete": False,
                       "arguments": {}}],
           "policies": [{"vhost": "/", "name": "p", "pattern": "[[:alpha:]]", "apply-to": "all",
                         "definition": {}, "priority": 0}]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    for option in ("--include", "--exclude"):
        for pattern in ("[[:alpha:]]*", "re:[[:alpha:]]", "[[]x]"):
            completed = subprocess.run(
                [sys.executable, "-W", "always", "-m", "sphinxext_rabbit", "check", str(path),
                 option, pattern], capture_output=True, text=True, cwd=ROOT, check=False)
            assert "Warning" not in completed.stderr, completed.stderr


def test_no_python_warning_from_patterns_in_a_sphinx_build(tmp_path, make_app):
    srcdir = tmp_path / "docs"
    srcdir.mkdir()
    (srcdir / "conf.py").write_text("extensions = ['sphinxext_rabbit']\n", encoding="utf-8")
    (srcdir / "d.json").write_text(json.dumps(
        {"queues": [{"vhost": "/", "name": "a1", "durable": True, "auto_delete": False,
                     "arguments": {}}],
         "policies": [{"vhost": "/", "name": "p", "pattern": "[[:alpha:]]", "apply-to": "all",
                       "definition": {}, "priority": 0}]}), encoding="utf-8")
    (srcdir / "index.rst").write_text(
        "Page\n====\n\n.. rabbitmq-topology:: /d.json\n   :include: a*, [[:alpha:]]*\n\n"
        ".. rabbitmq-topology:: /d.json\n   :exclude: re:[[:digit:]]x\n", encoding="utf-8")
    app = make_app("html", srcdir=srcdir, freshenv=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.build()
    assert [str(w.message) for w in caught if "sphinxext_rabbit" in w.filename
            or w.category is FutureWarning] == []
    assert build_output(app)[1] == ""


# -- properties: the literal-start index, and matching as PCRE itself does ----------------

LITERALS = st.text(alphabet="abé.-", min_size=0, max_size=4)
#: what may follow a literal start: some make its last character optional in PCRE only
TAILS = st.sampled_from(["", "$", "?", "*", "+", "{0,2}", r"\E?", r"\Q\E?", "(?#c)?", "(?i)x",
                         r"\Q.\E", ".", "[a]?", "|b", "(?:x)?", r"\d*", "a{,2}", r"\Ea",
                         r"\Q\E*", "(?#)*", r"\.?", r"\d?", "(*ACCEPT)?", "x?", "(?i)?"])


@st.composite
def policy_patterns(draw):
    literal = draw(LITERALS)
    escaped = "".join("\\" + c if c in ".-" else c for c in literal)
    pattern = ("^" if draw(st.booleans()) else "") + escaped + draw(TAILS)
    try:
        pcre2.compile(pattern.encode())
    except pcre2.PatternError:
        assume(False)  # such as "?" alone: loading skips it, reported
    return pattern


def brute_force(patterns: list[str], name: str) -> str | None:
    """The highest-priority policy (the later in the list) whose pattern PCRE matches."""
    for index in reversed(range(len(patterns))):
        if pcre2.compile(patterns[index].encode(), jit=False).search(name.encode()):
            return f"p{index}"
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(policy_patterns(), min_size=1, max_size=8),
       st.lists(st.text(alphabet="abé.-xAB", max_size=6), min_size=1, max_size=8,
                unique=True))
def test_the_literal_start_index_agrees_with_matching_every_policy(patterns, names):
    doc = {"queues": [{"vhost": "/", "name": n, "durable": True, "auto_delete": False,
                       "arguments": {}} for n in names],
           "policies": [{"vhost": "/", "name": f"p{i}", "pattern": p, "apply-to": "all",
                         "definition": {}, "priority": i} for i, p in enumerate(patterns)]}
    got = effective({**doc, "exchanges": []}, "/")
    assert got == {("queue", n): brute_force(patterns, n) for n in names}


PROPERTY_PATTERNS = [p for p, _ in TABLE if "(a|aa)" not in p] + [
    r"^[[:punct:]]", r"\bé", r"^\S+$", r"(?i)é", r"^.é.$", r"[^a-z]", r"\W"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PROPERTY_PATTERNS), st.text(max_size=8))
def test_matching_is_pcre_on_the_utf8_bytes(pattern, name):
    selection = Selection(include=parse_patterns("re:" + pattern.replace(",", "\\,")))
    expected = pcre2.compile(pattern.encode(), jit=False).search(
        name.encode("utf-8", "surrogatepass")) is not None
    assert selection.wants(name, Matcher()) is expected
    assert (compile_pattern(pattern).search(name.encode("utf-8", "surrogatepass"))
            is expected)
