"""Broker faults: the real daemon against a real mosquitto that is stopped, restarted and frozen.

The daemon must never exit, must reconnect within its backoff (``mqtt.reconnect_max_s``) each time,
must re-publish its retained state, availability and Home Assistant discovery to a broker that
forgot them (no persistence), and must not let anything grow while the broker is away.
Reconnect times are measured from the daemon's log and from a subscriber's view, and reported.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time

import pytest

from daemon_helpers import astronaut_folder, daemon_cmd, fast_config, start_daemon
from edge import config as config_mod
from edge.commands.daemon import Daemon
from mqtt_helpers import Subscriber
from plugins.daemon_log import DaemonLog, stop_daemon
from plugins.long import figures, long_variant  # noqa: F401 - fixtures, also without the plugin registered

#: the fast test config's backoff cap (daemon_helpers.FAST: reconnect_max_s = 2)
BACKOFF_MAX_S = 2.0
#: scheduling allowance on a loaded 2-core CI machine, on top of the backoff cap
SLACK_S = 2.0
#: how long each outage lasts: short ones, and ones long enough for the backoff to reach its cap
OUTAGES_S = [0.2, 1.0, 3.0, 0.5, 5.0, 0.2, 2.0, 4.0, 1.0, 6.0]


def _restart_storm(tmp_path, broker, figures, outages: list[float], name: str) -> None:
    device = f"storm{len(outages)}"
    log = DaemonLog(tmp_path / "daemon.log")
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", broker.url, device,
                     tmp_path / "state", "--loop")
    log.proc = proc = start_daemon(cmd, log_path=log.path)
    topics = [f"mood-edge/{device}/#", f"homeassistant/sensor/mood_edge_{device}/+/config"]
    daemon_view, subscriber_view = [], []
    try:
        first = Subscriber(broker.port, topics)
        first.wait_for(f"mood-edge/{device}/state")
        first.close()
        log.wait_for(r"^MQTT: connected")
        for i, outage in enumerate(outages, start=1):
            broker.stop()
            log.wait_for(r"^MQTT: lost the broker", count=i)
            time.sleep(outage)
            broker.start()
            up_wall, up_mono = time.time(), time.monotonic()
            sub = Subscriber(broker.port, topics)
            try:
                online = sub.wait_for(f"mood-edge/{device}/availability", lambda m: m.payload == b"online")
                state = json.loads(sub.wait_for(f"mood-edge/{device}/state").payload)
                sub.wait_for(f"homeassistant/sensor/mood_edge_{device}/mood/config")
            finally:
                sub.close()
            assert state["device"] == device and state["mood"] == "happy"
            connected = log.wait_for(r"^MQTT: connected", count=i + 1)[i]
            daemon_view.append(connected.t - up_wall)
            subscriber_view.append(online.t - up_mono)
            assert proc.poll() is None, log.text()[-2000:]
        assert stop_daemon(proc) == 0, log.text()[-2000:]
    finally:
        stop_daemon(proc)
    # one line per outage, not one per retry
    assert len(log.matching(r"^MQTT: lost the broker")) == len(outages)
    for label, times in (("daemon_log", daemon_view), ("subscriber", subscriber_view)):
        figures(f"{name}.reconnect_s.{label}.min", round(min(times), 3))
        figures(f"{name}.reconnect_s.{label}.median", round(statistics.median(times), 3))
        figures(f"{name}.reconnect_s.{label}.max", round(max(times), 3))
    figures(f"{name}.restarts", len(outages))
    slow = [round(t, 2) for t in daemon_view if t > BACKOFF_MAX_S + SLACK_S]
    assert not slow, f"reconnects slower than the backoff cap {BACKOFF_MAX_S}s (+{SLACK_S}s): {slow}"


def test_the_daemon_survives_ten_broker_restarts_and_republishes_every_time(tmp_path, own_broker, figures):
    _restart_storm(tmp_path, own_broker, figures, OUTAGES_S, "broker_restarts")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_daemon_survives_a_hundred_broker_restarts(tmp_path, own_broker, figures, long_variant):
    if not long_variant:  # also when the plugin that skips 'slow' is not registered
        pytest.skip("long variant: run with --long or MOOD_EDGE_LONG=1")
    _restart_storm(tmp_path, own_broker, figures, OUTAGES_S * 10, "broker_restarts_long")


# ---------------------------------------------------------------------------------------- in-process


@pytest.fixture
def daemon_in_thread(tmp_path, own_broker):
    """The real Daemon (real frames, model and MQTT) running in a thread of this process, so that its
    publisher's queues can be looked at while the broker misbehaves."""
    started: list[Daemon] = []

    def start(**mqtt: object) -> Daemon:
        cfg = config_mod.load(fast_config(tmp_path))
        cfg.camera.source = f"dir:{astronaut_folder(tmp_path)}"
        cfg.camera.loop = True
        cfg.mqtt.broker, cfg.mqtt.device_id = own_broker.url, "inproc"
        cfg.daemon.state_dir = str(tmp_path / "state")
        for key, value in mqtt.items():
            setattr(cfg.mqtt, key, value)
        daemon = Daemon(cfg)
        thread = threading.Thread(target=daemon.run, name="daemon", daemon=True)
        thread.start()
        daemon.thread = thread  # type: ignore[attr-defined]
        started.append(daemon)
        assert daemon.pipeline.publisher is not None
        assert daemon.pipeline.publisher.wait_connected(30)
        return daemon

    yield start
    for daemon in started:
        daemon.request_stop()
        daemon.thread.join(30)  # type: ignore[attr-defined]
        assert not daemon.thread.is_alive()  # type: ignore[attr-defined]


