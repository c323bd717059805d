"""Write large, realistic definitions exports for the benchmarks (deterministic).

``generate`` is the 20,000-entity export of bench.py (random-ish names and bindings);
``generate_subsystems`` the export of issue 16's build benchmark: 4 vhosts of 60 subsystems
each, a subsystem being 20 quorum queues bound from its own exchange and dead-lettered to a
queue of its own, so a page can draw one subsystem with ``:include: svcNNN.*``.
"""

from __future__ import annotations

import argparse
import json
import random


def generate(
    queues: int = 5000,
    bindings: int = 15000,
    policies: int = 250,
    vhosts: int = 4,
    exchanges: int = 400,
    seed: int = 7,
) -> dict:
    rng = random.Random(seed)
    vhost_names = ["/"] + [f"vhost-{i}" for i in range(1, vhosts)]
    domains = ["orders", "payments", "shipping", "billing", "audit", "users", "stock", "mail"]
    doc: dict = {
        "rabbit_version": "3.13.7",
        "rabbitmq_version": "3.13.7",
        "users": [
            {
                "name": "admin",
                "password_hash": "bench-hash",
                "tags": ["administrator"],
                "limits": {},
            }
        ],
        "vhosts": [{"name": v, "metadata": {"default_queue_type": "classic"}} for v in vhost_names],
        "permissions": [],
        "topic_permissions": [],
        "parameters": [],
        "global_parameters": [],
        "policies": [],
        "queues": [],
        "exchanges": [],
        "bindings": [],
    }
    types = ["topic", "direct", "fanout", "headers"]
    exchange_names: dict[str, list[str]] = {v: [] for v in vhost_names}
    for i in range(exchanges):
        vhost = vhost_names[i % vhosts]
        name = f"{domains[i % len(domains)]}.events.{i}"
        exchange_names[vhost].append(name)
        doc["exchanges"].append(
            {
                "name": name,
                "vhost": vhost,
                "type": types[i % 4],
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        )
    queue_names: dict[str, list[str]] = {v: [] for v in vhost_names}
    for i in range(queues):
        vhost = vhost_names[i % vhosts]
        name = f"{domains[i % len(domains)]}.service-{i}.inbox"
        queue_names[vhost].append(name)
        arguments = {"x-queue-type": rng.choice(["classic", "quorum", "quorum", "stream"])}
        if i % 5 == 0:
            arguments["x-dead-letter-exchange"] = rng.choice(exchange_names[vhost])
        doc["queues"].append(
            {
                "name": name,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": arguments,
            }
        )
    for i in range(bindings):
        vhost = vhost_names[i % vhosts]
        doc["bindings"].append(
            {
                "source": rng.choice(exchange_names[vhost]),
                "vhost": vhost,
                "destination": rng.choice(queue_names[vhost]),
                "destination_type": "queue",
                "routing_key": f"{rng.choice(domains)}.{rng.choice(['created', 'updated', '*'])}",
                "arguments": {},
            }
        )
    for i in range(policies):
        vhost = vhost_names[i % vhosts]
        domain = domains[i % len(domains)]
        doc["policies"].append(
            {
                "name": f"{domain}-policy-{i}",
                "vhost": vhost,
                "pattern": f"^{domain}\\.service-{i % 50}\\d*\\.",
                "apply-to": rng.choice(["queues", "all", "quorum_queues"]),
                "definition": {
                    "max-length": 1000 + i,
                    "dead-letter-exchange": rng.choice(exchange_names[vhost]),
                },
                "priority": i,
            }
        )
    return doc


VHOSTS = ("/", "vhost-1", "vhost-2", "vhost-3")
#: subsystems per vhost, queues per subsystem, bindings per queue
SUBSYSTEMS = 60
SUBSYSTEM_QUEUES = 20
KEYS_PER_QUEUE = 3


def subsystem_name(vhost_index: int, index: int) -> str:
    """``svcNNN``: subsystems are numbered across vhosts, so each name is in one vhost."""
    return f"svc{vhost_index * SUBSYSTEMS + index:03d}"


def generate_subsystems(vhosts: int = len(VHOSTS), subsystems: int = SUBSYSTEMS) -> dict:
    """Each vhost: a central topic exchange ``events``; per subsystem ``svcNNN``: a topic
    exchange ``svcNNN.events`` bound from it with ``svcNNN.#``, 20 quorum queues
    ``svcNNN.q.KK`` bound from that with 3 keys each and dead-lettered to the fanout
    ``svcNNN.dlx``, the queue ``svcNNN.dlq`` bound to that, and a policy on the queues.

    With the defaults: 5,040 queues (1,260 a vhost), 14,880 bindings, 484 exchanges.
    """
    doc: dict = {
        "rabbit_version": "3.13.7",
        "rabbitmq_version": "3.13.7",
        "users": [{"name": "admin", "password_hash": "bench-hash",
                   "hashing_algorithm": "rabbit_password_hashing_sha256",
                   "tags": ["administrator"], "limits": {}}],
        "vhosts": [{"name": v, "metadata": {"default_queue_type": "quorum"}}
                   for v in VHOSTS[:vhosts]],
        "permissions": [], "topic_permissions": [], "parameters": [], "global_parameters": [],
        "policies": [], "queues": [], "exchanges": [], "bindings": [],
    }
    actions = ("created", "updated", "deleted")

    def exchange(vhost: str, name: str, kind: str) -> None:
        doc["exchanges"].append({"name": name, "vhost": vhost, "type": kind, "durable": True,
                                 "auto_delete": False, "internal": False, "arguments": {}})

    def bind(vhost: str, source: str, destination: str, kind: str, key: str) -> None:
        doc["bindings"].append({"source": source, "vhost": vhost, "destination": destination,
                                "destination_type": kind, "routing_key": key,
                                "arguments": {}})

    def queue(vhost: str, name: str, arguments: dict) -> None:
        doc["queues"].append({"name": name, "vhost": vhost, "durable": True,
                              "auto_delete": False,
                              "arguments": {"x-queue-type": "quorum", **arguments}})

    for vhost_index, vhost in enumerate(VHOSTS[:vhosts]):
        exchange(vhost, "events", "topic")
        doc["policies"].append({"name": "quorum-defaults", "vhost": vhost, "pattern": "\\.q\\.",
                                "apply-to": "quorum_queues", "priority": 0,
                                "definition": {"delivery-limit": 20}})
        for index in range(subsystems):
            system = subsystem_name(vhost_index, index)
            exchange(vhost, f"{system}.events", "topic")
            exchange(vhost, f"{system}.dlx", "fanout")
            bind(vhost, "events", f"{system}.events", "exchange", f"{system}.#")
            for number in range(SUBSYSTEM_QUEUES):
                name = f"{system}.q.{number:02d}"
                queue(vhost, name, {"x-dead-letter-exchange": f"{system}.dlx"})
                for action in actions[:KEYS_PER_QUEUE]:
                    bind(vhost, f"{system}.events", name, "queue",
                         f"{system}.entity{number:02d}.{action}")
            queue(vhost, f"{system}.dlq", {})
            bind(vhost, f"{system}.dlx", f"{system}.dlq", "queue", "")
            doc["policies"].append({"name": f"{system}-limits", "vhost": vhost,
                                    "pattern": f"^{system}\\.q\\.", "apply-to": "queues",
                                    "priority": 1,
                                    "definition": {"max-length": 10000 + index,
                                                   "delivery-limit": 5}})
    return doc


def write(document: dict, path: str) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output")
    parser.add_argument("--subsystems", action="store_true",
                        help="the 4-vhost subsystem export of the build benchmark (build.py)")
    args = parser.parse_args()
    write(generate_subsystems() if args.subsystems else generate(), args.output)


if __name__ == "__main__":
    main()
