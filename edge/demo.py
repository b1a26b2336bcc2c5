"""``mood-edge demo``: the whole appliance on one machine, with nothing installed.

An embedded MQTT broker (amqtt; demo only — use mosquitto for real), the daemon on the bundled
sample clip, and a subscriber that prints what a display would receive.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import queue
import socket
import tempfile
import threading
import time

from . import config as config_mod
from .errors import MoodEdgeError
from .paths import sample_clip

log = logging.getLogger("edge.demo")

SUMMARY = "run the daemon on the bundled sample clip with an embedded broker and print what displays see"
DESCRIPTION = """\
Starts an embedded MQTT broker (amqtt, from `pip install .[demo]`) on a free loopback port, runs the
daemon on the bundled sample clip (samples/living-room.mp4: public-domain faces, close up and on
a sofa 3-3.5 m away)
and prints every message a display subscribed to mood-edge/# would receive. No camera and no broker
are needed. Stops after --seconds (default 30) or Ctrl-C."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=30.0, help="how long to run (default: 30)")
    p.add_argument("--camera", metavar="SOURCE", default=None,
                   help="frame source instead of the sample clip (same syntax as `run --camera`)")
    p.add_argument("--config", metavar="PATH", help="TOML config to start from")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedBroker:
    """amqtt running on its own asyncio loop in a background thread."""

    def __init__(self, port: int) -> None:
        self.port = port
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

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        try:
            from amqtt.broker import Broker  # noqa: PLC0415 - demo-only dependency
        except ImportError as exc:
            raise MoodEdgeError("amqtt is not installed", expected="`pip install .[demo]`") from exc
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = Broker(config)
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


def main(args: argparse.Namespace) -> int:
    from .daemon import Daemon  # noqa: PLC0415 - keep --help fast
    from .watch import Availability, State, Watcher, plain_line  # noqa: PLC0415

    for noisy in ("amqtt", "transitions", "edge.paho"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = config_mod.load(args.config)
    source = args.camera or f"file:{sample_clip()}"
    config_mod.set_value(cfg, "camera.source", source, origin="--camera")
    cfg.camera.loop = True
    port = _free_port()
    broker = EmbeddedBroker(port)
    broker.start()
    cfg.mqtt.broker = f"mqtt://127.0.0.1:{port}"
    cfg.mqtt.device_id = "demo"
    cfg.mqtt.heartbeat_s = 10.0
    cfg.mood.nobody_after_s = 2.0  # the clip's empty room lasts 3 s: show the "nobody" state
    state = tempfile.TemporaryDirectory(prefix="mood-edge-demo-")
    cfg.daemon.state_dir = state.name
    print(f"mood-edge demo: embedded broker on 127.0.0.1:{port}, camera {source}, running {args.seconds:.0f}s")
    print("what a display subscribed to mood-edge/# receives:\n")
    watcher = Watcher(cfg, "all")
    watcher.start()
    printing = threading.Event()

    def show() -> None:
        while not printing.is_set():
            try:
                event = watcher.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(event, (State, Availability)):
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
        broker.stop()
        state.cleanup()
    print(f"\n{daemon.frames} frames in {elapsed:.1f}s ({daemon.frames / max(elapsed, 1e-9):.1f} frames/s, "
          f"paced to the clip's {cfg.camera.fps:g} fps)")
    return 0
