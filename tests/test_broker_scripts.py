"""systemd/mosquitto/make-certs.sh and mood-edge-user.sh against bad arguments (issue 15), and the
loopback-only drop-in that install.sh --with-broker adds. Real openssl and mosquitto_passwd."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROKER_DIR = ROOT / "systemd" / "mosquitto"
MAKE_CERTS = BROKER_DIR / "make-certs.sh"
USER_SH = BROKER_DIR / "mood-edge-user.sh"
DROPIN = ROOT / "systemd" / "mood-edge.service.d" / "local-broker.conf"

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")


def make_certs(certs: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(MAKE_CERTS), "--dir", str(certs), *args], capture_output=True, text=True,
                          timeout=60)


def pubkey(path: Path, kind: str) -> str:
    cmd = ["openssl", "x509", "-noout", "-pubkey", "-in"] if kind == "crt" else ["openssl", "pkey", "-pubout", "-in"]
    return subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=True).stdout


def snapshot(certs: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(certs.iterdir())}


@pytest.fixture
def certs(tmp_path) -> Path:
    d = tmp_path / "certs"
    assert make_certs(d).returncode == 0
    return d


def test_a_host_name_with_a_port_is_refused_with_a_message_and_nothing_changes(certs):
    before = snapshot(certs)
    run = make_certs(certs, "broker.lan:8883")
    assert run.returncode == 2
    assert "'broker.lan:8883' is not a host name or IP address" in run.stderr
    assert snapshot(certs) == before


@pytest.mark.parametrize("name", ["https://broker.lan", "a b", "x-", "bad_name!", "broker..lan"])
def test_other_non_names_are_refused(certs, name):
    run = make_certs(certs, name)
    assert run.returncode == 2 and "is not a host name or IP address" in run.stderr


def test_ipv6_addresses_and_names_go_into_the_certificate(certs):
    assert make_certs(certs, "broker.lan", "fe80::1", "192.168.1.5").returncode == 0
    san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(certs / "server.crt")],
                         capture_output=True, text=True, check=True).stdout
    assert "DNS:broker.lan" in san and "IP Address:FE80:0:0:0:0:0:0:1" in san.upper().replace(
        "IP ADDRESS", "IP Address") and "IP Address:192.168.1.5" in san


def test_an_openssl_failure_is_shown_and_leaves_the_old_matching_pair(certs):
    before = snapshot(certs)
    (certs / "ca.key").write_text("not a key\n")  # the CA is kept, so signing fails
    run = make_certs(certs)
    assert run.returncode != 0
    assert "openssl x509 failed" in run.stderr and "files in" in run.stderr
    assert len(run.stderr.splitlines()) > 1  # openssl's own messages follow
    after = snapshot(certs)
    assert after["server.key"] == before["server.key"] and after["server.crt"] == before["server.crt"]
    assert pubkey(certs / "server.crt", "crt") == pubkey(certs / "server.key", "key")
    assert not [p for p in certs.iterdir() if p.name.startswith(".make-certs")]  # no scratch left behind


def test_a_bad_days_value_is_refused_before_anything_is_made(tmp_path):
    run = make_certs(tmp_path / "certs", "--days", "ten")
    assert run.returncode == 2 and "--days" in run.stderr
    assert not (tmp_path / "certs" / "server.key").exists()


def test_install_remakes_a_key_and_certificate_that_do_not_match(tmp_path):
    install = ROOT / "systemd" / "install.sh"

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(install), "--prefix", str(tmp_path), "--dry-run", "--with-broker"],
                              capture_output=True, text=True, timeout=120)

    assert run().returncode == 0
    certs = tmp_path / "etc/mosquitto/mood-edge/certs"
    other = tmp_path / "other"
    assert make_certs(other).returncode == 0
    shutil.copy(other / "server.key", certs / "server.key")  # a half-made pair
    second = run()
    assert second.returncode == 0, second.stderr
    assert "kept the TLS certificates" not in second.stdout
    assert pubkey(certs / "server.crt", "crt") == pubkey(certs / "server.key", "key")


def test_install_with_broker_limits_the_daemon_to_loopback(tmp_path):
    install = ROOT / "systemd" / "install.sh"
    run = subprocess.run(["bash", str(install), "--prefix", str(tmp_path), "--dry-run", "--with-broker"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    installed = tmp_path / "etc/systemd/system/mood-edge.service.d/local-broker.conf"
    assert installed.read_text() == DROPIN.read_text()
    lines = [x.strip() for x in DROPIN.read_text().splitlines() if not x.startswith("#")]
    assert "IPAddressDeny=any" in lines and "IPAddressAllow=localhost" in lines
    gone = subprocess.run(["bash", str(install), "--prefix", str(tmp_path), "--dry-run", "--uninstall",
                           "--with-broker"], capture_output=True, text=True, timeout=120)
    assert gone.returncode == 0 and not installed.exists()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_drop_in(tmp_path):
    unit = tmp_path / "mood-edge.service"
    text = (ROOT / "systemd" / "mood-edge.service").read_text()
    exec_line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    unit.write_text(text.replace(exec_line, f"ExecStart={shutil.which('true')}"))
    (tmp_path / "mood-edge.service.d").mkdir()
    shutil.copy(DROPIN, tmp_path / "mood-edge.service.d" / "local-broker.conf")
    run = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                         capture_output=True, text=True, timeout=120)
    line = next((x for x in (run.stdout + run.stderr).splitlines() if "IPAddressDeny=" in x), "")
    assert "only localhost entries" in line, run.stdout + run.stderr


# ------------------------------------------------------------------ mood-edge-user.sh


def spy_on_mosquitto_passwd(tmp_path: Path) -> tuple[dict, Path]:
    """PATH with a mosquitto_passwd that records its argv, then runs the real one."""
    real = shutil.which("mosquitto_passwd")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv.log"
    spy = bin_dir / "mosquitto_passwd"
    spy.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{log}"\nexec "{real}" "$@"\n')
    spy.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="needs mosquitto_passwd")
def test_a_password_from_stdin_never_reaches_a_command_line_and_logs_in(tmp_path):
    import paho.mqtt.client as mqtt

    from mqtt_helpers import Mosquitto

    env, argv_log = spy_on_mosquitto_passwd(tmp_path)
    import tempfile
    etc = Path(tempfile.mkdtemp(prefix="mood-edge-users-")) / "etc"  # mosquitto drops root: not under tmp_path
    password = "pw-only-on-stdin-7731"
    run = subprocess.run(["sh", str(USER_SH), "--dir", str(etc), "--password-stdin", "add", "device", "kitchen"],
                         input=password + "\n", capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert password not in argv_log.read_text() and password not in run.stdout + run.stderr
    (etc / "passwd").chmod(0o644)
    etc.chmod(0o755)
    etc.parent.chmod(0o755)
    b = Mosquitto(anonymous=False, extra_conf=f"password_file {etc / 'passwd'}\n").start()
    try:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pw-check")
        c.username_pw_set("kitchen", password)
        c.connect("127.0.0.1", b.port)
        assert c.loop_misc() == 0 and c.loop(5) == 0 and c.is_connected()
        c.disconnect()
    finally:
        b.stop()
        shutil.rmtree(etc.parent, ignore_errors=True)


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="needs mosquitto_passwd")
def test_a_password_as_an_argument_still_works_with_a_warning_and_stays_off_mosquitto_passwds_argv(tmp_path):
    env, argv_log = spy_on_mosquitto_passwd(tmp_path)
    run = subprocess.run(["sh", str(USER_SH), "--dir", str(tmp_path / "etc"), "add", "display", "wall", "argv-pw-55"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "warning" in run.stderr and "--password-stdin" in run.stderr
    assert "argv-pw-55" not in argv_log.read_text()


@pytest.mark.parametrize("name", ["evil\nhomeassistant", "kitchen\n", "a/b", "", "x" * 65])
def test_a_user_name_that_is_not_one_topic_level_is_refused(tmp_path, name):
    run = subprocess.run(["sh", str(USER_SH), "--dir", str(tmp_path / "etc"), "add", "device", name, "pw"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "must be 1-64 letters" in run.stderr
    assert not (tmp_path / "etc" / "passwd").exists()


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="needs mosquitto_passwd")
def test_each_user_added_gets_its_read_rules_as_a_user_block_and_loses_them_when_removed(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("acl", "acl-displays"):
        shutil.copy(BROKER_DIR / name, etc / name)
    shipped = {name: (etc / name).read_text() for name in ("acl", "acl-displays")}

    def user(*args: str) -> None:
        subprocess.run(["sh", str(USER_SH), "--dir", str(etc), "--password-stdin", *args], input="pw\n",
                       check=True, capture_output=True, text=True, timeout=60)

    user("add", "display", "tv")
    user("add", "service", "laptop")
    user("add", "device", "kitchen")
    user("add", "service", "homeassistant")  # the shipped acl has its block already
    displays, acl = (etc / "acl-displays").read_text(), (etc / "acl").read_text()
    assert "user tv\ntopic read mood-edge/#\ntopic read homeassistant/#\n" in displays
    assert "user laptop\ntopic read mood-edge/#\n" in acl
    assert "user kitchen\ntopic read homeassistant/status\n" in acl
    assert acl.count("user homeassistant\n") == 1
    for name, kind in (("tv", "display"), ("laptop", "service"), ("kitchen", "device")):
        subprocess.run(["sh", str(USER_SH), "--dir", str(etc), "remove", kind, name], check=True,
                       capture_output=True, text=True, timeout=60)
    assert {name: (etc / name).read_text() for name in ("acl", "acl-displays")} == shipped
