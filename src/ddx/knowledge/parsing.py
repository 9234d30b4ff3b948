"""Reading the knowledge files: text, TOML and CSV rows, the type of each field, and the line
of every problem, collected (Issues) so that a curator mends them all in one pass."""

from __future__ import annotations

import re
from typing import Any

from ..errors import KnowledgeIssue


class Issues:
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
        # source keys a row cites that sources.toml lacks, with the (file, line) of each such row:
        # said once a key, when every table is read (citations.report_unknown_sources)
        self.unknown_sources: dict[str, list[tuple[str, int]]] = {}

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


def read_text(folder, name: str, issues: Issues) -> str | None:
    """The file's text (a byte-order mark, which Excel and some editors write, dropped)."""
    try:
        data = (folder / name).read_bytes()
    except FileNotFoundError:
        issues.unreadable(name, None, "file is missing" + OPTIONAL_CONTENT.get(name, ""))
        return None
    except IsADirectoryError:
        issues.unreadable(name, None, "is a folder, not a file")
        return None
    except OSError as exc:
        issues.unreadable(name, None, f"cannot be read: {exc.strerror or exc}")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
            issues.unreadable(name, None, "is UTF-32 text: save it as UTF-8")
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            issues.unreadable(name, None, "is UTF-16 text: save it as UTF-8")
        else:
            issues.unreadable(name, data.count(b"\n", 0, exc.start) + 1,
                              f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on this line): save it as UTF-8")
        return None
    issues.texts[name] = text
    return text


#: The last parse of each TOML file by name, with its text: the CLI reads
#: features.toml for its options and again with the whole knowledge base.
_PARSED: dict[str, tuple[str, dict[str, Any]]] = {}

#: The version of features.toml this ddx reads.
SCHEMA_VERSION = 1

#: The tables each TOML file may hold at its top level (a misspelt [[rules]] would
#: otherwise leave the file without its rules, and load).
TOP_LEVEL = {
    "features.toml": {"feature": "a list of [[feature]] tables", "schema_version": None},
    "entities.toml": {"entity": "a list of [[entity]] tables"},
    "flags.toml": {"rule": "a list of [[rule]] tables"},
    "disagreements.toml": {"disagreement": "a list of [[disagreement]] tables", "advice": "a list of [[advice]] tables"},
}


def read_toml(folder, name: str, issues: Issues) -> dict[str, Any] | None:
    """The parsed file, or None (with an issue) when it is missing, not valid TOML, or
    holds something else at its top level than it may."""
    text = read_text(folder, name, issues)
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
    except RecursionError:
        issues.unreadable(name, None, "is not valid TOML here: its arrays or tables are nested too deep to read")
        return None


def _top_level(name: str, data: dict[str, Any], issues: Issues) -> dict[str, Any] | None:
    """``data``, or None (the file counts as unreadable) when a top-level key is unknown or
    a list of tables is not one."""
    allowed = TOP_LEVEL.get(name)
    if allowed is None:
        return data
    ok = True
    for key, value in data.items():
        if key not in allowed:
            issues.add(name, None, f"unknown top-level key {key!r}{guess(key, allowed)} (known: {', '.join(allowed)})")
            ok = False
        elif key == "schema_version" and not (type(value) is int and value == SCHEMA_VERSION):
            issues.add(name, field_line(name, 0, key, issues) or None, f"schema_version must be {SCHEMA_VERSION}, the version of "
                                                              f"features.toml this ddx reads (found {value!r})")
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


