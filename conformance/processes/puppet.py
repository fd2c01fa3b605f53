"""The fake ``codex``, ``claude`` and ``gemini`` executables: puppets of the harness.

Each executable the harness puts on ``PATH`` (:func:`conformance.processes.bin.install`)
runs this file with the CLI it plays. It does what the real CLI does at its edges:
parses the command lines orchestrators use (and refuses an unknown flag with the real
CLI's kind of message and exit status), answers ``--help`` and ``--version``, prints
what the real CLI prints on stdout in each output mode, runs the hooks its
configuration names (Codex's ``notify`` program of ``$CODEX_HOME/config.toml``, Claude
Code's ``SessionStart`` and ``Stop`` hooks of ``settings.json``) with the real payloads,
and dies of ``SIGTERM``/``SIGINT`` as the real ones do.

It does nothing on its own clock. It registers with the harness (argv, cwd,
environment, pid) over the socket of :mod:`conformance.processes.wire`, and the
harness decides, on the harness clock and from the drawn profile, when the session
starts, when the native file appears (the harness writes it), when a turn completes
and when the process exits. A fake whose harness has gone exits at once.

Standard library only: this file runs as a script, without importing the package.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

if __package__:
    from conformance.processes import wire
else:  # run by the executables as a plain module: importing the package is slow
    import wire  # type: ignore[no-redef,import-not-found]

#: The versions each fake plays when the harness names none (the newest measured).
DEFAULT_VERSIONS = {"codex": "0.171.0", "claude": "2.1.328", "gemini": "0.61.0"}


class UsageError(Exception):
    """A command line the real CLI refuses: ``message`` on stderr, exit ``status``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# -- command lines --------------------------------------------------------------------

def _version(kind: str) -> str:
    return os.environ.get(wire.VERSION_ENV.format(kind=kind.upper()), DEFAULT_VERSIONS[kind])


_CODEX_EXEC_FLAGS = {"--json", "--skip-git-repo-check", "--full-auto", "--ephemeral",
                     "--dangerously-bypass-approvals-and-sandbox", "--oss"}
_CODEX_EXEC_VALUES = {"-C", "--cd", "-m", "--model", "-c", "--config", "-s", "--sandbox",
                      "-p", "--profile", "--color", "-o", "--output-last-message",
                      "--add-dir", "-i", "--image", "--output-schema"}


def _value(argv: list[str], index: int, inline: str | None, missing: UsageError
           ) -> tuple[str, int]:
    """An option's value: after ``=`` (``inline``) or the next argument; ``missing``
    is raised when there is none. Returns the value and the index after it."""
    if inline is not None:
        return inline, index
    if index < len(argv):
        return argv[index], index + 1
    raise missing


def _clap_unknown(arg: str, usage: str) -> UsageError:
    return UsageError(
        f"error: unexpected argument '{arg}' found\n\n"
        f"  tip: to pass '{arg}' as a value, use '-- {arg}'\n\n"
        f"{usage}\n\nFor more information, try '--help'.\n", 2)


#: The options of the interactive ``codex [OPTIONS] [PROMPT]`` the fake knows.
_CODEX_TUI_VALUES = {"-C", "--cd", "-m", "--model", "-c", "--config", "-s", "--sandbox",
                     "-p", "--profile", "-a", "--ask-for-approval"}
_CODEX_TUI_FLAGS = {"--full-auto", "--dangerously-bypass-approvals-and-sandbox", "--oss",
                    "--search"}


def _codex_option(argv: list[str], index: int, arg: str, parsed: dict[str, Any]) -> int:
    """Take the value of the Codex option ``arg`` (``--cd DIR`` or ``--cd=DIR``, the
    next argument being at ``index``) into ``parsed``; the index after it."""
    name, eq, inline = arg.partition("=")
    value, index = _value(argv, index, inline if eq else None, UsageError(
        f"error: a value is required for '{name} <VALUE>' but none was "
        f"supplied\n\nFor more information, try '--help'.\n", 2))
    if name in ("-C", "--cd"):
        parsed["cd"] = value
    elif name in ("-m", "--model"):
        parsed["model"] = value
    elif name in ("-c", "--config"):
        parsed["config"].append(value)
    return index


def _parse_codex_tui(argv: list[str]) -> dict[str, Any]:
    """``codex [OPTIONS] [PROMPT]``: the interactive Codex, in a terminal (tmux)."""
    usage = "Usage: codex [OPTIONS] [PROMPT]\n       codex [OPTIONS] <COMMAND> [ARGS]"
    parsed: dict[str, Any] = {"mode": "interactive", "json": False, "cd": None,
                              "model": None, "resume": None, "last": False,
                              "prompt": None, "config": []}
    positional: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in _CODEX_TUI_FLAGS:
            continue
        if arg.partition("=")[0] in _CODEX_TUI_VALUES:
            index = _codex_option(argv, index, arg, parsed)
            continue
        if arg.startswith("-"):
            raise _clap_unknown(arg, usage)
        positional.append(arg)
    if len(positional) > 1:
        raise _clap_unknown(positional[1], usage)
    parsed["prompt"] = positional[0] if positional else None
    return parsed


