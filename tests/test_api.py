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
