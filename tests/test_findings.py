"""The input contract of features.md: every column and value, the spelling rules, and precise errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import ddx
from ddx.errors import FindingError
from ddx.findings import Findings, parse_findings

# The columns of ../shared/spec/features.md, copied by hand from its tables:
# the spec is the contract, so this list is deliberately not read from features.toml.
YESNO = ("yes", "no")
SPEC: dict[str, tuple[str, tuple[str, ...]]] = {
    # Patient
    "age": ("integer", ()),
    "sex": ("choice", ("female", "male")),
    "known_primary": ("yesno", YESNO),
    "syndrome": ("list", ("nf1", "nf2", "vhl", "none")),
    # Where it is
    "level": ("list", ("craniocervical", "cervical", "thoracic", "lumbar", "sacral")),
    "conus_cauda": ("yesno", YESNO),
    "segments": ("integer", ()),
    "multiplicity": ("choice", ("single", "multiple")),
    # The compartment signs
    "cord": ("choice", ("expanded", "displaced", "compressed", "normal")),
    "csf": ("choice", ("effaced", "widened", "tapered", "normal")),
    "csf_cap": ("yesno", YESNO),
    "dural_sac_displaced": ("yesno", YESNO),
    "foraminal_extension": ("yesno", YESNO),
    "cord_position": ("choice", ("central", "eccentric")),
    # What it looks like
    "enhancement": ("choice", ("none", "homogeneous", "heterogeneous", "rim", "mural_nodule", "leptomeningeal", "patchy")),
    "dural_tail": ("yesno", YESNO),
    "t1_signal": ("choice", ("hypo", "iso", "hyper")),
    "t2_signal": ("choice", ("hypo", "iso", "hyper", "mixed")),
    "target_sign": ("yesno", YESNO),
    "cystic": ("yesno", YESNO),
    "hemorrhage": ("yesno", YESNO),
    "hemosiderin_cap": ("yesno", YESNO),
    "syrinx": ("yesno", YESNO),
    "cord_edema": ("yesno", YESNO),
    "flow_voids": ("yesno", YESNO),
    "calcification": ("yesno", YESNO),
    "fat": ("yesno", YESNO),
    "restricted_diffusion": ("yesno", YESNO),
    # Bone and the space outside the dura
    "vertebral_body": ("yesno", YESNO),
    "posterior_elements": ("yesno", YESNO),
    "bone_pattern": ("choice", ("lytic", "sclerotic", "mixed", "expansile", "coarse_trabeculae")),
    "pathologic_fracture": ("yesno", YESNO),
    "disc_involved": ("yesno", YESNO),
    "paraspinal_mass": ("yesno", YESNO),
    "scalloping": ("yesno", YESNO),
}
CATEGORICAL = [(column, value) for column, (kind, values) in SPEC.items() if kind != "integer" for value in values]
YESNO_COLUMNS = [column for column, (kind, _) in SPEC.items() if kind == "yesno"]
LIST_COLUMNS = [column for column, (kind, _) in SPEC.items() if kind == "list"]


def parse(cells, **kwargs) -> Findings:
    return parse_findings(cells, **kwargs)


def expected(column: str, value: str):
    """The canonical parsed form of one spec value."""
    kind, _ = SPEC[column]
    if kind == "list":
        return () if value == "none" else (value,)
    return value


def failure(cells, **kwargs) -> FindingError:
    with pytest.raises(FindingError) as info:
        parse_findings(cells, **kwargs)
    return info.value


class TestSpecColumns:
    @pytest.mark.parametrize(("column", "value"), CATEGORICAL)
    def test_every_value_is_accepted_as_written(self, column, value):
        """Every value of every column of features.md is accepted exactly as written."""
        assert parse({column: value}).get(column) == expected(column, value)

    @pytest.mark.parametrize(("column", "value"), [("age", "0"), ("age", "54"), ("age", "120"), ("segments", "1"), ("segments", "12")])
    def test_integers_in_range_are_accepted(self, column, value):
        """The integer columns accept whole numbers within the range features.md gives."""
        assert parse({column: value}).get(column) == int(value)

    def test_every_column_at_once(self):
        """A row with every column of features.md filled in is read whole."""
        row = {c: ("40" if kind == "integer" else values[0]) for c, (kind, values) in SPEC.items()}
        findings = parse(row)
        assert set(findings.as_dict()) == set(SPEC)

    def test_schema_covers_the_spec(self, kb):
        """The packaged schema has every column of features.md, with at least the values it lists."""
        for column, (kind, values) in SPEC.items():
            assert column in kb.features, column
            assert set(values) <= set(kb.features[column].values), column


class TestSpelling:
    @pytest.mark.parametrize("text", ["DISPLACED", "Displaced", "  displaced  ", "\tdisplaced\n", " DisPlaced"])
    def test_case_and_surrounding_whitespace_do_not_matter(self, text):
        """Values are case-insensitive and surrounding whitespace is ignored."""
        assert parse({"cord": text}).get("cord") == "displaced"

    @pytest.mark.parametrize("column", YESNO_COLUMNS)
    @pytest.mark.parametrize(("text", "value"), [("y", "yes"), ("n", "no"), ("true", "yes"), ("false", "no"), ("1", "yes"), ("0", "no"), ("Y", "yes"), (" TRUE ", "yes"), ("False", "no")])
    def test_yes_no_aliases(self, column, text, value):
        """Every yes/no column accepts y, n, true, false, 1 and 0."""
        assert parse({column: text}).get(column) == value

    def test_python_booleans_read_as_yes_and_no(self):
        """A Python True/False given through the API reads as yes/no."""
        assert parse({"target_sign": True, "csf_cap": False}).as_dict() == {"target_sign": "yes", "csf_cap": "no"}

    @pytest.mark.parametrize(
        "column, value, message",
        [
            ("age", True, "age: True is not a whole number (allowed: 0-120)"),
            ("cord", False, "cord: False is not a value"),
            ("level", True, "level: True is not a value"),
        ],
    )
    def test_a_python_boolean_elsewhere_is_named_as_given(self, column, value, message):
        """True/False where no yes/no belongs fails naming what the caller passed, not 'yes' or 'no'."""
        error = failure({column: value})
        assert error.value == str(value)
        assert error.message.startswith(message), error.message

    def test_list_columns_split_on_semicolons(self):
        """A list column takes several values separated by ';', each spelled freely."""
        assert set(parse({"level": "cervical;thoracic"}).get("level")) == {"cervical", "thoracic"}
        assert set(parse({"level": " Thoracic ; LUMBAR "}).get("level")) == {"thoracic", "lumbar"}
        assert set(parse({"syndrome": "nf1;nf2"}).get("syndrome")) == {"nf1", "nf2"}

    def test_list_order_and_repetition_do_not_matter(self):
        """A list column reads the same whatever the order of its values or a repeated value."""
        a = parse({"level": "lumbar;thoracic"}).get("level")
        b = parse({"level": "thoracic;lumbar;thoracic"}).get("level")
        assert a == b

    @pytest.mark.parametrize(
        "text, values",
        [("von Hippel-Lindau", ("vhl",)), ("NF-1", ("nf1",)), ("neurofibromatosis type 2", ("nf2",)),
         ("nf 1; von hippel lindau disease", ("nf1", "vhl")), ("no", ()), ("VHL disease", ("vhl",))],
    )
    def test_a_syndrome_is_read_by_its_name_as_written(self, text, values):
        """The names and spellings are features.toml's (meaning, alias), as `ddx explain` reads them."""
        assert parse({"syndrome": text}).get("syndrome") == values

    def test_syndrome_none_is_known(self):
        """`syndrome none` is a known answer (no syndrome), not an unknown one."""
        findings = parse({"syndrome": "none"})
        assert "syndrome" in findings
        assert findings.get("syndrome") == ()

    def test_syndrome_none_is_written_back_as_none(self):
        """`syndrome none` is written back as `none` (not a blank, which would read as unknown)."""
        findings = parse({"syndrome": "none"})
        assert findings.as_text() == {"syndrome": "none"}
        assert parse(findings.as_text()) == findings

    def test_syndrome_none_with_another_value_fails(self):
        """`none` mixed with a syndrome is a contradiction and fails naming the column."""
        error = failure({"syndrome": "nf1;none"})
        assert error.column == "syndrome"
        assert "none" in error.message

    def test_none_with_another_value_names_the_fix(self):
        """The error says what to write instead: the other values alone, or none alone."""
        error = failure({"syndrome": "NF1; vhl; none"})
        assert error.message == (
            "syndrome: 'NF1; vhl; none' mixes 'none' with other values: "
            "give nf1;vhl without 'none', or 'none' alone for no syndrome"
        )


