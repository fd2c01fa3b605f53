"""Canonical-log append throughput next to a raw append of the same bytes.

Like is compared with like. The store fsyncs every append by default, so its
durable throughput is set against a raw ``os.write`` + ``os.fsync`` per line, and
its ``fsync=False`` throughput against a raw ``os.write`` per line. The raw writer
appends exactly the lines the store wrote in the same round (read back from its
file, so already encoded): only the store's own work differs.

Two store paths are measured: :class:`CanonicalLog` ``log_update`` (what an ACP
bridge calls: validates the ACP notification, summarizes it, resolves the session,
then appends) and the bare :class:`LogWriter` ``append`` beneath it (lock, tail
check, encode, one write, fsync). The target is set on the durable pair with the
facade, the strictest reading of "canonical appends". Every variant runs
``ROUNDS`` times, interleaved so disk conditions are shared, and the median round
counts. Files live in the system temporary directory (``TMPDIR``); its file system
is reported because it decides what an fsync costs.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import filesystem_of, median
from benchmarks.report import Section, Table, Target
from reference_impl.canonical_log import CanonicalLog, LogWriter, read_events

#: Events per round: fsync makes durable appends ~100x slower than page-cache ones.
EVENTS = {True: 1_000, False: 20_000}
ROUNDS = 3
RATIO_MIN = 0.5
TEXT = "Reading the repository layout before editing the orchestrator's session monitor. " * 2


def notifications(n: int) -> list[dict[str, Any]]:
    """``n`` realistic ``session/update`` agent message chunks, built before timing."""
    return [
        {"sessionId": "bench-session", "update": {
            "sessionUpdate": "agent_message_chunk",
            "content": {"type": "text", "text": f"{TEXT}(chunk {i})"},
            "messageId": f"m-{i // 20}",
        }}
        for i in range(n)
    ]


def facade_append(home: Path, items: Sequence[dict[str, Any]], fsync: bool) -> tuple[float, Path]:
    """Seconds to log ``items`` through ``CanonicalLog.log_update``, and the log file."""
    with CanonicalLog(home, fsync=fsync) as store:
        gid = store.open_session("codex", "bench-session", cwd=str(home))
        start = time.perf_counter()
        for item in items:
            store.log_update(gid, item)
        seconds = time.perf_counter() - start
        if store.failure_count:
            raise RuntimeError(f"canonical log recorded failures: {store.failures[:3]}")
        assert store.layout is not None
        return seconds, store.layout.log_path(gid)


def writer_append(path: Path, events: Sequence[tuple[Any, str, dict[str, Any]]],
                  fsync: bool) -> float:
    """Seconds to append ``events`` (kind, gid, data) with a bare ``LogWriter``."""
    writer = LogWriter(path, fsync=fsync)
    try:
        start = time.perf_counter()
        for kind, gid, data in events:
            writer.append(kind, gid, data)
        return time.perf_counter() - start
    finally:
        writer.close()


def raw_append(path: Path, lines: Sequence[bytes], fsync: bool) -> float:
    """Seconds to append pre-encoded ``lines`` with one ``os.write`` (+ ``os.fsync``) each."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        start = time.perf_counter()
        if fsync:
            for line in lines:
                os.write(fd, line)
                os.fsync(fd)
        else:
            for line in lines:
                os.write(fd, line)
        return time.perf_counter() - start
    finally:
        os.close(fd)


@dataclass
class Variant:
    label: str
    events: int
    seconds: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Events per second of the median round."""
        return self.events / median(self.seconds) if self.seconds else 0.0


def measure_mode(scratch: Path, fsync: bool) -> dict[str, Variant]:
    n = EVENTS[fsync]
    items = notifications(n)
    variants = {k: Variant(label, n) for k, label in (
        ("facade", "CanonicalLog.log_update"), ("writer", "LogWriter.append"),
        ("raw", "raw os.write" + (" + os.fsync" if fsync else "")))}
    for r in range(ROUNDS):
        round_dir = scratch / f"{'durable' if fsync else 'cache'}-{r}"
        round_dir.mkdir()
        seconds, log = facade_append(round_dir / "acp", items, fsync)
        variants["facade"].seconds.append(seconds)
        lines = log.read_bytes().splitlines(keepends=True)
        if len(lines) != n:
            raise RuntimeError(f"the store wrote {len(lines)} lines for {n} events")
        events = [(e.kind, e.gid, e.data) for e in read_events(log).events]
        variants["writer"].seconds.append(writer_append(round_dir / "writer.jsonl", events,
                                                        fsync))
        variants["raw"].seconds.append(raw_append(round_dir / "raw.jsonl", lines, fsync))
    return variants


def run() -> Section:
    section = Section("log", "Canonical-log append throughput vs raw append")
    with tempfile.TemporaryDirectory(prefix="bench-log-") as tmp:
        scratch = Path(tmp)
        fs = filesystem_of(scratch)
        # A short warm-up: imports the ACP schema and builds its validators.
        facade_append(scratch / "warm-up", notifications(50), False)
        modes = {True: measure_mode(scratch, True), False: measure_mode(scratch, False)}

    rows: list[tuple[str, ...]] = []
    ratios: dict[tuple[bool, str], float] = {}
    for fsync, variants in modes.items():
        raw = variants["raw"].rate
        for key, v in variants.items():
            ratio = v.rate / raw if raw else 0.0
            ratios[fsync, key] = ratio
            rows.append((
                "durable (fsync per append)" if fsync else "page cache (fsync off)",
                v.label, f"{v.events:,}", f"{median(v.seconds):.3f}",
                f"{v.rate:,.0f}", f"{1e6 / v.rate:.1f}" if v.rate else "-",
                "1.00 (baseline)" if key == "raw" else f"{ratio:.2f}",
            ))
    section.tables.append(Table(
        f"Appends of the same JSON lines, median of {ROUNDS} rounds, scratch on {fs}",
        ("mode", "writer", "events", "median s", "events/s", "us/event", "vs raw"),
        tuple(rows),
    ))
    section.targets.append(Target(
        "durable CanonicalLog append / raw write+fsync", ratios[True, "facade"], RATIO_MIN,
        "x", "min"))
    section.notes.append(
        "like with like: the target compares the store's default (fsync per append) with "
        "a raw os.write + os.fsync per line of the same bytes.")
    section.notes.append(
        f"fsync off, the store runs at {ratios[False, 'facade']:.2f}x (LogWriter alone "
        f"{ratios[False, 'writer']:.2f}x) of a bare os.write: no target, since a raw write "
        "costs ~1 us and the store's per-event Python work (ACP validation, summary, "
        "flock, fstat, JSON encoding) is then all there is to measure.")
    section.data = {
        "filesystem": fs,
        "rounds": ROUNDS,
        "modes": {
            ("durable" if fsync else "page_cache"): {
                key: {"label": v.label, "events": v.events, "seconds": v.seconds,
                      "events_per_second": v.rate, "ratio_to_raw": ratios[fsync, key]}
                for key, v in variants.items()
            }
            for fsync, variants in modes.items()
        },
    }
    return section
