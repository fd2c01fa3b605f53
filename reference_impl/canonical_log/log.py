"""``canonical.jsonl``: the append-only event log of one session, and its reader.

Writing. Each event becomes one complete line (JSON + ``"\\n"``) built in memory and
handed to a *single* ``os.write`` on a descriptor opened with ``O_APPEND``, so the
kernel places it at the end of the file in one piece: lines from several writers
never interleave, and earlier bytes are never touched. A short write (a full disk) is
reported as a :class:`ShortWriteError`, never completed by a second write that could
land after someone else's line.

Sequence numbers. ``seq`` continues from the last parsable line of the file. Each
append holds an exclusive ``flock`` on the log for the few system calls of
"find the next seq, write, fsync", so two processes appending to the same session
still get distinct, increasing numbers. The writer remembers where its last line
ended; only when the file size differs (first append of this process, another
writer, a failed write) does it scan backwards from the end for the last event.

Torn lines. A crash or a full disk can leave a final line without its newline. Before
writing after such a line (detected by the same tail check) the writer starts its
own line with ``"\\n"``, so the fragment stays an isolated, unparsable line instead of
swallowing the next event. :func:`read_events` skips such lines and reports their
line numbers; it never raises on file *content*.

Durability. With ``fsync=True`` (the default) an append returns only after
``fsync`` of the log (and, when the append created the file, of its directory): the
event survives a kill -9 *and* a power loss. With ``fsync=False`` the event is in the
kernel page cache when the append returns: it survives a kill -9 of the process (the
kernel still holds it) but not an OS crash or a power loss. Either way, an event
whose append call returned is readable after the process is killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference_impl.canonical_log._fsutil import FILE_MODE, fsync_dir, utc_now_iso
from reference_impl.canonical_log.errors import ShortWriteError
from reference_impl.canonical_log.events import (
    CanonicalEvent,
    EventKind,
    decode_event,
    encode_event,
)

_TAIL_CHUNK = 64 * 1024


@dataclass
class ReadResult:
    """What :func:`read_events` found: the events, and the lines it could not use."""

    events: list[CanonicalEvent] = field(default_factory=list)
    #: 1-based numbers of torn or unparsable lines, in file order.
    skipped: list[int] = field(default_factory=list)
    #: Why each skipped line was skipped, by line number.
    reasons: dict[int, str] = field(default_factory=dict)


def parse_log(content: bytes) -> ReadResult:
    """Parse the bytes of a ``canonical.jsonl``; blank lines are ignored silently."""
    result = ReadResult()
    lines = content.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the file ends with a newline: nothing after it
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            result.events.append(decode_event(raw, line=number))
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            result.skipped.append(number)
            result.reasons[number] = str(exc)[:200]
    return result


def read_events(path: str | os.PathLike[str]) -> ReadResult:
    """Read every event of a log file, skipping (and reporting) torn or bad lines.

    Raises :class:`OSError` only if the file cannot be read at all (e.g. missing).
    """
    with open(path, "rb") as f:
        return parse_log(f.read())


def _scan_tail(fd: int, size: int) -> tuple[int, bool]:
    """``(seq of the last parsable event or 0, file lacks a final newline)``."""
    if size == 0:
        return 0, False
    needs_newline = os.pread(fd, 1, size - 1) != b"\n"
    pos = size
    partial = b""
    while True:
        length = min(_TAIL_CHUNK, pos)
        pos -= length
        buf = os.pread(fd, length, pos) + partial
        lines = buf.split(b"\n")
        # Unless we reached the start of the file, lines[0] may be cut: keep it for later.
        complete = lines if pos == 0 else lines[1:]
        for raw in reversed(complete):
            if not raw.strip():
                continue
            try:
                return decode_event(raw).seq, needs_newline
            except (ValueError, UnicodeDecodeError):
                continue
        if pos == 0:
            return 0, needs_newline
        partial = lines[0]


class LogWriter:
    """Appends events to one ``canonical.jsonl``. Thread-safe; one per file and process."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = -1
        self._end = -1  # file size right after our last successful write; -1: unknown
        self._last_seq = 0

    def _open(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        if self._fd is not None:
            # Inherited across a fork: shared with the parent, so drop our copy and reopen.
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        created = False
        try:
            fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
            created = True
        except FileExistsError:
            fd = os.open(self.path, flags)
        if created and self.fsync:
            try:
                fsync_dir(self.path.parent)
            except BaseException:
                os.close(fd)
                raise
        self._fd, self._pid, self._end = fd, os.getpid(), -1
        return fd

    def append(
        self, kind: EventKind, gid: str, data: dict[str, Any], *, ts: str | None = None
    ) -> int:
        """Append one event and return its ``seq``. Raises OSError on I/O failure."""
        with self._lock:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                needs_newline = False
                if size != self._end:
                    self._last_seq, needs_newline = _scan_tail(fd, size)
                seq = self._last_seq + 1
                line = encode_event(seq, ts or utc_now_iso(), kind, gid, data)
                if needs_newline:
                    line = b"\n" + line
                self._end = -1  # unknown until the write and fsync succeed
                written = os.write(fd, line)
                if written != len(line):
                    raise ShortWriteError(
                        f"{self.path}: wrote {written} of {len(line)} bytes of event seq {seq}"
                    )
                if self.fsync:
                    os.fsync(fd)
                self._end = size + written
                self._last_seq = seq
                return seq
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the descriptor (the next append reopens the file)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                with contextlib.suppress(OSError):
                    os.close(self._fd)
            self._fd = None
