"""Read the knowledge files, validate every number, and build the Knowledge (weights.py weighs it).

Validation collects every problem with its file, row and reason before it
fails, so a knowledge-base author fixes them all in one pass.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any, Mapping


from ..errors import KnowledgeError, KnowledgeIssue
from .records import (
    COMPARTMENTS,
    FEATURE_KINDS,
    GRADES,
    YES_NO,
    Condition,
    Disagreement,
    Entity,
    Feature,
    Knowledge,
    Number,
    Rule,
    Settings,
    Source,
    name_key,
)
from .weights import SCORE_LIMIT, add_within, log_tables, picture_model, picture_rates, score_bound

#: Values of one finding for one entity must sum to 1 within this (the tables
#: are given to three or four decimals).
SUM_TOLERANCE = 1e-3

#: Where a reader gets a finding: off the images, or from the history (the request, the chart).
READ_FROM = ("images", "history")
#: A finding's id is a column name and, with "_" turned into "-", an option of assess and guide;
#: a value of a choice or list finding is what a reader types (lower-cased) or a cell holds;
#: an entity's id is what the outputs name it by (batch's ';'-joined dont_miss column).
#: All are lower-case words of letters and digits joined by "_" (an id starts with a letter).
FEATURE_ID = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
FEATURE_VALUE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
#: Ids the commands already use for an option or a column of their own (assess and guide:
#: --case-id, --format, --top, --color/--no-color, --max-questions, --help).
RESERVED_FEATURE_IDS = frozenset({"case_id", "format", "top", "color", "no_color", "max_questions", "help",
                                   # ddx.assess's own keywords: a finding so named could not be given as one
                                   "findings", "knowledge", "passthrough"})
#: Values that mean "not assessed" wherever a finding is read (findings.UNKNOWN), so never a value.
NOT_ASSESSED = frozenset({"unknown", "na", "skip"})

FILES = (
    "features.toml",
    "entities.toml",
    "sources.toml",
    "priors.csv",
    "likelihoods.csv",
    "pictures.csv",
    "locations.csv",
    "model.toml",
    "flags.toml",
    "disagreements.toml",
)


class _Issues:
    """The problems found so far, and what the later checks must not report again."""

    def __init__(self) -> None:
        self.items: list[KnowledgeIssue] = []
        self.unread: set[str] = set()  # files that could not be read at all
        self.texts: dict[str, str] = {}  # each file's text, for the line of a TOML table
        # ids of tables already reported (a row naming one is checked, not reported as unknown)
        self.rejected_features: set[str] = set()
        self.rejected_entities: set[str] = set()
        self.rejected_sources: set[str] = set()
        self.badly_graded: set[str] = set()  # sources whose grade was reported as wrong
        self.cited: set[str] = set()  # every source key a row of a table names, read or not

    def reject(self, kind: set[str], table: Any) -> None:
        """Remember the id of a table that failed, when it has one."""
        ident = table.get("id") if isinstance(table, dict) else None
        if isinstance(ident, str):
            kind.add(ident)

    def unreadable(self, path: str, row: int | None, reason: str) -> None:
        self.add(path, row, reason)
        self.unread.add(path)

    def add(self, path: str, row: int | None, reason: str) -> None:
        self.items.append(KnowledgeIssue(path, row, reason))

    def items_in(self, path: str) -> bool:
        """Whether some problem is already reported in ``path``."""
        return any(i.path == path for i in self.items)


#: What a missing file may hold at the least, for the files whose tables may all be left out.
OPTIONAL_CONTENT = {"disagreements.toml": " (with no [[disagreement]] it may be empty, but it must be there)"}


def _read(folder, name: str, issues: _Issues) -> str | None:
    """The file's text (a byte-order mark, which Excel and some editors write, dropped)."""
    try:
        text = (folder / name).read_text(encoding="utf-8-sig")
        issues.texts[name] = text
        return text
    except FileNotFoundError:
        issues.unreadable(name, None, "file is missing" + OPTIONAL_CONTENT.get(name, ""))
    except (OSError, UnicodeDecodeError) as exc:
        issues.unreadable(name, None, f"cannot be read: {exc}")
    return None


#: The last parse of each TOML file by name, with its text: the CLI reads
#: features.toml for its options and again with the whole knowledge base.
_PARSED: dict[str, tuple[str, dict[str, Any]]] = {}

#: The tables each TOML file may hold at its top level (a misspelt [[rules]] would
#: otherwise leave the file without its rules, and load).
TOP_LEVEL = {
    "features.toml": {"feature": "a list of [[feature]] tables", "schema_version": None},
    "entities.toml": {"entity": "a list of [[entity]] tables"},
    "flags.toml": {"rule": "a list of [[rule]] tables"},
    "disagreements.toml": {"disagreement": "a list of [[disagreement]] tables"},
}


def _toml(folder, name: str, issues: _Issues) -> dict[str, Any] | None:
    """The parsed file, or None (with an issue) when it is missing, not valid TOML, or
    holds something else at its top level than it may."""
    text = _read(folder, name, issues)
    if text is None:
        return None
    last = _PARSED.get(name)
    if last is not None and last[0] == text:
        return _top_level(name, last[1], issues)
    import tomllib  # only when parsing: a cached knowledge base needs no parser

    try:
        data = tomllib.loads(text)
        _PARSED[name] = (text, data)
        return _top_level(name, data, issues)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        issues.unreadable(name, int(line.group(1)) if line else None, f"is not valid TOML: {exc}")
        return None


def _top_level(name: str, data: dict[str, Any], issues: _Issues) -> dict[str, Any] | None:
    """``data``, or None (the file counts as unreadable) when a top-level key is unknown or
    a list of tables is not one."""
    allowed = TOP_LEVEL.get(name)
    if allowed is None:
        return data
    ok = True
    for key, value in data.items():
        if key not in allowed:
            issues.add(name, None, f"unknown top-level key {key!r}{_guess(key, allowed)} (known: {', '.join(allowed)})")
            ok = False
        elif allowed[key] and not (isinstance(value, list) and all(isinstance(t, dict) for t in value)):
            issues.add(name, None, f"{key} must be {allowed[key]}")
            ok = False
    if not ok:
        issues.unread.add(name)
        return None
    return data


#: Line ends as an editor counts them (str.splitlines also breaks at form feeds and
#: Unicode separators, which would shift every line number after them).
LINE_END = re.compile(r"\r\n|\r|\n")


def _csv_rows(folder, name: str, columns: tuple[str, ...], issues: _Issues) -> list[tuple[int, dict]] | None:
    """Data rows with their physical line numbers ('#' lines are comments), or None when the
    file cannot be read at all (missing, no header): then nothing can be said about what it lacks.
    A row of the wrong width is reported and returned with ``BROKEN`` set, so that the checks of
    what is missing pass over what that row was about."""
    text = _read(folder, name, issues)
    if text is None:
        return None
    numbered = [(i, line) for i, line in enumerate(LINE_END.split(text), 1) if line.strip() and not line.startswith("#")]
    if not numbered:
        issues.unreadable(name, None, "has no header row")
        return None
    import csv

    # each line is read on its own: a row is one line, so a quote left open cannot swallow the
    # lines after it, and every problem is reported at the line an editor shows
    header = next(csv.reader([numbered[0][1]]))
    if tuple(h.strip() for h in header) != columns:
        issues.unreadable(name, numbered[0][0], f"header must be {','.join(columns)} (found {','.join(header)})")
        return None
    width = len(columns)
    rows = []
    at = columns.index("source") if "source" in columns else None
    for lineno, line in numbered[1:]:
        cells = next(csv.reader([line]))
        if at is not None and at < len(cells):
            issues.cited.update(source_keys(cells[at]))
        if line.count('"') % 2:
            issues.add(name, lineno, "a quote opened on this line is not closed (a row is one line)")
            rows.append((lineno, {**dict(zip(columns, map(str.strip, cells))), BROKEN: True}))
            continue
        if len(cells) != width:
            issues.add(name, lineno, f"expected {width} cells, found {len(cells)}")
            rows.append((lineno, {**dict(zip(columns, map(str.strip, cells))), BROKEN: True}))
            continue
        rows.append((lineno, dict(zip(columns, map(str.strip, cells)))))
    return rows


