"""A throw-away PKI made with the ``openssl`` CLI, and a mosquitto that requires TLS and a password.

``make_pki(dir)`` writes a CA, a server certificate for 127.0.0.1 / localhost (subjectAltName) signed
by it, and a second, unrelated CA (for the "wrong CA" case). ``SecureMosquitto`` runs a real
mosquitto with a TLS listener and a password file made by ``mosquitto_passwd``; anonymous clients
are refused on every listener.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from mqtt_helpers import Mosquitto, Subscriber, free_port, wait_port

OPENSSL = shutil.which("openssl")
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    #: a CA that did not sign the server certificate
    other_ca: Path


def _openssl(*args: str) -> None:
    assert OPENSSL, "openssl is not installed"
    subprocess.run([OPENSSL, *args], check=True, capture_output=True)


def _ca(dir: Path, name: str) -> tuple[Path, Path]:
    key, crt = dir / f"{name}.key", dir / f"{name}.crt"
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-sha256", "-days", "2", "-subj", f"/CN=mood-edge test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", str(key), "-out", str(crt))
    return crt, key


def make_pki(dir: Path) -> Pki:
    dir.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _ca(dir, "ca")
    other_ca, _ = _ca(dir, "other-ca")
    key, csr, crt = dir / "server.key", dir / "server.csr", dir / "server.crt"
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256",
             "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    ext = dir / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "2", "-sha256", "-extfile", str(ext), "-out", str(crt))
    for p in dir.iterdir():  # mosquitto drops to its own user before it reads them
        p.chmod(0o644)
    return Pki(ca=ca, server_cert=crt, server_key=key, other_ca=other_ca)


class SecureMosquitto(Mosquitto):
    """mosquitto with a TLS listener (``tls_port``) next to its plain loopback one (``port``);
    both require a user from ``users``."""

    def __init__(self, pki: Pki, users: dict[str, str]) -> None:
        self.pki = pki
        self.tls_port = free_port()
        super().__init__(anonymous=False)
        self.dir.chmod(0o755)
        passwd = self.dir / "passwd"
        for i, (user, password) in enumerate(users.items()):
            subprocess.run([MOSQUITTO_PASSWD, "-b", *(["-c"] if i == 0 else []), str(passwd), user, password],
                           check=True, capture_output=True)
        passwd.chmod(0o644)
        self.extra_conf = (f"password_file {passwd}\n"
                           f"listener {self.tls_port} 127.0.0.1\n"
                           f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
                           "require_certificate false\n")
        self.tls_url = f"mqtts://127.0.0.1:{self.tls_port}"

    def start(self) -> "SecureMosquitto":
        super().start()
        wait_port(self.tls_port)
        return self


class SecureSubscriber(Subscriber):
    """:class:`Subscriber` over TLS (verifying against ``ca``) with a username and password."""

    def __init__(self, broker: SecureMosquitto, topics: list[str], username: str, password: str) -> None:
        self.messages = []
        self._cond = threading.Condition()
        self._topics = topics
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-tls-sub-{time.time_ns()}")
        self.client.tls_set(ca_certs=str(broker.pki.ca))
        self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: [c.subscribe(t, qos=1) for t in self._topics]
        self.client.connect("127.0.0.1", broker.tls_port)
        self.client.loop_start()


def secure_broker_dir() -> Path:
    """A folder mosquitto can read after dropping privileges (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="mood-edge-pki-"))
    d.chmod(0o755)
    return d
