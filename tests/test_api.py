"""The public Python API: ddx.assess with keywords, a mapping or a Findings record; frozen results."""

from __future__ import annotations

import attrs
import pytest

import ddx
from ddx.errors import FindingError

CELLS = {"cord": "displaced", "csf": "widened", "csf_cap": "yes", "foraminal_extension": "yes"}


class TestAssess:
    def test_keywords(self):
        """ddx.assess takes the findings as keyword arguments."""
        a = ddx.assess(**CELLS)
        assert a.compartment in ("intramedullary", "intradural_extramedullary", "extradural")
        assert a.findings.get("foraminal_extension") == "yes"

    def test_mapping(self):
        """ddx.assess takes a mapping of column -> value and gives the same answer as keywords."""
        assert ddx.assess(CELLS) == ddx.assess(**CELLS)

    def test_findings_record(self):
        """ddx.assess takes a parsed Findings record and gives the same answer."""
        findings = ddx.parse_findings(CELLS)
        assert isinstance(findings, ddx.Findings)
        assert ddx.assess(findings) == ddx.assess(**CELLS)

    def test_mapping_and_keywords_merge(self):
        """Keywords add to a mapping (and win over the same column in it)."""
        assert ddx.assess({"cord": "expanded", "csf": "widened"}, cord="displaced", csf_cap="yes") == ddx.assess(
            cord="displaced", csf="widened", csf_cap="yes"
        )

    def test_findings_with_keywords_is_refused(self):
        """A Findings record and keyword findings together are refused."""
        with pytest.raises(TypeError):
            ddx.assess(ddx.parse_findings(CELLS), age=40)

    def test_no_findings(self):
        """ddx.assess() with nothing gives a full ranked list."""
        a = ddx.assess()
        assert len(a.candidates) >= 33
        assert a.findings.values == ()

    def test_python_values(self):
        """Python ints and booleans are accepted as values."""
        a = ddx.assess(age=54, target_sign=True, dural_tail=False)
        assert a.findings.as_dict() == {"age": 54, "target_sign": "yes", "dural_tail": "no"}

    def test_case_id(self):
        """case_id given to ddx.assess comes back on the assessment."""
        assert ddx.assess(case_id="IM017", **CELLS).case_id == "IM017"

    def test_bad_value_raises_finding_error(self):
        """A value that cannot be read raises FindingError naming the column and the value."""
        with pytest.raises(FindingError) as info:
            ddx.assess(cord="displace")
        assert info.value.column == "cord"
        assert info.value.value == "displace"
        assert isinstance(info.value, ValueError)

    def test_unknown_column_raises_finding_error(self):
        """An unknown keyword raises FindingError with the closest column."""
        with pytest.raises(FindingError, match="did you mean 'cord'"):
            ddx.assess(crod="displaced")

    @pytest.mark.parametrize("name", ["id", "ID", "Patient ID", "case_no"])
    def test_a_sheet_s_name_for_the_case_column_is_read_as_case_id_s(self, name):
        """Suggested, not taken: an id may be a patient's, to pass through."""
        with pytest.raises(FindingError, match="did you mean 'case_id'"):
            ddx.assess({name: "1", "cord": "displaced"})

    def test_load_knowledge_is_public(self):
        """ddx.load_knowledge loads the packaged knowledge base."""
        assert ddx.load_knowledge().entity_ids

    def test_version_is_a_string(self):
        """ddx.__version__ is a dotted version string."""
        assert ddx.__version__.count(".") >= 1


class TestAssessment:
    def test_assessment_is_frozen(self):
        """An Assessment cannot be changed."""
        a = ddx.assess(**CELLS)
        assert isinstance(a, ddx.Assessment)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            a.flags = ()

    def test_its_parts_are_frozen(self):
        """The candidates, reasons and flags inside an Assessment cannot be changed either."""
        a = ddx.assess(cord="compressed", **{k: v for k, v in CELLS.items() if k != "cord"})
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            a.candidates[0].probability = 1.0
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            a.flags[0].message = ""
        reasons = [r for c in a.candidates for r in c.reasons_for + c.reasons_against]
        assert reasons
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            reasons[0].ratio = 1.0
        assert isinstance(a.candidates, tuple) and isinstance(a.flags, tuple)

    def test_accessors(self):
        """candidate(), probability() and flagged read the assessment; an unknown id raises KeyError."""
        a = ddx.assess(**CELLS)
        top = a.candidates[0]
        assert a.candidate(top.id) is top
        assert a.probability(top.id) == top.probability
        assert set(a.flagged) <= {c.id for c in a.candidates if c.dont_miss}
        with pytest.raises(KeyError):
            a.candidate("no_such_entity")

    def test_unknown_attribute(self):
        """An attribute ddx does not have raises AttributeError."""
        with pytest.raises(AttributeError):
            ddx.no_such_thing  # noqa: B018