def parse_codex(argv: list[str]) -> dict[str, Any]:
    """``codex exec [OPTIONS] [PROMPT]`` and ``codex exec resume --last|ID [PROMPT]``."""
    if not argv:
        return _parse_codex_tui(argv)
    if argv[0] in ("--version", "-V"):
        return {"mode": "version"}
    if argv[0] in ("--help", "-h"):
        return {"mode": "help", "text": _codex_help()}
    if argv[0].startswith("-") and argv[0] not in _CODEX_EXEC_VALUES | _CODEX_EXEC_FLAGS:
        raise _clap_unknown(argv[0], "Usage: codex [OPTIONS] [PROMPT]\n"
                                     "       codex [OPTIONS] <COMMAND> [ARGS]")
    if argv[0] not in ("exec", "e"):
        return _parse_codex_tui(argv)
    usage = ("Usage: codex exec [OPTIONS] [PROMPT]\n"
             "       codex exec [OPTIONS] <COMMAND> [ARGS]")
    parsed: dict[str, Any] = {"mode": "exec", "json": False, "cd": None, "model": None,
                              "resume": None, "last": False, "prompt": None, "config": []}
    rest = argv[1:]
    positional: list[str] = []
    index = 0
    while index < len(rest):
        arg = rest[index]
        index += 1
        if arg == "--":
            positional.extend(rest[index:])
            break
        if arg in ("--help", "-h"):
            return {"mode": "help", "text": _codex_help(exec_=True)}
        if arg in _CODEX_EXEC_FLAGS or arg == "--last":
            if arg == "--json":
                parsed["json"] = True
            if arg == "--last":
                if parsed["resume"] is None:
                    raise _clap_unknown(arg, usage)
                parsed["last"] = True
            continue
        if arg.partition("=")[0] in _CODEX_EXEC_VALUES:
            index = _codex_option(rest, index, arg, parsed)
            continue
        if arg.startswith("-") and arg != "-":
            raise _clap_unknown(arg, usage)
        if not positional and arg == "resume" and parsed["resume"] is None:
            parsed["resume"] = True
            continue
        positional.append(arg)
    if parsed["resume"]:
        if not parsed["last"]:
            if not positional:
                raise UsageError("Error: `codex exec resume` needs a session id or "
                                 "--last\n", 2)
            parsed["resume"] = positional.pop(0)
        else:
            parsed["resume"] = "last"
    else:
        parsed["resume"] = None
    if len(positional) > 1:
        raise _clap_unknown(positional[1], usage)
    parsed["prompt"] = positional[0] if positional else None
    return parsed


def _codex_help(exec_: bool = False) -> str:
    if exec_:
        return ("Run Codex non-interactively\n\n"
                "Usage: codex exec [OPTIONS] [PROMPT]\n"
                "       codex exec [OPTIONS] <COMMAND> [ARGS]\n\n"
                "Commands:\n  resume  Resume a previous session by id or pick the most "
                "recent with --last\n\n"
                "Arguments:\n  [PROMPT]  Initial instructions for the agent (read from "
                "stdin when absent or '-')\n\n"
                "Options:\n  -C, --cd <DIR>  working root\n  -m, --model <MODEL>\n"
                "      --json  Print events to stdout as JSONL\n"
                "      --skip-git-repo-check\n  -h, --help\n")
    return ("Codex CLI\n\nUsage: codex [OPTIONS] [PROMPT]\n"
            "       codex [OPTIONS] <COMMAND> [ARGS]\n\n"
            "Commands:\n  exec  Run Codex non-interactively [aliases: e]\n\n"
            "Options:\n  -h, --help     Print help\n  -V, --version  Print version\n")


_CLAUDE_FLAGS = {"-p", "--print", "--verbose", "--dangerously-skip-permissions", "-c",
                 "--continue", "--include-partial-messages", "--debug"}
_CLAUDE_VALUES = {"--output-format", "--resume", "-r", "--session-id", "--model",
                  "--permission-mode", "--settings", "--add-dir", "--allowedTools",
                  "--allowed-tools", "--disallowedTools", "--input-format",
                  "--append-system-prompt", "--max-turns", "--mcp-config"}


