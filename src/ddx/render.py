"""Formats for people (table, markdown) and for scripts (JSON records)."""

from __future__ import annotations

import json
import math
import operator
import re
from typing import Any

from . import DISCLAIMER
from .assessment import Assessment, Candidate, Flag, NextFinding, percent, ratio_text
from .knowledge import COMPARTMENT_NAMES

#: How a don't-miss candidate is marked in text, so the mark does not rely on colour.
DONT_MISS_TAG = "[don't miss]"
_ANSI = {"red": "\033[1;31m", "yellow": "\033[1;33m", "cyan": "\033[36m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


#: A colour code as paint writes it: it takes no room on the screen.
_CODE = re.compile("\033\\[[0-9;]*m")
#: Stands for a space that a wrapped line must not break at.
_GLUE = "\x00"


def _keep(text: str) -> str:
    """``text`` kept on one line when wrapped ('[don't miss]', 'intramedullary 3.7%')."""
    return text.replace(" ", _GLUE)


def shown_width(line: str) -> int:
    """How many columns ``line`` takes on the screen: its colour codes take none."""
    return len(_CODE.sub("", line))


def fit_painted(line: str, width: int, hang: str) -> list[str]:
    """One line, painted or not, wrapped at its spaces to ``width`` columns on the screen (a colour
    code takes none), the later lines starting with ``hang``; a word wider than the width, or
    what _keep holds together, keeps its own line. A "[don't miss]" mark is never split."""
    body = line.replace(DONT_MISS_TAG, _keep(DONT_MISS_TAG)).lstrip(" ")
    lines, current = [], line[: len(line) - len(body)]
    for word in body.split(" "):
        joined = f"{current} {word}" if current.strip() else current + word
        if shown_width(joined) <= width or not current.strip():
            current = joined
        else:
            lines.append(current.rstrip(" "))
            current = hang + word
    return [out.replace(_GLUE, " ") for out in lines + [current.rstrip(" ")]]


def paint(text: str, style: str, color: bool) -> str:
    return f"{_ANSI[style]}{text}{_RESET}" if color else text


#: JSON probabilities carry this many decimals: every one is the posterior
#: rounded, the same number wherever it appears (a candidate and its flag).
#: Rounding n candidates moves their sum by at most n * 5e-9, inside
#: output.md's 1e-6 for up to 200 candidates.
DIGITS = 8


def _probability(p: float) -> float:
    return round(p, DIGITS)


#: A likelihood ratio in JSON keeps at least this many significant digits: three decimals
#: alone would turn a ratio of 0.00071 (the text's "1407x less likely") into 0.001.
RATIO_DIGITS = 3


def ratio_value(ratio: float) -> float:
    """A likelihood ratio for a JSON record: three decimals, and at least RATIO_DIGITS
    significant digits however small it is, so that it says what its text says."""
    if ratio <= 0 or not math.isfinite(ratio):
        return ratio
    return round(ratio, max(3, RATIO_DIGITS - 1 - math.floor(math.log10(ratio))))


def _reason(r) -> dict[str, Any]:
    return {"feature": r.feature, "value": r.value, "ratio": ratio_value(r.ratio), "text": r.text}


def _flag(f: Flag) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "entity": f.entity,
        "probability": None if f.probability is None else _probability(f.probability),
        "message": f.message,
        "action": f.action,
    }


def _question_record(n: NextFinding) -> dict[str, Any]:
    return {"feature": n.feature, "gain": round(n.gain, 4), "why": n.why}