def csv_rows(folder, name: str, columns: tuple[str, ...], issues: Issues) -> list[tuple[int, dict]] | None:
    """Data rows with their physical line numbers ('#' lines are comments), or None when the
    file cannot be read at all (missing, no header): then nothing can be said about what it lacks.
    A row of the wrong width is reported and returned with ``BROKEN`` set, so that the checks of
    what is missing pass over what that row was about."""
    text = read_text(folder, name, issues)
    if text is None:
        return None
    numbered = [(i, line) for i, line in enumerate(LINE_END.split(text), 1) if line.strip() and not line.startswith("#")]
    if not numbered:
        issues.unreadable(name, None, "has no header row")
        return None
    import csv

    # each line is read on its own: a row is one line, so a quote left open cannot swallow the
    # lines after it, and every problem is reported at the line an editor shows
    if len(numbered[0][1]) > LONGEST_ROW:
        issues.unreadable(name, numbered[0][0], f"the header is longer than {LONGEST_ROW:,} characters")
        return None
    try:
        header = next(csv.reader([numbered[0][1]]))
    except csv.Error as exc:
        issues.unreadable(name, numbered[0][0], f"the header cannot be read as CSV: {exc}")
        return None
    if tuple(h.strip() for h in header) != columns:
        issues.unreadable(name, numbered[0][0], f"header must be {','.join(columns)} (found {','.join(header)})")
        return None
    width = len(columns)
    rows = []
    at = columns.index("source") if "source" in columns else None
    for lineno, line in numbered[1:]:
        problem = f"the line is longer than {LONGEST_ROW:,} characters" if len(line) > LONGEST_ROW else None
        try:
            cells = next(csv.reader([line])) if problem is None else []
        except csv.Error as exc:
            problem = f"cannot be read as CSV: {exc}"
        if problem:
            issues.add(name, lineno, problem)
            rows.append((lineno, {BROKEN: True}))
            continue
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


