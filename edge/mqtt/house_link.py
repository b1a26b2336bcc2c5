"""Whether this room's broker bridges to a house broker, as the daemon learns it from the broker itself.

A bridge made by ``mood-edge bridge`` (edge/mqtt/bridge.py) has mosquitto keep its state, ``1`` or
``0``, retained on ``<prefix>-bridge/<device-id>``, on this room's broker as on the house's. So the
daemon needs no setting: once that topic holds ``1`` or ``0`` the room is bridged, and Home
Assistant's discovery is announced again with the bridge in its availability (edge/mqtt/homeassistant.py),
so the house shows the room unavailable while the link is down. An emptied topic (the bridge removed
and its retained state cleared) makes it unbridged again.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..ratelimit import Coalesce
from .messages import LINK_DOWN, LINK_UP

log = logging.getLogger("edge.daemon")

#: at most one re-announce per this many seconds, however often the topic flips (it should not)
REANNOUNCE_EVERY_S = 10.0
_STATES = (LINK_UP.encode(), LINK_DOWN.encode())


class BridgeWatcher:
    """The handler for ``<prefix>-bridge/<device-id>``: calls ``on_change()`` when the room turns
    out to be bridged (or no longer is), at once and then at most once per ``period_s``."""

    def __init__(self, on_change: Callable[[], None], period_s: float = REANNOUNCE_EVERY_S) -> None:
        self.bridged = False
        self._on_change = on_change
        self._coalesce = Coalesce(self._run, period_s)

    def __call__(self, topic: str, payload: bytes) -> None:
        text = bytes(payload).strip()
        if text and text not in _STATES:
            return  # not a bridge state: nothing learnt
        bridged = bool(text)
        if bridged != self.bridged:
            self.bridged = bridged
            self._coalesce.trigger()

    def _run(self, folded: int) -> None:
        log.info("this room's broker %s a house broker: announcing Home Assistant discovery %s the bridge's state",
                 "bridges to" if self.bridged else "no longer bridges to", "with" if self.bridged else "without")
        self._on_change()

    def cancel(self) -> None:
        self._coalesce.cancel()
