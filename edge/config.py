"""The daemon's configuration: one TOML file, typed dataclasses, a default for every value.

Each key is declared once, as a dataclass field made by :func:`setting`: its default, the doc users
read in ``config.example.toml`` (generated from these fields: ``python -m edge.config --example``),
and its :class:`Rule` (the test beyond its type and the "expected ..." text of its error). Choice
keys take their choices from the registry that owns them (detector plug-ins, label sets, catalog
strategies). Rules that tie two keys together are each section's ``cross_checks``, applied after a
file is read and after command-line overrides (:func:`apply_overrides`).

A wrong key, type or value raises :class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping, get_args, get_origin, get_type_hints

from .broker_url import BrokerUrl, mask_url, parse_broker  # noqa: F401 - re-exported
from .detectors import kinds as detector_kinds  # the registry: imports no model until asked
from .errors import ConfigError, read_user_text
from .paths import default_catalog, default_model

#: more threads than this is a typo (the interpreter takes a C int; a Pi has 4 cores)
MAX_THREADS = 64
#: upper bounds for durations: beyond them a value is a typo, and time.sleep() overflows on huge ones
HOUR, DAY = 3600, 86400
#: MQTT topics are at most 65,535 bytes (paho's network thread died on a longer one); a prefix is
#: a few words. Client ids: mosquitto takes long ones, but nobody needs more than this.
MAX_TOPIC_PREFIX_BYTES = 256
MAX_CLIENT_ID_BYTES = 128


# --- rules: what a value must be beyond its type --------------------------------------------------

class Rule:
    """A test beyond the type, and what was expected when it fails (a callable when the text comes
    from a registry, so it is read when needed, not at import). Plain classes here, not dataclasses:
    each @dataclass runs generated code at import (about 1 ms each on this x86 host, more on a Pi)."""

    __slots__ = ("test", "text")

    def __init__(self, test: Callable[[Any], bool], text: str | Callable[[], str]) -> None:
        self.test, self.text = test, text

    @property
    def expected(self) -> str:
        return self.text() if callable(self.text) else self.text


def choice_text(names: Iterable[str]) -> str:
    """``"a" or "b" or "c"``: the expected text of a choice, as every error shows it."""
    return " or ".join(f'"{n}"' for n in names)


def one_of(choices: Callable[[], Iterable[str]]) -> Rule:
    """A choice among the names a registry holds (asked each time, so a plug-in added is a choice)."""
    return Rule(lambda v: v in tuple(choices()), lambda: choice_text(choices()))


def between(low: float, high: float, text: str) -> Rule:
    return Rule(lambda v: low <= v <= high, text)


def seconds(most: int) -> Rule:
    """A duration that must be above zero and at most ``most`` seconds."""
    return Rule(lambda v: 0 < v <= most, f"more than 0, at most {most} seconds")


#: a value naming a file or folder: the OS cannot open a name with a NUL in it (Python raises
#: ValueError, not OSError), so it is refused here; relative ones are relative to the config file
PATH_RULE = Rule(lambda v: "\0" not in v, "a file or folder path (no NUL character)")
PIXELS = between(1, 8192, "a number of pixels from 1 to 8192")
THREADS = between(1, MAX_THREADS, f"1 to {MAX_THREADS} threads")
FRACTION = between(0, 1, "a number between 0 and 1")


def _label_sets() -> tuple[str, ...]:
    from .labels import LABEL_SETS  # noqa: PLC0415 - read when a value is checked

    return tuple(LABEL_SETS)


def _strategies() -> tuple[str, ...]:
    from .catalog import STRATEGIES  # noqa: PLC0415 - catalog brings json and logging: only when asked

    return STRATEGIES


def setting(default: Any = dataclasses.MISSING, *, doc: str, rule: Rule | None = None, path: bool = False,
            factory: Callable[[], Any] | None = None, example: str | None = None) -> Any:
    """A config field: its default (or ``factory`` for one computed at run time), its ``doc`` for
    config.example.toml ("" = described with the key above it), its ``rule``; ``path`` for file
    names; ``example``: shown commented out as ``# key = <example>`` (a default computed at run time
    or unset)."""
    meta = {"doc": doc, "rule": PATH_RULE if path else rule, "path": path, "example": example}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


class AtMost:
    """``low`` may not exceed ``high`` (two keys of one section)."""

    __slots__ = ("low", "high", "why")

    def __init__(self, low: str, high: str, why: str) -> None:
        self.low, self.high, self.why = low, high, why

    @property
    def keys(self) -> tuple[str, str]:
        return (self.low, self.high)

    def problem(self, obj: Any, section: str) -> tuple[str, str, str] | None:
        lo, hi = getattr(obj, self.low), getattr(obj, self.high)
        if lo <= hi:
            return None
        return (self.low, f"got {lo!r}, above {section}.{self.high} = {hi!r}",
                f"at most {section}.{self.high}: {self.why}")


class Together:
    """Two keys that are set both or neither."""

    __slots__ = ("a", "b", "why")

    def __init__(self, a: str, b: str, why: str) -> None:
        self.a, self.b, self.why = a, b, why

    @property
    def keys(self) -> tuple[str, str]:
        return (self.a, self.b)

    def problem(self, obj: Any, section: str) -> tuple[str, str, str] | None:
        va, vb = getattr(obj, self.a), getattr(obj, self.b)
        if bool(va) == bool(vb):
            return None
        given, missing = (self.a, self.b) if va else (self.b, self.a)
        return (given, f"got {_shown(f'{section}.{given}', getattr(obj, given))} without {section}.{missing}",
                f"both {section}.{self.a} and {section}.{self.b}, or neither: {self.why}")


def _topic_ok(v: str) -> bool:
    """Topic levels the broker will accept: no wildcards, no NUL or other control/format
    characters (the broker refuses those forever), and a bounded length."""
    return 0 < len(v.encode("utf-8", "surrogatepass")) <= MAX_TOPIC_PREFIX_BYTES and v.isprintable() \
        and not any(c in v for c in "#+")


def _region_ok(v: list[float]) -> bool:
    if not v:
        return True
    if len(v) != 4:
        return False
    x, y, w, h = v
    return 0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9


def _broker_ok(url: str) -> bool:
    try:
        parse_broker(url)
    except ConfigError:
        return False
    return True


def _default_device_id() -> str:
    host = os.uname().nodename or "mood-edge"
    return re.sub(r"[^A-Za-z0-9_-]", "-", host).lower()


# --- the sections: one field per key, with its default, doc and rule -----------------------------

@dataclass
class CameraConfig:
    source: str = setting("picamera2", rule=Rule(
        lambda v: bool(re.fullmatch(r"picamera2|v4l2:.+|file:.+|dir:.+", v)) and "\0" not in v,
        '"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"'), doc="""
        Where frames come from:
          "picamera2"                       the Raspberry Pi camera (libcamera; apt package python3-picamera2)
          "v4l2:0" or "v4l2:/dev/video0"    a USB webcam
          "file:/path/clip.mp4"             a video file (demos, tests)
          "dir:/path/folder"                every image in a folder, in name order (tests)
        """)
    loop: bool = setting(False, doc="Replay a file or folder source endlessly.")
    width: int = setting(1280, rule=PIXELS, doc="""
        Capture size asked of the camera, in pixels. The classifier's face crops come from this picture
        (on the Pi camera: the main stream, grey). 1280 px wide makes a face 3.5 m away 46 px wide
        (at 640 px: 23 px); see docs/detectors.md.
        """)
    height: int = setting(960, rule=PIXELS, doc="")
    fps: float = setting(15.0, rule=between(0, 1000, "0 (unlimited) or a rate up to 1000"),
                         doc="Frames per second to aim for; 0 = as fast as the source delivers.")
    retry_s: float = setting(1.0, rule=seconds(HOUR), doc="""
        Seconds before reopening a camera that failed; doubles on each failure up to retry_max_s.
        """)
    retry_max_s: float = setting(30.0, rule=seconds(HOUR), doc="")
    region: list[float] = setting(factory=list, rule=Rule(
        _region_ok, "[] or [x, y, width, height] as fractions of the frame (0..1, inside it, width and height > 0)"),
        doc="""
        The part of the view where people sit, as fractions of the frame: [x, y, width, height]
        (e.g. [0, 0.25, 1, 0.5] = the middle half, all the way across). [] = all of it. On the Pi camera
        it becomes the sensor crop (ScalerCrop: hardware zoom, no CPU, more pixels on each face); on
        other sources a software crop (less to search, no more pixels). `mood-edge check` says if you need it.
        """)
    lores_width: int = setting(800, rule=between(16, 8192, "16 to 8192 pixels"), doc="""
        Pi camera only: the colour stream the face detector reads (YUV420, converted to RGB). The main
        stream (width x height) gives the grey crops. 800 matches [detector.blazeface_scan] width.
        """)
    lores_height: int = setting(600, rule=between(16, 8192, "16 to 8192 pixels"), doc="")
    hfov_deg: float = setting(62.0, rule=between(1, 179, "1 to 179 degrees"), doc="""
        Horizontal field of view of the lens in degrees, for the distances `mood-edge check` reports:
        62 Camera Module v2, 66 Camera Module 3, 102 Camera Module 3 Wide; a USB webcam: its data sheet.
        """)

    cross_checks: ClassVar[tuple[AtMost | Together, ...]] = (
        AtMost("retry_s", "retry_max_s", "the wait doubles from retry_s up to retry_max_s"),
    )


@dataclass
class DetectorConfig:
    kind: str = setting("blazeface_motion", rule=one_of(detector_kinds), doc="""
        A plug-in from edge/detectors/ (docs/detectors.md gives each one's reach and cost):
          "blazeface_motion" the scan below at 1120 wide, only where and when motion says (the default)
          "blazeface_scan"  BlazeFace short-range slid over the whole frame at [detector.blazeface_scan]
                            width, plus one whole-frame pass: faces from 0.5 to 5 m, every search
          "blazeface"       the whole frame in BlazeFace's 128x128: faces within ~1.5 m, cheapest
          "blazeface_full"  BlazeFace full-range, the whole frame in 192x192: within ~2 m
          "haar"            OpenCV's cascade on grey; with detect_width = the capture width it reaches ~2 m
        """)
    detect_width: int = setting(320, rule=between(64, 8192, "64 to 8192 pixels"), doc="""
        Haar and "blazeface": the frame is downscaled to at most this width (pixels) first.
        """)
    min_size: int = setting(24, rule=PIXELS,
                            doc='Haar and "blazeface": smallest face, in pixels of the downscaled frame.')
    min_confidence: float = setting(0.6, rule=FRACTION, doc="""
        Confidence threshold (0..1) of "blazeface" and "blazeface_full" ("blazeface_scan" has its own).
        """)
    min_neighbors: int = setting(5, rule=between(0, 100, "0 to 100"), doc="""
        Haar: how many overlapping detections make a face (higher = fewer false faces).
        """)
    scale_factor: float = setting(1.15, rule=Rule(
        lambda v: 1 < v <= 4, "a factor between the detection scales, above 1 (e.g. 1.15)"),
        doc="Haar: image pyramid step (smaller = slower, finds more sizes).")
    max_faces: int = setting(8, rule=between(1, 1000, "1 to 1000"),
                             doc="At most this many faces per frame are classified.")
    num_threads: int = setting(2, rule=THREADS, doc="BlazeFace: interpreter threads.")
    track: bool = setting(True, doc="""
        Look for faces only near the last ones found (BlazeFace 128x128 on a window around each), with a
        search of the whole frame every full_every frames and at once when a face is lost; in an empty
        room "blazeface_scan" searches every full_every / 3 frames. The whole-frame scan is too costly
        for every frame on a Pi 4; tracking makes the average ~3x the old detector (docs/detectors.md).
        """)
    full_every: int = setting(15, rule=between(1, 100_000, "1 to 100000 frames"), doc="")
    options: dict[str, Any] = setting(factory=dict, example="(each plug-in's own [detector.<kind>] table, below; "
                                      "all optional)", doc="")


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
class MqttConfig:
    broker: str = setting("mqtt://localhost:1883", rule=Rule(
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
        f"a topic of 1-{MAX_TOPIC_PREFIX_BYTES} bytes without wildcards, control characters or a trailing '/'"),
        doc=f'Topics start with this (no wildcards, no trailing "/", no control characters, at most '
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
    password: str = setting("", doc="")
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
        f"a topic of 1-{MAX_TOPIC_PREFIX_BYTES} bytes without wildcards, control characters or a "
        "leading/trailing '/' (HA's default: homeassistant)"), doc="")


@dataclass
class DaemonConfig:
    state_dir: str = setting(factory=lambda: os.environ.get("STATE_DIRECTORY", "/var/lib/mood-edge"), path=True,
                             example='"/var/lib/mood-edge"', doc="""
        Where the daemon keeps its state (recommendation history).
        Default: $STATE_DIRECTORY (/var/lib/mood-edge under systemd), else /var/lib/mood-edge.
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
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    #: the file it came from, for error messages
    origin: str = field(default="<defaults>", compare=False)


# --- reading: types, rules, cross-checks ----------------------------------------------------------

class _Field:
    __slots__ = ("type", "rule")

    def __init__(self, tp: Any, rule: Rule | None) -> None:
        self.type, self.rule = tp, rule


@functools.cache
def _fields(cls: type) -> dict[str, _Field]:
    """A section's keys -> resolved type and rule, once per class (get_type_hints is slow)."""
    hints = get_type_hints(cls)
    checks = getattr(cls, "checks", {})  # a detector plug-in's options carry their rules beside them
    out = {}
    for f in dataclasses.fields(cls):
        rule = f.metadata.get("rule")
        if rule is None and f.name in checks:
            rule = Rule(*checks[f.name])
        out[f.name] = _Field(hints[f.name], rule)
    return out


@functools.cache
def _sections() -> dict[str, type]:
    return {name: f.type for name, f in _fields(Config).items() if name != "origin"}


#: values that name files or folders; relative ones are taken relative to the config file
#: (read from the fields' metadata; the section types are still strings here, resolving them costs import time)
PATH_KEYS = tuple(f"{f.name}.{g.name}" for f in dataclasses.fields(Config) if f.name != "origin"
                  for g in dataclasses.fields(globals()[f.type]) if g.metadata.get("path"))


def _type_name(tp: Any) -> str:
    if get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return "a list of " + _type_name(get_args(tp)[0]).removeprefix("a ").removeprefix("an ") + "s"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            type(None): "unset"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, path: str, key: str) -> Any:
    """Check a TOML value against a dataclass field type (ints are accepted for floats)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, path, key)
            except ConfigError:
                pass
        raise ConfigError(f"got {_shown(key, value)}", path=path, field=key, expected=_type_name(tp))
    if get_origin(tp) is dict:  # detector.options: only built from [detector.<kind>] tables
        raise ConfigError(f"got {_shown(key, value)}", path=path, field=key,
                          expected="[detector.<kind>] tables, not a value")
    if get_origin(tp) is list:
        if not isinstance(value, list):
            raise ConfigError(f"got {_shown(key, value)}", path=path, field=key, expected=_type_name(tp))
        return [_coerce(v, get_args(tp)[0], path, key) for v in value]
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        try:
            value = float(value) if ok else value
        except OverflowError:  # an integer beyond any float
            ok = False
        if ok and not math.isfinite(value):  # nan or inf: no setting means "never" or "always"
            raise ConfigError(f"got {value!r}", path=path, field=key, expected="a finite number")
    elif tp is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - only the types above are used
        ok = isinstance(value, tp)
    if not ok:
        raise ConfigError(f"got {_shown(key, value)}", path=path, field=key, expected=_type_name(tp))
    return value


def _shown(key: str, value: Any) -> str:
    """A value for an error message, with secrets masked (error messages end up in the journal)."""
    if key == "mqtt.password":
        return "***"
    if key == "mqtt.broker" and isinstance(value, str):
        return repr(mask_url(value))
    if isinstance(value, str) and len(value) > 80:  # one line, not 70,000 characters of it
        return f"{value[:60]!r}... ({len(value)} characters)"
    return repr(value)


def _checked(f: _Field, value: Any, path: str | None, key: str) -> Any:
    value = _coerce(value, f.type, path, key)
    if f.rule and value is not None and not f.rule.test(value):
        raise ConfigError(f"got {_shown(key, value)}", path=path, field=key, expected=f.rule.expected)
    return value


def check_value(key: str, value: Any, origin: str | None = None) -> Any:
    """``value`` for ``section.key`` checked by that key's type and rule (for stages used as a
    library: the same rule and text as the config file); returns it coerced (an int for a float)."""
    section, _, name = key.partition(".")
    f = _fields(_sections()[section])[name]
    return _checked(f, value, origin, key)


def _build_section(cls: type, table: Any, path: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"got {table!r}", path=path, field=section, expected="a [table]")
    fields = _fields(cls)
    obj = cls()
    for key, value in table.items():
        full = f"{section}.{key}"
        if section == "detector" and isinstance(value, dict):
            obj.options[key] = _detector_options(key, value, path)
            continue
        if key not in fields or key == "options" and section == "detector":
            raise ConfigError("unknown key", path=path, field=full,
                              expected="one of " + ", ".join(n for n in fields if n != "options"))
        setattr(obj, key, _checked(fields[key], value, path, full))
    return obj


def _detector_options(kind: str, table: dict[str, Any], path: str) -> Any:
    """A ``[detector.<kind>]`` table -> that plug-in's typed options dataclass."""
    from .detectors import detector_class  # noqa: PLC0415

    if kind not in detector_kinds():
        raise ConfigError("unknown detector table", path=path, field=f"detector.{kind}",
                          expected="[detector.<kind>] for one of " + ", ".join(detector_kinds()))
    return _build_section(detector_class(kind).Options, table, path, f"detector.{kind}")


