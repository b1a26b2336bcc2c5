"""Security: TLS with a verified server certificate, passwords from a file or the environment that
never reach a log, a broker that refuses us, and hostile input on the topics we subscribe to.

Certificates come from the ``openssl`` CLI (tests/tls_helpers.py); the broker is a real mosquitto
that refuses anonymous clients. What the example ACL allows (a device publishes only under its own
topic) is proven by tests/test_mosquitto_acl.py against the shipped broker config, not repeated here.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from daemon_helpers import FAST, astronaut_folder, daemon_cmd, start_daemon
from edge.config import MqttConfig
from edge.mqtt.publish import Publisher
from mqtt_helpers import MOSQUITTO, Mosquitto, free_port
from plugins.daemon_log import DaemonLog, stop_daemon
from plugins.long import figures  # noqa: F401 - fixture, also without the plugin registered
from tls_helpers import MOSQUITTO_PASSWD, OPENSSL, SecureMosquitto, SecureSubscriber, make_pki, secure_broker_dir

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists() or not OPENSSL or not Path(MOSQUITTO_PASSWD).exists(),
                                reason="needs Debian's mosquitto, mosquitto_passwd and openssl")

DEVICE_USER, DEVICE_PASSWORD = "livingroom", "Tr0ub4dor&3-not-in-any-log"
VIEWER_USER, VIEWER_PASSWORD = "viewer", "viewer-password-42"


@pytest.fixture(scope="module")
def pki():
    d = secure_broker_dir()
    yield make_pki(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def secure_broker(pki):
    b = SecureMosquitto(pki, {DEVICE_USER: DEVICE_PASSWORD, VIEWER_USER: VIEWER_PASSWORD}).start()
    yield b
    b.stop()


def secure_config(tmp_path: Path, **mqtt: object) -> Path:
    """The fast test config with extra [mqtt] keys."""
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in mqtt.items())
    p = tmp_path / "config.toml"
    p.write_text(FAST.replace("[mqtt]\n", "[mqtt]\n" + lines))
    return p


def publisher(broker_url: str, **kw: object) -> Publisher:
    cfg = MqttConfig(broker=broker_url, device_id=kw.pop("device_id", "sec"), reconnect_min_s=1, reconnect_max_s=1,
                     **kw)
    return Publisher(cfg)


def wait_until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


# ------------------------------------------------------------------------------------ the daemon


def test_the_daemon_publishes_over_tls_with_a_password_file_and_never_logs_it(tmp_path, secure_broker, pki):
    secret = tmp_path / "mqtt-password"
    secret.write_text(DEVICE_PASSWORD + "\n")
    config = secure_config(tmp_path, ca_file=str(pki.ca), username=DEVICE_USER, password_file=str(secret))
    sub = SecureSubscriber(secure_broker, ["mood-edge/tls/#"], VIEWER_USER, VIEWER_PASSWORD)
    log = DaemonLog(tmp_path / "daemon.log")
    cmd = daemon_cmd(config, f"dir:{astronaut_folder(tmp_path)}", secure_broker.tls_url, "tls", tmp_path / "state",
                     "--loop")
    log.proc = proc = start_daemon([*cmd[:3], "--log-level", "DEBUG", *cmd[3:]], log_path=log.path,
                                   env={"MOOD_EDGE_LOG_CONFIG": "1"})
    try:
        state = json.loads(sub.wait_for("mood-edge/tls/state", lambda m: json.loads(m.payload)["mood"] == "happy",
                                        timeout=60).payload)
        assert state["device"] == "tls"
        assert sub.wait_for("mood-edge/tls/availability").payload == b"online"
        log.wait_for(r"^config: ")  # the effective config was logged, masked
    finally:
        assert stop_daemon(proc) == 0
        sub.close()
    text = log.text()
    assert "(TLS)" in text and "DEBUG" in text
    assert DEVICE_PASSWORD not in text


def test_a_broker_that_refuses_the_credentials_is_retried_and_reported_once(tmp_path, pki, secure_broker):
    """Wrong password: the daemon keeps running and retrying, says so once (not on every retry), and
    connects as soon as the broker accepts the password."""
    config = secure_config(tmp_path, ca_file=str(pki.ca), username="newcomer")
    log = DaemonLog(tmp_path / "daemon.log")
    cmd = daemon_cmd(config, f"dir:{astronaut_folder(tmp_path)}", secure_broker.tls_url, "refused",
                     tmp_path / "state", "--loop")
    log.proc = proc = start_daemon([*cmd[:3], "--log-level", "DEBUG", *cmd[3:]], log_path=log.path,
                                   env={"MOOD_EDGE_MQTT_PASSWORD": "not-yet-known"})
    try:
        log.wait_for(r"refused the connection")
        log.wait_for(r"^MQTT: still broker .* refused", count=3)  # retried, at DEBUG only
        assert proc.poll() is None
        warnings = [line for line in log.lines() if line.level == "WARNING" and "refused" in line.message]
        assert len(warnings) == 1, warnings
        assert "check mqtt.username and the password" in warnings[0].message
        # the admin adds the user: the next retry gets in
        passwd = secure_broker.dir / "passwd"
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), "newcomer", "not-yet-known"], check=True,
                       capture_output=True)
        passwd.chmod(0o644)
        secure_broker.restart()
        log.wait_for(r"^MQTT: connected to .* again")
        sub = SecureSubscriber(secure_broker, ["mood-edge/refused/state"], VIEWER_USER, VIEWER_PASSWORD)
        try:
            assert json.loads(sub.wait_for("mood-edge/refused/state").payload)["device"] == "refused"
        finally:
            sub.close()
    finally:
        assert stop_daemon(proc) == 0
    assert "not-yet-known" not in log.text()


# ------------------------------------------------------------------------------------ the publisher


@pytest.fixture
def debug_logs(caplog):
    """Every log record at DEBUG, paho's own included (logger edge.paho)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def test_a_password_from_the_environment_wins_and_is_not_logged(secure_broker, pki, tmp_path, monkeypatch,
                                                                debug_logs):
    wrong = tmp_path / "stale-password"
    wrong.write_text("an-old-password")
    monkeypatch.setenv("MOOD_EDGE_MQTT_PASSWORD", DEVICE_PASSWORD)
    pub = publisher(secure_broker.tls_url, ca_file=str(pki.ca), username=DEVICE_USER, password_file=str(wrong))
    pub.start()
    try:
        assert pub.wait_connected(20)
    finally:
        pub.stop()
    text = "\n".join(r.getMessage() for r in debug_logs.records)
    assert any(r.name == "edge.paho" for r in debug_logs.records)  # paho's DEBUG lines were captured
    assert DEVICE_PASSWORD not in text and "an-old-password" not in text


