"""What a connection reports and keeps: its counters, why a broker dropped it, the presence topic it
holds, the handler type for incoming messages. Plain data, so that readers need not import paho."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MessageHandler = Callable[[str, bytes], None]


def readable_reason(reason_code: object) -> str:
    """paho says "Unspecified error" whenever the socket closed under it; say what that means."""
    text = str(reason_code)
    if text == "Unspecified error":  # MQTT 3.1.1 has no reason codes: the broker just closed the socket
        return ("the broker closed the connection: mosquitto does so for a packet over its max_packet_size, "
                "another client taking this client id, a bad packet or its own restart; its log says which")
    return text


@dataclass
class ConnectionStats:
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


@dataclass(frozen=True)
class Presence:
    """A retained availability topic: ``online`` published on every connect, ``offline`` as the
    Last Will (the broker says it when we die) and on a clean stop."""

    topic: str
    online: str
    offline: str
    qos: int = 1
