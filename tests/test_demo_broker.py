"""The demo's embedded broker while TV pages come and go: the terminal never shows a traceback."""

from __future__ import annotations

import logging
import threading
import time

import pytest

pytest.importorskip("amqtt")
from websockets.sync.client import connect  # noqa: E402 - amqtt's dependency

from edge.commands.demo import EmbeddedBroker, _free_port  # noqa: E402


def _s(b: bytes) -> bytes:
    return bytes([len(b) >> 8, len(b) & 255]) + b


def _connect_packet(client_id: bytes) -> bytes:
    body = _s(b"MQTT") + bytes([4, 2, 0, 30]) + _s(client_id)
    return bytes([0x10, len(body)]) + body


SUBSCRIBE_QOS1 = bytes([0x82, 2 + 2 + 11 + 1, 0, 1]) + _s(b"mood-edge/#") + b"\x01"
PUBLISH = bytes([0x30, 2 + 16 + 2]) + _s(b"mood-edge/d/stat") + b"{}"


def _page(ws_port: int, name: bytes):
    ws = connect(f"ws://127.0.0.1:{ws_port}/", subprotocols=["mqtt"])
    ws.send(_connect_packet(name))
    ws.recv(timeout=5)
    return ws


def test_pages_that_leave_mid_delivery_leave_no_traceback_in_the_terminal(caplog, capfd):
    caplog.set_level(logging.DEBUG)
    ws_port = _free_port()
    broker = EmbeddedBroker(_free_port(), ws_port)
    broker.start()
    stop = threading.Event()

    def publisher() -> None:  # the daemon's stream of state messages
        with _page(ws_port, b"daemon") as ws:
            while not stop.is_set():
                ws.send(PUBLISH)
                time.sleep(0.02)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    try:
        for i in range(4):  # a tab closed (1001 going away) while messages were on their way to it
            page = _page(ws_port, b"page%d" % i)
            page.send(SUBSCRIBE_QOS1)  # and it never acknowledges what it gets
            time.sleep(0.3)
            page.close(code=1001)
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join(5)
        broker.stop()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Traceback" not in caplog.text
    assert "never retrieved" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info], "a log record carried a traceback"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_display_gets_each_retained_message_of_its_own_topics_once():
    """amqtt 0.12.1 alone sent a new client the retained messages of every filter any client had
    subscribed to, then its own again: availability on a state subscription, everything twice."""
    import paho.mqtt.client as mqtt

    port = _free_port()
    broker = EmbeddedBroker(port, None)
    broker.start()

    def client(name: str, topics: list[str], got: list) -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        c.on_message = lambda c_, u, m: got.append((m.topic, m.payload))
        c.on_connect = lambda c_, u, f, rc, p: [c_.subscribe(t, qos=1) for t in topics]
        c.connect("127.0.0.1", port)
        c.loop_start()
        return c

    try:
        daemon = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo")
        daemon.connect("127.0.0.1", port)
        daemon.loop_start()
        daemon.publish("mood-edge/demo/availability", "online", qos=1, retain=True).wait_for_publish(5)
        daemon.publish("mood-edge/demo/state", '{"mood": "nobody"}', qos=1, retain=True).wait_for_publish(5)
        first: list = []
        others = client("other-display", ["mood-edge/+/availability", "mood-edge/+/state"], first)
        time.sleep(1.0)
        got: list = []
        display = client("state-only", ["mood-edge/demo/state"], got)
        time.sleep(1.5)
        assert got == [("mood-edge/demo/state", b'{"mood": "nobody"}')]
        assert sorted(first) == [("mood-edge/demo/availability", b"online"),
                                 ("mood-edge/demo/state", b'{"mood": "nobody"}')]
        for c in (display, others, daemon):
            c.loop_stop()
            c.disconnect()
    finally:
        broker.stop()
