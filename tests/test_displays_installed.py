"""Every display the docs name connects to a Pi set up by ``install.sh --with-broker``, the documented way.

install.sh runs for real under a temporary root (``--prefix --dry-run --with-broker``: files laid
down, system steps printed). A real mosquitto then runs the conf.d/mood-edge.conf it installed
(ports and /etc paths rewritten into that root; the TLS listener on every address, as on the Pi), and
the daemon runs as mood-edge.service would: ``mood-edge run --config /etc/mood-edge/config.toml``
as user mood-edge-local, its password handed over as the systemd credential (only the Pi camera is
replaced by the sample clip). Then, each as docs/displays.md and the installer's closing lines say:

- ``mood-edge watch -c /etc/mood-edge/config.toml`` on the Pi, as root and as a member of the group
  that may read the installer's watch-login (no password on any command line);
- ``mood-edge watch --broker mqtts://laptop@<the Pi's address>:8883 --ca-file ca.crt`` from elsewhere,
  with a service user added by ``mood-edge-user.sh add service laptop``;
- a display user (``mood-edge-user.sh add display tv``) on the websockets listener that serves the page;
- Home Assistant (``add service homeassistant``) over TLS with the installed ca.crt, by the Pi's name and
  by its address: a real TLS handshake that checks the certificate's names.
"""

from __future__ import annotations

import grp
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from mqtt_helpers import MOSQUITTO, Subscriber, free_port, let_mosquitto_read, shipped_conf_on, start_mosquitto  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "systemd" / "install.sh"
CLIP = ROOT / "samples" / "living-room.mp4"

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd")
                                or not shutil.which("openssl"),
                                reason="needs Debian's mosquitto, mosquitto_passwd and openssl")


def this_hosts_address() -> str | None:
    """An IPv4 address of this machine other than loopback (what `hostname -I` lists first)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return next((a for a in out if re.fullmatch(r"[0-9.]+", a) and not a.startswith("127.")), None)


@dataclass
class Pi:
    root: Path
    etc: Path  # /etc/mosquitto/mood-edge
    conf: Path  # /etc/mood-edge/config.toml
    plain: int
    tls: int
    ws: int
    broker_log: str
    install_log: str
    passwords: dict[str, str]
    address: str
    device: str

    @property
    def ca(self) -> Path:
        return self.etc / "certs" / "ca.crt"


def add_user(etc: Path, kind: str, name: str) -> str:
    """``sudo /opt/mood-edge/bin/mood-edge-user.sh add KIND NAME``, as docs/displays.md says: it
    prints a generated password once."""
    run = subprocess.run([str(etc.parents[2] / "opt/mood-edge/bin/mood-edge-user.sh"), "--dir", str(etc),
                          "add", kind, name], capture_output=True, text=True, timeout=60, check=True)
    return re.search(r"^password: (\S+)$", run.stdout, re.M).group(1)


@pytest.fixture(scope="module")
def pi():
    root = Path(tempfile.mkdtemp(prefix="mood-edge-installed-"))
    address = this_hosts_address()
    run = subprocess.run(["bash", str(INSTALL), "--prefix", str(root), "--dry-run", "--with-broker"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    etc = root / "etc/mosquitto/mood-edge"
    if address is None:  # no LAN address here: name one the documented way (loopback's 127.0.0.2)
        address = "127.0.0.2"
        subprocess.run([str(root / "opt/mood-edge/bin/make-certs.sh"), "--dir", str(etc / "certs"), address],
                       check=True, capture_output=True, text=True)
    passwords = {name: add_user(etc, kind, name) for kind, name in
                 (("display", "tv"), ("service", "homeassistant"), ("service", "laptop"))}
    plain, tls, ws = free_port(), free_port(), free_port()
    conf = etc / "test.conf"
    text = shipped_conf_on((root / "etc/mosquitto/conf.d/mood-edge.conf").read_text(), etc, plain, tls, ws)
    conf.write_text(text.replace(f"listener {tls} 127.0.0.1", f"listener {tls}"))  # every address, as on the Pi
    let_mosquitto_read(etc)
    # the Pi's config, on this test's port instead of 1883
    config = root / "etc/mood-edge/config.toml"
    config.write_text(config.read_text().replace('"mqtt://localhost:1883"', f'"mqtt://localhost:{plain}"'))
    for d in (root, root / "etc", config.parent):
        d.chmod(0o755)
    log = open(root / "mosquitto.log", "w+")
    broker = start_mosquitto(conf, (plain, tls, ws), log, "the installed config")
    # the daemon as mood-edge.service runs it, with local-broker.conf's user and credential
    credentials = Path(tempfile.mkdtemp(prefix="mood-edge-credentials-"))
    shutil.copy(root / "etc/mood-edge/mqtt-password", credentials / "mqtt-password")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config), "--camera", f"file:{CLIP}", "--loop",
         "--state-dir", str(root / "var/lib/mood-edge")], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(root / "daemon.log", "w"),
        env={**os.environ, "MOOD_EDGE_MQTT_USERNAME": "mood-edge-local", "CREDENTIALS_DIRECTORY": str(credentials),
             "PYTHONUNBUFFERED": "1"})
    try:
        ha = Subscriber(plain, ["mood-edge/+/state"], username="mood-edge-watch",
                        password=re.search(r'password = "(\S+)"', (config.parent / "watch-login").read_text())[1])
        try:
            first = ha.wait_for("mood-edge/+/state", timeout=120)
        except TimeoutError:
            pytest.fail("the installed daemon published no state:\n" + (root / "daemon.log").read_text()[-3000:])
        finally:
            ha.close()
        log.seek(0)
        yield Pi(root, etc, config, plain, tls, ws, log.read(), run.stdout, passwords, address,
                 first.topic.split("/")[1])
    finally:
        daemon.terminate()
        daemon.wait(30)
        broker.terminate()
        broker.wait(10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(credentials, ignore_errors=True)


#: ``mood-edge watch`` as user nobody with these groups: Python starts as root (its interpreter may sit
#: under /root), loads all of mood-edge (a checkout may be a 0700 clone nobody cannot read, where an
#: install is readable by all), then drops to nobody before it reads any config or login
AS_NOBODY = """
import os, sys, ssl, tomllib, encodings.idna, pkgutil, importlib, edge
for module in pkgutil.walk_packages(edge.__path__, "edge.", onerror=lambda name: None):
    try:
        module.name.endswith("__main__") or importlib.import_module(module.name)
    except Exception:
        pass
