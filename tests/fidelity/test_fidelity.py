"""The fakes are still true: run the real CLIs and compare (``pytest -m fidelity``).

For every version a fake plays (``conformance.fakes.profiles.VERSIONS``) this installs
the real CLI from npm into a cache outside the checkout (:mod:`cli_cache`), starts the
mock model servers of :mod:`mock_models` on 127.0.0.1, runs a session the way an
orchestrator does (one turn, then a resumed second turn; Codex's ``notify`` and Claude
Code's hooks configured) in a workspace whose name has every character the naming
rules treat specially, with ``TZ`` away from UTC, and compares what it wrote with the
fake's file for the same version (:func:`compare.compare`): layout and name pattern,
whether :func:`conformance.native.locate` finds it, line kinds at first sight and after
each turn, the keys of each kind of line, and the first-file moment against the
profile's window. It prints a drift table and fails on a drift the profile does not
allow.

Every process it starts is stopped by its own process group, and daemons that escape
it (found by their ``HOME`` under the run's root) by pid (:func:`record.run_cli`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_cache import CacheError, executable, missing_tools
from compare import Drift, Observed, compare, drift_table, layout_of
from fakerun import keys_of, observe_fake
from mock_models import MockServers
from record import Ctx, Session, claude_session_id, native_files, turn_args

from conformance import native
from conformance.contract import BackendKind
from conformance.fakes.profiles import VERSIONS

pytestmark = pytest.mark.fidelity

PLAYED = [(kind, version) for kind, versions in VERSIONS.items() for version in versions]
#: Seconds the mock models wait before answering (a turn must be long enough for the
#: recorder's 0.1 s polls to see its first sight).
MODEL_DELAY = 1.5


@pytest.fixture(scope="module")
def servers() -> Iterator[MockServers]:
    missing = missing_tools()
    if missing:
        pytest.skip(f"the real CLIs need {' and '.join(missing)} on PATH")
    with MockServers(delay=MODEL_DELAY, text="Hello from the mock model.") as started:
        yield started


@pytest.fixture(scope="module")
def drifts() -> Iterator[list[tuple[tuple[str, str], list[Drift]]]]:
    """Every version's drifts, printed as one table at the end of the module."""
    found: list[tuple[tuple[str, str], list[Drift]]] = []
    yield found
    rows = [d for _, ds in found for d in ds]
    print("\n" + drift_table(rows, [key for key, _ in found]))


def observe_real(ctx: Ctx, kind: BackendKind) -> Observed:
    """Run the two-turn scenario of the fixtures with the real CLI and observe it."""
    session = Session(ctx, "two_turn")
    try:
        first = session.run(turn_args(kind.value, 1, json_mode=True), timeout=180)
        second = session.run(turn_args(kind.value, 2, json_mode=True,
                                       session_id=claude_session_id(first)), timeout=180)
        for run in (first, second):
            assert run.exit_code == 0 and not run.timed_out, (
                f"{kind.value} {ctx.version} {run.argv[1:]} exited {run.exit_code}"
                f"{' (timed out)' if run.timed_out else ''}: {run.stderr[-1500:]}")
        name, info1 = _native(first.watch)
        _, info2 = _native(second.watch)
        native_home = session.home / ".codex" if kind is BackendKind.CODEX else session.home
        path = session.home / name
        view = native.read(kind.value, path)
        assert view.session_id, f"{path} names no session"
        moments = [info1["first_seen_s"]]
        extra = Session(ctx, "one_turn", hooks=False)
        try:
            run = extra.run(turn_args(kind.value, 1, json_mode=False), timeout=180)
            files = native_files(kind.value, extra.home)
            if files and run.exit_code == 0:
                moments.append(_native(run.watch)[1]["first_seen_s"])
        finally:
            shutil.rmtree(extra.root, ignore_errors=True)
        return Observed(
            kind=kind.value, version=ctx.version, source="real",
            layout=layout_of(name, view.session_id,
                             claude_dir=native.claude_project_dir(session.ws),
                             gemini_name=native.gemini_project_name(session.home, session.ws)),
            located=native.locate(kind.value, native_home, session.ws, view.session_id) == path,
            first_sight=tuple(info1["kinds_at_first_sight"]),
            after_turn1=tuple(info1["kinds_added_by_run"]),
            after_turn2=(*info1["kinds_added_by_run"], *info2["kinds_added_by_run"]),
            first_file_s=tuple(float(m) for m in moments if m is not None),
            keys=keys_of(kind, path), hooks=True,
            resume_later_minute=kind is BackendKind.GEMINI and _files_grown(second.watch) > 1)
    finally:
        shutil.rmtree(session.root, ignore_errors=True)


def _files_grown(watch: dict[str, object]) -> int:
    return sum(1 for info in watch["native_files"].values()  # type: ignore[attr-defined]
               if info.get("kinds_added_by_run"))


def _native(watch: dict[str, object]) -> tuple[str, dict[str, object]]:
    files = [(name, info) for name, info in watch["native_files"].items()  # type: ignore[attr-defined]
             if info.get("kinds_added_by_run")]
    assert files, f"no native session file grew: {watch}"
    return max(files, key=lambda item: len(item[1]["kinds_added_by_run"]))


@pytest.mark.parametrize(("kind", "version"), PLAYED, ids=[f"{k.value}-{v}" for k, v in PLAYED])
def test_the_real_cli_writes_what_its_fake_writes(
    kind: BackendKind, version: str, servers: MockServers,
    drifts: list[tuple[tuple[str, str], list[Drift]]],
) -> None:
    try:
        exe = executable(kind, version)
    except CacheError as error:
        pytest.fail(str(error))
    with tempfile.TemporaryDirectory(prefix="fidelity-") as directory:
        ctx = Ctx(kind.value, version, str(exe), servers, Path(directory) / "out",
                  Path(directory) / "run", MODEL_DELAY)
        real = observe_real(ctx, kind)
    later = real.resume_later_minute
    fake = observe_fake(kind, version, resume_later_minute=later)
    staged = observe_fake(kind, version, staged=True, resume_later_minute=later)
    found = compare(real, fake, staged)
    drifts.append(((kind.value, version), found))
    failing = [d for d in found if d.fails]
    assert not failing, "the fake drifted from the real CLI:\n" + "\n".join(
        f"{d.point}:\n  real {d.real}\n  fake {d.fake}" for d in failing)
