"""Publishing to MQTT with paho-mqtt 2.x, built to outlive the broker.

* Availability is retained and has a Last Will, so displays see ``offline`` when we die.
* While the broker is away the camera loop keeps running: ``publish`` never blocks. Only the
  newest retained payload per topic is kept (that is all a display needs), so nothing grows
  without bound; paho's own in-flight queue is capped by ``max_queued``.
* On every (re)connect we re-announce ``online``, re-publish every retained topic (a restarted
  broker without persistence has forgotten them), re-subscribe and run the on-connect hooks
  (Home Assistant discovery).
* paho reconnects by itself with exponential backoff between ``reconnect_min_s`` and ``reconnect_max_s``.
  Problems are logged once per change (lost, unreachable, refused, TLS failure, back), never per retry.
"""

from __future__ import annotations

import logging
import os
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import paho.mqtt.client as mqtt

from .config import MqttConfig, parse_broker
from .errors import ConfigError
from .mqtt_auth import configure_auth
from .mqtt_limits import MAX_INCOMING_BYTES, BoundedClient
from .ratelimit import RateLimit
from .messages import OFFLINE, ONLINE, StateMessage, availability_topic, state_topic

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]


class _PahoNoise(logging.Filter):
    """paho 2.2 logs "Client is not connected" and socket errors at ERROR on every retry while the
    broker is away; the publisher already reports each problem once, so those lines are DEBUG only."""

    REPEATED = ("Client is not connected", "failed to receive on socket")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and str(record.msg).startswith(self.REPEATED):
            if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class _Client(BoundedClient):
    """paho's client (incoming messages bounded, see mqtt_limits), remembering why the last
    (re)connect attempt failed (paho only says "failed")."""

    last_error: BaseException | None = None

    def reconnect(self) -> mqtt.MQTTErrorCode:
        try:
            rc = super().reconnect()
        except OSError as exc:  # refused, unreachable, TLS handshake or certificate failure
            self.last_error = exc
            raise
        self.last_error = None
        return rc


def _drop_queued(client: mqtt.Client) -> int:
    """Forget QoS>0 messages still queued from the previous connection.

    paho would re-send them after the on-connect callback, which (a) lets a full queue refuse the
    fresh ``online`` and retained state we publish on connect (a broker that hung filled it), and
    (b) lets an old state arrive after the fresh one and become the retained value. They are older
    versions of what is re-published on connect, so dropping them loses nothing.
    paho has no public API for this; without these attributes nothing is dropped.
    """
    lock = getattr(client, "_out_message_mutex", None)
    queued = getattr(client, "_out_messages", None)
    if lock is None or not isinstance(queued, dict) or not hasattr(client, "_inflight_messages"):
        return 0
    with lock:
        count = len(queued)
        queued.clear()
        client._inflight_messages = 0
    return count


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


@dataclass
class PublisherStats:
    connects: int = 0
    disconnects: int = 0
    #: failed (re)connect attempts: unreachable, TLS failure or refused by the broker
    failures: int = 0
    published: int = 0
    dropped: int = 0
    #: incoming messages thrown away unread for being larger than MAX_INCOMING_BYTES
    oversized: int = 0
    last_connect: float = 0.0
    last_disconnect: float = 0.0