def read_number(text: str) -> float | None:
    """The number a cell holds, as a reader sees it: None for text that is none, and for what
    Python alone would take for one (``0.01_36``)."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


#: No row of a knowledge table is longer (the csv module's own default limit of a cell, which a
#: batch run in the same process raises: the knowledge base is read alike whatever ran before).
LONGEST_ROW = 131_072

#: The key marking a row whose cells could not be read (already reported).
BROKEN = "\0broken"


def read_probability(text: str, name: str, row: int, issues: Issues) -> float | None:
    """The number of a probability cell, strictly between 0 and 1, or None (reported)."""
    p = read_number(text)
    if p is None:
        issues.add(name, row, f"probability {text!r} is not a number")
        return None
    if not 0 < p < 1:
        issues.add(name, row, f"probability {p} is not strictly between 0 and 1")
        return None
    return p


#: What a field of a TOML table (a [[feature]], an [[entity]], a rule...) may be. Each file's
#: module lists its tables' fields with one of these (check_fields): a field that is not
#: listed is a typo (next_stpe), and a value of the wrong type would otherwise be read as
#: something else (dont_miss = "false" is true to Python). None: checked where it is read,
#: with a message of its own.
TEXT, FLAG, NUMBER, WHOLE, TEXTS, TABLE, MAPPING, TABLES, BANDS = (
    "text", "true or false", "a number", "a whole number", "a list of texts", "a table of texts", "a table",
    "a list of tables", "a list of [low, high] whole-number pairs (the last may be [low] alone)",
)


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


def check_fields(table: Any, fields: dict[str, str], name: str, line: int | None, where: str, issues: Issues) -> bool:
    """Does a table (a [[feature]], an [[entity]], a rule, a condition...) have only known fields,
    each of its type? Says why not."""
    if not isinstance(table, dict):
        issues.add(name, line, f"{where}: is not a table")
        return False
    ok = True
    for key, value in table.items():
        kind = fields.get(key, "")
        if key not in fields:
            issues.add(name, field_line(name, line, key, issues), f"{where}: unknown field {key!r}{guess(key, fields)} "
                                                                    f"(known: {', '.join(fields)})")
            ok = False
        elif kind is not None and not _is(value, kind):
            issues.add(name, field_line(name, line, key, issues), f"{where}: {key} must be {kind} (found {value!r})")
            ok = False
    return ok


def field_line(name: str, table_line: int | None, key: str, issues: Issues) -> int | None:
    """The line of ``key = ...`` (or a dotted ``key.part = ...``, or the key in quotes) in the TOML
    table starting at ``table_line`` (else that line)."""
    if table_line is None:
        return None
    lines = LINE_END.split(issues.texts.get(name, ""))
    field = re.compile(r"""\s*(["']?)""" + re.escape(key) + r"\1\s*[.=]")
    for i in range(table_line, len(lines)):  # the lines after the header, up to the next table
        if lines[i].lstrip().startswith("["):
            break
        if field.match(lines[i]):
            return i + 1
    return table_line


def table_lines(name: str, table: str, issues: Issues) -> list[int | None]:
    """The line of each [[table]] header of a parsed TOML file, in order (for messages)."""
    text = issues.texts.get(name, "")
    header = re.compile(r"\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
    return [i for i, line in enumerate(LINE_END.split(text), 1) if header.match(line)]


def nth_line(lines: list[int | None], i: int) -> int | None:
    """The line of table number ``i`` (from 1) of ``lines``, or None past their end."""
    return lines[i - 1] if 0 < i <= len(lines) else None


#: An id: a finding's is a column name and, with "_" turned into "-", an option of assess and guide;
#: an entity's is what the outputs name it by (batch's ';'-joined dont_miss column); a rule's and
#: a disagreement's are what the guide and the reference name them by. All are lower-case words
#: of letters and digits joined by "_", starting with a letter.
ID = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def valid_tables(data: dict, table: str, name: str, fields: dict[str, str], issues: Issues,
                 rejected: set[str] | None = None):
    """(number, table, where, line) for each [[table]] of ``data``, its fields checked first.

    An unknown field is reported and the rest of the table is still checked, so that every
    problem of an entry is said at once (a base with any problem does not load); a misspelt
    field (``dont_mis``) is read as the one it is the misspelling of, so that field is not also
    reported missing. A table with a field of the wrong type (whose absence would be reported
    again as a consequence) or a value that is no table is reported and its id added to
    ``rejected``, so that what names it is not reported again."""
    lines = table_lines(name, table, issues)
    for i, t in enumerate(data.get(table, []), 1):
        where = f"[[{table}]] #{i} {t.get('id', '?') if isinstance(t, dict) else '?'!r}"
        line = nth_line(lines, i)
        if check_fields(t, fields, name, line, where, issues):
            yield i, t, where, line
        elif isinstance(t, dict) and all(fields[k] is None or _is(v, fields[k]) for k, v in t.items() if k in fields):
            yield i, _known_fields(t, fields), where, line
        elif rejected is not None:
            issues.reject(rejected, t)


def _known_fields(table: dict, fields: dict[str, str]) -> dict:
    """A table's known fields, and a misspelt one under the name it is the misspelling of (when
    that name is not given too and the value is of its type), so that it is not also missing."""
    from ..spelling import closest

    kept = {k: v for k, v in table.items() if k in fields}
    for key, value in table.items():
        meant = None if key in fields else closest(key, sorted(fields))
        if meant and meant not in table and (fields[meant] is None or _is(value, fields[meant])):
            kept[meant] = value
    return kept


def id_refused(ident: str, use: str, name: str, line: int | None, where: str, issues: Issues) -> bool:
    """Whether an id is not lower-case words of letters and digits joined by '_' (then reported,
    at its field's line, with what the id is used as)."""
    if ID.fullmatch(ident):
        return False
    issues.add(name, field_line(name, line, "id", issues),
               f"{where}: id must be a lower-case word of letters and digits joined by '_', starting with a letter ({use})")
    return True


def guess(text: str, known) -> str:
    """'; did you mean X?' for a near miss among ``known``, else ''."""
    from ..spelling import closest

    guess = closest(text, sorted(known))
    return f"; did you mean {guess!r}?" if guess else ""


def source_keys(text: str) -> list[str]:
    """The keys of a source cell ("A;B", spaces allowed around the ';')."""
    return [k.strip() for k in text.split(";")]
