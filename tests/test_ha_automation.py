"""The Home Assistant automation in displays/README.md, as a user pastes it.

No Home Assistant here: the YAML block is loaded, checked against a JSON Schema written from
Home Assistant's documented automation format, its entity id is the one our MQTT discovery
creates, and its Jinja templates are rendered (HA templates are Jinja2, sandboxed) on a real
state message.

Sources for the schema:
  https://www.home-assistant.io/docs/automation/yaml/        (id, alias, description, mode, ...)
  https://www.home-assistant.io/docs/automation/modes/       (single, restart, queued, parallel)
  https://www.home-assistant.io/docs/automation/trigger/#state-trigger
  https://www.home-assistant.io/docs/scripts/conditions/#template-condition
  https://www.home-assistant.io/docs/scripts/#call-an-action  (action: domain.name, data, target)
  https://www.home-assistant.io/docs/scripts/#variables
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from edge.config import Config
from edge.mqtt.homeassistant import discovery_messages

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")
sandbox = pytest.importorskip("jinja2.sandbox")

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "displays" / "README.md"

TEMPLATE = {"type": "string"}
ENTITY_ID = {"type": "string", "pattern": r"^[a-z_]+\.[a-z0-9_]+$"}
STATES = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
DURATION = {"oneOf": [{"type": "string", "pattern": r"^\d{1,2}:\d{2}:\d{2}$"}, {"type": "integer"},
                      {"type": "object", "propertyNames": {"enum": ["days", "hours", "minutes", "seconds",
                                                                    "milliseconds"]}}]}
STATE_TRIGGER = {
    "type": "object", "required": ["trigger", "entity_id"], "additionalProperties": False,
    "properties": {"trigger": {"const": "state"}, "id": {"type": "string"}, "entity_id": ENTITY_ID,
                   "attribute": {"type": "string"}, "from": STATES, "to": STATES, "not_from": STATES,
                   "not_to": STATES, "for": DURATION, "enabled": {"type": "boolean"},
                   "variables": {"type": "object"}},
    "not": {"anyOf": [{"required": ["from", "not_from"]}, {"required": ["to", "not_to"]}]},
}
TEMPLATE_CONDITION = {
    "type": "object", "required": ["condition", "value_template"], "additionalProperties": False,
    "properties": {"condition": {"const": "template"}, "value_template": TEMPLATE, "alias": {"type": "string"}},
}
ACTION_CALL = {
    "type": "object", "required": ["action"], "additionalProperties": False,
    "properties": {"action": {"type": "string", "pattern": r"^[a-z_]+\.[a-z0-9_]+$"}, "alias": {"type": "string"},
                   "data": {"type": "object"}, "target": {"type": "object"}, "enabled": {"type": "boolean"},
                   "continue_on_error": {"type": "boolean"}, "response_variable": {"type": "string"}},
}
VARIABLES_ACTION = {"type": "object", "required": ["variables"], "additionalProperties": False,
                    "properties": {"variables": {"type": "object"}, "alias": {"type": "string"}}}
AUTOMATION = {
    "type": "object", "required": ["triggers", "actions"], "additionalProperties": False,
    "properties": {
        "id": {"type": "string"}, "alias": {"type": "string"}, "description": {"type": "string"},
        "mode": {"enum": ["single", "restart", "queued", "parallel"]}, "max": {"type": "integer"},
        "max_exceeded": {"type": "string"}, "initial_state": {"type": "boolean"},
        "variables": {"type": "object"}, "trace": {"type": "object"},
        "triggers": {"type": "array", "minItems": 1, "items": STATE_TRIGGER},
        "conditions": {"type": "array", "items": TEMPLATE_CONDITION},
        "actions": {"type": "array", "minItems": 1, "items": {"oneOf": [ACTION_CALL, VARIABLES_ACTION]}},
    },
}

FILM = {"title": "Paterson", "year": 2016, "genres": ["comedy", "drama"], "runtime": 118, "rating": "R",
        "family": False, "description": "A bus driver who writes poems.",
        "reasons": ["comedy favoured for sad 70% (lift)"], "path": "/media/films/Paterson (2016)/Paterson.mkv",
        "ids": {"imdb": "tt5247022"}}


def readme_automation() -> dict:
    text = README.read_text(encoding="utf-8")
    section = text.split("### A film suggestion on the TV when the mood changes", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    doc = yaml.safe_load(block)
    assert isinstance(doc, list) and len(doc) == 1, "one automation, as an automations.yaml list entry"
    return doc[0]


def mood_entity_id(device: str) -> str:
    """What HA names the mood sensor: sensor.<slug of device name + entity name>."""
    cfg = Config()
    cfg.mqtt.device_id = device
    (mood,) = [json.loads(p) for t, p in discovery_messages(cfg, "m") if t.endswith("/mood/config")]
    return "sensor." + re.sub(r"[^a-z0-9]+", "_", f"{mood['device']['name']} {mood['name']}".lower()).strip("_")


def render(template: str, attrs: dict, to_state="sad", from_state="happy", **variables) -> str:
    env = sandbox.ImmutableSandboxedEnvironment()
    state = lambda mood: SimpleNamespace(state=mood, attributes=attrs)  # noqa: E731
    return env.from_string(template).render(
        state_attr=lambda entity, name: attrs.get(name) if entity == mood_entity_id("livingroom") else None,
        trigger=SimpleNamespace(to_state=state(to_state), from_state=state(from_state)), **variables).strip()


def test_the_automation_follows_home_assistants_documented_schema():
    jsonschema.validate(readme_automation(), AUTOMATION)


def test_it_watches_the_mood_sensor_our_discovery_creates():
    (trigger,) = readme_automation()["triggers"]
    assert trigger["entity_id"] == mood_entity_id("livingroom") == "sensor.mood_sensor_livingroom_mood"
    assert "nobody" in trigger["not_to"] and "unavailable" in trigger["not_to"]


def test_it_runs_only_when_the_mood_really_changed_and_there_is_a_film():
    (cond,) = readme_automation()["conditions"]
    t = cond["value_template"]
    assert render(t, {"recommendations": [FILM]}) == "True"
    assert render(t, {"recommendations": []}) == "False"
    assert render(t, {"recommendations": None}) == "False"
    assert render(t, {"recommendations": [FILM]}, to_state="sad", from_state="sad") == "False"  # attributes only


def test_the_tv_notification_names_the_first_pick_and_why():
    auto = readme_automation()
    variables, notify = auto["actions"]
    attrs = {"recommendations": [FILM, {**FILM, "title": "Other"}]}
    film_text = render(variables["variables"]["film"], attrs)
    assert "Paterson" in film_text
    assert notify["action"].startswith("notify.")
    assert render(notify["data"]["title"], attrs) == "The room looks sad"
    message = " ".join(render(notify["data"]["message"], attrs, film=FILM).split())
    assert message == ("How about Paterson (2016), 118 min? comedy favoured for sad 70% (lift) · in your library")
    shipped = {k: v for k, v in FILM.items() if k not in ("path", "ids", "runtime")} | {"runtime": None}
    assert " ".join(render(notify["data"]["message"], attrs, film=shipped).split()) == (
        "How about Paterson (2016)? comedy favoured for sad 70% (lift)")
