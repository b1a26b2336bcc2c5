"""Issue 22 row 5: a client taking another's client id, on any listener of the shipped broker.

mosquitto keeps one table of client ids for all listeners; a client connecting with an id in use
disconnects the holder. With an anonymous loopback listener, any local process could connect as
``homeassistant``, ``tv`` or a device's name (predictable: ``use_username_as_clientid``) and kick
Home Assistant (8883), the TV (9001) and remote devices off. Now every listener takes logins only
and ties the client id to the user name, so an id can be held only with its user's password.
Real mosquitto on the shipped ``mood-edge.conf`` and ACLs, real paho clients.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from edge.config import MqttConfig  # noqa: E402
from edge.mqtt.credentials import resolve_credentials  # noqa: E402
from test_hostile_network import Session, sessions  # noqa: E402,F401 - fixture
from test_mosquitto_acl import BROKER_DIR, broker  # noqa: E402,F401 - fixture


def _victims(broker, sessions):
    """Everybody whose id an attacker would want: HA and a device over TLS, the TV over
    websockets, the daemon on this Pi over loopback, each logged in as itself."""
    return {
        "homeassistant": sessions(broker.tls, "ha-own-id", username="homeassistant", password="ha-secret",
                                  ca=broker.ca),
        "kitchen": sessions(broker.tls, "mood-edge-kitchen-x1", username="kitchen", password="k-secret",
                            ca=broker.ca),
        "tv": sessions(broker.ws, "mqttjs_1234abcd", username="tv", password="tv-secret", websockets=True),
        "mood-edge-local": sessions(broker.plain, "mood-edge-kitchen-x2", username="mood-edge-local",
                                    password="local-secret"),
    }


def _all_still_connected(victims) -> None:
    for name, victim in victims.items():
        victim.round_trip(f"mood-edge/{name}/availability" if name != "homeassistant" else "homeassistant/ping")
        assert (victim.connects, victim.disconnects) == (1, 0), name


@pytest.mark.parametrize("stolen_id", ["homeassistant", "tv", "kitchen", "mood-edge-local"])
def test_an_anonymous_client_on_loopback_cannot_kick_anybody_by_taking_their_client_id(broker, sessions, stolen_id):
    victims = _victims(broker, sessions)
    attacker = sessions(broker.plain, stolen_id)  # no user name: what any local process could do
    assert attacker.connack.is_failure
    _all_still_connected(victims)


@pytest.mark.parametrize("port, login", [
    ("plain", {"username": "mood-edge-local", "password": "local-secret"}),
    ("tls", {"username": "livingroom", "password": "lr-secret"}),
    ("ws", {"username": "wall", "password": "wall-secret", "websockets": True}),
])
@pytest.mark.parametrize("stolen_id", ["homeassistant", "tv", "kitchen"])
def test_a_logged_in_client_asking_for_another_client_id_gets_its_own_name_and_kicks_nobody(broker, sessions, port,
                                                                                         login, stolen_id):
    victims = {k: v for k, v in _victims(broker, sessions).items() if k != login["username"]}
    if port == "tls":
        login = {**login, "ca": broker.ca}
    attacker = sessions(getattr(broker, port), stolen_id, **login)
    assert not attacker.connack.is_failure
    _all_still_connected(victims)


def test_every_listener_of_the_shipped_config_refuses_anonymous_clients_and_ties_ids_to_users():
    conf = (BROKER_DIR / "mood-edge.conf").read_text()
    blocks = re.split(r"^listener ", conf, flags=re.M)[1:]
    assert len(blocks) == 3
    for block in blocks:
        settings = {line.split()[0]: line.split(None, 1)[1] for line in block.splitlines()[1:]
                    if line.strip() and not line.startswith("#")}
        assert settings["allow_anonymous"] == "false", block.splitlines()[0]
        assert settings["use_username_as_clientid"] == "true", block.splitlines()[0]
        assert settings["password_file"].startswith("/etc/mosquitto/mood-edge/passwd")
    assert re.search(r"^per_listener_settings true$", conf, flags=re.M)


def test_the_daemon_reads_its_local_broker_password_from_its_systemd_credential(tmp_path, monkeypatch):
    (tmp_path / "mqtt-password").write_text("from-the-credential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("MOOD_EDGE_MQTT_USERNAME", "mood-edge-local")
    monkeypatch.delenv("MOOD_EDGE_MQTT_PASSWORD", raising=False)
    assert resolve_credentials(MqttConfig(broker="mqtt://localhost:1883")) == ("mood-edge-local",
                                                                                "from-the-credential")


def test_the_local_daemon_logs_in_to_the_shipped_broker_with_that_credential(broker, tmp_path, monkeypatch):
    from edge.mqtt.publish import Publisher

    (tmp_path / "mqtt-password").write_text("local-secret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("MOOD_EDGE_MQTT_USERNAME", "mood-edge-local")
    pub = Publisher(MqttConfig(broker=f"mqtt://127.0.0.1:{broker.plain}", device_id="kitchen", reconnect_min_s=1,
                               reconnect_max_s=1), state_dir=tmp_path / "state")
    pub.start()
    try:
        assert pub.wait_connected(15)
    finally:
        pub.stop()
