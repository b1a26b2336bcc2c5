"""The recommender a config describes: one place, so ``mood-edge run``, ``recommend`` and ``taste``
all work on the same catalog, library, policy, history and taste. Wiring, so it lives with the
commands: the recommend stage itself never reads the config."""

from __future__ import annotations

from pathlib import Path

from ..config.sections import Config
from ..errors import ConfigError, kind_of
from ..recommend.catalog import load_catalog
from ..recommend.household import TasteSettings
from ..recommend.library import library_catalog
from ..recommend.recommender import HISTORY_FILE, Recommender
from ..recommend.taste import TASTE_FILE


def build_recommender(cfg: Config, state_dir: Path | None, remember: bool = True) -> Recommender:
    """``remember=False``: read the history but never write it (``mood-edge recommend``)."""
    catalog = load_catalog(cfg.recommend.catalog)
    if cfg.recommend.library:  # the household's own films, with the catalog's policy and knowledge
        kind_of(cfg.recommend.library, ConfigError, "a folder of films", field="recommend.library")
        catalog, _ = library_catalog(cfg.recommend.library, catalog,
                                     follow_outside_links=cfg.recommend.library_follow_outside_links)
    return Recommender(catalog, strategy=cfg.recommend.strategy, count=cfg.recommend.count,
                       family_safe=cfg.recommend.family_safe, history=cfg.recommend.history,
                       state_path=state_dir / HISTORY_FILE if state_dir else None, seed=cfg.recommend.seed,
                       taste_path=state_dir / TASTE_FILE if state_dir else None, remember=remember,
                       taste=TasteSettings(cfg.taste.enabled, cfg.taste.half_life_days, cfg.taste.rewatch_after_days,
                                           cfg.taste.rewatch_loved_after_days))
