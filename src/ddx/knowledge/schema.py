"""features.toml: the findings, their values and what the checks of the other files read them by."""

from __future__ import annotations

import math
import re

from .parsing import (
    BANDS, FLAG, LINE_END, MAPPING, NUMBER, TABLE, TEXT, TEXTS, WHOLE, Issues, field_line, guess, id_refused, nth_line,
    table_lines, valid_tables,
)
from .records import FEATURE_KINDS, YES_NO, Feature


#: Where a reader gets a finding: off the images, or from the history (the request, the chart).
READ_FROM = ("images", "history")

#: A value of a choice or list finding is what a reader types (lower-cased) or a cell holds:
#: lower-case words of letters and digits joined by "_" (a value, unlike an id, may start with a digit).
FEATURE_VALUE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")

#: Ids the commands already use for an option or a column of their own (assess and guide:
#: --case-id, --format, --top, --color/--no-color, --max-questions, --priors, --help).
RESERVED_FEATURE_IDS = frozenset({"case_id", "format", "top", "color", "no_color", "max_questions", "priors", "help",
                                   # ddx.assess's own keywords: a finding so named could not be given as one
                                   "findings", "knowledge", "passthrough", "suggest"})

#: Values that mean "not assessed" wherever a finding is read (findings.UNKNOWN), so never a value.
NOT_ASSESSED = frozenset({"unknown", "na", "skip"})

#: The fields that only some kinds of finding take, and those kinds.
KIND_ONLY = {"exclusive": ("list",), "min": ("integer",), "max": ("integer",), "bands": ("integer",)}

#: The fields a [[feature]] may have, and what each must be.
FEATURE_FIELDS = {
    "id": TEXT, "kind": TEXT, "section": TEXT, "help": TEXT, "question": TEXT, "values": TEXTS,
    "exclusive": TEXT, "min": WHOLE, "max": WHOLE, "bands": BANDS, "weight": NUMBER, "alias": MAPPING,
    "meaning": TABLE, "required": FLAG, "read_from": TEXT, "picture": FLAG, "places": FLAG, "ordered": FLAG,
    "implies": TEXTS, "within": TEXT,
}


def _subtable_line(name: str, table_line: int | None, key: str, issues: Issues) -> int | None:
    """The line of a [[feature]]'s ``key`` table (alias, meaning): its `key = {...}` line, or
    the header of the [feature.key] table that follows it."""
    line = field_line(name, table_line, key, issues)
    if line != table_line or table_line is None:
        return line
    lines = LINE_END.split(issues.texts.get(name, ""))
    for i in range(table_line, len(lines)):  # the lines after the header, up to the next [[feature]]
        stripped = lines[i].strip()
        if stripped == f"[feature.{key}]":
            return i + 1
        if stripped.startswith("[["):
            break
    return table_line


