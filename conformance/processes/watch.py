"""What a poll is for a process orchestrator: reading or listing a session's files.

An in-process orchestrator polls by calling ``get_session_data`` on a fake host, and
the host writes it to the timeline. An orchestrator that runs the CLIs as processes
polls by looking at the disk. :class:`ReadWatch` watches every directory under the
world's home with inotify and reports the files and directories opened read-only
(``IN_CLOSE_NOWRITE``): the fakes only ever write, so a read-only open is someone
looking. :func:`polled_sessions` turns those reads into polls: a read of a session's
native file, or a listing of a directory on the way to it below its CLI home, is a
poll of that session, found if the file exists at that moment and not found if not.

What inotify cannot see: a ``stat`` (``os.path.exists``) or a failed ``open`` of a
path that does not exist make no event. An orchestrator that probes a missing file
that way is invisible until it reads or lists something; the README and the specs say
which observability checks this leaves blind for processes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from inotify_simple import INotify, flags

_MASK = flags.CLOSE_NOWRITE | flags.CREATE | flags.MOVED_TO | flags.ONLYDIR


class ReadWatch:
    """Read-only opens under ``root`` since the last :meth:`drain`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._inotify = INotify(nonblocking=True)
        self._paths: dict[int, Path] = {}
        self._watched: set[Path] = set()
        #: Listings of our own (walking a new directory to watch it), each seen once
        #: through the watch of its parent: not the orchestrator's.
        self._own: Counter[Path] = Counter()
        self._watch_tree(root)

    def close(self) -> None:
        """Stop watching (again is a no-op)."""
        if not self._inotify.closed:
            self._inotify.close()

    def drain(self) -> list[Path]:
        """The paths read or listed since the last call (directories included); new
        directories are watched from now on."""
        read: list[Path] = []
        while True:
            events = self._inotify.read(timeout=0)
            if not events:
                return read
            for event in events:
                base = self._paths.get(event.wd)
                if base is None:
                    continue
                path = base / event.name if event.name else base
                if event.mask & (flags.CREATE | flags.MOVED_TO) and event.mask & flags.ISDIR:
                    self._watch_tree(path)
                elif event.mask & flags.CLOSE_NOWRITE:
                    if event.name and event.mask & flags.ISDIR and self._own[path] > 0:
                        self._own[path] -= 1
                        continue
                    read.append(path)

    def _watch_tree(self, top: Path) -> None:
        for directory, _, _ in os.walk(top):
            path = Path(directory)
            if path != self.root:
                self._own[path] += 1  # os.walk just listed it
            if path in self._watched:
                continue
            try:
                wd = self._inotify.add_watch(path, _MASK)
            except OSError:
                continue  # gone already, or not a directory
            self._paths[wd] = path
            self._watched.add(path)


def polled_sessions(reads: Iterable[Path], sessions: Iterable[tuple[str, Path, Path]]
                    ) -> list[str]:
    """The ids of the sessions a set of reads polled; ``sessions`` holds ``(id, CLI
    home, native file)`` triples (the file need not exist)."""
    read = set(reads)
    polled: list[str] = []
    for session_id, home, native in sessions:
        # Below the CLI home only: the home itself is listed by much else (SQLite opens
        # it to sync its journal, the CLI reads its configuration there).
        on_the_way = {native, *(p for p in native.parents if home in p.parents)}
        if read & on_the_way:
            polled.append(session_id)
    return polled
