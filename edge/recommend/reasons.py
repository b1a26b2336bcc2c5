"""Why a film was picked, in words a household reads from the sofa.

"comedies lift a sad room", "you liked Heat and Collateral", "rated 8.3/10 by 700,000 viewers".
Each phrase is said only when it is true of the pick: a favoured genre it has, liked films that
pulled it up, a community rating well above the library's.
"""

from __future__ import annotations

import numpy as np

from .catalog import GENRES, MOODS

PLURAL = {"action": "action films", "adventure": "adventures", "animation": "animated films",
          "comedy": "comedies", "crime": "crime films", "documentary": "documentaries", "drama": "dramas",
          "family": "family films", "fantasy": "fantasy films", "horror": "horror films", "musical": "musicals",
          "mystery": "mysteries", "noir": "film noirs", "romance": "romances", "sci-fi": "science fiction",
          "thriller": "thrillers", "war": "war films", "western": "westerns"}
ROOM = {"angry": "an angry room", "disgust": "a disgusted room", "fear": "a frightened room",
        "happy": "a happy room", "sad": "a sad room", "surprise": "a surprised room", "neutral": "a calm room",
        "nobody": "an empty room"}
VERB = {"lift": "lift", "match": "suit"}
#: moods below this probability are left out of the words (they still count in the blend)
REASON_MIN_PROBABILITY = 0.05
#: a community rating this many stars above the library's mean is worth saying
PRIOR_WORTH_SAYING = 0.25


def mood_phrase(mix: np.ndarray) -> str:
    """'a sad room', or for a blend 'a sad (70%) and happy (30%) room'."""
    order = [int(k) for k in np.argsort(-mix, kind="stable") if mix[k] >= REASON_MIN_PROBABILITY]
    if mix.max() >= 0.999 or len(order) == 1:
        return ROOM[MOODS[order[0]]]
    parts = [f"{MOODS[k]} ({mix[k]:.0%})" for k in order]
    text = ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{'an' if text[0] in 'aeiou' else 'a'} {text} room"


def genre_reasons(genres: tuple[int, ...], blended: list[float], strategy: str, room: str) -> list[str]:
    favoured = sorted((j for j in genres if blended[j] > 0), key=lambda j: -blended[j])
    if not favoured:
        return []
    names = [PLURAL[GENRES[j]] for j in favoured[:2]]
    if room == ROOM["nobody"]:
        return [f"{' and '.join(names)} while nobody is watching"]
    verb = VERB[strategy] if len(names) > 1 or not names[0].endswith("fiction") else VERB[strategy] + "s"
    return [f"{' and '.join(names)} {verb} {room}"]


def liked_reason(titles: list[str]) -> list[str]:
    return [f"you liked {' and '.join(titles)}"] if titles else []


def community_reason(prior: float, rating: float, votes: float) -> list[str]:
    if prior < PRIOR_WORTH_SAYING or not np.isfinite(rating):
        return []
    return [f"rated {rating:.1f}/10 by {int(votes):,} viewers"]


def family_reason(mood: str) -> list[str]:
    return ["family-friendly, for whoever comes in"] if mood == "nobody" else []
