"""The household's own films as the catalog: a generated Kodi/Jellyfin/Plex-style movie folder.

Real titles, laid out the way media centres keep them: Kodi .nfo files for some, bare
"Title (Year)" names for others, a broken .nfo, a scene-style name, a two-part film, a DVD copy,
trailers and extras, a TV show. The video files are empty: only names and .nfo files are read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.recommend.catalog import load_catalog, validate_catalog
from edge.errors import ConfigError
from edge.recommend.library import library_catalog, parse_name, parse_rating, read_nfo
from edge.recommend.recommender import Recommender

ROOT = Path(__file__).resolve().parent.parent

PADDINGTON_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<movie>
  <title>Paddington 2</title>
  <year>2017</year>
  <genre>Family</genre><genre>Comedy</genre><genre>Adventure</genre>
  <runtime>103</runtime>
  <mpaa>Rated PG</mpaa>
  <plot>Paddington takes odd jobs to buy a pop-up book for his aunt.</plot>
  <uniqueid type="imdb" default="true">tt4468740</uniqueid>
  <uniqueid type="tmdb">346648</uniqueid>
</movie>
"""
PATERSON_NFO = """<?xml version="1.0" encoding="UTF-8"?>
<movie>
  <title>Paterson</title>
  <originaltitle>Paterson</originaltitle>
  <premiered>2016-12-28</premiered>
  <genre>Comedy</genre><genre>Drama</genre><genre>Romance</genre>
  <runtime>118</runtime>
  <mpaa>US:R / GB:15</mpaa>
  <outline>A week in the life of a bus driver and poet in Paterson, New Jersey.</outline>
  <plot>A longer plot that is not used because the outline is shorter and says it better.</plot>
  <uniqueid type="tmdb">370755</uniqueid>
</movie>
"""
COHERENCE_NFO = """<movie><title>Coherence</title><year>2013</year>
<genre>Science Fiction / Thriller</genre><genre>TV Movie</genre><genre>Mumblecore</genre>
<fileinfo><streamdetails><video><durationinseconds>5340</durationinseconds></video></streamdetails></fileinfo>
<mpaa>Not Rated</mpaa><plot>Eight friends at a dinner party on the night a comet passes.</plot></movie>
"""
BROKEN_NFO = "<movie><title>The Matrix</title><genre>Action</genre>\n<year>1999"
TVSHOW_NFO = "<tvshow><title>Severance</title></tvshow>"
AMELIE_NFO = """<movie><title>Amélie</title><originaltitle>Le Fabuleux Destin d'Amélie Poulain</originaltitle>
<year>2001</year><genre>Romance</genre><genre>Comedy</genre></movie>"""


def make_library(root: Path) -> Path:
    files = {
        # bare names the shipped catalog knows
        "Heat (1995)/Heat (1995).mkv": "",
        "Blade Runner (1982)/Blade Runner (1982) - Final Cut.mkv": "",
        "Hot Fuzz (2007).mp4": "",
        "arrival.2016.2160p.web-dl.x265.mkv": "",
        "Spirited Away (2001)/Spirited Away (2001) - part1.mkv": "",
        "Spirited Away (2001)/Spirited Away (2001) - part2.mkv": "",
        "Toy Story (1995)/Toy Story (1995).mkv": "",
        "Toy Story (1995)/Toy Story (1995)-trailer.mkv": "",
        "Toy Story (1995)/extras/Making of.mkv": "",
        "Seven Samurai (1954)/VIDEO_TS/VIDEO_TS.IFO": "",
        "Seven Samurai (1954)/VIDEO_TS/VTS_01_1.VOB": "",
        # with .nfo files
        "Paddington 2 (2017)/Paddington 2 (2017).mp4": "",
        "Paddington 2 (2017)/movie.nfo": PADDINGTON_NFO,
        "Paterson (2016)/Paterson (2016) {imdb-tt5247022}.mkv": "",
        "Paterson (2016)/Paterson (2016) {imdb-tt5247022}.nfo": PATERSON_NFO,
        "Coherence (2013)/Coherence.2013.1080p.BluRay.x264.mkv": "",
        "Coherence (2013)/movie.nfo": COHERENCE_NFO,
        "Amelie/Amelie.mkv": "",
        "Amelie/Amelie.nfo": AMELIE_NFO,
        # a broken .nfo: named, skipped, counted; the film is still found by its name
        "The Matrix (1999)/The Matrix (1999).mkv": "",
        "The Matrix (1999)/The Matrix (1999).nfo": BROKEN_NFO,
        "Alien (1979)/Alien (1979).avi": "",
        "Alien (1979)/movie.nfo": b"\x00\xff\xfe garbage",
        # not films, or not usable
        "Tampopo (1985)/Tampopo (1985).mkv": "",          # unknown to the catalog and no .nfo: genres unknown
        "Birthday party.mkv": "",                         # no year anywhere
        "Shows/Severance/tvshow.nfo": TVSHOW_NFO,
        "Shows/Severance/Severance S01E01.mkv": "",
        ".hidden/Heat (1995).mkv": "",
        "notes.txt": "not a film",
    }
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root



