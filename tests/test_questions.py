"""Next best findings: expected information gain, the why, and the seeds' discriminators.

Exact probabilities of the model are never asserted (its numbers are being
tuned); the gains are checked against the engine's own posterior, and the
teaching points against which finding comes first.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddx import engine, questions
from ddx.findings import Findings, parse_findings
from ddx.render import render_markdown, render_table, to_record

IDEM = {"cord": "displaced", "csf": "widened", "csf_cap": "yes"}
IM = {"cord": "expanded", "csf": "effaced"}
ED = {"dural_sac_displaced": "yes", "csf": "tapered", "cord": "compressed"}


def entropy(p):
    return -sum(x * math.log2(x) for x in p if x > 0)


def brute_force_gain(kb, findings, fid, groups=None):
    """Expected entropy drop computed the slow way, through engine.posterior."""
    q = questions.question_for(kb, findings, fid)
    post = engine.posterior(kb, findings)

    def h(p):
        if groups is None:
            return entropy(p)
        out = [0.0] * 3
        for g, x in zip(groups, p):
            out[g] += x
        return entropy(out)

    after = 0.0
    for o in q.outcomes:
        p_o = sum(a * b for a, b in zip(post, o.probability))
        after += p_o * h(engine.posterior(kb, findings.with_value(fid, o.value)))
    return h(post) - after


def first(kb, cells, target="entity"):
    return questions.rank(kb, parse_findings(cells, kb), target=target)[0].feature


class TestGain:
    @pytest.mark.parametrize("cells", [{}, IDEM, IM, {"known_primary": "yes", "level": "thoracic"}])
    @pytest.mark.parametrize("fid", ["cord", "csf", "enhancement", "level", "syndrome", "age", "dural_tail"])
    def test_gain_is_the_engines_expected_entropy_drop(self, kb, cells, fid):
        findings = parse_findings(cells, kb).with_value(fid, None)
        fast = questions.gain(questions.question_for(kb, findings, fid), questions.log_posterior(questions.scores(kb, findings)))
        assert fast == pytest.approx(brute_force_gain(kb, findings, fid), abs=1e-9)

    @pytest.mark.parametrize("cells", [{"cord_position": "central"}, {"cord_position": "eccentric", "cord": "displaced"}])
    @pytest.mark.parametrize("fid", ["cord", "csf", "csf_cap"])
    def test_a_picture_signs_gain_beside_a_position_in_the_cord_is_the_engines(self, kb, cells, fid):
        """A known position in the cord counts the odds of the intramedullary picture given the
        signs (features.toml: within), so each sign read after it also moves those odds: the guide
        once left that out and gave cord 0.70 bits after 'central' where the engine's answer is worth 0.59."""
        findings = parse_findings(cells, kb).with_value(fid, None)
        fast = questions.gain(questions.question_for(kb, findings, fid), questions.log_posterior(questions.scores(kb, findings)))
        assert fast == pytest.approx(brute_force_gain(kb, findings, fid), abs=1e-9)

    @pytest.mark.parametrize("cells", [{"bone_pattern": "lytic"}, {"bone_pattern": "sclerotic", "posterior_elements": "no"},
                                       {"bone_pattern": "coarse_trabeculae", "cord": "compressed"}])
    @pytest.mark.parametrize("fid", ["vertebral_body", "posterior_elements"])
    def test_the_gain_of_a_finding_a_known_one_implies_is_the_engines(self, kb, cells, fid):
        """Once a bone pattern is known, a yes to the vertebral body takes the pattern's odds of
        involvement back out and a no narrows them (engine.without_implied): the gain reckons the
        answers as the engine makes them, not as the finding's table alone."""
        if fid in cells:
            return
        findings = parse_findings(cells, kb)
        fast = questions.gain(questions.question_for(kb, findings, fid), questions.log_posterior(questions.scores(kb, findings)))
        assert fast == pytest.approx(brute_force_gain(kb, findings, fid), abs=1e-9)
        # each answer as likely as it is given the involvement the pattern says (the tables alone
        # made the vertebral body's gain negative beside a lytic pattern); 0 where the other is known no
        assert fast > (-1e-9 if cells.keys() & {"vertebral_body", "posterior_elements"} else 0.01)

    def test_compartment_gain_is_the_engines_expected_compartment_entropy_drop(self, kb):
        groups = questions.compartment_groups(kb)
        findings = Findings()
        log_post = questions.log_posterior(questions.scores(kb, findings))
        for fid in ("cord", "csf", "vertebral_body"):
            fast = questions.gain(questions.questions(kb)[fid], log_post, groups)
            assert fast == pytest.approx(brute_force_gain(kb, findings, fid, groups), abs=1e-9)

    def test_every_outcome_distribution_sums_to_one(self, kb):
        for q in questions.questions(kb).values():
            for e in range(len(kb.entities)):
                assert sum(o.probability[e] for o in q.outcomes) == pytest.approx(1.0, abs=1e-9), q.feature.id

    def test_list_findings_are_every_combination_of_their_values(self, kb):
        level = questions.questions(kb)["level"]
        assert len(level.outcomes) == 2 ** len(kb.features["level"].outcomes) - 1  # no "nowhere"
        syndrome = questions.questions(kb)["syndrome"]
        assert () in [o.value for o in syndrome.outcomes]  # none

    def test_integer_findings_are_asked_by_band(self, kb):
        age = questions.questions(kb)["age"]
        assert [o.label for o in age.outcomes] == list(kb.features["age"].outcomes)


