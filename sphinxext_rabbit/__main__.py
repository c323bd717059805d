"""``python -m sphinxext_rabbit``: the command line."""

from .cli import run

run()
