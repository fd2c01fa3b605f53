"""Install the real agent CLIs from npm into a cache outside the checkout.

Each version goes into its own prefix, ``<cache>/<kind>-<version>/``
(``npm install --prefix``), so every version the fakes play can be run side by side
and nothing lands in the repository. The cache is ``$CONFORMANCE_CLI_CACHE``, else
``~/.cache/agent-conformance/cli``; a cache inside the checkout is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conformance.contract import BackendKind

PACKAGES = {
    BackendKind.CODEX: ("@openai/codex", "codex"),
    BackendKind.CLAUDE: ("@anthropic-ai/claude-code", "claude"),
    BackendKind.GEMINI: ("@google/gemini-cli", "gemini"),
}
#: Seconds one ``npm install`` may take.
INSTALL_TIMEOUT = 600.0
CHECKOUT = Path(__file__).resolve().parents[2]


class CacheError(RuntimeError):
    """The CLI cache cannot be used (inside the checkout, or an install failed)."""


def cache_dir() -> Path:
    """Where the CLIs are installed (see the module docstring)."""
    configured = os.environ.get("CONFORMANCE_CLI_CACHE")
    path = Path(configured) if configured else Path.home() / ".cache" / "agent-conformance" / "cli"
    path = path.expanduser().resolve()
    if path == CHECKOUT or CHECKOUT in path.parents:
        raise CacheError(f"the CLI cache {path} is inside the checkout {CHECKOUT}; set "
                         "CONFORMANCE_CLI_CACHE to a directory outside it")
    return path


def missing_tools() -> list[str]:
    """The tools the real CLIs need that are not on ``PATH``."""
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


def executable(kind: BackendKind, version: str, cache: Path | None = None) -> Path:
    """The CLI's executable, installed on first use."""
    package, binary = PACKAGES[kind]
    prefix = (cache or cache_dir()) / f"{kind.value}-{version}"
    exe = prefix / "node_modules" / ".bin" / binary
    if exe.exists():
        return exe
    prefix.mkdir(parents=True, exist_ok=True)
    command = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
               "--loglevel=error", "--engine-strict=false", f"{package}@{version}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise CacheError(f"`{' '.join(command)}` took more than {INSTALL_TIMEOUT:g} s") \
            from error
    if done.returncode != 0 or not exe.exists():
        raise CacheError(f"`{' '.join(command)}` failed (exit {done.returncode}): "
                         f"{(done.stderr or done.stdout).strip()[-2000:]}")
    return exe
