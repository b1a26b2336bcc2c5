"""The camera's health for the daemon: is it up, why not, how long to wait, and what to do with a
frame that cannot be decoded.

Two kinds of trouble, kept apart on purpose. A camera that does not open or dies (unplugged, no
power) is *down*: reopened with backoff, its reason logged once. One undecodable frame (a text
file named x.jpg, a corrupt image among good ones in a folder) is a *bad frame*: skipped and
counted, the source left open so the next frame is read. Treating it as a dead camera reopened the
folder at its first image and read the same bad one again, 165k-225k times a minute, each time
logging "camera down" and "camera back" (issue 22, row 12).
"""

from __future__ import annotations

import logging
from typing import Iterator, Protocol

from ..errors import SourceError
from ..ratelimit import RateLimit
from ..textsafe import clean

#: at most one log line about bad frames per this many seconds (the first one at once)
BAD_FRAME_LOG_S = 60.0


class _Source(Protocol):
    description: str

    def open(self) -> None: ...


class CameraWatch:
    """The camera's health for the daemon: opens the source, says why it does not open once (the
    same reason again goes to DEBUG: a camera may stay away for days), knows whether it is up or
    down, gives the backoff between reopening attempts (``retry_s`` doubling to ``retry_max_s``)
    and between bad frames in a row, and counts the bad frames."""

    def __init__(self, retry_s: float, retry_max_s: float) -> None:
        self.retry_s, self.retry_max_s = retry_s, retry_max_s
        #: "ok" or "down", as the state message's ``camera`` field says
        self.status = "ok"
        #: frames skipped because they could not be decoded, since start
        self.bad_frames = 0
        self._bad_in_a_row = 0
        self._bad_log = RateLimit(BAD_FRAME_LOG_S)
        self._log = logging.getLogger("edge.daemon")  # the daemon's log lines, as before they moved here
        #: the reason last logged for a camera that does not open
        self._problem: str | None = None

    def try_open(self, source: _Source) -> bool:
        """Open ``source``; False (and the reason logged, once) when it does not open."""
        try:
            source.open()
        except SourceError as exc:
            if str(exc) != self._problem:
                self._log.warning("camera: %s", exc)
                self._problem = str(exc)
            else:
                self._log.debug("camera: %s", exc)
            return False
        self._problem = None
        return True

    def went_down(self, reason: str) -> bool:
        """Mark it down; True when it was up until now (the moment to tell the world)."""
        if self.status == "down":
            return False
        self._log.warning("camera down: %s; retrying with backoff", reason)
        self.status = "down"
        return True

    def came_back(self, source: _Source) -> None:
        self._log.info("camera back: %s", source.description)
        self.status = "ok"

    def delays(self) -> Iterator[float]:
        """The waits between reopening attempts: retry_s, doubled each time, at most retry_max_s."""
        delay = self.retry_s
        while True:
            yield delay
            delay = min(delay * 2, self.retry_max_s)

    def bad_frame(self, reason: str) -> float:
        """Count a frame that could not be decoded and log it (the first at once, then at most one
        line a minute with the count); the seconds to wait before the next read: none after a good
        frame, then retry_s doubling to retry_max_s while every frame is bad."""
        self.bad_frames += 1
        self._bad_in_a_row += 1
        if self._bad_log.allow():
            more = self._bad_log.take_suppressed()
            self._log.warning("camera: skipped a frame that cannot be decoded: %s (%d skipped so far%s)",
                              clean(reason, 300), self.bad_frames,
                              f", {more} since the last report" if more else "")
        if self._bad_in_a_row == 1:
            return 0.0
        return min(self.retry_s * 2 ** (self._bad_in_a_row - 2), self.retry_max_s)

    def good_frame(self) -> None:
        """A frame was decoded: the next bad one is skipped without waiting."""
        self._bad_in_a_row = 0
