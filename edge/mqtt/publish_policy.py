"""When the daemon sends its state: on a real change at once, on a small change at most once a
second, and as a heartbeat otherwise. A policy of its own so it can be tested with a fake clock."""

from __future__ import annotations

import time
from typing import Callable

from .messages import StateMessage


class PublishPolicy:
    """``due(msg)`` says whether ``msg`` should be sent now, and remembers it as sent when so.

    * important (mood, camera status or recommendations changed, or nothing sent yet): now;
    * minor (anything else but the timestamp, confidence and probabilities changed, e.g. the
      face count): at most once per ``min_interval_s``, so a flickering count is no flood;
    * nothing changed: once per ``heartbeat_s``, so a display can tell a quiet room from a dead sensor.
    """

    def __init__(self, heartbeat_s: float, min_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.heartbeat_s = heartbeat_s
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._last_msg: StateMessage | None = None
        self._last_sent = 0.0

    def due(self, msg: StateMessage, force: bool = False) -> bool:
        now = self._clock()
        last = self._last_msg
        important = last is None or (msg.mood, msg.camera, msg.recommendations) != (
            last.mood, last.camera, last.recommendations)
        minor = not msg.same_content(last) and now - self._last_sent >= self.min_interval_s
        heartbeat = now - self._last_sent >= self.heartbeat_s
        if not (force or important or minor or heartbeat):
            return False
        self._last_msg, self._last_sent = msg, now
        return True
