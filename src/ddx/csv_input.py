"""Reading a CSV of findings: its encoding, its records with their physical
line numbers, and what each column of its header is.

Undecodable bytes are kept (as surrogate escapes) so that a bad cell becomes
an error of its row, not of the file; a record the csv module rejects is
reported and reading resumes on the next line. A problem with the file as a
whole (no header, an unknown or duplicated column) raises BatchError.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import sys
import unicodedata
from collections import deque
from typing import Any, Iterable, Iterator, TextIO

import attrs

from . import render
from .errors import BatchError
from .findings import CASE_ID, meant_column, normalise_column, quoted
from .spelling import closest
from .knowledge import Feature, Knowledge

DEFAULT_ENCODING = "utf-8-sig"
#: A cell larger than this is taken for a quote that is never closed (the csv
#: module's own limit, 128 KiB, would reject honest long notes).
FIELD_LIMIT = 64 * 1024 * 1024
#: A line that has not ended after this many characters is no CSV row: the read stops there.
LONGEST_LINE = 16 * FIELD_LIMIT
#: How much of a line too long is kept, to show the case id of its row's error.
SHOWN_OF_A_CUT_LINE = 4096
SNIFFED = (";", "\t")
#: Unknown columns named one by one in the error; the rest are counted.
SHOWN_COLUMNS = 10


@attrs.frozen
class Input:
    """An opened input: its text, the binary stream below it, its size when known."""

    name: str
    text: TextIO
    binary: Any
    size: int | None
    waits: Any = None

    def before_waiting(self, callback) -> None:
        """Call ``callback`` before each read of standard input that may wait for more (a
        pipe fed slowly): a batch flushes what it wrote, so each record goes out as its
        row comes in, while a fast input still gets its output in blocks."""
        if self.waits is not None:
            self.waits.before = callback

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


def check_encoding(encoding: str) -> None:
    """BatchError naming the bad encoding, when it is not a text encoding Python knows."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise BatchError(f"unknown encoding {encoding!r}: try utf-8, cp1252, latin-1 or utf-16") from None
    try:
        io.TextIOWrapper(io.BytesIO(), encoding=encoding)  # rot13, base64, zlib: codecs, but not of bytes to text
        codecs.decode(b"\xff", encoding, KEEP_UNDECODED)  # idna, punycode: of names, and keep no byte they cannot read
    except (LookupError, UnicodeError, TypeError, ValueError):
        raise BatchError(f"--encoding {encoding}: {encoding!r} is not a text encoding of files; try utf-8, cp1252, latin-1 or utf-16") from None


def decoded(lines: Iterable[str], name: str, encoding: str) -> Iterator[str]:
    """The lines of ``lines``. A byte the decoder cannot read is kept for its row's error
    (_keep_undecoded); what fails on the file itself (UTF-8 read as UTF-16 without its
    byte-order mark, say) is a BatchError naming the encoding and the fix, and so is a failed
    read (an I/O error is the input's, not the output's)."""
    try:
        for line in _bounded(lines, name):  # not `yield from`, which would close the caller's stream with the generator
            yield line
    except UnicodeError as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise BatchError(
            f"{name} cannot be read as {encoding} ({reason}); pass the file's encoding with --encoding "
            "(leave it out for UTF-8, with or without a byte-order mark; for example cp1252 for Excel on Windows, "
            "latin-1, utf-16-le for UTF-16 without a byte-order mark, or utf-32)"
        ) from None
    except OSError as exc:
        raise BatchError(f"cannot read {name}: {exc.strerror or exc}") from None


class CutLine(str):
    """What stands in the stream for a line longer than a cell may be: a line end, after a quote
    when the line held an odd number of them (so that a quoted cell it opens or closes is still
    opened or closed there), and the start of the line, to show its case id. Records turns the
    record that holds it into that row's error."""

    head: str

    def __new__(cls, head: str, quotes: int) -> CutLine:
        line = super().__new__(cls, '"\n' if quotes % 2 else "\n")
        line.head = head
        return line


#: How much of a line too long is read at a time while it is passed over.
SKIP_CHUNK = 1024 * 1024


