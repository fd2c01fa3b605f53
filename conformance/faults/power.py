"""A simulated power cut: every write under a directory that was not synced is lost.

``kill -9`` keeps the page cache, so a store that never calls ``fsync`` passes every
crash test run by killing processes. A power cut does not forgive that. A
:class:`PowerCut` follows what the process makes durable under ``root``: it
interposes on ``os.fsync``, ``os.fdatasync`` and ``os.sync`` and, each time a file
under ``root`` is synced, remembers its content. :meth:`PowerCut.cut` then puts every
file back to what was durable: its content at its last sync, or at :meth:`start` for a
file not synced since, or nothing at all for a file created and never synced (the
zero-length file an unsynced write-then-rename leaves on a real crash).

The model is the usual one of a journaling file system: names (creations, renames,
removals) are durable at once, file contents only once synced. It is deliberately
strict about contents and lenient about names, so what it loses a real machine
could lose too. It sees the syncs of Python code in this process, whatever library
makes them; on systems without ``/proc/self/fd`` it cannot read a synced file and
keeps nothing for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conformance.faults.injection import exempt

_Inode = tuple[int, int]


def _files(root: Path) -> Iterator[tuple[Path, _Inode]]:
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            try:
                status = path.lstat()
            except OSError:
                continue
            if path.is_file() and not path.is_symlink():
                yield path, (status.st_dev, status.st_ino)


class PowerCut:
    """See the module docstring. Use one per world; :meth:`stop` when done."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._top = os.path.realpath(root)
        self._durable: dict[_Inode, bytes] = {}
        self._saved: dict[str, Callable[..., Any]] = {}
        #: How many syncs of files under ``root`` were seen (for messages).
        self.syncs = 0

    def start(self) -> None:
        """Everything now under ``root`` counts as durable; follow syncs from here."""
        self._durable = self._contents()
        if self._saved:
            return
        for name in ("fsync", "fdatasync"):
            original = getattr(os, name)
            self._saved[name] = original
            setattr(os, name, self._on_sync(original))
        original_sync = os.sync
        self._saved["sync"] = original_sync

        def sync() -> None:
            original_sync()
            self._durable.update(self._contents())

        os.sync = sync

    def stop(self) -> None:
        for name, original in self._saved.items():
            setattr(os, name, original)
        self._saved.clear()

    def cut(self) -> list[str]:
        """The power goes out: undo every unsynced write. Returns what was lost,
        one line per file, and starts over from what is left."""
        lost = []
        with exempt():
            for path, inode in _files(self.root):
                durable = self._durable.get(inode, b"")
                current = path.read_bytes()
                if current != durable:
                    lost.append(f"{path.relative_to(self.root)}: {len(current)} bytes, "
                                f"{len(durable)} durable")
                    path.write_bytes(durable)
        self._durable = self._contents()
        return lost

    # -- internals ------------------------------------------------------------------

    def _contents(self) -> dict[_Inode, bytes]:
        out = {}
        for path, inode in _files(self.root):
            try:
                out[inode] = path.read_bytes()
            except OSError:
                continue
        return out

    def _on_sync(self, original: Callable[[int], None]) -> Callable[[int], None]:
        def synced(fd: int) -> None:
            original(fd)
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
                status = os.fstat(fd)
            except OSError:
                return
            if not (target == self._top or target.startswith(self._top + os.sep)):
                return
            if not os.path.isfile(target):
                return  # a directory: names are durable anyway
            try:
                with open(f"/proc/self/fd/{fd}", "rb") as handle:
                    data = handle.read()
            except OSError:
                return
            self.syncs += 1
            self._durable[(status.st_dev, status.st_ino)] = data
        return synced


__all__ = ["PowerCut"]