def to_record(a: Assessment, *, row: int | None = None) -> dict[str, Any]:
    """The JSON record of one assessment (the scripts' contract, output.md, which the user guide
    describes field by field); ``row``, the 1-based data row number, as batch gives it."""
    _check_assessment(a)
    if row is not None:
        row = _check_row(row)
    compartments = [_probability(c.probability) for c in a.compartments]
    candidates = [_probability(c.probability) for c in a.candidates]
    record: dict[str, Any] = {"case_id": a.case_id}
    if row is not None:
        record["row"] = row
    record.update(
        {
            "compartment": a.compartment,
            "compartment_probability": compartments[0],
            "compartments": [{"id": c.id, "probability": p} for c, p in zip(a.compartments, compartments)],
            "candidates": [
                {
                    "id": c.id,
                    "name": c.name,
                    "compartment": c.compartment,
                    "probability": p,
                    "dont_miss": c.dont_miss,
                    "for": [_reason(r) for r in c.reasons_for],
                    "against": [_reason(r) for r in c.reasons_against],
                }
                for c, p in zip(a.candidates, candidates)
            ],
            "flags": [_flag(f) for f in a.flags],
            "conflicts": list(a.conflicts),
            "findings": a.findings.as_text(),
            "next_findings": [_question_record(n) for n in a.next_findings],
            "history_questions": [_question_record(n) for n in a.history_questions],
            "error": None,
        }
    )
    return record


def error_record(
    *, row: int | None, case_id: str | None, column: str | None, value: str | None, message: str, flags: tuple[Flag, ...] = (),
) -> dict[str, Any]:
    """The record of a row that could not be read: no compartment, no candidates; ``flags``
    holds what its readable cells still raise (cord compression)."""
    record: dict[str, Any] = {"case_id": case_id}
    if row is not None:
        record["row"] = row
    record.update(
        {
            "compartment": None,
            "compartment_probability": None,
            "compartments": [],
            "candidates": [],
            "flags": [_flag(f) for f in flags],
            "conflicts": [],
            "findings": {},
            "next_findings": [],
            "history_questions": [],
            "error": {"column": column, "value": value, "message": message},
        }
    )
    return record


def render_json(a: Assessment) -> str:
    return json.dumps(to_record(a), indent=2, ensure_ascii=False)


#: The reasons cell of a candidate that no given finding weighs much for or against: said, so
#: that an empty cell is not read as a row left out (its rank is then the priors' and the sum
#: of findings each too slight to name).
NO_REASON = "(no single finding stands out either way)"


def _why_bits(c: Candidate, n: int = 3, given: bool = True) -> list[str]:
    """The ``n`` strongest findings for a candidate, then those against it to fill ``n``: at least
    one against when there is one, so a candidate's table line may hold ``n`` + 1; NO_REASON
    when findings were ``given`` and none weighs much."""
    bits = [f"+ {r.label} {ratio_text(r.ratio)}" for r in c.reasons_for[:n]]
    room = max(n - len(bits), 1)
    bits += [f"- {r.label} {ratio_text(r.ratio)}" for r in c.reasons_against[:room]]
    return bits or ([NO_REASON] if given else [])


def _why(c: Candidate, n: int = 3, given: bool = True) -> str:
    return "; ".join(_why_bits(c, n, given))


#: The narrowest width a table for a person is wrapped to: narrower, its columns would be
#: too thin to read (a narrower terminal wraps the lines itself).
MIN_TABLE_WIDTH = 60
#: What the candidates table spends outside its two text columns: the '#' and 'P' columns
#: (3 and 4 wide) and the three gaps of two between the four columns.
_TABLE_FRAME = 13
_WHY_HEADER = "strongest findings (likelihood ratio vs the rest)"
_WHY_HEADER_SHORT = "strongest findings (ratio vs the rest)"
#: The short header wraps only between these two, each kept whole.
_HEADER_TAIL = "(ratio vs the rest)"
_HEADER_TAIL_WIDTH = len(_HEADER_TAIL)
#: The names and the reasons share the width in the way that takes the fewest lines (a name
#: wrapped counting double), the reasons keeping at least _MIN_WHY (about two a line) and the
#: names at least _MIN_NAME.
_MIN_WHY = 36
_MIN_NAME = 20