#: The key marking a row whose cells could not be read (already reported).
BROKEN = "\0broken"


def _probability(text: str, name: str, row: int, issues: _Issues) -> float | None:
    try:
        p = float(text)
    except ValueError:
        issues.add(name, row, f"probability {text!r} is not a number")
        return None
    if not 0 < p < 1:
        issues.add(name, row, f"probability {p} is not strictly between 0 and 1")
        return None
    return p


#: What each field of a [[feature]] and an [[entity]] table must be: a field that is
#: not listed is a typo (next_stpe), and a value of the wrong type would otherwise be
#: read as something else (dont_miss = "false" is true to Python). None: checked where
#: it is read, with a message of its own.
TEXT, FLAG, NUMBER, WHOLE, TEXTS, TABLE, MAPPING, TABLES, BANDS = (
    "text", "true or false", "a number", "a whole number", "a list of texts", "a table of texts", "a table",
    "a list of tables", "a list of [low, high] whole-number pairs (the last may be [low] alone)",
)
FEATURE_FIELDS = {
    "id": TEXT, "kind": TEXT, "section": TEXT, "help": TEXT, "question": TEXT, "values": TEXTS,
    "exclusive": TEXT, "min": WHOLE, "max": WHOLE, "bands": BANDS, "weight": NUMBER, "alias": MAPPING,
    "meaning": TABLE, "required": FLAG, "read_from": TEXT, "picture": FLAG, "places": FLAG, "ordered": FLAG,
    "implies": TEXTS, "within": TEXT,
}
ENTITY_FIELDS = {
    "id": TEXT, "name": TEXT, "compartment": TEXT, "dont_miss": FLAG, "mimic": FLAG, "associations": TEXTS,
    "typical": TEXT, "summary": TEXT, "next_step": TEXT, "why": TEXT, "action": TEXT, "sources": TEXTS,
    "aliases": None,
}


def _is(value: Any, kind: str) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if kind == FLAG:
        return isinstance(value, bool)
    if kind == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == WHOLE:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == TEXTS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == TABLE:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind == MAPPING:
        return isinstance(value, dict)
    if kind == TABLES:
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return isinstance(value, list) and all(
        isinstance(b, list) and (len(b) == 2 or len(b) == 1 and i == len(value) - 1) and all(_is(x, WHOLE) for x in b)
        for i, b in enumerate(value)
    )


def _fields(table: Any, fields: dict[str, str], name: str, line: int | None, where: str, issues: _Issues) -> bool:
    """Does a table (a [[feature]], an [[entity]], a rule, a condition...) have only known fields,
    each of its type? Says why not."""
    if not isinstance(table, dict):
        issues.add(name, line, f"{where}: is not a table")
        return False
    ok = True
    for key, value in table.items():
        kind = fields.get(key, "")
        if key not in fields:
            issues.add(name, _field_line(name, line, key, issues), f"{where}: unknown field {key!r}{_guess(key, fields)} "
                                                                    f"(known: {', '.join(fields)})")
            ok = False
        elif kind is not None and not _is(value, kind):
            issues.add(name, _field_line(name, line, key, issues), f"{where}: {key} must be {kind} (found {value!r})")
            ok = False
    return ok


def _alias_line(name: str, table_line: int | None, issues: _Issues) -> int | None:
    """The line of a [[feature]]'s alias: its `alias = {...}` line, or the header of the
    [feature.alias] table that follows it."""
    line = _field_line(name, table_line, "alias", issues)
    if line != table_line or table_line is None:
        return line
    lines = LINE_END.split(issues.texts.get(name, ""))
    for i in range(table_line, len(lines)):  # the lines after the header, up to the next [[feature]]
        stripped = lines[i].strip()
        if stripped == "[feature.alias]":
            return i + 1
        if stripped.startswith("[["):
            break
    return table_line


def _field_line(name: str, table_line: int | None, key: str, issues: _Issues) -> int | None:
    """The line of ``key = ...`` in the TOML table starting at ``table_line`` (else that line)."""
    if table_line is None:
        return None
    lines = LINE_END.split(issues.texts.get(name, ""))
    field = re.compile(r"\s*" + re.escape(key) + r"\s*=")
    for i in range(table_line, len(lines)):  # the lines after the header, up to the next table
        if lines[i].lstrip().startswith("["):
            break
        if field.match(lines[i]):
            return i + 1
    return table_line


