"""The daemon's configuration: one TOML file, typed dataclasses, a default for every value.

A wrong key, type or value raises :class:`ConfigError` naming the file, the key and what was
expected. Command-line overrides are applied on top with :func:`apply_overrides`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import unquote, urlsplit

from .detectors import kinds as detector_kinds  # the registry: imports no model until asked
from .errors import ConfigError, read_user_text
from .paths import default_catalog, default_model


@dataclass
class CameraConfig:
    #: "picamera2" | "v4l2:N" (or "v4l2:/dev/videoN") | "file:PATH" | "dir:PATH"
    source: str = "picamera2"
    #: replay a file or folder source endlessly
    loop: bool = False
    #: capture size: the classifier's crops come from this (picamera2: the main stream); 1280 px wide
    #: makes a face at 3.5 m 46 px wide (at 640 px: 23 px)
    width: int = 1280
    height: int = 960
    #: frames per second to aim for; 0 = as fast as the source delivers
    fps: float = 15.0
    #: seconds between attempts to reopen a source that failed (doubles up to retry_max_s)
    retry_s: float = 1.0
    retry_max_s: float = 30.0
    #: the part of the view where people sit, as fractions of the frame: [x, y, width, height]
    #: ([] = all of it). picamera2: the sensor crop (ScalerCrop, no CPU); other sources: a software crop
    region: list[float] = field(default_factory=list)
    #: picamera2: the colour stream the detector reads (YUV420, converted to RGB); the main stream
    #: (width x height, grey) gives the crops. 800 matches blazeface_scan's default width
    lores_width: int = 800
    lores_height: int = 600
    #: horizontal field of view in degrees, for distance estimates (Camera Module v2: 62, 3: 66, 3 Wide: 102)
    hfov_deg: float = 62.0


@dataclass
class DetectorConfig:
    #: a plug-in from edge/detectors/ (see its [detector.<kind>] options): "blazeface_scan" (the default,
    #: chosen by `mood-edge bench --distance`: BlazeFace short-range slid over the whole frame, 0.5-5 m),
    #: "blazeface" (the whole frame in 128x128, < 1.5 m), "blazeface_full" (full-range 192x192) or "haar"
    kind: str = "blazeface_scan"
    #: the frame is downscaled so its width is at most this before detection
    detect_width: int = 320
    #: smallest face, in pixels of the downscaled frame
    min_size: int = 24
    #: detector confidence threshold (BlazeFace); Haar uses min_neighbors
    min_confidence: float = 0.6
    min_neighbors: int = 5
    scale_factor: float = 1.15
    max_faces: int = 8
    #: interpreter threads for BlazeFace
    num_threads: int = 2
    #: detect in a window around the last faces, with a full-frame pass every `full_every` frames
    #: (and at once when a face is lost): the whole-frame scan is too costly for every frame on a Pi
    track: bool = True
    full_every: int = 15
    #: each plug-in's own options, from its [detector.<kind>] table (see edge/detectors/)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    #: the .tflite file; its model card is the same path with ".json"
    path: str = field(default_factory=lambda: str(default_model()))
    num_threads: int = 2
    #: "fer7" (angry, disgust, fear, happy, sad, surprise, neutral) or "mood4" (happy, sad, neutral, angry)
    labels: str = "fer7"


@dataclass
class MoodConfig:
    #: weight of the newest frame in the exponential moving average (0..1]
    ema_alpha: float = 0.3
    #: a new mood must lead for this many seconds before it is published
    dwell_s: float = 2.0
    #: ... and lead the current mood's probability by at least this much
    margin: float = 0.1
    #: no face for this many seconds -> mood "nobody"
    nobody_after_s: float = 5.0
    #: faces whose top probability is below this are ignored
    min_face_confidence: float = 0.0


@dataclass
class RecommendConfig:
    catalog: str = field(default_factory=lambda: str(default_catalog()))
    count: int = 5
    #: "match" (mood-congruent) or "lift" (mood-improving)
    strategy: str = "lift"
    family_safe: bool = False
    #: a film shown in the last `history` recommendations is not shown again
    history: int = 30
    #: fixed seed for reproducible picks (tests); unset = random
    seed: int | None = None
    #: a Kodi/Jellyfin/Emby/Plex movie folder: pick only from these films ("" = the whole catalog)
    library: str = ""


@dataclass
class MqttConfig:
    #: mqtt://[user:pass@]host[:port] or mqtts://... for TLS; "" = do not publish
    broker: str = "mqtt://localhost:1883"
    device_id: str = field(default_factory=lambda: _default_device_id())
    topic_prefix: str = "mood-edge"
    client_id: str = ""
    username: str = ""
    password: str = ""
    #: read the password from this file (e.g. a systemd credential) instead of the config
    password_file: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    #: accept a server certificate that does not verify (never do this outside a lab)
    tls_insecure: bool = False
    keepalive_s: int = 30
    qos: int = 1
    #: re-publish the state at least this often even when nothing changed
    heartbeat_s: float = 60.0
    #: messages kept while the broker is away; older ones are dropped beyond this
    max_queued: int = 100
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0


@dataclass
class HomeAssistantConfig:
    enabled: bool = True
    discovery_prefix: str = "homeassistant"


@dataclass
class DaemonConfig:
    state_dir: str = field(default_factory=lambda: os.environ.get("STATE_DIRECTORY", "/var/lib/mood-edge"))
    log_level: str = "INFO"
    #: DEBUG ONLY, off by default: write face crops to this folder. Frames never leave the process otherwise.
    debug_save_faces_dir: str = ""


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


def _default_device_id() -> str:
    host = os.uname().nodename or "mood-edge"
    return re.sub(r"[^A-Za-z0-9_-]", "-", host).lower()


#: more threads than this is a typo (the interpreter takes a C int; a Pi has 4 cores)
MAX_THREADS = 64
#: upper bounds for durations: beyond them a value is a typo, and time.sleep() overflows on huge ones
HOUR, DAY = 3600, 86400


#: MQTT topics are at most 65,535 bytes (paho's network thread died on a longer one); a prefix is
#: a few words. Client ids: mosquitto takes long ones, but nobody needs more than this.
MAX_TOPIC_PREFIX_BYTES = 256
MAX_CLIENT_ID_BYTES = 128


def _topic_ok(v: str) -> bool:
    """Topic levels the broker will accept: no wildcards, no NUL or other control/format
    characters (the broker refuses those forever), and a bounded length."""
    return 0 < len(v.encode("utf-8", "surrogatepass")) <= MAX_TOPIC_PREFIX_BYTES and v.isprintable() \
        and not any(c in v for c in "#+")


def _seconds(most: int) -> tuple[typing.Callable[[Any], bool], str]:
    """A duration that must be above zero and at most ``most`` seconds."""
    return (lambda v: 0 < v <= most, f"more than 0, at most {most} seconds")


# Values checked beyond their type: key -> (predicate, what was expected)
_CHOICES: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "camera.source": (lambda v: bool(re.fullmatch(r"picamera2|v4l2:.+|file:.+|dir:.+", v)) and "\0" not in v,
                      '"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"'),
    "camera.width": (lambda v: 0 < v <= 8192, "a number of pixels from 1 to 8192"),
    "camera.height": (lambda v: 0 < v <= 8192, "a number of pixels from 1 to 8192"),
    "camera.fps": (lambda v: 0 <= v <= 1000, "0 (unlimited) or a rate up to 1000"),
    "camera.retry_s": _seconds(HOUR),
    "camera.retry_max_s": _seconds(HOUR),
    "camera.region": (lambda v: _region_ok(v),
                      "[] or [x, y, width, height] as fractions of the frame (0..1, inside it, width and height > 0)"),
    "camera.lores_width": (lambda v: 16 <= v <= 8192, "16 to 8192 pixels"),
    "camera.lores_height": (lambda v: 16 <= v <= 8192, "16 to 8192 pixels"),
    "camera.hfov_deg": (lambda v: 1 <= v <= 179, "1 to 179 degrees"),
    "detector.kind": (lambda v: v in detector_kinds(), " or ".join(f'"{k}"' for k in detector_kinds())),
    "detector.detect_width": (lambda v: 64 <= v <= 8192, "64 to 8192 pixels"),
    "detector.min_size": (lambda v: 0 < v <= 8192, "a number of pixels from 1 to 8192"),
    "detector.min_confidence": (lambda v: 0 <= v <= 1, "a number between 0 and 1"),
    "detector.max_faces": (lambda v: 0 < v <= 1000, "1 to 1000"),
    "detector.num_threads": (lambda v: 0 < v <= MAX_THREADS, f"1 to {MAX_THREADS} threads"),
    "detector.full_every": (lambda v: 0 < v <= 100_000, "1 to 100000 frames"),
    "detector.scale_factor": (lambda v: 1 < v <= 4, "a factor between the detection scales, above 1 (e.g. 1.15)"),
    "detector.min_neighbors": (lambda v: 0 <= v <= 100, "0 to 100"),
    "model.num_threads": (lambda v: 0 < v <= MAX_THREADS, f"1 to {MAX_THREADS} threads"),
    "model.labels": (lambda v: v in ("fer7", "mood4"), '"fer7" or "mood4"'),
    "mood.ema_alpha": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "mood.dwell_s": (lambda v: 0 <= v <= HOUR, f"0 to {HOUR} seconds"),
    "mood.margin": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "mood.nobody_after_s": _seconds(DAY),
    "mood.min_face_confidence": (lambda v: 0 <= v <= 1, "a number between 0 and 1"),
    "recommend.count": (lambda v: 0 <= v <= 50, "between 0 and 50"),
    "recommend.strategy": (lambda v: v in ("match", "lift"), '"match" or "lift"'),
    "recommend.history": (lambda v: 0 <= v <= 100_000, "0 to 100000 films"),
    "mqtt.broker": (lambda v: v == "" or _broker_ok(v),
                    'mqtt://[user:pass@]host[:port], mqtts://... or "" to disable'),
    "mqtt.device_id": (lambda v: bool(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", v)),
                       "1-64 letters, digits, '-' or '_' (it becomes an MQTT topic level)"),
    "mqtt.topic_prefix": (lambda v: _topic_ok(v) and not v.endswith("/"),
                          f"a topic of 1-{MAX_TOPIC_PREFIX_BYTES} bytes without wildcards, control characters "
                          "or a trailing '/'"),
    "mqtt.client_id": (lambda v: v == "" or (v.isprintable() and len(v.encode()) <= MAX_CLIENT_ID_BYTES),
                       f'"" (the default) or up to {MAX_CLIENT_ID_BYTES} bytes without control characters'),
    "mqtt.qos": (lambda v: v in (0, 1, 2), "0, 1 or 2"),
    "mqtt.keepalive_s": (lambda v: 5 <= v <= 65535, "5 to 65535 seconds"),
    "mqtt.reconnect_min_s": _seconds(HOUR),
    "mqtt.reconnect_max_s": _seconds(HOUR),
    "mqtt.max_queued": (lambda v: 1 <= v <= 1_000_000, "1 to 1000000 messages"),
    "mqtt.heartbeat_s": _seconds(DAY),
    "homeassistant.discovery_prefix": (lambda v: _topic_ok(v) and not v.startswith("/") and not v.endswith("/"),
                                       f"a topic of 1-{MAX_TOPIC_PREFIX_BYTES} bytes without wildcards, control "
                                       "characters or a leading/trailing '/' (HA's default: homeassistant)"),
    "daemon.log_level": (lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
                         "DEBUG, INFO, WARNING or ERROR"),
}

#: values that name files or folders; relative ones are taken relative to the config file
PATH_KEYS = ("model.path", "recommend.catalog", "recommend.library", "daemon.state_dir", "mqtt.password_file", "mqtt.ca_file",
             "mqtt.cert_file", "mqtt.key_file", "daemon.debug_save_faces_dir")
# The OS cannot open a name with a NUL in it (Python raises ValueError, not OSError): refuse it here.
_CHOICES.update({key: (lambda v: "\0" not in v, "a file or folder path (no NUL character)") for key in PATH_KEYS})


def _region_ok(v: list[float]) -> bool:
    if not v:
        return True
    if len(v) != 4:
        return False
    x, y, w, h = v
    return 0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9


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


def mask_url(url: str) -> str:
    """``mqtt://user:secret@host`` -> ``mqtt://user:***@host``."""
    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", url)


