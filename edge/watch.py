"""``mood-edge watch``: a terminal display that subscribes and shows what a TV would show.

It reads the same retained topics as every display (``<prefix>/<device>/state`` and
``.../availability``), so it doubles as a check that the daemon publishes what displays need.
Everything in a message came from the network: it is parsed defensively (a bad payload is a
warning, never a crash) and control characters are stripped before anything reaches the terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import queue
import re
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

from .config import Config, load, parse_broker, set_value
from .mqtt_auth import configure_auth, warn_password_on_command_line
from .errors import ConfigError, MoodEdgeError

log = logging.getLogger(__name__)

SUMMARY = "show the mood and film picks that displays receive, live, in the terminal"

DESCRIPTION = """\
Subscribes to the broker like any display and shows, for one device or all of them, the current
mood, its confidence, the number of faces, the recommended films (year, genres, runtime and why
each was picked) and whether the device is online. On a terminal the view refreshes in place;
with --plain (or when stdout is not a terminal) it prints one line per event, for pipes and logs.

A payload that is not a valid state message is reported as a warning on stderr and skipped.

examples:
  mood-edge watch --broker mqtt://pi.local
  MOOD_EDGE_MQTT_PASSWORD=secret mood-edge watch --broker mqtts://user@broker.lan --device-id livingroom
  mood-edge watch --config /etc/mood-edge/config.toml --plain --count 1 --timeout 30

exit status:
  0  done (--count reached, or --timeout passed without --count)
  1  --timeout passed before --count state messages arrived
  2  a usage or connection error (bad URL, unreachable broker, refused credentials)
  130 interrupted (Ctrl-C)"""

#: the word and the emoji shown for each mood; anything else is shown as sent
MOOD_EMOJI = {
    "happy": "😄", "sad": "😢", "angry": "😠", "disgust": "🤢", "fear": "😨",
    "surprise": "😮", "neutral": "😐", "nobody": "🪑",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_DEVICE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONNECT_TIMEOUT_S = 10.0
#: events waiting for the main thread; more than this is a flood, and new messages are dropped
MAX_QUEUED = 1000


def clean(value: Any, limit: int = 200) -> str:
    """Network text made safe for a terminal: no escape sequences, no bidi tricks, bounded."""
    text = _CONTROL.sub(" ", str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- messages --------------------------------------------------------------------------------------
@dataclass
class Film:
    title: str
    year: int | None = None
    genres: list[str] = field(default_factory=list)
    runtime: int | None = None
    rating: str = ""
    reasons: list[str] = field(default_factory=list)

    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def details(self) -> str:
        parts = []
        if self.genres:
            parts.append(", ".join(self.genres))
        if self.runtime:
            parts.append(f"{self.runtime} min")
        if self.rating:
            parts.append(self.rating)
        return " · ".join(parts)


@dataclass
class State:
    device: str
    mood: str
    confidence: float | None = None
    faces: int | None = None
    films: list[Film] = field(default_factory=list)
    camera: str = ""
    since: str = ""
    updated: str = ""
    strategy: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Availability:
    device: str
    online: bool


@dataclass
class BadPayload:
    """A message that cannot be shown, and why (reported as a warning)."""

    device: str
    text: str


Event = State | Availability | BadPayload


#: the ranges a value can have in a real state message; outside them it is not shown
_RANGES = {"confidence": (0.0, 1.0), "faces": (0, 1000)}


def _shown_number(value: Any) -> str:
    """A number for a warning: bounded, whatever its size (str() of a 5000-digit int raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 12:
        return f"a {'-' if value < 0 else ''}{value.bit_length()}-bit integer"
    return clean(repr(value) if isinstance(value, float) else value, 40)


def _number(data: dict, key: str, kind: type, warnings: list[str]) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)) or (
            kind is int and isinstance(value, float) and not value.is_integer()):
        warnings.append(f"{key} is {_shown_number(value)!r}, not a number")
        return None
    low, high = _RANGES.get(key, (-1e12, 1e12))
    if not low <= value <= high:
        warnings.append(f"{key} is {_shown_number(value)}, outside {low}..{high}")
        return None
    return kind(value)


def _int_in(value: Any, low: int, high: int) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else None


def _film(item: Any) -> Film | None:
    if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not item["title"].strip():
        return None
    year = item.get("year")
    runtime = item.get("runtime")
    genres = item.get("genres")
    reasons = item.get("reasons")
    return Film(
        title=clean(item["title"], 120),
        year=_int_in(year, 1870, 2200),
        genres=[clean(g, 30) for g in genres if isinstance(g, str)][:6] if isinstance(genres, list) else [],
        runtime=_int_in(runtime, 1, 10_000),
        rating=clean(item.get("rating") or "", 10) if isinstance(item.get("rating"), str) else "",
        reasons=[clean(r, 160) for r in reasons if isinstance(r, str)][:4] if isinstance(reasons, list) else [],
    )


