"""The one place that talks to paho-mqtt: every MQTT client of ours (the daemon's publisher, the
``watch`` viewer, the demo's display) is a :class:`Connection`, so a setting that works for one
works for all of them.

* Credentials and TLS from ``[mqtt]`` (:func:`edge.mqtt.credentials.configure_auth`); a password on a
  command line is warned about (:func:`warn_password_on_command_line`).
* What a broker can make us hold in memory is bounded (:class:`BoundedClient`): paho reads a whole
  packet into memory before it looks at it (a 200 MB retained message took the daemon from 95 to
  689 MB), and keeps every incoming QoS 2 message until the broker releases it (a broker that never
  does grows it to gigabytes). A larger packet is read and thrown away in small chunks, never held,
  and the connection goes on; the oldest unreleased QoS 2 message is forgotten. paho has no public
  API for either; both hook its packet reader and fall back to paho's own behaviour if its internals
  change (tests/test_hostile_network.py notices).
* paho reconnects by itself with exponential backoff; subscriptions are made again on every
  (re)connect, and messages queued for the previous connection are dropped (see :func:`_drop_queued`).
* Connection problems are logged once per change (lost, unreachable, refused, TLS failure, back),
  never per retry.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from typing import Callable

import paho.mqtt.client as mqtt

from ..config import MqttConfig, parse_broker
from ..errors import ConfigError
from ..ratelimit import RateLimit
from .credentials import configure_auth, warn_password_on_command_line  # noqa: F401 - re-exported
from .status import ConnectionStats, MessageHandler, Presence, readable_reason  # noqa: F401 - re-exported

log = logging.getLogger(__name__)


# -- bounds on what a broker can make us hold ----------------------------------------------------
#: the largest packet we accept: a state message with 50 films is ~20 KB; the shipped broker
#: config (max_packet_size) refuses larger ones too
MAX_INCOMING_BYTES = 64 * 1024
#: incoming QoS 2 messages kept until the broker's PUBREL (paho keeps all of them otherwise)
MAX_INCOMING_QOS2 = 20
_CHUNK = 64 * 1024


class BoundedClient(mqtt.Client):
    """paho's client with incoming packets bounded in size and unreleased QoS 2 messages in number."""

    max_incoming_bytes = MAX_INCOMING_BYTES
    max_incoming_qos2 = MAX_INCOMING_QOS2
    #: packets thrown away for being too large, and QoS 2 messages forgotten unreleased
    oversized = 0
    qos2_forgotten = 0
    #: called (from paho's thread) with the size of each packet thrown away
    on_oversized = None

    def _too_big(self) -> bool:
        pk = getattr(self, "_in_packet", None)
        return (isinstance(pk, dict) and bool(pk.get("have_remaining"))
                and pk.get("remaining_length", 0) > self.max_incoming_bytes)

    def _sock_recv(self, bufsize: int) -> bytes:
        # paho asks for the whole rest of a packet at once (socket.recv allocates that much): for
        # one that is too large, stop here and let _packet_read drain it in small chunks
        if self._too_big() and bufsize > _CHUNK:
            raise BlockingIOError("oversized packet: drained by _packet_read")
        return super()._sock_recv(bufsize)

    def _packet_read(self) -> mqtt.MQTTErrorCode:
        if not self._too_big():
            rc = super()._packet_read()
            if not self._too_big():
                return rc
        return self._drain()

    def _drain(self) -> mqtt.MQTTErrorCode:
        pk = self._in_packet
        while pk["to_process"] > 0:
            try:
                data = super()._sock_recv(min(_CHUNK, pk["to_process"]))
            except BlockingIOError:
                return mqtt.MQTTErrorCode.MQTT_ERR_AGAIN
            except OSError:
                return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
            if not data:
                return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
            pk["to_process"] -= len(data)
        size = pk["remaining_length"]
        self._in_packet = {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}
        self.oversized += 1
        if self.on_oversized is not None:
            try:
                self.on_oversized(size)
            except Exception:  # noqa: BLE001 - a report must not take the connection down
                log.exception("MQTT: on_oversized failed")
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        rc = super()._handle_publish()
        waiting = getattr(self, "_in_messages", None)
        if waiting is not None:
            with self._in_message_mutex:
                while len(waiting) > self.max_incoming_qos2:
                    waiting.popitem(last=False)
                    self.qos2_forgotten += 1
        return rc


