"""What a room's own broker (the shipped ACLs, and for writes the whole shipped config, run for
real) lets clients do with its bridge's state, ``mood-edge-bridge/<device-id>`` (issue 35, docs/house.md): mosquitto
itself keeps it there; the daemon may read it (to tell Home Assistant that the room is bridged);
no client may write it; displays may not read it (in the room, a house that is away does not make
the room offline). MQTT 5 answers each refused publish with "Not authorized"."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bridge_helpers import passwd_file  # noqa: E402
from mqtt_helpers import Subscriber, free_port, publish, start_mosquitto  # noqa: E402
from test_mosquitto_acl import BROKER_DIR, NOT_AUTHORIZED, broker, clients, pytestmark  # noqa: E402,F401

TOPIC = "mood-edge-bridge/livingroom"


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A room broker with the shipped ACLs, a daemon listener (acl) and a display listener
    (acl-displays, which the shipped config puts on websockets), and a bridge to a house that is
    not there: mosquitto keeps "0" retained on the bridge's state topic, as in a room whose house is away."""
    etc = tmp_path_factory.mktemp("room-acl")
    for name in ("acl", "acl-displays"):
        shutil.copy(BROKER_DIR / name, etc / name)
    passwd_file(etc / "passwd", {"mood-edge-local": "local-secret"})
    passwd_file(etc / "passwd-displays", {"tv": "tv-secret"})
    with open(etc / "acl-displays", "a") as acl:  # as `mood-edge-user.sh add display tv` appends it
        acl.write("\nuser tv\ntopic read mood-edge/#\ntopic read homeassistant/#\n")
    daemon_port, display_port, nowhere = free_port(), free_port(), free_port()
    conf = etc / "room.conf"
    conf.write_text(
        "user root\nper_listener_settings true\npersistence false\n"
        f"listener {daemon_port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {etc / 'passwd'}\nacl_file {etc / 'acl'}\n"
        f"listener {display_port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {etc / 'passwd-displays'}\nacl_file {etc / 'acl-displays'}\n"
        f"connection mood-edge-livingroom\naddress 127.0.0.1:{nowhere}\nnotifications true\n"
        f"notification_topic {TOPIC}\ntopic mood-edge/livingroom/# out 1\n")
    with open(etc / "mosquitto.log", "w+") as log:
        proc = start_mosquitto(conf, (daemon_port, display_port), log, "a room with a bridge")
        publish(daemon_port, "mood-edge/livingroom/state", "{}", username="mood-edge-local", password="local-secret")
        yield daemon_port, display_port
        proc.terminate()
        proc.wait(10)


def test_in_the_room_the_daemon_reads_its_bridge_state_and_a_display_does_not(room):
    daemon_port, display_port = room
    daemon = Subscriber(daemon_port, ["mood-edge-bridge/#", "mood-edge/#"], username="mood-edge-local",
                        password="local-secret")
    display = Subscriber(display_port, ["mood-edge-bridge/#", "mood-edge/#"], username="tv", password="tv-secret")
    try:
        assert daemon.wait_for(TOPIC).payload == b"0"
        display.wait_for("mood-edge/livingroom/state")  # it is connected and reads the room's topics...
        assert display.on(TOPIC) == []  # ... but not the link: the room is not offline at home
    finally:
        daemon.close()
        display.close()


def test_no_client_may_write_a_rooms_bridge_state(broker, clients):
    local = clients(broker.plain, username="mood-edge-local", password="local-secret")
    assert local.publish(TOPIC, "1").value == NOT_AUTHORIZED
    device = clients(broker.tls, username="livingroom", password="lr-secret", ca=broker.ca)
    assert device.publish(TOPIC, "1").value == NOT_AUTHORIZED
