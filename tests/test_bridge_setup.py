"""Setting up a room's bridge to the house broker (issue 35): ``mood-edge bridge``, ``install.sh
--bridge-to``, and what the daemon tells Home Assistant about a bridged room. The bridge itself,
on real brokers, is tests/test_bridge.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_install import install, ok  # noqa: E402

from edge.config import Config
from edge.mqtt import homeassistant
from edge.mqtt.house_link import BridgeWatcher
from edge.mqtt.messages import Availability, parse_message

ROOT = Path(__file__).resolve().parent.parent


def bridge(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge", "bridge", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def config(tmp_path: Path, device: str = "study", area: str = "Study") -> Path:
    p = tmp_path / "config.toml"
    p.write_text(f'[mqtt]\ndevice_id = "{device}"\n[daemon]\narea = "{area}"\n')
    return p


def test_mood_edge_lists_the_bridge_command_and_its_help_reads_like_a_man_page():
    listed = subprocess.run([sys.executable, "-m", "edge", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert "bridge" in listed.stdout
    page = bridge("--help").stdout
    for words in ("--to", "--user", "--cafile", "--password-stdin", "--write", "exit status", "examples"):
        assert words in page


def test_the_block_is_for_this_device_with_its_topics_both_ways(tmp_path):
    run = bridge("-c", str(config(tmp_path)), "--to", "mqtts://house.lan", "--user", "study", "--cafile",
                 "/etc/house-ca.crt")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for line in ("connection mood-edge-study", "address house.lan:8883", "remote_clientid mood-edge-bridge-study",
                 "remote_username study", "cleansession false", "try_private true", "notifications true",
                 "notification_topic mood-edge-bridge/study", "topic mood-edge/study/# out 1",
                 "topic homeassistant/+/mood_edge_study/# out 1", "topic mood-edge/study/feedback in 1",
                 "topic homeassistant/status in 1", "bridge_cafile /etc/house-ca.crt"):
        assert line in lines
    assert "#remote_password <the bridge user's password>" in lines  # none given: left for the user
    assert "topic write mood-edge/study/#" in run.stderr  # the house's ACL for this room


def test_several_addresses_make_one_bridge_to_a_cluster(tmp_path):
    run = bridge("-c", str(config(tmp_path)), "--to", "mqtts://emqx1.lan", "--to", "mqtts://emqx2.lan:8884",
                 "--user", "study", "--cafile", "/etc/ca.crt")
    assert "address emqx1.lan:8883 emqx2.lan:8884" in run.stdout.splitlines()


def test_the_password_comes_from_stdin_and_the_file_is_kept_from_other_users(tmp_path):
    out = tmp_path / "conf.d" / "mood-edge-bridge.conf"
    run = bridge("-c", str(config(tmp_path)), "--to", "mqtts://house.lan", "--user", "study", "--cafile",
                 "/etc/ca.crt", "--password-stdin", "--write", str(out), stdin="s3cret pass\n")
    assert run.returncode == 0, run.stderr
    assert "remote_password s3cret pass" in out.read_text().splitlines()
    assert out.stat().st_mode & 0o007 == 0  # nothing for other users
    assert "s3cret" not in run.stdout + run.stderr


@pytest.mark.parametrize("args, stdin, words", [
    (["--to", "mqtts://study:pw@house.lan"], "", "credentials do not belong in the URL"),
    (["--to", "mqtts://house.lan", "--to", "mqtt://other.lan"], "", "mixes mqtt:// and mqtts://"),
    (["--to", "http://house.lan"], "", "mqtt://"),
    (["--to", "mqtts://house.lan", "--password-stdin"], "two\nlines\n", None),
    (["--to", "mqtts://house.lan", "--password-stdin"], "\n", "password is empty"),
    (["--to", "mqtts://house.lan", "--password-stdin"], " padded \n", "surrounding blanks"),
])
def test_a_bad_url_or_password_is_refused_in_one_line_and_nothing_is_written(tmp_path, args, stdin, words):
    out = tmp_path / "bridge.conf"
    run = bridge("-c", str(config(tmp_path)), "--user", "study", "--cafile", "/etc/ca.crt", "--write", str(out),
                 *args, stdin=stdin)
    if words is None:  # only the first line is the password
        assert run.returncode == 0 and "remote_password two" in out.read_text().splitlines()
        return
    assert run.returncode == 2 and words in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


def test_a_user_name_that_would_break_the_block_is_refused(tmp_path):
    run = bridge("-c", str(config(tmp_path)), "--to", "mqtts://house.lan", "--user", "a b\nconnection x",
                 "--cafile", "/etc/ca.crt")
    assert run.returncode == 2 and "--user" in run.stderr


def test_mqtts_without_the_house_ca_is_refused(tmp_path):
    run = bridge("-c", str(config(tmp_path)), "--to", "mqtts://house.lan", "--user", "study")
    assert run.returncode == 2 and "--cafile" in run.stderr


def test_install_bridge_to_writes_the_block_with_the_house_ca_and_the_password_from_a_file(tmp_path):
    ca, pw = tmp_path / "house-ca.crt", tmp_path / "pw"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    pw.write_text("bridge-secret\n")
    root = tmp_path / "root"
    run = ok(install(root, "--bridge-to", "mqtts://house.lan:8883", "--bridge-user", "livingroom",
                     "--bridge-ca", str(ca), "--bridge-password-file", str(pw)))
    block = (root / "etc/mosquitto/conf.d/mood-edge-bridge.conf")
    lines = block.read_text().splitlines()
    assert "address house.lan:8883" in lines and "remote_password bridge-secret" in lines
    assert "bridge_cafile /etc/mosquitto/mood-edge/house-ca.crt" in lines
    assert (root / "etc/mosquitto/mood-edge/house-ca.crt").read_text() == ca.read_text()
    assert block.stat().st_mode & 0o007 == 0
    assert (root / "etc/mosquitto/conf.d/mood-edge.conf").exists()  # --bridge-to brings the room's broker
    assert "bridge-secret" not in run.stdout + run.stderr


def test_install_bridge_to_without_a_user_stops_before_installing(tmp_path):
    run = install(tmp_path, "--bridge-to", "mqtts://house.lan")
    assert run.returncode == 2 and "--bridge-user" in run.stderr
    assert not (tmp_path / "etc").exists()


def test_home_assistant_gets_the_room_as_suggested_area():
    cfg = Config()
    cfg.mqtt.device_id, cfg.daemon.area = "study", "Study"
    for _, payload in homeassistant.discovery_messages(cfg, "m"):
        assert json.loads(payload)["device"]["suggested_area"] == "Study"


def test_a_bridged_room_is_available_in_home_assistant_only_while_both_daemon_and_bridge_say_so():
    cfg = Config()
    cfg.mqtt.device_id = "study"
    alone = json.loads(homeassistant.discovery_messages(cfg, "m")[0][1])
    assert [a["topic"] for a in alone["availability"]] == ["mood-edge/study/availability"]
    assert "availability_mode" not in alone and "suggested_area" not in alone["device"]
    bridged = json.loads(homeassistant.discovery_messages(cfg, "m", bridged=True)[0][1])
    assert bridged["availability_mode"] == "all"
    assert {(a["topic"], a["payload_available"], a["payload_not_available"]) for a in bridged["availability"]} == {
        ("mood-edge/study/availability", "online", "offline"), ("mood-edge-bridge/study", "1", "0")}


def test_the_daemon_learns_it_is_bridged_from_the_bridge_state_on_its_own_broker():
    calls = []
    watcher = BridgeWatcher(lambda: calls.append(watcher.bridged), period_s=0.0)
    watcher("mood-edge-bridge/study", b"1")
    watcher("mood-edge-bridge/study", b"0")  # a link going down is still a bridge: nothing to re-announce
    watcher("mood-edge-bridge/study", b"\xff junk")  # not a bridge state: ignored
    assert calls == [True]
    watcher("mood-edge-bridge/study", b"")  # the retained state cleared: the bridge was removed
    watcher.cancel()
    assert calls == [True, False]


def test_a_display_reads_a_rooms_link_as_its_own_kind_of_availability():
    assert parse_message("mood-edge", "mood-edge-bridge/study", b"0") == Availability("study", False, bridge=True)
    assert parse_message("mood-edge", "mood-edge-bridge/study", b"1") == Availability("study", True, bridge=True)
    for junk in (b"", b"online", b"\x00" * 9):
        assert parse_message("mood-edge", "mood-edge-bridge/study", junk) is None
    assert parse_message("mood-edge", "mood-edge-bridge/a/b", b"1") is None
