"""What the build writes: the wording every output shares, DOT, the text fallback,
table rows, Mermaid, definitions files, route reports, and running Graphviz."""
