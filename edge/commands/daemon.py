"""``mood-edge run``: wire source → detector → classifier → smoother → recommender → publisher.

Each stage is its own module and can be used alone; this one only connects them, keeps the loop
alive through camera and broker faults, and talks to systemd.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .. import config as config_mod
from ..classify.classifier import Classifier, FacePrediction
from ..classify.labels import LABEL_SETS
from ..config import Config, detector_kinds
from ..detectors.base import Detector, Face
from ..detectors.make import make_detector
from ..errors import BadFrame, ConfigError, SourceError
from ..mood import NOBODY, MoodSmoother, MoodState
from ..mqtt import homeassistant
from ..mqtt.feedback import FeedbackInbox, Vote, feedback_topic, result_topic
from ..mqtt.credentials import warn_password_on_command_line
from ..mqtt.house_link import BridgeWatcher
from ..mqtt.messages import StateMessage, bridge_topic
from ..mqtt.publish import NullPublisher, Publisher, make_publisher
from ..mqtt.publish_policy import PublishPolicy
from ..paths import writable_state_dir
from ..recommend.catalog import STRATEGIES
from ..recommend.recommender import MoodRecommendations, Recommender, check_policies
from ..sources import choices as source_choices, open_source
from ..sources.base import Frame, Source
from ..sources.watch import CameraWatch
from . import notify
from .configured import build_recommender
from .debug import FaceCropWriter, debug_dir

log = logging.getLogger("edge.daemon")

SUMMARY = "run the mood sensor: camera -> faces -> mood -> movies -> MQTT"
DESCRIPTION = """\
Reads the camera, detects faces, classifies each face with the int8 model in models/, smooths the
result into one room mood, picks movies for it from catalog.json and publishes both to MQTT:

  <prefix>/<device-id>/state         retained JSON (schema 1; see docs/mqtt.md)
  <prefix>/<device-id>/availability  retained online/offline, with a Last Will
  <prefix>/<device-id>/feedback      votes in ({"film": KEY, "vote": "up"|"down"|"seen"}); each is
                                     answered on .../feedback/result and new picks are published

A broker or camera that goes away is retried with backoff while the daemon keeps running. Under
systemd (Type=notify) it sends READY=1 once the model is loaded and the camera tried, then
WATCHDOG=1 from the main loop. SIGTERM or SIGINT publish "offline" and stop cleanly.

Privacy: frames and face crops never leave the process (not to MQTT, disk or logs) unless
daemon.debug_save_faces_dir is set explicitly.

Options given here override the config file. Exit status: 0 on a clean stop, 2 on a user error
(bad config, model, catalog or source), with a one-line message naming the file and field."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="PATH",
                   help="TOML config file (default: built-in defaults; see config.example.toml)")
    p.add_argument("--camera", metavar="SOURCE",
                   help=f"frame source: {source_choices()}")
    p.add_argument("--broker", metavar="URL",
                   help='MQTT broker: mqtt://[user@]host[:port], mqtts://... for TLS, "" for none (a password '
                        'here is visible to every local user: use MOOD_EDGE_MQTT_PASSWORD or mqtt.password_file)')
    p.add_argument("--device-id", metavar="ID", help="the <device-id> level of the topics")
    p.add_argument("--frames", type=int, metavar="N", help="stop cleanly after N frames (tests, benchmarks)")
    p.add_argument("--loop", action="store_true", help="replay a file or folder source endlessly")
    p.add_argument("--fps", type=float, metavar="RATE", help="frame rate to aim for; 0 = as fast as possible")
    p.add_argument("--detector", choices=list(detector_kinds()),
                   help="face detector plug-in (see docs/detectors.md; default: the config's)")
    p.add_argument("--labels", choices=list(LABEL_SETS), help="7 FER-2013 classes or the 4-mood view")
    p.add_argument("--strategy", choices=list(STRATEGIES), help="movie policy: mood-congruent or mood-lifting")
    p.add_argument("--model", metavar="PATH", help="the .tflite model (its card is PATH with .json)")
    p.add_argument("--catalog", metavar="PATH", help="the movie catalog (catalog.json)")
    p.add_argument("--library", metavar="DIR",
                   help="pick only from the films in this Kodi/Jellyfin/Emby/Plex movie folder (recommend.library)")
    p.add_argument("--state-dir", metavar="DIR", help="where the recommendation history is kept")


