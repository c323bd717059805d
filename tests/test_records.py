"""Records (topology/records.py) behave as the dataclasses they replaced: what users see
of them (a repr without the password, a pickled environment that loads back, a hashable
problem) and what the code relies on (fresh defaults, replace)."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest

from sphinxext_rabbit.output.tables import Span, Table
from sphinxext_rabbit.sources import Broker
from sphinxext_rabbit.sources.fetch import Connection
from sphinxext_rabbit.topology.model import Binding, Exchange, Problem, Queue, Topology
from sphinxext_rabbit.topology.records import field, record, replace
from tests.helpers import FIXTURES, ROOT

SECRET = "s3cret-Passw0rd"


def test_a_connection_s_repr_holds_no_password():
    given = Connection("https://guest@rabbit.example:15671", password=SECRET)
    from_url = Connection(f"http://guest:{SECRET}@rabbit.example:15672/api-prefix")
    for connection in (given, from_url, replace(from_url, timeout=3.0), copy.copy(from_url)):
        assert connection.password == SECRET
        assert SECRET not in repr(connection)
        assert "password=" not in repr(connection)
        assert repr(connection).startswith("Connection(url='http")
    # __post_init__ moved the user-info out of the URL, so the URL shown holds none
    assert from_url.url == "http://rabbit.example:15672/api-prefix"
    assert from_url.user == "guest"


def test_a_repr_shows_every_other_field_as_a_dataclass_would():
    assert repr(Problem("error", "parse", "bad", line=3)) == (
        "Problem(severity='error', code='parse', message='bad', line=3, where=None, "
        "source=None)")
    assert repr(Span("orders", literal=True)) == "Span(text='orders', literal=True, entity=None)"


def topology() -> Topology:
    return Topology(
        source="defs.json",
        exchanges=[Exchange("/", "orders", "topic", arguments={"alternate-exchange": "ae"})],
        queues=[Queue("/", "orders.created", "quorum", stats={"messages": 2})],
        bindings=[Binding("/", "orders", "orders.created", "queue", "orders.#")],
        vhosts={"/": None},
        problems=[Problem("warning", "dangling", "no such queue", where="bindings[1]")],
        unread=frozenset({"parameters"}),
    )


RECORDS = [
    topology(),  # mutable, holding mutable and frozen records
    Problem("error", "parse", "bad", line=3),  # frozen
    Broker("prod", "https://rabbit.example:15671", user="docs"),  # frozen, from conf.py
    Table("Queues", ["Name"], [[[Span("q", entity=("queue", "/", "q"))]]]),
    Connection("http://rabbit.example:15672", password=SECRET),  # has __post_init__
]


@pytest.mark.parametrize("original", RECORDS, ids=lambda record: type(record).__name__)
@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_records_pickle_and_copy_back_equal(original, protocol):
    """Sphinx pickles its environment (and parallel readers send theirs back pickled):
    every record in it must load back as it was."""
    loaded = pickle.loads(pickle.dumps(original, protocol))
    deep = copy.deepcopy(original)
    shallow = copy.copy(original)
    for again in (loaded, deep, shallow):
        assert type(again) is type(original)
        assert again == original
        assert again is not original
        assert repr(again) == repr(original)
    assert deep.__slots__ == original.__slots__
    if isinstance(original, Topology):
        assert loaded.exchanges[0].arguments is not original.exchanges[0].arguments
        assert hash(loaded.problems[0]) == hash(original.problems[0])


def test_equality_compares_the_fields_of_one_class():
    assert Exchange("/", "a") == Exchange("/", "a")
    assert Exchange("/", "a") != Exchange("/", "a", "topic")
    assert Exchange("/", "a") != Queue("/", "a")  # same first fields, another class
    assert Exchange("/", "a") != ("/", "a")
    assert Exchange("/", "a").__eq__(("/", "a")) is NotImplemented


def test_frozen_records_hash_by_their_fields_and_mutable_ones_not_at_all():
    problems = {Problem("error", "parse", "bad", line=3), Problem("error", "parse", "bad", line=3),
                Problem("error", "parse", "bad", line=4)}
    assert len(problems) == 2
    assert {Broker("a", "http://h"): 1}[Broker("a", "http://h")] == 1
    for mutable in (Exchange("/", "a"), topology()):
        with pytest.raises(TypeError, match="unhashable"):
            hash(mutable)


def test_a_frozen_record_refuses_assignment_and_deletion():
    problem = Problem("error", "parse", "bad")
    with pytest.raises(AttributeError, match="'message'"):
        problem.message = "good"
    with pytest.raises(AttributeError, match="'line'"):
        del problem.line
    assert problem.message == "bad" and problem.line is None
    exchange = Exchange("/", "a")
    exchange.type = "fanout"  # a mutable one takes it
    assert exchange.type == "fanout"
    with pytest.raises(AttributeError):
        exchange.colour = "red"  # slotted: no field, no attribute


def test_defaults_are_not_shared_between_records():
    first, second = Exchange("/", "a"), Exchange("/", "b")
    first.arguments["x-delayed-type"] = "topic"
    assert second.arguments == {}
    assert Topology().queues is not Topology().queues
    assert Exchange("/", "a").type == "direct" and Queue("/", "q").type == "classic"


def test_a_mutable_default_is_refused_when_the_class_is_made():
    with pytest.raises(ValueError, match="default_factory"):
        @record
        class Shared:
            names: list[str] = []  # one list for every record


def test_constructor_takes_positions_and_keywords_and_refuses_unknown_fields():
    assert Binding("/", "x", "q", "queue", "k") == Binding(
        vhost="/", source="x", destination="q", destination_type="queue", routing_key="k")
    with pytest.raises(TypeError):
        Binding("/", "x", "q")  # destination_type missing
    with pytest.raises(TypeError):
        Exchange("/", "a", colour="red")


def test_replace_changes_the_given_fields_of_a_copy():
    queue = Queue("/", "q", arguments={"x-max-length": 10})
    typed = replace(queue, type="quorum")
    assert typed == Queue("/", "q", "quorum", arguments={"x-max-length": 10})
    assert queue.type == "classic"  # the original is untouched
    assert typed.arguments is queue.arguments  # a shallow copy, as dataclasses.replace
    problem = Problem("error", "parse", "bad")
    assert replace(problem, source="b.json") == Problem("error", "parse", "bad", source="b.json")
    with pytest.raises(TypeError):
        replace(problem, colour="red")


def test_the_dot_command_imports_neither_dataclasses_nor_inspect():
    """The point of records: the command line pays for neither (46M instructions of
    imports, issue 12's whole-process budget)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sphinxext_rabbit", "dot",
         str(FIXTURES / "export-3.7.json")],
        capture_output=True, text=True, check=False, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in completed.stderr.splitlines()
                if line.startswith("import time:")}
    assert "sphinxext_rabbit.topology.records" in imported
    assert not imported & {"dataclasses", "inspect", "ast", "dis", "tokenize"}


def test_a_record_a_dataclass_would_refuse_is_refused_with_its_name():
    with pytest.raises(TypeError, match="Late: b has no default but comes after"):
        @record
        class Late:
            a: int = 1
            b: int
    with pytest.raises(TypeError, match="Empty: fields"):
        @record
        class Empty:
            pass
    with pytest.raises(TypeError, match="none a ClassVar"):
        @record
        class Counted:
            total: ClassVar[int] = 0  # noqa: F821 - (a string: the annotations are)
            name: str
    with pytest.raises(TypeError, match="none a ClassVar"):
        @record
        class CountedToo:
            total: t.ClassVar[int] = 0  # noqa: F821 - (a string: the annotations are)
            name: str
    with pytest.raises(ValueError, match="not both"):
        field(default=1, default_factory=list)


def test_a_record_keeps_its_qualified_name_and_its_init_names_it():
    class Outer:
        @record
        class Inner:
            a: int
    assert Outer.Inner.__qualname__.endswith("Outer.Inner")
    with pytest.raises(TypeError, match=r"Outer\.Inner\.__init__\(\) missing"):
        Outer.Inner()
