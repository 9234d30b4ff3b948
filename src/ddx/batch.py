"""Batch: a CSV of findings in, exactly one result per data row out, in input order.

Reading streams: memory does not grow with the number of rows. A row that
cannot be read becomes an error record naming its row number, the physical
line, the column, the value and the fix, and the batch goes on; a problem
with the file as a whole (no header, an unknown or duplicated column) stops
it before anything is written (BatchError). Output to a file is atomic.

The CSV format needs only the posterior and the don't-miss flags, so it uses
a fast path (_Packed) that reproduces engine.posterior bit for bit; NDJSON
and JSON carry the full assessment (reasons, flags, next findings) from
engine.assess, exactly as `ddx assess --format json` does.
"""

from __future__ import annotations

import array
import codecs
import csv
import io
import math
import os
import re
import sys
import tempfile
from collections import deque
from contextlib import contextmanager
from functools import partial, reduce
from itertools import repeat
from operator import add, itemgetter, sub, truediv
from typing import Any, Callable, Iterator, TextIO

import attrs

from . import engine, render
from .assessment import TOLERANCE
from .errors import DdxError, FindingError
from .findings import CASE_ID, Findings, closest, normalise_column, parse_value, quoted
from .knowledge import COMPARTMENTS, Feature, Knowledge, default_knowledge
from .knowledge.loader import SCORE_BITS, quantise

FORMATS = ("csv", "ndjson", "json")
DEFAULT_ENCODING = "utf-8-sig"
#: A cell larger than this is taken for a quote that is never closed (the csv
#: module's own limit, 128 KiB, would reject honest long notes).
FIELD_LIMIT = 64 * 1024 * 1024
#: Distinct cell texts remembered per column (and cell combinations per
#: block of columns); past this, values are parsed again, so memory stays flat.
CACHE_LIMIT = 4096
#: Columns are summed in blocks whose cells take about this many combinations.
BLOCK_COMBINATIONS = 512
PROGRESS_EVERY = 1000
SNIFFED = (";", "\t")


class BatchError(DdxError):
    """The input as a whole cannot be read: nothing is assessed (exit 2)."""


@attrs.frozen
class RowError:
    """A data row that could not be read: where it is, what was wrong, and the fix."""

    row: int
    line: int
    column: str | None
    value: str | None
    message: str
    case_id: str | None = None
    passthrough: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        """'row 3', or 'row 3 (line 7)' when the physical line is not the row plus the header."""
        return f"row {self.row}" if self.line == self.row + 1 else f"row {self.row} (line {self.line})"

    @property
    def text(self) -> str:
        """The message, naming the physical line where it differs from the row number."""
        return self.message if self.line == self.row + 1 else f"{self.message} (line {self.line})"


class StrictStop(DdxError):
    """--strict: the first row that could not be read ends the batch (exit 1)."""

    def __init__(self, error: RowError, written: int):
        self.error = error
        self.written = written
        super().__init__(f"{error.where}: {error.message}")


@attrs.frozen
class Summary:
    """What a batch did: rows read, assessed and failed, and the first failure."""

    read: int
    assessed: int
    failed: int
    first_error: RowError | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def line(self) -> str:
        text = f"{self.read} row{'' if self.read == 1 else 's'} read, {self.assessed} assessed, {self.failed} failed"
        if not self.read:
            text += " (the input has a header but no data rows)"
        elif self.first_error is not None:
            e = self.first_error
            text += f"; first failure: {e.where}: {e.message}"
        return text


# -- input ------------------------------------------------------------------


@attrs.frozen
class Input:
    """An opened input: its text, the binary stream below it, its size when known."""

    name: str
    text: TextIO
    binary: Any
    size: int | None
    encoding: str

    def position(self) -> int | None:
        try:
            return self.binary.tell()
        except (OSError, ValueError, AttributeError):
            return None

    def close(self) -> None:
        if self.name != "-":
            self.text.close()
        else:
            self.text.detach()