def cross_check(cfg: Config, origin: str | None = None, changed: Iterable[str] = ()) -> None:
    """The rules that tie two keys of a section together. The error names ``origin`` (the command
    line) when one of the keys it is about was ``changed`` there, else the file."""
    changed = set(changed)
    for section in _sections():
        obj = getattr(cfg, section)
        for rule in getattr(type(obj), "cross_checks", ()):
            problem = rule.problem(obj, section)
            if problem:
                name, detail, expected = problem
                where = origin if origin and {f"{section}.{k}" for k in rule.keys} & changed else cfg.origin
                raise ConfigError(detail, path=where, field=f"{section}.{name}", expected=expected)


def from_dict(data: dict[str, Any], origin: str = "<dict>") -> Config:
    cfg = _from_dict(data, origin)
    cross_check(cfg)
    return cfg


def _from_dict(data: dict[str, Any], origin: str) -> Config:
    cfg = Config(origin=origin)
    sections = _sections()
    for name, table in data.items():
        if name not in sections:
            raise ConfigError("unknown section", path=origin, field=name,
                              expected="one of " + ", ".join(f"[{s}]" for s in sections))
        setattr(cfg, name, _build_section(sections[name], table, origin, name))
    _resolve_relative_paths(cfg, origin)
    return cfg


