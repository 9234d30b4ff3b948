"""ddx.batch as a library: the fast path equals the engine, one record per row whatever the rows, atomic files."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import stat
import threading
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddx import batch, csv_input, engine, files, packed, render
from ddx.errors import BatchError, FindingError, WriteError
from ddx.findings import parse_findings

from strategies import FEATURE_IDS, FEATURES, KB, spelled, value_of

HEADER = ["case_id", *FEATURE_IDS, "note"]


def csv_row_of(a, *, row: int, top: int = 3, passthrough: tuple[str, ...] = ()) -> list:
    """The CSV output row of an engine assessment: what the batch's fast path must reproduce."""
    candidates = [(c.id, c.probability) for c in a.candidates[:top]]
    return render.csv_result_row(row, a.case_id, a.compartment, a.compartment_probability, candidates,
                                 list(a.flagged), list(passthrough))


def run_text(text: str, fmt: str = "csv", **options) -> tuple[batch.Summary, str]:
    out = io.StringIO()
    summary = batch.run(io.StringIO(text, newline=""), out, fmt=fmt, knowledge=KB, **options)
    return summary, out.getvalue()


def to_csv(rows) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def assessor(header=HEADER, top=3, passthrough=("note",)):
    return batch._Assessor(KB, csv_input.read_layout(header, KB, passthrough), "utf-8", top)


@st.composite
def valid_rows(draw):
    """A data row under HEADER: random known findings in any accepted spelling, the rest blank or unknown."""
    row = [draw(st.text(max_size=8))]
    for fid in FEATURE_IDS:
        kind = draw(st.sampled_from(("blank", "unknown", "value", "value", "spelled")))
        if kind == "blank":
            row.append("")
        elif kind == "unknown":
            row.append(draw(st.sampled_from(("unknown", " UNKNOWN "))))
        else:
            value = draw(value_of(fid))
            row.append(draw(spelled(fid, value)) if kind == "spelled" and FEATURES[fid].kind != "integer" else value)
    row.append(draw(st.text(max_size=10)))
    return row


#: Rows of any cells but a lone blank one, which writes a line of spaces: a blank line, skipped
#: as documented rather than a row.
mangled_rows = st.lists(st.text(max_size=12), min_size=1, max_size=len(HEADER) + 3).filter(lambda r: len(r) > 1 or r[0].strip())


class TestFastPathEqualsTheEngine:
    """The CSV fast path gives bit for bit the probabilities and flags of engine.assess."""

    @given(valid_rows())
    def test_posterior_and_what_the_csv_shows(self, row):
        a = assessor(top=5)
        findings = parse_findings(dict(zip(HEADER, row)), KB, passthrough=["note"])
        assert a.findings(row) == findings
        expected = engine.assess(findings, KB)
        assert a.posterior(row) == list(engine.posterior(KB, findings))
        compartment, p, candidates, flagged = a.quick(row)
        assert compartment == expected.compartment
        assert p == expected.compartment_probability
        assert candidates == [(c.id, c.probability) for c in expected.candidates[:5]]
        assert flagged == list(expected.flagged)
        assert a.csv_row(7, row) == csv_row_of(expected, row=7, top=5, passthrough=(row[-1],))

    @given(st.data())
    def test_a_sheet_with_some_picture_signs_and_other_columns_in_any_order(self, data):
        """The picture signs form one block of their own: with only some of them in the
        sheet, in any column order among the other findings, the fast path still equals the engine."""
        signs = data.draw(st.lists(st.sampled_from(KB.picture_signs), min_size=1, unique=True), label="signs")
        others = data.draw(st.lists(st.sampled_from([f for f in FEATURE_IDS if f not in KB.picture_signs]), max_size=6, unique=True))
        columns = data.draw(st.permutations(signs + others), label="columns")
        cells = [data.draw(st.one_of(st.just(""), st.just("unknown"), value_of(fid))) for fid in columns]
        header = ["case_id", *columns]
        a = batch._Assessor(KB, csv_input.read_layout(header, KB), "utf-8", 3)
        row = ["c", *cells]
        findings = parse_findings(dict(zip(header, row)), KB)
        assert a.posterior(row) == list(engine.posterior(KB, findings))
        assert a.csv_row(1, row) == csv_row_of(engine.assess(findings, KB), row=1)

    def test_no_findings_give_the_priors(self):
        row = [""] * len(HEADER)
        assert assessor().posterior(row) == list(engine.posterior(KB, parse_findings({}, KB)))

    def test_the_engine_path_serves_tables_that_cannot_be_packed(self, monkeypatch):
        def refuse(self, kb):
            raise ValueError("not packable")

        monkeypatch.setattr(packed.Packed, "__init__", refuse)
        a = assessor()
        assert a.packed is None
        row = ["c1", *("" for _ in FEATURE_IDS), ""]
        row[HEADER.index("cord")] = "displaced"
        findings = parse_findings({"cord": "displaced", "case_id": "c1"}, KB)
        assert a.csv_row(1, row) == csv_row_of(engine.assess(findings, KB), row=1, passthrough=("",))

    def test_a_bad_cell_names_the_first_bad_column_in_file_order(self):
        a = assessor()
        row = [""] * len(HEADER)
        row[HEADER.index("scalloping")] = "maybe"
        row[HEADER.index("age")] = "400"
        with pytest.raises(FindingError) as exc:
            a.quick(row)
        assert exc.value.column == "age"


