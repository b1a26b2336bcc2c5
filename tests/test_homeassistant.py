"""Home Assistant MQTT discovery: payloads follow HA's documented schema and arrive retained."""

from __future__ import annotations

import json
import re

import paho.mqtt.client as mqtt
import pytest

from edge import __version__
from edge.config import Config
from edge.errors import ConfigError
from edge.mqtt.feedback import Vote, parse_vote
from edge.mqtt.homeassistant import birth_topic, discovery_messages, is_birth, vote_buttons
from state_helpers import state

# --- Home Assistant's documented schema -------------------------------------------------------
# MQTT Sensor, "Configuration Variables": https://www.home-assistant.io/integrations/sensor.mqtt/
# Discovery topic, device/origin blocks, availability:
#   https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
#   https://www.home-assistant.io/integrations/mqtt/#using-availability-topics
#   https://www.home-assistant.io/integrations/mqtt/#adding-information-about-the-origin-of-a-discovery-message
SENSOR_REQUIRED = {"state_topic"}
SENSOR_ALLOWED = {
    "availability", "availability_mode", "availability_template", "availability_topic",
    "default_entity_id", "device", "device_class", "enabled_by_default", "encoding", "entity_category",
    "entity_picture", "expire_after", "force_update", "icon", "json_attributes_template",
    "json_attributes_topic", "last_reset_value_template", "name", "object_id", "options",
    "payload_available", "payload_not_available", "platform", "qos", "state_class", "state_topic",
    "suggested_display_precision", "unique_id", "unit_of_measurement", "value_template",
    # discovery-only
    "origin",
}
DEVICE_ALLOWED = {"configuration_url", "connections", "hw_version", "identifiers", "manufacturer",
                  "model", "model_id", "name", "serial_number", "suggested_area", "sw_version",
                  "via_device"}
AVAILABILITY_ITEM_ALLOWED = {"topic", "payload_available", "payload_not_available", "value_template"}
ORIGIN_ALLOWED = {"name", "sw_version", "support_url"}
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
# "<discovery_prefix>/<component>/[<node_id>/]<object_id>/config", ids from [a-zA-Z0-9_-]
DISCOVERY_TOPIC = re.compile(r"homeassistant/sensor/(?:[A-Za-z0-9_-]+/)?[A-Za-z0-9_-]+/config")

MODEL_ID = "mini_xception_fer7_int8"

#: the sample state as Home Assistant receives it, two faces in view
STATE = json.loads(state(faces=2))


@pytest.fixture
def cfg() -> Config:
    c = Config()
    c.mqtt.device_id = "livingroom"
    return c


def payloads(cfg: Config) -> dict[str, dict]:
    return {json.loads(p)["unique_id"]: json.loads(p) for _, p in discovery_messages(cfg, MODEL_ID)}


def test_every_discovery_topic_follows_the_documented_format(cfg):
    msgs = discovery_messages(cfg, MODEL_ID)
    assert msgs
    for topic, _ in msgs:
        assert DISCOVERY_TOPIC.fullmatch(topic), topic
    assert len({t for t, _ in msgs}) == len(msgs)


def test_every_payload_uses_only_documented_sensor_keys_and_has_the_required_ones(cfg):
    for uid, p in payloads(cfg).items():
        assert SENSOR_REQUIRED <= p.keys(), uid
        assert p.keys() <= SENSOR_ALLOWED, (uid, p.keys() - SENSOR_ALLOWED)
        assert "availability_topic" not in p  # documented: must not be combined with `availability`
        if "state_class" in p:
            assert p["state_class"] in STATE_CLASSES
        if "entity_category" in p:
            assert p["entity_category"] == "diagnostic"  # the only category a sensor may have
        assert p["icon"].startswith("mdi:")


def test_payloads_name_a_mood_and_a_face_count_sensor_with_stable_unique_ids(cfg):
    p = payloads(cfg)
    assert {"mood_edge_livingroom_mood", "mood_edge_livingroom_faces"} <= p.keys()
    assert payloads(cfg) == p  # same ids on every (re)connect, so HA never duplicates entities
    other = Config()
    other.mqtt.device_id = "kitchen"
    assert not set(payloads(other)) & set(p)


def test_all_entities_share_one_documented_device_block(cfg):
    devices = [p["device"] for p in payloads(cfg).values()]
    assert all(d == devices[0] for d in devices)
    d = devices[0]
    assert d.keys() <= DEVICE_ALLOWED
    assert d["identifiers"] == ["mood_edge_livingroom"]
    assert d["name"] and d["manufacturer"] and d["model"]
    assert d["model_id"] == MODEL_ID and d["sw_version"] == __version__


