"""Explicit export: the one way an agent's files leave its directory (seed 000).

:func:`export_agent` copies one agent's home, and only it, to a destination the user
names. Symbolic links are copied as links: the links the orchestrator makes inside an
agent's home are relative (see :mod:`reference_impl.persistence.rollout`), so they
still resolve inside the copy, and a link can never pull another agent's file in.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class ExportError(ValueError):
    """An export was refused: the destination is inside the agent's own home, or is
    a non-empty directory."""


def export_agent(agent_home: Path, destination: Path) -> Path:
    """Copy ``agent_home`` to ``destination`` (created; must be absent or empty)."""
    source = agent_home.resolve()
    target = Path(destination).absolute()
    if target.resolve().is_relative_to(source):
        raise ExportError(f"cannot export {agent_home} into itself ({destination})")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"export destination {destination} exists and is not an empty "
                          "directory; name a new one")
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    return target
