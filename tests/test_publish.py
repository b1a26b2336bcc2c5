"""MQTT publishing against a real mosquitto: retained state, availability, reconnects, bounded queue."""

import json
import time

from edge.config import MqttConfig
from edge.mqtt.publish import Publisher
from state_helpers import state_message


def make_publisher(broker, **kw) -> Publisher:
    cfg = MqttConfig(broker=broker.url, device_id=kw.pop("device_id", "test"), reconnect_min_s=1,
                     reconnect_max_s=2, **kw)
    pub = Publisher(cfg)
    pub.start()
    assert pub.wait_connected(10)
    return pub


def test_state_is_retained_for_a_display_that_subscribes_later(broker, subscriber_factory):
    pub = make_publisher(broker, device_id="late")
    pub.publish_state(state_message())
    time.sleep(0.3)
    sub = subscriber_factory(broker.port, ["mood-edge/late/#"])
    msg = sub.wait_for("mood-edge/late/state")
    assert msg.retain and json.loads(msg.payload)["mood"] == "happy"
    assert sub.wait_for("mood-edge/late/availability").payload == b"online"
    pub.stop()


def test_clean_stop_publishes_offline(broker, subscriber_factory):
    sub = subscriber_factory(broker.port, ["mood-edge/bye/availability"])
    pub = make_publisher(broker, device_id="bye")
    sub.wait_for("mood-edge/bye/availability", lambda m: m.payload == b"online")
    pub.stop()
    sub.wait_for("mood-edge/bye/availability", lambda m: m.payload == b"offline")


def test_reconnects_after_a_broker_restart_and_republishes_retained_state(own_broker, subscriber_factory):
    pub = make_publisher(own_broker, device_id="phoenix")
    pub.publish_state(state_message(mood="sad"))
    time.sleep(0.3)
    own_broker.restart()  # no persistence: the broker forgot every retained message
    sub = subscriber_factory(own_broker.port, ["mood-edge/phoenix/#"])
    msg = sub.wait_for("mood-edge/phoenix/state", timeout=20)
    assert json.loads(msg.payload)["mood"] == "sad"
    assert sub.wait_for("mood-edge/phoenix/availability").payload == b"online"
    assert pub.stats.connects == 2
    pub.stop()


def test_nothing_grows_while_the_broker_is_down(own_broker, subscriber_factory):
    pub = make_publisher(own_broker, device_id="patient", max_queued=10)
    own_broker.stop()
    deadline = time.monotonic() + 10
    while pub.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    for i in range(2000):
        pub.publish_state(state_message(mood="happy" if i % 2 else "sad"))
        pub.publish("mood-edge/patient/event", "x")
    assert pub.queued <= 10
    assert len(pub._retained) == 1  # only the newest state is kept
    own_broker.start()
    sub = subscriber_factory(own_broker.port, ["mood-edge/patient/state"])
    msg = sub.wait_for("mood-edge/patient/state", timeout=20)
    assert json.loads(msg.payload)["mood"] == "happy"  # the newest one
    pub.stop()


def test_a_handler_that_raises_does_not_break_the_connection(broker, subscriber_factory):
    pub = make_publisher(broker, device_id="robust")
    got = []

    def bad_handler(topic, payload):
        got.append(payload)
        raise ValueError("boom")

    pub.subscribe("robust/in", bad_handler)
    time.sleep(0.3)
    import paho.mqtt.publish as single

    single.single("robust/in", b"\xff\x00garbage", hostname="127.0.0.1", port=broker.port)
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got and pub.connected
    pub.stop()
