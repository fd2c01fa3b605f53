"""Looking at what is on disk: tree snapshots, file listings, line reads.

The isolation and persistence checks compare directories before and after an
operation and search files for planted markers. A snapshot maps each file's path
(relative to the snapshot root) to its bytes, reading through links to files, so
"byte-identical" and "a copy of" can be checked with one ``==`` and explained with
:func:`describe_difference`.
"""

from __future__ import annotations

import fnmatch
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

Snapshot = dict[str, bytes]


class DiskView:
    """One round of checks' reads of the disk (``Harness.disk``): each tree listed,
    each file read and each path resolved once, however many checks ask.

    The checks of a step walk the same home and read the same files; what they find
    cannot change between them, since nothing runs but the checks. What it returns
    is shared: do not change it.
    """

    def __init__(self) -> None:
        self._files: dict[Path, list[Path]] = {}
        self._lines: dict[Path, list[str]] = {}
        self._resolved: dict[Path, Path] = {}
        self._logs: dict[Path, list[tuple[Path, str]]] = {}

    def files(self, root: Path) -> list[Path]:
        """:func:`iter_files` of ``root``."""
        found = self._files.get(root)
        if found is None:
            found = self._files[root] = list(iter_files(root))
        return found

    def lines(self, path: Path) -> list[str]:
        """:func:`read_lines` of ``path``."""
        found = self._lines.get(path)
        if found is None:
            found = self._lines[path] = read_lines(path)
        return found

    def resolved(self, path: Path) -> Path:
        """``path.resolve()``, each directory on the way resolved once: the files a
        check walks share their parents, and ``realpath`` would ``lstat`` every
        component of every one of them again."""
        found = self._resolved.get(path)
        if found is None:
            if not path.is_absolute() or path.name in ("", ".", "..") \
                    or os.path.islink(path):
                found = path.resolve()
            else:
                found = self.resolved(path.parent) / path.name
            self._resolved[path] = found
        return found

    def log_lines(self, home: Path) -> list[tuple[Path, str]]:
        """:func:`log_lines` of ``home``."""
        found = self._logs.get(home)
        if found is None:
            found = self._logs[home] = log_lines(home, self.files, self.lines)
        return found


def iter_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (links to files included, directory links not
    followed), in a stable order. Checks walk the home after every step, so this
    uses ``os.scandir`` directly."""
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        subdirectories = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirectories.append(entry.path)
            elif not entry.is_dir():
                # Files, links to files, dangling links and other non-directories;
                # a link to a directory is neither listed nor followed.
                yield Path(entry.path)
        # Files of a directory first, then its subdirectories in name order: the
        # order of a top-down ``os.walk`` with sorted names.
        stack.extend(reversed(subdirectories))


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a dangling link or unreadable file reads as a description,
    so it still differs from a real file."""
    try:
        return path.read_bytes()
    except OSError as error:
        target = os.readlink(path) if path.is_symlink() else ""
        return f"<unreadable: {type(error).__name__} {target}>".encode()


def snapshot(root: Path) -> Snapshot:
    """Relative path -> bytes, for every file under ``root``."""
    return {p.relative_to(root).as_posix(): read_bytes(p) for p in iter_files(root)}


def read_lines(path: Path) -> list[str]:
    """The file's lines without line ends (decoded leniently); empty if unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def describe_difference(expected: Mapping[str, bytes], found: Mapping[str, bytes],
                        limit: int = 5) -> str:
    """What differs between two snapshots, in a few lines."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = sorted(p for p in set(expected) & set(found) if expected[p] != found[p])
    parts = []
    for label, paths in (("missing", missing), ("extra", extra), ("changed", changed)):
        if paths:
            shown = ", ".join(paths[:limit]) + (" ..." if len(paths) > limit else "")
            parts.append(f"{label}: {shown}")
    return "; ".join(parts) or "no difference"


def is_within(path: Path, directory: Path) -> bool:
    """Whether ``path`` is ``directory`` or inside it (both taken as given, not
    resolved). A string comparison: checks call it for every file after every step."""
    text, base = str(path), str(directory)
    return text == base or text.startswith(base.rstrip(os.sep) + os.sep)


#: SQLite log databases a CLI keeps in its home (Codex CLI 0.169 and later:
#: ``logs_2.sqlite``, table ``logs``, the text in ``feedback_log_body``).
SQLITE_LOGS = "logs_*.sqlite"


def log_lines(home: Path, listing: Callable[[Path], Iterable[Path]] = iter_files,
              reader: Callable[[Path], list[str]] = read_lines) -> list[tuple[Path, str]]:
    """Every log line an agent CLI left under ``home``: the lines of text logs under
    ``log/`` and the messages of SQLite logs (:data:`SQLITE_LOGS`), with their file.
    A database that cannot be read contributes nothing. ``listing`` and ``reader``
    list a tree and read a file (a :class:`DiskView`'s, to share its reads)."""
    found = [(path, line) for path in listing(home / "log") for line in reader(path)]
    databases = sorted(p for p in listing(home) if fnmatch.fnmatchcase(p.name, SQLITE_LOGS))
    for database in databases:
        try:
            connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                rows = connection.execute("SELECT feedback_log_body FROM logs").fetchall()
            finally:
                connection.close()
        except sqlite3.Error:
            continue
        found.extend((database, str(row[0])) for row in rows if row[0] is not None)
    return found