def parse_state(device: str, payload: bytes) -> State | BadPayload:
    """A state message as the display needs it, or a warning saying why it cannot be shown."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return BadPayload(device, f"state is not JSON: {clean(payload[:60].decode('utf-8', 'replace'), 60)!r}")
    if not isinstance(data, dict):
        return BadPayload(device, f"state is a JSON {type(data).__name__}, not an object")
    mood = data.get("mood")
    if not isinstance(mood, str) or not clean(mood):
        return BadPayload(device, "state has no \"mood\" string")
    warnings: list[str] = []
    if data.get("schema") != 1:
        warnings.append(f"schema {clean(data.get('schema'), 20)!r} (this viewer knows schema 1)")
    confidence = _number(data, "confidence", float, warnings)
    faces = _number(data, "faces", int, warnings)
    recs = data.get("recommendations", [])
    films: list[Film] = []
    if isinstance(recs, list):
        films = [f for f in (_film(r) for r in recs[:20]) if f is not None]
        if len(films) < min(len(recs), 20):
            warnings.append(f"{min(len(recs), 20) - len(films)} recommendation(s) without a title skipped")
    else:
        warnings.append("recommendations is not a list")

    def text(key: str, limit: int = 40) -> str:
        v = data.get(key)
        return clean(v, limit) if isinstance(v, str) else ""

    return State(device=device, mood=clean(mood, 40), confidence=confidence, faces=faces, films=films,
                 camera=text("camera", 10), since=text("since"), updated=text("updated"),
                 strategy=text("strategy", 10), warnings=warnings)


def parse_message(prefix: str, topic: str, payload: bytes) -> Event | None:
    """Turn one MQTT message into an event; ``None`` for topics and payloads that mean nothing here."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    if len(parts) != 2:
        return None
    device, kind = clean(parts[0], 64), parts[1]
    if kind == "availability":
        text = payload.decode("utf-8", "replace").strip()
        if text in ("online", "offline"):
            return Availability(device, text == "online")
        if not text:  # retained availability cleared: nothing to show
            return None
        return BadPayload(device, f"availability is {clean(text, 40)!r}, not online/offline")
    if kind == "state":
        if not payload:  # retained state cleared
            return None
        return parse_state(device, payload)
    return None


# -- output ----------------------------------------------------------------------------------------
def plain_line(event: State | Availability) -> str:
    """One line per event, stable and greppable (``--plain``)."""
    if isinstance(event, Availability):
        return f"{event.device}: {'online' if event.online else 'offline'}"
    conf = f"{event.confidence * 100:.0f}%" if event.confidence is not None else "?"
    faces = event.faces if event.faces is not None else "?"
    films = "; ".join(f.label() for f in event.films) or "-"
    line = f"{event.device}: mood={event.mood} confidence={conf} faces={faces}"
    if event.camera:
        line += f" camera={event.camera}"
    return f"{line} films={films}"


@dataclass
class DeviceView:
    state: State | None = None
    online: bool | None = None
    seen: float = field(default_factory=time.time)