def _bounded(lines: Iterable[str], name: str) -> Iterator[str]:
    """The lines of a stream, none held whole when it is longer than a cell may be (FIELD_LIMIT):
    such a line is passed over in chunks and a CutLine given in its place, so that it becomes its
    own row's error and the read goes on; a line that has not ended within LONGEST_LINE characters
    (/dev/zero, a binary dump) ends the read, naming it."""
    readline = getattr(lines, "readline", None)
    if readline is None:
        for line in lines:  # not `yield from`, which would close the caller's iterator with the generator
            yield line
        return
    number = 0
    while True:
        line = readline(FIELD_LIMIT + 1)
        if not line:
            return
        number += 1
        if len(line) <= FIELD_LIMIT or line.endswith(("\n", "\r")):
            yield line
            continue
        head, quotes, read = line[:SHOWN_OF_A_CUT_LINE], line.count('"'), len(line)
        del line
        while True:
            chunk = readline(SKIP_CHUNK)
            quotes += chunk.count('"')
            read += len(chunk)
            if not chunk or chunk.endswith(("\n", "\r")):
                break
            if read > LONGEST_LINE:
                raise BatchError(f"{name}: line {number} runs over {LONGEST_LINE:,} characters without a line end: "
                                 "it is not a CSV file of findings")
        yield CutLine(head, quotes)


def _keep_undecoded(exc: UnicodeError) -> tuple[str, int]:
    """Keep each byte a decoder cannot read as the surrogate U+DC00 + byte, so that a bad cell
    becomes its row's error and the rows after it are read. surrogateescape keeps only bytes
    from 0x80, and a bad UTF-16 or UTF-32 unit (a lone surrogate, a truncated last unit)
    may hold lower ones, which would stop the whole file."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


#: The error handler every input is decoded with (registered once, by name, as codecs need).
KEEP_UNDECODED = "ddx-keep-undecoded"
codecs.register_error(KEEP_UNDECODED, _keep_undecoded)


def open_input(path: str, encoding: str = DEFAULT_ENCODING) -> Input:
    """Open a file (or '-' for standard input) as text, keeping undecodable bytes for a per-row error."""
    check_encoding(encoding)
    if path == "-":
        if sys.stdin is None:
            raise BatchError("cannot read standard input: it is closed; pass the CSV as a file or pipe it in")
        waits = _Waiting.of(sys.stdin)
        binary = io.BufferedReader(waits) if waits is not None else sys.stdin.buffer
        size = None
    else:
        waits = None
        try:
            binary = open(path, "rb")
        except OSError as exc:
            raise BatchError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            size = os.fstat(binary.fileno()).st_size
        except OSError:
            size = None
    text = io.TextIOWrapper(binary, encoding=encoding, errors=KEEP_UNDECODED, newline="")
    return Input(name=path, text=text, binary=binary, size=size, waits=waits)


class _Waiting(io.RawIOBase):
    """Standard input read from its descriptor, with ``before`` called ahead of each read
    (once a buffer's worth, 8 KB, when data flows; before every wait when it trickles)."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd
        self.before = None

    @classmethod
    def of(cls, stream) -> "_Waiting | None":
        """For a real standard input (a descriptor), else None (a test's in-memory stdin)."""
        try:
            fd = stream.fileno()
            os.fstat(fd)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        return cls(fd)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer) -> int:
        if self.before is not None:
            self.before()
        while True:
            try:
                data = os.read(self.fd, len(buffer))
                break
            except BlockingIOError:  # a descriptor left non-blocking by the writer: wait for data
                import select

                select.select([self.fd], [], [])
        buffer[: len(data)] = data
        return len(data)


#: A byte below 0x80 that a decoder could not read (see _keep_undecoded).
LOW_UNDECODED = re.compile("[\udc00-\udc7f]")


def readable(text: str) -> str:
    """Text with undecodable bytes and NUL written as \\xNN, safe to print and to write as UTF-8."""
    text = LOW_UNDECODED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def in_quotes(text: str) -> str:
    """A cell's text in quotes for a message, unreadable bytes written as escapes."""
    return f"'{readable(text)}'"


def encoding_label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return "UTF-8" if name in ("utf-8", "utf-8-sig") else encoding


def utf8_mark_read_as(encoding: str) -> str | None:
    """What the UTF-8 byte-order mark becomes when read in ``encoding`` ('\u00ef\u00bb\u00bf' in
    cp1252 or latin-1), or None for the UTF-8 codecs (which read it as a mark) and the
    encodings that cannot read it at all."""
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        return None
    try:
        text = codecs.BOM_UTF8.decode(encoding)
    except (UnicodeDecodeError, ValueError):
        return None
    return text if text and text != "\ufeff" else None


def other_encodings(encoding: str) -> str:
    """The encodings to suggest for a file that ``encoding`` cannot read: not the one it was read with."""
    tried = codecs.lookup(encoding).name
    shown = [f"--encoding {e}{why}" for e, why in (("cp1252", " for Excel on Windows"), ("latin-1", ""), ("utf-8", ""))
             if codecs.lookup(e).name != tried]
    return "for example " + ", or ".join(shown[:2])


