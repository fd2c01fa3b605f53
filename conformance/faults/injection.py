"""File-system faults under a directory, at the moment of a session the harness picks.

One :class:`Fault` says where (every path under ``root``), what (the ``errno`` the
system calls fail with: ``ENOSPC`` for a full disk, ``EACCES`` for a read-only one,
``EIO``) and at which point of a file's life it strikes (:class:`At`):

* ``OPEN``: creating, opening for writing, renaming, linking, truncating or removing
  anything under ``root`` fails, the way a read-only directory or a disk that was
  already full refuses new work;
* ``WRITE``: opening succeeds (an ``open(..., "w")`` truncates the file, as usual)
  and every write fails: the state a disk that fills up leaves behind, a file
  truncated and then not written;
* ``PARTIAL``: each write stores only part of its bytes and reports it (a short
  write), the next one fails: a line cut in the middle.

Faults are started and stopped by the harness at any step (:func:`start` and
:func:`stop`, or the :func:`injected` context manager), so a machine can make a
session's directory fail before it exists, mid-session, after its rollout was
adopted or during a fallback, and let it recover. They reach any orchestrator
written in Python, whatever it writes with: ``open``/``io.open``/``Path.open`` (whose
files get a raw layer that fails at write time), ``os.open``, ``os.write`` on
descriptors that point under ``root`` (opened before the fault, too), and the
``os`` calls that create or remove names. Everything outside ``root`` works as
usual, and so do the harness's own writes (the fake backends write inside
:func:`exempt`): a full disk is the orchestrator's problem here, not the agent's.
"""

from __future__ import annotations

import builtins
import contextlib
import errno as _errno
import io
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.contract import CodeEnum

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class At(CodeEnum):
    """When in a file's life a fault strikes (see the module docstring)."""

    OPEN = "open"
    WRITE = "write"
    PARTIAL = "partial"


@dataclass(frozen=True)
class Fault:
    """Writes under ``root`` fail with ``errno`` at ``at``."""

    root: Path
    errno: int = _errno.ENOSPC
    at: At = At.OPEN

    def __str__(self) -> str:
        return f"{os.strerror(self.errno)} ({_errno.errorcode.get(self.errno, self.errno)}) " \
               f"at {self.at.value} under {self.root}"


@dataclass
class _Active:
    fault: Fault
    top: str
    #: PARTIAL: descriptors (by inode) whose next write fails after one short write.
    cut: set[tuple[int, int]]


_lock = threading.RLock()
_active: list[_Active] = []
_exempt = threading.local()
_saved: dict[str, Callable[..., Any]] = {}
_real_open: Callable[..., Any] = builtins.open


def _is_exempt() -> bool:
    return getattr(_exempt, "depth", 0) > 0


@contextlib.contextmanager
def exempt() -> Iterator[None]:
    """Writes made inside pass every fault (the harness's and the fakes' own)."""
    _exempt.depth = getattr(_exempt, "depth", 0) + 1
    try:
        yield
    finally:
        _exempt.depth -= 1


def _target(path: object) -> str | None:
    """The real path a call is about (a descriptor is followed through /proc)."""
    if isinstance(path, int):
        try:
            return os.readlink(f"/proc/self/fd/{path}")
        except OSError:
            return None
    if not isinstance(path, str | bytes | os.PathLike):
        return None
    return os.path.realpath(os.fsdecode(os.fspath(path)))


def _matching(path: object) -> _Active | None:
    if _is_exempt() or not _active:
        return None
    target = _target(path)
    if target is None:
        return None
    for active in reversed(_active):
        if target == active.top or target.startswith(active.top + os.sep):
            return active
    return None


def _refuse(active: _Active, path: object) -> OSError:
    name = (os.fsdecode(os.fspath(path)) if isinstance(path, str | bytes | os.PathLike)
            else f"<fd {path}>")
    code = active.fault.errno
    return OSError(code, os.strerror(code), name)


