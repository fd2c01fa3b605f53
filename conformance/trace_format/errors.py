"""Every error the rollout-trace package raises on purpose.

A trace is only useful if each line in it can be explained. When the decoder or the
reducer meets something it cannot explain, it stops with one of these errors rather
than guessing, and the message names where it stopped: the line number for problems
found while decoding, and the sequence number plus a short description of the event
for problems found while replaying. Callers can catch :class:`TraceError` to handle
them all, or a subclass to react to one kind of damage.

Reducer errors are also what the recorder uses to refuse a write: before appending,
it replays the candidate event against its in-memory state, and wraps the reason in
:class:`RecordingRefusedError`, so the recorder can never write a line the reducer
would later reject.
"""

from __future__ import annotations


class TraceError(Exception):
    """Root of the hierarchy: the trace, or a request to extend it, cannot be explained.

    ``seq`` and ``line`` are set when known so tools can point at the offending event;
    ``detail`` is the message without the location prefix.
    """

    def __init__(
        self,
        detail: str,
        *,
        seq: int | None = None,
        line: int | None = None,
        event: str | None = None,
    ) -> None:
        self.detail = detail
        self.seq = seq
        self.line = line
        #: Short description of the offending event, e.g. ``"turn_started thread=t0"``.
        self.event = event
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        prefix = ", ".join(where)
        if self.event is not None:
            prefix = f"{prefix} ({self.event})" if prefix else f"({self.event})"
        return f"{prefix}: {self.detail}" if prefix else self.detail


class TraceFormatError(TraceError):
    """A line or event does not have the shape schema version 1 prescribes.

    Raised by the decoder for malformed JSON, missing or extra keys, and values of the
    wrong type, and by the event model itself when a thread or turn id is present where
    it must not be (or absent where it must be). ``expected`` and ``found`` say what
    the decoder wanted and what it got, so the message can be acted on without opening
    the file.
    """

    def __init__(
        self,
        detail: str,
        *,
        expected: str | None = None,
        found: str | None = None,
        seq: int | None = None,
        line: int | None = None,
        event: str | None = None,
    ) -> None:
        self.expected = expected
        self.found = found
        self._what = detail
        if expected is not None:
            detail = f"{detail}: expected {expected}, found {found}"
        super().__init__(detail, seq=seq, line=line, event=event)

    def at_line(self, line: int) -> TraceFormatError:
        """The same error with a line number, for errors raised below the decoder."""
        return type(self)(
            self._what,
            expected=self.expected,
            found=self.found,
            seq=self.seq,
            line=line,
            event=self.event,
        )


class UnknownEventTypeError(TraceFormatError):
    """The payload ``type`` is not a member of :class:`~.events.EventType`.

    Kept separate from other format errors because it is the one a newer writer
    produces for an older reader: the fix is to upgrade the reader, not the file.
    """


class BundleError(TraceError):
    """The bundle directory lacks ``manifest.json`` or ``trace.jsonl``, or cannot be read."""


class ManifestError(BundleError):
    """``manifest.json`` is missing, malformed, or not what this reader understands."""


class UnsupportedSchemaVersionError(TraceError):
    """An event or manifest carries a ``schema_version`` this code does not know.

    Decoding a future version with today's rules would silently misread it, so it is
    rejected outright.
    """


class SequenceGapError(TraceError):
    """A ``seq`` is not exactly one more than the previous one (gap, repeat or reorder).

    Contiguous numbering is how a reader knows no line was lost or duplicated.
    """


class RolloutMismatchError(TraceError):
    """An event names a different rollout (or root thread) than the bundle it is in."""


class DuplicateStartError(TraceError):
    """Something was started twice: the rollout, a thread, a turn, a tool call, a spawn.

    A resumed thread must be recorded as ``thread_resumed``; a second ``thread_started``
    for the same id is exactly the replay failure the Codex review warned about.
    """


class UnknownReferenceError(TraceError):
    """An event refers to an entity no earlier event introduced."""


class UnknownThreadError(UnknownReferenceError):
    """An event is on (or names) a thread that was never started in this rollout."""


class UnknownTurnError(UnknownReferenceError):
    """An event is on a turn that was never started on its thread."""


class UnknownToolCallError(UnknownReferenceError):
    """A tool call end names a call id that was never started."""


class EventAfterRolloutEndError(TraceError):
    """An event follows ``rollout_ended``; nothing may be appended after it."""


class DuplicateTerminalError(TraceError):
    """A second terminal event for the same thread run, turn, tool call or close.

    Each of these ends exactly once; a second end means two writers disagree about
    what happened and the reducer cannot pick one.
    """


class IllegalTransitionError(TraceError):
    """A well-formed event about known entities that is not allowed in their state.

    Examples: a turn on an ended thread, a message to a child that is not the sender's
    own, ``rollout_ended`` while a thread is still running, a spawned thread with no
    preceding ``agent_spawned`` edge.
    """


class PayloadFileError(TraceError):
    """A ``payload_ref`` cannot be resolved to the bytes it promises."""


class MissingPayloadError(PayloadFileError):
    """The payload file a ``payload_ref`` names does not exist (or cannot be looked up).

    Payload files are written and synced before the line naming them, so a missing
    file means damage after the fact, not a crash during recording.
    """


class CorruptPayloadError(PayloadFileError):
    """A payload file exists but its size or SHA-256 differs from the reference."""


class UnhandledEventTypeError(TraceError):
    """The reducer has no handler for an event type.

    Dispatch is an exhaustive match over the enum with no accepting default, so a new
    event type must come with a handler; this error is what reaches the user if one
    somehow does not.
    """


class RecorderError(TraceError):
    """Root of errors raised by :class:`~.recorder.TraceRecorder`."""


class RecordingRefusedError(RecorderError):
    """The recorder refused a call because the event would make the trace unreplayable.

    Nothing was written. ``__cause__`` holds the reducer error that explains why.
    """


class RecorderBrokenError(RecorderError):
    """A write failed part-way, so the recorder stops accepting events.

    Continuing could append lines after a torn one; refusing keeps the damage to a
    single, visible place at the end of the file.
    """


__all__ = [
    "BundleError",
    "CorruptPayloadError",
    "DuplicateStartError",
    "DuplicateTerminalError",
    "EventAfterRolloutEndError",
    "IllegalTransitionError",
    "ManifestError",
    "MissingPayloadError",
    "PayloadFileError",
    "RecorderBrokenError",
    "RecorderError",
    "RecordingRefusedError",
    "RolloutMismatchError",
    "SequenceGapError",
    "TraceError",
    "TraceFormatError",
    "UnhandledEventTypeError",
    "UnknownEventTypeError",
    "UnknownReferenceError",
    "UnknownThreadError",
    "UnknownToolCallError",
    "UnknownTurnError",
    "UnsupportedSchemaVersionError",
]