def read_features(data: dict | None, issues: Issues) -> dict[str, Feature]:
    """The findings of features.toml (None: the file is missing or broken, already reported)."""
    name = "features.toml"
    if data is None:
        return {}
    features: dict[str, Feature] = {}
    lines = table_lines(name, "feature", issues)
    for _, f, where, line in valid_tables(data, "feature", name, FEATURE_FIELDS, issues, issues.rejected_features):
        try:
            try:
                kind = f["kind"]
                if kind not in FEATURE_KINDS:
                    issues.add(name, field_line(name, line, "kind", issues),
                               f"{where}: kind {kind!r} is not one of {', '.join(FEATURE_KINDS)}{guess(str(kind), FEATURE_KINDS)}")
                    continue
                if kind in ("yesno", "integer") and "values" in f:
                    issues.add(name, field_line(name, line, "values", issues),
                               f"{where}: a {kind} finding takes no values (yes/no are fixed; an integer has min, max and bands)")
                    continue
                values = tuple(YES_NO if kind == "yesno" else f.get("values", ()))
                if kind in ("choice", "list") and len(values) < 2:
                    issues.add(name, line, f"{where}: a {kind} feature needs at least two values")
                    continue
                bands = tuple((b[0], b[1] if len(b) == 2 else None) for b in f.get("bands", ()))
                misplaced = [k for k, kinds in KIND_ONLY.items() if k in f and kind not in kinds]
                for key in misplaced:
                    issues.add(name, field_line(name, line, key, issues),
                               f"{where}: {key} is for {' or '.join(KIND_ONLY[key])} findings, and this one is {kind}")
                if misplaced:
                    continue
                if "exclusive" in f and f["exclusive"] not in values:
                    issues.add(name, field_line(name, line, "exclusive", issues),
                               f"{where}: exclusive {f['exclusive']!r} is not one of its values{guess(f['exclusive'], values)}")
                    continue
                try:
                    weight = float(f.get("weight", 1.0))
                except OverflowError:
                    weight = math.inf
                if kind == "integer":
                    lo, hi = f["min"], f.get("max")
                    if bands and (bands[-1][1] is None) != (hi is None):
                        issues.add(name, line, f"{where}: the last band is [low] alone (every number from low up) "
                                               "exactly when there is no max")
                        continue
                    backwards = [f"[{a}, {b}]" for a, b in bands if b is not None and b < a]
                    if backwards:
                        issues.add(name, field_line(name, line, "bands", issues),
                                   f"{where}: a band runs from its low end up to its high end: {', '.join(backwards)}")
                        continue
                    edges = [lo] + [b[1] + 1 for b in bands if b[1] is not None]
                    end = [] if hi is None else [hi + 1]
                    if not bands or [b[0] for b in bands] + end != edges:
                        shown = f"{lo}-{hi}" if hi is not None else f"{lo} and up"
                        issues.add(name, line, f"{where}: bands must cover {shown} without gaps or overlaps")
                        continue
                feature = Feature(
                    id=f["id"],
                    kind=kind,
                    section=f["section"],
                    help=f["help"],
                    question=f["question"],
                    values=values,
                    exclusive=f.get("exclusive"),
                    min=f.get("min"),
                    max=f.get("max"),
                    bands=bands,
                    weight=weight,
                    alias=dict(f.get("alias", {})),
                    meaning=dict(f.get("meaning", {})),
                    required=f.get("required", False),
                    read_from=f.get("read_from", "images"),
                    picture=f.get("picture", False),
                    places=f.get("places", True),
                    ordered=f.get("ordered", False),
                    implies=tuple(f.get("implies", ())),
                    within=f.get("within"),
                )
            except KeyError as exc:
                issues.add(name, line, f"{where}: missing field {exc.args[0]!r}")
                continue
            if id_refused(feature.id, "it is a column name, and with '-' for '_' an option", name, line, where, issues):
                continue
            if feature.id in RESERVED_FEATURE_IDS:
                issues.add(name, field_line(name, line, "id", issues),
                           f"{where}: id {feature.id!r} is taken by an option or a column of ddx itself "
                           f"(taken: {', '.join(sorted(RESERVED_FEATURE_IDS))})")
                continue
            if kind in ("choice", "list"):
                odd = [v for v in values if not FEATURE_VALUE.fullmatch(v) or v in NOT_ASSESSED]
                twice = sorted({v for v in values if values.count(v) > 1})
                if odd:
                    issues.add(name, field_line(name, line, "values", issues),
                               f"{where}: a value is a lower-case word of letters and digits joined by '_', and not "
                               f"one of {', '.join(sorted(NOT_ASSESSED))} (they mean not assessed): "
                               f"{', '.join(repr(v) for v in odd)}")
                if twice:
                    issues.add(name, field_line(name, line, "values", issues),
                               f"{where}: a value is given twice: {', '.join(twice)}")
                if odd or twice:
                    continue
            if feature.id in features:
                issues.add(name, line, f"{where}: duplicate feature id (the first one is kept)")
                continue
            if not 0 < feature.weight <= 1:
                issues.add(name, field_line(name, line, "weight", issues), f"{where}: weight must be in (0, 1]")
            unmeant = [k for k in feature.meaning if k not in feature.values]
            if unmeant:
                issues.add(name, _subtable_line(name, line, "meaning", issues),
                           f"{where}: meaning is given for what is not one of its values: {', '.join(map(repr, unmeant))}"
                           f"{guess(unmeant[0], feature.values)}")
            if feature.picture and (feature.kind not in ("choice", "yesno") or feature.weight != 1 or not feature.required):
                issues.add(name, line, f"{where}: a picture sign must be a required choice or yes/no finding without a weight "
                                       "(the picture accounts for what its signs share)")
            if feature.ordered and feature.kind != "list":
                issues.add(name, line, f"{where}: ordered is for list findings, whose values a range can span")
            if "places" in f and feature.read_from == "history":
                issues.add(name, line, f"{where}: places is for image findings; the history never places a lesion")
            if feature.picture and not feature.places:
                issues.add(name, line, f"{where}: a picture sign places the lesion: remove places = false")
            if feature.read_from not in READ_FROM:
                issues.add(name, line, f"{where}: read_from must be one of {', '.join(READ_FROM)}")
            odd = [k for k, v in feature.alias.items() if not isinstance(k, str) or k != k.lower() or not isinstance(v, str)]
            if odd:
                issues.add(name, _subtable_line(name, line, "alias", issues), f"{where}: an alias is a lower-case spelling naming a value as a string "
                                       f"(several values of a list finding: \"a;b\"): {', '.join(map(str, odd))}")
                continue
            # a list finding's alias may name several values ("thoracic;lumbar")
            named = [t for v in feature.alias.values() for t in (v.split(";") if feature.kind == "list" else [v])]
            bad_alias = [v for v in named if v not in feature.values]
            if bad_alias:
                issues.add(name, _subtable_line(name, line, "alias", issues), f"{where}: alias points to unknown value(s) {', '.join(bad_alias)}")
            features[feature.id] = feature
        finally:
            if not isinstance(f.get("id"), str) or f["id"] not in features:
                issues.reject(issues.rejected_features, f)
    if not data.get("feature"):
        issues.unreadable(name, None, "defines no [[feature]]")
    _check_implied(features, lines, data, issues)
    return features


