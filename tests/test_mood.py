"""The room mood: aggregated over faces, smoothed over time, changed only after a dwell."""

from edge.classify.classifier import FacePrediction
from edge.config import MoodConfig
from edge.detectors.base import Face
from edge.classify.labels import FER7
from edge.mood import NOBODY, MoodSmoother


def pred(label: str, p: float = 0.9, size: int = 100) -> FacePrediction:
    rest = (1 - p) / (len(FER7) - 1)
    probs = {name: (p if name == label else rest) for name in FER7}
    return FacePrediction(Face(0, 0, size, size), probs, label, p)


def feed(sm: MoodSmoother, frames, t0=0.0, dt=0.1):
    states = []
    for i, preds in enumerate(frames):
        states.append(sm.update(preds, now=t0 + i * dt, wall=1000 + t0 + i * dt))
    return states


def test_starts_as_nobody():
    assert MoodSmoother(MoodConfig(), FER7).state().mood == NOBODY


def test_mood_is_published_only_after_the_dwell_time():
    sm = MoodSmoother(MoodConfig(dwell_s=1.0, ema_alpha=0.5), FER7)
    states = feed(sm, [[pred("happy")]] * 15)  # 1.4 s
    moods = [s.mood for s in states]
    assert moods[0] == NOBODY and moods[-1] == "happy"
    assert moods.index("happy") == 10  # 1.0 s after the first sight
    assert sum(s.changed for s in states) == 1


def test_a_single_flipped_frame_does_not_change_the_mood():
    sm = MoodSmoother(MoodConfig(dwell_s=0.5, ema_alpha=0.3), FER7)
    feed(sm, [[pred("happy")]] * 20)
    states = feed(sm, [[pred("angry")]] + [[pred("happy")]] * 10, t0=2.0)
    assert all(s.mood == "happy" for s in states)


def test_hysteresis_needs_the_margin():
    sm = MoodSmoother(MoodConfig(dwell_s=0.0, ema_alpha=1.0, margin=0.3), FER7)
    feed(sm, [[pred("happy", 0.6)]] * 3)
    # sad now leads, but only by 0.1 < margin: keep happy
    mixed = FacePrediction(Face(0, 0, 100, 100), {**{k: 0.0 for k in FER7}, "happy": 0.45, "sad": 0.55}, "sad", 0.55)
    assert feed(sm, [[mixed]] * 5, t0=1.0)[-1].mood == "happy"


def test_bigger_faces_weigh_more():
    sm = MoodSmoother(MoodConfig(dwell_s=0.0, ema_alpha=1.0), FER7)
    state = sm.update([pred("sad", size=200), pred("happy", size=50)], now=0.0)
    state = sm.update([pred("sad", size=200), pred("happy", size=50)], now=0.1)
    assert state.mood == "sad" and state.faces == 2


def test_no_face_for_a_while_gives_nobody_not_a_stale_mood():
    sm = MoodSmoother(MoodConfig(dwell_s=0.0, nobody_after_s=2.0), FER7)
    feed(sm, [[pred("happy")]] * 5)
    short = feed(sm, [[]] * 10, t0=1.0)  # 0.9 s without faces: keep the mood
    assert short[-1].mood == "happy"
    long = feed(sm, [[]] * 30, t0=2.0)
    assert long[-1].mood == NOBODY and long[-1].faces == 0
    assert sum(s.changed for s in long) == 1


def test_probabilities_are_smoothed_and_sum_to_one():
    sm = MoodSmoother(MoodConfig(), FER7)
    state = feed(sm, [[pred("happy")], [pred("sad")]])[-1]
    assert abs(sum(state.probabilities.values()) - 1) < 1e-3
    assert 0 < state.probabilities["sad"] < 0.9


def test_nobody_never_comes_with_a_face_count_while_the_first_mood_settles():
    sm = MoodSmoother(MoodConfig(dwell_s=1.0, ema_alpha=0.5), FER7)
    states = feed(sm, [[pred("happy")]] * 20)  # someone sits down: 1.9 s of frames
    assert all(s.faces == 0 for s in states if s.mood == NOBODY)
    assert states[0].mood == NOBODY and states[-1].mood == "happy" and states[-1].faces == 1


def test_a_mood_kept_through_a_short_gap_keeps_the_faces_it_was_read_from():
    sm = MoodSmoother(MoodConfig(dwell_s=0.0, nobody_after_s=2.0), FER7)
    feed(sm, [[pred("happy"), pred("happy")]] * 5)
    gap = feed(sm, [[]] * 5, t0=1.0)  # the detector missed both faces for half a second
    assert [(s.mood, s.faces) for s in gap] == [("happy", 2)] * 5