class TestRank:
    @given(st.dictionaries(st.sampled_from(["cord", "csf", "csf_cap", "enhancement", "dural_tail", "level"]), st.just(None), max_size=4))
    def test_never_suggests_a_given_or_excluded_finding(self, kb, keys):
        values = {"cord": "displaced", "csf": "widened", "csf_cap": "yes", "enhancement": "rim", "dural_tail": "no", "level": "lumbar"}
        findings = parse_findings({k: values[k] for k in keys}, kb)
        for target in questions.TARGETS:
            ranked = questions.rank(kb, findings, target=target, exclude=["age"])
            names = [n.feature for n in ranked]
            assert not set(names) & (set(keys) | {"age"})
            assert len(names) == len(set(names))
            assert all(n.gain >= questions.MIN_GAIN for n in ranked)
            assert [n.gain for n in ranked] == sorted((n.gain for n in ranked), reverse=True)

    def test_a_bone_pattern_is_not_asked_once_the_bone_is_known_uninvolved(self, kb):
        """A pattern is read only where what it implies is involved (features.toml: implies):
        with the vertebral body and the posterior elements both known no there is none to read."""
        rest = {"cord": "expanded", "csf": "effaced"}
        for bone in ({}, {"vertebral_body": "no"}, {"vertebral_body": "yes", "posterior_elements": "no"}):
            ranked = questions.rank(kb, parse_findings({**rest, **bone}, kb), min_gain=0)
            assert "bone_pattern" in [n.feature for n in ranked], bone
        for rest in ({}, {"cord": "expanded", "csf": "effaced"}):
            findings = parse_findings({**rest, "vertebral_body": "no", "posterior_elements": "no"}, kb)
            for target in questions.TARGETS:
                assert "bone_pattern" not in [n.feature for n in questions.rank(kb, findings, target=target, min_gain=0)]

    def test_what_a_bone_pattern_already_says_is_not_asked(self, kb):
        """With a pattern given and the vertebral body known uninvolved, the posterior elements are
        involved (features.toml: implies): yes would change nothing and no would contradict the
        pattern, so it is not asked; with the body unknown, either may be the one involved."""
        from ddx.engine import posterior

        for known, other in (("vertebral_body", "posterior_elements"), ("posterior_elements", "vertebral_body")):
            findings = parse_findings({"bone_pattern": "lytic", known: "no"}, kb)
            assert posterior(kb, findings.with_value(other, "yes")) == posterior(kb, findings)
            for target in questions.TARGETS:
                assert other not in [n.feature for n in questions.rank(kb, findings, target=target, min_gain=0)], (known, target)
            assert other in [n.feature for n in questions.rank(kb, parse_findings({known: "no"}, kb), min_gain=0)]
        ranked = [n.feature for n in questions.rank(kb, parse_findings({"bone_pattern": "lytic"}, kb), min_gain=0)]
        assert {"vertebral_body", "posterior_elements"} <= set(ranked)

    def test_why_names_the_finding_two_candidates_and_the_rates(self, kb):
        for n in questions.rank(kb, parse_findings(IDEM, kb)):
            label = n.feature.replace("_", " ")
            assert n.why.startswith(f"{label}: separates ")
            assert " from " in n.why and "% vs " in n.why

    def test_unknown_target_is_refused(self, kb):
        with pytest.raises(ValueError, match="target"):
            questions.rank(kb, Findings(), target="cheapest")


