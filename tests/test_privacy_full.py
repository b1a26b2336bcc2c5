"""Privacy across a whole run: faces, an empty room, Home Assistant discovery and its birth message,
a camera that goes away and comes back, logs at DEBUG with the effective config dumped.

No message on any topic, no log line and no file the daemon writes may carry image data. Besides
size and format checks, the test looks for the pixels themselves: rows of the very frames it fed
the daemon, as raw bytes, as decimal numbers and as base64, must appear nowhere. The daemon runs in
an empty working directory with its own HOME and TMPDIR, so that every file it writes is seen.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time

import cv2
import numpy as np
import paho.mqtt.publish as mqtt_publish

from daemon_helpers import FAST, ROOT, daemon_cmd
from faces import astronaut_gray, empty_room, write_images
from plugins.daemon_log import DaemonLog, stop_daemon

BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=]{200,}")
#: a printed array: 32 or more numbers in a row, or numpy's summary of a big one ("12 34 ... 56")
NUMBER_RUN = re.compile(rb"(?:-?\d+(?:\.\d+)?[,\s]+){32,}")
NUMPY_SUMMARY = re.compile(rb"\d\s+\.\.\.\s+\d")
#: what an encoded image starts with (a file), and tell-tale chunks of one (anywhere in a blob)
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*", b"RIFF", b"P5\n")
IMAGE_CHUNKS = (b"\x89PNG", b"IHDR", b"IDAT", b"\xff\xd8\xff", b"JFIF", b"Exif", b"WEBPVP8")
STATE_KEYS = {"schema", "device", "mood", "confidence", "probabilities", "faces", "since", "updated",
              "recommendations", "labels", "strategy", "model", "camera", "area"}


def pixel_fingerprints(images: list[np.ndarray]) -> list[bytes]:
    """Runs of 24 pixels from the middle of each frame, as they could leak: raw, decimal, base64."""
    out = []
    for image in images:
        h, w = image.shape
        for y in (h // 3, h // 2, 2 * h // 3):
            row = image[y, w // 2 - 12: w // 2 + 12].tobytes()
            if len(set(row)) < 4:  # a flat run could match anything
                continue
            out += [row, " ".join(str(v) for v in row).encode(), ", ".join(str(v) for v in row).encode(),
                    base64.b64encode(row)[:24]]
    return out


def assert_no_image_data(blob: bytes, where: str, fingerprints: list[bytes], limit: int) -> None:
    assert len(blob) < limit, f"{where}: {len(blob)} bytes"
    assert not BASE64_RUN.search(blob), where
    assert not NUMBER_RUN.search(blob), (where, NUMBER_RUN.search(blob)[0][:120])
    assert not NUMPY_SUMMARY.search(blob), (where, NUMPY_SUMMARY.search(blob)[0])
    assert not any(chunk in blob for chunk in IMAGE_CHUNKS), where
    for fp in fingerprints:
        assert fp not in blob, (where, fp[:40])


def test_a_whole_run_with_faces_discovery_and_camera_faults_leaks_no_image_data(tmp_path, broker,
                                                                                subscriber_factory):
    faces = [astronaut_gray()] * 3
    room = [empty_room()] * 30  # a second of nobody between the faces
    frames_dir = write_images(tmp_path / "frames", faces + room)
    kept = tmp_path / "kept"
    shutil.copytree(frames_dir, kept)
    workdir, home, tmpdir, state = (tmp_path / d for d in ("cwd", "home", "tmp", "state"))
    for d in (workdir, home, tmpdir):
        d.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(FAST)
    sub = subscriber_factory(broker.port, ["#"])
    log = DaemonLog(tmp_path / "daemon.log")
    cmd = daemon_cmd(config, f"dir:{frames_dir}", broker.url, "private-full", state, "--loop")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "HOME": str(home), "TMPDIR": str(tmpdir),
           "MOOD_EDGE_LOG_CONFIG": "1"}
    with open(log.path, "w") as out:
        log.proc = proc = subprocess.Popen([*cmd[:3], "--log-level", "DEBUG", *cmd[3:]], stdout=out,
                                           stderr=subprocess.STDOUT, cwd=workdir, env=env)
    try:
        topic = "mood-edge/private-full/state"
        happy = sub.wait_for(topic, lambda m: json.loads(m.payload)["mood"] == "happy", timeout=60)
        sub.wait_for(topic, lambda m: m.t > happy.t and json.loads(m.payload)["mood"] == "nobody", timeout=60)
        mqtt_publish.single("homeassistant/status", b"online", hostname="127.0.0.1", port=broker.port)
        log.wait_for(r"Home Assistant came online")
        for image in frames_dir.iterdir():  # the camera goes away ...
            image.unlink()
        down = sub.wait_for(topic, lambda m: json.loads(m.payload)["camera"] == "down")
        for image in kept.iterdir():  # ... and comes back
            shutil.copy(image, frames_dir / image.name)
        sub.wait_for(topic, lambda m: m.t > down.t and json.loads(m.payload)["camera"] == "ok")
        time.sleep(1.5)  # a heartbeat or two more
    finally:
        assert stop_daemon(proc) == 0, log.text()[-3000:]

    fingerprints = pixel_fingerprints(faces[:1] + room[:1])
    ours = [m for m in sub.messages if "private-full" in m.topic or "mood_edge_private-full" in m.topic]
    assert {m.topic.rsplit("/", 1)[-1] for m in ours} >= {"state", "availability", "config"}
    for m in ours:
        assert_no_image_data(m.payload, m.topic, fingerprints, limit=8_000)
        m.payload.decode("utf-8")  # text, never binary
        if m.topic.endswith("/state"):
            assert set(json.loads(m.payload)) <= STATE_KEYS

    text = log.path.read_bytes()
    assert b"DEBUG" in text and b"config: " in text  # the most verbose level, config dump included
    for line in text.splitlines():
        assert_no_image_data(line, "log line", fingerprints, limit=2_000)

    written = sorted(p for d in (workdir, home, tmpdir, state) for p in d.rglob("*") if p.is_file())
    assert [p.name for p in written] == ["mqtt-client-id", "recommend-history.json"], written
    for p in written:
        blob = p.read_bytes()
        assert not blob.startswith(IMAGE_MAGIC)
        assert_no_image_data(blob, str(p), fingerprints, limit=50_000)
    # and the frames folder holds only what the test put there
    assert sorted(p.name for p in frames_dir.iterdir()) == sorted(p.name for p in kept.iterdir())


def test_the_fingerprint_check_would_see_a_leaked_frame():
    """The detector above is only worth something if it catches a leak: feed it one."""
    image = astronaut_gray()
    fingerprints = pixel_fingerprints([image])
    leaks = [cv2.imencode(".png", image)[1].tobytes()[:4000],
             json.dumps({"crop": image[200:210, 200:240].tolist()}).encode(),
             str(image[100:104, 150:190]).encode(),  # printed in full
             str(image[100:140, 150:300]).encode(),  # printed in numpy's summary form
             base64.b64encode(image[:40].tobytes())]
    for leak in leaks:
        try:
            assert_no_image_data(leak, "leak", fingerprints, limit=1_000_000)
        except AssertionError:
            continue
        raise AssertionError(f"a leak went unnoticed: {leak[:60]!r}")