def test_a_server_certificate_from_another_ca_is_refused_and_reported_once(secure_broker, pki, debug_logs):
    pub = publisher(secure_broker.tls_url, ca_file=str(pki.other_ca), username=DEVICE_USER, password=DEVICE_PASSWORD)
    pub.start()
    try:
        wait_until(lambda: pub.stats.failures >= 3, what="three failed attempts")
        assert not pub.connected and pub.stats.connects == 0
    finally:
        pub.stop()
    warnings = [r.getMessage() for r in debug_logs.records if r.levelno >= logging.WARNING]
    assert len([w for w in warnings if "certificate verify failed" in w]) == 1, warnings
    assert any("mqtt.ca_file" in w for w in warnings)


def test_tls_insecure_accepts_a_certificate_that_does_not_verify(secure_broker, pki, debug_logs):
    pub = publisher(secure_broker.tls_url, ca_file=str(pki.other_ca), tls_insecure=True, username=DEVICE_USER,
                    password=DEVICE_PASSWORD)
    pub.start()
    try:
        assert pub.wait_connected(20)
    finally:
        pub.stop()
    assert any("NOT verified" in r.getMessage() and r.levelno == logging.WARNING for r in debug_logs.records)


def test_a_plain_connection_to_a_tls_only_port_is_retried_and_explained_once(secure_broker, debug_logs):
    pub = publisher(f"mqtt://127.0.0.1:{secure_broker.tls_port}", username=DEVICE_USER, password=DEVICE_PASSWORD)
    pub.start()
    try:
        wait_until(lambda: pub.stats.failures >= 3, what="three failed attempts")
        assert not pub.connected and pub.client._thread is not None and pub.client._thread.is_alive()
    finally:
        pub.stop()
    warnings = [r.getMessage() for r in debug_logs.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "mqtts:// is TLS" in warnings[0], warnings


class GarbageBroker:
    """A TCP server on a port that answers every connection with random bytes: a hostile or broken
    endpoint where the broker should be."""

    def __init__(self, port: int, seed: int = 9) -> None:
        self.port = port
        self.rng = random.Random(seed)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                try:
                    conn.recv(1024)
                    kind = self.connections % 4
                    if kind == 0:  # a CONNACK-like header claiming a huge remaining length
                        conn.sendall(b"\x20\xff\xff\xff\x7f" + bytes(self.rng.randrange(256) for _ in range(64)))
                    elif kind == 1:  # a CONNACK with a reserved return code
                        conn.sendall(b"\x20\x02\x00\x09")
                    else:
                        conn.sendall(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 2048))))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