def test_availability_is_the_daemons_last_will_topic(cfg):
    for p in payloads(cfg).values():
        (av,) = p["availability"]
        assert av.keys() <= AVAILABILITY_ITEM_ALLOWED
        assert av == {"topic": "mood-edge/livingroom/availability",
                      "payload_available": "online", "payload_not_available": "offline"}
        assert p["origin"].keys() <= ORIGIN_ALLOWED and p["origin"]["name"] == "mood-edge"


def test_sensors_read_the_retained_state_topic(cfg):
    cfg.mqtt.topic_prefix = "home/moods"
    for p in payloads(cfg).values():
        assert p["state_topic"] == "home/moods/livingroom/state"
    mood = payloads(cfg)["mood_edge_livingroom_mood"]
    assert mood["json_attributes_topic"] == "home/moods/livingroom/state"


def _render(template: str, message: dict) -> str:
    """Render like HA does: Jinja2 with the parsed payload as ``value_json``."""
    sandbox = pytest.importorskip("jinja2.sandbox", reason="jinja2 (test extra) renders HA templates")
    env = sandbox.ImmutableSandboxedEnvironment()
    return env.from_string(template).render(value_json=message, value=json.dumps(message))


def test_templates_turn_a_state_message_into_mood_faces_confidence_and_film(cfg):
    p = payloads(cfg)
    assert _render(p["mood_edge_livingroom_mood"]["value_template"], STATE) == "happy"
    assert _render(p["mood_edge_livingroom_faces"]["value_template"], STATE) == "2"
    assert float(_render(p["mood_edge_livingroom_confidence"]["value_template"], STATE)) == 82
    assert _render(p["mood_edge_livingroom_film"]["value_template"], STATE) == "Paddington 2"
    nobody = {**STATE, "mood": "nobody", "faces": 0, "recommendations": []}
    assert _render(p["mood_edge_livingroom_film"]["value_template"], nobody) == "none"


def test_mood_attributes_carry_confidence_probabilities_faces_and_recommendations(cfg):
    mood = payloads(cfg)["mood_edge_livingroom_mood"]
    attrs = json.loads(_render(mood["json_attributes_template"], STATE))
    assert attrs["confidence"] == 0.82
    assert attrs["probabilities"] == STATE["probabilities"]
    assert attrs["faces"] == 2
    assert attrs["recommendations"][0]["title"] == "Paddington 2"


def test_discovery_can_be_turned_off(cfg):
    cfg.homeassistant.enabled = False
    assert discovery_messages(cfg, MODEL_ID) == []


def test_a_custom_discovery_prefix_is_used_for_discovery_and_birth(cfg):
    cfg.homeassistant.discovery_prefix = "ha"
    assert all(t.startswith("ha/sensor/") for t, _ in discovery_messages(cfg, MODEL_ID))
    assert birth_topic(cfg) == "ha/status"


def test_a_wildcard_discovery_prefix_is_a_config_error_naming_the_field(cfg):
    cfg.homeassistant.discovery_prefix = "home/#"
    with pytest.raises(ConfigError, match="homeassistant.discovery_prefix"):
        discovery_messages(cfg, MODEL_ID)


def test_birth_topic_is_homeassistant_status_by_default(cfg):
    assert birth_topic(cfg) == "homeassistant/status"


@pytest.mark.parametrize("payload", [b"online", b"online\n", " online ", bytearray(b"online")])
def test_is_birth_accepts_home_assistants_online(payload):
    assert is_birth(payload)


@pytest.mark.parametrize("payload", [b"offline", b"", b"\xff\xfe\x00", b"ONLINE!", None, 42, object(),
                                     memoryview(b"nope"), b"online" * 1000])
def test_is_birth_never_raises_and_rejects_anything_else(payload):
    assert is_birth(payload) is False


def test_a_real_subscriber_sees_the_discovery_payloads_retained(broker, subscriber_factory, cfg):
    msgs = discovery_messages(cfg, MODEL_ID)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-ha-publisher")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        for topic, payload in msgs:
            pub.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        pub.loop_stop()
        pub.disconnect()
    # subscribe only after the publisher has gone: what arrives is what the broker retained
    sub = subscriber_factory(broker.port, ["homeassistant/sensor/mood_edge_livingroom/+/config"])
    for topic, payload in msgs:
        m = sub.wait_for(topic)
        assert m.retain
        assert json.loads(m.payload) == json.loads(payload)