@pytest.fixture
def library(tmp_path):
    return make_library(tmp_path / "Movies")


def by_title(catalog):
    return {f.title: f for f in catalog.films}


def test_names_give_title_year_and_library_ids():
    assert parse_name("Heat (1995)") == ("Heat", 1995, {})
    assert parse_name("Paterson (2016) {imdb-tt5247022}") == ("Paterson", 2016, {"imdb": "tt5247022"})
    assert parse_name("Coherence.2013.1080p.BluRay.x264") == ("Coherence", 2013, {})
    assert parse_name("Blade Runner (1982) - Final Cut") == ("Blade Runner", 1982, {})
    assert parse_name("Dune [tmdbid-438631] (2021)")[1:] == (2021, {"tmdb": "438631"})
    assert parse_name("2001 A Space Odyssey (1968)") == ("2001 A Space Odyssey", 1968, {})
    assert parse_name("Birthday party") == ("Birthday party", None, {})


def test_kodi_ratings_become_us_ratings_or_none():
    assert [parse_rating(x) for x in ("Rated PG-13", "US:R / GB:15", "gb:15", "PG", "Not Rated", None)] == [
        "PG-13", "R", None, "PG", None, None]


def test_the_library_becomes_a_catalog_of_exactly_the_owned_films(library, shipped_catalog):
    catalog, report = library_catalog(library, shipped_catalog)
    assert sorted(by_title(catalog)) == sorted([
        "Heat", "Blade Runner", "Hot Fuzz", "Arrival", "Spirited Away", "Toy Story", "Seven Samurai",
        "Paddington 2", "Paterson", "Coherence", "Amélie", "The Matrix", "Alien", "Tampopo"])
    assert report.duplicates == 1  # Spirited Away's second part
    assert [Path(p).name for p in report.no_genre] == ["Tampopo (1985).mkv"]
    assert [Path(p).name for p in report.no_year] == ["Birthday party.mkv"]
    assert catalog.policy is shipped_catalog.policy
    validate_catalog(catalog.to_dict(), origin="library")  # a valid catalog, path and ids included


def test_each_film_says_where_it_is(library, shipped_catalog):
    films = by_title(library_catalog(library, shipped_catalog)[0])
    assert films["Heat"].path == str(library / "Heat (1995)" / "Heat (1995).mkv")
    assert films["Spirited Away"].path.endswith("part1.mkv")
    assert films["Seven Samurai"].path == str(library / "Seven Samurai (1954)")  # the DVD folder
    assert all(Path(f.path).exists() for f in films.values())
    assert dict(films["Paddington 2"].ids) == {"imdb": "tt4468740", "tmdb": "346648"}
    assert dict(films["Paterson"].ids) == {"imdb": "tt5247022", "tmdb": "370755"}


def test_films_the_catalog_knows_keep_its_genres_and_description(library, shipped_catalog):
    films = by_title(library_catalog(library, shipped_catalog)[0])
    for title, year in (("Paddington 2", 2017), ("Heat", 1995), ("Amélie", 2001), ("Arrival", 2016)):
        shipped = shipped_catalog.films[shipped_catalog.find(title, year)]
        assert (films[title].genres, films[title].description, films[title].family) == (
            shipped.genres, shipped.description, shipped.family)


def test_unknown_films_take_genres_runtime_rating_and_plot_from_their_nfo(library, shipped_catalog):
    assert shipped_catalog.find("Paterson", 2016) is None and shipped_catalog.find("Coherence", 2013) is None
    films = by_title(library_catalog(library, shipped_catalog)[0])
    p = films["Paterson"]
    assert (p.year, p.genres, p.runtime, p.rating, p.family) == (2016, ("comedy", "drama", "romance"), 118, "R", False)
    assert p.description == "A week in the life of a bus driver and poet in Paterson, New Jersey."
    c = films["Coherence"]
    assert (c.genres, c.runtime, c.rating) == (("sci-fi", "thriller"), 89, None)


def test_a_broken_nfo_is_named_skipped_and_counted_and_the_film_read_from_its_name(library, shipped_catalog, caplog):
    catalog, report = library_catalog(library, shipped_catalog)
    problems = {Path(p.path).relative_to(library).as_posix(): p.reason for p in report.bad_nfo}
    assert set(problems) == {"The Matrix (1999)/The Matrix (1999).nfo", "Alien (1979)/movie.nfo"}
    assert "not valid XML at line 2" in problems["The Matrix (1999)/The Matrix (1999).nfo"]
    assert "The Matrix (1999).nfo" in caplog.text and "skipped" in caplog.text
    assert by_title(catalog)["The Matrix"].genres == shipped_catalog.films[shipped_catalog.find("The Matrix", 1999)].genres
    assert "2 bad .nfo skipped" in report.summary(len(catalog))


