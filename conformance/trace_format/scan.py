"""Lenient, line-by-line reading of bundles, for judging what the reducer rejects.

The reducer stops at the first event it cannot explain, which is right for replay
but leaves a judge blind to everything after it. The checks of the trace area
attribute each fault to one invariant, so most of them look at the lines themselves:
a duplicate ``thread_started`` is found by counting, a gap in ``seq`` by comparing
each line with its number, a missing payload file by looking for it, whatever else is
wrong with the trace. :func:`scan_bundle` decodes each line on its own with the
strict per-line decoder and keeps, for every line, the JSON object, the event (when
the line decodes) and the decoding error (when it does not).

The checks look after every step of a state machine, and a trace only grows, so both
the scan and the replay are incremental: a bundle whose trace grew is read from where
the last scan stopped, and replayed from where the last replay stopped (as long as no
payload file it verified has changed since); nothing is ever read twice otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import MANIFEST_NAME, TRACE_NAME, Manifest, read_manifest
from .errors import BundleError, ManifestError, TraceError, TraceFormatError
from .events import PAYLOADS_DIR, EventType, RolloutStarted, TraceEvent, decode_line
from .reducer import Reducer, TraceGraph


@dataclass(frozen=True)
class RawLine:
    """One line of ``trace.jsonl`` (numbered from 1), as far as it could be read."""

    number: int
    #: The JSON object on the line; ``None`` if the line is not one.
    obj: dict[str, Any] | None
    #: The decoded event; ``None`` if the line does not decode under schema version 1.
    event: TraceEvent | None
    #: Why it does not decode (what the strict decoder raised).
    error: TraceError | None = None

    @property
    def refers(self) -> bool:
        """Whether the line names payload files."""
        return self.obj is not None and bool(payload_refs(self.obj))


#: ``payload file name -> (size, mtime)``: what a replay verified.
PayloadState = dict[str, tuple[int, int]]


@dataclass
class _Replayed:
    """A reducer that explained every line of a scan, and the payload files it saw."""

    reducer: Reducer
    payloads: PayloadState


@dataclass
class BundleScan:
    """Everything readable in one bundle directory. Treat it as read-only."""

    path: Path
    manifest: Manifest | None
    #: Why ``manifest.json`` could not be read, if it could not.
    manifest_error: str | None
    has_trace: bool
    lines: list[RawLine] = field(default_factory=list)
    #: The file states this scan was read from.
    _key: tuple[object, ...] = ()
    #: The trace's bytes as read, to tell an append from a rewrite.
    _data: bytes = b""
    #: The last :func:`replay` outcome and the payload state it saw.
    _outcome: tuple[PayloadState, TraceGraph | TraceError] | None = None
    #: A reducer that explained every line, to continue from when the trace grows.
    _replayed: _Replayed | None = None
    #: The scan this one extends (its lines are a prefix of this one's).
    _base: BundleScan | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def events(self) -> list[TraceEvent]:
        """The lines that decode, in file order."""
        return [line.event for line in self.lines if line.event is not None]

    def of_type(self, event_type: EventType) -> list[TraceEvent]:
        return [event for event in self.events if event.type is event_type]

    @property
    def root_thread_id(self) -> str | None:
        """The root thread the manifest names, else the one ``rollout_started`` names."""
        if self.manifest is not None:
            return self.manifest.root_thread_id
        for event in self.of_type(EventType.ROLLOUT_STARTED):
            assert isinstance(event.payload, RolloutStarted)
            return event.payload.root_thread_id
        return None

    def started_threads(self) -> list[str]:
        """The thread id of every ``thread_started``, duplicates included."""
        return [event.thread_id for event in self.of_type(EventType.THREAD_STARTED)
                if event.thread_id is not None]


def bundle_dirs(trace_dir: Path) -> list[Path]:
    """The directories of a trace directory, each a bundle or meant to be one (hidden
    names are skipped: they are a writer's temporary files)."""
    return sorted(Path(e.path) for e in _entries(trace_dir) if e.is_dir())


def stray_entries(trace_dir: Path) -> list[Path]:
    """What else a trace directory holds (files, links): never part of a bundle."""
    return sorted(Path(e.path) for e in _entries(trace_dir) if not e.is_dir())


def _entries(trace_dir: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(trace_dir) as entries:
            return [e for e in entries if not e.name.startswith(".")]
    except OSError:
        return []


#: The latest scan of each bundle looked at recently.
_CACHE: dict[Path, BundleScan] = {}
_CACHE_SIZE = 64


def scan_bundle(path: Path) -> BundleScan:
    """Read the manifest and every line of one bundle, never raising for its content.

    A bundle whose ``manifest.json`` and ``trace.jsonl`` are unchanged since the last
    scan (same inode, size and modification time) is not read again, and a trace that
    only grew is read from where the last scan stopped.
    """
    manifest_state = _state(path / MANIFEST_NAME)
    trace_state = _state(path / TRACE_NAME)
    key = (manifest_state, trace_state)
    last = _CACHE.get(path)
    if last is not None and last._key == key:
        return last
    scan = _extend(path, last, key) if last is not None else None
    if scan is None:
        scan = _scan(path, key)
    _CACHE.pop(path, None)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[path] = scan
    return scan


def _state(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _scan(path: Path, key: tuple[object, ...]) -> BundleScan:
    manifest: Manifest | None = None
    manifest_error: str | None = None
    try:
        manifest = read_manifest(path)
    except TraceError as error:
        manifest_error = str(error)
    try:
        data: bytes | None = (path / TRACE_NAME).read_bytes()
    except OSError:
        data = None
    scan = BundleScan(path, manifest, manifest_error, data is not None, _key=key)
    if data is not None:
        scan.lines = list(_read_lines(data, 1))
        scan._data = data
    return scan


def _extend(path: Path, last: BundleScan, key: tuple[object, ...]) -> BundleScan | None:
    """``last`` plus the lines appended since, or ``None`` if the trace did not just
    grow after a complete line (replaced, rewritten, truncated, or its last line was
    torn) or the manifest changed. The file is read whole (reading is cheap); only
    the lines after the unchanged prefix are decoded again."""
    if key[0] != last._key[0] or not last.has_trace or (
            last._data and not last._data.endswith(b"\n")):
        return None
    try:
        data = (path / TRACE_NAME).read_bytes()
    except OSError:
        return None
    if len(data) <= len(last._data) or not data.startswith(last._data):
        return None
    return BundleScan(path, last.manifest, last.manifest_error, True,
                      [*last.lines, *_read_lines(data[len(last._data):], len(last.lines) + 1)],
                      _key=key, _data=data,
                      _base=last if last._replayed is not None else None)


def scan_trace_dir(trace_dir: Path) -> list[BundleScan]:
    """Every directory under ``trace_dir``, scanned."""
    return [scan_bundle(path) for path in bundle_dirs(trace_dir)]


def replay(scan: BundleScan) -> TraceGraph:
    """Reduce the scanned bundle, as :func:`~.reducer.reduce_bundle` would, from the
    lines already decoded; raises the same :class:`~.errors.TraceError`.

    The outcome is kept on the scan while the payload files stay as they were; a scan
    that extends an explained one continues from its reducer, unless a payload file
    that reducer verified has changed or gone.
    """
    payloads = (_payload_state(scan.path) if any(line.refers for line in scan.lines)
                else {})
    if scan._outcome is not None and scan._outcome[0] == payloads:
        outcome = scan._outcome[1]
    else:
        try:
            outcome = _replay(scan, payloads)
        except TraceError as error:
            outcome = error
        scan._outcome = (payloads, outcome)
    if isinstance(outcome, TraceError):
        raise outcome
    return outcome


def _payload_state(bundle: Path) -> PayloadState:
    try:
        entries = list(os.scandir(bundle / PAYLOADS_DIR))
    except OSError:
        return {}
    states: PayloadState = {}
    for entry in entries:
        try:
            stat = entry.stat()
        except OSError:
            continue
        states[entry.name] = (stat.st_size, stat.st_mtime_ns)
    return states


def _replay(scan: BundleScan, payloads: PayloadState) -> TraceGraph:
    if scan.manifest is None:
        raise ManifestError(scan.manifest_error or f"{scan.path} has no manifest")
    if not scan.has_trace:
        raise BundleError(f"{scan.path / TRACE_NAME} is missing")
    base = scan._base
    start = 0
    reducer: Reducer | None = None
    if base is not None and base._replayed is not None and all(
            payloads.get(name) == state for name, state in base._replayed.payloads.items()):
        reducer, start = base._replayed.reducer, len(base.lines)
        base._replayed = None  # handed over: it is about to move past the base's lines
    if reducer is None:
        reducer = Reducer(bundle_dir=scan.path, manifest=scan.manifest)
    for line in scan.lines[start:]:
        if line.event is None:
            assert line.error is not None
            raise line.error
        reducer.apply(line.event)
    scan._replayed = _Replayed(reducer, payloads)
    scan._base = None
    return reducer.graph()


def payload_refs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``{"payload_ref", "size_bytes", "sha256"}`` bodies of a raw event's payload."""
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return []
    return [value for value in payload.values()
            if isinstance(value, dict) and "payload_ref" in value]


def _read_lines(data: bytes, first: int) -> Iterator[RawLine]:
    """The lines of ``data``, numbered from ``first``."""
    chunks = data.split(b"\n")
    torn = chunks.pop()  # after the last newline: empty unless the last line is torn
    if torn:
        chunks.append(torn)
    for offset, raw in enumerate(chunks):
        number = first + offset
        obj: dict[str, Any] | None = None
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            obj = parsed
        if offset == len(chunks) - 1 and torn:
            yield RawLine(number, obj, None, TraceFormatError(
                "truncated final line", expected="a line ending in a newline",
                found=f"{len(raw)} bytes without one", line=number))
            continue
        try:
            yield RawLine(number, obj, decode_line(raw, line=number))
        except TraceError as error:
            yield RawLine(number, obj, None, error)


__all__ = [
    "BundleScan",
    "PayloadState",
    "RawLine",
    "bundle_dirs",
    "payload_refs",
    "replay",
    "scan_bundle",
    "scan_trace_dir",
    "stray_entries",
]