def test_the_daemon_publishes_discovery_retained_and_again_when_home_assistant_comes_online(
        tmp_path, broker, subscriber_factory):
    """End to end: the real daemon announces the device; HA's birth message makes it re-announce."""
    import signal

    from daemon_helpers import astronaut_folder, daemon_cmd, fast_config, start_daemon

    from edge import config as config_mod

    dev = "hadaemon"
    config = fast_config(tmp_path)
    cmd = daemon_cmd(config, f"dir:{astronaut_folder(tmp_path)}", broker.url, dev, tmp_path / "state", "--loop")
    proc = start_daemon(cmd)
    try:
        watch_state = subscriber_factory(broker.port, [f"mood-edge/{dev}/state"])
        state = json.loads(watch_state.wait_for(f"mood-edge/{dev}/state").payload)
        cfg = config_mod.load(config)  # the daemon's own settings (expire_after follows its heartbeat)
        cfg.mqtt.device_id = dev
        expected = dict(discovery_messages(cfg, state["model"]["id"]))
        # a Home Assistant that starts later still finds the device: the payloads are retained
        ha = subscriber_factory(broker.port, [f"homeassistant/sensor/mood_edge_{dev}/+/config"])
        for topic, payload in expected.items():
            m = ha.wait_for(topic)
            assert m.retain and json.loads(m.payload) == json.loads(payload)
        ha.clear()
        publish_birth = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-ha-birth")
        publish_birth.connect("127.0.0.1", broker.port)
        publish_birth.loop_start()
        publish_birth.publish("homeassistant/status", "online", qos=1).wait_for_publish(10)
        publish_birth.loop_stop()
        publish_birth.disconnect()
        for topic in expected:
            assert not ha.wait_for(topic).retain  # a fresh publish, not the broker's retained copy
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_sensors_turn_unavailable_when_the_heartbeat_stops_like_every_other_display(cfg):
    from edge.mqtt.display_state import STALE_AFTER_HEARTBEATS

    cfg.mqtt.heartbeat_s = 60
    assert {p["expire_after"] for p in payloads(cfg).values()} == {STALE_AFTER_HEARTBEATS * 60}


def test_mood_attributes_keep_the_first_films_that_fit_and_say_where_the_rest_are(cfg):
    mood = payloads(cfg)["mood_edge_livingroom_mood"]
    film = {**STATE["recommendations"][0], "description": "é" * 1000}
    attrs = json.loads(_render(mood["json_attributes_template"], {**STATE, "recommendations": [film] * 50}))
    kept = attrs["recommendations"]
    assert kept == [film] * len(kept) and 0 < len(kept) < 50
    assert attrs["recommendations_left_out"] == 50 - len(kept)
    assert attrs["recommendations_topic"] == mood["state_topic"]
    assert len(json.dumps(attrs, ensure_ascii=False).encode()) < 16_384 - 4096  # Home Assistant's recorder limit


# --- the vote buttons -------------------------------------------------------------------------
# MQTT Button, "Configuration Variables": https://www.home-assistant.io/integrations/button.mqtt/
BUTTON_ALLOWED = {
    "availability", "availability_mode", "availability_template", "availability_topic", "command_template",
    "command_topic", "default_entity_id", "device", "device_class", "enabled_by_default", "encoding",
    "entity_category", "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "name",
    "object_id", "payload_available", "payload_not_available", "payload_press", "platform", "qos", "retain",
    "unique_id", "origin",
}


def test_the_vote_buttons_use_only_documented_button_keys_on_the_sensors_device(cfg):
    msgs = vote_buttons(cfg, MODEL_ID)
    assert [t for t, _ in msgs] == [f"homeassistant/button/mood_edge_livingroom/film_{k}/config"
                                    for k in ("up", "down", "seen")]
    sensor_device = next(iter(payloads(cfg).values()))["device"]
    for _, text in msgs:
        p = json.loads(text)
        assert p.keys() <= BUTTON_ALLOWED and p["command_topic"] == "mood-edge/livingroom/feedback"
        assert p["device"] == sensor_device and p["retain"] is False
        assert p["availability"][0]["topic"] == "mood-edge/livingroom/availability"


def test_each_vote_button_sends_a_vote_the_daemon_accepts(cfg):
    votes = [parse_vote(json.loads(p)["payload_press"].encode()) for _, p in vote_buttons(cfg, MODEL_ID)]
    assert votes == [Vote(v, pick=1, source="homeassistant") for v in ("up", "down", "seen")]


def test_no_vote_buttons_when_discovery_is_off(cfg):
    cfg.homeassistant.enabled = False
    assert vote_buttons(cfg, MODEL_ID) == []
