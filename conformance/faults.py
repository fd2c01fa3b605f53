"""Fault injection for the canonical store: make writes under a directory fail.

:func:`failing_writes` makes every attempt of this process to create, write, rename,
link, truncate or remove anything under ``root`` fail with an ``OSError`` of the
given errno, the way a full disk (``ENOSPC``) or a read-only directory (``EACCES``)
would, while every other path works as usual. It interposes on the Python I/O entry
points (``open``/``io.open``, ``os.open``, ``os.write`` and friends) for the duration,
which reaches any orchestrator written in Python, whatever library it writes with;
where the process is not privileged, ``EACCES`` also removes the write permission of
``root`` for real. A process is needed for nothing: the harness, the fake backends and
the orchestrator keep running in this one.

:func:`corrupt_index` and :func:`tear_last_lines` damage a store's files the way a
crashed or racing writer leaves them.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

#: The bytes :func:`corrupt_index` leaves in ``index.json``: cut in the middle of a key.
CORRUPT_INDEX = b'{"codex:019a'
#: The fragment :func:`tear_last_lines` appends: an event cut in the middle.
TORN_FRAGMENT = b'{"v":1,"seq":99,"kind":"acp.agent_message_chunk","data":{"cont'


def _inside(root: str, path: object) -> bool:
    if isinstance(path, int):
        try:
            target = os.readlink(f"/proc/self/fd/{path}")
        except OSError:
            return False
        return target == root or target.startswith(root + os.sep)
    if not isinstance(path, str | bytes | os.PathLike):
        return False
    name = os.fsdecode(os.fspath(path))
    real = os.path.realpath(name)
    return real == root or real.startswith(root + os.sep)


@contextlib.contextmanager
def failing_writes(root: Path, code: int) -> Iterator[None]:
    """Every write under ``root`` fails with ``OSError(code)`` until the block ends."""
    top = os.path.realpath(root)
    message = os.strerror(code)

    def refuse(path: Any) -> None:
        name = f"<fd {path}>" if isinstance(path, int) else os.fsdecode(os.fspath(path))
        raise OSError(code, message, name)

    real_open = builtins.open
    saved: dict[str, Callable[..., Any]] = {}

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+") and _inside(top, file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def wrap(name: str, *, flags_at: int | None = None, paths: tuple[int, ...] = (0,)) -> None:
        original: Callable[..., Any] = getattr(os, name)
        saved[name] = original

        def guarded(*args: Any, **kwargs: Any) -> Any:
            writing = flags_at is None or (len(args) > flags_at and args[flags_at] & _WRITE_FLAGS)
            if writing:
                for position in paths:
                    if position < len(args) and _inside(top, args[position]):
                        refuse(args[position])
            return original(*args, **kwargs)

        setattr(os, name, guarded)

    wrap("open", flags_at=1)
    for name in ("write", "mkdir", "unlink", "remove", "rmdir", "truncate", "ftruncate"):
        wrap(name)
    for name in ("replace", "rename", "link", "symlink"):
        wrap(name, paths=(0, 1))
    builtins.open = io.open = guarded_open
    modes = _drop_write_permission(top) if code == errno.EACCES else {}
    try:
        yield
    finally:
        builtins.open = io.open = real_open
        for name, original in saved.items():
            setattr(os, name, original)
        for path, mode in modes.items():
            with contextlib.suppress(OSError):
                os.chmod(path, mode)


def _drop_write_permission(top: str) -> dict[str, int]:
    """chmod a-w every directory under ``top`` (effective where not privileged)."""
    modes: dict[str, int] = {}
    if os.geteuid() == 0 or not os.path.isdir(top):
        return modes
    for directory, _dirs, _files in os.walk(top):
        mode = stat.S_IMODE(os.stat(directory).st_mode)
        modes[directory] = mode
        os.chmod(directory, mode & ~0o222)
    return modes


def corrupt_index(acp_home: Path) -> bool:
    """Overwrite ``index.json`` with a cut-off object; whether there was one."""
    index = acp_home / "index.json"
    if not index.is_file():
        return False
    index.write_bytes(CORRUPT_INDEX)
    return True


def tear_last_lines(acp_home: Path) -> int:
    """Append a cut-off event (no newline) to every ``canonical.jsonl``; how many."""
    count = 0
    for log in sorted(acp_home.rglob("canonical.jsonl")):
        with log.open("ab") as handle:
            handle.write(TORN_FRAGMENT)
        count += 1
    return count