def _packed(bits: list[str], width: int) -> str:
    """The reasons joined by '; ', a new line started rather than one split: a reason is read whole."""
    import textwrap  # only a table for a terminal wraps: records and batch rows never load it

    lines: list[str] = []
    for bit in bits:
        if lines and len(lines[-1]) + 2 + len(bit) < width:  # room for the ';' a next line adds
            lines[-1] += f"; {bit}"
        else:
            if lines:
                lines[-1] += ";"
            # a reason wider than the column (a long list of levels) wraps within itself
            lines += textwrap.wrap(bit, max(width - 1, 1), subsequent_indent="  ", break_on_hyphens=False) or [bit]
    return "\n".join(lines)


def _candidates_table(candidates: tuple[Candidate, ...], width: int | None, given: bool = True) -> str:
    """The ranked candidates with their probability and strongest reasons (``given``: whether any
    finding was); with ``width``, the names and the reasons wrap so that no line is longer."""
    from tabulate import tabulate

    if width is None:
        rows = [[i, _tagged(c), percent(c.probability), _why(c, given=given)] for i, c in enumerate(candidates, 1)]
        return tabulate(rows, headers=["#", "candidate", "P", _WHY_HEADER], tablefmt="simple")
    room = width - _TABLE_FRAME
    # a name breaks after a slash rather than before it (fit_painted keeps its mark whole)
    names = [_tagged(c).replace(" / ", _GLUE + "/ ") for c in candidates]
    bits = [_why_bits(c, given=given) for c in candidates]

    def cells(name_width: int) -> list[tuple[list[str], str]]:
        why_width = room - name_width  # a name is at least _MIN_NAME wide, wider than its header
        return [(_wrapped(name, name_width), _packed(why, why_width)) for name, why in zip(names, bits)]

    def lines(layout) -> int:
        # a name is read at a glance: each line it wraps onto counts twice
        return sum(max(len(name), why.count("\n") + 1) + len(name) - 1 for name, why in layout)

    # the reasons need no more room than their longest line whole, nor less than the short
    # header's two lines (tabulate pads a header by two)
    needed = max(min(_MIN_WHY, max(len("; ".join(b)) for b in bits)), _HEADER_TAIL_WIDTH + 2)
    widest = max(_MIN_NAME, min(max(len(n) for n in names), room - needed))
    layout = min((cells(w) for w in range(widest, _MIN_NAME - 1, -1)), key=lines)
    rows = [[i, "\n".join(name), percent(c.probability), why] for i, (c, (name, why)) in enumerate(zip(candidates, layout), 1)]
    name_column = max(len("candidate") + 2, *(len(line) for name, _ in layout for line in name))
    header_room = room - name_column - 2
    header = _WHY_HEADER if len(_WHY_HEADER) <= header_room else _WHY_HEADER_SHORT
    header = "\n".join(_wrapped(header.replace(_HEADER_TAIL, _keep(_HEADER_TAIL)), header_room))
    return tabulate(rows, headers=["#", "candidate", "P", header], tablefmt="simple")


def _wrapped(text: str, width: int | None, indent: str = "", hang: str = "") -> list[str]:
    """``text`` (painted or not, starting with ``indent``) as lines of at most ``width`` on the
    screen, the later ones starting with ``hang``; one line when ``width`` is None."""
    if width is None:
        return [(indent + text).replace(_GLUE, " ")]
    return fit_painted(indent + text, width, hang)


def _other_compartments(a: Assessment) -> list[str]:
    """The compartments after the first, each with its probability: 'extradural 5.1%'."""
    return [f"{COMPARTMENT_NAMES[c.id].lower()} {percent(c.probability)}" for c in a.compartments[1:]]


def _compartment_lines(a: Assessment, color: bool, width: int | None = None) -> list[str]:
    head = COMPARTMENT_NAMES[a.compartment]
    others = ", ".join(_keep(share) for share in _other_compartments(a))
    return _wrapped(f"{paint('Compartment:', 'bold', color)} {paint(head, 'cyan', color)} "
                    f"{percent(a.compartment_probability)}  ({others})", width, hang="  ")


