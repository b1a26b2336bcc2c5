"""What the taste has learnt, in words: "likes comedies when the room is happy (12 votes)".

Read straight from the votes (not from the model's weights, which are not words): per mood, and
across moods, the genres and people the household rated clearly up or down often enough to say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .catalog import Film
from .reasons import PLURAL, ROOM
from .taste import Vote

#: a genre or person is named once this many rated films back it ...
MIN_VOTES = 3
#: ... with an average liking at least this far from neutral
MIN_LEAN = 0.3


@dataclass
class Lean:
    what: str
    mood: str | None
    votes: int
    liking: float

    def words(self) -> str:
        verb = "likes" if self.liking > 0 else "dislikes"
        when = f" when the room is {ROOM[self.mood].split()[1]}" if self.mood else ""
        return f"{verb} {self.what}{when} ({self.votes} votes)"

    def to_dict(self) -> dict:
        return {"what": self.what, "mood": self.mood, "votes": self.votes, "liking": round(self.liking, 2),
                "words": self.words()}


def leanings(votes: Sequence[Vote], films: Sequence[Film], index: dict[str, int]) -> list[Lean]:
    """The clear likes and dislikes, strongest first."""
    sums: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for vote in votes:
        i = index.get(vote.film)
        if i is None or vote.value is None:
            continue
        film = films[i]
        things = [PLURAL[g] for g in film.genres]
        things += [f"films by {p.split(':', 1)[1]}" for p in (film.extra.people if film.extra else ())
                   if p.startswith("director:")]
        for thing in things:
            for mood in {vote.mood, None}:
                sums[(thing, mood)].append(vote.value)
    out = [Lean(thing, mood, len(values), sum(values) / len(values)) for (thing, mood), values in sums.items()
           if len(values) >= MIN_VOTES and abs(sum(values) / len(values)) >= MIN_LEAN]
    return sorted(out, key=lambda lean: (-abs(lean.liking) * lean.votes ** 0.5, lean.what))


def describe(votes: Sequence[Vote], films: Sequence[Film], index: dict[str, int], held_back: int) -> dict:
    """The whole summary as JSON-ready data; ``lines`` holds the same in words."""
    by_source: dict[str, int] = defaultdict(int)
    rated = seen = 0
    for vote in votes:
        by_source[vote.source] += 1
        rated += vote.value is not None
        seen += vote.value is None
    leans = leanings(votes, films, index)
    lines = [f"{len(votes)} votes: {rated} ratings or thumbs, {seen} 'seen it'"
             + (" (" + ", ".join(f"{n} from {s}" for s, n in sorted(by_source.items())) + ")" if votes else ""),
             f"{held_back} watched films held back from the picks now"]
    lines += [lean.words() for lean in leans[:20]] or ["nothing clear yet: a few more votes and it will say"]
    return {"votes": len(votes), "ratings": rated, "seen": seen, "by_source": dict(by_source),
            "held_back": held_back, "leanings": [lean.to_dict() for lean in leans[:50]], "lines": lines}