import edge.__main__
groups = [int(g) for g in sys.argv[1].split(",") if g]
os.setgroups(groups); os.setgid(65534); os.setuid(65534)
sys.exit(edge.__main__.main(sys.argv[2:]))
"""


def watch(*args: str, groups: list[str] | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``mood-edge watch ARGS --plain --count 1``; with ``groups``, as user nobody in those groups."""
    argv = ["watch", *args, "--plain", "--count", "1", "--timeout", "60"]
    cmd = [sys.executable, "-m", "edge", *argv] if groups is None else \
        [sys.executable, "-c", AS_NOBODY, ",".join(str(grp.getgrnam(g).gr_gid) for g in groups), *argv]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})


def test_the_shipped_acl_and_config_load_without_warnings(pi):
    assert "warning" not in pi.broker_log.lower(), pi.broker_log


def test_the_installer_says_how_to_connect_each_display(pi):
    closing = pi.install_log.split("connect the displays", 1)[1]
    for words in ("mood-edge watch -c /etc/mood-edge/config.toml", "usermod -aG mood-edge",
                  "add display tv", ":9001/", "add service homeassistant", "port 8883", "ca.crt",
                  "add service laptop", "--ca-file", "make-certs.sh"):
        assert words in closing, words


def test_watch_on_the_pi_as_root_uses_the_installers_login(pi):
    r = watch("-c", str(pi.conf))
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^{pi.device}: mood=", r.stdout, re.M), r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_watch_on_the_pi_as_a_member_of_the_group_and_not_otherwise(pi):
    login = pi.conf.parent / "watch-login"
    group = "users"  # stands in for group mood-edge (install.sh: chgrp mood-edge, mode 0640)
    os.chown(login, 0, grp.getgrnam(group).gr_gid)
    assert login.stat().st_mode & 0o777 == 0o640
    r = watch("-c", str(pi.conf), groups=[group])
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^{pi.device}: mood=", r.stdout, re.M)
    outsider = watch("-c", str(pi.conf), groups=[])
    assert outsider.returncode == 2 and "Traceback" not in outsider.stderr
    assert "permission denied" in outsider.stderr and "usermod -aG mood-edge" in outsider.stderr


def test_watch_from_another_machine_with_a_service_user_over_tls(pi):
    r = watch("--broker", f"mqtts://laptop@{pi.address}:{pi.tls}", "--ca-file", str(pi.ca),
              env={"MOOD_EDGE_MQTT_PASSWORD": pi.passwords["laptop"]})
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^{pi.device}: mood=", r.stdout, re.M)
    assert "password" not in r.stderr  # nothing on the command line to warn about


def test_a_display_user_reads_states_on_the_websockets_listener_that_serves_the_page(pi):
    page = urllib.request.urlopen(f"http://127.0.0.1:{pi.ws}/", timeout=10).read()
    assert b"<html" in page.lower()
    got: list[mqtt.MQTTMessage] = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tv", transport="websockets")
    c.username_pw_set("tv", pi.passwords["tv"])
    c.on_connect = lambda c_, u, f, rc, p: c_.subscribe("mood-edge/+/state", qos=1)
    c.on_message = lambda c_, u, m: got.append(m)
    c.connect("127.0.0.1", pi.ws)
    try:
        for _ in range(100):
            c.loop(0.2)
            if got:
                break
        assert got and got[0].topic == f"mood-edge/{pi.device}/state"
    finally:
        c.disconnect()


@pytest.mark.parametrize("how", ["name", "address"])
def test_home_assistant_connects_over_tls_by_name_and_by_address(pi, how):
    """What Home Assistant's MQTT integration does with broker = the Pi, port 8883, user homeassistant
    and the broker certificate ca.crt: TLS that checks the certificate names the host it dialled."""
    host = socket.gethostname() if how == "name" else pi.address
    got: dict[str, bytes] = {}
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="homeassistant")
    c.tls_set(ca_certs=str(pi.ca))
    c.username_pw_set("homeassistant", pi.passwords["homeassistant"])
    c.on_connect = lambda c_, u, f, rc, p: c_.subscribe([("homeassistant/#", 1), ("mood-edge/#", 1)])
    c.on_message = lambda c_, u, m: got.setdefault(m.topic, m.payload)
    c.connect(host, pi.tls)
    try:
        for _ in range(100):
            c.loop(0.2)
            if f"mood-edge/{pi.device}/state" in got and any(t.endswith("/config") for t in got):
                break
        assert f"mood-edge/{pi.device}/state" in got, list(got)
        assert any(t.startswith(f"homeassistant/sensor/mood_edge_{pi.device}") for t in got), list(got)
    finally:
        c.disconnect()
