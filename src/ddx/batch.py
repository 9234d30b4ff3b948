"""Batch: a CSV of findings in, exactly one result per data row out, in input order.

Reading streams: memory does not grow with the number of rows. A row that
cannot be read becomes an error record naming its row number, the physical
line, the column, the value and the fix, and the batch goes on; a problem
with the file as a whole (no header, an unknown or duplicated column) stops
it before anything is written (BatchError). Reading the file is csv_input's
job; writing a file atomically is files'.

The CSV format needs only the posterior and the don't-miss flags, so it uses
a fast path (packed.Packed) that reproduces engine.posterior bit for bit;
NDJSON and JSON carry the full assessment (reasons, flags, next findings)
from engine.assess, exactly as `ddx assess --format json` does.
"""

from __future__ import annotations

import csv
import math
import sys
from functools import partial, reduce
from operator import add, itemgetter
from typing import Any, Callable, TextIO

import attrs

from . import engine, render
from .assessment import TOLERANCE, Flag
from .csv_input import (
    DEFAULT_ENCODING, FIELD_LIMIT, BadRecord, Layout, Records, check_delimiter, decoded, in_quotes, read_header, read_layout, readable,
    text_problem,
)
from .errors import BatchError, DdxError, FindingError
from .findings import NOT_ASSESSED_HINT, Findings, normalise_column, parse_value, quoted
from .knowledge import COMPARTMENTS, Feature, Knowledge, default_knowledge
from .packed import Packed

FORMATS = ("csv", "ndjson", "json")
#: Distinct cell texts remembered per column (and cell combinations per
#: block of columns); past this, values are parsed again, so memory stays flat.
CACHE_LIMIT = 4096
#: Columns are summed in blocks whose cells take about this many combinations.
BLOCK_COMBINATIONS = 512
PROGRESS_EVERY = 1000


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
    flags: tuple[Flag, ...] = ()

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
        text = f"{self.read:,} row{'' if self.read == 1 else 's'} read, {self.assessed:,} assessed, {self.failed:,} failed"
        if not self.read:
            text += " (the input has a header but no data rows)"
        elif self.first_error is not None:
            e = self.first_error
            text += f"; first failure: {e.where}: {e.message}"
        return text


# -- one row ------------------------------------------------------------------


#: Float addition left to right, as the engine's loop adds up a compartment
#: (sum() does exactly that before Python 3.12, which compensates rounding).
_sequential_sum = sum if sys.version_info < (3, 12) else partial(reduce, add)


def _getter(indices) -> Callable[[list], tuple]:
    """itemgetter that always returns a tuple, whatever the number of indices."""
    if len(indices) > 1:
        return itemgetter(*indices)
    return lambda seq: tuple(seq[i] for i in indices)


#: The distinct texts counted for an integer column with no upper bound (segments): as many
#: as when its tables stopped at 1000, which gives it a block of its own (a shared block ran
#: 2.75-2.80 times the copy's time against 2.55-2.68 in benchmarks/batch.py).
OPEN_RANGE = 1000


def _cardinality(feature: Feature) -> int:
    """About how many distinct cell texts a column takes (blank included)."""
    if feature.kind == "integer":
        return (feature.max if feature.max is not None else OPEN_RANGE) - feature.min + 2
    if feature.kind == "list":
        return 2 ** len(feature.values)
    return len(feature.values) + 1


