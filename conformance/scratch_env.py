"""A scratch user environment for checks that must see where an orchestrator writes.

Inside :func:`scratch_user_env`, ``HOME`` is an empty directory of the check's own,
``ACP_HOME`` names a decoy directory (not created) and the ``ACP_LOG_*`` variables are
unset or hold decoys that contradict the world's settings. An orchestrator that
ignores ``world.acp_home`` and falls back on the environment (``$ACP_HOME``, else
``~/.acp``) then writes into the scratch area, where the canonical-log checks see it,
instead of into the developer's real store, which no test run may ever touch. The
previous environment is restored on exit; child processes forked inside inherit the
scratch environment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance.contract import Settings

#: Variables of seed 004 that must not leak from the developer's environment.
CLEARED = ("ACP_LOG_EMBEDDED_CONTEXT", "ACP_LOG_MAX_TEXT_CHARS", "ACP_LOG_FSYNC")


@dataclass(frozen=True)
class ScratchEnv:
    """Where the scratch ``HOME`` and the decoy ``ACP_HOME`` are."""

    home: Path
    acp_home: Path


def current() -> ScratchEnv:
    """The scratch environment in force (only meaningful inside the context manager)."""
    return ScratchEnv(Path(os.environ.get("HOME", "")), Path(os.environ.get("ACP_HOME", "")))


def decoys(settings: Settings) -> dict[str, str]:
    """Environment values that contradict ``settings``: what an orchestrator that reads
    ``os.environ`` instead of the world's settings would act on."""
    return {
        "ACP_LOG_EMBEDDED_CONTEXT": "0" if settings.acp_log_embedded_context else "1",
        "ACP_LOG_MAX_TEXT_CHARS": "7" if settings.acp_log_max_text_chars != 7 else "9",
        "ACP_LOG_FSYNC": "0" if settings.acp_log_fsync else "1",
    }


@contextlib.contextmanager
def scratch_user_env(workdir: Path, planted: Mapping[str, str] | None = None
                     ) -> Iterator[ScratchEnv]:
    """Point ``HOME`` and ``ACP_HOME`` into ``workdir`` for the duration.

    The ``ACP_LOG_*`` variables are unset, or set to ``planted`` (decoys, see
    :func:`decoys`): the world's settings say what is right, never the environment.
    """
    env = ScratchEnv(workdir / "user-home", workdir / "env-acp-home")
    env.home.mkdir(parents=True, exist_ok=True)
    names = ("HOME", "ACP_HOME", *CLEARED)
    saved = {name: os.environ.get(name) for name in names}
    os.environ["HOME"] = str(env.home)
    os.environ["ACP_HOME"] = str(env.acp_home)
    for name in CLEARED:
        os.environ.pop(name, None)
    for name, decoy in (planted or {}).items():
        os.environ[name] = decoy
    try:
        yield env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
