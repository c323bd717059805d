"""The reference topology that conf.py names (``rabbitmq_reference_sources``): what
descriptions and roles are checked against, and coverage is counted over."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..sources import brokers_from_config, files_of, merge, read_live_or_snapshot, read_path
from ..topology.model import ERROR
from .directive import rabbitmq_warning

if TYPE_CHECKING:
    from sphinx.environment import BuildEnvironment

    from .domain import Key

#: (environment, specs, files' times) -> entities: read once, by the check and coverage
_read: dict[tuple, frozenset[Key]] = {}


def read_reference(env: BuildEnvironment, confdir: str, specs: list[str]) -> frozenset[Key]:
    """The entities of *specs*: paths relative to conf.py's folder, or names of
    rabbitmq_topology_brokers (fetched, else their snapshot); their errors said once."""
    from .domain import entities_of

    # what says the files changed: a later build in this process reads them again
    stamps = tuple((file, os.stat(file).st_mtime_ns) for spec in specs
                   if spec not in env.config.rabbitmq_topology_brokers
                   for file in files_of(os.path.join(confdir, spec)) if os.path.isfile(file))
    memo = (id(env), confdir, tuple(specs), stamps)
    if memo in _read:
        return _read[memo]
    configured = env.config.rabbitmq_topology_brokers
    parts = []
    for spec in specs:
        if spec in configured:
            broker = brokers_from_config({spec: configured[spec]}, confdir)[spec]
            snapshot_dir = env.config.rabbitmq_topology_snapshot_dir
            parts.append(read_live_or_snapshot(
                broker, snapshot_dir=os.path.join(confdir, snapshot_dir) if snapshot_dir
                else None))
        else:
            parts.append(read_path(os.path.join(confdir, spec), source=spec,
                                   max_bytes=env.config.rabbitmq_topology_max_file_bytes))
    topology = merge(parts, source=" + ".join(specs))
    for problem in topology.problems:
        if problem.severity == ERROR or problem.code == "fetch":
            where = problem.source or topology.source
            where += f":{problem.line}" if problem.line else ""
            rabbitmq_warning(f"rabbitmq_reference_sources: {where}: {problem.message}",
                             subtype=problem.code)
    _read.clear()
    _read[memo] = entities_of(topology)
    return _read[memo]
