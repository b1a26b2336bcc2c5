"""mood-edge in a real Home Assistant Core (issue 24), not a schema written from its docs.

One story, played once per module (``story``) and then checked one behaviour per test:

1. the shipped broker config (systemd/mosquitto) on free loopback ports, with the ``homeassistant``
   user that ``install.sh --with-broker`` tells you to add; the daemon logs in as ``mood-edge-local`` on the
   loopback listener, as on the Pi;
2. Home Assistant (tools/ha-env.sh; version in tools/ha-requirements.txt) in its own config folder,
   onboarded, its MQTT integration added through the config-flow API, and the automation from
   displays/README.md loaded exactly as written into automations.yaml. Its ``notify.living_room_tv``
   is a notify group that forwards to a persistent notification;
3. the real daemon on a camera folder whose one frame the test swaps: an empty room, then a face
   (the astronaut) that stays for the automation's 30 s; then "Film pick thumbs down" pressed in Home
   Assistant (button.press): the daemon records the vote and publishes new picks without that film;
4. ``kill -9`` of the daemon (Last Will), a second daemon, then a Home Assistant restart with the
   retained discovery wiped from the broker while it was down: only the daemon's answer to the birth
   message can bring the entities back.

The films come from a ``recommend.library`` whose .nfo titles carry quotes, braces and Jinja syntax.
Nothing here asserts a duration; the waits are generous limits only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ha_helpers import HomeAssistant, ha_python, ha_version, screenshot_dashboard  # noqa: E402
from mqtt_helpers import (MOSQUITTO, Subscriber, free_port, let_mosquitto_read, shipped_conf_on,  # noqa: E402
                          start_mosquitto)

ROOT = Path(__file__).resolve().parent.parent
BROKER_DIR = ROOT / "systemd" / "mosquitto"
HA_PYTHON, WHY = ha_python()

pytestmark = [
    pytest.mark.skipif(HA_PYTHON is None, reason=WHY),
    pytest.mark.skipif(not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd"),
                       reason="needs Debian's mosquitto and mosquitto_passwd"),
]

DEVICE = "livingroom"
MOOD, FACES, CONFIDENCE, FILM = (f"sensor.mood_sensor_{DEVICE}_{k}" for k in ("mood", "faces", "confidence",
                                                                              "film_pick"))
ENTITIES = (MOOD, FACES, CONFIDENCE, FILM)
#: the vote buttons (edge/mqtt/homeassistant.py vote_buttons): a vote on the film pick
THUMBS_UP, THUMBS_DOWN, SEEN = (f"button.mood_sensor_{DEVICE}_film_pick_{k}" for k in ("thumbs_up", "thumbs_down",
                                                                                       "seen_it"))
BUTTONS = (THUMBS_UP, THUMBS_DOWN, SEEN)
NOT_THERE = ("unavailable", "unknown")
HA_PASSWORD = "ha-secret"
LOCAL_PASSWORD = "local-secret"  # the daemon's own login on loopback, as install.sh --with-broker makes it
OBSERVER, OBSERVER_PASSWORD = "test-observer", "observer-secret"  # the test's own read-only client

#: the library: every title is hostile, so whichever film is picked first is one of them
HOSTILE_TITLES = (
    'He said "stay" {{ 7 * 7 }} {not: json}',
    "{% raw %}Raw{% endraw %} {{ states('sun.sun') }} 'single' <b>bold</b>",
    'Braces {x} & {{ "quoted" | upper }} {% if true %}yes{% endif %}',
)
HOSTILE_PLOT = "A plot with {{ undefined_variable.boom }} and {% for %} in it."

AUTOMATION_README = ROOT / "displays" / "README.md"
NOTIFY_GROUP = """\
notify:
  - platform: group
    name: living_room_tv
    services:
      - action: persistent_notification
