"""The main run of ``mood-edge bench``: the daemon's own step over a clip, every stage timed.

The bench does not re-code the pipeline: it builds ``edge.commands.daemon.Pipeline`` and calls its
``step(frame)``, which reports the end of each stage through ``lap``; the times between laps are the
stage latencies. Nanosecond samples are summarised here too (median, p95, p99).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from ...config import Config
from ...errors import ConfigError, SourceError
from .progress import Progress

#: the stages of ``Pipeline.step``, in order, as its ``lap`` names them (capture is the bench's own)
STAGES = ("capture", "detect", "preprocess", "classify", "smooth_recommend", "publish")


def resize_to(gray: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (gray.shape[1], gray.shape[0]) == size:
        return gray
    shrink = size[0] < gray.shape[1]
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


@dataclass
class MainRun:
    stages: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in STAGES})
    end_to_end: list[int] = field(default_factory=list)
    faces: list[int] = field(default_factory=list)
    cpu_ns: int = 0
    wall_ns: int = 0
    frame_size: tuple[int, int] = (0, 0)
    source: str = ""
    detector: str = ""
    model_id: str = ""
    model_int8: bool = True
    threads: int = 1
    publish_mode: str = ""
    published: int = 0
    dropped: int = 0


def run_pipeline(cfg: Config, frames: int, warmup: int, size: tuple[int, int] | None,
                 progress: bool) -> MainRun:
    from ..daemon import Pipeline  # noqa: PLC0415 - pulls the whole daemon

    pipe = Pipeline(cfg)
    clf = pipe.classifier
    run = MainRun(detector=pipe.detector.name, model_id=clf.model_id, model_int8=clf.is_int8,
                  threads=cfg.model.num_threads, source=cfg.camera.source)
    publisher = pipe.publisher
    if publisher.enabled:
        publisher.start()
        if not publisher.wait_connected(10.0):
            publisher.stop()
            raise ConfigError(f"cannot reach the broker {cfg.mqtt.broker} within 10 s", path="command line",
                              field="--broker", expected="a running MQTT broker")
        run.publish_mode = f"published to {cfg.mqtt.broker} ({publisher.state_topic}, QoS {cfg.mqtt.qos}, retained)"
    else:
        run.publish_mode = "serialisation only (no --broker given: nothing was sent)"
    source = pipe.source
    bar = Progress("pipeline", frames + warmup, enabled=progress)
    clock = time.perf_counter_ns
    ends: dict[str, int] = {}  # when each stage of this frame ended

    def lap(stage: str) -> None:
        ends[stage] = clock()

    try:
        source.open()
        cpu0 = wall0 = 0
        for i in range(frames + warmup):
            if i == warmup:
                cpu0, wall0 = time.process_time_ns(), clock()
            t0 = clock()
            frame = source.read()
            if frame is None:
                break
            if size:
                frame = dataclasses.replace(frame, gray=resize_to(frame.gray, size), color=(
                    resize_to(frame.color, size) if frame.color is not None else None))
            lap("capture")
            # the daemon's own step; its publish forced so every frame pays it (message, change
            # check, send or, without a broker, serialise): the daemon itself sends only on a
            # change or a heartbeat
            faces = pipe.step(frame, force_publish=True, lap=lap).faces
            bar.update()
            if i < warmup:
                continue
            run.frame_size = (frame.gray.shape[1], frame.gray.shape[0])
            start = t0
            for name in STAGES:
                if not (name in ("preprocess", "classify") and not faces):
                    # (nothing to classify: timing an empty call would flatter the stage)
                    run.stages[name].append(ends[name] - start)
                start = ends[name]
            run.end_to_end.append(ends[STAGES[-1]] - t0)
            run.faces.append(len(faces))
        run.cpu_ns = time.process_time_ns() - cpu0
        run.wall_ns = clock() - wall0
    finally:
        bar.close()
        source.close()
        if publisher.enabled:
            run.published, run.dropped = publisher.stats.published, publisher.stats.dropped
            publisher.publish(publisher.state_topic, "", retain=True)  # clear the bench's retained state
            publisher.stop()
    if not run.end_to_end:
        raise SourceError("delivered no frames after the warm-up", path=cfg.camera.source,
                          expected=f"at least {warmup + 1} frames (or a looping file/folder source)")
    return run
