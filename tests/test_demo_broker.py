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