automation: !include automations.yaml
"""


def readme_automation_yaml() -> str:
    section = AUTOMATION_README.read_text(encoding="utf-8").split(
        "### A film suggestion on the TV when the mood changes", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def write_library(folder: Path) -> Path:
    for i, title in enumerate(HOSTILE_TITLES):
        film = folder / f"Film {i} (200{i})"
        film.mkdir(parents=True)
        (film / f"Film {i} (200{i}).mkv").write_bytes(b"\0" * 16)
        movie = ET.Element("movie")
        for tag, text in (("title", title), ("year", f"200{i}"), ("genre", "Comedy"), ("genre", "Adventure"),
                          ("runtime", "95"), ("plot", HOSTILE_PLOT)):
            ET.SubElement(movie, tag).text = text
        ET.ElementTree(movie).write(film / f"Film {i} (200{i}).nfo", encoding="utf-8", xml_declaration=True)
    return folder


class Scene:
    """The camera: a folder with one frame the test swaps atomically (an empty room, a face)."""

    def __init__(self, folder: Path) -> None:
        from faces import astronaut_gray, empty_room

        self.folder = folder
        folder.mkdir(parents=True)
        self.frames = {"empty": empty_room(), "face": astronaut_gray()}
        self.show("empty")

    def show(self, name: str) -> None:
        tmp = self.folder.parent / f"next-{name}.png"
        cv2.imwrite(str(tmp), self.frames[name])
        os.replace(tmp, self.folder / "frame.png")


class Daemon:
    def __init__(self, tmp: Path, config: Path, camera: Path, broker_port: int) -> None:
        self.cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--camera", f"dir:{camera}",
                    "--loop", "--broker", f"mqtt://127.0.0.1:{broker_port}", "--device-id", DEVICE,
                    "--state-dir", str(tmp / "state")]
        self.tmp = tmp
        self.runs = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.runs += 1
        log = open(self.tmp / f"daemon-{self.runs}.log", "w")
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1",
                                          "MOOD_EDGE_MQTT_USERNAME": "mood-edge-local",
                                          "MOOD_EDGE_MQTT_PASSWORD": LOCAL_PASSWORD})

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self, run: int) -> str:
        return (self.tmp / f"daemon-{run}.log").read_text(errors="replace")


def start_broker(etc: Path) -> tuple[subprocess.Popen, int]:
    """The shipped mood-edge.conf and ACL, plus the homeassistant user as the install docs add it."""
    for name in ("acl", "acl-displays"):
        shutil.copy(BROKER_DIR / name, etc / name)
    with open(etc / "acl", "a", encoding="utf-8") as acl:  # the test's own observer: reads, takes nobody's id
        acl.write(f"\nuser {OBSERVER}\ntopic read mood-edge/#\ntopic read homeassistant/#\n")
    (etc / "web").mkdir()
    for name in ("passwd", "passwd-displays"):  # install.sh creates both, empty
        (etc / name).touch()
    subprocess.run([str(BROKER_DIR / "make-certs.sh"), "--dir", str(etc / "certs")], check=True,
                   capture_output=True, text=True)
    for user, password in (("homeassistant", HA_PASSWORD), ("mood-edge-local", LOCAL_PASSWORD),
                           (OBSERVER, OBSERVER_PASSWORD)):
        subprocess.run([str(BROKER_DIR / "mood-edge-user.sh"), "--dir", str(etc), "--password-stdin", "add",
                        "service", user], input=password + "\n", check=True, capture_output=True, text=True)
    plain, tls, ws = free_port(), free_port(), free_port()
    conf = etc / "mood-edge.conf"
    conf.write_text(shipped_conf_on((BROKER_DIR / "mood-edge.conf").read_text(), etc, plain, tls, ws))
    let_mosquitto_read(etc)
    log = open(etc.parent / "mosquitto.log", "w+")
    return start_mosquitto(conf, (plain, tls, ws), log, "the shipped config"), plain


def wipe_retained_discovery(port: int, topics: list[str]) -> None:
    """What a broker that lost its retained messages looks like (as Home Assistant's user, which may)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wipe-{time.time_ns()}")
    c.username_pw_set("homeassistant", HA_PASSWORD)
    c.connect("127.0.0.1", port)
    c.loop_start()
    for t in topics:
        c.publish(t, b"", qos=1, retain=True).wait_for_publish(30)
    c.loop_stop()
    c.disconnect()


def automation_trace(ha: HomeAssistant) -> dict:
    """The README automation's last run as Home Assistant traced it (Settings -> Automations -> Traces)."""
    item = "mood_edge_livingroom_tv_pick"
    runs = ha.ws({"type": "trace/list", "domain": "automation", "item_id": item})
    assert runs, "the automation never ran"
    return ha.ws({"type": "trace/get", "domain": "automation", "item_id": item, "run_id": runs[-1]["run_id"]})


def vote_from_a_button(ha: HomeAssistant, sub: Subscriber, state_dir: Path) -> dict:
    """Press "Film pick thumbs down" as a dashboard or an automation would (button.press)."""
    from edge.recommend.taste import TASTE_FILE, TasteStore

    first = json.loads(sub.on(f"mood-edge/{DEVICE}/state")[-1].payload)["recommendations"][0]
    buttons = ha.wait_states(lambda st: all(st.get(b, {}).get("state") not in (None, "unavailable") for b in BUTTONS))
    t0 = time.monotonic()
    ha.post("/api/services/button/press", {"entity_id": THUMBS_DOWN})
    answer = sub.wait_for(f"mood-edge/{DEVICE}/feedback/result", lambda m: m.t > t0, timeout=60)
    # three films in the library, five picks: the film voted down can only come last now
    after = sub.wait_for(f"mood-edge/{DEVICE}/state", lambda m: m.t > t0 and json.loads(m.payload)[
        "recommendations"][0]["key"] != first["key"], timeout=60)
    sensor = ha.wait_state(FILM, lambda s: s["state"] not in (first["title"], *NOT_THERE))
    return {"first": first, "buttons": {b: buttons[b] for b in BUTTONS}, "answer": json.loads(answer.payload),
            "after": json.loads(after.payload), "sensor": sensor,
            "taste": [v.to_dict() for v in TasteStore(state_dir / TASTE_FILE).votes]}


def is_mood(s: dict) -> bool:
    return s["state"] not in (*NOT_THERE, "nobody")


def log_records(text: str) -> list[str]:
    """Home Assistant's log as records: a timestamped line plus its traceback lines."""
    records: list[str] = []
    for line in text.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


class Failed:
    def __init__(self, why: str) -> None:
        self.why = why


class Story(dict):
    """What the story saw. A step that did not happen fails only the tests that read it, with why."""

    def attempt(self, key: str, step) -> None:
        try:
            self[key] = step()
        except (AssertionError, TimeoutError) as exc:
            self[key] = Failed(f"{key}: {exc}")

    def __getitem__(self, key: str):
        value = super().get(key, Failed(f"the story stopped before {key!r}"))
        if isinstance(value, Failed):
            pytest.fail(value.why)
        return value


def save_for_docs(seen: Story) -> None:
    """What Home Assistant's API showed, for displays/README.md (artifacts/home-assistant-real.json)."""
    if not all(isinstance(dict.get(seen, k), (dict, list)) for k in ("face", "notifications")):
        return
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "home-assistant-real.json").write_text(json.dumps({
        "home_assistant": ha_version(),
        "states": {e: seen["face"].get(e) for e in ENTITIES},
        "registry": [e for e in seen["registry"] if e["entity_id"] in ENTITIES],
        "devices": [d for d in seen["devices"] if d["manufacturer"] == "mood-edge"],
        "notifications": seen["notifications"]}, indent=1, ensure_ascii=False))


