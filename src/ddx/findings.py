"""Parse the findings of one case from text into a frozen record.

Blank, missing and ``unknown`` all mean "not assessed" and stay unknown; a
value that cannot be read fails with the column, the value, the allowed
values and the closest match.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Callable, Iterable, Mapping

import attrs

from .errors import FindingError, KnowledgeError
from .knowledge import Feature, Knowledge
from .spelling import SHORT_WORD, closest, one_edit

UNKNOWN = frozenset({"", "unknown", "?", "na", "n/a", "skip"})
#: "1.0" and "0.0" are how a spreadsheet or pandas writes a 0/1 column that has a blank.
YES = frozenset({"yes", "y", "true", "1", "1.0"})
NO = frozenset({"no", "n", "false", "0", "0.0"})
#: The other spellings of yes and no, as an error lists them.
OTHER_YES_NO = ", ".join(w for pair in zip(*(sorted(words - {word}, key=lambda w: (w[0].isdigit(), len(w)))
                                              for words, word in ((YES, "yes"), (NO, "no")))) for w in pair)
CASE_ID = "case_id"
#: Names a sheet gives its case column: case_id is suggested for them, never taken (an "id"
#: may be a patient's, to pass through).
CASE_ID_NAMES = frozenset({"id", "case_no", "case_number", "caseno", "patient_id", "study_id", "subject_id", "record_id"})


def meant_column(key: str, known) -> str | None:
    """The known column a column name ``key`` (normalised) likely means, if any."""
    if key in CASE_ID_NAMES and CASE_ID in known:
        return CASE_ID
    return closest(key, sorted(known))
#: A whole number as people and spreadsheets write it: ASCII digits, an optional
#: sign, and an optional decimal point followed only by zeros ("54", "54.0").
#: Underscores, exponents and other scripts' digits, which int() and float()
#: would take, are not read as numbers.
WHOLE_NUMBER = re.compile(r"([+-]?)0*([0-9]+?)(?:\.0*)?")
#: More digits than this is out of any bounded range of features.md, and is said so
#: before int() is asked (which refuses numbers of thousands of digits).
MAX_DIGITS = 9
#: int() refuses a number of more than 4,300 digits; a finding with no upper bound reads
#: any number up to this many.
LONGEST_NUMBER = 4000


def _pairs(values: Any) -> tuple[tuple[str, Any], ...]:
    """A record's values as a tuple of (column, value) pairs sorted by column name (a mapping's
    items, or a list's pairs: two records of the same findings given in another order are equal),
    so that a record built by hand stays hashable and readable (ddx.assess reads its values again;
    see canonical). What is no pair keeps its place, for canonical() to refuse."""
    pairs = list(values.items()) if isinstance(values, Mapping) else list(values)
    if all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        pairs.sort(key=lambda kv: str(kv[0]))
    return tuple(_hashable(pair) for pair in pairs)


def _hashable(pair: Any) -> Any:
    """A (column, value) pair with a list or set value as a tuple (a set's in a fixed order), so
    that the record hashes; anything that is no pair is left for canonical() to refuse."""
    if isinstance(pair, tuple) and len(pair) == 2 and not isinstance(pair[1], tuple) and _listed(pair[1]):
        value = pair[1]
        return pair[0], tuple(sorted(value, key=str) if isinstance(value, (set, frozenset)) else value)
    return pair


@attrs.frozen
class Findings:
    """The known findings of one case; a finding that is absent here is unknown."""

    values: tuple[tuple[str, Any], ...] = attrs.field(default=(), converter=_pairs)
    case_id: str | None = None

    def get(self, feature: str, default: Any = None) -> Any:
        for k, v in self.values:
            if k == feature:
                return v
        return default

    def __contains__(self, feature: str) -> bool:
        return any(k == feature for k, _ in self.values)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def with_value(self, feature: str, value: Any) -> Findings:
        """A copy with one more (or one changed) finding; None removes it."""
        rest = [(k, v) for k, v in self.values if k != feature]
        if value is not None:
            rest.append((feature, value))
        return attrs.evolve(self, values=tuple(sorted(rest)))

    def as_text(self) -> dict[str, str]:
        """The known findings as the text a CSV cell or an option would hold."""
        return {k: format_value(v) for k, v in self.values}


def format_value(value: Any) -> str:
    """The text of a canonical value; an empty list is the known answer `none` (syndrome none), never blank."""
    if isinstance(value, tuple):
        return ";".join(value) if value else "none"
    return str(value)


def _misspelt(word: str, allowed: Iterable[str]) -> str | None:
    """The allowed value that ``word`` is a misspelling of, if any. A value with a prefix
    of two or more letters in front is another word, not a typo: 'decompressed' (or 'nf1 nf2')
    holds a value after one, and 'eccentric' holds 'centric' after one. A whole word in front
    of a value is its shorter name ('nodule' for mural_nodule) and is still guessed. A word
    shorter than SHORT_WORD letters is guessed only one letter from the value ('dorsal' is no
    typo of 'normal')."""
    guess = closest(word, allowed)
    if guess is None:
        return None
    if len(word) - len(guess) >= 2 and word.endswith(guess):
        return None
    front = guess[: len(guess) - len(word)]
    if len(front) >= 2 and guess.endswith(word) and front[-1] not in "_ -":
        return None
    if len(word) < SHORT_WORD and word not in re.split(r"[_ -]", guess) and not one_edit(word, guess):
        return None
    return guess


#: A bad value longer than this is shown cut short in a message (the error
#: record's ``value`` keeps it whole): no value of features.md comes near it.
SHOWN = 60


#: A byte that was not decoded, kept as a surrogate escape (a command line in a locale that
#: is not UTF-8, a file read with errors="surrogateescape").
UNDECODED = re.compile("[\udc80-\udcff]")


def shown(raw: str) -> str:
    """repr(), with an undecoded byte written as the byte (\\xff), not as its surrogate (\\udcff).
    Only an escape repr wrote is rewritten: one after an odd run of backslashes is text as typed
    (repr doubles a typed backslash)."""
    return re.sub(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])", r"\1\\x\2", repr(raw))


def quoted(raw: str, show: Callable[[str], str] = shown, longest: int = SHOWN) -> str:
    """A cell's text quoted for a message by ``show``, cut to its first SHOWN characters and
    its length when it is longer than ``longest`` (the cut is made in the text itself, so
    that an escape is never split, and its length counted there)."""
    return show(raw) if len(raw) <= longest else f"{show(raw[:SHOWN])}... ({len(raw):,} characters)"


#: What sheets write for "not assessed" that features.md does not list among the
#: unknowns: an error, whose message says how to write it. ("none" and "nil" may mean
#: absent, and none is a value of some findings: they get no such advice.)
PLACEHOLDERS = frozenset({"-", "--", "---", "\u2013", "\u2014", ".", "null", "nan", "#n/a", "not assessed", "not seen"})
NOT_ASSESSED_HINT = "; if it was not assessed, write unknown (or leave it out)"


def _fail(
    column: str, raw: str, problem: str, allowed: Iterable[str] | None = None, *, shown: str | None = None, own: Feature | None = None,
    also: str = "",
) -> FindingError:
    """The error for a cell; ``shown`` names a value that was not text (True) as the caller gave
    it, ``own`` the finding of its own that the value describes, in place of a guess, and ``also``
    the other spellings read as the allowed values."""
    message = f"{column}: {shown or quoted(raw)} {problem}"
    allowed = None if allowed is None else list(allowed)
    guess = None
    if own is not None:
        message += f"; {own.id} is a finding of its own: {own.help}"
    elif allowed is not None and len(raw) <= SHOWN:
        guess = _misspelt(raw.strip().lower(), allowed)
        if guess:
            message += f"; did you mean {guess!r}?"
    if allowed is not None:
        message += f" (allowed: {', '.join(allowed)}{'; also ' + also if also else ''})"
    if guess is None and raw.strip().lower() in PLACEHOLDERS:
        message += NOT_ASSESSED_HINT
    return FindingError(column=column, value=raw, message=message)


def _missing(raw: Any) -> bool:
    """None, or a blank of a DataFrame (NaN, pandas' NA): not assessed. A missing value is
    the one that is not equal to itself (pandas' NA cannot even say that)."""
    if raw is None or isinstance(raw, (str, bool, int)):
        return raw is None
    if _listed(raw):
        return False  # a list's items are read one by one (an array's != is one per item)
    try:
        return bool(raw != raw)
    except TypeError:
        return True


def _listed(raw: Any) -> bool:
    """Whether ``raw`` holds several values: any iterable but text, bytes and mappings (a list, a
    set, a generator, dict keys, an array from a data frame)."""
    if not isinstance(raw, Iterable) or isinstance(raw, (str, bytes, bytearray, memoryview, Mapping)):
        return False
    return getattr(raw, "ndim", 1) != 0  # a numpy scalar array holds one value


def _blank(raw: Any) -> bool:
    return _missing(raw) or (isinstance(raw, str) and not raw.strip())


def parse_value(feature: Feature, raw: Any) -> Any:
    """The canonical value of one cell, or None when it is unknown."""
    if _missing(raw):
        return None
    if isinstance(raw, bool):
        if feature.kind == "yesno":
            return "yes" if raw else "no"
        problem = f"is not a whole number (allowed: {feature.range_text})" if feature.kind == "integer" else "is not a value"
        raise _fail(feature.id, str(raw), problem, feature.values or None, shown=repr(raw))
    if _listed(raw):
        raw = list(raw)
        if feature.kind != "list":
            raise _fail(feature.id, repr(raw), f"is a list, but {feature.id} takes one value", feature.values or None)
        if not raw:
            # the record's own form of the known answer none (syndrome none)
            return () if feature.exclusive else None
        parts = [str(part) for part in raw if not _missing(part)]
        if not parts:
            return None
        raw = ";".join(parts)
    text = str(raw).strip().lower()
    if text in UNKNOWN:
        return None
    column = feature.id
    if UNDECODED.search(text):
        raise _fail(column, str(raw), "is not UTF-8 text: it holds a byte the terminal's or the file's encoding could not read")
    if feature.kind == "yesno":
        if text in YES:
            return "yes"
        if text in NO:
            return "no"
        raise _fail(column, str(raw), "is not yes or no", ["yes", "no"], also=OTHER_YES_NO)
    if feature.kind == "integer":
        whole = WHOLE_NUMBER.fullmatch(text)
        if whole is None:
            band = re.fullmatch(r"(\d+)\s*(?:-|to)\s*(\d+)|(\d+)\s*\+", text)
            hint = ": give one number, not a band (the cards and hints group values in bands)" if band else ""
            raise _fail(column, str(raw), f"is not a whole number (allowed: {feature.range_text}){hint}")
        sign, digits = whole.groups()
        if feature.max is None and sign != "-" and len(digits) > MAX_DIGITS:
            if len(digits) > LONGEST_NUMBER:
                raise _fail(column, str(raw), f"has {len(digits):,} digits, too many to read as a number (allowed: {feature.range_text})")
            return int(digits)  # the open last band, whatever its size
        if len(digits) > MAX_DIGITS or not feature.min <= int(sign + digits) <= (feature.max if feature.max is not None else math.inf):
            raise _fail(column, str(raw), f"is out of range (allowed: {feature.range_text})")
        return int(sign + digits)
    if feature.kind == "choice":
        return _choice(feature, text, str(raw))
    parts = [p.strip() for p in str(raw).replace(",", ";").split(";")]
    chosen = {v for p in parts if p and p.lower() not in UNKNOWN for v in _choices(feature, p.lower(), p)}
    if not chosen:
        return None
    if feature.exclusive in chosen:
        if len(chosen) > 1:
            others = ";".join(v for v in feature.values if v in chosen and v != feature.exclusive)
            raise _fail(column, str(raw), f"mixes {feature.exclusive!r} with other values: give {others} without "
                        f"{feature.exclusive!r}, or {feature.exclusive!r} alone for no {column}")
        return ()
    return tuple(v for v in feature.values if v in chosen)


#: What joins two ends of a range or a pair: a hyphen (or the dashes and minus sign
#: that word processors put in its place), a slash, or "to".
JOIN = re.compile(r"\s*(?:[-/\u2010-\u2015\u2212]|\bto\b)\s*")
#: The dashes and minus sign a word processor writes for a hyphen (thoraco\u2013lumbar).
DASH = re.compile(r"[\u2010-\u2015\u2212]")
#: A vertebra: letters and a number (L4, th12, co1); a bare number takes the letters of
#: the other end (L4-5).
VERTEBRA = re.compile(r"([a-z]*)([0-9]+)")


def _choices(feature: Feature, part: str, written: str) -> list[str]:
    """The values one part of a list cell names: one value, or several through an alias.

    For an ordered list, two ends joined by a hyphen, a slash or "to" name a range when an
    end is a vertebra or the word is "to": every value from one end to the other (C5 to T2
    is cervical and thoracic, L4-5 lumbar, C5 to lumbar all three). Two values joined by a
    hyphen or a slash are just both ('cervical/lumbar' is not the thoracic spine too). Two
    adjacent vertebrae across a boundary joined by a hyphen or a slash (C7-T1, T12-L1,
    L5-S1) are refused: reports write them for the disc or the junction, and the reader must
    say which region(s) the lesion lies in. Joined by "to" they are a range like any other
    (T12 to L1 is thoracic and lumbar). A bare second number lower than the first (T12-1)
    is refused when it may be read two ways (T1-T12 or T12-L1: borrowing the first letter
    would read the whole thoracic spine; L5-4 may be L4-L5 or L5-S4); with one reading
    (T12-11: there is no L11) it is read as that.
    ``part`` is in lower case; an error names it as ``written``.
    """
    try:
        return _named(feature, part, written)
    except FindingError:
        join = JOIN.search(part) if feature.ordered else None
        if join is None or not 0 < join.start() < join.end() < len(part):
            raise _unread(feature, written) from None
    first, last = part[: join.start()], part[join.end() :]
    v1, v2 = VERTEBRA.fullmatch(first), VERTEBRA.fullmatch(last)
    if v1 and v2 and not v2.group(1):
        readings = _readings(feature, written, join, v1, v2)
        if len(readings) > 1 or (readings and v1.group(1) + v2.group(2) not in feature.alias):
            # two readings (L5-4: L4-L5 or L5-S4), or only one across a boundary: ask
            raise _fail(feature.id, written, f"does not say which vertebra {v2.group(2)} is: write it with its letter ({' or '.join(readings)})")
        last = v1.group(1) + last
        v2 = VERTEBRA.fullmatch(last)
    try:
        ends = _named(feature, first, written), _named(feature, last, written)
    except FindingError:
        raise _unread(feature, written) from None
    if v1 and v2 and join.group().strip() != "to" and _across_a_boundary(feature, v1, v2):
        a, b = ends[0][-1], ends[1][-1]
        raise _fail(feature.id, written, f"is the junction of {a} and {b}: give the region(s) the lesion lies in ({a}, {b} or "
                                         f"{a};{b}), or '{first.strip().upper()} to {last.strip().upper()}' for a lesion spanning both")
    if not (v1 or v2 or join.group().strip() == "to"):
        return [*ends[0], *ends[1]]
    order = feature.outcomes
    spots = sorted(order.index(v) for v in (*ends[0], *ends[1]))
    return order[spots[0] : spots[-1] + 1]


def _unread(feature: Feature, written: str) -> FindingError:
    """The error for a part of a list that names no value (or range of values)."""
    several = _several(feature, written)
    if several:
        shown = f" ({several})" if len(several) <= SHOWN else ""  # a long cell is quoted cut short
        return _fail(feature.id, written, f"holds several values: separate them with ';'{shown}")
    beyond = _beyond_the_run(feature, written)
    if beyond:
        return _fail(feature.id, written, beyond, feature.values)
    return _fail(feature.id, written, "is not a value", feature.values)


def _run(feature: Feature, letters: str) -> list[int]:
    """The numbers of the vertebrae the aliases name with these letters, in order (t: 1 to 12)."""
    return sorted(int(n.group(2)) for n in map(VERTEBRA.fullmatch, feature.alias) if n and n.group(1) == letters)


def _beyond_the_run(feature: Feature, written: str) -> str | None:
    """The problem of the first vertebra in ``written`` whose letters the aliases know but whose
    number they do not ('is no vertebra: T runs from T1 to T12'), else None: a trainee who
    wrote one should learn that vertebrae are read, and which."""
    for word in re.findall(r"[a-z]+[0-9]+", written.lower()) if feature.ordered else ():
        m = VERTEBRA.fullmatch(word)
        run = _run(feature, m.group(1))
        if run and word not in feature.alias:
            letters = m.group(1).upper()
            where = "is not a vertebra" if word == written.strip().lower() else f"names {letters}{m.group(2)}, which is not a vertebra"
            problem = f"{where}: {letters} runs from {letters}{run[0]} to {letters}{run[-1]}"
            if int(m.group(2)) == run[-1] + 1:  # L6, T13: a transitional or extra vertebra
                problem += f" (for a transitional or extra vertebra, give its region: {feature.alias[m.group(1) + str(run[-1])]})"
            return problem
    return None


def _several(feature: Feature, written: str) -> str | None:
    """The part rewritten with ';' when its words, apart from "and", each name values of the list
    ('nf1 nf2' is nf1;nf2, 'T10-L2 C5' T10-L2;C5), else None: features.md separates them with ';' alone."""
    words = [w for w in written.split() if w.lower() != "and"]
    if not 2 <= len(words) <= 2 * len(feature.values):  # more words than a list could need are no list
        return None
    try:
        for word in words:
            _choices(feature, word.lower(), word)
    except FindingError:
        return None
    return ";".join(words)


def _readings(feature: Feature, written: str, join: re.Match, v1: re.Match, v2: re.Match) -> list[str]:
    """What a shorthand whose bare second number is below the first (T12-1) may mean, written
    out: the same letters (T1-T12) and, after the last vertebra of a region, the next region's
    (T12-L1). Nothing for a shorthand that counts up (L4-5) or names no vertebra."""
    number = v2.group(2)
    if int(number) >= int(v1.group(2)) or v1.group(0) not in feature.alias:
        return []
    sep = join.group().strip()
    sep = f" {sep} " if sep == "to" else sep
    letters = written[: len(v1.group(1))]
    readings = [f"{letters}{number}{sep}{letters}{v1.group(2)}"] if v1.group(1) + number in feature.alias else []
    # a lower number may also be in the next region down (T12-1: T12-L1; T8-3: T8-L3), never the one above
    ahead = _next_region(feature, v1, number)
    if ahead:
        readings.append(f"{written[: join.start()]}{sep}{ahead.upper() if letters[:1].isupper() else ahead}{number}")
    return readings


def _next_region(feature: Feature, v1: re.Match, number: str) -> str | None:
    """The letters of the region after vertebra ``v1``'s that has a vertebra ``number`` (T8 and
    3: 'l'), or None (T12 and 11: there is no L11)."""
    order = feature.outcomes
    after = max(order.index(v) for v in feature.alias[v1.group(0)].split(";")) + 1
    for alias, values in feature.alias.items():
        m = VERTEBRA.fullmatch(alias)
        if m and m.group(1) and m.group(2) == number and m.group(1) != v1.group(1):
            if min(order.index(v) for v in values.split(";")) == after:
                return m.group(1)
    return None


def _across_a_boundary(feature: Feature, *ends: re.Match) -> bool:
    """Whether two vertebrae are neighbours across the boundary of two neighbouring regions:
    neighbours in one run of aliases that name different regions (c2, craniocervical, and c3,
    cervical), or the last of one run (c7, t12, l5) and the first of the next (t1, l1, s1),
    either way round."""
    order = feature.outcomes

    def spot(m: re.Match) -> tuple[int, int, bool, bool]:
        letters, number = m.group(1), int(m.group(2))
        run = _run(feature, letters)
        places = [order.index(v) for v in feature.alias[m.group(0)].split(";")]
        return min(places), max(places), number == max(run), number == min(run)

    low, high = sorted((spot(m) for m in ends), key=lambda s: s[0])
    if low[1] + 1 != high[0]:
        return False
    a, b = ends
    if a.group(1) == b.group(1):
        return abs(int(a.group(2)) - int(b.group(2))) == 1
    return low[2] and high[3]


def _named(feature: Feature, part: str, written: str) -> list[str]:
    """The value or values one word of a list cell names: a value, or an alias of one or
    several ("thoracic;lumbar")."""
    several = _alias(feature, part) or ""
    if ";" in several:
        return several.split(";")
    return [_choice(feature, part, written)]


def _choice(feature: Feature, text: str, raw: str) -> str:
    """The canonical value of ``text``; an error names ``raw``, the cell as it was written."""
    value = _choice_or_none(feature, text)
    if value is not None:
        return value
    parts = [p.strip() for p in re.split(r"[;,]", text) if p.strip()]
    if len(parts) > 1 and all(_choice_or_none(feature, p) for p in parts):
        raise _fail(feature.id, raw, f"holds {len(parts)} values, but {feature.id} takes one: give the one that "
                                     "describes the lesion best", feature.values)
    raise _fail(feature.id, raw, "is not a value", feature.values, own=_own_finding(feature, text) if feature.kind == "choice" else None)


def _choice_or_none(feature: Feature, text: str) -> str | None:
    """The value ``text`` names as a whole, or None."""
    text = DASH.sub("-", text)
    return next((v for v in (text, text.replace("-", "_").replace(" ", "_")) if v in feature.values), _alias(feature, text))


def _alias(feature: Feature, text: str) -> str | None:
    """What an alias of ``text`` names, written with a dash or a space for its hyphen
    (thoraco\u2013lumbar, thoraco lumbar), or None."""
    text = DASH.sub("-", text)
    return feature.alias.get(text) or feature.alias.get(re.sub(r"[\s_]+", "-", text))


def _own_finding(feature: Feature, word: str) -> Feature | None:
    """The finding named after this one (csf_cap for csf) that ``word`` describes, if any: the
    word holds the rest of its name (a capped CSF space, cord oedema) or is one of its values
    (a cord eccentric). Asked for one-value findings only: a part of a list fails on the way
    to reading a range (T10-L2), where loading the knowledge for it would be wasted. The packaged
    schema is read (a value error knows no other); a broken one gives no hint, not a second error."""
    from .knowledge import load_features

    try:
        schema = load_features()
    except KnowledgeError:
        return None
    for other in schema.values():
        rest = other.id.removeprefix(feature.id + "_")
        if rest != other.id and (len(rest) >= 3 and rest in word or other.kind != "yesno" and (word in other.values or word in other.alias)):
            return other
    return None


def canonical(findings: Findings, knowledge: Knowledge | None = None, *, passthrough: Iterable[str] = ()) -> Findings:
    """A Findings record built by hand, with every value read as parse_findings reads it.

    The engine trusts a record's values; a hand-made one could hold a column twice,
    an unknown column, or text where a list or a number belongs, and be scored
    wrongly without a word. Its values are read again here, so those fail as a cell would.
    """
    pairs = list(findings.values)
    if not all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs):
        raise TypeError("Findings.values holds (column, value) pairs; ddx.parse_findings builds them from a mapping")
    columns = [normalise_column(str(column)) for column, _ in pairs]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise FindingError(column=twice[0], value="", message=f"{twice[0]} is given twice; give it once")
    if CASE_ID in columns:
        raise FindingError(column=CASE_ID, value="", message="case_id is the record's own field (Findings(case_id=...)), not a finding")
    case_id = None if _missing(findings.case_id) else str(findings.case_id).strip() or None
    return attrs.evolve(parse_findings(dict(pairs), knowledge, passthrough=passthrough), case_id=case_id)


def normalise_column(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def parse_findings(
    cells: Mapping[str, Any],
    knowledge: Knowledge | str | os.PathLike[str] | None = None,
    *,
    passthrough: Iterable[str] | str | None = (),
) -> Findings:
    """Findings from a mapping of column -> text (a CSV row, CLI options, the keywords given to
    ddx.assess, which passes them here as a mapping).

    An unknown column is an error naming the closest known column, unless it
    is listed in ``passthrough``. ``knowledge`` is taken as ddx.assess takes it.
    """
    from .knowledge import given_knowledge

    if not hasattr(cells, "items"):
        raise TypeError(f"findings are a mapping of column -> value, not {type(cells).__name__}")
    kb = given_knowledge(knowledge)
    passthrough = () if passthrough is None else passthrough
    if isinstance(passthrough, str):
        passthrough = (passthrough,)
    keep = {normalise_column(p) for p in passthrough}
    values: dict[str, Any] = {}
    case_id = None
    written: dict[str, str] = {}
    bad: list[FindingError] = []
    for column, raw in cells.items():
        key = "" if column is None else normalise_column(str(column))
        if not key:
            # a csv.DictReader row: cells beyond the header come under None, and a column with no
            # name under ""; as `ddx batch` reads them, blank they are a trailing separator
            extra = [c for c in (raw if column is None and isinstance(raw, (list, tuple)) else [raw]) if not _blank(c)]
            if not extra:
                continue
            value = ",".join(str(c) for c in extra)
            if column is None:
                message = (f"the row has more cells than the header ({value!r} beyond it): a value that contains the "
                           "separator must be in double quotes, or the header is missing a column")
            else:
                message = (f"a column with no name in the header has a value ({value!r}): name the column (and pass "
                           "it through) or empty the cell")
            raise FindingError(column="" if column is None else str(column), value=value, message=message)
        if key in written:
            raise FindingError(
                column=str(column),
                value="" if raw is None else str(raw),
                message=f"{column!r} and {written[key]!r} are the same column ({key}); give it once",
            )
        written[key] = str(column)
        if key == CASE_ID:
            text = "" if _missing(raw) else str(raw).strip()
            case_id = text or None
            continue
        feature = kb.features.get(key)
        if feature is None:
            if key in keep:
                continue
            message = f"{column!r} is not a known column"
            guess = meant_column(key, list(kb.features) + [CASE_ID])
            if key.startswith("\ufeff") and (key[1:] in kb.features or key[1:] == CASE_ID):
                message += (f"; it is {key[1:]!r} after the byte-order mark a spreadsheet writes at the start of the "
                            "file: open the file with encoding='utf-8-sig'")
            else:
                if guess:
                    message += f"; did you mean {guess!r}?"
                message += " (see `ddx features`; name it in passthrough to leave it unread)"
            raise FindingError(column=str(column), value="", message=message)
        try:
            value = parse_value(feature, raw)
        except FindingError as exc:
            bad.append(exc)
            continue
        if value is not None:
            values[key] = value
    if bad:  # every value that cannot be read, in one error (the first's column and value), as batch says them
        first = bad[0]
        also = "".join(f"; also {e.message}" for e in bad[1:])
        raise attrs.evolve(first, message=first.message + also) if also else first
    return Findings(values=tuple(sorted(values.items())), case_id=case_id)