def check_encoding(encoding: str) -> str:
    """The codec's canonical name, or BatchError naming the bad encoding."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise BatchError(f"unknown encoding {encoding!r}: try utf-8, latin-1, cp1252 or utf-16") from None


def open_input(path: str, encoding: str = DEFAULT_ENCODING) -> Input:
    """Open a file (or '-' for standard input) as text, keeping undecodable bytes for a per-row error."""
    check_encoding(encoding)
    if path == "-":
        if sys.stdin is None:
            raise BatchError("cannot read standard input: it is closed; pass the CSV as a file or pipe it in")
        binary = sys.stdin.buffer
        size = None
    else:
        try:
            binary = open(path, "rb")
        except OSError as exc:
            raise BatchError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            size = os.fstat(binary.fileno()).st_size
        except OSError:
            size = None
    text = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline="")
    return Input(name=path, text=text, binary=binary, size=size, encoding=encoding)


def _readable(text: str) -> str:
    """Text with undecodable bytes and NUL written as \\xNN, safe to print and to write as UTF-8."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _shown(text: str) -> str:
    """A cell's text in quotes for a message, unreadable bytes written as escapes."""
    return f"'{_readable(text)}'"


def _encoding_label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return "UTF-8" if name in ("utf-8", "utf-8-sig") else encoding


def _text_problem(text: str, encoding: str) -> str | None:
    """Why a cell's text cannot be taken as it is (a NUL byte, bytes the encoding cannot read), or None."""
    if "\x00" in text:
        return "contains a NUL byte: the file is not plain text (if it is UTF-16, pass --encoding utf-16)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return (
                f"is not valid {_encoding_label(encoding)} text; if the file was saved in another encoding, "
                "pass it with --encoding (for example --encoding latin-1 or cp1252)"
            )
    return None


class _Records:
    """CSV records with their physical line numbers; a record the csv module rejects is
    reported and reading resumes on the line after its first one, so one bad quote
    cannot swallow the rest of the file."""

    def __init__(self, text: TextIO, delimiter: str):
        self._it = iter(text)
        self._pending: deque[str] = deque()
        self._buf: list[str] = []
        self._delimiter = delimiter
        self.consumed = 0
        self._reader = self._new_reader()

    def first_line(self) -> str | None:
        """Peek at the first line that is not blank (to sniff the delimiter); None for an empty input."""
        for line in self._it:
            self._pending.append(line)
            if line.strip("\ufeff \t\r\n"):
                return line
        return None

    @property
    def delimiter(self) -> str:
        return self._delimiter

    def set_delimiter(self, delimiter: str) -> None:
        self._delimiter = delimiter
        self._reader = self._new_reader()

    def _lines(self) -> Iterator[str]:
        buf, pending = self._buf, self._pending
        while pending:
            line = pending.popleft()
            buf.append(line)
            yield line
        for line in self._it:
            buf.append(line)
            yield line

    def _new_reader(self):
        return csv.reader(self._lines(), delimiter=self._delimiter, strict=True)

    def __iter__(self) -> Iterator[tuple[int, list[str] | _BadRecord]]:
        """(first physical line, cells), or (line, _BadRecord) for a record that is not valid CSV."""
        buf = self._buf
        reader = self._reader
        while True:
            buf.clear()
            line = self.consumed + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._pending.extendleft(reversed(buf[1:]))
                self.consumed += 1
                reader = self._reader = self._new_reader()
                yield line, _BadRecord(_csv_problem(str(exc), self._delimiter), buf[0] if buf else "")
                continue
            self.consumed += len(buf)
            yield line, cells


@attrs.frozen
class _BadRecord:
    """A record the csv module rejected: why, and its first physical line."""

    reason: str
    first_line: str

    def cells(self, delimiter: str) -> list[str]:
        """The first line read leniently, to show the case id of the row."""
        try:
            return next(csv.reader([self.first_line], delimiter=delimiter), [])
        except csv.Error:
            return []


def _csv_problem(reason: str, delimiter: str) -> str:
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    if "unexpected end of data" in reason:
        return "a quote opened on this line is never closed; close it, or remove the stray quote (the lines after it were read on their own)"
    if "expected after" in reason:
        return f"text follows a closing quote before the next {sep}; quote the whole value and double any quote inside it (\"\")"
    if "field larger than field limit" in reason:
        return f"a value is larger than {FIELD_LIMIT // (1024 * 1024)} MiB, most likely a quote that is never closed; close it (the lines after it were read on their own)"
    return f"the line is not valid CSV ({reason})"


