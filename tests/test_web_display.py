"""The TV web page in headless Chromium, fed by a real mosquitto over MQTT-over-WebSockets.

The page (displays/web) is served by a local HTTP server; Debian's /usr/bin/chromium is driven by
playwright-core from node (tests/web_display.mjs); messages are published with paho between steps.
Screenshots land in artifacts/web-display-*.png.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import paho.mqtt.client as mqtt
import pytest

from mqtt_helpers import Mosquitto, free_port, wait_port
from state_helpers import state

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "displays" / "web"
DISPLAYS = ROOT / "displays"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (needed to drive Chromium with playwright-core)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt install chromium)"),
]

FILMS_SAD = [
    {"title": "Up", "year": 2009, "genres": ["animation", "adventure"], "runtime": 96, "rating": "PG",
     "family": True, "description": "Balloons.", "reasons": ["animation favoured for sad (lift)"]},
]


class Publisher:
    def __init__(self, port: int, username: str | None = None, password: str | None = None) -> None:
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-web-pub-{port}-{id(self)}")
        if username:
            self.c.username_pw_set(username, password)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def __call__(self, topic: str, payload: str | bytes, retain: bool = True) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


class Browser:
    """tests/web_display.mjs as a subprocess: one JSON command per line, one JSON answer per line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([NODE, str(ROOT / "tests" / "web_display.mjs")], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, "CHROMIUM": CHROMIUM})
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def send(self, cmd: str, timeout: float = 90, **kw):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the browser driver did not answer {cmd!r} in {timeout}s") from None
        if not line:
            raise AssertionError(f"the browser driver died: {self.proc.stderr.read()[-3000:]}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise AssertionError(f"{cmd} failed: {reply['error']}")
        return reply["result"]

    def wait(self, js: str, timeout_ms: int = 30000) -> None:
        self.send("wait", js=js, timeout_ms=timeout_ms, timeout=timeout_ms / 1000 + 30)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("close", timeout=30)
            except AssertionError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def ws_broker():
    wsport = free_port()
    b = Mosquitto(extra_conf=f"listener {wsport} 127.0.0.1\nprotocol websockets\n").start()
    wait_port(wsport)
    b.ws_url = f"ws://127.0.0.1:{wsport}"
    yield b
    b.stop()


@pytest.fixture(scope="module")
def web_url():
    """displays/web over HTTP on a free loopback port, as a TV would load it."""
    if not (WEB / "vendor" / "mqtt.min.js").is_file() or not (DISPLAYS / "node_modules" / "playwright-core").is_dir():
        pytest.fail("displays/ has no node_modules or web/vendor/mqtt.min.js: run `npm --prefix displays ci` "
                    "(tools/test.sh does)")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(WEB)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def pub(ws_broker):
    p = Publisher(ws_broker.port)
    yield p
    p.close()


def page_url(web_url: str, broker_url: str, **params) -> str:
    return f"{web_url}?{urlencode({'broker': broker_url, **params})}"


def sel(device: str) -> str:
    return f'document.querySelector(\'.device[data-device="{device}"]\')'


def only(snap: dict, device: str) -> dict:
    (d,) = [d for d in snap["devices"] if d["device"] == device]
    return d


def test_the_page_shows_the_published_mood_and_films_on_a_1080p_tv(ws_broker, web_url, browser, pub):
    dev = "livingroom"
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1920, height=1080)
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev))
    browser.wait(f"{sel(dev)} && {sel(dev)}.querySelector('.mood-word').textContent === 'Happy'")
    snap = browser.send("snapshot")
    d = only(snap, dev)
    assert (d["mood"], d["word"], d["online"], d["status"]) == ("happy", "Happy", "true", "Live")
    assert d["confidence"] == "82% sure" and d["faces"] == "1 face" and d["face"]
    assert [(f["title"], f["year"], f["runtime"], f["rating"], f["genres"], f["why"]) for f in d["films"]] == [
        ("Paddington 2", "2017", "103 min", "PG", ["comedy", "family"], "comedy favoured for happy (match)"),
        ("Singin' in the Rain", "1952", "103 min", "G", ["musical", "romance"], "musical favoured for happy (match)"),
        ("The Grand Budapest Hotel", "2014", "99 min", "R", ["comedy", "adventure"],
         "comedy favoured for happy (match) · highly rated"),
        ("Amélie", "2001", "122 min", "R", ["comedy", "romance"], "romance favoured for happy (match)"),
        ("Toy Story", "1995", "81 min", "G", ["animation", "comedy", "family"], "animation favoured for happy (match)"),
    ]
    assert snap["connState"] == "connected"
    assert d["wordFontPx"] >= 100  # readable from a sofa
    assert not snap["pageOverflowX"] and not d["overflowX"]
    assert snap["problems"] == []
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-1920x1080.png"))


def test_the_page_updates_live_when_the_mood_changes(ws_broker, web_url, browser, pub):
    dev = "livingroom"  # the page from the previous test is still open
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1920, height=1080)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.mood === 'happy'")
    pub(f"mood-edge/{dev}/state", state(dev, mood="sad", confidence=0.64, faces=2, recommendations=FILMS_SAD))
    browser.wait(f"{sel(dev)}.dataset.mood === 'sad'")
    d = only(browser.send("snapshot"), dev)
    assert (d["word"], d["confidence"], d["faces"]) == ("Sad", "64% sure", "2 faces")
    assert [f["title"] for f in d["films"]] == ["Up"]
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-1920x1080-sad.png"))


