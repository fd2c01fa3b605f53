"""Counterexamples as runnable Python, and the store that tries them first.

When a stateful check fails, Hypothesis hands back the shortest step sequence it
found. :func:`snippet` turns it into a self-contained script against the adapter
(notes become comments, values are valid Python), :class:`FailureStore` keeps it on
disk, and the next run executes the stored script before generating anything: a
failure that still reproduces is reported at once, exactly as before; one that no
longer does is deleted and the run goes on normally.

A snippet starts with ``from conformance.replay import *``: this module exports
:func:`machine_for` and every name the machines' steps print.
"""

from __future__ import annotations

import atexit
import re
import shutil
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import Phase, given
from hypothesis import settings as _settings
from hypothesis import strategies as _st

from conformance.clock import HarnessClock
from conformance.contract import AgentState, BackendKind, Capability, NotificationKind
from conformance.fakes.profiles import BackendProfile, FileAppears, claude, codex, gemini
from conformance.faults import At
from conformance.processes.server import close_under
from conformance.scratch import make_scratch

__all__ = [
    "AgentState",
    "At",
    "BackendKind",
    "BackendProfile",
    "Capability",
    "FileAppears",
    "NotificationKind",
    "claude",
    "codex",
    "gemini",
    "machine_for",
    "replay",
]

#: Clocks and directories of replays in progress, released by :func:`release`.
_ACTIVE_CLOCKS: list[HarnessClock] = []
_ACTIVE_DIRS: list[Path] = []

#: The first line of a step: ``state.rule(...)``, ``x = state.rule(...)`` or a tuple
#: assignment ``a, b = state.rule(...)`` (a rule returning ``multiple()``).
_CODE_START = re.compile(r"^(state\b|[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*=\s*state\.)")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def machine_for(adapter: str, invariant_id: str) -> type:
    """The state machine of ``invariant_id`` bound to ``adapter``, ready to drive by hand.

    Only that invariant's check runs. The harness clock starts now and worlds live
    in a temporary directory removed at exit.
    """
    from conformance.api import as_loaded
    from conformance.catalogue import load_catalogue
    from conformance.registry import RunContext, verify
    from conformance.stateful import STEP_CHECKS, bind_machine

    catalogue = load_catalogue()
    checks = verify(catalogue)
    check = checks[invariant_id]
    if check.machine is None:
        raise ValueError(f"{invariant_id} is not checked by a state machine; it has no "
                         "step-by-step replay")
    workdir = make_scratch(f"conformance-replay-{invariant_id}-")
    context = RunContext(as_loaded(adapter), catalogue.get(invariant_id), _settings(),
                         workdir)
    clock = HarnessClock()
    clock.start()
    _ACTIVE_CLOCKS.append(clock)
    _ACTIVE_DIRS.append(workdir)
    return bind_machine(check.machine, context, [STEP_CHECKS[invariant_id]], clock)


def release() -> None:
    """Stop the clocks and remove the worlds of every replay started so far."""
    while _ACTIVE_CLOCKS:
        _ACTIVE_CLOCKS.pop().stop()
    while _ACTIVE_DIRS:
        directory = _ACTIVE_DIRS.pop()
        close_under(directory)  # fake CLI processes of a replay stopped mid-way
        shutil.rmtree(directory, ignore_errors=True)


atexit.register(release)


def replay(steps: Callable[[], None]) -> None:
    """Run ``steps`` once, now, inside a Hypothesis test context (so the machines'
    ``note()`` calls work), then release the harness clock."""

    @_settings(max_examples=1, database=None, deadline=None, phases=[Phase.generate],
               derandomize=True)
    @given(_st.just(None))
    def counterexample(_: None) -> None:
        steps()

    try:
        counterexample()
    finally:
        release()


def is_step_start(line: str) -> bool:
    """Whether ``line`` begins a statement of a printed step sequence."""
    return bool(_CODE_START.match(line))


#: The line of a snippet that names where the run that stored it was invoked.
_ORIGIN = re.compile(r"^ORIGIN = (?P<path>'[^\n]*'|\"[^\n]*\")  # noqa: E501$", re.M)


def snippet(adapter: str, invariant_id: str, machine_name: str, steps: list[str],
            origin: Path | None = None) -> str:
    """A runnable script replaying ``steps`` (Hypothesis's printed sequence).

    ``origin`` (the invocation directory of the failing run, by default this
    process's) goes first on the import path when the script runs, so that an adapter
    importable there (``tests.known_bad.x``, a vendor's ``mypkg``) is importable from
    anywhere, with no ``PYTHONPATH``."""
    where = str((origin or Path.cwd()).resolve())
    body: list[str] = []
    depth = 0
    for line in steps:
        stripped = line.rstrip()
        if depth > 0 or _CODE_START.match(stripped):
            body.append(f"    {stripped}")
            depth += stripped.count("(") - stripped.count(")")
        elif stripped:
            body.append(f"    # {stripped}")
    return "\n".join([
        f'"""Counterexample: {invariant_id} against adapter {adapter!r}.',
        "",
        "Run this file to replay it; it raises InvariantViolation while the bug is there.",
        '"""',
        "import sys",
        "",
        f"ORIGIN = {where!r}  # noqa: E501",
        "sys.path.insert(0, ORIGIN)  # where the run that stored it was invoked",
        "from conformance.replay import *  # noqa: E402, F403",
        "",
        f"{machine_name} = machine_for({adapter!r}, {invariant_id!r})  # noqa: F405",
        "",
        "",
        "@replay  # noqa: F405",
        "def steps() -> None:",
        *body,
        "",
    ])


def run_snippet(path: Path) -> None:
    """Execute a stored snippet in a fresh namespace (raising what it raises)."""
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    namespace = types.ModuleType("__conformance_replay__").__dict__
    try:
        exec(code, namespace)
    finally:
        release()


@dataclass(frozen=True)
class FailureStore:
    """Stored counterexamples, one file per (adapter, invariant)."""

    root: Path

    def path(self, adapter: str, invariant_id: str) -> Path:
        return self.root / _SAFE.sub("_", adapter) / f"{invariant_id}.py"

    def save(self, adapter: str, invariant_id: str, text: str) -> Path:
        target = self.path(adapter, invariant_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
        return target

    def load(self, adapter: str, invariant_id: str) -> Path | None:
        target = self.path(adapter, invariant_id)
        return target if target.is_file() else None

    def forget(self, adapter: str, invariant_id: str) -> None:
        self.path(adapter, invariant_id).unlink(missing_ok=True)


def origin_of(path: Path) -> Path | None:
    """The invocation directory a stored snippet names (``None`` for an older one)."""
    try:
        found = _ORIGIN.search(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    if found is None:
        return None
    import ast

    return Path(ast.literal_eval(found.group("path")))


def replay_command(path: Path) -> str:
    """The command that replays a stored counterexample as printed: this interpreter
    (so it works outside an activated virtual environment) and the snippet's own
    import path (:func:`snippet`)."""
    import shlex
    import sys

    return f"{shlex.quote(sys.executable)} -m conformance replay {shlex.quote(str(path))}"
