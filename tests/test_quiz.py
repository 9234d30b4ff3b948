"""`ddx quiz`: commit-first practice on the real cases shipped with the package."""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

from ddx.cli import cli
from ddx.knowledge import COMPARTMENTS
from ddx.quiz import (
    AnswerError,
    QuizError,
    choose,
    load_cases,
    parse_compartment,
    read_picks,
    run_quiz,
)

SHORT = {"intramedullary": "im", "intradural_extramedullary": "idem", "extradural": "ed"}


def parse_picks(text, kb):
    """The entity ids of a line of picks, or AnswerError saying the first problem as the quiz does."""
    picks = read_picks(text, kb)
    for n, p in enumerate(picks, 1):
        if p.entity is None:
            raise AnswerError(f"pick {n}: {p.problem}" if len(picks) > 1 else str(p.problem))
    return tuple(p.entity for p in picks)


@pytest.fixture(scope="module")
def cases(kb):
    return load_cases(kb)


def scripted(lines):
    it = iter(lines)
    return lambda _prompt: next(it, None)


def _named(kb, line):
    """The entity id of one line of the reveal's differential ('  3. Name [don't miss] 10%')."""
    name = line.split(". ", 1)[1].removesuffix(" <- answer").rsplit(" ", 1)[0].removesuffix(" [don't miss]")
    return next(e.id for e in kb.entities if e.name == name)


def play(args, answers):
    return CliRunner().invoke(cli, ["quiz", "--no-color", *args], input="".join(a + "\n" for a in answers))


class TestCaseSet:
    def test_every_shipped_case_parses(self, kb, cases):
        assert 20 <= len(cases) <= 30
        ids = [c.case_id for c in cases]
        assert len(ids) == len(set(ids))
        for case in cases:
            assert case.findings.values, case.case_id
            assert case.diagnosis in kb.entity_ids
            assert case.compartment in COMPARTMENTS
            assert case.source_url.startswith("http"), case.case_id

    def test_the_set_covers_every_compartment_and_several_dont_miss_entities(self, kb, cases):
        assert {c.compartment for c in cases} == set(COMPARTMENTS)
        dont_miss = {c.diagnosis for c in cases if kb.entity(c.diagnosis).dont_miss}
        assert len(dont_miss) >= 5

    def test_cases_are_rows_of_the_published_case_set(self, kb, cases):
        import csv

        from conftest import SHARED

        path = SHARED / "cases" / "cases.csv"
        if not path.exists():
            pytest.skip("the shared case set is not beside the repository")
        with path.open(encoding="utf-8") as fh:
            published = {r["case_id"]: r for r in csv.DictReader(fh)}
        for case in cases:
            row = published[case.case_id]
            assert (row["diagnosis"], row["compartment"], row["source_url"]) == (case.diagnosis, case.compartment, case.source_url)

    def test_a_broken_case_file_names_the_case(self, kb):
        text = "case_id,source_url,diagnosis,compartment,cord\nX1,http://x,meningioma,intradural_extramedullary,sideways\n"
        with pytest.raises(QuizError, match="quiz case X1: cord"):
            load_cases(kb, text)


class TestChoosing:
    def test_the_same_seed_picks_the_same_case(self, cases):
        assert choose(cases, seed=11) == choose(cases, seed=11)
        assert len({choose(cases, seed=s).case_id for s in range(40)}) > 5

    def test_case_id_picks_that_case_whatever_its_case(self, cases):
        assert choose(cases, case_id=cases[0].case_id.lower()) is cases[0]

    def test_an_unknown_case_id_suggests_the_closest(self, cases):
        with pytest.raises(QuizError, match="did you mean 'IM001'"):
            choose(cases, case_id="IM0001")

    def test_an_id_as_close_to_two_cases_gets_no_coin_toss_guess(self, cases):
        """IN001 is one letter from IM001 and from ID001: the cases are listed instead."""
        with pytest.raises(QuizError) as caught:
            choose(cases, case_id="IN001")
        assert "did you mean" not in str(caught.value) and "(cases: ED002, " in str(caught.value)