class TestValues:
    def test_list_columns_take_python_sequences(self):
        """A list column takes a list or tuple as well as 'a;b' text."""
        assert ddx.assess(level=["cervical", "thoracic"]) == ddx.assess(level="cervical;thoracic")
        assert ddx.assess(level=("thoracic",)).findings.get("level") == ("thoracic",)

    def test_findings_round_trip(self):
        """The findings of an assessment, given back as keywords, give the same assessment."""
        a = ddx.assess(level="cervical;thoracic", syndrome="none", age=54, **CELLS)
        assert ddx.assess(**a.findings.as_dict()) == a

    def test_an_empty_list_is_the_known_answer_none_where_there_is_one(self):
        """syndrome=() is 'none' (known), as the record stores it; level=() is not assessed."""
        assert ddx.assess(syndrome=()).findings.get("syndrome") == ()
        assert "level" not in ddx.assess(level=[]).findings

    def test_a_list_for_a_one_value_column_is_refused(self):
        """A list given to a column of one value is an error naming the column."""
        with pytest.raises(FindingError, match="cord: .* is a list, but cord takes one value"):
            ddx.assess(cord=["displaced"])

    @pytest.mark.parametrize("missing", [None, float("nan"), "", "unknown"])
    def test_missing_values_are_not_assessed(self, missing):
        """None, NaN (a pandas blank), an empty string and 'unknown' all leave a finding unknown."""
        assert ddx.assess(age=missing, csf_cap=missing, **{"cord": "displaced"}) == ddx.assess(cord="displaced")

    def test_an_error_keeps_the_value_as_written(self):
        """The error's value is the text as given, not a cleaned-up copy."""
        with pytest.raises(FindingError) as info:
            ddx.assess(cord=" DISPLACE ")
        assert info.value.value == " DISPLACE "
        assert "did you mean 'displaced'" in str(info.value)

    def test_two_spellings_of_one_column_are_refused(self):
        """A mapping that names one column twice (csf_cap and 'CSF cap') is refused, as batch refuses the header."""
        with pytest.raises(FindingError, match="same column"):
            ddx.assess({"csf_cap": "yes", "CSF cap": "no"})

    def test_a_keyword_replaces_the_column_however_the_mapping_spells_it(self):
        """A keyword wins over the same column in the mapping, whatever its spelling there."""
        assert ddx.assess({"CSF cap": "yes"}, csf_cap="no") == ddx.assess(csf_cap="no")

    def test_what_is_not_findings_is_a_type_error(self):
        """A string or a number in place of the findings is a TypeError that says what is expected."""
        with pytest.raises(TypeError, match="mapping of column"):
            ddx.assess("cord=displaced")
        with pytest.raises(TypeError, match="mapping of column"):
            ddx.parse_findings(None)


class TestSuggest:
    """suggest= says how many next best findings ddx.assess chooses; 0 skips the search."""

    def test_zero_skips_them_and_changes_nothing_else(self):
        full = ddx.assess(**CELLS)
        bare = ddx.assess(suggest=0, **CELLS)
        assert full.next_findings and full.history_questions
        assert bare.next_findings == () and bare.history_questions == ()
        assert bare.candidates == full.candidates and bare.flags == full.flags and bare.compartments == full.compartments

    def test_a_whole_number_of_another_kind_is_taken(self):
        class Whole:  # numpy's integers and the like: whole numbers that are not int
            def __index__(self):
                return 2

        assert len(ddx.assess(cord="displaced", suggest=Whole()).next_findings) == 2

    def test_it_says_how_many(self):
        assert len(ddx.assess(cord="displaced", suggest=5).next_findings) == 5
        assert len(ddx.assess(cord="displaced", suggest=1).next_findings) == 1
        assert ddx.assess(ddx.parse_findings(CELLS), suggest=0).next_findings == ()

    @pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
    def test_anything_but_a_count_is_refused(self, bad):
        with pytest.raises(ValueError if bad == -1 else TypeError, match="next best findings"):
            ddx.assess(cord="displaced", suggest=bad)