def _queues(daemon: Daemon) -> tuple[int, int, int]:
    pub = daemon.pipeline.publisher
    assert pub is not None
    return pub.queued, len(pub._retained), len(pub.client._out_packet)


def test_nothing_queues_up_while_the_broker_is_down(own_broker, daemon_in_thread, subscriber_factory, figures):
    daemon = daemon_in_thread(heartbeat_s=0.05, max_queued=10)  # a publish every 50 ms
    pub = daemon.pipeline.publisher
    subscriber_factory(own_broker.port, ["mood-edge/inproc/state"]).wait_for("mood-edge/inproc/state")
    kept = len(pub._retained)
    own_broker.stop()
    while pub.connected:
        time.sleep(0.01)
    handed_to_paho, in_flight = pub.stats.published, pub.queued  # what was on the wire when it went
    peak = (0, 0, 0)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        peak = tuple(max(a, b) for a, b in zip(peak, _queues(daemon)))
        time.sleep(0.05)
    assert daemon.thread.is_alive() and daemon.frames > 0
    queued, retained, packets = peak
    # nothing more is handed to paho; we keep only the newest retained payload per topic
    assert pub.stats.published == handed_to_paho
    assert queued <= in_flight and packets <= 1
    assert retained == kept
    figures("broker_down.peak_paho_queue", queued)
    figures("broker_down.retained_topics_kept", retained)
    own_broker.start()
    sub = subscriber_factory(own_broker.port, ["mood-edge/inproc/state"])
    assert json.loads(sub.wait_for("mood-edge/inproc/state", timeout=30).payload)["device"] == "inproc"
    deadline = time.monotonic() + 30
    while pub.stats.published <= handed_to_paho and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pub.stats.published > handed_to_paho  # and live states flow again


def test_a_frozen_broker_fills_the_queue_only_to_max_queued_and_the_daemon_comes_back_online(
        own_broker, daemon_in_thread, subscriber_factory, figures):
    """SIGSTOP: the TCP connection stays up but nothing is acknowledged, the worst case for a queue.
    After SIGCONT the daemon must announce ``online`` again (a full queue once refused it)."""
    daemon = daemon_in_thread(heartbeat_s=0.05, max_queued=10, keepalive_s=5)
    os.kill(own_broker.proc.pid, signal.SIGSTOP)
    try:
        peak = (0, 0, 0)
        deadline = time.monotonic() + 10  # two keepalive periods: paho gives up on the silent broker
        while time.monotonic() < deadline:
            peak = tuple(max(a, b) for a, b in zip(peak, _queues(daemon)))
            time.sleep(0.02)
        assert daemon.thread.is_alive()
    finally:
        os.kill(own_broker.proc.pid, signal.SIGCONT)
    queued, retained, packets = peak
    assert 0 < queued <= 10
    figures("broker_frozen.peak_paho_queue", queued)
    figures("broker_frozen.peak_out_packets", packets)
    figures("broker_frozen.max_queued", 10)
    sub = subscriber_factory(own_broker.port, ["mood-edge/inproc/#"])
    assert sub.wait_for("mood-edge/inproc/availability", lambda m: m.payload == b"online", timeout=30)
    state = json.loads(sub.wait_for("mood-edge/inproc/state", timeout=30).payload)
    assert state["device"] == "inproc"
    assert daemon.thread.is_alive()
