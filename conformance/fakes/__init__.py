"""Fake Codex, Claude Code and Gemini CLI backends that write real native files.

:func:`make_backends` builds the three hosts of one world, sharing one clock, one
scheduler and one call record.
"""

from __future__ import annotations

from pathlib import Path

from conformance.clock import HarnessClock
from conformance.contract import BackendKind
from conformance.fakes.calls import Call, CallLog
from conformance.fakes.claude import ClaudeFormat
from conformance.fakes.codex import CodexFormat
from conformance.fakes.gemini import GeminiFormat
from conformance.fakes.host import FakeSession, FakeSessionHost, FakeTurn, NativeFormat
from conformance.fakes.profiles import BackendProfile, FileAppears, default_profile
from conformance.fakes.scheduler import Scheduler
from conformance.fakes.script import Responder, TurnScript, default_responder

__all__ = [
    "BackendProfile",
    "Call",
    "CallLog",
    "ClaudeFormat",
    "CodexFormat",
    "FakeSession",
    "FakeSessionHost",
    "FakeTurn",
    "FileAppears",
    "GeminiFormat",
    "NativeFormat",
    "Responder",
    "Scheduler",
    "TurnScript",
    "default_profile",
    "default_responder",
    "make_backends",
]

_FORMATS: dict[BackendKind, type[NativeFormat]] = {
    BackendKind.CODEX: CodexFormat,
    BackendKind.CLAUDE: ClaudeFormat,
    BackendKind.GEMINI: GeminiFormat,
}


def make_backends(
    clock: HarnessClock, scheduler: Scheduler, calls: CallLog, world_token: str,
    scratch_root: Path | None = None,
) -> dict[BackendKind, FakeSessionHost]:
    """One fake host per backend kind, sharing the world's clock, queue and record.

    ``scratch_root`` stands in for the system temporary directory of a process whose
    environment names no ``TMPDIR``.
    """
    return {
        kind: FakeSessionHost(fmt(), clock=clock, scheduler=scheduler, calls=calls,
                              world_token=world_token, scratch_root=scratch_root)
        for kind, fmt in _FORMATS.items()
    }
