"""The mock model servers answer as each CLI expects, after their delay, and log requests.

No CLI is run here: these tests speak HTTP to the servers with urllib.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mock_models import DUMMY_KEY, MockServers


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _sse(text: str) -> list[tuple[str | None, Any]]:
    events = []
    for frame in text.strip().split("\n\n"):
        name, data = None, None
        for line in frame.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        events.append((name, data))
    return events


@pytest.fixture(scope="module")
def servers() -> Any:
    with MockServers(delay=0.2, text="mock says hi") as s:
        yield s


def test_codex_responses_stream(servers: MockServers) -> None:
    t = time.monotonic()
    status, body = _post(
        servers.codex_url + "/responses",
        {"model": "gpt-5.5", "stream": True, "input": []},
        {"Authorization": f"Bearer {DUMMY_KEY}"},
    )
    assert status == 200 and time.monotonic() - t >= 0.2
    names = [n for n, _ in _sse(body)]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert "response.output_item.added" in names and "response.output_item.done" in names
    done = dict(_sse(body))["response.output_item.done"]["item"]
    assert done["content"][0]["text"] == "mock says hi"
    usage = dict(_sse(body))["response.completed"]["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    # The server records the status once its handler returns, which may be just after
    # the client has read the whole body: wait for the record, then check it.
    done_requests = servers.codex.wait_for(lambda r: r.path == "/v1/responses"
                                           and r.status != 0)
    rec = done_requests[-1] if done_requests else servers.codex.requests[-1]
    assert rec.path == "/v1/responses" and rec.headers["authorization"] == "<redacted>"
    assert rec.body["model"] == "gpt-5.5" and rec.status == 200


def test_claude_messages_stream_and_plain(servers: MockServers) -> None:
    base = servers.claude_url + "/v1/messages"
    status, body = _post(base + "?beta=true", {"model": "m", "stream": True, "messages": []},
                         {"x-api-key": DUMMY_KEY})
    assert status == 200
    names = [n for n, _ in _sse(body)]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    for n in ("content_block_start", "content_block_delta", "content_block_stop",
              "message_delta"):
        assert n in names
    status, body = _post(base, {"model": "m", "messages": []})
    assert status == 200 and json.loads(body)["content"][0]["text"] == "mock says hi"
    status, body = _post(base + "/count_tokens", {"messages": []})
    assert status == 200 and "input_tokens" in json.loads(body)
    status, _ = _post(servers.claude_url + "/v1/unknown", {})
    assert status == 404
    recs = servers.claude.requests
    assert recs[-4].query == {"beta": "true"} and recs[-4].headers["x-api-key"] == "<redacted>"
    assert [r.path for r in recs[-3:]] == [
        "/v1/messages", "/v1/messages/count_tokens", "/v1/unknown"
    ]


def test_gemini_stream_plain_and_routing(servers: MockServers) -> None:
    base = servers.gemini_url + "/v1beta/models/gemini-2.5-flash"
    status, body = _post(base + ":streamGenerateContent?alt=sse", {"contents": []},
                         {"x-goog-api-key": DUMMY_KEY})
    assert status == 200
    (_, data), = _sse(body)
    assert data["candidates"][0]["content"]["parts"][0]["text"] == "mock says hi"
    status, body = _post(base + ":generateContent", {"contents": []})
    assert json.loads(body)["candidates"][0]["finishReason"] == "STOP"
    routing = {
        "contents": [],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "type": "object",
                "properties": {
                    "complexity_reasoning": {"type": "string"},
                    "complexity_score": {"type": "integer"},
                },
            },
        },
    }
    t = time.monotonic()
    status, body = _post(servers.gemini_url + "/v1beta/models/x-lite:generateContent", routing)
    assert time.monotonic() - t < 0.2  # side calls answer at once
    answer = json.loads(json.loads(body)["candidates"][0]["content"]["parts"][0]["text"])
    assert set(answer) == {"complexity_reasoning", "complexity_score"}
    assert servers.gemini.requests[0].headers["x-goog-api-key"] == "<redacted>"
    assert len(servers.gemini.model_requests()) == 2


def test_configs_and_env(servers: MockServers, tmp_path: Path) -> None:
    env = servers.prepare_home("codex", tmp_path / "c", notify=["/bin/true", "x"])
    cfg = (tmp_path / "c" / ".codex" / "config.toml").read_text()
    assert 'model_provider = "mock"' in cfg and servers.codex_url in cfg
    assert 'notify = ["/bin/true", "x"]' in cfg
    assert env["CODEX_HOME"] == str(tmp_path / "c" / ".codex")
    assert env["MOCK_API_KEY"] == DUMMY_KEY
    env = servers.prepare_home("claude", tmp_path / "a", hooks={"Stop": "echo hi"})
    settings = json.loads((tmp_path / "a" / ".claude" / "settings.json").read_text())
    assert settings["hooks"]["Stop"][0]["hooks"][0] == {"type": "command", "command": "echo hi"}
    assert env["ANTHROPIC_BASE_URL"] == servers.claude_url
    env = servers.prepare_home("gemini", tmp_path / "g", base={"PATH": "/bin", "GEMINI_X": "1"})
    settings = json.loads((tmp_path / "g" / ".gemini" / "settings.json").read_text())
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert env["GOOGLE_GEMINI_BASE_URL"] == servers.gemini_url
    assert env["GEMINI_CLI_TRUST_WORKSPACE"] == "true" and "GEMINI_X" not in env
