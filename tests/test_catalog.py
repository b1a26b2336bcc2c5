"""catalog.json: the shipped catalog is sound, and every kind of mistake is reported by entry and field.

The schema file (catalog.schema.json) must agree with our own validator: both accept the shipped
catalog and both reject each bad catalog below (except a repeated title+year, which JSON Schema
cannot express; our validator alone catches it).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest

from edge.recommend.catalog import GENRES, MOODS, RATINGS, load_catalog, validate_catalog
from edge.errors import CatalogError

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "catalog.json"
SCHEMA = ROOT / "catalog.schema.json"


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return json.loads(CATALOG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# ------------------------------------------------------------------ the shipped catalog


def test_shipped_catalog_loads_with_at_least_300_films():
    catalog = load_catalog(CATALOG)
    assert len(catalog) >= 300


def test_shipped_catalog_spreads_across_decades_genres_and_families():
    films = load_catalog(CATALOG).films
    decades = {f.year // 10 * 10 for f in films}
    assert {1930, 1950, 1970, 1990, 2010, 2020} <= decades
    used = {g for f in films for g in f.genres}
    assert used == set(GENRES)
    assert sum(f.family for f in films) >= 60
    assert all(f.runtime for f in films), "hand-written entries carry a runtime"


def test_shipped_policy_covers_every_mood_and_strategy_with_a_note():
    policy = load_catalog(CATALOG).policy
    assert set(policy.moods) == set(MOODS)
    for mood, entry in policy.moods.items():
        assert entry.note
        assert entry.weights["match"] or entry.weights["lift"], mood


def test_shipped_lift_policy_steers_sad_and_scared_rooms_away_from_horror():
    policy = load_catalog(CATALOG).policy
    for mood in ("sad", "fear", "angry"):
        lift = policy.weights(mood, "lift")
        assert lift["comedy"] > 0 and lift["horror"] < 0, mood


def test_schema_accepts_the_shipped_catalog(shipped, schema_validator):
    errors = [e.message for e in schema_validator.iter_errors(shipped)]
    assert errors == []


def test_schema_lists_the_same_vocabulary_moods_and_ratings_as_the_code():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$defs"]["genre"]["enum"] == list(GENRES)
    assert schema["properties"]["policy"]["properties"]["moods"]["required"] == list(MOODS)
    assert schema["$defs"]["film"]["properties"]["rating"]["enum"] == [*RATINGS, None]


# ------------------------------------------------------------------ mistakes, one kind each

Mutation = Callable[[dict[str, Any]], None]


def _set_film(i: int, key: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["films"][i][key] = value
    return mutate


def _del_film(i: int, key: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        del doc["films"][i][key]
    return mutate


def _set_weight(mood: str, strategy: str, genre: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["policy"]["moods"][mood][strategy][genre] = value
    return mutate


def _add_mood(doc: dict[str, Any]) -> None:
    doc["policy"]["moods"]["bored"] = copy.deepcopy(doc["policy"]["moods"]["neutral"])


def _drop_mood(doc: dict[str, Any]) -> None:
    del doc["policy"]["moods"]["fear"]


def _family_r(doc: dict[str, Any]) -> None:
    doc["films"][2]["rating"] = "R"
    doc["films"][2]["family"] = True


def _drop_vocabulary_genre(doc: dict[str, Any]) -> None:
    doc["genres"].remove("western")


def _schema_two(doc: dict[str, Any]) -> None:
    doc["schema"] = 2


def _two_line_description(doc: dict[str, Any]) -> None:
    doc["films"][4]["description"] = "First line.\nSecond line."


def _film_label(doc: dict[str, Any], i: int) -> str:
    film = doc["films"][i]
    return f"films[{i}] {film['title']!r} ({film['year']})"


# (id, mutation, index of the film named in the message or None, fragments the message must contain)
BAD_CATALOGS: list[tuple[str, Mutation, int | None, list[str]]] = [
    ("missing-field", _del_film(3, "runtime"), 3, [".runtime", "missing"]),
    ("unknown-genre", _set_film(5, "genres", ["comedy", "thriler"]), 5, [".genres[1]", "unknown genre 'thriler'"]),
    ("no-genres", _set_film(6, "genres", []), 6, [".genres", "non-empty list"]),
    ("bad-year", _set_film(7, "year", 95), None, ["films[7]", ".year", "got 95"]),
    ("year-as-text", _set_film(7, "year", "1995"), None, ["films[7]", ".year"]),
    ("bad-runtime", _set_film(8, "runtime", -5), 8, [".runtime", "got -5"]),
    ("runtime-as-text", _set_film(8, "runtime", "90 min"), 8, [".runtime", "'90 min'"]),
    ("bad-rating", _set_film(9, "rating", "TV-MA"), 9, [".rating", "'TV-MA'"]),
    ("family-not-bool", _set_film(10, "family", "yes"), 10, [".family", "true or false"]),
    ("family-but-rated-R", _family_r, 2, [".family", "rated R cannot be marked family"]),
    ("empty-title", _set_film(11, "title", "  "), None, ["films[11]", ".title"]),
    ("empty-description", _set_film(12, "description", ""), 12, [".description"]),
    ("two-line-description", _two_line_description, 4, [".description", "line break"]),
    ("unknown-film-field", _set_film(13, "director", "someone"), 13, [".director", "unknown field"]),
    ("weight-too-big", _set_weight("sad", "lift", "comedy", 2), None,
     ["policy.moods.sad.lift.comedy", "bad weight 2"]),
    ("weight-not-a-number", _set_weight("happy", "match", "comedy", "high"), None,
     ["policy.moods.happy.match.comedy", "bad weight 'high'"]),
    ("weight-for-unknown-genre", _set_weight("fear", "lift", "cartoons", 0.5), None,
     ["policy.moods.fear.lift.cartoons", "unknown genre 'cartoons'"]),
    ("unknown-mood", _add_mood, None, ["policy.moods.bored", "unknown mood 'bored'"]),
    ("missing-mood", _drop_mood, None, ["policy.moods.fear", "missing mood"]),
    ("vocabulary-incomplete", _drop_vocabulary_genre, None, ["genres", "missing western"]),
    ("wrong-schema-version", _schema_two, None, ["schema", "got 2"]),
]


@pytest.mark.parametrize("mutate,film_index,fragments", [c[1:] for c in BAD_CATALOGS],
                         ids=[c[0] for c in BAD_CATALOGS])
def test_bad_catalog_error_names_file_entry_and_field(tmp_path, shipped, mutate, film_index, fragments):
    doc = copy.deepcopy(shipped)
    mutate(doc)
    path = write(tmp_path, doc)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    if film_index is not None:
        assert _film_label(doc, film_index) in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("mutate", [c[1] for c in BAD_CATALOGS], ids=[c[0] for c in BAD_CATALOGS])
def test_schema_rejects_what_the_validator_rejects(shipped, schema_validator, mutate):
    doc = copy.deepcopy(shipped)
    mutate(doc)
    assert not schema_validator.is_valid(doc)


def test_duplicate_title_and_year_names_both_entries(tmp_path, shipped):
    doc = copy.deepcopy(shipped)
    first = doc["films"][0]
    doc["films"].append({**first, "title": first["title"].upper(), "description": "Same film again."})
    last = len(doc["films"]) - 1
    with pytest.raises(CatalogError) as info:
        load_catalog(write(tmp_path, doc))
    message = str(info.value)
    assert f"films[{last}] {first['title'].upper()!r} ({first['year']}).title" in message
    assert "duplicate of films[0]" in message


def test_same_title_in_another_year_is_not_a_duplicate(shipped):
    doc = copy.deepcopy(shipped)
    doc["films"].append({**doc["films"][0], "year": doc["films"][0]["year"] + 30})
    assert len(validate_catalog(doc)) == len(shipped["films"]) + 1


def test_runtime_may_be_null_when_unknown(shipped, schema_validator):
    doc = copy.deepcopy(shipped)
    doc["films"][0]["runtime"] = None
    assert validate_catalog(doc).films[0].runtime is None
    assert schema_validator.is_valid(doc)


def test_policy_baseline_is_optional(shipped, schema_validator):
    doc = copy.deepcopy(shipped)
    del doc["policy"]["baseline"]
    assert validate_catalog(doc).policy.baseline == pytest.approx(0.2)
    assert schema_validator.is_valid(doc)


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="no such file"):
        load_catalog(tmp_path / "nope.json")


def test_invalid_json_reports_line_and_column(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text('{"schema": 1,\n  "films": [,]}', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"invalid JSON at line 2 column"):
        load_catalog(path)


def test_nan_weight_is_rejected(tmp_path, shipped):
    text = json.dumps(shipped).replace('"comedy": 1.0', '"comedy": NaN', 1)
    path = tmp_path / "catalog.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="NaN is not a JSON number"):
        load_catalog(path)
