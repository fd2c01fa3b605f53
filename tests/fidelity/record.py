"""Record fixtures from the real agent CLIs, run offline against ``mock_models``.

For every installed CLI version (``<cache>/codex-X``, ``<cache>/claude-X``,
``<cache>/gemini-X``, each an ``npm install --prefix`` of the package), this script runs
one-turn and two-turn sessions, each with a fresh ``HOME`` (and ``CODEX_HOME``) under a
temporary root, ``TZ=Pacific/Honolulu`` and a workspace whose name contains ``_``, a space,
``.``, ``@``, ``+`` and a non-ASCII letter.  While a CLI runs, its home is polled every
0.1 s: when each file first appears, and for the native session file its line count and the
kinds of the lines added at each change.  Results go to
``fixtures/<cli>-<version>/`` (see ``fixtures/README.md``).

Usage::

    python tests/fidelity/record.py --cache /work/cli-cache [--only codex-0.171.0 ...]
        [--delay 4] [--repeat 3] [--out tests/fidelity/fixtures]
        [--scenarios sessions gemini_resume_minute interactive stdin_open cli]
    python tests/fidelity/record.py --summarize      # markdown table from timings.json

Scenarios: ``sessions`` (one_turn_text x repeat, two_turn_json, one_turn_tz_kiritimati,
naming), ``gemini_resume_minute``, ``interactive`` (Codex TUI in tmux), ``stdin_open``
(stdin an open, silent pipe) and ``cli`` (--help, --version, unknown flags).  Running a
subset merges into the existing ``timings.json``.  Each run gets its own ``TMPDIR``.

Every process started is stopped by its own process group; helper daemons that escape the
group (found by their ``HOME``/``CODEX_HOME`` under the run's root) are stopped by pid.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mock_models import MockServers

from conformance import native

HERE = Path(__file__).resolve().parent
WS_NAME = "wörk_sp ace.v2@x+y"  # _ space . @ + and a non-ASCII letter
TZ = "Pacific/Honolulu"
TRIM = 200
TRIM_MARK = "…[trimmed]"
POLL = 0.1
#: directories whose many files timings.json summarizes as a count (home_files.txt lists all)
NOISY = (
    ".codex/skills/.system/",
    ".claude/plugins/",
    ".codex/packages/app-server-daemon/releases/",
)
BIN = {"codex": "codex", "claude": "claude", "gemini": "gemini"}
GEMINI_MODEL = "gemini-2.5-flash"
PROMPT1 = "Say hello in one short sentence."
PROMPT2 = "Now say goodbye."
UNKNOWN_FLAG = "--bogus-flag-xyz"
NO_PREFIX_FLAG = "--no-such-flag-xyz"  # yargs reads --no-X as the negation of X


# ------------------------------------------------------------------------------------------
# line kinds
# ------------------------------------------------------------------------------------------


def kind_of(kind: str, record: Any) -> str:
    """The fixtures' name for a record's kind: :func:`conformance.native.line_kind`."""
    return native.line_kind(kind, record)


def native_files(kind: str, home: Path) -> list[Path]:
    if kind == "codex":
        return sorted((home / ".codex" / "sessions").glob("*/*/*/rollout-*.jsonl"))
    if kind == "claude":
        return sorted((home / ".claude" / "projects").glob("*/*.jsonl"))
    return sorted((home / ".gemini" / "tmp").glob("*/chats/session-*"))


def read_lines(path: Path) -> list[str]:
    """Complete lines only (a line still being written is not counted)."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if not data:
        return []
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts = parts[:-1]
    elif path.suffix == ".jsonl":
        parts = parts[:-1]  # the unterminated tail of a JSONL file is still being written
    return [p.decode("utf-8", "replace") for p in parts]


