"""Hostile household libraries (issue 22, file-side rows 1, 2, 3, 6, 10, 11): what a folder of films
can hold that must neither kill, flood, hang nor leak. Real files in tmp_path, the real reader and
walk, ``mood-convert catalog`` and the daemon in subprocesses (their peak RSS measured by a wrapper
process), terminal output read through a real pty."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon_helpers import ROOT, astronaut_folder, daemon_cmd, fast_config, peak_rss
from pty_helpers import run_in_pty
from edge.recommend.catalog import load_catalog, validate_catalog
from edge.recommend.library import library_catalog, read_nfo

RSS_LIMIT_MB = 200
#: what a hostile library may add to the daemon's own peak (~150 MB with the default detector,
#: docs/security.md), under the unit's MemoryMax=256M
LIBRARY_EXTRA_MB = 15
DAEMON_LIMIT_MB = 180





def films(root: Path, names: dict[str, str | bytes]) -> Path:
    for rel, content in names.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def billion_laughs(size: int = 1_000_000, expanded: int = 97_000_000) -> str:
    """1 MB that expat expands to ~97 MB: the entity references come after ~1 MB of padding, so the
    expansion stays under expat's 100x amplification limit (the attack as it was seen)."""
    chunk = "L" * 10_000
    head = f'<?xml version="1.0"?>\n<!DOCTYPE movie [<!ENTITY e "{chunk}">]>\n'
    body = "<movie><title>" + "&e;" * (expanded // len(chunk)) + "</title><year>1995</year></movie>\n"
    return head + "<!--" + "p" * (size - len(head) - len(body) - 10) + "-->\n" + body


def laughs_library(root: Path) -> Path:
    names = ["Heat (1995)", "Alien (1979)", "Toy Story (1995)", "Hot Fuzz (2007)"]
    return films(root, {**{f"{n}/{n}.mkv": "" for n in names}, **{f"{n}/movie.nfo": billion_laughs() for n in names}})


def through_pty(cmd: list[str], timeout: float = 180) -> bytes:
    """Everything ``cmd`` writes to a real terminal (stdout and stderr), until it exits."""
    return run_in_pty(cmd, timeout)[1]


@pytest.fixture
def nest():
    """Makes ``levels`` folders one inside the other (os.makedirs recurses) and removes them after the
    test, deepest first: pytest's own clean-up recurses too, and would fail on 1,200 levels."""
    made: list[Path] = []

    def make(folder: Path, levels: int) -> None:
        for _ in range(levels):
            folder = folder / "d"
            folder.mkdir()
            made.append(folder)

    yield make
    for folder in reversed(made):
        folder.rmdir()


def convert_catalog(*args: str) -> list[str]:
    return [sys.executable, "-m", "convert", "catalog", *args]


# ------------------------------------------------------------------ row 2: DTDs, entities, big files


def test_an_nfo_with_a_dtd_billion_laughs_is_refused_before_it_expands(tmp_path):
    nfo = tmp_path / "movie.nfo"
    nfo.write_text(billion_laughs())
    info, problem = read_nfo(nfo)
    assert info is None and "DTD" in problem


def test_an_nfo_with_an_external_entity_never_reads_the_other_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root-only text")
    nfo = tmp_path / "movie.nfo"
    nfo.write_text(f'<!DOCTYPE movie [<!ENTITY x SYSTEM "file://{secret}">]><movie><title>&x;</title></movie>')
    info, problem = read_nfo(nfo)
    assert info is None and "DTD" in problem


def test_a_2_gb_nfo_is_skipped_with_one_warning_without_reading_it(tmp_path, shipped_catalog, caplog):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    with open(lib / "Heat (1995)" / "movie.nfo", "wb") as f:
        f.truncate(2 << 30)  # sparse: 2 GB on paper, nothing on disk
    catalog, report = library_catalog(lib, shipped_catalog)
    assert [f.title for f in catalog.films] == ["Heat"]
    assert len(report.bad_nfo) == 1 and "too large" in report.bad_nfo[0].reason
    assert len([r for r in caplog.records if "movie.nfo" in r.getMessage()]) == 1


def test_a_fifo_nfo_is_skipped_with_one_warning_and_does_not_hang(tmp_path, shipped_catalog, caplog, no_hang):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    os.mkfifo(lib / "Heat (1995)" / "movie.nfo")
    catalog, report = library_catalog(lib, shipped_catalog)  # a blocking open would wait here forever
    assert [f.title for f in catalog.films] == ["Heat"]
    assert len(report.bad_nfo) == 1 and "FIFO" in report.bad_nfo[0].reason
    assert len([r for r in caplog.records if "movie.nfo" in r.getMessage()]) == 1


def test_mood_convert_catalog_stays_under_200_mb_on_four_billion_laughs_nfo_files(tmp_path):
    lib = laughs_library(tmp_path / "Movies")
    out = tmp_path / "mine.json"
    mb, rc, err = peak_rss(convert_catalog("--library", str(lib), "--out", str(out)))
    assert rc == 0, err
    assert mb < RSS_LIMIT_MB, f"peak RSS {mb} MB"
    assert err.count("DTD") == 4 and len(load_catalog(out)) == 4


def test_four_billion_laughs_nfo_files_add_nothing_to_the_daemons_memory(tmp_path):
    def daemon_peak(name: str, library: str) -> tuple[int, str]:
        cfg = fast_config(tmp_path / name, library)
        cmd = daemon_cmd(cfg, f"dir:{astronaut_folder(tmp_path / name)}", "", "laughs", tmp_path / name / "state",
                         "--frames", "5")
        mb, rc, err = peak_rss(cmd)
        assert rc == 0, err
        return mb, err

    (tmp_path / "plain").mkdir()
    (tmp_path / "hostile").mkdir()
    plain, _ = daemon_peak("plain", "")
    lib = laughs_library(tmp_path / "Movies")
    hostile, err = daemon_peak("hostile", f'library = "{lib}"\n')
    assert err.count("DTD") == 4
    assert hostile - plain < LIBRARY_EXTRA_MB, f"peak RSS {hostile} MB with the library, {plain} MB without"
    assert hostile < DAEMON_LIMIT_MB, f"peak RSS {hostile} MB"


# ------------------------------------------------------------------ row 3: deep folders


def test_1200_nested_folders_raise_no_recursion_error_and_are_named_in_one_line(tmp_path, shipped_catalog, caplog, nest):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    nest(lib, 1200)
    catalog, report = library_catalog(lib, shipped_catalog)
    assert [f.title for f in catalog.films] == ["Heat"]
    lines = [r.getMessage() for r in caplog.records if "deeper than" in r.getMessage()]
    assert len(lines) == 1 and len(lines[0]) < 600, lines


# ------------------------------------------------------------------ rows 1 and 10: ids


def test_a_url_only_nfo_with_a_900000_digit_imdb_id_gives_no_id_and_one_warning(tmp_path, shipped_catalog, caplog):
    lib = films(tmp_path / "Movies", {
        "Heat (1995)/Heat (1995).mkv": "",
        "Heat (1995)/movie.nfo": "https://www.imdb.com/title/tt" + "9" * 900_000 + "/\n"})
    catalog, _ = library_catalog(lib, shipped_catalog)
    (heat,) = catalog.films
    assert heat.title == "Heat" and heat.ids == ()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "imdb" in warnings[0] and len(warnings[0]) < 800, warnings


def test_a_200_character_tmdb_tag_is_dropped_for_that_film_and_the_catalog_is_built(tmp_path, shipped_catalog, caplog):
    tag = "{tmdb-" + "1" * 200 + "}"
    lib = films(tmp_path / "Movies", {f"Heat (1995) {tag}.mkv": "", "Alien (1979) {imdb-tt0078748}.mkv": "",
                                      "Toy Story (1995) {tmdb-862}.mkv": ""})
    catalog, report = library_catalog(lib, shipped_catalog)
    ids = {f.title: dict(f.ids) for f in catalog.films}
    assert ids == {"Heat": {}, "Alien": {"imdb": "tt0078748"}, "Toy Story": {"tmdb": "862"}}
    assert len(report.bad_ids) == 1 and len([r for r in caplog.records if "not in a valid form" in r.getMessage()]) == 1
    validate_catalog(catalog.to_dict())


def test_mood_convert_catalog_builds_the_rest_when_one_film_has_a_bad_id(tmp_path):
    lib = films(tmp_path / "Movies", {"Heat (1995) {tmdb-" + "1" * 200 + "}.mkv": "", "Alien (1979).mkv": ""})
    out = tmp_path / "mine.json"
    run = subprocess.run(convert_catalog("--library", str(lib), "--out", str(out)), capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert sorted(f["title"] for f in json.loads(out.read_text())["films"]) == ["Alien", "Heat"]
    assert "not in a valid form" in run.stderr and "Traceback" not in run.stderr


def test_a_catalog_with_an_unchecked_id_is_refused(shipped_catalog):
    doc = shipped_catalog.to_dict()
    doc["films"][0]["ids"] = {"tmdb": "1" * 200}
    with pytest.raises(Exception, match="ids"):
        validate_catalog(doc)


# ------------------------------------------------------------------ row 11: links out of the library


def test_a_link_to_a_root_only_file_as_nfo_never_reaches_the_catalog(tmp_path, shipped_catalog, caplog):
    secret = tmp_path / "private" / "movie.nfo"
    films(secret.parent, {"movie.nfo": "<movie><title>SECRET TITLE</title><plot>SECRET PLOT</plot>"
                                       "<year>1995</year><genre>Drama</genre></movie>"})
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    (lib / "Heat (1995)" / "movie.nfo").symlink_to(secret)
    catalog, _ = library_catalog(lib, shipped_catalog)
    assert "SECRET" not in json.dumps(catalog.to_dict())
    assert any("outside" in r.getMessage() for r in caplog.records)


def test_a_folder_linked_to_root_is_not_walked(tmp_path, shipped_catalog, caplog):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    (lib / "everything").symlink_to("/")
    catalog, report = library_catalog(lib, shipped_catalog)
    assert [f.title for f in catalog.films] == ["Heat"] and report.walk.entries < 100
    (line,) = [r.getMessage() for r in caplog.records if "outside" in r.getMessage()]
    assert "library_follow_outside_links" in line


def test_symlink_loops_are_harmless(tmp_path, shipped_catalog):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    (lib / "Heat (1995)" / "again").symlink_to(lib)
    (lib / "self").symlink_to("self")
    catalog, report = library_catalog(lib, shipped_catalog)
    assert [f.title for f in catalog.films] == ["Heat"] and report.walk.loops >= 1


def test_links_out_of_the_library_are_followed_when_the_user_says_so(tmp_path, shipped_catalog):
    other = films(tmp_path / "OtherDisk", {"Alien (1979)/Alien (1979).mkv": ""})
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": ""})
    (lib / "Alien (1979)").symlink_to(other / "Alien (1979)")
    assert [f.title for f in library_catalog(lib, shipped_catalog)[0].films] == ["Heat"]
    followed = library_catalog(lib, shipped_catalog, follow_outside_links=True)[0]
    assert sorted(f.title for f in followed.films) == ["Alien", "Heat"]


# ------------------------------------------------------------------ row 6: names reaching a terminal or log

CONTROL_NAMES = {
    "Evil \x1b]0;pwned\x07 (2001).mkv": "",
    "Clear \x1b[2J\x1b[H (2002).mkv": "",
    "Forged\nwrote 9999 films (2003).mkv": "",
    "Bell \x07\x07 (2004)/Bell \x07\x07 (2004).mkv": "",
    "Bell \x07\x07 (2004)/movie.nfo": b"\x00\xff broken \x1b[31m",
    "no year \x1b[1m bold.mkv": "",
}


def forged_or_raw(out: bytes) -> list[str]:
    problems = [f"raw {c!r}" for c in (b"\x1b", b"\x07") if c in out]
    lines = out.replace(b"\r\n", b"\n").split(b"\n")
    problems += [f"forged line {x!r}" for x in lines if x.strip().startswith(b"wrote 9999 films")]
    return problems


def test_mood_convert_catalog_prints_no_control_bytes_or_forged_lines_from_file_names(tmp_path):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": "", **CONTROL_NAMES})
    out = through_pty(convert_catalog("--library", str(lib), "--out", str(tmp_path / "mine.json")))
    assert b"mine.json: " in out and b"skipped " in out, out
    assert forged_or_raw(out) == [], out


def test_the_daemons_library_warnings_print_no_control_bytes(tmp_path, nest):
    lib = films(tmp_path / "Movies", {"Heat (1995)/Heat (1995).mkv": "", **CONTROL_NAMES})
    nest(lib, 1200)  # and the walk must not stop the daemon
    cfg = fast_config(tmp_path, f'library = "{lib}"\n')
    out = through_pty(daemon_cmd(cfg, f"dir:{astronaut_folder(tmp_path)}", "", "ctl", tmp_path / "state",
                                 "--frames", "5"))
    assert b"skipped it" in out and b"deeper than" in out and b"Traceback" not in out, out
    assert forged_or_raw(out) == [], out


def test_an_nfo_with_45000_unknown_genres_gives_one_bounded_log_line(tmp_path, shipped_catalog, caplog):
    genres = "".join(f"<genre>G{i}</genre>" for i in range(45_000))  # 900 kB: under the .nfo size cap
    lib = films(tmp_path / "Movies", {"Odd Film (2010)/Odd Film (2010).mkv": "",
                                      "Odd Film (2010)/movie.nfo": f"<movie><title>Odd Film</title>{genres}</movie>"})
    caplog.set_level(logging.INFO)
    library_catalog(lib, shipped_catalog)
    assert caplog.records and max(len(r.getMessage()) for r in caplog.records) < 1000
    assert len([r for r in caplog.records if "no mood-edge equivalent" in r.getMessage()]) == 1
