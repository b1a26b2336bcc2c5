"""The daemon's publisher: what it keeps on the broker, built to outlive the broker.

* Availability is retained and has a Last Will, so displays see ``offline`` when we die.
* While the broker is away the camera loop keeps running: ``publish`` never blocks. Only the
  newest retained payload per topic is kept (that is all a display needs), so nothing grows
  without bound; paho's own in-flight queue is capped by ``max_queued``.
* On every (re)connect we re-announce ``online``, re-publish every retained topic (a restarted
  broker without persistence has forgotten them, and Home Assistant's discovery is among them)
  and re-subscribe.
* Connecting, TLS, reconnecting with backoff between ``reconnect_min_s`` and ``reconnect_max_s``
  and logging each problem once are :class:`edge.mqtt.client.Connection`'s job.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path

from ..config import MqttConfig
from .client import Connection
from .messages import OFFLINE, ONLINE, StateMessage, availability_topic, state_topic
from .status import ConnectionStats, MessageHandler, Presence

log = logging.getLogger(__name__)

#: where the daemon keeps its MQTT client id (under daemon.state_dir)
CLIENT_ID_FILE = "mqtt-client-id"


def private_client_id(device_id: str, state_dir: Path | None = None) -> str:
    """``mood-edge-<device_id>-<random>``: a client id nobody else can guess.

    MQTT lets a new connection with the same client id take over the old one, so a predictable
    id (``mood-edge-<device_id>``) lets any other user of the broker knock the device offline.
    The random part is kept in ``state_dir`` (mode 0600), so a restarted daemon takes over its own
    half-open session instead of leaving one whose Last Will would later say "offline". Without a
    writable state_dir it is random per process.
    """
    path = state_dir / CLIENT_ID_FILE if state_dir is not None else None
    if path is not None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as f:
                saved = f.read(200).decode("ascii", "replace").strip()
            if saved.startswith(f"mood-edge-{device_id}-") and saved.isprintable() and len(saved) <= 100:
                return saved
        except OSError:
            pass
    client_id = f"mood-edge-{device_id}-{secrets.token_hex(8)}"
    if path is not None:
        try:
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(client_id + "\n")
            os.replace(tmp, path)
        except OSError as exc:
            log.debug("cannot keep the MQTT client id in %s: %s", path, exc)
    return client_id


class Publisher:
    """The daemon's side of the broker: retained state and availability that survive reconnects
    and broker restarts, and a publish that never blocks the camera loop."""

    enabled = True

    def __init__(self, cfg: MqttConfig, state_dir: Path | None = None) -> None:
        self.cfg = cfg
        #: mqtt.client_id when set, else one nobody else knows (see private_client_id)
        self.client_id = cfg.client_id or private_client_id(cfg.device_id, state_dir)
        self.availability_topic = availability_topic(cfg.topic_prefix, cfg.device_id)
        self.state_topic = state_topic(cfg.topic_prefix, cfg.device_id)
        self._lock = threading.Lock()
        self._retained: dict[str, tuple[str, int]] = {}
        self.connection = Connection(cfg, self.client_id, presence=Presence(self.availability_topic, ONLINE, OFFLINE),
                                     max_queued=cfg.max_queued, problems=log, on_connect=self._republish)
        self.url = self.connection.url
        self.stats = self.connection.stats

    @property
    def client(self):  # -> paho.mqtt.client.Client, for tests that look inside
        return self.connection.client

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        self.connection.subscribe(topic, handler)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; returns at once even if the broker is down."""
        log.info("MQTT: connecting to %s:%d%s as device %r", self.url.host, self.url.port,
                 " (TLS)" if self.connection.tls else "", self.cfg.device_id)
        self.connection.start()

    def wait_connected(self, timeout: float) -> bool:
        return self.connection.wait_connected(timeout)

    @property
    def connected(self) -> bool:
        return self.connection.connected

    def stop(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (retained) and disconnect cleanly."""
        self.connection.stop(timeout)

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int | None = None) -> bool:
        """Send now if connected; retained payloads are also remembered for reconnects.
        Returns False if the message was dropped."""
        qos = self.cfg.qos if qos is None else qos
        if retain:
            with self._lock:
                self._retained[topic] = (payload, qos)
        if not self.connection.connected:
            if not retain:
                self.stats.dropped += 1
            return retain
        return self.connection.publish(topic, payload, qos=qos, retain=retain) or retain

    def publish_state(self, msg: StateMessage) -> bool:
        return self.publish(self.state_topic, msg.to_json(), retain=True)

    @property
    def queued(self) -> int:
        """Messages waiting in paho's outgoing queue (bounded by max_queued)."""
        return self.connection.queued

    def _republish(self) -> None:
        """After every (re)connect (paho's thread): the retained topics again, newest payloads."""
        with self._lock:
            retained = list(self._retained.items())
        for topic, (payload, qos) in retained:
            self.connection.client.publish(topic, payload, qos=qos, retain=True)


class NullPublisher:
    """The publisher when ``mqtt.broker`` is empty: the same interface, nothing leaves the process.
    ``publish_state`` still serialises the message, so a run without a broker costs what one with
    a broker costs up to the network (the benchmark's "serialisation only" mode)."""

    enabled = False
    state_topic = ""
    connected = False
    queued = 0

    def __init__(self) -> None:
        self.stats = ConnectionStats()  # stays at zero

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 3.0) -> None:
        pass

    def wait_connected(self, timeout: float) -> bool:
        return False

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        pass

    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int | None = None) -> bool:
        return False

    def publish_state(self, msg: StateMessage) -> bool:
        msg.to_json()
        return False


def make_publisher(cfg: MqttConfig, state_dir: Path | None = None) -> "Publisher | NullPublisher":
    """A real publisher when a broker is configured, else the do-nothing one."""
    return Publisher(cfg, state_dir) if cfg.broker else NullPublisher()