#: Said under the differential when no finding was given: which priors these are.
PRIORS_NOTE = ("No findings given: these are the priors ddx starts from (the reference population's, with the "
               "spread within each compartment flattened; --priors registry gives them as they are; "
               "`ddx entities` shows both).")
REGISTRY_PRIORS_NOTE = ("No findings given: these are the reference population's priors as priors.csv gives them "
                        "(--priors registry; the default flattens them within each compartment; `ddx entities` "
                        "shows both).")


def _priors_note(a: Assessment) -> str:
    return REGISTRY_PRIORS_NOTE if a.prior_flattening == 1 else PRIORS_NOTE


def split_note(a: Assessment) -> str | None:
    """When the likeliest single candidate lies outside the likeliest compartment (whose
    probability is shared among more candidates), a line that says so: the first line and the
    first row would otherwise seem to disagree."""
    from .names import short_name

    first = a.candidates[0]
    if not a.findings.values or first.compartment == a.compartment:
        return None
    return (f"The likeliest single candidate, {short_name(first.name)}, is {COMPARTMENT_NAMES[first.compartment].lower()}: "
            f"the {COMPARTMENT_NAMES[a.compartment].lower()} {percent(a.compartment_probability)} is shared among more candidates.")


def _in(a: Assessment, compartment: str) -> float:
    return next(c.probability for c in a.compartments if c.id == compartment)


def other_priors_note(a: Assessment, other: Assessment, option: str, min_ratio: float = 1.25) -> str | None:
    """A line for when the same findings, scored with the other priors (``option``: what the
    command line calls them), put another candidate first, or the lesion in another compartment,
    at least ``min_ratio`` times as likely there as this one's (a near-tie there is no news):
    which, with the figures of both in both. None otherwise."""
    from .names import short_name

    if not a.findings.values:
        return None
    mine, theirs = a.candidates[0], other.candidates[0]
    leader = mine.id != theirs.id and theirs.probability >= min_ratio * other.probability(mine.id)
    here, there = a.compartment, other.compartment
    moved = here != there and other.compartment_probability >= min_ratio * _in(other, here)
    if not leader and not moved:
        return None
    parts = []
    if moved:
        parts.append(f"the lesion would read as {COMPARTMENT_NAMES[there].lower()} ({percent(other.compartment_probability)}; "
                     f"here {percent(_in(a, there))}, against {COMPARTMENT_NAMES[here].lower()} "
                     f"{percent(a.compartment_probability)})")
    if leader:
        parts.append(f"{short_name(theirs.name)} would lead at {percent(theirs.probability)} and {short_name(mine.name)} "
                     f"would have {percent(other.probability(mine.id))} (here {percent(a.probability(theirs.id))} and "
                     f"{percent(mine.probability)})")
    why = ("the default priors are fitted to published cases, which over-represent rare entities, so they raise those "
           "within each compartment; a routine list meets the common ones more often" if other.prior_flattening == 1 else
           "those priors are fitted to published cases, which over-represent rare entities, so they raise those within "
           "each compartment; these rank the entities as a routine list meets them")
    return f"Priors matter here: with {option}, {', and '.join(parts)}: {why}."


def flag_text(f: Flag) -> str:
    """A flag's message, with the probability a rule's flag rests on (a syndrome's tumour) when it
    rests on one: a don't-miss flag's message gives its own."""
    return f"{f.message} ({percent(f.probability)} here)" if f.entity is None and f.probability is not None else f.message


def _flag_lines(a: Assessment, color: bool, width: int | None = None) -> list[str]:
    lines = []
    for f in a.flags:
        label = f"!! {f.label}"
        style = "red" if f.urgent else "yellow"
        lines += _wrapped(f"{paint(label, style, color)}  {flag_text(f)}", width, hang=" " * (len(label) + 2))
        lines += _wrapped(f"-> {f.action}", width, indent="   ", hang="      ")
    return lines


