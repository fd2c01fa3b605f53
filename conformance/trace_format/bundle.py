"""On-disk layout of a rollout-trace bundle, shared by the recorder and the reducer.

One bundle directory per root rollout::

    <bundle>/manifest.json        schema version, rollout id, root thread id, created time
    <bundle>/trace.jsonl          one event per line, append-only, seq contiguous from 1
    <bundle>/payloads/<seq>-<n>.json   large bodies, named by the event that refers to them

Spawned child threads append to their root's bundle, so one directory holds the whole
tree of agents and one file orders every event in it.

Durability rules the recorder follows and this module provides the pieces for: files
that are replaced (the manifest, payload files) are written to a temporary name,
synced, renamed into place and their directory synced, so a reader sees the old
content or the new, never a mix; ``trace.jsonl`` is only ever appended to.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .errors import (
    BundleError,
    CorruptPayloadError,
    ManifestError,
    MissingPayloadError,
    TraceFormatError,
    UnsupportedSchemaVersionError,
)
from .events import SCHEMA_VERSION, BodyRef, InlineBody, JsonValue, TraceEvent, decode_line

MANIFEST_NAME: Final = "manifest.json"
TRACE_NAME: Final = "trace.jsonl"

_MANIFEST_KEYS: Final = ("schema_version", "rollout_id", "root_thread_id", "created_unix_ms")


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """What a reader needs before the first line: which rollout and root this bundle is."""

    rollout_id: str
    root_thread_id: str
    created_unix_ms: int
    schema_version: int = SCHEMA_VERSION

    def to_json_bytes(self) -> bytes:
        """Pretty, stable JSON (the manifest is small and meant to be read by people)."""
        data = {key: getattr(self, key) for key in _MANIFEST_KEYS}
        return (json.dumps(data, indent=2) + "\n").encode()


def read_manifest(bundle_dir: Path) -> Manifest:
    """Load and validate ``manifest.json``.

    Raises :class:`~.errors.ManifestError` if it is missing or malformed and
    :class:`~.errors.UnsupportedSchemaVersionError` for an unknown version.
    """
    path = bundle_dir / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not bundle_dir.is_dir():
            raise ManifestError(f"{bundle_dir} is not a bundle directory") from None
        raise ManifestError(f"{path} is missing") from None
    except OSError as err:
        raise ManifestError(f"cannot read {path}: {err.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise ManifestError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a JSON object, found {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UnsupportedSchemaVersionError(
            f"{path}: schema_version {version!r} is not supported (this reader knows"
            f" {SCHEMA_VERSION})"
        )
    if set(data) != set(_MANIFEST_KEYS):
        raise ManifestError(
            f"{path}: expected keys {', '.join(_MANIFEST_KEYS)}, found {', '.join(sorted(data))}"
        )
    for key in ("rollout_id", "root_thread_id"):
        if not isinstance(data[key], str) or not data[key]:
            raise ManifestError(f"{path}: {key}: expected a non-empty string, found {data[key]!r}")
    created = data["created_unix_ms"]
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise ManifestError(
            f"{path}: created_unix_ms: expected a non-negative integer, found {created!r}"
        )
    return Manifest(
        rollout_id=data["rollout_id"],
        root_thread_id=data["root_thread_id"],
        created_unix_ms=created,
    )


def iter_trace_events(bundle_dir: Path) -> Iterator[TraceEvent]:
    """Decode ``trace.jsonl`` line by line, numbering lines from 1.

    A final line without its newline is an error rather than being skipped: every
    line is written with one ``write`` call, so a torn line means the file was damaged
    or is being written by something that does not follow the protocol.
    """
    path = bundle_dir / TRACE_NAME
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise BundleError(f"{path} is missing") from None
    except OSError as err:
        raise BundleError(f"cannot read {path}: {err.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                raise TraceFormatError(
                    "truncated final line",
                    expected="a line ending in a newline",
                    found=f"{len(raw)} bytes without one",
                    line=number,
                )
            body = raw[:-1]
            if not body.strip():
                raise TraceFormatError(
                    "empty line", expected="one JSON object per line", found="nothing", line=number
                )
            yield decode_line(body, line=number)


def verify_payload(
    bundle_dir: Path, ref: BodyRef, *, seq: int | None = None, event: str | None = None
) -> bytes:
    """Return the payload file's bytes after checking they are the ones referenced."""
    path = bundle_dir / ref.path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingPayloadError(
            f"payload file {ref.path} does not exist", seq=seq, event=event
        ) from None
    except OSError as err:
        raise MissingPayloadError(
            f"payload file {ref.path} cannot be read: {err.strerror}", seq=seq, event=event
        ) from None
    if len(data) != ref.size_bytes or hashlib.sha256(data).hexdigest() != ref.sha256:
        raise CorruptPayloadError(
            f"payload file {ref.path} has {len(data)} bytes / sha256"
            f" {hashlib.sha256(data).hexdigest()[:12]}..., the event expects {ref.size_bytes}"
            f" bytes / sha256 {ref.sha256[:12]}...",
            seq=seq,
            event=event,
        )
    return data


def load_body(bundle_dir: Path, body: InlineBody | BodyRef) -> JsonValue:
    """The JSON value of a body, reading (and verifying) its payload file if it has one."""
    if isinstance(body, InlineBody):
        return body.value
    data = verify_payload(bundle_dir, body)
    value: JsonValue = json.loads(data)
    return value


def fsync_dir(path: Path) -> None:
    """Sync a directory so a rename or a new file in it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see either no file or all of it.

    The temporary name starts with a dot and lives in the same directory, so the
    rename is atomic and a crash leaves at most a stray hidden file.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


__all__ = [
    "MANIFEST_NAME",
    "TRACE_NAME",
    "Manifest",
    "fsync_dir",
    "iter_trace_events",
    "load_body",
    "read_manifest",
    "verify_payload",
    "write_file_atomic",
]
