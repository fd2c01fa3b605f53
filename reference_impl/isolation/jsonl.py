"""Appending records to the orchestrator's own files: one ``write`` per line.

Each record becomes one JSON line written with a single ``os.write`` on an
``O_APPEND`` descriptor, so concurrent writers never interleave inside a line and a
crash leaves at most a missing line, never half of one. Errors propagate: callers
decide whether a lost line matters (the audit log: best effort; a session file:
fall back, see :mod:`reference_impl.persistence.store`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def iso_utc(timestamp: float) -> str:
    """``2026-03-14T09:26:53.000Z``, the timestamp form of the agents' own files."""
    moment = _dt.datetime.fromtimestamp(timestamp, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def append_line(path: Path, line: str) -> None:
    """Append ``line`` (a newline is added) to ``path``, creating parents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
    finally:
        os.close(fd)


def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one compact JSON line."""
    append_line(path, json.dumps(record, separators=(",", ":"), sort_keys=False))
