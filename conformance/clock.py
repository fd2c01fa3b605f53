"""The harness clock: time as the harness decides it, shared with the orchestrator.

The clock is built on freezegun, so an orchestrator that calls ``time.time()``,
``time.monotonic()`` or ``datetime.now()`` directly sees harness time, exactly as one
that reads :meth:`HarnessClock.now`. ``time.perf_counter()`` alone stays real: it
is for measuring durations, and Hypothesis needs it to budget its shrinking. An hour
of agent time takes no real time at all, and a run never sleeps.

One freezer is started per test item (starting one walks every loaded module, which
is too slow to do per Hypothesis example); each example rewinds it with
:meth:`HarnessClock.reset`.

While the clock runs, the process's time zone is :data:`WORLD_TZ` (UTC-10, no daylight
saving), not UTC: ``TZ`` is set for the C library and freezegun's offset matches it, so
``datetime.now()``, ``time.localtime()`` and ``datetime.fromtimestamp()`` give local
time as on a real machine away from UTC. The real CLIs name some files in local time
(Codex's date directories) and some in UTC (Gemini's chat names); in UTC the two
agree, and an orchestrator that mixes them up would pass by accident. :data:`EPOCH`
falls 33 minutes before local midnight, so the local date changes during a world.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import os
import select
import subprocess
import sys
import time
from typing import Any

from freezegun import api as _freezegun_api
from freezegun import freeze_time

# Kept in a dict on purpose: freezegun replaces every module attribute that refers
# to a real time function, and would swap these for its fakes too.
_REAL: dict[str, Any] = {"perf_counter": time.perf_counter,
                         "perf_counter_ns": time.perf_counter_ns}

#: The instant every world starts at. A fixed, ordinary date keeps file names stable.
EPOCH = _dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=_dt.timezone.utc)

#: The process time zone of every world (POSIX ``TZ`` syntax: UTC-10, as Honolulu),
#: and its offset from UTC in hours.
WORLD_TZ = "HST10"
WORLD_UTC_OFFSET_HOURS = -10


def _set_tz(value: str | None) -> None:
    if value is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = value
    if hasattr(time, "tzset"):
        time.tzset()


_FREEZEGUN_NOW = _freezegun_api.FakeDatetime.__dict__["now"]


def _aware_now(cls: Any, tz: _dt.tzinfo | None = None) -> Any:
    """``datetime.now(tz)`` as the standard library defines it (the frozen instant in
    ``tz``). freezegun 1.5 adds its ``tz_offset`` to aware times too (its issue #348),
    which would put ``datetime.now(timezone.utc)`` ten hours off."""
    if tz is None:
        return _FREEZEGUN_NOW.__func__(cls)
    return _freezegun_api.datetime_to_fakedatetime(
        _freezegun_api.real_datetime.fromtimestamp(time.time(), tz))


def _restore_perf_counters() -> None:
    """Put the real ``perf_counter`` back wherever freezegun swapped it in.

    That includes modules that imported it by name, such as pytest's own timing: with
    the fake there, ``--durations`` and the session time would read harness time.
    """
    fakes = {name: getattr(time, name) for name in _REAL}
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, fake in fakes.items():
            if namespace.get(name) is fake and fake is not _REAL[name]:
                namespace[name] = _REAL[name]


def since_start(timestamp: float) -> float:
    """Seconds between the start of every world (:data:`EPOCH`) and ``timestamp``."""
    return timestamp - EPOCH.timestamp()


class HarnessClock:
    """A frozen clock that only moves when the harness moves it."""

    def __init__(self) -> None:
        self._freezer: Any = None
        self._factory: Any = None
        self._saved_tz: str | None = None
        self._start = EPOCH.timestamp()

    def start(self) -> None:
        """Freeze time at :data:`EPOCH`. Idempotent."""
        if self._freezer is None:
            self._saved_tz = os.environ.get("TZ")
            _set_tz(WORLD_TZ)
            self._freezer = freeze_time(EPOCH, tick=False, tz_offset=WORLD_UTC_OFFSET_HOURS)
            self._factory = self._freezer.start()
            _freezegun_api.FakeDatetime.now = classmethod(_aware_now)  # type: ignore[method-assign,assignment]
            # perf_counter stays real: it measures durations, not the time of day, and
            # Hypothesis budgets its shrinking with it (a frozen clock that jumps an
            # hour per step would make it give up at once). freezegun restores the
            # module attribute on stop.
            _restore_perf_counters()

    def stop(self) -> None:
        """Unfreeze time. Idempotent."""
        if self._freezer is not None:
            self._freezer.stop()
            self._freezer = None
            self._factory = None
            _freezegun_api.FakeDatetime.now = _FREEZEGUN_NOW  # type: ignore[method-assign]
            _set_tz(self._saved_tz)

    def reset(self) -> None:
        """Rewind to :data:`EPOCH` (the start of a new world)."""
        self._require()
        self._factory.move_to(EPOCH)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError(f"the harness clock only moves forward, got {seconds}")
        self._require()
        self._factory.tick(_dt.timedelta(seconds=seconds))

    def move_to(self, timestamp: float) -> None:
        """Move time forward to the absolute Unix ``timestamp``."""
        self.advance(max(0.0, timestamp - self.now()))

    def now(self) -> float:
        """Harness time as a Unix timestamp.

        Read from the freezer itself, not through ``time.time()``: freezegun gives real
        time to a call made on a thread it was told to ignore (every thread's stack
        starts in ``threading``), and the harness serves the fake CLI processes from
        threads of its own (:mod:`conformance.processes`)."""
        if self._factory is None:
            return time.time()
        frozen: _dt.datetime = self._factory.time_to_freeze
        return calendar.timegm(frozen.timetuple()) + frozen.microsecond / 1_000_000

    def elapsed(self) -> float:
        """Seconds since the world started."""
        return self.now() - self._start

    def __enter__(self) -> HarnessClock:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _require(self) -> None:
        if self._factory is None:
            raise RuntimeError("the harness clock is not running; call start() first")


def wait_exit(popen: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait up to ``seconds`` of real time for ``popen`` to exit; whether it did.

    Not ``Popen.wait(timeout=...)``: it measures with ``time.monotonic``, which a
    running harness clock freezes on the main thread, and would wait for ever.
    ``time.perf_counter`` stays real under the clock."""
    deadline = time.perf_counter() + seconds
    while popen.poll() is None:
        if time.perf_counter() > deadline:
            return False
        select.select([], [], [], 0.002)
    return True
