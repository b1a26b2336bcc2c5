"""Files the daemon reads or writes besides the library (issue 22, rows 7 and 8), and every owned film
a candidate (issue 23, point 5). Real files in tmp_path; the real daemon in a subprocess where
"the daemon starts" is what is at stake (its timeout turns a hang into a failure)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon_helpers import FAST, ROOT, astronaut_folder
from edge.recommend.catalog import Catalog, Film, load_catalog, validate_catalog
from edge.commands.debug import debug_dir
from edge.errors import ConfigError
from edge.recommend.library import library_catalog
from edge.mqtt.messages import parse_state
from edge.paths import default_catalog
from edge.recommend.recommender import HISTORY_FILE, Recommender




def run_daemon(tmp_path: Path, extra: str = "", frames: int = 3) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.toml"
    cfg.write_text(FAST + extra)
    return subprocess.run([sys.executable, "-m", "edge", "run", "--config", str(cfg), "--broker", "",
                           "--state-dir", str(tmp_path / "state"), "--camera", f"dir:{astronaut_folder(tmp_path)}",
                           "--frames", str(frames)], capture_output=True, text=True, cwd=ROOT, timeout=120)


# ------------------------------------------------------------------ row 7: the history file


def test_a_fifo_as_the_recommendation_history_does_not_hang_and_is_named_once(tmp_path, shipped_catalog, caplog, no_hang):
    os.mkfifo(tmp_path / HISTORY_FILE)
    rec = Recommender(shipped_catalog, seed=1, state_path=tmp_path / HISTORY_FILE)  # a blocking read would wait forever
    assert rec.history == [] and len(rec.recommend("happy")) == 5
    (line,) = [r.getMessage() for r in caplog.records if "history" in r.getMessage()]
    assert "a FIFO, not a regular file" in line and "starting afresh" in line


#: a Recommender on the history file argv[1], in a process that cannot take more than 2 GB (a regression that
#: reads /dev/zero must fail here, not take the test machine's memory)
LIMITED_RECOMMENDER = """
import logging, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from edge.recommend.catalog import load_catalog
from edge.paths import default_catalog
from edge.recommend.recommender import Recommender
print("history", len(Recommender(load_catalog(default_catalog()), seed=1, state_path=sys.argv[1]).history))
"""


def test_a_link_to_dev_zero_as_the_recommendation_history_is_refused_without_reading_it(tmp_path):
    (tmp_path / HISTORY_FILE).symlink_to("/dev/zero")
    run = subprocess.run([sys.executable, "-c", LIMITED_RECOMMENDER, str(tmp_path / HISTORY_FILE)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "history 0", run.stderr[-2000:]
    (line,) = [x for x in run.stderr.splitlines() if "history" in x]
    assert "a symbolic link to /dev/zero" in line and "starting afresh" in line


def test_the_daemon_starts_when_its_recommendation_history_is_a_fifo(tmp_path):
    (tmp_path / "state").mkdir()
    os.mkfifo(tmp_path / "state" / HISTORY_FILE)
    run = run_daemon(tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("recommend-history.json is unusable (a FIFO") == 1 and "Traceback" not in run.stderr


# ------------------------------------------------------------------ row 8: the debug crop folder


def test_a_debug_crop_folder_writable_by_others_is_refused(tmp_path):
    shared = tmp_path / "faces"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ConfigError, match="others can write to it"):
        debug_dir(str(shared), "config.toml")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_debug_crop_folder_owned_by_another_user_is_refused(tmp_path):
    theirs = tmp_path / "faces"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(ConfigError, match="belongs to another user"):
        debug_dir(str(theirs), "config.toml")


def test_the_daemon_refuses_a_shared_debug_crop_folder_in_one_line(tmp_path):
    shared = tmp_path / "faces"
    shared.mkdir()
    shared.chmod(0o777)
    run = run_daemon(tmp_path, f'[daemon]\ndebug_save_faces_dir = "{shared}"\n')
    assert run.returncode == 2 and "Traceback" not in run.stderr
    (line,) = [x for x in run.stderr.splitlines() if "error" in x]
    assert "daemon.debug_save_faces_dir" in line and "others can write" in line
    assert list(shared.iterdir()) == []


def test_a_face_crop_never_writes_through_a_hard_link_to_another_file(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    for frame in range(4):
        os.link(victim, faces / f"frame{frame:06d}-face0.png")
    run = run_daemon(tmp_path, f'[daemon]\ndebug_save_faces_dir = "{faces}"\n')
    assert run.returncode == 0, run.stderr
    assert victim.read_text() == "someone else's file"
    assert any((faces / f"frame{frame:06d}-face0.png").read_bytes().startswith(b"\x89PNG") for frame in range(4))


# ------------------------------------------------------------------ issue 23: every owned film a candidate


def three_films(root: Path) -> Path:
    for rel, text in {
        "Paddington 2 (2017)/paddington2.mkv": "",
        "Heat (1995)/heat.mkv": "",
        "Heat (1995)/movie.nfo": "<movie><title>Heat</title><year>1995</year><genre>Crime</genre></movie>",
        "Columbus (2017)/Columbus.2017.1080p.mp4": "",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_household_library_of_three_films_gives_three_films(tmp_path, shipped_catalog):
    assert shipped_catalog.find("Columbus", 2017) is None  # neither in our catalog nor with an .nfo
    catalog, report = library_catalog(three_films(tmp_path / "Movies"), shipped_catalog)
    assert sorted((f.title, f.year) for f in catalog.films) == [("Columbus", 2017), ("Heat", 1995),
                                                                  ("Paddington 2", 2017)]
    columbus = next(f for f in catalog.films if f.title == "Columbus")
    assert columbus.genres == () and columbus.family is False and columbus.path.endswith(".mp4")
    assert [Path(p).name for p in report.no_genre] == ["Columbus.2017.1080p.mp4"]
    validate_catalog(catalog.to_dict())  # a catalog that mood-convert may write and the daemon load


def test_mood_convert_catalog_writes_the_three_films(tmp_path):
    out = tmp_path / "mine.json"
    run = subprocess.run([sys.executable, "-m", "convert", "catalog", "--library", str(three_films(tmp_path / "M")),
                          "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert sorted(f["title"] for f in load_catalog(out).to_dict()["films"]) == ["Columbus", "Heat", "Paddington 2"]
    assert "unknown genres" in run.stderr and "Columbus" in run.stderr


def test_an_owned_film_with_unknown_genres_is_picked_less_often_than_one_the_policy_ignores(shipped_catalog):
    neutral = next(g for g in shipped_catalog.genres if shipped_catalog.policy.weights("neutral", "lift").get(g, 0) == 0)
    films = [Film("Known", 2000, (neutral,), None, None, False, "A film.", path="/m/known.mkv"),
             Film("Unknown", 2000, (), None, None, False, "A film.", path="/m/unknown.mkv")]
    rec = Recommender(Catalog(films=films, policy=shipped_catalog.policy), count=1, history=0, seed=5)
    picks = [rec.recommend("neutral")[0].title for _ in range(600)]
    assert 0 < picks.count("Unknown") < picks.count("Known")


def test_picks_from_the_library_say_owned_and_a_display_reads_it(tmp_path, shipped_catalog):
    catalog, _ = library_catalog(three_films(tmp_path / "Movies"), shipped_catalog)
    picks = [p.to_dict() for p in Recommender(catalog, count=3, seed=2).recommend("happy")]
    assert len(picks) == 3 and all(p["owned"] is True for p in picks)
    assert "owned" not in Recommender(shipped_catalog, count=1, seed=1).recommend("happy")[0].to_dict()
    state = {"mood": "happy", "recommendations": picks}
    received = parse_state("dev", json.dumps(state).encode())
    assert [f.owned for f in received.films] == [True, True, True]