class TestAnswers:
    @pytest.mark.parametrize(
        "text, expected",
        [
            ("im", "intramedullary"),
            ("IDEM", "intradural_extramedullary"),
            (" ed ", "extradural"),
            ("intradural extramedullary", "intradural_extramedullary"),
            ("Intradural-extramedullary", "intradural_extramedullary"),
            ("extradural", "extradural"),
        ],
    )
    def test_compartment_shorthands_and_names(self, text, expected):
        assert parse_compartment(text) == expected

    @pytest.mark.parametrize(
        "text, expected",
        [
            ("intra-dural extramedullary", "intradural_extramedullary"),
            ("intradural extra-medullary", "intradural_extramedullary"),
            ("ID-EM", "intradural_extramedullary"),
            ("extra-dural", "extradural"),
            ("Extra dural", "extradural"),
            ("intra-medullary", "intramedullary"),
            ("epidural", "extradural"),
        ],
    )
    def test_compartment_spelling_variants(self, text, expected):
        assert parse_compartment(text) == expected

    @pytest.mark.parametrize(
        "text, meant",
        [
            ("intradural", ("intramedullary (im)", "intradural extramedullary (idem)")),
            ("Intra-dural", ("intramedullary (im)", "intradural extramedullary (idem)")),
            ("extramedullary", ("intradural extramedullary (idem)", "extradural (ed)")),
        ],
    )
    def test_a_word_that_fits_two_compartments_names_both(self, text, meant):
        with pytest.raises(AnswerError) as info:
            parse_compartment(text)
        message = str(info.value)
        assert "is not one compartment" in message and all(m in message for m in meant), message
        assert "did you mean" not in message

    def test_a_typo_of_intradural_is_not_sent_to_the_other_side_of_the_dura(self):
        with pytest.raises(AnswerError) as info:
            parse_compartment("intradual")
        assert "extradural" not in str(info.value)
        assert "intramedullary (im) or intradural extramedullary (idem)" in str(info.value)

    @pytest.mark.parametrize("text", ["subdural", "Sub-dural"])
    def test_subdural_is_inside_the_dura_outside_the_cord(self, text):
        """The subdural space lies between the dura and the arachnoid: intradural extramedullary,
        not across the dura in the epidural space."""
        assert parse_compartment(text) == "intradural_extramedullary"

    def test_a_typo_of_subdural_is_not_sent_across_the_dura(self):
        with pytest.raises(AnswerError, match="did you mean 'subdural'"):
            parse_compartment("subdral")

    def test_intradural_in_the_quiz_is_asked_again_with_both_compartments(self):
        result = play(["--seed", "16"], ["intradural"])
        assert "did you mean 'extradural'" not in result.stdout
        assert "'intradural' is not one compartment: it could be intramedullary (im) or intradural extramedullary (idem); try again" in result.stdout

    def test_a_compartment_typo_gets_a_suggestion(self):
        with pytest.raises(AnswerError, match="did you mean 'idem'"):
            parse_compartment("idm")
        with pytest.raises(AnswerError, match="did you mean 'intramedullary'"):
            parse_compartment("intramedulary")

    def test_picks_by_id_name_or_unambiguous_start(self, kb):
        assert parse_picks("meningioma, Schwannoma,neurofibrom", kb) == ("meningioma", "schwannoma", "neurofibroma")
        assert parse_picks("leptomeningeal", kb) == ("leptomeningeal_metastases",)
        assert parse_picks("Spinal meningioma", kb) == ("meningioma",)

    def test_picks_by_a_phrase_of_the_name(self, kb):
        assert parse_picks("MS, drop metastases, hemangiopericytoma", kb) == (
            "demyelination",
            "leptomeningeal_metastases",
            "solitary_fibrous_tumor",
        )

    def test_a_phrase_shared_by_several_entities_is_not_guessed(self, kb):
        with pytest.raises(AnswerError, match="is not a diagnosis"):
            parse_picks("epidural", kb)

    def test_a_pick_typo_gets_did_you_mean(self, kb):
        with pytest.raises(AnswerError, match="did you mean 'schwannoma'"):
            parse_picks("meningioma, schwanoma", kb)
        with pytest.raises(AnswerError, match="did you mean 'myeloma_plasmacytoma'"):
            parse_picks("myelomma", kb)

    @pytest.mark.parametrize(
        "text, message",
        [("", "name 1 to 3"), ("a, b, c, d", "at most 3"), ("meningioma, meningioma", "named twice")],
    )
    def test_picks_that_cannot_be_scored(self, kb, text, message):
        with pytest.raises(AnswerError, match=message):
            parse_picks(text, kb)