def text_problem(text: str, encoding: str) -> str | None:
    """Why a cell's text cannot be taken as it is (a NUL byte, bytes the encoding cannot read), or None.
    Bytes UTF-16 or UTF-32 cannot read in a file it reads (a lone surrogate, a last unit cut short)
    are damage in the file, not another encoding."""
    if "\x00" in text:
        return "contains a NUL byte: the file is not plain text (if it is UTF-16, pass --encoding utf-16)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
                return (f"holds bytes that {encoding} cannot read (a lone surrogate, or a last unit cut short): "
                        "the file is damaged or cut short here")
            return (
                f"is not valid {encoding_label(encoding)} text; if the file was saved in another encoding, "
                f"pass it with --encoding ({other_encodings(encoding)})"
            )
    return None


class Records:
    """CSV records with their physical line numbers; a record the csv module rejects is
    reported and reading resumes on the line after its first one, so one bad quote
    cannot swallow the rest of the file."""

    def __init__(self, text: TextIO, delimiter: str):
        self._it = _without_bom(iter(text))
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

    def __iter__(self) -> Iterator[tuple[int, list[str] | BadRecord]]:
        """(first physical line, cells), or (line, BadRecord) for a record that is not valid CSV."""
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
                yield line, _cut(buf[:1]) or BadRecord(csv_problem(str(exc), self._delimiter), buf[0] if buf else "")
                continue
            self.consumed += len(buf)
            cut = _cut(buf)
            if cut:
                yield line, cut
                continue
            if len(cells) == 1 and len(buf) == 1 and not cells[0].strip(" \t\ufeff") and '"' not in buf[0]:
                cells = []  # a line of only spaces and tabs is a blank line; a quoted blank cell is a row
            yield line, cells


def _cut(buf: list[str]) -> BadRecord | None:
    """The error of a record that holds a line too long to read (a CutLine), else None."""
    for line in buf:
        if line.__class__ is CutLine:
            shown = buf[0].head if buf[0].__class__ is CutLine else buf[0]
            return BadRecord(f"the line is longer than {FIELD_LIMIT // (1024 * 1024)} MiB; a row of findings is a few "
                             "hundred characters", shown)
    return None


def _without_bom(lines: Iterator[str]) -> Iterator[str]:
    """The lines with a byte-order mark taken off the first one (an encoding that keeps it,
    utf-8 or utf-16-le, say), before the csv module reads it: a mark in front of a quoted
    header cell ('\ufeff"case_id"') would otherwise keep its quotes as part of the name."""
    first = True
    for line in lines:  # not `yield from`, which would close the caller's stream with the generator
        if first:
            first = False
            if line.startswith("\ufeff"):  # (a CutLine, which is no text of the file, never does)
                line = line[1:]
        yield line


@attrs.frozen
class BadRecord:
    """A record the csv module rejected: why, and its first physical line."""

    reason: str
    first_line: str

    def cells(self, delimiter: str) -> list[str]:
        """The first line read leniently, to show the case id of the row."""
        try:
            return next(csv.reader([self.first_line], delimiter=delimiter), [])
        except csv.Error:
            return []


def csv_problem(reason: str, delimiter: str) -> str:
    sep = delimiter_name(delimiter)
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


