"""Write a large, realistic definitions export for the benchmarks (deterministic)."""

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output")
    args = parser.parse_args()
    with open(args.output, "w", encoding="utf-8") as stream:
        json.dump(generate(), stream, indent=2)


if __name__ == "__main__":
    main()