def test_a_tv_show_nfo_is_not_a_film(tmp_path):
    nfo = tmp_path / "x.nfo"
    nfo.write_text(TVSHOW_NFO)
    assert read_nfo(nfo) == (None, "root element <tvshow>, not <movie> (TV shows and episodes are not films)")


def test_picks_come_only_from_the_library_and_carry_the_path(library, shipped_catalog):
    catalog, _ = library_catalog(library, shipped_catalog)
    rec = Recommender(catalog, strategy="lift", count=5, seed=3)
    owned = {f.path for f in catalog.films}
    for mood in ("happy", "sad", "fear", "nobody"):
        picks = [r.to_dict() for r in rec.recommend(mood)]
        assert picks and all(p["path"] in owned for p in picks)
    assert "path" not in Recommender(shipped_catalog, count=1, seed=1).recommend("happy")[0].to_dict()  # shipped: unchanged


def test_a_missing_library_folder_is_a_config_error(tmp_path, shipped_catalog):
    with pytest.raises(ConfigError, match=r"recommend.library: no such folder"):
        library_catalog(tmp_path / "nope", shipped_catalog)


def test_a_library_with_no_usable_film_is_a_config_error(tmp_path, shipped_catalog):
    (tmp_path / "Home videos").mkdir()
    (tmp_path / "Home videos" / "Birthday.mkv").write_text("")
    with pytest.raises(ConfigError, match=r"no usable films .*1 left out without a year"):
        library_catalog(tmp_path, shipped_catalog)


def convert_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convert", "catalog", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_mood_convert_catalog_library_writes_a_catalog_and_names_what_it_skipped(library, tmp_path):
    out = tmp_path / "mine.json"
    run = convert_cli("--library", str(library), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(f"{out}: 14 films from ")
    assert "skipped " + str(library / "The Matrix (1999)" / "The Matrix (1999).nfo") + ": not valid XML" in run.stderr
    assert "unknown genres " + str(library / "Tampopo (1985)" / "Tampopo (1985).mkv") in run.stderr
    assert "Traceback" not in run.stderr
    catalog = load_catalog(out)
    assert len(catalog) == 14 and all(f.path for f in catalog.films)
    doc = json.loads(out.read_text())
    assert doc["films"][0]["path"] and "policy" in doc


def test_mood_convert_catalog_library_refuses_a_missing_folder_in_one_line(tmp_path):
    run = convert_cli("--library", str(tmp_path / "nope"), "--out", str(tmp_path / "x.json"))
    assert run.returncode == 2
    (line,) = [l for l in run.stderr.splitlines() if "error" in l]
    assert line.startswith("mood-convert: error: ") and line.endswith(
        "nope: no such folder (expected a folder of films (Kodi/Jellyfin/Emby/Plex library))")
    assert "Traceback" not in run.stderr


def test_the_daemon_picks_from_recommend_library(library, tmp_path, broker):
    from daemon_helpers import astronaut_folder, daemon_cmd, fast_config
    from mqtt_helpers import Subscriber

    cfg = fast_config(tmp_path, f'library = "{library}"\n')  # FAST ends in [recommend]
    sub = Subscriber(broker.port, ["mood-edge/libdev/state"])
    try:
        run = subprocess.run(daemon_cmd(cfg, f"dir:{astronaut_folder(tmp_path)}", broker.url, "libdev",
                                        tmp_path / "state", "--loop", "--frames", "30"),
                             capture_output=True, text=True, timeout=180, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        assert "bad .nfo skipped" in run.stderr and "The Matrix (1999).nfo" in run.stderr
        msg = sub.wait_for("mood-edge/libdev/state", lambda m: json.loads(m.payload)["recommendations"])
        picks = json.loads(msg.payload)["recommendations"]
        owned = {str(p) for p in library.rglob("*")}
        assert all(p["path"] in owned and p["owned"] is True for p in picks), picks
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(json.loads(msg.payload), json.loads((ROOT / "docs/state.schema.json").read_text()))
    finally:
        sub.close()


def test_a_year_in_the_title_is_not_the_release_year():
    assert parse_name("Blade Runner 2049 (2017)") == ("Blade Runner 2049", 2017, {})
    assert parse_name("Blade.Runner.2049.2017.1080p.BluRay") == ("Blade Runner 2049", 2017, {})
    assert parse_name("1917 (2019)") == ("1917", 2019, {})
    assert parse_name("1917.2019.2160p") == ("1917", 2019, {})


def test_a_file_name_that_is_not_utf8_is_left_out_and_named(tmp_path, shipped_catalog):
    lib = make_library(tmp_path / "Movies")
    bad = os.fsencode(str(lib)) + b"/Caf\xe9 Society (2016).mkv"
    open(bad, "wb").close()
    catalog, report = library_catalog(lib, shipped_catalog)
    assert len(catalog) == 14 and len(report.bad_names) == 1 and "Caf" in report.bad_names[0]
    json.dumps(catalog.to_dict(), ensure_ascii=False).encode("utf-8")  # publishable