def test_the_page_shows_offline_when_availability_says_so(ws_broker, web_url, browser, pub):
    dev = "den"
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1920, height=1080)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.online === 'true' && {sel(dev)}.dataset.mood === 'happy'")
    pub(f"mood-edge/{dev}/availability", "offline")
    browser.wait(f"{sel(dev)}.dataset.online === 'false'")
    d = only(browser.send("snapshot"), dev)
    assert d["status"] == "Offline" and d["offlineNote"]
    assert d["word"] == "Happy"  # the last known mood stays, faded
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-offline.png"))
    pub(f"mood-edge/{dev}/availability", "online")
    browser.wait(f"{sel(dev)}.dataset.online === 'true'")


def test_the_page_fits_a_phone(ws_broker, web_url, browser, pub):
    dev = "phoneroom"
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=390, height=844, mobile=True)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.mood === 'happy'")
    snap = browser.send("snapshot")
    d = only(snap, dev)
    assert not snap["pageOverflowX"] and not d["overflowX"]
    assert len(d["films"]) == 5 and snap["problems"] == []
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-phone.png"), full_page=True)


def test_message_text_is_never_rendered_as_html(ws_broker, web_url, browser, pub):
    dev = "evil"
    title = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>'
    pub(f"mood-edge/{dev}/state", state(dev, mood="<b>x</b>", recommendations=[{**FILMS_SAD[0], "title": title}]))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1280, height=720)
    browser.wait(f"{sel(dev)} && {sel(dev)}.querySelectorAll('.film').length === 1")
    snap = browser.send("snapshot")
    d = only(snap, dev)
    assert d["films"][0]["title"] == title
    assert "<img" not in d["films"][0]["html"] and "&lt;img" in d["films"][0]["html"]
    assert d["word"] == "<b>x</b>" and d["mood"] == "other"
    assert snap["injected"] == 0
    assert browser.send("open", url="about:blank", width=800, height=600)["title"] != "pwned"


def test_a_bad_payload_is_a_warning_and_the_last_state_stays(ws_broker, web_url, browser, pub):
    dev = "glitchy"
    pub(f"mood-edge/{dev}/state", state(dev, mood="neutral"))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1280, height=720)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.mood === 'neutral'")
    pub(f"mood-edge/{dev}/state", b"{not json", retain=False)
    pub(f"mood-edge/{dev}/state", b'["a", "list"]', retain=False)
    browser.wait("!document.getElementById('warning').hidden")
    snap = browser.send("snapshot")
    assert "glitchy: ignored a bad state message" in snap["warning"]
    assert only(snap, dev)["word"] == "Neutral"
    assert not any(p.startswith("pageerror") for p in snap["problems"])


def test_device_all_shows_every_device(ws_broker, web_url, browser, pub):
    for dev, mood in (("allA", "surprise"), ("allB", "nobody")):
        pub(f"allprefix/{dev}/availability", "online")
        pub(f"allprefix/{dev}/state", state(dev, mood=mood, faces=0 if mood == "nobody" else 1,
                                            **({"recommendations": []} if mood == "nobody" else {})))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, prefix="allprefix"), width=1920, height=1080)
    browser.wait("document.querySelectorAll('.device').length === 2")
    browser.wait(f"{sel('allA')}.dataset.mood === 'surprise' && {sel('allB')}.dataset.mood === 'nobody'")
    snap = browser.send("snapshot")
    assert [d["device"] for d in snap["devices"]] == ["allA", "allB"]
    assert [d["word"] for d in snap["devices"]] == ["Surprised", "Nobody here"]
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-all-devices.png"))


def test_a_broker_that_wants_a_login_gets_one_typed_into_the_page_never_from_the_url(web_url, browser):
    wsport = free_port()
    b = Mosquitto(anonymous=False)
    pwfile = b.dir / "passwd"
    pwfile.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "tv", "s3cret"], check=True)
    import pwd
    b.extra_conf = (f"password_file {pwfile}\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
                    f"listener {wsport} 127.0.0.1\nprotocol websockets\n")
    b.start()
    try:
        wait_port(wsport)
        p = Publisher(b.port, "tv", "s3cret")
        p("mood-edge/secure/state", state("secure", mood="fear"))
        p.close()
        # a password in the URL is not used (and the page says so): the login form asks instead
        browser.send("open", url=page_url(web_url, f"ws://127.0.0.1:{wsport}", device="secure",
                                          username="tv", password="s3cret"), width=1280, height=720)
        browser.wait("!document.getElementById('login').hidden")
        snap = browser.send("snapshot")
        assert snap["devices"] == [] and "asks for a display login" in snap["login"]
        assert "password in the URL was ignored" in snap["warning"]
        browser.send("fill", selector="#login-pass", value="wrong")
        browser.send("click", selector="#login button")
        browser.wait("!document.getElementById('login').hidden && "
                     "document.getElementById('login-why').textContent.includes('not accepted')")
        assert "wrong" not in browser.send("snapshot")["conn"]
        browser.send("fill", selector="#login-pass", value="s3cret")  # the user name stayed filled in
        browser.send("click", selector="#login button")
        browser.wait(f"{sel('secure')} && {sel('secure')}.dataset.mood === 'fear'")
        assert only(browser.send("snapshot"), "secure")["word"] == "Afraid"
        browser.send("screenshot", path=str(ARTIFACTS / "web-display-after-login.png"))
        # remembered on this screen: a reload (a TV switched back on) logs in by itself
        browser.send("reload")
        browser.wait(f"{sel('secure')} && {sel('secure')}.dataset.mood === 'fear'")
        assert browser.send("snapshot")["login"] is None
    finally:
        b.stop()
