"""Every room, one house (issue 35), on real brokers: two rooms, each with its own mosquitto and a
real daemon on the sample clip, bridged by the block ``mood-edge bridge`` writes (TLS, the house's
CA) to a house mosquitto running the shipped house ACL (systemd/mosquitto/house-acl).

The tests run in file order on one set-up (starting daemons is the slow part); each leaves the
house as it found it, except the last, which kills a daemon. Times are measured and printed
(run with -s), never asserted: the limits below are only there so that nothing hangs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bridge_helpers import Rooms, updated_after  # noqa: E402
from mqtt_helpers import MOSQUITTO, Subscriber  # noqa: E402
from test_mosquitto_acl import NOT_AUTHORIZED, Client  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd")
                                or not shutil.which("openssl"),
                                reason="needs Debian's mosquitto, mosquitto_passwd and openssl")

ROOT = Path(__file__).resolve().parent.parent
#: the bridges' keep-alive: the house notices a cut link after 1.5x this (the shipped default is 30)
KEEPALIVE_S = 5
PASSWORDS = {"kitchen": "k-bridge-secret", "lounge": "l-bridge-secret", "homeassistant": "ha-secret"}
AREAS = {"kitchen": "Kitchen", "lounge": "Living room"}
#: what was measured, printed at the end (seconds)
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def house():
    s = Rooms(PASSWORDS, AREAS, KEEPALIVE_S)
    try:
        s.wait_for_states()
    except AssertionError:
        s.close()
        raise
    yield s
    s.close()
    print("\nbridge figures (seconds):", json.dumps(FIGURES))


def last(sub: Subscriber, topic: str) -> bytes | None:
    msgs = sub.on(topic)
    return msgs[-1].payload if msgs else None


def test_the_bridge_block_names_the_room_and_is_kept_from_other_users(house):
    room = house.rooms["kitchen"]
    text = room.bridge_conf.read_text()
    for line in ("connection mood-edge-kitchen", "remote_clientid mood-edge-bridge-kitchen",
                 "topic mood-edge/kitchen/# out 1", "topic mood-edge/kitchen/feedback in 1",
                 "topic homeassistant/status in 1", "cleansession false", "try_private true",
                 "notifications true", "notification_topic mood-edge-bridge/kitchen",
                 f"bridge_cafile {house.house.ca}", "remote_password k-bridge-secret"):
        assert line in text.splitlines()
    assert room.bridge_conf.stat().st_mode & 0o777 in (0o600, 0o640)
    assert "k-bridge-secret" not in room.written.stdout + room.written.stderr


def test_the_house_sees_each_room_with_its_state_discovery_and_availability(house):
    for device, area in AREAS.items():
        state = json.loads(house.seen.wait_for(f"mood-edge/{device}/state").payload)
        assert state["device"] == device and state["area"] == area
        house.seen.wait_for(f"mood-edge/{device}/availability", lambda m: m.payload == b"online")
        house.seen.wait_for(f"mood-edge-bridge/{device}", lambda m: m.payload == b"1")
        config = json.loads(house.seen.wait_for(
            f"homeassistant/sensor/mood_edge_{device}/mood/config",
            lambda m: len(json.loads(m.payload)["availability"]) == 2).payload)
        assert config["device"]["suggested_area"] == area
        assert config["availability_mode"] == "all"
        assert {a["topic"] for a in config["availability"]} == {f"mood-edge/{device}/availability",
                                                                 f"mood-edge-bridge/{device}"}


def test_what_the_house_says_reaches_only_its_room_once_and_never_loops_back(house):
    marker = f"vote-{time.time_ns()}"
    house_client = Client(house.house.plain, username="homeassistant", password=PASSWORDS["homeassistant"])
    try:
        assert not house_client.publish("mood-edge/kitchen/feedback", marker).is_failure
        assert not house_client.publish("homeassistant/status", "online").is_failure
    finally:
        house_client.close()
    house.local["kitchen"].wait_for("mood-edge/kitchen/feedback", lambda m: m.payload == marker.encode())
    house.local["kitchen"].wait_for("homeassistant/status", lambda m: m.payload == b"online")
    house.local["lounge"].wait_for("homeassistant/status", lambda m: m.payload == b"online")
    time.sleep(2)  # a loop would have echoed it by now, many times over
    assert [m.payload for m in house.seen.on("mood-edge/+/feedback")].count(marker.encode()) == 1
    assert [m.payload for m in house.local["kitchen"].on("mood-edge/+/feedback")].count(marker.encode()) == 1
    assert not [m for m in house.local["lounge"].on("mood-edge/#") if m.payload == marker.encode()]
    assert len([m for m in house.seen.on("homeassistant/status") if m.payload == b"online"]) == 1


def test_a_rooms_bridge_user_cannot_publish_under_another_rooms_topics(house):
    kitchen = Client(house.house.tls, username="kitchen", password=PASSWORDS["kitchen"], ca=house.house.ca)
    try:
        assert kitchen.accepted
        assert kitchen.publish("mood-edge/lounge/availability", "offline").value == NOT_AUTHORIZED
        assert kitchen.publish("mood-edge/lounge/state", '{"mood":"angry"}').value == NOT_AUTHORIZED
        assert kitchen.publish("homeassistant/sensor/mood_edge_lounge/mood/config", "{}").value == NOT_AUTHORIZED
        assert kitchen.publish("mood-edge-bridge/lounge", "0").value == NOT_AUTHORIZED
        assert kitchen.publish("mood-edge/kitchen/probe", "mine").value == 0  # its own: allowed
    finally:
        kitchen.close()
    house.seen.wait_for("mood-edge/kitchen/probe")
    assert b"offline" not in [m.payload for m in house.seen.on("mood-edge/lounge/availability")]


def test_rooms_keep_working_without_the_house_and_the_house_catches_up_when_it_returns(house):
    for link in house.links.values():
        link.refuse()
    house.house.stop()
    went = time.time()
    for device in AREAS:  # each room's own displays still get fresh states, and know the link is down
        house.local[device].wait_for(f"mood-edge/{device}/state", updated_after(went + 1), timeout=20)
        house.local[device].wait_for(f"mood-edge-bridge/{device}", lambda m: m.payload == b"0", timeout=20)
    time.sleep(3)
    back = time.time()
    house.house.start()
    for link in house.links.values():
        link.accept_again()
    t0 = time.monotonic()
    for device in AREAS:
        house.seen.wait_for(f"mood-edge/{device}/state", updated_after(back), timeout=60)
        FIGURES[f"house back: {device} state current after"] = round(time.monotonic() - t0, 1)
    for device in AREAS:
        house.seen.wait_for(f"mood-edge-bridge/{device}", lambda m: m.t > t0 and m.payload == b"1", timeout=30)
    assert last(house.seen, "mood-edge/kitchen/availability") == b"online"
    time.sleep(2)  # nothing queued while the house was away may say "0" after the link's "1"
    assert [last(house.seen, f"mood-edge-bridge/{d}") for d in AREAS] == [b"1", b"1"]


def test_a_room_whose_link_is_cut_shows_offline_in_the_house_while_the_other_stays_live(house):
    house.seen.wait_for("mood-edge-bridge/lounge", lambda m: m.payload == b"1")
    house.links["lounge"].cut()
    t0 = time.monotonic()
    house.seen.wait_for("mood-edge-bridge/lounge", lambda m: m.t > t0 and m.payload == b"0", timeout=30)
    FIGURES["bridge cut: room offline in the house after"] = round(time.monotonic() - t0, 1)
    assert last(house.seen, "mood-edge-bridge/kitchen") == b"1"
    house.seen.wait_for("mood-edge/kitchen/state", lambda m: m.t > t0 + 1)  # the kitchen is still live
    house.local["lounge"].wait_for("mood-edge/lounge/state", lambda m: m.t > t0 + 1)  # and the lounge at home
    house.links["lounge"].mend()
    t1 = time.monotonic()
    house.seen.wait_for("mood-edge-bridge/lounge", lambda m: m.t > t1 and m.payload == b"1", timeout=60)
    FIGURES["bridge mended: room back in the house after"] = round(time.monotonic() - t1, 1)
    time.sleep(2)
    assert last(house.seen, "mood-edge-bridge/lounge") == b"1"


def test_watch_on_the_house_shows_every_room_and_its_link(house):
    run = subprocess.run([sys.executable, "-m", "edge", "watch", "--broker",
                          f"mqtt://homeassistant@127.0.0.1:{house.house.plain}", "--device-id", "all", "--plain",
                          "--count", "6", "--timeout", "30"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={**os.environ, "MOOD_EDGE_MQTT_PASSWORD": PASSWORDS["homeassistant"]})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for device in AREAS:
        assert f"{device}: online (bridge)" in lines
        assert any(line.startswith(f"{device}: mood=") for line in lines)


def test_a_killed_daemon_shows_offline_in_the_house_while_the_other_room_stays_live(house):
    house.seen.wait_for("mood-edge/kitchen/availability", lambda m: m.payload == b"online")
    house.rooms["kitchen"].daemon.kill()
    t0 = time.monotonic()
    house.seen.wait_for("mood-edge/kitchen/availability", lambda m: m.t > t0 and m.payload == b"offline",
                        timeout=30)
    FIGURES["daemon killed: room offline in the house after"] = round(time.monotonic() - t0, 2)
    house.seen.wait_for("mood-edge/lounge/state", lambda m: m.t > t0 + 1)
    assert last(house.seen, "mood-edge/lounge/availability") == b"online"
    assert last(house.seen, "mood-edge-bridge/kitchen") == b"1"  # the link is fine: the daemon is not
