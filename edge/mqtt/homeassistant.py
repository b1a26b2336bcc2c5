"""Home Assistant MQTT discovery: the payloads that make the sensor appear in HA with no setup.

Home Assistant listens on ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config``
(https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery). Each payload here describes
one entity that reads the daemon's retained state topic, so HA needs no second copy of the data:

* ``sensor`` *Mood*: state = ``mood``; attributes = confidence, probabilities, faces, since,
  recommendations (https://www.home-assistant.io/integrations/sensor.mqtt/),
* ``sensor`` *Faces*: the number of faces seen,
* ``sensor`` *Confidence*: the mood's confidence in percent (diagnostic),
* ``sensor`` *Film pick*: the title of the first recommended film,
* ``button`` *Film pick thumbs up / thumbs down / seen it* (:func:`vote_buttons`): a vote on that
  film, sent to the daemon's feedback topic (https://www.home-assistant.io/integrations/button.mqtt/).

All entities share one ``device`` block (so HA groups them) and an ``availability`` entry on the
daemon's Last-Will topic, so they turn "unavailable" when the daemon dies. The daemon publishes
these retained on every (re)connect and again when HA's birth message (``<prefix>/status`` =
``online``) arrives, because HA forgets non-retained discovery on restart.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, fields
from typing import Any, Callable

from .. import __version__
from ..config import Config, check_value
from ..errors import ConfigError
from ..ratelimit import Coalesce
from .display_state import STALE_AFTER_HEARTBEATS
from .feedback import feedback_topic
from .messages import LINK_DOWN, LINK_UP, OFFLINE, ONLINE, StateMessage, availability_topic, bridge_topic, state_topic

log = logging.getLogger("edge.daemon")

#: at most one re-announce per this many seconds, however often "online" arrives (a flood of
#: 83,500 births in 10 s was 83,500 log lines and ~7,800 discovery re-publishes). The payloads
#: are retained anyway; the re-announce is for brokers that lost them.
REANNOUNCE_EVERY_S = 30.0

#: what HA publishes on its birth/will topic (https://www.home-assistant.io/integrations/mqtt/#birth-and-last-will-messages)
BIRTH_PAYLOAD = b"online"

_TOPIC_LEVEL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class _Entity:
    """One HA entity read from the state topic."""

    key: str
    name: str
    icon: str
    value_template: str
    extra: tuple[tuple[str, Any], ...] = ()


#: HA's recorder drops a state's attributes above 16,384 bytes (MAX_STATE_ATTRS_BYTES), with a warning
#: on every change: 40 films with their .nfo plots were 26,295. The films in the attributes stop at
#: this many characters of JSON, Jinja's ``tojson``, which writes every non-ASCII character as a
#: 6-character escape: never fewer characters than the UTF-8 bytes HA stores. The rest (~1 KB at
#: most: numbers, label names, HA's friendly_name and icon) leaves over 6 KB to spare.
ATTRIBUTE_FILMS_CHARS = 8192
#: stands for the state topic in the template until discovery_messages() knows it
_STATE_TOPIC = "@STATE_TOPIC@"

#: the state message's fields that are not attributes of the mood sensor: its state, who sent it with
#: what and when, and its room (the device's suggested_area); every other field is one, by its name
#: (a field added is an attribute unless named here)
NOT_ATTRIBUTES = frozenset({"device", "mood", "model", "updated", "area"})
_FIELD_ATTRIBUTES = "".join(f"'{f.name}': value_json.{f.name}, " for f in fields(StateMessage)
                            if f.name not in NOT_ATTRIBUTES and f.name != "recommendations")

# The attributes of the mood sensor: everything a dashboard card or automation needs, nothing else.
# The films in order while they fit; recommendations_left_out counts the others, all of which stay
# in the state topic (recommendations_topic).
_MOOD_ATTRIBUTES_TEMPLATE = (
    "{% set ns = namespace(films=[], size=0, full=false) %}"
    "{% for film in value_json.recommendations or [] %}"
    "{% set n = (film | tojson | length) + 1 %}"
    "{% if not ns.full and ns.size + n <= " + str(ATTRIBUTE_FILMS_CHARS) + " %}"
    "{% set ns.films = ns.films + [film] %}{% set ns.size = ns.size + n %}"
    "{% else %}{% set ns.full = true %}{% endif %}"
    "{% endfor %}"
    "{{ {" + _FIELD_ATTRIBUTES + "'recommendations': ns.films, "
    "'recommendations_left_out': (value_json.recommendations or []) | length - ns.films | length, "
    "'recommendations_topic': " + _STATE_TOPIC + "} | tojson }}"
)

_ENTITIES: tuple[_Entity, ...] = (
    _Entity("mood", "Mood", "mdi:emoticon-outline", "{{ value_json.mood }}",
            (("json_attributes_template", _MOOD_ATTRIBUTES_TEMPLATE),)),
    # a count, no unit: Home Assistant cannot make "faces" singular, and "1 faces" is what it showed
    _Entity("faces", "Faces", "mdi:account-group", "{{ value_json.faces }}", (("state_class", "measurement"),)),
    _Entity("confidence", "Confidence", "mdi:gauge",
            "{{ (value_json.confidence * 100) | round(0) }}",
            (("state_class", "measurement"), ("unit_of_measurement", "%"),
             ("suggested_display_precision", 0), ("entity_category", "diagnostic"))),
    _Entity("film", "Film pick", "mdi:movie-open-outline",
            "{{ value_json.recommendations[0].title if value_json.recommendations else 'none' }}"),
)


def _prefix(cfg: Config) -> str:
    # the config's own rule, for a Config built in code rather than read from a file
    return check_value("homeassistant.discovery_prefix", cfg.homeassistant.discovery_prefix, cfg.origin)


def birth_topic(cfg: Config) -> str:
    """Where Home Assistant announces itself (``online``) after it (re)starts."""
    return f"{_prefix(cfg)}/status"


def is_birth(payload: Any) -> bool:
    """True when ``payload`` is HA's birth message; never raises, whatever arrives."""
    try:
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "replace")
        return bytes(payload).strip() == BIRTH_PAYLOAD
    except Exception:  # noqa: BLE001 - any junk on the topic simply is not a birth message
        return False


