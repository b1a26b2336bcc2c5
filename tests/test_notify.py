"""edge/notify.py speaks systemd's sd_notify protocol to a real AF_UNIX datagram socket.

Each test owns the socket systemd would own and reads what arrives. To show that *nothing* more
arrived, a sentinel datagram is sent last: AF_UNIX datagrams arrive in order, so everything before
the sentinel is everything that was sent.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from edge import notify
from edge.notify import Notifier

SENTINEL = "X-TEST-SENTINEL=1"


class Listener:
    def __init__(self, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.settimeout(10)
        self.dir: Path | None = None
        if abstract:
            name = f"mood-edge-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.dir = Path(tempfile.mkdtemp(prefix="notify-"))
            self.sock.bind(str(self.dir / "n.sock"))
            self.address = str(self.dir / "n.sock")

    def datagrams_until_sentinel(self, notifier: Notifier) -> list[str]:
        assert notifier.send(SENTINEL)
        out = []
        while (data := self.sock.recv(4096).decode()) != SENTINEL:
            out.append(data)
        return out

    def close(self) -> None:
        self.sock.close()
        if self.dir:
            (self.dir / "n.sock").unlink(missing_ok=True)
            self.dir.rmdir()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


class FakeClock:
    """Time under the test's control, for the rate limit (a monotonic clock the notifier reads)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_everything_is_a_no_op_without_notify_socket():
    n = Notifier(environ={})
    assert not n.enabled
    assert (n.ready(), n.watchdog(), n.stopping(), n.status("x")) == (False, False, False, False)
    assert n.watchdog_interval() is None


def test_ready_sends_ready_1(listener):
    n = Notifier(environ={"NOTIFY_SOCKET": listener.address})
    assert n.ready()
    assert listener.datagrams_until_sentinel(n) == ["READY=1"]


def test_stopping_sends_stopping_1(listener):
    n = Notifier(environ={"NOTIFY_SOCKET": listener.address})
    n.stopping()
    assert listener.datagrams_until_sentinel(n) == ["STOPPING=1"]


def test_status_is_one_line(listener):
    n = Notifier(environ={"NOTIFY_SOCKET": listener.address})
    n.status("mood: happy\nREADY=1")  # a newline must not smuggle in another field
    assert listener.datagrams_until_sentinel(n) == ["STATUS=mood: happy READY=1"]


def test_an_abstract_socket_address_is_supported():
    lst = Listener(abstract=True)
    try:
        n = Notifier(environ={"NOTIFY_SOCKET": lst.address})
        n.ready()
        assert lst.datagrams_until_sentinel(n) == ["READY=1"]
    finally:
        lst.close()


def test_watchdog_interval_comes_from_watchdog_usec():
    assert Notifier(environ={"WATCHDOG_USEC": "30000000"}).watchdog_interval() == 30.0
    assert Notifier(environ={"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
                    ).watchdog_interval() == 30.0


def test_a_watchdog_meant_for_another_process_is_ignored():
    other = str(os.getppid())
    assert Notifier(environ={"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": other}).watchdog_interval() is None


@pytest.mark.parametrize("usec", ["", "0", "soon", "-5"])
def test_no_or_bad_watchdog_usec_means_no_interval(usec):
    assert Notifier(environ={"WATCHDOG_USEC": usec}).watchdog_interval() is None


def test_watchdog_pings_at_most_once_per_third_of_the_interval(listener):
    clock = FakeClock()
    n = Notifier(environ={"NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "3000000"}, clock=clock)
    sent = []
    for t in (0.0, 0.1, 0.5, 0.99, 1.0, 1.5, 2.0, 2.0, 3.5):  # seconds; a third of 3 s is 1 s
        clock.now = 1000.0 + t
        sent.append(n.watchdog())
    assert sent == [True, False, False, False, True, False, True, False, True]
    assert listener.datagrams_until_sentinel(n) == ["WATCHDOG=1"] * 4


def test_without_an_interval_every_watchdog_call_pings(listener):
    n = Notifier(environ={"NOTIFY_SOCKET": listener.address}, clock=FakeClock())
    assert all(n.watchdog() for _ in range(5))
    assert listener.datagrams_until_sentinel(n) == ["WATCHDOG=1"] * 5


def test_a_missing_socket_never_raises_and_warns_once(tmp_path, caplog):
    n = Notifier(environ={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING, logger="edge.notify"):
        assert not n.ready()
        assert not n.watchdog()
        assert not n.status("still fine")
    assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1


def test_a_relative_socket_name_is_refused(caplog):
    with caplog.at_level(logging.WARNING, logger="edge.notify"):
        assert not Notifier(environ={"NOTIFY_SOCKET": "relative/sock"}).ready()
    assert "neither an absolute path nor @abstract" in caplog.text


def test_the_module_functions_follow_the_process_environment(listener, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", listener.address)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify.enabled()
    notify.ready()
    notify.status("mood: calm")
    notify.watchdog()
    notify.stopping()
    probe = Notifier(environ={"NOTIFY_SOCKET": listener.address})
    assert listener.datagrams_until_sentinel(probe) == ["READY=1", "STATUS=mood: calm", "WATCHDOG=1",
                                                        "STOPPING=1"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify.ready()