class TestVertebrae:
    """A radiologist names vertebrae: a vertebra reads as its region, a range as every region it spans."""

    @pytest.mark.parametrize(
        "text, regions",
        [
            ("L3", ("lumbar",)),
            ("T8", ("thoracic",)),
            ("th8", ("thoracic",)),
            ("D8", ("thoracic",)),
            ("C5", ("cervical",)),
            ("S1", ("sacral",)),
            ("L2-L3", ("lumbar",)),
            ("L4-5", ("lumbar",)),
            ("L4/5", ("lumbar",)),
            ("T11-L1", ("thoracic", "lumbar")),
            ("c5 to lumbar", ("cervical", "thoracic", "lumbar")),
            ("cervical to lumbar", ("cervical", "thoracic", "lumbar")),
            ("L4-S1", ("lumbar", "sacral")),
            ("C5 to T2", ("cervical", "thoracic")),
            ("C6-L2", ("cervical", "thoracic", "lumbar")),
            ("L2-T11", ("thoracic", "lumbar")),
            ("cervical-thoracic", ("cervical", "thoracic")),
            ("cervical/lumbar", ("cervical", "lumbar")),
            ("sacral-cervical", ("cervical", "sacral")),
            ("l4\u20135", ("lumbar",)),
            ("T10\u2212L2", ("thoracic", "lumbar")),
            ("C1", ("craniocervical",)),
            ("C2", ("craniocervical",)),
            ("C1-C2", ("craniocervical",)),
            ("C2 to C3", ("craniocervical", "cervical")),
            ("C2-C4", ("craniocervical", "cervical")),
            ("occiput", ("craniocervical",)),
            ("C3", ("cervical",)),
            ("S5-Co1", ("sacral",)),
            ("thoracolumbar", ("thoracic", "lumbar")),
            ("lumbosacral; C5", ("cervical", "lumbar", "sacral")),
            ("thoraco-lumbar", ("thoracic", "lumbar")),
            ("Cervico-Thoracic", ("cervical", "thoracic")),
            ("lumbo\u2013sacral", ("lumbar", "sacral")),
            ("craniocervical junction", ("craniocervical",)),
            ("thoraco lumbar", ("thoracic", "lumbar")),
            ("thoracolumbar junction", ("thoracic", "lumbar")),
            ("CTJ", ("cervical", "thoracic")),
            ("T12 to L1", ("thoracic", "lumbar")),
            ("c7 TO t1", ("cervical", "thoracic")),
            ("L5 to S1", ("lumbar", "sacral")),
        ],
    )
    def test_vertebrae_and_ranges_name_their_regions(self, text, regions):
        assert parse({"level": text}).get("level") == regions

    def test_one_vertebra_of_the_junction_is_one_region(self):
        """A lesion at C2 alone lies in one region: the series count the craniocervical junction
        (C0-C2) apart from the cervical spine, and two regions would read it as a long lesion
        spanning both, which favours myelitis over a focal bone tumour."""
        assert ddx.assess(level="C2") == ddx.assess(level="craniocervical")

    @pytest.mark.parametrize("text", ["L9", "T13", "T12-X", "L4-", "-L4", "T12-L1-L2"])
    def test_what_is_no_vertebra_fails_with_the_allowed_regions(self, text):
        error = failure({"level": text})
        assert error.column == "level"
        assert "craniocervical, cervical, thoracic, lumbar, sacral" in error.message

    @pytest.mark.parametrize("text, hint", [("T13", "T runs from T1 to T12"), ("L6", "L runs from L1 to L5"),
                                            ("T10-T13", "T runs from T1 to T12"), ("th13", "TH runs from TH1 to TH12")])
    def test_a_vertebra_past_its_region_says_how_far_the_region_runs(self, text, hint):
        """Vertebrae are read (T10-L2), so T13 is a numbering slip, not a word ddx does not know."""
        assert hint in failure({"level": text}).message

    @pytest.mark.parametrize("text, region", [("L6", "lumbar"), ("T13", "thoracic"), ("S6", "sacral")])
    def test_one_past_the_run_is_told_to_give_its_region(self, text, region):
        """A sixth lumbar (transitional) or thirteenth thoracic vertebra exists; the reader writes its region."""
        assert f"give its region: {region})" in failure({"level": text}).message

    def test_a_number_far_from_the_run_gets_no_region_advice(self):
        assert "give its region" not in failure({"level": "L9"}).message

    def test_a_word_that_is_no_vertebra_gets_no_vertebra_hint(self):
        assert "runs from" not in failure({"level": "thorax"}).message

    def test_a_bad_part_is_named_as_written(self):
        """The error names the part as the cell wrote it, not lower-cased."""
        error = failure({"level": "Thoracic; L9"})
        assert error.value == "L9" and "'L9' is not a vertebra" in error.message

    @pytest.mark.parametrize("text", ["L5-S1", "S1-L5", "T12-L1", "th12-l1", "D12-L1", "C7-T1", "C2-C3", "C3/C2", "C2-3"])
    def test_a_junction_is_refused_with_the_regions_to_choose_from(self, text):
        """Reports write L5-S1 for the disc; read as both regions it would make a disc look sacral.
        The craniocervical junction ends at C2 within the run of C vertebrae, and C2-C3 is refused
        as C7-T1 is. (Joined by "to" the two vertebrae are a range: see above.)"""
        error = failure({"level": text})
        assert "is the junction of" in error.message and "give the region(s) the lesion lies in" in error.message
        assert error.message.endswith("' for a lesion spanning both")
        if text == "L5-S1":  # the range form to write instead, which reads
            assert error.message.endswith("or 'L5 to S1' for a lesion spanning both")
            assert ddx.parse_findings({"level": "L5 to S1"}).get("level") == ("lumbar", "sacral")

    @pytest.mark.parametrize(
        "text, fix",
        [
            ("T12-1", "(T1-T12 or T12-L1)"),
            ("L5-1", "(L1-L5 or L5-S1)"),
            ("C7/1", "(C1/C7 or C7/T1)"),
            ("th12 to 1", "(th1 to th12 or th12 to l1)"),
            ("T8-3", "(T3-T8 or T8-L3)"),
            ("L5-4", "(L4-L5 or L5-S4)"),
            ("C6-1", "(C1-C6 or C6-T1)"),
            ("T10-2", "(T2-T10 or T10-L2)"),
        ],
    )
    def test_a_bare_second_number_below_the_first_is_refused_with_the_readings(self, text, fix):
        """T12-1 is not T1-T12 read silently: it may mean T12-L1, so the error gives both readings."""
        error = failure({"level": text})
        assert error.value == text
        assert f"write it with its letter {fix}" in error.message, error.message

    @pytest.mark.parametrize("text, regions", [("T12-11", ("thoracic",)), ("S2-1", ("sacral",))])
    def test_a_bare_second_number_below_the_first_with_one_reading_is_read(self, text, regions):
        """T12-11 can only be T11-T12 (there is no L11): there is nothing to ask."""
        assert parse_findings({"level": text}).get("level") == regions

    def test_a_long_cell_of_several_values_is_not_repeated_in_full(self):
        for cell in ("C5 T1 " * 3000, "cervical thoracic lumbar sacral " * 2):
            error = failure({"level": cell})
            assert len(error.message) < 400, error.message
        assert "separate them with ';'" in failure({"level": "cervical thoracic lumbar sacral " * 2}).message

    def test_a_range_is_for_list_findings_only(self):
        """A one-value finding does not read 'displaced-expanded' as a range."""
        assert failure({"cord": "displaced-expanded"}).column == "cord"

    def test_a_range_is_for_ordered_lists_only(self):
        """Syndromes lie in no order: 'nf1-vhl' is refused, not read as nf1, nf2 and vhl."""
        assert failure({"syndrome": "nf1-vhl"}).column == "syndrome"