# -- the header ---------------------------------------------------------------


@attrs.frozen
class Layout:
    """What each column of the header is: a finding, the case id, passed through, or unnamed."""

    header: tuple[str, ...]
    features: tuple[tuple[int, Feature], ...]
    case_index: int | None
    passthrough: tuple[int, ...]
    unnamed: tuple[int, ...]

    @property
    def passthrough_names(self) -> tuple[str, ...]:
        return tuple(self.header[i] for i in self.passthrough)


def read_layout(header: list[str], kb: Knowledge, passthrough: tuple[str, ...] = (), *, name: str = "the input") -> Layout:
    """Check the header row and map its columns; BatchError for a problem with the whole file."""
    header = list(header)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if header and header[0].startswith(("\udcff\udcfe", "\udcfe\udcff")):
        raise BatchError(f"{name} is UTF-16 (Excel 'Unicode Text'): pass --encoding utf-16, or save it as 'CSV UTF-8'")
    for cell in header:
        if "\x00" in cell:
            raise BatchError(
                f"{name}: the header contains NUL bytes, so the file is not UTF-8 text; if it is UTF-16 "
                "(Excel 'Unicode Text'), pass --encoding utf-16, or save it as 'CSV UTF-8'"
            )
        if _text_problem(cell, "utf-8"):
            raise BatchError(
                f"{name}: the header is not valid text in this encoding ({_readable(cell)!r}); "
                "pass the file's encoding with --encoding (for example --encoding latin-1 or cp1252)"
            )
    keys = [normalise_column(h) for h in header]
    keep = {normalise_column(p): p for p in passthrough}
    known = set(kb.features) | {CASE_ID}
    if not any(k in known or k in keep for k in keys if k):
        shown = ", ".join(repr(h) for h in header[:3]) + (", ..." if len(header) > 3 else "")
        raise BatchError(
            f"{name}: the first line is not a header: none of its cells ({shown}) names a column; "
            "the first line must name the columns (case_id, age, sex, ...); `ddx template` writes it"
        )
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if not k:
            continue
        if k in seen:
            raise BatchError(
                f"{name}: column {header[i]!r} appears twice in the header (columns {seen[k] + 1} and {i + 1}); "
                "remove or rename one"
            )
        seen[k] = i
    unknown = [i for i, k in enumerate(keys) if k and k not in known and k not in keep]
    if unknown:
        parts = []
        for i in unknown:
            guess = closest(keys[i], sorted(known))
            parts.append(f"{header[i]!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
        raise BatchError(
            f"{name}: unknown column{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
            "see `ddx features` for the columns, or keep a column as it is with --passthrough NAME"
        )
    missing = [p for k, p in keep.items() if k not in seen]
    if missing:
        raise BatchError(f"--passthrough {missing[0]}: there is no such column in the header of {name}")
    clash = [p for k, p in keep.items() if k in render.CSV_COLUMNS or re.fullmatch(r"(candidate|probability)_\d+", k)]
    if clash:
        raise BatchError(f"--passthrough {clash[0]}: it would clash with the output column of that name; the output already has it")
    return Layout(
        header=tuple(header),
        features=tuple((i, kb.features[k]) for i, k in enumerate(keys) if k in kb.features),
        case_index=seen.get(CASE_ID),
        passthrough=tuple(i for i, k in enumerate(keys) if k in keep),
        unnamed=tuple(i for i, k in enumerate(keys) if not k),
    )


def sniff_delimiter(first_line: str) -> str:
    """',' unless the header has no comma but a ';' (spreadsheets in many locales) or a tab."""
    if "," in first_line:
        return ","
    for d in SNIFFED:
        if d in first_line:
            return d
    return ","


# -- the fast path ------------------------------------------------------------


class _Packed:
    """engine.posterior, bit for bit, at a fraction of the cost.

    Every number of a score is a multiple of 2**-SCORE_BITS, so scaled by
    2**SCORE_BITS it is an exact integer, and every score stays below
    2**52 such units. Each entity's (negated) integer sits in its own 64-bit
    lane of one Python int, so a single integer addition adds a finding to
    every entity at once, exactly, without carrying into the next lane.

    Each lane is laid out as the bits of a negative double whose exponent is
    fixed (in the prior's term) and whose mantissa is the lane sum m, so
    array reads the lanes as the floats -(2**52 + m) * 2**-SCORE_BITS. Two
    such floats differ by exactly the difference of their scores, so
    exp(lane - the highest lane) is the engine's exp(score - top score); the
    rest of the softmax is the engine's own arithmetic, step for step.
    """

    MANTISSA = 52

    def __init__(self, kb: Knowledge):
        bits = SCORE_BITS
        tables = [*kb.log_tables.values(), *kb.picture_tables.values()]
        values = list(kb.log_prior) + [x for v in tables for x in v]
        if not values or any(not math.isfinite(x) or x > 0 or quantise(x) != x for x in values):
            raise ValueError("log tables outside the packed range")
        self.size = len(kb.log_prior)
        self.nbytes = 8 * self.size
        self.unit = 2.0**bits
        # sign and exponent bits of each lane: -(2**52 + m) * 2**-bits once the mantissa m is added
        frame = (1 << 11 | (1075 - bits)) << self.MANTISSA
        self.base = self.pack(kb.log_prior) + sum(frame << 64 * k for k in range(self.size))
        self.posterior = self._posterior_function()

    def pack(self, vector) -> int:
        """One integer holding -vector[e] * 2**SCORE_BITS in the lane of entity e."""
        packed = 0
        for k, x in enumerate(vector):
            packed |= int(-x * self.unit) << (64 * k)
        return packed

    def _posterior_function(self) -> Callable[[int], list[float]]:
        """posterior(total): the posterior from a packed sum of the prior and the findings,
        with the engine's arithmetic (engine._normalise); C-level loops throughout."""
        nbytes, exp, fsum = self.nbytes, math.exp, math.fsum
        big_endian = sys.byteorder == "big"

        def posterior(total: int) -> list[float]:
            # array reads the lanes as native doubles (a copy; struct.unpack boxes each one)
            lanes = array.array("d", total.to_bytes(nbytes, "little"))
            if big_endian:
                lanes.byteswap()
            weights = list(map(exp, map(sub, lanes, repeat(max(lanes)))))
            return list(map(truediv, weights, repeat(fsum(weights))))

        return posterior


# -- one row ------------------------------------------------------------------


#: Float addition left to right, as the engine's loop adds up a compartment
#: (sum() does exactly that before Python 3.12, which compensates rounding).
_sequential_sum = sum if sys.version_info < (3, 12) else partial(reduce, add)


def _getter(indices) -> Callable[[list], tuple]:
    """itemgetter that always returns a tuple, whatever the number of indices."""
    if len(indices) > 1:
        return itemgetter(*indices)
    return lambda seq: tuple(seq[i] for i in indices)


def _cardinality(feature: Feature) -> int:
    """About how many distinct cell texts a column takes (blank included)."""
    if feature.kind == "integer":
        return feature.max - feature.min + 2
    if feature.kind == "list":
        return 2 ** len(feature.values)
    return len(feature.values) + 1


class _Assessor:
    """Turns the cells of one data row into an output record (or a RowError)."""

    def __init__(self, kb: Knowledge, layout: Layout, encoding: str, top: int):
        self.kb = kb
        self.layout = layout
        self.encoding = encoding
        self.top = top
        self.width = len(layout.header)
        self.ids = kb.entity_ids
        self.text_columns = tuple(i for i in ((layout.case_index,) if layout.case_index is not None else ()) + layout.passthrough)
        self.by_feature_id = sorted(layout.features, key=lambda item: item[1].id)
        self._values: dict[int, dict[str, Any]] = {i: {} for i, _ in layout.features}
        self._terms: dict[int, dict[str, int]] = {i: {} for i, _ in layout.features}
        self.features = dict(layout.features)
        lists = [f for f in kb.features.values() if f.kind == "list"]
        shown = next((f for _, f in layout.features if f.kind == "list"), lists[0] if lists else None)
        self.list_hint = (
            f"with ';' as the delimiter, a list value ({', '.join(f.id for f in lists)}) must be in double quotes "
            f"(\"{';'.join(shown.values[:2])}\") or written with commas ({','.join(shown.values[:2])}); "
            "or save the file with ',' as the delimiter"
        ) if shown else ""
        self.compartment_getters = [_getter([i for i, e in enumerate(kb.entities) if e.compartment == c]) for c in COMPARTMENTS]
        self.dont_miss = tuple(i for i, e in enumerate(kb.entities) if e.dont_miss)
        self.dont_miss_getter = _getter(self.dont_miss)
        self.floor = kb.settings.dont_miss_floor - TOLERANCE  # reaches(p, floor), as engine._flags reads it
        try:
            self.packed: _Packed | None = _Packed(kb)
        except ValueError:
            self.packed = None
        picture = tuple(i for i, f in layout.features if f.picture)
        self.picture_block = picture or None
        self.blocks = [(itemgetter(*cols), {}, cols) for cols in self._blocks() + ([picture] if picture else [])]
        self.posterior = self._posterior_function()
        self.quick = self._quick_function()
        self.csv_row = self._csv_row_function()

    def _blocks(self) -> list[tuple[int, ...]]:
        """The columns other than the picture signs (which form one block of their own:
        they count together), grouped so that each group's cells take at most
        BLOCK_COMBINATIONS combinations (first fit, widest columns first); a group
        shares one cache."""
        bins: list[tuple[list[int], int]] = []
        for i, feature in sorted(self.layout.features, key=lambda item: -_cardinality(item[1])):
            if feature.picture:
                continue
            n = _cardinality(feature)
            for k, (cols, combos) in enumerate(bins):
                if combos * n <= BLOCK_COMBINATIONS:
                    bins[k] = (cols + [i], combos * n)
                    break
            else:
                bins.append(([i], n))
        return [tuple(sorted(cols)) for cols, _ in bins]

    # cells -> values

    def _value(self, i: int, text: str) -> Any:
        """The canonical value of one cell (None: unknown); FindingError when it cannot be read."""
        cache = self._values[i]
        try:
            return cache[text]
        except KeyError:
            pass
        feature = self.features[i]
        problem = _text_problem(text, self.encoding)
        if problem:
            raise FindingError(column=feature.id, value=_readable(text), message=f"{feature.id}: {quoted(text, _shown)} {problem}")
        value = parse_value(feature, text)
        if len(cache) < CACHE_LIMIT:
            cache[text] = value
        return value

    def _term(self, i: int, text: str) -> int:
        cache = self._terms[i]
        try:
            return cache[text]
        except KeyError:
            pass
        value = self._value(i, text)
        term = 0
        if value is not None:
            vector = engine.finding_vector(self.kb, self.features[i], value)
            if vector is not None:
                term = self.packed.pack(vector)
        if len(cache) < CACHE_LIMIT:
            cache[text] = term
        return term

    def _block_miss(self, cache: dict, cols: tuple[int, ...], key, cells: list[str]) -> int:
        texts = key if len(cols) > 1 else (key,)
        try:
            if cols == self.picture_block:
                shown = {self.features[i].id: self._value(i, t) for i, t in zip(cols, texts)}
                term = self.packed.pack(engine.picture_vector(self.kb, shown))
            else:
                term = sum(self._term(i, t) for i, t in zip(cols, texts))
        except FindingError:
            self.findings(cells)  # raises for the first bad cell in column order
            raise
        if len(cache) < CACHE_LIMIT:
            cache[key] = term
        return term

    def failure(self, row: int, line: int, cells: list[str], column, value, message) -> RowError:
        case_id = None
        ci = self.layout.case_index
        if ci is not None and ci < len(cells):
            case_id = _readable(cells[ci].strip()) or None
        passthrough = tuple(_readable(cells[i]) if i < len(cells) else "" for i in self.layout.passthrough)
        return RowError(row, line, column, value, message, case_id, passthrough or None)

    def check(self, row: int, line: int, cells: list[str]) -> RowError | None:
        """Problems of the row as a whole: its length, unnamed columns, text columns."""
        if len(cells) == self.width and not self.layout.unnamed:
            for i in self.text_columns:
                text = cells[i]
                if "\x00" in text or not text.isascii():
                    break
            else:
                return None
        n = len(cells)
        if n != self.width:
            if n < self.width:
                return self.failure(
                    row, line, cells, None, None,
                    f"the row has {n} cell{'' if n == 1 else 's'} but the header has {self.width}: a separator is "
                    "missing or the row was cut short; add the missing cells (they may be empty)",
                )
            extra = cells[self.width:]
            if any(c.strip() for c in extra):
                return self.failure(
                    row, line, cells, None, _readable(",".join(extra)),
                    f"the row has {n} cells but the header has {self.width}: a value that contains the separator "
                    "must be in double quotes, or the header is missing a column",
                )
        for i in self.layout.unnamed:
            if i < n and cells[i].strip():
                return self.failure(
                    row, line, cells, None, _readable(cells[i]),
                    f"column {i + 1} has no name in the header but this row has a value in it; name the column "
                    "(and pass it through with --passthrough) or empty the cell",
                )
        for i in self.text_columns:
            bad = self._text_cell(i, cells[i])
            if bad:
                return self.failure(row, line, cells, *bad)
        return None

    def _text_cell(self, i: int, text: str) -> tuple[str, str, str] | None:
        """(column, value, message) when a case id or passed-through cell is not readable text, else None."""
        problem = _text_problem(text, self.encoding)
        if not problem:
            return None
        column = normalise_column(self.layout.header[i]) if i == self.layout.case_index else self.layout.header[i]
        shown = _readable(text)
        return column, shown, f"{column}: {quoted(text, _shown)} {problem}"

    def bad_cells(self, cells: list[str]) -> list[tuple[str, str]]:
        """(column, message) for every cell of the row that cannot be read, in column order."""
        found = []
        for i in sorted(set(self.text_columns) | set(self.features)):
            if i >= len(cells):
                continue
            if i in self.features:
                try:
                    self._value(i, cells[i])
                except FindingError as exc:
                    found.append((exc.column, exc.message))
            else:
                bad = self._text_cell(i, cells[i])
                if bad:
                    found.append((bad[0], bad[2]))
        return found

    def explain(self, error: RowError, cells: list[str], delimiter: str) -> RowError:
        """The error of a row whose cells were read, its message completed so that one fix serves:
        every other bad cell of the row, and why the cells may have shifted. Only failed rows get here."""
        message = error.message
        if error.column is not None:
            message += "".join(f"; also {text}" for column, text in self.bad_cells(cells) if column != error.column)
        if delimiter == ";" and len(cells) > self.width and self.list_hint:
            if error.column is not None:
                message += f"; the row has {len(cells)} cells but the header has {self.width}"
            message += f"; {self.list_hint}"
        return error if message == error.message else attrs.evolve(error, message=message)

    def _case_id(self, cells: list[str]) -> str | None:
        ci = self.layout.case_index
        return (cells[ci].strip() or None) if ci is not None else None

    def findings(self, cells: list[str]) -> Findings:
        """The row's Findings, the same record parse_findings builds (FindingError if a cell is bad)."""
        for i, _ in self.layout.features:
            self._value(i, cells[i])
        values = []
        for i, feature in self.by_feature_id:
            value = self._value(i, cells[i])
            if value is not None:
                values.append((feature.id, value))
        return Findings(values=tuple(values), case_id=self._case_id(cells))

    # cells -> CSV row

    def _posterior_function(self) -> Callable[[list[str]], list[float]]:
        """posterior(cells): P(entity | the row's findings) in entity order, bit for bit engine.posterior."""
        packed = self.packed
        if packed is None:
            return lambda cells: list(engine.posterior(self.kb, self.findings(cells)))
        blocks, miss, base, softmax = self.blocks, self._block_miss, packed.base, packed.posterior

        def posterior(cells: list[str]) -> list[float]:
            total = base
            for get, cache, cols in blocks:
                key = get(cells)
                try:
                    total += cache[key]
                except KeyError:
                    total += miss(cache, cols, key, cells)
            return softmax(total)

        return posterior

    def _quick_function(self) -> Callable[[list[str]], tuple[str, float, list[tuple[str, float]], list[str]]]:
        """quick(cells): what the CSV shows, as engine.assess gives it: the compartment and its
        probability, the top candidates with theirs, and the flagged don't-miss entities."""
        posterior, getters, total = self.posterior, self.compartment_getters, _sequential_sum
        ids, floor, dont_miss, dont_miss_of, n = self.ids, self.floor, self.dont_miss, self.dont_miss_getter, self.top

        def quick(cells: list[str]):
            post = posterior(cells)
            sums = [total(get(post)) for get in getters]
            best = max(range(len(sums)), key=sums.__getitem__)
            top = sorted(post, reverse=True)[:n]
            if len(set(top)) == len(top):  # distinct: index() finds each one's entity
                candidates = list(zip(map(ids.__getitem__, map(post.index, top)), top))
            else:
                candidates = [(ids[i], post[i]) for i in sorted(range(len(post)), key=post.__getitem__, reverse=True)[:n]]
            flagged = [i for i, p in zip(dont_miss, dont_miss_of(post)) if p >= floor]
            if len(flagged) > 1:
                flagged.sort(key=post.__getitem__, reverse=True)
            return COMPARTMENTS[best], sums[best], candidates, [ids[i] for i in flagged]

        return quick

    def _csv_row_function(self) -> Callable[[int, list[str]], list]:
        """csv_row(row, cells): the CSV output row of a readable data row."""
        quick, ci, result_row = self.quick, self.layout.case_index, render.csv_result_row
        passthrough = _getter(self.layout.passthrough) if self.layout.passthrough else lambda cells: None

        def csv_row(row: int, cells: list[str]) -> list:
            compartment, p, candidates, flagged = quick(cells)
            case_id = cells[ci].strip() if ci is not None else None
            return result_row(row, case_id, compartment, p, candidates, flagged, passthrough(cells))

        return csv_row

    def record(self, row: int, cells: list[str]) -> dict[str, Any]:
        """The JSON record of a readable data row: to_record(engine.assess(...)) plus the row."""
        a = engine.assess(self.findings(cells), self.kb)
        record = render.to_record(a, row=row)
        if self.layout.passthrough:
            record["passthrough"] = {self.layout.header[i]: cells[i] for i in self.layout.passthrough}
        return record

    def error_record(self, e: RowError) -> dict[str, Any]:
        record = render.error_record(row=e.row, case_id=e.case_id, column=e.column, value=e.value, message=e.message)
        record["error"]["line"] = e.line
        if e.passthrough is not None:
            record["passthrough"] = dict(zip(self.layout.passthrough_names, e.passthrough))
        return record


# -- output -------------------------------------------------------------------


class _CsvOut:
    """CSV with '\\n' line ends; a row with a carriage return in a cell is written fully quoted
    (the csv module quotes such a cell only when the line end itself contains '\\r')."""

    def __init__(self, sink: TextIO, assessor: _Assessor, top: int):
        self.writer = csv.writer(sink, lineterminator="\n")
        self.quoted = csv.writer(sink, lineterminator="\n", quoting=csv.QUOTE_ALL)
        self.assessor = assessor
        self._write(render.csv_header(top, assessor.layout.passthrough_names))
        writerow, write_quoted, csv_row, texts = self.writer.writerow, self.quoted.writerow, assessor.csv_row, assessor.text_columns

        def result(row: int, cells: list[str]) -> None:
            for i in texts:
                if "\r" in cells[i]:
                    return write_quoted(csv_row(row, cells))
            writerow(csv_row(row, cells))

        self.result = result

    def _write(self, cells: list) -> None:
        if any("\r" in c for c in cells if isinstance(c, str)):
            self.quoted.writerow(cells)
        else:
            self.writer.writerow(cells)

    def error(self, e: RowError) -> None:
        self._write(render.csv_error_row(e.row, e.case_id, e.text, e.passthrough or (), self.assessor.top))

    def close(self) -> None:
        pass


class _JsonOut:
    def __init__(self, sink: TextIO, assessor: _Assessor, array: bool):
        self.sink = sink
        self.assessor = assessor
        self.array = array
        self.first = True

    def _write(self, record: dict) -> None:
        text = render.ndjson_line(record)
        if self.array:
            text = ("[\n" if self.first else ",\n") + text[:-1]
        self.first = False
        self.sink.write(text)

    def result(self, row: int, cells: list[str]) -> None:
        self._write(self.assessor.record(row, cells))

    def error(self, e: RowError) -> None:
        self._write(self.assessor.error_record(e))

    def close(self) -> None:
        if self.array:
            self.sink.write("[]\n" if self.first else "\n]\n")


# -- the batch ----------------------------------------------------------------


def run(
    source: TextIO,
    sink: TextIO,
    *,
    fmt: str = "csv",
    top: int = 3,
    passthrough: tuple[str, ...] = (),
    strict: bool = False,
    delimiter: str | None = None,
    encoding: str = DEFAULT_ENCODING,
    knowledge: Knowledge | None = None,
    name: str = "the input",
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Assess every data row of a CSV text stream and write one record per row to ``sink``.

    Raises BatchError when the input as a whole cannot be read (nothing is
    written then), StrictStop for the first bad row under ``strict``.
    """
    if fmt not in FORMATS:
        raise BatchError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    kb = knowledge or default_knowledge()
    if not 1 <= top <= len(kb.entities):
        raise BatchError(f"--top {top}: choose between 1 and {len(kb.entities)} (the number of candidates)")
    if delimiter is not None and len(delimiter) != 1:
        raise BatchError(f"--delimiter {delimiter!r}: give a single character such as ',' or ';' (or 'tab')")
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    records = _Records(source, delimiter or ",")
    first = records.first_line()
    if first is None:
        raise BatchError(f"{name} is empty: the first line must name the columns (case_id, age, sex, ...); `ddx template` writes it")
    if delimiter is None:
        records.set_delimiter(sniff_delimiter(first))
    rows = iter(records)
    header = None
    for line, cells in rows:
        if isinstance(cells, _BadRecord):
            raise BatchError(f"{name}: the header (line {line}) cannot be read: {cells.reason}")
        if cells:
            header = cells
            break
    if header is None:
        raise BatchError(f"{name} is empty: the first line must name the columns (case_id, age, sex, ...); `ddx template` writes it")
    layout = read_layout(header, kb, tuple(passthrough), name=name)
    assessor = _Assessor(kb, layout, encoding, top)
    out = _CsvOut(sink, assessor, top) if fmt == "csv" else _JsonOut(sink, assessor, array=fmt == "json")
    read = failed = 0
    first_error = None
    check, result = assessor.check, out.result
    for line, cells in rows:
        if not cells:
            continue
        read += 1
        if cells.__class__ is _BadRecord:
            error = assessor.failure(read, line, cells.cells(records.delimiter), None, None, cells.reason)
        else:
            error = check(read, line, cells)
            if error is None:
                try:
                    result(read, cells)
                except FindingError as exc:
                    error = assessor.failure(read, line, cells, exc.column, exc.value, exc.message)
        if error is not None:
            if cells.__class__ is not _BadRecord:
                error = assessor.explain(error, cells, records.delimiter)
            failed += 1
            if strict:
                out.close()  # what was written stays well-formed (a JSON array is closed)
                raise StrictStop(error, read - 1)
            first_error = first_error or error
            out.error(error)
        if progress is not None and read % PROGRESS_EVERY == 0:
            progress(read)
    out.close()
    return Summary(read=read, assessed=read - failed, failed=failed, first_error=first_error)


# -- files --------------------------------------------------------------------


@contextmanager
def atomic_output(path: str):
    """A UTF-8 text file that replaces ``path`` only when the block succeeds.

    It is written beside the target (same file system) and moved over it with
    os.replace; on any failure, Ctrl-C included, the partial file is removed
    and the previous ``path`` is untouched.
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise BatchError(f"cannot write {path}: it is a folder")
    if not os.path.isdir(folder):
        raise BatchError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise BatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def stdout_text():
    """Standard output as UTF-8 text with untranslated line ends (what the csv module needs)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        yield sys.stdout
        return
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        try:
            yield out
        finally:
            out.flush()
    except OSError:  # a closed pipe or a full disk: what is left goes nowhere, and the caller says why
        silence_stdout()
        raise
    finally:
        out.detach()


def silence_stdout() -> None:
    """After the reader of a pipe went away: send what is left to /dev/null, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def stream_is_file(stream, path: str) -> bool:
    """Is the open stream (standard input, say) the file at ``path``? False when either cannot be looked at."""
    try:
        a, b = os.fstat(stream.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
