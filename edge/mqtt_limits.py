"""Bounds on what a broker can make an MQTT client of ours hold in memory.

paho reads a whole packet into memory before it looks at it (a 200 MB retained message takes the
daemon from 95 to 689 MB), and keeps every incoming QoS 2 message until the broker releases it
(a broker that never does grows it to gigabytes). :class:`BoundedClient` is paho's client with

* a size limit on incoming packets: a larger one is read and thrown away in small chunks, never
  held, and the connection goes on (a retained one would come back on every reconnect);
* a cap on incoming QoS 2 messages waiting for their release: the oldest is forgotten.

paho has no public API for either; both hook its packet reader and fall back to paho's own
behaviour if its internals change (tests/test_hostile_network.py notices).
"""

from __future__ import annotations

import logging

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

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