def _table_lines(name: str, table: str, issues: _Issues) -> list[int | None]:
    """The line of each [[table]] header of a parsed TOML file, in order (for messages)."""
    text = issues.texts.get(name, "")
    header = re.compile(r"\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
    return [i for i, line in enumerate(LINE_END.split(text), 1) if header.match(line)]


def _line(lines: list[int | None], i: int) -> int | None:
    return lines[i - 1] if 0 < i <= len(lines) else None


def _id_refused(ident: str, use: str, name: str, line: int | None, where: str, issues: _Issues) -> bool:
    """Whether an id is not lower-case words of letters and digits joined by '_' (then reported,
    at its field's line, with what the id is used as)."""
    if FEATURE_ID.fullmatch(ident):
        return False
    issues.add(name, _field_line(name, line, "id", issues),
               f"{where}: id must be a lower-case word of letters and digits joined by '_', starting with a letter ({use})")
    return True


def _features(data: dict | None, issues: _Issues) -> dict[str, Feature]:
    """The findings of features.toml (None: the file is missing or broken, already reported)."""
    name = "features.toml"
    if data is None:
        return {}
    features: dict[str, Feature] = {}
    lines = _table_lines(name, "feature", issues)
    for i, f in enumerate(data.get("feature", []), 1):
        try:
            where = f"[[feature]] #{i} {f.get('id', '?') if isinstance(f, dict) else '?'!r}"
            line = _line(lines, i)
            if not _fields(f, FEATURE_FIELDS, name, line, where, issues):
                continue
            try:
                kind = f["kind"]
                if kind not in FEATURE_KINDS:
                    issues.add(name, _field_line(name, line, "kind", issues),
                               f"{where}: kind {kind!r} is not one of {', '.join(FEATURE_KINDS)}{_guess(str(kind), FEATURE_KINDS)}")
                    continue
                if kind in ("yesno", "integer") and "values" in f:
                    issues.add(name, _field_line(name, line, "values", issues),
                               f"{where}: a {kind} finding takes no values (yes/no are fixed; an integer has min, max and bands)")
                    continue
                values = tuple(YES_NO if kind == "yesno" else f.get("values", ()))
                if kind in ("choice", "list") and len(values) < 2:
                    issues.add(name, line, f"{where}: a {kind} feature needs at least two values")
                    continue
                bands = tuple((b[0], b[1] if len(b) == 2 else None) for b in f.get("bands", ()))
                if kind == "integer":
                    lo, hi = f["min"], f.get("max")
                    if bands and (bands[-1][1] is None) != (hi is None):
                        issues.add(name, line, f"{where}: the last band is [low] alone (every number from low up) "
                                               "exactly when there is no max")
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
                    weight=float(f.get("weight", 1.0)),
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
            if _id_refused(feature.id, "it is a column name, and with '-' for '_' an option", name, line, where, issues):
                continue
            if feature.id in RESERVED_FEATURE_IDS:
                issues.add(name, _field_line(name, line, "id", issues),
                           f"{where}: id {feature.id!r} is taken by an option or a column of ddx itself "
                           f"(taken: {', '.join(sorted(RESERVED_FEATURE_IDS))})")
                continue
            if kind in ("choice", "list"):
                odd = [v for v in values if not FEATURE_VALUE.fullmatch(v) or v in NOT_ASSESSED]
                twice = sorted({v for v in values if values.count(v) > 1})
                if odd:
                    issues.add(name, _field_line(name, line, "values", issues),
                               f"{where}: a value is a lower-case word of letters and digits joined by '_', and not "
                               f"one of {', '.join(sorted(NOT_ASSESSED))} (they mean not assessed): "
                               f"{', '.join(repr(v) for v in odd)}")
                if twice:
                    issues.add(name, _field_line(name, line, "values", issues),
                               f"{where}: a value is given twice: {', '.join(twice)}")
                if odd or twice:
                    continue
            if feature.id in features:
                issues.add(name, line, f"{where}: duplicate feature id (the first one is kept)")
                continue
            flags = {"required": feature.required, "picture": feature.picture, "places": feature.places, "ordered": feature.ordered}
            not_bool = [field for field, value in flags.items() if not isinstance(value, bool)]
            for field in not_bool:
                issues.add(name, line, f"{where}: {field} must be true or false")
            if not_bool:
                continue
            if not 0 < feature.weight <= 1:
                issues.add(name, line, f"{where}: weight must be in (0, 1]")
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
                issues.add(name, _alias_line(name, line, issues), f"{where}: an alias is a lower-case spelling naming a value as a string "
                                       f"(several values of a list finding: \"a;b\"): {', '.join(map(str, odd))}")
                continue
            # a list finding's alias may name several values ("thoracic;lumbar")
            named = [t for v in feature.alias.values() for t in (v.split(";") if feature.kind == "list" else [v])]
            bad_alias = [v for v in named if v not in feature.values]
            if bad_alias:
                issues.add(name, _alias_line(name, line, issues), f"{where}: alias points to unknown value(s) {', '.join(bad_alias)}")
            features[feature.id] = feature
        finally:
            if not isinstance(f, dict) or not isinstance(f.get("id"), str) or f["id"] not in features:
                issues.reject(issues.rejected_features, f)
    if not data.get("feature"):
        issues.unreadable(name, None, "defines no [[feature]]")
    _check_implied(features, lines, data, issues)
    return features


def _check_within(features: dict[str, Feature], pictures, signs, data, issues: _Issues) -> None:
    """A finding read within a picture names one of pictures.csv, is a choice finding (a list's
    values would each count the picture's odds, a yes/no one's 'no' too), neither a picture sign nor one
    that implies others, and the only finding read within that picture (each counts the
    picture's odds, so two would count them twice)."""
    if not data or "pictures.csv" in issues.unread:
        return
    lines = _table_lines("features.toml", "feature", issues)
    order = {f.get("id"): i for i, f in enumerate(data.get("feature", []), 1) if isinstance(f, dict)}
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
            problem = f"within {feature.within!r} is not a picture of pictures.csv ({', '.join(pictures)}){_guess(feature.within, pictures)}"
        elif feature.kind != "choice":
            problem = "within is for a choice finding (a yes/no one's 'no' would count the picture too)"
        elif feature.id in signs or feature.implies:
            problem = "within is for a finding that is neither a picture sign nor implies others"
        first.setdefault(feature.within, feature.id)
        if problem:
            line = _field_line("features.toml", _line(lines, order.get(feature.id, 0)), "within", issues)
            issues.add("features.toml", line, f"[[feature]] {feature.id!r}: {problem}")


def _check_implied(features: dict[str, Feature], lines, data: dict, issues: _Issues) -> None:
    """Each finding a feature implies is another yes/no finding of features.toml, named once, and
    implied by no other finding; neither it nor the implying finding is a picture sign, and the
    implying finding is not a list. The odds of what is implied are added to each of the implying
    finding's value tables and taken out once (engine.without_implied): a list adds one table per
    value present, a picture sign is weighed by the picture model (not its tables) and read by the
    batch in the picture's block, and a finding implied twice would have its odds counted twice."""
    order = {f.get("id"): i for i, f in enumerate(data.get("feature", []), 1) if isinstance(f, dict)}
    implied_by: dict[str, str] = {}
    for feature in list(features.values()):
        if not feature.implies:
            continue
        line = _field_line("features.toml", _line(lines, order.get(feature.id, 0)), "implies", issues)
        where = f"[[feature]] {feature.id!r}: implies"
        problems = []
        # a finding whose own table was refused is reported there already, not again here
        bad = [x for x in feature.implies if x == feature.id or (x not in features and x not in issues.rejected_features)
               or (x in features and features[x].kind != "yesno")]
        if bad:
            problems.append(f"{where} names what is not another yes/no finding of features.toml: {', '.join(map(repr, bad))}"
                            f"{_guess(bad[0], [f for f in features if features[f].kind == 'yesno'])}")
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


SOURCE_FIELDS = ("citation", "url", "grade")


def _sources(data: dict | None, issues: _Issues) -> dict[str, Source] | None:
    """sources.toml (None: the file is missing, broken or empty, already reported). A source
    whose grade is wrong is reported once and kept ungraded, and one without a citation is
    reported once: the numbers citing either are not each reported again."""
    if data is None:
        return None
    name = "sources.toml"
    if not data:
        issues.unreadable(name, None, "defines no source")
        return None
    lines = _source_lines(issues)
    sources = {}
    for key, s in data.items():
        line = lines.get(key)
        if not isinstance(s, dict):
            issues.add(name, line, f"[{key}]: is not a table (citation, url, grade)")
            issues.rejected_sources.add(key)
            continue
        for field in sorted(set(s) - set(SOURCE_FIELDS)):
            issues.add(name, line, f"[{key}]: unknown field {field!r}{_guess(field, SOURCE_FIELDS)} (known: {', '.join(SOURCE_FIELDS)})")
        if not isinstance(s.get("citation"), str) or not s["citation"].strip():
            if "citation" in s or not set(s) - set(SOURCE_FIELDS):  # a misspelt citation is reported above
                issues.add(name, line, f"[{key}]: needs a citation")
            issues.rejected_sources.add(key)
            continue
        url = s.get("url", "")
        if not isinstance(url, str):
            issues.add(name, line, f"[{key}]: url must be text (found {url!r})")
            url = ""
        grade = s.get("grade")
        if grade is not None and grade not in GRADES:
            issues.add(name, _field_line(name, line, "grade", issues), f"[{key}]: grade {grade!r} is not A, B or C")
            issues.badly_graded.add(key)
            grade = None
        sources[key] = Source(key=key, citation=s["citation"], url=url, grade=grade)
    return sources


def _source_lines(issues: _Issues) -> dict[str, int]:
    """The line of each [KEY] table of sources.toml (for messages)."""
    header = re.compile(r"""\s*\[\s*["']?([^\]"'\[]+?)["']?\s*\]\s*(?:#.*)?$""")
    text = issues.texts.get("sources.toml", "")
    return {m.group(1): i for i, ln in enumerate(LINE_END.split(text), 1) if (m := header.match(ln))}


def source_keys(text: str) -> list[str]:
    """The keys of a source cell ("A;B", spaces allowed around the ';')."""
    return [k.strip() for k in text.split(";")]


def _ungraded(sources: dict[str, Source] | None, numbers, issues: _Issues) -> None:
    """A number's grade is checked against its sources' grades, so a number needs at least
    one graded source; an ungraded one is reported once, at the source (an entity's list of
    sources, or a source cited beside a graded one, may go without)."""
    if sources is None:
        return
    alone: set[str] = set()
    beside: dict[str, set[str]] = defaultdict(set)  # ungraded keys cited only with other ungraded ones
    for n in numbers:
        keys = n.source_keys
        if all(k in sources and sources[k].grade is None for k in keys):
            if len(set(keys)) == 1:
                alone.update(k for k in keys if k not in issues.badly_graded)
            else:
                for k in keys:
                    beside[k].update(o for o in keys if o != k)
    lines = _source_lines(issues)
    for key in sorted(alone):
        issues.add("sources.toml", lines.get(key), f"[{key}] is the only source of some numbers, so it needs a grade: "
                                                   "A (a cohort with counts), B (a review or textbook) or C (an estimate)")
    # a source cited only beside other ungraded ones is not "the only source": it is said once, and
    # not at all when one it is cited with is already reported (grading that one mends both)
    said = alone | issues.badly_graded
    for key in sorted(set(beside) - said):
        if beside[key] & said:
            continue
        said.add(key)
        issues.add("sources.toml", lines.get(key), f"[{key}] has no grade, nor has {', '.join(sorted(beside[key]))}, "
                   "cited with it by some numbers: one of them needs a grade: "
                   "A (a cohort with counts), B (a review or textbook) or C (an estimate)")


def _entities(data: dict | None, sources: dict[str, Source], features: dict[str, Feature], issues: _Issues, *,
              check_sources: bool = True, check_syndromes: bool = True) -> tuple[Entity, ...]:
    """The entities of entities.toml (None: the file is missing or broken, already reported;
    ``check_sources`` or ``check_syndromes`` false: sources.toml or features.toml is, so what
    an entity cites or is associated with is not checked against it)."""
    name = "entities.toml"
    if data is None:
        return ()
    entities, seen = [], {}
    syndromes = set(features["syndrome"].values) if "syndrome" in features else set()
    lines = _table_lines(name, "entity", issues)
    for i, e in enumerate(data.get("entity", []), 1):
        try:
            where = f"[[entity]] #{i} {e.get('id', '?') if isinstance(e, dict) else '?'!r}"
            line = _line(lines, i)
            if not _fields(e, ENTITY_FIELDS, name, line, where, issues):
                continue
            try:
                entity = Entity(
                    id=e["id"],
                    name=e["name"],
                    compartment=e["compartment"],
                    dont_miss=e["dont_miss"],
                    mimic=e.get("mimic", False),
                    associations=tuple(e.get("associations", ())),
                    typical=e.get("typical", ""),
                    summary=e.get("summary", ""),
                    next_step=e.get("next_step", ""),
                    why=e.get("why", ""),
                    action=e.get("action", ""),
                    sources=tuple(e.get("sources", ())),
                    aliases=_aliases(e.get("aliases", ()), where, issues),
                )
            except KeyError as exc:
                issues.add(name, line, f"{where}: missing field {exc.args[0]!r}")
                continue
            if _id_refused(entity.id, "it is what batch, JSON and the flags name the entity by", name, line, where, issues):
                continue
            if entity.id in seen:
                first = seen[entity.id]
                issues.add(name, line, f"{where}: duplicate entity id{f' (line {first} is the first, which is kept)' if first else ''}")
                continue  # the first is kept: the copy's aliases are not each reported as another's
            seen[entity.id] = line
            if entity.compartment not in COMPARTMENTS:
                issues.add(name, _field_line(name, line, "compartment", issues), f"{where}: compartment "
                           f"{entity.compartment!r} is not one of {', '.join(COMPARTMENTS)}{_guess(entity.compartment, COMPARTMENTS)}")
            if entity.dont_miss and not entity.action:
                issues.add(name, line, f"{where}: a don't-miss entity needs an action")
            for key in entity.sources if check_sources else ():
                if key not in sources and key not in issues.rejected_sources:
                    issues.add(name, _field_line(name, line, "sources", issues), f"{where}: source {key!r} is not in sources.toml")
            for a in entity.associations if check_syndromes and "syndrome" not in issues.rejected_features else ():
                if a not in syndromes:
                    issues.add(name, line, f"{where}: association {a!r} is not a syndrome value")
            entities.append(entity)
        finally:
            if not isinstance(e, dict) or not isinstance(e.get("id"), str) or e["id"] not in seen:
                issues.reject(issues.rejected_entities, e)
    if not data.get("entity"):
        issues.unreadable(name, None, "defines no [[entity]]")
    _check_aliases(entities, issues, {e.id: _field_line(name, seen.get(e.id), "aliases", issues) for e in entities})
    return tuple(entities)


def _aliases(value: Any, where: str, issues: _Issues) -> tuple[str, ...]:
    """The aliases of one entity: a list of non-empty strings."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(a, str) and a.strip() and name_key(a) for a in value):
        issues.add("entities.toml", None, f"{where}: aliases must be a list of names (non-empty strings)")
        return ()
    return tuple(value)


def _check_aliases(entities: list[Entity], issues: _Issues, lines: dict[str, int | None] | None = None) -> None:
    """Each alias names one entity only: not given twice, not another entity's id or name
    (compared as the matcher compares them: case, punctuation and British spelling aside)."""
    owner: dict[str, str] = {}
    for e in entities:
        owner.setdefault(name_key(e.id), e.id)
        owner.setdefault(name_key(e.name), e.id)
    given: dict[str, str] = {}
    for e in entities:
        for alias in e.aliases:
            key = name_key(alias)
            where = f"[[entity]] {e.id!r}: alias {alias!r}"
            if key in given:
                issues.add("entities.toml", (lines or {}).get(e.id), f"{where} is also an alias of {given[key]!r}")
            elif owner.get(key, e.id) != e.id:
                issues.add("entities.toml", (lines or {}).get(e.id), f"{where} is the id or name of {owner[key]!r}")
            given.setdefault(key, e.id)


def _provenance(name: str, row: int, values: dict, sources: dict[str, Source] | None, issues: _Issues) -> bool:
    """Is the row's grade valid, and its source known and no better graded than it says?
    ``sources`` None: sources.toml could not be read (reported), so its keys are not checked."""
    ok = True
    if values["grade"] not in GRADES:
        issues.add(name, row, f"grade {values['grade']!r} is not A, B or C")
        ok = False
    keys = source_keys(values["source"])
    values["source"] = ";".join(keys)
    if sources is None:
        return ok
    missing = [k for k in keys if k not in sources]
    if missing or not all(keys):
        if not all(keys) or set(missing) - issues.rejected_sources:  # else: that source is reported
            issues.add(name, row, f"source {values['source']!r} is not in sources.toml")
        return False
    graded = [sources[k].grade for k in keys if sources[k].grade is not None]
    if graded and values["grade"] in GRADES and min(graded) != values["grade"]:
        issues.add(name, row, f"grade {values['grade']} differs from the best grade {min(graded)} of its sources")
        ok = False
    return ok


def _priors(folder, entity_ids: set[str] | None, sources, issues: _Issues) -> dict[str, Number]:
    """priors.csv. ``entity_ids`` None: entities.toml could not be read (reported), so rows are
    not matched against it and nothing is said to be missing."""
    name = "priors.csv"
    priors: dict[str, Number] = {}
    line_of: dict[str, int] = {}
    rows = _csv_rows(folder, name, ("entity", "probability", "source", "grade"), issues)
    if rows is None:
        return priors
    broken: set[str] = set()  # entities whose row is reported: nothing more is said of them
    readable = True  # every probability could be read, so their sum means something
    total = 0.0
    for row, r in rows:
        if r.get(BROKEN):
            broken.add(r.get("entity", ""))
            readable = False
            continue
        p = _probability(r["probability"], name, row, issues)
        if p is None:
            readable = False
        elif r["entity"] not in priors:
            total += p
        known = entity_ids is None or r["entity"] in entity_ids
        if not known and r["entity"] not in issues.rejected_entities:
            issues.add(name, row, f"entity {r['entity']!r} is not in entities.toml{_guess(r['entity'], entity_ids)}")
        if r["entity"] in priors:
            issues.add(name, row, f"entity {r['entity']!r} has a second prior (line {line_of[r['entity']]} is the first)")
            continue
        if _provenance(name, row, r, sources, issues) and p is not None and known:
            priors[r["entity"]] = Number(p, r["source"], r["grade"])
            line_of[r["entity"]] = row
        else:
            broken.add(r["entity"])
    if entity_ids is None:
        return priors
    missing = sorted(entity_ids - priors.keys() - broken)
    for entity in missing:
        issues.add(name, None, f"entity {entity!r} has no prior")
    if rows and readable and not missing and abs(total - 1) > SUM_TOLERANCE:
        issues.add(name, None, f"priors sum to {total:.4f}, not 1: a new or changed prior needs the others scaled "
                               "so that all of them sum to 1 (tools/import_evidence.py does it, keeping a new entity's)")
    return priors


def _guess(text: str, known) -> str:
    """'; did you mean X?' for a near miss among ``known``, else ''."""
    from ..findings import closest

    guess = closest(text, sorted(known))
    return f"; did you mean {guess!r}?" if guess else ""


def _new_value(name: str, row: int, key: tuple[str, str, str], values, line_of: dict, issues: _Issues) -> bool:
    """Is (owner, feature, value) a value of the feature not given before (``line_of``: the
    line of each one given)? If not, says why."""
    owner, fid, value = key
    if value not in values:
        issues.add(name, row, f"{fid} value {value!r} is not one of {', '.join(values)}")
        return False
    if key in line_of:
        issues.add(name, row, f"{owner} {fid}={value} is given twice (line {line_of[key]} is the first)")
        return False
    return True


def _lines(rows: list[int]) -> str:
    """' (lines 72-75)': where a group of rows lies, for a problem of the group as a whole."""
    if len(rows) < 2:
        return ""
    return f" (lines {min(rows)}-{max(rows)})"


def _likelihoods(folder, entity_ids: set[str] | None, features: dict[str, Feature] | None, sources, issues: _Issues):
    """likelihoods.csv. ``entity_ids`` or ``features`` None: that file could not be read
    (reported), so rows are not matched against it and nothing is said to be missing."""
    name = "likelihoods.csv"
    table: dict[tuple[str, str, str], Number] = {}
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    columns = ("entity", "feature", "value", "probability", "source", "grade")
    outcomes = {fid: f.outcomes for fid, f in (features or {}).items()}
    proven: set[tuple[str, str]] = set()  # (source, grade) pairs that passed _provenance
    invalid: set[tuple[str, str]] = set()  # (entity, feature) with a row already reported
    line_of: dict[tuple[str, str, str], int] = {}
    rows = _csv_rows(folder, name, columns, issues)
    if rows is None:
        return table
    if not rows:
        # one problem, not one for every entity and finding it leaves without numbers
        # named only from a features.toml without problems: one that has some may have dropped a
        # required finding, and a partial list would leave it out
        required = "" if issues.items_in("features.toml") else ", ".join(f.id for f in (features or {}).values() if f.required)
        issues.unreadable(name, None, "has no rows: every entity needs a probability for each value of the required "
                                      f"findings{f' ({required})' if required else ' of features.toml'}")
        return table
    unknown: dict[tuple[str, str], list[int]] = defaultdict(list)  # a name not known, and its rows
    for row, r in rows:
        entity, fid, value = r.get("entity", ""), r.get("feature", ""), r.get("value", "")
        if r.get(BROKEN):
            invalid.add((entity, fid))
            continue
        # a row of an entity or a finding whose table was rejected is still checked for
        # what does not depend on that table; only its name is not reported again
        r["source"] = ";".join(source_keys(r["source"]))
        known = entity_ids is None or entity in entity_ids
        if not known and entity not in issues.rejected_entities:
            unknown[("entity", entity)].append(row)
        values = outcomes.get(fid)
        if values is None and features is not None and fid not in issues.rejected_features:
            unknown[("feature", fid)].append(row)
        if values is not None:
            if not _new_value(name, row, (entity, fid, value), values, line_of, issues):
                invalid.add((entity, fid))
                continue
            line_of[(entity, fid, value)] = row
        p = _probability(r["probability"], name, row, issues)
        cited = (r["source"], r["grade"])
        proper = cited in proven or _provenance(name, row, r, sources, issues)
        if proper:
            proven.add(cited)
        if not known or values is None:
            continue
        if p is not None and proper:
            table[(entity, fid, value)] = Number(p, r["source"], r["grade"])
            rows_of[(entity, fid)].append(row)
        else:
            invalid.add((entity, fid))
    for (what, text), where in unknown.items():  # said once per name, not once per row
        known_names = entity_ids if what == "entity" else outcomes
        home = "entities.toml" if what == "entity" else "features.toml"
        count = f" ({len(where)} rows, lines {min(where)}-{max(where)})" if len(where) > 1 else ""
        issues.add(name, where[0], f"{what} {text!r} is not in {home}{_guess(text, known_names)}{count}")
    if entity_ids is None or features is None:
        return table
    for entity in sorted(entity_ids):
        for feature in features.values():
            values = outcomes[feature.id]
            if (entity, feature.id) in invalid:
                continue  # its bad row is reported; a missing value or a wrong sum would follow from it
            given = [o for o in values if (entity, feature.id, o) in table]
            if not given and not feature.required:
                continue
            missing = [o for o in values if o not in given]
            where = rows_of.get((entity, feature.id), [])
            if missing:
                issues.add(name, min(where, default=None), f"{entity} {feature.id}: no probability for {', '.join(missing)}{_lines(where)}")
                continue
            if feature.kind != "list":
                total = sum(table[(entity, feature.id, o)].probability for o in values)
                if abs(total - 1) > SUM_TOLERANCE:
                    issues.add(name, min(where, default=None), f"{entity} {feature.id}: values sum to {total:.4f}, not 1{_lines(where)}")
    return table


def _pictures(folder, features: dict[str, Feature] | None, sources, issues: _Issues):
    """pictures.csv: P(sign = value | picture) for the signs features.toml marks ``picture = true``.

    Returns (pictures, the signs in features.toml order, {(picture, sign, value): Number}).
    """
    name = "pictures.csv"
    signs = tuple(fid for fid, f in (features or {}).items() if f.picture)
    table: dict[tuple[str, str, str], Number] = {}
    first_row: dict[str, int] = {}
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    invalid: set[tuple[str, str]] = set()  # (picture, sign) with a row already reported
    line_of: dict[tuple[str, str, str], int] = {}
    rows = _csv_rows(folder, name, ("picture", "feature", "value", "probability", "source", "grade"), issues)
    if rows is None or features is None:
        return (), signs, table
    unknown: dict[str, list[int]] = defaultdict(list)  # a feature not known, and its rows
    for row, r in rows:
        picture, fid, value = r.get("picture", ""), r.get("feature", ""), r.get("value", "")
        if r.get(BROKEN):
            invalid.add((picture, fid))
            continue
        if not picture:
            issues.add(name, row, "picture is empty")
            continue
        first_row.setdefault(picture, row)
        if fid not in features:
            if fid not in issues.rejected_features:
                unknown[fid].append(row)
            _probability(r["probability"], name, row, issues)
            _provenance(name, row, r, sources, issues)
            continue
        if fid not in signs:
            issues.add(name, row, f"{fid} is not a picture sign: mark it picture = true in features.toml, or remove the row")
            continue
        if not _new_value(name, row, (picture, fid, value), features[fid].outcomes, line_of, issues):
            invalid.add((picture, fid))
            continue
        line_of[(picture, fid, value)] = row
        p = _probability(r["probability"], name, row, issues)
        if p is not None and _provenance(name, row, r, sources, issues):
            table[(picture, fid, value)] = Number(p, r["source"], r["grade"])
            rows_of[(picture, fid)].append(row)
        else:
            invalid.add((picture, fid))
    for fid, where in unknown.items():
        count = f" ({len(where)} rows, lines {min(where)}-{max(where)})" if len(where) > 1 else ""
        issues.add(name, where[0], f"feature {fid!r} is not in features.toml{_guess(fid, features)}{count}")
    pictures = tuple(first_row)
    if signs and not pictures:
        issues.add(name, None, f"gives no picture, but features.toml marks {', '.join(signs)} as picture signs")
    for picture in pictures:
        for fid in signs:
            if (picture, fid) in invalid:
                continue  # its bad row is reported; a missing value or a wrong sum would follow from it
            values = features[fid].outcomes
            where = rows_of.get((picture, fid), [])
            missing = [v for v in values if (picture, fid, v) not in table]
            if missing:
                issues.add(name, min(where, default=first_row[picture]), f"picture {picture} {fid}: no probability for {', '.join(missing)}{_lines(where)}")
                continue
            total = sum(table[(picture, fid, v)].probability for v in values)
            if abs(total - 1) > SUM_TOLERANCE:
                issues.add(name, min(where, default=None), f"picture {picture} {fid}: values sum to {total:.4f}, not 1{_lines(where)}")
    return pictures, signs, table


def _locations(folder, entity_ids: set[str] | None, pictures: tuple[str, ...], sources, issues: _Issues):
    """locations.csv: each listed entity's counted share of each picture.

    Returns ({entity: {picture: Number}} for the entities whose rows are all sound, the
    Numbers of every sound row, for the check of ungraded sources). ``entity_ids`` None:
    entities.toml could not be read (reported); no pictures, or a pictures.csv with problems
    (reported): the rows are checked alone, not for the pictures they leave out.
    """
    name = "locations.csv"
    given: dict[str, dict[str, Number]] = defaultdict(dict)
    rows_of: dict[str, list[int]] = defaultdict(list)
    line_of: dict[tuple[str, str], int] = {}
    unknown: dict[str, list[int]] = defaultdict(list)
    broken: set[str] = set()
    rows = _csv_rows(folder, name, ("entity", "picture", "share", "source", "grade"), issues)
    if rows is None:
        return {}, []
    pictures_sound = bool(pictures) and not any(i.path == "pictures.csv" for i in issues.items)
    for row, r in rows:
        entity, picture = r.get("entity", ""), r.get("picture", "")
        if r.get(BROKEN):
            broken.add(entity)
            continue
        rows_of[entity].append(row)
        if entity_ids is not None and entity not in entity_ids:
            if entity not in issues.rejected_entities:
                unknown[entity].append(row)
            broken.add(entity)
            continue
        if (entity, picture) in line_of:
            issues.add(name, row, f"{entity} {picture} is given twice (line {line_of[(entity, picture)]} is the first)")
            broken.add(entity)
            continue
        line_of[(entity, picture)] = row
        if pictures and picture not in pictures:
            issues.add(name, row, f"picture {picture!r} is not one of {', '.join(pictures)}")
            broken.add(entity)
            continue
        try:
            share = float(r["share"])
        except ValueError:
            share = math.nan
        if not 0 <= share <= 1:
            issues.add(name, row, f"share {r['share']!r} is not a number from 0 to 1")
            broken.add(entity)
            continue
        if not _provenance(name, row, r, sources, issues):
            broken.add(entity)
            continue
        given[entity][picture] = Number(share, r["source"], r["grade"])
    for entity, where in unknown.items():
        count = f" ({len(where)} rows, lines {min(where)}-{max(where)})" if len(where) > 1 else ""
        issues.add(name, where[0], f"entity {entity!r} is not in entities.toml{_guess(entity, entity_ids)}{count}")
    sound = [n for shares in given.values() for n in shares.values()]
    if entity_ids is None or not pictures_sound:
        return {}, sound
    out = {}
    for entity, shares in given.items():
        if entity in broken:
            continue  # its bad row is reported; a missing picture or a wrong sum would follow from it
        where = rows_of[entity]
        missing = [z for z in pictures if z not in shares]
        if missing:
            issues.add(name, min(where), f"{entity}: no share for {', '.join(missing)}{_lines(where)}")
            continue
        total = math.fsum(n.probability for n in shares.values())
        if abs(total - 1) > SUM_TOLERANCE:
            issues.add(name, min(where), f"{entity}: shares sum to {total:.4f}, not 1{_lines(where)}")
            continue
        out[entity] = {z: shares[z] for z in pictures}
    return out, sound


CONDITION_FIELDS = {"feature": TEXT, "is": TEXT, "below": NUMBER, "at_least": NUMBER}
#: The tests a condition makes; it makes exactly one.
TESTS = ("is", "below", "at_least")


def _conditions(table: dict, key: str, features, name: str, line: int | None, where: str,
                issues: _Issues) -> tuple[Condition, ...]:
    """The conditions under ``key`` (when, any or unless) of a rule or a disagreement of file
    ``name``, reported at their own line (``features`` None: features.toml is broken, nothing
    to check against)."""
    out = []
    line = _field_line(name, line, key, issues) if key in table else line
    for c in table.get(key, ()):
        if not _fields(c, CONDITION_FIELDS, name, line, f"{where}: a condition", issues):
            continue
        fid = c.get("feature")
        feature = (features or {}).get(fid)
        tests = [t for t in TESTS if t in c]
        if fid is None:
            issues.add(name, line, f"{where}: a condition is missing field 'feature'")
        elif feature is None:
            if features is not None and fid not in issues.rejected_features:
                issues.add(name, line, f"{where}: feature {fid!r} is not in features.toml{_guess(str(fid), features)}")
        elif len(tests) != 1:
            issues.add(name, line, f"{where}: a condition on {fid} needs one of is, below or at_least"
                                   + (f", not {' and '.join(tests)} (write one condition for each)" if tests else ""))
        elif "is" in c and c["is"] not in feature.values:
            issues.add(name, line, f"{where}: {fid} has no value {c['is']!r}{_guess(str(c['is']), feature.values)}")
        elif "is" in c and c["is"] == feature.exclusive:
            instead = "any" if key == "unless" else "unless"
            issues.add(name, line, f"{where}: {fid} is {c['is']!r} never holds ({c['is']!r} is read as no value given "
                                   f"at all): name the other values in {instead} instead")
        elif "is" not in c and feature.kind != "integer":
            issues.add(name, line, f"{where}: {tests[0]} is for an integer finding; {fid} is {feature.kind}: use is")
        else:
            out.append(Condition(feature=fid, is_=c.get("is"), below=c.get("below"), at_least=c.get("at_least")))
    return tuple(out)


def _tables(data: dict, table: str, name: str, fields: dict[str, str], issues: _Issues):
    """(number, table, where, line) for each [[table]] of ``data`` whose fields are known and of
    their types (the others are reported)."""
    lines = _table_lines(name, table, issues)
    for i, t in enumerate(data.get(table, []), 1):
        where = f"[[{table}]] #{i} {t.get('id', '?')!r}"
        line = _line(lines, i)
        if _fields(t, fields, name, line, where, issues):
            yield i, t, where, line


def _named_once(t: dict, texts: tuple[str, ...], use: str, seen: dict[str, int], i: int, name: str, line: int | None,
                where: str, issues: _Issues) -> bool:
    """Whether a table gives its texts (``texts``, its id among them), an id that is a lower-case
    word (``use``: what names it by the id) and the first of that id in its file."""
    return (_texts_given(t, texts, name, line, where, issues)
            and not _id_refused(t["id"], use, name, line, where, issues)
            and _unique(t["id"], seen, i, name, line, where, issues))


def _texts_given(table: dict, keys: tuple[str, ...], name: str, line: int | None, where: str, issues: _Issues) -> bool:
    """Whether each text field of ``keys`` is given and not blank (else says which is not)."""
    ok = True
    for key in keys:
        if key not in table:
            issues.add(name, line, f"{where}: missing field {key!r}")
            ok = False
        elif not table[key].strip():
            issues.add(name, _field_line(name, line, key, issues), f"{where}: {key} is empty")
            ok = False
    return ok


def _unique(ident: str, seen: dict[str, int], i: int, name: str, line: int | None, where: str, issues: _Issues) -> bool:
    """Whether ``ident`` is the first table of its id in the file (else says which one was)."""
    if ident in seen:
        issues.add(name, _field_line(name, line, "id", issues), f"{where}: the id is taken by #{seen[ident]}")
        return False
    seen[ident] = i
    return True


#: The fields a [[rule]] of flags.toml may have, and what each must be.
RULE_FIELDS = {
    "id": TEXT, "kind": TEXT, "message": TEXT, "action": TEXT, "when": TABLES, "any": TABLES, "unless": TABLES,
    "entities": TEXTS, "min_probability": NUMBER,
}
#: What a rule raises: an emergency (shown first) or a syndrome to screen for.
RULE_KINDS = ("emergency", "syndrome")


def _rules(data: dict, features, entity_ids, issues: _Issues) -> tuple[Rule, ...]:
    name = "flags.toml"
    rules, seen = [], {}
    for i, r, where, line in _tables(data, "rule", name, RULE_FIELDS, issues):
        if "kind" in r and r["kind"] not in RULE_KINDS:
            issues.add(name, _field_line(name, line, "kind", issues),
                       f"{where}: kind {r['kind']!r} is not one of {', '.join(RULE_KINDS)}{_guess(r['kind'], RULE_KINDS)}")
        unknown = [e for e in r.get("entities", ()) if entity_ids is not None and e not in entity_ids and e not in issues.rejected_entities]
        if unknown:
            issues.add(name, _field_line(name, line, "entities", issues), f"{where}: unknown entities {', '.join(unknown)}")
        if not 0 <= r.get("min_probability", 0.0) <= 1:
            issues.add(name, _field_line(name, line, "min_probability", issues), f"{where}: min_probability must be between 0 and 1")
        elif "min_probability" in r and not r.get("entities"):
            issues.add(name, _field_line(name, line, "min_probability", issues),
                       f"{where}: min_probability is the least summed probability of the rule's entities, and it names none")
        if not any(r.get(k) for k in ("when", "any", "entities")):
            issues.add(name, line, f"{where}: no condition in when or any and no entities: it would be raised on every "
                                   "case" + (" that does not meet its unless" if r.get("unless") else ""))
        conditions = {k: _conditions(r, k, features, name, line, where, issues) for k in ("when", "any", "unless")}
        if _named_once(r, ("id", "kind", "message", "action"), "the guide names the rule by it", seen, i, name, line, where, issues):
            rules.append(Rule(id=r["id"], kind=r["kind"], message=r["message"], action=r["action"], **conditions,
                              entities=tuple(r.get("entities", ())), min_probability=float(r.get("min_probability", 0.0))))
    if issues.items_in(name):
        pass  # missing, unreadable or broken already: what follows from it is not reported again
    elif not data.get("rule"):
        issues.unreadable(name, None, "defines no [[rule]]: the emergency and syndrome flags would all be gone")
    elif _compressed(features) and not any(_fires_on_compression(r) for r in rules):
        issues.add(name, None, "no emergency rule fires on cord = compressed alone: the cord-compression emergency "
                               "would never be raised (a [[rule]] of kind \"emergency\" with "
                               "when = [{ feature = \"cord\", is = \"compressed\" }])")
    return tuple(rules)


#: The fields a [[disagreement]] of disagreements.toml may have, and what each must be.
DISAGREEMENT_FIELDS = {"id": TEXT, "why": TEXT, "when": TABLES, "any": TABLES, "unless": TABLES}


def _disagreements(data: dict, features, issues: _Issues) -> tuple[Disagreement, ...]:
    """The findings that cannot both hold. Each holds only with two findings or more named: those
    of ``when`` and, when ``any`` is given, the one of it that holds (one finding cannot disagree
    with itself); ``why`` says why they cannot."""
    name = "disagreements.toml"
    out, seen = [], {}
    for i, d, where, line in _tables(data, "disagreement", name, DISAGREEMENT_FIELDS, issues):
        parts = {k: _conditions(d, k, features, name, line, where, issues) for k in ("when", "any", "unless")}
        if not d.get("when"):
            issues.add(name, line, f"{where}: when names no finding: a disagreement holds only with a finding given")
            continue
        given = {c.feature for c in parts["when"]}
        alone = [c.feature for c in parts["any"] if given <= {c.feature}] if parts["any"] else ([] if len(given) > 1 else sorted(given))
        sound = len(parts["when"]) == len(d["when"]) and len(parts["any"]) == len(d.get("any", ()))
        if features is not None and sound and alone:
            issues.add(name, line, f"{where}: it would hold with {alone[0]} alone: a disagreement is between two "
                                   "findings or more (when, and one of any)")
            continue
        if _named_once(d, ("id", "why"), "the knowledge base reference names the disagreement by it", seen, i, name, line, where, issues):
            out.append(Disagreement(id=d["id"], why=d["why"], **parts))
    return tuple(out)


def _compressed(features) -> bool:
    """Whether the findings read a compressed cord (the emergency the output promises)."""
    cord = features.get("cord") if features else None
    return cord is not None and "compressed" in cord.values


def _fires_on_compression(rule: Rule) -> bool:
    """Whether an emergency rule is raised by a compressed cord whatever else is known."""
    return (rule.kind == "emergency" and not rule.entities and not rule.unless and not rule.any
            and [(c.feature, c.is_) for c in rule.when] == [("cord", "compressed")])


def _settings(data: dict, issues: _Issues) -> Settings | None:
    limits = {
        "prior_flattening": (0, 1),
        "smoothing": (0, 0.5),
        "picture_floor": (0, 0.2),
        "clamp": (0, 0.1),
        "temperature": (0.1, 10),
        "dont_miss_floor": (0, 0.5),
        "reason_min_ratio": (1, 100),
        "conflict_ratio": (1, 1000),
        "misplaced": (0.001, 0.5),
    }
    def at(key: str) -> int | None:
        return _field_line("model.toml", 0, key, issues) or None

    for key in sorted(set(data) - set(limits)):
        issues.add("model.toml", at(key), f"{key} is not a setting{_guess(key, limits)} (known: {', '.join(limits)})")
    values = {}
    for key, (lo, hi) in limits.items():
        v = data.get(key)
        if v is None:
            issues.add("model.toml", None, f"{key} is missing: give it a number in [{lo}, {hi}] (the packaged model.toml says why each has its value)")
        elif not isinstance(v, (int, float)) or not lo <= v <= hi:
            issues.add("model.toml", at(key), f"{key} must be a number in [{lo}, {hi}] (found {v!r})")
        else:
            values[key] = float(v)
    return Settings(**values) if len(values) == len(limits) else None


def _population(folder) -> str:
    """The comment paragraph of priors.csv that starts 'Reference population' (the whole
    leading comment of a file that has none)."""
    text = (folder / "priors.csv").read_text(encoding="utf-8-sig")
    lines = [ln[1:].strip() for ln in LINE_END.split(text) if ln.startswith("#")]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("Reference population")), None)
    if start is None:
        return " ".join(ln for ln in lines if ln)
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return " ".join(lines[start:end])


def _root(folder: str | os.PathLike[str] | None):
    """The folder of the knowledge files: the packaged one, or ``folder``, which must be one (one
    problem, not every knowledge file reported missing from a folder that is not there)."""
    if folder is None:
        return resources.files("ddx.knowledge")
    root = Path(folder)
    if not str(folder).strip() or not root.is_dir():
        # an empty name would be read as the current folder
        problem = "is not a folder" if root.exists() and str(folder).strip() else "does not exist"
        raise KnowledgeError([KnowledgeIssue(str(folder), None, f"{problem}: give the folder that holds the knowledge files")])
    return root


def load_knowledge(folder: str | os.PathLike[str] | None = None, *, model: Mapping[str, float] | None = None) -> Knowledge:
    """Load and validate the knowledge base (the packaged one unless a folder is given).

    ``model`` overrides settings of model.toml (validated like the file's own),
    for experiments such as the temperature scan of benchmarks/accuracy.py.
    Raises KnowledgeError listing every problem found.
    """
    root = _root(folder)
    issues = _Issues()
    # A file that cannot be read at all is reported once; the checks against it are skipped
    # (None) rather than every row that names it being reported again.
    feature_data = _toml(root, "features.toml", issues)
    features = _features(feature_data, issues)
    sources = _sources(_toml(root, "sources.toml", issues), issues)
    entity_data = _toml(root, "entities.toml", issues)
    entities = _entities(entity_data, sources or {}, features, issues, check_sources=sources is not None,
                         check_syndromes="features.toml" not in issues.unread)
    entity_ids = {e.id for e in entities} if "entities.toml" not in issues.unread else None
    known_features = features if "features.toml" not in issues.unread else None
    priors = _priors(root, entity_ids, sources, issues)
    likelihoods = _likelihoods(root, entity_ids, known_features, sources, issues)
    pictures, signs, rates = _pictures(root, known_features, sources, issues)
    counted, located = _locations(root, entity_ids, pictures, sources, issues)
    rules = _rules(_toml(root, "flags.toml", issues) or {}, known_features, entity_ids, issues)
    disagreements = _disagreements(_toml(root, "disagreements.toml", issues) or {}, known_features, issues)
    data = _toml(root, "model.toml", issues)
    settings = _settings({**data, **(model or {})}, issues) if data is not None else None
    numbers = [*priors.values(), *likelihoods.values(), *rates.values(), *located]
    _ungraded(sources, numbers, issues)
    # every key a row or an entity names counts as cited, whether or not that row was sound
    used = issues.cited | {k for e in (entity_data or {}).get("entity", []) if isinstance(e.get("sources"), list)
                           for k in e["sources"] if isinstance(k, str)}
    citing = {"entities.toml", "priors.csv", "likelihoods.csv", "pictures.csv", "locations.csv"}
    if sources is not None and not issues.unread & citing:
        lines = _source_lines(issues)
        for key in sorted(set(sources) - used):
            issues.add("sources.toml", lines.get(key), f"[{key}] is not cited by any number or entity")
    _check_within(features, pictures, signs, feature_data, issues)
    if settings is not None and len(pictures) * settings.picture_floor >= 1:
        issues.add("model.toml", None, f"picture_floor {settings.picture_floor:g} times {len(pictures)} pictures "
                                       "leaves nothing to fit: lower it")
    if issues.items:
        raise KnowledgeError(issues.items)
    prior, log_prior, tables, bases, implied = log_tables(features, entities, priors, likelihoods, settings)
    shares, joint, within = picture_model(features, entities, likelihoods, settings, pictures, signs, rates, counted)
    add_within(tables, features, signs, within)
    for fid in signs:  # a sign read alone: what the picture model makes of it
        for v in features[fid].outcomes:
            tables[(fid, v)] = joint[tuple(v if f == fid else None for f in signs)]
    if score_bound(features, log_prior, tables, signs, joint) >= SCORE_LIMIT:
        raise KnowledgeError([KnowledgeIssue("model.toml", None, f"scores could reach {SCORE_LIMIT:g} nats, beyond exact "
                                                                 "arithmetic: raise the clamp")])
    return Knowledge(
        features=features,
        entities=entities,
        sources=sources,
        priors=priors,
        likelihoods=likelihoods,
        rules=rules,
        settings=settings,
        population=_population(root),
        log_prior=log_prior,
        prior=prior,
        log_tables=tables,
        base_rates=bases,
        pictures=pictures,
        picture_signs=signs,
        picture_rates=rates,
        picture_shares=shares,
        locations=counted,
        picture_tables=joint,
        implied_tables=implied,
        within_tables=within,
        disagreements=disagreements,
    )


def load_features(folder: str | os.PathLike[str] | None = None) -> dict[str, Feature]:
    """Only the feature schema (cheap: the CLI builds its options from it)."""
    root = _root(folder)
    issues = _Issues()
    features = _features(_toml(root, "features.toml", issues), issues)
    if issues.items:
        raise KnowledgeError(issues.items)
    return features


#: kb check notes a picture sign number the fitted picture mixture departs from by this much.
MISFIT = 0.2


def picture_misfits(kb: Knowledge, threshold: float = MISFIT) -> list[tuple[str, str, str, float, float]]:
    """(entity, sign, value, table number, picture model) where the mixture of pictures (fitted,
    or counted in locations.csv) departs from an entity's own sign number by at least
    ``threshold``: numbers to review."""
    rate = picture_rates(kb.features, kb.settings, kb.pictures, kb.picture_signs, kb.picture_rates)
    out = []
    for e, shares in zip(kb.entities, kb.picture_shares):
        for (fid, v), r in rate.items():
            table = kb.likelihoods[(e.id, fid, v)].probability
            model = math.fsum(w * x for w, x in zip(shares, r))
            if abs(model - table) >= threshold:
                out.append((e.id, fid, v, table, model))
    return out


def idle_findings(kb: Knowledge) -> list[tuple[str, int]]:
    """(finding, entities with numbers for it) for a finding given for fewer than two entities.
    An entity without a number for a finding gets the rate of those with one, so such a
    finding never moves the posterior: most likely a new finding whose numbers are not in yet."""
    given = {(e, f) for e, f, _ in kb.likelihoods}
    counts = [(fid, sum((e.id, fid) in given for e in kb.entities)) for fid in kb.features]
    return [(fid, n) for fid, n in counts if n < 2]


def all_numbers(kb: Knowledge) -> list:
    """Every number of a loaded knowledge base: priors, likelihoods, pictures and counted locations."""
    located = [n for shares in kb.locations.values() for n in shares.values()]
    return [*kb.priors.values(), *kb.likelihoods.values(), *kb.picture_rates.values(), *located]


def summary(kb: Knowledge) -> str:
    """One line describing a valid knowledge base."""
    grades = defaultdict(int)
    numbers = all_numbers(kb)
    for n in numbers:
        grades[n.grade] += 1
    graded = ", ".join(f"{g} {grades[g]}" for g in GRADES)
    return (
        f"knowledge base OK: {len(kb.entities)} entities, {len(kb.features)} findings, "
        f"{len(kb.pictures)} compartment pictures, {len(numbers)} numbers (grade {graded}), {len(kb.sources)} sources"
    )
