"""`ddx assess` and the top-level command: options, formats, exit codes, help, version and colour."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import click

import ddx
from ddx.cli import assess as assess_command
from ddx.cli import cli
from ddx.process import main
from ddx.terminal import use_color

from test_findings import SPEC

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DISCLAIMER = "teaching and research aid, not a medical device"
IDEM = ["--cord", "displaced", "--csf", "widened", "--csf-cap", "yes"]


def invoke(*args, env=None, color=False):
    return CliRunner().invoke(cli, list(args), env=env, color=color)


def as_json(*args) -> dict:
    result = invoke("assess", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def flat(text: str) -> str:
    """Text with line wrapping undone, so a phrase split by click's wrapping still matches."""
    return " ".join(text.split())


def a_value(column: str) -> str:
    kind, values = SPEC[column]
    return "40" if kind == "integer" and column == "age" else "2" if kind == "integer" else values[0]


class TestFindingOptions:
    @pytest.mark.parametrize("column", sorted(SPEC))
    def test_every_feature_is_an_option(self, column):
        """Every column of features.md is an option of `ddx assess`, its name with '_' turned into '-'."""
        option = "--" + column.replace("_", "-")
        assert any(option in p.opts for p in assess_command.params), option
        record = as_json(option, a_value(column))
        assert column in record.get("findings", {column: None})
        assert record["error"] is None

    def test_foraminal_extension_example(self):
        """`--foraminal-extension yes` is read as the finding foraminal_extension=yes."""
        record = as_json("--foraminal-extension", "yes", *IDEM)
        assert record["findings"]["foraminal_extension"] == "yes"

    def test_list_option_takes_semicolons(self):
        """`--level cervical;thoracic` gives both levels."""
        record = as_json("--level", "cervical;thoracic")
        assert set(record["findings"]["level"].split(";")) == {"cervical", "thoracic"}

    def test_case_id_is_copied(self):
        """`--case-id` is copied to the record."""
        assert as_json("--case-id", "IM017", *IDEM)["case_id"] == "IM017"

    @pytest.mark.parametrize("form, line", [("table", "Case: IM017"), ("markdown", "**Case:** `IM017`")])
    def test_case_id_heads_the_table_and_the_markdown(self, form, line):
        """features.md: a case id is copied to the output, whatever its format; without one there is no case line."""
        out = invoke("assess", "--case-id", "IM017", "--format", form, *IDEM).output
        assert out.splitlines()[0] == line
        assert "Case" not in invoke("assess", "--format", form, *IDEM).output.splitlines()[0]


