"""The Sphinx layer: directives, nodes, builder visitors."""
