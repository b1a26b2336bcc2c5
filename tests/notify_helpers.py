"""The socket systemd listens on for sd_notify (``NOTIFY_SOCKET``): a real AF_UNIX datagram socket
the test owns, at a short path or an abstract address (``@name``), for every test that checks what
the daemon tells systemd."""

from __future__ import annotations

import select
import socket
import tempfile
import time
import uuid
from pathlib import Path

#: how long something that must happen may take on a slow shared CPU (model load, first frames)
EVENTUALLY_S = 90.0
#: sent last by datagrams_until_sentinel: AF_UNIX datagrams arrive in order, so everything before
#: it is everything that was sent
SENTINEL = "X-TEST-SENTINEL=1"


class NotifySocket:
    """One datagram per notification, newline-separated KEY=VALUE; ``address`` goes in NOTIFY_SOCKET."""

    def __init__(self, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dir: Path | None = None
        if abstract:
            name = f"mood-edge-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.dir = Path(tempfile.mkdtemp(prefix="notify-"))  # short: AF_UNIX paths max 107 bytes
            self.sock.bind(str(self.dir / "notify.sock"))
            self.address = str(self.dir / "notify.sock")
        #: every message received so far, parsed
        self.received: list[dict[str, str]] = []

    def _datagram(self, timeout: float) -> str | None:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        return self.sock.recv(4096).decode() if ready else None

    def receive(self, timeout: float) -> dict[str, str] | None:
        """The next message as a dict, or None when none came within ``timeout`` seconds."""
        data = self._datagram(timeout)
        if data is None:
            return None
        msg = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        self.received.append(msg)
        return msg

    def wait_for(self, key: str, value: str = "1", timeout: float = EVENTUALLY_S) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.receive(left)
            if msg is not None and msg.get(key) == value:
                return msg
        raise AssertionError(f"no {key}={value} within {timeout}s; got {self.received[-10:]}")

    def drain(self) -> list[dict[str, str]]:
        out = []
        while (msg := self.receive(0)) is not None:
            out.append(msg)
        return out

    def datagrams_until_sentinel(self, notifier, timeout: float = 10.0) -> list[str]:
        """Every raw datagram ``notifier`` (an edge.commands.notify.Notifier) sent, and nothing else."""
        assert notifier.send(SENTINEL)
        out = []
        while (data := self._datagram(timeout)) != SENTINEL:
            assert data is not None, f"the sentinel did not arrive within {timeout}s; got {out}"
            out.append(data)
        return out

    def close(self) -> None:
        self.sock.close()
        if self.dir:
            (self.dir / "notify.sock").unlink(missing_ok=True)
            self.dir.rmdir()
