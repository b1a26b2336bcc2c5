"""When the daemon sends its state (edge.mqtt.publish_policy), on a fake clock: changes at once, small
changes at most once a second, a heartbeat when nothing changes."""

from __future__ import annotations

from edge.mqtt.publish import NullPublisher, make_publisher
from edge.config import MqttConfig
from edge.mqtt.publish_policy import PublishPolicy
from state_helpers import state_message


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def policy(heartbeat_s: float = 30.0) -> tuple[PublishPolicy, FakeClock]:
    clock = FakeClock()
    return PublishPolicy(heartbeat_s, clock=clock), clock


def test_the_first_state_is_sent_at_once():
    p, _ = policy()
    assert p.due(state_message())


def test_an_unchanged_state_is_not_sent_again_before_the_heartbeat():
    p, clock = policy(heartbeat_s=30)
    p.due(state_message())
    clock.t += 29.9
    assert not p.due(state_message(updated=2.0))


def test_an_unchanged_state_is_sent_as_a_heartbeat():
    p, clock = policy(heartbeat_s=30)
    p.due(state_message())
    clock.t += 30
    assert p.due(state_message())
    clock.t += 10
    assert not p.due(state_message()), "the heartbeat counts from the last send"


def test_a_new_mood_is_sent_at_once_even_right_after_a_send():
    p, clock = policy()
    p.due(state_message(mood="happy"))
    clock.t += 0.01
    assert p.due(state_message(mood="sad"))


def test_a_camera_going_down_is_sent_at_once():
    p, clock = policy()
    p.due(state_message())
    clock.t += 0.01
    assert p.due(state_message(camera="down"))


def test_new_recommendations_are_sent_at_once():
    p, clock = policy()
    p.due(state_message())
    clock.t += 0.01
    assert p.due(state_message(recommendations=[]))


def test_a_face_count_change_waits_for_a_second_since_the_last_send():
    p, clock = policy()
    p.due(state_message(faces=1))
    clock.t += 0.5
    assert not p.due(state_message(faces=2))
    clock.t += 0.5
    assert p.due(state_message(faces=2))


def test_confidence_jitter_alone_waits_for_the_heartbeat():
    p, clock = policy(heartbeat_s=30)
    p.due(state_message(confidence=0.8))
    clock.t += 5
    assert not p.due(state_message(confidence=0.7))


def test_a_forced_state_is_sent_and_restarts_the_heartbeat():
    p, clock = policy(heartbeat_s=30)
    p.due(state_message())
    clock.t += 20
    assert p.due(state_message(), force=True)
    clock.t += 20
    assert not p.due(state_message())


def test_a_state_that_is_not_sent_is_not_remembered_as_sent():
    p, clock = policy()
    p.due(state_message(faces=1))
    clock.t += 0.5
    p.due(state_message(faces=2))  # too soon: not sent
    clock.t += 0.6
    assert p.due(state_message(faces=2)), "faces=2 was never sent, so it is still a change"


def test_without_a_broker_the_publisher_does_nothing_and_says_so():
    pub = make_publisher(MqttConfig(broker=""))
    assert isinstance(pub, NullPublisher) and not pub.enabled
    pub.start()
    assert not pub.publish_state(state_message()) and not pub.publish("a/b", "x", retain=True)
    assert not pub.wait_connected(0) and pub.stats.published == 0
    pub.stop()