class TestUnknown:
    @pytest.mark.parametrize("text", ["", "   ", "unknown", "UNKNOWN", " Unknown ", None])
    @pytest.mark.parametrize("column", ["cord", "csf_cap", "age", "level", "syndrome"])
    def test_blank_missing_and_unknown_are_not_assessed(self, column, text):
        """A blank cell, None or `unknown` leaves the column unknown, exactly as a missing column does."""
        findings = parse({column: text})
        assert column not in findings
        assert findings == parse({})

    def test_unknown_is_never_no(self):
        """`unknown` in a yes/no column stays unknown; it is never read as `no`."""
        assert parse({"dural_tail": "unknown"}).get("dural_tail") is None
        assert parse({"dural_tail": "no"}).get("dural_tail") == "no"

    def test_empty_mapping_has_no_findings(self):
        """No cells at all gives a record with no findings and no case_id."""
        findings = parse({})
        assert findings.values == ()
        assert findings.case_id is None


class TestBadValues:
    def test_misspelt_value_names_column_value_allowed_and_closest(self):
        """A misspelt value fails with the column, the value, the allowed values and the closest match."""
        error = failure({"cord": "displace"})
        assert error.column == "cord"
        assert error.value == "displace"
        assert "cord: 'displace' is not a value; did you mean 'displaced'?" in error.message
        for allowed in SPEC["cord"][1]:
            assert allowed in error.message

    def test_str_of_the_error_is_the_message(self):
        """The error prints as its message, so a caller can show it as is."""
        error = failure({"csf": "widenned"})
        assert str(error) == error.message
        assert "did you mean 'widened'?" in error.message

    def test_value_with_no_close_match_still_lists_the_allowed(self):
        """A value far from every allowed one fails with the allowed values and no guess."""
        error = failure({"cord": "sideways"})
        assert error.column == "cord"
        assert "sideways" in error.message
        assert "did you mean" not in error.message
        for allowed in SPEC["cord"][1]:
            assert allowed in error.message

    @pytest.mark.parametrize("text", ["maybe", "2", "yess", "-1"])
    def test_bad_yes_no(self, text):
        """A yes/no column rejects anything but its spellings, naming yes and no."""
        error = failure({"csf_cap": text})
        assert error.column == "csf_cap"
        assert text in error.message
        assert "yes" in error.message and "no" in error.message

    def test_bad_part_of_a_list(self):
        """One bad value inside a list fails, naming it and the closest value."""
        error = failure({"level": "thoracic;lumbr"})
        assert error.column == "level"
        assert "lumbr" in error.message
        assert "did you mean 'lumbar'?" in error.message

    @pytest.mark.parametrize(("column", "text"), [("cord", "decompressed"), ("cord", "non-compressed"), ("cord", "Uncompressed"), ("cord", "displaced compressed")])
    def test_a_value_behind_a_prefix_is_another_word_not_a_typo(self, column, text):
        """'decompressed' is not a misspelt 'compressed' (the emergency sign): no guess, only the allowed values."""
        error = failure({column: text})
        assert "did you mean" not in error.message
        assert "(allowed: expanded, displaced, compressed, normal)" in error.message

    @pytest.mark.parametrize(("column", "text", "guess"), [("enhancement", "nodule", "mural_nodule"), ("bone_pattern", "trabeculae", "coarse_trabeculae"), ("cord", "ompressed", "compressed"),
                                                       ("enhancement", "mural", "mural_nodule"), ("bone_pattern", "coarse", "coarse_trabeculae")])
    def test_a_value_named_by_one_of_its_words_or_a_letter_short_is_still_guessed(self, column, text, guess):
        """A whole word in front ('mural_') or behind ('_nodule') makes a name shorter, not another
        word; one lost letter is a typo."""
        assert f"did you mean {guess!r}?" in failure({column: text}).message

    @pytest.mark.parametrize(("column", "text"), [("csf", "dorsal"), ("cord", "dorsal"), ("cord", "lateral"), ("t2_signal", "dim")])
    def test_a_short_word_two_letters_from_a_value_is_no_typo_of_it(self, column, text):
        """'dorsal' is where a mass lies, not a misspelt 'normal' (two letters apart): as with the
        names of entities, a word shorter than 7 letters is guessed only one letter from a value."""
        error = failure({column: text})
        assert "did you mean" not in error.message

    def test_a_yes_no_error_names_the_other_spellings_it_reads(self):
        from ddx.findings import NO, YES

        message = failure({"cystic": "t"}).message
        assert "(allowed: yes, no; also y, n, true, false, 1, 0, 1.0, 0.0)" in message
        also = message.split("; also ")[1].rstrip(")").split(", ")
        assert set(also) | {"yes", "no"} == YES | NO

    @pytest.mark.parametrize("text", ["rim;homogeneous", "Rim, Patchy"])
    def test_several_values_of_a_one_value_finding_are_named_as_such(self, text):
        """A reader who gives two enhancement patterns is told the column takes one, not that the
        cell is no value."""
        message = failure({"enhancement": text}).message
        assert "holds 2 values, but enhancement takes one" in message and "is not a value" not in message
        assert "is not a value" in failure({"enhancement": "rim;bogus"}).message

    @pytest.mark.parametrize(("column", "text"), [("syndrome", "nf"), ("syndrome", "NF")])
    def test_a_word_as_close_to_two_values_guesses_neither(self, column, text):
        """'nf' is as close to nf1 as to nf2: guessing one would be a coin toss."""
        assert "did you mean" not in failure({column: text}).message

    @pytest.mark.parametrize(("column", "text", "guess"), [("csf", "widend", "widened"), ("csf", "tapred", "tapered"), ("enhancement", "rimm", "rim"), ("bone_pattern", "lytc", "lytic"), ("level", "lumbr", "lumbar")])
    def test_a_short_word_one_letter_from_a_value_is_still_guessed(self, column, text, guess):
        assert f"did you mean {guess!r}?" in failure({column: text}).message

    @pytest.mark.parametrize(("column", "text", "value"), [("bone_pattern", "blastic", "sclerotic"), ("bone_pattern", "Osteoblastic", "sclerotic"), ("bone_pattern", "osteolytic", "lytic"), ("cord_position", "centric", "central")])
    def test_other_names_of_a_value(self, column, text, value):
        """Blastic bone is sclerotic and a centric mass central: read as such, not guessed as 'lytic' or 'eccentric'."""
        assert parse({column: text}).get(column) == value

    @pytest.mark.parametrize(("column", "text", "other"), [("csf", "capped", "csf_cap"), ("csf", "CSF cap", "csf_cap"), ("cord", "oedema", "cord_edema"), ("cord", "eccentric", "cord_position")])
    def test_a_word_for_a_finding_of_its_own_names_that_finding(self, column, text, other):
        """A capped CSF space is the CSF cap (csf_cap), not a misspelt 'tapered' (the extradural sign)."""
        error = failure({column: text})
        assert "did you mean" not in error.message
        assert f"; {other} is a finding of its own: " in error.message

    @pytest.mark.parametrize(("column", "text", "fix"), [("level", "cervical thoracic", "cervical;thoracic"), ("level", "T12 and L1", "T12;L1"), ("level", "T10-L2 C5", "T10-L2;C5"), ("syndrome", "nf1 nf2", "nf1;nf2"), ("syndrome", "NF1 and VHL", "NF1;VHL")])
    def test_several_values_without_semicolons_say_how_to_separate_them(self, column, text, fix):
        """'nf1 nf2' is two syndromes, not a misspelt 'nf2': the error says to separate them with ';'."""
        error = failure({column: text})
        assert error.value == text
        assert error.message == f"{column}: {text!r} holds several values: separate them with ';' ({fix})"

    def test_value_of_another_column_is_rejected(self):
        """A value that belongs to a different column is not accepted in this one."""
        error = failure({"csf": "expanded"})
        assert error.column == "csf"