@pytest.fixture(scope="module")
def story() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="mood-edge-ha-"))
    tmp.chmod(0o755)
    (etc := tmp / "etc").mkdir()
    broker, port = start_broker(etc)
    ha = HomeAssistant(HA_PYTHON, tmp / "ha")
    seen = Story(tmp=tmp, ha=ha)
    daemon = None
    sub = Subscriber(port, [f"mood-edge/{DEVICE}/#", f"homeassistant/sensor/mood_edge_{DEVICE}/+/config"],
                     username=OBSERVER, password=OBSERVER_PASSWORD)
    try:
        ha.write_config(NOTIFY_GROUP)
        (ha.dir / "automations.yaml").write_text(readme_automation_yaml())
        ha.start()
        ha.onboard()
        ha.wait_running()
        seen["mqtt_entry"] = ha.set_up_mqtt(port, "homeassistant", HA_PASSWORD)

        config = tmp / "config.toml"
        config.write_text("[camera]\nfps = 5\nretry_s = 0.2\nretry_max_s = 1.0\n"
                          "[mood]\ndwell_s = 0.3\nnobody_after_s = 0.5\n"
                          "[mqtt]\nheartbeat_s = 1.0\nreconnect_min_s = 1\nreconnect_max_s = 2\n"
                          f"[recommend]\nseed = 7\nlibrary = {json.dumps(str(write_library(tmp / 'films')))}\n")
        scene = Scene(tmp / "camera")
        daemon = Daemon(tmp, config, scene.folder, port)
        daemon.start()
        seen.attempt("empty", lambda: ha.wait_state(MOOD, lambda s: s["state"] == "nobody"))
        scene.show("face")
        seen.attempt("face", lambda: ha.wait_states(lambda st: all(e in st for e in ENTITIES) and is_mood(st[MOOD])))
        seen.attempt("published", lambda: json.loads(sub.wait_for(
            f"mood-edge/{DEVICE}/state", lambda m: json.loads(m.payload)["mood"] != "nobody").payload))
        if os.environ.get("MOOD_EDGE_HA_SCREENSHOT"):  # the docs' picture is test_home_assistant_rooms.py's
            seen.attempt("screenshot", lambda: screenshot_dashboard(ha, "Film pick",
                                                                    Path(os.environ["MOOD_EDGE_HA_SCREENSHOT"])))
            if isinstance(dict.get(seen, "screenshot"), Failed):
                print("no screenshot:", seen.get("screenshot").why[:2000], file=sys.stderr)
        seen["devices"] = ha.ws({"type": "config/device_registry/list"})
        seen["registry"] = ha.ws({"type": "config/entity_registry/list"})
        deadline = time.monotonic() + 120  # the automation waits for the mood to hold 30 s
        while time.monotonic() < deadline and not ha.notifications():
            time.sleep(1)
        seen["notifications"] = ha.notifications()
        seen.attempt("trace", lambda: automation_trace(ha))
        seen.attempt("vote", lambda: vote_from_a_button(ha, sub, tmp / "state"))

        daemon.kill9()
        seen.attempt("dead", lambda: ha.wait_states(lambda st: all(
            st.get(e, {}).get("state") == "unavailable" for e in ENTITIES)))
        daemon.start()
        seen.attempt("back", lambda: ha.wait_state(MOOD, is_mood))

        ha.stop()
        discovery = sorted({m.topic for m in sub.on(f"homeassistant/sensor/mood_edge_{DEVICE}/+/config")})
        wipe_retained_discovery(port, discovery)
        sub.clear()
        ha.start()
        seen.attempt("restarted", lambda: ha.wait_states(lambda st: all(
            st.get(e, {}).get("state") not in (None, *NOT_THERE) for e in ENTITIES)))
        seen.attempt("reannounced", lambda: sorted(sub.wait_for(t, lambda m: bool(m.payload)).topic
                                                   for t in discovery))
        seen["discovery_topics"] = discovery
        seen["daemon_log"] = daemon.log(2)
        seen["repairs"] = ha.ws({"type": "repairs/list_issues"})["issues"]
        save_for_docs(seen)
        yield seen
    finally:
        if daemon:
            daemon.stop()
        sub.close()
        ha.stop()
        seen["ha_log"] = ha.log()
        (ROOT / "artifacts").mkdir(exist_ok=True)
        (ROOT / "artifacts" / "home-assistant-real.log").write_text(seen["ha_log"])
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


