"""``mood-edge demo``: the whole appliance on one machine, with nothing installed.

An embedded MQTT broker (amqtt; demo only — use mosquitto for real) with a websockets listener,
the daemon on the bundled sample clip, the TV page (displays/web) served on localhost, and a
subscriber that prints what a display would receive.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import queue
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .. import config as config_mod
from ..errors import MoodEdgeError
from ..paths import data_root, sample_clip

log = logging.getLogger("edge.demo")

SUMMARY = "run the daemon on the bundled sample clip with an embedded broker and print what displays see"
DESCRIPTION = """\
Starts an embedded MQTT broker (amqtt, from `pip install .[demo]`) on a free loopback port, runs the
daemon on the bundled sample clip (samples/living-room.mp4: public-domain faces, close up and on
a sofa 3-3.5 m away)
and prints every message a display subscribed to mood-edge/# would receive. No camera and no broker
are needed. Stops after --seconds (default 30) or Ctrl-C.

The TV page: the broker also listens for MQTT over websockets, the page in displays/web is served
on a free loopback port, and its URL is printed (and opened in your browser when there is one: $BROWSER,
or xdg-open/open in a desktop session; --no-browser never opens it). The page needs mqtt.js in
displays/web/vendor (tools/demo.sh fetches it; or `cd displays && npm ci`); without it the demo says
so in one line and runs in the terminal only."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=30.0, help="how long to run (default: 30)")
    p.add_argument("--camera", metavar="SOURCE", default=None,
                   help="frame source instead of the sample clip (same syntax as `run --camera`)")
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config to start from")
    p.add_argument("--no-browser", action="store_true", help="print the TV page's URL but do not open it")
    p.add_argument("--library", metavar="DIR",
                   help="pick from the films in your movie folder (Kodi/Jellyfin/Emby/Plex), as recommend.library")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_gone(exc: BaseException | None) -> bool:
    """True for the errors a display causes by going away (a closed tab, a reload, a lost Wi-Fi)."""
    if exc is None:
        return False
    try:
        from websockets.exceptions import ConnectionClosed  # noqa: PLC0415 - amqtt's dependency
    except ImportError:  # pragma: no cover - amqtt always brings websockets
        ConnectionClosed = ()  # type: ignore[assignment]  # noqa: N806
    return isinstance(exc, (ConnectionClosed, ConnectionError, TimeoutError, asyncio.IncompleteReadError))


class _OneLine(logging.Handler):
    """The embedded broker's own log: only its errors, one line each, and not a client going away.

    amqtt logs a traceback (and asyncio "Task exception was never retrieved") each time a display
    disconnects while a message is on its way to it; the demo's terminal is for the mood.
    """

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if record.levelno < logging.ERROR or _client_gone(exc):  # per-client chatter: a display left
            return
        if record.exc_info:
            record.msg, record.args = f"{record.getMessage().splitlines()[0][:200]} ({exc!r:.200})", None
            record.exc_info = record.exc_text = None
        logging.getLogger().handle(record)  # on to wherever the demo's log goes

    @classmethod
    def install(cls) -> None:
        """Route amqtt's and websockets' loggers (their children too) through this handler, once."""
        for name in ("amqtt", "websockets"):
            logger = logging.getLogger(name)
            if not any(isinstance(h, cls) for h in logger.handlers):
                logger.addHandler(cls())
            logger.propagate = False


class EmbeddedBroker:
    """amqtt running on its own asyncio loop in a background thread.

    Displays come and go: what their leaving raises inside amqtt's tasks is handled here, on the
    broker's loop and loggers, so the terminal never shows a traceback for it.
    """

    def __init__(self, port: int, ws_port: int | None = None) -> None:
        self.port = port
        self.ws_port = ws_port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise MoodEdgeError(f"the embedded broker did not start: {self._error}",
                                expected="`pip install .[demo]` (amqtt)")

    @staticmethod
    def _on_loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """A task amqtt never awaits failed: a departed client is logged at debug, the rest in one line."""
        exc = context.get("exception")
        if _client_gone(exc):
            log.debug("a display went away: %r", exc)
            return
        log.warning("embedded broker: %s%s", context.get("message", "error"), f" ({exc!r:.200})" if exc else "")

    def _run(self) -> None:
        _OneLine.install()
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        asyncio.get_running_loop().set_exception_handler(self._on_loop_error)
        try:
            from amqtt.broker import Broker  # noqa: PLC0415 - demo-only dependency
        except ImportError as exc:
            raise MoodEdgeError("amqtt is not installed", expected="`pip install .[demo]`") from exc

        class OwnRetainedOnly(Broker):  # type: ignore[misc, valid-type]
            """amqtt 0.12.1 hands a client that connects the retained messages of every topic filter
            ANY client subscribed to, then again for its own subscriptions: a display subscribed to
            .../state got .../availability too, and each retained message twice. Here a client
            gets the retained messages of its own subscriptions only, once, as MQTT says."""

            async def _publish_retained_messages_for_subscription(self, subscription, session):  # type: ignore[no-untyped-def]
                if any(s is session for s, _ in self._subscriptions.get(subscription[0], ())):
                    await super()._publish_retained_messages_for_subscription(subscription, session)
        listeners = {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}}
        if self.ws_port:  # MQTT over websockets, for the TV page
            listeners["ws"] = {"type": "ws", "bind": f"127.0.0.1:{self.ws_port}"}
        config = {
            "listeners": listeners,
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = OwnRetainedOnly(config)
        await broker.start()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await broker.shutdown()

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)