def _inode(fd: int) -> tuple[int, int] | None:
    try:
        status = os.fstat(fd)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _faulty_write(active: _Active, fd: int, data: Any, write: Callable[[int, Any], int]) -> int:
    """What a write to a descriptor under a fault does (WRITE or PARTIAL)."""
    view = memoryview(data).cast("B")
    if active.fault.at is At.PARTIAL and len(view) > 1:
        inode = _inode(fd)
        if inode is not None and inode not in active.cut:
            active.cut.add(inode)
            return write(fd, view[: len(view) // 2])
    raise _refuse(active, fd)


class _FaultyFileIO(io.FileIO):
    """The raw layer of a file opened under a WRITE or PARTIAL fault: it fails when
    written, not when opened, as long as a fault covers it."""

    def write(self, data: Any) -> int:
        active = _matching(self.fileno())
        if active is None or active.fault.at is At.OPEN:
            return super().write(data)
        return _faulty_write(active, self.fileno(), data,
                             lambda _fd, chunk: io.FileIO.write(self, chunk))


def _open_faulty(file: Any, mode: str, buffering: int, encoding: str | None,
                 errors: str | None, newline: str | None, closefd: bool,
                 opener: Any) -> Any:
    """``open`` rebuilt on :class:`_FaultyFileIO` (the layers ``io.open`` would stack)."""
    raw_mode = "".join(c for c in mode if c in "rwxa+")
    raw = _FaultyFileIO(file, raw_mode, closefd=closefd, opener=opener)
    if "b" in mode and buffering == 0:
        return raw
    size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
    buffered: Any = (io.BufferedRandom(raw, size) if "+" in mode
                     else io.BufferedWriter(raw, size))
    if "b" in mode:
        return buffered
    text = io.TextIOWrapper(buffered, encoding, errors, newline,
                            line_buffering=buffering == 1)
    text.mode = mode  # type: ignore[misc]
    return text


def _guarded_open(file: Any, mode: str = "r", buffering: int = -1,
                  encoding: str | None = None, errors: str | None = None,
                  newline: str | None = None, closefd: bool = True,
                  opener: Any = None) -> Any:
    if any(c in mode for c in "wax+"):
        active = _matching(file)
        if active is not None:
            if active.fault.at is At.OPEN:
                raise _refuse(active, file)
            return _open_faulty(file, mode, buffering, encoding, errors, newline, closefd,
                                opener)
    return _real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)


def _wrap(name: str, *, flags_at: int | None = None, paths: tuple[int, ...] = (0,),
          when: tuple[At, ...] = (At.OPEN,)) -> None:
    original: Callable[..., Any] = getattr(os, name)
    _saved[name] = original

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if flags_at is None or (len(args) > flags_at and args[flags_at] & _WRITE_FLAGS):
            for position in paths:
                if position < len(args):
                    path = _relative_to(args[position], kwargs, position)
                    active = _matching(path)
                    if active is not None and active.fault.at in when:
                        raise _refuse(active, path)
        return original(*args, **kwargs)

    setattr(os, name, guarded)


def _relative_to(path: Any, kwargs: dict[str, Any], position: int) -> Any:
    """``path`` resolved against its ``dir_fd`` (``shutil.rmtree`` removes that way)."""
    name = "dir_fd" if position == 0 else "dst_dir_fd"
    directory = kwargs.get(name, kwargs.get("src_dir_fd") if position == 0 else None)
    if not isinstance(directory, int) or not isinstance(path, str | bytes | os.PathLike):
        return path
    base = _target(directory)
    return path if base is None else os.path.join(base, os.fsdecode(os.fspath(path)))


def _guarded_write(fd: int, data: Any) -> int:
    active = _matching(fd)
    real: Callable[[int, Any], int] = _saved["write"]
    if active is None:
        return real(fd, data)
    return _faulty_write(active, fd, data, real)


def _install() -> None:
    _wrap("open", flags_at=1)
    for name in ("mkdir", "unlink", "remove", "rmdir", "truncate", "ftruncate"):
        _wrap(name)
    for name in ("replace", "rename", "link", "symlink"):
        _wrap(name, paths=(0, 1))
    _saved["write"] = os.write
    os.write = _guarded_write
    builtins.open = io.open = _guarded_open


def _uninstall() -> None:
    builtins.open = io.open = _real_open
    for name, original in _saved.items():
        setattr(os, name, original)
    _saved.clear()


def start(fault: Fault) -> object:
    """Start ``fault``; returns a token for :func:`stop`."""
    active = _Active(fault, os.path.realpath(fault.root), set())
    with _lock:
        if not _active:
            _install()
        _active.append(active)
    return active


def stop(token: object) -> None:
    """Stop the fault ``token`` names (a second stop does nothing)."""
    with _lock:
        if token in _active:
            _active.remove(token)
            if not _active:
                _uninstall()


def stop_all() -> None:
    """Stop every fault (a world's teardown)."""
    with _lock:
        for token in list(_active):
            stop(token)


@contextlib.contextmanager
def injected(fault: Fault) -> Iterator[None]:
    """``fault`` for the duration of the block."""
    token = start(fault)
    try:
        yield
    finally:
        stop(token)


@contextlib.contextmanager
def failing_writes(root: Path, code: int) -> Iterator[None]:
    """Every write under ``root`` fails at open with ``OSError(code)`` for the block.

    Where the process is not privileged, ``EACCES`` also removes the write permission
    of ``root``'s directories for real (restored afterwards).
    """
    modes = _drop_write_permission(os.path.realpath(root)) if code == _errno.EACCES else {}
    try:
        with injected(Fault(root, code, At.OPEN)):
            yield
    finally:
        for path, mode in modes.items():
            with contextlib.suppress(OSError):
                os.chmod(path, mode)


def _drop_write_permission(top: str) -> dict[str, int]:
    """chmod a-w every directory under ``top`` (effective where not privileged)."""
    import stat

    modes: dict[str, int] = {}
    if os.geteuid() == 0 or not os.path.isdir(top):
        return modes
    for directory, _dirs, _files in os.walk(top):
        mode = stat.S_IMODE(os.stat(directory).st_mode)
        modes[directory] = mode
        os.chmod(directory, mode & ~0o222)
    return modes


__all__ = ["At", "Fault", "exempt", "failing_writes", "injected", "start", "stop", "stop_all"]