class BirthWatcher:
    """The handler for the birth topic: re-announces discovery when Home Assistant comes online,
    at once and then at most once per ``period_s`` (births in between are folded into one
    re-announce at the end of the period, logged with their count)."""

    def __init__(self, announce: Callable[[], None], period_s: float = REANNOUNCE_EVERY_S) -> None:
        self._announce = announce
        self._coalesce = Coalesce(self._run, period_s)
        self.births = 0
        self.announcements = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        if is_birth(payload):
            self.births += 1
            self._coalesce.trigger()

    def _run(self, folded: int) -> None:
        self.announcements += 1
        log.info("Home Assistant came online: re-announcing discovery%s",
                 f" ({folded} more birth messages since the last one)" if folded else "")
        self._announce()

    def cancel(self) -> None:
        self._coalesce.cancel()


def _node_id(cfg: Config) -> str:
    node = f"mood_edge_{cfg.mqtt.device_id}"
    if not _TOPIC_LEVEL.fullmatch(node):
        raise ConfigError(f"got {cfg.mqtt.device_id!r}", path=cfg.origin, field="mqtt.device_id",
                          expected="letters, digits, '-' or '_' (it becomes a topic level)")
    return node


def device_block(cfg: Config, model_id: str) -> dict[str, Any]:
    """The HA device every entity belongs to; its identifier is stable across restarts."""
    block = {
        "identifiers": [_node_id(cfg)],
        "name": f"Mood sensor {cfg.mqtt.device_id}",
        "manufacturer": "mood-edge",
        "model": "mood-edge camera mood sensor",
        "model_id": model_id,
        "sw_version": __version__,
    }
    if cfg.daemon.area:  # the room it is in: HA puts the device in that area when it first sees it
        block["suggested_area"] = cfg.daemon.area
    return block


