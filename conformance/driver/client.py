"""One driver process: started, asked, answered, and stopped (:mod:`.protocol`).

The driver runs in a process group of its own, so that stopping it also stops what
it launched (the fake CLIs die with their world anyway). Its stderr goes to a file,
never to a pipe nobody reads (a chatty driver would block on a full pipe), and the
end of that file goes into every :class:`~conformance.errors.DriverError`. With a
transcript file, every line exchanged is appended to it, marked ``>`` (to the
driver) or ``<`` (from it), for a vendor debugging a driver.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from conformance.clock import wait_exit
from conformance.driver import protocol
from conformance.errors import DriverError

#: Real seconds a driver may take to answer one request (``hello`` and ``start``
#: included), unless the adapter was given another bound.
DEFAULT_TIMEOUT = 60.0
#: Real seconds a driver may take to exit once its stdin is closed.
EXIT_BOUND = 10.0


def split_command(command: str) -> list[str]:
    """The argv of ``command`` (POSIX shell words), or a :class:`DriverError`."""
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise DriverError("launch", f"cannot split the command {command!r}: {error}") from None
    if not argv:
        raise DriverError("launch", "the orchestrator command is empty")
    return argv


class DriverProcess:
    """A running driver: :meth:`ask` sends one request and returns its result."""

    def __init__(self, command: str, *, cwd: Path | None = None,
                 stderr_path: Path, transcript: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = command
        self.timeout = timeout
        self.stderr_path = stderr_path
        self.transcript = transcript
        self._next_id = 0
        self._buffer = b""
        self.closed = False
        stderr_path.parent.mkdir(parents=True, exist_ok=True)
        self._stderr: IO[bytes] = stderr_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                split_command(command), cwd=cwd, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._stderr, start_new_session=True,
                env={**os.environ, **(env or {}),
                     "CONFORMANCE_DRIVER_PROTOCOL": str(protocol.PROTOCOL_VERSION)})
        except OSError as error:
            self._stderr.close()
            raise DriverError("launch", f"cannot run {command!r}: {error}") from None

    # -- asking ---------------------------------------------------------------------

    def ask(self, op: str, now: float, args: Mapping[str, Any] | None = None) -> Any:
        """Send ``op`` at harness time ``now`` and return the driver's result; an error
        response is returned as the error object, under the key ``error``."""
        if self.closed:
            raise DriverError(op, "the driver was already stopped")
        request_id, self._next_id = self._next_id, self._next_id + 1
        line = protocol.request(request_id, op, now, args or {})
        self._log(">", line)
        try:
            assert self.popen.stdin is not None
            self.popen.stdin.write(line)
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._dead(op, "stopped reading its stdin") from None
        answer = protocol.response(self._read_line(op), request_id, op)
        return answer["result"] if answer["ok"] else {"error": answer["error"]}

    def _read_line(self, op: str) -> bytes:
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.perf_counter() + self.timeout
        while b"\n" not in self._buffer:
            if len(self._buffer) > protocol.MAX_LINE:
                self.stop()
                raise DriverError(op, f"wrote a line longer than {protocol.MAX_LINE} bytes "
                                      "without ending it", self.stderr_tail())
            left = deadline - time.perf_counter()
            if left <= 0:
                self.stop()
                raise DriverError(op, f"did not answer within {self.timeout:g}s of real "
                                      "time (it was stopped)", self.stderr_tail())
            if not select.select([fd], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._dead(op, "exited before answering" if self._buffer == b""
                                 else "exited in the middle of its answer")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self._log("<", line + b"\n")
        if len(line) > protocol.MAX_LINE:
            self.stop()
            raise DriverError(op, f"wrote a line of {len(line)} bytes (at most "
                                  f"{protocol.MAX_LINE})", self.stderr_tail())
        return line

    def _dead(self, op: str, what: str) -> DriverError:
        wait_exit(self.popen, EXIT_BOUND)
        code = self.popen.poll()
        status = ("still running" if code is None else
                  f"killed by {signal.Signals(-code).name}" if code < 0 else
                  f"exit status {code}")
        self.stop()
        return DriverError(op, f"the driver {what} ({status})", self.stderr_tail())

    # -- stopping -------------------------------------------------------------------

    def stop(self) -> None:
        """Close its stdin, give it :data:`EXIT_BOUND` seconds to exit, then kill its
        process group. Idempotent."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError, ValueError):
            assert self.popen.stdin is not None
            self.popen.stdin.close()
        wait_exit(self.popen, EXIT_BOUND)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        wait_exit(self.popen, EXIT_BOUND)
        with contextlib.suppress(OSError, ValueError):
            assert self.popen.stdout is not None
            self.popen.stdout.close()
        self._stderr.close()

    def stderr_tail(self, limit: int = 4000) -> str:
        try:
            data = self.stderr_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def _log(self, direction: str, line: bytes) -> None:
        if self.transcript is None:
            return
        with contextlib.suppress(OSError), self.transcript.open("ab") as handle:
            handle.write(direction.encode() + b" " + line)
