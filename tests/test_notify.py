"""edge/commands/notify.py speaks systemd's sd_notify protocol to a real AF_UNIX datagram socket.

Each test owns the socket systemd would own and reads what arrives. To show that *nothing* more
arrived, a sentinel datagram is sent last (tests/notify_helpers.py).
"""

from __future__ import annotations

import logging
import os

import pytest

from edge.commands import notify
from edge.commands.notify import Notifier
from notify_helpers import NotifySocket


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


def test_ready_sends_ready_1(notify_socket):
    n = Notifier(environ={"NOTIFY_SOCKET": notify_socket.address})
    assert n.ready()
    assert notify_socket.datagrams_until_sentinel(n) == ["READY=1"]


def test_stopping_sends_stopping_1(notify_socket):
    n = Notifier(environ={"NOTIFY_SOCKET": notify_socket.address})
    n.stopping()
    assert notify_socket.datagrams_until_sentinel(n) == ["STOPPING=1"]


def test_status_is_one_line(notify_socket):
    n = Notifier(environ={"NOTIFY_SOCKET": notify_socket.address})
    n.status("mood: happy\nREADY=1")  # a newline must not smuggle in another field
    assert notify_socket.datagrams_until_sentinel(n) == ["STATUS=mood: happy READY=1"]


def test_an_abstract_socket_address_is_supported():
    lst = NotifySocket(abstract=True)
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


def test_watchdog_pings_at_most_once_per_third_of_the_interval(notify_socket):
    clock = FakeClock()
    n = Notifier(environ={"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "3000000"}, clock=clock)
    sent = []
    for t in (0.0, 0.1, 0.5, 0.99, 1.0, 1.5, 2.0, 2.0, 3.5):  # seconds; a third of 3 s is 1 s
        clock.now = 1000.0 + t
        sent.append(n.watchdog())
    assert sent == [True, False, False, False, True, False, True, False, True]
    assert notify_socket.datagrams_until_sentinel(n) == ["WATCHDOG=1"] * 4


def test_without_an_interval_every_watchdog_call_pings(notify_socket):
    n = Notifier(environ={"NOTIFY_SOCKET": notify_socket.address}, clock=FakeClock())
    assert all(n.watchdog() for _ in range(5))
    assert notify_socket.datagrams_until_sentinel(n) == ["WATCHDOG=1"] * 5


def test_a_missing_socket_never_raises_and_warns_once(tmp_path, caplog):
    n = Notifier(environ={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING, logger="edge.commands.notify"):
        assert not n.ready()
        assert not n.watchdog()
        assert not n.status("still fine")
    assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1


def test_a_relative_socket_name_is_refused(caplog):
    with caplog.at_level(logging.WARNING, logger="edge.commands.notify"):
        assert not Notifier(environ={"NOTIFY_SOCKET": "relative/sock"}).ready()
    assert "neither an absolute path nor @abstract" in caplog.text


def test_the_module_functions_follow_the_process_environment(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify.enabled()
    notify.ready()
    notify.status("mood: calm")
    notify.watchdog()
    notify.stopping()
    probe = Notifier(environ={"NOTIFY_SOCKET": notify_socket.address})
    assert notify_socket.datagrams_until_sentinel(probe) == ["READY=1", "STATUS=mood: calm", "WATCHDOG=1",
                                                        "STOPPING=1"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify.ready()
