"""Moving a live rollout into the session directory without losing a line.

The backend keeps appending to its rollout by path (``open(path, "a")``), possibly
through a descriptor it already holds. "Moved and linked" (seed 001) is done so
that every append, before, during and after the move, lands in one file:

1. hard-link the file into the session directory (same inode: both names are the
   same file, so a descriptor the backend holds keeps writing into it);
2. create a relative symbolic link next to the legacy path and ``os.replace`` it over
   the legacy name (atomic: at every instant the legacy name exists and resolves to
   the same inode).

A plain ``rename`` followed by ``symlink`` would leave a window in which an append by
path recreates a new file at the legacy path and splits the rollout in two.

The link is relative (``../../../<id>/rollout-....jsonl`` for Codex), so an exported or
moved agent home stays consistent. Re-adopting an adopted rollout is a no-op.
"""

from __future__ import annotations

import os
from pathlib import Path


def is_adopted(legacy: Path, target: Path) -> bool:
    """Whether ``legacy`` is already a link to ``target``."""
    return legacy.is_symlink() and legacy.resolve() == target.resolve()


def adopt_rollout(legacy: Path, directory: Path) -> Path:
    """Move ``legacy`` into ``directory`` and leave a link; return the new path.

    Raises :class:`OSError` if it cannot (the legacy file then stays untouched or, if
    step 2 failed, has a second name in ``directory``; no line is lost either way).
    """
    target = directory / legacy.name
    if is_adopted(legacy, target):
        return target
    if legacy.is_symlink():
        raise OSError(f"{legacy} is already a link to {os.readlink(legacy)}; not adopting")
    if not target.exists():
        os.link(legacy, target)
    elif not os.path.samefile(legacy, target):
        raise OSError(f"{target} exists and is not {legacy}; not overwriting it")
    relative = os.path.relpath(target, legacy.parent)
    temporary = legacy.with_name(f".{legacy.name}.link")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(relative, temporary)
    os.replace(temporary, legacy)
    return target
