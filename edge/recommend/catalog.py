"""catalog.json: the films and the mood policy, loaded and validated at start-up.

Validation is our own code (the Pi does not need the ``jsonschema`` package); ``catalog.schema.json``
describes the same rules for editors and for a test that checks both agree. Every problem raises
:class:`CatalogError` naming the file, the entry (index and title) and the field, so a user who
edited the file by hand can fix it in one go.

The file::

    {"schema": 1,
     "genres": ["action", ...],                    # the fixed vocabulary, listed for editors
     "policy": {"baseline": 0.2,
                "moods": {"sad": {"note": "...",
                                  "match": {"drama": 0.8, ...},     # favour > 0, avoid < 0
                                  "lift": {"comedy": 1.0, ...}}, ...}},
     "films": [{"title": "...", "year": 1995, "genres": ["comedy"], "runtime": 81,
                "rating": "PG", "family": true, "description": "..."}, ...]}
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogError, read_user_text
from .filmdata import FilmExtra, film_key

#: a catalog of 100,000 films is ~60 MB; beyond this it is not a catalog (or /dev/zero)
MAX_CATALOG_BYTES = 128 << 20
from ..classify.labels import FER7

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

#: the fixed genre vocabulary (MovieLens genres map onto it; see convert/catalog.py)
GENRES: tuple[str, ...] = (
    "action", "adventure", "animation", "comedy", "crime", "documentary", "drama", "family",
    "fantasy", "horror", "musical", "mystery", "noir", "romance", "sci-fi", "thriller", "war",
    "western",
)

#: moods the policy must cover: the FER-7 classes (the 4-mood set is a subset) and "nobody"
MOODS: tuple[str, ...] = (*FER7, "nobody")

STRATEGIES: tuple[str, ...] = ("match", "lift")

#: MPAA ratings; null means unrated or unknown
RATINGS: tuple[str, ...] = ("G", "PG", "PG-13", "R", "NC-17")

#: ratings a film flagged ``family`` may not carry
ADULT_RATINGS: frozenset[str] = frozenset({"R", "NC-17"})

YEAR_MIN, YEAR_MAX = 1888, 2100
RUNTIME_MIN, RUNTIME_MAX = 1, 1000
WEIGHT_MIN, WEIGHT_MAX = -1.0, 1.0
DEFAULT_BASELINE = 0.2
MAX_TITLE, MAX_DESCRIPTION, MAX_NOTE = 200, 300, 500

_TOP_KEYS = {"$schema", "schema", "about", "genres", "policy", "films"}
_FILM_KEYS = ("title", "year", "genres", "runtime", "rating", "family", "description")
#: optional, for films in the household's library (edge/recommend/library.py): where it is, and its ids
_FILM_OPTIONAL = ("path", "ids")
MAX_PATH, MAX_IDS = 4096, 8
#: the forms of the library ids we publish: IMDb tt + 7-10 digits, TMDB and TVDB 1-10 digits
ID_FORMS = {"imdb": re.compile(r"tt\d{7,10}"), "tmdb": re.compile(r"[1-9]\d{0,9}"), "tvdb": re.compile(r"[1-9]\d{0,9}")}
ID_EXPECTED = "imdb tt + 7-10 digits, tmdb or tvdb 1-10 digits"


def valid_id(kind: str, value: str) -> bool:
    """True for an id a display or automation may use as it is (never an unchecked one)."""
    form = ID_FORMS.get(kind)
    return form is not None and isinstance(value, str) and form.fullmatch(value) is not None
_MOOD_KEYS = ("note", *STRATEGIES)


@dataclass(frozen=True)
class Film:
    title: str
    year: int
    genres: tuple[str, ...]
    #: minutes; None when unknown (catalogs converted from MovieLens)
    runtime: int | None
    rating: str | None
    family: bool
    description: str
    #: where the film is (a file or disc folder in the household's library); None in shipped catalogs
    path: str | None = None
    #: library ids, e.g. (("imdb", "tt0110357"), ("tmdb", "8587")), sorted by kind
    ids: tuple[tuple[str, str], ...] = ()
    #: community rating, people and the household's own marks from a library .nfo (edge/recommend/filmdata.py)
    extra: FilmExtra | None = field(default=None, compare=False)

    @property
    def ident(self) -> tuple[str, int]:
        """(title, year) as compared: duplicates and the no-repeat history."""
        return (" ".join(self.title.split()).casefold(), self.year)

    @property
    def key(self) -> str:
        """The stable key votes and displays name a film by: imdb:tt.., tmdb:.., or a title-year slug."""
        return film_key(self.title, self.year, self.ids)


@dataclass(frozen=True)
class MoodPolicy:
    note: str
    #: strategy -> genre -> weight in [-1, 1]
    weights: dict[str, dict[str, float]]


@dataclass
class Policy:
    baseline: float
    moods: dict[str, MoodPolicy]

    def weights(self, mood: str, strategy: str) -> dict[str, float]:
        return self.moods[mood].weights[strategy]


@dataclass
class Catalog:
    films: list[Film]
    policy: Policy
    genres: tuple[str, ...] = GENRES
    about: str = ""
    path: str = "<dict>"
    _index: dict[tuple[str, int], int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index = {f.ident: i for i, f in enumerate(self.films)}

    def __len__(self) -> int:
        return len(self.films)

    def find(self, title: str, year: int) -> int | None:
        """Index of the film with this title and year, or None."""
        return self._index.get((" ".join(title.split()).casefold(), year))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (as written by the MovieLens converter)."""
        doc: dict[str, Any] = {"schema": SCHEMA_VERSION}
        if self.about:
            doc["about"] = self.about
        doc["genres"] = list(self.genres)
        doc["policy"] = {
            "baseline": self.policy.baseline,
            "moods": {m: {"note": p.note, **{s: dict(p.weights[s]) for s in STRATEGIES}}
                      for m, p in self.policy.moods.items()},
        }
        doc["films"] = [film_to_dict(f) for f in self.films]
        return doc


