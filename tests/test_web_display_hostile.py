"""The web page against hostile state messages (issue 15): prototype keys, bidi overrides,
absurd numbers, oversized payloads and many devices. Same real Chromium + mosquitto fixtures as
tests/test_web_display.py."""

from __future__ import annotations

import random

from state_helpers import state
from test_web_display import FILMS_SAD, browser, only, page_url, pub, sel, web_url, ws_broker  # noqa: F401


def test_prototype_property_names_as_moods_show_as_plain_words(ws_broker, web_url, browser, pub):
    for dev, mood in (("protoA", "constructor"), ("protoB", "__proto__"), ("protoC", "toString")):
        pub(f"proto/{dev}/state", state(dev, mood=mood))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, prefix="proto"), width=1280, height=720)
    browser.wait("document.querySelectorAll('.device .face svg').length === 3")
    snap = browser.send("snapshot")
    assert [(d["word"], d["mood"]) for d in snap["devices"]] == [
        ("constructor", "other"), ("__proto__", "other"), ("toString", "other")]
    assert not any(p.startswith("pageerror") for p in snap["problems"]), snap["problems"]


def test_bidi_overrides_and_controls_never_reach_the_page(ws_broker, web_url, browser, pub):
    dev = "bidi"
    film = {**FILMS_SAD[0], "title": "Up\u202egnp.exe", "genres": ["\u2066family\u2069"]}
    pub(f"mood-edge/{dev}/state", state(dev, mood="sad", recommendations=[film]))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1280, height=720)
    browser.wait(f"{sel(dev)} && {sel(dev)}.querySelectorAll('.film').length === 1")
    shown = only(browser.send("snapshot"), dev)["films"][0]
    assert shown["title"] == "Up gnp.exe" and shown["genres"] == ["family"]


def test_absurd_numbers_are_not_shown(ws_broker, web_url, browser, pub):
    for dev, faces in (("numA", 1e308), ("numB", -5), ("numC", 10**20)):
        film = {**FILMS_SAD[0], "year": -3, "runtime": 10**12}
        pub(f"nums/{dev}/state", state(dev, mood="sad", faces=faces, recommendations=[film]))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, prefix="nums"), width=1280, height=720)
    browser.wait("document.querySelectorAll('.device .film').length === 3")
    for d in browser.send("snapshot")["devices"]:
        assert d["faces"] == "" and d["films"][0]["year"] == "" and d["films"][0]["runtime"] == "", d


def test_an_oversized_state_is_ignored_with_a_warning_and_the_last_state_stays(ws_broker, web_url, browser, pub):
    dev = "huge"
    pub(f"mood-edge/{dev}/state", state(dev, mood="neutral"))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1280, height=720)
    browser.wait(f"{sel(dev)} && {sel(dev)}.dataset.mood === 'neutral'")
    pub(f"mood-edge/{dev}/state", state(dev, mood="happy", padding="x" * (64 * 1024)), retain=False)
    browser.wait("!document.getElementById('warning').hidden")
    snap = browser.send("snapshot")
    assert "huge: ignored a" in snap["warning"] and "-byte message" in snap["warning"]
    assert only(snap, dev)["word"] == "Neutral"


def test_many_devices_arriving_in_any_order_are_shown_in_name_order(ws_broker, web_url, browser, pub):
    names = [f"dev{i:03d}" for i in range(150)]
    random.Random(15).shuffle(names)
    for dev in names:
        pub(f"many/{dev}/availability", "online")
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, prefix="many"), width=1280, height=720)
    browser.wait("document.querySelectorAll('.device').length === 150")
    assert [d["device"] for d in browser.send("snapshot")["devices"]] == sorted(names)


def test_a_pick_without_a_valid_key_offers_no_vote_and_hostile_answers_show_as_plain_text(ws_broker, web_url,
                                                                                         browser, pub):
    dev = "keys"
    films = [{**FILMS_SAD[0], "title": f"Film {i}", "key": key}
             for i, key in enumerate(("up-2009", "<b>x</b>", "__proto__", "A" * 90, None))]
    pub(f"mood-edge/{dev}/state", state(dev, mood="sad", recommendations=films))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device=dev), width=1280, height=720)
    browser.wait(f"{sel(dev)} && {sel(dev)}.querySelectorAll('.film').length === 5")
    shown = only(browser.send("snapshot"), dev)["films"]
    assert [f["key"] for f in shown] == ["up-2009", "", "", "", ""]
    assert [f["votable"] for f in shown] == [True, False, False, False, False]  # shown, but disabled
    for answer in (b"not json", b"[1]", b'{"ok": "yes"}',
                   '{"ok": false, "message": "<img src=x onerror=alert(1)>\u202e"}'.encode()):
        pub(f"mood-edge/{dev}/feedback/result", answer, retain=False)
    browser.wait(f"{sel(dev)}.querySelector('.vote-note').textContent.includes('onerror')")
    snap = browser.send("snapshot")
    assert only(snap, dev)["voteNote"] == "✗ <img src=x onerror=alert(1)>"
    assert snap["injected"] == 0 and not any(p.startswith("pageerror") for p in snap["problems"])
