"""Several real brokers for the bridge tests: a house mosquitto (TLS for bridges, the shipped house
ACL) and room mosquittos whose bridge block is written by the real ``mood-edge bridge``, plus a
TCP pass-through whose link can be cut like a pulled cable (it stops carrying bytes; nobody is
told), standing in for the house network. The pass-through is network, not broker: every MQTT
byte is the real brokers'."""

from __future__ import annotations

import calendar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mqtt_helpers import Subscriber, free_port, start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
BROKER_DIR = ROOT / "systemd" / "mosquitto"


class Link:
    """A TCP pass-through from a free local port to ``target``; :meth:`cut` makes it carry nothing
    (data is read and dropped, no FIN or RST: the ends learn only from their keep-alives)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.up = threading.Event()
        self.up.set()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listen()

    def _listen(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def refuse(self) -> None:
        """Refuse new connections, as a host whose broker is stopped does. (Accepting and then
        closing, as a proxy with no backend would, sends mosquitto 2.0.11's TLS bridge into a busy
        loop: eclipse/mosquitto#2594, fixed in 2.0.15.)"""
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it (close alone does not)
        except OSError:
            pass
        self._server.close()

    def accept_again(self) -> None:
        self._listen()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)  # the pumps block until data or close, however quiet the link
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.up.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.up.clear()

    def mend(self) -> None:
        """Carry bytes again; connections made across the cut are closed (their streams lost bytes)."""
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.up.set()

    def close(self) -> None:
        self.refuse()
        self.mend()


def passwd_file(path: Path, users: dict[str, str]) -> None:
    """A mosquitto password file with these users (passwords on stdin, not argv)."""
    path.touch()
    for name, password in users.items():
        subprocess.run(["mosquitto_passwd", str(path), name], input=f"{password}\n{password}\n",
                       check=True, capture_output=True, text=True)