def kinds(kind: str, lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        try:
            o = json.loads(line)
            out.append(kind_of(kind, o) if isinstance(o, dict) else type(o).__name__)
        except ValueError:
            out.append("<unparsable>")
    return out


def records_of(kind: str, path: Path) -> list[str] | None:
    """The kinds of a native file's records: its lines, or for the one-document format
    (Gemini CLI before 0.40, ``session-*.json``) the document and its messages; ``None``
    for a document caught mid-rewrite (truncated, not yet whole)."""
    if path.suffix == ".json":
        view = native.read(kind, path)
        return None if view.torn else list(view.line_kinds)
    return kinds(kind, read_lines(path))


# ------------------------------------------------------------------------------------------
# watching a home
# ------------------------------------------------------------------------------------------


@dataclass
class FileTrack:
    first_seen: float
    last_seen: float
    start_lines: int  # lines already there when this run started (resume)
    timeline: list[dict[str, Any]] = field(default_factory=list)


class Watcher:
    """Poll ``home`` every ``POLL`` s from process start until stopped."""

    def __init__(self, kind: str, home: Path, t0: float) -> None:
        self.kind, self.home, self.t0 = kind, home, t0
        self.before = {p: len(records_of(kind, p) or []) for p in native_files(kind, home)}
        self.pre_existing = set(self._all_files())
        self.files: dict[str, dict[str, float]] = {}
        self.native: dict[Path, FileTrack] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _all_files(self) -> Iterator[str]:
        for dirpath, dirnames, filenames in os.walk(self.home):
            rel = os.path.relpath(dirpath, self.home)
            for name in filenames:
                yield os.path.normpath(os.path.join(rel, name))
            for name in dirnames:
                yield os.path.normpath(os.path.join(rel, name)) + "/"

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # the final state

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(POLL)

    def poll(self) -> None:
        t = round(time.monotonic() - self.t0, 3)
        for rel in self._all_files():
            if rel in self.pre_existing:
                continue
            rec = self.files.setdefault(rel, {"first_seen": t})
            rec["last_seen"] = t
        for path in native_files(self.kind, self.home):
            lines = records_of(self.kind, path)
            if lines is None:
                continue  # a document being rewritten: look again at the next poll
            track = self.native.get(path)
            if track is None:
                start = self.before.get(path, 0)
                track = FileTrack(first_seen=t, last_seen=t, start_lines=start)
                self.native[path] = track
                prev = start
            else:
                prev = track.timeline[-1]["lines"] if track.timeline else track.start_lines
            track.last_seen = t
            if len(lines) != prev or (not track.timeline and path not in self.before):
                track.timeline.append(
                    {
                        "t": t,
                        "lines": len(lines),
                        "new": lines[prev:] if len(lines) > prev else [],
                    }
                )

    def report(self, end_files: set[str]) -> dict[str, Any]:
        native = {}
        for path, tr in self.native.items():
            rel = str(path.relative_to(self.home))
            grow = [e for e in tr.timeline if e["new"]]
            native[rel] = {
                "existed_before_run": path in self.before,
                "lines_before_run": tr.start_lines,
                "first_seen_s": None if path in self.before else tr.first_seen,
                "first_growth_s": grow[0]["t"] if grow else None,
                "lines_at_first_sight": tr.timeline[0]["lines"] if tr.timeline else None,
                "kinds_at_first_sight": grow[0]["new"] if grow else [],
                "lines_at_end": tr.timeline[-1]["lines"] if tr.timeline else tr.start_lines,
                "kinds_added_by_run": [k for e in tr.timeline for k in e["new"]],
                "timeline": tr.timeline,
            }
        created: dict[str, Any] = {}
        for rel, v in sorted(self.files.items()):
            noisy = next((n for n in NOISY if rel.startswith(n) and rel != n), None)
            if noisy:
                created.setdefault(noisy + "*", {"count": 0})["count"] += 1
                continue
            created[rel] = {**v, "exists_at_end": rel in end_files}
        return {"native_files": native, "home_files": created}


# ------------------------------------------------------------------------------------------
# processes
# ------------------------------------------------------------------------------------------


def stray_processes(root: Path) -> list[int]:
    """Pids (not ours) whose environment names a path under ``root`` (escaped daemons)."""
    key = str(root).encode()
    me = os.getpid()
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue
        for var in env.split(b"\0"):
            if var.startswith((b"HOME=", b"CODEX_HOME=")) and key in var:
                pids.append(int(d.name))
                break
    return pids


def kill_pid_tree(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def cleanup_strays(root: Path) -> list[str]:
    found = []
    for pid in stray_processes(root):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "?"
        found.append(cmd.strip())
        kill_pid_tree(pid)
    if found:
        time.sleep(0.5)
        for pid in stray_processes(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return found


@dataclass
class Run:
    argv: list[str]
    exit_code: int | None
    duration_s: float
    stdout: str
    stderr: str
    t0_wall: float
    watch: dict[str, Any]
    strays: list[str]
    timed_out: bool


def run_cli(
    kind: str, argv: list[str], env: dict[str, str], cwd: Path, home: Path, root: Path,
    timeout: float = 120, stdin_open: bool = False,
) -> Run:
    """Run one CLI process; stdin is /dev/null, or with ``stdin_open`` a pipe that is
    never written nor closed until the process ends (as a careless orchestrator does)."""
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        t0 = time.monotonic()
        t0_wall = time.time()
        watcher = Watcher(kind, home, t0).start()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env,
            stdin=subprocess.PIPE if stdin_open else subprocess.DEVNULL,
            stdout=out_f, stderr=err_f, start_new_session=True,
        )
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_pid_tree(proc.pid)
            proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        duration = round(time.monotonic() - t0, 3)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    time.sleep(0.3)  # late writes after exit
    watcher.stop()
    kill_pid_tree(proc.pid)  # anything left in the group
    strays = cleanup_strays(root)
    end_files = set(watcher._all_files())
    return Run(
        argv=argv, exit_code=proc.returncode, duration_s=duration,
        stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
        t0_wall=t0_wall, watch=watcher.report(end_files), strays=strays, timed_out=timed_out,
    )


# ------------------------------------------------------------------------------------------
# scrubbing (placeholders, trimming)
# ------------------------------------------------------------------------------------------


class Scrubber:
    def __init__(self, mapping: list[tuple[str, str]]) -> None:
        # longest first so a workspace inside the root is replaced before the root
        self.mapping = sorted(mapping, key=lambda kv: -len(kv[0]))

    def text(self, s: str) -> str:
        for real, ph in self.mapping:
            s = s.replace(real, ph)
        return s

    def value(self, v: Any, trim: bool = True) -> Any:
        if isinstance(v, str):
            s = self.text(v)
            if trim and len(s) > TRIM:
                s = s[:TRIM] + TRIM_MARK
            return s
        if isinstance(v, dict):
            return {self.text(k): self.value(x, trim) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x, trim) for x in v]
        return v

    def jsonl(self, text: str) -> str:
        out = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError:
                out.append(self.text(line))
                continue
            o = self.value(o)
            s = json.dumps(o, ensure_ascii=False, separators=(",", ":"))
            if len(s) > 4000:
                s = json.dumps(shorten_lists(o), ensure_ascii=False, separators=(",", ":"))
            out.append(s)
        return "\n".join(out) + ("\n" if out else "")

    def json_doc(self, text: str) -> str:
        try:
            o = json.loads(text)
        except ValueError:
            return self.jsonl(text)
        return json.dumps(self.value(o), ensure_ascii=False, indent=2) + "\n"


def shorten_lists(v: Any, keep: int = 6) -> Any:
    if isinstance(v, list):
        head = [shorten_lists(x, keep) for x in v[:keep]]
        if len(v) > keep:
            head.append(f"…[{len(v) - keep} more items trimmed]")
        return head
    if isinstance(v, dict):
        return {k: shorten_lists(x, keep) for k, x in v.items()}
    return v


# ------------------------------------------------------------------------------------------
# helper scripts (notify / hooks)
# ------------------------------------------------------------------------------------------

NOTIFY_SCRIPT = """#!{python}
import json, os, sys, time
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
n = len(os.listdir(out))
with open(os.path.join(out, "notify-%d.json" % n), "w") as f:
    json.dump({{"argv": sys.argv[1:], "t": time.time()}}, f)
"""

HOOK_SCRIPT = """#!{python}
import json, os, sys, time
event, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
data = sys.stdin.read()
try:
    stdin = json.loads(data)
except ValueError:
    stdin = data
env = {{k: v for k, v in os.environ.items() if k.startswith(("CLAUDE", "GEMINI"))}}
n = len(os.listdir(out))
with open(os.path.join(out, "%02d-%s.json" % (n, event)), "w") as f:
    json.dump({{"event": event, "argv": sys.argv[1:], "stdin": stdin, "env": env,
               "cwd": os.getcwd(), "t": time.time()}}, f)
"""


def write_script(path: Path, template: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template.format(python=sys.executable), encoding="utf-8")
    path.chmod(0o755)
    return path


# ------------------------------------------------------------------------------------------
# scenarios
# ------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    kind: str
    version: str
    exe: str
    servers: MockServers
    out: Path  # fixtures/<kind>-<version>
    tmp: Path  # the run root for this version
    delay: float


def _js_hash36(text: str) -> str:
    """base36 of |32-bit Java-style string hash| over UTF-16 code units."""
    h = 0
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h = (h * 31 + int.from_bytes(data[i : i + 2], "little")) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    n = abs(h)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def claude_dir_name(path: str) -> str:
    """Claude Code's project dir as measured: every char but [A-Za-z0-9] -> '-'; past 200
    chars, the first 200 + '-' + base36 hash of the path."""
    name = "".join(c if c.isascii() and c.isalnum() else "-" for c in path)
    if len(name) > 200:
        name = name[:200] + "-" + _js_hash36(path)
    return name


class Session:
    """A fresh home + workspace (+ helper scripts) under ``ctx.tmp/<name>``."""

    def __init__(
        self, ctx: Ctx, name: str, ws_rel: str = WS_NAME, tz: str = TZ, hooks: bool = True
    ) -> None:
        self.ctx, self.name, self.tz, self.hooks = ctx, name, tz, hooks
        self.root = ctx.tmp / name
        if self.root.exists():
            shutil.rmtree(self.root)
        self.home = self.root / "home"
        self.ws = self.root / ws_rel
        self.ws.mkdir(parents=True)
        self.home.mkdir(parents=True)
        self.tmpdir = self.root / "tmp"
        self.tmpdir.mkdir()
        self.dumps = self.root / "dumps"
        self.runs: list[Run] = []
        self.extra_ws: list[Path] = []
        kind = ctx.kind
        tools = self.root / "tools"
        config: dict[str, Any] = {}
        if kind == "codex" and hooks:
            notify = write_script(tools / "notify.py", NOTIFY_SCRIPT)
            config["notify"] = [str(notify), str(self.dumps / "notify")]
        elif kind == "claude" and hooks:
            hook = write_script(tools / "hook.py", HOOK_SCRIPT)
            hooks_dir = shlex.quote(str(self.dumps / "hooks"))
            config["hooks"] = {
                ev: f"{shlex.quote(str(hook))} {ev} {hooks_dir}" for ev in ("SessionStart", "Stop")
            }
        extra_env = {"TZ": tz, "TMPDIR": str(self.tmpdir)}
        self.env = ctx.servers.prepare_home(kind, self.home, extra_env=extra_env, **config)

    def scrubber(self) -> Scrubber:
        m = [
            (str(self.ws), "/WORKSPACE"),
            (str(self.home), "/HOME"),
            (str(self.tmpdir), "/TMPDIR"),
            (str(self.root), "/ROOT"),
        ]
        for i, w in enumerate(self.extra_ws):
            m.append((str(w), f"/WORKSPACE_{i + 2}"))
        m.append((sys.executable, "/PYTHON"))
        m += [(srv.url, "http://127.0.0.1:PORT") for srv in self.ctx.servers.all()]
        return Scrubber(m)

    def run(self, args: list[str], cwd: Path | None = None, **kw: Any) -> Run:
        r = run_cli(self.ctx.kind, [self.ctx.exe, *args], self.env, cwd or self.ws, self.home,
                    self.root, **kw)
        self.runs.append(r)
        return r

    def requests_since(self, t0_wall: float, t1_wall: float | None = None) -> list[dict[str, Any]]:
        out = []
        for r in self.ctx.servers.server(self.ctx.kind).requests:
            if r.received_at < t0_wall or (t1_wall is not None and r.received_at > t1_wall):
                continue
            body = r.body if isinstance(r.body, dict) else {}
            out.append(
                {
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "status": r.status,
                    "model": body.get("model"),
                    "stream": body.get("stream"),
                    "received_s": round(r.received_at - t0_wall, 3),
                    "answered_s": None if r.answered_at is None
                    else round(r.answered_at - t0_wall, 3),
                    "header_names": sorted(r.headers),
                }
            )
        return out

    def save(self, dest: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write fixtures for this session into ``dest``; return its timing record."""
        sc = self.scrubber()
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        runs = []
        for i, r in enumerate(self.runs, 1):
            t1 = r.t0_wall + r.duration_s + 0.3
            runs.append(
                {
                    "turn": i,
                    "argv": [sc.text(a) for a in ["<cli>", *r.argv[1:]]],
                    "exit_code": r.exit_code,
                    "timed_out": r.timed_out,
                    "duration_s": r.duration_s,
                    "requests": self.requests_since(r.t0_wall, t1),
                    "native_files": sc.value(r.watch["native_files"], trim=False),
                    "home_files_first_seen": sc.value(r.watch["home_files"], trim=False),
                    "stray_processes_killed": [sc.text(s) for s in r.strays],
                }
            )
            is_json = any(a in ("--json", "json") for a in r.argv)
            (dest / f"turn{i}.stdout").write_text(
                sc.jsonl(r.stdout) if is_json and r.stdout.strip() else sc.text(r.stdout),
                encoding="utf-8",
            )
            (dest / f"turn{i}.stderr").write_text(sc.text(r.stderr)[:4000], encoding="utf-8")
        # native files, as they are at the end
        for path in native_files(self.ctx.kind, self.home):
            rel = path.relative_to(self.home)
            target = dest / "home" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(sc.jsonl(path.read_text(encoding="utf-8")), encoding="utf-8")
        # other small files worth keeping
        for rel in (".gemini/projects.json", ".codex/history.jsonl", ".claude/settings.json",
                    ".gemini/settings.json", ".codex/config.toml", ".codex/session_index.jsonl"):
            p = self.home / rel
            if p.is_file():
                target = dest / "home" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                raw = p.read_text(encoding="utf-8")
                target.write_text(
                    sc.json_doc(raw) if rel.endswith(".json")
                    else sc.jsonl(raw) if rel.endswith(".jsonl") else sc.text(raw),
                    encoding="utf-8",
                )
        for rel in sorted(self.home.glob(".gemini/tmp/*/.project_root")) + sorted(
            self.home.glob(".gemini/history/*/.project_root")
        ):
            target = dest / "home" / rel.relative_to(self.home)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(sc.text(rel.read_text(encoding="utf-8")), encoding="utf-8")
        # notify / hook dumps
        for sub in ("notify", "hooks"):
            d = self.dumps / sub
            if d.is_dir():
                for f in sorted(d.iterdir()):
                    o = json.loads(f.read_text(encoding="utf-8"))
                    o["argv"] = [
                        json.loads(a) if a.startswith("{") else a for a in o.get("argv", [])
                    ]
                    target = dest / sub / f.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(
                        json.dumps(sc.value(o), ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8",
                    )
        # listing of every file the CLI created in its home
        listing = collapsed_listing(self.home)
        (dest / "home_files.txt").write_text(
            "\n".join(sc.text(x) for x in listing) + "\n", encoding="utf-8"
        )
        tmp_listing = sorted(
            str(p.relative_to(self.tmpdir)) + ("/" if p.is_dir() else "")
            for p in self.tmpdir.rglob("*")
        )
        (dest / "tmpdir_files.txt").write_text(
            "".join(sc.text(x) + "\n" for x in tmp_listing), encoding="utf-8"
        )
        rec: dict[str, Any] = {
            "tz": self.tz,
            "workspace": "/WORKSPACE",
            "workspace_basename": self.ws.name,
            "hooks_configured": self.hooks,
            "env_set": {"TZ": self.tz, "TMPDIR": "/TMPDIR", "HOME": "/HOME"},
            "runs": runs,
        }
        if extra:
            rec.update(extra)
        return rec


def collapsed_listing(base: Path) -> list[str]:
    """Relative paths of everything under ``base``; a copied release tree is one line."""
    out: dict[str, list[int]] = {}
    plain = []
    for p in base.rglob("*"):
        rel = str(p.relative_to(base)) + ("/" if p.is_dir() else "")
        big = ".codex/packages/app-server-daemon/releases/"
        if rel.startswith(big) and rel.count("/") > big.count("/"):
            key = big + rel[len(big):].split("/", 1)[0] + "/"
            acc = out.setdefault(key, [0, 0])
            if p.is_file():
                acc[0] += 1
                acc[1] += p.stat().st_size
            continue
        plain.append(rel)
    for key, (n, size) in out.items():
        plain.append(f"{key}**  ({n} files, {size / 1e6:.0f} MB, not listed)")
    return sorted(plain)


def naming_facts(s: Session) -> dict[str, Any]:
    """Real (un-placeholdered) names the CLI chose, with the run root shown as ``<root>``."""
    kind, home = s.ctx.kind, s.home
    root = str(s.root)
    facts: dict[str, Any] = {"root": "<root> = " + root}
    if kind == "claude":
        dirs = sorted(p.name for p in (home / ".claude" / "projects").glob("*") if p.is_dir())
        facts["claude_project_dirs"] = dirs
        facts["cwds"] = [str(w) for w in [s.ws, *s.extra_ws]]
        facts["rule_matches"] = {
            str(w): claude_dir_name(str(w)) in dirs for w in [s.ws, *s.extra_ws]
        }
    elif kind == "gemini":
        pj = home / ".gemini" / "projects.json"
        facts["projects_json"] = json.loads(pj.read_text()) if pj.exists() else None
        facts["tmp_dirs"] = sorted(p.name for p in (home / ".gemini" / "tmp").glob("*"))
        facts["chat_files"] = [
            str(p.relative_to(home)) for p in native_files("gemini", home)
        ]
        hashes = {}
        for f in native_files("gemini", home):
            try:
                meta = json.loads(read_lines(f)[0])
            except (IndexError, ValueError):
                continue
            hashes[str(f.relative_to(home))] = {
                "projectHash": meta.get("projectHash"),
                "sha256_of_cwd": {
                    str(w): hashlib.sha256(str(w).encode()).hexdigest()
                    for w in [s.ws, *s.extra_ws]
                },
            }
        facts["project_hashes"] = hashes
    elif kind == "codex":
        facts["session_files"] = [
            str(p.relative_to(home)) for p in native_files("codex", home)
        ]
    facts["utc_at_start"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s.runs[0].t0_wall))
    return facts


def turn_args(kind: str, turn: int, json_mode: bool, session_id: str | None = None) -> list[str]:
    p = PROMPT1 if turn == 1 else PROMPT2
    if kind == "codex":
        j = ["--json"] if json_mode else []
        if turn == 1:
            return ["exec", *j, "--skip-git-repo-check", p]
        return ["exec", "resume", "--last", *j, "--skip-git-repo-check", p]
    if kind == "claude":
        j = ["--output-format", "json"] if json_mode else []
        if turn == 1:
            return ["-p", p, *j]
        return ["-p", "--resume", str(session_id), p, *j]
    j = ["-o", "json"] if json_mode else []
    if turn == 1:
        return ["-m", GEMINI_MODEL, "-p", p, *j]
    return ["-m", GEMINI_MODEL, "--resume", "latest", "-p", p, *j]


def claude_session_id(run: Run) -> str | None:
    try:
        return json.loads(run.stdout).get("session_id")
    except ValueError:
        return None


def summarize(s: Session) -> dict[str, Any]:
    """The few numbers per run that the README table quotes."""
    out = []
    for r in s.runs:
        for rel, nf in r.watch["native_files"].items():
            out.append(
                {
                    "file": s.scrubber().text(rel),
                    "first_seen_s": nf["first_seen_s"],
                    "lines_at_first_sight": nf["lines_at_first_sight"],
                    "lines_at_end": nf["lines_at_end"],
                    "lines_before_run": nf["lines_before_run"],
                    "growth": [(e["t"], e["lines"]) for e in nf["timeline"]],
                }
            )
    return {"exit_codes": [r.exit_code for r in s.runs], "native": out}


def scenario_sessions(ctx: Ctx, repeat: int) -> dict[str, Any]:
    kind = ctx.kind
    result: dict[str, Any] = {}

    # one turn, plain output; repeated for timing ranges, fixtures from the first
    reps = []
    for n in range(repeat):
        s = Session(ctx, f"one_turn_text_{n}", hooks=False)
        s.run(turn_args(kind, 1, json_mode=False))
        if n == 0:
            result["one_turn_text"] = s.save(ctx.out / "one_turn_text", {"naming": naming_facts(s)})
        reps.append(summarize(s))
        shutil.rmtree(s.root, ignore_errors=True)
    result["one_turn_text_repeats"] = reps

    # two turns, json output
    s = Session(ctx, "two_turn_json")
    r1 = s.run(turn_args(kind, 1, json_mode=True))
    s.run(turn_args(kind, 2, json_mode=True, session_id=claude_session_id(r1)))
    result["two_turn_json"] = s.save(ctx.out / "two_turn_json", {"naming": naming_facts(s)})
    shutil.rmtree(s.root, ignore_errors=True)

    # a zone whose local date differs from UTC's right now (UTC+14), to see whose date a
    # file name carries
    s = Session(ctx, "one_turn_tz_kiritimati", tz="Pacific/Kiritimati", hooks=False)
    s.run(turn_args(kind, 1, json_mode=kind != "codex"))
    result["one_turn_tz_kiritimati"] = s.save(
        ctx.out / "one_turn_tz_kiritimati", {"naming": naming_facts(s)}
    )
    shutil.rmtree(s.root, ignore_errors=True)

    # directory naming: collisions and odd paths, one short turn each, one shared home
    old = ctx.servers.server(kind).delay
    ctx.servers.server(kind).delay = min(old, 0.5)
    try:
        if kind == "gemini":
            s = Session(ctx, "naming", ws_rel=f"a/{WS_NAME}")
            second = s.root / "b" / WS_NAME
            others = [second, s.root / "c" / "wörk", s.root / "d" / "Ab__C..d"]
            for w in others:
                w.mkdir(parents=True)
                s.extra_ws.append(w)
            for w in (s.ws, *others):
                s.run(turn_args(kind, 1, json_mode=True), cwd=w)
            result["naming"] = s.save(ctx.out / "naming", {"naming": naming_facts(s)})
            shutil.rmtree(s.root, ignore_errors=True)
        elif kind == "claude":
            s = Session(ctx, "naming", ws_rel="x/a_b")
            others = [
                s.root / "x" / "a.b",
                s.root / "x" / "Ab__C..d",
                s.root / "x" / ("long-" + "d" * 240),
            ]
            for w in others:
                w.mkdir(parents=True)
                s.extra_ws.append(w)
            for w in (s.ws, *others):
                s.run(turn_args(kind, 1, json_mode=True), cwd=w)
            result["naming"] = s.save(ctx.out / "naming", {"naming": naming_facts(s)})
            shutil.rmtree(s.root, ignore_errors=True)
    finally:
        ctx.servers.server(kind).delay = old
    return result


def _tmux(sock: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["tmux", "-S", str(sock), *args], capture_output=True, text=True, env=env, timeout=20
    ).stdout


def _rollout_count(home: Path, needle: str) -> int:
    return sum(
        line.count(needle) for f in native_files("codex", home) for line in read_lines(f)
    )


def scenario_codex_interactive(ctx: Ctx, idle_s: float = 11.0) -> dict[str, Any]:
    """The TUI in tmux: idle ``idle_s`` s, two prompts, quit; what is left running."""
    if shutil.which("tmux") is None:
        return {"skipped": "tmux not installed"}
    s = Session(ctx, "interactive_tmux")
    sock = s.root / "tmux.sock"
    env = {**s.env, "TERM": "xterm-256color"}
    events: list[dict[str, Any]] = []
    t0 = time.monotonic()
    t0_wall = time.time()
    watcher = Watcher("codex", s.home, t0).start()

    def now() -> float:
        return round(time.monotonic() - t0, 3)

    def screen() -> str:
        return _tmux(sock, "capture-pane", "-p", "-t", "agent")

    _tmux(sock, "new-session", "-d", "-s", "agent", "-x", "160", "-y", "45", "-c", str(s.ws),
          ctx.exe, env=env)
    pane_pid = int(_tmux(sock, "display", "-p", "-t", "agent", "#{pane_pid}").strip() or 0)
    events.append({"t": now(), "event": "launched", "pane_pid": bool(pane_pid)})

    def handle_dialogs() -> None:
        text = screen()
        if "Use existing model" in text:
            events.append({"t": now(), "event": "dialog: model upgrade offer -> 2 (existing)"})
            _tmux(sock, "send-keys", "-t", "agent", "2")
            time.sleep(0.3)
            if "Use existing model" in screen():
                _tmux(sock, "send-keys", "-t", "agent", "Enter")
        elif "trust" in text.lower() and "folder" in text.lower():
            events.append({"t": now(), "event": "dialog: trust folder -> Enter"})
            _tmux(sock, "send-keys", "-t", "agent", "Enter")

    try:
        while now() < idle_s:
            handle_dialogs()
            time.sleep(0.5)
        idle_files = [str(p.relative_to(s.home)) for p in native_files("codex", s.home)]
        events.append({"t": now(), "event": "idle over", "native_files": idle_files})
        for turn, prompt in ((1, PROMPT1), (2, PROMPT2)):
            handle_dialogs()
            _tmux(sock, "send-keys", "-t", "agent", "-l", prompt)
            time.sleep(0.3)
            _tmux(sock, "send-keys", "-t", "agent", "Enter")
            events.append({"t": now(), "event": f"prompt {turn} submitted"})
            end = time.monotonic() + 60
            while time.monotonic() < end:
                if _rollout_count(s.home, '"type":"task_complete"') >= turn:
                    events.append({"t": now(), "event": f"turn {turn} task_complete seen"})
                    break
                time.sleep(0.1)
            else:
                events.append({"t": now(), "event": f"turn {turn} did not complete"})
                break
            time.sleep(1.0)
        final_screen = screen()
        for key in ("C-c", "C-c"):
            _tmux(sock, "send-keys", "-t", "agent", key)
            time.sleep(0.7)
        end = time.monotonic() + 10
        while pane_pid and Path(f"/proc/{pane_pid}").exists() and time.monotonic() < end:
            time.sleep(0.1)
        events.append({"t": now(), "event": "TUI exited",
                       "exited": not (pane_pid and Path(f"/proc/{pane_pid}").exists())})
        time.sleep(2.0)  # let daemons settle, then see what is still running
        watcher.stop()
    finally:
        _tmux(sock, "kill-server")
        if pane_pid:
            kill_pid_tree(pane_pid)
        time.sleep(0.5)
        strays = cleanup_strays(s.root)
    sc = s.scrubber()
    end_files = set(watcher._all_files())
    report = watcher.report(end_files)
    s.runs.append(
        Run(argv=[ctx.exe, "(interactive, in tmux)"], exit_code=None,
            duration_s=now(), stdout="", stderr="", t0_wall=t0_wall, watch=report,
            strays=strays, timed_out=False)
    )
    rec = s.save(ctx.out / "interactive_tmux")
    (ctx.out / "interactive_tmux" / "screen.txt").write_text(
        sc.text("\n".join(x.rstrip() for x in final_screen.splitlines()).strip()) + "\n",
        encoding="utf-8",
    )
    rec["events"] = events
    rec["left_running_after_tui_exit"] = [sc.text(x) for x in strays]
    shutil.rmtree(s.root, ignore_errors=True)
    return rec


def _wait_for_second(lo: int, hi: int) -> None:
    """Sleep until the UTC clock's seconds are within [lo, hi]."""
    while not lo <= time.gmtime().tm_sec <= hi:
        time.sleep(0.2)


def scenario_gemini_resume_minute(ctx: Ctx) -> dict[str, Any]:
    """Gemini names a chat by the minute it starts; does a resume in a later minute differ
    from one in the same minute?  Short model delay (0.5 s) so both turns fit a minute."""
    out: dict[str, Any] = {}
    srv = ctx.servers.server("gemini")
    old = srv.delay
    srv.delay = min(old, 0.5)
    try:
        for name, next_minute in (("resume_same_minute", False), ("resume_next_minute", True)):
            s = Session(ctx, name, hooks=False)
            _wait_for_second(1, 8)
            r1 = s.run(turn_args("gemini", 1, json_mode=True))
            if next_minute:  # wait for the next UTC minute, then 2 s more
                minute = time.gmtime(r1.t0_wall).tm_min
                while time.gmtime().tm_min == minute:
                    time.sleep(0.2)
                _wait_for_second(2, 6)
            s.run(turn_args("gemini", 2, json_mode=True))
            out[name] = s.save(ctx.out / name, {"naming": naming_facts(s)})
            out[name]["utc_turn_starts"] = [
                time.strftime("%H:%M:%S", time.gmtime(r.t0_wall)) for r in s.runs
            ]
            shutil.rmtree(s.root, ignore_errors=True)
    finally:
        srv.delay = old
    return out


def scenario_stdin_open(ctx: Ctx, limit: float = 15.0) -> dict[str, Any]:
    """One turn with stdin an open, silent pipe: who waits for EOF, and how long?"""
    s = Session(ctx, "stdin_open", hooks=False)
    srv = ctx.servers.server(ctx.kind)
    old = srv.delay
    srv.delay = min(old, 0.5)
    try:
        r = s.run(turn_args(ctx.kind, 1, json_mode=False), timeout=limit, stdin_open=True)
    finally:
        srv.delay = old
    sc = s.scrubber()
    rec = {
        "argv": ["<cli>", *r.argv[1:]],
        "model_delay_s": min(old, 0.5),
        "limit_s": limit,
        "exit_code": r.exit_code,
        "still_running_at_limit": r.timed_out,
        "duration_s": r.duration_s,
        "model_requests": len(s.requests_since(r.t0_wall, r.t0_wall + r.duration_s)),
        "native_files": sorted(sc.text(k) for k in r.watch["native_files"]),
        "stdout": sc.text(r.stdout)[:300],
        "stderr": sc.text(r.stderr)[-600:],
    }
    shutil.rmtree(s.root, ignore_errors=True)
    return rec


def scenario_cli_outputs(ctx: Ctx) -> dict[str, Any]:
    """--help, --version and an unknown flag: outputs (trimmed) and exit codes."""
    s = Session(ctx, "cli_outputs", hooks=False)
    sc = s.scrubber()
    dest = ctx.out / "cli"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out: dict[str, Any] = {}
    cases = {
        "help": ["--help"],
        "version": ["--version"],
        "unknown_flag": [UNKNOWN_FLAG],
        "unknown_no_prefix_flag": [NO_PREFIX_FLAG],
    }
    if ctx.kind == "codex":
        cases["exec_help"] = ["exec", "--help"]
        cases["exec_unknown_flag"] = ["exec", UNKNOWN_FLAG, "hi"]
    if ctx.kind == "claude":
        cases["print_unknown_flag"] = ["-p", "hi", UNKNOWN_FLAG]
    if ctx.kind == "gemini":
        cases["print_unknown_flag"] = ["-m", GEMINI_MODEL, "-p", "hi", UNKNOWN_FLAG]
    for name, args in cases.items():
        r = s.run(args)
        for stream, text in (("stdout", r.stdout), ("stderr", r.stderr)):
            text = sc.text(text)
            if len(text) > 6000:
                text = text[:6000] + "\n…[trimmed]\n"
            (dest / f"{name}.{stream}").write_text(text, encoding="utf-8")
        out[name] = {
            "argv": ["<cli>", *args],
            "exit_code": r.exit_code,
            "timed_out": r.timed_out,
            "duration_s": r.duration_s,
            "stdout_bytes": len(r.stdout.encode()),
            "stderr_bytes": len(r.stderr.encode()),
            "stdout_first_line": sc.text((r.stdout.strip().splitlines() or [""])[0])[:200],
            "stderr_first_line": sc.text((r.stderr.strip().splitlines() or [""])[0])[:200],
            "home_files_created": len(r.watch["home_files"]),
        }
    shutil.rmtree(s.root, ignore_errors=True)
    return out


def installed(cache: Path) -> list[tuple[str, str, str]]:
    found = []
    for d in sorted(cache.iterdir()):
        if not d.is_dir() or "-" not in d.name:
            continue
        kind, _, version = d.name.partition("-")
        exe = d / "node_modules" / ".bin" / BIN.get(kind, "")
        if kind in BIN and exe.exists():
            found.append((kind, version, str(exe)))
    return found


def _rng(xs: list[float]) -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    lo, hi = min(xs), max(xs)
    return f"{lo:.2f}" if lo == hi else f"{lo:.2f} to {hi:.2f}"


def _counts(xs: list[int]) -> str:
    vals = sorted(set(x for x in xs if x is not None))
    return "/".join(str(v) for v in vals) or "-"


def summarize_fixtures(fixtures: Path) -> str:
    """Markdown tables of the measured moments, from every ``timings.json``."""
    rows = [
        "| CLI | runs | file first seen (s) | first model POST (s) | lines at first sight |"
        " lines at turn end | 2nd turn: lines before → after | exit codes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tfile in sorted(fixtures.glob("*/timings.json")):
        t = json.loads(tfile.read_text(encoding="utf-8"))
        if "sessions" not in t:
            continue
        S = t["sessions"]
        first, n1, nend, post, codes = [], [], [], [], []
        for rep in S["one_turn_text_repeats"]:
            codes += rep["exit_codes"]
            for n in rep["native"]:
                first.append(n["first_seen_s"])
                n1.append(n["lines_at_first_sight"])
                nend.append(n["lines_at_end"])
        for sc in ("one_turn_text", "two_turn_json", "one_turn_tz_kiritimati"):
            runs = S[sc]["runs"]
            post += [
                next((q["received_s"] for q in r["requests"] if q["method"] == "POST"), None)
                for r in runs[:1]
            ]
            if sc == "one_turn_text":
                continue
            codes += [r["exit_code"] for r in runs]
            for n in runs[0]["native_files"].values():
                first.append(n["first_seen_s"])
                n1.append(n["lines_at_first_sight"])
                nend.append(n["lines_at_end"])
        t2 = S["two_turn_json"]["runs"][1]["native_files"]
        t2s = "; ".join(
            f"{v['lines_before_run']} → {v['lines_at_end']}" for v in t2.values()
        )
        rows.append(
            f"| {t['cli']} {t['version']} | {len(first)} | {_rng(first)} | {_rng(post)} |"
            f" {_counts(n1)} | {_counts(nend)} | {t2s} | {_counts(codes)} |"
        )
    return "\n".join(rows) + "\n"


SCENARIOS = ("sessions", "gemini_resume_minute", "interactive", "stdin_open", "cli")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/work/cli-cache"))
    ap.add_argument("--out", type=Path, default=HERE / "fixtures")
    ap.add_argument("--only", nargs="*", help="e.g. codex-0.171.0 claude-2.1.197")
    ap.add_argument("--delay", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--scenarios",
        nargs="*",
        default=list(SCENARIOS),
        choices=list(SCENARIOS),
        help="a subset is merged into an existing timings.json",
    )
    ap.add_argument("--summarize", action="store_true", help="print tables from --out")
    a = ap.parse_args()
    if a.summarize:
        print(summarize_fixtures(a.out))
        return 0
    base_tmp = Path(tempfile.gettempdir()) / "fidelity-run"
    with MockServers(delay=a.delay, text="Hello from the mock model.") as servers:
        for kind, version, exe in installed(a.cache):
            name = f"{kind}-{version}"
            if a.only and name not in a.only:
                continue
            print(f"== {name}", flush=True)
            out = a.out / name
            out.mkdir(parents=True, exist_ok=True)
            ctx = Ctx(kind, version, exe, servers, out, base_tmp / name, a.delay)
            started = time.time()
            tfile = out / "timings.json"
            timings: dict[str, Any] = {}
            if set(a.scenarios) != set(SCENARIOS) and tfile.exists():
                timings = json.loads(tfile.read_text(encoding="utf-8"))
            timings |= {
                "cli": kind,
                "version": version,
                "recorded_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "model_delay_s": a.delay,
                "poll_interval_s": POLL,
                "node": subprocess.run(
                    ["node", "--version"], capture_output=True, text=True
                ).stdout.strip(),
            }
            try:
                if "sessions" in a.scenarios:
                    timings["sessions"] = scenario_sessions(ctx, a.repeat)
                if "gemini_resume_minute" in a.scenarios and kind == "gemini":
                    timings["gemini_resume_minute"] = scenario_gemini_resume_minute(ctx)
                if "interactive" in a.scenarios and kind == "codex":
                    timings["interactive_tmux"] = scenario_codex_interactive(ctx)
                if "stdin_open" in a.scenarios:
                    timings["stdin_open"] = scenario_stdin_open(ctx)
                if "cli" in a.scenarios:
                    timings["cli_outputs"] = scenario_cli_outputs(ctx)
            finally:
                shutil.rmtree(ctx.tmp, ignore_errors=True)
            timings["elapsed_s"] = round(time.time() - started, 1)
            tfile.write_text(
                json.dumps(timings, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
            print(f"   done in {timings['elapsed_s']} s", flush=True)
    shutil.rmtree(base_tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