def web_dir() -> Path:
    return data_root() / "displays" / "web"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the terminal view is for the mood, not for requests
        pass


class PageServer:
    """displays/web over HTTP on a loopback port, in a background thread."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="web", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def page_missing(folder: Path) -> str | None:
    """Why the TV page cannot be shown here, or None when it can."""
    if not (folder / "index.html").is_file():
        return f"{folder} not found (the page ships in a source checkout)"
    if not (folder / "vendor" / "mqtt.min.js").is_file():
        return (f"{folder / 'vendor' / 'mqtt.min.js'} is missing: run `python3 displays/fetch_mqtt_js.py` "
                "(needs the npm registry once) or `cd displays && npm ci`")
    return None


def open_browser(url: str) -> str | None:
    """Open ``url`` where a browser is at hand, detached; the command used, or None. Never raises.

    Only $BROWSER or a desktop session counts: on a bare console `webbrowser` might start a text
    browser in this very terminal, on top of the demo's output.
    """
    command: list[str] | None = None
    if os.environ.get("BROWSER"):  # as Python's webbrowser reads it: the first entry, %s for the URL
        first = os.environ["BROWSER"].split(os.pathsep)[0]
        try:
            command = shlex.split(first.replace("%s", url)) if "%s" in first else [first, url]
        except ValueError:
            command = None
    elif sys.platform == "darwin" and shutil.which("open"):
        command = ["open", url]
    elif (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and shutil.which("xdg-open"):
        command = ["xdg-open", url]
    if not command:
        return None
    try:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        log.debug("could not open a browser with %s: %s", command[0], exc)
        return None
    return command[0]


def activate_hint() -> str | None:
    """How to reach the other commands after the demo, when `mood-edge` is not on PATH yet.

    tools/demo.sh installs into .venv-edge and runs from there; a maker then types `mood-edge
    check` and must not get "command not found".
    """
    here = Path(sys.prefix) / "bin" / "mood-edge"
    if sys.prefix == sys.base_prefix or not here.is_file():
        return None  # not in a virtual environment of ours
    found = shutil.which("mood-edge")
    if found and Path(found).resolve() == here.resolve():
        return None  # already on PATH (activated)
    activate = Path(sys.prefix) / "bin" / "activate"
    try:
        shown = activate.relative_to(Path.cwd())
    except ValueError:
        shown = activate
    return (f"the other commands (mood-edge check, watch, bench, run): first `source {shlex.quote(str(shown))}` "
            f"in this shell, or run {shlex.quote(str(here))} directly")


def main(args: argparse.Namespace) -> int:
    from ..mqtt.messages import Availability, ReceivedState  # noqa: PLC0415
    from .daemon import Daemon  # noqa: PLC0415 - keep --help fast
    from .watch import Watcher, plain_line  # noqa: PLC0415

    for noisy in ("amqtt", "transitions", "edge.paho", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = config_mod.load(args.config)
    source = args.camera or f"file:{sample_clip()}"
    config_mod.set_value(cfg, "camera.source", source, origin="--camera")
    cfg.camera.loop = True
    if args.library:
        config_mod.set_value(cfg, "recommend.library", args.library, origin="--library")
    port = _free_port()
    folder = web_dir()
    missing = page_missing(folder)
    ws_port = None if missing else _free_port()
    broker = EmbeddedBroker(port, ws_port)
    broker.start()
    page = None if missing else PageServer(folder)
    cfg.mqtt.broker = f"mqtt://127.0.0.1:{port}"
    cfg.mqtt.device_id = "demo"
    cfg.mqtt.heartbeat_s = 10.0
    cfg.mood.nobody_after_s = 2.0  # the clip's empty room lasts 3 s: show the "nobody" state
    state = tempfile.TemporaryDirectory(prefix="mood-edge-demo-")
    cfg.daemon.state_dir = state.name
    print(f"mood-edge demo: embedded broker on 127.0.0.1:{port}, camera {source}, running {args.seconds:.0f}s")
    if page is None:
        print(f"TV page: not shown, {missing}; carrying on in the terminal")
    else:
        url = f"http://127.0.0.1:{page.port}/?broker=ws://127.0.0.1:{ws_port}&device={cfg.mqtt.device_id}"
        opened = None if args.no_browser else open_browser(url)
        print(f"TV page: {url}" + (f"  (opened with {opened})" if opened else "  (open it in a browser)"))
    print("what a display subscribed to mood-edge/# receives:\n", flush=True)
    watcher = Watcher(cfg, "all")
    watcher.start()
    printing = threading.Event()

    def show() -> None:
        while not printing.is_set():
            try:
                event = watcher.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(event, (ReceivedState, Availability)):
                print(f"{time.strftime('%H:%M:%S')}  {plain_line(event)}", flush=True)

    printer = threading.Thread(target=show, name="display", daemon=True)
    printer.start()
    daemon = Daemon(cfg)
    timer = threading.Timer(args.seconds, daemon.request_stop)
    timer.start()
    t0 = time.monotonic()
    try:
        daemon.run()
    except KeyboardInterrupt:
        daemon.request_stop()
    finally:
        timer.cancel()
        elapsed = time.monotonic() - t0
        time.sleep(0.5)
        printing.set()
        printer.join(2)
        watcher.stop()
        if page is not None:
            page.stop()
        broker.stop()
        state.cleanup()
    print(f"\n{daemon.frames} frames in {elapsed:.1f}s ({daemon.frames / max(elapsed, 1e-9):.1f} frames/s, "
          f"paced to the clip's {cfg.camera.fps:g} fps)")
    hint = activate_hint()
    if hint:
        print(hint)
    return 0