class House:
    """The house broker: TLS listener for the rooms' bridges, plain loopback listener for observers;
    one password file and the shipped house ACL (systemd/mosquitto/house-acl) on both; persistence
    on, as on a real house broker, so a restart keeps retained states and the bridges' sessions."""

    def __init__(self, users: dict[str, str]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mood-edge-house-"))
        subprocess.run([str(BROKER_DIR / "make-certs.sh"), "--dir", str(self.dir / "certs")], check=True,
                       capture_output=True, text=True)
        self.ca = self.dir / "certs" / "ca.crt"
        passwd_file(self.dir / "passwd", users)
        shutil.copy(BROKER_DIR / "house-acl", self.dir / "acl")
        self.tls, self.plain = free_port(), free_port()
        certs = self.dir / "certs"
        (self.dir / "data").mkdir()
        self.conf = self.dir / "house.conf"
        self.conf.write_text(
            "user root\nper_listener_settings false\nallow_anonymous false\n"
            f"password_file {self.dir / 'passwd'}\nacl_file {self.dir / 'acl'}\n"
            f"persistence true\npersistence_location {self.dir / 'data'}/\nautosave_interval 1\n"
            f"log_dest file {self.dir / 'house.log'}\nlog_type all\n"
            f"listener {self.tls} 127.0.0.1\ncafile {self.ca}\ncertfile {certs / 'server.crt'}\n"
            f"keyfile {certs / 'server.key'}\ntls_version tlsv1.2\n"
            f"listener {self.plain} 127.0.0.1\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "House":
        log = (self.dir / "start.log").open("w+")
        self.proc = start_mosquitto(self.conf, (self.tls, self.plain), log, "the house config")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        p = self.dir / "house.log"
        return p.read_text(errors="replace") if p.exists() else ""


class Room:
    """A room's own mosquitto (a plain loopback listener for its daemon and displays) with the bridge
    block written by ``mood-edge bridge --write`` in its conf.d, pointed at the house through ``link``."""

    def __init__(self, device: str, area: str, house: House, link: Link, password: str, keepalive_s: int) -> None:
        self.device, self.area = device, area
        self.dir = Path(tempfile.mkdtemp(prefix=f"mood-edge-room-{device}-"))
        self.port = free_port()
        confd = self.dir / "conf.d"
        self.config = self.dir / "config.toml"
        self.config.write_text(f'[mqtt]\ndevice_id = "{device}"\n[daemon]\narea = "{area}"\n')
        self.bridge_conf = confd / "mood-edge-bridge.conf"
        self.written = subprocess.run(
            [sys.executable, "-m", "edge", "bridge", "--config", str(self.config), "--to",
             f"mqtts://127.0.0.1:{link.port}", "--user", device, "--cafile", str(house.ca), "--password-stdin",
             "--keepalive", str(keepalive_s), "--write", str(self.bridge_conf)],
            input=password + "\n", capture_output=True, text=True, cwd=ROOT, check=True)
        self.conf = self.dir / "room.conf"
        self.conf.write_text(f"user root\nlistener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                             f"log_dest file {self.dir / 'room.log'}\nlog_type all\ninclude_dir {confd}\n")
        self.proc: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None

    def start(self) -> "Room":
        log = (self.dir / "start.log").open("w+")
        self.proc = start_mosquitto(self.conf, (self.port,), log, f"room {self.device}")
        return self

    def daemon_config(self) -> Path:
        """The sample clip, looped, at a few frames a second with the cheapest detector: two daemons
        share the CI machine's two cores with three brokers."""
        p = self.dir / "daemon.toml"
        p.write_text(
            f"[camera]\nsource = \"file:{ROOT / 'samples' / 'living-room.mp4'}\"\nloop = true\nfps = 4\n"
            "width = 640\nheight = 480\n[detector]\nkind = \"blazeface\"\n[model]\nnum_threads = 1\n"
            "[mood]\ndwell_s = 0.3\n[mqtt]\n"
            f"broker = \"mqtt://127.0.0.1:{self.port}\"\ndevice_id = \"{self.device}\"\n"
            "heartbeat_s = 1.0\nreconnect_min_s = 1\nreconnect_max_s = 2\n"
            f"[recommend]\nseed = {sum(map(ord, self.device))}\n[daemon]\narea = \"{self.area}\"\nstate_dir = \"{self.dir / 'state'}\"\n")
        (self.dir / "state").mkdir(exist_ok=True)
        return p

    def start_daemon(self) -> subprocess.Popen:
        log = (self.dir / "daemon.log").open("w")
        self.daemon = subprocess.Popen([sys.executable, "-m", "edge", "run", "--config", str(self.daemon_config())],
                                       stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self.daemon

    def stop(self) -> None:
        for p in (self.daemon, self.proc):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def daemon_log(self) -> str:
        p = self.dir / "daemon.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""


class Rooms:
    """The house broker and one bridged room per entry of ``areas`` (device id -> area), each with
    its daemon started, and subscribers on the house (as ``homeassistant``) and in every room.
    ``passwords`` holds each room's bridge password and Home Assistant's."""

    def __init__(self, passwords: dict[str, str], areas: dict[str, str], keepalive_s: int) -> None:
        self.house = House(passwords).start()
        self.links = {d: Link(self.house.tls) for d in areas}
        self.rooms = {d: Room(d, areas[d], self.house, self.links[d], passwords[d], keepalive_s).start()
                      for d in areas}
        self.seen = Subscriber(self.house.plain, ["mood-edge/#", "mood-edge-bridge/+", "homeassistant/#"],
                               username="homeassistant", password=passwords["homeassistant"])
        self.local = {d: Subscriber(r.port, ["mood-edge/#", "mood-edge-bridge/+", "homeassistant/#"])
                      for d, r in self.rooms.items()}
        for room in self.rooms.values():
            room.start_daemon()

    def wait_for_states(self, timeout: float = 60) -> None:
        """Until every room's state reached the house; the daemons' logs in the error if not."""
        try:
            for d in self.rooms:
                self.seen.wait_for(f"mood-edge/{d}/state", timeout=timeout)
        except TimeoutError:
            logs = "\n".join(f"--- {d}\n{r.daemon_log()}" for d, r in self.rooms.items())
            raise AssertionError("the daemons' states never reached the house:\n" + logs) from None

    def close(self) -> None:
        for s in (self.seen, *self.local.values()):
            s.close()
        for r in self.rooms.values():
            r.stop()
        for link in self.links.values():
            link.close()
        self.house.stop()


def updated_after(t_wall: float):
    """A predicate: a state message written at or after wall-clock time ``t_wall`` (its ``updated``)."""
    def check(m) -> bool:
        try:
            stamp = json.loads(m.payload)["updated"]
        except (ValueError, KeyError, TypeError):
            return False
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) >= int(t_wall)
    return check
