"""The TV page showing every room of a house (issue 35), in headless Chromium on a real mosquitto:
rooms named by their area, and a room whose bridge to the house is down shown offline.
The screenshot goes to docs/img/tv-page-rooms.png (the picture in docs/house.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from state_helpers import state  # noqa: E402
from test_web_display import (ARTIFACTS, Browser, browser, only, page_url, pub, pytestmark, sel,  # noqa: E402,F401
                              web_url, ws_broker)

ROOT = Path(__file__).resolve().parent.parent
SHOT = ROOT / "docs" / "img" / "tv-page-rooms.png"

CATALOG = {f["title"]: f for f in json.loads((ROOT / "catalog.json").read_text())["films"]}


def films(*titles: str, reason: str) -> list[dict]:
    """Real catalog entries, as the recommender sends them."""
    keep = ("title", "year", "genres", "runtime", "rating", "family", "description")
    return [{**{k: CATALOG[t][k] for k in keep if k in CATALOG[t]}, "reasons": [reason]} for t in titles]


def name(device: str) -> str:
    return f"{sel(device)}.querySelector('.name').textContent"


def test_every_room_shows_by_its_area_and_a_room_whose_link_is_down_shows_offline(ws_broker, web_url, browser, pub):
    rooms = {
        "lounge": ("Living room", "happy", 0.86, 3, "match", films("Paddington 2", "Toy Story", "Amélie",
                                                                   reason="comedy favoured for happy (match)")),
        "kitchen": ("Kitchen", "sad", 0.71, 1, "lift", films("Up", "The Princess Bride", "Groundhog Day",
                                                             reason="comedy favoured for sad (lift)")),
    }
    for device, (area, mood, conf, faces, strategy, picks) in rooms.items():
        pub(f"mood-edge/{device}/availability", "online")
        pub(f"mood-edge-bridge/{device}", "1")
        pub(f"mood-edge/{device}/state", state(device, mood=mood, confidence=conf, faces=faces, area=area,
                                               strategy=strategy, recommendations=picks))
    browser.send("open", url=page_url(web_url, ws_broker.ws_url, device="all"), width=1920, height=1080)
    for device, (area, *_rest) in rooms.items():
        browser.wait(f"{sel(device)} && {name(device)} === {json.dumps(area)} && {sel(device)}.dataset.status === 'live'")
    browser.send("screenshot", path=str(SHOT))
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-rooms.png"))

    pub("mood-edge-bridge/kitchen", "0")  # the house broker keeps the bridge's Last Will
    browser.wait(f"{sel('kitchen')}.dataset.status === 'offline'")
    snap = browser.send("snapshot")
    kitchen, lounge = only(snap, "kitchen"), only(snap, "lounge")
    assert kitchen["status"] == "Offline" and "not reachable" in kitchen["note"]
    assert lounge["statusKind"] == "live"
    assert snap["conn"] == "Kitchen offline"  # the bar names the room, not its id
    browser.send("screenshot", path=str(ARTIFACTS / "web-display-rooms-link-down.png"))
    pub("mood-edge-bridge/kitchen", "1")
    browser.wait(f"{sel('kitchen')}.dataset.status === 'live'")
    for device in rooms:  # leave the broker as the other tests expect it
        for topic in (f"mood-edge/{device}/state", f"mood-edge/{device}/availability", f"mood-edge-bridge/{device}"):
            pub(topic, b"")