def _broker_ok(url: str) -> bool:
    try:
        parse_broker(url)
    except ConfigError:
        return False
    return True


def _check(key: str, value: Any, path: str) -> None:
    rule = _CHOICES.get(key)
    if rule and value is not None and not rule[0](value):
        raise ConfigError(f"got {_shown(key, value)}", path=path, field=key, expected=rule[1])


def _build_section(cls: type, table: Any, path: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"got {table!r}", path=path, field=section, expected="a [table]")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    obj = cls()
    for key, value in table.items():
        full = f"{section}.{key}"
        if section == "detector" and isinstance(value, dict):
            obj.options[key] = _detector_options(key, value, path)
            continue
        if key not in names or key == "options" and section == "detector":
            raise ConfigError("unknown key", path=path, field=full,
                              expected="one of " + ", ".join(n for n in names if n != "options"))
        value = _coerce(value, hints[key], path, full)
        _check(full, value, path)
        # a detector plug-in's options carry their own checks beside them
        rule = getattr(cls, "checks", {}).get(key)
        if rule and not rule[0](value):
            raise ConfigError(f"got {_shown(full, value)}", path=path, field=full, expected=rule[1])
        setattr(obj, key, value)
    return obj


def _detector_options(kind: str, table: dict[str, Any], path: str) -> Any:
    """A ``[detector.<kind>]`` table -> that plug-in's typed options dataclass."""
    from .detectors import detector_class  # noqa: PLC0415

    if kind not in detector_kinds():
        raise ConfigError("unknown detector table", path=path, field=f"detector.{kind}",
                          expected="[detector.<kind>] for one of " + ", ".join(detector_kinds()))
    return _build_section(detector_class(kind).Options, table, path, f"detector.{kind}")