def parse_claude(argv: list[str]) -> dict[str, Any]:
    """``claude -p PROMPT [--output-format text|json|stream-json] [--resume ID]
    [--session-id ID]``."""
    parsed: dict[str, Any] = {"mode": "print", "print": False, "output": "text",
                              "resume": None, "session_id": None, "verbose": False,
                              "prompt": None, "settings": None, "continue": False}
    positional: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in ("-v", "--version"):
            return {"mode": "version"}
        if arg in ("-h", "--help"):
            return {"mode": "help", "text": _claude_help()}
        if arg == "--":
            positional.extend(argv[index:])
            break
        if arg in _CLAUDE_FLAGS:
            if arg in ("-p", "--print"):
                parsed["print"] = True
            elif arg == "--verbose":
                parsed["verbose"] = True
            elif arg in ("-c", "--continue"):
                parsed["continue"] = True
            continue
        name, eq, inline = arg.partition("=")
        if name in _CLAUDE_VALUES:
            value, index = _value(argv, index, inline if eq else None, UsageError(
                f"error: option '{name} <value>' argument missing\n", 1))
            if name == "--output-format":
                if value not in ("text", "json", "stream-json"):
                    raise UsageError(
                        f"error: option '--output-format <format>' argument '{value}' is "
                        "invalid. Allowed choices are text, json, stream-json.\n", 1)
                parsed["output"] = value
            elif name in ("--resume", "-r"):
                parsed["resume"] = value
            elif name == "--session-id":
                parsed["session_id"] = value
            elif name == "--settings":
                parsed["settings"] = value
            continue
        if arg.startswith("-") and arg != "-":
            raise UsageError(f"error: unknown option '{name}'\n", 1)
        positional.append(arg)
    if not parsed["print"]:
        raise UsageError("Error: the interactive Claude Code UI is not played by this "
                         "fake (use -p)\n", 1)
    if parsed["output"] == "stream-json" and not parsed["verbose"]:
        raise UsageError("Error: When using --print, --output-format=stream-json "
                         "requires --verbose\n", 1)
    parsed["prompt"] = " ".join(positional) if positional else None
    return parsed


def _claude_help() -> str:
    return ("Usage: claude [options] [command] [prompt]\n\n"
            "Claude Code - starts an interactive session by default, use -p/--print for "
            "non-interactive output\n\n"
            "Options:\n  -p, --print                 Print response and exit\n"
            "  --output-format <format>    \"text\", \"json\" or \"stream-json\"\n"
            "  -r, --resume [value]        Resume a conversation by session ID\n"
            "  --session-id <uuid>         Use a specific session ID\n"
            "  -v, --version               Output the version number\n"
            "  -h, --help                  Display help for command\n")


_GEMINI_FLAGS = {"-y", "--yolo", "-d", "--debug", "-s", "--sandbox"}
_GEMINI_VALUES = {"-p", "--prompt", "-m", "--model", "-r", "--resume", "-o",
                  "--output-format", "--approval-mode", "--include-directories"}


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


def parse_gemini(argv: list[str]) -> dict[str, Any]:
    """``gemini -p PROMPT [-m MODEL] [--resume latest] [--output-format json]``."""
    parsed: dict[str, Any] = {"mode": "prompt", "prompt": None, "model": None,
                              "resume": None, "output": "text"}
    positional: list[str] = []
    unknown: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in ("-v", "--version"):
            return {"mode": "version"}
        if arg in ("-h", "--help"):
            return {"mode": "help", "text": _gemini_help()}
        if arg in _GEMINI_FLAGS:
            continue
        if arg in ("--acp", "--experimental-acp"):
            parsed["acp"] = True
            continue
        name, eq, inline = arg.partition("=")
        if name in _GEMINI_VALUES:
            value, index = _value(argv, index, inline if eq else None, UsageError(
                f"Not enough arguments following: {name.lstrip('-')}\n" + _gemini_help(), 1))
            if name in ("-p", "--prompt"):
                parsed["prompt"] = value
            elif name in ("-m", "--model"):
                parsed["model"] = value
            elif name in ("-r", "--resume"):
                parsed["resume"] = value
            elif name in ("-o", "--output-format"):
                if value not in ("text", "json", "stream-json"):
                    raise UsageError(f"Invalid values:\n  Argument: output-format, Given: "
                                     f"\"{value}\", Choices: \"text\", \"json\", "
                                     f"\"stream-json\"\n", 1)
                parsed["output"] = value
            continue
        if arg.startswith("-") and arg != "-":
            bare = name.lstrip("-")
            if bare.startswith("no-"):
                bare = bare[3:]  # yargs reads --no-X as "X = false"
            unknown.extend([bare, _camel(bare)] if "-" in bare else [bare])
            continue
        positional.append(arg)
    if unknown:
        raise UsageError(f"Unknown arguments: {', '.join(unknown)}\n" + _gemini_help(), 1)
    if parsed["prompt"] is None and positional:
        parsed["prompt"] = " ".join(positional)
    if parsed.pop("acp", False):
        # The agent of the Agent Client Protocol: JSON-RPC on stdin and stdout.
        return {**parsed, "mode": "acp", "prompt": None}
    if parsed["prompt"] is None:
        raise UsageError("Error: the interactive Gemini CLI is not played by this fake "
                         "(use -p or --acp)\n", 1)
    return parsed