class TestAssessment:
    def test_assess_suggests_three_findings_not_yet_given(self, kb):
        a = engine.assess(parse_findings(IDEM, kb), kb)
        assert 1 <= len(a.next_findings) <= 3
        assert not {n.feature for n in a.next_findings} & set(IDEM)

    def test_suggest_zero_skips_them(self, kb):
        assert engine.assess(parse_findings(IDEM, kb), kb, suggest=0).next_findings == ()

    def test_nothing_left_to_ask_gives_no_suggestion(self, kb):
        everything = {}
        for fid, q in questions.questions(kb).items():
            everything[fid] = q.outcomes[0].value
        findings = Findings(values=tuple(sorted(everything.items())))
        assert engine.assess(findings, kb).next_findings == ()

    def test_json_record_lists_feature_gain_and_why(self, kb):
        record = to_record(engine.assess(parse_findings(IDEM, kb), kb))
        assert record["next_findings"]
        for item in record["next_findings"]:
            assert set(item) == {"feature", "gain", "why"}
            assert item["feature"] in kb.features and item["gain"] > 0
        json.dumps(record)

    def test_table_and_markdown_show_a_next_best_findings_section(self, kb):
        a = engine.assess(parse_findings(IDEM, kb), kb)
        table = render_table(a)
        assert "Next best findings" in table
        assert a.next_findings[0].feature.replace("_", "-") in table
        assert "**Next best findings**" in render_markdown(a)
        assert f"`{a.next_findings[0].feature}`" in render_markdown(a)

    def test_next_findings_are_read_off_the_images_and_history_questions_come_apart(self, kb):
        """After an assessment the next best findings are image findings; the patient's
        history (age, sex, known primary, syndrome) is suggested apart, at most one question."""
        history = {f.id for f in kb.features.values() if f.read_from == "history"}
        assert history == {"age", "sex", "known_primary", "syndrome"}
        for cells in ({}, IDEM, IM, ED, dict(IDEM, level="cervical", enhancement="heterogeneous")):
            a = engine.assess(parse_findings(cells, kb), kb)
            assert a.next_findings and not {n.feature for n in a.next_findings} & history
            assert len(a.history_questions) <= 1
            assert {n.feature for n in a.history_questions} <= history

    def test_a_nerve_sheath_tumour_asks_the_history_for_nf1(self, kb):
        """Neurofibroma against schwannoma: NF1 tells them apart more than any image finding,
        and it is a question for the chart."""
        a = engine.assess(parse_findings(dict(IDEM, level="cervical", enhancement="heterogeneous"), kb), kb)
        assert [n.feature for n in a.history_questions] == ["syndrome"]
        assert a.history_questions[0].gain > a.next_findings[0].gain
        table, record = render_table(a), to_record(a)
        assert "Worth asking the history" in table and "--syndrome" in table
        assert record["history_questions"][0]["feature"] == "syndrome"
        assert "**Worth asking the history**" in render_markdown(a)

    def test_history_already_given_is_not_asked(self, kb):
        cells = dict(IDEM, level="cervical", enhancement="heterogeneous", syndrome="none", age="40", sex="female", known_primary="no")
        assert engine.assess(parse_findings(cells, kb), kb).history_questions == ()


