"""Camera faults: sources that fail to open, return empty or corrupt frames, or die mid-run.

The daemon keeps running, retries with backoff, publishes ``"camera": "down"`` in its retained state
and ``"camera": "ok"`` once the source is back. A ``file:``/``dir:`` path that is missing at start is
a user mistake (exit status 2, one clear line); a device that is missing, or a source that dies while
running, is retried.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from daemon_helpers import ROOT, astronaut_folder, daemon_cmd, fast_config, start_daemon
from edge import config as config_mod
from edge.sources.base import Source
from edge.commands.daemon import Daemon
from edge.errors import SourceError
from faces import astronaut_gray
from plugins.daemon_log import DaemonLog, stop_daemon
from plugins.long import figures  # noqa: F401 - fixture, also without the plugin registered

CLIP = ROOT / "samples" / "living-room.mp4"


def camera_is(value: str):
    return lambda m: json.loads(m.payload)["camera"] == value


def run_daemon(tmp_path: Path, broker, device: str, camera: str, *global_options: str) -> tuple:
    log = DaemonLog(tmp_path / f"{device}.log")
    cmd = daemon_cmd(fast_config(tmp_path), camera, broker.url, device, tmp_path / "state", "--loop")
    log.proc = start_daemon([*cmd[:3], *global_options, *cmd[3:]], log_path=log.path)
    return log.proc, log


# ------------------------------------------------------------------------------ the daemon, as run


def test_a_missing_camera_device_is_retried_and_reported_down(tmp_path, broker, subscriber_factory):
    sub = subscriber_factory(broker.port, ["mood-edge/nocam/#"])
    proc, log = run_daemon(tmp_path, broker, "nocam", "v4l2:/dev/video-not-plugged-in", "--log-level", "DEBUG")
    try:
        state = json.loads(sub.wait_for("mood-edge/nocam/state", camera_is("down")).payload)
        assert state["mood"] == "nobody" and state["faces"] == 0
        assert sub.wait_for("mood-edge/nocam/availability").payload == b"online"
        log.wait_for(r"^camera: .*cannot open it", count=4)  # it keeps trying ...
        assert proc.poll() is None
    finally:
        assert stop_daemon(proc) == 0, log.text()[-2000:]
    # ... and says why once: the retries are DEBUG
    tries = log.matching(r"^camera: .*cannot open it")
    assert [t.level for t in tries].count("WARNING") == 1, [(t.level, t.message) for t in tries]
    assert len(log.matching(r"^camera down")) == 1


def test_a_folder_missing_at_start_is_a_user_error(tmp_path, cli):
    run = cli("run", "--camera", f"dir:{tmp_path / 'no-such-folder'}", "--broker", "", "--frames", "1")
    assert run.returncode == 2
    assert "no-such-folder" in run.stderr and "no such folder" in run.stderr and "Traceback" not in run.stderr


def test_a_folder_whose_images_are_deleted_goes_down_and_comes_back(tmp_path, broker, subscriber_factory):
    folder = astronaut_folder(tmp_path)
    backup = shutil.copytree(folder, tmp_path / "backup")
    sub = subscriber_factory(broker.port, ["mood-edge/vanish/state"])
    proc, log = run_daemon(tmp_path, broker, "vanish", f"dir:{folder}")
    try:
        sub.wait_for("mood-edge/vanish/state", lambda m: json.loads(m.payload)["mood"] == "happy", timeout=60)
        for image in folder.iterdir():
            image.unlink()
        down = sub.wait_for("mood-edge/vanish/state", camera_is("down"))
        assert json.loads(down.payload)["device"] == "vanish"
        log.wait_for(r"holds no images", count=1)  # it keeps trying the empty folder
        for image in backup.iterdir():
            shutil.copy(image, folder / image.name)
        sub.wait_for("mood-edge/vanish/state", lambda m: m.t > down.t and camera_is("ok")(m))
        log.wait_for(r"^camera back")
        assert proc.poll() is None
    finally:
        assert stop_daemon(proc) == 0, log.text()[-2000:]


def test_a_video_file_truncated_while_playing_goes_down_and_comes_back(tmp_path, broker, subscriber_factory):
    clip = tmp_path / "clip.mp4"
    shutil.copy(CLIP, clip)
    original = clip.read_bytes()
    sub = subscriber_factory(broker.port, ["mood-edge/cut/state"])
    proc, log = run_daemon(tmp_path, broker, "cut", f"file:{clip}")
    try:
        sub.wait_for("mood-edge/cut/state", camera_is("ok"), timeout=60)
        # play past what FFmpeg buffers from the start of the file (a clip truncated within its
        # first few frames would be replayed from that buffer, which looks like a healthy clip)
        time.sleep(3)
        with open(clip, "r+b") as f:  # same inode: the open capture sees it too
            f.truncate(0)
        down = sub.wait_for("mood-edge/cut/state", camera_is("down"), timeout=60)
        with open(clip, "r+b") as f:
            f.write(original)
        sub.wait_for("mood-edge/cut/state", lambda m: m.t > down.t and camera_is("ok")(m))
        assert proc.poll() is None
    finally:
        assert stop_daemon(proc) == 0, log.text()[-2000:]


def test_a_corrupt_image_is_skipped_as_a_bad_frame_and_the_daemon_carries_on(tmp_path, broker, subscriber_factory):
    """A bad frame is not a dead camera (issue 22 row 12): skipped, counted, logged once; the camera stays ok."""
    folder = astronaut_folder(tmp_path)
    (folder / "0001.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a broken frame in the middle
    sub = subscriber_factory(broker.port, ["mood-edge/corrupt/state"])
    proc, log = run_daemon(tmp_path, broker, "corrupt", f"dir:{folder}")
    try:
        sub.wait_for("mood-edge/corrupt/state", lambda m: json.loads(m.payload)["mood"] == "happy", timeout=60)
        log.wait_for(r"0001.png: is not an image")  # the log names the bad file
        assert not any(camera_is("down")(m) for m in sub.on("mood-edge/corrupt/state"))
        sub.clear()
        sub.wait_for("mood-edge/corrupt/state")  # still running, still publishing
        assert proc.poll() is None
    finally:
        assert stop_daemon(proc) == 0, log.text()[-2000:]
    assert "Traceback" not in log.text()


# ------------------------------------------------------------------------------ a flaky device, in-process


class FlakyCamera(Source):
    """A stand-in for a USB camera that is unplugged and plugged back, or hands over empty buffers.

    ``script`` is a list of phases ``(kind, count)``: "frames" (real astronaut frames), "empty"
    (zero-size arrays, as a driver returning an empty buffer), "errors" (reads that raise, as an
    unplugged device), "closed" (opens that fail). Every open and read is timed, so the test can
    check the backoff. It paces reads at ~30 fps, like a device."""

    description = "v4l2:flaky"

    def __init__(self, script: list[tuple[str, int]]) -> None:
        super().__init__()
        self.script = [list(phase) for phase in script]
        self.frame = cv2.resize(astronaut_gray(), (320, 320))
        self.opens: list[float] = []
        self.failed_opens: list[float] = []
        self.reads = 0
        self.lock = threading.Lock()

    def _phase(self) -> str:
        while self.script and self.script[0][1] <= 0:
            self.script.pop(0)
        return self.script[0][0] if self.script else "frames"

    def _use(self) -> None:
        if self.script:
            self.script[0][1] -= 1

    def _open(self) -> None:
        with self.lock:
            if self._phase() == "closed":
                self._use()
                self.failed_opens.append(time.monotonic())
                raise SourceError("cannot open it", path=self.description)
            self.opens.append(time.monotonic())

    def _read(self) -> np.ndarray | None:
        time.sleep(1 / 30)
        with self.lock:
            self.reads += 1
            kind = self._phase()
            if kind != "closed":
                self._use()
            if kind == "empty":
                return np.empty((0, 0), np.uint8)
            if kind == "errors":
                raise SourceError("camera stopped delivering frames", path=self.description)
            if kind == "closed":  # unplugged while open: reads fail until it is reopened
                raise SourceError("device disconnected", path=self.description)
            return self.frame


@pytest.fixture
def run_with_camera(tmp_path, broker):
    """Run the real Daemon in a thread with ``camera`` as its source; stop it at the end."""
    running: list[tuple[Daemon, threading.Thread]] = []

    def start(camera: Source, device: str) -> Daemon:
        cfg = config_mod.load(fast_config(tmp_path))
        cfg.mqtt.broker, cfg.mqtt.device_id = broker.url, device
        cfg.daemon.state_dir = str(tmp_path / "state")
        daemon = Daemon(cfg)
        daemon.pipeline.source = camera
        thread = threading.Thread(target=daemon.run, daemon=True)
        thread.start()
        daemon.thread_alive = thread.is_alive  # type: ignore[attr-defined]
        running.append((daemon, thread))
        return daemon

    yield start
    for daemon, thread in running:
        daemon.request_stop()
        thread.join(30)
        assert not thread.is_alive()


def test_empty_frames_from_a_device_are_a_camera_fault_not_a_crash(run_with_camera, broker, subscriber_factory):
    camera = FlakyCamera([("frames", 20), ("empty", 10), ("frames", 10**6)])
    sub = subscriber_factory(broker.port, ["mood-edge/empty-frames/state"])
    daemon = run_with_camera(camera, "empty-frames")
    down = sub.wait_for("mood-edge/empty-frames/state", camera_is("down"), timeout=60)
    sub.wait_for("mood-edge/empty-frames/state", lambda m: m.t > down.t and camera_is("ok")(m))
    deadline = time.monotonic() + 60
    while daemon.frames <= 40 and time.monotonic() < deadline:  # frames flow again after the empty ones
        time.sleep(0.05)
    assert daemon.frames > 40 and daemon.thread_alive()


def test_an_unplugged_device_is_reopened_with_growing_delays(run_with_camera, broker, subscriber_factory, figures):
    """Unplugged after 20 frames for 8 failed opens: the delays between attempts double up to
    camera.retry_max_s (0.2 s -> 1 s in the fast test config), then the camera is back."""
    camera = FlakyCamera([("frames", 20), ("closed", 8), ("frames", 10**6)])
    sub = subscriber_factory(broker.port, ["mood-edge/unplugged/state"])
    run_with_camera(camera, "unplugged")
    down = sub.wait_for("mood-edge/unplugged/state", camera_is("down"), timeout=60)
    sub.wait_for("mood-edge/unplugged/state", lambda m: m.t > down.t and camera_is("ok")(m), timeout=60)
    attempts = [*camera.failed_opens, camera.opens[-1]]
    gaps = [round(b - a, 2) for a, b in zip(attempts, attempts[1:])]
    figures("camera_unplugged.retry_gaps_s", gaps)
    assert len(gaps) == 8
    assert gaps[0] < gaps[2] and gaps[0] < gaps[-1], gaps  # it backs off ...
    assert max(gaps) < 1.0 * 2, gaps  # ... up to retry_max_s (1 s), not beyond
