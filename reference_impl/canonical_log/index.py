"""``index.json``: the map from backend session key to global session id.

The index is the only shared, mutable file of the store, so it is where concurrent
processes (several editors, several bridge processes, several sub-agents) meet. The
rules, each one closing a way the original design lost data:

* **No lost mappings under concurrency.** Adding a key takes an exclusive
  ``fcntl.flock`` on a separate lock file (``index.lock``; locking ``index.json``
  itself would not work, since it is replaced by rename), re-reads the index *under
  the lock*, adds the key only if still absent, and writes the whole map back before
  releasing the lock. A read-modify-write without the lock or without the re-read
  lets two processes each drop the other's key.
  (``fsync=False`` skips the fsyncs below, never the lock or the atomic rename.)
* **Never half-written.** The new index goes to a unique temporary file in the same
  directory (``.index.json.tmp-<pid>-<token>``), is fsynced, moved over
  ``index.json`` with ``os.replace`` and the directory is fsynced. Readers therefore
  never need the lock: they see the old or the new file, never a mix.
* **Corruption is never papered over.** An ``index.json`` that is not UTF-8 JSON, not
  an object, or holds anything but valid ``<backend>:<id>`` keys mapped to distinct
  valid global ids, is renamed aside to ``index.json.corrupt-<UTC time>-<token>``
  (kept for inspection, never overwritten) and the index is rebuilt from the
  ``sessions/*/state.json`` snapshots, with a :class:`CorruptIndexWarning`. A missing
  ``index.json`` is rebuilt the same way (without a warning), so deleting it cannot
  make a known key get a second global id.
* **Stable ids.** A key's global id is chosen once (``uuid4().hex``) and every later
  lookup, from any process or store object, returns it. Different keys always get
  different ids.

Lock-free lookups (:meth:`IndexStore.lookup`) never repair anything; only a writer
holding the lock renames a corrupt file, so two processes cannot both "repair" it.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import json
import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from reference_impl.canonical_log._fsutil import (
    FILE_MODE,
    ensure_dir,
    fsync_dir,
    random_token,
    replace_file,
    utc_now_compact,
)
from reference_impl.canonical_log.errors import (
    CorruptIndexError,
    CorruptIndexWarning,
    CorruptStateError,
    InvalidNameError,
)
from reference_impl.canonical_log.layout import (
    Layout,
    is_gid,
    parse_session_key,
    validate_gid,
)
from reference_impl.canonical_log.state import SessionState, read_state


def parse_index(raw: bytes) -> dict[str, str]:
    """Decode and validate the bytes of ``index.json``; raise :class:`CorruptIndexError`."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptIndexError(f"not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise CorruptIndexError(f"expected a JSON object, got {type(obj).__name__}")
    seen: dict[str, str] = {}
    mapping: dict[str, str] = {}
    for key, gid in obj.items():
        try:
            parse_session_key(key)
            validate_gid(gid)
        except (InvalidNameError, TypeError) as exc:
            raise CorruptIndexError(f"entry {key!r}: {exc}") from exc
        if gid in seen:
            raise CorruptIndexError(
                f"global id {gid} is mapped from both {seen[gid]!r} and {key!r}"
            )
        seen[gid] = key
        mapping[key] = gid
    return mapping


def encode_index(mapping: dict[str, str]) -> bytes:
    """The on-disk form of the index: sorted, indented JSON with a trailing newline.

    The bytes of ``json.dumps(mapping, indent=2, sort_keys=True)``, built from the C
    string encoder: with ``indent`` json falls back to its pure-Python encoder, which
    cost 15 ms per new mapping at 10,000 sessions (the index is rewritten whole on
    every acknowledgement, so that readers always find a complete map).
    """
    return _SortedLines(mapping).encoded


_encode_string = json.encoder.encode_basestring_ascii