def from_dict(data: dict[str, Any], origin: str = "<dict>") -> Config:
    cfg = Config(origin=origin)
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name != "origin"}
    hints = get_type_hints(Config)
    for name, table in data.items():
        if name not in sections:
            raise ConfigError("unknown section", path=origin, field=name,
                              expected="one of " + ", ".join(f"[{s}]" for s in sections))
        setattr(cfg, name, _build_section(hints[name], table, origin, name))
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


def load(path: str | Path | None) -> Config:
    """Load a TOML config; ``None`` gives the defaults."""
    if path is None:
        return Config()
    p = Path(path)
    text = read_user_text(p, ConfigError, "a TOML config file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=p) from None
    return from_dict(data, origin=str(p))


def set_value(cfg: Config, key: str, value: Any, origin: str = "command line") -> None:
    """Set ``section.key`` with the same checks as the file (for CLI overrides)."""
    section, _, name = key.partition(".")
    obj = getattr(cfg, section, None)
    if obj is None or not dataclasses.is_dataclass(obj) or name not in {f.name for f in dataclasses.fields(obj)}:
        raise ConfigError("unknown key", path=origin, field=key)
    value = _coerce(value, get_type_hints(type(obj))[name], origin, key)
    _check(key, value, origin)
    setattr(obj, name, value)


@dataclass
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str
    password: str


def parse_broker(url: str, origin: str = "mqtt.broker") -> BrokerUrl:
    """``mqtt://[user:pass@]host[:port]`` (1883) or ``mqtts://...`` (8883)."""
    expected = "mqtt://[user:pass@]host[:port] or mqtts://..."
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 address
        raise ConfigError(f"got {mask_url(url)!r}: {exc}", path=origin, field="broker", expected=expected) from None
    if (parts.scheme not in ("mqtt", "mqtts") or not parts.hostname
            or any(c.isspace() or not c.isprintable() for c in parts.hostname)):
        raise ConfigError(f"got {mask_url(url)!r}", path=origin, field="broker", expected=expected)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"bad port in {mask_url(url)!r}", path=origin, field="broker",
                          expected="a port between 1 and 65535") from None
    tls = parts.scheme == "mqtts"
    return BrokerUrl(host=parts.hostname, port=port or (8883 if tls else 1883), tls=tls,
                     username=unquote(parts.username or ""), password=unquote(parts.password or ""))


def to_dict(cfg: Config) -> dict[str, Any]:
    """The effective config, with secrets masked (safe to log)."""
    data = dataclasses.asdict(cfg)
    data.pop("origin", None)
    if data["mqtt"]["password"]:
        data["mqtt"]["password"] = "***"
    data["mqtt"]["broker"] = mask_url(data["mqtt"]["broker"])
    return data
