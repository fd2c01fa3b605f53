"""Observe a fake CLI the way the fidelity recorder observes a real one.

:func:`observe_fake` runs the fake of one CLI version through the recorded scenario
(``codex exec`` / ``claude -p`` / ``gemini -p``, then a resumed second turn) on the
harness clock, in a workspace with the characters the naming rules treat specially and
the world's time zone, and returns an :class:`~compare.Observed`: the line kinds at
first sight and after each turn, the keys of each kind, the layout, and whether
:func:`conformance.native.locate` finds the file.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

from compare import Observed, layout_of

from conformance import native
from conformance.clock import HarnessClock
from conformance.contract import BackendKind, NotificationKind
from conformance.fakes import CallLog, FakeSession, Scheduler, make_backends, profiles
from conformance.fakes.profiles import BackendProfile, FileAppears
from conformance.fakes.script import TurnScript, default_responder

#: The workspace name the fixtures were recorded in.
WORKSPACE = "wörk_sp ace.v2@x+y"
PROMPTS = ("Say hello in one short sentence.", "Now say goodbye.")
#: The scheduler's step while watching for the file (the recorder polled every 0.1 s).
STEP = 0.05


def plain_responder(prompt: str, index: int, session_id: str) -> TurnScript:
    """The default responder without reasoning: the mock model servers return none."""
    return replace(default_responder(prompt, index, session_id), thought="")


def fidelity_profile(kind: BackendKind, version: str, *, staged: bool = False
                     ) -> BackendProfile:
    """The profile of the recorded runs: ``codex exec`` writes at the first user message;
    every process exits after its turn (``-p``, ``exec``) and is resumed for the next."""
    base = profiles.for_version(kind, version)
    appears = FileAppears.FIRST_USER_MESSAGE if kind is BackendKind.CODEX else base.file_appears
    return replace(base, file_appears=appears, exit_after_first_turn=True, staged_open=staged)


def backend_home(kind: BackendKind, home: Path) -> Path:
    return home / ".codex" if kind is BackendKind.CODEX else home


def kinds_of(kind: BackendKind, path: Path) -> tuple[str, ...]:
    view = native.read(kind.value, path)
    return view.line_kinds


def keys_of(kind: BackendKind, path: Path) -> dict[str, frozenset[str]]:
    """Top-level keys of the first line of each kind in ``path``."""
    found: dict[str, frozenset[str]] = {}
    if path.suffix == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return found
        found["document"] = frozenset(document)
        records = document.get("messages", [])
    else:
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    for record in records:
        if isinstance(record, dict):
            found.setdefault(native.line_kind(kind.value, record), frozenset(record))
    return found


def relative_layout(kind: BackendKind, home: Path, cwd: Path, path: Path,
                    session_id: str) -> str:
    relative = path.relative_to(home).as_posix()
    return layout_of(relative, session_id, claude_dir=native.claude_project_dir(cwd),
                     gemini_name=native.gemini_project_name(home, cwd))


def observe_fake(kind: BackendKind, version: str, *, staged: bool = False,
                 profile: BackendProfile | None = None,
                 resume_later_minute: bool = False) -> Observed:
    """Run the fake through the fixtures' two-turn scenario and observe it.

    ``resume_later_minute`` resumes in the UTC minute after the one the session started
    in, as a live run does when its turns straddle a minute: Gemini CLI then writes the
    reopening lines to a second chat file instead of the first (the
    ``resume_next_minute`` fixture), so the first file's kinds differ by design.
    """
    clock = HarnessClock()
    clock.start()
    try:
        clock.reset()
        with tempfile.TemporaryDirectory() as directory:
            return _observe(clock, Path(directory), kind, version,
                            profile or fidelity_profile(kind, version, staged=staged),
                            resume_later_minute)
    finally:
        clock.stop()


def _observe(clock: HarnessClock, root: Path, kind: BackendKind, version: str,
             profile: BackendProfile, resume_later_minute: bool) -> Observed:
    scheduler, calls = Scheduler(clock), CallLog()
    host = make_backends(clock, scheduler, calls, "fidelity", scratch_root=root / "tmp")[kind]
    host.responder = plain_responder
    done: list[str] = []
    host.subscribe(lambda note: done.append(note.turn_id or "")
                   if note.kind is NotificationKind.TURN_COMPLETE else None)
    home, cwd = root / "home", root / WORKSPACE
    cwd.mkdir(parents=True)
    native_home = backend_home(kind, home)
    native_home.mkdir(parents=True)
    host.prepare(None, profile)
    session_id = host.start_session(prompt=PROMPTS[0], home=native_home, cwd=cwd,
                                    env={"TMPDIR": str(root / "tmp")})
    session = host.sessions[session_id]
    started = clock.now()
    first_sight: tuple[str, ...] = ()
    moment: float | None = None
    while not done and clock.now() - started < 600:
        scheduler.advance(STEP)
        if moment is None and session.path.is_file():
            moment = clock.now() - started
            first_sight = kinds_of(kind, session.path)
    after_one = kinds_of(kind, session.path)
    # The second turn: a new process resuming the session (the recorded ``--resume``).
    scheduler.advance(1.0)
    started_minute = int(session.started_at // 60)
    if resume_later_minute:  # two seconds into the next minute, as the recorder waits
        scheduler.advance((started_minute + 1) * 60 + 2 - clock.now())
    elif int(clock.now() // 60) != started_minute:
        raise AssertionError("the fake's two turns straddle a minute; the harness epoch "
                             "moved (the same-minute scenario needs them in one)")
    host.resume_session(session_id)
    host.send(session_id, PROMPTS[1])
    while len(done) < 2 and clock.now() - started < 1200:
        scheduler.advance(STEP)
    path = _conversation(session)
    return Observed(
        kind=kind.value, version=version, source="fake",
        layout=relative_layout(kind, home, cwd, path, session_id),
        located=native.locate(kind.value, native_home, cwd, session_id) == path,
        first_sight=first_sight, after_turn1=after_one,
        after_turn2=kinds_of(kind, path),
        first_file_s=() if moment is None else (round(moment, 3),),
        keys=keys_of(kind, path))


def _conversation(session: FakeSession) -> Path:
    return session.path