def _resolve_relative_paths(cfg: Config, origin: str) -> None:
    """Paths in a config file are relative to that file, as users expect."""
    if origin.startswith("<"):
        return
    base = Path(origin).resolve().parent
    for section, _, key in (k.partition(".") for k in PATH_KEYS):
        obj = getattr(cfg, section)
        value = getattr(obj, key)
        if value and not Path(value).is_absolute():
            setattr(obj, key, str(base / value))
    src = cfg.camera.source
    for scheme in ("file:", "dir:"):
        if src.startswith(scheme) and not Path(src[len(scheme):]).is_absolute():
            cfg.camera.source = scheme + str(base / src[len(scheme):])


def load(path: str | Path | None, overrides: Mapping[str, Any] | None = None,
         origin: str = "command line") -> Config:
    """Load a TOML config (``None`` gives the defaults), then the ``overrides`` (``section.key`` ->
    value; ``None`` values are skipped) from ``origin``; the cross-checks see the final values."""
    if path is None:
        cfg = Config()
    else:
        p = Path(path)
        text = read_user_text(p, ConfigError, "a TOML config file")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", path=p) from None
        cfg = _from_dict(data, origin=str(p))
    apply_overrides(cfg, overrides or {}, origin)
    return cfg


def _set(cfg: Config, key: str, value: Any, origin: str) -> None:
    section, _, name = key.partition(".")
    obj = getattr(cfg, section, None)
    fields = _fields(type(obj)) if dataclasses.is_dataclass(obj) else {}
    if name not in fields:
        raise ConfigError("unknown key", path=origin, field=key)
    setattr(obj, name, _checked(fields[name], value, origin, key))


def set_value(cfg: Config, key: str, value: Any, origin: str = "command line") -> None:
    """Set ``section.key`` with the same checks as the file (for CLI overrides). To set several keys
    that a cross-check ties together, use :func:`apply_overrides`."""
    _set(cfg, key, value, origin)
    cross_check(cfg, origin, (key,))


def apply_overrides(cfg: Config, overrides: Mapping[str, Any], origin: str = "command line") -> None:
    """Set each ``section.key`` -> value (``None`` = not given), then cross-check them together."""
    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in given.items():
        _set(cfg, key, value, origin)
    cross_check(cfg, origin, given)


def to_dict(cfg: Config) -> dict[str, Any]:
    """The effective config, with secrets masked (safe to log)."""
    data = dataclasses.asdict(cfg)
    data.pop("origin", None)
    if data["mqtt"]["password"]:
        data["mqtt"]["password"] = "***"
    data["mqtt"]["broker"] = mask_url(data["mqtt"]["broker"])
    return data


if __name__ == "__main__":
    import sys

    from .config_example import main

    sys.exit(main(sys.argv[1:]))