# --- what Home Assistant shows ------------------------------------------------------------------

def test_the_device_appears_with_the_names_the_readme_promises(story):
    (device,) = [d for d in story["devices"] if ["mqtt", f"mood_edge_{DEVICE}"] in d["identifiers"]]
    assert device["name"] == f"Mood sensor {DEVICE}"
    assert device["manufacturer"] == "mood-edge" and device["model"] == "mood-edge camera mood sensor"
    assert device["model_id"] and device["sw_version"]
    ours = {e["entity_id"]: e for e in story["registry"] if e["device_id"] == device["id"]}
    assert set(ours) == set(ENTITIES) | set(BUTTONS)
    assert {story["face"][e]["attributes"]["friendly_name"] for e in ENTITIES} == {
        f"Mood sensor {DEVICE} {n}" for n in ("Mood", "Faces", "Confidence", "Film pick")}


def test_the_mood_sensor_carries_confidence_probabilities_faces_and_films(story):
    mood = story["face"][MOOD]
    attrs = mood["attributes"]
    assert {"confidence", "probabilities", "faces", "since", "recommendations", "strategy", "camera"} <= attrs.keys()
    assert mood["state"] in attrs["probabilities"]
    assert attrs["faces"] == 1 and 0 < attrs["confidence"] <= 1
    assert attrs["recommendations"] and all(f["path"] for f in attrs["recommendations"])


