"""The ``rabbitmq`` domain: vhosts, exchanges, queues and policies as Sphinx objects.

Pages describe entities (``.. rabbitmq:queue:: orders.created``) and name them in roles
(``:rabbitmq:queue:`orders.created```); every entity a ``rabbitmq-topology`` directive
draws or tabulates is a target too. A role links to the description when there is one,
else to the entity's table row, else to the diagram.

A role names an entity of the page's current vhost (set by ``rabbitmq:vhost``, ``/``
until then), or of another one written in braces before the name: ``{billing}invoices``.
The vhost in braces is percent-decoded (``%7D`` is ``}``, ``%25`` is ``%``), so that it can
hold anything; what follows the ``}`` is the name, verbatim. ``{}`` names the current vhost,
which lets a name that starts with ``{`` or ``!`` be written: ``{}{weird``.

What a role resolves to, and ``objects.inv`` lists, is the same form with the vhost always
given and both parts percent-encoded where they hold ``%``, ``}``, white space or control
characters (`qualified`): an inventory's line cannot hold a name with spaces and digits.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from urllib.parse import quote, unquote

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.directives import ObjectDescription
from sphinx.domains import Domain, Index, IndexEntry, ObjType
from sphinx.roles import XRefRole
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_id, make_refnode

from ..topology.model import BUILTIN_EXCHANGES, Topology, VhostTopology
from ..topology.records import record
from .directive import rabbitmq_warning

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Set

    from docutils.nodes import Element
    from sphinx.addnodes import desc_signature, pending_xref
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment
    from sphinx.util.typing import OptionSpec

    from ..output.tables import EntityRef

KINDS = ("vhost", "exchange", "queue", "policy")
#: the vhost of a page that sets none, as of a broker that has only the default one
DEFAULT_VHOST = "/"
#: the ref_context key `rabbitmq:vhost` sets, as py:module sets "py:module"
CURRENT_VHOST = "rabbitmq:vhost"
#: a table's name links to a description only (its own row is where it stands)
DESCRIBED_ONLY = "rabbitmq_described_only"
#: the most characters of a description's first sentence the index shows
MAX_SUMMARY = 200
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: what `qualified` percent-encodes: its escape, the vhost's end, white space, controls
_ENCODED = re.compile(r"[%}\s\x00-\x1f\x7f]")
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)", re.DOTALL)


# a tuple, not a record: keys are sorted, unpacked, and equal to the plain (kind, vhost,
# name) tuples the environment keeps of what directives read
class Key(NamedTuple):
    """An entity: its kind, vhost and name (a vhost's vhost and name are its own)."""

    kind: str
    vhost: str
    name: str

    def words(self) -> str:
        if self.kind == "vhost":
            return f"vhost '{self.name}'"
        return f"{self.kind} '{self.name}' in vhost '{self.vhost}'"


class TargetError(ValueError):
    """A role's target that cannot be read."""


def parse_target(text: str, current_vhost: str) -> tuple[str, str]:
    """(vhost, name) of a role's target: ``NAME``, or ``{VHOST}NAME``."""
    if not text.startswith("{"):
        return current_vhost, text
    end = text.find("}")
    if end < 0:
        raise TargetError(f"'{text}': the '{{' that opens a vhost is not closed by '}}'; "
                          f"write '{{}}{text}' for a name that starts with '{{'")
    written = text[1:end]
    if _PERCENT.search(written):
        raise TargetError(f"'{text}': in the vhost, '%' starts an escape such as %7D "
                          "('}') or %25 ('%')")
    try:
        vhost = unquote(written, errors="strict")
    except UnicodeDecodeError:
        raise TargetError(f"'{text}': the vhost's escapes are not UTF-8") from None
    return vhost or current_vhost, text[end + 1:]


def _encoded(text: str) -> str:
    return _ENCODED.sub(lambda match: quote(match.group(0), safe=""), text)


def qualified(vhost: str, name: str) -> str:
    """The target that names *name* of *vhost* wherever it is written, with no white space
    (see the module's words); a role written ``{VHOST}NAME`` without such characters reads
    the same."""
    return "{" + _encoded(vhost) + "}" + _encoded(name)


def key_of(kind: str, target: str) -> Key:
    """The entity a `target_text` names."""
    if kind == "vhost":
        vhost = unquote(target)
        return Key(kind, vhost, vhost)
    vhost, name = parse_target(target, DEFAULT_VHOST)
    return Key(kind, vhost, unquote(name))


def target_text(key: Key) -> str:
    """What a reference to *key* resolves by, here and through intersphinx."""
    return _encoded(key.name) if key.kind == "vhost" else qualified(key.vhost, key.name)


def entities_of(topology: Topology) -> frozenset[Key]:
    """What a topology holds that a page may describe or name."""
    found = {Key("vhost", vhost, vhost) for vhost in topology.vhost_names()}
    found.update(Key("exchange", e.vhost, e.name) for e in topology.exchanges)
    found.update(Key("queue", q.vhost, q.name) for q in topology.queues)
    found.update(Key("policy", p.vhost, p.name) for p in topology.policies)
    return frozenset(found)


def is_builtin(key: Key) -> bool:
    """Exchanges every vhost has, which no export lists."""
    return key.kind == "exchange" and key.name in BUILTIN_EXCHANGES


def summary_of(content: Element) -> str:
    """The first sentence of a description, for the index."""
    paragraph = next(iter(content.findall(nodes.paragraph)), None)
    if paragraph is None:
        return ""
    text = " ".join(paragraph.astext().split())
    match = _SENTENCE.match(text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= MAX_SUMMARY else sentence[:MAX_SUMMARY - 1] + "…"


#: the entities of the topologies directives read lately, by identity (many pages draw
#: one source: its entities are counted once), with the topology to keep the identity;
#: as plain tuples, which the environment pickles and loads several times faster
_entities: dict[int, tuple[Topology, frozenset[tuple[str, str, str]]]] = {}
MAX_REMEMBERED = 32


def note_read(directive: SphinxDirective, source_id: tuple, topology: Topology) -> None:
    """A topology directive read *topology*: its entities are in this build's topology."""
    remembered = _entities.get(id(topology))
    if remembered is None or remembered[0] is not topology:
        if len(_entities) >= MAX_REMEMBERED:
            _entities.clear()
        remembered = _entities[id(topology)] = (
            topology, frozenset((kind, vhost, name) for kind, vhost, name in entities_of(topology)))
    domain: RabbitmqDomain = directive.env.domains["rabbitmq"]  # type: ignore[assignment]
    domain.note_source(directive.env.docname, source_id, remembered[1])


class DrawnTargets:
    """The targets one topology directive makes: its diagram, its tables' rows."""

    def __init__(self, directive: SphinxDirective) -> None:
        self.env = directive.env
        self.document = directive.state.document
        self.domain: RabbitmqDomain = self.env.domains["rabbitmq"]  # type: ignore[assignment]

    def diagram(self, node: Element, built: list[VhostTopology]) -> None:
        """The diagram is a target of everything it draws."""
        anchor = make_id(self.env, self.document, "rabbitmq-diagram")
        node["ids"].append(anchor)
        docname = self.env.docname
        for view in built:
            self.domain.note_drawn(docname, Key("vhost", view.vhost, view.vhost), 1, anchor)
            for kind, names in (("exchange", view.exchanges), ("queue", view.queues)):
                for name in names:
                    if not is_builtin(Key(kind, view.vhost, name)):
                        self.domain.note_drawn(docname, Key(kind, view.vhost, name), 1, anchor)
            for policy in view.policies:
                self.domain.note_drawn(docname, Key("policy", view.vhost, policy.name), 1,
                                       anchor)

    def row_id(self, entity: EntityRef) -> str:
        """The ID of a table row about *entity*, a target of it."""
        key = Key(*entity)
        anchor = make_id(self.env, self.document, f"rabbitmq-row-{key.kind}",
                         f"{key.vhost} {key.name}")
        self.domain.note_drawn(self.env.docname, key, 0, anchor)
        return anchor


def record_warning(env: BuildEnvironment, message: str, *, subtype: str,
                   location: tuple[str, int | None]) -> None:
    """A page's warning, given with the directives' ones once every page is read, in page
    order (directive.report_warnings), so that a parallel build gives them as a serial one."""
    recorded = env.rabbitmq_warnings  # type: ignore[attr-defined]  # state on the environment
    recorded.setdefault(env.docname, []).append(
        ((None, location, message, subtype), message, location, subtype))


# -- directives and roles ----------------------------------------------------------------

class EntityDescription(ObjectDescription[Key]):
    """``.. rabbitmq:KIND:: NAME``: the hand-written description of one entity."""

    kind: ClassVar[str]
    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = True
    option_spec: ClassVar[OptionSpec] = {
        "vhost": directives.unchanged_required,
        "no-index": directives.flag,
        "no-index-entry": directives.flag,
        "no-contents-entry": directives.flag,
    }

    def get_signatures(self) -> list[str]:
        # one name, verbatim: names may hold backslashes, and never a line break
        return [self.arguments[0].strip()]

    def vhost(self) -> str:
        return self.options.get("vhost") or self.env.ref_context.get(CURRENT_VHOST,
                                                                      DEFAULT_VHOST)

    def handle_signature(self, sig: str, signode: desc_signature) -> Key:
        key = Key(self.kind, sig, sig) if self.kind == "vhost" else Key(self.kind,
                                                                          self.vhost(), sig)
        signode += addnodes.desc_annotation(f"{self.kind} ", f"{self.kind} ")
        signode += addnodes.desc_name(sig, sig)
        if self.kind != "vhost":
            words = f" (vhost {key.vhost})"
            signode += addnodes.desc_annotation(words, words)
        return key

    def add_target_and_index(self, key: Key, sig: str, signode: desc_signature) -> None:
        anchor = make_id(self.env, self.state.document, f"rabbitmq-{key.kind}",
                         f"{key.vhost} {key.name}")
        signode["ids"].append(anchor)
        self.state.document.note_explicit_target(signode)
        domain: RabbitmqDomain = self.env.domains["rabbitmq"]  # type: ignore[assignment]
        domain.note_description(key, self.env.docname, anchor, self.lineno)
        if "no-index-entry" not in self.options:
            where = "" if key.kind == "vhost" else f" in {key.vhost}"
            self.indexnode["entries"].append(
                ("single", f"{key.name} ({key.kind}{where})", anchor, "", None))

    def transform_content(self, content_node: addnodes.desc_content) -> None:
        if "no-index" not in self.options:
            domain: RabbitmqDomain = self.env.domains["rabbitmq"]  # type: ignore[assignment]
            domain.note_summary(self.env.docname, self.names, summary_of(content_node))


class VhostDescription(EntityDescription):
    """``.. rabbitmq:vhost:: NAME``: describes a vhost, and makes it the page's current
    one, as ``py:module`` makes a module current."""

    kind = "vhost"
    option_spec: ClassVar[OptionSpec] = {
        key: value for key, value in EntityDescription.option_spec.items() if key != "vhost"}

    def run(self) -> list[nodes.Node]:
        self.env.ref_context[CURRENT_VHOST] = self.arguments[0].strip()
        return super().run()


class CurrentVhost(SphinxDirective):
    """``.. rabbitmq:current-vhost:: NAME``: the page's current vhost, without describing
    it (as ``py:currentmodule``), for the pages after the one that describes it."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        self.env.ref_context[CURRENT_VHOST] = self.arguments[0].strip()
        return []


def _description(kind: str) -> type[EntityDescription]:
    return type(f"{kind.capitalize()}Description", (EntityDescription,), {"kind": kind})


class EntityRole(XRefRole):
    """``:rabbitmq:KIND:`NAME```, ``{VHOST}NAME``, or ``title <target>``."""

    def process_link(self, env: BuildEnvironment, refnode: Element, has_explicit_title: bool,
                     title: str, target: str) -> tuple[str, str]:
        kind = self.name.split(":", 1)[1]
        if kind == "vhost":
            key = Key(kind, target, target)
        else:
            try:
                vhost, name = parse_target(
                    target, env.ref_context.get(CURRENT_VHOST, DEFAULT_VHOST))
            except TargetError as exc:
                record_warning(env, f"rabbitmq:{kind}: {exc}", subtype="target",
                               location=(env.docname, self.lineno))
                return title, target
            key = Key(kind, vhost, name)
        if not has_explicit_title:
            title = key.name
        domain: RabbitmqDomain = env.domains["rabbitmq"]  # type: ignore[assignment]
        domain.note_reference(env.docname, key, self.lineno)
        return title, target_text(key)


class EntityIndex(Index):
    """Every described entity by vhost, with the first sentence of its description."""

    name = "entities"
    localname = "RabbitMQ entities"
    shortname = "RabbitMQ entities"

    def generate(self, docnames: Iterable[str] | None = None,
                 ) -> tuple[list[tuple[str, list[IndexEntry]]], bool]:
        domain: RabbitmqDomain = self.domain  # type: ignore[assignment]
        by_vhost: dict[str, list[IndexEntry]] = {}
        wanted = set(docnames) if docnames is not None else None
        for key, description in sorted(domain.descriptions().items()):
            if wanted is not None and description.docname not in wanted:
                continue
            by_vhost.setdefault(key.vhost, []).append(IndexEntry(
                key.name, 0, description.docname, description.anchor, key.kind, "",
                description.summary))
        return [(f"vhost {vhost}", entries) for vhost, entries in sorted(by_vhost.items())], False


# -- the domain ----------------------------------------------------------------------------

@record
class Description:
    docname: str
    anchor: str
    line: int
    summary: str


class RabbitmqDomain(Domain):
    """The ``rabbitmq`` domain.

    Its data is kept by page, so that `clear_doc` forgets a page and `merge_domaindata`
    takes a parallel reader's pages whole; what resolving needs is derived from it.
    """

    name = "rabbitmq"
    label = "RabbitMQ"
    object_types: ClassVar[dict[str, ObjType]] = {
        kind: ObjType(kind, kind) for kind in KINDS}
    directives: ClassVar[dict[str, type[Any]]] = {
        "vhost": VhostDescription, "current-vhost": CurrentVhost,
        **{kind: _description(kind) for kind in KINDS[1:]}}
    roles: ClassVar[dict[str, Any]] = {kind: EntityRole() for kind in KINDS}
    indices: ClassVar[list[type[Index]]] = [EntityIndex]
    initial_data: ClassVar[dict[str, Any]] = {
        # docname -> [(key, anchor, line, summary)], in page order
        "descriptions": {},
        # docname -> {key: (rank, anchor)}: where the page's directives show an entity
        # (rank 0 a table row, 1 a diagram), the first place of each rank
        "drawn": {},
        # docname -> {source id: the entities of what its directives read}
        "sources": {},
        # docname -> [(key, line)]: the roles of the page
        "references": {},
        # key -> (docname, anchor): where the targets were when pages were last written
        "written": {},
    }
    data_version = 1

    # -- recording, while pages are read --------------------------------------------------

    def note_description(self, key: Key, docname: str, anchor: str, line: int) -> None:
        self.data["descriptions"].setdefault(docname, []).append((key, anchor, line, ""))
        self._forget_targets()

    def note_summary(self, docname: str, keys: list[Key], summary: str) -> None:
        described = self.data["descriptions"].get(docname, [])
        for index, (key, anchor, line, _) in enumerate(described):
            if key in keys:
                described[index] = (key, anchor, line, summary)

    def note_reference(self, docname: str, key: Key, line: int | None) -> None:
        self.data["references"].setdefault(docname, []).append((key, line))

    def note_drawn(self, docname: str, key: Key, rank: int, anchor: str) -> None:
        drawn = self.data["drawn"].setdefault(docname, {})
        if key not in drawn or drawn[key][0] > rank:
            drawn[key] = (rank, anchor)
        self._forget_targets()

    def note_source(self, docname: str, source_id: tuple,
                    entities: frozenset[tuple[str, str, str]]) -> None:
        self.data["sources"].setdefault(docname, {})[source_id] = entities

    def clear_doc(self, docname: str) -> None:
        for part in ("descriptions", "drawn", "sources", "references"):
            self.data[part].pop(docname, None)
        self._forget_targets()

    def merge_domaindata(self, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        for part in ("descriptions", "drawn", "sources", "references"):
            for docname in docnames:
                if docname in otherdata[part]:
                    self.data[part][docname] = otherdata[part][docname]
        self._forget_targets()

    # -- derived ------------------------------------------------------------------------

    def _forget_targets(self) -> None:
        self.__dict__.pop("_targets", None)
        self.__dict__.pop("_descriptions", None)

    def descriptions(self) -> dict[Key, Description]:
        """Each described entity's first description, in page-name and line order."""
        found = self.__dict__.get("_descriptions")
        if found is None:
            found = {}
            for docname in sorted(self.data["descriptions"]):
                for key, anchor, line, summary in self.data["descriptions"][docname]:
                    found.setdefault(Key(*key), Description(docname, anchor, line, summary))
            self.__dict__["_descriptions"] = found
        return found

    def targets(self) -> dict[Key, tuple[int, str, str]]:
        """key -> (rank, docname, anchor): a description (rank -1), else the first table
        row, else the first diagram, in page-name order."""
        found = self.__dict__.get("_targets")
        if found is None:
            found = {}
            for docname in sorted(self.data["drawn"]):
                for key, (rank, anchor) in self.data["drawn"][docname].items():
                    if key not in found or found[key][0] > rank:
                        found[key] = (rank, docname, anchor)
            for key, description in self.descriptions().items():
                found[key] = (-1, description.docname, description.anchor)
            self.__dict__["_targets"] = found
        return found

    def target_of(self, key: Key, *, at_most: int = 1) -> tuple[str, str] | None:
        """(docname, anchor) of what a reference to *key* links to, if anything: with
        *at_most* -1 only a description, 0 that or a table row, 1 a diagram too."""
        found = self.targets().get(key)
        if found is None or found[0] > at_most:
            return None
        return found[1], found[2]

    def drawn_entities(self) -> set[Key]:
        """Every entity the build's directives read (not only what they show)."""
        found: set[tuple[str, str, str]] = set()
        for sources in self.data["sources"].values():
            for entities in sources.values():
                found.update(entities)
        return {Key(*entity) for entity in found}

    # -- resolving ------------------------------------------------------------------------

    def resolve_xref(self, env: BuildEnvironment, fromdocname: str, builder: Builder,
                     typ: str, target: str, node: pending_xref, contnode: Element,
                     ) -> nodes.reference | None:
        try:
            key = key_of(typ, target)
        except TargetError:
            return None
        found = self.target_of(key, at_most=-1 if node.get(DESCRIBED_ONLY) else 1)
        if found is None:
            return None
        return make_refnode(builder, fromdocname, found[0], found[1], contnode, key.words())

    def resolve_any_xref(self, env: BuildEnvironment, fromdocname: str, builder: Builder,
                         target: str, node: pending_xref, contnode: Element,
                         ) -> list[tuple[str, nodes.reference]]:
        results = []
        for kind in KINDS:
            reference = self.resolve_xref(env, fromdocname, builder, kind, target, node,
                                          contnode)
            if reference is not None:
                results.append((f"rabbitmq:{kind}", reference))
        return results

    def get_objects(self) -> Iterator[tuple[str, str, str, str, str, int]]:
        """Descriptions (searchable), and drawn entities without one (in objects.inv
        only, priority -1), by their `qualified` target."""
        for key, (rank, docname, anchor) in sorted(self.targets().items()):
            yield (target_text(key), key.name, key.kind, docname, anchor,
                   1 if rank < 0 else -1)

    def get_full_qualified_name(self, node: Element) -> str | None:
        return node.get("reftarget")



def check_pages(app: Sphinx, env: BuildEnvironment) -> None:
    """env-check-consistency: once a build, after every page is read (here or in parallel
    readers), in page and line order: descriptions described twice or of entities the
    reference topology does not hold, and roles naming entities no topology holds."""
    domain: RabbitmqDomain = env.domains["rabbitmq"]  # type: ignore[assignment]
    drawn = domain.drawn_entities()
    reference = reference_entities(str(app.confdir), env, drawn)
    # with no topology in the build, there is nothing to hold names to
    known = reference | drawn

    def suggestion(key: Key, among: set[Key]) -> str:
        """The closest name of an entity of *key*'s kind and vhost in *among*."""
        names = sorted(other.name for other in among
                       if (other.kind, other.vhost) == (key.kind, key.vhost))
        close = difflib.get_close_matches(key.name, names, n=1)
        return f" — did you mean '{close[0]}'?" if close else ""

    first: dict[Key, tuple[str, int]] = {}
    for docname in sorted(domain.data["descriptions"]):
        for key, _anchor, line, _summary in domain.data["descriptions"][docname]:
            key = Key(*key)
            if key in first:
                where = f"{env.doc2path(first[key][0], False)}:{first[key][1]}"
                rabbitmq_warning(f"{key.words()} is described twice; first at {where}",
                                 subtype="duplicate-description",
                                 location=(docname, line))
                continue
            first[key] = (docname, line)
            if reference and key not in reference and not is_builtin(key):
                rabbitmq_warning(f"{key.words()} is described, but the reference "
                                 f"topology does not contain it{suggestion(key, reference)}",
                                 subtype="stale-description", location=(docname, line))
    for docname in sorted(domain.data["references"]):
        for key, line in domain.data["references"][docname]:
            key = Key(*key)
            if known and key not in known and not is_builtin(key):
                rabbitmq_warning(f"{key.words()} is in no topology of this build"
                                 f"{suggestion(key, known)}", subtype="unknown-reference",
                                 location=(docname, line))


def reference_entities(confdir: str, env: BuildEnvironment, drawn: set[Key]) -> set[Key]:
    """The entities pages are held to: those of rabbitmq_reference_sources when conf.py
    names some, else of every source the build's directives read."""
    from .reference import read_reference

    specs = env.config.rabbitmq_reference_sources
    if not specs:
        return drawn
    return set(read_reference(env, confdir, specs))


def pages_to_rewrite(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """env-updated: pages not read again whose links lead elsewhere now (a description
    added, moved or deleted), so that they are written again."""
    domain: RabbitmqDomain = env.domains["rabbitmq"]  # type: ignore[assignment]
    now = {key: (docname, anchor) for key, (_, docname, anchor) in domain.targets().items()}
    before = domain.data["written"]
    changed = {key for key in now.keys() | before.keys() if now.get(key) != before.get(key)}
    domain.data["written"] = now
    if not changed or not before:
        return []
    pages = set()
    for docname, references in domain.data["references"].items():
        if any(Key(*key) in changed for key, _ in references):
            pages.add(docname)
    for docname, sources in domain.data["sources"].items():
        if any(not changed.isdisjoint(entities) for entities in sources.values()):
            pages.add(docname)
    return sorted(pages & env.all_docs.keys())


def quiet_missing_reference(app: Sphinx, domain: Domain | None, node: pending_xref,
                            ) -> bool | None:
    """warn-missing-reference: a table's name without a description stays text; a role's
    unknown entity is this domain's own warning (check_consistency)."""
    if domain is not None and domain.name == "rabbitmq":
        return True
    return None