def test_garbage_from_where_the_broker_should_be_is_survived_and_a_real_broker_is_used_once_back(
        subscriber_factory):
    port = free_port()
    garbage = GarbageBroker(port)
    pub = publisher(f"mqtt://127.0.0.1:{port}", device_id="hostile")
    pub.start()
    broker = None
    try:
        wait_until(lambda: garbage.connections >= 6, what="six connection attempts to the garbage server")
        assert not pub.connected and pub.client._thread.is_alive()
        garbage.close()
        broker = Mosquitto(port=port).start()
        assert pub.wait_connected(30)
        sub = subscriber_factory(port, ["mood-edge/hostile/availability"])
        assert sub.wait_for("mood-edge/hostile/availability").payload == b"online"
    finally:
        pub.stop()
        garbage.close()
        if broker:
            broker.stop()


# ------------------------------------------------------------------------------------ hostile input


def hostile_payloads(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    fixed = [b"", b"online", b" online\n", b"ONLINE", b"offline", b"\x00" * 100, b"\xff\xfe\xfd", "онлайн".encode(),
             b"online" * 10_000, bytes(range(256)) * 1024, b'{"state": "online"}', b"%s%s%n", b"\n" * 4096]
    out = list(fixed)
    while len(out) < n:
        out.append(bytes(rng.randrange(256) for _ in range(rng.choice([1, 8, 64, 512, 4096]))))
    return out


def test_random_payloads_on_the_home_assistant_birth_topic_cannot_crash_the_daemon(tmp_path, own_broker,
                                                                                   subscriber_factory, figures):
    log = DaemonLog(tmp_path / "daemon.log")
    cmd = daemon_cmd(secure_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", own_broker.url, "target",
                     tmp_path / "state", "--loop")
    log.proc = proc = start_daemon(cmd, log_path=log.path)
    sub = subscriber_factory(own_broker.port, ["mood-edge/target/state"])
    sub.wait_for("mood-edge/target/state")
    payloads = hostile_payloads(2000)
    births = sum(1 for p in payloads if p.strip() == b"online")
    attacker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="attacker")
    attacker.connect("127.0.0.1", own_broker.port)
    attacker.loop_start()
    try:
        for i, payload in enumerate(payloads):
            attacker.publish("homeassistant/status", payload, qos=1, retain=i % 100 == 0).wait_for_publish(10)
        attacker.publish("homeassistant/status", b"online", qos=1).wait_for_publish(10)
        log.wait_for(r"Home Assistant came online", timeout=60)
        sub.clear()
        state = json.loads(sub.wait_for("mood-edge/target/state").payload)  # still publishing
        assert state["device"] == "target" and proc.poll() is None
    finally:
        attacker.loop_stop()
        attacker.disconnect()
        assert stop_daemon(proc) == 0
    assert "Traceback" not in log.text()
    figures("hostile.birth_topic_payloads", len(payloads) + 1)
