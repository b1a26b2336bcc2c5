"""The config's sections: one dataclass per ``[table]``, one field per key, a default for every value.

Each key is declared once, as a dataclass field made by :func:`setting`: its default, the doc users
read in ``config.example.toml`` (generated from these fields: ``python -m edge.config --example``),
and its :class:`Rule` (the test beyond its type and the "expected ..." text of its error). Choice
keys take their choices from the registry that owns them (detector plug-ins, label sets, catalog
strategies). Rules that tie two keys together are each section's ``cross_checks``, applied after a
file is read and after command-line overrides (:func:`edge.config.apply_overrides`).

A wrong key, type or value raises :class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import ClassVar

from ..detectors.config import DetectorConfig
from ..errors import ConfigError
from ..fields import DAY, FRACTION, HOUR, THREADS, AtMost, Rule, Together, between, one_of, seconds, setting
from ..paths import default_catalog, default_model
from ..sources.config import CameraConfig
from .broker_url import mask_url, parse_broker

#: MQTT topics are at most 65,535 bytes (paho's network thread died on a longer one); a prefix is
#: a few words. Client ids: mosquitto takes long ones, but nobody needs more than this.
MAX_TOPIC_PREFIX_BYTES = 256
MAX_CLIENT_ID_BYTES = 128


def _label_sets() -> tuple[str, ...]:
    from ..classify.labels import LABEL_SETS  # noqa: PLC0415 - read when a value is checked

    return tuple(LABEL_SETS)


def _strategies() -> tuple[str, ...]:
    from ..recommend.catalog import STRATEGIES  # noqa: PLC0415 - catalog brings json and logging: only when asked

    return STRATEGIES


def _topic_ok(v: str) -> bool:
    """Topic levels the broker will accept: no wildcards, no NUL or other control/format
    characters (the broker refuses those forever), no leading '$' (topics like $SYS are the
    broker's own: it drops every publish there, silently), and a bounded length."""
    return 0 < len(v.encode("utf-8", "surrogatepass")) <= MAX_TOPIC_PREFIX_BYTES and v.isprintable() \
        and not any(c in v for c in "#+") and not v.startswith("$")


def _broker_ok(url: str) -> bool:
    try:
        parse_broker(url)
    except ConfigError:
        return False
    return True


def _masked_broker(v: object) -> str:
    """A broker URL in an error message: its password never (error messages end up in the journal)."""
    return repr(mask_url(v) if isinstance(v, str) else v)


def _default_device_id() -> str:
    host = os.uname().nodename or "mood-edge"
    return re.sub(r"[^A-Za-z0-9_-]", "-", host).lower()


# --- the sections: one field per key, with its default, doc and rule -----------------------------

@dataclass
class ModelConfig:
    path: str = setting(factory=lambda: str(default_model()), path=True,
                        example='"/opt/mood-edge/venv/share/mood-edge/models/mood_xception_ferplus_int8.tflite"',
                        doc="""
        The int8 .tflite emotion model; its model card is the same path with ".json".
        Default: models/mood_xception_ferplus_int8.tflite from the installed package
        (/opt/mood-edge/venv/share/mood-edge/models/ after install.sh).
        """)
    num_threads: int = setting(2, rule=THREADS, doc="""
        CPU threads for inference (a Pi has 4 cores; 2 leaves room for the camera and detection).
        """)
    labels: str = setting("fer7", rule=one_of(_label_sets), doc="""
        "fer7" (angry, disgust, fear, happy, sad, surprise, neutral) or "mood4" (happy, sad, neutral, angry);
        must match the model card.
        """)


@dataclass
class MoodConfig:
    ema_alpha: float = setting(0.3, rule=Rule(lambda v: 0 < v <= 1, "a number in (0, 1]"), doc="""
        Weight of the newest frame in the moving average, in (0, 1]: higher reacts faster, flickers more.
        """)
    dwell_s: float = setting(2.0, rule=between(0, HOUR, f"0 to {HOUR} seconds"),
                             doc="A new mood must lead for this many seconds before it is published ...")
    margin: float = setting(0.1, rule=Rule(lambda v: 0 <= v < 1, "a number in [0, 1)"),
                            doc="... and lead the current mood's probability by at least this much (0..1).")
    nobody_after_s: float = setting(5.0, rule=seconds(DAY), doc='No face for this many seconds -> mood "nobody".')
    min_face_confidence: float = setting(0.0, rule=FRACTION, doc="""
        Faces whose top probability is below this are ignored (0 = use every face).
        """)


@dataclass
class RecommendConfig:
    catalog: str = setting(factory=lambda: str(default_catalog()), path=True,
                           example='"/opt/mood-edge/venv/share/mood-edge/catalog.json"', doc="""
        The movie catalog (JSON, see catalog.schema.json).
        Default: catalog.json from the installed package (/opt/mood-edge/venv/share/mood-edge/catalog.json).
        """)
    count: int = setting(5, rule=between(0, 50, "between 0 and 50"), doc="Movies per pick (0..50).")
    strategy: str = setting("lift", rule=one_of(_strategies), doc="""
        "lift" (mood-improving: comedies for a sad room) or "match" (mood-congruent).
        """)
    family_safe: bool = setting(False, doc="Only films marked family-friendly.")
    history: int = setting(30, rule=between(0, 100_000, "0 to 100000 films"),
                           doc="A film shown in the last `history` recommendations is not shown again.")
    seed: int | None = setting(None, example="42",
                               doc="A fixed seed makes picks reproducible (tests); leave unset for varied picks.")
    library: str = setting("", path=True, doc="""
        Pick only from the films you own: a Kodi / Jellyfin / Emby / Plex movie folder (read at start: .nfo
        files where present, "Title (Year)" names otherwise; films the catalog knows keep its genres and
        descriptions, the catalog's policy still decides). Each pick then carries the film's "path" and
        "owned": true. "" = pick from the whole catalog. Restart the daemon after adding films.""")
    library_follow_outside_links: bool = setting(False, doc="Follow links out of the library (off: skipped, logged once).")


@dataclass
class TasteConfig:
    enabled: bool = setting(True, doc="""
        Learn what this household likes, per mood, from thumbs on the TV or in Home Assistant, `mood-edge taste
        import` and the .nfo files' <userrating>/<playcount> (kept in daemon.state_dir/taste.json, never
        published). Off: the policy and the community rating alone, and watched films are not held back.""")
    half_life_days: float = setting(365.0, rule=between(1, 36_500, "1 to 36500 days"),
                                    doc="A vote counts half as much after this many days (old evidence fades).")
    rewatch_after_days: float = setting(365.0, rule=between(0, 36_500, "0 to 36500 days"),
                                        doc="A film the household has watched is not suggested again for this long ...")
    rewatch_loved_after_days: float = setting(30.0, rule=between(0, 36_500, "0 to 36500 days"),
                                              doc="... unless it loved it (thumbs up, 4.5 stars or more): then after this.")


@dataclass
class MqttConfig:
    broker: str = setting("mqtt://localhost:1883", mask=_masked_broker, rule=Rule(
        lambda v: v == "" or _broker_ok(v), 'mqtt://[user:pass@]host[:port], mqtts://... or "" to disable'), doc="""
        mqtt://[user:pass@]host[:port] (1883), mqtts://... for TLS (8883), or "" to publish nothing.
        The Pi's own mosquitto (install.sh --with-broker) listens on localhost:1883.
        """)
    device_id: str = setting(factory=lambda: _default_device_id(), example='"livingroom"', rule=Rule(
        lambda v: bool(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", v)),
        "1-64 letters, digits, '-' or '_' (it becomes an MQTT topic level)"), doc="""
        Names this sensor in its topics: mood-edge/<device_id>/state. 1-64 of A-Z a-z 0-9 - _.
        Default: the host name, lower-cased, other characters replaced by "-".
        """)
    topic_prefix: str = setting("mood-edge", rule=Rule(
        lambda v: _topic_ok(v) and not v.endswith("/"),
        f"a topic of 1-{MAX_TOPIC_PREFIX_BYTES} bytes without wildcards, control characters, a leading '$' "
        "or a trailing '/'"),
        doc=f'Topics start with this (no wildcards, no leading "$", no trailing "/", no control characters, at most '
            f'{MAX_TOPIC_PREFIX_BYTES} bytes).')
    client_id: str = setting("", rule=Rule(
        lambda v: v == "" or (v.isprintable() and len(v.encode()) <= MAX_CLIENT_ID_BYTES),
        f'"" (the default) or up to {MAX_CLIENT_ID_BYTES} bytes without control characters'), doc="""
        MQTT client id; "" = "mood-edge-<device_id>-<random>", the random part kept in daemon.state_dir.
        A broker lets a new connection with the same id take over the old one: never pick one that
        another client (a display, a script) could guess or share.
        """)
    username: str = setting("", doc="""
        Broker credentials (also from the URL, or the environment: MOOD_EDGE_MQTT_USERNAME and
        MOOD_EDGE_MQTT_PASSWORD). With systemd/mosquitto/acl the username must equal device_id.
        This file is world-readable: prefer password_file for the password.
        """)
    password: str = setting("", mask=lambda v: "***", doc="")
    password_file: str = setting("", path=True, doc="""
        Read the password from this file instead (e.g. the systemd credential
        "/run/credentials/mood-edge.service/mqtt-password", see LoadCredential= in the unit).
        """)
    tls: bool = setting(False, doc="""
        TLS (also implied by an mqtts:// broker). ca_file verifies the broker's certificate;
        cert_file/key_file are only for brokers that want client certificates (give both).
        """)
    ca_file: str = setting("", path=True, doc="")
    cert_file: str = setting("", path=True, doc="")
    key_file: str = setting("", path=True, doc="")
    tls_insecure: bool = setting(False, doc="Accept a broker certificate that does not verify. Never do this "
                                            "outside a lab.")
    keepalive_s: int = setting(30, rule=between(5, 65535, "5 to 65535 seconds"),
                               doc="Seconds between keep-alive pings (at least 5).")
    qos: int = setting(1, rule=Rule(lambda v: v in (0, 1, 2), "0, 1 or 2"),
                       doc="Quality of service for state messages: 0, 1 or 2.")
    heartbeat_s: float = setting(60.0, rule=seconds(DAY), doc="""
        Re-publish the state at least this often (seconds) even when nothing changed.
        """)
    max_queued: int = setting(100, rule=between(1, 1_000_000, "1 to 1000000 messages"),
                              doc="Messages kept while the broker is away; older ones are dropped beyond this.")
    reconnect_min_s: float = setting(1.0, rule=seconds(HOUR),
                                     doc="Seconds between reconnect attempts, doubling from min to max.")
    reconnect_max_s: float = setting(30.0, rule=seconds(HOUR), doc="")

    cross_checks: ClassVar[tuple[AtMost | Together, ...]] = (
        AtMost("reconnect_min_s", "reconnect_max_s", "the wait doubles from reconnect_min_s up to reconnect_max_s"),
        Together("cert_file", "key_file", "a client certificate is the certificate and its private key"),
    )


@dataclass
class HomeAssistantConfig:
    enabled: bool = setting(True, doc="""
        Publish Home Assistant MQTT discovery so the mood appears as a sensor without YAML.
        """)
    discovery_prefix: str = setting("homeassistant", rule=Rule(
        lambda v: _topic_ok(v) and not v.startswith("/") and not v.endswith("/"),
        f"a topic of 1-{MAX_TOPIC_PREFIX_BYTES} bytes without wildcards, control characters, a leading '$' "
        "or a leading/trailing '/' (HA's default: homeassistant)"), doc="")


@dataclass
class DaemonConfig:
    state_dir: str = setting(factory=lambda: os.environ.get("STATE_DIRECTORY", "/var/lib/mood-edge"), path=True,
                             example='"/var/lib/mood-edge"', doc="""
        Where the daemon keeps its state (recommendation history, the household's taste).
        Default: $STATE_DIRECTORY (/var/lib/mood-edge under systemd), else /var/lib/mood-edge.
        """)
    area: str = setting("", rule=Rule(lambda v: len(v) <= 64 and v.isprintable() and v == v.strip(),
                                      "up to 64 printable characters, no surrounding blanks"), doc="""
        The room this sensor is in ("Living room"): Home Assistant's suggested area for the device,
        and the name the TV page and `mood-edge watch` show for it when they show several rooms.
        "" = the device id.
        """)
    log_level: str = setting("INFO", rule=Rule(lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
                                               "DEBUG, INFO, WARNING or ERROR"), doc="DEBUG, INFO, WARNING or ERROR.")
    debug_save_faces_dir: str = setting("", path=True, doc="""
        DEBUG ONLY: write face crops to this folder. Leave empty: frames and faces never leave the
        process otherwise (and the service can write only to its state directory anyway).
        """)


@dataclass
class Config:
    camera: CameraConfig = field(default_factory=CameraConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    mood: MoodConfig = field(default_factory=MoodConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    taste: TasteConfig = field(default_factory=TasteConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    #: the file it came from, for error messages
    origin: str = field(default="<defaults>", compare=False)