class TestEveryBadCellIsNamed:
    """A row with several bad cells names them all in one message, so one round of fixes serves;
    the record's column and value stay those of the first bad cell."""

    def test_the_message_lists_every_bad_cell_the_record_keeps_the_first(self):
        _, out = run_text("case_id,csf,cord,enhancement\nA,widend,displaced,homogenous\nB,widened,displaced,\n", "ndjson")
        records = [json.loads(line) for line in out.splitlines()]
        assert len(records) == 2 and records[1]["error"] is None
        error = records[0]["error"]
        assert (error["column"], error["value"]) == ("csf", "widend")
        assert error["message"].startswith("csf: 'widend' is not a value; did you mean 'widened'?")
        assert "; also enhancement: 'homogenous' is not a value; did you mean 'homogeneous'?" in error["message"]
        assert "cord" not in error["message"].split("; also ", 1)[1]

    def test_a_bad_case_id_and_a_bad_finding_are_both_named(self):
        summary, out = run_text("case_id,age\nA\x00,400\n")
        message = summary.first_error.message
        assert summary.first_error.column == "case_id"
        assert message.startswith("case_id: 'A\\x00' contains a NUL byte")
        assert "; also age: '400' is out of range (allowed: 0-120)" in message

    def test_a_single_bad_cell_keeps_its_message_as_it_was(self):
        summary, _ = run_text("case_id,age,cord\nA,400,displaced\n")
        assert summary.first_error.message == "age: '400' is out of range (allowed: 0-120)"

    def test_rows_that_are_read_never_look_for_more_bad_cells(self, monkeypatch):
        def fail(self, cells):
            raise AssertionError("bad_cells ran for a row that was read")

        monkeypatch.setattr(batch._Assessor, "bad_cells", fail)
        summary, _ = run_text("case_id,cord,csf\n" + "".join(f"C{i},displaced,widened\n" for i in range(50)))
        assert summary.assessed == 50


class TestSemicolonListHint:
    LISTS = ", ".join(f.id for f in KB.features.values() if f.kind == "list")
    HINT = f"with ';' as the delimiter, a list value ({LISTS}) must be in double quotes"

    def test_an_unquoted_list_that_shifts_the_cells_gets_the_hint(self):
        summary, out = run_text("case_id;level;cord\nA;cervical;thoracic;\n", "ndjson")
        error = json.loads(out)["error"]
        assert (error["column"], error["value"]) == ("cord", "thoracic")
        first, second = KB.features["level"].values[:2]
        assert error["message"] == (
            "cord: 'thoracic' is not a value (allowed: expanded, displaced, compressed, normal); "
            f"the row has 4 cells but the header has 3; {self.HINT} (\"{first};{second}\") "
            f"or written with commas ({first},{second}); or save the file with ',' as the delimiter"
        )

    def test_a_ragged_row_gets_the_hint_after_its_own_message(self):
        summary, _ = run_text("case_id;level;cord\nA;cervical;thoracic;displaced\n")
        message = summary.first_error.message
        assert message.startswith("the row has 4 cells but the header has 3: a value that contains the separator must be in double quotes")
        assert self.HINT in message

    @pytest.mark.parametrize("data", ["case_id;level;cord\nA;\"cervical;thoracic\";sideways\n", "case_id,level,cord\nA,cervical,thoracic,\n"])
    def test_no_hint_when_the_cells_did_not_shift_or_the_delimiter_is_a_comma(self, data):
        summary, _ = run_text(data)
        assert summary.failed == 1
        assert "with ';' as the delimiter" not in summary.first_error.message


