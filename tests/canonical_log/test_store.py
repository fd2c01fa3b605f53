"""CanonicalLog: the facade end to end, privacy of embedded context, and best effort."""

from __future__ import annotations

import errno
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from acp import helpers, schema

from reference_impl.canonical_log import (
    KINDS,
    CanonicalLog,
    LoggingFailureWarning,
    ShortWriteError,
    read_events,
)

from ._builders import all_files_bytes, audio, embedded, image, link, notification, text

SECRET = "sk-live-7f3a9c1e-DO-NOT-LOG"


def _log_everything(log: CanonicalLog, gid: str) -> list[int | None]:
    """One event of every kind, with the secret planted in an embedded resource."""
    return [
        log.log_prompt(
            gid,
            [
                text("please review"),
                link("file:///repo/a.py", "a.py"),
                embedded("file:///repo/.env", f"API_KEY={SECRET}\n"),
                image(),
                audio(),
            ],
        ),
        log.log_submit(gid, "sub-1", "user_input"),
        log.log_update(
            gid, notification({"sessionUpdate": "agent_thought_chunk", "content": text("thinking")})
        ),
        log.log_update(gid, helpers.update_agent_message(helpers.text_block("done"))),
        log.log_update(
            gid,
            notification(
                {"sessionUpdate": "tool_call", "toolCallId": "t1", "title": "ls", "kind": "execute"}
            ),
        ),
        log.log_permission_request(
            gid,
            {
                "sessionId": "s-1",
                "toolCall": {"toolCallId": "t1", "title": "ls"},
                "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"}],
            },
        ),
        log.log_permission_response(
            gid,
            schema.RequestPermissionResponse(
                outcome=schema.AllowedOutcome(outcome="selected", option_id="allow")
            ),
            tool_call_id="t1",
        ),
        log.log_update(
            gid,
            notification(
                {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "completed"}
            ),
        ),
        log.log_update(
            gid,
            helpers.update_plan([helpers.plan_entry("ship it", status="completed")]),
        ),
    ]


def test_every_kind_logged_in_order(store: CanonicalLog) -> None:
    gid = store.open_session("codex", "019a-1", cwd="/repo")
    seqs = _log_everything(store, gid)
    assert seqs == list(range(1, 10))
    events = store.events(gid)
    assert [e.kind for e in events] == [
        "acp.prompt",
        "backend.codex.submit",
        "acp.agent_thought_chunk",
        "acp.agent_message_chunk",
        "acp.tool_call",
        "acp.request_permission",
        "acp.request_permission_response",
        "acp.tool_call_update",
        "acp.plan",
    ]
    assert set(e.kind for e in events) == set(KINDS)
    assert [e.seq for e in events] == seqs
    assert all(e.gid == gid for e in events)
    assert events[0].data["counts"] == {
        "text": 1,
        "resource_link": 1,
        "resource": 1,
        "image": 1,
        "audio": 1,
    }
    assert store.failures == []


def test_sessions_listing_spans_backends(store: CanonicalLog) -> None:
    gids = {b: store.open_session(b, f"{b}-id", cwd=f"/{b}") for b in ("codex", "claude", "gemini")}
    store.log_submit(gids["codex"], "s", "compact")
    listing = {s.gid: s for s in store.sessions()}
    assert set(listing) == set(gids.values())
    for backend, gid in gids.items():
        s = listing[gid]
        assert (s.backend, s.backend_session_id, s.cwd, s.key) == (
            backend,
            f"{backend}-id",
            f"/{backend}",
            f"{backend}:{backend}-id",
        )
        assert s.event_count == (1 if backend == "codex" else 0)
        assert s.created is not None and s.created.endswith("Z")
    assert store.resolve("claude:claude-id") == gids["claude"]
    assert store.resolve(gids["gemini"][:8]) == gids["gemini"]


