"""The pages in docs/ (and displays/README.md) against what the code does today.

tests/test_readme.py does this for the README; here every other page: each `mood-edge CMD --option`
a reader would type exists in that command's --help, each option of install.sh and
mood-edge-user.sh it names exists, each file of this repository and each file of an installed Pi it
names is there, and the figures a test can recompute (the catalog's size, the schema's fields, the
status words) are what the code says.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from test_readme import _help

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")) + ["displays/README.md"]
EVERY_PAGE = [*PAGES, "README.md"]


def _code(page: str) -> list[str]:
    """What a reader types: fenced blocks and `inline code`, shell comments left out."""
    text = (ROOT / page).read_text(encoding="utf-8")
    found = re.findall(r"```.*?```|`[^`\n]+`", text, flags=re.S)
    return [line.split(" # ", 1)[0] for block in found for line in block.strip("`").splitlines()]


def _mood_edge_commands(page: str) -> list[tuple[str, list[str]]]:
    found = []
    for line in _code(page):
        for m in re.finditer(r"(?:bin/mood-edge|^mood-edge|[\s'(]mood-edge) (\w+)([^`|;&')]*)", line):
            found.append((m.group(1), re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", m.group(2))))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_mood_edge_command_and_option_a_page_writes_exists(page):
    for command, options in _mood_edge_commands(page):
        if command not in ("run", "watch", "check", "bench", "demo"):
            continue
        helptext = _help(command)
        for opt in options:
            assert re.search(rf"(?<![\w-]){re.escape(opt)}\b", helptext), \
                f"{page}: `mood-edge {command} {opt}` is not in its --help"


def _script_help(script: str) -> str:
    return subprocess.run(["bash", str(ROOT / script), "--help"], capture_output=True, text=True, timeout=60).stdout


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_install_and_user_script_option_a_page_writes_exists(page):
    scripts = {"install.sh": "systemd/install.sh", "mood-edge-user.sh": "systemd/mosquitto/mood-edge-user.sh",
               "make-certs.sh": "systemd/mosquitto/make-certs.sh"}
    for line in _code(page):
        for name, script in scripts.items():
            for m in re.finditer(rf"{re.escape(name)}((?:\s+[^\s`|;&)]+)*)", line):
                args = m.group(1).split()
                helptext = _script_help(script)
                for opt in (a for a in args if a.startswith("--")):
                    assert opt.split("=")[0] in helptext, f"{page}: `{name} {opt}` is not in its --help"
                if name == "mood-edge-user.sh" and args[:1] in (["add"], ["remove"]) and len(args) > 1:
                    assert args[1] in ("device", "display", "service", "device|display|service"), \
                        f"{page}: `{name} {' '.join(args)}`: no such kind"


#: files of this repository a page names in code, by where they live
REPO_PATH = re.compile(r"(?<![\w/.-])((?:edge|tests|tools|systemd|displays|docs|convert|models|samples)/[\w./-]*\w)")


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_repository_file_a_page_names_is_there(page):
    missing = [p for line in _code(page) for p in REPO_PATH.findall(line) if not (ROOT / p).exists()]
    assert missing == [], f"{page} names files that are not in the repository"


#: paths on the Pi a page names that the installer does not lay down under --prefix --dry-run
NOT_STAGED = {"/opt/mood-edge/venv",  # made by venv and pip, only printed in a dry run
              "/etc/mosquitto/conf.d/websockets.conf",  # the reader's own, for a broker elsewhere
              # written only with --bridge-to (tests/test_bridge_setup.py stages them)
              "/etc/mosquitto/conf.d/mood-edge-bridge.conf", "/etc/mosquitto/mood-edge/house-ca.crt",
              # the house broker's own files, on the house machine (docs/house.md)
              "/etc/mosquitto/certs/", "/etc/mosquitto/house-acl", "/etc/mosquitto/passwd"}


@pytest.fixture(scope="module")
def staged_pi():
    root = Path(tempfile.mkdtemp(prefix="mood-edge-docs-"))
    run = subprocess.run(["bash", str(ROOT / "systemd/install.sh"), "--prefix", str(root), "--dry-run",
                          "--with-broker"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_file_of_the_installed_pi_a_page_names_is_installed(page, staged_pi):
    named = {p for line in _code(page) for p in re.findall(r"(?<![\w.-])(/(?:etc|opt|usr/local)/[\w./-]*\w)", line)}
    missing = sorted(p for p in named if not p.startswith(tuple(NOT_STAGED))
                     and not os_lexists(staged_pi / p.lstrip("/")))
    assert missing == [], f"{page} names files that install.sh --with-broker does not install"


def os_lexists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def test_the_catalog_size_the_pages_give_is_the_catalogs():
    films = len(json.loads((ROOT / "catalog.json").read_text(encoding="utf-8"))["films"])
    for page in EVERY_PAGE:
        for n in re.findall(r"(\d[\d,]*) real films", (ROOT / page).read_text(encoding="utf-8")):
            assert int(n.replace(",", "")) == films, f"{page}: {n} films, catalog.json has {films}"


def test_the_schema_and_mqtt_md_describe_faces_the_same_way():
    schema = json.loads((ROOT / "docs/state.schema.json").read_text(encoding="utf-8"))
    faces = schema["properties"]["faces"]["description"]
    mqtt_md = (ROOT / "docs/mqtt.md").read_text(encoding="utf-8")
    assert "the number of faces the published mood was read from" in faces
    assert "`faces` is the number of faces the published mood was read from" in mqtt_md


def test_every_field_the_schema_requires_is_in_mqtt_mds_example():
    schema = json.loads((ROOT / "docs/state.schema.json").read_text(encoding="utf-8"))
    example = (ROOT / "docs/mqtt.md").read_text(encoding="utf-8")
    for field in schema["required"]:
        assert f'"{field}"' in example, field


def test_the_docs_name_the_default_detector_and_classifier():
    from edge.config import Config

    cfg = Config()
    model = Path(cfg.model.path).stem
    bench = (ROOT / "docs/benchmark.md").read_text(encoding="utf-8")
    assert f"default detector is now `{cfg.detector.kind}`" in bench
    assert f"default classifier is `{model}`" in bench


def test_the_status_words_the_docs_give_are_the_displays():
    from edge.mqtt.display_state import STATUS_WORDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for word in STATUS_WORDS.values():
        assert f"**{word}**" in readme, word


def test_a_pi_zero_2_w_is_only_offered_with_the_upscaled_scan_off():
    for page in ("README.md", "docs/raspberry-pi.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        for m in re.finditer(r"Zero 2 W", text):
            assert "upscale = false" in text[m.start():m.start() + 300], page


def test_the_test_script_leaves_a_system_broker_as_it_found_it():
    script = (ROOT / "tools/test.sh").read_text(encoding="utf-8")
    assert not re.search(r"systemctl\s+(stop|restart|kill)", script)
