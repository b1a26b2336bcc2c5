"""Issue 22 row 12: a camera source that hands over a frame nobody can decode; issue 34 row 4: a
FIFO among the pictures.

``run --camera file:x.jpg`` where x.jpg is text, or ``dir:`` holding one undecodable image before
good ones, flooded the log with "camera down ... retrying" / "camera back" 165k-225k times a
minute with no backoff, and the good images after the bad one were never read. Now an undecodable
frame is a bad frame: skipped, counted, logged once, with backoff while every frame is bad; the
real daemon reads on and publishes to a real mosquitto.

A FIFO named b.png in a ``dir:`` folder blocked ``np.fromfile`` in ``open()`` for 600+ s, deaf to
SIGTERM (issue 34, row 4): pictures are read through the bounded, non-blocking reader now, and a
FIFO is a frame that cannot be decoded like any other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from daemon_helpers import ROOT, astronaut_folder, daemon_cmd, fast_config, start_daemon
from edge.sources.opencv import ImageFolderSource
from edge.sources.watch import CameraWatch
from edge.errors import BadFrame
from mqtt_helpers import Subscriber

DECODE_LINE = "cannot be decoded"


def _folder_with_a_bad_image_first(tmp_path):
    folder = astronaut_folder(tmp_path, n=3)
    (folder / "00-bad.jpg").write_text("this is not a JPEG\n")  # sorts before 0000.png
    return folder


def test_an_undecodable_image_in_a_folder_is_skipped_and_the_next_one_read(tmp_path):
    source = ImageFolderSource(str(_folder_with_a_bad_image_first(tmp_path)))
    with source:
        with pytest.raises(BadFrame, match="00-bad.jpg: is not an image OpenCV can decode"):
            source.read()
        frames = [source.read() for _ in range(3)]
        assert all(f is not None and f.gray.size > 0 for f in frames)
        assert source.read() is None  # the end: the bad image is not read again


def test_bad_frames_are_counted_logged_once_and_backed_off_while_every_frame_is_bad(caplog):
    watch = CameraWatch(retry_s=1, retry_max_s=8)
    with caplog.at_level("WARNING"):
        waits = [watch.bad_frame("x.jpg: is not an image") for _ in range(6)]
        watch.good_frame()
        after_good = watch.bad_frame("x.jpg: is not an image")
    assert waits == [0, 1, 2, 4, 8, 8] and after_good == 0
    assert watch.bad_frames == 7
    assert len([r for r in caplog.records if DECODE_LINE in r.getMessage()]) == 1
    assert watch.status == "ok"  # a bad frame is not a dead camera


def test_a_folder_with_an_undecodable_image_before_good_ones_does_not_flood_the_log(tmp_path, broker):
    folder = _folder_with_a_bad_image_first(tmp_path)
    dev = "badimg1"
    sub = Subscriber(broker.port, [f"mood-edge/{dev}/state"])
    try:
        run = subprocess.run(daemon_cmd(fast_config(tmp_path), f"dir:{folder}", broker.url, dev, tmp_path / "state",
                                        "--loop", "--frames", "30"),
                             capture_output=True, text=True, timeout=180, cwd=ROOT)
        assert run.returncode == 0, run.stderr[-2000:]
        lines = run.stderr.splitlines()
        assert len([line for line in lines if DECODE_LINE in line]) == 1, run.stderr[-2000:]
        assert not [line for line in lines if "camera down" in line or "camera back" in line]
        assert len(lines) < 40  # the whole run's log, ~10 passes over the bad image included
        assert "stopping after 30 frames (" in run.stderr and "undecodable ones skipped)" in run.stderr
        state = json.loads(sub.wait_for(f"mood-edge/{dev}/state", lambda m: b'"mood":"happy"' in m.payload).payload)
        assert state["faces"] == 1 and state["camera"] == "ok"  # the good images after the bad one
    finally:
        sub.close()


def test_a_text_file_as_the_camera_is_a_bad_frame_with_backoff_not_a_log_flood(tmp_path, broker):
    text = tmp_path / "x.jpg"
    text.write_text("hello, I am not a picture\n" * 10)
    log = tmp_path / "daemon.log"
    dev = "badfile1"
    sub = Subscriber(broker.port, [f"mood-edge/{dev}/availability"])
    p = start_daemon(daemon_cmd(fast_config(tmp_path), f"file:{text}", broker.url, dev, tmp_path / "state",
                                "--loop"), log_path=log)
    try:
        sub.wait_for(f"mood-edge/{dev}/availability", lambda m: m.payload == b"online", timeout=60)
        time.sleep(4)  # it runs on with backoff: 0.2, 0.4, 0.8, 1, 1 s between attempts
        assert p.poll() is None, log.read_text()[-2000:]  # it keeps going
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0
    finally:
        p.kill()
        p.wait()
        sub.close()
    lines = log.read_text().splitlines()
    assert len([line for line in lines if DECODE_LINE in line]) == 1, lines[-20:]
    assert not [line for line in lines if "camera down" in line or "camera back" in line]
    assert len(lines) < 30 and log.stat().st_size < 10_000
    assert "Traceback" not in log.read_text()


def _folder_with_a_fifo_named_b_png(tmp_path):
    folder = astronaut_folder(tmp_path, n=2)  # 0000.png, 0001.png, then b.png
    os.mkfifo(folder / "b.png")
    return folder


def test_attack_a_fifo_named_b_png_is_a_bad_frame_not_a_hang(tmp_path, no_hang):
    with ImageFolderSource(str(_folder_with_a_fifo_named_b_png(tmp_path))) as source:
        assert source.read() is not None and source.read() is not None
        with pytest.raises(BadFrame, match="b.png: is a FIFO, not a regular file"):
            source.read()


def test_attack_a_fifo_named_b_png_in_a_dir_camera_is_skipped_with_one_line_and_sigterm_works(tmp_path, broker):
    folder = _folder_with_a_fifo_named_b_png(tmp_path)
    log = tmp_path / "daemon.log"
    dev = "fifo1"
    sub = Subscriber(broker.port, [f"mood-edge/{dev}/state"])
    p = start_daemon(daemon_cmd(fast_config(tmp_path), f"dir:{folder}", broker.url, dev, tmp_path / "state",
                                "--loop"), log_path=log)
    try:
        sub.wait_for(f"mood-edge/{dev}/state", lambda m: b'"mood":"happy"' in m.payload, timeout=120)
        time.sleep(2)  # several passes over the FIFO
        assert p.poll() is None, log.read_text()[-2000:]
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0  # it was never stuck in open(): SIGTERM is heard
    finally:
        p.kill()
        p.wait()
        sub.close()
    text = log.read_text()
    assert len([line for line in text.splitlines() if "b.png" in line]) == 1, text[-2000:]
    assert "b.png: is a FIFO, not a regular file" in text and "Traceback" not in text