def _gemini_help() -> str:
    return ("Usage: gemini [options] [command]\n\n"
            "Gemini CLI - Defaults to interactive mode. Use -p/--prompt for "
            "non-interactive (headless) mode.\n\n"
            "Options:\n  -m, --model          Model\n  -p, --prompt         Prompt. "
            "Appended to input on stdin (if any).\n"
            "  -r, --resume         Resume a previous session: \"latest\" or an index\n"
            "  -o, --output-format  The format of the CLI output. [choices: \"text\", "
            "\"json\", \"stream-json\"]\n"
            "      --acp            Starts the agent in ACP mode\n"
            "      --experimental-acp  Starts the agent in ACP mode (deprecated, use --acp "
            "instead)\n"
            "  -v, --version        Show version number\n  -h, --help           Show help\n")


PARSERS = {"codex": parse_codex, "claude": parse_claude, "gemini": parse_gemini}

#: The tool each CLI names for an ACP tool call of a kind (a shell command otherwise).
_CLAUDE_TOOLS = {"read": "Read", "edit": "Edit", "search": "Grep", "fetch": "WebFetch"}
_GEMINI_TOOLS = {"read": "read_file", "edit": "replace", "search": "search_file_content",
                 "fetch": "web_fetch"}


# -- hooks ----------------------------------------------------------------------------

def _home(kind: str, env: dict[str, str]) -> Path:
    user = Path(env.get("HOME", "~")).expanduser()
    if kind == "codex":
        return Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else user / ".codex"
    if kind == "claude":
        return (Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR")
                else user / ".claude")
    return user / ".gemini"


def _models() -> Any:
    """:mod:`conformance.processes.models`, imported when first needed (a fake that
    asks no model never pays for it), as a package module or beside this script."""
    if __package__:
        from conformance.processes import models
    else:
        import models  # type: ignore[no-redef,import-not-found]
    return models


def _iso(at: float | None) -> str:
    """A line's ``timestamp``: ISO-8601 UTC with milliseconds, at harness time ``at``."""
    import time
    seconds = at if at is not None else time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + (
        f".{int(seconds * 1000) % 1000:03d}Z")


def _release(text: object) -> tuple[int, ...]:
    """``"0.61.0"`` as ``(0, 61, 0)``; ``()`` for anything else."""
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return ()


def codex_notify(env: dict[str, str]) -> list[str] | None:
    """The ``notify`` program of ``$CODEX_HOME/config.toml`` (a list of strings)."""
    path = _home("codex", env) / "config.toml"
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    notify = config.get("notify")
    if isinstance(notify, list) and notify and all(isinstance(a, str) for a in notify):
        return list(notify)
    return None


def claude_hooks(event: str, env: dict[str, str], cwd: Path,
                 extra_settings: str | None) -> list[str]:
    """The commands Claude Code runs for ``event``: user, project, local and
    ``--settings`` files, in that order."""
    files = [_home("claude", env) / "settings.json", cwd / ".claude" / "settings.json",
             cwd / ".claude" / "settings.local.json"]
    if extra_settings:
        files.append(Path(extra_settings))
    commands: list[str] = []
    for path in files:
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        groups = settings.get("hooks", {}).get(event, []) if isinstance(settings, dict) else []
        for group in groups if isinstance(groups, list) else []:
            for hook in group.get("hooks", []) if isinstance(group, dict) else []:
                if (isinstance(hook, dict) and hook.get("type") == "command"
                        and isinstance(hook.get("command"), str)):
                    commands.append(hook["command"])
    return commands


# -- the puppet -----------------------------------------------------------------------

