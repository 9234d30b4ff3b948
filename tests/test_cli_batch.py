"""`ddx batch` and `ddx template` through the command line: every hostile input gets a message, an exit code
and exactly one output record per data row."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import ddx.cli as cli_module
import ddx.process as process
from ddx.cli import cli
from ddx.knowledge import default_knowledge

KB = default_knowledge()
COLUMNS = [
    "row", "case_id", "compartment", "compartment_probability",
    "candidate_1", "probability_1", "candidate_2", "probability_2", "candidate_3", "probability_3",
    "dont_miss", "error",
]
IDEM = "case_id,cord,csf,csf_cap,foraminal_extension\nIDEM1,displaced,widened,yes,yes\n"


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, prog_name="ddx")


def batch(data: bytes | str, *args):
    return invoke("batch", "-", *args, input=data.encode("utf-8") if isinstance(data, str) else data)


def records(result) -> list[dict]:
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


def header(result) -> list[str]:
    return next(csv.reader(io.StringIO(result.stdout, newline="")))


def assert_no_traceback(result):
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def summary(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("ddx batch:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


class TestGoodInput:
    def test_one_csv_record_per_row_with_the_contract_columns(self):
        result = batch(IDEM + "IM1,expanded,effaced,,\n,,,,\n")
        assert result.exit_code == 0, result.output
        assert header(result) == COLUMNS
        rows = records(result)
        assert [r["row"] for r in rows] == ["1", "2", "3"]
        assert [r["case_id"] for r in rows] == ["IDEM1", "IM1", ""]
        assert rows[0]["compartment"] == "intradural_extramedullary"
        assert rows[1]["compartment"] == "intramedullary"
        assert all(r["error"] == "" for r in rows)
        assert 0 < float(rows[0]["probability_1"]) <= 1 and len(rows[0]["probability_1"].split(".")[1]) == 6
        assert summary(result) == "ddx batch: 3 rows read, 3 assessed, 0 failed"

    def test_dont_miss_lists_the_flagged_entities(self):
        result = batch("known_primary,dural_sac_displaced,csf,vertebral_body,cord\nyes,yes,tapered,yes,compressed\n")
        flagged = records(result)[0]["dont_miss"].split(";")
        assert "vertebral_metastasis" in flagged
        assert set(flagged) <= {e.id for e in KB.entities if e.dont_miss}

    def test_top_widens_the_candidate_columns(self):
        result = batch(IDEM, "--top", "5")
        assert header(result)[4:14] == [f"{k}_{i}" for i in range(1, 6) for k in ("candidate", "probability")]
        assert all(records(result)[0][f"candidate_{i}"] for i in range(1, 6))

    def test_top_widens_the_columns_of_a_failed_row_too(self):
        """A row that could not be read has as many cells as the header, whatever --top, so that its
        error (and a passed-through column) stays under its own name."""
        data = "case_id,cord,mrn\nA,displaced,1\nB,bogus,2\n"
        for top in ("1", "3", "5"):
            result = batch(data, "--top", top, "--passthrough", "mrn")
            assert result.exit_code == 1
            lines = list(csv.reader(io.StringIO(result.stdout, newline="")))
            assert {len(line) for line in lines} == {len(lines[0])}
            good, bad = records(result)
            assert good["error"] == "" and bad["error"].startswith("cord: 'bogus' is not a value")
            assert [good["mrn"], bad["mrn"]] == ["1", "2"]
            assert bad["candidate_1"] == bad[f"candidate_{top}"] == bad["dont_miss"] == ""

    def test_top_beyond_the_candidates_is_refused(self):
        result = batch(IDEM, "--top", "99")
        assert result.exit_code == 2
        assert f"--top 99: choose between 1 and {len(KB.entities)}" in result.stderr
        assert result.stdout == ""

    def test_ndjson_record_equals_assess_json_apart_from_row(self):
        data = "case_id,cord,csf,csf_cap,dural_tail,sex,level,age\nM1,displaced,widened,yes,yes,female,thoracic,61\nE2,expanded,effaced,,,,cervical;thoracic,\n"
        result = batch(data, "--format", "ndjson")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert len(lines) == 2
        options = [
            ["--case-id", "M1", "--cord", "displaced", "--csf", "widened", "--csf-cap", "yes", "--dural-tail", "yes", "--sex", "female", "--level", "thoracic", "--age", "61"],
            ["--case-id", "E2", "--cord", "expanded", "--csf", "effaced", "--level", "cervical;thoracic"],
        ]
        for n, (line, opts) in enumerate(zip(lines, options), 1):
            record = json.loads(line)
            assert record.pop("row") == n
            assessed = invoke("assess", *opts, "--format", "json")
            assert assessed.exit_code == 0, assessed.output
            assert record == json.loads(assessed.stdout)

    def test_json_is_one_array_in_order(self):
        result = batch(IDEM + "X,bogus,,,\n", "--format", "json")
        assert result.exit_code == 1
        data = json.loads(result.stdout)
        assert [r["row"] for r in data] == [1, 2]
        assert data[1]["error"]["column"] == "cord" and data[1]["candidates"] == []

    def test_values_with_stray_spaces_and_capitals_and_loose_headers(self):
        result = batch(" Case ID ,Cord, CSF ,Foraminal-Extension\n  A1 , DISPLACED ,Widened,  Y \n")
        assert result.exit_code == 0, result.output
        row = records(result)[0]
        assert row["case_id"] == "A1" and row["compartment"] == "intradural_extramedullary"

    def test_passthrough_carries_columns_untouched(self):
        data = "accession,case_id,cord,Reader\n 0042 ,A,displaced,jd\n"
        result = batch(data, "--passthrough", "accession", "--passthrough", "reader")
        assert result.exit_code == 0, result.output
        assert header(result)[-2:] == ["accession", "Reader"]
        assert [records(result)[0][k] for k in ("accession", "Reader")] == [" 0042 ", "jd"]
        ndjson = batch(data, "--passthrough", "accession", "--passthrough", "reader", "--format", "ndjson")
        assert json.loads(ndjson.stdout)["passthrough"] == {"accession": " 0042 ", "Reader": "jd"}

    @pytest.mark.parametrize("fmt", ["ndjson", "json"])
    def test_passthrough_of_a_column_named_like_an_output_column_in_json(self, fmt):
        # the shared cases sheet has a 'compartment' column (the true one): JSON keeps passed-through
        # columns under "passthrough", so nothing clashes there; only the CSV output would have it twice
        data = "case_id,compartment,cord\nA,intradural_extramedullary,displaced\n"
        result = batch(data, "--passthrough", "compartment", "--format", fmt)
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout)[0] if fmt == "json" else json.loads(result.stdout)
        assert record["passthrough"] == {"compartment": "intradural_extramedullary"}
        clash = batch(data, "--passthrough", "compartment")
        assert clash.exit_code == 2 and "it would clash with the output column" in clash.stderr

    def test_ignored_columns_are_read_as_no_column(self):
        """The shared cases sheet has columns that are no finding (diagnosis, evidence) and one named
        like an output column (compartment): --ignore leaves them out, so it runs as it is. A finding
        left out is not assessed, and a case id left out is none."""
        data = "case_id,diagnosis,compartment,cord,csf,evidence\nA,schwannoma,intradural_extramedullary,bogus,widened,x\n"
        refused = batch(data)
        assert refused.exit_code == 2 and "or leave it out with --ignore NAME" in refused.stderr
        clash = batch(data, "--passthrough", "compartment", "--ignore", "diagnosis", "--ignore", "evidence")
        assert clash.exit_code == 2 and "or leave it out with --ignore compartment" in clash.stderr
        result = batch(data, "--ignore", "diagnosis", "--ignore", "Compartment", "--ignore", "evidence", "--ignore", "cord")
        assert result.exit_code == 0, result.output
        assert header(result) == COLUMNS
        plain = batch("case_id,csf\nA,widened\n")
        assert records(result) == records(plain)
        no_id = batch(data, "--ignore", "diagnosis", "--ignore", "compartment", "--ignore", "evidence", "--ignore", "case_id",
                      "--format", "ndjson")
        assert no_id.exit_code == 1 and json.loads(no_id.stdout)["case_id"] is None
        assert json.loads(no_id.stdout)["error"]["column"] == "cord"

    def test_an_ignored_column_may_appear_twice(self):
        """A column left out is as if the file did not have it, however often its name appears."""
        result = batch("case_id,cord,notes,Notes \nA,displaced,x,y\n", "--ignore", "notes")
        assert result.exit_code == 0, result.output
        assert records(result)[0]["compartment"] == "intradural_extramedullary"

    def test_an_ignore_given_no_value_is_told_so(self, tmp_path):
        result = invoke("batch", "-", "--ignore", "-o", str(tmp_path / "out.csv"), input=IDEM)
        assert result.exit_code == 2 and "'--ignore': needs a value, but the option -o follows it" in " ".join(result.stderr.split())

    @pytest.mark.parametrize("args, words", [
        (["--ignore", "mrn", "--ignore", "evidence"], "--ignore mrn: there is no such column in the header of standard input"),
        (["--ignore", "evidence", "--passthrough", "Evidence"],
         "--passthrough Evidence and --ignore evidence: a column is either copied to the output or left out; give one of them"),
    ])
    def test_an_ignored_column_must_be_there_and_not_also_passed_through(self, args, words):
        result = batch("case_id,cord,evidence\nA,displaced,x\n", *args)
        assert result.exit_code == 2 and words in result.stderr, result.stderr

    @pytest.mark.parametrize("fmt", ["ndjson", "json"])
    @pytest.mark.parametrize(
        "data",
        [
            "cord,csf\ndisplaced,widened\ndisplaced,bogus\n",  # no case_id column
            "case_id,cord,csf\n,displaced,widened\n  ,displaced,bogus\n",  # a blank case_id cell
        ],
    )
    def test_case_id_is_null_when_the_input_has_none(self, fmt, data):
        """output.md: "case_id" is null when the input had none, for a good row and a failed one
        alike; the CSV leaves its cell empty."""
        result = batch(data, "--format", fmt)
        assert result.exit_code == 1
        found = json.loads(result.stdout) if fmt == "json" else [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["error"] is None for r in found] == [True, False]
        assert [r["case_id"] for r in found] == [None, None]
        assert [r["case_id"] for r in records(batch(data))] == ["", ""]

    def test_header_with_no_rows(self):
        for fmt, expected in (("csv", ",".join(COLUMNS) + "\n"), ("ndjson", ""), ("json", "[]\n")):
            result = batch("case_id,cord\n", "--format", fmt)
            assert result.exit_code == 0
            assert result.stdout == expected
            assert summary(result) == "ddx batch: 0 rows read, 0 assessed, 0 failed (the input has a header but no data rows)"

    def test_blank_lines_are_skipped_and_the_physical_line_is_named(self):
        result = batch("case_id,age\n\nA,40\n\nB,400\n")
        rows = records(result)
        assert [r["row"] for r in rows] == ["1", "2"]
        assert rows[1]["error"] == "age: '400' is out of range (allowed: 0-120) (line 5)"


class TestEncodingsAndLineEnds:
    def test_utf8_bom(self):
        result = batch(b"\xef\xbb\xbfcase_id,cord\r\nA,displaced\r\n")
        assert result.exit_code == 0, result.output
        assert records(result)[0]["case_id"] == "A"

    def test_bom_with_plain_utf8_encoding(self):
        result = batch(b"\xef\xbb\xbfcase_id,cord\nA,displaced\n", "--encoding", "utf-8")
        assert result.exit_code == 0, result.output
        assert records(result)[0]["case_id"] == "A"

    @pytest.mark.parametrize("encoding", [[], ["--encoding", "utf-8"]])
    def test_bom_before_a_quoted_header(self, encoding):
        # R's write.csv and pandas with quoting quote the header; Excel-style exports add the mark
        result = batch(b'\xef\xbb\xbf"case_id","cord"\r\n"A","displaced"\r\n', *encoding)
        assert result.exit_code == 0, result.output
        assert records(result)[0]["case_id"] == "A"

    @pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
    def test_utf8_bom_read_as_another_encoding_names_the_fix(self, encoding):
        result = batch("\ufeffcase_id,cord\nJosé,displaced\n".encode("utf-8"), "--encoding", encoding)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "starts with a UTF-8 byte-order mark" in result.stderr
        assert "leave out --encoding" in result.stderr
        assert "unknown column" not in result.stderr

    @pytest.mark.parametrize("end", [b"\r\n", b"\r", b"\n"])
    def test_line_ends(self, end):
        data = end.join([b"case_id,cord", b"A,displaced", b"B,expanded"]) + end
        result = batch(data)
        assert result.exit_code == 0, result.output
        assert [r["case_id"] for r in records(result)] == ["A", "B"]

    def test_not_utf8_names_the_fix_and_goes_on(self):
        data = "case_id,cord\nMüller,displaced\nB,expanded\n".encode("latin-1")
        result = batch(data)
        assert result.exit_code == 1
        rows = records(result)
        assert len(rows) == 2 and rows[1]["error"] == ""
        assert rows[0]["case_id"] == "M\\xfcller"
        assert rows[0]["error"] == (
            "case_id: 'M\\xfcller' is not valid UTF-8 text; if the file was saved in another encoding, "
            "pass it with --encoding (for example --encoding cp1252 for Excel on Windows, or --encoding latin-1)"
        )
        assert "--encoding cp1252" in summary(result)

    def test_a_header_that_is_not_utf8_is_shown_with_each_byte_escaped_once(self):
        """An undecoded byte and a control character both read as one escape (\\xbc, \\x05), not
        one of them with its backslash doubled."""
        result = batch(b"!\xbc_8\x05[,cord\nA,displaced\n")
        assert result.exit_code == 2
        assert "the header is not valid UTF-8 text ('!\\xbc_8\\x05[')" in result.stderr

    def test_encoding_option_reads_it(self):
        data = "case_id,cord\nMüller,displaced\n".encode("latin-1")
        result = batch(data, "--encoding", "latin-1")
        assert result.exit_code == 0, result.output
        assert records(result)[0]["case_id"] == "Müller"

    def test_utf16_file(self):
        data = "case_id,cord\nA,displaced\n".encode("utf-16")
        result = batch(data)
        assert result.exit_code == 2
        assert "is UTF-16 (Excel 'Unicode Text'): pass --encoding utf-16" in result.stderr
        assert result.stdout == ""
        ok = batch(data, "--encoding", "utf-16")
        assert ok.exit_code == 0 and records(ok)[0]["case_id"] == "A"

    @pytest.mark.parametrize("codec", ["utf-32", "utf-32-le"])
    def test_utf32_file_is_named_as_such(self, codec):
        """A UTF-32 file is not sent round in a circle to --encoding utf-16."""
        data = "case_id,cord\nA,displaced\n".encode(codec)
        result = batch(data)
        assert result.exit_code == 2 and "UTF-32" in result.stderr and "--encoding utf-32" in result.stderr
        assert "utf-32" in batch(data, "--encoding", "utf-16").stderr
        ok = batch(data, "--encoding", codec)
        assert ok.exit_code == 0 and records(ok)[0]["case_id"] == "A"

    @pytest.mark.parametrize("codec", ["idna", "punycode"])
    def test_an_encoding_of_names_not_files_is_refused_up_front(self, codec):
        result = batch(IDEM, "--encoding", codec)
        assert result.exit_code == 2
        assert result.stderr == f"Error: --encoding {codec}: {codec!r} is not a text encoding of files; try utf-8, cp1252, latin-1 or utf-16\n"

    def test_the_advice_for_an_unreadable_byte_names_other_encodings_than_the_one_given(self):
        result = batch(b"case_id,cord\nA,displaced\x81\n", "--encoding", "cp1252", "--format", "ndjson")
        message = json.loads(result.stdout)["error"]["message"]
        assert "is not valid cp1252 text" in message and "--encoding cp1252" not in message and "--encoding latin-1" in message

    def test_a_column_name_with_a_lookalike_letter_says_which(self):
        """'cоrd' with a Cyrillic o reads as 'cord' on screen: the message names the odd letter."""
        result = batch("c\u043erd\ndisplaced\n".encode("utf-8"))
        assert result.exit_code == 2
        assert "unknown column 'c\u043erd' (did you mean 'cord'? it holds U+043E, which is no Latin letter)" in result.stderr
        hidden = batch("cor\u200bd\ndisplaced\n".encode("utf-8"))
        assert "it holds U+200B, which is no Latin letter" in hidden.stderr

    def test_an_accented_latin_letter_is_not_called_foreign(self):
        result = batch("\u00e2ge\n40\n".encode("utf-8"))
        assert "unknown column '\u00e2ge' (did you mean 'age'?);" in result.stderr and "no Latin letter" not in result.stderr

    def test_a_header_the_encoding_given_cannot_read_is_not_sent_back_to_it(self):
        result = batch(b"case_id,ag\x81e\n1,40\n", "--encoding", "cp1252")
        assert result.exit_code == 2
        assert "the header is not valid cp1252 text" in result.stderr and "--encoding cp1252" not in result.stderr

    def test_an_empty_output_name_is_said_plainly(self, tmp_path):
        src = tmp_path / "cases.csv"
        src.write_text(IDEM)
        result = invoke("batch", str(src), "-o", "")
        assert result.exit_code == 2
        assert result.stderr.endswith("cannot write the output: the file name is empty; nothing was written\n"), result.stderr

    def test_thousands_of_unknown_columns_are_counted_not_listed(self):
        header = "cord," + ",".join(f"x{i}" for i in range(20000))
        result = batch((header + "\n" + ",".join(["displaced"] + ["1"] * 20000) + "\n").encode())
        assert result.exit_code == 2
        assert "'x9', and 19,990 more; see `ddx features`" in result.stderr and len(result.stderr) < 1000

    @pytest.mark.parametrize("letter", ["c", "1", "_", "-", "."])
    def test_a_delimiter_that_is_part_of_the_names_is_refused(self, letter):
        """--delimiter c would split 'cord' into 'ord'."""
        result = batch(IDEM, "--delimiter", letter)
        assert result.exit_code == 2
        assert f"--delimiter {letter!r}: it is part of the column names and values" in result.stderr

    @pytest.mark.parametrize("fmt", ["ndjson", "json"])
    def test_next_findings_says_how_many_each_record_carries(self, fmt):
        """A script that does not read the next best findings leaves their search out; nothing
        else of the record changes."""
        full = invoke("batch", "-", "--format", fmt, input=IDEM)
        bare = invoke("batch", "-", "--format", fmt, "--next-findings", "0", input=IDEM)
        five = invoke("batch", "-", "--format", fmt, "--next-findings", "5", input=IDEM)
        assert full.exit_code == bare.exit_code == five.exit_code == 0
        first = lambda result: json.loads(result.stdout)[0] if fmt == "json" else json.loads(result.stdout.splitlines()[0])
        a, b, c = first(full), first(bare), first(five)
        assert len(a["next_findings"]) == 3 and b["next_findings"] == [] and b["history_questions"] == []
        assert len(c["next_findings"]) == 5
        assert {k: v for k, v in a.items() if k not in ("next_findings", "history_questions")} == {
            k: v for k, v in b.items() if k not in ("next_findings", "history_questions")}

    def test_next_findings_is_a_count(self):
        result = invoke("batch", "-", "--next-findings", "-1", input=IDEM)
        assert result.exit_code == 2 and "--next-findings" in result.stderr

    def test_unknown_encoding(self):
        result = batch(IDEM, "--encoding", "klingon")
        assert result.exit_code == 2
        assert "unknown encoding 'klingon'" in result.stderr

    @pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib"])
    def test_a_codec_that_is_not_a_text_encoding(self, encoding):
        result = batch(IDEM, "--encoding", encoding)
        assert_no_traceback(result)
        assert result.exit_code == 2
        assert f"--encoding {encoding}" in result.stderr and "not a text encoding" in result.stderr
        assert "internal error" not in result.stderr
        assert result.stdout == ""

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
    def test_a_file_the_encoding_cannot_decode_names_the_encoding_and_the_fix(self, encoding):
        # UTF-8 read as UTF-16 without its byte-order mark, or as UTF-32: the decoder fails
        # on the file as a whole, which is an unreadable input (exit 2), not a bug
        result = batch(IDEM, "--encoding", encoding)
        assert_no_traceback(result)
        assert result.exit_code == 2
        assert "internal error" not in result.stderr
        assert f"cannot be read as {encoding}" in result.stderr
        assert "--encoding" in result.stderr
        assert result.stdout == ""


    @pytest.mark.parametrize(
        "bad, row",
        [(b"\x00\xd8", 2), (b"\x00", 4)],  # a lone surrogate before row 2; a last byte without its pair
    )
    def test_a_unit_utf16_cannot_read_is_its_row_s_error_and_the_rows_after_it_are_read(self, bad, row):
        """The bytes of a bad UTF-16 unit may be below 0x80, which surrogate escapes cannot keep:
        they are kept all the same, so that one bad unit costs its row, not the rest of the file."""
        head = "case_id,cord\nA,displaced\n".encode("utf-16")
        tail = "B,expanded\nC,normal\n".encode("utf-16-le")
        data = head + bad + tail if row == 2 else head + tail + bad
        result = batch(data, "--encoding", "utf-16")
        assert_no_traceback(result)
        assert result.exit_code == 1
        rows = records(result)
        assert [r["row"] for r in rows] == ["1", "2", "3"] + (["4"] if row == 4 else [])
        assert [r["row"] for r in rows if r["error"]] == [str(row)]
        assert "\\x00" in rows[row - 1]["case_id"]
        # the damage is said as damage, not as another encoding to try nor as a missing separator
        assert "utf-16 cannot read (a lone surrogate, or a last unit cut short)" in rows[row - 1]["error"]
        assert "--encoding" not in rows[row - 1]["error"] and "separator is missing" not in rows[row - 1]["error"]

    def test_an_input_that_cannot_be_read_says_the_output_file_was_not_created(self, tmp_path):
        out = tmp_path / "out.csv"
        result = batch("", "-o", str(out))
        assert result.exit_code == 2
        assert "is empty: the first line must name the columns" in result.stderr
        assert f"; {out} was not created" in result.stderr and not out.exists()

    def test_a_failed_read_is_the_input_s_error_not_the_output_s(self, monkeypatch):
        from ddx import csv_input

        def failing(lines, name, encoding):
            yield "case_id,cord\n"
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr("ddx.batch.decoded", lambda lines, name, encoding: csv_input.decoded(failing(lines, name, encoding), name, encoding))
        result = batch(IDEM)
        assert_no_traceback(result)
        assert result.exit_code == 2
        assert "cannot read standard input: Input/output error" in result.stderr
        assert "cannot write the output" not in result.stderr

    def test_a_standard_input_left_non_blocking_is_waited_for(self):
        from ddx.csv_input import _Waiting

        r, w = os.pipe()
        os.set_blocking(r, False)
        try:
            writer = __import__("threading").Timer(0.05, os.write, (w, b"case_id\n"))
            writer.start()
            buffer = bytearray(64)
            n = _Waiting(r).readinto(buffer)
            writer.join()
            assert bytes(buffer[:n]) == b"case_id\n"
        finally:
            os.close(r)
            os.close(w)


class TestDelimiters:
    def test_semicolon_is_sniffed_when_the_header_has_no_comma(self):
        result = batch("case_id;cord;level\nA;displaced;cervical,thoracic\n")
        assert result.exit_code == 0, result.output
        assert records(result)[0]["compartment"] == "intradural_extramedullary"

    def test_delimiter_option(self):
        result = batch("case_id|cord\nA|displaced\n", "--delimiter", "|")
        assert result.exit_code == 0, result.output
        tab = batch("case_id\tcord\nA\tdisplaced\n", "--delimiter", "tab")
        assert tab.exit_code == 0, tab.output
        assert records(result)[0]["case_id"] == records(tab)[0]["case_id"] == "A"

    @pytest.mark.parametrize("given, found", [(";", "','"), (",", "';'"), ("tab", "','"), (" ", "','")])
    def test_a_wrong_delimiter_names_the_one_the_header_uses(self, given, found):
        data = IDEM.replace(",", ";") if given == "," else IDEM
        result = batch(data, "--delimiter", given)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert f"the header is one cell when split at --delimiter" in result.stderr
        assert f"but it is separated by {found}" in result.stderr
        assert "the first line is not a header" not in result.stderr and "unknown column" not in result.stderr

    @pytest.mark.parametrize("char", ['"', "\n", "\r"])
    def test_a_quote_or_line_end_delimiter_is_refused(self, char):
        result = batch(IDEM, "--delimiter", char)
        assert result.exit_code == 2
        assert f"--delimiter {char!r}: " in result.stderr and "cannot separate cells" in result.stderr

    @pytest.mark.parametrize("mark, separator", [("sep=;", ";"), ("SEP=|", "|"), ("\ufeffsep=,", ","), ("sep=\t", "\t")])
    def test_excels_separator_line_names_the_separator_and_is_no_header(self, mark, separator):
        """Excel writes "sep=;" above the header when asked to, and reads it back: so does ddx."""
        data = f"{mark}\r\ncase_id{separator}cord{separator}level\r\nA{separator}displaced{separator}cervical\r\nB{separator}sideways{separator}\r\n"
        result = batch(data)
        assert result.exit_code == 1, result.output
        rows = records(result)
        assert [r["case_id"] for r in rows] == ["A", "B"]
        assert rows[0]["compartment"] == "intradural_extramedullary" and not rows[0]["error"]
        assert "line 4" in rows[1]["error"] and "'sideways'" in rows[1]["error"]

    def test_a_separator_line_that_disagrees_with_the_option_is_refused(self):
        result = batch("sep=;\ncase_id;cord\nA;displaced\n", "--delimiter", ",")
        assert result.exit_code == 2 and result.stdout == ""
        assert "its first line (sep=;) says the cells are separated by ';', but --delimiter gives ','" in result.stderr

    @pytest.mark.parametrize("data", ["sep=;\n", "sep=;\r\n\r\n"])
    def test_a_separator_line_with_no_header_after_it_says_so(self, data):
        """A file of Excel's separator line alone is not empty: the error names the line and what
        is missing after it."""
        result = batch(data)
        assert result.exit_code == 2 and result.stdout == ""
        assert "is empty" not in result.stderr
        assert "has no header after its first line (sep=;)" in " ".join(result.stderr.split())

    def test_a_long_delimiter_is_refused(self):
        result = batch(IDEM, "--delimiter", ";;")
        assert result.exit_code == 2
        assert "--delimiter ';;': give a single character" in result.stderr


class TestWholeFileProblems:
    """Exit 2, a message naming the problem and the fix, nothing on standard output."""

    @pytest.mark.parametrize(
        "data, message",
        [
            (b"", "standard input is empty: the first line must name the columns"),
            (b"\n\n  \n", "standard input is empty"),
            (b"A1,displaced,widened\n", "the first line is not a header: none of its cells ('A1', 'displaced', 'widened') names a column"),
            (b"case_id,cord,Cord\nA,x,y\n", "columns 2 ('cord') and 3 ('Cord') both name cord; remove or rename one"),
            (b"case_id,cord,foramnal_extension\nA,displaced,yes\n", "unknown column 'foramnal_extension' (did you mean 'foraminal_extension'?)"),
            (b'case_id,"cord\n', "the header (line 1) cannot be read: a quote opened on this line is never closed"),
        ],
    )
    def test_message_and_exit_2(self, data, message):
        result = batch(data)
        assert result.exit_code == 2
        assert message in result.stderr
        assert result.stderr.startswith("Error: ")
        assert result.stdout == ""
        assert_no_traceback(result)

    def test_an_id_column_is_suggested_as_case_id(self):
        result = batch("id,cord\nA,displaced\n")
        assert result.exit_code == 2 and "unknown column 'id' (did you mean 'case_id'?)" in result.stderr

    def test_unknown_column_can_be_passed_through(self):
        result = batch("case_id,cord,mrn\nA,displaced,123\n", "--passthrough", "MRN")
        assert result.exit_code == 0
        assert records(result)[0]["mrn"] == "123"

    def test_passthrough_of_a_missing_column(self):
        result = batch(IDEM, "--passthrough", "mrn")
        assert result.exit_code == 2
        assert "--passthrough mrn: there is no such column in the header of standard input" in result.stderr

    def test_missing_input_file(self, tmp_path):
        result = invoke("batch", str(tmp_path / "nope.csv"))
        assert result.exit_code == 2
        assert "does not exist" in result.stderr

    @pytest.mark.parametrize(
        "args, message",
        [
            (["-", "--format", "xml"], "Invalid value for '--format'"),
            (["-", "--top", "0"], "Invalid value for '--top'"),
            (["-", "--formt", "json"], "--formt"),
            ([], "Missing argument 'INPUT'"),
            (["{folder}"], "is a directory"),
        ],
    )
    def test_a_bad_option_or_an_unreadable_input_exits_2(self, tmp_path, args, message):
        """output.md: exit 2 when the command itself could not run (a bad option, an input that
        cannot be read), before any row is read: nothing on standard output, the reason on stderr."""
        result = invoke("batch", *(a.format(folder=tmp_path) for a in args), input=IDEM)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert message in result.stderr
        assert_no_traceback(result)

    def test_a_broken_knowledge_base_exits_2_before_any_row(self, tmp_path):
        """output.md: exit 2 when the command itself cannot run, a broken knowledge base among the
        causes: no record is written (nor exit 1, as if the rows had failed), and the problem is named."""
        import shutil
        from importlib import resources
        from pathlib import Path

        package = tmp_path / "ddx"
        shutil.copytree(Path(resources.files("ddx")), package, ignore=shutil.ignore_patterns("__pycache__"))
        entities = package / "knowledge" / "entities.toml"
        entities.write_text(entities.read_text(encoding="utf-8") + "\nnot toml\n", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(tmp_path), "DDX_NO_CACHE": "1"}
        out = tmp_path / "out.csv"
        for fmt in ("csv", "ndjson"):
            proc = subprocess.run([sys.executable, "-m", "ddx", "batch", "-", "--format", fmt], input=IDEM,
                                  capture_output=True, text=True, env=env)
            assert proc.returncode == 2, proc.stderr
            assert proc.stdout == ""
            assert proc.stderr.startswith("Error: the knowledge base has 1 problem(s):"), proc.stderr
            assert "entities.toml:" in proc.stderr and "Traceback" not in proc.stderr
        proc = subprocess.run([sys.executable, "-m", "ddx", "batch", "-", "-o", str(out)], input=IDEM,
                              capture_output=True, text=True, env=env)
        assert proc.returncode == 2 and not out.exists()


class TestBadRows:
    """Exit 1, one error record per bad row naming the row, column, value and fix; the rest is assessed."""

    def test_ragged_rows(self):
        result = batch("case_id,cord,csf\nA,displaced\nB,displaced,widened,oops\nC,displaced,widened\nD,displaced,widened,,\n")
        assert result.exit_code == 1
        rows = records(result)
        assert len(rows) == 4
        assert rows[0]["error"] == "the row has 2 cells but the header has 3: a separator is missing or the row was cut short; add the missing cells (they may be empty)"
        assert rows[1]["error"].startswith("the row has 4 cells but the header has 3: a value that contains the separator must be in double quotes")
        assert rows[2]["error"] == rows[3]["error"] == ""
        assert summary(result).startswith("ddx batch: 4 rows read, 2 assessed, 2 failed; first failure: row 1: the row has 2 cells")

    def test_a_row_with_cells_past_the_header_names_them(self):
        """The CSV has no value column: the message itself names the cells past the header."""
        result = batch("case_id,cord,csf\nA,displaced,widened,,oops, again\nB,displaced,widened\n")
        assert result.exit_code == 1
        rows = records(result)
        assert rows[0]["error"] == (
            "the row has 6 cells but the header has 3: a value that contains the separator must be in double quotes, "
            "or the header is missing a column (past the header: 'oops', ' again')"
        )
        assert rows[1]["error"] == ""

    @pytest.mark.parametrize("age", ["-3", "400", "54.5", "old"])
    def test_impossible_ages(self, age):
        result = batch(f"case_id,age,cord\nA,{age},displaced\nB,54,displaced\n")
        assert result.exit_code == 1
        rows = records(result)
        assert len(rows) == 2 and rows[1]["error"] == ""
        assert rows[0]["error"].startswith(f"age: '{age}' is ")
        assert rows[0]["compartment"] == rows[0]["candidate_1"] == ""

    def test_bad_value_suggests_the_closest(self):
        result = batch("case_id,csf\nA,efaced\n", "--format", "ndjson")
        error = json.loads(result.stdout)["error"]
        assert error["column"] == "csf" and error["value"] == "efaced" and error["line"] == 2
        assert "did you mean 'effaced'?" in error["message"]

    def test_unclosed_quote_spares_the_following_rows(self):
        result = batch('case_id,cord\nA,"displaced\nB,expanded\nC,normal\n')
        assert result.exit_code == 1
        rows = records(result)
        assert [r["case_id"] for r in rows] == ["A", "B", "C"]
        assert rows[0]["error"].startswith("a quote opened on this line is never closed")
        assert rows[1]["compartment"] == "intramedullary"

    def test_text_after_a_closing_quote(self):
        result = batch('case_id,cord\n"A"x,displaced\nB,displaced\n')
        rows = records(result)
        assert len(rows) == 2 and "text follows a closing quote" in rows[0]["error"]

    def test_nul_bytes(self):
        result = batch(b"case_id,cord\nA\x00,displaced\nB,dis\x00placed\nC,displaced\n")
        assert result.exit_code == 1
        rows = records(result)
        assert len(rows) == 3
        assert rows[0]["error"].startswith("case_id: 'A\\x00' contains a NUL byte")
        assert rows[1]["error"].startswith("cord: 'dis\\x00placed' contains a NUL byte")
        assert rows[2]["error"] == ""

    def test_a_huge_field(self):
        note = "x" * 300_000
        result = batch(f"case_id,cord,note\nA,displaced,{note}\nB,expanded,\n", "--passthrough", "note")
        assert result.exit_code == 0, result.stderr
        rows = records(result)
        assert len(rows) == 2 and rows[0]["note"] == note

    def test_every_bad_cell_of_a_row_is_named_in_one_message(self):
        result = batch("case_id,cord,csf,enhancement\nA,displaced,widend,homogenous\nB,displaced,widened,\n")
        assert result.exit_code == 1
        rows = records(result)
        assert len(rows) == 2 and rows[1]["error"] == ""
        assert rows[0]["error"].startswith("csf: 'widend' is not a value; did you mean 'widened'?")
        assert "; also enhancement: 'homogenous' is not a value; did you mean 'homogeneous'?" in rows[0]["error"]
        assert "; also enhancement: 'homogenous'" in summary(result)
        error = json.loads(batch("case_id,cord,csf,enhancement\nA,displaced,widend,homogenous\n", "--format", "ndjson").stdout)["error"]
        assert (error["column"], error["value"]) == ("csf", "widend")

    def test_an_unquoted_list_with_semicolons_gets_a_hint(self):
        result = batch("case_id;level;cord\nA;cervical;thoracic;\nB;cervical;displaced\n")
        assert result.exit_code == 1
        rows = records(result)
        assert len(rows) == 2 and rows[1]["error"] == ""
        assert rows[0]["error"].startswith("cord: 'thoracic' is not a value (allowed: expanded, displaced, compressed, normal); the row has 4 cells but the header has 3; ")
        assert "with ';' as the delimiter, a list value (" in rows[0]["error"]
        assert "must be in double quotes" in rows[0]["error"] and rows[0]["error"].endswith("or save the file with ',' as the delimiter")

    def test_strict_stops_at_the_first_bad_row(self):
        result = batch("case_id,age\nA,40\nB,400\nC,50\n", "--strict")
        assert result.exit_code == 1
        assert "Error: row 2: age: '400' is out of range (allowed: 0-120) (stopped by --strict; 1 row(s) were written before it)" in result.stderr
        assert [r["case_id"] for r in records(result)] == ["A"]
        as_json = batch("case_id,age\nA,40\nB,400\n", "--strict", "--format", "json")
        assert as_json.exit_code == 1 and [r["case_id"] for r in json.loads(as_json.stdout)] == ["A"]

    def test_strict_says_whether_the_output_file_was_kept_or_never_made(self, tmp_path):
        out = tmp_path / "s.csv"
        new = batch("case_id,age\nB,400\n", "--strict", "-o", str(out))
        assert new.exit_code == 1 and f"(stopped by --strict; {out} was not created)" in new.stderr
        assert not out.exists()
        out.write_text("kept\n")
        kept = batch("case_id,age\nB,400\n", "--strict", "-o", str(out))
        assert kept.exit_code == 1 and f"(stopped by --strict; {out} was left as it was)" in kept.stderr
        assert out.read_text() == "kept\n"

    @pytest.mark.skipif(not os.path.exists(os.devnull) or os.name != "posix", reason="a device to write through")
    def test_strict_to_a_device_counts_the_rows_written_through_it(self):
        """A device or a pipe gets each record as it is written: nothing is 'left as it was'."""
        result = batch("case_id,age\nA,40\nB,400\n", "--strict", "-o", os.devnull)
        assert result.exit_code == 1
        assert "(stopped by --strict; 1 row(s) were written before it)" in result.stderr


class TestSafeOutput:
    def test_formula_injection_is_neutralised_in_csv_only(self):
        data = "case_id,cord,note\n=HYPERLINK(\"x\"),displaced,+1\n@A,displaced,-2\n\tB,displaced,=1\n"
        result = batch(data, "--passthrough", "note")
        rows = records(result)
        assert [r["case_id"] for r in rows] == ["'=HYPERLINK(\"x\")", "'@A", "B"]
        assert [r["note"] for r in rows] == ["'+1", "'-2", "'=1"]
        ndjson = [json.loads(line) for line in batch(data, "--passthrough", "note", "--format", "ndjson").stdout.splitlines()]
        assert [r["case_id"] for r in ndjson] == ['=HYPERLINK("x")', "@A", "B"]
        assert [r["passthrough"]["note"] for r in ndjson] == ["+1", "-2", "=1"]

    def test_output_file_is_written(self, tmp_path):
        out = tmp_path / "out.csv"
        result = invoke("batch", "-", "-o", str(out), input=IDEM)
        assert result.exit_code == 0 and result.stdout == ""
        assert next(csv.reader(out.open(newline=""))) == COLUMNS
        assert os.listdir(tmp_path) == ["out.csv"]

    @pytest.mark.parametrize("data, args, code", [(b"case_id,agee\n", (), 2), (b"case_id,age\n1,400\n", ("--strict",), 1)])
    def test_a_failed_run_leaves_the_old_output_alone(self, tmp_path, data, args, code):
        out = tmp_path / "out.csv"
        out.write_text("previous results\n")
        result = invoke("batch", "-", "-o", str(out), *args, input=data)
        assert result.exit_code == code
        assert out.read_text() == "previous results\n"
        assert os.listdir(tmp_path) == ["out.csv"]

    def test_writing_over_the_input_is_refused(self, tmp_path):
        src = tmp_path / "cases.csv"
        src.write_text(IDEM)
        result = invoke("batch", str(src), "-o", str(src))
        assert result.exit_code == 2
        assert f"refusing to write the output over the input {src}; choose another -o" in result.stderr
        assert src.read_text() == IDEM

    def test_writing_over_the_input_through_standard_input_is_refused(self, tmp_path):
        src = tmp_path / "cases.csv"
        src.write_text(IDEM)
        with src.open("rb") as stdin:
            result = invoke("batch", "-", "-o", str(src), input=stdin)
        assert result.exit_code == 2
        assert f"refusing to write the output over the input: standard input is {src}; choose another -o" in result.stderr
        assert result.stdout == ""
        assert src.read_text() == IDEM
        other = tmp_path / "results.csv"
        with src.open("rb") as stdin:
            ok = invoke("batch", "-", "-o", str(other), input=stdin)
        assert ok.exit_code == 0 and len(list(csv.DictReader(other.open(newline="")))) == 1

    @pytest.mark.parametrize("through_stdin", [False, True])
    def test_appending_the_output_to_the_input_is_refused(self, tmp_path, through_stdin):
        """`ddx batch X >> X` would read its own records back for ever."""
        src = tmp_path / "cases.csv"
        src.write_text(IDEM)
        with src.open("ab") as out, src.open("rb") as stdin:
            proc = subprocess.run([sys.executable, "-m", "ddx", "batch", "-" if through_stdin else str(src)],
                                  stdin=stdin if through_stdin else subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                                  text=True, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr == ("Error: refusing to write the output over the input: standard output is "
                               f"{'standard input' if through_stdin else src}; redirect it to another file\n")
        assert src.read_text() == IDEM

    @pytest.mark.parametrize("out", [[], ["-o", "/dev/null"]])
    def test_a_device_for_input_and_output_is_not_taken_for_the_same_file(self, out):
        """/dev/null in and out (or /dev/stdin typed at a terminal) cannot harm each other."""
        proc = subprocess.run([sys.executable, "-m", "ddx", "batch", "/dev/null", *out], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        assert proc.returncode == 2 and "is empty" in proc.stderr and "refusing" not in proc.stderr
        from ddx.files import stream_is_file

        with open("/dev/null") as null:
            assert not stream_is_file(null, "/dev/null")

    def test_a_stderr_that_cannot_take_the_summary_leaves_the_exit_code_to_the_rows(self, tmp_path):
        if not os.path.exists("/dev/full"):
            pytest.skip("needs /dev/full")
        src = tmp_path / "cases.csv"
        src.write_text(IDEM)
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "ddx", "batch", str(src)], stdout=subprocess.PIPE, stderr=full,
                                  text=True, timeout=60)
        assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 2

    def test_a_full_disk_is_named_not_reported_as_a_bug(self, tmp_path, monkeypatch):
        @contextlib.contextmanager
        def full(path):
            class Full(io.StringIO):
                def write(self, text):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            yield Full()

        monkeypatch.setattr("ddx.files.atomic_output", full)
        out = tmp_path / "out.csv"
        result = invoke("batch", "-", "-o", str(out), input=IDEM)
        assert result.exit_code == 2
        assert result.stderr == f"ddx: cannot write the output: {out}: {os.strerror(errno.ENOSPC)}; {out} was not created\n"
        out.write_text("earlier results\n")
        again = invoke("batch", "-", "-o", str(out), input=IDEM)
        assert again.stderr == f"ddx: cannot write the output: {out}: {os.strerror(errno.ENOSPC)}; {out} was left as it was\n"

    @pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
    def test_standard_output_on_a_full_disk(self, tmp_path):
        src = tmp_path / "cases.csv"
        src.write_text("case_id,cord\n" + "".join(f"C{i},displaced\n" for i in range(3000)))
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "ddx", "batch", str(src)], stdout=full, stderr=subprocess.PIPE, text=True)
        assert proc.returncode == 2
        assert proc.stderr == f"ddx: cannot write the output: {os.strerror(errno.ENOSPC)}\n"

    def test_output_into_a_missing_folder(self, tmp_path):
        result = invoke("batch", "-", "-o", str(tmp_path / "no" / "out.csv"), input=IDEM)
        assert result.exit_code == 2
        assert "the folder" in result.stderr and "does not exist" in result.stderr

    def test_a_bar_never_drawn_leaves_nothing_on_the_terminal(self, monkeypatch):
        """A file that fails at its header gets its error alone, not a cursor code and a blank line."""

        class Terminal(io.StringIO):
            def isatty(self):
                return True

        class Input:
            size = 1000

            def position(self):
                return 500

        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        show, finish = cli_module._progress(Input(), None)
        finish(False)
        assert terminal.getvalue() == ""
        show, finish = cli_module._progress(Input(), None)
        show(1000)
        finish(True)
        assert "ddx batch" in terminal.getvalue() and terminal.getvalue().endswith("\n")

    def test_a_row_count_never_drawn_leaves_nothing_on_the_terminal(self, monkeypatch):
        """Standard input (no size: a count, not a bar) that fails at its header, or ends before
        the first count, gets its error or summary alone, not a blank line before it."""

        class Terminal(io.StringIO):
            def isatty(self):
                return True

        class Input:
            size = None

        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        show, finish = cli_module._progress(Input(), None)
        finish(False)
        show, finish = cli_module._progress(Input(), None)
        finish(True)
        assert terminal.getvalue() == ""
        show(1000)
        finish(True)
        assert terminal.getvalue() == "\rddx batch: 1,000 rows\n"

    def test_progress_goes_to_stderr_only(self, tmp_path, monkeypatch):
        src = tmp_path / "cases.csv"
        src.write_text("case_id,cord\n" + "".join(f"C{i},displaced\n" for i in range(2500)))
        result = invoke("batch", str(src), "--progress")
        assert result.exit_code == 0
        assert len(records(result)) == 2500
        assert result.stderr == "ddx batch: 2,500 rows read, 2,500 assessed, 0 failed\n"  # off a terminal: a line every few seconds
        monkeypatch.setattr(cli_module, "PROGRESS_LINE_EVERY", 0)
        result = invoke("batch", str(src), "--progress")
        assert result.stderr.splitlines()[:2] == ["ddx batch: 1,000 rows", "ddx batch: 2,000 rows"]
        quiet = invoke("batch", str(src))
        assert quiet.stderr == "ddx batch: 2,500 rows read, 2,500 assessed, 0 failed\n"

    @pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="needs /dev/stdout")
    def test_output_to_dev_stdout_appends_to_what_stdout_is_redirected_to(self, tmp_path):
        """`ddx batch in.csv -o /dev/stdout >> log` must add to the log, not replace it."""
        src = tmp_path / "cases.csv"
        src.write_text(IDEM)
        log = tmp_path / "log"
        log.write_text("PRECIOUS\n")
        with log.open("a") as out:
            proc = subprocess.run([sys.executable, "-m", "ddx", "batch", str(src), "-o", "/dev/stdout"], stdout=out, stderr=subprocess.PIPE)
        assert proc.returncode == 0, proc.stderr
        lines = log.read_text().splitlines()
        assert lines[0] == "PRECIOUS" and lines[1] == ",".join(COLUMNS) and len(lines) == 2 + len(IDEM.splitlines()) - 1
        assert sorted(os.listdir(tmp_path)) == ["cases.csv", "log"]

    @pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="needs /dev/stdout")
    def test_dev_stdout_closed_by_its_reader_ends_quietly_as_stdout_does(self, tmp_path):
        src = tmp_path / "cases.csv"
        src.write_text("case_id,cord\n" + "".join(f"C{i},displaced\n" for i in range(3000)))
        proc = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {sys.executable} -m ddx batch {src} -o /dev/stdout | head -n 2"],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "" and len(proc.stdout.splitlines()) == 2

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
    def test_a_named_pipe_whose_reader_leaves_is_a_failed_write(self, tmp_path):
        """Only our own standard output closing is a quiet end (`| head`); a pipe named by -o
        that closes early means the output is incomplete."""
        src = tmp_path / "cases.csv"
        src.write_text("case_id,cord\n" + "".join(f"C{i},displaced\n" for i in range(3000)))
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        reader = subprocess.Popen(["head", "-c", "100", str(fifo)], stdout=subprocess.DEVNULL)
        proc = subprocess.run([sys.executable, "-m", "ddx", "batch", str(src), "--format", "ndjson", "-o", str(fifo)],
                              capture_output=True, text=True, timeout=120)
        reader.wait(timeout=60)
        assert proc.returncode == 2
        assert proc.stderr.endswith(f"ddx: cannot write the output: {fifo}: {os.strerror(errno.EPIPE)}\n")

    @staticmethod
    def _writing(tmp_path, rows: int, **popen):
        """A batch of ``rows`` rows started to -o out.ndjson, once its partial file exists."""
        src = tmp_path / "cases.csv"
        src.write_text("case_id,cord\n" + "".join(f"C{i},displaced\n" for i in range(rows)))
        out = tmp_path / "out.ndjson"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ddx", "batch", str(src), "--format", "ndjson", "-o", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
        )
        deadline = time.monotonic() + 60
        while not any(name.endswith(".part") for name in os.listdir(tmp_path)):
            assert proc.poll() is None and time.monotonic() < deadline, "the batch never started writing"
            time.sleep(0.05)
        return proc, out

    @pytest.mark.skipif(not hasattr(signal, "SIGHUP") or os.name != "posix", reason="needs POSIX signals")
    @pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
    def test_sigterm_removes_the_partial_output_and_ends_by_the_signal(self, tmp_path, name):
        """A scheduler's time limit (SIGTERM) or a closed terminal (SIGHUP) must not leave a hidden
        .part file beside the output."""
        signum = getattr(signal, name)
        proc, out = self._writing(tmp_path, 20000)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == -signum  # ended by the signal, after cleaning up: a shell shows 143 or 129
        assert b"Traceback" not in stderr
        assert sorted(os.listdir(tmp_path)) == ["cases.csv"]

    @pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
    def test_a_callers_own_sigterm_handler_is_left_alone(self, monkeypatch):
        """Run in-process (a test, an embedding program), ddx must not take over a handler it did not set."""
        def own(signum, frame):
            pass

        previous = signal.signal(signal.SIGTERM, own)
        try:
            installed = []
            real = signal.signal
            monkeypatch.setattr(signal, "signal", lambda sig, handler: installed.append((sig, handler)) or real(sig, handler))
            assert process.main(["--version"]) == 0
            assert signal.SIGTERM not in [sig for sig, _ in installed] and signal.getsignal(signal.SIGTERM) is own
        finally:
            signal.signal(signal.SIGTERM, previous)

    @pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="needs POSIX signals")
    def test_an_ignored_sigterm_stays_ignored(self, tmp_path):
        """A parent that set SIGTERM to be ignored (nohup-like wrappers) keeps it so."""
        proc, out = self._writing(tmp_path, 1000, preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=600)
        assert proc.returncode == 0
        assert len(out.read_text().splitlines()) == 1000

    @pytest.mark.skipif(os.name != "posix", reason="needs select() on pipes")
    @pytest.mark.parametrize("fmt", ["csv", "ndjson"])
    def test_records_from_a_pipe_to_a_pipe_come_as_their_rows_do(self, fmt):
        """A row fed by hand or by a slow program is answered before the next one comes,
        not held back in a block of output until the input ends."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "ddx", "batch", "-", "--format", fmt],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            proc.stdin.write(b"case_id,cord\nA,displaced\n")
            proc.stdin.flush()
            got = b""
            deadline = time.monotonic() + 60
            while b'"A"' not in got and b"\n1,A," not in got:
                ready, _, _ = select.select([proc.stdout], [], [], max(deadline - time.monotonic(), 0))
                assert ready, f"no record while the input is still open: {got!r}"
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, "the output ended early"
                got += chunk
        finally:
            proc.communicate(timeout=60)  # closes the input
        assert proc.returncode == 0

    def test_a_closed_pipe_ends_quietly(self, tmp_path):
        src = tmp_path / "cases.csv"
        src.write_text("case_id,cord\n" + "".join(f"C{i},displaced\n" for i in range(20000)))
        proc = subprocess.run(
            f"set -o pipefail; {sys.executable} -m ddx batch {src} | head -n 2",
            shell=True, capture_output=True, text=True, executable="/bin/bash",
        )
        assert proc.stdout.splitlines()[0] == ",".join(COLUMNS)
        assert len(proc.stdout.splitlines()) == 2
        assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
        assert proc.returncode == 0 and proc.stderr == ""

    @pytest.mark.parametrize("fmt", ["csv", "ndjson", "json"])
    def test_a_pipe_closed_before_anything_is_written_ends_quietly(self, tmp_path, fmt):
        src = tmp_path / "cases.csv"
        src.write_text(IDEM + "X,bogus,,,\n")
        proc = subprocess.Popen([sys.executable, "-m", "ddx", "batch", str(src), "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait() == 0
        assert stderr == b""

    def test_ndjson_and_json_say_they_are_slower(self):
        result = invoke("batch", "--help")
        assert result.exit_code == 0
        text = " ".join(result.stdout.split())
        assert "ndjson and json carry the full assessment of every row" in text
        assert "about 100-200x slower, a few hundred rows per second" in text
        assert "CSV runs at tens of thousands of rows per second, so it is the format for large files" in text

    def test_format_is_case_insensitive(self):
        result = batch(IDEM, "--format", "NDJSON")
        assert result.exit_code == 0, result.output
        assert len(result.stdout.splitlines()) == 1 and json.loads(result.stdout)["case_id"] == "IDEM1"


class TestTemplate:
    def test_template_is_the_header_of_every_known_column(self):
        result = invoke("template")
        assert result.exit_code == 0
        assert result.stdout == ",".join(["case_id", *KB.features]) + "\n"

    def test_template_will_not_overwrite_a_filled_sheet_without_force(self, tmp_path):
        sheet = tmp_path / "cases.csv"
        sheet.write_text(IDEM)
        result = invoke("template", "-o", str(sheet))
        assert result.exit_code == 2
        assert f"Error: {sheet} already holds more than a header of ddx columns (cases, say); pass --force to replace it, or choose another -o" in result.stderr
        assert sheet.read_text() == IDEM
        forced = invoke("template", "-o", str(sheet), "--force")
        assert forced.exit_code == 0
        assert sheet.read_text() == ",".join(["case_id", *KB.features]) + "\n"

    @pytest.mark.parametrize("old", ["case_id,cord\n", "case_id,cord\r\n\r\n", "\ufeffCase ID;Age\n", "cord,csf\n", "\n\n"])
    def test_template_refreshes_a_file_with_only_a_header(self, tmp_path, old):
        sheet = tmp_path / "cases.csv"
        sheet.write_text(old)
        result = invoke("template", "-o", str(sheet))
        assert result.exit_code == 0, result.stderr
        assert sheet.read_text() == ",".join(["case_id", *KB.features]) + "\n"

    @pytest.mark.parametrize("old", ["patient 1234 findings pending: keep\n", "a1,displaced,widened\n", "a,b"])
    def test_template_will_not_overwrite_a_line_that_is_not_a_header_of_its_columns(self, tmp_path, old):
        sheet = tmp_path / "cases.csv"
        sheet.write_text(old)
        assert invoke("template", "-o", str(sheet)).exit_code == 2
        assert sheet.read_text() == old

    def test_template_fills_an_empty_file(self, tmp_path):
        sheet = tmp_path / "cases.csv"
        sheet.write_text("")
        assert invoke("template", "-o", str(sheet)).exit_code == 0
        assert sheet.read_text().startswith("case_id,")

    def test_template_reads_back_as_a_batch_with_no_rows(self, tmp_path):
        out = tmp_path / "cases.csv"
        assert invoke("template", "-o", str(out)).exit_code == 0
        result = invoke("batch", str(out))
        assert result.exit_code == 0
        assert "0 rows read" in result.stderr
