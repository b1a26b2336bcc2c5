"""Real MQTT for tests: a Debian mosquitto on a free loopback port, and a real paho subscriber."""

from __future__ import annotations

import grp
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


class Mosquitto:
    """A mosquitto process we own; ``extra_conf`` adds lines (TLS, websockets, ACLs)."""

    def __init__(self, port: int | None = None, extra_conf: str = "", anonymous: bool = True) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mosquitto-"))
        self.dir.chmod(0o777)  # run as root, mosquitto drops to its own user and must still write its log
        self.extra_conf = extra_conf
        self.anonymous = anonymous
        self.proc: subprocess.Popen | None = None
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def write_conf(self) -> Path:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self.anonymous else 'false'}\n"
            "persistence false\n"
            f"log_dest file {self.dir / 'mosquitto.log'}\n"
            f"{self.extra_conf}\n"
        )
        return conf

    def start(self) -> "Mosquitto":
        conf = self.write_conf()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        p = self.dir / "mosquitto.log"
        return p.read_text(errors="replace") if p.exists() else ""


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    t: float = field(default_factory=time.monotonic)


class Subscriber:
    """A real paho client that records every message on the topics it was given."""

    def __init__(self, port: int, topics: list[str], host: str = "127.0.0.1", *, username: str | None = None,
                 password: str | None = None) -> None:
        self.messages: list[Message] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{time.time_ns()}")
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self._topics = topics
        self.client.on_connect = lambda c, u, f, rc, p: [c.subscribe(t, qos=1) for t in self._topics]
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        with self._cond:
            self.messages.append(Message(msg.topic, msg.payload, bool(msg.retain)))
            self._cond.notify_all()

    def wait_for(self, topic: str, predicate=lambda m: True, timeout: float = 30.0) -> Message:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if mqtt.topic_matches_sub(topic, m.topic) and predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.topic, m.payload[:80]) for m in self.messages[-10:]]
                    raise TimeoutError(f"no message on {topic} matching within {timeout}s; last seen: {seen}")
                self._cond.wait(left)

    def on(self, topic: str) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if mqtt.topic_matches_sub(topic, m.topic)]

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# ---- the shipped broker config (systemd/mosquitto/mood-edge.conf) on test ports ----------------------

def shipped_conf_on(text: str, etc: Path, plain: int, tls: int, ws: int, *, log_all: bool = False) -> str:
    """The shipped file with test ports, loopback binds and ``etc`` instead of /etc/mosquitto/mood-edge."""
    text = text.replace("/etc/mosquitto/mood-edge", str(etc))
    text = re.sub(r"^listener 1883 127\.0\.0\.1$", f"listener {plain} 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^listener 8883$", f"listener {tls} 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^listener 9001$", f"listener {ws} 127.0.0.1", text, flags=re.M)
    return text + "\npersistence false\nlog_dest stderr\n" + ("log_type all\n" if log_all else "")


def let_mosquitto_read(etc: Path) -> None:
    """As in /etc: root-owned, group mosquitto. Run as root, mosquitto drops to user mosquitto before it
    reads the password files, so the folders must be reachable by that group (what install.sh's
    chgrp/chmod steps do)."""
    if os.geteuid() != 0:
        return
    gid = grp.getgrnam("mosquitto").gr_gid
    for path in (etc, *etc.rglob("*")):
        os.chown(path, 0, gid)
        path.chmod(0o750 if path.is_dir() else 0o640)
    for parent in etc.parents:  # a temporary root above it is 0700
        if parent == Path(tempfile.gettempdir()):
            break
        parent.chmod(0o755)


SHIPPED_BROKER = Path(__file__).resolve().parent.parent / "systemd" / "mosquitto"


def add_broker_user(etc: Path, kind: str, name: str, password: str) -> None:
    """``mood-edge-user.sh add KIND NAME`` with the password on stdin, as its docs advise."""
    subprocess.run([str(SHIPPED_BROKER / "mood-edge-user.sh"), "--dir", str(etc), "--password-stdin", "add", kind,
                    name], input=password + "\n", check=True, capture_output=True, text=True)


def start_shipped_broker(etc: Path, log) -> tuple[subprocess.Popen, int, int, int]:
    """The shipped mood-edge.conf on free loopback ports with the files already in ``etc`` (ACLs,
    users, the web folder); certificates made here. ``(process, plain, tls, websockets port)``."""
    subprocess.run([str(SHIPPED_BROKER / "make-certs.sh"), "--dir", str(etc / "certs")], check=True,
                   capture_output=True, text=True)
    plain, tls, ws = free_port(), free_port(), free_port()
    conf = etc / "mood-edge.conf"
    conf.write_text(shipped_conf_on((SHIPPED_BROKER / "mood-edge.conf").read_text(), etc, plain, tls, ws))
    let_mosquitto_read(etc)
    return start_mosquitto(conf, (plain, tls, ws), log, "the shipped config"), plain, tls, ws


def start_mosquitto(conf: Path, ports: tuple[int, ...], log, what: str) -> subprocess.Popen:
    """mosquitto on ``conf``, once every port answers; its log in the error when it does not start."""
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for port in ports:
            wait_port(port)
    except TimeoutError:
        proc.kill()
        proc.wait()
        log.seek(0)
        raise AssertionError(f"mosquitto did not start with {what}:\n" + log.read()) from None
    return proc


def publish(port: int, topic: str, payload: str | bytes, retain: bool = True, *, username: str | None = None,
            password: str | None = None) -> None:
    """One message (QoS 1, retained unless told), published and acknowledged before it returns."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{time.time_ns()}")
    if username is not None:
        c.username_pw_set(username, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        c.loop_stop()
        c.disconnect()