class _SortedLines:
    """The lines of an encoded index in key order, so that adding one mapping costs
    an insertion and a join rather than encoding every entry again."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.keys = sorted(mapping)
        self.lines = [self._line(k, mapping[k]) for k in self.keys]
        self.encoded = self._join()

    @staticmethod
    def _line(key: str, gid: str) -> bytes:
        # ASCII by construction (non-ASCII is escaped), so encoding cannot fail.
        return f"{_encode_string(key)}: {_encode_string(gid)}".encode("ascii")

    def _join(self) -> bytes:
        if not self.lines:
            return b"{}\n"
        return b"{\n  " + b",\n  ".join(self.lines) + b"\n}\n"

    def add(self, key: str, gid: str) -> bytes:
        """The encoding with one more mapping: the new line spliced into the bytes
        (one copy of them) rather than every line joined again."""
        at = bisect.bisect_left(self.keys, key)
        line = self._line(key, gid)
        old, lines = self.encoded, self.lines
        view = memoryview(old)  # slices that are not copies: the join copies once
        if not lines:
            encoded = b"{\n  " + line + b"\n}\n"
        elif at == len(lines):  # last: before the closing "\n}\n"
            encoded = b"".join((view[:-3], b",\n  ", line, view[-3:]))
        else:
            # The line it goes before starts after "{\n  " or after ",\n  ", which
            # occurs only between lines (a JSON string holds no raw newline).
            start = 4 if at == 0 else old.index(b",\n  " + lines[at]) + 4
            encoded = b"".join((view[:start], line, b",\n  ", view[start:]))
        self.keys.insert(at, key)
        lines.insert(at, line)
        self.encoded = encoded
        return encoded


def scan_states(layout: Layout) -> list[SessionState]:
    """Every readable ``sessions/<gid>/state.json``, sorted by (created, gid).

    Entries that are not gid-named directories, or whose state is missing or corrupt,
    are skipped: this is a recovery scan and must make the best of what is there.
    """
    try:
        names = os.listdir(layout.sessions_dir)
    except FileNotFoundError:
        return []
    states: list[SessionState] = []
    for name in names:
        if not is_gid(name):
            continue
        try:
            states.append(read_state(layout, name))
        except (OSError, CorruptStateError):
            continue
    states.sort(key=lambda s: (s.created, s.gid))
    return states


def rebuild_from_states(layout: Layout) -> dict[str, str]:
    """Reconstruct the index from the state snapshots.

    If two snapshots claim the same key (possible only in stores written by a racy
    implementation), the earliest created one wins, ties broken by gid, so every
    rebuild picks the same id.
    """
    mapping: dict[str, str] = {}
    for state in scan_states(layout):
        mapping.setdefault(state.key, state.gid)
    return mapping


@dataclass(frozen=True)
class IndexRepair:
    """What happened when a corrupt ``index.json`` was set aside."""

    reason: str
    moved_to: str
    recovered: int


class IndexStore:
    """Reads and extends ``index.json`` of one store, safely across processes."""

    def __init__(self, layout: Layout, *, fsync: bool = True) -> None:
        self.layout = layout
        self.fsync = fsync
        # The last bytes parsed and their mapping: validating a big index on every
        # lookup is the dominant cost of open_session, and it rarely changes.
        self._cache: tuple[bytes, dict[str, str]] | None = None
        # The encoded lines of what this store last wrote (``encoded`` is its bytes).
        self._lines: _SortedLines | None = None
        # The global ids of one mapping (``_taken_of`` is that mapping), kept up to date
        # as keys are added, so a new id is checked against the taken ones in O(1).
        self._taken: set[str] = set()
        self._taken_of: dict[str, str] | None = None

    def _parse(self, raw: bytes) -> dict[str, str]:
        return dict(self._parsed(raw))

    def _parsed(self, raw: bytes) -> dict[str, str]:
        """The mapping ``raw`` encodes, validated once per distinct bytes; the cached
        dict itself, which callers must not change (:meth:`_parse` copies it)."""
        cache = self._cache
        if cache is not None and cache[0] == raw:
            return cache[1]
        mapping = parse_index(raw)
        self._cache = (raw, mapping)
        return mapping

    # -- reading -------------------------------------------------------------------

    def _read_raw(self) -> bytes | None:
        try:
            return self.layout.index_path.read_bytes()
        except FileNotFoundError:
            return None

    def lookup(self, key: str) -> str | None:
        """The global id of ``key``, or None if absent. Lock-free; never repairs.

        A missing or corrupt index also yields None; the next writer repairs it. A key
        this store has already seen mapped is answered without reading the file: a
        key's global id never changes once acknowledged (the index only grows, and a
        rebuild restores the same ids from ``state.json``), so only an absent key needs
        a fresh look. That keeps a lookup's cost independent of the store's size.
        """
        cache = self._cache
        if cache is not None:
            known = cache[1].get(key)
            if known is not None:
                return known
        raw = self._read_raw()
        if raw is None:
            return None
        try:
            return self._parsed(raw).get(key)
        except CorruptIndexError:
            return None

    def snapshot(self) -> dict[str, str]:
        """The current mapping, read-only.

        If ``index.json`` is missing or corrupt, the mapping is rebuilt in memory from
        the state snapshots (nothing on disk changes; a corrupt file is reported with a
        :class:`CorruptIndexWarning`).
        """
        raw = self._read_raw()
        if raw is None:
            return rebuild_from_states(self.layout)
        try:
            return self._parse(raw)
        except CorruptIndexError as exc:
            warnings.warn(
                f"{self.layout.index_path} is corrupt ({exc}); using a mapping rebuilt "
                "from sessions/*/state.json (the file is left as it is until the next write)",
                CorruptIndexWarning,
                stacklevel=2,
            )
            return rebuild_from_states(self.layout)

    # -- writing -------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive cross-process index lock (``index.lock``)."""
        ensure_dir(self.layout.home)
        fd = os.open(self.layout.index_lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _load_locked(
        self,
    ) -> tuple[dict[str, str], bool, IndexRepair | None, bytes | None]:
        """Load under the lock: ``(mapping, needs_write, repair, raw)``; repairs
        corruption (``raw`` is the file's bytes, when they were parsed as they are)."""
        raw = self._read_raw()
        if raw is None:
            mapping = rebuild_from_states(self.layout)
            return mapping, bool(mapping), None, None
        try:
            # The cached mapping itself, not a copy of every entry: get_or_create adds
            # a new key to it only once the key is written (a lock-free lookup of
            # another thread reads it meanwhile).
            return self._parsed(raw), False, None, raw
        except CorruptIndexError as exc:
            aside = self.layout.home / (
                f"{self.layout.index_path.name}.corrupt-{utc_now_compact()}-{random_token()}"
            )
            os.rename(self.layout.index_path, aside)
            if self.fsync:
                fsync_dir(self.layout.home)
            mapping = rebuild_from_states(self.layout)
            return mapping, True, IndexRepair(str(exc), str(aside), len(mapping)), None

    def _taken_ids(self, mapping: dict[str, str]) -> set[str]:
        """The global ids ``mapping`` holds (built once per mapping, then kept)."""
        if self._taken_of is not mapping:
            self._taken = set(mapping.values())
            self._taken_of = mapping
        return self._taken

    def _encode(self, mapping: dict[str, str], added: tuple[str, str] | None,
                raw: bytes | None) -> bytes:
        """The bytes of ``mapping`` plus the ``added`` (key, gid): one line inserted
        into what this store last wrote when the file is still exactly that, else
        every line encoded afresh."""
        lines = self._lines
        if added is not None and raw is not None and lines is not None \
                and lines.encoded == raw:
            return lines.add(*added)
        if added is not None:
            mapping = {**mapping, added[0]: added[1]}
        self._lines = lines = _SortedLines(mapping)
        return lines.encoded

    def get_or_create(self, key: str) -> tuple[str, bool]:
        """The global id of ``key``, allocating and persisting one if needed.

        Returns ``(gid, created)``. When this returns, the mapping is durable. Safe to
        call concurrently from any number of threads and processes.
        """
        parse_session_key(key)
        cache = self._cache
        if cache is not None and key in cache[1]:
            return cache[1][key], False  # known: see lookup
        if cache is None:
            # Nothing read yet: an existing key is found without the lock.
            existing = self.lookup(key)
            if existing is not None:
                return existing, False
        # Otherwise the index is read once, under the lock: a key added by another
        # writer is found there, and an absent one is added.
        repair: IndexRepair | None = None
        with self.locked():
            mapping, needs_write, repair, raw = self._load_locked()
            gid = mapping.get(key)
            created = gid is None
            if gid is None:
                taken = self._taken_ids(mapping)
                gid = uuid.uuid4().hex
                while gid in taken or self.layout.session_dir(gid).exists():
                    gid = uuid.uuid4().hex
                needs_write = True
            if needs_write:
                try:
                    encoded = self._encode(mapping, (key, gid) if created else None, raw)
                    replace_file(self.layout.index_path, encoded, durable=self.fsync)
                except BaseException:
                    self._lines = None  # it may hold the line that was not written
                    raise
                if created:  # acknowledged: from now on this store knows it
                    mapping[key] = gid
                    self._taken_ids(mapping).add(gid)
                # What this store wrote is what it knows: the next lookup compares the
                # bytes on disk with these, and parses again only if another writer
                # (or anything else) changed the file since.
                self._cache = (encoded, mapping)
        if repair is not None:
            # Warn only once the repaired index is safely written: a warnings filter
            # set to "error" must not abort the repair half-way.
            warnings.warn(
                f"{self.layout.index_path} was corrupt ({repair.reason}); moved it to "
                f"{repair.moved_to} and rebuilt the index from {repair.recovered} "
                "sessions/*/state.json snapshot(s)",
                CorruptIndexWarning,
                stacklevel=2,
            )
        return gid, created
