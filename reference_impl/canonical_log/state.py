"""``sessions/<gid>/state.json``: the write-once metadata snapshot of one session.

A session's state (backend, backend session id, key, global id, cwd, creation time,
schema version) never changes after creation, so the file is written exactly once
and never rewritten: :func:`create_state` publishes it exclusively (complete content
under a temporary name, fsync, then ``os.link`` to the final name, which fails if the
name exists; ``O_CREAT|O_EXCL`` where hard links are unavailable). A check-then-write
would let two processes both "see no file" and the second would clobber the first;
with an exclusive create the loser gets ``EEXIST`` and reads the winner's file.

These snapshots are also the source of truth from which a corrupt ``index.json`` is
rebuilt, which is why reading validates every field and refuses a file whose gid does
not match its directory.

File format (UTF-8 JSON object)::

    {"schema_version": 1, "gid": "<32 hex>", "key": "codex:<id>", "backend": "codex",
     "backend_session_id": "<id>", "cwd": "/abs/path", "created": "2026-03-14T09:26:53.000000Z"}
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any

from reference_impl.canonical_log._fsutil import (
    create_file_exclusive,
    ensure_dir,
    fsync_dir,
    utc_now_iso,
)
from reference_impl.canonical_log.errors import CorruptStateError, InvalidNameError
from reference_impl.canonical_log.layout import (
    Layout,
    parse_session_key,
    session_key,
    validate_gid,
)

#: Version of the state.json format written by this module.
STATE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SessionState:
    """The metadata of one canonical session, as stored in ``state.json``."""

    gid: str
    backend: str
    backend_session_id: str
    cwd: str
    created: str
    schema_version: int = STATE_SCHEMA_VERSION

    @property
    def key(self) -> str:
        """The backend session key, ``<backend>:<backend session id>``."""
        return f"{self.backend}:{self.backend_session_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "gid": self.gid,
            "key": self.key,
            "backend": self.backend,
            "backend_session_id": self.backend_session_id,
            "cwd": self.cwd,
            "created": self.created,
        }

    @classmethod
    def new(cls, gid: str, backend: str, backend_session_id: str, cwd: str) -> SessionState:
        """A fresh state created now (validates every name)."""
        session_key(backend, backend_session_id)
        return cls(
            gid=validate_gid(gid),
            backend=backend,
            backend_session_id=backend_session_id,
            cwd=cwd,
            created=utc_now_iso(),
        )

    @classmethod
    def from_json(cls, obj: object, *, where: str = "state.json") -> SessionState:
        """Validate a decoded ``state.json``; raise :class:`CorruptStateError` if malformed."""
        if not isinstance(obj, dict):
            raise CorruptStateError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        version = obj.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CorruptStateError(f"{where}: schema_version must be an integer >= 1")
        fields: dict[str, str] = {}
        for name in ("gid", "key", "backend", "backend_session_id", "cwd", "created"):
            value = obj.get(name)
            if not isinstance(value, str):
                raise CorruptStateError(f"{where}: field {name!r} must be a string")
            fields[name] = value
        try:
            validate_gid(fields["gid"])
            backend, session_id = parse_session_key(fields["key"])
        except InvalidNameError as exc:
            raise CorruptStateError(f"{where}: {exc}") from exc
        if (backend, session_id) != (fields["backend"], fields["backend_session_id"]):
            raise CorruptStateError(f"{where}: key does not match backend and backend_session_id")
        created = fields["created"]
        try:
            if not created.endswith("Z"):
                raise ValueError(created)
            _dt.datetime.fromisoformat(created[:-1] + "+00:00")
        except ValueError as exc:
            raise CorruptStateError(
                f"{where}: created {created!r} is not an ISO-8601 UTC time ending in 'Z'"
            ) from exc
        return cls(
            gid=fields["gid"],
            backend=backend,
            backend_session_id=session_id,
            cwd=fields["cwd"],
            created=created,
            schema_version=version,
        )


def read_state(layout: Layout, gid: str) -> SessionState:
    """Read and validate ``sessions/<gid>/state.json``.

    Raises :class:`FileNotFoundError` if it does not exist, :class:`CorruptStateError`
    if it cannot be decoded, is malformed, or names another gid than its directory.
    """
    path = layout.state_path(gid)
    raw = path.read_bytes()
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptStateError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    state = SessionState.from_json(obj, where=str(path))
    if state.gid != gid:
        raise CorruptStateError(f"{path}: records gid {state.gid!r}, expected {gid!r}")
    return state


def create_state(
    layout: Layout, state: SessionState, *, fsync: bool = True
) -> tuple[SessionState, bool]:
    """Create ``state.json`` for ``state.gid`` unless one exists; never overwrite.

    With ``fsync`` (the default) the file and its directory entries are durable when
    this returns. Returns ``(state on disk, created)``. When the file already exists it is read and
    returned unchanged (``created`` is False); if it records a different session key
    than ``state`` a :class:`CorruptStateError` is raised rather than trusting either.
    """
    path = layout.state_path(state.gid)
    new_dir = not path.parent.is_dir()
    ensure_dir(path.parent)
    if new_dir and fsync:
        fsync_dir(path.parent.parent)  # make the new sessions/<gid> entry itself durable
    data = (json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n").encode("utf-8")
    try:
        create_file_exclusive(path, data, durable=fsync)
    except FileExistsError:
        existing = read_state(layout, state.gid)
        if existing.key != state.key:
            raise CorruptStateError(
                f"{path}: records session key {existing.key!r}, expected {state.key!r}"
            ) from None
        return existing, False
    return state, True