class Screen:
    """The refreshing full-screen view (alternate screen, redrawn on every event)."""

    BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
    GREEN, RED, YELLOW, CYAN = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[36m"

    def __init__(self, out: TextIO, title: str) -> None:
        self.out = out
        self.title = title
        self.devices: dict[str, DeviceView] = {}
        self.notes: list[str] = []
        self.connected = False

    def __enter__(self) -> "Screen":
        self.out.write("\x1b[?1049h\x1b[2J\x1b[?25l")
        self.draw()
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.write("\x1b[?25h\x1b[?1049l")
        self.out.flush()

    def apply(self, event: Event) -> None:
        view = self.devices.setdefault(event.device, DeviceView())
        view.seen = time.time()
        if isinstance(event, State):
            view.state = event
            for w in event.warnings:
                self.note(f"{event.device}: {w}")
        elif isinstance(event, Availability):
            view.online = event.online
        else:
            self.note(f"{event.device}: {event.text}")

    def note(self, text: str) -> None:
        self.notes = (self.notes + [f"{time.strftime('%H:%M:%S')} {text}"])[-3:]

    def draw(self) -> None:
        width = max(40, shutil.get_terminal_size((100, 30)).columns)
        lines = [f"{self.BOLD}{self.title}{self.RESET}  "
                 + (f"{self.GREEN}connected{self.RESET}" if self.connected else f"{self.YELLOW}connecting…{self.RESET}"),
                 ""]
        if not self.devices:
            lines.append(f"{self.DIM}waiting for a device to publish…{self.RESET}")
        for name in sorted(self.devices):
            lines += self._device_lines(name, self.devices[name], width)
        if self.notes:
            lines += ["", *(f"{self.YELLOW}! {n}{self.RESET}" for n in self.notes)]
        # home, overwrite each line and clear its rest, then clear below: no flicker
        self.out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
        self.out.flush()

    def _device_lines(self, name: str, view: DeviceView, width: int) -> list[str]:
        B, D, R = self.BOLD, self.DIM, self.RESET
        status = {True: f"{self.GREEN}● online{R}", False: f"{self.RED}● OFFLINE{R}",
                  None: f"{D}● unknown{R}"}[view.online]
        out = [f"{B}{self.CYAN}{name}{R}  {status}"]
        s = view.state
        if s is None:
            return out + [f"  {D}no state yet{R}", ""]
        stale = f"  {D}(last known){R}" if view.online is False else ""
        out.append(f"  {MOOD_EMOJI.get(s.mood, '•')}  {B}{s.mood.upper()}{R}{stale}")
        if s.confidence is not None:
            filled = round(max(0.0, min(1.0, s.confidence)) * 20)
            out.append(f"  confidence {'█' * filled}{'░' * (20 - filled)} {s.confidence * 100:.0f}%")
        faces = "?" if s.faces is None else s.faces
        extra = f" · camera {s.camera}" if s.camera and s.camera != "ok" else ""
        out.append(f"  faces {faces}{extra}{f' · since {s.since}' if s.since else ''}")
        if s.films:
            out.append(f"  {B}films{R}{f' ({s.strategy})' if s.strategy else ''}:")
        for i, f in enumerate(s.films, 1):
            out.append(_fit(f"   {i}. {B}{f.label()}{R}  {D}{f.details()}{R}", width))
            if f.reasons:
                out.append(_fit(f"      {D}why: {'; '.join(f.reasons)}{R}", width))
        return out + [""]


def _fit(line: str, width: int) -> str:
    """Cut a line to the terminal width, counting only visible characters."""
    visible = 0
    out = []
    for part in re.split(r"(\x1b\[[0-9;?]*[A-Za-z])", line):
        if part.startswith("\x1b["):
            out.append(part)
            continue
        room = width - 1 - visible
        if len(part) > room:
            out.append(part[: max(0, room - 1)] + "…")
            out.append(Screen.RESET)
            return "".join(out)
        out.append(part)
        visible += len(part)
    return "".join(out)


# -- MQTT ------------------------------------------------------------------------------------------
def _make_client(cfg: Config):  # -> paho.mqtt.client.Client
    import paho.mqtt.client as mqtt

    url = parse_broker(cfg.mqtt.broker, origin="--broker")
    from .mqtt_limits import BoundedClient  # messages over 64 KiB are dropped unread

    client = BoundedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=f"mood-edge-watch-{uuid.uuid4().hex[:12]}",
                         protocol=mqtt.MQTTv311, clean_session=True)
    configure_auth(client, cfg.mqtt, origin="--broker")
    client.reconnect_delay_set(1, 15)
    return client, url


class Watcher:
    """Subscribes and turns messages into events on a queue (paho's thread -> main thread)."""

    def __init__(self, cfg: Config, device: str) -> None:
        self.cfg = cfg
        self.prefix = cfg.mqtt.topic_prefix
        level = "+" if device == "all" else device
        # availability first, so a retained "offline" is known before the retained state is shown
        self.topics = [f"{self.prefix}/{level}/availability", f"{self.prefix}/{level}/state"]
        #: bounded: a flood (60 -> 580 MB in 15 s before) waits here at most MAX_QUEUED deep
        self.events: queue.Queue[Event | tuple[str, Any]] = queue.Queue(maxsize=MAX_QUEUED)
        #: messages dropped because the queue was full
        self.dropped = 0
        self.client, self.url = _make_client(cfg)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = threading.Event()

    def start(self) -> None:
        try:
            self.client.connect_async(self.url.host, self.url.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot connect: {exc}", field="--broker") from None
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if getattr(reason_code, "is_failure", False):
            self._put(("refused", str(reason_code)))
            return
        for t in self.topics:
            client.subscribe(t, qos=1)
        self.connected.set()
        self._put(("connected", None))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self._put(("disconnected", str(reason_code)))

    def _on_message(self, client, userdata, msg) -> None:
        try:
            event = parse_message(self.prefix, msg.topic, bytes(msg.payload))
        except Exception as exc:  # noqa: BLE001 - a viewer must survive any payload
            level = msg.topic[len(self.prefix) + 1:].split("/")[0] if msg.topic.startswith(self.prefix + "/") else ""
            event = BadPayload(clean(level, 64) if _DEVICE.fullmatch(level) else "?",
                               f"cannot read message: {type(exc).__name__}")
        if event is not None:
            self._put(event)

    def _put(self, item: Event | tuple[str, Any]) -> None:
        """Queue an event; under a flood the queue stays bounded: new messages are dropped (and
        counted), connection news always gets in."""
        try:
            self.events.put_nowait(item)
            return
        except queue.Full:
            pass
        if isinstance(item, tuple):
            try:
                self.events.get_nowait()  # make room: the news matters more than one message
            except queue.Empty:
                pass
            self.dropped += 1
            try:
                self.events.put_nowait(item)
            except queue.Full:
                pass
        else:
            self.dropped += 1


# -- the command -----------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH",
                        help="read broker, credentials, TLS files and topic prefix from this config's [mqtt]")
    parser.add_argument("--broker", metavar="URL",
                        help="mqtt://[user@]host[:port] or mqtts://... (default: the config's, "
                             "else mqtt://localhost:1883); the password from MOOD_EDGE_MQTT_PASSWORD, "
                             "not the URL (visible to every local user)")
    parser.add_argument("--device-id", metavar="ID|all", default="all",
                        help="the device to show, or \"all\" (default: all)")
    parser.add_argument("--prefix", metavar="P", help="topic prefix (default: the config's, else mood-edge)")
    parser.add_argument("--plain", action="store_true",
                        help="one line per event instead of the refreshing view (automatic when not a terminal)")
    parser.add_argument("--count", type=int, metavar="N", help="exit after N state messages")
    parser.add_argument("--timeout", type=float, metavar="S", help="exit after S seconds")


