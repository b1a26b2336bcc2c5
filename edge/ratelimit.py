"""At most one action per period, whatever a flood of triggers does: for work and log lines that
the network can trigger (Home Assistant's birth message, oversized packets)."""

from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimit:
    """``allow()`` is True at most once per ``period_s``; the calls refused since are counted."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()
        #: calls refused since the last allowed one
        self.suppressed = 0

    def allow(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._last is None or now - self._last >= self.period_s:
                self._last = now
                return True
            self.suppressed += 1
            return False

    def take_suppressed(self) -> int:
        with self._lock:
            n, self.suppressed = self.suppressed, 0
            return n

    def remaining_s(self) -> float:
        with self._lock:
            return 0.0 if self._last is None else max(0.0, self.period_s - (self._clock() - self._last))


class Coalesce:
    """Run ``action`` at once, then at most once per ``period_s``: triggers in between are folded
    into one run at the end of the period (so the last trigger is never lost)."""

    def __init__(self, action: Callable[[int], None], period_s: float) -> None:
        self._action = action
        self._limit = RateLimit(period_s)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def trigger(self) -> bool:
        """True when ``action`` ran now; False when it was folded into a later run."""
        if self._limit.allow():
            self._action(self._limit.take_suppressed())
            return True
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self._limit.remaining_s(), self._late)
                self._timer.daemon = True
                self._timer.start()
        return False

    def _late(self) -> None:
        with self._lock:
            self._timer = None
        self.trigger()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
