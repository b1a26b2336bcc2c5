"""taste.json and recommend-history.json: written whole, bounded, and any unusable file (truncated,
another version's, another program's, a symlink, a FIFO, a number out of range) set aside with one
line while the daemon starts afresh."""

from __future__ import annotations

import json
import logging
import os

import pytest

from edge.recommend import taste as taste_mod
from edge.recommend.history import HISTORY_FILE
from edge.recommend.recommender import Recommender
from edge.recommend.taste import TASTE_FILE, TasteStore


def a_vote(film: str = "heat-1995", value=1.0, **over) -> dict:
    return {"film": film, "title": "Heat", "value": value, "mood": "happy", "source": "tv", "at": 1_700_000_000,
            "seen": False, **over}


def taste_doc(*votes, **over) -> str:
    return json.dumps({"schema": 1, "kind": "mood-edge-taste", "votes": list(votes), **over})


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_taste_file_is_replaced_whole_and_leaves_no_temporary_files(tmp_path, shipped_catalog):
    rec = Recommender(shipped_catalog, taste_path=tmp_path / TASTE_FILE)
    for film in shipped_catalog.films[:5]:
        rec.feedback(film.key, "up", "sad")
    assert sorted(p.name for p in tmp_path.iterdir()) == [TASTE_FILE]
    assert len(json.loads((tmp_path / TASTE_FILE).read_text())["votes"]) == 5


@pytest.mark.parametrize("content, why", [
    (taste_doc(a_vote())[:-7], "not JSON"),
    (taste_doc(a_vote(), schema=2), "another version"),
    (json.dumps({"schema": 1, "kind": "something-else", "votes": []}), "not a mood-edge taste file"),
    (taste_doc(a_vote()).replace("1.0", "1e999"), "out of range"),
    (taste_doc(a_vote(value=7)), "not -1..1"),
    (taste_doc(a_vote(at=1e15)), "not a date up to now"),
    (taste_doc(a_vote(film="../../etc/passwd")), "not a film key"),
    (taste_doc(a_vote(mood="elated")), "not a mood"),
    (b"\xff\xfe garbage", "not UTF-8"),
    (taste_doc(a_vote()).replace("1.0", "NaN"), "not a JSON number"),
])
def test_an_unusable_taste_file_is_set_aside_with_one_line_and_learning_starts_afresh(
        tmp_path, caplog, shipped_catalog, content, why):
    path = tmp_path / TASTE_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with caplog.at_level(logging.WARNING):
        rec = Recommender(shipped_catalog, taste_path=path)
    assert rec.taste.votes == [] and rec.recommend("happy")
    lines = warnings(caplog)
    assert len(lines) == 1 and why in lines[0] and "taste.json.bad" in lines[0] and "starting afresh" in lines[0]
    assert (tmp_path / "taste.json.bad").read_bytes() == (content if isinstance(content, bytes) else content.encode())
    rec.feedback(shipped_catalog.films[0].key, "up")
    assert len(json.loads(path.read_text())["votes"]) == 1


def test_a_symlinked_taste_file_is_set_aside_never_followed(tmp_path, caplog, shipped_catalog):
    secret = tmp_path / "elsewhere.json"
    secret.write_text(taste_doc(a_vote()))
    (tmp_path / TASTE_FILE).symlink_to(secret)
    with caplog.at_level(logging.WARNING):
        rec = Recommender(shipped_catalog, taste_path=tmp_path / TASTE_FILE)
    assert rec.taste.votes == [] and "symbolic link" in warnings(caplog)[0]
    rec.feedback(shipped_catalog.films[0].key, "down")
    assert secret.read_text() == taste_doc(a_vote())  # the link's target is never written through


def test_a_fifo_as_taste_file_does_not_hang_the_daemon(tmp_path, caplog, shipped_catalog, no_hang):
    os.mkfifo(tmp_path / TASTE_FILE)
    with caplog.at_level(logging.WARNING):
        rec = Recommender(shipped_catalog, taste_path=tmp_path / TASTE_FILE)
    assert rec.taste.votes == [] and "a FIFO, not a regular file" in warnings(caplog)[0]


def test_an_oversized_taste_file_is_refused_before_it_is_read(tmp_path, caplog, shipped_catalog):
    path = tmp_path / TASTE_FILE
    with open(path, "wb") as fh:
        fh.truncate(taste_mod.MAX_TASTE_BYTES + 1)
    with caplog.at_level(logging.WARNING):
        Recommender(shipped_catalog, taste_path=path)
    assert "over its bound" in warnings(caplog)[0]


def test_votes_are_bounded_the_oldest_going_first(tmp_path, monkeypatch, shipped_catalog):
    monkeypatch.setattr(taste_mod, "MAX_VOTES", 3)
    rec = Recommender(shipped_catalog, taste_path=tmp_path / TASTE_FILE)
    films = shipped_catalog.films[:5]
    for film in films:
        rec.feedback(film.key, "up")
    assert [v.film for v in TasteStore(tmp_path / TASTE_FILE).votes] == [f.key for f in films[2:]]


def test_forget_all_erases_the_file_and_what_was_set_aside(tmp_path, shipped_catalog):
    (tmp_path / TASTE_FILE).write_text("{broken")
    rec = Recommender(shipped_catalog, taste_path=tmp_path / TASTE_FILE)
    rec.feedback(shipped_catalog.films[0].key, "up")
    assert rec.taste.forget_all() == 1
    assert list(tmp_path.iterdir()) == []


def test_a_vote_written_by_another_process_shows_in_the_next_picks(tmp_path, shipped_catalog):
    daemon = Recommender(shipped_catalog, history=0, seed=4, taste_path=tmp_path / TASTE_FILE)
    first = daemon.recommend("happy")[0]
    Recommender(shipped_catalog, taste_path=tmp_path / TASTE_FILE).feedback(first.key, "down", "happy", "cli")
    assert all(first.key not in {p.key for p in daemon.recommend("happy")} for _ in range(10))


# ------------------------------------------------------------------ recommend-history.json (issue 34, row 5)


@pytest.mark.parametrize("year", ["1e999", "-1e999", "99999", "1e308", "1995.5", '"1995"', "true", "123" * 2000])
def test_history_holding_a_year_out_of_range_like_1e999_is_set_aside_and_the_daemon_starts(
        tmp_path, caplog, shipped_catalog, year):
    path = tmp_path / HISTORY_FILE
    path.write_text(f'{{"schema": 1, "shown": [["Toy Story", 1995], ["Heat", {year}]]}}')
    with caplog.at_level(logging.WARNING):
        rec = Recommender(shipped_catalog, state_path=path, seed=1)
    assert rec.history == [] and len(rec.recommend("happy")) == 5
    lines = warnings(caplog)
    assert len(lines) == 1 and "recommendation history" in lines[0] and "recommend-history.json.bad" in lines[0]
    assert len(json.loads(path.read_text())["shown"]) == 5


def test_mood_edge_recommend_starts_with_a_history_holding_1e999(tmp_path, cli):
    (tmp_path / HISTORY_FILE).write_text('{"schema": 1, "shown": [["Heat", 1e999]]}')
    config = tmp_path / "c.toml"
    config.write_text(f'[daemon]\nstate_dir = "{tmp_path}"\n')
    run = cli("recommend", "-c", str(config), "--mood", "sad", "--json")
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)["picks"]) == 5 and "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if "WARNING" in line and "history" in line]
