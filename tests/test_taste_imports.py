"""Importing ratings the household keeps elsewhere (Letterboxd, IMDb): matched by id or title and year,
and hostile files (wrong columns, a BOM, another encoding, 100 MB, formulas, ratings out of range)
refused or skipped in plain words, nothing already learnt lost."""

from __future__ import annotations

import pytest

from edge.recommend.catalog import Catalog, Film
from edge.recommend.imports import MAX_IMPORT_BYTES, ExportFileError, read_export
from edge.recommend.taste import stars_value

NOW = 1_800_000_000.0
LETTERBOXD = "Date,Name,Year,Letterboxd URI,Rating\n"
IMDB = ("Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,"
        "Genres,Num Votes,Release Date,Directors\n")


def films() -> list[Film]:
    def film(title, year, ids=()):
        return Film(title, year, ("drama",), 100, None, False, "A film.", ids=ids)
    return [film("Heat", 1995, (("imdb", "tt0113277"),)), film("Amélie", 2001), film("Toy Story", 1995),
            film("The Thing", 1982)]


def imported(tmp_path, text: str | bytes, name="ratings.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return read_export(path, films(), NOW)


def test_letterboxd_ratings_match_by_title_and_year_and_list_the_rest(tmp_path):
    report = imported(tmp_path, LETTERBOXD + "2024-01-02,Heat,1995,https://boxd.it/x,4.5\n"
                      "2024-01-03,Toy Story,1996,,3\n2024-01-04,Unknown Film,2010,,5\n")
    assert report.kind == "Letterboxd ratings"
    assert [(v.film, v.value) for v in report.votes] == [("imdb:tt0113277", stars_value(4.5)),
                                                         ("toy-story-1995", stars_value(3))]  # a year one off
    assert report.unmatched == ["Unknown Film (2010)"]
    assert report.summary().startswith("Letterboxd ratings: 2 of 3 rows matched")


def test_a_letterboxd_diary_keeps_the_latest_watch_and_unrated_watches_as_seen(tmp_path):
    diary = ("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
             "2024-01-01,Heat,1995,,2,,,2023-12-31\n2024-03-01,Heat,1995,,5,Yes,,2024-02-28\n"
             "2024-03-02,The Thing,1982,,,,,2024-03-01\n")
    report = imported(tmp_path, diary, "diary.csv")
    assert report.kind == "Letterboxd diary"
    assert [(v.film, v.value, v.seen) for v in report.votes] == [("imdb:tt0113277", 1.0, True),
                                                                 ("the-thing-1982", None, True)]


def test_imdb_ratings_match_by_id_first(tmp_path):
    report = imported(tmp_path, IMDB + "tt0113277,9,2024-01-01,Heat (renamed),,,movie,8.3,170,1995,,1,,\n"
                      "tt9999999,2,2024-01-01,Amelie,,,movie,8.3,122,2001,,1,,\n")
    assert report.kind == "IMDb ratings"
    assert [(v.film, v.value) for v in report.votes] == [("imdb:tt0113277", stars_value(4.5)),
                                                         ("amelie-2001", stars_value(1))]


@pytest.mark.parametrize("encoding, label", [("utf-8-sig", "utf-8"), ("utf-16", "utf-16"),
                                             ("cp1252", "Windows-1252 (not UTF-8)")])
def test_a_bom_or_another_encoding_still_matches_accented_titles(tmp_path, encoding, label):
    report = imported(tmp_path, (LETTERBOXD + "2024-01-02,Amélie,2001,,4\n").encode(encoding))
    assert [v.film for v in report.votes] == ["amelie-2001"] and report.encoding == label


def test_wrong_columns_are_one_line_naming_the_file_and_what_was_expected(tmp_path):
    with pytest.raises(ExportFileError) as err:
        imported(tmp_path, "title;stars\nHeat;5\n")
    text = str(err.value)
    assert "ratings.csv" in text and "unknown columns" in text and "Letterboxd" in text and "\n" not in text


def test_a_100_mb_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "ratings.csv"
    with open(path, "wb") as fh:
        fh.write(LETTERBOXD.encode())
        fh.truncate(100 << 20)
    with pytest.raises(ExportFileError, match="too large"):
        read_export(path, films(), NOW)
    assert MAX_IMPORT_BYTES < 100 << 20


def test_formulas_are_never_evaluated_only_compared(tmp_path):
    report = imported(tmp_path, LETTERBOXD + "2024-01-02,\"=cmd|' /C calc'!A0\",2001,,4\n"
                      "2024-01-02,Heat,1995,,=1+1\n")
    assert report.votes == [] and report.unmatched == ["=cmd|' /C calc'!A0 (2001)"]
    assert report.bad_rows == ["line 3: 'Heat'"]


@pytest.mark.parametrize("row", ["2024-01-02,Heat,1995,,6", "2024-01-02,Heat,1995,,0", "2024-01-02,Heat,1995,,-1",
                                 "2024-01-02,Heat,1e999,,4", "2024-01-02,Heat,1995,,nan",
                                 "9999-01-02,Heat,1995,,4", "yesterday,Heat,1995,,4"])
def test_ratings_years_and_dates_out_of_range_are_skipped_and_counted(tmp_path, row):
    report = imported(tmp_path, LETTERBOXD + row + "\n2024-01-02,Toy Story,1995,,4\n")
    assert [v.film for v in report.votes] == ["toy-story-1995"] and len(report.bad_rows) == 1


def test_imdb_ratings_out_of_its_1_to_10_range_are_skipped(tmp_path):
    report = imported(tmp_path, IMDB + "tt0113277,11,2024-01-01,Heat,,,movie,8.3,170,1995,,1,,\n")
    assert report.votes == [] and len(report.bad_rows) == 1


def test_an_import_adds_to_what_was_learnt_and_loses_nothing(tmp_path, shipped_catalog):
    from edge.recommend.recommender import Recommender
    rec = Recommender(shipped_catalog, taste_path=tmp_path / "taste.json")
    rec.feedback("heat-1995", "up", "happy")
    path = tmp_path / "ratings.csv"
    path.write_text(LETTERBOXD + "2024-01-02,Toy Story,1995,,5\n2024-01-02,Heat,1995,,99\n")
    rec.household.add(read_export(path, shipped_catalog.films, NOW).votes)
    assert sorted(v.film for v in Recommender(shipped_catalog, taste_path=tmp_path / "taste.json").taste.votes) == \
        ["heat-1995", "toy-story-1995"]