def _config(args: argparse.Namespace) -> Config:
    cfg = load(args.config) if args.config else Config()
    if args.broker is not None:
        if not args.broker:
            raise ConfigError("got an empty URL", field="--broker", expected="mqtt://host[:port] or mqtts://...")
        set_value(cfg, "mqtt.broker", args.broker, origin="--broker")
        warn_password_on_command_line(args.broker)
    if args.prefix is not None:
        set_value(cfg, "mqtt.topic_prefix", args.prefix, origin="--prefix")
    if not cfg.mqtt.broker:
        raise ConfigError("MQTT is disabled in this config", path=cfg.origin, field="mqtt.broker",
                          expected="a broker URL, or pass --broker")
    if args.device_id != "all" and not _DEVICE.fullmatch(args.device_id):
        raise ConfigError(f"got {args.device_id!r}", field="--device-id",
                          expected="\"all\" or 1-64 letters, digits, '-' or '_'")
    if args.count is not None and args.count < 1:
        raise ConfigError(f"got {args.count}", field="--count", expected="at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError(f"got {args.timeout}", field="--timeout", expected="a positive number of seconds")
    return cfg


def main(args: argparse.Namespace) -> int:
    cfg = _config(args)
    out = sys.stdout
    tty = not args.plain and out.isatty()
    watcher = Watcher(cfg, args.device_id)
    where = f"{watcher.url.host}:{watcher.url.port}"
    deadline = time.monotonic() + args.timeout if args.timeout else None
    connect_by = time.monotonic() + CONNECT_TIMEOUT_S
    states = 0
    screen = Screen(out, f"mood-edge watch · {where} · {args.device_id}") if tty else None
    watcher.start()
    try:
        if screen:
            screen.__enter__()
        while True:
            now = time.monotonic()
            if args.count and states >= args.count:
                return 0
            if deadline is not None and now >= deadline:
                if args.count:
                    print(f"mood-edge watch: timed out after {args.timeout:g} s with {states} of "
                          f"{args.count} state message(s)", file=sys.stderr)
                    return 1
                return 0
            if not watcher.connected.is_set() and now >= connect_by:
                raise MoodEdgeError(f"cannot reach the broker at {where} within {CONNECT_TIMEOUT_S:g} s",
                                    field="--broker", expected="a running MQTT broker")
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - now))
            try:
                item = watcher.events.get(timeout=wait)
            except queue.Empty:
                if screen:
                    screen.draw()
                continue
            if isinstance(item, tuple):
                kind, detail = item
                if kind == "refused":
                    raise MoodEdgeError(f"the broker at {where} refused the connection: {detail}",
                                        field="--broker", expected="valid credentials")
                if screen:
                    screen.connected = kind == "connected"
                    if kind == "disconnected":
                        screen.note(f"lost the broker ({detail}); reconnecting")
                    screen.draw()
                elif kind == "disconnected":
                    log.warning("lost the broker at %s (%s); reconnecting", where, detail)
                continue
            if isinstance(item, State):
                states += 1
            if screen:  # warnings go into the view: a log line would scribble over it
                screen.apply(item)
                screen.draw()
                continue
            if isinstance(item, BadPayload):
                log.warning("%s: %s", item.device, item.text)
                continue
            for w in getattr(item, "warnings", ()):
                log.warning("%s: %s", item.device, w)
            print(plain_line(item), file=out, flush=True)
    finally:
        if screen:
            screen.__exit__(None, None, None)
        watcher.stop()