def _next_line(n, *, code: bool = True) -> str:
    """One next best finding: its option, the expected gain and why (from questions.py)."""
    why = n.why.split(": ", 1)[-1]
    head = f"{'--' + n.feature.replace('_', '-'):<24} " if code else ""
    return f"{head}{why} (+{n.gain:.2f} bits)"


def _gain_kept(line: str) -> str:
    """A next-finding line whose closing '(+0.53 bits)' stays on one line when wrapped."""
    head, _, gain = line.rpartition(" (+")
    return f"{head} {_keep('(+' + gain)}"


def _check_assessment(a: Any) -> None:
    """The renderers take what ddx.assess returns; anything else is named, not failed on deep inside."""
    if not isinstance(a, Assessment):
        raise TypeError(f"an Assessment (what ddx.assess returns) is rendered, not {type(a).__name__}")


def _counting(value: Any) -> int:
    """``value`` as a whole number of 1 or more (a numpy integer is one; True is not), else 0."""
    try:
        number = operator.index(value)
    except TypeError:
        return 0
    return 0 if isinstance(value, bool) else number


def _check_top(top: int) -> None:
    """``top`` must be a count of candidates, 1 or more."""
    if _counting(top) < 1:
        raise ValueError(f"top is the number of candidates shown, 1 or more, not {top!r}")


def _check_row(row: int) -> int:
    """``row`` is output.md's 1-based data row number."""
    number = _counting(row)
    if number < 1:
        raise ValueError(f"row is the 1-based data row number (1 for the first row after the header), not {row!r}")
    return number


def render_table(a: Assessment, *, top: int = 5, color: bool = False, width: int | None = None, notes: tuple[str, ...] = ()) -> str:
    """The human view: compartment first, then candidates and reasons, then the flags and any
    ``notes``. With ``width`` (a terminal's, at least 60 columns), every line wraps to it;
    without, lines stay whole."""
    _check_assessment(a)
    _check_top(top)
    if width is not None:
        if _counting(width) < 1:
            raise ValueError(f"width is the columns of a terminal, 1 or more (or None for whole lines), not {width!r}")
        width = max(width, MIN_TABLE_WIDTH)

    parts = [*_compartment_lines(a, color, width), "", _candidates_table(a.candidates[:top], width, bool(a.findings.values))]
    split = split_note(a)
    if split:
        parts += ["", *_wrapped(split, width)]
    if a.case_id:
        parts = [f"{paint('Case:', 'bold', color)} {_printable(a.case_id)}"] + parts
    if not a.findings.values:
        parts += ["", *_wrapped(_priors_note(a), width)]
    if a.conflicts:
        parts += [""] + [paint(line, "yellow", color) for c in a.conflicts for line in _wrapped(c, width, hang="  ")]
    flags = _flag_lines(a, color, width)
    if flags:
        parts += ["", paint("Flags", "bold", color)] + flags
    for note in notes:
        parts += ["", *_wrapped(note, width)]
    for title, questions in (("Next best findings", a.next_findings), ("Worth asking the history", a.history_questions)):
        if questions:
            parts += ["", paint(title, "bold", color)]
            parts += [line for n in questions for line in _wrapped(_gain_kept(_next_line(n)), width, indent="  ", hang=" " * 27)]
    parts += ["", *(paint(line, "dim", color) for line in _wrapped(DISCLAIMER, width))]
    return "\n".join(parts)


def _printable(text: str) -> str:
    """Text as one printable line: a newline, a carriage return or a control character is written as its escape."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _code_span(text: str) -> str:
    """A markdown code span that holds ``text`` whatever backticks it contains."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _tagged(c: Candidate) -> str:
    return f"{c.name} {DONT_MISS_TAG}" if c.dont_miss else c.name


