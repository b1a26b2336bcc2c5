"""``--long``: run the long variants of the reliability tests; ``figures``: report what they measured.

Register it from the root conftest (``pytest_plugins = ["plugins.long"]``) or with ``-p plugins.long``.
``MOOD_EDGE_LONG=1`` in the environment has the same effect as ``--long``.

* Tests marked ``@pytest.mark.slow`` are skipped unless the long variants were asked for.
* A test asks for the ``long_variant`` fixture to size itself (3 minutes in CI, an hour with --long).
* A test records measured numbers with the ``figures`` fixture (``figures("soak.rss_growth_mb", 1.2)``);
  they are printed in a "reliability figures" section at the end of the run, so CI logs carry them.
  Test modules import both fixtures from here, so they also work when the plugin is not registered
  (only the summary section is then missing; the numbers still go to the log at INFO).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

import pytest

log = logging.getLogger("tests.figures")

_FIGURES = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", default=False,
                     help="run the long variants (1-hour soak, many broker restarts); "
                          "MOOD_EDGE_LONG=1 does the same")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running variants (soak, many broker restarts); run with --long")


def wants_long(config: pytest.Config) -> bool:
    return bool(config.getoption("--long", default=False)) or os.environ.get("MOOD_EDGE_LONG") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if wants_long(config):
        return
    skip = pytest.mark.skip(reason="long variant: run with --long or MOOD_EDGE_LONG=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def long_variant(pytestconfig: pytest.Config) -> bool:
    """True when the long variants were asked for (--long or MOOD_EDGE_LONG=1)."""
    return wants_long(pytestconfig)


def record_figure(config: pytest.Config, name: str, value: Any) -> None:
    """Record a measured figure under a dotted name; the last value recorded for a name wins."""
    config.stash.setdefault(_FIGURES, {})[name] = value
    log.info("figure %s = %s", name, value)


@pytest.fixture
def figures(pytestconfig: pytest.Config) -> Callable[[str, Any], None]:
    """``figures(name, value)``: see :func:`record_figure`."""
    return lambda name, value: record_figure(pytestconfig, name, value)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    store = config.stash.get(_FIGURES, {})
    if not store:
        return
    terminalreporter.section("reliability figures")
    for name in sorted(store):
        value = store[name]
        if isinstance(value, float):
            value = f"{value:.4g}"
        terminalreporter.write_line(f"{name} = {value}")
