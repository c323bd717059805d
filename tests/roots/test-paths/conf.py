extensions = ["sphinxext_rabbit"]
rabbitmq_topology_allowed_dirs = ["../allowed-defs"]
