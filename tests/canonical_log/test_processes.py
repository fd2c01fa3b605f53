"""Real processes: concurrent index writers, concurrent appenders, and kill -9 mid-stream.

Children are separate interpreters (``python -c``) importing the package from this
checkout. They synchronise through pipes (each says "ready", then waits for "go" on
stdin), never through sleeps. A watchdog kills every child after a generous limit so a
bug shows up as a failure instead of a hung test run; no assertion depends on timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reference_impl.canonical_log import CanonicalLog, read_events
from reference_impl.canonical_log.index import parse_index
from reference_impl.canonical_log.state import read_state

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WATCHDOG_SECONDS = 120


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACP_HOME", "ACP_LOG_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


@contextmanager
def _children(code: str, argvs: list[list[str]]) -> Iterator[list[subprocess.Popen[str]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=REPO,
        )
        for argv in argvs
    ]

    def kill_all() -> None:
        for p in procs:
            if p.poll() is None:
                p.kill()

    watchdog = threading.Timer(WATCHDOG_SECONDS, kill_all)
    watchdog.start()
    try:
        yield procs
    finally:
        watchdog.cancel()
        kill_all()
        for p in procs:
            p.wait()
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream is not None:
                    stream.close()


def _start_together(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line == "ready\n", (line, p.stderr.read() if p.stderr else "")
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.close()
        p.stdin = None  # closed: communicate() must not flush it


INDEX_WRITER = r"""
import json, sys
from reference_impl.canonical_log import CanonicalLog
home, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = CanonicalLog(home, env={}, fsync=worker % 2 == 0)  # fsync or not: same locking
print("ready", flush=True)
sys.stdin.readline()
gids = {}
for j in range(count):
    gids[f"codex:w{worker}-{j}"] = log.open_session("codex", f"w{worker}-{j}", cwd=f"/w{worker}")
    shared = f"shared-{(j + worker) % 5}"
    gids[f"claude:{shared}"] = log.open_session("claude", shared, cwd=f"/w{worker}")
print(json.dumps({"gids": gids, "failures": [repr(f) for f in log.failures]}), flush=True)
"""


def test_concurrent_writers_never_lose_a_mapping(tmp_path: Path) -> None:
    workers, count = 8, 25
    home = tmp_path / "acp"
    with _children(
        INDEX_WRITER, [[str(home), str(w), str(count)] for w in range(workers)]
    ) as procs:
        _start_together(procs)
        reports = []
        for p in procs:
            out, err = p.communicate()
            assert p.returncode == 0, err
            reports.append(json.loads(out))
    assert all(r["failures"] == [] for r in reports)

    index = parse_index((home / "index.json").read_bytes())
    assert len(index) == workers * count + 5  # every worker's keys, plus 5 shared ones
    for report in reports:
        for key, gid in report["gids"].items():
            assert index[key] == gid  # what each process was told is what the index holds
    assert len(set(index.values())) == len(index)  # distinct keys, distinct ids
    for key, gid in index.items():
        assert read_state(CanonicalLog(home, env={}).layout, gid).key == key  # type: ignore[arg-type]
    leftovers = [p.name for p in home.rglob("*") if ".tmp-" in p.name or ".corrupt-" in p.name]
    assert leftovers == []
    again = CanonicalLog(home, env={}, fsync=False)
    assert again.open_session("claude", "shared-0", cwd="/") == index["claude:shared-0"]


APPENDER = r"""
import sys
from reference_impl.canonical_log import CanonicalLog
home, gid, worker, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
log = CanonicalLog(home, env={}, fsync=False)
print("ready", flush=True)
sys.stdin.readline()
seqs = [log.log_submit(gid, f"{worker}:{i}", "user_input") for i in range(count)]
print(" ".join(map(str, seqs)), flush=True)
"""


def test_concurrent_appenders_get_distinct_ordered_seqs(tmp_path: Path) -> None:
    workers, count = 4, 150
    home = tmp_path / "acp"
    gid = CanonicalLog(home, env={}, fsync=False).open_session("gemini", "shared", cwd="/")
    argvs = [[str(home), gid, str(w), str(count)] for w in range(workers)]
    with _children(APPENDER, argvs) as procs:
        _start_together(procs)
        acked: dict[int, list[int]] = {}
        for w, p in enumerate(procs):
            out, err = p.communicate()
            assert p.returncode == 0, err
            acked[w] = [int(s) for s in out.split()]
    result = read_events(home / "sessions" / gid / "canonical.jsonl")
    assert result.skipped == []
    assert [e.seq for e in result.events] == list(range(1, workers * count + 1))
    by_seq = {e.seq: e.data["submission_id"] for e in result.events}
    for w, seqs in acked.items():
        assert seqs == sorted(seqs)  # each writer's events keep their order
        assert [by_seq[s] for s in seqs] == [f"{w}:{i}" for i in range(count)]


VICTIM = r"""
import sys
from reference_impl.canonical_log import CanonicalLog
home, fsync = sys.argv[1], sys.argv[2] == "1"
log = CanonicalLog(home, env={}, fsync=fsync)
gid = log.open_session("codex", "victim", cwd="/")
print(gid, flush=True)
i = 0
while True:
    i += 1
    seq = log.log_submit(gid, f"sub-{i}-" + "x" * (i % 200), "user_input")
    if seq is None:
        print("failed", flush=True)
        break
    print(seq, flush=True)  # acknowledged only after the append returned
"""


@pytest.mark.parametrize("fsync", [True, False], ids=["fsync", "no-fsync"])
def test_kill_9_mid_stream_loses_no_acknowledged_event(tmp_path: Path, fsync: bool) -> None:
    home = tmp_path / "acp"
    with _children(VICTIM, [[str(home), "1" if fsync else "0"]]) as (victim,):
        assert victim.stdout is not None
        gid = victim.stdout.readline().strip()
        acked: list[int] = []
        while len(acked) < 300:
            line = victim.stdout.readline()
            assert line and line != "failed\n", victim.stderr.read() if victim.stderr else ""
            acked.append(int(line))
        os.kill(victim.pid, signal.SIGKILL)
        acked.extend(int(line) for line in victim.stdout.read().split())
        victim.wait()
        assert victim.returncode == -signal.SIGKILL

    path = home / "sessions" / gid / "canonical.jsonl"
    before = path.read_bytes()
    result = read_events(path)
    seqs = [e.seq for e in result.events]
    assert acked == list(range(1, len(acked) + 1))
    assert seqs[: len(acked)] == acked  # every acknowledged event is there, in order
    assert len(seqs) <= len(acked) + 1  # at most the one being written when killed
    for event in result.events:
        assert event.data["submission_id"].startswith(f"sub-{event.seq}-")
    # A write cut by the kill could at most leave one torn line, at the very end.
    assert result.skipped in ([], [len(seqs) + 1])

    survivor = CanonicalLog(home, env={}, fsync=fsync)
    assert survivor.open_session("codex", "victim", cwd="/") == gid
    assert survivor.log_submit(gid, "after", "review") == seqs[-1] + 1
    assert path.read_bytes().startswith(before)
    final = read_events(path)
    assert final.events[-1].data == {"submission_id": "after", "op_kind": "review"}
    assert final.skipped == result.skipped