# -- the connection --------------------------------------------------------------------------------
class _PahoNoise(logging.Filter):
    """paho 2.2 logs "Client is not connected" and socket errors at ERROR on every retry while the
    broker is away; the connection already reports each problem once, so those lines are DEBUG only."""

    REPEATED = ("Client is not connected", "failed to receive on socket")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and str(record.msg).startswith(self.REPEATED):
            if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class _Client(BoundedClient):
    """The bounded client, remembering why the last (re)connect attempt failed (paho only says
    "failed")."""

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


class Connection:
    """One MQTT client that keeps itself connected: auth and TLS, bounded input, reconnects with
    backoff between ``reconnect_s``, subscriptions renewed on every connect, problems reported
    once per change.

    ``problems`` is the logger for connection news (the daemon's), paho's own lines going to
    ``edge.paho``; ``None`` keeps both quiet, for a caller that shows news its own way (``watch``).
    The ``on_*`` callbacks run on paho's network thread: ``on_connect()`` after every (re)connect,
    ``on_refused(reason)`` when the broker says no, ``on_disconnect(reason)`` whenever the socket
    closes, ``on_fail(reason)`` after each attempt that reached no broker.
    """

    def __init__(self, cfg: MqttConfig, client_id: str, *, origin: str = "mqtt.broker",
                 presence: Presence | None = None, keepalive_s: int | None = None,
                 reconnect_s: tuple[float, float] | None = None, max_queued: int = 0,
                 problems: logging.Logger | None = log,
                 on_connect: Callable[[], None] | None = None,
                 on_refused: Callable[[str], None] | None = None,
                 on_disconnect: Callable[[str], None] | None = None,
                 on_fail: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.origin = origin
        self.url = parse_broker(cfg.broker, origin=origin)
        self.presence = presence
        self.keepalive_s = cfg.keepalive_s if keepalive_s is None else keepalive_s
        self.reconnect_s = (cfg.reconnect_min_s, cfg.reconnect_max_s) if reconnect_s is None else reconnect_s
        self.stats = ConnectionStats()
        self._log = problems
        self._on_connect_hook = on_connect
        self._on_refused_hook = on_refused
        self._on_disconnect_hook = on_disconnect
        self._on_fail_hook = on_fail
        self._subscriptions: dict[str, MessageHandler] = {}
        self._connected = threading.Event()
        self._started = False
        #: the problem last logged at WARNING (so that each is logged once, not on every retry)
        self._problem: str | None = None
        #: the broker answered CONNECT with a refusal (its disconnect that follows is no news)
        self._refused = False
        #: oversized incoming messages are logged at most once a minute, with a count
        self._oversize_log = RateLimit(60.0)
        self.client = self._make_client(client_id, max_queued)

    def _make_client(self, client_id: str, max_queued: int) -> mqtt.Client:
        client = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv311, clean_session=True)
        if self._log is not None:  # paho's own lines too (a quiet caller's view must not be scribbled on)
            paho_log = logging.getLogger("edge.paho")
            if not any(isinstance(f, _PahoNoise) for f in paho_log.filters):
                paho_log.addFilter(_PahoNoise())
            client.enable_logger(paho_log)
        configure_auth(client, self.cfg, origin=self.origin)
        if self.presence is not None:
            client.will_set(self.presence.topic, self.presence.offline, qos=self.presence.qos, retain=True)
        low, high = self.reconnect_s
        client.reconnect_delay_set(min_delay=max(1, int(low)), max_delay=max(1, int(high)))
        client.max_queued_messages_set(max_queued)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_oversized = self._on_oversized
        return client

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; returns at once even if the broker is down."""
        try:
            self.client.connect_async(self.url.host, self.url.port, keepalive=self.keepalive_s)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot connect: {exc}", field=self.origin) from None
        self.client.loop_start()
        self._started = True

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def tls(self) -> bool:
        return self.url.tls or self.cfg.tls

    def stop(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (retained, when there is a presence topic) and disconnect cleanly."""
        if not self._started:
            return
        self._started = False  # from here on a disconnect is expected, not a fault
        if self._connected.is_set() and self.presence is not None:
            info = self.client.publish(self.presence.topic, self.presence.offline, qos=self.presence.qos,
                                       retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # -- messages --------------------------------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes, *, qos: int, retain: bool = False) -> bool:
        """Hand a message to paho now; False (and counted as dropped) when paho did not take it."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.stats.published += 1
            return True
        self.stats.dropped += 1
        log.debug("MQTT publish to %s not queued (rc=%s)", topic, info.rc)
        return False

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Call ``handler(topic, payload)`` for every message on ``topic`` (wildcards allowed), from
        now and after every reconnect."""
        self._subscriptions[topic] = handler
        if self._connected.is_set():
            self.client.subscribe(topic, qos=1)

    @property
    def queued(self) -> int:
        """Messages waiting in paho's outgoing queue (bounded by max_queued)."""
        return len(getattr(self.client, "_out_messages", {}))

    # -- paho callbacks (network thread) --------------------------------------------------------
    def _report(self, problem: str) -> None:
        """Log a connection problem at WARNING when it is new, at DEBUG while it repeats."""
        if self._log is None:
            return
        if problem != self._problem:
            self._log.warning("MQTT: %s; retrying with backoff up to %.0fs", problem, self.reconnect_s[1])
            self._problem = problem
        else:
            self._log.debug("MQTT: still %s", problem)

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self.stats.failures += 1
        exc = getattr(client, "last_error", None)
        reason = str(exc) if exc is not None else "failed"
        hint = ""
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = " (is mqtt.ca_file the CA that signed the broker's certificate?)"
        self._report(f"cannot connect to {self.url.host}:{self.url.port}: {reason}{hint}")
        if self._on_fail_hook is not None:
            self._on_fail_hook(f"{reason}{hint}")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason_code: object,
                    properties: object = None) -> None:
        if getattr(reason_code, "is_failure", False):
            self.stats.failures += 1
            self._refused = True
            hint = (" (check mqtt.username and the password)" if "password" in str(reason_code).lower()
                    or "authori" in str(reason_code).lower() else "")
            self._report(f"broker {self.url.host}:{self.url.port} refused the connection: {reason_code}{hint}")
            if self._on_refused_hook is not None:
                self._on_refused_hook(str(reason_code))
            return
        self.stats.connects += 1
        self.stats.last_connect = time.monotonic()
        self._connected.set()
        if self._log is not None:
            self._log.info("MQTT: connected to %s:%d%s", self.url.host, self.url.port,
                           " again" if self._problem else "")
        self._problem = None
        stale = _drop_queued(client)
        if stale:
            log.debug("MQTT: dropped %d messages queued for the previous connection", stale)
        if self.presence is not None:
            client.publish(self.presence.topic, self.presence.online, qos=self.presence.qos, retain=True)
        for topic in list(self._subscriptions):
            client.subscribe(topic, qos=1)
        if self._on_connect_hook is not None:
            try:
                self._on_connect_hook()
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
                self._problem = f"lost the broker ({readable_reason(reason_code)})"
                if self._log is not None:
                    self._log.warning("MQTT: %s; retrying with backoff up to %.0fs", self._problem,
                                      self.reconnect_s[1])
        elif self._refused:
            self._refused = False
        elif self._started:  # closed before any CONNACK: not an MQTT broker, or TLS expected
            self.stats.failures += 1
            why = (f"closed the connection before accepting it ({reason_code}; is it an MQTT "
                   f"{'TLS' if self.tls else 'plain'} port? mqtt:// is plain, mqtts:// is TLS)")
            self._report(f"{self.url.host}:{self.url.port} {why}")
            if self._on_fail_hook is not None:
                self._on_fail_hook(why)
        if self._on_disconnect_hook is not None:
            self._on_disconnect_hook(readable_reason(reason_code))

    def _on_oversized(self, size: int) -> None:
        self.stats.oversized += 1
        if self._log is not None and self._oversize_log.allow():
            more = self._oversize_log.take_suppressed()
            self._log.warning("MQTT: ignored a %d-byte message from the broker (the limit is %d bytes)%s", size,
                              MAX_INCOMING_BYTES, f"; {more} more since the last report" if more else "")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        for pattern, handler in list(self._subscriptions.items()):
            if mqtt.topic_matches_sub(pattern, msg.topic):
                try:
                    handler(msg.topic, msg.payload)
                except Exception:  # input from the network must never crash the process
                    log.exception("MQTT: handler for %s failed on a %d-byte message", msg.topic, len(msg.payload))