def test_stream_is_file(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n")
    b.write_text("x\n")
    with open(a, "rb") as stream:
        assert files.stream_is_file(stream, str(a))
        assert not files.stream_is_file(stream, str(b))
        assert not files.stream_is_file(stream, str(tmp_path / "missing.csv"))
    assert not files.stream_is_file(io.BytesIO(b"x"), str(a))


class TestOneRecordPerRow:
    @settings(max_examples=40)
    @given(st.lists(st.one_of(valid_rows(), mangled_rows), min_size=1, max_size=12), st.sampled_from(("csv", "csv", "ndjson")))
    def test_any_rows_valid_or_mangled_give_one_record_each_in_order(self, rows, fmt):
        summary, out = run_text(to_csv([HEADER, *rows]), fmt, passthrough=("note",))
        if fmt == "csv":
            records = list(csv.DictReader(io.StringIO(out, newline="")))
        else:
            assert len(out.splitlines()) == len(rows)
            records = [json.loads(line) for line in out.splitlines()]
        assert [int(r["row"]) for r in records] == list(range(1, len(rows) + 1))
        assert summary.read == len(rows) and summary.assessed + summary.failed == len(rows)
        assert sum(1 for r in records if r["error"]) == summary.failed

    @settings(max_examples=60)
    @given(st.text(alphabet=st.sampled_from('ab,;"\n\r\x00 1yes'), max_size=60))
    def test_raw_text_after_a_header_never_raises(self, body):
        summary, out = run_text("case_id,age,cord\n" + body)
        records = list(csv.DictReader(io.StringIO(out, newline="")))
        assert [int(r["row"]) for r in records] == list(range(1, summary.read + 1))


class TestLayout:
    def test_header_names_are_read_loosely_and_passthrough_keeps_its_spelling(self):
        layout = csv_input.read_layout([" Case ID", "Foraminal-Extension", "Accession No"], KB, ("accession no",))
        assert layout.case_index == 0
        assert [f.id for _, f in layout.features] == ["foraminal_extension"]
        assert layout.passthrough_names == ("Accession No",)

    @pytest.mark.parametrize(
        "header, passthrough, message",
        [
            (["case_id", "agee"], (), "unknown column 'agee' (did you mean 'age'?)"),
            (["age", "age "], (), "column 'age ' appears twice in the header (columns 1 and 2)"),
            (["csf_cap", "CSF cap"], (), "columns 1 ('csf_cap') and 2 ('CSF cap') both name csf_cap"),
            (["A1", "54"], (), "the first line is not a header"),
            (["enhancment", "cord_displacd"], (), "unknown columns 'enhancment' (did you mean 'enhancement'?)"),
            (["case_id", "t2"], (), "unknown column 't2' (did you mean 't2_signal'?)"),
            (["case_id", "dural"], (), "unknown column 'dural';"),
            (["age"], ("mrn",), "--passthrough mrn: there is no such column"),
            (["age", "error"], ("error",), "--passthrough error: it would clash with the output column"),
            (["case_id", "age"], ("case_id",), "--passthrough case_id: the case id is copied to the output already"),
            (["age", "\x00a"], (), "the header contains NUL bytes"),
        ],
    )
    def test_whole_file_problems(self, header, passthrough, message):
        with pytest.raises(BatchError) as exc:
            csv_input.read_layout(header, KB, passthrough, name="x.csv")
        assert message in str(exc.value)

    @pytest.mark.parametrize("line, expected", [("a,b;c", ","), ("a;b;c", ";"), ("a\tb", "\t"), ("age", ",")])
    def test_sniff_delimiter(self, line, expected):
        assert csv_input.sniff_delimiter(line) == expected


class TestLinkedColumnsEqualTheEngine:
    """Columns whose weight depends on each other (a bone pattern and the bone it implies; a
    position in the cord and the cord and CSF signs) are read together, bit for bit as the engine."""

    HEADER = ["bone_pattern", "vertebral_body", "posterior_elements", "cord_position", "cord", "csf", "csf_cap", "dural_sac_displaced"]

    @pytest.mark.parametrize("pattern", ["", "lytic", "coarse_trabeculae"])
    @pytest.mark.parametrize("body", ["", "yes", "no"])
    @pytest.mark.parametrize("elements", ["", "no"])
    @pytest.mark.parametrize("position", ["", "central", "eccentric"])
    @pytest.mark.parametrize("signs", [("", "", "", ""), ("expanded", "effaced", "", ""), ("displaced", "widened", "yes", ""), ("", "tapered", "", "yes")])
    def test_posterior(self, pattern, body, elements, position, signs):
        row = [pattern, body, elements, position, *signs]
        a = assessor(header=self.HEADER, passthrough=())
        findings = parse_findings({k: v for k, v in zip(self.HEADER, row) if v}, KB)
        assert a.posterior(row) == list(engine.posterior(KB, findings))


class TestRecords:
    def test_records_dropped_before_the_end_leave_the_stream_open(self):
        import gc

        stream = io.StringIO("\ufeffcase_id,age\nA,1\nB,2\n")
        records = csv_input.Records(stream, ",")
        rows = iter(records)
        assert [cells for _, cells in (next(rows), next(rows))] == [["case_id", "age"], ["A", "1"]]
        del rows, records
        gc.collect()
        assert not stream.closed and stream.readline() == "B,2\n"

    def test_a_quote_never_closed_swallows_nothing(self):
        text = 'case_id,age\nA,"54\nB,3\nC,4\n'
        summary, out = run_text(text)
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["case_id"] for r in rows] == ["A", "B", "C"]
        assert "never closed" in rows[0]["error"] and not rows[1]["error"] and not rows[2]["error"]
        assert summary.failed == 1

    def test_blank_lines_are_not_rows_but_lines_are_counted(self):
        summary, out = run_text("case_id,age\n\nA,1\n\n\nB,999\n")
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["row"] for r in rows] == ["1", "2"]
        assert rows[1]["error"].endswith("(line 6)")

    def test_lines_of_spaces_are_blank_lines_but_a_quoted_empty_cell_is_a_row(self):
        summary, out = run_text("case_id,age\nA,1\n   \n\t\nB,2\n")
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [(r["row"], r["case_id"], r["error"]) for r in rows] == [("1", "A", ""), ("2", "B", "")]
        assert summary.read == 2 and summary.failed == 0
        summary, out = run_text('age\n""\n  \n')
        assert summary.read == 1 and summary.failed == 0

    def test_the_not_assessed_advice_is_given_once_for_the_row(self):
        summary, out = run_text("case_id,age,cord\nA,-,-\n")
        error = next(csv.DictReader(io.StringIO(out)))["error"]
        assert error.startswith("age: '-' is not a whole number") and "also cord: '-'" in error
        assert error.count("not assessed") == 1 and error.endswith("write unknown (or leave it out)")

    def test_a_failed_row_still_raises_cord_compression(self):
        """A typo in the age must not hide a compressed cord: the emergency needs no assessment."""
        summary, out = run_text("case_id,age,cord\nA,4O,compressed\nB,4O,normal\nC,40,compress\n", "ndjson")
        a, b, c = map(json.loads, out.splitlines())
        assert [f["kind"] for f in a["flags"]] == ["emergency"] and a["candidates"] == []
        assert "still raise EMERGENCY: Cord compression" in a["error"]["message"]
        assert a["error"]["message"].startswith("age: '4O' is not a whole number")
        assert b["flags"] == [] and "EMERGENCY" not in b["error"]["message"]
        assert c["flags"] == [] and c["error"]["column"] == "cord"
        summary, out = run_text("case_id,age,cord\nA,4O,compressed\n")
        assert "still raise EMERGENCY" in next(csv.DictReader(io.StringIO(out)))["error"]

    def test_a_row_cut_short_still_raises_the_compression_of_its_first_cells(self):
        """A row with fewer cells than the header keeps its first cells under their columns: a
        compressed cord there is not lost; a row with cells to spare may have shifted them."""
        summary, out = run_text("case_id,cord,age,sex\nC,compressed\nD,compressed,40,male,extra\nE,normal\n", "ndjson")
        c, d, e = map(json.loads, out.splitlines())
        assert [f["kind"] for f in c["flags"]] == ["emergency"]
        assert c["error"]["message"].startswith("the row has 2 cells but the header has 4")
        assert "still raise EMERGENCY: Cord compression" in c["error"]["message"]
        assert d["flags"] == [] and e["flags"] == [] and summary.failed == 3

    @pytest.mark.parametrize("header, line", [
        ("case_id,age,cord", "A,4O,compressed,"),
        ("case_id,age,cord", "A,4O,compressed, ,"),
        ("case_id,age,cord,,", "A,40,compressed,,x"),
    ])
    def test_trailing_cells_do_not_hide_the_emergency_of_a_failed_row(self, header, line):
        """Excel pads rows with empty cells; a value under an unnamed column fails the row
        but leaves its cells where they are."""
        summary, out = run_text(header + "\n" + line + "\n", "ndjson")
        record = json.loads(out)
        assert record["error"] and [f["kind"] for f in record["flags"]] == ["emergency"]

    def test_a_row_whose_cells_shifted_raises_nothing(self):
        summary, out = run_text("case_id,age,cord\nA,4O,compressed,extra\n", "ndjson")
        assert json.loads(out)["flags"] == []

    def test_a_multiline_cell_is_one_row(self):
        summary, out = run_text('case_id,note,age\nA,"two\nlines",5\nB,,7\n', passthrough=("note",))
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["note"] for r in rows] == ["two\nlines", ""]
        assert summary.read == 2 and summary.failed == 0

    def test_ndjson_error_record_carries_the_line_and_passthrough(self):
        summary, out = run_text("case_id,age,mrn\n\nA,-3,=1\n", "ndjson", passthrough=("mrn",))
        record = json.loads(out)
        assert record["row"] == 1 and record["case_id"] == "A" and record["compartment"] is None
        assert record["candidates"] == [] and record["passthrough"] == {"mrn": "=1"}
        assert record["error"] == {"column": "age", "value": "-3", "message": "age: '-3' is out of range (allowed: 0-120)", "line": 3}

    def test_an_error_record_has_every_key_of_a_result(self):
        """A script can read any key of a record without asking whether the row failed."""
        summary, out = run_text("case_id,age\nA,5\nB,-3\n", "ndjson")
        good, bad = (json.loads(line) for line in out.splitlines())
        assert set(good) <= set(bad)
        assert bad["next_findings"] == [] and bad["history_questions"] == []

    def test_json_streams_one_array(self):
        for body, count in (("", 0), ("A,1\n", 1), ("A,1\nB,2\nC,x\n", 3)):
            summary, out = run_text("case_id,age\n" + body, "json")
            assert len(json.loads(out)) == count
            assert out.endswith("]\n")


