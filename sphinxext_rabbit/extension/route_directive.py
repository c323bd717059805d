"""The rabbitmq-route directive: a routing claim the build checks, drawn and explained."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.ext.graphviz import figure_wrapper

from ..output.dot import Highlight, to_dot
from ..output.route_report import UNROUTABLE, route_lines, route_table
from ..topology.route import MessageError, Router, around, published
from ..topology.select import Selection, views
from .directive import SIZE_OPTIONS, RabbitmqTopology, rabbitmq_diagram
from .table_nodes import table_node

if TYPE_CHECKING:
    from typing import Any

    from docutils.nodes import Node
    from sphinx.util.typing import OptionSpec



def names_option(argument: str | None) -> list[str]:
    """A comma-separated list of names (routing keys, queues)."""
    return [item.strip() for item in (argument or "").split(",") if item.strip()]


def headers_option(argument: str | None) -> dict[str, Any]:
    """``name=value, name=value`` (string values) or a JSON object (values keep their type)."""
    text = (argument or "").strip()
    if text.startswith("{"):
        try:
            headers = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not a JSON object: {exc}") from None
        if not isinstance(headers, dict):
            raise ValueError("not a JSON object")
        return headers
    headers = {}
    for item in names_option(text):
        name, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"{item!r} is not name=value")
        headers[name.strip()] = value.strip()
    return headers


def exchange_option(argument: str | None) -> str:
    """An exchange name; empty, or ``""``, is the default exchange."""
    text = (argument or "").strip()
    return "" if text == '""' else text


class RabbitmqRoute(RabbitmqTopology):
    """Where a message published to an exchange lands, and whether that is what the page
    says (``:expect:``): the topology around its path, the path marked, and each queue with
    the bindings that lead to it."""

    option_spec: ClassVar[OptionSpec] = {
        "vhost": directives.unchanged_required,
        "exchange": exchange_option,
        "routing-key": directives.unchanged,
        "headers": headers_option,
        "cc": names_option,
        "bcc": names_option,
        "expect": names_option,
        "dead-letter": directives.flag,
        "caption": directives.unchanged_required,
        "name": directives.unchanged,
        **SIZE_OPTIONS,
    }

    def warn(self, message: str, *, subtype: str) -> None:
        self.report(f"rabbitmq-route: {message}", subtype)

    def run(self) -> list[Node]:
        specs = self.arguments[0].split()
        source = " + ".join(specs)
        if "exchange" not in self.options:
            self.warn(':exchange: is missing (write :exchange: "" for the default exchange)',
                      subtype="option")
            return []
        exchange = self.options["exchange"]
        headers = dict(self.options.get("headers", {}))
        for name in ("cc", "bcc"):
            if self.options.get(name):
                headers[name.upper()] = self.options[name]
        try:
            message = published(self.options.get("routing-key", "").strip(), headers)
        except MessageError as exc:
            self.warn(str(exc), subtype="option")
            return []
        vhost = self.options.get("vhost")
        read = self.read(specs, source, vhost)
        if read is None:
            return []
        model, identity = read
        if vhost is None:
            available = model.topology.vhost_names()
            if len(available) != 1:
                self.warn(f"{source} has {len(available)} vhosts: name one with :vhost:",
                          subtype="option")
                return []
            vhost = available[0]
        built, problems = views(model, Selection(vhosts=[vhost]))
        self.report_problems(source, model.topology, identity, problems)
        if not built:
            return []
        view = built[0]
        router = Router(view)
        if router.exchange_type(exchange) is None:
            self.warn(f"{source}: exchange {exchange!r} does not exist in vhost {vhost!r}, so "
                      "no message published to it lands anywhere", subtype="route")
            return []
        route = router.publish(exchange, message)
        dead_letters = router.dead_letters(route) if "dead-letter" in self.options else None
        for found in [route, *(letter.route for letter in dead_letters or ())]:
            for problem in found.problems:
                where = f" ({problem.where})" if problem.where else ""
                self.report(f"{source}{where}: {problem.message}", problem.code)
        if "expect" in self.options:
            self.check(source, route, self.options["expect"])
        return self.route_nodes(source, view, route, dead_letters)

    def check(self, source: str, route: Any, expected: list[str]) -> None:
        """Warn (rabbitmq.route) when the queues reached are not the ones the page expects."""
        claimed_unroutable = expected == [UNROUTABLE]
        if claimed_unroutable and route.unroutable or set(expected) == set(route.queues):
            return
        sent = (f"a message published to exchange {route.exchange!r} with routing key "
                f"{route.message.routing_keys[0]!r}")
        reached = (", ".join(repr(q) for q in route.queues) if route.queues
                   else "no queue for sure")
        if route.choices:
            reached += " and one queue of " + "; ".join(
                " | ".join(", ".join(a) or "nothing" for a in choice.alternatives)
                for choice in route.choices)
        if claimed_unroutable:
            self.warn(f"{source}: {sent} is expected to be unroutable, but reaches {reached}",
                      subtype="route")
            return
        missing = sorted(set(expected) - set(route.queues))
        unexpected = sorted(set(route.queues) - set(expected))
        details = []
        if missing:
            details.append("expected but not reached: " + ", ".join(map(repr, missing)))
        if unexpected:
            details.append("reached but not expected: " + ", ".join(map(repr, unexpected)))
        self.warn(f"{source}: {sent} reaches {reached}, not what :expect: says "
                  f"({'; '.join(details)})", subtype="route")

    def route_nodes(self, source: str, view: Any, route: Any, dead_letters: Any) -> list[Node]:
        config = self.config
        caption = self.options.get("caption")
        part, path, reached = around(view, route, dead_letters)
        diagram = rabbitmq_diagram()
        size = len(part.exchanges) + len(part.queues) + 1
        if size > config.rabbitmq_topology_max_nodes:
            self.warn(f"{source}: the route's diagram would have {size} nodes, more than "
                      f"rabbitmq_topology_max_nodes ({config.rabbitmq_topology_max_nodes}); "
                      "shown as text", subtype="limit")
            diagram["code"] = None
        else:
            diagram["code"] = to_dot([part], layout=config.rabbitmq_topology_layout,
                                     highlight=Highlight(path, reached))
        diagram["alt"] = "Route of a message through " + (
            f"exchange {route.exchange}" if route.exchange else "the default exchange"
        ) + f" ({source})"
        diagram["options"] = {"docname": self.env.docname}
        self.size(diagram)
        text = "\n".join(route_lines(view, route, dead_letters)) + "\n"
        diagram += nodes.literal_block(text, text)
        self.set_source_info(diagram)
        title = "Route" if caption else "Where the message goes"
        table = table_node(route_table(view, route, dead_letters, title,
                                       self.options.get("expect")),
                           caption=caption, source=self.get_source_info())
        self.set_source_info(table)
        # (figure_wrapper is typed for graphviz nodes; it reads only what every node has)
        shown = (figure_wrapper(self, diagram, caption)  # type: ignore[arg-type]
                 if caption else diagram)
        result: list[Node] = [shown, table]
        self.add_name(result[0])
        return result