def film_to_dict(f: Film) -> dict[str, Any]:
    """A film as catalog.json writes it; path and ids only when there are any."""
    d: dict[str, Any] = {"title": f.title, "year": f.year, "genres": list(f.genres), "runtime": f.runtime,
                         "rating": f.rating, "family": f.family, "description": f.description}
    if f.path is not None:
        d["path"] = f.path
    if f.ids:
        d["ids"] = dict(f.ids)
    return d


# --------------------------------------------------------------------------------------------
# validation helpers


def _is_int(v: Any) -> bool:
    """A whole number; 1995.0 counts, as in JSON Schema, but true/false do not."""
    if isinstance(v, float):
        return math.isfinite(v) and v.is_integer()
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _text(v: Any, limit: int) -> bool:
    return isinstance(v, str) and v.strip() != "" and len(v) <= limit


class _Checker:
    """Raises CatalogError with the file name; fields are JSON-path-like, entries carry their title."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, field_name: str, detail: str, expected: str | None = None) -> None:
        raise CatalogError(detail, path=self.origin, field=field_name, expected=expected)

    def keys(self, obj: dict[str, Any], where: str, required: tuple[str, ...], allowed: set[str],
             label: str = "") -> None:
        prefix = f"{where}." if where else ""
        for key in required:
            if key not in obj:
                self.fail(f"{prefix}{key}", f"missing{label}", f"a {key!r} field")
        for key in obj:
            if key not in allowed:
                self.fail(f"{prefix}{key}", f"unknown field{label}", "one of " + ", ".join(sorted(allowed)))


def _film_label(index: int, entry: Any) -> str:
    title = entry.get("title") if isinstance(entry, dict) else None
    year = entry.get("year") if isinstance(entry, dict) else None
    label = f"films[{index}]"
    if isinstance(title, str) and title.strip():
        label += f" {title.strip()!r}"
        if _is_int(year):
            label += f" ({year})"
    return label


def _check_film(c: _Checker, index: int, entry: Any) -> Film:
    where = _film_label(index, entry)
    if not isinstance(entry, dict):
        c.fail(where, f"got {type(entry).__name__}", "an object with " + ", ".join(_FILM_KEYS))
    c.keys(entry, where, _FILM_KEYS, set(_FILM_KEYS) | set(_FILM_OPTIONAL))
    title, year, genres = entry["title"], entry["year"], entry["genres"]
    if not _text(title, MAX_TITLE):
        c.fail(f"{where}.title", f"got {title!r}", f"a non-empty string of at most {MAX_TITLE} characters")
    if not _is_int(year) or not YEAR_MIN <= year <= YEAR_MAX:
        c.fail(f"{where}.year", f"got {year!r}", f"a whole year between {YEAR_MIN} and {YEAR_MAX}")
    if not isinstance(genres, list) or not genres and entry.get("path") is None:  # an owned film's may be unknown
        c.fail(f"{where}.genres", f"got {genres!r}", "a non-empty list of genres (empty only for a film with a path)")
    for j, g in enumerate(genres):
        if g not in GENRES:
            c.fail(f"{where}.genres[{j}]", f"unknown genre {g!r}", "one of " + ", ".join(GENRES))
    if len(set(genres)) != len(genres):
        c.fail(f"{where}.genres", f"a genre is listed twice in {genres!r}", "each genre once")
    runtime = entry["runtime"]
    if runtime is not None and (not _is_int(runtime) or not RUNTIME_MIN <= runtime <= RUNTIME_MAX):
        c.fail(f"{where}.runtime", f"got {runtime!r}",
               f"minutes as a whole number between {RUNTIME_MIN} and {RUNTIME_MAX}, or null if unknown")
    rating = entry["rating"]
    if rating is not None and rating not in RATINGS:
        c.fail(f"{where}.rating", f"got {rating!r}", "one of " + ", ".join(RATINGS) + " or null")
    family = entry["family"]
    if not isinstance(family, bool):
        c.fail(f"{where}.family", f"got {family!r}", "true or false")
    if family and rating in ADULT_RATINGS:
        c.fail(f"{where}.family", f"a film rated {rating} cannot be marked family",
               "false, or a rating of G, PG or PG-13")
    description = entry["description"]
    if not _text(description, MAX_DESCRIPTION):
        c.fail(f"{where}.description", f"got {description!r}",
               f"a non-empty one-line string of at most {MAX_DESCRIPTION} characters")
    if "\n" in description:
        c.fail(f"{where}.description", "has a line break", "one line")
    path = entry.get("path")
    if path is not None and (not _text(path, MAX_PATH) or "\0" in path):
        c.fail(f"{where}.path", f"got {path!r:.80}", f"a file or folder path of at most {MAX_PATH} characters")
    ids = entry.get("ids", {})
    if not isinstance(ids, dict) or len(ids) > MAX_IDS or not all(valid_id(k, v) for k, v in ids.items()):
        c.fail(f"{where}.ids", f"got {ids!r:.80}", f'ids such as {{"imdb": "tt0110357", "tmdb": "8587"}} ({ID_EXPECTED})')
    return Film(title=title.strip(), year=int(year), genres=tuple(genres),
                runtime=None if runtime is None else int(runtime), rating=rating,
                family=family, description=description.strip(), path=path,
                ids=tuple(sorted((k, v) for k, v in ids.items())))


def _check_weights(c: _Checker, where: str, table: Any) -> dict[str, float]:
    if not isinstance(table, dict):
        c.fail(where, f"got {table!r}", "an object mapping genres to weights between -1 and 1")
    out: dict[str, float] = {}
    for genre, weight in table.items():
        if genre not in GENRES:
            c.fail(f"{where}.{genre}", f"unknown genre {genre!r}", "one of " + ", ".join(GENRES))
        if not _is_number(weight) or not WEIGHT_MIN <= weight <= WEIGHT_MAX:
            c.fail(f"{where}.{genre}", f"bad weight {weight!r}",
                   f"a number between {WEIGHT_MIN:g} (avoid) and {WEIGHT_MAX:g} (favour)")
        out[genre] = float(weight)
    return out


def _check_policy(c: _Checker, policy: Any) -> Policy:
    if not isinstance(policy, dict):
        c.fail("policy", f"got {type(policy).__name__}", "an object with 'moods' (and optionally 'baseline')")
    c.keys(policy, "policy", ("moods",), {"baseline", "moods", "$comment"})
    baseline = policy.get("baseline", DEFAULT_BASELINE)
    if not _is_number(baseline) or not 0 <= baseline <= 1:
        c.fail("policy.baseline", f"got {baseline!r}", "a number between 0 and 1")
    moods = policy["moods"]
    if not isinstance(moods, dict):
        c.fail("policy.moods", f"got {type(moods).__name__}", "an object with one entry per mood")
    for name in moods:
        if name not in MOODS:
            c.fail(f"policy.moods.{name}", f"unknown mood {name!r}", "one of " + ", ".join(MOODS))
    out: dict[str, MoodPolicy] = {}
    for name in MOODS:
        where = f"policy.moods.{name}"
        if name not in moods:
            c.fail(where, "missing mood", "an entry for every mood: " + ", ".join(MOODS))
        entry = moods[name]
        if not isinstance(entry, dict):
            c.fail(where, f"got {type(entry).__name__}", "an object with note, match and lift")
        c.keys(entry, where, _MOOD_KEYS, set(_MOOD_KEYS))
        if not _text(entry["note"], MAX_NOTE):
            c.fail(f"{where}.note", f"got {entry['note']!r}", f"a non-empty string of at most {MAX_NOTE} characters")
        out[name] = MoodPolicy(note=entry["note"].strip(),
                               weights={s: _check_weights(c, f"{where}.{s}", entry[s]) for s in STRATEGIES})
    return Policy(baseline=float(baseline), moods=out)


def _check_vocabulary(c: _Checker, genres: Any) -> tuple[str, ...]:
    expected = "the fixed vocabulary, each once: " + ", ".join(GENRES)
    if not isinstance(genres, list):
        c.fail("genres", f"got {type(genres).__name__}", expected)
    for j, g in enumerate(genres):
        if g not in GENRES:
            c.fail(f"genres[{j}]", f"unknown genre {g!r}", expected)
    if len(set(genres)) != len(genres):
        c.fail("genres", "a genre is listed twice", expected)
    missing = [g for g in GENRES if g not in genres]
    if missing:
        c.fail("genres", "missing " + ", ".join(missing), expected)
    return tuple(genres)


def validate_catalog(data: Any, origin: str = "<dict>") -> Catalog:
    """Check a parsed catalog document and build the :class:`Catalog` (raises CatalogError)."""
    c = _Checker(origin)
    if not isinstance(data, dict):
        c.fail("", f"the top level is a {type(data).__name__}", "a JSON object with schema, genres, policy, films")
    c.keys(data, "", ("schema", "genres", "policy", "films"), _TOP_KEYS)
    if not _is_int(data["schema"]) or data["schema"] != SCHEMA_VERSION:
        c.fail("schema", f"got {data['schema']!r}", f"{SCHEMA_VERSION} (this version of mood-edge)")
    about = data.get("about", "")
    if not isinstance(about, str):
        c.fail("about", f"got {about!r}", "a string")
    genres = _check_vocabulary(c, data["genres"])
    policy = _check_policy(c, data["policy"])
    films_raw = data["films"]
    if not isinstance(films_raw, list) or not films_raw:
        c.fail("films", f"got {films_raw!r:.60}", "a non-empty list of films")
    films: list[Film] = []
    seen: dict[tuple[str, int], int] = {}
    for i, entry in enumerate(films_raw):
        film = _check_film(c, i, entry)
        if film.ident in seen:
            first = seen[film.ident]
            c.fail(f"{_film_label(i, entry)}.title", f"duplicate of films[{first}] (same title and year)",
                   "each title and year once")
        seen[film.ident] = i
        films.append(film)
    return Catalog(films=films, policy=policy, genres=genres, about=about, path=origin)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate catalog.json; any problem raises CatalogError naming the file and field."""
    p = Path(path)
    text = read_user_text(p, CatalogError, "a catalog.json (see catalog.schema.json)", max_bytes=MAX_CATALOG_BYTES)
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            raise CatalogError(str(exc), path=p, expected="plain JSON numbers") from None
        raise CatalogError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=p) from None
    catalog = validate_catalog(data, origin=str(p))
    log.info("catalog %s: %d films", p, len(catalog))
    return catalog


def _is_scalar(v: Any) -> bool:
    return not isinstance(v, (dict, list))


def _dump(value: Any, indent: int, inline: bool) -> str:
    """Objects and lists of plain values stay on one line; film entries always do."""
    if inline or _is_scalar(value) or all(_is_scalar(v) for v in
                                          (value.values() if isinstance(value, dict) else value)):
        return json.dumps(value, ensure_ascii=False)
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, list):
        items = [inner + _dump(v, indent + 2, False) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    items = [inner + json.dumps(k, ensure_ascii=False) + ": " + _dump(v, indent + 2, k == "films")
             for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + pad + "}"


def format_catalog(doc: dict[str, Any]) -> str:
    """JSON text a person can edit: nested policy, weight tables on one line, one film per line."""
    head = {k: v for k, v in doc.items() if k != "films"}
    text = _dump(head, 0, False)
    films = ",\n".join("    " + json.dumps(f, ensure_ascii=False) for f in doc.get("films", []))
    return text[:-2] + ',\n  "films": [\n' + films + "\n  ]\n}\n"