def test_faces_confidence_and_film_pick_have_their_units_and_categories(story):
    faces, conf = story["face"][FACES], story["face"][CONFIDENCE]
    assert faces["state"] == "1"
    assert "unit_of_measurement" not in faces["attributes"]  # a count: no "1 faces"
    assert faces["attributes"]["state_class"] == "measurement"
    assert conf["attributes"]["unit_of_measurement"] == "%" and 0 < float(conf["state"]) <= 100
    (conf_entry,) = [e for e in story["registry"] if e["entity_id"] == CONFIDENCE]
    assert conf_entry["entity_category"] == "diagnostic"
    assert story["face"][FILM]["state"] == story["published"]["recommendations"][0]["title"]


def test_an_empty_room_reads_nobody_and_a_face_reads_a_mood(story):
    assert story["empty"]["state"] == "nobody"
    assert story["empty"]["attributes"]["faces"] == 0
    assert is_mood(story["face"][MOOD])


def test_every_entity_goes_unavailable_on_the_last_will_and_comes_back(story):
    assert {e: story["dead"][e]["state"] for e in ENTITIES} == dict.fromkeys(ENTITIES, "unavailable")
    assert is_mood(story["back"])


def test_a_home_assistant_restart_gets_discovery_back_through_the_birth_message(story):
    assert story["discovery_topics"] and story["reannounced"] == story["discovery_topics"]
    assert "Home Assistant came online: re-announcing discovery" in story["daemon_log"]
    assert all(story["restarted"][e]["state"] not in NOT_THERE for e in ENTITIES)


def test_the_readme_automation_fires_and_notifies_the_first_pick(story):
    (note,) = story["notifications"]
    first = story["published"]["recommendations"][0]
    assert note["title"] == f"The room looks {story['published']['mood']}"
    assert first["title"] in note["message"]
    assert "in your library" in note["message"]


def test_the_automation_hands_the_first_picks_library_path_to_its_actions(story):
    (variables_step,) = story["trace"]["trace"]["action/0"]
    film = variables_step["changed_variables"]["film"]
    first = story["published"]["recommendations"][0]
    assert film["title"] == first["title"] and film["path"] == first["path"]
    assert film["path"].endswith(".mkv")  # what a follow-up media_player.play_media would be given


def test_hostile_titles_arrive_as_plain_text(story):
    titles = [f["title"] for f in story["face"][MOOD]["attributes"]["recommendations"]]
    assert set(titles) <= set(HOSTILE_TITLES) and titles
    assert story["face"][FILM]["state"] in HOSTILE_TITLES
    assert any(t in story["notifications"][0]["message"] for t in HOSTILE_TITLES)
    assert all(f["description"] == HOSTILE_PLOT for f in story["face"][MOOD]["attributes"]["recommendations"])


def test_home_assistant_raises_no_repair_issue_about_mqtt_or_our_device(story):
    assert [i for i in story["repairs"] if i["domain"] in ("mqtt", "sensor", "automation", "notify")
            or "mood" in json.dumps(i).lower()] == []


def test_home_assistants_log_has_no_warning_about_our_entities_or_topics(story):
    ours = re.compile(r"mood[_-]edge|mood_sensor|Mood sensor", re.I)
    bad = [r for r in log_records(story["ha"].log())
           if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", r.split("\n", 1)[0]) and ours.search(r)]
    assert not bad, "\n\n".join(bad)


# --- votes from Home Assistant ------------------------------------------------------------------

def test_the_vote_buttons_appear_on_the_device_with_their_names(story):
    buttons = story["vote"]["buttons"]
    assert {b["attributes"]["friendly_name"] for b in buttons.values()} == {
        f"Mood sensor {DEVICE} Film pick {n}" for n in ("thumbs up", "thumbs down", "seen it")}


def test_a_button_in_home_assistant_votes_on_the_film_pick_and_new_picks_follow(story):
    vote = story["vote"]
    first = vote["first"]
    assert vote["answer"] == {"film": first["key"], "vote": "down", "ok": True, "title": first["title"],
                              "message": f"Thumbs down for {first['title']}"}
    assert vote["after"]["recommendations"][0]["key"] != first["key"]
    assert first["key"] not in [r["key"] for r in vote["after"]["recommendations"]][:2]  # last of three, if at all
    assert vote["sensor"]["state"] == vote["after"]["recommendations"][0]["title"]  # HA's Film pick moved on
    (recorded,) = [v for v in vote["taste"] if v["film"] == first["key"]]
    assert recorded["value"] < 0 and recorded["source"] == "homeassistant"