class TestHandMadeFindings:
    """A Findings record built by hand is read again: the engine never scores a value it would misread."""

    def test_text_for_a_list_column_is_read_as_a_list(self):
        """level='craniocervical' is the region craniocervical, not also 'cervical' inside its name."""
        by_hand = ddx.assess(ddx.Findings(values=(("level", "craniocervical"),)))
        assert by_hand == ddx.assess(level="craniocervical")
        assert by_hand != ddx.assess(level="craniocervical;cervical")

    def test_a_column_given_twice_is_refused(self):
        """A finding repeated in the record would count more than once; it is refused."""
        with pytest.raises(FindingError, match="given twice"):
            ddx.assess(ddx.Findings(values=(("dural_tail", "yes"),) * 3))

    def test_unknown_column_and_bad_value_are_refused(self):
        """An unknown column and an unreadable value fail as they would in a cell."""
        with pytest.raises(FindingError, match="not a known column"):
            ddx.assess(ddx.Findings(values=(("zzz", "yes"),)))
        with pytest.raises(FindingError, match="did you mean 'displaced'"):
            ddx.assess(ddx.Findings(values=(("cord", "displace"),)))

    def test_readable_values_are_made_canonical(self):
        """Upper case and numbers as text are read as a cell would be."""
        by_hand = ddx.Findings(values=(("age", "54"), ("cord", "DISPLACED")), case_id="X1")
        assert ddx.assess(by_hand) == ddx.assess(age=54, cord="displaced", case_id="X1")


class TestKnowledgeArgument:
    def test_an_edited_base_is_used_for_keywords_and_records(self):
        """knowledge= scores with the base given, for keywords and for a Findings record alike."""
        hot = ddx.load_knowledge(model={"temperature": 3.0})
        packaged = ddx.assess(**CELLS)
        by_keywords = ddx.assess(knowledge=hot, **CELLS)
        by_record = ddx.assess(ddx.parse_findings(CELLS), knowledge=hot)
        assert by_keywords == by_record
        assert by_keywords.candidates[0].probability < packaged.candidates[0].probability


class TestSurface:
    def test_dir_lists_the_public_names(self):
        """dir(ddx) shows what ddx.__all__ exports, loaded on first use."""
        assert set(ddx.__all__) <= set(dir(ddx))
        for name in ddx.__all__:
            assert getattr(ddx, name) is not None

    def test_the_package_docstring_s_example_runs_as_shown(self):
        import doctest

        result = doctest.testmod(ddx)
        assert result.attempted and not result.failed

    def test_a_record_built_by_hand_is_the_same_whatever_the_order_of_its_findings(self):
        a = ddx.Findings([("cord", "displaced"), ("csf", "widened")])
        b = ddx.Findings([("csf", "widened"), ("cord", "displaced")])
        assert a == b and hash(a) == hash(b) and a == ddx.Findings({"csf": "widened", "cord": "displaced"})

    def test_an_assessment_built_by_hand_without_compartments_still_has_a_repr(self):
        assert repr(ddx.Assessment(findings=ddx.Findings(), compartments=(), candidates=())).startswith(
            "<Assessment no compartment; top: none")

    def test_the_types_of_the_signatures_are_exported(self):
        """A type named in a signature or an error's attributes can be imported from ddx itself."""
        from ddx.assessment import Candidate, Flag, NextFinding, Reason
        from ddx.errors import DdxError, KnowledgeIssue
        from ddx.knowledge import Knowledge

        assert (ddx.Knowledge, ddx.DdxError, ddx.KnowledgeIssue) == (Knowledge, DdxError, KnowledgeIssue)
        assert (ddx.Candidate, ddx.Flag, ddx.NextFinding, ddx.Reason) == (Candidate, Flag, NextFinding, Reason)

    def test_errors_module_is_reachable(self):
        """ddx.errors.FindingError (named in the docstrings) is reachable after a bare import ddx."""
        assert ddx.errors.FindingError is ddx.FindingError is FindingError

    def test_to_record_is_the_json_of_output_md(self):
        """ddx.to_record gives the JSON record that `ddx assess --format json` prints."""
        import json

        from click.testing import CliRunner

        from ddx.cli import cli

        result = CliRunner().invoke(cli, ["assess", "--format", "json", "--cord", "displaced", "--csf", "widened"])
        assert json.loads(result.stdout) == json.loads(json.dumps(ddx.to_record(ddx.assess(cord="displaced", csf="widened"))))

    def test_repr_is_a_short_summary(self):
        """repr(Assessment) names the compartment and the leaders in one short line."""
        a = ddx.assess(case_id="C1", **CELLS)
        text = repr(a)
        assert len(text) < 300 and "\n" not in text
        assert a.compartment in text and a.candidates[0].id in text and "C1" in text