def config_from_args(args: argparse.Namespace) -> Config:
    cfg = config_mod.load(args.config)
    warn_password_on_command_line(args.broker)
    overrides = {
        "camera.source": args.camera, "mqtt.broker": args.broker, "mqtt.device_id": args.device_id,
        "camera.fps": args.fps, "detector.kind": args.detector, "model.labels": args.labels,
        "recommend.strategy": args.strategy, "model.path": args.model, "recommend.catalog": args.catalog,
        "daemon.state_dir": args.state_dir, "recommend.library": getattr(args, "library", None),
    }
    config_mod.apply_overrides(cfg, overrides, origin="command line")
    if args.loop:
        cfg.camera.loop = True
    return cfg


@dataclass
class StepResult:
    frame: Frame
    faces: list[Face]
    predictions: list[FacePrediction]
    state: MoodState
    #: the films for this state, drawn once for the frame (the message carries these)
    picks: list[dict] = field(default_factory=list)
    published: bool = False


def _no_lap(stage: str) -> None:
    pass


@dataclass
class Pipeline:
    """The stages, built once from the config. ``step`` runs one frame through all of them."""

    cfg: Config
    source: Source = field(init=False)
    camera: CameraWatch = field(init=False)
    detector: Detector = field(init=False)
    classifier: Classifier = field(init=False)
    smoother: MoodSmoother = field(init=False)
    recommender: Recommender = field(init=False)
    recommendations: MoodRecommendations = field(init=False)
    policy: PublishPolicy = field(init=False)
    publisher: Publisher | NullPublisher = field(init=False)
    debug: FaceCropWriter = field(init=False)
    #: held while the mood, the picks and the published state change (votes arrive on paho's thread)
    lock: threading.RLock = field(init=False, default_factory=threading.RLock)

    def __post_init__(self) -> None:
        cfg = self.cfg
        self.classifier = Classifier(cfg.model.path, cfg.model.num_threads, cfg.model.labels)
        check_policies(self.classifier.labels, self.classifier.card.path)
        self.detector = make_detector(cfg.detector)
        self.smoother = MoodSmoother(cfg.mood, self.classifier.labels)
        state_dir = writable_state_dir(cfg.daemon.state_dir)
        self.recommender = build_recommender(cfg, state_dir)
        self.recommendations = MoodRecommendations(self.recommender)
        self.source = open_source(cfg.camera)
        self.camera = CameraWatch(cfg.camera.retry_s, cfg.camera.retry_max_s)
        self.publisher = make_publisher(cfg.mqtt, state_dir)
        self.policy = PublishPolicy(cfg.mqtt.heartbeat_s)
        folder = cfg.daemon.debug_save_faces_dir
        self.debug = FaceCropWriter(debug_dir(folder, cfg.origin) if folder else None, self.classifier.crop)

    def model_info(self) -> dict[str, str]:
        return {"id": self.classifier.model_id, "sha256": self.classifier.card.sha256}

    def detect(self, frame: Frame) -> list[Face]:
        """Faces found in the frame's colour picture, in the grey picture's pixels (the crops)."""
        return frame.in_gray(self.detector.detect(frame.detect_image))

    def step(self, frame: Frame, *, force_publish: bool = False,
             lap: Callable[[str], None] = _no_lap) -> StepResult:
        """One frame through every stage. ``lap(stage)`` is called as each stage ends (the
        benchmark times them with it); ``force_publish`` sends even an unchanged state."""
        faces = self.detect(frame)
        lap("detect")
        batch = self.classifier.preprocess(frame.gray, faces) if faces else None
        lap("preprocess")
        preds = self.classifier.predictions(faces, self.classifier.infer(batch)) if batch is not None else []
        lap("classify")
        self.debug.save(frame, faces)
        with self.lock:
            state = self.smoother.update(preds)
            if state.changed:
                log.info("mood changed to %s (confidence %.2f, %d face%s)", state.mood, state.confidence,
                         state.faces, "" if state.faces == 1 else "s")
                notify.status(f"mood: {state.mood}")
            picks = self.recommendations_for(state)
            lap("smooth_recommend")
            result = StepResult(frame, faces, preds, state, picks)
            result.published = self.publish(state, picks, force=force_publish)
        lap("publish")
        return result

    def recommendations_for(self, state: MoodState) -> list[dict]:
        return self.recommendations.for_state(state.mood, state.probabilities)

    def message(self, state: MoodState, picks: list[dict]) -> StateMessage:
        return StateMessage(device=self.cfg.mqtt.device_id, mood=state.mood, confidence=state.confidence,
                            probabilities=state.probabilities, faces=state.faces, since=state.since,
                            recommendations=picks, labels=self.cfg.model.labels,
                            strategy=self.cfg.recommend.strategy, model=self.model_info(),
                            camera=self.camera.status, area=self.cfg.daemon.area)

    def publish(self, state: MoodState, picks: list[dict], force: bool = False) -> bool:
        """Send the state and its picks when the publish policy says so; True when it did."""
        with self.lock:
            msg = self.message(state, picks)
            if not self.policy.due(msg, force):
                return False
            self.publisher.publish_state(msg)
            return True

    def publish_now(self) -> None:
        """Send the current state at once, even unchanged (the camera went down or came back, a vote)."""
        with self.lock:
            state = self.smoother.state()
            self.publish(state, self.recommendations_for(state), force=True)

    def record_vote(self, vote: Vote) -> tuple[str, str]:
        """Record a vote from a display (paho's thread) and publish new picks that reflect it at
        once; ``(film key, title)``, or ValueError in one line for a film it does not know."""
        with self.lock:
            state = self.smoother.state()
            key = vote.film
            if vote.pick is not None:
                picks = self.recommendations_for(state)
                if vote.pick > len(picks) or not picks[vote.pick - 1].get("key"):
                    raise ValueError(f"\"pick\" is {vote.pick}, but {len(picks)} films are shown now")
                key = picks[vote.pick - 1]["key"]
            room = state.mood if state.mood != NOBODY else None  # nobody seen: the mood is not known
            title = self.recommender.feedback(key, vote.vote, mood=vote.mood or room, source=vote.source)
            self.recommendations.invalidate()  # drawn again, with the vote
            self.publish_now()
        return key, title


