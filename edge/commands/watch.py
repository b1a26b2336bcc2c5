"""``mood-edge watch``: a terminal display that subscribes and shows what a TV would show.

It reads the same retained topics as every display (``<prefix>/<device>/state`` and
``.../availability``), so it doubles as a check that the daemon publishes what displays need.
Everything in a message came from the network: edge.mqtt.messages parses it defensively (a bad payload
is a warning, never a crash) and strips control characters before anything reaches the terminal.
"""

from __future__ import annotations

import argparse
import logging
import queue
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..config import Config, load, set_value
from ..errors import ConfigError, MoodEdgeError
from ..mqtt.display_state import STALE_AFTER_HEARTBEATS
from ..mqtt.messages import (BadPayload, Event, ReceivedState, availability_topic, bridge_topic, clean,
                             parse_message, state_topic)
from ..mqtt.client import Connection
from ..mqtt.credentials import WATCH_LOGIN, read_login_file, resolve_credentials, warn_password_on_command_line
from .watch_view import Screen, plain_line

__all__ = ["Screen", "Watcher", "main", "plain_line"]

log = logging.getLogger(__name__)

SUMMARY = "show the mood and film picks that displays receive, live, in the terminal"

DESCRIPTION = """\
Subscribes to the broker like any display and shows, for one device or all of them, the current
mood, its confidence, the number of faces, the recommended films (year, genres, runtime and why
each was picked) and whether the device is online. On a terminal the view refreshes in place;
with --plain (or when stdout is not a terminal) it prints one line per event, for pipes and logs.

A payload that is not a valid state message is reported as a warning on stderr and skipped.
Without a broker it says so, and keeps retrying with backoff (1 s doubling to 15 s), showing the
status, until the broker is there or --timeout passes.

The login: MOOD_EDGE_MQTT_USERNAME / MOOD_EDGE_MQTT_PASSWORD, the URL's user name, the config's
[mqtt] username and password_file; with none of these, on a Pi set up by `install.sh --with-broker`,
the login it made for watch in /etc/mood-edge/watch-login (or watch-login next to --config), which
root and members of group mood-edge may read. One watch per login at a time: the broker takes the
user name as the client id, so a second one with the same login takes the connection over.

examples:
  sudo mood-edge watch -c /etc/mood-edge/config.toml              # on the Pi (or as group mood-edge)
  MOOD_EDGE_MQTT_PASSWORD=secret mood-edge watch --broker mqtts://laptop@pi.local:8883 --ca-file ca.crt
  mood-edge watch --config /etc/mood-edge/config.toml --plain --count 1 --timeout 30

exit status:
  0  done (--count reached, or --timeout passed without --count)
  1  --timeout passed before --count state messages arrived
  2  a usage or connection error (bad URL, refused credentials, or no broker reached before --timeout)
  130 interrupted (Ctrl-C)"""

_DEVICE = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: events waiting for the main thread; more than this is a flood, and new messages are dropped
MAX_QUEUED = 1000


# -- MQTT ------------------------------------------------------------------------------------------
class Watcher:
    """Subscribes and turns messages into events on a queue (paho's thread -> main thread)."""

    def __init__(self, cfg: Config, device: str) -> None:
        self.cfg = cfg
        self.prefix = cfg.mqtt.topic_prefix
        level = "+" if device == "all" else device
        #: bounded: a flood (60 -> 580 MB in 15 s before) waits here at most MAX_QUEUED deep
        self.events: queue.Queue[Event | tuple[str, Any]] = queue.Queue(maxsize=MAX_QUEUED)
        #: messages dropped because the queue was full
        self.dropped = 0
        self.connected = threading.Event()
        # messages over 64 KiB are dropped unread; news goes to the queue, not to the log
        self.connection = Connection(cfg.mqtt, f"mood-edge-watch-{uuid.uuid4().hex[:12]}", origin="--broker",
                                     keepalive_s=30, reconnect_s=(1, 15), problems=None,
                                     on_connect=self._on_connect, on_refused=self._on_refused,
                                     on_disconnect=self._on_disconnect, on_fail=self._on_fail)
        self.url = self.connection.url
        # availability first, so a retained "offline" is known before the retained state is shown
        for topic in (availability_topic(self.prefix, level), state_topic(self.prefix, level),
                      bridge_topic(self.prefix, level)):  # a house broker has each room's link
            self.connection.subscribe(topic, self._on_message)

    def start(self) -> None:
        self.connection.start()

    def stop(self) -> None:
        self.connection.stop()

    def _on_connect(self) -> None:
        self.connected.set()
        self._put(("connected", None))

    def _on_refused(self, reason: str) -> None:
        self._put(("refused", reason))

    def _on_disconnect(self, reason: str) -> None:
        self._put(("disconnected", reason))

    def _on_fail(self, reason: str) -> None:
        self._put(("unreachable", reason))

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            event = parse_message(self.prefix, topic, bytes(payload))
        except Exception as exc:  # noqa: BLE001 - a viewer must survive any payload
            level = topic[len(self.prefix) + 1:].split("/")[0] if topic.startswith(self.prefix + "/") else ""
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
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="read broker, credentials, TLS files and topic prefix from this config's [mqtt]")
    parser.add_argument("--broker", metavar="URL",
                        help="mqtt://[user@]host[:port] or mqtts://... (default: the config's, "
                             "else mqtt://localhost:1883); the password from MOOD_EDGE_MQTT_PASSWORD, "
                             "not the URL (visible to every local user)")
    parser.add_argument("--ca-file", metavar="PATH",
                        help="with mqtts://, the CA that signed the broker's certificate (the Pi's "
                             "/etc/mosquitto/mood-edge/certs/ca.crt; default: the config's mqtt.ca_file)")
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
    if args.ca_file is not None:
        set_value(cfg, "mqtt.ca_file", args.ca_file, origin="--ca-file")
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
    if cfg.mqtt.broker and not resolve_credentials(cfg.mqtt, "--broker")[0]:
        _use_watch_login(cfg, args.config)
    return cfg


