"""Two rooms in a real Home Assistant Core on the house broker (issue 35): each Pi bridged (the real
``mood-edge bridge`` block, TLS) from its own mosquitto, a real daemon on the sample clip in each,
and Home Assistant (tools/ha-env.sh) on the house broker as its ``homeassistant`` user.

It checks that each room is its own device in the area its config names, with real catalog films,
and that a room whose link is cut turns unavailable while the other stays. With
MOOD_EDGE_HA_SCREENSHOT=PATH it also takes the Overview dashboard (docs/img/home-assistant-rooms.png).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bridge_helpers import Rooms  # noqa: E402
from ha_helpers import HomeAssistant, ha_python, screenshot_dashboard  # noqa: E402
from mqtt_helpers import MOSQUITTO  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HA_PYTHON, WHY = ha_python()

pytestmark = [
    pytest.mark.skipif(HA_PYTHON is None, reason=WHY),
    pytest.mark.skipif(not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd")
                       or not shutil.which("openssl"), reason="needs Debian's mosquitto, mosquitto_passwd and openssl"),
]

PASSWORDS = {"kitchen": "k-bridge-secret", "lounge": "l-bridge-secret", "homeassistant": "ha-secret"}
#: "Kitchen" is one of the areas Home Assistant makes at onboarding; "Lounge" is not: it is made from suggested_area
AREAS = {"kitchen": "Kitchen", "lounge": "Lounge"}
NOT_THERE = ("unavailable", "unknown")
TITLES = {f["title"] for f in json.loads((ROOT / "catalog.json").read_text())["films"]}


def entity(device: str, key: str) -> str:
    return f"sensor.mood_sensor_{device}_{key}"


@pytest.fixture(scope="module")
def house():
    rooms = Rooms(PASSWORDS, AREAS, keepalive_s=5)
    ha = HomeAssistant(HA_PYTHON, Path(tempfile.mkdtemp(prefix="mood-edge-ha-rooms-")) / "ha")
    try:
        rooms.wait_for_states()
        ha.write_config("")
        ha.start()
        ha.onboard()
        ha.wait_running()
        ha.set_up_mqtt(rooms.house.plain, "homeassistant", PASSWORDS["homeassistant"])
        ha.wait_states(lambda st: all(entity(d, "film_pick") in st and st[entity(d, "film_pick")]["state"]
                                      not in (*NOT_THERE, "none") for d in AREAS), timeout=240)
        yield rooms, ha
    finally:
        ha.stop()
        rooms.close()


def test_each_room_is_its_own_device_in_the_area_its_config_names(house):
    rooms, ha = house
    areas = {a["area_id"]: a["name"] for a in ha.ws({"type": "config/area_registry/list"})}
    devices = {d["name"]: areas.get(d["area_id"]) for d in ha.ws({"type": "config/device_registry/list"})
               if d["manufacturer"] == "mood-edge"}
    assert devices == {"Mood sensor kitchen": "Kitchen", "Mood sensor lounge": "Lounge"}


def test_each_rooms_film_pick_is_a_catalog_film(house):
    rooms, ha = house
    for device in AREAS:
        assert ha.state(entity(device, "film_pick"))["state"] in TITLES
    if os.environ.get("MOOD_EDGE_HA_SCREENSHOT"):  # for the docs
        screenshot_dashboard(ha, "Film pick", Path(os.environ["MOOD_EDGE_HA_SCREENSHOT"]))


def test_a_room_whose_link_is_cut_turns_unavailable_while_the_other_stays(house):
    rooms, ha = house
    rooms.links["kitchen"].cut()
    try:
        ha.wait_state(entity("kitchen", "mood"), lambda s: s["state"] == "unavailable", timeout=60)
        assert ha.state(entity("lounge", "mood"))["state"] not in NOT_THERE
    finally:
        rooms.links["kitchen"].mend()
    ha.wait_state(entity("kitchen", "mood"), lambda s: s["state"] not in NOT_THERE, timeout=90)
