"""The daemon's configuration: one TOML file, typed dataclasses, a default for every value.

``sections`` declares the keys (default, doc, rule: each made by :func:`edge.fields.setting`),
``load`` reads a file and command-line overrides into a checked :class:`Config`, ``example`` writes
``config.example.toml`` from the fields (``python -m edge.config --example``). Import from here.
"""

from __future__ import annotations

from ..fields import MAX_THREADS, AtMost, Rule, Together, between, choice_text, one_of, seconds, setting  # noqa: F401
from .broker_url import BrokerUrl, mask_url, parse_broker  # noqa: F401
from .load import (PATH_KEYS, _fields, _sections, apply_overrides, check_value, cross_check,  # noqa: F401
                   detector_kinds, from_dict, load, set_value, to_dict)
from .sections import (DAY, HOUR, MAX_CLIENT_ID_BYTES, MAX_TOPIC_PREFIX_BYTES, CameraConfig,  # noqa: F401
                       Config, DaemonConfig, DetectorConfig, HomeAssistantConfig, ModelConfig, MoodConfig,
                       MqttConfig, RecommendConfig, TasteConfig)
