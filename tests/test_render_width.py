"""The table for a person wraps to a terminal's width and loses nothing in the wrapping."""

from __future__ import annotations

import re
import sys

import pytest

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ddx.cli import cli
from ddx.engine import assess
from ddx.findings import parse_findings
from ddx.render import MIN_TABLE_WIDTH, render_table
from strategies import KB, cells

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _words(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


def _cells(text: str) -> list[list[str]]:
    """The candidates table's cells, row by row, each cell's lines joined: the columns are where
    the rule under the header has its dashes, and a row starts where '#' has its number."""
    lines = ANSI.sub("", text).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("---"))
    spans = [m.span() for m in re.finditer(r"-+", lines[at])]
    rows: list[list[list[str]]] = []
    for line in lines[at + 1:]:
        if not line.strip():
            break
        pieces = [line[a:b if k < len(spans) - 1 else None].strip() for k, (a, b) in enumerate(spans)]
        if pieces[0]:
            rows.append([[] for _ in spans])
        for cell, piece in zip(rows[-1], pieces):
            if piece:
                cell.append(piece)
    return [[" ".join(cell) for cell in row] for row in rows]


def _after_table(text: str) -> str:
    return _words(ANSI.sub("", text).split("\n---", 1)[1].split("\n\n", 1)[1])


@settings(max_examples=60)
@given(cells(), st.sampled_from([MIN_TABLE_WIDTH, 72, 80, 100, 132]), st.integers(1, 8), st.booleans())
def test_every_line_fits_and_every_word_stays(found, width, top, color):
    """No line is wider than the width (colour codes take no room on screen), and the wrapped
    table says what the whole-line table says: the same compartment line, the same cells row by
    row (a reason too long for its column may be cut within a word), the same flags and questions."""
    a = assess(parse_findings(found, KB), KB)
    wrapped = render_table(a, top=top, color=color, width=width)
    assert max(len(ANSI.sub("", line)) for line in wrapped.splitlines()) <= width
    whole = render_table(a, top=top, color=color)
    assert _words(wrapped.split("\n\n", 1)[0]) == _words(whole.split("\n\n", 1)[0])
    squeezed = [[cell.replace(" ", "") for cell in row] for row in _cells(wrapped)]
    assert squeezed == [[cell.replace(" ", "") for cell in row] for row in _cells(whole)]
    assert [row[1] for row in _cells(wrapped)] == [row[1] for row in _cells(whole)]
    assert _after_table(wrapped) == _after_table(whole)


def test_a_dont_miss_mark_and_a_gain_are_never_split():
    a = assess(parse_findings({"level": "lumbar", "conus_cauda": "yes", "segments": "2", "age": "65"}, KB), KB)
    for width in range(MIN_TABLE_WIDTH, 121, 3):
        text = render_table(a, width=width)
        assert "[don't\n" not in text and "[don't " + "\n" not in text
        assert not re.search(r"\(\+\d\.\d\d\n", text), width


def test_the_cli_wraps_to_the_terminal_and_leaves_a_pipe_whole(monkeypatch):
    """At a terminal (COLUMNS sets its width) the table fits it, a column to spare; to a file or a
    pipe, COLUMNS or not, lines stay whole."""
    from ddx import terminal as terminal_module

    args = ["assess", "--level", "lumbar", "--conus-cauda", "yes", "--segments", "2", "--age", "65"]
    piped = CliRunner().invoke(cli, args, env={"COLUMNS": "80"})
    assert piped.exit_code == 0 and max(len(line) for line in piped.output.splitlines()) > 120
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    narrow = CliRunner().invoke(cli, args, env={"COLUMNS": "80"}, color=True)
    assert narrow.exit_code == 0 and "\x1b[" in narrow.output
    assert max(len(ANSI.sub("", line)) for line in narrow.output.splitlines()) <= 79
    tiny = CliRunner().invoke(cli, args, env={"COLUMNS": "20"})
    assert max(len(ANSI.sub("", line)) for line in tiny.output.splitlines()) <= MIN_TABLE_WIDTH


def test_the_guide_ends_with_the_table_at_the_terminal_width(monkeypatch):
    """The running lines wrap as every dialogue line does (_fit); the final table wraps too."""
    from ddx import terminal as terminal_module

    monkeypatch.setattr(terminal_module, "isatty", lambda stream: stream is not sys.stdin)
    monkeypatch.setattr(terminal_module, "to_a_file", lambda stream: False)
    result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "4", "--age", "65", "--known-primary", "yes"],
                                input="displaced\nwidened\nyes\n\n", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.split("Read ended", 1)[1].splitlines()) <= 79


def test_short_reasons_leave_the_names_their_room():
    """The reasons take no more room than they need: with no finding there are none, and at 79
    columns every name but the longest fits on its line."""
    text = render_table(assess(parse_findings({}, KB), KB), width=79)
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    body = lines[rule + 1: lines.index("", rule)]
    assert len(body) <= len(_cells(text)) + 1, body  # one continued name at most
    assert max(len(line) for line in lines) <= 79


@given(cells(max_size=6), st.sampled_from([MIN_TABLE_WIDTH, 66, 72, 79]))
def test_a_name_breaks_after_its_slash_and_the_header_between_its_parts(found, width):
    text = ANSI.sub("", render_table(assess(parse_findings(found, KB), KB), width=width))
    table = text.split("\n\n")[1]
    assert not re.search(r"^\s+/ ", table, re.M)
    assert "(ratio vs the rest)" in table or "(likelihood ratio vs the rest)" in table


