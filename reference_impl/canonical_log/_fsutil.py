"""Small durable-file primitives shared by the index and the state snapshot.

Both ``index.json`` and ``state.json`` must never be seen half-written, and must
survive a crash once the call that wrote them returned. The recipe is the same for
both: write a temporary file with a unique name in the destination directory, fsync
it, move it into place atomically (``os.replace`` to overwrite, ``os.link`` to
create exclusively), then fsync the directory so the new name itself is durable.

``durable=False`` skips every fsync (the store's ``fsync=False``): the atomicity and
exclusivity are unchanged, and the data still survives the death of the process (the
kernel holds it), only not an OS crash or a power loss.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import secrets
from pathlib import Path

#: Permissions of files the store creates: logs may hold prompt text, keep them private.
FILE_MODE = 0o600
#: Permissions of directories the store creates.
DIR_MODE = 0o700

# errno values meaning "this file system cannot do that", not "something broke".
_UNSUPPORTED = frozenset(
    {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EISDIR, errno.EACCES}
)
_NO_HARDLINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


def utc_now_iso() -> str:
    """Current UTC time as ISO-8601 with microseconds and a ``Z`` suffix."""
    # isoformat is markedly cheaper than strftime, and this runs once per event.
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"


def utc_now_compact() -> str:
    """Current UTC time for file names: ``YYYYMMDDTHHMMSSffffffZ`` (no colons)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def random_token() -> str:
    """A short random token that keeps concurrently chosen file names apart."""
    return secrets.token_hex(6)


def fsync_dir(path: Path) -> None:
    """fsync a directory so entries created or renamed in it are durable.

    File systems that cannot fsync a directory (EINVAL and friends) are tolerated:
    there is nothing more the store could do on them.
    """
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create ``path`` and any missing parents, each with mode :data:`DIR_MODE`.

    (``Path.mkdir(parents=True)`` would give the parents default permissions.)
    """
    if path.is_dir():
        return
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def _write_temp(directory: Path, stem: str, data: bytes, durable: bool) -> Path:
    tmp = directory / f".{stem}.tmp-{os.getpid()}-{random_token()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        _write_fully(fd, data)
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def replace_file(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``data`` (unique temp file, fsync, rename, fsync dir)."""
    tmp = _write_temp(path.parent, path.name, data, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def create_file_exclusive(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Create ``path`` holding ``data``; raise :class:`FileExistsError` if it exists.

    The content is complete before the name appears (temp file + ``os.link``), so a
    crash can never leave an empty or half-written file under ``path``. On a file
    system without hard links it falls back to ``O_CREAT|O_EXCL``, write, fsync.
    """
    tmp = _write_temp(path.parent, path.name, data, durable)
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in _NO_HARDLINKS:
            raise
        _create_exclusive_direct(path, data, durable)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if durable:
        fsync_dir(path.parent)


def _create_exclusive_direct(path: Path, data: bytes, durable: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        _write_fully(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
