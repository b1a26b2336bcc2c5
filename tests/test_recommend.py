"""The recommender: follows the policy, stays diverse, never repeats within its window (even across
restarts), is family-safe when asked, explains itself and is reproducible with a seed."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from edge.recommend.catalog import Catalog, load_catalog, validate_catalog
from edge.errors import ConfigError
from edge.recommend.reasons import PLURAL
from edge.recommend.recommender import Recommendation, Recommender

ROOT = Path(__file__).resolve().parent.parent
MQTT_KEYS = {"title", "year", "genres", "runtime", "rating", "family", "description", "reasons", "key"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(ROOT / "catalog.json")


def draws(rec: Recommender, mood: str, rounds: int, probabilities=None) -> list[list[Recommendation]]:
    return [rec.recommend(mood, probabilities) for _ in range(rounds)]


def genre_share(picks: list[Recommendation], genre: str) -> float:
    return sum(genre in p.genres for p in picks) / len(picks)


def catalog_share(catalog: Catalog, genre: str) -> float:
    return sum(genre in f.genres for f in catalog.films) / len(catalog.films)


def small_catalog(catalog: Catalog, films: list[tuple[str, list[str]]]) -> Catalog:
    """A tiny catalog with the shipped policy, for the edge cases."""
    doc = catalog.to_dict()
    doc["films"] = [{"title": t, "year": 2000 + i, "genres": g, "runtime": 90, "rating": None, "family": True,
                     "description": f"Test film {i}."} for i, (t, g) in enumerate(films)]
    return validate_catalog(doc)


# ------------------------------------------------------------------ the policy


def test_sad_lift_favours_comedy_and_avoids_horror_and_war_over_many_draws(catalog):
    picks = [p for r in draws(Recommender(catalog, "lift", count=5, history=0, seed=1), "sad", 300) for p in r]
    favoured = {g for g, w in catalog.policy.weights("sad", "lift").items() if w > 0}
    # the rest are films the policy is silent about or plays down (drama, crime): drawn, less often
    assert sum(bool(favoured & set(p.genres)) for p in picks) / len(picks) > 0.8
    assert genre_share(picks, "comedy") > 1.5 * catalog_share(catalog, "comedy")
    assert genre_share(picks, "horror") < catalog_share(catalog, "horror") / 4
    assert genre_share(picks, "war") < catalog_share(catalog, "war") / 4


def test_sad_match_favours_drama_where_lift_does_not(catalog):
    match = [p for r in draws(Recommender(catalog, "match", history=0, seed=2), "sad", 200) for p in r]
    lift = [p for r in draws(Recommender(catalog, "lift", history=0, seed=2), "sad", 200) for p in r]
    assert genre_share(match, "drama") > 0.5  # at most 3 of 5 picks may share a genre
    assert genre_share(match, "drama") > 2 * genre_share(lift, "drama")


def test_fear_lift_vetoes_horror_and_thrillers_even_when_funny(catalog):
    """-1 in the policy is a veto: a horror comedy is still horror to a scared room."""
    rec = Recommender(catalog, "lift", history=30, seed=3)
    picks = [p for r in draws(rec, "fear", 200) for p in r]
    assert len(picks) == 200 * 5
    assert not [p.title for p in picks if {"horror", "thriller"} & set(p.genres)]


def test_every_pick_has_a_positive_policy_weight_when_enough_exist(catalog):
    rec = Recommender(catalog, "lift", history=30, seed=4)
    base = catalog.policy.baseline
    for mood in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "nobody") * 3:
        weights = catalog.policy.weights(mood, "lift")
        picks = rec.recommend(mood)
        assert len(picks) == 5
        for pick in picks:
            assert base + sum(weights.get(g, 0.0) for g in pick.genres) > 0, (mood, pick.title)


def test_pick_frequency_rises_with_policy_weight(catalog):
    """Films the policy likes more are drawn more often (rank agreement over many draws)."""
    rec = Recommender(catalog, "lift", count=1, history=0, seed=5)
    counts = Counter(p.title for r in draws(rec, "angry", 4000) for p in r)
    lift = catalog.policy.weights("angry", "lift")
    score = {f.title: catalog.policy.baseline + sum(lift.get(g, 0.0) for g in f.genres) for f in catalog.films}
    high = [t for t, s in score.items() if s >= 1.5]
    low = [t for t, s in score.items() if 0 < s <= 0.3]
    assert high and low
    mean_high = sum(counts[t] for t in high) / len(high)
    mean_low = sum(counts[t] for t in low) / len(low)
    assert mean_high > 3 * mean_low
    assert all(counts[t] == 0 for t, s in score.items() if s <= 0)
    vetoed = [f.title for f in catalog.films if any(lift.get(g, 0.0) <= -1 for g in f.genres)]
    assert vetoed and all(counts[t] == 0 for t in vetoed)


# ------------------------------------------------------------------ probabilities and reasons


def test_certain_probabilities_give_the_same_picks_as_the_mood_alone(catalog):
    a = Recommender(catalog, seed=7).recommend("happy", {"sad": 1.0, "happy": 0.0})
    b = Recommender(catalog, seed=7).recommend("sad")
    assert [p.title for p in a] == [p.title for p in b]


def test_blended_moods_are_named_with_their_share_in_the_reasons(catalog):
    rec = Recommender(catalog, "lift", history=0, seed=8)
    probs = {"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.3, "sad": 0.7, "surprise": 0.0, "neutral": 0.0}
    reasons = [r for picks in draws(rec, "sad", 20, probs) for p in picks for r in p.reasons]
    assert any(r.endswith("lift a sad (70%) and happy (30%) room") for r in reasons)
    assert all(r.endswith("room") or "variety" in r for r in reasons)


def test_mood4_probabilities_blend_the_matching_policies(catalog):
    rec = Recommender(catalog, "match", history=0, seed=9)
    picks = [p for r in draws(rec, "angry", 100, {"happy": 0.1, "sad": 0.0, "neutral": 0.0, "angry": 0.9})
             for p in r]
    assert genre_share(picks, "action") > 1.5 * catalog_share(catalog, "action")
    assert any(r.startswith("action films") and r.endswith("suit an angry (90%) and happy (10%) room")
               for p in picks for r in p.reasons)


def test_reasons_name_the_favoured_genres_of_the_film_in_plain_words(catalog):
    lift = catalog.policy.weights("sad", "lift")
    picks = Recommender(catalog, "lift", seed=10).recommend("sad")
    assert len(picks) == 5
    for pick in picks:
        favoured = sorted((g for g in pick.genres if lift.get(g, 0) > 0), key=lambda g: -lift[g])
        named = " and ".join(PLURAL[g] for g in favoured[:2])
        verb = "lifts" if named == "science fiction" else "lift"
        assert pick.reasons == ([f"{named} {verb} a sad room"] if favoured else ["picked for variety"])


def test_to_dict_has_exactly_the_mqtt_fields(catalog):
    pick = Recommender(catalog, seed=11).recommend("happy")[0]
    data = pick.to_dict()
    assert set(data) == MQTT_KEYS
    assert json.loads(json.dumps(data)) == data
    assert isinstance(data["genres"], list) and isinstance(data["reasons"], list)


# ------------------------------------------------------------------ diversity, history, family


def test_five_picks_never_share_one_genre_and_no_genre_fills_more_than_three(catalog):
    rec = Recommender(catalog, "lift", count=5, history=0, seed=12)
    for mood in ("sad", "happy", "fear", "angry"):
        for picks in draws(rec, mood, 60):
            assert len(picks) == 5
            assert len({p.title for p in picks}) == 5
            counts = Counter(g for p in picks for g in p.genres)
            assert max(counts.values()) <= 3, (mood, [p.genres for p in picks])


def test_no_film_repeats_within_the_history_window(catalog):
    rec = Recommender(catalog, "lift", count=5, history=30, seed=13)
    shown: list[str] = []
    for mood in ["sad", "happy", "nobody", "fear"] * 25:
        picks = rec.recommend(mood)
        assert len(picks) == 5
        for pick in picks:
            assert pick.title not in shown[-30:]
            shown.append(pick.title)


def test_restart_keeps_the_history(tmp_path, catalog):
    state = tmp_path / "state" / "recommend-history.json"
    first = Recommender(catalog, count=5, history=30, state_path=state, seed=14)
    before = [(p.title, p.year) for _ in range(4) for p in first.recommend("sad")]
    assert json.loads(state.read_text())["shown"] == [list(k) for k in before]

    again = Recommender(catalog, count=5, history=30, state_path=state, seed=14)
    assert again.history == before
    after = [(p.title, p.year) for _ in range(2) for p in again.recommend("sad")]
    assert not set(after) & set(before)


def test_state_file_is_replaced_whole_and_leaves_no_temporary_files(tmp_path, catalog):
    state = tmp_path / "recommend-history.json"
    rec = Recommender(catalog, history=10, state_path=state, seed=15)
    for _ in range(5):
        rec.recommend("happy")
    assert [p.name for p in tmp_path.iterdir()] == ["recommend-history.json"]
    assert len(json.loads(state.read_text())["shown"]) == 10


def test_corrupt_state_file_is_logged_and_ignored(tmp_path, catalog, caplog):
    state = tmp_path / "recommend-history.json"
    state.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="edge.recommend"):
        rec = Recommender(catalog, history=30, state_path=state, seed=16)
    assert "corrupt" in caplog.text
    assert rec.history == []
    assert len(rec.recommend("sad")) == 5
    assert json.loads(state.read_text())["schema"] == 1


def test_history_entries_for_films_no_longer_in_the_catalog_are_dropped(tmp_path, catalog):
    state = tmp_path / "recommend-history.json"
    state.write_text(json.dumps({"schema": 1, "shown": [["Not A Real Film", 1999], ["Toy Story", 1995]]}))
    assert Recommender(catalog, state_path=state).history == [("Toy Story", 1995)]


def test_family_safe_only_offers_family_films_even_for_horror_loving_policies(catalog):
    rec = Recommender(catalog, "match", family_safe=True, history=30, seed=17)
    for mood in ["fear", "disgust", "angry", "sad"] * 15:
        picks = rec.recommend(mood)
        assert len(picks) == 5
        assert all(p.family for p in picks)
        assert all(p.rating in (None, "G", "PG") for p in picks)


def test_same_seed_same_picks_different_seed_different_picks(catalog):
    def run(seed: int) -> list[str]:
        rec = Recommender(catalog, seed=seed)
        return [p.title for mood in ("sad", "happy", "fear") for p in rec.recommend(mood)]
    assert run(21) == run(21)
    assert run(21) != run(22)


def test_when_history_covers_everything_the_oldest_films_come_back_first(catalog):
    tiny = small_catalog(catalog, [(f"Comedy {i}", ["comedy"]) for i in range(6)])
    rec = Recommender(tiny, "lift", count=3, history=30, seed=18)
    first = [p.title for p in rec.recommend("sad")]
    second = [p.title for p in rec.recommend("sad")]
    assert not set(first) & set(second)
    third = rec.recommend("sad")
    assert [p.title for p in third] == first
    assert all(any("shown again" in r for r in p.reasons) for p in third)


def test_avoided_films_fill_in_only_when_nothing_favoured_is_left(catalog):
    tiny = small_catalog(catalog, [("Comedy A", ["comedy"]), ("Comedy B", ["comedy"]),
                                   ("Horror A", ["horror"]), ("Horror B", ["horror"]), ("War A", ["war"])])
    picks = Recommender(tiny, "lift", count=4, history=0, seed=19).recommend("sad")
    assert {p.title for p in picks[:2]} == {"Comedy A", "Comedy B"}
    assert all(p.genres[0] in ("horror", "war") for p in picks[2:])
    assert all("nothing it favours is left" in p.reasons[0] for p in picks[2:])


def test_a_played_down_genre_is_still_drawn_before_an_avoided_one(catalog):
    """Sad + lift plays drama down (-0.4) and avoids thrillers (-0.5): dramas fill in, thrillers do not."""
    tiny = small_catalog(catalog, [("Comedy A", ["comedy"]), ("Comedy B", ["comedy"]), ("Drama A", ["drama"]),
                                   ("Drama B", ["drama"]), ("Thriller A", ["thriller"]), ("Thriller B", ["thriller"])])
    for seed in range(10):
        picks = Recommender(tiny, "lift", count=4, history=0, seed=seed).recommend("sad")
        assert {p.title for p in picks} == {"Comedy A", "Comedy B", "Drama A", "Drama B"}
        assert not [r for p in picks for r in p.reasons if "nothing it favours is left" in r]


def test_the_rooms_own_mood_avoids_its_genres_even_in_a_blend(catalog):
    """Happy (lift) avoids horror at -0.5; blended with a calm room's -0.4 the blend is -0.46, but the
    room is happy: Evil Dead II is still never its pick."""
    tiny = small_catalog(catalog, [("Evil Dead II", ["comedy", "horror"])] +
                         [(f"Comedy {i}", ["comedy"]) for i in range(3)] + [(f"Drama {i}", ["drama"]) for i in range(3)])
    rec = Recommender(tiny, "lift", count=3, history=0, seed=21)
    picks = [p for r in draws(rec, "happy", 60, {"happy": 0.6, "neutral": 0.4}) for p in r]
    assert picks and "Evil Dead II" not in {p.title for p in picks}


def test_every_note_names_the_genres_its_weights_avoid(catalog):
    """The notes tell the truth: each genre a mood avoids (weight <= -0.5) is named in its note."""
    for mood in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "nobody"):
        note = catalog.policy.moods[mood].note.lower()
        for strategy in ("match", "lift"):
            for genre, w in catalog.policy.weights(mood, strategy).items():
                if w < 0:
                    assert ("science" if genre == "sci-fi" else genre[:5]) in note, (mood, genre)
                    assert ("avoid" in note or "never" in note) if w <= -0.5 else "played down" in note, (mood, genre)


def test_returns_fewer_films_only_when_the_catalog_is_smaller_than_count(catalog):
    tiny = small_catalog(catalog, [("Only One", ["comedy"])])
    assert [p.title for p in Recommender(tiny, count=5).recommend("happy")] == ["Only One"]
    assert Recommender(catalog, count=0).recommend("happy") == []


def test_unknown_mood_and_bad_settings_are_refused(catalog):
    with pytest.raises(ValueError, match="unknown mood 'bored'"):
        Recommender(catalog).recommend("bored")
    with pytest.raises(ConfigError, match="recommend.strategy"):
        Recommender(catalog, strategy="cheer")
    with pytest.raises(ConfigError, match="recommend.count"):
        Recommender(catalog, count=-1)


def test_editing_the_policy_changes_the_picks(catalog):
    doc = catalog.to_dict()
    doc["policy"]["baseline"] = 0.0
    doc["policy"]["moods"]["happy"]["lift"] = {"documentary": 1.0}
    edited = validate_catalog(doc)
    picks = [p for r in draws(Recommender(edited, "lift", history=0, seed=20), "happy", 50) for p in r]
    assert genre_share(picks, "documentary") == 1.0
