"""The TV page as the Pi serves it: `install.sh --with-broker` lays it down, mosquitto serves it.

install.sh runs for real under a temporary root (``--prefix --dry-run``: files are laid down,
system steps only printed), then a real mosquitto runs the conf.d/mood-edge.conf it installed
(ports and /etc paths rewritten into the temporary root). A headless Chromium opens
``http://127.0.0.1:<ws port>/`` with no URL parameters, as a TV pointed at ``http://pi.local:9001/``
would, and must find the page, its mqtt.js and the broker on that same port.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from mqtt_helpers import MOSQUITTO, free_port, let_mosquitto_read, shipped_conf_on, start_mosquitto  # noqa: E402
from test_web_display import ARTIFACTS, CHROMIUM, NODE, Browser, Publisher, only, sel, state  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "systemd" / "install.sh"
USER_SH = ROOT / "systemd" / "mosquitto" / "mood-edge-user.sh"

pytestmark = [
    pytest.mark.skipif(not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd")
                       or not shutil.which("openssl"), reason="needs Debian's mosquitto, mosquitto_passwd, openssl"),
]
needs_browser = pytest.mark.skipif(NODE is None or not Path(CHROMIUM).exists(),
                                   reason="needs node and Chromium to drive a browser")


@pytest.fixture(scope="module")
def pi():
    """The broker exactly as install.sh --with-broker leaves it, with one display user."""
    root = Path(tempfile.mkdtemp(prefix="mood-edge-pi-"))
    run = subprocess.run(["bash", str(INSTALL), "--prefix", str(root), "--dry-run", "--with-broker"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    etc = root / "etc/mosquitto/mood-edge"
    if not (etc / "web/vendor/mqtt.min.js").is_file():
        pytest.fail("install.sh found no mqtt.js offline: run `npm --prefix displays ci` (tools/test.sh does)\n"
                    + run.stdout + run.stderr)
    subprocess.run([str(USER_SH), "--dir", str(etc), "add", "display", "tv", "tv-secret"], check=True,
                   capture_output=True, text=True)
    plain, tls, ws = free_port(), free_port(), free_port()
    conf = etc / "test.conf"
    conf.write_text(shipped_conf_on((root / "etc/mosquitto/conf.d/mood-edge.conf").read_text(), etc, plain, tls, ws))
    let_mosquitto_read(etc)
    log = open(root / "mosquitto.log", "w+")
    proc = start_mosquitto(conf, (plain, tls, ws), log, "the installed config")
    proc.etc, proc.plain, proc.ws, proc.install_log = etc, plain, ws, run.stdout
    # the daemon's own broker login, as install.sh made it (its password is the unit's credential)
    proc.local_password = (root / "etc/mood-edge/mqtt-password").read_text().strip()
    yield proc
    proc.terminate()
    proc.wait(10)
    log.close()
    shutil.rmtree(root, ignore_errors=True)


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def test_install_tells_where_the_tv_page_is(pi):
    assert re.search(r"the TV page: http://\S+:9001/", pi.install_log)


def test_the_broker_port_serves_the_page_and_its_mqtt_js(pi):
    status, body = get(pi.ws, "/")
    assert status == 200 and b"<title>Room mood" in body
    status, js = get(pi.ws, "/vendor/mqtt.min.js")
    assert status == 200 and js == (pi.etc / "web/vendor/mqtt.min.js").read_bytes() and len(js) > 100_000
    assert get(pi.ws, "/app.js") == (200, (ROOT / "displays/web/app.js").read_bytes())


@pytest.mark.parametrize("path", ["/../passwd-displays", "/..%2fpasswd-displays", "/%2e%2e/passwd",
                                  "/../certs/server.key", "/vendor/../../acl"])
def test_the_password_files_next_to_the_page_are_never_served(pi, path):
    status, body = get(pi.ws, path)
    assert status == 404 and b"tv" not in body and b"PRIVATE KEY" not in body


@needs_browser
def test_a_tv_opening_the_broker_port_asks_for_the_display_login_then_shows_the_mood(pi):
    pub = Publisher(pi.plain, "mood-edge-local", pi.local_password)  # the daemon on the Pi: loopback
    pub("mood-edge/livingroom/availability", "online")
    pub("mood-edge/livingroom/state", state("livingroom", mood="happy"))
    browser = Browser()
    try:
        browser.send("open", url=f"http://127.0.0.1:{pi.ws}/", width=1920, height=1080)
        browser.wait("!document.getElementById('login').hidden")
        snap = browser.send("snapshot")
        assert f"ws://127.0.0.1:{pi.ws} asks for a display login" in snap["login"]
        browser.send("screenshot", path=str(ARTIFACTS / "web-served-login.png"))
        browser.send("fill", selector="#login-user", value="tv")
        browser.send("fill", selector="#login-pass", value="tv-secret")
        browser.send("click", selector="#login button")
        browser.wait(f"{sel('livingroom')} && {sel('livingroom')}.dataset.mood === 'happy'")
        pub("mood-edge/livingroom/state", state("livingroom", mood="sad", confidence=0.7))
        browser.wait(f"{sel('livingroom')}.dataset.mood === 'sad'")
        snap = browser.send("snapshot")
        d = only(snap, "livingroom")
        assert (d["word"], d["status"], snap["connState"]) == ("Sad", "Live", "connected")
        assert d["wordFontPx"] >= 100  # style.css applied although mosquitto sends no Content-Type
        assert snap["problems"] == [] and snap["login"] is None
        browser.send("screenshot", path=str(ARTIFACTS / "web-served-1920x1080.png"))
    finally:
        browser.close()
        pub.close()
