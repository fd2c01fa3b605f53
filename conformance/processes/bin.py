"""The fake CLIs as executables: ``codex``, ``claude`` and ``gemini`` in one directory.

Each is a tiny Python script for the interpreter running the harness that starts
:mod:`conformance.processes.puppet` without importing the package (an interpreter
start is the whole cost of a launch). The harness puts the directory first on the
``PATH`` it gives the orchestrator (``World.env``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: The executables, by the backend they play.
NAMES = ("codex", "claude", "gemini")

_SCRIPT = """#!{python}
# The conformance suite's fake {kind}: a puppet of the harness (conformance.processes).
import sys
sys.path.insert(0, {here!r})
import puppet
raise SystemExit(puppet.main({kind!r}))
"""


def install(directory: Path, python: str | None = None) -> Path:
    """Write the three executables into ``directory`` (created); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    here = str(Path(__file__).resolve().parent)
    for kind in NAMES:
        path = directory / kind
        path.write_text(_SCRIPT.format(python=python or sys.executable, kind=kind,
                                       here=here), encoding="utf-8")
        os.chmod(path, 0o755)
    return directory
