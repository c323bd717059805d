"""Sphinx configuration of the sphinxext-rabbit sample documentation.

The package is installed in editable mode (``bash scripts/setup.sh``), so no sys.path
changes are needed here.
"""

project = "Shop messaging"
author = "Platform team"
copyright = "2025, Platform team"

extensions = ["sphinxext_rabbit"]

# Number figures and tables so :numref: can point at a diagram.
numfig = True

html_theme = "alabaster"
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

# sphinx.ext.graphviz settings apply too, for example:
# graphviz_dot = "dot"
# graphviz_dot_args = ["-Gfontname=Helvetica", "-Nfontname=Helvetica", "-Efontname=Helvetica"]