class TestIntegers:
    @pytest.mark.parametrize("text", ["-3", "400", "121", "-1"])
    def test_age_out_of_range(self, text):
        """An age outside 0-120 fails with the column, the value and the range."""
        error = failure({"age": text})
        assert error.column == "age"
        assert error.value == text
        assert text in error.message
        assert "0-120" in error.message

    @pytest.mark.parametrize("text", ["abc", "54.5", "fifty", "5 4", "1e400x", "1_0", "1e2", "0x10", "\u0665\u0664", "5.4e1"])
    def test_age_not_a_whole_number(self, text):
        """An age that is not a whole number fails naming the column and the value."""
        error = failure({"age": text})
        assert error.column == "age"
        assert text in error.message
        assert "whole number" in error.message
        assert "(allowed: 0-120)" in error.message

    @pytest.mark.parametrize("column, text", [("age", "-"), ("cord", "null"), ("cord", "--"), ("enhancement", "-"), ("syndrome", "nan"), ("cystic", "#N/A")])
    def test_a_placeholder_for_not_assessed_says_how_to_write_it(self, column, text):
        """Sheets write '-' or 'none' for 'not looked at'; the contract does not take them
        (features.md names the unknowns), so the error says what to write instead."""
        error = failure({column: text})
        assert error.message.endswith("if it was not assessed, write unknown (or leave it out)")

    @pytest.mark.parametrize("column, text", [("cord", "displace"), ("cord", "none"), ("calcification", "none"), ("cystic", "nil")])
    def test_no_not_assessed_advice_for_a_typo_or_a_word_that_may_mean_absent(self, column, text):
        """'none' or 'nil' may be a negative finding (and none is a value of enhancement):
        steering it to unknown would throw the finding away."""
        assert "not assessed" not in failure({column: text}).message

    @pytest.mark.parametrize("text", ["54.0", " 54 ", "54", "+54", "54.", 54, 54.0])
    def test_age_integral_spellings(self, text):
        """54.0, padded text and numbers given through the API all read as the whole number 54."""
        value = parse({"age": text}).get("age")
        assert value == 54
        assert isinstance(value, int)

    @pytest.mark.parametrize("text", ["9" * 5000, "-" + "9" * 40, "0000000000000000000054"])
    def test_a_number_of_many_digits_is_out_of_range_or_read(self, text):
        """Thousands of digits are out of range (int() would refuse them outright); leading zeros are not digits that count."""
        if text.lstrip("0") == "54":
            assert parse({"age": text}).get("age") == 54
            return
        error = failure({"age": text})
        assert "out of range (allowed: 0-120)" in error.message and len(error.message) < 300

    def test_a_long_bad_value_is_cut_short_in_the_message_but_kept_whole(self):
        """A 300,000-character cell is named by its start and length in the message; the error keeps the value."""
        text = "x" * 300_000
        error = failure({"cord": text})
        assert error.value == text
        assert len(error.message) < 300
        assert "300,000 characters" in error.message and "allowed: expanded" in error.message

    @pytest.mark.parametrize("text", ["33", "40", "1000"])
    def test_segments_takes_every_length_of_a_spine_and_more(self, text):
        """`segments` is an integer >= 1: a lesion of the whole spine (33 vertebrae) and beyond is read."""
        assert parse({"segments": text}).get("segments") == int(text)

    @pytest.mark.parametrize("text", ["1001", "9" * 20, "9" * 4000])
    def test_segments_has_no_upper_bound(self, text):
        """features.md bounds segments below only: any larger number is read, in the open last band
        of the tables, and assesses as the top band's low end does."""
        assert parse({"segments": text}).get("segments") == int(text)
        far, seven = ddx.assess(segments=text, cord="expanded"), ddx.assess(segments=7, cord="expanded")
        assert [(c.id, c.probability) for c in far.candidates] == [(c.id, c.probability) for c in seven.candidates]

    def test_segments_of_more_digits_than_a_number_can_have_is_named(self):
        error = failure({"segments": "9" * 5000})
        assert "has 5,000 digits, too many to read as a number (allowed: 1 or more)" in error.message
        assert len(error.message) < 300

    def test_segments_must_be_at_least_one(self):
        """`segments` is an integer >= 1: zero fails."""
        error = failure({"segments": "0"})
        assert error.column == "segments"