class TestSeedsTeachingPoints:
    """The discriminators the seeds name, where the model's numbers support them."""

    def test_meningioma_vs_schwannoma_asks_dural_tail_or_foraminal_extension(self, kb):
        cells = dict(IDEM, enhancement="homogeneous", level="thoracic")
        a = engine.assess(parse_findings(cells, kb), kb)
        assert a.candidates[0].id == "meningioma"
        assert a.next_findings[0].feature in ("dural_tail", "foraminal_extension")

    def test_nerve_sheath_tumour_asks_target_sign_and_foraminal_extension(self, kb):
        cells = dict(IDEM, level="cervical", enhancement="heterogeneous")
        a = engine.assess(parse_findings(cells, kb), kb, suggest=6)
        assert a.candidates[0].id in ("schwannoma", "neurofibroma")
        # five questions tell nerve sheath tumours apart within a few thousandths
        # of a bit (cystic, multiplicity, target sign, T2 signal, foraminal
        # extension): both seed signs must be among them, well ahead of the next
        # (paraspinal mass)
        asked = [n.feature for n in a.next_findings]
        assert {"target_sign", "foraminal_extension"} <= set(asked[:5])
        gain = {n.feature: n.gain for n in a.next_findings}
        assert min(gain["target_sign"], gain["foraminal_extension"]) > 1.2 * gain[asked[5]]

    def test_suspected_drop_metastases_asks_enhancement(self, kb):
        cells = dict(IDEM, known_primary="yes", multiplicity="multiple")
        a = engine.assess(parse_findings(cells, kb), kb)
        assert "leptomeningeal_metastases" in a.flagged
        assert a.next_findings[0].feature == "enhancement"

    def test_to_place_a_lesion_read_the_cord_and_the_csf_first(self, kb):
        ranked = questions.rank(kb, Findings(), target="compartment")
        assert {n.feature for n in ranked[:2]} == {"cord", "csf"}
        assert {n.feature for n in questions.rank(kb, Findings(), target="auto")[:2]} == {"cord", "csf"}

    def test_entity_gain_alone_starts_with_the_cord_and_the_csf(self, kb):
        ranked = questions.rank(kb, Findings(), target="entity")
        assert {n.feature for n in ranked[:2]} == {"cord", "csf"}

    @pytest.mark.parametrize("given, then", [({"csf": "effaced"}, "cord"), ({"csf": "widened"}, "cord"), ({"cord": "expanded"}, "csf")])
    def test_one_compartment_sign_asks_for_the_other(self, kb, given, then):
        """After one sign of the picture, the other is among the two most informative questions
        (after an expanded cord, the level tells an intradural lesion with an intramedullary
        picture apart about as well as the CSF does)."""
        ranked = questions.rank(kb, parse_findings(given, kb), target="auto")
        assert then in [n.feature for n in ranked[:2]]

    def test_once_the_compartment_is_settled_the_guide_separates_the_candidates(self, kb):
        findings = parse_findings(ED, kb)
        a = engine.assess(findings, kb, suggest=0)
        assert a.compartment_probability >= questions.COMPARTMENT_SETTLED
        assert questions.rank(kb, findings, target="auto") == questions.rank(kb, findings, target="entity")