class Publisher:
    def __init__(self, cfg: MqttConfig, state_dir: Path | None = None) -> None:
        self.cfg = cfg
        #: mqtt.client_id when set, else one nobody else knows (see private_client_id)
        self.client_id = cfg.client_id or private_client_id(cfg.device_id, state_dir)
        self.url = parse_broker(cfg.broker)
        self.availability_topic = availability_topic(cfg.topic_prefix, cfg.device_id)
        self.state_topic = state_topic(cfg.topic_prefix, cfg.device_id)
        self.stats = PublisherStats()
        self._lock = threading.Lock()
        self._retained: dict[str, tuple[str, int]] = {}
        self._subscriptions: dict[str, MessageHandler] = {}
        self._on_connect_hooks: list[Callable[[], None]] = []
        self._connected = threading.Event()
        self._started = False
        #: the problem last logged at WARNING (so that each is logged once, not on every retry)
        self._problem: str | None = None
        #: the broker answered CONNECT with a refusal (its disconnect that follows is no news)
        self._refused = False
        #: oversized incoming messages are logged at most once a minute, with a count
        self._oversize_log = RateLimit(60.0)
        self.client = self._make_client()

    # -- setup -----------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        cfg = self.cfg
        client = _Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=self.client_id,
                         protocol=mqtt.MQTTv311, clean_session=True)
        paho_log = logging.getLogger("edge.paho")
        if not any(isinstance(f, _PahoNoise) for f in paho_log.filters):
            paho_log.addFilter(_PahoNoise())
        client.enable_logger(paho_log)
        configure_auth(client, cfg)
        client.will_set(self.availability_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=max(1, int(cfg.reconnect_min_s)),
                                   max_delay=max(1, int(cfg.reconnect_max_s)))
        client.max_queued_messages_set(cfg.max_queued)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_oversized = self._on_oversized
        return client

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every (re)connect (from paho's network thread)."""
        self._on_connect_hooks.append(hook)

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        self._subscriptions[topic] = handler
        if self._connected.is_set():
            self.client.subscribe(topic, qos=1)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; returns at once even if the broker is down."""
        log.info("MQTT: connecting to %s:%d%s as device %r", self.url.host, self.url.port,
                 " (TLS)" if self.url.tls or self.cfg.tls else "", self.cfg.device_id)
        try:
            self.client.connect_async(self.url.host, self.url.port, keepalive=self.cfg.keepalive_s)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot connect: {exc}", field="mqtt.broker") from None
        self.client.loop_start()
        self._started = True

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (retained) and disconnect cleanly."""
        if not self._started:
            return
        self._started = False  # from here on a disconnect is expected, not a fault
        if self._connected.is_set():
            info = self.client.publish(self.availability_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int | None = None) -> bool:
        """Send now if connected; retained payloads are also remembered for reconnects.
        Returns False if the message was dropped."""
        qos = self.cfg.qos if qos is None else qos
        if retain:
            with self._lock:
                self._retained[topic] = (payload, qos)
        if not self._connected.is_set():
            if not retain:
                self.stats.dropped += 1
            return retain
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.stats.published += 1
            return True
        self.stats.dropped += 1
        log.debug("MQTT publish to %s not queued (rc=%s)", topic, info.rc)
        return retain

    def publish_state(self, msg: StateMessage) -> bool:
        return self.publish(self.state_topic, msg.to_json(), retain=True)

    @property
    def queued(self) -> int:
        """Messages waiting in paho's outgoing queue (bounded by max_queued)."""
        return len(getattr(self.client, "_out_messages", {}))

    # -- paho callbacks (network thread) --------------------------------------------------------
    def _report(self, problem: str) -> None:
        """Log a connection problem at WARNING when it is new, at DEBUG while it repeats."""
        if problem != self._problem:
            log.warning("MQTT: %s; retrying with backoff up to %.0fs", problem, self.cfg.reconnect_max_s)
            self._problem = problem
        else:
            log.debug("MQTT: still %s", problem)

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self.stats.failures += 1
        exc = getattr(client, "last_error", None)
        reason = str(exc) if exc is not None else "failed"
        hint = ""
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = " (is mqtt.ca_file the CA that signed the broker's certificate?)"
        self._report(f"cannot connect to {self.url.host}:{self.url.port}: {reason}{hint}")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason_code: object,
                    properties: object = None) -> None:
        if getattr(reason_code, "is_failure", False):
            self.stats.failures += 1
            self._refused = True
            hint = (" (check mqtt.username and the password)" if "password" in str(reason_code).lower()
                    or "authori" in str(reason_code).lower() else "")
            self._report(f"broker {self.url.host}:{self.url.port} refused the connection: {reason_code}{hint}")
            return
        self.stats.connects += 1
        self.stats.last_connect = time.monotonic()
        self._connected.set()
        if self._problem:
            log.info("MQTT: connected to %s:%d again", self.url.host, self.url.port)
        else:
            log.info("MQTT: connected to %s:%d", self.url.host, self.url.port)
        self._problem = None
        stale = _drop_queued(client)
        if stale:
            log.debug("MQTT: dropped %d messages queued for the previous connection", stale)
        client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        with self._lock:
            retained = list(self._retained.items())
        for topic, (payload, qos) in retained:
            client.publish(topic, payload, qos=qos, retain=True)
        for hook in self._on_connect_hooks:
            try:
                hook()
            except Exception:  # a hook must never take the connection down
                log.exception("MQTT on-connect hook failed")

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason_code: object,
                       properties: object = None) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was:
            self.stats.disconnects += 1
            self.stats.last_disconnect = time.monotonic()
            if self._started:
                self._problem = f"lost the broker ({reason_code})"
                log.warning("MQTT: %s; retrying with backoff up to %.0fs", self._problem, self.cfg.reconnect_max_s)
        elif self._refused:
            self._refused = False
        elif self._started:  # closed before any CONNACK: not an MQTT broker, or TLS expected
            self.stats.failures += 1
            tls = self.url.tls or self.cfg.tls
            self._report(f"{self.url.host}:{self.url.port} closed the connection before accepting it ({reason_code}; "
                         f"is it an MQTT {'TLS' if tls else 'plain'} port? mqtt:// is plain, mqtts:// is TLS)")

    def _on_oversized(self, size: int) -> None:
        self.stats.oversized += 1
        if self._oversize_log.allow():
            more = self._oversize_log.take_suppressed()
            log.warning("MQTT: ignored a %d-byte message from the broker (the limit is %d bytes)%s", size,
                        MAX_INCOMING_BYTES, f"; {more} more since the last report" if more else "")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        for pattern, handler in list(self._subscriptions.items()):
            if mqtt.topic_matches_sub(pattern, msg.topic):
                try:
                    handler(msg.topic, msg.payload)
                except Exception:  # input from the network must never crash the daemon
                    log.exception("MQTT: handler for %s failed on a %d-byte message", msg.topic, len(msg.payload))