def _line_of(fid: str, key: str, data: dict, lines: list[int | None], issues: Issues) -> int | None:
    """The line of ``key`` in the [[feature]] whose id is ``fid`` (for a check across findings)."""
    number = next((i for i, f in enumerate(data.get("feature", []), 1) if isinstance(f, dict) and f.get("id") == fid), 0)
    return field_line("features.toml", nth_line(lines, number), key, issues)


def check_within(features: dict[str, Feature], pictures, signs, data, issues: Issues) -> None:
    """A finding read within a picture names one of pictures.csv, is a choice finding (a list's
    values would each count the picture's odds, a yes/no one's 'no' too), neither a picture sign nor one
    that implies others, and the only finding read within that picture (each counts the
    picture's odds, so two would count them twice)."""
    if not data or "pictures.csv" in issues.unread:
        return
    lines = table_lines("features.toml", "feature", issues)
    first: dict[str, str] = {}
    for feature in features.values():
        if feature.within is None:
            continue
        problem = None
        if feature.within in first:
            problem = (f"within {feature.within!r} is already the picture {first[feature.within]!r} is read in: "
                       "each counts the odds of its picture, so only one finding may be read within it")
        elif not pictures:
            problem = f"within {feature.within!r}: pictures.csv gives no picture"
        elif feature.within not in pictures:
            problem = f"within {feature.within!r} is not a picture of pictures.csv ({', '.join(pictures)}){guess(feature.within, pictures)}"
        elif feature.kind != "choice":
            problem = "within is for a choice finding (a yes/no one's 'no' would count the picture too)"
        elif feature.id in signs or feature.implies:
            problem = "within is for a finding that is neither a picture sign nor implies others"
        first.setdefault(feature.within, feature.id)
        if problem:
            line = _line_of(feature.id, "within", data, lines, issues)
            issues.add("features.toml", line, f"[[feature]] {feature.id!r}: {problem}")


def _check_implied(features: dict[str, Feature], lines, data: dict, issues: Issues) -> None:
    """Each finding a feature implies is another yes/no finding of features.toml, named once, and
    implied by no other finding; neither it nor the implying finding is a picture sign, and the
    implying finding is not a list. The odds of what is implied are added to each of the implying
    finding's value tables and taken out once (engine.without_implied): a list adds one table per
    value present, a picture sign is weighed by the picture model (not its tables) and read by the
    batch in the picture's block, and a finding implied twice would have its odds counted twice."""
    implied_by: dict[str, str] = {}
    for feature in list(features.values()):
        if not feature.implies:
            continue
        line = _line_of(feature.id, "implies", data, lines, issues)
        where = f"[[feature]] {feature.id!r}: implies"
        problems = []
        # a finding whose own table was refused is reported there already, not again here
        bad = [x for x in feature.implies if x == feature.id or (x not in features and x not in issues.rejected_features)
               or (x in features and features[x].kind != "yesno")]
        if bad:
            problems.append(f"{where} names what is not another yes/no finding of features.toml: {', '.join(map(repr, bad))}"
                            f"{guess(bad[0], [f for f in features if features[f].kind == 'yesno'])}")
        twice = sorted({x for x in feature.implies if feature.implies.count(x) > 1})
        if twice:
            problems.append(f"{where} names a finding twice: {', '.join(map(repr, twice))}")
        if feature.kind == "list":
            problems.append(f"{where} is not for a list finding (each value present would count the odds again)")
        pictures = [x for x in (feature.id, *feature.implies) if x in features and features[x].picture]
        if pictures:
            problems.append(f"{where} is not for the picture signs (the picture model weighs them): {', '.join(map(repr, pictures))}")
        shared = [x for x in feature.implies if x in implied_by and implied_by[x] != feature.id]
        if shared:
            problems.append(f"{where} names what {implied_by[shared[0]]!r} implies already (its odds would count twice): "
                            f"{', '.join(map(repr, shared))}")
        if problems:
            for problem in problems:
                issues.add("features.toml", line, problem)
            del features[feature.id]
            issues.rejected_features.add(feature.id)
            continue
        implied_by.update({x: feature.id for x in feature.implies})