class TestPassthrough:
    def test_a_csv_row_with_extra_columns(self, tmp_path):
        """A spreadsheet row with an accession column is assessed with passthrough naming it."""
        import csv

        path = tmp_path / "cases.csv"
        path.write_text("case_id,accession,cord,csf\nT1,A1001,displaced,widened\n", encoding="utf-8")
        (row,) = csv.DictReader(path.open(encoding="utf-8"))
        with pytest.raises(FindingError, match="passthrough"):
            ddx.assess(row)
        a = ddx.assess(row, passthrough=["accession"])
        assert a == ddx.assess(case_id="T1", cord="displaced", csf="widened")


def test_the_table_and_markdown_views_are_those_of_the_cli():
    """ddx.to_table and ddx.to_markdown print what `ddx assess --format table|markdown` prints,
    given the note on the other priors (render.other_priors_note) that the command adds."""
    from click.testing import CliRunner

    from ddx.cli import cli
    from ddx.render import other_priors_note

    given = {"cord": "displaced", "csf": "widened", "csf_cap": "yes", "foraminal_extension": "yes"}
    a = ddx.assess(**given)
    registry = ddx.assess(**given, knowledge=ddx.load_knowledge(model={"prior_flattening": 1}))
    note = other_priors_note(a, registry, "--priors registry")
    assert note is not None
    options = [x for k, v in given.items() for x in (f"--{k.replace('_', '-')}", v)]
    for fmt, view in (("table", ddx.to_table), ("markdown", ddx.to_markdown)):
        shown = CliRunner().invoke(cli, ["assess", "--no-color", "--format", fmt, *options]).stdout
        assert shown.strip() == view(a, notes=(note,)).strip()
        assert shown.strip() != view(a).strip()


class TestEdgesOfHandMadeValues:
    def test_none_and_nan_inside_a_list_are_not_assessed(self):
        """A missing item of a list is dropped, never read as the answer 'none'."""
        assert "syndrome" not in ddx.assess(syndrome=[None]).findings
        assert ddx.assess(syndrome=["nf1", None]).findings.get("syndrome") == ("nf1",)
        assert ddx.assess(level=[float("nan"), "cervical"]).findings.get("level") == ("cervical",)

    def test_a_list_for_a_number_says_so_without_an_empty_allowed_list(self):
        with pytest.raises(FindingError) as info:
            ddx.assess(age=[54])
        assert "takes one value" in str(info.value) and "allowed: )" not in str(info.value)

    def test_a_column_twice_is_refused_whatever_its_values(self):
        """('cord', 'unknown') then ('cord', 'displaced') is refused as the reverse order is."""
        for values in ((("cord", "unknown"), ("cord", "displaced")), (("cord", "displaced"), ("cord", "unknown"))):
            with pytest.raises(FindingError, match="given twice"):
                ddx.assess(ddx.Findings(values=values))

    def test_case_id_among_the_values_is_refused_with_where_it_belongs(self):
        with pytest.raises(FindingError, match=r"Findings\(case_id="):
            ddx.assess(ddx.Findings(values=(("case_id", "X"),)))

    def test_a_mapping_like_row_is_read_by_parse_findings_as_by_assess(self):
        """An object with items() (a pandas Series, say) is read by both."""

        class Row:
            def __init__(self, cells):
                self.cells = cells

            def items(self):
                return self.cells.items()

        row = Row({"cord": "displaced"})
        assert ddx.parse_findings(row) == ddx.parse_findings({"cord": "displaced"})
        assert ddx.assess(row) == ddx.assess(cord="displaced")


