"""The broker's model: what it holds, what its policies make of it, what a selection
keeps, how it routes messages, and how two topologies differ."""
