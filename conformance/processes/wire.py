"""The puppet wire: JSON Lines over a Unix stream socket between a fake CLI process
and the harness that plays it.

Standard library only, and imported by the fake CLI program itself
(:mod:`conformance.processes.puppet`), which runs without the rest of the package so
that a launch costs one interpreter start and nothing more.

A fake connects to :data:`SOCKET_ENV` (a Linux abstract socket name, so no path
length limit and no file in the world) and sends one ``register`` message; from then
on the harness sends orders and the fake answers each with ``done``:

==============  =========================================================================
harness sends   meaning
==============  =========================================================================
``write``       write ``text`` to ``stream`` (``stdout`` or ``stderr``) and flush
``hook``        run ``argv`` (or ``shell``) with ``stdin`` and ``env``; answer its exit code
``sync``        answer at once (every signal that arrived before it was reported first)
``exchange``    make the model ``request`` of ``exchange`` at the CLI's base URL
                (:mod:`~conformance.processes.models`); answer what came back
``acp``         print ``message`` (one JSON-RPC line of the ACP agent) on stdout
``exit``        flush and exit with ``code`` (or die of ``signal``)
==============  =========================================================================

The fake reports, unasked, ``signal`` (``signum``) when one of SIGTERM, SIGINT or
SIGHUP arrives, and then waits for the harness's ``exit``; in ACP mode each line its
client writes (``acp``, ``line``) and the end of its stdin (``quit``). End of the stream means
the harness is gone: the fake exits at once (status 1) instead of lingering.
"""

from __future__ import annotations

import json
import socket
from typing import Any

#: The environment variable naming the harness's socket (an abstract name, no ``@``).
SOCKET_ENV = "CONFORMANCE_PUPPET_SOCKET"
#: The environment variable naming the CLI version a fake plays when no harness
#: tells it otherwise (``--version`` and ``--help`` answer without a harness).
VERSION_ENV = "CONFORMANCE_FAKE_VERSION_{kind}"
#: The longest message either side accepts, in bytes.
MAX_MESSAGE = 8 * 1024 * 1024


class WireError(Exception):
    """A message that is not one JSON object on one line, or is too long."""


def address(name: str) -> str:
    """The ``AF_UNIX`` address of the abstract socket ``name``."""
    return "\0" + name


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one message (a JSON object on one line)."""
    sock.sendall(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")


class Reader:
    """Reads whole messages from a stream socket; ``None`` at end of stream."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def pending(self) -> bool:
        """Whether a whole message is buffered already (``select`` will not say so)."""
        return b"\n" in self._buffer

    def read(self) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_MESSAGE:
                raise WireError(f"a message longer than {MAX_MESSAGE} bytes")
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, OSError):
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError as error:
            raise WireError(f"not JSON: {line[:200]!r}: {error}") from None
        if not isinstance(message, dict):
            raise WireError(f"not a JSON object: {line[:200]!r}")
        return message