def render_markdown(a: Assessment, *, top: int = 5, notes: tuple[str, ...] = ()) -> str:
    """The answer as Markdown, for notes: the table's content, with the flags as a list."""
    from tabulate import tabulate

    _check_assessment(a)
    _check_top(top)

    lines = [f"**Case:** {_code_span(_printable(a.case_id))}", ""] if a.case_id else []
    lines += [f"**Compartment:** {COMPARTMENT_NAMES[a.compartment]} {percent(a.compartment_probability)} ({', '.join(_other_compartments(a))})", ""]
    rows = [[i, _tagged(c), percent(c.probability), _why(c, given=bool(a.findings.values))] for i, c in enumerate(a.candidates[:top], 1)]
    lines.append(tabulate(rows, headers=["#", "Candidate", "P", "Strongest findings"], tablefmt="github"))
    split = split_note(a)
    if split:
        lines += ["", split]
    if not a.findings.values:
        lines += ["", _priors_note(a)]
    if a.conflicts:
        lines += [""] + [f"> {c}" for c in a.conflicts]
    if a.flags:
        lines += ["", "**Flags**", ""]
        lines += [f"- **{f.label}** {flag_text(f)} *Next:* {f.action}" for f in a.flags]
    for note in notes:
        lines += ["", note]
    if a.next_findings:
        lines += ["", "**Next best findings**", ""]
        lines += [f"- `{n.feature}` {_next_line(n, code=False)}" for n in a.next_findings]
    if a.history_questions:
        lines += ["", "**Worth asking the history**", ""]
        lines += [f"- `{n.feature}` {_next_line(n, code=False)}" for n in a.history_questions]
    lines += ["", f"*{DISCLAIMER}*"]
    return "\n".join(lines)


# -- batch: CSV and NDJSON ------------------------------------------------------

#: The columns of `batch --format csv` before the candidates and after them (output.md).
CSV_COLUMNS = ("row", "case_id", "compartment", "compartment_probability", "dont_miss", "error")
#: Characters that make a spreadsheet read a cell as a formula (or hide its start).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A cell of input text made safe for a spreadsheet: a leading apostrophe before =, +, -, @, tab, CR
    (after any leading spaces, which some spreadsheets drop)."""
    if text.startswith(FORMULA_START) or text.startswith(" ") and text.lstrip(" ").startswith(FORMULA_START):
        return "'" + text
    return text


def csv_header(top: int = 3, passthrough: tuple[str, ...] = ()) -> list[str]:
    """row, case_id, compartment, compartment_probability, candidate_k, probability_k (k <= top), dont_miss, error, passthrough."""
    head = list(CSV_COLUMNS[:4])
    for k in range(1, top + 1):
        head += [f"candidate_{k}", f"probability_{k}"]
    return head + list(CSV_COLUMNS[4:]) + [neutralise(p) for p in passthrough]


def csv_result_row(
    row: int,
    case_id: str | None,
    compartment: str,
    compartment_probability: float,
    candidates: list[tuple[str, float]],
    dont_miss: list[str],
    passthrough: list[str],
) -> list:
    """One CSV output row of an assessed data row: probabilities as 6-decimal text, input text neutralised."""
    cells: list = [row, neutralise(case_id) if case_id else "", compartment, "%.6f" % compartment_probability]
    for entity, p in candidates:
        cells += [entity, "%.6f" % p]
    cells += [";".join(dont_miss), ""]
    if passthrough:
        cells += [neutralise(p) for p in passthrough]
    return cells


def csv_error_row(row: int, case_id: str | None, error: str, passthrough, top: int = 3) -> list:
    """One CSV output row of a data row that could not be read: blanks but the row, case id and error."""
    return [row, neutralise(case_id) if case_id else "", "", ""] + ["", ""] * top + ["", neutralise(error)] + [neutralise(p) for p in passthrough]


#: Characters some readers take for a line break inside a JSON string (str.splitlines, JavaScript).
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def ndjson_line(record: dict[str, Any]) -> str:
    """One JSON record on one line (NDJSON), UTF-8 text as it is but for characters read as line breaks."""
    text = json.dumps(record, ensure_ascii=False)
    if not text.isascii():
        for char, escaped in _LINE_BREAKS.items():
            text = text.replace(char, escaped)
    return text + "\n"
