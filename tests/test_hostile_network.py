"""Hostile clients against the shipped broker config and the daemon (issue 15).

A real mosquitto runs ``systemd/mosquitto/mood-edge.conf`` (the fixture of test_mosquitto_acl.py:
shipped ACLs, certificates from make-certs.sh, users from mood-edge-user.sh). Real paho clients
play the attacker: another user taking over a device's client id, oversized and retained
messages, floods. Every check waits for a broker round trip, never for a timeout to pass.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from edge.config import MqttConfig  # noqa: E402
from edge.mqtt.client import MAX_INCOMING_BYTES, MAX_INCOMING_QOS2  # noqa: E402
from edge.mqtt.publish import CLIENT_ID_FILE, Publisher, private_client_id  # noqa: E402
from mqtt_helpers import Mosquitto  # noqa: E402
from test_mosquitto_acl import BROKER_DIR, Client, broker, clients, observer  # noqa: E402,F401 - fixtures


class Session:
    """A paho client with a chosen client id that counts its connects and disconnects."""

    def __init__(self, port: int, client_id: str, *, username: str | None = None, password: str | None = None,
                 ca: Path | None = None, websockets: bool = False, protocol=mqtt.MQTTv311) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                                  transport="websockets" if websockets else "tcp")
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.connects = 0
        self.disconnects = 0
        self.connack = None
        self._cond = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.connect("localhost" if ca else "127.0.0.1", port)
        self.client.loop_start()
        with self._cond:
            assert self._cond.wait_for(lambda: self.connack is not None, timeout=15), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._cond:
            self.connack = reason_code
            self.connects += 0 if reason_code.is_failure else 1
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._cond:
            self.disconnects += 1
            self._cond.notify_all()

    def round_trip(self, topic: str) -> None:
        """A QoS 1 publish acknowledged by the broker: the connection is alive now."""
        info = self.client.publish(topic, "ping", qos=1)
        info.wait_for_publish(15)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def sessions():
    made: list[Session] = []

    def make(*args, **kwargs) -> Session:
        s = Session(*args, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# ------------------------------------------------------------------ 1. client-id takeover


@pytest.mark.parametrize("stolen_id", ["mood-edge-kitchen", "kitchen"])
def test_a_display_with_a_devices_client_id_cannot_disconnect_the_device(broker, sessions, stolen_id):
    device = sessions(broker.tls, "mood-edge-kitchen", username="kitchen", password="k-secret", ca=broker.ca)
    display = sessions(broker.ws, stolen_id, username="wall", password="wall-secret", websockets=True)
    assert not display.connack.is_failure
    device.round_trip("mood-edge/kitchen/availability")
    assert (device.connects, device.disconnects) == (1, 0)


def test_another_device_with_a_devices_client_id_cannot_disconnect_it(broker, sessions):
    device = sessions(broker.tls, "mood-edge-kitchen", username="kitchen", password="k-secret", ca=broker.ca)
    sessions(broker.tls, "mood-edge-kitchen", username="livingroom", password="lr-secret", ca=broker.ca)
    device.round_trip("mood-edge/kitchen/availability")
    assert (device.connects, device.disconnects) == (1, 0)


def test_the_daemons_client_id_is_not_derived_from_its_device_id_alone(tmp_path):
    client_id = private_client_id("kitchen", tmp_path)
    assert client_id.startswith("mood-edge-kitchen-") and len(client_id) > len("mood-edge-kitchen-") + 8
    assert private_client_id("kitchen", tmp_path) == client_id  # kept across restarts
    assert (tmp_path / CLIENT_ID_FILE).stat().st_mode & 0o077 == 0
    assert private_client_id("kitchen", None) != private_client_id("kitchen", None)


def test_a_display_using_the_old_predictable_id_cannot_disconnect_the_daemon_on_loopback(broker, sessions,
                                                                                        tmp_path):
    pub = Publisher(MqttConfig(broker=f"mqtt://127.0.0.1:{broker.plain}", device_id="kitchen",
                               username="mood-edge-local", password="local-secret",
                               reconnect_min_s=1, reconnect_max_s=1), state_dir=tmp_path)
    pub.start()
    try:
        assert pub.wait_connected(15)
        sessions(broker.ws, "mood-edge-kitchen", username="wall", password="wall-secret", websockets=True)
        info = pub.client.publish(pub.availability_topic, "online", qos=1, retain=True)
        info.wait_for_publish(15)
        assert info.is_published()
        assert (pub.stats.connects, pub.stats.disconnects) == (1, 0)
    finally:
        pub.stop()


# ------------------------------------------------------------------ 2. message sizes


def _own_publisher(port: int, tmp_path: Path, got: list[bytes]) -> Publisher:
    pub = Publisher(MqttConfig(broker=f"mqtt://127.0.0.1:{port}", device_id="kitchen",
                               reconnect_min_s=1, reconnect_max_s=1), state_dir=tmp_path)
    pub.subscribe("homeassistant/status", lambda topic, payload: got.append(bytes(payload)))
    pub.start()
    assert pub.wait_connected(15)
    return pub


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.02)


def test_the_daemon_throws_away_an_oversized_retained_message_unread_and_stays_connected(tmp_path):
    from mqtt_helpers import Mosquitto  # a broker without the shipped size limit: the daemon must hold alone
    b = Mosquitto().start()
    got: list[bytes] = []
    try:
        attacker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="attacker")
        attacker.connect("127.0.0.1", b.port)
        attacker.loop_start()
        attacker.publish("homeassistant/status", b"x" * (MAX_INCOMING_BYTES + 1024), qos=1,
                         retain=True).wait_for_publish(15)
        pub = _own_publisher(b.port, tmp_path, got)
        try:
            _wait_for(lambda: pub.stats.oversized == 1, "the retained message (so the subscription is on)")
            attacker.publish("homeassistant/status", b"online", qos=1).wait_for_publish(15)
            _wait_for(lambda: b"online" in got, "the birth message after the oversized one")
            assert [len(p) for p in got] == [len(b"online")]
            assert pub.stats.oversized == 1
            assert (pub.stats.connects, pub.stats.disconnects) == (1, 0)
        finally:
            pub.stop()
            attacker.loop_stop()
    finally:
        b.stop()


def test_a_message_just_under_the_limit_still_arrives(tmp_path):
    from mqtt_helpers import Mosquitto
    b = Mosquitto().start()
    got: list[bytes] = []
    try:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="big-but-fine")
        c.connect("127.0.0.1", b.port)
        c.loop_start()
        c.publish("homeassistant/status", b"y" * (MAX_INCOMING_BYTES - 1024), qos=1, retain=True).wait_for_publish(15)
        c.loop_stop()
        pub = _own_publisher(b.port, tmp_path, got)
        try:
            _wait_for(lambda: got, "the message")
            assert len(got[0]) == MAX_INCOMING_BYTES - 1024 and pub.stats.oversized == 0
        finally:
            pub.stop()
    finally:
        b.stop()


def test_the_shipped_broker_refuses_a_message_over_its_packet_limit(broker, sessions, observer):
    device = sessions(broker.tls, "x", username="livingroom", password="lr-secret", ca=broker.ca)
    device.client.publish("mood-edge/livingroom/state", b"z" * (MAX_INCOMING_BYTES + 1024), qos=1, retain=True)
    with device._cond:
        assert device._cond.wait_for(lambda: device.disconnects >= 1, timeout=15), "not disconnected"
    kitchen = Client(broker.tls, username="kitchen", password="k-secret", ca=broker.ca)
    try:
        assert kitchen.publish("mood-edge/kitchen/state", "sentinel").value == 0
        observer.wait_for("mood-edge/kitchen/state", lambda m: m.payload == b"sentinel")
        assert all(len(m.payload) < MAX_INCOMING_BYTES for m in observer.on("mood-edge/livingroom/state"))
    finally:
        kitchen.close()


def test_the_shipped_broker_config_bounds_packets_and_memory():
    conf = (BROKER_DIR / "mood-edge.conf").read_text()
    limits = dict(line.split(None, 1) for line in conf.splitlines()
                  if line.startswith(("max_packet_size ", "memory_limit ")))
    assert int(limits["max_packet_size"]) == MAX_INCOMING_BYTES
    assert 0 < int(limits["memory_limit"]) <= 256 * 1024 * 1024


# ------------------------------------------------------------------ 3. floods


def test_a_flood_of_birth_messages_is_one_re_announce_and_one_log_line(tmp_path, own_broker, subscriber_factory):
    from daemon_helpers import astronaut_folder, daemon_cmd, fast_config, start_daemon
    from plugins.daemon_log import DaemonLog, stop_daemon

    log = DaemonLog(tmp_path / "daemon.log")
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", own_broker.url, "flooded",
                     tmp_path / "state", "--loop")
    log.proc = proc = start_daemon(cmd, log_path=log.path)
    states = subscriber_factory(own_broker.port, ["mood-edge/flooded/state"])
    states.wait_for("mood-edge/flooded/state")
    ha = subscriber_factory(own_broker.port, ["homeassistant/sensor/mood_edge_flooded/+/config"])
    ha.wait_for("homeassistant/sensor/mood_edge_flooded/mood/config")  # the retained copies are in
    attacker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flooder")
    attacker.connect("127.0.0.1", own_broker.port)
    attacker.loop_start()
    try:
        for _ in range(1000):
            attacker.publish("homeassistant/status", b"online", qos=0)
        attacker.publish("homeassistant/status", b"online", qos=1).wait_for_publish(30)
        log.wait_for(r"Home Assistant came online", timeout=60)
        states.clear()
        states.wait_for("mood-edge/flooded/state")  # still running, still publishing
    finally:
        attacker.loop_stop()
        attacker.disconnect()
        assert stop_daemon(proc) == 0
    fresh = [m for m in ha.on("homeassistant/sensor/mood_edge_flooded/+/config") if not m.retain]
    assert len(log.matching(r"Home Assistant came online")) == 1
    assert len(fresh) <= 4  # one re-announce: one payload per entity


class NeverReleasingBroker:
    """Speaks just enough MQTT to accept a client, then sends QoS 2 publishes it never releases
    (no PUBREL), and finally a QoS 0 "done" on homeassistant/status."""

    def __init__(self, count: int) -> None:
        import socket
        self.count = count
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _packet(header: int, body: bytes) -> bytes:
        n, length = len(body), bytearray()
        while True:
            byte, n = n % 128, n // 128
            length.append(byte | (128 if n else 0))
            if not n:
                return bytes([header]) + bytes(length) + body

    @staticmethod
    def _read(conn) -> tuple[int, bytes]:
        def exactly(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise EOFError
                data += chunk
            return data
        header = exactly(1)[0]
        length, mult = 0, 1
        while True:
            b = exactly(1)[0]
            length += (b & 127) * mult
            mult *= 128
            if not b & 128:
                return header, exactly(length)

    def _publish(self, qos: int, mid: int, payload: bytes) -> bytes:
        topic = b"homeassistant/status"
        body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"") + payload
        return self._packet(0x30 | qos << 1, body)

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        try:
            self._read(conn)  # CONNECT
            conn.sendall(b"\x20\x02\x00\x00")
            while True:
                header, body = self._read(conn)
                if header >> 4 == 8:  # SUBSCRIBE
                    conn.sendall(self._packet(0x90, body[:2] + b"\x01"))
                    break
            conn.sendall(b"".join(self._publish(2, 1 + i, b"offline") for i in range(self.count)))
            conn.sendall(self._publish(0, 0, b"done"))
            while True:
                self._read(conn)
        except (EOFError, OSError):
            pass


def test_qos2_publishes_a_broker_never_releases_are_bounded(tmp_path):
    hostile = NeverReleasingBroker(count=MAX_INCOMING_QOS2 * 10)
    got: list[bytes] = []
    pub = _own_publisher(hostile.port, tmp_path, got)
    try:
        _wait_for(lambda: b"done" in got, "the QoS 0 message after the QoS 2 flood")
        assert len(pub.client._in_messages) == MAX_INCOMING_QOS2
        assert pub.client.qos2_forgotten == MAX_INCOMING_QOS2 * 9
    finally:
        pub.stop()


# ------------------------------------------------------------------ 7. watch, the ACL


def test_watch_shows_infinite_and_huge_numbers_as_warnings_for_the_right_device():
    from edge.mqtt.messages import ReceivedState, parse_message

    inf = parse_message("mood-edge", "mood-edge/kitchen/state", b'{"schema":1,"mood":"happy","faces":Infinity}')
    assert isinstance(inf, ReceivedState) and inf.device == "kitchen" and inf.faces is None
    assert any("faces" in w for w in inf.warnings)
    huge = parse_message("mood-edge", "mood-edge/kitchen/state",
                         b'{"schema":1,"mood":"happy","faces":' + b"9" * 4000 + b',"confidence":-3,'
                         b'"recommendations":[{"title":"Up","year":' + b"9" * 4000 + b',"runtime":-5}]}')
    assert isinstance(huge, ReceivedState) and huge.faces is None and huge.confidence is None
    assert huge.films[0].year is None and huge.films[0].runtime is None
    assert all(len(w) < 120 for w in huge.warnings) and len(huge.warnings) == 2


def test_watch_keeps_its_queue_bounded_under_a_flood():
    from edge.config import Config
    from edge.commands.watch import MAX_QUEUED, Watcher

    # the broker must drop none of the flood whatever the machine's speed (mosquitto's own default
    # keeps 1,000 QoS 1 messages for a subscriber that falls behind): only the watcher's bound is tested
    b = Mosquitto(extra_conf="max_queued_messages 0").start()
    try:
        cfg = Config()
        cfg.mqtt.broker = b.url
        w = Watcher(cfg, "all")
        w.start()
        try:
            assert w.connected.wait(15)
            w.events.get(timeout=15)  # the "connected" news
            flood = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="watch-flooder")
            flood.connect("127.0.0.1", b.port)
            flood.loop_start()
            total = MAX_QUEUED * 2  # QoS 1 all the way: the broker may drop none of them
            sent = [flood.publish("mood-edge/kitchen/availability", b"online", qos=1) for _ in range(total)]
            for info in sent:
                info.wait_for_publish(30)
            _wait_for(lambda: w.events.qsize() + w.dropped >= total, "the flood to arrive", timeout=180)
            assert w.events.qsize() == MAX_QUEUED and w.dropped == total - MAX_QUEUED
            flood.loop_stop()
            flood.disconnect()
        finally:
            w.stop()
    finally:
        b.stop()


def test_the_local_daemon_user_may_write_only_sensor_discovery_and_mood_edge(broker, clients, observer):
    local = clients(broker.plain, username="mood-edge-local", password="local-secret")
    # allowed: success, or its MQTT 5 variant 0x10 "no matching subscribers"; refused: 0x87 not authorized
    assert not local.publish("homeassistant/sensor/mood_edge_kitchen/mood/config", "{}").is_failure
    assert not local.publish("mood-edge/kitchen/state", "{}").is_failure
    for topic in ("homeassistant/status", "homeassistant/switch/garage/config",
                  "homeassistant/light/kitchen/config", "homeassistant/sensor/x/config/extra"):
        assert local.publish(topic, "spoofed").value == 0x87, topic


def test_the_unit_bounds_memory_and_tasks():
    unit = (Path(__file__).resolve().parent.parent / "systemd" / "mood-edge.service").read_text()
    keys = dict(line.split("=", 1) for line in unit.splitlines() if line.startswith(("MemoryMax=", "TasksMax=")))
    assert keys["MemoryMax"].endswith("M") and 128 <= int(keys["MemoryMax"][:-1]) <= 512
    assert 16 <= int(keys["TasksMax"]) <= 256


@pytest.mark.parametrize("username, password", [("homeassistant", "guess"), ("livingroom", "wrong")])
def test_on_loopback_a_claimed_username_needs_its_password(broker, clients, username, password):
    assert not clients(broker.plain, username=username, password=password).accepted