class TestColumns:
    def test_unknown_column_names_the_closest(self):
        """An unknown column fails, naming the column and the closest known one."""
        error = failure({"crod": "expanded"})
        assert error.column == "crod"
        assert "'crod'" in error.message
        assert "did you mean 'cord'?" in error.message

    def test_unknown_column_far_from_all(self):
        """A column unlike any known one still fails, naming the column."""
        error = failure({"accession_number": "A123"})
        assert error.column == "accession_number"
        assert "accession_number" in error.message

    def test_passthrough_columns_are_ignored(self):
        """Columns the caller asks to pass through are neither errors nor findings."""
        findings = parse({"accession": "A123", "reader": "JD", "cord": "displaced"}, passthrough=["accession", "reader"])
        assert findings.as_dict() == {"cord": "displaced"}

    def test_passthrough_does_not_hide_other_unknown_columns(self):
        """Passing one column through does not excuse a different unknown column."""
        error = failure({"accession": "A123", "crod": "expanded"}, passthrough=["accession"])
        assert error.column == "crod"

    def test_column_names_ignore_case_and_dashes(self):
        """Column names are read case-insensitively, with '-' for '_' (as on the command line)."""
        assert parse({"Foraminal-Extension": "yes"}).get("foraminal_extension") == "yes"