class TestArgumentForms:
    def test_passthrough_takes_one_name_as_a_string(self):
        """passthrough='accession' is one column, not the letters of it."""
        assert ddx.assess({"accession": "A1", "cord": "displaced"}, passthrough="accession") == ddx.assess(cord="displaced")

    def test_knowledge_may_be_the_folder_to_load(self, tmp_path):
        """knowledge= takes a folder as ddx.load_knowledge does."""
        from importlib import resources

        folder = tmp_path / "kb"
        folder.mkdir()
        for item in resources.files("ddx.knowledge").iterdir():
            if item.name.endswith((".toml", ".csv")):
                (folder / item.name).write_bytes(item.read_bytes())
        assert ddx.assess(knowledge=str(folder), cord="displaced") == ddx.assess(cord="displaced")
        assert ddx.assess(knowledge=folder, cord="displaced") == ddx.assess(cord="displaced")

    @pytest.mark.parametrize("top", [0, -1, "3"])
    def test_the_views_refuse_a_top_that_is_no_count(self, top):
        a = ddx.assess(cord="displaced")
        for view in (ddx.to_table, ddx.to_markdown):
            with pytest.raises(ValueError, match="top is the number of candidates"):
                view(a, top=top)

    def test_a_missing_case_id_is_none(self):
        """A blank case id of a DataFrame (NaN) is no case id; a number becomes its text."""
        assert ddx.assess({"case_id": float("nan"), "cord": "displaced"}).case_id is None
        assert ddx.assess(ddx.Findings(values=(("cord", "displaced"),), case_id=5)).case_id == "5"

    @pytest.mark.parametrize("yes, no", [(1.0, 0.0), ("1.0", "0.0"), (1, 0)])
    def test_a_zero_one_column_with_blanks_reads_as_yes_and_no(self, yes, no):
        """pandas turns a 0/1 column with a blank into floats: 1.0 and 0.0 read as yes and no."""
        assert ddx.assess(csf_cap=yes, dural_tail=no).findings.as_dict() == {"csf_cap": "yes", "dural_tail": "no"}


def test_a_hand_made_record_with_a_dict_of_values_is_read():
    """Findings(values={'cord': 'displaced'}) is read like its pairs; values that are no pairs are a TypeError."""
    assert ddx.assess(ddx.Findings(values={"cord": "displaced"})) == ddx.assess(cord="displaced")
    with pytest.raises(TypeError, match="column, value"):
        ddx.assess(ddx.Findings(values=("cord", "displaced")))


class TestSecondReviewEdges:
    def test_a_record_built_from_a_dict_is_a_proper_record(self):
        """Findings(values={...}) reads, hashes and prints like one built from pairs."""
        record = ddx.Findings(values={"cord": "displaced", "csf": "widened"})
        assert record.get("cord") == "displaced" and "csf" in record
        assert record == ddx.Findings(values=(("cord", "displaced"), ("csf", "widened")))
        assert hash(record) == hash(ddx.Findings(values=(("cord", "displaced"), ("csf", "widened"))))

    def test_a_value_that_is_not_equal_to_itself_is_missing(self):
        """Decimal NaN, and a pandas-NA-like value whose comparison refuses to answer, are not assessed."""
        import decimal

        class NA:
            def __ne__(self, other):
                raise TypeError("boolean value of NA is ambiguous")

            __bool__ = __ne__

        assert ddx.assess(age=decimal.Decimal("NaN"), csf_cap=NA()) == ddx.assess()

    def test_passthrough_as_a_string_in_parse_findings_and_for_a_record(self):
        row = {"accession": "A1", "cord": "displaced"}
        assert ddx.parse_findings(row, passthrough="accession") == ddx.parse_findings({"cord": "displaced"})
        record = ddx.Findings(values=(("accession", "A1"), ("cord", "displaced")))
        assert ddx.assess(record, passthrough=["accession"]) == ddx.assess(cord="displaced")

    def test_case_id_is_found_in_a_record_however_it_is_spelled(self):
        with pytest.raises(FindingError, match="record's own field"):
            ddx.assess(ddx.Findings(values=(("Case ID", "abc"),)))

    @pytest.mark.parametrize("row", [0, -3, "x", "2", True, 2.0])
    def test_to_record_refuses_a_row_that_is_no_row_number(self, row):
        """output.md: ``row`` is the 1-based data row number; a 0 from enumerate() is a mistake."""
        with pytest.raises(ValueError, match="row is the 1-based data row number"):
            ddx.to_record(ddx.assess(cord="displaced"), row=row)

    def test_to_record_takes_a_row_number(self):
        a = ddx.assess(cord="displaced")
        assert ddx.to_record(a, row=7)["row"] == 7
        assert "row" not in ddx.to_record(a)

    def test_top_takes_any_integer_but_not_a_bool(self):
        class Three:
            def __index__(self):
                return 3

        a = ddx.assess(cord="displaced")
        assert ddx.to_table(a, top=Three()) == ddx.to_table(a, top=3)
        with pytest.raises(ValueError):
            ddx.to_table(a, top=True)


