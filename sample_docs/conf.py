"""Sphinx configuration of the sphinxext-rabbit sample documentation.

The package is installed in editable mode (``bash scripts/setup.sh``), so no sys.path
changes are needed here.
"""

project = "Shop messaging"
author = "Platform team"
copyright = "2025, Platform team"

# myst_parser reads entities.md (a Markdown page); scripts/setup.sh installs it (the test
# extra), the extension does not need it
extensions = ["myst_parser", "sphinxext_rabbit"]

# Number figures and tables so :numref: can point at a diagram.
numfig = True

html_theme = "alabaster"
# Wider than alabaster's 940 px, so that diagrams and the wider tables (queues with their
# messages and consumers) fit beside the sidebar.
html_theme_options = {"page_width": "1320px", "body_max_width": "none"}
html_title = "Shop messaging — RabbitMQ topology"
exclude_patterns = ["_build"]

# -- sphinxext-rabbit ----------------------------------------------------------------
# Every value below is shown at its default, so this page doubles as the reference.

# What a rabbitmq-topology directive shows when it has no :show: option.
# Any of "diagram", "bindings", "queues", "exchanges", "policies".
rabbitmq_topology_default_show = ["diagram", "bindings"]

# Graphviz rank direction when a directive has no :layout: option: "LR" or "TB".
rabbitmq_topology_layout = "LR"

# Draw a legend on every diagram (a directive can still ask for one with :legend:).
rabbitmq_topology_legend = False

# Image format of diagrams in HTML: "svg" (links and tooltips work) or "png".
rabbitmq_topology_output_format = "svg"

# When Graphviz's `dot` (Sphinx's graphviz_dot) is not installed, draw with the
# dot-compatible binary of the graphviz-pure package (pip install 'sphinxext-rabbit[dot]').
rabbitmq_topology_dot_fallback = True

# Folders outside the source directory (relative to it) that sources may be read from.
rabbitmq_topology_allowed_dirs = []

# Larger files are refused (a rabbitmq.limit error); a diagram with more nodes is shown as
# text (a rabbitmq.limit warning).
rabbitmq_topology_max_file_bytes = 64 * 1024 * 1024
rabbitmq_topology_max_nodes = 1500

# Live brokers a directive can name instead of a file: name -> settings (see live.rst).
# No password here, only the name of the environment variable that holds it, e.g.
#   {"shop": {"url": "https://rabbit.shop.example:15671", "user": "docs-reader",
#             "password_env": "SHOP_RABBITMQ_PASSWORD"}}
# This sample names none: it must build without a broker.
rabbitmq_topology_brokers = {}

# Where each successful fetch of a live broker is saved, relative to this file; a build
# that cannot reach the broker draws the last snapshot instead, with one warning.
rabbitmq_topology_snapshot_dir = None

# A source every diagram is compared with (one rabbitmq.drift warning per difference),
# unless its :compare: option names another; None compares nothing.
rabbitmq_topology_compare = None

# Named views: name -> options of the rabbitmq-topology directive (lists for comma-separated
# values, True for flags); a directive uses one with :view: NAME, and its own options
# override the view's. The design pages (design/) use these.
rabbitmq_topology_views = {
    "billing": {"vhost": "billing", "show": ["diagram", "bindings", "queues"]},
    "order-events": {"focus": ["orders.outbox"], "direction": "down", "depth": 3},
    "bus": {"focus": ["events"], "depth": 1, "show": ["diagram"]},
}

# The width and alignment of every diagram without :width: or :align:, as docutils writes
# them ("100%", "600px"; "left", "center", "right"); None leaves dot's own size.
rabbitmq_topology_width = None
rabbitmq_topology_align = None

# sphinx.ext.graphviz settings apply too, for example:
# graphviz_dot = "dot"
# graphviz_dot_args = ["-Gfontname=Helvetica", "-Nfontname=Helvetica", "-Efontname=Helvetica"]
