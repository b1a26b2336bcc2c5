"""systemd/mosquitto/: the shipped broker config, run for real.

A real mosquitto runs the shipped ``mood-edge.conf`` (ports and paths rewritten into a temporary
copy, listeners bound to loopback), with TLS certificates from ``make-certs.sh`` and users made by
``mood-edge-user.sh`` (password on stdin, as its docs advise). Real paho clients then show what the
ACL allows: a device writes only under its own name, a display only reads.

Absence of a message is shown without waiting for a timeout: MQTT v5 brokers answer a refused
QoS 1 publish with reason code "Not authorized", and a permitted "sentinel" message published
after it must reach the observer first-in-first-out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

sys.path.insert(0, str(Path(__file__).parent))
from mqtt_helpers import MOSQUITTO, Subscriber, free_port, let_mosquitto_read, shipped_conf_on, start_mosquitto, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BROKER_DIR = ROOT / "systemd" / "mosquitto"
NOT_AUTHORIZED = 0x87
#: PUBACK "success" and "no matching subscribers": the broker let it through
ALLOWED = (0x00, 0x10)

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd")
                                or not shutil.which("openssl"),
                                reason="needs Debian's mosquitto, mosquitto_passwd and openssl")


@dataclass
class Broker:
    dir: Path
    plain: int
    tls: int
    ws: int
    proc: subprocess.Popen
    ca: Path


def _user(etc: Path, kind: str, name: str, password: str) -> None:
    subprocess.run([str(BROKER_DIR / "mood-edge-user.sh"), "--dir", str(etc), "--password-stdin", "add", kind, name],
                   input=password + "\n", check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def broker() -> Broker:
    etc = Path(tempfile.mkdtemp(prefix="mood-edge-broker-"))
    for name in ("acl", "acl-displays"):
        shutil.copy(BROKER_DIR / name, etc / name)
    shutil.copytree(ROOT / "displays" / "web", etc / "web")  # the 9001 listener's http_dir
    subprocess.run([str(BROKER_DIR / "make-certs.sh"), "--dir", str(etc / "certs")], check=True,
                   capture_output=True, text=True)
    _user(etc, "device", "livingroom", "lr-secret")
    _user(etc, "device", "kitchen", "k-secret")
    _user(etc, "display", "wall", "wall-secret")
    _user(etc, "display", "tv", "tv-secret")
    _user(etc, "service", "homeassistant", "ha-secret")
    _user(etc, "service", "mood-edge-local", "local-secret")  # the daemon on the Pi (install.sh makes it)
    plain, tls, ws = free_port(), free_port(), free_port()
    conf = etc / "mood-edge.conf"
    conf.write_text(shipped_conf_on((BROKER_DIR / "mood-edge.conf").read_text(), etc, plain, tls, ws, log_all=True))
    let_mosquitto_read(etc)
    log = (Path(tempfile.mkdtemp(prefix="mood-edge-broker-log-")) / "mosquitto.log").open("w+")
    proc = start_mosquitto(conf, (plain, tls, ws), log, "the shipped config")
    yield Broker(etc, plain, tls, ws, proc, etc / "certs" / "ca.crt")
    proc.terminate()
    proc.wait(10)
    log.close()
    shutil.rmtree(etc, ignore_errors=True)


class Client:
    """A real paho MQTT v5 client that records CONNACK and PUBACK reason codes."""

    def __init__(self, port: int, *, username: str | None = None, password: str | None = None,
                 ca: Path | None = None, websockets: bool = False) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"acl-test-{time.time_ns()}",
                                  protocol=mqtt.MQTTv5, transport="websockets" if websockets else "tcp")
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.connack: ReasonCode | None = None
        self.pubacks: dict[int, ReasonCode] = {}
        self._cond = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.connect("localhost" if ca else "127.0.0.1", port)
        self.client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self.connack is not None, timeout=15)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._cond:
            self.connack = reason_code
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            self.pubacks[mid] = reason_code
            self._cond.notify_all()

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure

    def publish(self, topic: str, payload: str, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._cond:
            assert self._cond.wait_for(lambda: info.mid in self.pubacks, timeout=15), "no PUBACK"
            return self.pubacks[info.mid]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def clients():
    made: list[Client] = []

    def make(*args, **kwargs) -> Client:
        c = Client(*args, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def observer(broker):
    """Home Assistant on the Pi, on the loopback listener: it may read every mood-edge topic."""
    sub = Subscriber(broker.plain, ["mood-edge/#", "homeassistant/#"], username="homeassistant", password="ha-secret")
    yield sub
    sub.close()


def _published(sub: Subscriber, topic: str, sentinel_from: Client, sentinel_topic: str) -> list[bytes]:
    """Messages seen on ``topic`` once a later sentinel from ``sentinel_from`` has arrived."""
    marker = f"sentinel-{time.time_ns()}"
    assert sentinel_from.publish(sentinel_topic, marker).value == 0
    sub.wait_for(sentinel_topic, lambda m: m.payload == marker.encode())
    return [m.payload for m in sub.on(topic)]


def test_the_shipped_config_starts_three_listeners(broker):
    for port in (broker.plain, broker.tls, broker.ws):
        wait_port(port)
    assert broker.proc.poll() is None


def test_a_device_publishes_its_own_state_over_tls(broker, clients, observer):
    device = clients(broker.tls, username="livingroom", password="lr-secret", ca=broker.ca)
    assert device.accepted
    assert device.publish("mood-edge/livingroom/state", '{"mood": "happy"}', retain=True).value == 0
    msg = observer.wait_for("mood-edge/livingroom/state")
    assert msg.payload == b'{"mood": "happy"}'


def test_a_device_cannot_publish_under_another_device(broker, clients, observer):
    device = clients(broker.tls, username="livingroom", password="lr-secret", ca=broker.ca)
    assert device.publish("mood-edge/kitchen/state", '{"mood": "spoofed"}').value == NOT_AUTHORIZED
    seen = _published(observer, "mood-edge/kitchen/state", device, "mood-edge/livingroom/availability")
    assert seen == []


def test_a_device_may_announce_only_its_own_home_assistant_entities(broker, clients, observer):
    device = clients(broker.tls, username="kitchen", password="k-secret", ca=broker.ca)
    own = "homeassistant/sensor/mood_edge_kitchen/mood/config"
    other = "homeassistant/sensor/mood_edge_livingroom/mood/config"
    assert device.publish(own, "{}").value == 0
    assert device.publish(other, "{}").value == NOT_AUTHORIZED
    assert _published(observer, other, device, "mood-edge/kitchen/availability") == []
    assert observer.on(own)


def test_a_display_reads_states_over_websockets(broker, clients, observer):
    device = clients(broker.tls, username="livingroom", password="lr-secret", ca=broker.ca)
    display_sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, transport="websockets",
                              client_id=f"acl-display-{time.time_ns()}")
    display_sub.username_pw_set("wall", "wall-secret")
    got: list[bytes] = []
    cond = threading.Condition()
    subscribed = threading.Event()

    def on_message(client, userdata, msg) -> None:
        with cond:
            got.append(msg.payload)
            cond.notify_all()

    display_sub.on_connect = lambda c, u, f, rc, p: c.subscribe("mood-edge/+/state", qos=1)
    display_sub.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    display_sub.on_message = on_message
    display_sub.connect("127.0.0.1", broker.ws)
    display_sub.loop_start()
    try:
        assert subscribed.wait(15)
        assert device.publish("mood-edge/livingroom/state", '{"mood": "sad"}').value == 0
        with cond:
            assert cond.wait_for(lambda: b'{"mood": "sad"}' in got, timeout=15), got
    finally:
        display_sub.loop_stop()
        display_sub.disconnect()


def test_a_display_can_publish_nothing_but_votes(broker, clients, observer):
    display = clients(broker.ws, username="wall", password="wall-secret", websockets=True)
    assert display.accepted
    for topic in ("mood-edge/livingroom/state", "mood-edge/wall/state", "mood-edge/livingroom/availability",
                  "mood-edge/livingroom/feedback/result", "mood-edge/livingroom/feedback/x",
                  "mood-edge/feedback", "homeassistant/sensor/mood_edge_wall/mood/config",
                  "homeassistant/button/mood_edge_livingroom/film_up/config", "homeassistant/status"):
        assert display.publish(topic, "spoofed").value == NOT_AUTHORIZED, topic
    device = clients(broker.tls, username="livingroom", password="lr-secret", ca=broker.ca)
    seen = _published(observer, "#", device, "mood-edge/livingroom/availability")
    assert b"spoofed" not in seen


def test_display_credentials_do_not_open_the_device_listener(broker, clients):
    display_on_tls = clients(broker.tls, username="wall", password="wall-secret", ca=broker.ca)
    assert not display_on_tls.accepted


def test_a_wrong_password_is_refused(broker, clients):
    assert not clients(broker.tls, username="livingroom", password="wrong", ca=broker.ca).accepted


def test_anonymous_clients_are_refused_off_loopback(broker, clients):
    assert not clients(broker.tls, ca=broker.ca).accepted
    assert not clients(broker.ws, websockets=True).accepted


def test_the_tls_listener_presents_a_certificate_signed_by_the_made_ca(broker):
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{broker.tls}",
                          "-CAfile", str(broker.ca), "-verify_return_error", "-servername", "localhost"],
                         input="", capture_output=True, text=True, timeout=30)
    assert "Verify return code: 0 (ok)" in out.stdout


def test_a_display_may_vote_on_any_devices_picks(broker, clients, observer):
    display = clients(broker.ws, username="tv", password="tv-secret", websockets=True)
    vote = '{"film": "heat-1995", "vote": "up"}'
    assert display.publish("mood-edge/livingroom/feedback", vote).value == 0
    assert observer.wait_for("mood-edge/livingroom/feedback").payload == vote.encode()


def test_home_assistant_may_vote_and_the_daemon_may_announce_the_vote_buttons(broker, clients):
    ha = clients(broker.plain, username="homeassistant", password="ha-secret")
    assert ha.publish("mood-edge/livingroom/feedback", '{"pick": 1, "vote": "down"}').value in ALLOWED
    assert ha.publish("mood-edge/livingroom/state", "spoofed").value == NOT_AUTHORIZED
    local = clients(broker.plain, username="mood-edge-local", password="local-secret")
    assert local.publish("homeassistant/button/mood_edge_livingroom/film_up/config", "{}").value in ALLOWED
    assert local.publish("mood-edge/livingroom/feedback/result", '{"ok": true}').value in ALLOWED
    device = clients(broker.tls, username="kitchen", password="k-secret", ca=broker.ca)
    assert device.publish("homeassistant/button/mood_edge_kitchen/film_up/config", "{}").value in ALLOWED
    assert device.publish("homeassistant/button/mood_edge_livingroom/film_up/config", "{}").value == NOT_AUTHORIZED
