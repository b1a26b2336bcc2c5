"""Each config key is declared once, on its field: default, doc, rule; the example file and the
choices come from there, and the rules that tie two keys together hold after the file and the command line."""

import dataclasses
import inspect
import tomllib
from pathlib import Path

import pytest

from edge.recommend import catalog
from edge import config, fields
from edge.classify import labels
from edge.config.example import render
from edge.detectors import DETECTORS
from edge.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def sections():
    return [(f.name, dataclasses.fields(getattr(config.Config(), f.name)))
            for f in dataclasses.fields(config.Config) if f.name != "origin"]


# --- config.example.toml ---------------------------------------------------------------------------

def test_the_committed_example_is_what_the_fields_write():
    assert EXAMPLE.read_text(encoding="utf-8") == render(), \
        "config.example.toml is stale: python -m edge.config --example > config.example.toml"


def test_every_key_is_in_the_example_with_its_default_or_a_commented_out_line():
    text = EXAMPLE.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    defaults = config.Config()
    for section, fields in sections():
        body = text.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0]
        for f in fields:
            if f.metadata["example"] is not None:  # computed at run time or unset: shown commented out
                assert f"\n# {f.name} = {f.metadata['example']}\n" in body, f"{section}.{f.name}"
                assert f.name not in data[section]
            else:
                assert data[section][f.name] == getattr(getattr(defaults, section), f.name), f"{section}.{f.name}"


def test_the_example_loads_as_the_defaults():
    assert config.load(EXAMPLE) == config.Config()


def test_the_example_comments_are_the_field_docs():
    text = EXAMPLE.read_text(encoding="utf-8")
    field = dataclasses.fields(config.CameraConfig)[0]
    doc_lines = [("# " + line).rstrip() for line in inspect.cleandoc(field.metadata["doc"]).splitlines()]
    assert "\n".join(doc_lines) + f"\nsource = {field.default!r}".replace("'", '"') in text


def test_the_first_key_of_every_section_has_a_doc():
    # a key without its own doc is described with the key above it; the first one has none above
    for section, fields in sections():
        assert fields[0].metadata["doc"].strip(), section


def test_every_plugin_table_is_in_the_example_with_its_options():
    text = EXAMPLE.read_text(encoding="utf-8")
    from edge.detectors import detector_class

    for kind in DETECTORS:
        body = text.split(f"# [detector.{kind}]\n", 1)[1].split("\n\n", 1)[0]
        for f in dataclasses.fields(detector_class(kind).Options):
            assert f"# {f.name} = " in body, f"detector.{kind}.{f.name}"


# --- choices come from the registries that own them -------------------------------------------------

def test_a_detector_kind_registered_is_a_choice_and_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.setitem(DETECTORS, "yunet", "edge.detectors.yunet:YuNetDetector")
    assert config.load(write(tmp_path, '[detector]\nkind = "yunet"\n')).detector.kind == "yunet"
    with pytest.raises(ConfigError, match=r'detector\.kind: got .*"haar" or "yunet"\)'):
        config.load(write(tmp_path, '[detector]\nkind = "yolo"\n'))


def test_a_label_set_added_is_a_choice_and_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.setitem(labels.LABEL_SETS, "calm3", ["calm", "tense", "nobody"])
    assert config.load(write(tmp_path, '[model]\nlabels = "calm3"\n')).model.labels == "calm3"
    with pytest.raises(ConfigError, match=r'model\.labels: got \'fer8\' \(expected "fer7" or "mood4" or "calm3"\)'):
        config.load(write(tmp_path, '[model]\nlabels = "fer8"\n'))


def test_a_strategy_added_to_the_catalog_is_a_choice_and_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "STRATEGIES", (*catalog.STRATEGIES, "calm"))
    assert config.load(write(tmp_path, '[recommend]\nstrategy = "calm"\n')).recommend.strategy == "calm"
    with pytest.raises(ConfigError, match=r'recommend\.strategy: got \'cheer\' \(expected "match" or "lift" or "calm"\)'):
        config.load(write(tmp_path, '[recommend]\nstrategy = "cheer"\n'))


def test_every_choice_of_a_registry_is_described_in_its_doc():
    docs = {f"{s}.{f.name}": f.metadata["doc"] for s, fields in sections() for f in fields}
    for key, names in (("detector.kind", DETECTORS), ("model.labels", labels.LABEL_SETS),
                       ("recommend.strategy", catalog.STRATEGIES)):
        assert all(f'"{n}"' in docs[key] for n in names), key


def test_the_recommender_used_as_a_library_refuses_a_strategy_with_the_configs_words(tmp_path):
    from edge.recommend.recommender import Recommender

    with pytest.raises(ConfigError) as from_file:
        config.load(write(tmp_path, '[recommend]\nstrategy = "cheer"\n'))
    with pytest.raises(ConfigError) as from_code:
        Recommender(catalog.load_catalog(ROOT / "catalog.json"), strategy="cheer")
    assert from_code.value.expected == from_file.value.expected == '"match" or "lift"'