def read_layout(
    header: list[str], kb: Knowledge, passthrough: tuple[str, ...] = (), *, name: str = "the input", csv_output: bool = True,
    ignore: tuple[str, ...] = (), encoding: str = DEFAULT_ENCODING,
) -> Layout:
    """Check the header row and map its columns; BatchError for a problem with the whole file.
    A passed-through column named like a column of the CSV output is refused only for that
    output (``csv_output``): JSON keeps passed-through columns apart, under "passthrough".
    An ignored column is read as no column at all, a finding's or the case id's too."""
    header = list(header)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if header and header[0].startswith(("\udcff\udcfe\x00\x00", "\x00\x00\udcfe\udcff")):
        raise BatchError(f"{name} is UTF-32: pass --encoding utf-32, or save it as 'CSV UTF-8'")
    if header and header[0].startswith(("\udcff\udcfe", "\udcfe\udcff")):
        raise BatchError(f"{name} is UTF-16 (Excel 'Unicode Text'): pass --encoding utf-16, or save it as 'CSV UTF-8'")
    for cell in header:
        if "\x00\x00\x00" in cell:
            raise BatchError(f"{name}: the header contains runs of three NUL bytes, so the file is UTF-32 text: "
                             "pass --encoding utf-32 (utf-32-le or utf-32-be without a byte-order mark), or save it as 'CSV UTF-8'")
        if "\x00" in cell:
            raise BatchError(
                f"{name}: the header contains NUL bytes, so the file is not text in the encoding it was read with; if it is "
                "UTF-16 (Excel 'Unicode Text'), pass --encoding utf-16, if UTF-32, --encoding utf-32, or save it as 'CSV UTF-8'"
            )
        if text_problem(cell, encoding):
            raise BatchError(
                f"{name}: the header is not valid {encoding_label(encoding)} text ({quoted(cell)}); "
                f"pass the file's encoding with --encoding ({other_encodings(encoding)})"
            )
    keys = [normalise_column(h) for h in header]
    keep = {normalise_column(p): p for p in passthrough}
    left_out = {normalise_column(p): p for p in ignore}
    both = [p for k, p in keep.items() if k in left_out]
    if both:
        raise BatchError(f"--passthrough {both[0]} and --ignore {left_out[normalise_column(both[0])]}: a column is either "
                         "copied to the output or left out; give one of them")
    known = set(kb.features) | {CASE_ID}
    named = [k for k in keys if k]
    misspelt = sum(1 for k in named if closest(k, sorted(known)))
    if not any(k in known or k in keep or k in left_out for k in named) and not (named and 2 * misspelt >= len(named)):
        # a data row, or another sheet; a header whose names are mostly misspelt goes on,
        # to be told the columns it probably meant
        shown = ", ".join(repr(h) for h in header[:3]) + (", ..." if len(header) > 3 else "")
        raise BatchError(
            f"{name}: the first line is not a header: none of its cells ({shown}) names a column; "
            "the first line must name the columns (case_id, age, sex, ...); `ddx template` writes it"
        )
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if not k or k in left_out:
            seen.setdefault(k, i)
            continue
        if k in seen:
            j = seen[k]
            if header[j].strip() == header[i].strip():
                raise BatchError(
                    f"{name}: column {header[i]!r} appears twice in the header (columns {j + 1} and {i + 1}); "
                    "remove or rename one"
                )
            raise BatchError(
                f"{name}: columns {j + 1} ({header[j]!r}) and {i + 1} ({header[i]!r}) both name {k}; "
                "remove or rename one"
            )
        seen[k] = i
    unknown = [i for i, k in enumerate(keys) if k and k not in known and k not in keep and k not in left_out]
    if unknown:
        parts = []
        for i in unknown[:SHOWN_COLUMNS]:
            guess = meant_column(keys[i], known)
            # what reads as a Latin letter or nothing at all (a Cyrillic 'о', a zero-width space) is named
            odd = sorted({c for c in header[i] if not c.isascii() and not unicodedata.name(c, "").startswith("LATIN")})
            notes = ([f"did you mean {guess!r}?"] if guess else []) + (
                [f"it holds {', '.join(f'U+{ord(c):04X}' for c in odd[:3])}, which {'is' if len(odd) == 1 else 'are'} "
                 f"no Latin letter{'' if len(odd) == 1 else 's'}"] if odd and guess else [])
            parts.append(quoted(header[i]) + (f" ({' '.join(notes)})" if notes else ""))
        if len(unknown) > SHOWN_COLUMNS:
            parts.append(f"and {len(unknown) - SHOWN_COLUMNS:,} more")
        raise BatchError(
            f"{name}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(parts)}; "
            "see `ddx features` for the columns; copy a column to the output as it is with --passthrough NAME, "
            "or leave it out with --ignore NAME"
        )
    for option, given in (("--passthrough", keep), ("--ignore", left_out)):
        missing = [p for k, p in given.items() if k not in seen]
        if missing:
            raise BatchError(f"{option} {missing[0]}: there is no such column in the header of {name}")
    if CASE_ID in keep:
        raise BatchError(f"--passthrough {keep[CASE_ID]}: the case id is copied to the output already; leave the option out")
    clash = [p for k, p in keep.items() if csv_output and (k in render.CSV_COLUMNS or re.fullmatch(r"(candidate|probability)_\d+", k))]
    if clash:
        raise BatchError(f"--passthrough {clash[0]}: it would clash with the output column of that name; rename the column "
                         f"in the input (e.g. source_{clash[0]}) to keep it, or leave it out with --ignore {clash[0]}")
    return Layout(
        header=tuple(header),
        features=tuple((i, kb.features[k]) for i, k in enumerate(keys) if k in kb.features and k not in left_out),
        case_index=seen.get(CASE_ID) if CASE_ID not in left_out else None,
        passthrough=tuple(i for i, k in enumerate(keys) if k in keep),
        unnamed=tuple(i for i, k in enumerate(keys) if not k),
    )


