"""Temporary directories scoped to one agent id, so cleanup cannot reach another.

Seed 000: "the orchestrator provides helpers to allocate temp directories scoped to
the agent id so cleanup routines are straightforward". An agent's temporary
directory is ``<agent home>/tmp``: it is handed to the agent process as ``TMPDIR``
(also ``TMP`` and ``TEMP``), so its scratch files land in its own directory.

Cleanup removes exactly that one path, computed from a validated id; it never
globs, never matches a prefix (``worker`` must not take ``worker-2`` with it), and
refuses a path that resolves outside the agent's home (a planted symlink).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from reference_impl.isolation.ids import validate_agent_id

TMP_DIR = "tmp"


class TempDirs:
    """Allocates and removes per-agent temporary directories."""

    def __init__(self, agent_home: Callable[[str], Path]) -> None:
        self._agent_home = agent_home

    def path(self, agent_id: str) -> Path:
        return self._agent_home(validate_agent_id(agent_id)) / TMP_DIR

    def allocate(self, agent_id: str) -> Path:
        """Create (if needed) and return the agent's temporary directory."""
        path = self.path(agent_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def environment(self, agent_id: str) -> dict[str, str]:
        """The environment variables that point an agent process at its directory."""
        path = str(self.allocate(agent_id))
        return {"TMPDIR": path, "TMP": path, "TEMP": path}

    def cleanup(self, agent_id: str) -> Path | None:
        """Remove the agent's temporary directory; return it if something was removed."""
        path = self.path(agent_id)
        home = path.parent.resolve()
        if path.is_symlink() or not path.is_dir():
            return None
        if not path.resolve().is_relative_to(home):
            raise ValueError(f"temporary directory {path} of agent {agent_id!r} resolves "
                             f"outside its home {home}; not removing it")
        shutil.rmtree(path)
        return path