class Daemon:
    """The main loop: frames in, messages out, until stopped or out of frames."""

    def __init__(self, cfg: Config, max_frames: int | None = None) -> None:
        self.cfg = cfg
        self.max_frames = max_frames
        self.stop_event = threading.Event()
        self.pipeline = Pipeline(cfg)
        self.frames = 0
        self.birth_watcher: homeassistant.BirthWatcher | None = None
        self.bridge_watcher: BridgeWatcher | None = None

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()

    def _start_mqtt(self) -> None:
        pub = self.pipeline.publisher
        if not pub.enabled:
            log.info("MQTT disabled (mqtt.broker is empty): nothing is published")
            return
        if self.cfg.homeassistant.enabled:
            # bridged to a house broker (the room's broker says so): discovery adds the bridge's state
            self.bridge_watcher = BridgeWatcher(lambda: announce())

            def announce() -> None:
                model_id, bridged = self.pipeline.classifier.model_id, self.bridge_watcher.bridged
                for topic, payload in (homeassistant.discovery_messages(self.cfg, model_id, bridged=bridged)
                                       + homeassistant.vote_buttons(self.cfg, model_id, bridged=bridged)):
                    pub.publish(topic, payload, retain=True)

            announce()  # retained: the publisher re-sends them on every reconnect
            pub.subscribe(bridge_topic(self.cfg.mqtt.topic_prefix, self.cfg.mqtt.device_id), self.bridge_watcher)

            # rate-limited: a flood of births must not become a flood of publishes and log lines
            self.birth_watcher = homeassistant.BirthWatcher(announce)
            pub.subscribe(homeassistant.birth_topic(self.cfg), self.birth_watcher)
        prefix, device = self.cfg.mqtt.topic_prefix, self.cfg.mqtt.device_id
        answers = result_topic(prefix, device)
        pub.subscribe(feedback_topic(prefix, device), FeedbackInbox(
            self.pipeline.record_vote, lambda text: pub.publish(answers, text, qos=1)))
        pub.start()

    def _camera_down(self, reason: str) -> None:
        if self.pipeline.camera.went_down(reason):
            self.pipeline.publish_now()
            notify.status(f"camera down: {reason}")

    def _wait_for_camera(self) -> bool:
        """Reopen the source with the camera's backoff; False if asked to stop meanwhile."""
        camera, source = self.pipeline.camera, self.pipeline.source
        for delay in camera.delays():
            if self.stop_event.is_set():
                break
            source.close()
            if camera.try_open(source):
                camera.came_back(source)
                self.pipeline.publish_now()
                return True
            self._sleep_alive(delay)
        return False

    def _sleep_alive(self, seconds: float) -> None:
        """Sleep, but keep the watchdog fed: every wait of the loop (a camera being retried, the pace
        of a slow frame rate) is this one, so fps = 0.05 is not a hung loop to systemd."""
        end = time.monotonic() + seconds
        step = notify.ping_every()
        while not self.stop_event.is_set():
            notify.watchdog()
            left = end - time.monotonic()
            if left <= 0:
                return
            self.stop_event.wait(min(left, step))

    def run(self) -> int:
        pipe = self.pipeline
        source = pipe.source
        if source.must_exist:
            source.open()
        self._start_mqtt()
        camera_ok = source.is_open or pipe.camera.try_open(source)
        notify.ready()
        log.info("running: camera %s, detector %s, model %s (%s, %dx%d), %s", source.description,
                 pipe.detector.name, pipe.classifier.model_id, "int8" if pipe.classifier.is_int8 else "float",
                 *pipe.classifier.input_size,
                 "MQTT " + pipe.publisher.state_topic if pipe.publisher.enabled else "no MQTT")
        if not camera_ok:
            self._camera_down("cannot open it")
        period = 1.0 / self.cfg.camera.fps if self.cfg.camera.fps > 0 and not source.live else 0.0
        next_t = time.monotonic()
        try:
            while not self.stop_event.is_set():
                if not source.is_open and not self._wait_for_camera():
                    break
                try:
                    frame = source.read()
                except BadFrame as exc:  # skipped and counted; the source stays open, the next frame is read
                    self._sleep_alive(pipe.camera.bad_frame(str(exc)))
                    continue
                except SourceError as exc:
                    self._camera_down(str(exc))
                    source.close()  # reopened by _wait_for_camera, with backoff and the watchdog fed
                    continue
                if frame is None:
                    log.info("end of %s after %d frames", source.description, self.frames)
                    break
                pipe.camera.good_frame()
                pipe.step(frame)
                self.frames += 1
                notify.watchdog()
                if self.max_frames is not None and self.frames >= self.max_frames:
                    break
                if period:
                    next_t += period
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        self._sleep_alive(delay)
                    else:
                        next_t = time.monotonic()
        finally:
            self.shutdown()
        return 0

    def shutdown(self) -> None:
        notify.stopping()
        bad = self.pipeline.camera.bad_frames
        log.info("stopping after %d frames%s", self.frames, f" ({bad} undecodable ones skipped)" if bad else "")
        if self.birth_watcher is not None:
            self.birth_watcher.cancel()
        if self.bridge_watcher is not None:
            self.bridge_watcher.cancel()
        self.pipeline.publisher.stop()
        self.pipeline.source.close()


def main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    logging.getLogger().setLevel(getattr(logging, (args.log_level if args.log_level != "INFO"
                                                   else cfg.daemon.log_level).upper(), logging.INFO))
    if cfg.daemon.debug_save_faces_dir:
        log.warning("DEBUG: face crops are written to %s (daemon.debug_save_faces_dir); turn this off in use",
                    cfg.daemon.debug_save_faces_dir)
    if args.frames is not None and args.frames <= 0:
        raise ConfigError(f"got {args.frames}", path="command line", field="--frames", expected="a positive count")
    daemon = Daemon(cfg, max_frames=args.frames)
    signal.signal(signal.SIGTERM, daemon.request_stop)
    signal.signal(signal.SIGINT, daemon.request_stop)
    if os.environ.get("MOOD_EDGE_LOG_CONFIG"):
        log.info("config: %s", config_mod.to_dict(cfg))
    return daemon.run()