class TestLinesTooLong:
    """No line is held whole: one longer than a cell may be is its own row's error, once, and the
    read goes on; a file with no line end (/dev/zero, a binary dump) ends the read instead of
    filling memory. FIELD_LIMIT is made small here, in both modules that read it."""

    @pytest.fixture(autouse=True)
    def small_limit(self, monkeypatch):
        monkeypatch.setattr(csv_input, "FIELD_LIMIT", 1000)
        monkeypatch.setattr(batch, "FIELD_LIMIT", 1000)

    @staticmethod
    def _records(text):
        summary, out = run_text(text, "ndjson", passthrough=("notes",))
        return summary, [json.loads(line) for line in out.splitlines()]

    @pytest.mark.parametrize("cell", ["x" * 5000, '"' + "x" * 5000 + '"', '"a' + "x" * 5000 + ',b"'])
    def test_a_row_too_long_is_its_own_error_and_the_next_row_is_read(self, cell):
        summary, (first, second) = self._records(f"case_id,cord,notes\n1,displaced,{cell}\n2,displaced,ok\n")
        assert first["case_id"] == "1" and first["error"]["message"].startswith("the line is longer than 0 MiB")
        assert "quote" not in first["error"]["message"]
        assert second["case_id"] == "2" and second["error"] is None and (summary.read, summary.failed) == (2, 1)

    def test_a_quoted_cell_across_lines_with_one_too_long_is_one_row(self):
        text = 'case_id,cord,notes\n1,displaced,"a\n' + "x" * 5000 + '\nb"\n2,displaced,ok\n'
        summary, records = self._records(text)
        assert [(r["row"], r["case_id"], r["error"] is None) for r in records] == [(1, "1", False), (2, "2", True)]

    def test_a_line_too_long_at_the_end_of_the_file_is_its_rows_error(self):
        summary, records = self._records("case_id,cord,notes\n1,displaced," + "x" * 5000)
        assert [(r["case_id"], r["error"]["message"][:26]) for r in records] == [("1", "the line is longer than 0 ")]

    def test_a_line_that_never_ends_stops_the_read_naming_it(self, monkeypatch):
        monkeypatch.setattr(csv_input, "LONGEST_LINE", 20_000)
        monkeypatch.setattr(csv_input, "SKIP_CHUNK", 100)
        with pytest.raises(BatchError, match="line 2 runs over 20,000 characters without a line end: it is not a CSV file"):
            run_text("case_id,cord\n1," + "x" * 50_000)

    def test_no_line_is_read_whole(self):
        asked = []

        class Stream(io.StringIO):
            def readline(self, size=-1):
                asked.append(size)
                return super().readline(size)

        lines = list(csv_input.decoded(Stream("cord\n" + "x" * 5000 + "\ndisplaced\n", newline=""), "in.csv", "utf-8"))
        assert lines[0] == "cord\n" and lines[2] == "displaced\n" and lines[1].__class__ is csv_input.CutLine
        assert asked and all(0 < size <= 1001 or size == csv_input.SKIP_CHUNK for size in asked)

    def test_an_iterator_given_is_not_closed_with_the_reader(self):
        """Closing the lines read leaves the caller's own iterator open (no `yield from`)."""
        def source():
            yield "cord\n"
            yield "displaced\n"

        given = source()
        lines = csv_input.decoded(given, "in.csv", "utf-8")
        assert next(lines) == "cord\n"
        lines.close()
        assert next(given) == "displaced\n"

    def test_lines_of_any_ending_come_as_they_are(self):
        text = "cord,csf\r\ndisplaced,widened\rexpanded,effaced\n"
        assert list(csv_input.decoded(io.StringIO(text, newline=""), "in.csv", "utf-8")) == [
            "cord,csf\r\n", "displaced,widened\r", "expanded,effaced\n"]