def check_delimiter(delimiter: str | None) -> None:
    """BatchError naming a separator given by hand that cannot separate cells: more than one
    character, a quote or a line end, or what the names and values are made of ('c' splits 'cord')."""
    if delimiter is None:
        return
    if len(delimiter) != 1:
        raise BatchError(f"--delimiter {delimiter!r}: give a single character such as ',' or ';' (or 'tab')")
    if delimiter in '"\r\n':
        raise BatchError(f"--delimiter {delimiter!r}: a quote or a line end cannot separate cells; give a character such as ',' or ';' (or 'tab')")
    if delimiter.isalnum() or delimiter in "_-.":
        raise BatchError(f"--delimiter {delimiter!r}: it is part of the column names and values; give a character "
                         "such as ',' or ';' (or 'tab')")


def sniff_delimiter(first_line: str) -> str:
    """',' unless the header has no comma but a ';' (spreadsheets in many locales) or a tab."""
    if "," in first_line:
        return ","
    for d in SNIFFED:
        if d in first_line:
            return d
    return ","


#: Excel's first line naming the separator ("sep=;"), which it writes and reads in place of a
#: header: read as the separator, and skipped.
SEP_LINE = re.compile(r"sep=([^\r\n\"])", re.IGNORECASE)


def parse_delimiter(text: str | None) -> str | None:
    """A --delimiter as given: 'tab' (any case) or a backslash-t is the tab character."""
    if text is None:
        return None
    return "\t" if text.lower() in ("tab", "\\t") else text


def delimiter_name(delimiter: str) -> str:
    """'tab', or the character in quotes, as the messages name a separator."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def _empty(name: str) -> BatchError:
    return BatchError(f"{name} is empty: the first line must name the columns (case_id, age, sex, ...); `ddx template` writes it")


def read_header(records: Records, rows: Iterator, name: str, encoding: str, delimiter: str | None) -> list[str]:
    """The header's cells, read from ``rows`` (an iterator over ``records``, left at the first
    data row), with the separator set: the one Excel's sep= line names (that line is skipped),
    else ``delimiter``, else the one the header uses. BatchError when there is no header, the
    file is UTF-8 read as another encoding, or the separator given does not split the header."""
    first = records.first_line()
    if first is None:
        raise _empty(name)
    mark = utf8_mark_read_as(encoding)
    if mark and first.startswith(mark):
        # read on, every accented letter would be garbled (é as Ã©) without a word
        raise BatchError(
            f"{name} starts with a UTF-8 byte-order mark, so it is UTF-8 text, not {encoding}: "
            "leave out --encoding (the default reads UTF-8 with or without the mark)"
        )
    sep = SEP_LINE.fullmatch(first.lstrip("\ufeff").rstrip("\r\n"))
    if sep and delimiter is not None and sep.group(1) != delimiter:
        raise BatchError(
            f"{name}: its first line ({first.strip()}) says the cells are separated by {delimiter_name(sep.group(1))}, "
            f"but --delimiter gives {delimiter_name(delimiter)}: leave the option out, or give --delimiter {delimiter_name(sep.group(1))}"
        )
    if sep:
        records.set_delimiter(sep.group(1))
    elif delimiter is None:
        records.set_delimiter(sniff_delimiter(first))
    header = None
    sep_line = first.strip().lstrip("\ufeff") if sep else None
    for line, cells in rows:
        if isinstance(cells, BadRecord):
            raise BatchError(f"{name}: the header (line {line}) cannot be read: {cells.reason}")
        if cells and sep:
            sep = None  # the separator line is no header
        elif cells:
            header = cells
            break
    if header is None and sep_line is not None:
        raise BatchError(f"{name} has no header after its first line ({sep_line}): the line after it must name the columns "
                         "(case_id, age, sex, ...); `ddx template` writes it")
    if header is None:
        raise _empty(name)
    if delimiter is not None and len(header) == 1:
        # a separator given by hand that the header does not use: say so, rather than
        # that the first line is not a header or names an unknown column
        other = next((d for d in (",", ";", "\t") if d != delimiter and d in header[0]), None)
        if other is not None:
            raise BatchError(
                f"{name}: the header is one cell when split at --delimiter {delimiter_name(delimiter)}, but it is separated by "
                f"{delimiter_name(other)}: pass --delimiter {delimiter_name(other)}, or leave the option out (',', ';' and tab are found by themselves)"
            )
    return header
