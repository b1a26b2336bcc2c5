"""``mood-edge taste`` and ``mood-edge recommend``: the household's taste from the command line, on the
same files the daemon with that config uses."""

from __future__ import annotations

import json

import pytest

from taste_helpers import write_film


@pytest.fixture
def home(tmp_path):
    """A config with its own state folder and a three-film library (one with an IMDb id)."""
    library = tmp_path / "films"
    write_film(library, "Paterson", 2016, ["Comedy", "Drama"], imdb="tt5247022", community=7.4, votes=90_000)
    write_film(library, "Coherence", 2013, ["Science Fiction", "Mystery"], community=7.2, votes=150_000)
    write_film(library, "Columbus", 2017, ["Drama", "Romance"], community=7.2, votes=20_000)
    config = tmp_path / "config.toml"
    config.write_text(f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n[recommend]\nlibrary = "{library}"\n'
                      f"count = 2\n")
    return tmp_path, config


def recommend_json(cli, config, mood="neutral", *more) -> dict:
    run = cli("recommend", "-c", str(config), "--mood", mood, "--json", "--seed", "1", *more)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_help_reads_like_a_man_page(cli):
    taste = cli("taste", "--help")
    assert taste.returncode == 0
    for word in ("import FILE", "show", "vote FILM", "forget --all", "Letterboxd", "IMDb", "daemon.state_dir",
                 "examples:"):
        assert word in taste.stdout
    rec = cli("recommend", "--help")
    assert rec.returncode == 0 and "--mood" in rec.stdout and '{"mood": MOOD, "picks": [...]}' in rec.stdout


def test_recommend_json_prints_the_picks_as_the_state_message_has_them_without_touching_the_history(cli, home):
    tmp_path, config = home
    doc = recommend_json(cli, config, "neutral", "--limit", "3")
    assert doc["mood"] == "neutral" and len(doc["picks"]) == 3
    for pick in doc["picks"]:
        assert {"title", "year", "genres", "reasons", "key", "path", "owned"} <= set(pick)
        assert pick["path"].startswith(str(tmp_path / "films"))
    assert {p["key"] for p in doc["picks"]} == {"imdb:tt5247022", "coherence-2013", "columbus-2017"}
    assert not (tmp_path / "state" / "recommend-history.json").exists()


def test_a_vote_from_the_command_line_changes_the_next_picks_and_shows_in_taste_show(cli, home):
    _, config = home
    first = recommend_json(cli, config)["picks"][0]
    run = cli("taste", "-c", str(config), "vote", first["key"], "down", "--mood", "neutral")
    assert run.returncode == 0 and first["title"] in run.stdout
    assert first["key"] not in {p["key"] for p in recommend_json(cli, config)["picks"]}
    shown = json.loads(cli("taste", "show", "-c", str(config), "--json").stdout)
    assert shown["votes"] == 1 and shown["by_source"] == {"cli": 1}


def test_taste_import_says_how_many_matched_and_which_did_not(cli, home, tmp_path):
    _, config = home
    export = tmp_path / "ratings.csv"
    export.write_text("Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Paterson,2016,,5\n"
                      "2024-01-01,Columbus,2017,,4.5\n2024-01-02,Not Here,1999,,3\n")
    run = cli("taste", "-c", str(config), "import", str(export))
    assert run.returncode == 0, run.stderr
    assert "2 of 3 rows matched" in run.stdout and "not found: Not Here (1999)" in run.stdout
    words = cli("taste", "-c", str(config), "show").stdout
    assert "2 votes" in words and "2 from import" in words


def test_forget_one_film_then_everything(cli, home):
    tmp_path, config = home
    for film in ("Paterson (2016)", "coherence-2013"):
        assert cli("taste", "-c", str(config), "vote", film, "up").returncode == 0
    run = cli("taste", "-c", str(config), "forget", "Paterson (2016)")
    assert run.returncode == 0 and "forgot 1 votes on imdb:tt5247022" in run.stdout
    assert cli("taste", "-c", str(config), "forget", "--all").returncode == 0
    assert not (tmp_path / "state" / "taste.json").exists()


@pytest.mark.parametrize("args, needle", [
    (["vote", "No Such Film", "up"], "no film 'No Such Film'"),
    (["vote", "\udcff", "up"], "film:"),
    (["import", "/nonexistent.csv"], "no such file"),
    (["forget"], "give one film or --all"),
])
def test_mistakes_are_one_line_with_exit_status_2(cli, home, args, needle):
    _, config = home
    run = cli("taste", "-c", str(config), *args)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("mood-edge: error:")]
    assert len(errors) == 1 and needle in errors[0], run.stderr