def test_explain_at_a_terminal_fits_it(monkeypatch):
    from ddx import terminal as terminal_module

    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    result = CliRunner().invoke(cli, ["explain", "leptomeningeal_metastases", "--top", "4"], env={"COLUMNS": "80"}, color=True)
    assert result.exit_code == 0
    lines = [ANSI.sub("", line) for line in result.output.splitlines()]
    assert max(len(line) for line in lines if not line.lstrip().startswith("http")) <= 79


def test_features_at_a_terminal_fit_it(monkeypatch):
    from ddx import terminal as terminal_module

    piped = CliRunner().invoke(cli, ["features"])
    assert max(len(line) for line in piped.output.splitlines()) > 100
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    for columns in ("61", "81", "101"):
        result = CliRunner().invoke(cli, ["features"], env={"COLUMNS": columns})
        assert result.exit_code == 0 and max(len(line) for line in result.output.splitlines()) <= int(columns) - 1


def test_a_columns_that_is_no_width_leaves_it_to_the_terminal(monkeypatch):
    """COLUMNS of 0, '80x' or a superscript two is no width (as shutil reads it): no failure."""
    from ddx import terminal as terminal_module

    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    for columns in ("0", "80x", "\u00b2", "-5"):
        result = CliRunner().invoke(cli, ["assess", "--cord", "displaced"], env={"COLUMNS": columns})
        assert result.exit_code == 0, (columns, result.output)


def test_a_terminal_of_unknown_size_is_taken_as_80_columns(monkeypatch):
    """A terminal that reports 0 columns (a pseudo-terminal whose size was never set: `script`,
    a container started with -t) has no width to wrap to: ddx takes 80, as shutil and click do,
    rather than squeezing a table to its minimum and a dialogue line to a word or two."""
    import os

    from ddx import terminal as terminal_module

    monkeypatch.setattr(terminal_module, "isatty", lambda stream: stream is not sys.stdin)
    monkeypatch.setattr(terminal_module, "to_a_file", lambda stream: False)
    monkeypatch.setattr(os, "get_terminal_size", lambda *fd: os.terminal_size((0, 0)))
    assert terminal_module.terminal_width() == 79
    result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "1"], input="widened\n", env={"COLUMNS": ""})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Guided read: one question at a time, the most informative first." in lines
    assert max(len(line) for line in lines) <= 79


def test_a_batch_record_does_not_load_the_wrapping():
    import subprocess

    code = "import sys, ddx.batch, ddx.render; from ddx import assess; ddx.render.to_record(assess(cord='displaced')); print('textwrap' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_kb_check_wraps_its_prose_at_a_terminal(monkeypatch):
    from ddx import terminal as terminal_module

    piped = CliRunner().invoke(cli, ["kb", "check", "--notes"])
    assert piped.exit_code == 0 and max(len(line) for line in piped.output.splitlines()) > 200
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    for args in (["kb", "check"], ["kb", "check", "--notes"]):
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "80"})
        assert result.exit_code == 0 and max(len(line) for line in result.output.splitlines()) <= 79


def test_entities_at_a_narrow_terminal_carry_the_marks_in_the_name(monkeypatch):
    """Too narrow for the whole table, the don't-miss and mimic marks move into the name; nothing is lost."""
    from ddx import terminal as terminal_module

    piped = CliRunner().invoke(cli, ["entities"])
    assert max(len(line) for line in piped.output.splitlines()) > 100 and "DON'T MISS" in piped.output
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    result = CliRunner().invoke(cli, ["entities"], env={"COLUMNS": "80"}, color=True)
    lines = [ANSI.sub("", line) for line in result.output.splitlines()]
    assert result.exit_code == 0 and max(len(line) for line in lines) <= 79
    text = " ".join(" ".join(lines).split())
    for e in KB.entities:
        assert e.id in text
    assert text.count("[don't miss]") == sum(e.dont_miss for e in KB.entities)
    assert text.count("[mimic]") == sum(e.mimic for e in KB.entities)
    wide = CliRunner().invoke(cli, ["entities"], env={"COLUMNS": "140"})
    assert "DON'T MISS" in wide.output


def test_a_dialogue_line_never_splits_a_dont_miss_mark(monkeypatch):
    """The guide's running line names a don't-miss leader with its mark; at a terminal the mark
    stays on one line, as it does in the table."""
    from ddx import terminal as terminal_module
    from ddx.guide import summary

    line = summary(assess(parse_findings({"cord": "expanded", "csf": "effaced"}, KB), KB), color=True)
    assert "[don't miss]" in line
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
    for columns in range(40, 100):
        monkeypatch.setenv("COLUMNS", str(columns))
        fitted = ANSI.sub("", terminal_module.fit(line, False))
        assert "[don't\n" not in fitted, columns
        assert _words(fitted) == _words(line)


@pytest.mark.parametrize("args", [["assess", "--level", "L5-S1"], ["assess", "--enhancement", "rimm"], ["explain", "osteosarcomma"]])
def test_an_error_at_a_terminal_wraps_to_its_width(monkeypatch, capsys, args):
    """click writes an error as one line (156 characters for a junction); at a terminal it wraps
    like every other line ddx shows there, continuing indented; a pipe still gets it whole."""
    from ddx import terminal as terminal_module
    from ddx.process import main

    monkeypatch.setenv("COLUMNS", "64")
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: stream is sys.stderr)
    assert main(args) == 2
    wrapped = capsys.readouterr().err
    assert max(len(line) for line in wrapped.splitlines()) <= 63
    monkeypatch.setattr(terminal_module, "isatty", lambda stream: False)
    assert main(args) == 2
    whole = capsys.readouterr().err
    assert any(len(line) > 63 for line in whole.splitlines())
    assert " ".join(wrapped.split()) == " ".join(whole.split())