def availability(cfg: Config, bridged: bool = False) -> dict[str, Any]:
    """The daemon's Last-Will topic; with a bridge to the house broker (edge/mqtt/bridge.py) also the
    bridge's state, and both must say so: a room whose link is down shows unavailable in the house,
    not as a stale "live"."""
    topics = [{"topic": availability_topic(cfg.mqtt.topic_prefix, cfg.mqtt.device_id),
               "payload_available": ONLINE, "payload_not_available": OFFLINE}]
    if bridged:
        topics.append({"topic": bridge_topic(cfg.mqtt.topic_prefix, cfg.mqtt.device_id),
                       "payload_available": LINK_UP, "payload_not_available": LINK_DOWN})
        return {"availability": topics, "availability_mode": "all"}
    return {"availability": topics}


def discovery_messages(cfg: Config, model_id: str, bridged: bool = False) -> list[tuple[str, str]]:
    """``(topic, JSON payload)`` for every entity; empty when discovery is turned off.

    Publish each retained. ``model_id`` is the classifier's model-card id (shown in HA's device
    page), so users can tell which model a sensor runs. ``bridged``: this room's broker bridges
    to a house broker (edge/mqtt/house_link.py).
    """
    if not cfg.homeassistant.enabled:
        return []
    prefix = _prefix(cfg)
    node = _node_id(cfg)
    device = device_block(cfg, model_id)
    origin = {"name": "mood-edge", "sw_version": __version__}
    available = availability(cfg, bridged)
    state = state_topic(cfg.mqtt.topic_prefix, cfg.mqtt.device_id)
    out: list[tuple[str, str]] = []
    for ent in _ENTITIES:
        payload: dict[str, Any] = {
            "name": ent.name,
            "unique_id": f"{node}_{ent.key}",
            "state_topic": state,
            "value_template": ent.value_template,
            "json_attributes_topic": state if ent.key == "mood" else None,
            "icon": ent.icon,
            **available,
            "device": device,
            "origin": origin,
            "qos": cfg.mqtt.qos,
            # stale, as on every display (edge/mqtt/display_state.py): no heartbeat for this long -> unavailable
            "expire_after": round(STALE_AFTER_HEARTBEATS * cfg.mqtt.heartbeat_s) or None,
        }
        payload.update(dict(ent.extra))
        if "json_attributes_template" in payload:  # a JSON string is a Jinja string literal too
            payload["json_attributes_template"] = payload["json_attributes_template"].replace(
                _STATE_TOPIC, json.dumps(state))
        payload = {k: v for k, v in payload.items() if v is not None}
        out.append((f"{prefix}/sensor/{node}/{ent.key}/config",
                    json.dumps(payload, separators=(",", ":"), sort_keys=True)))
    return out



#: the vote buttons: (key, name, icon, vote). Each votes on the pick shown first (the "Film pick"
#: sensor): the daemon resolves ``"pick": 1`` to the film it published last, so the button needs
#: no template and works from a dashboard, a remote's scene or an automation alike.
_VOTE_BUTTONS = (
    ("film_up", "Film pick thumbs up", "mdi:thumb-up-outline", "up"),
    ("film_down", "Film pick thumbs down", "mdi:thumb-down-outline", "down"),
    ("film_seen", "Film pick seen it", "mdi:eye-check-outline", "seen"),
)


def vote_buttons(cfg: Config, model_id: str, bridged: bool = False) -> list[tuple[str, str]]:
    """``(topic, JSON payload)`` for the vote buttons (``button`` entities on the same device); empty
    when discovery is turned off. They publish on the daemon's feedback topic (edge/mqtt/feedback.py)."""
    if not cfg.homeassistant.enabled:
        return []
    prefix, node = _prefix(cfg), _node_id(cfg)
    command = feedback_topic(cfg.mqtt.topic_prefix, cfg.mqtt.device_id)
    out = []
    for key, name, icon, vote in _VOTE_BUTTONS:
        payload = {"name": name, "unique_id": f"{node}_{key}", "command_topic": command,
                   "payload_press": json.dumps({"pick": 1, "vote": vote, "source": "homeassistant"}, separators=(",", ":")),
                   "icon": icon, **availability(cfg, bridged), "device": device_block(cfg, model_id),
                   "origin": {"name": "mood-edge", "sw_version": __version__}, "qos": 1, "retain": False}
        out.append((f"{prefix}/button/{node}/{key}/config", json.dumps(payload, separators=(",", ":"), sort_keys=True)))
    return out
