"""A tiny sd_notify: tell systemd we are ready, alive, stopping, and what the mood is.

The unit is ``Type=notify`` with ``WatchdogSec=``: systemd restarts the daemon if ``WATCHDOG=1``
stops arriving, so the main loop calls :func:`watchdog` on every frame and a hung camera read is
caught. The protocol is one AF_UNIX datagram of newline-separated ``KEY=VALUE`` lines sent to
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Pure Python on purpose: no
libsystemd binding to install on the Pi. Every call is a no-op when ``NOTIFY_SOCKET`` is unset
(run by hand, in tests, in a container) and never raises: notifying must not kill the daemon.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable, Mapping

log = logging.getLogger(__name__)


def _parse_interval(env: Mapping[str, str]) -> float | None:
    """Seconds between the pings systemd expects, or None when no watchdog is asked of *us*."""
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None  # the watchdog belongs to another process (e.g. our parent)
        except ValueError:
            log.warning("ignoring WATCHDOG_PID=%r: not a process id", pid)
            return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
        return None
    return value / 1e6 if value > 0 else None


def _socket_address(raw: str) -> str | None:
    """``@name`` is Linux's abstract namespace (a leading NUL byte); otherwise an absolute path."""
    if raw.startswith("@") and len(raw) > 1:
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    return None


class Notifier:
    """Sends notifications to the socket named in ``environ`` (read at every call, so it follows
    the environment); rate-limits ``WATCHDOG=1`` to one datagram per a third of the interval."""

    def __init__(self, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._environ = environ if environ is not None else os.environ
        self._clock = clock
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._last_ping: float | None = None
        self._warned: set[str] = set()

    @property
    def enabled(self) -> bool:
        return bool(self._environ.get("NOTIFY_SOCKET"))

    def watchdog_interval(self) -> float | None:
        """``WATCHDOG_USEC`` in seconds, if systemd enabled a watchdog for this process."""
        return _parse_interval(self._environ)

    def send(self, *lines: str) -> bool:
        """Send one datagram; True when it was delivered (False, quietly, when disabled/failed)."""
        raw = self._environ.get("NOTIFY_SOCKET", "")
        if not raw:
            return False
        address = _socket_address(raw)
        if address is None:
            self._warn_once(raw, "NOTIFY_SOCKET=%r is neither an absolute path nor @abstract; "
                                 "not notifying systemd", raw)
            return False
        payload = "\n".join(lines).encode("utf-8")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(payload, address)
                return True
            except OSError as exc:
                self._warn_once(raw + str(exc.errno), "cannot notify systemd at %s: %s", raw, exc)
                self._close_locked()
                return False

    def ready(self) -> bool:
        """The model is loaded and the camera is open: systemd may consider us started."""
        return self.send("READY=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status`` (newlines would break the protocol)."""
        return self.send("STATUS=" + " ".join(str(text).splitlines()))

    def watchdog(self) -> bool:
        """Ping the watchdog; cheap enough to call on every frame. True when a datagram went out."""
        if not self.enabled:
            return False
        interval = self.watchdog_interval()
        now = self._clock()
        if interval is not None and self._last_ping is not None and now - self._last_ping < interval / 3:
            return False
        sent = self.send("WATCHDOG=1")
        if sent:
            self._last_ping = now
        return sent

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)


_default = Notifier()


def ready() -> bool:
    return _default.ready()


def watchdog() -> bool:
    return _default.watchdog()


def stopping() -> bool:
    return _default.stopping()


def status(text: str) -> bool:
    return _default.status(text)


def watchdog_interval() -> float | None:
    return _default.watchdog_interval()


def enabled() -> bool:
    return _default.enabled


def ping_every() -> float:
    """The longest a waiting loop may sleep between watchdog calls, at most a second (so a stop
    request is seen soon): pings go out at least a third of the interval apart, so waking every
    twelfth keeps them 5/12 of it apart at most, under the half that sd_watchdog_enabled(3) advises."""
    interval = _default.watchdog_interval()
    return min(1.0, interval / 12) if interval else 1.0