class Puppet:
    """One fake CLI process, connected to its harness."""

    def __init__(self, kind: str, argv: list[str], parsed: dict[str, Any]) -> None:
        self.kind = kind
        self.argv = argv
        self.parsed = parsed
        self.env = dict(os.environ)
        cd = parsed.get("cd")
        self.cwd = Path(cd).resolve() if cd else Path.cwd()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.reader = wire.Reader(self.sock)
        self.session: dict[str, Any] = {}
        self.hooks_run: list[dict[str, Any]] = []
        #: The last message text streamed: a final answer streamed already is not
        #: printed again at the turn's end.
        self.last_streamed: str | None = None
        #: The JSON lines printed on stdout since the last answer: the harness reads
        #: them off the answer (what the orchestrator was shown, for its canonical log).
        self.printed: list[dict[str, Any]] = []
        #: Each tool call's title, ACP kind and item id (Codex), by its call id; plans
        #: shown so far (Claude Code), Codex's todo_list item; lines with a uuid.
        self.tools: dict[str, tuple[str, str, str]] = {}
        self.plans = 0
        self.plan_item: str | None = None
        self.plan: dict[str, Any] | None = None
        self.lines = 0
        self.next_item = 0

    def connect(self, name: str) -> None:
        self.sock.connect(wire.address(name))

    def on_signal(self, signum: int, _frame: object) -> None:
        try:
            wire.send(self.sock, {"event": "signal", "signum": signum})
        except OSError:
            self._die(1)

    def run(self, stdin_prompt: str | None) -> None:
        wire.send(self.sock, {"event": "register", "kind": self.kind, "argv": self.argv,
                              "parsed": self.parsed, "cwd": str(self.cwd),
                              "env": self.env, "pid": os.getpid(), "pgid": os.getpgrp(),
                              "stdin_prompt": stdin_prompt})
        if self.parsed.get("mode") == "interactive":
            self.run_terminal()
            return
        if self.parsed.get("mode") == "acp":
            self.run_acp()
            return
        while True:
            try:
                order = self.reader.read()
            except wire.WireError:
                order = None
            if order is None:
                self._die(1)  # the harness is gone: never linger
                return
            self.obey(order)

    def run_terminal(self) -> None:
        """The interactive Codex: every line typed at its terminal (``tmux send-keys``)
        is a prompt for the session, the first one starts it; ``/quit``, ``/exit`` or
        the end of input quit. The orders of the harness come in between."""
        typed = b""

        def drain() -> None:
            # What was typed before the harness asked is the harness's to know first:
            # the orchestrator typed it during its call.
            nonlocal typed
            while select.select([sys.stdin], [], [], 0)[0]:
                chunk = os.read(sys.stdin.fileno(), 4096)
                typed = self._typed(typed + chunk, ended=not chunk)
                if not chunk:
                    break

        while True:
            ready = select.select([self.sock, sys.stdin], [], [])[0]
            if sys.stdin in ready:
                chunk = os.read(sys.stdin.fileno(), 4096)
                typed = self._typed(typed + chunk, ended=not chunk)
            if self.sock in ready:
                self._take_orders(drain)

    def run_acp(self) -> None:
        """The ACP agent (``gemini --acp``): every JSON-RPC line on stdin goes to the
        harness, which plays the agent and orders the lines to print (``acp``); the end
        of stdin quits, as it does the real one (exit status 0)."""
        pending = b""
        ended = False

        def take(chunk: bytes) -> None:
            nonlocal pending, ended
            if not chunk:
                ended = True
                wire.send(self.sock, {"event": "quit"})
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for raw in lines:
                if raw.strip():
                    wire.send(self.sock, {"event": "acp",
                                          "line": raw.decode("utf-8", "replace")})

        def drain() -> None:
            # What the client wrote before the harness asked came first.
            while not ended and select.select([sys.stdin], [], [], 0)[0]:
                take(os.read(sys.stdin.fileno(), 65536))

        while True:
            ready = select.select([self.sock] + ([] if ended else [sys.stdin]), [], [])[0]
            if sys.stdin in ready:
                take(os.read(sys.stdin.fileno(), 65536))
            if self.sock in ready:
                self._take_orders(drain)

    def _take_orders(self, drain: Callable[[], None]) -> None:
        """Obey the harness's next order and any already buffered, for a puppet that
        also reads its stdin: ``drain`` reads what stdin holds before a ``sync`` is
        answered. A harness that is gone ends the process."""
        try:
            order = self.reader.read()
        except wire.WireError:
            order = None
        if order is None:
            self._die(1)
        if order.get("op") == "sync":
            drain()
        self.obey(order)
        while self.reader.pending():
            self.obey(self.reader.read() or {"op": "exit", "code": 1})

    def _typed(self, typed: bytes, *, ended: bool) -> bytes:
        """Send every complete line of ``typed`` as a prompt; the rest stays typed."""
        *lines, rest = typed.replace(b"\r", b"\n").split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if line in ("/quit", "/exit"):
                wire.send(self.sock, {"event": "quit"})
            elif line:
                wire.send(self.sock, {"event": "prompt", "text": line})
        if ended:
            wire.send(self.sock, {"event": "quit"})
        return rest

    def obey(self, order: dict[str, Any]) -> None:
        op = order.get("op")
        answer: dict[str, Any] = {"event": "done", "op": op}
        if op == "started":
            self.session = dict(order.get("session", {}))
            answer["hooks"] = self.started()
        elif op == "turn_complete":
            answer["hooks"] = self.turn_complete(order.get("turn", {}))
        elif op == "update":
            at = order.get("at")
            self.stream(dict(order.get("update") or {}),
                        float(at) if isinstance(at, (int, float)) else None)
        elif op == "acp":
            self._out(dict(order.get("message") or {}))
        elif op == "exchange":
            answer["result"] = self.exchange(str(order.get("exchange", "")),
                                             dict(order.get("request") or {}))
        elif op == "write":
            stream = sys.stdout if order.get("stream") == "stdout" else sys.stderr
            stream.write(str(order.get("text", "")))
            stream.flush()
        elif op == "exit":
            self._flush()
            wire.send(self.sock, answer)
            signum = order.get("signal")
            if isinstance(signum, int) and signum > 0:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            self._die(int(order.get("code", 0)))
        answer["pid"] = os.getpid()
        if self.printed and not order.get("replay"):
            answer["printed"] = self.printed
        self.printed = []
        wire.send(self.sock, answer)

    # -- what each CLI shows at its edges ----------------------------------------

    def started(self) -> list[dict[str, Any]]:
        s = self.session
        hooks: list[dict[str, Any]] = []
        if self.kind == "codex" and self.parsed.get("json"):
            self._out({"type": "thread.started", "thread_id": s["session_id"]})
            self._out({"type": "turn.started"})
        elif self.kind == "claude":
            payload = {"session_id": s["session_id"], "transcript_path": s["path"],
                       "cwd": str(self.cwd), "hook_event_name": "SessionStart",
                       "source": "resume" if s.get("resumed") else "startup"}
            hooks = self._claude_hooks("SessionStart", payload)
            if self.parsed.get("output") == "stream-json":
                self._out({"type": "system", "subtype": "init", "cwd": str(self.cwd),
                           "session_id": s["session_id"], "tools": [], "mcp_servers": [],
                           "model": "claude-opus-5-5", "permissionMode": "default",
                           "claude_code_version": s.get("version")})
        elif self.kind == "gemini" and self.parsed.get("output") == "stream-json":
            self._out({"type": "init", "session_id": s["session_id"],
                       "model": self.parsed.get("model") or "gemini-2.5-flash"})
        return hooks

    def stream(self, update: dict[str, Any], at: float | None = None) -> None:
        """Show one piece of a running turn, as the CLI's streaming output mode does
        (other modes print nothing until the turn is over), in the shapes measured on
        the real CLIs; ``at`` is when it happened on the harness's clock:

        - ``codex exec --json``: a ``reasoning`` item per thought (no partial message),
          a ``command_execution`` item started and completed per tool call (the item
          ids count the run's items; the command is wrapped in ``/bin/bash -lc``), and,
          where ``[tools.update_plan] enabled = true``, a ``todo_list`` item per plan;
        - ``claude -p --output-format stream-json``: an ``assistant`` message per text,
          thinking or ``tool_use`` block, a ``user`` message with the ``tool_result`` of
          each finished call, and, with ``CLAUDE_CODE_ENABLE_TODO_TOOLS=1``, a plan as
          its ``TodoWrite`` call;
        - ``gemini -p --output-format stream-json``: a ``message`` delta per chunk, a
          ``tool_use`` and a ``tool_result`` per call (no thoughts, no plans).
        """
        kind = update.get("sessionUpdate")
        if kind in ("tool_call", "tool_call_update"):
            self._stream_tool(kind, update, at)
            return
        if kind == "plan":
            self._stream_plan(update.get("entries") or [])
            return
        content = update.get("content")
        text = content.get("text") if isinstance(content, dict) else None
        if not isinstance(text, str) or kind not in ("agent_thought_chunk",
                                                      "agent_message_chunk"):
            return
        if kind == "agent_message_chunk":
            self.last_streamed = text
        if self._streams("codex"):
            if kind == "agent_thought_chunk":
                self._out({"type": "item.completed", "item": {
                    "id": self._item_id(), "type": "reasoning", "text": text}})
        elif self._streams("claude"):
            block = ({"type": "thinking", "thinking": text, "signature": ""}
                     if kind == "agent_thought_chunk" else {"type": "text", "text": text})
            self._assistant(block)
        elif self._streams("gemini") and kind == "agent_message_chunk":
            self._out({"type": "message", "role": "assistant", "content": text,
                       "delta": True})

    def _streams(self, kind: str) -> bool:
        """This is CLI ``kind`` in its streaming output mode."""
        if self.kind != kind:
            return False
        return bool(self.parsed.get("json")) if kind == "codex" else (
            self.parsed.get("output") == "stream-json")

    def _item_id(self) -> str:
        """The next Codex item's id: ``item_0``, ``item_1``... in the order printed."""
        self.next_item += 1
        return f"item_{self.next_item - 1}"

    def _uuid(self) -> str:
        """A message's ``uuid`` (Claude Code): a new one per line, the same per run."""
        self.lines += 1
        return f"00000000-0000-4000-8000-{self.lines:012d}"

    def _assistant(self, block: dict[str, Any]) -> None:
        self._out({"type": "assistant", "message": {
            "role": "assistant", "type": "message", "content": [block], "stop_reason": None},
            "parent_tool_use_id": None, "session_id": self.session.get("session_id"),
            "uuid": self._uuid()})

    def _stream_tool(self, kind: str, update: dict[str, Any], at: float | None) -> None:
        call_id = str(update.get("toolCallId", ""))
        if call_id not in self.tools:  # announced (or, unannounced, finished) first
            self.tools[call_id] = (str(update.get("title") or "tool"),
                                   str(update.get("kind") or "other"),
                                   self._item_id() if self._streams("codex") else "")
        title, tool_kind, item_id = self.tools[call_id]
        status = update.get("status")
        if kind == "tool_call_update" and status not in ("completed", "failed"):
            return  # a call still running shows nothing new
        failed = status == "failed"
        if self._streams("codex"):
            done = kind == "tool_call_update"
            self._out({"type": "item.completed" if done else "item.started", "item": {
                "id": item_id, "type": "command_execution",
                "command": "/bin/bash -lc '" + title.replace("'", "'\\''") + "'",
                "aggregated_output": "", "exit_code": (1 if failed else 0) if done else None,
                "status": ("failed" if failed else "completed") if done else "in_progress"}})
        elif self._streams("claude"):
            if kind == "tool_call":
                self._assistant({"type": "tool_use", "id": call_id,
                                 "name": _CLAUDE_TOOLS.get(tool_kind, "Bash"),
                                 "input": {"description": title}})
                return
            result: dict[str, Any] = {"tool_use_id": call_id, "type": "tool_result",
                                      "content": "Error: failed" if failed else ""}
            if failed:
                result["is_error"] = True
            self._out({"type": "user", "message": {"role": "user", "content": [result]},
                       "parent_tool_use_id": None, "session_id": self.session.get("session_id"),
                       "uuid": self._uuid(), "timestamp": _iso(at),
                       "tool_use_result": "Error: failed" if failed else ""})
        elif self._streams("gemini"):
            name = _GEMINI_TOOLS.get(tool_kind, "run_shell_command")
            # Gemini CLI 0.61 prefixes the call's id with the tool's name.
            tool_id = f"{name}__{call_id}" if _release(self.session.get("version")) >= (
                0, 61) else call_id
            if kind == "tool_call":
                self._out({"type": "tool_use", "timestamp": _iso(at), "tool_name": name,
                           "tool_id": tool_id, "parameters": {"description": title}})
            else:
                self._out({"type": "tool_result", "timestamp": _iso(at), "tool_id": tool_id,
                           "status": "error" if failed else "success", "output": ""})

    def _stream_plan(self, entries: list[Any]) -> None:
        todos = [e for e in entries if isinstance(e, dict)]
        if self._streams("codex") and _models().codex_setting(
                _home("codex", self.env), self.parsed.get("config") or (),
                "tools.update_plan.enabled") is True:
            first = self.plan_item is None
            if first:
                self.plan_item = self._item_id()
            self.plan = {"id": self.plan_item, "type": "todo_list", "items": [
                {"text": str(e.get("content", "")), "completed": e.get("status") == "completed"}
                for e in todos]}
            self._out({"type": "item.started" if first else "item.updated", "item": self.plan})
        elif self._streams("claude") and self.env.get("CLAUDE_CODE_ENABLE_TODO_TOOLS") == "1":
            self.plans += 1
            self._assistant({"type": "tool_use", "id": f"toolu_plan_{self.plans}",
                             "name": "TodoWrite", "input": {"todos": [
                                 {"content": str(e.get("content", "")),
                                  "status": str(e.get("status", "pending")),
                                  "activeForm": str(e.get("content", ""))} for e in todos]}})

    def turn_complete(self, turn: dict[str, Any]) -> list[dict[str, Any]]:
        s = self.session
        final = str(turn.get("final", ""))
        hooks: list[dict[str, Any]] = []
        usage = {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 6,
                 "reasoning_output_tokens": 0}
        if self.kind == "codex":
            if self.parsed.get("mode") == "interactive":
                self._text(f"\ncodex\n{final}\n\n\u203a ")
            elif self.parsed.get("json"):
                self._out({"type": "item.completed",
                           "item": {"id": self._item_id(), "type": "agent_message",
                                    "text": final}})
                if self.plan is not None:
                    self._out({"type": "item.completed", "item": self.plan})
                self._out({"type": "turn.completed", "usage": usage})
            else:
                self._text(final + "\n")
            notify = codex_notify(self.env)
            if notify is not None:
                hooks.append(self._run("notify", [*notify, json.dumps(turn["notify"])],
                                       None, None))
        elif self.kind == "claude":
            payload = {"session_id": s["session_id"], "transcript_path": s["path"],
                       "cwd": str(self.cwd), "permission_mode": "default",
                       "hook_event_name": "Stop", "stop_hook_active": False,
                       "last_assistant_message": final}
            hooks = self._claude_hooks("Stop", payload)
            result = {"type": "result", "subtype": "success", "is_error": False,
                      "num_turns": 1, "result": final, "session_id": s["session_id"],
                      "stop_reason": "end_turn", "total_cost_usd": 0.0,
                      "usage": {"input_tokens": 100, "output_tokens": 6}}
            output = self.parsed.get("output")
            if output == "json":
                self._text(json.dumps(result, separators=(",", ":")) + "\n")
            elif output == "stream-json":
                if self.last_streamed != final:
                    self._out({"type": "assistant", "session_id": s["session_id"],
                               "message": {"role": "assistant", "type": "message",
                                           "content": [{"type": "text", "text": final}]}})
                self._out(result)
            else:
                self._text(final + "\n")
        else:
            output = self.parsed.get("output")
            if output == "json":
                self._text(json.dumps({"session_id": s["session_id"], "response": final,
                                       "stats": {"models": {}, "tools": {"totalCalls": 0},
                                                 "files": {}}}, indent=2) + "\n")
            elif output == "stream-json":
                if self.last_streamed != final:
                    self._out({"type": "message", "role": "assistant", "content": final})
                self._out({"type": "result", "status": "success"})
            else:
                self._text(final + "\n")
        return hooks

    def exchange(self, exchange: str, request: dict[str, Any]) -> dict[str, Any]:
        """Make one model request of the running turn, at the CLI's base URL (its
        variable, or Codex's configured provider), and wait for the answer."""
        models = _models()
        base = models.base_url(self.kind, self.env, _home("codex", self.env)
                               if self.kind == "codex" else None,
                               self.parsed.get("config") or ())
        url = models.request_url(self.kind, str(request.get("url", "")), base)
        headers = request.get("headers") or {}
        result = models.send(url, str(request.get("method") or "POST"),
                             headers if isinstance(headers, dict) else {},
                             request.get("body"), exchange)
        result["url"] = url
        return dict(result)

    def _claude_hooks(self, event: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        env = {"CLAUDE_PROJECT_DIR": str(self.cwd), "CLAUDECODE": "1",
               "CLAUDE_CODE_SESSION_ID": str(self.session.get("session_id", ""))}
        return [self._run(event, None, command, payload, env)
                for command in claude_hooks(event, self.env, self.cwd,
                                            self.parsed.get("settings"))]

    def _run(self, name: str, argv: list[str] | None, command: str | None,
             payload: dict[str, Any] | None, env: dict[str, str] | None = None
             ) -> dict[str, Any]:
        """Run one hook to its end, as the real CLIs wait for theirs."""
        stdin = (json.dumps(payload) + "\n").encode() if payload is not None else None
        try:
            done = subprocess.run(argv if argv is not None else ["/bin/sh", "-c", command or ""],
                                  input=stdin, cwd=self.cwd, env={**self.env, **(env or {})},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=60, check=False)
            code: int | None = done.returncode
            error = done.stderr.decode("utf-8", "replace")[-500:]
        except (OSError, subprocess.TimeoutExpired) as problem:
            code, error = None, str(problem)
        return {"name": name, "argv": argv, "command": command, "code": code,
                "stderr": error}

    def _out(self, obj: dict[str, Any]) -> None:
        self._text(json.dumps(obj, separators=(",", ":")) + "\n")
        self.printed.append(obj)

    def _text(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def _flush(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()

    def _die(self, code: int) -> NoReturn:
        self._flush()
        os._exit(code)


def main(kind: str, argv: list[str] | None = None) -> int:
    """Play ``kind`` with ``argv`` (without the program name)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        parsed = PARSERS[kind](args)
    except UsageError as error:
        sys.stderr.write(error.message)
        return error.status
    if parsed["mode"] == "version":
        version = _version(kind)
        sys.stdout.write({"codex": f"codex-cli {version}\n",
                          "claude": f"{version} (Claude Code)\n"}.get(kind, f"{version}\n"))
        return 0
    if parsed["mode"] == "help":
        sys.stdout.write(parsed["text"])
        return 0
    name = os.environ.get(wire.SOCKET_ENV)
    if not name:
        sys.stderr.write(f"{kind}: this is the conformance suite's fake {kind}, and no "
                         f"harness runs it ({wire.SOCKET_ENV} is not set)\n")
        return 1
    stdin_prompt = None
    if parsed["mode"] == "interactive":
        if not sys.stdin.isatty():
            sys.stderr.write("Error: stdin is not a terminal\n")
            return 1
    elif parsed["mode"] != "acp" and parsed.get("prompt") in (None, "-"):
        # Codex exec reads its prompt from stdin until EOF; the others append stdin.
        stdin_prompt = sys.stdin.read() if not sys.stdin.isatty() else None
    puppet = Puppet(kind, args, parsed)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, puppet.on_signal)
    try:
        puppet.connect(name)
    except OSError as error:
        sys.stderr.write(f"{kind}: cannot reach the conformance harness at "
                         f"{name!r}: {error}\n")
        return 1
    puppet.run(stdin_prompt)
    return 0


if __name__ == "__main__":  # pragma: no cover - the executables call main()
    raise SystemExit(main(sys.argv[1]))
