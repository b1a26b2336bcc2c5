"""Recommender.feedback, the contract the TV page and Home Assistant vote through: a vote is checked,
kept in daemon.state_dir and changes the next picks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.recommend.catalog import Catalog, load_catalog
from edge.recommend.filmdata import KEY_PATTERN, film_key
from edge.recommend.recommender import Recommender
from edge.recommend.taste import FeedbackError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(ROOT / "catalog.json")


def test_film_keys_prefer_imdb_then_tmdb_then_a_title_year_slug():
    assert film_key("Heat", 1995, {"imdb": "tt0113277", "tmdb": "949"}) == "imdb:tt0113277"
    assert film_key("Heat", 1995, {"tmdb": "949"}) == "tmdb:949"
    assert film_key("Léon: The Professional", 1994) == "leon-the-professional-1994"
    assert film_key("千と千尋の神隠し", 2001) == "film-2001"
    assert KEY_PATTERN.fullmatch(film_key("x" * 300, 2001))


def test_every_catalog_film_has_a_distinct_key_in_the_contract_form(catalog):
    keys = [f.key for f in catalog.films]
    assert len(set(keys)) == len(keys) and all(KEY_PATTERN.fullmatch(k) for k in keys)


def test_each_pick_carries_its_film_key(catalog):
    picks = Recommender(catalog, seed=3, history=0).recommend("happy")
    assert all(p.to_dict()["key"] == film.key for p, film in
               zip(picks, (catalog.films[catalog.find(p.title, p.year)] for p in picks)))


def test_a_thumbs_down_keeps_the_film_out_of_the_next_picks(tmp_path, catalog):
    rec = Recommender(catalog, seed=5, history=0, taste_path=tmp_path / "taste.json")
    first = rec.recommend("happy")[0]
    assert rec.feedback(first.key, "down", "happy") == first.title
    for _ in range(20):
        assert first.key not in {p.key for p in rec.recommend("happy")}


def test_a_vote_is_kept_across_restarts(tmp_path, catalog):
    film = catalog.films[0]
    Recommender(catalog, taste_path=tmp_path / "taste.json").feedback(film.key, "up", "sad", source="homeassistant")
    votes = json.loads((tmp_path / "taste.json").read_text())["votes"]
    assert [(v["film"], v["value"], v["mood"], v["source"]) for v in votes] == [(film.key, 1.0, "sad", "homeassistant")]
    assert len(Recommender(catalog, taste_path=tmp_path / "taste.json").taste.votes) == 1


@pytest.mark.parametrize("key, verdict, mood, field", [
    ("imdb:tt9999999", "up", None, "film"), ("heat-1995", "meh", None, "vote"),
    (None, "up", None, "film"), ("\ud800", "up", None, "film"), ("x" * 10_000_000, "up", None, "film"),
])
def test_bad_votes_raise_one_line_feedback_errors_naming_the_field(tmp_path, catalog, key, verdict, mood, field):
    rec = Recommender(catalog, taste_path=tmp_path / "taste.json")
    with pytest.raises(FeedbackError) as err:
        rec.feedback(key, verdict, mood)
    assert isinstance(err.value, ValueError) and str(err.value).startswith(field) and "\n" not in str(err.value)
    assert len(str(err.value)) < 300 and not (tmp_path / "taste.json").exists()


def test_a_vote_for_an_unknown_mood_is_refused(tmp_path, catalog):
    rec = Recommender(catalog, taste_path=tmp_path / "taste.json")
    with pytest.raises(FeedbackError, match="^mood"):
        rec.feedback(catalog.films[0].key, "up", "elated")


def test_a_vote_names_where_it_came_from_in_one_short_word(tmp_path, catalog):
    rec = Recommender(catalog, taste_path=tmp_path / "taste.json")
    rec.feedback(catalog.films[0].key, "seen", None, source="home-assistant")
    with pytest.raises(FeedbackError, match="^source"):
        rec.feedback(catalog.films[0].key, "up", None, source="Mqtt\n" * 20)
    assert [v.source for v in Recommender(catalog, taste_path=tmp_path / "taste.json").taste.votes] == ["home-assistant"]
