"""Learning the household's taste: votes and the media centre's marks change the picks, per mood,
fading with time, never past the policy's rules (avoided genres, family viewing for nobody), and a
generated household's picks are liked more often than the static policy's."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edge.recommend.catalog import Catalog, Film
from edge.recommend.filmdata import FilmExtra
from edge.recommend.household import TasteSettings
from edge.recommend.library import library_catalog
from edge.recommend.recommender import Recommender
from edge.recommend.taste import Vote, stars_value

from taste_helpers import tiny_catalog, write_film

DAY = 86400


def picked(rec: Recommender, mood: str, rounds: int = 30) -> list[str]:
    return [p.title for _ in range(rounds) for p in rec.recommend(mood)]


def test_the_nfo_gives_community_rating_people_and_the_households_marks(tmp_path, shipped_catalog):
    write_film(tmp_path, "Collateral", 2004, ["Crime", "Thriller"], director="Michael Mann", community=7.5,
               votes=600_000, userrating="9", playcount="2", lastplayed="2024-01-31 21:04:11",
               extra_xml="<credits>Stuart Beattie</credits><actor><name>Tom Cruise</name></actor><studio>DreamWorks</studio>")
    catalog, _ = library_catalog(tmp_path, shipped_catalog)
    extra = catalog.films[0].extra
    assert extra == FilmExtra(community=7.5, votes=600_000, people=(
        "director:Michael Mann", "writer:Stuart Beattie", "actor:Tom Cruise", "studio:DreamWorks"),
        userrating=9.0, playcount=2, lastplayed=1706735051.0)


@pytest.mark.parametrize("xml", ["<userrating>1e999</userrating><playcount>-3</playcount>",
                                 "<userrating>11</userrating><lastplayed>yesterday</lastplayed>",
                                 '<ratings><rating default="true"><value>nan</value><votes>1e999</votes></rating></ratings>'])
def test_numbers_out_of_range_in_an_nfo_are_dropped_not_trusted(tmp_path, shipped_catalog, xml):
    write_film(tmp_path, "Odd", 2004, ["Drama"], extra_xml=xml)
    catalog, _ = library_catalog(tmp_path, shipped_catalog)
    assert catalog.films[0].extra is None


def test_jellyfins_watched_flag_counts_as_played(tmp_path, shipped_catalog):
    write_film(tmp_path, "Seen", 2004, ["Comedy"], extra_xml="<watched>true</watched>")
    assert library_catalog(tmp_path, shipped_catalog)[0].films[0].extra.playcount == 1


def test_a_film_watched_lately_is_held_back_until_its_rewatch_time_unless_loved(tmp_path, shipped_catalog):
    today = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 3 * DAY))
    long_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 400 * DAY))
    write_film(tmp_path, "Fresh", 2001, ["Comedy"], playcount="1", lastplayed=today)
    write_film(tmp_path, "Loved", 2002, ["Comedy"], userrating="10", playcount="1", lastplayed=long_ago)
    write_film(tmp_path, "Old", 2003, ["Comedy"], userrating="6", playcount="1", lastplayed=long_ago)
    write_film(tmp_path, "New", 2004, ["Comedy"])
    catalog, _ = library_catalog(tmp_path, shipped_catalog)
    first = [p.title for p in Recommender(catalog, count=3, history=0, seed=1).recommend("sad")]
    assert "Fresh" not in first
    strict = Recommender(catalog, count=3, history=0, seed=1, taste=TasteSettings(rewatch_after_days=500,
                                                                                  rewatch_loved_after_days=500))
    assert [p.title for p in strict.recommend("sad")][0] == "New"


def people_catalog(shipped: Catalog) -> Catalog:
    """Twenty comedies: half by one director, half by another; equal community ratings."""
    films = []
    for i in range(20):
        director = "director:Ann" if i % 2 else "director:Bob"
        films.append(Film(f"Comedy {i}", 2000 + i, ("comedy",), 90, "PG", True, "A comedy.",
                          extra=FilmExtra(community=7.0, votes=1000, people=(director,))))
    return Catalog(films=films, policy=shipped.policy)


def test_a_thumbs_up_brings_films_like_it_forward_and_says_why(tmp_path, shipped_catalog):
    catalog = people_catalog(shipped_catalog)
    rec = Recommender(catalog, count=3, history=0, seed=2, taste_path=tmp_path / "taste.json")
    before = picked(rec, "happy")
    for i in (1, 3, 5):
        rec.feedback(catalog.films[i].key, "up", "happy")
    after = rec.recommend("happy")
    ann = [t for t in picked(rec, "happy") if int(t.split()[1]) % 2]
    assert len(ann) > 0.9 * 90 and sum(int(t.split()[1]) % 2 for t in before) < 0.7 * 90
    assert any(r.startswith("you liked Comedy") for p in after for r in p.reasons)


def test_a_vote_in_one_mood_counts_most_in_that_mood(tmp_path, shipped_catalog):
    catalog = people_catalog(shipped_catalog)
    rec = Recommender(catalog, count=1, history=0, seed=3, taste_path=tmp_path / "taste.json")
    for i in (1, 3, 5, 7):
        rec.feedback(catalog.films[i].key, "up", "happy")
        rec.feedback(catalog.films[i].key, "down", "sad")
    scores = {mood: rec.household.model.scores(np.eye(8)[k]) for k, mood in ((4, "sad"), (3, "happy"))}
    ann = [i for i in range(20) if i % 2 and i > 7]
    assert all(scores["happy"][i] > 0 > scores["sad"][i] for i in ann)


def test_old_votes_fade(tmp_path, shipped_catalog):
    catalog = people_catalog(shipped_catalog)
    rec = Recommender(catalog, taste_path=tmp_path / "taste.json", taste=TasteSettings(half_life_days=30))
    now = time.time()
    rec.household.add([Vote(catalog.films[1].key, "Comedy 1", 1.0, None, "tv", now - 365 * DAY, False)])
    old = rec.household.model.scores(np.eye(8)[3])[9]
    rec.household.add([Vote(catalog.films[3].key, "Comedy 3", 1.0, None, "tv", now, False)])
    assert rec.household.model.scores(np.eye(8)[3])[9] > 5 * old > 0


def test_avoided_means_avoided_even_for_a_loved_horror_comedy(tmp_path, shipped_catalog):
    """The happy policy steers away from horror: Evil Dead II is never its pick, however loved."""
    catalog = tiny_catalog(shipped_catalog, [("Evil Dead II", ["comedy", "horror"])] +
                           [(f"Comedy {i}", ["comedy"]) for i in range(8)])
    rec = Recommender(catalog, count=3, history=0, seed=4, taste_path=tmp_path / "taste.json")
    rec.feedback(catalog.films[0].key, "up", "happy")
    assert "Evil Dead II" not in picked(rec, "happy", 50)


def test_nobody_is_family_viewing_with_no_r_rated_film(shipped_catalog):
    picks = [p for _ in range(40) for p in Recommender(shipped_catalog, seed=5, history=30).recommend("nobody")]
    assert picks and not [p.title for p in picks if p.rating in ("R", "NC-17")]
    assert all("family-friendly" in " ".join(p.reasons) for p in picks)


def test_a_film_scoring_zero_is_shown_only_when_nothing_else_is_left(shipped_catalog):
    doc = shipped_catalog.to_dict()
    doc["policy"]["baseline"] = 0.0
    from edge.recommend.catalog import validate_catalog
    doc["films"] = doc["films"][:0] + [
        {"title": f"Film {i}", "year": 2000 + i, "genres": [g], "runtime": 90, "rating": None, "family": True,
         "description": "A film."} for i, g in enumerate(["comedy", "comedy", "drama", "western"])]
    catalog = validate_catalog(doc)
    picks = Recommender(catalog, count=3, history=0, seed=6).recommend("happy")
    assert {p.title for p in picks[:2]} == {"Film 0", "Film 1"} and "nothing it favours is left" in picks[2].reasons[0]


def generated_household(seed: int) -> tuple[list[Film], dict[str, float]]:
    """150 films from 12 directors; the household loves 4 directors' films, whatever the world thinks."""
    rng = np.random.default_rng(seed)
    loved = {f"d{j}" for j in rng.choice(12, 4, replace=False)}
    films, stars = [], {}
    genres = ["comedy", "adventure", "fantasy", "drama", "romance", "crime", "sci-fi"]
    for i in range(150):
        director = f"d{rng.integers(12)}"
        quality = rng.normal(0, 0.6)
        film = Film(f"Film {i}", 1950 + int(rng.integers(70)), tuple(rng.choice(genres, 2, replace=False)), 100,
                    "PG-13", False, "Generated.", extra=FilmExtra(community=float(np.clip(6.5 + quality, 1, 10)),
                                                                  votes=int(rng.integers(50, 5000)),
                                                                  people=(f"director:{director}",)))
        films.append(film)
        stars[film.key] = float(np.clip(3.0 + quality * 0.5 + (1.5 if director in loved else -0.5)
                                         + rng.normal(0, 0.4), 1, 5))
    return films, stars


def test_on_a_generated_household_learning_beats_the_static_policy(tmp_path, shipped_catalog):
    liked = {"taste": [], "static": []}
    for seed in range(6):
        films, stars = generated_household(seed)
        catalog = Catalog(films=films, policy=shipped_catalog.policy)
        rated, fresh = films[:40], films[40:]
        for name, settings in (("taste", TasteSettings()), ("static", TasteSettings(enabled=False))):
            rec = Recommender(catalog, history=0, seed=seed, taste=settings, taste_path=tmp_path / f"{seed}{name}.json")
            rec.household.add([Vote(f.key, f.title, stars_value(stars[f.key]), None, "import",
                                    time.time() - DAY, True) for f in rated])
            for mood in ("happy", "sad", "neutral", "surprise"):
                liked[name] += [stars[p.key] >= 4 and p.key not in {f.key for f in rated} for p in rec.recommend(mood)]
    assert np.mean(liked["taste"]) > np.mean(liked["static"]) + 0.2, {k: np.mean(v) for k, v in liked.items()}
