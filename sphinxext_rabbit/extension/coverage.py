"""``-b rabbitmq-coverage``: which entities of the reference topology no page describes.

Like sphinx.ext.coverage, it writes a report instead of pages: ``rabbitmq-coverage.txt``
and ``rabbitmq-coverage.json`` in the output folder, per vhost the exchanges, queues and
policies that no ``rabbitmq:*`` description documents, and the share that one does.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sphinx.builders import Builder

from ..output.wording import visible
from .directive import rabbitmq_warning
from .domain import Key, RabbitmqDomain, is_builtin, reference_entities

if TYPE_CHECKING:
    from collections.abc import Set

    from docutils import nodes
    from sphinx.application import Sphinx

#: what coverage counts: what a team writes down; a vhost is its entities' heading
COUNTED_KINDS = ("exchange", "queue", "policy")
TEXT_REPORT = "rabbitmq-coverage.txt"
JSON_REPORT = "rabbitmq-coverage.json"


def coverage(reference: Set[Key], described: Set[Key]) -> dict[str, Any]:
    """Per vhost: how many entities, how many described, the share (a percentage, 100 for
    a vhost with none) and the undocumented ones, sorted; and the same for the whole."""
    by_vhost: dict[str, list[Key]] = {}
    for key in reference:
        if key.kind in COUNTED_KINDS and not is_builtin(key):
            by_vhost.setdefault(key.vhost, []).append(key)
    vhosts: dict[str, dict[str, Any]] = {}
    for vhost, keys in sorted(by_vhost.items()):
        missing = sorted((key for key in keys if key not in described),
                         key=lambda key: (COUNTED_KINDS.index(key.kind), key.name))
        vhosts[vhost] = {
            "entities": len(keys),
            "documented": len(keys) - len(missing),
            "percent": _percent(len(keys) - len(missing), len(keys)),
            "undocumented": [{"kind": key.kind, "name": key.name} for key in missing],
        }
    total = sum(item["entities"] for item in vhosts.values())
    documented = sum(item["documented"] for item in vhosts.values())
    return {"entities": total, "documented": documented,
            "percent": _percent(documented, total), "vhosts": vhosts}


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 100.0


def text_report(report: dict[str, Any]) -> str:
    lines = [f"RabbitMQ coverage: {report['documented']} of {report['entities']} entities "
             f"described ({report['percent']}%)", ""]
    for vhost, item in report["vhosts"].items():
        lines.append(f"vhost {visible(vhost)}: {item['documented']} of {item['entities']} "
                     f"described ({item['percent']}%)")
        lines.extend(f"  undocumented {entry['kind']} {visible(entry['name'])}"
                     for entry in item["undocumented"])
        lines.append("")
    return "\n".join(lines)


class RabbitmqCoverageBuilder(Builder):
    """Writes the coverage report; fails under rabbitmq_coverage_threshold."""

    name = "rabbitmq-coverage"
    epilog = "The RabbitMQ coverage report is in %(outdir)s."
    #: set by finish(): fail_under_threshold then fails the build
    under_threshold = False

    def get_outdated_docs(self) -> str:
        return "rabbitmq coverage report"

    def get_target_uri(self, docname: str, typ: str | None = None) -> str:
        return ""

    def prepare_writing(self, docnames: Set[str]) -> None:
        pass

    def write_doc(self, docname: str, doctree: nodes.document) -> None:
        pass

    def finish(self) -> None:
        domain: RabbitmqDomain = self.env.domains["rabbitmq"]  # type: ignore[assignment]
        reference = reference_entities(str(self.confdir), self.env, domain.drawn_entities())
        report = coverage(reference, set(domain.descriptions()))
        threshold = self.config.rabbitmq_coverage_threshold
        report["threshold"] = threshold
        self.outdir.mkdir(parents=True, exist_ok=True)
        (self.outdir / TEXT_REPORT).write_text(text_report(report), encoding="utf-8")
        (self.outdir / JSON_REPORT).write_text(
            json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8")
        if report["percent"] < threshold:
            rabbitmq_warning(
                f"rabbitmq-coverage: {report['percent']}% of the reference topology's "
                f"entities are described, under rabbitmq_coverage_threshold ({threshold}%); "
                f"see {TEXT_REPORT}", subtype="coverage")
            self.under_threshold = True


def fail_under_threshold(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: the coverage builder's build fails under the threshold, with -W or
    without."""
    if isinstance(app.builder, RabbitmqCoverageBuilder) and app.builder.under_threshold:
        app.statuscode = 1
