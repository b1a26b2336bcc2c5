"""The TV page never tells two stories: one state machine (displays/web/state.js, the same table as
edge/mqtt/display_state.py) decides what a device's card and the bar say, tested in headless Chromium
for each transition against a real mosquitto."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from mqtt_helpers import Mosquitto, free_port, wait_port  # noqa: E402
from state_helpers import FILMS, state  # noqa: E402
from test_web_display import (ARTIFACTS, ROOT, Publisher, browser, only, page_url, pub, pytestmark,  # noqa: E402,F401
                              sel, web_url, ws_broker)

BAR = "document.getElementById('conn')"


def card(browser, dev: str) -> dict:
    snap = browser.send("snapshot")
    assert snap["problems"] == []
    return {**only(snap, dev), "bar": snap["conn"], "barState": snap["connState"]}


def open_page(browser, web_url, broker_url, dev, **params) -> None:
    browser.send("open", url=page_url(web_url, broker_url, device=dev, **params), width=1920, height=1080)


def test_before_the_broker_answers_the_page_says_connecting_and_never_live(web_url, browser):
    open_page(browser, web_url, f"ws://127.0.0.1:{free_port()}", "nowhere")
    browser.wait(f"{BAR}.dataset.state === 'error' || {BAR}.textContent.includes('connecting')")
    snap = browser.send("snapshot")
    assert snap["devices"] == [] and "live" not in snap["conn"] and snap["connState"] != "connected"


def test_a_device_that_said_only_online_is_live_with_no_mood_yet(ws_broker, web_url, browser, pub):
    dev = "st-online"
    pub(f"mood-edge/{dev}/availability", "online")
    open_page(browser, web_url, ws_broker.ws_url, dev)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.status === 'live'")
    d = card(browser, dev)
    assert (d["word"], d["status"], d["faces"], d["barState"], d["bar"]) == ("No mood yet", "Live", "", "connected", "live")


def test_a_live_mood_shows_its_face_count_and_the_bar_is_live(ws_broker, web_url, browser, pub):
    dev = "st-live"
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev, faces=2))
    open_page(browser, web_url, ws_broker.ws_url, dev)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.mood === 'happy'")
    d = card(browser, dev)
    assert (d["statusKind"], d["status"], d["word"], d["faces"]) == ("live", "Live", "Happy", "2 faces")
    assert d["note"] is None and (d["barState"], d["bar"]) == ("connected", "live")


def test_nobody_shows_no_face_count_even_if_a_message_carries_one(ws_broker, web_url, browser, pub):
    dev = "st-nobody"
    pub(f"mood-edge/{dev}/availability", "online")
    open_page(browser, web_url, ws_broker.ws_url, dev)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.status === 'live'")
    pub(f"mood-edge/{dev}/state", state(dev, mood="happy", faces=1))
    browser.wait(f"{sel(dev)}.dataset.mood === 'happy'")
    pub(f"mood-edge/{dev}/state", state(dev, mood="nobody", confidence=0.0, faces=2))  # an older daemon
    browser.wait(f"{sel(dev)}.dataset.mood === 'nobody'")
    d = card(browser, dev)
    assert (d["word"], d["faces"], d["confidence"], d["statusKind"]) == ("Nobody here", "", "0% sure", "live")
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-nobody.png"))


def test_offline_turns_the_bar_from_live_to_the_devices_name_and_back(ws_broker, web_url, browser, pub):
    dev = "st-offline"
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev))
    open_page(browser, web_url, ws_broker.ws_url, dev)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.status === 'live'")
    pub(f"mood-edge/{dev}/availability", "offline")
    browser.wait(f"{sel(dev)}.dataset.status === 'offline'")
    d = card(browser, dev)
    assert (d["status"], d["word"], d["note"]) == ("Offline", "Happy", "Offline · showing the last known mood")
    assert d["barState"] == "error" and d["bar"] == f"{dev} offline"  # never the green "live" beside it
    pub(f"mood-edge/{dev}/availability", "online")
    browser.wait(f"{sel(dev)}.dataset.status === 'live' && {BAR}.textContent === 'live'")


def test_a_device_not_heard_from_turns_stale_and_live_again_on_its_next_message(ws_broker, web_url, browser, pub):
    dev = "st-stale"
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev))
    open_page(browser, web_url, ws_broker.ws_url, dev, stale="1")
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.status === 'stale'", timeout_ms=20000)
    d = card(browser, dev)
    assert d["status"] == "No news" and d["note"].startswith("No news for") and d["word"] == "Happy"
    assert d["barState"] != "connected" and "live" not in d["bar"]
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-stale.png"))
    pub(f"mood-edge/{dev}/state", state(dev, mood="sad"), retain=False)  # a heartbeat
    browser.wait(f"{sel(dev)}.dataset.mood === 'sad'")


def test_when_the_broker_goes_away_the_card_says_not_connected_never_live(web_url, browser):
    wsport = free_port()
    broker = Mosquitto(extra_conf=f"listener {wsport} 127.0.0.1\nprotocol websockets\n").start()
    try:
        wait_port(wsport)
        dev = "st-link"
        p = Publisher(broker.port)
        p(f"mood-edge/{dev}/availability", "online")
        p(f"mood-edge/{dev}/state", state(dev))
        p.close()
        open_page(browser, web_url, f"ws://127.0.0.1:{wsport}", dev)
        browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.status === 'live'")
    finally:
        broker.stop()
    browser.wait(f"{sel(dev)}.dataset.status === 'connecting'")
    d = card(browser, dev)
    assert d["status"] == "Not connected" and d["note"] == "Not connected to the broker · showing the last known mood"
    assert d["barState"] != "connected" and "live" not in d["bar"]


#: the README's picture: picks with keys (so with votes) and reasons in the plain words the daemon writes
PICTURE_KEYS = ("imdb:tt4468740", "imdb:tt0045152", "imdb:tt2278388", "imdb:tt0211915", "imdb:tt0114709")
PICTURE_REASONS = (["you liked Paddington and Toy Story"], ["musicals suit a happy room"],
                   ["comedies suit a happy room", "highly rated"], ["romances suit a happy room"],
                   ["you liked Paddington 2"])


def test_films_the_household_owns_carry_an_owned_badge(ws_broker, web_url, browser, pub):
    dev = "livingroom"  # the name in the README's picture
    films = [{**f, "owned": i in (0, 2), "key": key, "reasons": why}
             for i, (f, key, why) in enumerate(zip(FILMS, PICTURE_KEYS, PICTURE_REASONS))]
    films[1] = {k: v for k, v in films[1].items() if k != "owned"}  # optional: absent means not owned
    films[3]["owned"] = "yes"  # not a boolean: not owned
    pub(f"mood-edge/{dev}/availability", "online")
    pub(f"mood-edge/{dev}/state", state(dev, recommendations=films))
    open_page(browser, web_url, ws_broker.ws_url, dev)
    browser.wait(f"{sel(dev)} && {sel(dev)}.querySelectorAll('.film').length === 5")
    d = card(browser, dev)
    assert [f["owned"] for f in d["films"]] == [True, False, True, False, False]
    pub(f"mood-edge/{dev}/feedback/result", '{"film": "imdb:tt4468740", "vote": "up", "ok": true, '
        '"title": "Paddington 2", "message": "Thumbs up for Paddington 2"}', retain=False)
    browser.wait(f"{sel(dev)}.querySelector('.vote-note').textContent.startsWith('✓')")
    shot = ARTIFACTS / "tv-page.png"
    browser.send("screenshot", path=str(shot))  # docs/img/tv-page.png is this picture, committed
    if (ROOT / "docs" / "img").is_dir() and __import__("os").environ.get("MOOD_EDGE_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, ROOT / "docs" / "img" / "tv-page.png")