class TestCaseId:
    def test_case_id_is_copied(self):
        """`case_id` is copied to the record and is not a finding."""
        findings = parse({"case_id": "IM017", "cord": "expanded"})
        assert findings.case_id == "IM017"
        assert "case_id" not in findings.as_dict()

    def test_case_id_is_any_text(self):
        """`case_id` takes any text, even one that looks like a finding value."""
        assert parse({"case_id": "unknown-42 / Dr X"}).case_id == "unknown-42 / Dr X"

    def test_case_id_is_optional(self):
        """Without `case_id` the record has none."""
        assert parse({"cord": "normal"}).case_id is None


class TestFindingsRecord:
    def test_record_is_frozen(self):
        """Findings cannot be changed after parsing."""
        import attrs

        findings = parse({"cord": "displaced"})
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            findings.case_id = "x"

    def test_same_cells_in_another_order_give_an_equal_record(self):
        """The record does not depend on the order of the columns."""
        a = parse({"cord": "displaced", "csf": "widened", "age": "40"})
        b = parse({"age": "40", "csf": "widened", "cord": "displaced"})
        assert a == b

    def test_as_text_round_trips(self):
        """The text form of a record parses back to the same record."""
        findings = parse({"cord": "displaced", "level": "cervical;thoracic", "age": "54", "syndrome": "nf2", "case_id": "A"})
        again = parse({**findings.as_text(), "case_id": findings.case_id})
        assert again == findings


