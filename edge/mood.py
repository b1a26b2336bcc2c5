"""From noisy per-face, per-frame predictions to one stable room mood.

Three steps, each answering a known failure of the raw model:

1. *Aggregate faces* in a frame, weighting each by its box area and its confidence (a big, clear
   face near the camera says more than a small blurry one in the background).
2. *Smooth over time* with an exponential moving average (single frames flip).
3. *Hysteresis*: a new mood is published only after it has led for ``dwell_s`` seconds by at least
   ``margin`` over the current one. Frames without faces for ``nobody_after_s`` give ``"nobody"``,
   never a stale mood.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .classify.classifier import FacePrediction
from .config import MoodConfig

NOBODY = "nobody"


@dataclass
class MoodState:
    mood: str
    confidence: float
    probabilities: dict[str, float]
    faces: int
    #: unix time when the published mood started
    since: float
    #: True on the update where the published mood changed
    changed: bool = False
    #: the leading label of the smoothed probabilities (may differ from mood during dwell)
    leader: str = NOBODY


@dataclass
class MoodSmoother:
    cfg: MoodConfig
    labels: list[str]
    _ema: np.ndarray | None = field(default=None, init=False)
    _mood: str = field(default=NOBODY, init=False)
    _since: float = field(default_factory=time.time, init=False)
    _candidate: str | None = field(default=None, init=False)
    _candidate_t: float = field(default=0.0, init=False)
    _last_face_t: float | None = field(default=None, init=False)
    _faces: int = field(default=0, init=False)
    #: faces in the last frame that had any: the count behind a mood kept through a short gap
    _last_faces: int = field(default=0, init=False)

    def _frame_vector(self, preds: list[FacePrediction]) -> np.ndarray | None:
        usable = [p for p in preds if p.confidence >= self.cfg.min_face_confidence]
        if not usable:
            return None
        weights = np.array([p.face.area * p.confidence for p in usable], dtype=np.float64)
        probs = np.array([[p.probabilities[label] for label in self.labels] for p in usable])
        if weights.sum() <= 0:
            weights = np.ones(len(usable))
        return (weights[:, None] * probs).sum(axis=0) / weights.sum()

    def update(self, preds: list[FacePrediction], now: float | None = None,
               wall: float | None = None) -> MoodState:
        """Feed one frame's predictions; ``now`` is monotonic seconds, ``wall`` unix time."""
        now = time.monotonic() if now is None else now
        wall = time.time() if wall is None else wall
        vec = self._frame_vector(preds)
        self._faces = len(preds)
        if preds:
            self._last_faces = len(preds)
        changed = False
        if vec is not None:
            self._last_face_t = now
            a = self.cfg.ema_alpha
            self._ema = vec if self._ema is None else a * vec + (1 - a) * self._ema
        elif self._last_face_t is None or now - self._last_face_t >= self.cfg.nobody_after_s:
            self._ema = None
            self._candidate = None
            if self._mood != NOBODY:
                self._mood, self._since, changed = NOBODY, wall, True
        if self._ema is not None:
            changed = self._hysteresis(now, wall)
        return self.state(changed)

    def _hysteresis(self, now: float, wall: float) -> bool:
        assert self._ema is not None
        leader = self.labels[int(np.argmax(self._ema))]
        if leader == self._mood:
            self._candidate = None
            return False
        current_p = self._ema[self.labels.index(self._mood)] if self._mood in self.labels else 0.0
        leads = self._ema.max() - current_p >= self.cfg.margin or self._mood == NOBODY
        if not leads:
            self._candidate = None
            return False
        if self._candidate != leader:
            self._candidate, self._candidate_t = leader, now
        if now - self._candidate_t >= self.cfg.dwell_s:
            self._mood, self._since, self._candidate = leader, wall, None
            return True
        return False

    def state(self, changed: bool = False) -> MoodState:
        if self._ema is None:
            probs = {label: 0.0 for label in self.labels}
            leader = NOBODY
        else:
            probs = {label: round(float(v), 4) for label, v in zip(self.labels, self._ema)}
            leader = max(probs, key=probs.__getitem__)
        if self._mood == NOBODY:  # sure while the room is empty, unsure once someone is in view
            conf = 0.0 if self._faces else 1.0
        else:
            conf = probs.get(self._mood, 0.0)
        # the face count belongs to the published mood, so no display shows two stories: "nobody"
        # has no faces (someone who just sat down counts once their mood is out, after the dwell),
        # and a mood kept through a short gap keeps the faces it was read from
        faces = 0 if self._mood == NOBODY else (self._faces or self._last_faces)
        return MoodState(mood=self._mood, confidence=round(conf, 4), probabilities=probs, faces=faces,
                         since=self._since, changed=changed, leader=leader)
