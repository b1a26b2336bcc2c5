"""The config file: defaults for everything, and clear errors that name the file and the key."""

from pathlib import Path

import pytest

from edge import config
from edge.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_no_file_gives_the_defaults():
    cfg = config.load(None)
    assert cfg.mqtt.topic_prefix == "mood-edge"
    # chosen by `mood-edge bench --distance --positions` (docs/detectors.md): reads 0.5-6 m at every position
    assert cfg.detector.kind == "blazeface_motion" and cfg.detector.track
    assert (cfg.camera.width, cfg.camera.height) == (1280, 960)
    assert Path(cfg.model.path).name == "mood_xception_ferplus_int8.tflite"


def test_values_from_the_file_override_defaults(tmp_path):
    cfg = config.load(write(tmp_path, '[camera]\nsource = "v4l2:1"\nfps = 10\n[mood]\ndwell_s = 4\n'))
    assert cfg.camera.source == "v4l2:1"
    assert cfg.camera.fps == 10.0 and isinstance(cfg.camera.fps, float)
    assert cfg.mood.dwell_s == 4.0


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    cfg = config.load(write(tmp_path, '[camera]\nsource = "file:clip.mp4"\n[model]\npath = "m.tflite"\n'))
    assert cfg.camera.source == f"file:{tmp_path / 'clip.mp4'}"
    assert cfg.model.path == str(tmp_path / "m.tflite")


def test_malformed_toml_names_the_file(tmp_path):
    p = write(tmp_path, "[camera\nsource = 1\n")
    with pytest.raises(ConfigError, match=r"config\.toml: invalid TOML"):
        config.load(p)


def test_wrong_type_names_the_key_and_the_expected_type(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, '[mood]\ndwell_s = "long"\n'))
    assert "mood.dwell_s" in str(err.value) and "expected a number" in str(err.value)


def test_unknown_key_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"camera\.sauce: unknown key \(expected one of source, loop"):
        config.load(write(tmp_path, '[camera]\nsauce = "v4l2:0"\n'))


def test_unknown_section_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"cameras: unknown section"):
        config.load(write(tmp_path, '[cameras]\nsource = "v4l2:0"\n'))


def test_value_out_of_range_says_what_is_expected(tmp_path):
    with pytest.raises(ConfigError, match=r"mood\.ema_alpha: got 1\.5 \(expected a number in \(0, 1\]\)"):
        config.load(write(tmp_path, "[mood]\nema_alpha = 1.5\n"))


def test_bad_camera_source_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"camera\.source"):
        config.load(write(tmp_path, '[camera]\nsource = "webcam"\n'))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        config.load(tmp_path / "nope.toml")


def test_broker_url_gives_host_port_tls_and_credentials():
    url = config.parse_broker("mqtts://dev%40home:s3cret@broker.lan")
    assert (url.host, url.port, url.tls, url.username, url.password) == ("broker.lan", 8883, True, "dev@home", "s3cret")
    assert config.parse_broker("mqtt://127.0.0.1").port == 1883


def test_effective_config_masks_secrets():
    cfg = config.Config()
    cfg.mqtt.broker = "mqtt://u:hunter2@h:1883"
    cfg.mqtt.password = "hunter2"
    assert "hunter2" not in repr(config.to_dict(cfg))


def test_command_line_overrides_are_checked_like_the_file():
    cfg = config.Config()
    with pytest.raises(ConfigError, match=r"command line: mqtt\.device_id"):
        config.set_value(cfg, "mqtt.device_id", "living room/#")


def test_a_nul_character_in_a_path_is_a_config_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"mqtt\.password_file: .*expected a file or folder path"):
        config.load(write(tmp_path, '[mqtt]\npassword_file = "secret\\u0000.txt"\n'))


def test_a_thread_count_no_interpreter_can_take_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.num_threads: got 2147483648 \(expected 1 to 64 threads\)"):
        config.load(write(tmp_path, "[model]\nnum_threads = 2147483648\n"))


# --- camera.region and the detector plug-ins' own tables ------------------------------------------

def test_camera_region_is_read_as_four_fractions(tmp_path):
    cfg = config.load(write(tmp_path, "[camera]\nregion = [0, 0.25, 1, 0.5]\n"))
    assert cfg.camera.region == [0.0, 0.25, 1.0, 0.5]


@pytest.mark.parametrize("value", ["[0.5, 0.5, 0.6, 0.2]", "[0, 0, 1]", "[0, 0, 0, 1]", '"top"', '[0, "a", 1, 1]'])
def test_a_region_outside_the_frame_or_malformed_names_the_key(tmp_path, value):
    with pytest.raises(ConfigError, match=r"config\.toml: camera\.region: got"):
        config.load(write(tmp_path, f"[camera]\nregion = {value}\n"))


def test_a_detector_table_gives_that_plugin_typed_options(tmp_path):
    cfg = config.load(write(tmp_path, "[detector]\nkind = \"blazeface_scan\"\n[detector.blazeface_scan]\nwidth = 640\n"))
    options = cfg.detector.options["blazeface_scan"]
    assert type(options).__name__ == "BlazeFaceScanOptions" and options.width == 640
    assert options.min_confidence == 0.75  # the rest keep the plug-in's defaults


def test_an_unknown_option_of_a_detector_names_the_table_and_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"detector\.blazeface_scan\.widht: unknown key"):
        config.load(write(tmp_path, "[detector.blazeface_scan]\nwidht = 640\n"))


def test_a_table_for_a_detector_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"detector\.yolo: unknown detector table.*blazeface_scan"):
        config.load(write(tmp_path, "[detector.yolo]\nwidth = 640\n"))


def test_detector_kinds_come_from_the_registry(tmp_path):
    from edge.detectors import kinds

    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, '[detector]\nkind = "yolo"\n'))
    assert all(f'"{k}"' in str(err.value) for k in kinds())


def test_a_detector_option_is_checked_by_the_rules_beside_the_plugin(tmp_path):
    with pytest.raises(ConfigError, match=r"detector\.blazeface_scan\.min_confidence: got 1\.5 \(expected a number between 0 and 1\)"):
        config.load(write(tmp_path, "[detector.blazeface_scan]\nmin_confidence = 1.5\n"))
