"""Canonical events: their kinds, their line format, and their conversion from ACP.

The canonical log records *what happened* in a session in a backend-agnostic form.
Inputs are the real ACP models of the ``agent-client-protocol`` package (``acp.schema``)
or plain dicts, which are validated with ``model_validate`` so a malformed message is
rejected with an :class:`InvalidEventInputError` naming what was wrong, instead of being
logged half-understood. ``acp.schema`` is imported lazily, on the first conversion, so
processes that only touch the index or read logs (the CLI) do not pay for loading it.

Line format (one JSON object per line, UTF-8, no newline inside a line)::

    {"v": 1, "seq": 7, "ts": "2026-03-14T09:26:53.000000Z", "kind": "acp.tool_call",
     "gid": "<32 hex>", "data": {...}}

``v`` is the format version (:data:`EVENT_VERSION`); ``seq`` counts events of one session
from 1, in file order; ``ts`` is the UTC time the event was logged; ``kind`` is one of
:data:`KINDS`; ``gid`` repeats the global session id so a line is self-describing when
copied elsewhere; ``data`` depends on the kind:

``acp.prompt``
    ``{"blocks": [block...], "counts": {"text", "resource_link", "resource", "image",
    "audio"}}``. A text block is ``{"type": "text", "text", "chars", "truncated"}``;
    ``text`` is cut at ``max_text_chars`` (default 16384, ``ACP_LOG_MAX_TEXT_CHARS``) and
    then ends with :data:`TRUNCATION_MARKER`, ``chars`` is the original length.
    A resource link is ``{"type": "resource_link", "uri", "name"}``. An embedded resource
    is ``{"type": "resource", "uri", "mime_type", "text_chars"}`` (or ``"blob_chars"``); its
    text is added (``"text"``, ``"truncated"``) only when embedded context logging is on
    (``ACP_LOG_EMBEDDED_CONTEXT=1``), so file contents are not copied into the log by
    default. Images and audio are ``{"type", "mime_type", "data_chars"}``; their data
    is never logged.
``backend.codex.submit``
    ``{"submission_id", "op_kind"}``, ``op_kind`` one of :data:`OP_KINDS`.
``acp.agent_message_chunk``, ``acp.agent_thought_chunk``
    ``{"content": block, "message_id"?}`` with ``block`` summarised as in prompts, but
    its text never cut: the seed's limit is for prompt summaries, and a chunk is the
    agent's own words, which the log exists to keep (CLOG-006 compares them exactly).
``acp.tool_call``, ``acp.tool_call_update``, and ``tool_call`` of permission requests
    ``{"tool_call_id", "title"?, "kind"?, "status"?, "locations"?, "content"?,
    "raw_input"?, "raw_output"?}``; only fields present in the ACP message appear.
    ``content`` items are ``{"type": "content", "content": block}``, ``{"type": "diff",
    "path", "old_chars", "new_chars"}`` (diff text is not copied) or ``{"type":
    "terminal", "terminal_id"}``; raw input/output are JSON-encoded and cut like text:
    ``{"text", "chars", "truncated"}``.
``acp.plan``
    ``{"format": "entries", "entries": [{"content", "priority", "status"}]}`` for a plan
    update, ``{"format": "items", "plan_id", "entries"}``, ``{"format": "file",
    "plan_id", "uri"}``, ``{"format": "markdown", "plan_id", "markdown"}`` for a plan
    content update, ``{"format": "removed", "plan_id"}`` for a plan removal.
``acp.request_permission``
    ``{"tool_call": tool call, "options": [{"option_id", "name", "kind"}]}``.
``acp.request_permission_response``
    ``{"outcome": "selected", "option_id"}`` or ``{"outcome": "cancelled"}``, plus
    ``"tool_call_id"`` when the caller supplied it.

Other ACP session updates (user message chunks, mode, commands, usage, ...) are not
part of the canonical log; :func:`update_event` returns None for them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, get_args

from reference_impl.canonical_log.errors import ConfigWarning, InvalidEventInputError
from reference_impl.canonical_log.layout import is_gid

if TYPE_CHECKING:
    from acp import schema
    from pydantic import BaseModel, TypeAdapter

EventKind = Literal[
    "acp.prompt",
    "backend.codex.submit",
    "acp.agent_message_chunk",
    "acp.agent_thought_chunk",
    "acp.tool_call",
    "acp.tool_call_update",
    "acp.plan",
    "acp.request_permission",
    "acp.request_permission_response",
]

#: Every canonical event kind, exactly; readers reject any other.
KINDS: tuple[EventKind, ...] = get_args(EventKind)

#: Version of the line format (the ``v`` field).
EVENT_VERSION = 1

#: Default cut-off for logged text, in characters (code points).
DEFAULT_MAX_TEXT_CHARS = 16384
ENV_MAX_TEXT_CHARS = "ACP_LOG_MAX_TEXT_CHARS"
ENV_EMBEDDED_CONTEXT = "ACP_LOG_EMBEDDED_CONTEXT"

#: Appended to text that was cut at the limit, so a reader sees the cut.
TRUNCATION_MARKER = "\u2026[truncated]"

#: Coarse Codex submission op kinds; anything unrecognised is logged as "other".
OP_KINDS: tuple[str, ...] = (
    "user_input",
    "user_turn",
    "review",
    "compact",
    "interrupt",
    "exec_approval",
    "patch_approval",
    "shutdown",
    "other",
)

#: Longest submission id kept verbatim; longer ones are cut (with the marker).
MAX_SUBMISSION_ID_CHARS = 256

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

M = TypeVar("M", bound="BaseModel")

# Reused encoders: building one per event costs more than the encoding of a small event.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


# -- configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryPolicy:
    """How much of the content is copied into the log."""

    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    embedded_context: bool = False

    @classmethod
    def from_config(
        cls,
        max_text_chars: int | None = None,
        embedded_context: bool | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SummaryPolicy:
        """Arguments win over the environment; invalid values fall back with a warning.

        ``max_text_chars`` must be an int >= 0 (``ACP_LOG_MAX_TEXT_CHARS`` a decimal
        string of one); otherwise :data:`DEFAULT_MAX_TEXT_CHARS` is used and a
        :class:`ConfigWarning` says why. Embedded context is on only for the argument
        ``True`` or ``ACP_LOG_EMBEDDED_CONTEXT`` exactly ``"1"``.
        """
        environ: Mapping[str, str] = os.environ if env is None else env
        limit = DEFAULT_MAX_TEXT_CHARS
        if max_text_chars is not None:
            if (
                isinstance(max_text_chars, int)
                and not isinstance(max_text_chars, bool)
                and (max_text_chars >= 0)
            ):
                limit = max_text_chars
            else:
                _config_warning(
                    f"max_text_chars={max_text_chars!r} is invalid (need an int >= 0); "
                    f"using the default {DEFAULT_MAX_TEXT_CHARS}"
                )
        elif ENV_MAX_TEXT_CHARS in environ:
            raw = environ[ENV_MAX_TEXT_CHARS]
            text = raw.strip()
            if text.isascii() and text.isdigit():
                limit = int(text)
            else:
                _config_warning(
                    f"{ENV_MAX_TEXT_CHARS}={raw!r} is invalid (need a decimal integer >= 0); "
                    f"using the default {DEFAULT_MAX_TEXT_CHARS}"
                )
        if embedded_context is None:
            embedded = environ.get(ENV_EMBEDDED_CONTEXT) == "1"
        elif isinstance(embedded_context, bool):
            embedded = embedded_context
        else:
            raise TypeError(
                f"embedded_context must be a bool or None, got {type(embedded_context).__name__}"
            )
        return cls(max_text_chars=limit, embedded_context=embedded)


def _config_warning(message: str) -> None:
    # A warnings filter set to "error" must not turn a bad setting into a crash.
    with contextlib.suppress(Warning):
        warnings.warn(message, ConfigWarning, stacklevel=4)


# -- the line format -------------------------------------------------------------------


@dataclass(frozen=True)
class CanonicalEvent:
    """One parsed line of ``canonical.jsonl``; ``line`` is its 1-based line number."""

    v: int
    seq: int
    ts: str
    kind: EventKind
    gid: str
    data: dict[str, Any]
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "gid": self.gid,
            "data": self.data,
        }


def encode_event(seq: int, ts: str, kind: EventKind, gid: str, data: dict[str, Any]) -> bytes:
    """The complete line for one event, newline included, as UTF-8 bytes.

    Text that cannot be encoded as UTF-8 (lone surrogates) falls back to ASCII escapes,
    so every line the writer produces is valid JSON in valid UTF-8.
    """
    obj = {"v": EVENT_VERSION, "seq": seq, "ts": ts, "kind": kind, "gid": gid, "data": data}
    text = _ENCODER.encode(obj)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (_ASCII_ENCODER.encode(obj) + "\n").encode("ascii")


def decode_event(raw: bytes, line: int = 0) -> CanonicalEvent:
    """Parse and validate one line (without its newline); raise ValueError if unusable."""
    obj = json.loads(raw.decode("utf-8"))
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    v, seq, ts, kind, gid, data = (obj.get(k) for k in ("v", "seq", "ts", "kind", "gid", "data"))
    if type(v) is not int or v != EVENT_VERSION:
        raise ValueError(f"unsupported version {v!r}")
    if type(seq) is not int or seq < 1:
        raise ValueError(f"seq must be an integer >= 1, got {seq!r}")
    if not isinstance(ts, str):
        raise ValueError("ts must be a string")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if not is_gid(gid):
        raise ValueError(f"invalid gid {gid!r}")
    if not isinstance(data, dict):
        raise ValueError("data must be an object")
    return CanonicalEvent(
        v=v, seq=seq, ts=ts, kind=cast(EventKind, kind), gid=cast(str, gid), data=data, line=line
    )


# -- model coercion --------------------------------------------------------------------


def _coerce(cls: type[M], value: object, what: str) -> M:
    """Return ``value`` as a ``cls`` instance: itself, or a validated dict."""
    from pydantic import ValidationError

    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls.model_validate(dict(value))
        except ValidationError as exc:
            raise InvalidEventInputError(f"invalid {what}: {_errors(exc)}") from None
    raise TypeError(
        f"{what} must be an acp.schema.{cls.__name__} or a dict, got {type(value).__name__}"
    )


def _errors(exc: Any) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


@functools.cache
def _block_adapter() -> TypeAdapter[Any]:
    from typing import Annotated, Union

    from acp import schema
    from pydantic import Field, TypeAdapter

    block = Union[  # noqa: UP007 - a runtime Union object is needed for the discriminator
        schema.TextContentBlock,
        schema.ImageContentBlock,
        schema.AudioContentBlock,
        schema.ResourceContentBlock,
        schema.EmbeddedResourceContentBlock,
    ]
    return TypeAdapter(Annotated[block, Field(discriminator="type")])


_Block = Any  # one of the acp.schema content block models, see _coerce_block


def _coerce_block(value: object, what: str) -> _Block:
    from acp import schema
    from pydantic import ValidationError

    if isinstance(
        value,
        schema.TextContent
        | schema.ImageContent
        | schema.AudioContent
        | schema.ResourceLink
        | schema.EmbeddedResource,
    ):
        return value
    if isinstance(value, Mapping):
        try:
            return _block_adapter().validate_python(dict(value))
        except ValidationError as exc:
            raise InvalidEventInputError(f"invalid {what}: {_errors(exc)}") from None
    raise TypeError(
        f"{what} must be an ACP content block (TextContent, ImageContent, AudioContent, "
        f"ResourceLink, EmbeddedResource) or a dict, got {type(value).__name__}"
    )


# -- summaries -------------------------------------------------------------------------


def cut_text(text: str, policy: SummaryPolicy) -> dict[str, Any]:
    """``{"text", "chars", "truncated"}``: ``text`` cut at the limit, marker appended."""
    limit = policy.max_text_chars
    if len(text) <= limit:
        return {"text": text, "chars": len(text), "truncated": False}
    return {"text": text[:limit] + TRUNCATION_MARKER, "chars": len(text), "truncated": True}


def _short(text: str, policy: SummaryPolicy) -> str:
    return cast(str, cut_text(text, policy)["text"])


def summarize_block(block: _Block, policy: SummaryPolicy) -> dict[str, Any]:
    """The logged form of one ACP content block (see the module docstring)."""
    from acp import schema

    if isinstance(block, schema.TextContent):
        return {"type": "text", **cut_text(block.text, policy)}
    if isinstance(block, schema.ResourceLink):
        return {"type": "resource_link", "uri": block.uri, "name": block.name}
    if isinstance(block, schema.EmbeddedResource):
        res = block.resource
        out: dict[str, Any] = {"type": "resource", "uri": res.uri, "mime_type": res.mime_type}
        if isinstance(res, schema.TextResourceContents):
            out["text_chars"] = len(res.text)
            if policy.embedded_context:
                cut = cut_text(res.text, policy)
                out["text"] = cut["text"]
                out["truncated"] = cut["truncated"]
        else:
            out["blob_chars"] = len(res.blob)
        return out
    if isinstance(block, schema.ImageContent):
        return {"type": "image", "mime_type": block.mime_type, "data_chars": len(block.data)}
    if isinstance(block, schema.AudioContent):
        return {"type": "audio", "mime_type": block.mime_type, "data_chars": len(block.data)}
    raise TypeError(f"not an ACP content block: {type(block).__name__}")


def prompt_data(prompt: object, policy: SummaryPolicy) -> dict[str, Any]:
    """Data of an ``acp.prompt`` event.

    ``prompt`` is an ``acp.schema.PromptRequest`` (or its dict) or a sequence of
    content blocks (models or dicts).
    """
    from acp import schema

    if isinstance(prompt, schema.PromptRequest | Mapping):
        request = _coerce(schema.PromptRequest, prompt, "prompt request")
        blocks: list[_Block] = list(request.prompt)
    elif isinstance(prompt, Sequence) and not isinstance(prompt, str | bytes | bytearray):
        blocks = [_coerce_block(b, f"prompt block {i}") for i, b in enumerate(prompt)]
    else:
        raise TypeError(
            "prompt must be an acp.schema.PromptRequest, its dict, or a sequence of "
            f"content blocks, got {type(prompt).__name__}"
        )
    summaries = [summarize_block(b, policy) for b in blocks]
    counts = dict.fromkeys(("text", "resource_link", "resource", "image", "audio"), 0)
    for s in summaries:
        counts[s["type"]] += 1
    return {"blocks": summaries, "counts": counts}


def coarse_op_kind(op: str) -> str:
    """Map a Codex op name (``user_input``, ``UserInput``, ``Op::Review``...) to a coarse kind.

    The result is one of :data:`OP_KINDS`; an unknown op becomes ``"other"``.
    """
    name = op.rsplit("::", 1)[-1].strip()
    snake = _CAMEL_BOUNDARY.sub("_", name).lower().replace("-", "_")
    return snake if snake in OP_KINDS else "other"


def submit_data(submission_id: str, op_kind: str) -> dict[str, Any]:
    """Data of a ``backend.codex.submit`` event."""
    if not isinstance(submission_id, str):
        raise TypeError(f"submission_id must be a str, got {type(submission_id).__name__}")
    if not isinstance(op_kind, str):
        raise TypeError(f"op_kind must be a str, got {type(op_kind).__name__}")
    sid = submission_id
    if len(sid) > MAX_SUBMISSION_ID_CHARS:
        sid = sid[:MAX_SUBMISSION_ID_CHARS] + TRUNCATION_MARKER
    return {"submission_id": sid, "op_kind": coarse_op_kind(op_kind)}


def _json_text(value: Any, policy: SummaryPolicy) -> dict[str, Any]:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return cut_text(text, policy)


def tool_call_data(call: Any, policy: SummaryPolicy) -> dict[str, Any]:
    """Summary of an ACP ``ToolCall`` / ``ToolCallUpdate`` (only fields that are set)."""
    from acp import schema

    out: dict[str, Any] = {"tool_call_id": call.tool_call_id}
    if call.title is not None:
        out["title"] = _short(call.title, policy)
    if call.kind is not None:
        out["kind"] = call.kind
    if call.status is not None:
        out["status"] = call.status
    if call.locations is not None:
        out["locations"] = [{"path": loc.path, "line": loc.line} for loc in call.locations]
    if call.content is not None:
        items: list[dict[str, Any]] = []
        for item in call.content:
            if isinstance(item, schema.FileEditToolCallContent):
                items.append(
                    {
                        "type": "diff",
                        "path": item.path,
                        "old_chars": None if item.old_text is None else len(item.old_text),
                        "new_chars": len(item.new_text),
                    }
                )
            elif isinstance(item, schema.TerminalToolCallContent):
                items.append({"type": "terminal", "terminal_id": item.terminal_id})
            else:
                items.append({"type": "content", "content": summarize_block(item.content, policy)})
        out["content"] = items
    if call.raw_input is not None:
        out["raw_input"] = _json_text(call.raw_input, policy)
    if call.raw_output is not None:
        out["raw_output"] = _json_text(call.raw_output, policy)
    return out


def _plan_entries(entries: Sequence[schema.PlanEntry], policy: SummaryPolicy) -> list[Any]:
    return [
        {"content": _short(e.content, policy), "priority": e.priority, "status": e.status}
        for e in entries
    ]


def update_event(
    notification: object, policy: SummaryPolicy
) -> tuple[EventKind, dict[str, Any]] | None:
    """Kind and data for a ``session/update``; None for updates not canonically logged.

    ``notification`` is an ``acp.schema.SessionNotification``, its dict, or one of its
    update variants (``AgentMessageChunk``, ``ToolCallStart``, ...).
    """
    from acp import schema

    update: Any
    if isinstance(notification, schema.SessionNotification | Mapping):
        update = _coerce(schema.SessionNotification, notification, "session notification").update
    else:
        update = notification
    if isinstance(update, schema.AgentMessageChunk | schema.AgentThoughtChunk):
        kind: EventKind = (
            "acp.agent_message_chunk"
            if isinstance(update, schema.AgentMessageChunk)
            else "acp.agent_thought_chunk"
        )
        whole = dataclasses.replace(policy, max_text_chars=sys.maxsize)
        data: dict[str, Any] = {"content": summarize_block(update.content, whole)}
        if update.message_id is not None:
            data["message_id"] = update.message_id
        return kind, data
    if isinstance(update, schema.ToolCallStart):
        return "acp.tool_call", tool_call_data(update, policy)
    if isinstance(update, schema.ToolCallProgress):
        return "acp.tool_call_update", tool_call_data(update, policy)
    if isinstance(update, schema.AgentPlanUpdate):
        return "acp.plan", {"format": "entries", "entries": _plan_entries(update.entries, policy)}
    if isinstance(update, schema.AgentPlanContentUpdate):
        plan = update.plan
        if isinstance(plan, schema.PlanUpdateItems):
            entries = _plan_entries(plan.entries, policy)
            return "acp.plan", {"format": "items", "plan_id": plan.plan_id, "entries": entries}
        if isinstance(plan, schema.PlanUpdateFile):
            return "acp.plan", {"format": "file", "plan_id": plan.plan_id, "uri": plan.uri}
        markdown = _short(plan.content, policy)
        return "acp.plan", {"format": "markdown", "plan_id": plan.plan_id, "markdown": markdown}
    if isinstance(update, schema.AgentPlanRemovedUpdate):
        return "acp.plan", {"format": "removed", "plan_id": update.plan_id}
    if isinstance(update, schema.BaseModel) and hasattr(update, "session_update"):
        return None  # a valid update that the canonical log does not record
    raise TypeError(
        "notification must be an acp.schema.SessionNotification, its dict, or a session "
        f"update model, got {type(notification).__name__}"
    )


def permission_request_data(request: object, policy: SummaryPolicy) -> dict[str, Any]:
    """Data of an ``acp.request_permission`` event."""
    from acp import schema

    req = _coerce(schema.RequestPermissionRequest, request, "permission request")
    return {
        "tool_call": tool_call_data(req.tool_call, policy),
        "options": [
            {"option_id": o.option_id, "name": _short(o.name, policy), "kind": o.kind}
            for o in req.options
        ],
    }


def permission_response_data(response: object, tool_call_id: str | None = None) -> dict[str, Any]:
    """Data of an ``acp.request_permission_response`` event."""
    from acp import schema

    if tool_call_id is not None and not isinstance(tool_call_id, str):
        raise TypeError(f"tool_call_id must be a str or None, got {type(tool_call_id).__name__}")
    resp = _coerce(schema.RequestPermissionResponse, response, "permission response")
    out: dict[str, Any]
    if isinstance(resp.outcome, schema.AllowedOutcome):
        out = {"outcome": "selected", "option_id": resp.outcome.option_id}
    else:
        out = {"outcome": "cancelled"}
    if tool_call_id is not None:
        out["tool_call_id"] = tool_call_id
    return out