def test_embedded_text_is_absent_by_default(store: CanonicalLog, acp_home: Path) -> None:
    gid = store.open_session("codex", "privacy", cwd="/repo")
    assert None not in _log_everything(store, gid)
    files = all_files_bytes(acp_home)
    assert any(p.name == "canonical.jsonl" for p in files)
    for path, content in files.items():
        assert SECRET.encode() not in content, path
    (prompt,) = [e for e in store.events(gid) if e.kind == "acp.prompt"]
    resource = prompt.data["blocks"][2]
    assert resource == {
        "type": "resource",
        "uri": "file:///repo/.env",
        "mime_type": "text/plain",
        "text_chars": len(f"API_KEY={SECRET}\n"),
    }


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_embedded_text_is_present_when_enabled(acp_home: Path, how: str) -> None:
    if how == "argument":
        log = CanonicalLog(acp_home, embedded_context=True, env={}, fsync=False)
    else:
        log = CanonicalLog(acp_home, env={"ACP_LOG_EMBEDDED_CONTEXT": "1"}, fsync=False)
    gid = log.open_session("codex", "share", cwd="/repo")
    _log_everything(log, gid)
    content = (acp_home / "sessions" / gid / "canonical.jsonl").read_bytes()
    assert content.count(SECRET.encode()) == 1


def test_text_limit_from_environment(acp_home: Path) -> None:
    log = CanonicalLog(acp_home, env={"ACP_LOG_MAX_TEXT_CHARS": "4"}, fsync=False)
    gid = log.open_session("gemini", "x", cwd="/")
    log.log_prompt(gid, [text("abcdefgh")])
    (block,) = log.events(gid)[0].data["blocks"]
    assert block["text"].startswith("abcd") and block["chars"] == 8 and block["truncated"]


# -- best effort ---------------------------------------------------------------------------


def _assert_recorded(log: CanonicalLog, operation: str, kind: type[BaseException]) -> None:
    assert any(f.operation == operation and isinstance(f.error, kind) for f in log.failures), (
        log.failures
    )