class TestPlaying:
    def test_scripted_with_a_seed(self, cases):
        case = choose(cases, seed=16)
        result = play(["--seed", "16"], [SHORT[case.compartment], case.diagnosis])
        assert result.exit_code == 0, result.output
        before, _, after = result.stdout.partition("Answer:")
        assert case.case_id not in before  # the id would give the compartment away
        assert case.source_url in after
        assert "compartment" in after and "right" in after
        assert "score 2/2" in after
        assert "What in this case points to" in after
        assert play(["--seed", "16"], [SHORT[case.compartment], case.diagnosis]).stdout == result.stdout

    def test_a_wrong_read_scores_zero_and_still_teaches(self, cases):
        case = choose(cases, case_id="IM001")
        result = play(["--case", "IM001"], ["ed", "meningioma, schwannoma, neurofibroma"])
        assert "compartment extradural: wrong" in result.stdout
        assert "not in your top 3" in result.stdout and "score 0/2" in result.stdout
        assert "<- answer" in result.stdout
        assert "+ " in result.stdout.split("What in this case points to")[1]
        assert case.evidence in result.stdout

    def test_the_rank_of_the_answer_in_your_list_is_named(self, cases):
        case = choose(cases, case_id="ID013")
        result = play(["--case", "ID013"], ["idem", f"schwannoma, {case.diagnosis}"])
        assert "(your #2)" in result.stdout and "score 2/2" in result.stdout

    def test_bad_answers_are_asked_again(self):
        result = play(["--case", "ED002"], ["extra", "ed", "vertebral metastasis, myelomma", "vertebral_metastasis, myeloma"])
        assert result.exit_code == 0
        assert "did you mean 'extradural'" in result.stdout
        assert result.stdout.count("Compartment? ") == 2
        assert result.stdout.count("Your top 3") == 2
        assert "score 2/2" in result.stdout

    def test_end_of_input_reveals_without_a_score(self):
        result = play(["--case", "ED002"], [])
        assert result.exit_code == 0
        assert "no answer given" in result.stdout and "Answer:" in result.stdout

    def test_q_at_the_compartment_reveals_the_answer_without_a_score(self, cases):
        result = play(["--case", "ED002"], ["q"])
        assert result.exit_code == 0
        assert result.stdout.count("Compartment? ") == 1
        assert "Answer:" in result.stdout and "no answer given (you stopped), so no score" in result.stdout
        assert "is not a compartment" not in result.stdout

    def test_q_at_the_picks_scores_the_compartment_given(self, cases):
        result = play(["--case", "ED002"], ["ed", "q"])
        assert result.stdout.count("Your top 3") == 1
        assert "compartment extradural: right" in result.stdout
        assert "top 3: none given (you stopped)" in result.stdout and "score 1/2" in result.stdout

    def test_q_ends_the_rounds_with_the_total_so_far(self, cases):
        from ddx.quiz import draw

        first = draw(cases, seed=16, rounds=3)[0]
        result = play(["--seed", "16", "--rounds", "3"], [SHORT[first.compartment], first.diagnosis, "q"])
        assert result.exit_code == 0
        assert "Quiz case 2 of 3" in result.stdout and "Quiz case 3 of 3" not in result.stdout
        assert "Total: 2/2 over 1 case(s); stopped at round 2 of 3." in result.stdout

    def test_the_end_of_input_ends_the_rounds_and_says_so(self, cases):
        from ddx.quiz import draw

        first = draw(cases, seed=16, rounds=3)[0]
        result = play(["--seed", "16", "--rounds", "3"], [SHORT[first.compartment], first.diagnosis])
        assert result.exit_code == 0
        assert "Total: 2/2 over 1 case(s); the input ended at round 2 of 3." in result.stdout

    @pytest.mark.parametrize("word", ["help", "?", "h"])
    def test_help_explains_the_question_and_asks_it_again(self, word):
        result = play(["--case", "ED002"], [word, "ed", word, "vertebral_metastasis"])
        assert result.stdout.count("Compartment? ") == 2 and result.stdout.count("Your top 3") == 2
        assert "im    intramedullary: inside the cord" in result.stdout
        assert "Name 1 to 3 diagnoses, best first, separated by commas" in result.stdout
        assert "try again" not in result.stdout and "score 2/2" in result.stdout

    def test_a_byte_order_mark_before_the_first_answer_is_not_part_of_it(self):
        result = CliRunner().invoke(cli, ["quiz", "--no-color", "--case", "ED002"], input="\ufeffhelp\ned\nvertebral mets\n")
        assert "is not a compartment" not in result.stdout
        assert "im    intramedullary" in result.stdout and "score 2/2" in result.stdout

    def test_a_seed_with_a_case_is_said_to_be_unused(self):
        result = play(["--case", "ED002", "--seed", "7"], [])
        assert result.exit_code == 0
        assert "--case picks the case: --seed 7 is not used." in result.stderr
        assert "--seed" not in play(["--case", "ED002"], []).stderr

    def test_without_a_seed_the_seed_is_shown_for_a_replay(self):
        result = play([], ["ed", "hemangioma"])
        assert result.exit_code == 0
        assert "replay with --seed " in result.stdout

    def test_rounds_play_different_cases_and_add_up_the_score(self, cases):
        from ddx.quiz import draw

        chosen = draw(cases, seed=16, rounds=3)
        assert len({c.case_id for c in chosen}) == 3
        assert chosen[0] == choose(cases, seed=16)
        answers = []
        for case in chosen:
            answers += [SHORT[case.compartment], case.diagnosis]
        result = play(["--seed", "16", "--rounds", "3"], answers)
        assert result.exit_code == 0
        assert [f"Quiz case {n} of 3" in result.stdout for n in (1, 2, 3)] == [True] * 3
        assert "Total: 6/6 over 3 case(s)." in result.stdout

    def test_end_of_input_ends_the_rounds(self, cases):
        result = play(["--seed", "16", "--rounds", "3"], [])
        assert "Quiz case 2 of 3" not in result.stdout
        assert "No case was scored; the input ended at round 1 of 3." in result.stdout
        assert "Total:" not in result.stdout  # not 0/0 over 0 cases

    def test_the_score_says_what_its_points_are_for(self):
        """1/2 for a diagnosis at #3 reads the same as at #1: the line says why."""
        result = play(["--case", "ED077"], ["ed", "mets, osteosarcoma, chordoma"])
        assert "score 1/2 (a point for the compartment, a point for the diagnosis anywhere in your top 3)" in result.stdout

    def test_unknown_case_is_a_usage_error(self):
        result = play(["--case", "IM0001"], [])
        assert result.exit_code == 2
        assert "did you mean 'IM001'" in result.stderr

    def test_dont_miss_flags_are_red_on_a_terminal(self, kb, cases):
        case = choose(cases, case_id="ED011")
        out = []
        run_quiz(kb, case, scripted(["ed", "vertebral_metastasis"]), out.append, color=True)
        assert any("\x1b[1;31m!! " in line for line in out)
        out = []
        run_quiz(kb, case, scripted(["ed", "vertebral_metastasis"]), out.append, color=False)
        assert not any("\x1b[" in line for line in out)

    def test_the_differential_tags_dont_miss_entities_as_the_guide_and_assess_do(self, kb):
        out = play(["--case", "ED002"], ["ed", "vertebral mets"]).stdout
        differential = out.split("ddx: compartment")[1].split("What in this case")[0].splitlines()[1:]
        listed = [line for line in differential if line.strip()]
        assert listed and all(("[don't miss]" in line) == kb.entity(_named(kb, line)).dont_miss for line in listed)
        assert "Vertebral / epidural metastasis [don't miss] " in out

    def test_help_has_a_worked_example(self):
        result = CliRunner().invoke(cli, ["quiz", "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.stdout and "ddx quiz --seed 16" in result.stdout


class TestNames:
    """Quiz answers go through the same matcher as `ddx explain` (names.find_entity)."""

    def test_british_spellings_aliases_and_abbreviations(self, kb):
        assert parse_picks("haemangioblastoma, MPNST, drop mets", kb) == ("hemangioblastoma", "mpnst", "leptomeningeal_metastases")
        assert parse_picks("spinal epidural haematoma, giant cell tumour, SFT", kb) == ("epidural_hematoma", "giant_cell_tumor", "solitary_fibrous_tumor")
        assert parse_picks("MSCC, ABC, LCH", kb) == ("vertebral_metastasis", "aneurysmal_bone_cyst", "langerhans_cell_histiocytosis")

    @pytest.mark.parametrize(
        "text, candidates",
        [
            ("mets", ("intramedullary_metastasis", "leptomeningeal_metastases", "vertebral_metastasis")),
            ("PNST", ("schwannoma", "neurofibroma", "mpnst")),
        ],
    )
    def test_an_ambiguous_abbreviation_is_refused_with_its_candidates(self, kb, text, candidates):
        with pytest.raises(AnswerError) as info:
            parse_picks(f"meningioma, {text}", kb)
        message = str(info.value)
        assert f"{text!r} is not a diagnosis on its own" in message
        assert all(f"'{c}'" in message for c in candidates), message

    def test_an_ambiguous_answer_is_asked_again(self):
        result = play(["--case", "ED002"], ["ed", "sarcoma, myeloma", "vertebral mets, myeloma"])
        assert "'sarcoma' is not a diagnosis on its own" in result.stdout
        assert result.stdout.count("Your top 3") == 2
        assert "score 2/2" in result.stdout


class TestOnePickAtATime:
    """A pick that cannot be read is asked for again on its own; the picks that could are kept."""

    def test_the_pick_that_cannot_be_read_is_named_by_its_place(self, kb):
        with pytest.raises(AnswerError, match="pick 2: 'mets' is not a diagnosis on its own"):
            parse_picks("meningioma, mets, schwannoma", kb)

    def test_read_picks_keeps_every_pick_it_could_read(self, kb):
        from ddx.quiz import read_picks

        picks = read_picks("abscess, mets, haematoma", kb)
        assert [p.entity for p in picks] == ["epidural_abscess", None, "epidural_hematoma"]
        assert "'mets' is not a diagnosis on its own" in picks[1].problem

    def test_only_the_ambiguous_pick_is_asked_again(self):
        result = play(["--case", "ED002"], ["ed", "sarcoma, myeloma, lymphoma", "vertebral mets"])
        assert result.exit_code == 0
        assert "pick 1: 'sarcoma' is not a diagnosis on its own" in result.stdout
        assert "kept: #2 myeloma_plasmacytoma, #3 lymphoma" in result.stdout
        assert "pick 1 instead of 'sarcoma'?" in result.stdout
        assert "top 3: vertebral_metastasis, myeloma_plasmacytoma, lymphoma: right (your #1)" in result.stdout

    def test_enter_drops_the_pick_and_a_list_replaces_all(self):
        dropped = play(["--case", "ED002"], ["ed", "vertebral mets, sarcoma", ""])
        assert "top 3: vertebral_metastasis: right (your #1)" in dropped.stdout
        replaced = play(["--case", "ED002"], ["ed", "sarcoma, myeloma", "lymphoma, vertebral mets"])
        assert "top 3: lymphoma, vertebral_metastasis: right (your #2)" in replaced.stdout

    def test_a_pick_named_twice_is_asked_for_again(self):
        result = play(["--case", "ED002"], ["ed", "myeloma, myeloma", "vertebral mets"])
        assert "pick 2: myeloma_plasmacytoma is named twice" in result.stdout
        assert "top 3: myeloma_plasmacytoma, vertebral_metastasis" in result.stdout

    def test_q_while_a_pick_is_asked_again_stops(self):
        result = play(["--case", "ED002"], ["ed", "sarcoma", "q"])
        assert "top 3: none given (you stopped)" in result.stdout and "score 1/2" in result.stdout


class TestReplay:
    def test_each_round_says_what_really_replays_it(self, cases):
        from ddx.quiz import draw

        chosen = draw(cases, seed=16, rounds=2)
        answers = [a for c in chosen for a in (SHORT[c.compartment], c.diagnosis)]
        out = play(["--seed", "16", "--rounds", "2"], answers).stdout
        first, second = out.split("Quiz case 2 of 2")
        assert "Quiz case 1 of 2 (seed 16; replay with --seed 16" in first
        assert "--seed" not in second.split("\n", 1)[0]  # --seed 16 replays case 1, not this one
        assert f"replay it: ddx quiz --case {chosen[0].case_id}" in first
        assert f"replay it: ddx quiz --case {chosen[1].case_id}" in second
        # and they do
        assert choose(cases, seed=16) == chosen[0]
        replayed = play(["--case", chosen[1].case_id], [SHORT[chosen[1].compartment], chosen[1].diagnosis]).stdout
        assert replayed.split("\n\n")[1] == second.split("\n\n")[1]  # the same findings

    def test_the_case_id_is_shown_only_with_the_answer(self, cases):
        out = play(["--seed", "16", "--rounds", "2"], []).stdout
        before = out.split("Answer:")[0]
        assert choose(cases, seed=16).case_id not in before

    def test_more_rounds_than_cases_is_said(self, cases):
        out = play(["--seed", "16", "--rounds", "100"], []).stdout
        assert f"100 rounds asked for, but ddx ships {len(cases)} cases: playing {len(cases)} rounds" in out.split("Quiz case")[0]
        assert f"Quiz case 1 of {len(cases)}" in out

    def test_no_notice_when_the_rounds_fit(self, cases):
        assert "rounds asked for" not in play(["--seed", "16", "--rounds", str(len(cases))], []).stdout


class TestPicksInTheChosenCompartment:
    """A name that fits several diagnoses is read as the one in the compartment the trainee chose."""

    @pytest.mark.parametrize(
        "compartment, entity",
        [("extradural", "vertebral_metastasis"), ("intradural_extramedullary", "leptomeningeal_metastases"), ("intramedullary", "intramedullary_metastasis")],
    )
    def test_mets_is_read_in_the_chosen_compartment(self, kb, compartment, entity):
        from ddx.quiz import read_picks

        (pick,) = read_picks("mets", kb, compartment=compartment)
        assert pick.entity == entity and pick.problem is None
        assert "read as" in pick.note

    def test_without_a_compartment_it_is_still_refused(self, kb):
        from ddx.quiz import read_picks

        (pick,) = read_picks("mets", kb)
        assert pick.entity is None and "on its own" in pick.problem

    def test_the_reading_is_said_and_scored(self):
        """The quiz says how it read the name, and the pick counts."""
        result = play(["--case", "ED002"], ["ed", "mets, myeloma"])
        assert result.exit_code == 0
        assert "'mets' read as vertebral_metastasis" in result.stdout
        assert "try again" not in result.stdout
        assert "top 3: vertebral_metastasis, myeloma_plasmacytoma: right (your #1)" in result.stdout


class TestStoppingKeepsWhatWasRead:
    """'q' or the end of input while a pick is asked again scores the picks already read."""

    @pytest.mark.parametrize("last", [["q"], []])
    def test_the_kept_picks_are_scored(self, last):
        result = play(["--case", "ED002"], ["ed", "vertebral mets, sarcoma", *last])
        assert "kept: #1 vertebral_metastasis" in result.stdout
        assert "top 3: vertebral_metastasis: right (your #1)" in result.stdout
        assert "score 2/2" in result.stdout

    @pytest.mark.parametrize("last", [["q"], []])
    def test_the_kept_picks_keep_the_numbers_they_were_given(self, last):
        """A pick kept as #2 is scored as the trainee's #2, not moved up to #1 because the
        pick before it was never read."""
        result = play(["--case", "ED002"], ["ed", "sarcoma, vertebral mets", *last])
        assert "kept: #2 vertebral_metastasis" in result.stdout
        assert "top 3: #2 vertebral_metastasis: right (your #2)" in result.stdout
        assert "score 2/2" in result.stdout


class TestLongAnswers:
    """A very long answer is echoed and quoted cut short, as the guide quotes a long value."""

    LONG = "x" * 200_000

    MANY_WORDS = "abcd " * 40_000

    @pytest.mark.parametrize("answers", [[LONG], ["ed", LONG, LONG], ["ed", f"{LONG}, myeloma", LONG], ["ed", MANY_WORDS, MANY_WORDS]])
    def test_no_line_repeats_a_long_answer_in_full(self, answers):
        result = play(["--case", "ED002"], answers)
        assert result.exit_code == 0
        assert max(len(line) for line in result.stdout.splitlines()) < 400
        assert "(200,000 characters)" in result.stdout
        assert "Answer:" in result.stdout

    def test_an_answer_of_any_usual_length_is_echoed_whole(self):
        name = "Demyelination / myelitis (MS, NMOSD, MOGAD, transverse myelitis)"
        picks = f"{name}, Spinal dural arteriovenous fistula (venous congestive myelopathy), Spinal cord ependymoma"
        result = play(["--case", "IM034"], ["im", picks])
        assert f") {picks}\n" in result.stdout


class TestNamesWithCommas:
    """A name's own commas, inside its parenthesis, do not split it into picks."""

    NAME = "Demyelination / myelitis (MS, NMOSD, MOGAD, transverse myelitis)"

    def test_a_full_name_with_commas_in_its_parenthesis_is_one_pick(self, kb):
        assert parse_picks(self.NAME, kb) == ("demyelination",)
        assert parse_picks(f"ependymoma; {self.NAME}, astrocytoma", kb) == ("ependymoma", "demyelination", "astrocytoma")

    def test_the_name_the_reveal_prints_can_be_typed(self):
        result = play(["--case", "IM034"], ["im", self.NAME])
        assert "at most 3" not in result.stdout
        assert f"Answer: {self.NAME} [demyelination]" in result.stdout
        assert "top 3: demyelination: right (your #1)" in result.stdout

    def test_a_full_name_typed_for_one_pick_replaces_that_pick_only(self):
        result = play(["--case", "IM034"], ["im", "ependymoma, sarcoma", self.NAME])
        assert "top 3: ependymoma, demyelination: right (your #2)" in result.stdout

    def test_an_unclosed_parenthesis_does_not_swallow_the_picks_after_it(self, kb):
        assert parse_picks("astrocytoma (pilocytic, ependymoma", kb) == ("astrocytoma", "ependymoma")


class TestPicksWithoutCommas:
    """Picks typed with spaces between them are one name that names no diagnosis: the quiz says to
    separate them with commas."""

    @pytest.mark.parametrize("text, compartment, hint, joined", [
        ("meningioma schwannoma neurofibroma", None, "separate picks with commas", "meningioma, schwannoma, neurofibroma"),
        # 'mets' alone after 'ed' is the vertebral metastasis; typed with spaces among other
        # picks it is still one of them, so the comma hint names it as the quiz would read it
        ("mets lymphoma myeloma", "extradural", "names 3 diagnoses: separate picks with commas",
         "vertebral_metastasis, lymphoma, myeloma_plasmacytoma"),
    ])
    def test_space_separated_picks_are_told_to_use_commas(self, kb, text, compartment, hint, joined):
        (pick,) = read_picks(text, kb, compartment=compartment)
        assert pick.entity is None
        assert hint in pick.problem
        assert joined in pick.problem

    @pytest.mark.parametrize("case, answers, hint, top", [
        ("ID013", ["idem", "meningioma schwannoma", "meningioma, schwannoma"], "separate picks with commas",
         "top 3: meningioma, schwannoma"),
        ("ED011", ["ed", "mets lymphoma", "mets, lymphoma"], "'mets lymphoma' names 2 diagnoses: separate picks with commas",
         "top 3: vertebral_metastasis, lymphoma: right (your #1)"),
    ])
    def test_the_hint_is_given_in_the_quiz_and_the_list_then_read(self, case, answers, hint, top):
        result = play(["--case", case], answers)
        assert hint in result.stdout
        assert top in result.stdout

    @pytest.mark.parametrize("text", ["xyzzy meningioma", "meningioma conus", "plugh schwannoma"])
    def test_no_hint_for_words_that_do_not_each_name_a_diagnosis(self, kb, text):
        """Refused picks whose words do not each name a diagnosis get no comma hint."""
        picks = read_picks(text, kb)
        assert any(p.problem for p in picks), "the pick was read: it does not reach the hint"
        assert all("separate picks" not in (p.problem or "") for p in picks)


class TestWordsThatNameNoDiagnosis:
    """A place, a property or a kind of lesion is no pick, whatever the compartment chosen."""

    def test_places_and_adjectives_are_not_scored(self):
        result = play(["--case", "ID058"], ["idem", "conus, cauda, malignant"])
        assert "'conus' is not a diagnosis on its own" in result.stdout
        assert "'malignant' is not a diagnosis on its own" in result.stdout
        assert "top 3: none given (end of input)" in result.stdout and "score 1/2" in result.stdout

    @pytest.mark.parametrize(
        "text, compartment",
        [("cyst", "extradural"), ("solitary", "extradural"), ("conus", "intradural_extramedullary"), ("epidural", "extradural")],
    )
    def test_the_compartment_does_not_turn_a_generic_word_into_a_pick(self, kb, text, compartment):
        (pick,) = read_picks(text, kb, compartment=compartment)
        assert pick.entity is None and "on its own" in pick.problem

    @pytest.mark.parametrize(
        "text, compartment, says",
        [("VHL", "intramedullary", "is a syndrome"), ("extradural", "extradural", "is a compartment, not a diagnosis")],
    )
    def test_a_syndrome_or_a_compartment_is_said_to_be_one_and_not_scored(self, kb, text, compartment, says):
        (pick,) = read_picks(text, kb, compartment=compartment)
        assert pick.entity is None and says in pick.problem


class TestReadingPicksInTheCompartment:
    @pytest.mark.parametrize(
        "compartment, entity",
        [("intradural_extramedullary", "myxopapillary_ependymoma"), ("intramedullary", "ependymoma"), (None, "ependymoma")],
    )
    def test_a_family_name_is_read_as_the_one_in_the_compartment(self, kb, compartment, entity):
        """'ependymoma' is the cord ependymoma's id, and the family name of the myxopapillary one:
        after 'idem' it is read as the one there, as 'mets' is, and said so."""
        (pick,) = read_picks("ependymoma", kb, compartment=compartment)
        assert pick.entity == entity
        assert (pick.note is not None) == (entity == "myxopapillary_ependymoma")

    def test_a_misspelt_pick_takes_its_suggestion_on_a_y(self, kb):
        out = play(["--case", "ID013"], ["idem", "meningeoma", "y"]).stdout
        assert "(y takes meningioma; a list with commas replaces all)" in out
        assert "top 3: meningioma: right (your #1)" in out

    def test_a_suggestion_taken_is_read_in_the_compartment_as_typed_would_be(self, kb):
        """'ependimoma' then y is 'ependymoma' as if typed: after idem, the myxopapillary one."""
        out = play(["--case", "ID024"], ["ependimoma", "y"]).stdout
        assert "'ependymoma' read as myxopapillary_ependymoma" in out
        assert "top 3: myxopapillary_ependymoma: right (your #1)" in out

    def test_a_place_alone_gets_no_suggestion_to_take(self, kb):
        """'conus' names no diagnosis (a place): y must not score it as the one entity there."""
        (pick,) = read_picks("conus", kb, compartment="intradural_extramedullary")
        assert pick.entity is None and pick.suggestion is None

    def test_a_malignant_synonym_is_not_suggested_as_the_benign_tumour(self, kb):
        (pick,) = read_picks("neurofibrosarcoma", kb)
        assert pick.entity == "mpnst"


class TestToldCompartment:
    """A case whose page describes no finding that points to a compartment (ID024 gives the level,
    the conus and the signal only) has its compartment told, not asked: guessing it would be luck."""

    def test_the_compartment_is_told_and_only_the_diagnosis_scores(self, cases, kb):
        from ddx.quiz import places

        case = choose(cases, case_id="ID024")
        assert not places(kb, case.findings)
        result = play(["--case", "ID024"], [case.diagnosis])
        assert result.exit_code == 0
        assert "Compartment?" not in result.stdout
        assert "names where it lies: intradural extramedullary. Only your top 3 scores." in result.stdout
        assert "You: compartment told" in result.stdout and "score 1/1 (a point for the diagnosis" in result.stdout

    @pytest.mark.parametrize("case_id", ["ID024", "ID031", "IM023"])
    def test_ddx_answers_with_the_compartment_it_told(self, cases, kb, case_id):
        """The trainee is told where the lesion lies, and so is ddx: its differential holds only
        that compartment's entities (an epidural abscess is no answer for a told intradural mass),
        their probabilities scaled to sum to 1, and its line says the compartment was told."""
        from ddx.engine import assess, within_compartment

        case = choose(cases, case_id=case_id)
        a = within_compartment(kb, assess(case.findings, kb, suggest=0), case.compartment)
        inside = [c for c in a.candidates if c.probability > 0]
        assert a.compartment == case.compartment and a.compartment_probability == 1.0
        assert {c.compartment for c in inside} == {case.compartment}
        assert math.isclose(math.fsum(c.probability for c in a.candidates), 1.0)
        assert all(kb.entity(f.entity).compartment == case.compartment for f in a.flags if f.entity is not None)
        out = play(["--case", case_id], []).stdout
        assert "ddx: compartment told, as to you;" in out
        listed = [ln for ln in out.splitlines() if re.match(r"  \d\. ", ln)]
        names = {kb.entity(e).name: kb.entity(e).compartment for e in kb.entity_ids}
        assert all(any(ln.startswith(f"  {i}. {n}") and names[n] == case.compartment for n in names)
                   for i, ln in enumerate(listed, 1)), listed

    def test_a_told_compartment_weighs_each_reason_against_its_own_entities(self, cases, kb):
        """Told that the mass is in the cord, ddx weighs a known primary against the other cord
        lesions (primary cord tumours, myelitis), not against the vertebral metastases of every
        compartment: the reasons the reveal prints are those of the differential it shows."""
        from ddx.engine import assess, within_compartment

        case = choose(cases, case_id="IM023")
        a = assess(case.findings, kb, suggest=0)
        told = within_compartment(kb, a, case.compartment)

        def ratio(assessment):
            return next(r.ratio for r in assessment.candidate(case.diagnosis).reasons_for if r.feature == "known_primary")

        from ddx.engine import finding_vector

        likelihood = dict(zip(kb.entity_ids, map(math.exp, finding_vector(kb, kb.features["known_primary"], "yes"))))
        others = {e.id: p for e, p in zip(kb.entities, kb.prior) if e.compartment == "intramedullary" and e.id != case.diagnosis}
        alternatives = math.fsum(p * likelihood[e] for e, p in others.items()) / math.fsum(others.values())
        assert ratio(told) == pytest.approx(likelihood[case.diagnosis] / alternatives, rel=1e-9)
        assert ratio(told) > 2 * ratio(a)
        assert told.next_findings == () and told.compartment_probability == 1.0

    def test_a_compartment_answered_where_none_was_asked_is_passed_over(self, cases, kb):
        """A script that answers every case's compartment stays in step: on a told case its
        compartment line is passed over, not read as pick 1, and the top 3 is asked again."""
        out = play(["--case", "IM023"], ["ed", "mets"]).stdout
        assert "the compartment is given for this case (intramedullary): name your top 3 diagnoses" in out
        assert "pick 1" not in out and "top 3: intramedullary_metastasis: right (your #1)" in out

    def test_a_series_adds_up_the_points_each_case_could_give(self, cases, kb):
        from ddx.quiz import draw, places

        chosen = draw(cases, seed=5, rounds=3)
        assert [places(kb, c.findings) for c in chosen] == [True, True, False]
        answers = []
        for case in chosen:
            answers += ([SHORT[case.compartment]] if places(kb, case.findings) else []) + [case.diagnosis]
        assert "Total: 5/5 over 3 case(s)." in play(["--seed", "5", "--rounds", "3"], answers).stdout

    def test_a_case_with_a_sign_is_asked_its_compartment(self, cases, kb):
        from ddx.quiz import places

        assert sum(places(kb, c.findings) for c in cases) >= 20
        assert "Compartment?" in play(["--case", "ID058"], []).stdout


@pytest.mark.parametrize("answer, compartment", [("im", "intramedullary"), ("ed", "extradural"), ("idem", "intradural_extramedullary")])
def test_the_example_picks_are_of_the_compartment_chosen(kb, answer, compartment):
    """After 'im' the example names cord lesions, not the nerve sheath tumours it once always named."""
    out = play(["--case", "ID058"], [answer]).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("Your top 3"))
    examples = line.split("(e.g. ")[1].split(")")[0].split(", ")
    assert len(examples) == 3 and all(kb.entity(e).compartment == compartment for e in examples)


def test_the_user_guide_counts_the_cases_whose_compartment_is_told(cases, kb):
    import re
    from pathlib import Path

    from ddx.quiz import places

    guide = " ".join((Path(__file__).resolve().parent.parent / "docs" / "user-guide.md").read_text(encoding="utf-8").split())
    told, total = map(int, re.search(r"compartment \((\d+) of the (\d+):", guide).groups())
    assert (told, total) == (sum(not places(kb, c.findings) for c in cases), len(cases))



def test_the_reveal_says_what_put_ddx_s_first_choice_ahead_of_the_answer(cases, kb):
    """The reasons for the answer weigh each finding against every alternative; when ddx ranked
    another diagnosis first, the reveal also says, head to head, what put that one ahead."""
    out = play(["--case", "ED021"], ["ed", "lymphoma"]).stdout
    assert "What put Vertebral / epidural metastasis ahead of Multiple myeloma / plasmacytoma:" in out
    assert "+ known primary yes: 2.2x as likely with Vertebral / epidural metastasis as with Multiple myeloma / plasmacytoma" in out
    first = play(["--case", "IM001"], ["im", "ependymoma"]).stdout  # ddx ranks the answer first
    assert "Spinal cord ependymoma ranked #1" in first and "ahead of" not in first


def test_a_contrast_multiplies_out_to_the_ratio_of_the_two_posteriors(cases, kb):
    """The prior ratio times every finding's ratio between the two is the ratio of their
    probabilities: nothing the engine weighs is left out of the head-to-head."""
    from ddx.engine import assess, contrast

    for case in cases[:10]:
        a = assess(case.findings, kb, suggest=0)
        first, second = a.candidates[0].id, case.diagnosis
        prior, pulls = contrast(kb, case.findings, first, second)
        assert math.prod([prior, *(r for _, r in pulls)]) == pytest.approx(a.probability(first) / a.probability(second), rel=1e-6)
        assert [r for _, r in pulls] == sorted((r for _, r in pulls), reverse=True)


def test_a_told_compartment_with_a_single_entity_has_no_alternatives_to_weigh(kb):
    """A knowledge base whose compartment holds one entity: told the lesion is there, ddx gives
    it all the probability and no reason (there is nothing to weigh a finding against), not a
    division by zero."""
    import attrs

    from ddx.engine import assess, within_compartment
    from ddx.findings import parse_findings

    alone = attrs.evolve(kb, entities=tuple(
        attrs.evolve(e, compartment="extradural") if e.compartment == "intramedullary" and e.id != "ependymoma" else e
        for e in kb.entities))
    a = within_compartment(alone, assess(parse_findings({"cord": "expanded", "age": "40"}, alone), alone, suggest=0),
                           "intramedullary")
    assert a.candidates[0].id == "ependymoma" and a.candidates[0].probability == 1.0
    assert a.candidates[0].reasons_for == a.candidates[0].reasons_against == ()


def test_what_put_the_leader_ahead_names_the_largest_pulls_when_none_reaches_the_threshold(kb):
    """An abscess ahead of a lymphoma on a paraspinal mass alone: the priors (1.18x) and the one
    finding (1.19x) each fall short of the reasons' 1.25, so the reveal names them as what adds up."""
    from ddx.engine import assess
    from ddx.findings import parse_findings
    from ddx.quiz import _ahead

    findings = parse_findings({"paraspinal_mass": "yes"}, kb)
    a = assess(findings, kb, suggest=0)
    answer = next(c.id for c in a.candidates[1:] if c.id == "lymphoma")
    lines = _ahead(kb, a, answer, color=False)
    assert lines[1].startswith(f"What put {a.candidates[0].name.split(' (')[0]} ahead of Lymphoma")
    assert lines[2].startswith("  (no single finding by 1.25x or more; it adds up from ")
    assert "paraspinal mass yes 1." in lines[2] and "the priors 1." in lines[2]


def test_a_contrast_counts_the_compartment_signs_as_one_picture(kb):
    """A sign's ratio given the signs read before it depends on their order, so the head to head
    names the picture they show together."""
    from ddx.engine import contrast
    from ddx.findings import parse_findings

    findings = parse_findings({"cord": "displaced", "csf": "widened", "cord_position": "eccentric"}, kb)
    prior, pulls = contrast(kb, findings, "hemangioblastoma", "meningioma")
    labels = [label for label, _ in pulls]
    assert "cord displaced + csf widened" in labels and "cord displaced" not in labels
    assert dict(pulls)["cord position eccentric"] > 5


def test_the_reveal_says_when_the_other_priors_would_lead_with_another_diagnosis():
    """A trainee who put schwannoma first on a told cauda equina mass learns that the ranking
    rests on the priors, as `ddx assess` would say."""
    out = play(["--case", "ID031"], ["mpe"]).stdout
    assert "  Priors matter here: with --priors registry, Schwannoma would lead at" in out
    assert "Priors matter" not in play(["--case", "IM001"], ["im", "ependymoma"]).stdout