class TestWhyIsHonest:
    """A why never names a separation its numbers do not show, and reads bands as the cards do."""

    RATES = re.compile(r"\((?P<value>.+) in (?P<a>[<>]?\d+)% vs (?P<b>[<>]?\d+)%\)")

    @given(
        st.dictionaries(
            st.sampled_from(["cord", "csf", "csf_cap", "enhancement", "dural_tail", "level", "age", "segments", "known_primary", "foraminal_extension", "scalloping", "disc_involved"]),
            st.integers(0, 3),
            max_size=6,
        )
    )
    def test_the_two_rates_named_differ(self, kb, picks):
        cells = {}
        for fid, k in picks.items():
            f = kb.features[fid]
            cells[fid] = str([f.min, 30, 60, f.max or 1000][k]) if f.kind == "integer" else f.values[k % len(f.values)]
        for target in ("entity", "auto"):
            for n in questions.rank(kb, parse_findings(cells, kb), target=target, limit=5):
                m = self.RATES.search(n.why)
                if m is None:
                    assert "narrows the differential only a little" in n.why
                    continue
                assert m.group("a") != "0" and m.group("b") != "0", n.why  # no 0% for a rate that is not
                assert int(m.group("a").lstrip("<>")) - int(m.group("b").lstrip("<>")) >= 4, n.why
                assert not re.fullmatch(r"\d+-\d+", m.group("value")), n.why

    @pytest.mark.parametrize(
        "cells",
        [
            {"cord": "displaced", "scalloping": "no", "level": "cervical", "dural_tail": "no", "restricted_diffusion": "no", "foraminal_extension": "yes"},
            {"dural_tail": "yes", "fat": "no", "csf_cap": "yes"},
        ],
    )
    def test_leaders_alike_on_a_finding_are_not_said_to_be_separated(self, kb, cells):
        """These once printed 'csf: separates Neurofibroma from Schwannoma (effaced in 6% vs 6%)'."""
        findings = parse_findings(cells, kb)
        csf = questions.question_for(kb, findings, "csf")
        post = engine.posterior(kb, findings)
        text = questions.why(kb, csf, post)
        leaders = questions.leading(post)
        alike = all(
            abs(rate[a] - rate[b]) < questions.MIN_SEPARATION for _, rate in csf.rates for a in leaders for b in leaders
        )
        assert alike
        assert text.endswith("the leading candidates barely differ on it"), text
        m = self.RATES.search(text)
        assert abs(int(m.group("a")) - int(m.group("b"))) >= 5

    def test_beside_a_known_bone_pattern_the_rates_named_are_given_the_involvement_it_says(self, kb):
        """A sclerotic pattern says the bone is involved: the vertebral body of a schwannoma is then
        about as likely involved as not, as the gain reckons it, not the 7% of its table, which the
        guide once printed ('separates Vertebral / epidural metastasis from Schwannoma (yes in 88% vs 7%)')."""
        findings = parse_findings({"bone_pattern": "sclerotic", "csf": "widened"}, kb)
        q = questions.question_for(kb, findings, "vertebral_body")
        assert q.rates == tuple((o.label, o.probability) for o in q.outcomes)
        text = questions.why(kb, q, engine.posterior(kb, findings))
        assert "vs 7%" not in text, text

    def test_a_finding_no_candidates_differ_on_says_so(self, kb):
        n = len(kb.entities)
        flat = questions.Question(kb.features["csf_cap"], (), (("yes", (0.3,) * n), ("no", (0.7,) * n)))
        text = questions.why(kb, flat, [1 / n] * n)
        assert text == "csf cap: narrows the differential only a little (no two candidates differ on it by 5%)"

    def test_bands_read_as_on_the_cards(self, kb):
        from ddx.cards import outcome_text

        segments, age = kb.features["segments"], kb.features["age"]
        assert questions._value_text(segments, "1-1") == "segments " + outcome_text(segments, "1-1") == "segments 1"
        assert questions._value_text(age, "75-120") == "age 75+"
        assert questions._value_text(kb.features["enhancement"], "mural_nodule") == "mural nodule"
        n = len(kb.entities)
        rates = tuple((label, tuple(0.6 if i == 0 and label == "1-1" else 0.2 for i in range(n))) for label in segments.outcomes)
        text = questions.why(kb, questions.Question(segments, (), rates), [1 / n] * n)
        assert "(segments 1 in 60% vs 20%)" in text, text


@pytest.mark.parametrize("rate, shown", [(0.0016, "<1%"), (0.005, "<1%"), (0.006, "1%"), (0.6, "60%"), (0.996, ">99%"), (0, "0%"), (1, "100%")])
def test_a_rate_in_a_why_is_never_0_or_100_percent_when_it_is_neither(rate, shown):
    assert questions._rate(rate) == shown


def test_a_finding_whose_gain_is_mostly_the_compartment_is_explained_by_the_compartments(kb):
    """An expanded cord read beside a tapered CSF: the sac's displacement would mostly say where the
    lesion lies, so its why names the compartments it separates, not two epidural entities it
    barely does (94% vs 89%, beside a gain of half a bit)."""
    from ddx.engine import assess
    from ddx.findings import parse_findings

    a = assess(parse_findings({"syndrome": "none", "bone_pattern": "lytic", "vertebral_body": "no",
                               "cord": "expanded", "csf": "tapered"}, kb))
    first = a.next_findings[0]
    assert first.feature == "dural_sac_displaced"
    assert "separates Extradural from Intramedullary" in first.why
    # a finding that tells entities of one compartment apart is still explained by them
    assert any("Spinal epidural abscess" in n.why for n in a.next_findings[1:])