def test_disk_full_on_write_is_recorded_and_recovers(
    store: CanonicalLog, acp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gid = store.open_session("codex", "full", cwd="/")
    assert store.log_submit(gid, "s0", "user_input") == 1
    path = acp_home / "sessions" / gid / "canonical.jsonl"
    before = path.read_bytes()

    def enospc(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", enospc)
    with pytest.warns(LoggingFailureWarning) as caught:
        results = [store.log_submit(gid, f"s{i}", "user_input") for i in range(5)]
        results.append(store.log_prompt(gid, [text("hi")]))
    assert results == [None] * 6
    assert len(caught) == 2  # once per kind: (log_submit, OSError) and (log_prompt, OSError)
    assert store.failure_count == 6
    assert all(f.error.errno == errno.ENOSPC for f in store.failures)  # type: ignore[attr-defined]
    assert all(f.time.endswith("Z") and f.gid == gid for f in store.failures)
    assert path.read_bytes() == before

    monkeypatch.undo()
    assert store.log_submit(gid, "s9", "user_input") == 2
    assert read_events(path).skipped == []


def test_short_write_leaves_an_isolated_torn_line(
    store: CanonicalLog, acp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gid = store.open_session("codex", "short", cwd="/")
    store.log_submit(gid, "s0", "user_input")
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[: len(data) // 2]))
    with pytest.warns(LoggingFailureWarning, match="ShortWriteError"):
        assert store.log_submit(gid, "s1", "user_input") is None
    _assert_recorded(store, "log_submit", ShortWriteError)
    monkeypatch.undo()
    assert store.log_submit(gid, "s2", "user_input") == 2
    result = read_events(acp_home / "sessions" / gid / "canonical.jsonl")
    assert [e.data["submission_id"] for e in result.events] == ["s0", "s2"]
    assert result.skipped == [2]


def test_fsync_failure_is_recorded(acp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = CanonicalLog(acp_home, env={})  # fsync on
    gid = log.open_session("claude", "f", cwd="/")

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", eio)
    with pytest.warns(LoggingFailureWarning):
        assert log.log_submit(gid, "s", "review") is None
    _assert_recorded(log, "log_submit", OSError)


def test_unwritable_store_never_raises(acp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, where chmod does not deny anything: refuse at the syscall instead.
    real_open = os.open
    home = str(acp_home)

    def deny(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(home) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    log = CanonicalLog(acp_home, env={}, fsync=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        gid = log.open_session("codex", "ro", cwd="/")
        results = _log_everything(log, gid)
    assert results == [None] * len(results)
    _assert_recorded(log, "open_session", PermissionError)
    _assert_recorded(log, "log_prompt", PermissionError)
    assert log.events(gid) == []

    # Once the directory is writable again, the provisional session is persisted.
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        assert log.log_submit(gid, "later", "user_input") == 1
    persisted = log.resolve("codex:ro")
    assert persisted is not None
    assert [e.data["submission_id"] for e in log.events(persisted)] == ["later"]
    assert [e.seq for e in log.events(gid)] == [1]  # the provisional id still reads


def test_index_replace_failure_is_recorded(
    store: CanonicalLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exdev(src: Any, dst: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", exdev)
    with pytest.warns(LoggingFailureWarning, match="open_session"):
        gid = store.open_session("gemini", "g", cwd="/")
    assert len(gid) == 32
    _assert_recorded(store, "open_session", OSError)


@pytest.mark.parametrize(
    ("call", "operation"),
    [
        (lambda log, gid: log.log_prompt(gid, [{"type": "text"}]), "log_prompt"),
        (lambda log, gid: log.log_update(gid, {"sessionId": "s", "update": {}}), "log_update"),
        (
            lambda log, gid: log.log_permission_request(gid, {"options": []}),
            "log_permission_request",
        ),
        (
            lambda log, gid: log.log_permission_response(gid, {"outcome": "yes"}),
            "log_permission_response",
        ),
        (lambda log, gid: log.log_submit("f" * 32, "s", "review"), "log_submit"),  # unknown session
        (lambda log, gid: log.log_submit("../../etc", "s", "review"), "log_submit"),  # bad gid
    ],
)
def test_bad_input_is_recorded_not_raised(
    store: CanonicalLog, call: Callable[[CanonicalLog, str], int | None], operation: str
) -> None:
    gid = store.open_session("codex", "bad-input", cwd="/")
    with pytest.warns(LoggingFailureWarning, match=operation):
        assert call(store, gid) is None
    assert [f.operation for f in store.failures] == [operation]


@pytest.mark.parametrize(
    ("backend", "session_id"),
    [("openai", "x"), ("codex", "a/b"), ("codex", ""), ("codex", "x\x00")],
)
def test_invalid_names_are_recorded(store: CanonicalLog, backend: str, session_id: str) -> None:
    with pytest.warns(LoggingFailureWarning, match="is invalid"):
        gid = store.open_session(backend, session_id, cwd="/")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        assert store.log_prompt(gid, [text("x")]) is None
    assert store.sessions() == []


def test_invalid_acp_home_is_recorded(tmp_path: Path) -> None:
    with pytest.warns(LoggingFailureWarning, match="NUL"):
        log = CanonicalLog(env={"ACP_HOME": str(tmp_path) + "\x00bad"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        gid = log.open_session("codex", "x", cwd="/")
        assert log.log_submit(gid, "s", "user_input") is None
        assert log.sessions() == [] and log.events(gid) == []
    operations = {f.operation for f in log.failures}
    assert operations == {"init", "open_session", "log_submit", "sessions", "read"}


def test_warnings_as_errors_do_not_reach_the_agent(store: CanonicalLog, acp_home: Path) -> None:
    gid = store.open_session("codex", "strict", cwd="/")
    (acp_home / "index.json").write_text("{corrupt")
    fresh = CanonicalLog(acp_home, env={}, fsync=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        other = fresh.open_session("codex", "strict-2", cwd="/")  # repairs, warns -> recorded
        assert fresh.log_submit(other, "s", "user_input") == 1
        assert fresh.log_submit("f" * 32, "s", "user_input") is None
    assert fresh.open_session("codex", "strict", cwd="/") == gid


def test_wrong_argument_types_raise_type_error(store: CanonicalLog) -> None:
    gid = store.open_session("codex", "types", cwd="/")
    with pytest.raises(TypeError):
        store.log_prompt(gid, 42)
    with pytest.raises(TypeError):
        store.log_update(gid, "agent_message_chunk")
    with pytest.raises(TypeError):
        store.log_submit(123, "s", "review")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.open_session("codex", 5, cwd="/")  # type: ignore[arg-type]
    assert store.failures == []


def test_the_agents_result_is_unaffected(
    store: CanonicalLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def agent_turn(log: CanonicalLog) -> str:
        gid = log.open_session("codex", "turn", cwd="/")
        log.log_prompt(gid, [text("do it")])
        log.log_update(gid, helpers.update_agent_message(helpers.text_block("ok")))
        return "the answer"

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EIO, "I/O error")

    for name in ("open", "write", "replace", "link", "fsync", "rename"):
        monkeypatch.setattr(os, name, broken)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        assert agent_turn(store) == "the answer"
    assert store.failure_count >= 3


def test_disk_full_on_a_fake_filesystem(fs: Any) -> None:
    """pyfakefs: a 24 KiB disk fills up; every call returns, failures are recorded."""
    fs.set_disk_usage(24 * 1024)
    log = CanonicalLog("/acp", env={}, fsync=True)
    gid = log.open_session("codex", "fake", cwd="/")
    results: list[int | None] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        for i in range(200):
            results.append(log.log_prompt(gid, [text(f"prompt {i} " + "x" * 200)]))
    logged = [r for r in results if r is not None]
    assert logged == list(range(1, len(logged) + 1))
    assert 0 < len(logged) < 200
    assert log.failure_count == 200 - len(logged)
    assert all(isinstance(f.error, OSError) for f in log.failures)
    result = read_events(f"/acp/sessions/{gid}/canonical.jsonl")
    assert [e.seq for e in result.events][: len(logged)] == logged


def test_read_only_directory_on_a_fake_filesystem(fs: Any) -> None:
    """pyfakefs emulating a non-root user, for whom chmod really denies writes."""
    from pyfakefs.helpers import set_uid

    set_uid(1000)
    fs.create_dir("/ro-acp", perm_bits=0o500)
    log = CanonicalLog("/ro-acp", env={}, fsync=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoggingFailureWarning)
        gid = log.open_session("claude", "ro", cwd="/")
        assert log.log_submit(gid, "s", "user_input") is None
    _assert_recorded(log, "open_session", PermissionError)
    assert os.listdir("/ro-acp") == []


def test_threads_sharing_a_store_get_distinct_seqs(store: CanonicalLog) -> None:
    import threading

    gid = store.open_session("codex", "threads", cwd="/")
    seqs: list[int | None] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for i in range(50):
            seq = store.log_submit(gid, f"{worker}:{i}", "user_input")
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s in seqs if s is not None) == list(range(1, 201))
    assert [e.seq for e in store.events(gid)] == list(range(1, 201))


def test_fsync_setting(acp_home: Path) -> None:
    assert CanonicalLog(acp_home, env={}).fsync is True
    assert CanonicalLog(acp_home, env={"ACP_LOG_FSYNC": "0"}).fsync is False
    assert CanonicalLog(acp_home, env={"ACP_LOG_FSYNC": "0"}, fsync=True).fsync is True
    with pytest.raises(TypeError):
        CanonicalLog(acp_home, env={}, fsync="no")  # type: ignore[arg-type]