def test_the_daemons_command_line_choices_come_from_the_registries():
    import argparse

    from edge.commands.daemon import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    choices = {a.dest: a.choices for a in p._actions}
    assert choices["labels"] == list(labels.LABEL_SETS) and choices["strategy"] == list(catalog.STRATEGIES)
    assert choices["detector"] == list(DETECTORS)


# --- rules across two keys -------------------------------------------------------------------------

def test_a_camera_retry_above_its_cap_is_refused_naming_both_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.toml: camera\.retry_s: got 60\.0, above camera\.retry_max_s = "
                                          r"30\.0 \(expected at most camera\.retry_max_s: the wait doubles"):
        config.load(write(tmp_path, "[camera]\nretry_s = 60\n"))


def test_a_camera_retry_equal_to_its_cap_is_fine(tmp_path):
    cfg = config.load(write(tmp_path, "[camera]\nretry_s = 5\nretry_max_s = 5\n"))
    assert cfg.camera.retry_s == cfg.camera.retry_max_s == 5.0


def test_an_mqtt_reconnect_minimum_above_its_maximum_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.toml: mqtt\.reconnect_min_s: got 10\.0, above "
                                          r"mqtt\.reconnect_max_s = 2\.0 \(expected at most mqtt\.reconnect_max_s"):
        config.load(write(tmp_path, "[mqtt]\nreconnect_min_s = 10\nreconnect_max_s = 2\n"))


@pytest.mark.parametrize("given, missing", [("cert_file", "key_file"), ("key_file", "cert_file")])
def test_a_client_certificate_needs_both_its_files(tmp_path, given, missing):
    with pytest.raises(ConfigError, match=rf"config\.toml: mqtt\.{given}: got '.*client\.pem' without "
                                          rf"mqtt\.{missing} \(expected both mqtt\.cert_file and mqtt\.key_file, or neither"):
        config.load(write(tmp_path, f'[mqtt]\n{given} = "client.pem"\n'))


def test_a_client_certificate_with_both_files_is_fine(tmp_path):
    cfg = config.load(write(tmp_path, '[mqtt]\ncert_file = "c.pem"\nkey_file = "k.pem"\n'))
    assert cfg.mqtt.cert_file == str(tmp_path / "c.pem") and cfg.mqtt.key_file == str(tmp_path / "k.pem")


def test_the_cross_checks_hold_for_a_dict_too():
    with pytest.raises(ConfigError, match=r"<dict>: camera\.retry_s"):
        config.from_dict({"camera": {"retry_s": 2, "retry_max_s": 1}})


def test_overrides_are_cross_checked_together_not_one_by_one():
    cfg = config.Config()
    config.apply_overrides(cfg, {"camera.retry_s": 60, "camera.retry_max_s": 120, "camera.fps": None})
    assert (cfg.camera.retry_s, cfg.camera.retry_max_s, cfg.camera.fps) == (60.0, 120.0, 15.0)


def test_an_override_that_breaks_a_cross_check_names_the_command_line(tmp_path):
    cfg = config.load(write(tmp_path, "[mqtt]\nreconnect_max_s = 5\n"))
    with pytest.raises(ConfigError, match=r"^command line: mqtt\.reconnect_min_s: got 9\.0, above"):
        config.set_value(cfg, "mqtt.reconnect_min_s", 9)
    with pytest.raises(ConfigError, match=r"^command line: mqtt\.reconnect_min_s"):
        config.load(tmp_path / "config.toml", {"mqtt.reconnect_min_s": 9})


def test_the_daemon_refuses_a_broken_pair_with_one_line(cli, tmp_path):
    cfg = write(tmp_path, "[camera]\nretry_s = 2\nretry_max_s = 1\n")
    run = cli("run", "--config", str(cfg), "--broker", "")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("mood-edge: error:")]
    assert errors == [f"mood-edge: error: {cfg}: camera.retry_s: got 2.0, above camera.retry_max_s = 1.0 "
                      "(expected at most camera.retry_max_s: the wait doubles from retry_s up to retry_max_s)"]


# --- the rules are read once ------------------------------------------------------------------------

def test_type_hints_are_resolved_once_per_section_not_per_load(tmp_path, monkeypatch):
    calls = []
    real = fields.get_type_hints
    monkeypatch.setattr(fields, "get_type_hints", lambda cls: calls.append(cls) or real(cls))
    fields._fields.cache_clear()
    config._sections.cache_clear()
    path = write(tmp_path, "[camera]\nfps = 10\n[mqtt]\nqos = 2\n")
    for _ in range(3):
        config.load(path)
    assert len(calls) == len(set(calls))


def test_the_state_schema_lists_the_same_label_sets_and_strategies():
    import json

    props = json.loads((ROOT / "docs/state.schema.json").read_text())["properties"]
    assert props["labels"]["enum"] == list(labels.LABEL_SETS)
    assert props["strategy"]["enum"] == list(catalog.STRATEGIES)