class TestJsonFormat:
    def test_keys_match_the_output_contract(self):
        """`--format json` has every key of output.md, with the meaning it gives."""
        record = as_json("--cord", "compressed", "--csf", "widened", "--csf-cap", "yes", "--foraminal-extension", "yes")
        for key in ("case_id", "compartment", "compartment_probability", "compartments", "candidates", "flags", "error"):
            assert key in record, key
        assert "row" not in record  # batch only
        assert record["case_id"] is None
        assert record["error"] is None
        assert record["compartment"] in ("intramedullary", "intradural_extramedullary", "extradural")
        assert record["compartment"] == record["compartments"][0]["id"]
        assert record["compartment_probability"] == record["compartments"][0]["probability"]
        for c in record["compartments"]:
            assert {"id", "probability"} <= set(c)
        assert {c["id"] for c in record["compartments"]} == {"intramedullary", "intradural_extramedullary", "extradural"}
        for c in record["candidates"]:
            assert {"id", "name", "compartment", "probability", "for", "against"} <= set(c)
            for r in c["for"] + c["against"]:
                assert {"feature", "value", "ratio", "text"} <= set(r)
        assert record["flags"]
        for f in record["flags"]:
            assert {"kind", "entity", "probability", "message", "action"} <= set(f)
        emergency = [f for f in record["flags"] if f["kind"] == "emergency"]
        assert emergency and emergency[0]["entity"] is None
        dont_miss = [f for f in record["flags"] if f["kind"] == "dont_miss"]
        assert all(isinstance(f["entity"], str) and 0 <= f["probability"] <= 1 for f in dont_miss)

    def test_candidates_list_every_entity_best_first_and_sum_to_1(self, kb):
        """JSON lists every entity, best first, and the probabilities sum to 1 (within 1e-6)."""
        record = as_json(*IDEM, "--top", "2")
        ids = [c["id"] for c in record["candidates"]]
        assert sorted(ids) == sorted(kb.entity_ids)
        probabilities = [c["probability"] for c in record["candidates"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert math.fsum(probabilities) == pytest.approx(1, abs=1e-6)
        assert math.fsum(c["probability"] for c in record["compartments"]) == pytest.approx(1, abs=1e-6)

    def test_each_candidate_is_its_entity_and_each_reason_a_finding_given(self, kb):
        """output.md: a candidate's "name" and "compartment" are its entity's own (not the case's
        compartment), and a reason names the finding and the value as given ("value": "yes"; a
        list as its values joined by ';')."""
        record = as_json(*IDEM, "--foraminal-extension", "yes", "--dural-tail", "yes", "--level", "thoracic;cervical")
        for c in record["candidates"]:
            entity = kb.entity(c["id"])
            assert (c["name"], c["compartment"]) == (entity.name, entity.compartment), c["id"]
        assert {c["compartment"] for c in record["candidates"]} == {c["id"] for c in record["compartments"]}
        given = record["findings"]
        assert given["level"] == "cervical;thoracic"
        reasons = [r for c in record["candidates"] for r in (*c["for"], *c["against"])]
        assert {r["feature"] for r in reasons} == set(given)
        for r in reasons:
            assert r["value"] == given[r["feature"]], r
            assert r["text"].startswith(f"{r['feature'].replace('_', ' ')} {r['value']}: "), r
        schwannoma = next(c for c in record["candidates"] if c["id"] == "schwannoma")
        assert ("foraminal_extension", "yes") in {(r["feature"], r["value"]) for r in schwannoma["for"]}
        assert ("dural_tail", "yes") in {(r["feature"], r["value"]) for r in schwannoma["against"]}

    def test_every_probability_is_a_float_in_0_1(self):
        """output.md: probabilities are floats in [0, 1], even one that rounds to 0 or 1 (written
        0.0, never 0, which a typed reader would take for an integer)."""
        record = as_json("--cord", "compressed", "--csf", "tapered", "--dural-sac-displaced", "yes", "--known-primary", "yes",
                         "--vertebral-body", "yes", "--posterior-elements", "yes", "--pathologic-fracture", "yes",
                         "--bone-pattern", "lytic", "--paraspinal-mass", "yes", "--age", "70", "--level", "thoracic")
        flags = [f for f in record["flags"] if f["probability"] is not None]
        probabilities = [record["compartment_probability"], *(c["probability"] for c in (*record["compartments"], *record["candidates"], *flags))]
        assert flags and 0.0 in probabilities  # the candidates left behind round to 0
        assert all(type(p) is float and 0 <= p <= 1 for p in probabilities), probabilities

    def test_reasons_point_the_right_way(self):
        """In JSON, every `for` ratio is above 1 and every `against` ratio below 1."""
        record = as_json(*IDEM, "--dural-tail", "yes", "--sex", "female")
        for c in record["candidates"]:
            assert all(r["ratio"] > 1 for r in c["for"])
            assert all(r["ratio"] < 1 for r in c["against"])

    def test_a_small_ratio_says_what_its_text_says(self):
        """A ratio far below 1 keeps its significant digits: the text's "1407x less likely"
        is not a ratio of 0.001 (1000x)."""
        record = as_json("--level", "craniocervical;cervical;thoracic")
        reasons = [r for c in record["candidates"] for r in (*c["for"], *c["against"])]
        assert min(r["ratio"] for r in reasons) < 0.001
        for r in reasons:
            times = float(re.search(r": ([0-9.]+)x", r["text"]).group(1))
            shown = r["ratio"] if r["ratio"] >= 1 else 1 / r["ratio"]
            # the text's rounding (a whole number from 10x, else a tenth) and three significant digits
            assert shown == pytest.approx(times, abs=(0.5 if times >= 10 else 0.05) + 0.005 * shown)

    def test_json_has_no_colour(self):
        """JSON never carries colour codes, even with --color."""
        result = invoke("assess", "--cord", "compressed", "--csf", "widened", "--csf-cap", "yes", "--format", "json", "--color", color=True)
        assert result.exit_code == 0, result.output
        assert not ANSI.search(result.stdout)
        json.loads(result.stdout)


class TestHumanFormats:
    def test_table_is_the_default(self):
        """Without --format the table names the compartment, the candidates and the disclaimer."""
        result = invoke("assess", *IDEM)
        assert result.exit_code == 0, result.output
        assert "Compartment" in result.stdout
        assert "Intradural extramedullary" in result.stdout
        assert DISCLAIMER in flat(result.stdout)

    def test_markdown(self):
        """`--format markdown` gives a markdown table of the candidates and the disclaimer."""
        result = invoke("assess", *IDEM, "--format", "markdown")
        assert result.exit_code == 0, result.output
        assert "**Compartment:**" in result.stdout
        assert re.search(r"^\|[- |]+\|$", result.stdout, re.M), "no markdown table rule"
        top = ddx.assess(cord="displaced", csf="widened", csf_cap="yes").candidates[0].name
        assert top in result.stdout
        assert DISCLAIMER in flat(result.stdout)

    @pytest.mark.parametrize(("fmt", "rank"), [("table", r"^\s*(\d+)\s{2}"), ("markdown", r"^\|\s*(\d+)\s\|")])
    def test_top_limits_the_candidates_shown(self, fmt, rank):
        """`--top 2` shows exactly two ranked candidates."""
        result = invoke("assess", *IDEM, "--top", "2", "--format", fmt)
        assert result.exit_code == 0, result.output
        assert [int(m) for m in re.findall(rank, result.stdout, re.M)] == [1, 2]

    def test_top_must_be_positive(self):
        """`--top 0` is a usage error (exit 2)."""
        result = invoke("assess", "--top", "0")
        assert result.exit_code == 2
        assert "--top" in result.stderr

    def test_unknown_format_is_a_usage_error(self):
        """An unknown --format exits 2 naming the choices."""
        result = invoke("assess", "--format", "xml")
        assert result.exit_code == 2
        assert "xml" in result.stderr and "json" in result.stderr


class TestNoFindings:
    def test_no_findings_returns_the_priors(self):
        """`ddx assess` with no findings exits 0 and ranks the candidates as the API does with no findings."""
        record = as_json()
        expected = ddx.assess()
        assert [c["id"] for c in record["candidates"]] == [c.id for c in expected.candidates]
        for c, e in zip(record["candidates"], expected.candidates):
            assert c["probability"] == pytest.approx(e.probability, abs=5e-5)  # JSON rounds to 6 places
        assert all(not c["for"] and not c["against"] for c in record["candidates"])

    def test_no_findings_table_says_so(self):
        """The table for no findings says these are the priors."""
        result = invoke("assess")
        assert result.exit_code == 0, result.output
        assert "priors" in result.stdout


class TestPriors:
    DUMBBELL = ["--age", "45", "--sex", "female", "--level", "thoracic", *IDEM, "--foraminal-extension", "yes",
                "--enhancement", "heterogeneous"]

    def test_the_no_findings_note_says_which_priors_are_shown(self):
        registry, fitted = invoke("assess", "--priors", "registry"), invoke("assess")
        assert "the reference population's priors as priors.csv gives them (--priors registry" in flat(registry.stdout)
        assert "with the spread within each compartment flattened" in flat(fitted.stdout)
        assert "flag floor more often" in flat(invoke("assess", "--help").stdout)
        registry_base = ddx.load_knowledge(model={"prior_flattening": 1})
        assert "as priors.csv gives them" in flat(ddx.to_table(ddx.assess(knowledge=registry_base)))
        assert "as priors.csv gives them" not in flat(ddx.to_markdown(ddx.assess()))

    def test_registry_priors_are_the_reference_population_s(self, kb):
        """With no findings, --priors registry gives priors.csv's numbers; the compartments are the
        same in both, as the flattening keeps each compartment's total."""
        registry, fitted = as_json("--priors", "registry"), as_json()
        data = {e: n.probability for e, n in kb.priors.items()}
        total = sum(data.values())
        for c in registry["candidates"]:
            assert c["probability"] == pytest.approx(data[c["id"]] / total, abs=5e-6)
        assert {c["id"]: c["probability"] for c in registry["compartments"]} == pytest.approx(
            {c["id"]: c["probability"] for c in fitted["compartments"]}, abs=5e-6)

    def test_a_typical_dumbbell_reads_as_a_schwannoma_with_the_registry_priors(self):
        """The flattened priors raise the rare nerve sheath tumours, as published cases do; a routine
        list meets schwannomas far more often, and so reads --priors registry."""
        registry = as_json(*self.DUMBBELL, "--priors", "registry")
        fitted = as_json(*self.DUMBBELL)
        assert registry["candidates"][0]["id"] == "schwannoma"
        assert fitted["candidates"][0]["id"] != "schwannoma"

    @pytest.mark.parametrize(
        "args, first, second",
        [
            (["--dural-sac-displaced", "yes", "--csf", "tapered", "--cord", "compressed"], "vertebral_metastasis", "disc_extrusion"),
            (["--age", "40", "--sex", "female", "--level", "thoracic", "--segments", "5", "--cord-position", "central",
              "--cord", "normal", "--t2-signal", "hyper", "--enhancement", "patchy", "--cord-edema", "yes", "--flow-voids", "no"],
             "demyelination", "dural_av_fistula"),
        ],
    )
    def test_the_user_guide_s_registry_examples_hold(self, args, first, second):
        ids = [c["id"] for c in as_json(*args, "--priors", "registry")["candidates"]]
        assert ids.index(first) < ids.index(second)

    def test_batch_and_guide_take_the_same_priors(self, tmp_path):
        row = dict(zip(self.DUMBBELL[::2], self.DUMBBELL[1::2]))
        columns = [k.removeprefix("--").replace("-", "_") for k in row]
        src = tmp_path / "in.csv"
        src.write_text(",".join(["case_id", *columns]) + "\nA," + ",".join(row.values()) + "\n")
        out = invoke("batch", str(src), "--priors", "registry", "--format", "ndjson")
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["candidates"][0]["id"] == "schwannoma"
        guided = invoke("guide", *self.DUMBBELL, "--priors", "registry", "--max-questions", "0", "--format", "json")
        assert guided.exit_code == 0, guided.output
        assert json.loads(guided.stdout)["candidates"][0]["id"] == "schwannoma"

    def test_the_table_says_when_the_other_priors_would_lead_with_another_candidate(self):
        """Which priors to trust is a modelling choice: a person sees when the leader rests on it,
        in either direction (a collapsed vertebra in a child of 5 reads as a metastasis with the
        registry priors); a script's JSON stays as output.md has it."""
        first = {p: as_json(*self.DUMBBELL, "--priors", p)["candidates"][0]["name"] for p in ("case-reports", "registry")}
        assert first["case-reports"] != first["registry"]
        fitted = flat(invoke("assess", *self.DUMBBELL).stdout)
        assert f"Priors matter here: with --priors registry, {first['registry']} would lead at" in fitted
        child = ["--age", "5", "--level", "thoracic", "--vertebral-body", "yes", "--pathologic-fracture", "yes", "--segments", "1"]
        registry = flat(invoke("assess", *child, "--priors", "REGISTRY").stdout)
        assert "Priors matter here: with --priors case-reports, Langerhans cell histiocytosis would lead at" in registry
        assert "Priors matter here" in invoke("assess", *self.DUMBBELL, "--format", "markdown").stdout
        assert "Priors matter" not in invoke("assess", *self.DUMBBELL, "--format", "json").stdout
        ependymoma = ["--cord", "expanded", "--csf", "effaced", "--cord-position", "central", "--hemosiderin-cap", "yes"]
        assert "Priors matter" not in invoke("assess", *ependymoma).stdout
        assert "Priors matter" not in invoke("assess").stdout  # no findings: the priors note says it all
        guided = invoke("guide", *self.DUMBBELL, "--max-questions", "0")
        assert f"Priors matter here: with --priors registry, {first['registry']} would lead at" in flat(guided.stdout)

    def test_the_note_gives_both_candidates_figures_in_both_and_skips_a_near_tie(self):
        """The figures in brackets are this table's, so none seems to contradict it; a leader the
        other priors prefer by less than 1.25 to 1 is a near-tie there, and no news."""
        args = ["--cord", "displaced", "--csf", "widened", "--csf-cap", "yes", "--foraminal-extension", "yes"]
        here = as_json(*args)["candidates"]
        there = {c["id"]: c["probability"] for c in as_json(*args, "--priors", "registry")["candidates"]}
        text = flat(invoke("assess", *args).stdout)
        p = {c["id"]: c["probability"] for c in here}
        lead, other = here[0]["id"], max(there, key=there.get)
        from ddx.assessment import percent
        assert (f"would lead at {percent(there[other])} and Neurofibroma would have {percent(there[lead])} "
                f"(here {percent(p[other])} and {percent(p[lead])})") in text
        tie = ["--cord", "displaced", "--csf", "widened", "--csf-cap", "yes"]
        registry = as_json(*tie, "--priors", "registry")["candidates"]
        bar = ddx.load_knowledge().settings.reason_min_ratio
        assert as_json(*tie)["candidates"][0]["id"] != registry[0]["id"] and registry[0]["probability"] < bar * registry[1]["probability"]
        assert "Priors matter" not in invoke("assess", *tie).stdout
        # the docs quote the bar as model.toml sets it
        for page in ("README.md", "docs/user-guide.md", "docs/tutorial.md"):
            text = " ".join((Path(__file__).resolve().parent.parent / page).read_text(encoding="utf-8").split())
            assert f"{bar:g} to 1" in text or f"least {bar:g} times as likely there" in text, page

    def test_the_note_says_when_the_compartment_moves_too(self):
        text = flat(invoke("assess", "--age", "5", "--vertebral-body", "no").stdout)
        assert "Priors matter here: with --priors registry, the lesion would read as intramedullary" in text

    def test_the_note_says_when_only_the_compartment_moves(self):
        """The first line rests on the priors when they move the compartment, though the leader
        stays the same: the note says so."""
        args = ["--calcification", "yes", "--multiplicity", "single", "--age", "77"]
        here, there = as_json(*args), as_json(*args, "--priors", "registry")
        assert here["candidates"][0]["id"] == there["candidates"][0]["id"]
        assert here["compartments"][0]["id"] != there["compartments"][0]["id"]
        text = flat(invoke("assess", *args).stdout)
        assert "Priors matter here: with --priors registry, the lesion would read as intradural extramedullary" in text
        assert "would lead at" not in text

    def test_guide_s_markdown_carries_the_note(self):
        markdown = invoke("guide", *self.DUMBBELL, "--max-questions", "0", "--format", "markdown").stdout
        assert "Priors matter here: with --priors registry" in markdown

    def test_explain_entities_and_quiz_take_the_same_priors(self):
        """A card's ratios weigh a finding against the prior-weighted rest, and the list and the
        quiz's reveal rank by the priors: each reads --priors as assess does."""
        def ratio(*args):
            card = json.loads(invoke("explain", "schwannoma", "--format", "json", *args).stdout)
            return next(f["ratio"] for f in card["for"] if f["feature"] == "csf" and f["value"] == "widened")

        assert ratio("--priors", "registry") > ratio() * 1.05
        prior = {c["id"]: c["probability"] for c in as_json("--priors", "registry")["candidates"]}
        listed = {e["id"]: e["model_prior"] for e in json.loads(invoke("entities", "--format", "json", "--priors", "registry").stdout)}
        assert listed == pytest.approx(prior, abs=5e-6)
        table = invoke("entities", "--priors", "registry").stdout
        rows = [ln.split() for ln in table.splitlines() if ln.split() and ln.split()[0] in listed]
        assert rows and all(r[-1] == r[-2] for r in rows), "prior and data must read alike when they are one number"
        assert "here priors.csv as it is (the registry priors)" in table and "is flattened" not in table
        card = invoke("explain", "ependymoma", "--priors", "registry").stdout
        assert re.search(r"prior (\d+\.\d%) \(data \1:", card), card
        reveal = CliRunner().invoke(cli, ["quiz", "--case", "ID024", "--priors", "registry"], input="mpe\n").stdout
        fitted = CliRunner().invoke(cli, ["quiz", "--case", "ID024"], input="mpe\n").stdout
        assert "ddx:" in reveal and reveal.split("ddx:")[1] != fitted.split("ddx:")[1]


class TestSyndromeFlag:
    def test_a_syndrome_flag_says_the_probability_it_rests_on(self):
        """A VHL screen advised for a haemangioblastoma ranked second reads as an order unless the
        flag says how likely the tumour is: the table and the markdown give it, as the JSON does."""
        args = ["--age", "35", "--level", "C3 to C6", "--cord", "expanded", "--csf", "effaced", "--syrinx", "yes",
                "--hemosiderin-cap", "yes"]
        record = as_json(*args)
        flag = next(f for f in record["flags"] if f["kind"] == "syndrome")
        assert record["candidates"][0]["id"] != "hemangioblastoma" and flag["probability"] is not None
        from ddx.assessment import percent
        for fmt in ("table", "markdown"):
            assert f"von Hippel-Lindau disease. ({percent(flag['probability'])} here)" in flat(invoke("assess", *args, "--format", fmt).stdout)
        rules = {r.id: r for r in ddx.load_knowledge().rules}
        guide = " ".join((Path(__file__).resolve().parent.parent / "docs" / "user-guide.md").read_text(encoding="utf-8").split())
        assert (f"a haemangioblastoma at {rules['von_hippel_lindau'].min_probability:.0%} or more for a von Hippel-Lindau "
                f"screen, a nerve sheath tumour at {rules['neurofibromatosis'].min_probability:.0%}") in guide


class TestSplitCompartment:
    def test_a_leader_outside_the_leading_compartment_is_explained(self):
        """Extradural 53% above a neurofibroma first: the compartment's share is spread over more
        candidates, and the table says so rather than seem to contradict itself."""
        args = ["--level", "cervical", "--foraminal-extension", "yes"]
        record = as_json(*args)
        assert record["candidates"][0]["compartment"] != record["compartment"]
        for fmt in ("table", "markdown"):
            text = flat(invoke("assess", *args, "--format", fmt).stdout)
            assert ("The likeliest single candidate, Neurofibroma, is intradural extramedullary: the extradural "
                    "53% is shared among more candidates.") in text
        assert "likeliest single candidate" not in invoke("assess", *IDEM).stdout
        assert "likeliest single candidate" not in invoke("assess").stdout


class TestReasonsColumn:
    def test_a_candidate_no_finding_weighs_much_for_or_against_says_so(self):
        """An empty reasons cell read as a row left out; with findings given, it says that none
        weighs much either way (with none given, the priors note says why every cell is empty)."""
        args = ["--age", "72", "--level", "thoracic", "--dural-sac-displaced", "yes", "--csf", "tapered", "--cord", "compressed",
                "--t1-signal", "iso", "--enhancement", "none", "--segments", "4", "--top", "4"]
        bare = [c for c in as_json(*args[:-2])["candidates"][:4] if not c["for"] and not c["against"]]
        assert bare, "the example needs a candidate without reasons"
        for fmt in ("table", "markdown"):
            out = invoke("assess", *args, "--format", fmt).stdout
            line = next(ln for ln in out.splitlines() if bare[0]["name"] in ln)
            assert "(no single finding stands out either way)" in line, line
        assert "no single finding stands out" not in invoke("assess").stdout


class TestBadInput:
    def test_bad_value_exits_2_naming_the_allowed_values(self):
        """`ddx assess --cord sideways` exits 2, naming the option, the value and the allowed values."""
        result = invoke("assess", "--cord", "sideways")
        assert result.exit_code == 2
        assert isinstance(result.exception, SystemExit)
        assert "--cord" in result.stderr
        assert "sideways" in result.stderr
        for value in ("expanded", "displaced", "compressed", "normal"):
            assert value in result.stderr
        assert result.stdout == ""

    def test_misspelt_value_suggests_the_closest(self):
        """A misspelt value exits 2 and suggests the closest value."""
        result = invoke("assess", "--cord", "displace")
        assert result.exit_code == 2
        assert "did you mean 'displaced'?" in result.stderr

    @pytest.mark.parametrize("age", ["400", "-3", "abc"])
    def test_bad_age_exits_2(self, age):
        """`--age 400` (or -3, or abc) exits 2 naming the option and the value."""
        result = invoke("assess", "--age", age)
        assert result.exit_code == 2
        assert "--age" in result.stderr
        assert age in result.stderr

    def test_unknown_option_exits_2(self):
        """A misspelt option exits 2 naming it."""
        result = invoke("assess", "--crod", "expanded")
        assert result.exit_code == 2
        assert "--crod" in result.stderr

    def test_main_returns_2_for_a_bad_value(self, capsys):
        """The entry point returns exit code 2 for a value it cannot read, with the message on stderr."""
        assert main(["assess", "--cord", "sideways"]) == 2
        captured = capsys.readouterr()
        assert "sideways" in captured.err
        assert captured.out == ""

    def test_main_returns_0_for_a_good_case(self, capsys):
        """The entry point returns 0 when the case is assessed."""
        assert main(["assess", *IDEM, "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["error"] is None

    @pytest.mark.parametrize("setting", [None, "0", "no", "false", ""])
    def test_a_bug_exits_70_without_a_traceback(self, capsys, monkeypatch, setting):
        """A script tells a bug (70, asking for a report) from a bad option or input (2); only
        DDX_TRACEBACK set to something that means yes shows the traceback."""
        import ddx.engine

        def broken(*args, **kwargs):
            raise ZeroDivisionError("division by zero")

        if setting is None:
            monkeypatch.delenv("DDX_TRACEBACK", raising=False)
        else:
            monkeypatch.setenv("DDX_TRACEBACK", setting)
        monkeypatch.setattr(ddx.engine, "assess", broken)
        assert main(["assess", *IDEM]) == 70
        err = capsys.readouterr().err
        assert "internal error (ZeroDivisionError: division by zero); please report it" in err
        assert "Traceback" not in err
        monkeypatch.setenv("DDX_TRACEBACK", "1")
        assert main(["assess", *IDEM]) == 70  # not 1, which says a row could not be read
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err and "ZeroDivisionError: division by zero" in err


    @pytest.mark.parametrize("command", ["assess", "guide"])
    @pytest.mark.parametrize(
        "args, option, whole",
        [
            (["--enhancement", "mural", "nodule"], "--enhancement", "mural nodule"),
            (["--cord", "displaced", "--level", "T12", "to", "L1"], "--level", "T12 to L1"),
            # several values of a list finding: separated by ';', which must be quoted from the shell too
            (["--level=thoracic", "lumbar", "--cord", "displaced"], "--level", "thoracic;lumbar"),
            (["--level", "T10", "L2"], "--level", "T10;L2"),
            # a bare '-' is a word of the value, not an option: the whole range is quoted
            (["--level", "T10", "-", "T12"], "--level", "T10 - T12"),
        ],
    )
    def test_a_value_split_at_its_spaces_names_the_option_and_the_fix(self, command, args, option, whole):
        """An unquoted value with spaces leaves words over: the error names the option, the
        whole value and the quoting that fixes it, not just 'unexpected extra argument'."""
        result = CliRunner().invoke(cli, [command, *args], input="")
        assert result.exit_code == 2
        assert isinstance(result.exception, SystemExit)
        assert f"Invalid value for '{option}'" in result.stderr
        assert f'{option} "{whole}"' in flat(result.stderr)
        assert "quote" in result.stderr
        assert result.stdout == ""

    def test_values_of_a_list_split_at_spaces_that_cannot_go_together_say_why(self):
        """'nf1 none' is two values that do not go together: the fix is not the ';' form."""
        result = invoke("assess", "--syndrome", "nf1", "none")
        assert result.exit_code == 2
        message = flat(result.stderr)
        assert "'nf1' is followed by 'none': 'nf1;none' mixes 'none' with other values" in message
        assert "quote" not in message

    @pytest.mark.parametrize("command", ["assess", "guide", "explain schwannoma", "quiz"])
    def test_a_count_that_is_no_whole_number_is_named_so(self, command):
        option = "--rounds" if command == "quiz" else "--top"
        result = CliRunner().invoke(cli, [*command.split(), option, "3.5"], input="")
        assert result.exit_code == 2
        assert f"Invalid value for '{option}': '3.5' is not a valid whole number." in result.stderr

    @pytest.mark.parametrize("command", ["assess", "guide"])
    @pytest.mark.parametrize("args, option, after, values", [
        (["--cord", "--dural-tail", "yes"], "--cord", "--dural-tail", "expanded, displaced, compressed, normal"),
        (["--known-primary", "--cord=expanded"], "--known-primary", "--cord=expanded", "yes, no"),
        (["--age", "--cord", "expanded"], "--age", "--cord", None),
    ])
    def test_an_option_given_no_value_is_named_not_taken_for_a_value_with_spaces(self, command, args, option, after, values):
        """click would read the next option as the value (cord '--dural-tail') and the word after it as
        stray: the error says the option needs a value, and which."""
        result = CliRunner().invoke(cli, [command, *args], input="")
        assert result.exit_code == 2 and result.stdout == ""
        message = flat(result.stderr)
        assert f"'{option}': needs a value, but the option {after.split('=')[0]} follows it" in message
        assert ("give one of " + values in message) if values else "give one of" not in message
        assert "quote" not in message

    @pytest.mark.parametrize(
        "args, word, fix",
        [(["--cord", "expanded", "rim"], "rim", "--enhancement rim"), (["--age", "40", "nodule"], "nodule", "--cord displaced")],
    )
    def test_a_finding_given_whole_and_a_word_after_it_is_no_unquoted_value(self, args, word, fix):
        """When the option's value reads on its own and the words after it would not read with it
        ('expanded rim' is no cord), quoting is the wrong fix: the word wants an option of its own."""
        result = invoke("assess", *args)
        assert result.exit_code == 2
        assert "quote" not in result.stderr
        assert f"({word})" in result.stderr and fix in flat(result.stderr)

    @pytest.mark.parametrize("flag", ["--sources", "--no-color"])
    def test_a_flag_before_an_unquoted_name_still_names_the_argument(self, flag):
        """A flag takes no value, so the word after it is the ENTITY, and the word after that the
        rest of an unquoted name."""
        result = invoke("explain", flag, "epidural", "abscess")
        assert result.exit_code == 2
        assert "Invalid value for 'ENTITY'" in result.stderr
        assert 'explain "epidural abscess")' in flat(result.stderr)

    def test_a_value_without_its_option_says_findings_are_options(self):
        """A word on its own (a value without its option) says how a finding is given."""
        result = invoke("assess", "displaced")
        assert result.exit_code == 2
        assert "(displaced)" in result.stderr
        assert "--cord displaced" in flat(result.stderr) and "ddx features" in result.stderr

class TestHelpAndVersion:
    def test_top_level_help_has_the_disclaimer(self):
        """`ddx --help` says ddx is a teaching and research aid, not a medical device."""
        result = invoke("--help")
        assert result.exit_code == 0
        assert DISCLAIMER in flat(result.stdout)
        assert "assess" in result.stdout

    def test_assess_help_has_the_disclaimer(self):
        """`ddx assess --help` says ddx is a teaching and research aid, not a medical device."""
        result = invoke("assess", "--help")
        assert result.exit_code == 0
        assert DISCLAIMER in flat(result.stdout)
        assert "--foraminal-extension" in result.stdout

    def test_version(self):
        """`ddx --version` prints the package version."""
        result = invoke("--version")
        assert result.exit_code == 0
        assert ddx.__version__ in result.stdout
        assert "ddx" in result.stdout

    def test_python_m_ddx_version(self):
        """`python -m ddx --version` runs the package as a module and prints the version."""
        done = subprocess.run([sys.executable, "-m", "ddx", "--version"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert ddx.__version__ in done.stdout


class TestHelpWithoutACommand:
    @pytest.mark.parametrize("args, listed", [([], "assess"), (["kb"], "check")])
    def test_a_group_alone_prints_its_help_and_exits_0(self, args, listed):
        """Bare `ddx` and `ddx kb` print their help, as --help does, and exit 0."""
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert result.stdout == invoke(*args, "--help").stdout
        assert "Usage:" in result.stdout and listed in result.stdout
        assert result.stderr == ""

    def test_main_returns_0_for_bare_ddx(self, capsys):
        assert main([]) == 0
        assert "Commands:" in capsys.readouterr().out


SIMPLE = "Exit codes: 0 done; 2 the command could not run (bad option or value, unwritable output, broken knowledge base); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated."


class TestExitCodesInHelp:
    """Each command's --help lists the exit codes that command really returns."""

    @pytest.mark.parametrize(
        "command, expected",
        [
            (["assess"], SIMPLE),
            (["guide"], SIMPLE),
            (["quiz"], SIMPLE),
            (["entities"], SIMPLE),
            (["features"], SIMPLE),
            (["explain"], "Exit codes: 0 done; 2 the command could not run (bad option or value, unknown entity, unwritable output, broken knowledge base); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated."),
            (["template"], "Exit codes: 0 done; 2 the command could not run (bad option or value, -o FILE holds more than a header of ddx columns and --force was not given, unwritable output, broken knowledge base); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated."),
            (["kb", "check"], "Exit codes: 0 the knowledge base is valid; 2 it has problems (each one is listed), or the command could not run (bad option, FOLDER not found, unwritable output); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated."),
            (["batch"], "Exit codes: 0 every case assessed; 1 at least one row could not be read (the others were still written; with --strict, the run stopped there); 2 the command itself could not run (bad option or value, unreadable input, unknown column, unwritable output, broken knowledge base); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated."),
        ],
    )
    def test_exit_codes_of_each_command(self, command, expected):
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        text = flat(result.stdout)
        assert expected in text
        if command != ["batch"]:
            assert "row could not be read" not in text

    @pytest.mark.parametrize("command", ["assess", "guide", "quiz", "batch"])
    def test_the_disclaimer_stays_above_the_exit_codes(self, command):
        text = flat(invoke(command, "--help").stdout)
        assert text.index(DISCLAIMER) < text.index("Exit codes:")

    def test_the_top_level_help_covers_every_command(self):
        text = flat(invoke("--help").stdout)
        assert "Exit codes: 0 done (batch: every case assessed); 1 batch only: at least one row could not be read" in text
        assert text.index(DISCLAIMER) < text.index("Exit codes:")


class TestFormatInAnyCase:
    @pytest.mark.parametrize("fmt", ["JSON", "Json", "json"])
    def test_format_json_in_any_case(self, fmt):
        result = invoke("assess", *IDEM, "--format", fmt)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["error"] is None

    def test_markdown_in_capitals(self):
        result = invoke("assess", *IDEM, "--format", "MARKDOWN")
        assert result.exit_code == 0, result.output
        assert "**Compartment:**" in result.stdout

    def test_guide_json_in_capitals(self):
        result = CliRunner().invoke(cli, ["guide", "--format", "JSON", "--max-questions", "0"], input="")
        assert result.exit_code == 0, result.output
        assert "guide" in json.loads(result.stdout)

    def test_every_choice_of_every_command_takes_any_case(self):
        def commands(group):
            for command in group.commands.values():
                yield command
                if isinstance(command, click.Group):
                    yield from commands(command)

        choices = [(c.name, p.name) for c in commands(cli) for p in c.params if isinstance(p.type, click.Choice)]
        assert ("guide", "fmt") in choices and ("batch", "fmt") in choices
        for command in commands(cli):
            for param in command.params:
                if isinstance(param.type, click.Choice):
                    assert not param.type.case_sensitive, (command.name, param.name)


class FullStdout(io.TextIOBase):
    """Standard output on a full disk."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class TestOutputThatCannotBeWritten:
    @pytest.mark.parametrize(
        "args",
        [["assess", *IDEM], ["assess", "--format", "json"], ["explain", "meningioma"], ["entities"], ["features"], ["template"], ["kb", "check"], ["--help"]],
    )
    def test_a_failed_write_is_named_and_exits_2(self, args, capsys, monkeypatch):
        """A full disk is not a bug: `ddx: cannot write the output: <reason>`, exit 2, for every command."""
        monkeypatch.setattr(sys, "stdout", FullStdout())
        assert main(args) == 2
        assert capsys.readouterr().err == f"ddx: cannot write the output: {os.strerror(errno.ENOSPC)}\n"

    @pytest.mark.parametrize("args", [["assess", *IDEM], ["entities"], ["template"], ["batch", "-"]])
    def test_a_closed_standard_output_is_named_and_exits_2(self, args, capsys, monkeypatch):
        """`ddx ... >&-`: the output has nowhere to go, which is said (exit 2), never lost in silence."""
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"case_id,cord\nA,displaced\n")))
        monkeypatch.setattr(sys, "stdout", None)
        assert main(args) == 2
        assert "ddx: cannot write the output: standard output is closed" in capsys.readouterr().err

    def test_a_closed_standard_input_is_named_or_ends_the_read(self, capsys, monkeypatch):
        """`ddx batch - <&-` says standard input is closed (exit 2); a guided read just ends (exit 0)."""
        monkeypatch.setattr(sys, "stdin", None)
        assert main(["batch", "-"]) == 2
        assert "cannot read standard input: it is closed" in capsys.readouterr().err
        assert main(["guide", *IDEM]) == 0
        assert "end of input" in capsys.readouterr().out

    @pytest.mark.skipif(os.name != "posix", reason="closes a file descriptor in the child")
    def test_a_closed_standard_output_leaves_one_line_and_no_warning(self):
        """Run for real with stdout closed, in Python's development mode: the one message, nothing
        left to flush at exit (no 'Exception ignored', no unclosed file)."""
        proc = subprocess.run([sys.executable, "-X", "dev", "-m", "ddx", "assess", *IDEM], stderr=subprocess.PIPE,
                              text=True, preexec_fn=lambda: os.close(1), timeout=60)
        assert proc.returncode == 2
        assert proc.stderr == "ddx: cannot write the output: standard output is closed\n"

    @pytest.mark.skipif(os.name != "posix", reason="closes a file descriptor in the child")
    @pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
    def test_a_closed_standard_error_still_writes_every_row(self, progress):
        """`ddx batch ... 2>&-`: no progress and no summary to show, but every row is written."""
        proc = subprocess.run([sys.executable, "-m", "ddx", "batch", "-", progress], input="case_id,cord\nA,displaced\nB,x\n",
                              stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(2), timeout=60)
        assert proc.returncode == 1
        assert [line.split(",")[1] for line in proc.stdout.splitlines()[1:]] == ["A", "B"]

    @pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
    def test_assess_to_dev_full(self):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "ddx", "assess", *IDEM], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr == f"ddx: cannot write the output: {os.strerror(errno.ENOSPC)}\n"

    @pytest.mark.parametrize("args", [["assess", *IDEM], ["explain", "meningioma"], ["--help"]])
    def test_a_closed_pipe_ends_quietly_with_0(self, args):
        """`ddx assess ... | head -1` when head has gone: no message, exit 0."""
        proc = subprocess.Popen([sys.executable, "-m", "ddx", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
        assert stderr == b""


class TestColour:
    COMPRESSED = ("assess", "--cord", "compressed")

    def test_color_flag_gives_ansi_codes(self):
        """`--color` colours the table."""
        result = invoke(*self.COMPRESSED, "--color", color=True)
        assert result.exit_code == 0, result.output
        assert ANSI.search(result.stdout)

    def test_no_color_flag_gives_none(self):
        """`--no-color` gives plain text."""
        result = invoke(*self.COMPRESSED, "--no-color", color=True)
        assert result.exit_code == 0, result.output
        assert not ANSI.search(result.stdout)

    def test_no_color_environment_gives_none(self):
        """NO_COLOR in the environment gives plain text."""
        result = invoke(*self.COMPRESSED, env={"NO_COLOR": "1"}, color=True)
        assert result.exit_code == 0, result.output
        assert not ANSI.search(result.stdout)

    def test_color_flag_beats_no_color(self):
        """An explicit --color wins over NO_COLOR (no-color.org: flags take precedence)."""
        result = invoke(*self.COMPRESSED, "--color", env={"NO_COLOR": "1"}, color=True)
        assert ANSI.search(result.stdout)

    def test_piped_output_is_plain_by_default(self):
        """Without a flag, output that is not a terminal has no colour codes."""
        result = invoke(*self.COMPRESSED, color=True)
        assert not ANSI.search(result.stdout)


class FakeTerminal:
    def isatty(self) -> bool:
        return True


class TestUseColor:
    def test_terminal_gets_colour(self, monkeypatch):
        """A terminal gets colour when nothing says otherwise."""
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert use_color(None, FakeTerminal()) is True

    def test_no_color_turns_a_terminal_plain(self, monkeypatch):
        """NO_COLOR (any non-empty value) turns colour off even on a terminal."""
        monkeypatch.setenv("NO_COLOR", "1")
        assert use_color(None, FakeTerminal()) is False

    def test_empty_no_color_is_ignored(self, monkeypatch):
        """An empty NO_COLOR does not turn colour off (no-color.org)."""
        monkeypatch.setenv("NO_COLOR", "")
        assert use_color(None, FakeTerminal()) is True

    @pytest.mark.parametrize("flag", [True, False])
    def test_flag_wins(self, monkeypatch, flag):
        """--color/--no-color decides whatever NO_COLOR and the terminal say."""
        monkeypatch.setenv("NO_COLOR", "1")
        assert use_color(flag, FakeTerminal()) is flag


def test_a_list_option_can_be_repeated_and_takes_vertebrae():
    """--level may be given twice (a lesion spanning two regions) and reads vertebrae and ranges."""
    record = as_json("--level", "thoracic", "--level", "L1-L2", "--cord", "displaced")
    assert record["findings"]["level"] == "thoracic;lumbar"
    assert as_json("--level", "T10-L2")["findings"]["level"] == "thoracic;lumbar"


def test_a_list_option_not_given_stays_unknown():
    """Without --syndrome the syndrome is unknown, not the known answer none."""
    assert "syndrome" not in as_json("--cord", "displaced")["findings"]


def test_a_one_value_option_given_twice_with_two_values_is_refused():
    """--cord displaced --cord expanded is refused, as a column twice in a batch header is;
    the same value twice is harmless."""
    result = invoke("assess", "--cord", "displaced", "--cord", "expanded")
    assert result.exit_code == 2
    assert "'--cord': given twice, as 'displaced' and 'expanded'" in result.output
    assert as_json("--cord", "displaced", "--cord", "displaced")["findings"] == {"cord": "displaced"}
    assert as_json("--cord", "displaced", "--cord", "Displaced", "--age", "54", "--age", "54.0")["findings"] == {"cord": "displaced", "age": "54"}


def test_a_broken_features_file_is_named_not_taken_for_an_unknown_option(tmp_path):
    """The finding options are built from features.toml; when it is broken, `--cord` must not
    be answered 'No such option' but with the file's problems."""
    import shutil
    from importlib import resources
    from pathlib import Path

    package = tmp_path / "ddx"
    shutil.copytree(Path(resources.files("ddx")), package, ignore=shutil.ignore_patterns("__pycache__"))
    features = package / "knowledge" / "features.toml"
    features.write_text(features.read_text(encoding="utf-8").replace("weight = 0.8\n", "weigth = 0.8\n", 1), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DDX_NO_CACHE": "1"}
    proc = subprocess.run([sys.executable, "-m", "ddx", "assess", "--cord", "expanded"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: --cord cannot be read: the knowledge base has 1 problem(s):")
    assert "features.toml:" in proc.stderr and "did you mean 'weight'?" in proc.stderr and "No such option" not in proc.stderr
    assert os.path.join("ddx", "knowledge", "features.toml:") in proc.stderr  # at its path, as kb check shows it
    helped = subprocess.run([sys.executable, "-m", "ddx", "assess", "--help"], capture_output=True, text=True, env=env)
    assert "The finding options are missing: features.toml is broken" in " ".join(helped.stdout.split())


def _broken_package(tmp_path, name, old, new):
    """A copy of the ddx package, one file of its knowledge folder edited, importable from tmp_path."""
    import shutil
    from importlib import resources
    from pathlib import Path

    package = tmp_path / "ddx"
    shutil.copytree(Path(resources.files("ddx")), package, ignore=shutil.ignore_patterns("__pycache__"))
    path = package / "knowledge" / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(tmp_path), "DDX_NO_CACHE": "1"}


def test_a_value_renamed_in_features_toml_alone_is_the_bases_error_not_the_users(tmp_path):
    """The options are then built from features.toml alone: `--multiplicity multiple` must not be
    answered "did you mean 'multipl'?", which blames a right answer, but with the base's problems."""
    env = _broken_package(tmp_path, "features.toml", 'values = ["single", "multiple"]', 'values = ["single", "multipl"]')
    proc = subprocess.run([sys.executable, "-m", "ddx", "assess", "--multiplicity", "multiple"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: the knowledge base has 3 problem(s):"), proc.stderr
    assert "Invalid value for '--multiplicity'" not in proc.stderr and "Traceback" not in proc.stderr
    # kb check still reads its own options, and says what is wrong
    proc = subprocess.run([sys.executable, "-m", "ddx", "kb", "check", "--bogus"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "No such option '--bogus'" in proc.stderr


def test_a_mistake_in_the_commands_own_options_is_said_as_it_is_when_the_base_is_broken(tmp_path):
    """Only a finding's option, built from features.toml alone, defers to the broken base: a
    misspelt command or option of the command's own is still named."""
    env = _broken_package(tmp_path, "likelihoods.csv", "ependymoma,cord,displaced,0.03,", "ependymoma,cord,displaced,1.5,")
    for args, said in ((["features", "--formt", "json"], "No such option '--formt'"),
                       (["asess"], "No such command 'asess'"),
                       (["assess", "--top", "0"], "Invalid value for '--top'")):
        proc = subprocess.run([sys.executable, "-m", "ddx", *args], capture_output=True, text=True, env=env)
        assert proc.returncode == 2 and said in proc.stderr and "knowledge base has" not in proc.stderr, (args, proc.stderr)
    proc = subprocess.run([sys.executable, "-m", "ddx", "assess", "--cord", "displace"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stderr.startswith("Error: the knowledge base has 1 problem(s):"), proc.stderr


def test_a_bug_met_while_the_options_are_built_is_no_traceback(tmp_path):
    """The base is loaded when the command line is built, before main() can catch anything: a
    bug met there is reported as an internal error (exit 70), not a traceback."""
    env = _broken_package(tmp_path, "loader.py", "\ndef load_knowledge(", "\ndef _planted(")
    with (tmp_path / "ddx" / "knowledge" / "loader.py").open("a", encoding="utf-8") as fh:
        fh.write("\n\ndef load_knowledge(*args, **kwargs):\n    raise ZeroDivisionError('a planted bug')\n")
    proc = subprocess.run([sys.executable, "-m", "ddx", "assess", "--cord", "expanded"], capture_output=True, text=True, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 70 and "internal error (ZeroDivisionError: a planted bug)" in proc.stderr


@pytest.mark.parametrize("text", ["", "# emptied by mistake\n"])
def test_an_emptied_features_file_is_named_not_taken_for_an_unknown_option(tmp_path, text):
    """features.toml emptied by mistake names no finding any more: `--cord` is
    still a finding's option gone missing, answered with the file's problems, not 'No such option'."""
    import shutil
    from importlib import resources
    from pathlib import Path

    package = tmp_path / "ddx"
    shutil.copytree(Path(resources.files("ddx")), package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "knowledge" / "features.toml").write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DDX_NO_CACHE": "1"}
    proc = subprocess.run([sys.executable, "-m", "ddx", "assess", "--cord", "expanded", "--csf", "effaced"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "No such option" not in proc.stderr and "features.toml" in proc.stderr, proc.stderr
    assert proc.stderr.startswith("Error: --c"), proc.stderr


class TestCaseId:
    def test_two_case_ids_are_refused_not_overwritten(self):
        result = CliRunner().invoke(cli, ["assess", "--case-id", "A", "--case-id", "B", "--format", "json"])
        assert result.exit_code == 2
        assert "given twice, as 'A' and 'B': give it once" in result.stderr

    def test_the_same_case_id_twice_is_one(self):
        result = CliRunner().invoke(cli, ["assess", "--case-id", "A", "--case-id", "A", "--format", "json"])
        assert result.exit_code == 0 and json.loads(result.stdout)["case_id"] == "A"

    def test_an_id_the_locale_could_not_decode_is_refused_not_written_as_broken_json(self):
        result = CliRunner().invoke(cli, ["assess", "--case-id", "\udcff\udcfe", "--format", "json"])
        assert result.exit_code == 2
        assert "is not UTF-8 text" in result.stderr


class TestMarkdownSaysWhatTheTableSays:
    def test_the_other_compartments(self):
        table = invoke("assess", *IDEM).stdout
        markdown = invoke("assess", *IDEM, "--format", "markdown").stdout
        others = re.search(r"^Compartment: .*? \((.*)\)$", table, re.M).group(1)
        assert f"({others})" in markdown.splitlines()[0]

    def test_the_priors_note_without_findings(self):
        table = invoke("assess").stdout
        markdown = invoke("assess", "--format", "markdown").stdout
        assert "No findings given: these are the priors" in table
        assert "No findings given: these are the priors" in markdown
        assert "No findings given" not in invoke("assess", *IDEM, "--format", "markdown").stdout


class TestUndecodedBytes:
    """A command line in a locale that is not UTF-8 hands ddx a byte it could not decode (kept as
    a surrogate escape); the error shows the byte as \\xff, as ddx batch does, and says why."""

    @pytest.mark.parametrize("args", [["assess", "--cord", "\udcff"], ["assess", "--level", "T1\udcff"], ["assess", "--age", "4\udcff"]])
    def test_a_finding_names_the_byte_and_the_encoding(self, args):
        result = invoke(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "\\xff" in result.output and "\\udcff" not in result.output
        assert "is not UTF-8 text" in flat(result.output)

    @pytest.mark.parametrize("args", [["explain", "ab\udcff"], ["quiz", "--case", "ab\udcff"]])
    def test_a_name_shows_the_byte(self, args):
        result = invoke(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "\\xff" in result.output and "\\udcff" not in result.output

    @pytest.mark.parametrize("args", [["assess", "--cord", "a\\udcff"], ["explain", "a\\udcff"]])
    def test_a_typed_backslash_escape_is_shown_as_typed(self, args):
        """A backslash and 'udcff' typed as text are no undecoded byte: the message quotes them as
        written (repr doubles the backslash), not as the byte \\xff."""
        result = invoke(*args)
        assert result.exit_code == 2
        assert "'a\\\\udcff'" in result.output and "xff" not in result.output

    def test_the_api_refuses_it_with_the_column(self):
        with pytest.raises(ddx.FindingError) as caught:
            ddx.assess(cord="\udcff")
        assert caught.value.column == "cord" and "is not UTF-8 text" in caught.value.message


def test_ctrl_c_while_the_command_line_loads_ends_quietly():
    """The knowledge base is read as the options are built, when ddx.cli is imported: a Ctrl-C
    then ends with 130 and no traceback, as one during the command does."""
    code = ("import sys\n"
            "class Interrupting:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'ddx.cli':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupting())\n"
            "from ddx.__main__ import main\n"
            "sys.exit(main())\n")
    proc = subprocess.run([sys.executable, "-c", code, "assess"], capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (130, "")


def test_the_ddx_command_is_the_one_python_m_ddx_runs():
    """The console script enters where an interrupt during start-up is caught (ddx.__main__)."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "ddx"]
    assert script.value == "ddx.__main__:main"
