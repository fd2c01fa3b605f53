"""Append-only writer for one rollout's trace bundle.

A :class:`TraceRecorder` owns one bundle directory. The root thread gets a
:class:`ThreadHandle` from :meth:`TraceRecorder.start_rollout`; every thread it spawns
gets a handle bound to the same recorder, so a whole tree of agents appends to one
``trace.jsonl`` with one contiguous ``seq``.

The recorder never writes what the reducer would reject. It keeps a
:class:`~.reducer.Reducer` as its in-memory state, validates each candidate event
with :meth:`~.reducer.Reducer.prepare`, writes payload files (synced) and then the
event line (one ``os.write`` on an ``O_APPEND`` descriptor), and only then commits the
state. A refused call raises :class:`~.errors.RecordingRefusedError` and writes
nothing; a write that fails part-way raises :class:`~.errors.RecorderBrokenError` and
stops the recorder.

Behaviour that encodes the Codex review of the multi-agent trace PR:

* Only the root thread's end emits ``rollout_ended``. Ending a child ends only that
  child's run; the rollout keeps going. Ending the root first cancels every thread
  still running (deepest first) so that nothing is left running after
  ``rollout_ended``, after which nothing may be appended.
* A child re-attached under the same thread id is recorded with
  :meth:`TraceRecorder.resume_agent` as ``thread_resumed``, never as a second
  ``thread_started``; :meth:`TraceRecorder.spawn_agent` refuses a known thread id. The
  choice is made from the durable state, not from what the caller believes.
* A child->parent result edge is recorded only after delivery succeeded:
  :meth:`TraceRecorder.deliver_result` takes the delivery as a callable, calls it,
  and appends the edge only if it returned; if it raised, the exception propagates and
  nothing is written.

Ending a turn or a thread that still has open tool calls or an open turn writes their
terminal events first (status ``cancelled``), so the reducer never has to infer an
end that was not recorded.

Within one process the recorder is thread-safe. Two processes must not record into
the same bundle: ``O_APPEND`` keeps lines whole, but ``seq`` is allocated in memory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from conformance.trace_format.bundle import (
    MANIFEST_NAME,
    TRACE_NAME,
    Manifest,
    fsync_dir,
    iter_trace_events,
    read_manifest,
    write_file_atomic,
)
from conformance.trace_format.errors import RecorderBrokenError, RecordingRefusedError, TraceError
from conformance.trace_format.events import (
    DEFAULT_INLINE_LIMIT_BYTES,
    PAYLOADS_DIR,
    ROOT_AGENT_PATH,
    AgentClosed,
    AgentMessageSent,
    AgentResultDelivered,
    AgentSpawned,
    Body,
    BodyRef,
    InlineBody,
    JsonValue,
    Payload,
    RolloutEnded,
    RolloutStarted,
    RunStatus,
    ThreadEnded,
    ThreadOrigin,
    ThreadResumed,
    ThreadStarted,
    ToolCallEnded,
    ToolCallStarted,
    TraceEvent,
    TurnEnded,
    TurnStarted,
    child_agent_path,
    encode_body_value,
    encode_line,
    payload_bodies,
    payload_ref_path,
    replace_bodies,
)
from conformance.trace_format.reducer import Commit, Reducer, TraceGraph, reduce_bundle

Clock = Callable[[], float]
"""Returns the current time in seconds since the Unix epoch, like :func:`time.time`."""


@dataclass(frozen=True, slots=True)
class ThreadHandle:
    """A thread's capability to record into its rollout's bundle.

    Handles are cheap and carry no state of their own: whether the thread is running,
    which turn is open and so on is read from the recorder's replayed state.
    """

    recorder: TraceRecorder
    thread_id: str

    @property
    def bundle_dir(self) -> Path:
        """The bundle this thread records into (its root rollout's)."""
        return self.recorder.bundle_dir

    @property
    def is_root(self) -> bool:
        """Whether this is the rollout's root thread."""
        return self.thread_id == self.recorder.root_thread_id


class TraceRecorder:
    """Writes one rollout bundle; see the module docstring for the guarantees.

    ``clock`` supplies wall time (seconds, like :func:`time.time`) so tests can freeze
    it. ``inline_limit_bytes`` is the largest body kept in the event line.
    ``fsync=False`` skips syncing (for tests and throwaway traces); the write order
    (payload files before the line naming them) is the same either way.
    """

    def __init__(
        self,
        bundle_dir: str | os.PathLike[str],
        *,
        clock: Clock = time.time,
        inline_limit_bytes: int = DEFAULT_INLINE_LIMIT_BYTES,
        fsync: bool = True,
    ) -> None:
        if inline_limit_bytes < 0:
            raise ValueError("inline_limit_bytes must be >= 0")
        self._bundle_dir = Path(bundle_dir)
        self._clock = clock
        self._inline_limit = inline_limit_bytes
        self._durable = fsync
        self._lock = threading.RLock()
        self._state: Reducer | None = None
        self._manifest: Manifest | None = None
        self._fd: int | None = None
        self._broken: str | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def bundle_dir(self) -> Path:
        """The bundle directory this recorder appends to."""
        return self._bundle_dir

    @property
    def rollout_id(self) -> str | None:
        """The rollout id, once started."""
        return None if self._state is None else self._state.rollout_id

    @property
    def root_thread_id(self) -> str | None:
        """The root thread id, once started."""
        return None if self._state is None else self._state.root_thread_id

    @property
    def rollout_ended(self) -> bool:
        """Whether ``rollout_ended`` has been written."""
        return self._state is not None and self._state.rollout_ended

    def start_rollout(self, rollout_id: str, root_thread_id: str) -> ThreadHandle:
        """Create the bundle and record ``rollout_started`` and the root ``thread_started``.

        The trace file is created before the manifest, so a manifest always has a trace
        next to it. Refuses if the directory already holds a bundle (use :meth:`reopen`).
        """
        with self._lock:
            if self._state is not None:
                raise RecordingRefusedError(f"rollout {self._state.rollout_id!r} already started")
            for name, value in (("rollout_id", rollout_id), ("root_thread_id", root_thread_id)):
                if not isinstance(value, str) or not value:
                    raise RecordingRefusedError(f"{name} must be a non-empty string")
            manifest_path = self._bundle_dir / MANIFEST_NAME
            trace_path = self._bundle_dir / TRACE_NAME
            if manifest_path.exists() or trace_path.exists():
                raise RecordingRefusedError(
                    f"{self._bundle_dir} already holds a bundle; use TraceRecorder.reopen"
                )
            created = self._now_ms()
            manifest = Manifest(
                rollout_id=rollout_id, root_thread_id=root_thread_id, created_unix_ms=created
            )
            made_dir = not self._bundle_dir.exists()
            self._bundle_dir.mkdir(parents=True, exist_ok=True)
            try:
                self._fd = os.open(
                    trace_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644
                )
                write_file_atomic(manifest_path, manifest.to_json_bytes(),
                                  durable=self._durable)
                self._manifest = manifest
                self._state = Reducer(check_payload_files=False, manifest=manifest)
                self._append(None, None, RolloutStarted(root_thread_id=root_thread_id))
            except OSError:
                # A bundle half made (a full disk) is taken back, so that no trace
                # without a manifest, or a manifest without its first event, is left.
                self._abandon(made_dir)
                raise
            self._append(
                root_thread_id,
                None,
                ThreadStarted(
                    origin=ThreadOrigin.ROOT,
                    parent_thread_id=None,
                    agent_path=ROOT_AGENT_PATH,
                    depth=0,
                ),
            )
            return ThreadHandle(self, root_thread_id)

    @classmethod
    def reopen(
        cls,
        bundle_dir: str | os.PathLike[str],
        *,
        clock: Clock = time.time,
        inline_limit_bytes: int = DEFAULT_INLINE_LIMIT_BYTES,
        fsync: bool = True,
    ) -> TraceRecorder:
        """Continue an existing bundle (e.g. a resumed session in a new process).

        The bundle is fully reduced first, so a damaged trace is reported instead of
        being extended.
        """
        recorder = cls(bundle_dir, clock=clock, inline_limit_bytes=inline_limit_bytes, fsync=fsync)
        reduce_bundle(recorder.bundle_dir)
        manifest = read_manifest(recorder.bundle_dir)
        state = Reducer(check_payload_files=False, manifest=manifest)
        for event in iter_trace_events(recorder.bundle_dir):
            state.apply(event)
        recorder._state = state
        recorder._manifest = manifest
        recorder._fd = os.open(recorder.bundle_dir / TRACE_NAME, os.O_WRONLY | os.O_APPEND)
        return recorder

    def close(self) -> None:
        """Release the trace file descriptor. Recording after this is refused."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._broken = self._broken or "the recorder was closed"

    def __enter__(self) -> TraceRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def thread(self, thread_id: str) -> ThreadHandle:
        """A handle for a thread already recorded in this bundle."""
        with self._lock:
            state = self._require_state()
            if state.thread(thread_id) is None:
                raise RecordingRefusedError(f"thread {thread_id!r} was never started")
            return ThreadHandle(self, thread_id)

    def snapshot(self) -> TraceGraph:
        """The graph of everything recorded so far (from memory, not from disk)."""
        with self._lock:
            return self._require_state().graph()

    # ------------------------------------------------------------------- threads

    def end_thread(
        self, thread: ThreadHandle, status: RunStatus = RunStatus.COMPLETED
    ) -> list[TraceEvent]:
        """End the thread's current run; for the root, end the rollout too.

        Open tool calls and the open turn are ended first with ``cancelled``. For the
        root, every other running thread is then ended with ``cancelled`` (deepest
        first), then the root with ``status``, then ``rollout_ended`` with ``status``.
        Returns the events written, in order.
        """
        with self._lock:
            state = self._require_state()
            self._check_handle(thread)
            written: list[TraceEvent] = []
            if thread.thread_id == state.root_thread_id and not state.rollout_ended:
                root = state.thread(thread.thread_id)
                if root is not None and root.running:
                    for other in state.running_thread_ids():
                        if other != thread.thread_id:
                            written += self._end_thread_locked(other, RunStatus.CANCELLED)
                    written += self._end_thread_locked(thread.thread_id, status)
                    written.append(self._append(None, None, RolloutEnded(status=status)))
                    return written
            return self._end_thread_locked(thread.thread_id, status)

    # --------------------------------------------------------------------- turns

    def start_turn(self, thread: ThreadHandle, turn_id: str) -> TraceEvent:
        """Record ``turn_started``; the thread must be running with no open turn."""
        with self._lock:
            self._check_handle(thread)
            return self._append(thread.thread_id, turn_id, TurnStarted())

    def end_turn(
        self, thread: ThreadHandle, turn_id: str, status: RunStatus = RunStatus.COMPLETED
    ) -> list[TraceEvent]:
        """Record ``turn_ended``, after cancelling any tool calls still open in it."""
        with self._lock:
            self._check_handle(thread)
            return self._end_turn_locked(thread.thread_id, turn_id, status)

    def tool_call_started(
        self,
        thread: ThreadHandle,
        turn_id: str,
        call_id: str,
        tool_name: str,
        arguments: JsonValue = None,
    ) -> TraceEvent:
        """Record ``tool_call_started`` in the thread's open turn ``turn_id``."""
        with self._lock:
            self._check_handle(thread)
            payload = ToolCallStarted(
                call_id=call_id, tool_name=tool_name, arguments=InlineBody(arguments)
            )
            return self._append(thread.thread_id, turn_id, payload)

    def tool_call_ended(
        self,
        thread: ThreadHandle,
        call_id: str,
        status: RunStatus = RunStatus.COMPLETED,
        output: JsonValue = None,
    ) -> TraceEvent:
        """Record ``tool_call_ended``; the turn is the one the call started in."""
        with self._lock:
            self._check_handle(thread)
            location = self._require_state().tool_call_location(call_id)
            if location is None:
                raise RecordingRefusedError(f"tool call {call_id!r} was never started")
            payload = ToolCallEnded(call_id=call_id, status=status, output=InlineBody(output))
            return self._append(thread.thread_id, location[1], payload)

    # --------------------------------------------------------------------- edges

    def spawn_agent(
        self,
        parent: ThreadHandle,
        child_thread_id: str,
        *,
        spawn_call_id: str,
        agent_name: str | None = None,
        task: JsonValue = None,
        turn_id: str | None = None,
    ) -> ThreadHandle:
        """Record the spawn edge and the child's ``thread_started``; return its handle.

        The child's agent path is the parent's path plus ``agent_name`` (default: the
        child thread id). A thread id the bundle already knows is refused: re-attaching
        an existing child is :meth:`resume_agent`.
        """
        with self._lock:
            self._check_handle(parent)
            state = self._require_state()
            parent_node = state.thread(parent.thread_id)
            if parent_node is None:
                raise RecordingRefusedError(f"thread {parent.thread_id!r} was never started")
            try:
                path = child_agent_path(parent_node.agent_path, agent_name or child_thread_id)
            except TraceError as err:
                raise RecordingRefusedError(f"cannot spawn {child_thread_id!r}: {err}") from err
            self._append(
                parent.thread_id,
                turn_id,
                AgentSpawned(
                    spawn_call_id=spawn_call_id,
                    child_thread_id=child_thread_id,
                    agent_path=path,
                    task=InlineBody(task),
                ),
            )
            self._append(
                child_thread_id,
                None,
                ThreadStarted(
                    origin=ThreadOrigin.SPAWNED,
                    parent_thread_id=parent.thread_id,
                    agent_path=path,
                    depth=parent_node.depth + 1,
                ),
            )
            return ThreadHandle(self, child_thread_id)

    def send_message(
        self,
        parent: ThreadHandle,
        child: ThreadHandle,
        message: JsonValue,
        *,
        turn_id: str | None = None,
    ) -> TraceEvent:
        """Record a parent -> child message edge; the child must be running and not closed."""
        with self._lock:
            self._check_handle(parent)
            self._check_handle(child)
            payload = AgentMessageSent(child_thread_id=child.thread_id, message=InlineBody(message))
            return self._append(parent.thread_id, turn_id, payload)

    def deliver_result(
        self,
        child: ThreadHandle,
        parent: ThreadHandle,
        message: JsonValue,
        deliver: Callable[[], None],
        *,
        status: RunStatus = RunStatus.COMPLETED,
        turn_id: str | None = None,
    ) -> TraceEvent:
        """Deliver a child's result to its parent and record the edge if that worked.

        1. Check that the edge could be recorded at all (child running and not closed,
           ``parent`` its running parent). If not, raise
           :class:`~.errors.RecordingRefusedError` without calling ``deliver``.
        2. Call ``deliver()`` outside the recorder lock (it may record things itself).
           If it raises, re-raise: no edge is written for a delivery that failed.
        3. Append ``agent_result_delivered``. If the state changed meanwhile so that it
           no longer fits, :class:`~.errors.RecordingRefusedError` says the delivery
           happened but could not be recorded.
        """
        payload = AgentResultDelivered(
            parent_thread_id=parent.thread_id, status=status, message=InlineBody(message)
        )
        with self._lock:
            self._check_handle(child)
            self._check_handle(parent)
            self._validate(child.thread_id, turn_id, payload)
        deliver()
        with self._lock:
            try:
                return self._append(child.thread_id, turn_id, payload)
            except RecordingRefusedError as err:
                raise RecordingRefusedError(
                    f"the result was delivered but cannot be recorded: {err.detail}"
                ) from err.__cause__

    def close_agent(
        self,
        parent: ThreadHandle,
        child: ThreadHandle,
        *,
        turn_id: str | None = None,
    ) -> list[TraceEvent]:
        """Record the parent -> child close edge, then end the child's run if it is running.

        The child's run ends with ``cancelled`` (its open tool calls and turn first).
        Closing an already-ended child records only the edge; closing twice without a
        resume in between is refused.
        """
        with self._lock:
            self._check_handle(parent)
            self._check_handle(child)
            state = self._require_state()
            written = [
                self._append(
                    parent.thread_id, turn_id, AgentClosed(child_thread_id=child.thread_id)
                )
            ]
            node = state.thread(child.thread_id)
            if node is not None and node.running:
                written += self._end_thread_locked(child.thread_id, RunStatus.CANCELLED)
            return written

    def resume_agent(self, parent: ThreadHandle, child: ThreadHandle | str) -> ThreadHandle:
        """Re-attach an ended child under its existing id: ``thread_resumed``, not a new start."""
        with self._lock:
            self._check_handle(parent)
            child_id = child if isinstance(child, str) else child.thread_id
            if isinstance(child, ThreadHandle):
                self._check_handle(child)
            self._append(child_id, None, ThreadResumed(resumed_by_thread_id=parent.thread_id))
            return ThreadHandle(self, child_id)

    # ------------------------------------------------------------------ internals

    def _end_thread_locked(self, thread_id: str, status: RunStatus) -> list[TraceEvent]:
        state = self._require_state()
        written: list[TraceEvent] = []
        node = state.thread(thread_id)
        if node is not None and node.running:
            open_turn = state.open_turn(thread_id)
            if open_turn is not None:
                written += self._end_turn_locked(thread_id, open_turn, RunStatus.CANCELLED)
        written.append(self._append(thread_id, None, ThreadEnded(status=status)))
        return written

    def _end_turn_locked(self, thread_id: str, turn_id: str, status: RunStatus) -> list[TraceEvent]:
        state = self._require_state()
        written: list[TraceEvent] = []
        for call_id in state.open_tool_calls(thread_id, turn_id):
            payload = ToolCallEnded(
                call_id=call_id, status=RunStatus.CANCELLED, output=InlineBody(None)
            )
            written.append(self._append(thread_id, turn_id, payload))
        written.append(self._append(thread_id, turn_id, TurnEnded(status=status)))
        return written

    def _require_state(self) -> Reducer:
        if self._state is None:
            raise RecordingRefusedError("the rollout has not been started")
        return self._state

    def _check_handle(self, handle: ThreadHandle) -> None:
        if handle.recorder is not self:
            raise RecordingRefusedError(
                f"thread handle {handle.thread_id!r} belongs to another bundle"
            )

    def _now_ms(self) -> int:
        return round(self._clock() * 1000)

    def _build(
        self, thread_id: str | None, turn_id: str | None, payload: Payload, seq: int
    ) -> TraceEvent:
        assert self._manifest is not None  # set together with _state
        return TraceEvent(
            seq=seq,
            wall_time_unix_ms=self._now_ms(),
            rollout_id=self._manifest.rollout_id,
            thread_id=thread_id,
            turn_id=turn_id,
            payload=payload,
        )

    def _prepare(
        self, thread_id: str | None, turn_id: str | None, payload: Payload
    ) -> tuple[TraceEvent, Commit]:
        """Build the next event and check it fits; every reason becomes a refusal."""
        state = self._require_state()
        if self._broken is not None:
            raise RecorderBrokenError(f"refusing to record: {self._broken}")
        if state.rollout_ended:
            raise RecordingRefusedError("the rollout has ended; nothing may be appended")
        try:
            event = self._build(thread_id, turn_id, payload, state.next_seq)
            return event, state.prepare(event)
        except TraceError as err:
            raise RecordingRefusedError(
                f"refusing to record {payload.TYPE.value}: {err.detail}"
            ) from err

    def _validate(self, thread_id: str | None, turn_id: str | None, payload: Payload) -> None:
        """Check that an event could be appended now, without appending it."""
        self._prepare(thread_id, turn_id, payload)

    def _append(self, thread_id: str | None, turn_id: str | None, payload: Payload) -> TraceEvent:
        """Spill large bodies, validate, write payload files, write the line, commit.

        The commit happens right after the line is written: from then on the line is
        in the file, so the in-memory state must include it even if the sync fails.
        """
        spilled, files = self._spill(self._require_state().next_seq, payload)
        event, commit = self._prepare(thread_id, turn_id, spilled)
        for relative, data in files:
            self._write_payload(relative, data)
        self._write_line(encode_line(event))
        commit()
        if self._durable:
            self._sync_trace()
        return event

    def _spill(self, seq: int, payload: Payload) -> tuple[Payload, list[tuple[str, bytes]]]:
        """Move bodies over the inline limit into payload files named after ``seq``."""
        replacements: dict[str, Body] = {}
        files: list[tuple[str, bytes]] = []
        for index, (name, body) in enumerate(payload_bodies(payload), start=1):
            if not isinstance(body, InlineBody):
                continue
            try:
                data = encode_body_value(body.value)
            except TraceError as err:
                raise RecordingRefusedError(f"{payload.TYPE.value}.{name}: {err.detail}") from err
            if len(data) <= self._inline_limit:
                continue
            relative = payload_ref_path(seq, index)
            replacements[name] = BodyRef(relative, len(data), hashlib.sha256(data).hexdigest())
            files.append((relative, data))
        if not replacements:
            return payload, files
        return replace_bodies(payload, replacements), files

    def _write_payload(self, relative: str, data: bytes) -> None:
        directory = self._bundle_dir / PAYLOADS_DIR
        if not directory.is_dir():
            directory.mkdir()
            if self._durable:
                fsync_dir(self._bundle_dir)
        write_file_atomic(self._bundle_dir / relative, data, durable=self._durable)

    def _write_line(self, line: bytes) -> None:
        """One ``os.write`` per line on an ``O_APPEND`` descriptor, so lines never interleave.

        An ``OSError`` leaves the state as it was and is re-raised. A short write (a
        disk filling up in mid-line) would tear the line: the fragment is cut off again
        (the file is truncated back to where the line began) and ``OSError`` raised, so
        the trace stays whole and may go on once there is room. If even the cut fails,
        the recorder stops for good.
        """
        if self._fd is None:
            raise RecorderBrokenError("the trace file is not open")
        start = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, line)
        except OSError:
            self._cut_back(start)
            raise
        if written != len(line):
            self._cut_back(start)
            raise OSError(errno.ENOSPC, f"short write to {TRACE_NAME} ({written} of "
                                        f"{len(line)} bytes); the fragment was cut off")

    def _cut_back(self, size: int) -> None:
        """Truncate the trace back to ``size`` bytes after a failed or short write."""
        assert self._fd is not None
        try:
            if os.fstat(self._fd).st_size > size:
                os.ftruncate(self._fd, size)
        except OSError as err:
            self._broken = f"a torn line in {TRACE_NAME} could not be cut off: {err.strerror}"
            raise RecorderBrokenError(self._broken) from err

    def _abandon(self, made_dir: bool) -> None:
        """Remove what a failed :meth:`start_rollout` created (best effort)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        self._state = None
        self._manifest = None
        for name in (TRACE_NAME, MANIFEST_NAME, f".{MANIFEST_NAME}.tmp"):
            with contextlib.suppress(OSError):
                (self._bundle_dir / name).unlink()
        if made_dir:
            with contextlib.suppress(OSError):
                self._bundle_dir.rmdir()

    def _sync_trace(self) -> None:
        assert self._fd is not None
        try:
            os.fsync(self._fd)
        except OSError as err:
            self._broken = f"fsync of {TRACE_NAME} failed: {err.strerror}"
            raise RecorderBrokenError(self._broken) from err


__all__ = ["Clock", "ThreadHandle", "TraceRecorder"]