#: why a connected watch may have heard nothing
_NOTHING_CAME = (" (connected, but nothing came: is the daemon running with this topic prefix, and may this "
                 "login read it? display and service users may, devices only their own: docs/mqtt.md)")
#: what to do when a broker refuses a watch that had no login at all
_LOGIN_HINT = ("a login: on a Pi set up by install.sh --with-broker run it as root or as a member of group "
               "mood-edge (it reads /etc/mood-edge/watch-login); elsewhere --broker mqtts://USER@HOST:8883 "
               "with MOOD_EDGE_MQTT_PASSWORD (docs/displays.md)")


def _use_watch_login(cfg: Config, config_path: str | None) -> None:
    """No login given: on a Pi set up by install.sh --with-broker, the one it made for watch."""
    candidates = [Path(config_path).parent / "watch-login"] if config_path else []
    for path in [*candidates, Path(WATCH_LOGIN)]:
        if path.exists():
            cfg.mqtt.username, cfg.mqtt.password = read_login_file(path)
            cfg.mqtt.password_file = ""
            log.debug("logging in as %s (%s)", cfg.mqtt.username, path)
            return


def _never_crash_on_encoding() -> None:
    """A terminal that cannot show a character gets "?" instead of a UnicodeEncodeError (an old
    console in latin-1, an emoji, a U+FFFD that replaced a lone surrogate from the network)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def main(args: argparse.Namespace) -> int:
    cfg = _config(args)
    _never_crash_on_encoding()
    out = sys.stdout
    tty = not args.plain and out.isatty()
    watcher = Watcher(cfg, args.device_id)
    where = f"{watcher.url.host}:{watcher.url.port}"
    deadline = time.monotonic() + args.timeout if args.timeout else None
    started, attempts = time.monotonic(), 0
    states = 0
    screen = Screen(out, f"mood-edge watch · {where} · {args.device_id}",
                    STALE_AFTER_HEARTBEATS * cfg.mqtt.heartbeat_s) if tty else None
    watcher.start()
    try:
        if screen:
            screen.__enter__()
        while True:
            now = time.monotonic()
            if args.count and states >= args.count:
                return 0
            if deadline is not None and now >= deadline:
                if not watcher.connected.is_set() and attempts:
                    raise MoodEdgeError(f"cannot reach the broker at {where}: no answer in {now - started:.0f} s "
                                        f"({attempts} attempts)", field="--broker", expected="a running MQTT broker")
                if args.count:
                    why = "" if states or not watcher.connected.is_set() else _NOTHING_CAME
                    print(f"mood-edge watch: timed out after {args.timeout:g} s with {states} of "
                          f"{args.count} state message(s){why}", file=sys.stderr)
                    return 1
                return 0
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
                                        field="--broker", expected=_LOGIN_HINT if not cfg.mqtt.username
                                        and not resolve_credentials(cfg.mqtt, "--broker")[0] else "valid credentials")
                if kind == "unreachable":
                    attempts += 1
                    status = f"no broker at {where} ({clean(detail, 120)}); retrying with backoff, attempt {attempts}"
                    if screen:
                        screen.status = status
                        screen.draw()
                    else:
                        log.warning("%s", status)
                    continue
                if screen:
                    screen.connected = kind == "connected"
                    screen.status = "" if screen.connected else screen.status
                    if kind == "disconnected":
                        screen.note(f"lost the broker ({detail}); reconnecting")
                    screen.draw()
                elif kind == "disconnected":
                    log.warning("lost the broker at %s (%s); reconnecting", where, detail)
                continue
            if isinstance(item, ReceivedState):
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
