"""The daemon's pipeline as the daemon and the bench drive it: one frame through every stage, its
films drawn once and the same ones in the message; the daemon asks the pipeline, not its stages."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from edge import config as config_mod
from edge.commands.daemon import Pipeline
from edge.sources.base import Frame
from faces import astronaut_gray

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pipeline(tmp_path):
    cfg = config_mod.load(None, {"mqtt.broker": "", "daemon.state_dir": str(tmp_path), "recommend.seed": 7,
                                 "detector.kind": "haar", "camera.source": f"dir:{tmp_path}"})
    return Pipeline(cfg)


def frame(index: int = 0) -> Frame:
    gray = astronaut_gray()
    return Frame(gray=gray, t=float(index), index=index, color=np.dstack([gray] * 3))


def counted(pipe: Pipeline) -> list[str]:
    """Every draw of picks the pipeline asks its recommendations for, by mood."""
    calls: list[str] = []
    draw = pipe.recommendations.for_state

    def counting(mood, probabilities):
        calls.append(mood)
        return draw(mood, probabilities)

    pipe.recommendations.for_state = counting
    return calls


def test_a_frame_asks_for_its_picks_once(pipeline):
    calls = counted(pipeline)
    for i in range(3):
        pipeline.step(frame(i), force_publish=True)
    assert len(calls) == 3


def test_the_message_carries_the_picks_the_frame_drew(pipeline):
    result = pipeline.step(frame())
    assert result.picks
    assert pipeline.message(result.state, result.picks).recommendations is result.picks


def test_publishing_the_current_state_at_once_draws_its_picks_once(pipeline):
    pipeline.step(frame())
    calls = counted(pipeline)
    pipeline.publish_now()
    assert len(calls) == 1


def test_the_daemon_asks_the_pipeline_and_never_reaches_into_its_smoother():
    tree = ast.parse((ROOT / "edge/commands/daemon.py").read_text(encoding="utf-8"))
    daemon = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Daemon")
    reached = [n.attr for n in ast.walk(daemon) if isinstance(n, ast.Attribute)
               and isinstance(n.value, ast.Attribute) and n.value.attr == "pipeline"]
    assert "smoother" not in reached and "recommendations" not in reached