class TestMistakesAreNamed:
    """A caller's mistake raises a documented error that says what was expected, not one from deep inside."""

    def test_an_unknown_candidate_id_says_so_with_the_closest(self):
        a = ddx.assess(**CELLS)
        with pytest.raises(KeyError, match="'meningiomaa' is not a candidate id; did you mean 'meningioma'"):
            a.candidate("meningiomaa")
        with pytest.raises(KeyError, match="not a candidate id"):
            a.probability("Meningioma of the skull")

    def test_knowledge_that_is_not_a_base(self):
        with pytest.raises(TypeError, match="knowledge is a base from ddx.load_knowledge.*not int"):
            ddx.assess(cord="displaced", knowledge=42)

    def test_no_passthrough_is_none(self):
        assert ddx.assess(cord="displaced", passthrough=None) == ddx.assess(cord="displaced")

    def test_findings_given_by_name(self):
        with pytest.raises(TypeError, match="give the findings first, without a name"):
            ddx.assess(findings={"cord": "displaced"})

    @pytest.mark.parametrize("render", ["to_record", "to_table", "to_markdown"])
    def test_rendering_what_is_not_an_assessment(self, render):
        with pytest.raises(TypeError, match="an Assessment .* is rendered, not dict"):
            getattr(ddx, render)({"x": 1})

    def test_a_broken_base_raises_the_exported_error(self, tmp_path):
        with pytest.raises(ddx.KnowledgeError):
            ddx.load_knowledge(tmp_path)
        assert "KnowledgeError" in ddx.__all__ and ddx.KnowledgeError is ddx.errors.KnowledgeError

    @pytest.mark.parametrize("folder", [5, b"/tmp", ["a"]])
    def test_a_folder_that_is_no_path_is_a_type_error_saying_so(self, folder):
        with pytest.raises(TypeError, match="the knowledge folder is a path"):
            ddx.load_knowledge(folder)

    def test_the_knowledge_base_has_a_short_repr(self):
        text = repr(ddx.load_knowledge())
        assert len(text) < 200 and "entities" in text


class TestAcrossProcesses:
    """Records and errors cross a process boundary (multiprocessing, concurrent.futures) intact."""

    def test_a_knowledge_error_survives_pickling(self, tmp_path):
        import pickle

        with pytest.raises(ddx.KnowledgeError) as caught:
            ddx.load_knowledge(tmp_path)
        error = caught.value
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is ddx.KnowledgeError
        assert again.issues == error.issues
        assert str(again) == str(error)

    def test_a_finding_error_and_an_assessment_survive_pickling(self):
        import pickle

        a = ddx.assess(**CELLS)
        assert pickle.loads(pickle.dumps(a)) == a
        with pytest.raises(FindingError) as caught:
            ddx.assess(cord="displace")
        again = pickle.loads(pickle.dumps(caught.value))
        assert (again.column, again.value, str(again)) == ("cord", "displace", str(caught.value))


class TestRowsOfCsvDictReader:
    """A csv.DictReader row is read as `ddx batch` reads the same line: cells beyond the header
    (under the key None) and a column with no name are fine while blank, an error when not."""

    @staticmethod
    def rows(text):
        import csv
        import io

        return list(csv.DictReader(io.StringIO(text)))

    def test_a_trailing_separator_is_not_a_column(self):
        header_ok, cell_ok = self.rows("cord,csf\ndisplaced,widened,\n")[0], self.rows("cord,csf,\ndisplaced,widened,\n")[0]
        expected = ddx.assess(cord="displaced", csf="widened")
        assert ddx.assess(header_ok) == expected
        assert ddx.assess(cell_ok) == expected
        assert ddx.parse_findings(header_ok) == expected.findings

    def test_a_value_beyond_the_header_says_what_is_wrong(self):
        row = self.rows("cord,csf\ndisplaced,widened,extra\n")[0]
        with pytest.raises(FindingError, match="more cells than the header") as caught:
            ddx.assess(row)
        assert caught.value.value == "extra"
        assert "None" not in str(caught.value)

    def test_a_value_in_a_column_with_no_name_says_so(self):
        row = self.rows("cord,csf,\ndisplaced,widened,extra\n")[0]
        with pytest.raises(FindingError, match="no name in the header") as caught:
            ddx.assess(row)
        assert caught.value.value == "extra"