class _Assessor:
    """Turns the cells of one data row into an output record (or a RowError)."""

    def __init__(self, kb: Knowledge, layout: Layout, encoding: str, top: int, suggest: int = 3):
        self.kb = kb
        self.layout = layout
        self.encoding = encoding
        self.top = top
        self.suggest = suggest
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
            self.packed: Packed | None = Packed(kb)
        except ValueError:
            self.packed = None
        self.linked = self._linked()
        linked = {i for cols in self.linked for i in cols}
        picture = tuple(i for i, f in layout.features if f.picture and i not in linked)
        self.picture_block = picture or None
        self.blocks = [(itemgetter(*cols), {}, cols) for cols in self._blocks() + ([picture] if picture else []) + self.linked]
        self.posterior = self._posterior_function()
        self.quick = self._quick_function()
        self.csv_row = self._csv_row_function()

    def _blocks(self) -> list[tuple[int, ...]]:
        """The columns other than the picture signs (which form one block of their own:
        they count together), grouped so that each group's cells take at most
        BLOCK_COMBINATIONS combinations (first fit, widest columns first); a group
        shares one cache."""
        bins: list[tuple[list[int], int]] = []
        linked = {i for cols in self.linked for i in cols}
        for i, feature in sorted(self.layout.features, key=lambda item: -_cardinality(item[1])):
            if feature.picture or i in linked:
                continue
            n = _cardinality(feature)
            for k, (cols, combos) in enumerate(bins):
                if combos * n <= BLOCK_COMBINATIONS:
                    bins[k] = (cols + [i], combos * n)
                    break
            else:
                bins.append(([i], n))
        return [tuple(sorted(cols)) for cols, _ in bins]

    def _linked(self) -> list[tuple[int, ...]]:
        """The columns of each finding that implies others (features.toml: implies) with the columns
        of those it implies, and of each finding read within a picture (within) with the picture
        signs, where the row has some: what one adds depends on the others' values, so each group
        is one block, read as engine.evidence reads it."""
        column = {f.id: i for i, f in self.layout.features}
        signs = {i for i, f in self.layout.features if f.picture}
        groups: list[set[int]] = []
        for i, feature in self.layout.features:
            group = {i} | {column[x] for x in feature.implies if x in column} | (signs if feature.within else set())
            if len(group) < 2:
                continue
            for other in [g for g in groups if g & group]:
                group |= other
                groups.remove(other)
            groups.append(group)
        return [tuple(sorted(g)) for g in groups]

    # cells -> values

    def _value(self, i: int, text: str) -> Any:
        """The canonical value of one cell (None: unknown); FindingError when it cannot be read."""
        cache = self._values[i]
        try:
            return cache[text]
        except KeyError:
            pass
        feature = self.features[i]
        problem = text_problem(text, self.encoding)
        if problem:
            raise FindingError(column=feature.id, value=readable(text), message=f"{feature.id}: {quoted(text, in_quotes)} {problem}")
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
            elif cols in self.linked:
                known = tuple(sorted((self.features[i].id, v) for i, t in zip(cols, texts) if (v := self._value(i, t)) is not None))
                vectors = [v for _, _, v in engine.evidence(self.kb, Findings(values=known))]
                term = self.packed.pack([math.fsum(col) for col in zip(*vectors)]) if vectors else 0
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
            case_id = readable(cells[ci].strip()) or None
        passthrough = tuple(readable(cells[i]) if i < len(cells) else "" for i in self.layout.passthrough)
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
            text = ",".join(cells)
            damaged = text_problem(text, self.encoding)
            if n < self.width and damaged:  # bytes the encoding cannot read, not a missing separator
                return self.failure(
                    row, line, cells, None, readable(text),
                    f"the row {quoted(text, in_quotes)} {damaged}; it has {n} cell{'' if n == 1 else 's'} "
                    f"but the header has {self.width}",
                )
            if n < self.width:
                return self.failure(
                    row, line, cells, None, None,
                    f"the row has {n} cell{'' if n == 1 else 's'} but the header has {self.width}: a separator is "
                    "missing or the row was cut short; add the missing cells (they may be empty)",
                )
            extra = cells[self.width:]
            if any(c.strip() for c in extra):
                return self.failure(
                    row, line, cells, None, readable(",".join(extra)),
                    f"the row has {n} cells but the header has {self.width}: a value that contains the separator "
                    "must be in double quotes, or the header is missing a column "
                    f"(past the header: {', '.join(quoted(c, in_quotes) for c in extra if c.strip())})",
                )
        for i in self.layout.unnamed:
            if i < n and cells[i].strip():
                return self.failure(
                    row, line, cells, None, readable(cells[i]),
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
        problem = text_problem(text, self.encoding)
        if not problem:
            return None
        column = normalise_column(self.layout.header[i]) if i == self.layout.case_index else self.layout.header[i]
        shown = readable(text)
        return column, shown, f"{column}: {quoted(text, in_quotes)} {problem}"

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
            if message.count(NOT_ASSESSED_HINT) > 1:  # said once, at the end
                message = message.replace(NOT_ASSESSED_HINT, "") + NOT_ASSESSED_HINT
        if delimiter == ";" and len(cells) > self.width and self.list_hint:
            if error.column is not None:
                message += f"; the row has {len(cells)} cells but the header has {self.width}"
            message += f"; {self.list_hint}"
        aligned = len(cells) >= self.width and not any(c.strip() for c in cells[self.width:])  # trailing commas allowed
        # a row cut short keeps its first cells under their columns: what they say of a compressed
        # cord stands (a row with cells to spare may have shifted them, so it raises nothing)
        short = len(cells) < self.width
        flags = self.standing_flags(cells + [""] * (self.width - len(cells)) if short else cells) if aligned or short else ()
        for flag in flags:
            message += f"; the cells that could be read still raise {flag.label}: {flag.message}"
        return error if message == error.message else attrs.evolve(error, message=message, flags=flags)

    def standing_flags(self, cells: list[str]) -> tuple[Flag, ...]:
        """The flags that need no assessment (cord compression), raised by the readable cells
        of a row that failed: an emergency is not lost to a typo in another column."""
        return tuple(engine.rule_flags(self.kb, self.findings(cells, readable_only=True)))

    def _case_id(self, cells: list[str]) -> str | None:
        ci = self.layout.case_index
        return (cells[ci].strip() or None) if ci is not None else None

    def findings(self, cells: list[str], *, readable_only: bool = False) -> Findings:
        """The row's Findings, the same record parse_findings builds (FindingError for the first
        bad cell in column order), or with ``readable_only`` those of the cells that can be read."""
        if not readable_only:
            for i, _ in self.layout.features:
                self._value(i, cells[i])
        values = []
        for i, feature in self.by_feature_id:
            try:
                value = self._value(i, cells[i])
            except FindingError:
                continue  # only with readable_only: the loop above raised for it otherwise
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
        a = engine.assess(self.findings(cells), self.kb, suggest=self.suggest)
        record = render.to_record(a, row=row)
        if self.layout.passthrough:
            record["passthrough"] = {self.layout.header[i]: cells[i] for i in self.layout.passthrough}
        return record

    def error_record(self, e: RowError) -> dict[str, Any]:
        record = render.error_record(row=e.row, case_id=e.case_id, column=e.column, value=e.value, message=e.message, flags=e.flags)
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
    ignore: tuple[str, ...] = (),
    strict: bool = False,
    delimiter: str | None = None,
    encoding: str = DEFAULT_ENCODING,
    knowledge: Knowledge | None = None,
    name: str = "the input",
    progress: Callable[[int], None] | None = None,
    suggest: int = 3,
) -> Summary:
    """Assess every data row of a CSV text stream and write one record per row to ``sink``.

    Raises BatchError when the input as a whole cannot be read (nothing is
    written when that is found before the first row; a read that fails further
    on stops there, after the records of the rows before; bytes the encoding
    cannot read are their row's error), StrictStop for the first bad row
    under ``strict``. ``suggest`` is how many next best findings each JSON record carries (0
    skips their search, most of a JSON record's time).
    """
    if fmt not in FORMATS:
        raise BatchError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    kb = knowledge or default_knowledge()
    if suggest < 0:
        raise BatchError(f"--next-findings {suggest}: give 0 or more")
    if not 1 <= top <= len(kb.entities):
        raise BatchError(f"--top {top}: choose between 1 and {len(kb.entities)} (the number of candidates)")
    check_delimiter(delimiter)
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    records = Records(decoded(source, name, encoding), delimiter or ",")
    rows = iter(records)
    header = read_header(records, rows, name, encoding, delimiter)
    layout = read_layout(header, kb, tuple(passthrough), name=name, csv_output=fmt == "csv", ignore=tuple(ignore), encoding=encoding)
    assessor = _Assessor(kb, layout, encoding, top, suggest)
    out = _CsvOut(sink, assessor, top) if fmt == "csv" else _JsonOut(sink, assessor, array=fmt == "json")
    read = failed = 0
    first_error = None
    check, result, write_error = assessor.check, out.result, out.error
    for line, cells in rows:
        if not cells:
            continue
        read += 1
        if cells.__class__ is BadRecord:
            error = assessor.failure(read, line, cells.cells(records.delimiter), None, None, cells.reason)
        else:
            error = check(read, line, cells)
            if error is None:
                try:
                    result(read, cells)
                except FindingError as exc:
                    error = assessor.failure(read, line, cells, exc.column, exc.value, exc.message)
        if error is not None:
            if cells.__class__ is not BadRecord:
                error = assessor.explain(error, cells, records.delimiter)
            failed += 1
            if strict:
                out.close()  # what was written stays well-formed (a JSON array is closed)
                raise StrictStop(error, read - 1)
            first_error = first_error or error
            write_error(error)
        if progress is not None and read % PROGRESS_EVERY == 0:
            progress(read)
    out.close()
    return Summary(read=read, assessed=read - failed, failed=failed, first_error=first_error)
