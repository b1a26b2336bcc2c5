"""The state message is defined once, by :class:`edge.mqtt.messages.StateMessage` and the picks the
recommender puts in it; every other description of it follows from that or fails here when it drifts:
the JSON Schema (docs/state.schema.json), the bounds (edge/mqtt/message_bounds.py), the display's
parser (parse_state), Home Assistant's attributes and the TV page's reader (displays/web/state.js).

Adding a field: the field on StateMessage (or the pick), then whatever this file names as missing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from pathlib import Path

import jsonschema
import pytest

from edge.mqtt import homeassistant, message_bounds
from edge.mqtt.messages import _VOLATILE, Film, ReceivedState, StateMessage
from edge.recommend.recommender import Recommendation

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs/state.schema.json").read_text(encoding="utf-8"))
PICK_SCHEMA = SCHEMA["properties"]["recommendations"]["items"]
STATE_JS = (ROOT / "displays/web/state.js").read_text(encoding="utf-8")
#: the pick's fields a message leaves out when they say nothing (Recommendation.to_dict)
OPTIONAL_PICK_FIELDS = {"path", "ids", "owned"}
#: a Python type -> the JSON type its value is encoded as
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def message() -> StateMessage:
    pick = Recommendation(title="Paddington", year=2014, genres=["comedy", "family"], runtime=95, rating="PG",
                          family=True, description="A bear in London.", reasons=["comedy lifts a sad room"],
                          path="/films/Paddington (2014)/Paddington.mkv", ids={"imdb": "tt1109624"}, owned=True,
                          key="imdb:tt1109624")
    return StateMessage(device="livingroom", mood="sad", confidence=0.8, probabilities={"sad": 0.8, "happy": 0.2},
                        faces=2, since=1_700_000_000.0, recommendations=[pick.to_dict()], labels="fer7",
                        strategy="lift", model={"id": "mood_xception_ferplus_int8", "sha256": "0" * 64},
                        camera="ok")


def message_fields() -> dict[str, typing.Any]:
    return typing.get_type_hints(StateMessage)


def pick_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(Recommendation)}


def json_types(fragment: dict) -> set[str]:
    """The JSON types a schema fragment allows (its ``type``, or those of its ``enum``/``const``)."""
    if "type" in fragment:
        return set(fragment["type"]) if isinstance(fragment["type"], list) else {fragment["type"]}
    values = fragment.get("enum", [fragment.get("const")])
    return {{str: "string", bool: "boolean", int: "integer"}.get(type(v), "null") for v in values}


# --- the schema ---------------------------------------------------------------------------------

def test_a_real_message_with_every_pick_field_is_valid_against_the_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(json.loads(message().to_json()), SCHEMA)


def test_the_schema_has_exactly_the_messages_fields():
    assert set(SCHEMA["properties"]) == {"schema", *message_fields()}
    assert set(SCHEMA["required"]) <= {"schema", *message_fields()}


def test_the_schema_has_exactly_the_picks_fields_and_requires_those_always_sent():
    assert set(PICK_SCHEMA["properties"]) == pick_fields()
    assert set(PICK_SCHEMA["required"]) <= pick_fields() - OPTIONAL_PICK_FIELDS


@pytest.mark.parametrize("name", sorted(message_fields()))
def test_each_field_is_encoded_as_the_type_the_schema_gives_it(name):
    value = message().to_dict()[name]
    assert JSON_TYPES[type(value)] in json_types(SCHEMA["properties"][name]), (name, value)


@pytest.mark.parametrize("name", sorted(pick_fields()))
def test_each_pick_field_is_encoded_as_the_type_the_schema_gives_it(name):
    value = message().to_dict()["recommendations"][0][name]
    assert JSON_TYPES[type(value)] in json_types(PICK_SCHEMA["properties"][name]), (name, value)


# --- the bounds ---------------------------------------------------------------------------------

def bound_of(name: str, value: typing.Any) -> int | None:
    """The limit message_bounds puts on a field of this name and value (None: only the default)."""
    if isinstance(value, str):
        return message_bounds.TEXT_LIMITS.get(name, message_bounds.ID_LIMITS.get(name))
    if isinstance(value, (list, dict)):
        return message_bounds.ITEM_LIMITS.get(name)
    return 0  # numbers and booleans: bounded by their type


@pytest.mark.parametrize("name", sorted(message_fields()))
def test_each_field_has_its_own_bound_and_the_schema_says_the_same(name):
    value = message().to_dict()[name]
    bound = bound_of(name, value)
    assert bound is not None, f"{name}: no limit of its own in edge/mqtt/message_bounds.py"
    schema = SCHEMA["properties"][name]
    for key in ("maxLength", "maxItems", "maxProperties"):
        if key in schema:
            assert schema[key] == bound, (name, key)


@pytest.mark.parametrize("name", sorted(pick_fields()))
def test_each_pick_field_has_its_own_bound_and_the_schema_says_the_same(name):
    value = message().to_dict()["recommendations"][0][name]
    bound = bound_of(name, value)
    assert bound is not None, f"recommendations[].{name}: no limit of its own in edge/mqtt/message_bounds.py"
    schema = PICK_SCHEMA["properties"][name]
    for key in ("maxLength", "maxItems"):
        if key in schema:
            assert schema[key] == bound, (name, key)


# --- what reads it ------------------------------------------------------------------------------

def test_the_parser_reads_only_fields_the_message_has():
    shown = {f.name for f in dataclasses.fields(ReceivedState)} - {"device", "warnings", "films"}
    assert shown <= set(message_fields())
    assert {f.name for f in dataclasses.fields(Film)} <= pick_fields()


def test_the_publish_policy_ignores_only_fields_the_message_has():
    assert _VOLATILE <= set(message_fields())


def test_home_assistants_attributes_read_only_fields_the_message_has():
    read = set(re.findall(r"value_json\.(\w+)", "".join(
        json.dumps(payload) for _, payload in homeassistant.discovery_messages(_ha_config(), "model"))))
    assert read and read <= set(message_fields())


def test_home_assistants_mood_attributes_carry_every_field_but_the_state_and_the_identity():
    template = homeassistant._MOOD_ATTRIBUTES_TEMPLATE
    carried = set(re.findall(r"'(\w+)': value_json\.", template)) | {"recommendations"}
    assert set(message_fields()) - carried == homeassistant.NOT_ATTRIBUTES


def test_the_tv_page_reads_only_fields_the_schema_has():
    read = set(re.findall(r"\bdata\.(\w+)", STATE_JS))
    picks = set(re.findall(r"\br\.(\w+)", STATE_JS))
    assert read and read <= set(SCHEMA["properties"])
    assert picks and picks <= set(PICK_SCHEMA["properties"])


def _ha_config():
    from edge.config import Config

    return Config()