class TestTyping:
    """A type checker sees the public API: the package says it is typed, and ships the marker."""

    def test_the_package_carries_the_py_typed_marker(self):
        import configparser
        from pathlib import Path

        # the installed package holds the marker; the checkout's setup.cfg ships it
        assert (Path(ddx.__file__).parent / "py.typed").is_file()
        setup = configparser.ConfigParser()
        setup.read(Path(__file__).resolve().parent.parent / "setup.cfg")
        assert "py.typed" in setup["options.package_data"]["ddx"]

    def test_assess_says_what_it_returns(self):
        import inspect

        signature = inspect.signature(ddx.assess)
        assert signature.return_annotation == "Assessment"
        assert "Knowledge" in signature.parameters["knowledge"].annotation

    def test_the_lazy_names_are_declared_for_a_type_checker(self):
        import ast
        from pathlib import Path

        tree = ast.parse(Path(ddx.__file__).read_text(encoding="utf-8"))
        declared = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
            for sub in node.body
            if isinstance(sub, ast.ImportFrom)
            for alias in sub.names
        }
        public = {name for name in ddx.__all__ if not name.startswith("__")} - {"assess"}
        assert public <= declared


class TestKnowledgeFolder:
    def test_a_folder_that_does_not_exist_is_one_problem_that_says_so(self, tmp_path):
        """A mistyped folder is named as such, not as every knowledge file missing from it."""
        for call in (lambda f: ddx.load_knowledge(f), lambda f: ddx.assess(knowledge=f, cord="displaced")):
            with pytest.raises(ddx.KnowledgeError) as caught:
                call(tmp_path / "knowlege")
            assert len(caught.value.issues) == 1
            assert "knowlege" in str(caught.value) and "does not exist" in str(caught.value)

    def test_a_file_given_as_the_folder_says_so(self, tmp_path):
        path = tmp_path / "features.toml"
        path.write_text("", encoding="utf-8")
        with pytest.raises(ddx.KnowledgeError) as caught:
            ddx.load_knowledge(path)
        assert len(caught.value.issues) == 1 and "is not a folder" in str(caught.value)