class TestRender:
    @pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "  =1+1"])
    def test_formula_cells_get_an_apostrophe_once(self, text):
        assert render.neutralise(text) == "'" + text
        assert render.neutralise(render.neutralise(text)) == "'" + text

    def test_plain_cells_are_untouched(self):
        assert render.neutralise("IM 017") == "IM 017" and render.neutralise("") == "" and render.neutralise(" a=b") == " a=b"

    def test_csv_header(self):
        assert render.csv_header(2, ("=acc",)) == [
            "row", "case_id", "compartment", "compartment_probability",
            "candidate_1", "probability_1", "candidate_2", "probability_2", "dont_miss", "error", "'=acc",
        ]


class TestAtomicOutput:
    def test_success_replaces_and_keeps_the_mode(self, tmp_path):
        target = tmp_path / "out.csv"
        target.write_text("old")
        target.chmod(0o640)
        with files.atomic_output(str(target)) as fh:
            fh.write("new")
        assert target.read_text() == "new"
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        assert os.listdir(tmp_path) == ["out.csv"]

    def test_failure_leaves_the_old_file_and_no_partial_file(self, tmp_path):
        target = tmp_path / "out.csv"
        target.write_text("old")
        with pytest.raises(RuntimeError):
            with files.atomic_output(str(target)) as fh:
                fh.write("half")
                raise RuntimeError("disk full")
        assert target.read_text() == "old"
        assert os.listdir(tmp_path) == ["out.csv"]

    def test_a_missing_folder_is_named(self, tmp_path):
        with pytest.raises(WriteError, match="does not exist"):
            with files.atomic_output(str(tmp_path / "nowhere" / "out.csv")):
                pass

    def test_a_file_inside_a_file_is_said_so(self, tmp_path):
        (tmp_path / "in.csv").write_text("x")
        with pytest.raises(WriteError, match=r"in\.csv is a file, not a folder"):
            with files.atomic_output(str(tmp_path / "in.csv" / "out.csv")):
                pass

    def test_an_empty_name_is_said_so(self):
        with pytest.raises(WriteError, match="the file name is empty"):
            with files.atomic_output(""):
                pass

    def test_a_file_the_user_may_not_write_is_not_replaced(self, tmp_path, monkeypatch):
        """Replacing a file needs only the folder's permission; ddx refuses where the user could
        not write over the file itself, as `>` in a shell would."""
        target = tmp_path / "theirs.csv"
        target.write_text("precious")
        real = os.access
        monkeypatch.setattr(files.os, "access", lambda p, mode: False if os.fspath(p) == str(target) else real(p, mode))
        with pytest.raises(WriteError, match=f"cannot write {re.escape(str(target))}: {os.strerror(errno.EACCES)}"):
            with files.atomic_output(str(target)) as fh:
                fh.write("ours")
        assert target.read_text() == "precious" and os.listdir(tmp_path) == ["theirs.csv"]

    def test_a_symbolic_link_is_followed_and_kept(self, tmp_path):
        (tmp_path / "real.csv").write_text("old")
        link = tmp_path / "out.csv"
        link.symlink_to("real.csv")
        with files.atomic_output(str(link)) as fh:
            fh.write("new")
        assert link.is_symlink() and (tmp_path / "real.csv").read_text() == "new"
        assert sorted(os.listdir(tmp_path)) == ["out.csv", "real.csv"]

    def test_a_looping_or_dangling_link_is_refused_by_name(self, tmp_path):
        loop = tmp_path / "loop.csv"
        loop.symlink_to("loop.csv")
        with pytest.raises(WriteError, match="its symbolic links loop"):
            with files.atomic_output(str(loop)):
                pass
        assert loop.is_symlink()
        dangling = tmp_path / "out.csv"
        dangling.symlink_to(tmp_path / "gone" / "out.csv")
        with pytest.raises(WriteError, match=f"the symbolic link {dangling} points into it"):
            with files.atomic_output(str(dangling)):
                pass

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
    def test_a_named_pipe_is_written_not_replaced(self, tmp_path):
        """A device or a pipe (/dev/null, /dev/stdout, a FIFO) has no file to replace: replacing
        it would turn /dev/null into a plain file for everyone on the machine."""
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
        reader.start()
        with files.atomic_output(str(fifo)) as fh:
            fh.write("row\n")
        reader.join(5)
        assert got == ["row\n"]
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        assert os.listdir(tmp_path) == ["pipe"]


def test_memory_does_not_grow_with_rows():
    """Streaming: the peak traced memory of 10,000 rows is within 1.3x that of 1,000."""

    def peak(n: int) -> int:
        row = ["case", "54", "female", "yes", "", "thoracic", "", "2", "single", "compressed"]
        header = ["case_id", "age", "sex", "known_primary", "syndrome", "level", "conus_cauda", "segments", "multiplicity", "cord"]

        class Lines:
            def __iter__(self):
                yield ",".join(header) + "\n"
                for i in range(n):
                    row[0] = f"C{i}"
                    row[1] = str(i % 90)
                    yield ",".join(row) + "\n"

        sink = open(os.devnull, "w", encoding="utf-8", newline="")
        tracemalloc.start()
        try:
            batch.run(Lines(), sink, knowledge=KB)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            sink.close()

    small, large = peak(1_000), peak(10_000)
    assert large <= 1.3 * small, (small, large)
