"""The README a maker reads to the end: short, the two commands first, every link and figure true.

Figures are checked against what they come from: the model cards (models/*.json) and the
commands' own --help. When a new model or a new default lands, these tests name what to update.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge.paths import default_model

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: linked from the README, written on another branch at the same time (allowed to be absent here)
PENDING = {"docs/security.md"}
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def _links(text: str) -> list[str]:
    return [m for m in LINK.findall(text) if not re.match(r"^[a-z]+:", m)]


def test_the_readme_is_short_enough_to_read_to_the_end():
    assert len(README.splitlines()) < 250


def test_the_demo_and_the_test_commands_are_on_the_first_screen():
    first_screen = "\n".join(README.splitlines()[:24])
    assert "./tools/demo.sh" in first_screen and "./tools/test.sh" in first_screen


def test_it_says_what_is_processed_that_people_should_be_told_and_where_the_law_forbids_it():
    assert "What is processed" in README and "Tell people" in README
    assert "AI Act" in README and "workplaces" in README and "schools" in README


@pytest.mark.parametrize("doc", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_every_link_points_to_a_file_in_the_tree(doc):
    path = ROOT / doc
    missing = []
    for link in _links(path.read_text(encoding="utf-8")):
        target = (path.parent / link).resolve()
        if not target.exists() and str(target.relative_to(ROOT)) not in PENDING:
            missing.append(link)
    assert missing == [], f"{doc} links to files that are not there"


def test_the_readme_links_every_topic_it_moved_into_docs():
    for doc in ("configuration", "detectors", "model", "benchmark", "pi-install-test", "mqtt", "security"):
        assert f"(docs/{doc}.md)" in README, doc
    assert "(displays/README.md)" in README


def test_the_tv_page_picture_is_committed_and_shown():
    assert "](docs/img/tv-page.png)" in README
    assert (ROOT / "docs" / "img" / "tv-page.png").stat().st_size > 10_000


# -- the model table against the cards ------------------------------------------------------------
def _card(name: str) -> dict:
    return json.loads((ROOT / "models" / f"{name}.json").read_text(encoding="utf-8"))


def _model_rows() -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in README.splitlines() if re.match(r"^\|\s*\[\w+\]\(models/\w+\.json\)", line)]
    assert rows, "the README has no model table whose rows link to models/*.json"
    return rows


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def test_every_figure_in_the_model_table_is_its_cards():
    for cells in _model_rows():
        name = re.match(r"\[(\w+)\]", cells[0]).group(1)
        card = _card(name)
        ev = card["metrics"]["evaluation"]
        expected = [
            f"{card['source']['parameters']:,}",
            _pct(ev["models"][name]["accuracy"]),
            f"{ev['models'][name]['macro_f1']:.3f}",
            _pct(ev["at_face_size"]["40px"][name]["accuracy"]),
            f"{round((ROOT / 'models' / card['file']).stat().st_size / 1000)} KB",
        ]
        expected.append(_pct(ev["models"][name]["fer2013"]["accuracy"]))  # the other yardstick, beside it
        assert cells[1:7] == expected, f"README row for {name}: {cells[1:7]}, its card says {expected}"
        assert ev["yardstick"] == "FER+ majority", f"{name}: the README's table is judged by the FER+ majority"
        assert ev["split_is"] == "PublicTest" and ev["n"] == 3589, f"{name}: the README says PublicTest, 3,589 faces"
    assert "PublicTest (3,589 faces)" in README


def test_the_row_marked_default_is_the_model_the_daemon_loads():
    marked = [re.match(r"\[(\w+)\]", c[0]).group(1) for c in _model_rows() if "(default)" in c[0]]
    assert marked == [default_model().stem]


def test_every_model_card_shipped_as_int8_is_in_the_table():
    listed = {re.match(r"\[(\w+)\]", c[0]).group(1) for c in _model_rows()}
    shipped = {p.stem for p in (ROOT / "models").glob("*_int8.json")}
    assert listed == shipped


def _parameter_counts(text: str) -> list[int]:
    """Every parameter count a text states: '58,423 parameters', '82k-parameter', '58k or 82k parameters'."""
    counts = []
    for m in re.finditer(r"((?:\d[\d,]*k?\b(?:\s*(?:or|and|,)\s*)?)+)[- ]parameters?\b", text):
        for n in re.findall(r"\d[\d,]*k?", m.group(1)):
            counts.append(int(n[:-1]) * 1000 if n.endswith("k") else int(n.replace(",", "")))
    return counts


def _known_counts() -> set[int]:
    return {_card(p.stem)["source"]["parameters"] for p in (ROOT / "models").glob("*_int8.json")}


def _agrees(n: int, known: set[int]) -> bool:
    return any(n == k or (n % 1000 == 0 and round(k / 1000) * 1000 == n) for k in known)


@pytest.mark.parametrize("doc", ["README.md", "docs/model.md"])
def test_every_parameter_count_in_the_docs_is_a_shipped_models(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    wrong = [n for n in _parameter_counts(text) if not _agrees(n, _known_counts())]
    assert wrong == [], f"{doc} states parameter counts no card has; the cards say {sorted(_known_counts())}"


def test_the_parameter_count_reader_catches_a_stale_figure():
    assert _parameter_counts("a mini-Xception CNN (58k or 82k parameters)") == [58000, 82000]
    assert _parameter_counts("the 82k-parameter mood-xception; 92,263 parameters") == [82000, 92263]
    assert not _agrees(82000, {58423, 92263}) and _agrees(58000, {58423})


def test_mood_convert_train_help_states_the_shipped_models_parameter_count():
    helptext = subprocess.run([sys.executable, "-m", "convert", "train", "--help"], cwd=ROOT, text=True,
                              capture_output=True, timeout=120).stdout
    counts = _parameter_counts(helptext)
    assert counts and all(_agrees(n, _known_counts()) for n in counts), counts


# -- the commands against their --help ------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _help(command: str) -> str:
    run = subprocess.run([sys.executable, "-m", "edge", *command.split(), "--help"], cwd=ROOT, text=True,
                         capture_output=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0, f"`mood-edge {command}` is in the README but --help fails: {run.stderr[-500:]}"
    return run.stdout


def _commands() -> list[tuple[str, list[str]]]:
    """(sub-command, options) for every `mood-edge CMD ...` and `./tools/demo.sh ...` the README writes."""
    code = re.findall(r"```.*?```|`[^`\n]+`", README, flags=re.S)  # what a reader types, not prose
    found = []
    for line in "\n".join(code).splitlines():
        line = line.split("#", 1)[0]  # a shell comment is prose
        for m in re.finditer(r"(?:bin/mood-edge|^mood-edge|[\s`]mood-edge) (\w+)([^`|;&]*)", line):
            found.append((m.group(1), re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", m.group(2))))
        for m in re.finditer(r"tools/demo\.sh([^`|;&]*)", line):
            found.append(("demo", re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", m.group(1))))
    return found


def test_every_command_and_option_the_readme_writes_exists():
    seen = _commands()
    assert {c for c, _ in seen} >= {"demo", "check", "watch"}
    for command, options in seen:
        helptext = _help(command)
        for opt in options:
            assert re.search(rf"(?<![\w-]){re.escape(opt)}\b", helptext), f"`mood-edge {command} {opt}`: not in its --help"


def test_the_demo_length_the_readme_gives_is_the_default():
    seconds = re.search(r"\(default: (\d+)\)", _help("demo").split("--seconds", 1)[1]).group(1)
    assert f"{seconds} s;" in README or f"{seconds} s " in README


#: options of other programs the README shows (rpicam-hello lists the Pi's cameras)
FOREIGN_OPTIONS = {"--list-cameras"}


def test_every_option_the_readme_names_belongs_to_a_command_it_names():
    code = "\n".join(re.findall(r"```.*?```|`[^`\n]+`", README, flags=re.S))
    from edge.__main__ import COMMANDS

    helps = "\n".join(_help(c) for c in (*COMMANDS, "taste forget", "taste import", "taste vote", "taste show"))
    helps += "\n".join(subprocess.run([sys.executable, "-m", "convert", c, "--help"], cwd=ROOT, text=True,
                                      capture_output=True, timeout=120).stdout for c in ("train", "evaluate", "catalog"))
    helps += subprocess.run(["bash", str(ROOT / "systemd" / "install.sh"), "--help"], text=True,
                            capture_output=True, timeout=60).stdout
    options = set(re.findall(r"(?<![\w/.-])(--[a-z][\w-]*)", code)) - FOREIGN_OPTIONS
    assert options, "no options found: the reader is broken"
    unknown = sorted(o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}\b", helps))
    assert unknown == [], "the README names options no command has"