SHARED_CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "cases" / "cases.csv"
CASE_COLUMNS_PASSED_THROUGH = ("source_url", "diagnosis", "compartment", "evidence")


@pytest.fixture(scope="module")
def rows():
    """The rows of ../shared/cases/cases.csv; the tests skip when ../shared is absent (as in CI)."""
    if not SHARED_CASES.is_file():
        pytest.skip(f"the published cases are not here ({SHARED_CASES} is absent)")
    with SHARED_CASES.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


class TestPublishedCases:

    def test_header_is_the_contract(self, rows):
        """The published cases use only columns of features.md (plus their own bookkeeping columns)."""
        columns = set(rows[0])
        assert columns - set(SPEC) - {"case_id"} <= set(CASE_COLUMNS_PASSED_THROUGH)

    def test_every_published_case_parses(self, rows):
        """Every real published case reads without error, keeping its case_id."""
        for row in rows:
            findings = parse(row, passthrough=CASE_COLUMNS_PASSED_THROUGH)
            assert findings.case_id == row["case_id"].strip()


@pytest.mark.parametrize("column, band", [("segments", "2-3"), ("segments", "7+"), ("age", "60-74"), ("age", "40 to 59")])
def test_a_band_for_a_number_is_told_to_give_one_number(column, band):
    """The cards and hints show numbers in bands ('segments 2-3'); typed back, the error says to give one number."""
    error = failure({column: band})
    assert "give one number, not a band" in error.message


@pytest.mark.parametrize("column, written, value", [("t2_signal", "bright", "hyper"), ("t2_signal", "hyperintense", "hyper"),
                                                    ("t1_signal", "dark", "hypo"), ("t1_signal", "isointense", "iso"),
                                                    ("t2_signal", "heterogeneous", "mixed")])
def test_report_words_for_signal_are_read(column, written, value):
    assert parse_findings({column: written}).get(column) == value