def test_a_header_read_with_its_byte_order_mark_says_how_to_open_the_file(tmp_path):
    """Excel's UTF-8 CSV starts with a byte-order mark; open() without utf-8-sig keeps it in the
    first column's name, which then names no column: the error says how to open the file."""
    import csv

    path = tmp_path / "sheet.csv"
    path.write_text("age,cord\n54,displaced\n", encoding="utf-8-sig")
    with open(path, newline="", encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    with pytest.raises(FindingError, match="byte-order mark.*utf-8-sig"):
        ddx.assess(row)
    with open(path, newline="", encoding="utf-8-sig") as f:
        assert ddx.assess(next(csv.DictReader(f))) == ddx.assess(age=54, cord="displaced")


def test_an_unknown_entity_id_in_the_knowledge_base_is_named_with_the_closest():
    kb = ddx.load_knowledge()
    with pytest.raises(KeyError, match="'schwanoma' is not an entity id; did you mean 'schwannoma'"):
        kb.entity("schwanoma")
    with pytest.raises(KeyError, match="'zzz' is not an entity id \\(the ids `ddx entities` lists\\)"):
        kb.entity("zzz")


def test_an_empty_knowledge_folder_name_is_no_folder():
    """Path('') is the current folder: an empty name is refused, not read as nine missing files."""
    with pytest.raises(ddx.KnowledgeError) as info:
        ddx.load_knowledge("")
    assert len(info.value.issues) == 1 and "does not exist" in str(info.value)


class TestThirdTrial:
    """What a script author met trying the API."""

    @pytest.mark.parametrize("level", [
        (x for x in ["cervical", "thoracic"]),
        {"cervical": 1, "thoracic": 2}.keys(),
        frozenset({"thoracic", "cervical"}),
    ])
    def test_any_iterable_but_text_is_a_list_of_values(self, level):
        assert ddx.assess(level=level).findings.get("level") == ("cervical", "thoracic")

    def test_an_array_with_one_comparison_per_item_is_read_as_a_list(self):
        """A data frame's list cell (numpy): != compares item by item and the result has no truth value."""
        class Array:
            def __init__(self, items):
                self.items = items

            def __iter__(self):
                return iter(self.items)

            def __ne__(self, other):
                return Array([a != other for a in self.items])

            def __bool__(self):
                raise ValueError("the truth value of an array is ambiguous")

        assert ddx.assess(level=Array(["cervical", "thoracic"])).findings.get("level") == ("cervical", "thoracic")

    def test_a_hand_made_record_with_a_list_value_hashes(self):
        record = ddx.Findings({"level": ["cervical", "thoracic"]})
        assert hash(record) == hash(ddx.Findings({"level": ("cervical", "thoracic")}))
        assert ddx.assess(record).findings.get("level") == ("cervical", "thoracic")

    def test_a_hand_made_record_with_a_key_that_is_no_text_is_a_finding_error(self):
        with pytest.raises(ddx.FindingError, match="1 is not a known column"):
            ddx.assess(ddx.Findings({"cord": "expanded", 1: "x"}))

    def test_parse_findings_takes_the_knowledge_and_passthrough_assess_takes(self, tmp_path):
        from importlib import resources

        folder = resources.files("ddx.knowledge")
        assert ddx.parse_findings({"cord": "expanded"}, str(folder), passthrough=None).get("cord") == "expanded"
        with pytest.raises(TypeError, match="knowledge is a base from ddx.load_knowledge"):
            ddx.parse_findings({"cord": "expanded"}, 5)

    @pytest.mark.parametrize("width", [0, -5, True, "80", 2.5])
    def test_a_table_width_that_is_no_count_is_refused_as_top_is(self, width):
        with pytest.raises(ValueError, match="width is the columns of a terminal"):
            ddx.to_table(ddx.assess(cord="displaced"), width=width)

    def test_a_one_value_array_and_a_memoryview_are_no_lists(self):
        """A numpy scalar array (ndim 0) holds one value; bytes-like views are no list of values."""
        class Scalar:
            ndim = 0

            def __init__(self, value):
                self.value = value

            def __iter__(self):
                raise TypeError("iteration over a 0-d array")

            def __ne__(self, other):
                return False

            def __str__(self):
                return self.value

        assert ddx.assess(cord=Scalar("expanded")).findings.get("cord") == "expanded"
        with pytest.raises(ddx.FindingError):
            ddx.assess(cord=memoryview(b"expanded"))

    def test_a_hand_made_record_holding_an_iterator_reads_the_same_every_time(self):
        record = ddx.Findings({"level": iter(["cervical", "thoracic"]), "cord": "expanded"})
        assert ddx.assess(record).findings == ddx.assess(record).findings
        assert ddx.assess(record).findings.get("level") == ("cervical", "thoracic")


def test_priors_names_the_packaged_base_s_priors_as_the_command_line_does():
    dumbbell = {"cord": "displaced", "csf": "widened", "csf_cap": "yes", "foraminal_extension": "yes"}
    registry = ddx.assess(dumbbell, priors="Registry")
    assert registry.candidates[0].id == "schwannoma" != ddx.assess(dumbbell).candidates[0].id
    assert ddx.assess(dumbbell, priors="case-reports") == ddx.assess(dumbbell)
    assert registry == ddx.assess(dumbbell, knowledge=ddx.load_knowledge(model={"prior_flattening": 1}))
    with pytest.raises(ValueError, match="priors is one of case-reports, registry, not 'census'"):
        ddx.assess(dumbbell, priors="census")
    with pytest.raises(TypeError, match="either knowledge or priors, not both"):
        ddx.assess(dumbbell, priors="registry", knowledge=ddx.load_knowledge())


def test_every_value_of_a_row_that_cannot_be_read_is_said_at_once():
    """As `ddx batch` says every bad cell of a row in one error, so does ddx.assess: one fix
    serves; the error's column and value are the first's."""
    with pytest.raises(FindingError) as info:
        ddx.assess({"age": "sixty", "cord": "sideways", "csf": "widened", "enhancement": "bright"})
    error = info.value
    assert (error.column, error.value) == ("age", "sixty")
    assert "age: 'sixty'" in str(error) and "; also cord: 'sideways'" in str(error) and "; also enhancement: 'bright'" in str(error)
    assert "csf" not in str(error)
