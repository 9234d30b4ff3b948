"""`ddx guide`: one question at a time, the most informative first, scripted from stdin."""

from __future__ import annotations

import json
import re
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ddx import questions
from ddx.cli import cli
from ddx.findings import Findings, format_value, parse_findings
from ddx.guide import prompt, run_guide, status

# The seeds' three compartment pictures (000, 004: "Quick spatial cheat sheet").
PICTURES = {
    "intramedullary": {"cord": "expanded", "csf": "effaced"},
    "intradural_extramedullary": {"cord": "displaced", "csf": "widened", "csf_cap": "yes"},
    "extradural": {"dural_sac_displaced": "yes", "csf": "tapered", "cord": "compressed"},
}
QUESTION = re.compile(r"^\[(\w+)\] ", re.M)
IDEM = {"cord": "displaced", "csf": "widened"}


def oracle(kb, picture):
    """ask(): answers each question from the picture, passes (Enter) on anything else."""
    asked = []

    def ask(text):
        fid = QUESTION.match(text).group(1)
        asked.append(fid)
        return picture.get(fid, "")

    return ask, asked


def scripted(lines):
    """ask(): the given lines in order, then end of input."""
    it = iter(lines)
    return lambda _prompt: next(it, None)


def guided(kb, picture, **kw):
    ask, asked = oracle(kb, picture)
    out = []
    result = run_guide(kb, ask, out.append, **kw)
    return result, asked, "\n".join(out)


def answers_for(kb, picture, n):
    """The lines a reader who sees the picture would type to the first n questions."""
    _, asked, _ = guided(kb, picture, max_questions=n)
    return [picture.get(fid, "") for fid in asked]


class TestCompartmentPictures:
    @pytest.mark.parametrize("compartment", list(PICTURES))
    def test_three_questions_place_the_lesion(self, kb, compartment):
        result, asked, _ = guided(kb, PICTURES[compartment], max_questions=3)
        assert len(asked) <= 3
        assert result.assessment.compartment == compartment, asked

    def test_with_nothing_known_the_read_starts_with_the_cord_and_the_csf(self, kb):
        _, asked, _ = guided(kb, {}, max_questions=2)
        assert set(asked) == {"cord", "csf"}

    @pytest.mark.parametrize("compartment", list(PICTURES))
    def test_piped_answers_reach_the_compartment(self, kb, compartment):
        lines = answers_for(kb, PICTURES[compartment], 3)
        result = CliRunner().invoke(cli, ["guide", "--max-questions", "3", "--no-color"], input="\n".join(lines) + "\n")
        assert result.exit_code == 0, result.output
        name = {"intramedullary": "Intramedullary", "intradural_extramedullary": "Intradural extramedullary", "extradural": "Extradural"}
        assert f"Compartment: {name[compartment]}" in result.stdout
        assert len(QUESTION.findall(result.stdout)) == 3
        assert "Read ended: asked 3 question(s) (--max-questions)." in result.stdout


class TestQuestions:
    @pytest.mark.parametrize("placeholder", ["-", "null"])
    def test_a_placeholder_is_told_how_to_pass_at_a_prompt(self, kb, placeholder):
        """A cell's advice ("write unknown") is a keypress at a prompt: Enter or skip."""
        result = CliRunner().invoke(cli, ["guide", "--no-color"], input=f"{placeholder}\nq\n")
        assert "press Enter or type skip" in result.stdout
        assert "write unknown" not in result.stdout

    def test_each_question_names_its_column_and_lists_yes_no(self, kb):
        assert prompt(kb.features["cord"]).startswith("[cord] Is the cord expanded, displaced, compressed or normal?")
        assert prompt(kb.features["csf_cap"]).rstrip().endswith("(yes/no)")
        assert "(0-120)" in prompt(kb.features["age"])

    def test_no_question_is_asked_twice_even_when_everything_is_skipped(self, kb):
        """The read ends when every question was asked, and says that the skipped ones would
        still help, as the next best findings then show (not that nothing would)."""
        result, asked, _ = guided(kb, {})
        assert len(asked) == len(set(asked))
        assert result.stopped == (f"every question that would change the picture was asked, and {len(asked)} were "
                                  "skipped: the next best findings say which would still help")
        assert result.assessment.next_findings
        assert result.findings == Findings()

    def test_findings_that_disagree_are_said_after_the_answer_that_makes_them(self, kb):
        answers = iter(["tapered", "expanded"])
        out = []

        def ask(prompt):
            out.append(prompt)
            return next(answers, "q")

        run_guide(kb, ask, out.append)
        text = "\n".join(out)
        said = text.index("The findings disagree: cord=expanded points to intramedullary")
        assert text.index("[cord]") < said < text.index("\n[", text.index("[cord]"))

    def test_a_read_answered_to_the_end_stops_when_no_finding_would_change_it(self, kb):
        def ask(text):
            return format_value(questions.questions(kb)[QUESTION.match(text).group(1)].outcomes[0].value)

        result = run_guide(kb, ask, lambda _: None)
        assert result.stopped == "no finding left would change the picture much"
        assert all(step.value is not None for step in result.steps)

    @settings(max_examples=25)
    @given(st.data())
    def test_no_question_is_asked_twice_whatever_the_answers(self, kb, data):
        asked = []

        def ask(text):
            fid = QUESTION.match(text).group(1)
            asked.append(fid)
            q = questions.questions(kb)[fid]
            choice = data.draw(st.sampled_from([None] + [o.value for o in q.outcomes]))
            return "" if choice is None else format_value(choice)

        result = run_guide(kb, ask, lambda _: None, max_questions=12)
        assert len(asked) == len(set(asked)) <= 12
        assert set(result.asked) == set(asked)

    def test_given_findings_are_not_asked(self, kb):
        start = parse_findings({"cord": "expanded", "csf": "effaced"}, kb)
        _, asked, _ = guided(kb, {}, findings=start, max_questions=5)
        assert not {"cord", "csf"} & set(asked)

    def test_a_bad_answer_reasks_the_same_question_with_the_allowed_values(self, kb):
        picture = PICTURES["intradural_extramedullary"]
        prompts, out = [], []

        def ask(text):
            prompts.append(QUESTION.match(text).group(1))
            if len(prompts) == 1:
                return "sideways"
            return picture.get(prompts[-1], "") if len(set(prompts)) == 1 else "q"

        result = run_guide(kb, ask, out.append)
        text = "\n".join(out)
        assert prompts[0] == prompts[1] != prompts[2]
        assert "'sideways' is not a value" in text and "(allowed:" in text
        assert result.findings.get(prompts[0]) == picture[prompts[0]]
        assert result.asked == (prompts[0], prompts[2])  # the second, where the reader stopped, was asked once
        assert [status(s) for s in result.steps] == ["answered", "stopped"]

    def test_end_of_input_during_a_reask_ends_cleanly(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color"], input="nonsense\n")
        assert result.exit_code == 0
        assert "(allowed:" in result.stdout
        assert "Read ended: end of input." in result.stdout
        assert "Compartment:" in result.stdout

    @pytest.mark.parametrize("answer", ["ring enhancing", "Ring-enhancing ", "rim enhancing", "rim-enhancing"])
    def test_a_ring_enhancing_lesion_is_read_as_rim(self, kb, answer):
        """'ring' is read as rim; the way a report writes it, 'ring enhancing', is read so too."""
        result = CliRunner().invoke(
            cli, ["guide", "--no-color", "--cord", "displaced", "--csf", "widened"], input=f"{answer}\nq\n"
        )
        assert QUESTION.findall(result.stdout)[0] == "enhancement"
        assert "is not a value" not in result.stdout
        assert "+ enhancement rim" in result.stdout

    def test_q_stops_and_shows_the_full_assessment(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color"], input="q\n")
        assert result.exit_code == 0
        assert len(QUESTION.findall(result.stdout)) == 1
        assert "Read ended: stopped by the reader." in result.stdout
        assert "candidate" in result.stdout and "Next best findings" in result.stdout

    def test_help_explains_the_values_and_asks_again(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--cord", "displaced"], input="help\nq\n")
        assert "widened: the CSF space is widened on the side of the mass" in result.stdout
        assert QUESTION.findall(result.stdout) == ["csf", "csf"]

    def test_help_explains_each_value_once(self, kb):
        first = questions.rank(kb, Findings())[0].feature
        result = CliRunner().invoke(cli, ["guide", "--no-color"], input="help\nq\n")
        assert QUESTION.findall(result.stdout) == [first, first]
        help_text = result.stdout.split("? help\n", 1)[1].split(f"[{first}]", 1)[0]
        for value in kb.features[first].values:
            assert help_text.count(f"{value}:") == 1, help_text
        expected = {"cord": "the cord is of normal calibre and position", "csf": "the CSF space is unremarkable"}
        assert f"normal: {expected[first]}" in help_text

    def test_a_question_mark_is_help_not_a_skip(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--cord", "displaced"], input="?\nq\n")
        assert "widened: the CSF space is widened on the side of the mass" in result.stdout
        assert QUESTION.findall(result.stdout) == ["csf", "csf"]
        assert "(skipped)" not in result.stdout

    def test_a_byte_order_mark_before_the_first_answer_is_not_part_of_it(self, kb):
        answers = answers_for(kb, IDEM, 2)
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "2"], input="\ufeff" + "\n".join(answers) + "\n")
        assert result.exit_code == 0
        assert "is not a value" not in result.stdout
        assert sorted(QUESTION.findall(result.stdout)) == ["cord", "csf"]
        assert "Compartment: Intradural extramedullary" in result.stdout

    def test_a_very_long_answer_is_echoed_and_quoted_cut_short(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--cord", "displaced"], input="y" * 200_000 + "\nq\n")
        assert result.exit_code == 0
        assert max(len(line) for line in result.stdout.splitlines()) < 400
        assert result.stdout.count("(200,000 characters)") == 2  # the echo and the message

    def test_running_summary_after_each_answer(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "1"], input="displaced\nwidened\n")
        assert re.search(r"  -> (Intradural extramedullary|Intramedullary|Extradural) \d+% \| ", result.stdout)

    def test_skip_and_unknown_pass(self, kb):
        out = []
        result = run_guide(kb, scripted(["skip", "unknown", ""]), out.append)
        assert [s.value for s in result.steps[:3]] == [None, None, None]
        assert result.findings == Findings()


class TestOutput:
    def test_json_keeps_stdout_for_the_record(self, kb):
        answers = answers_for(kb, IDEM, 2)
        result = CliRunner().invoke(cli, ["guide", "--format", "json", "--max-questions", "2"], input="\n".join(answers) + "\n")
        assert result.exit_code == 0
        record = json.loads(result.stdout)
        assert record["compartment"] == "intradural_extramedullary"
        assert [q["answer"] for q in record["guide"]["questions"]] == answers
        assert record["next_findings"]
        assert QUESTION.search(result.stderr)

    def test_markdown_keeps_stdout_for_the_assessment_as_assess_writes_it(self, kb):
        """A read written up for notes: the questions on stderr, and on stdout the markdown of
        `ddx assess` for the findings the read ended with."""
        from ddx.engine import assess
        from ddx.render import render_markdown

        answers = answers_for(kb, IDEM, 2)
        result = CliRunner().invoke(cli, ["guide", "--format", "markdown", "--max-questions", "2", "--top", "3"],
                                    input="\n".join(answers) + "\n")
        assert result.exit_code == 0
        assert QUESTION.search(result.stderr) and not QUESTION.search(result.stdout)
        findings = parse_findings(dict(zip([q for q in QUESTION.findall(result.stderr)][:2], answers)), kb)
        assert result.stdout == render_markdown(assess(findings, kb), top=3) + "\n"

    def test_json_tells_a_skip_from_a_question_left_at_end_of_input(self, kb):
        first = answers_for(kb, IDEM, 1)[0]
        result = CliRunner().invoke(cli, ["guide", "--format", "json"], input=f"{first}\nskip\n")
        assert result.exit_code == 0
        guide = json.loads(result.stdout)["guide"]
        assert [(q["answer"], q["status"]) for q in guide["questions"]] == [
            (first, "answered"),
            (None, "skipped"),
            (None, "end_of_input"),
        ]
        assert guide["stopped"] == "end of input"

    def test_json_records_the_question_the_reader_stopped_at(self, kb):
        first = answers_for(kb, IDEM, 1)[0]
        result = CliRunner().invoke(cli, ["guide", "--format", "json"], input=f"{first}\nq\n")
        assert result.exit_code == 0
        guide = json.loads(result.stdout)["guide"]
        assert [(q["answer"], q["status"]) for q in guide["questions"]] == [(first, "answered"), (None, "stopped")]
        assert len(guide["questions"]) == len(QUESTION.findall(result.stderr))
        assert guide["stopped"] == "stopped by the reader"

    def test_emergency_flag_is_red_with_color_and_plain_without(self, kb):
        args = ["guide", "--max-questions", "2", "--csf", "tapered", "--cord", "compressed"]
        coloured = CliRunner().invoke(cli, args + ["--color"], input="\n\n")
        assert "\x1b[1;31m!! EMERGENCY" in coloured.stdout
        plain = CliRunner(env={"NO_COLOR": "1"}).invoke(cli, args, input="\n\n", color=True)
        assert "!! EMERGENCY" in plain.stdout and "\x1b[" not in plain.stdout

    def test_dont_miss_leaders_are_red_in_the_running_summary(self, kb):
        from ddx import engine
        from ddx.guide import summary

        a = engine.assess(parse_findings(dict(PICTURES["extradural"], known_primary="yes"), kb), kb, suggest=0)
        leader = a.candidates[0]
        assert leader.dont_miss
        assert "\x1b[1;31m" in summary(a, color=True)
        assert "\x1b[" not in summary(a)

    def test_help_has_a_worked_example(self):
        result = CliRunner().invoke(cli, ["guide", "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.stdout and "ddx guide --known-primary yes" in result.stdout
        assert "--max-questions" in result.stdout and "--cord" in result.stdout

    def test_bad_option_value_is_a_usage_error(self):
        result = CliRunner().invoke(cli, ["guide", "--cord", "wide"], input="")
        assert result.exit_code == 2
        assert "--cord" in result.stderr


# -- the piped examples of --help ---------------------------------------------

PRINTF = re.compile(r"^\s*printf '(?P<answers>[^']*)' \| ddx (?P<command>guide|quiz)(?P<args>.*)$", re.M)
REJECTED = ("is not a value", "did you mean", "is not a diagnosis", "is not a compartment", "try again")


def help_examples(command):
    """The `printf '...' | ddx COMMAND ...` lines of a command's --help, as (args, stdin)."""
    import shlex

    text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).stdout
    return [
        ([m.group("command"), *shlex.split(m.group("args"))], m.group("answers").replace("\\n", "\n"))
        for m in PRINTF.finditer(text)
    ]


@pytest.mark.parametrize("command", ["guide", "quiz"])
def test_the_piped_examples_of_help_answer_what_is_asked(command):
    """Every answer of a --help printf example is accepted by the question it meets, and the run ends as intended."""
    examples = help_examples(command)
    assert examples, f"ddx {command} --help has no printf example"
    for args, answers in examples:
        result = CliRunner().invoke(cli, [*args, "--no-color"], input=answers)
        shown = result.stdout + result.stderr
        assert result.exit_code == 0, shown
        assert not [r for r in REJECTED if r in shown], f"an answer of `{' '.join(args)}` was rejected:\n{shown}"
        lines = answers.splitlines()
        if command == "guide":
            assert len(QUESTION.findall(shown)) == len(lines), shown  # one question per answer, none asked twice
            assert lines[-1] == "q" and "Read ended: stopped by the reader." in shown
            if "json" in args:
                questions = json.loads(result.stdout)["guide"]["questions"]
                assert [q["answer"] for q in questions] == [*lines[:-1], None]
                assert questions[-1]["status"] == "stopped"
        else:
            assert shown.count("Compartment? ") == 1 and shown.count("Your top 3") == 1
            assert "Answer:" in shown and re.search(r"score \d/2", shown)


def test_the_guide_example_answers_the_cord_and_the_csf(kb):
    """The example's answers meet their questions: the guide places the lesion first, asking the
    cord and the CSF in the order of what they tell (an IDEM mass: displaced, widened)."""
    _, asked, _ = guided(kb, IDEM, max_questions=2)
    assert sorted(asked) == ["cord", "csf"]
    assert help_examples("guide")[0][1].splitlines()[:2] == answers_for(kb, IDEM, 2)


# -- don't-miss is marked in text, not only in colour -------------------------


def test_the_running_summary_tags_dont_miss_candidates_in_text(kb):
    from ddx import engine
    from ddx.guide import summary

    a = engine.assess(parse_findings(dict(PICTURES["extradural"], known_primary="yes"), kb), kb, suggest=0)
    plain = summary(a)
    for c in a.candidates[:3]:
        name = questions.short_name(c.name)
        assert (f"{name} [don't miss] " in plain) == c.dont_miss, plain
    assert "[don't miss]" in summary(a, color=True)


def test_markdown_tags_dont_miss_candidates_as_the_table_does(kb):
    from ddx import engine
    from ddx.render import render_markdown, render_table

    a = engine.assess(parse_findings(dict(PICTURES["extradural"], known_primary="yes"), kb), kb)
    markdown, table = render_markdown(a, top=33), render_table(a, top=33)
    for c in a.candidates:
        assert (f"{c.name} [don't miss]" in markdown) == c.dont_miss == (f"{c.name} [don't miss]" in table), c.id


# -- the terminal, the pipes and the bytes around the dialogue ------------------


class TestDialogueStreams:
    def test_an_answer_that_is_not_utf8_is_refused_not_a_crash(self, kb):
        result = CliRunner().invoke(cli, ["guide", "--no-color"], input=b"displ\xe9ced\nq\n")
        assert result.exit_code == 0, result.output
        assert "internal error" not in result.output
        assert "is not a value" in result.stdout
        assert "Read ended: stopped by the reader." in result.stdout

    def test_a_reader_at_a_terminal_whose_stdout_is_a_file_sees_the_dialogue_on_stderr(self, kb, monkeypatch):
        from ddx import terminal as terminal_module

        monkeypatch.setattr(terminal_module, "isatty", lambda stream: stream in (sys.stdin, sys.stderr))
        monkeypatch.setattr(terminal_module, "to_a_file", lambda stream: stream is sys.stdout)
        first = answers_for(kb, IDEM, 1)[0]
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "1"], input=f"{first}\n")
        assert result.exit_code == 0
        assert QUESTION.search(result.stderr) and "Compartment:" in result.stderr
        # stdout keeps the transcript: each prompt with its answer, and the final table
        assert re.search(rf"^\[\w+\] .*\? {first}$", result.stdout, re.M)
        assert "Compartment:" in result.stdout and "candidate" in result.stdout

    @pytest.mark.parametrize("terminal, to_a_file", [(("stdin", "stderr"), False), (("stdin",), True)])
    def test_a_pipe_or_a_redirected_stderr_keeps_the_dialogue_on_stdout_once(self, kb, monkeypatch, terminal, to_a_file):
        """| tee log (stdout a pipe), or 2>&1 > log / 2>/dev/null (stderr no terminal): the dialogue
        stays on stdout, written once, as before."""
        from ddx import terminal as terminal_module

        monkeypatch.setattr(terminal_module, "isatty", lambda stream: any(stream is getattr(sys, name) for name in terminal))
        monkeypatch.setattr(terminal_module, "to_a_file", lambda stream: to_a_file)
        first = answers_for(kb, IDEM, 1)[0]
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "1"], input=f"{first}\n")
        assert result.exit_code == 0
        assert result.stdout.count("Guided read:") == 1 and len(QUESTION.findall(result.stdout)) == 1
        assert "Guided read:" not in result.stderr

    @pytest.mark.parametrize("columns, widest", [("1", 20), ("40", 39)])
    def test_a_narrow_terminal_is_wrapped_not_a_crash(self, monkeypatch, columns, widest):
        """COLUMNS sets the width, as click and shutil read it; one column still wraps to a readable minimum."""
        from ddx import terminal as terminal_module

        monkeypatch.setenv("COLUMNS", columns)
        monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
        text = "  why: separates Intradural extramedullary from Extradural (widened in 60% vs 5%)"
        lines = terminal_module.fit(text, False).splitlines()
        assert len(lines) > 1 and "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
        assert max(len(line) for line in lines) <= widest

    def test_a_painted_line_wraps_by_what_shows(self, monkeypatch):
        """Colour codes take no room on the screen: a painted line wraps where the plain one does."""
        from ddx import terminal as terminal_module
        from ddx.render import paint

        monkeypatch.setenv("COLUMNS", "81")
        monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
        name = "Vertebral / epidural metastasis [don't miss]"
        plain = f"  -> Extradural 64% | {name} 19%, Vertebral hemangioma 12%, Spinal meningioma 11%"
        painted = plain.replace(name, paint(name, "red", True))
        wrapped = terminal_module.fit(painted, False).splitlines()
        assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in wrapped] == terminal_module.fit(plain, False).splitlines()
        assert len(wrapped) == 2 and wrapped[0].endswith("\x1b[0m 19%,")

    def test_a_painted_line_continues_under_its_own_indent(self, monkeypatch):
        """A line painted from its first character (the dim 'why:') continues under its indent, as
        the plain line does: the colour code at the start does not hide the indent."""
        from ddx import terminal as terminal_module
        from ddx.render import paint

        monkeypatch.setenv("COLUMNS", "61")
        monkeypatch.setattr(terminal_module, "isatty", lambda stream: True)
        plain = "  why: separates Intradural extramedullary from Extradural (widened in 60% vs 4%)"
        wrapped = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in terminal_module.fit(paint(plain, "dim", True), False).splitlines()]
        assert wrapped == terminal_module.fit(plain, False).splitlines()
        assert wrapped[1].startswith("      ") and not wrapped[1].startswith("       ")

    def test_typed_answers_join_a_dialogue_sent_to_a_pipe(self, kb, monkeypatch):
        """ddx guide | tee log at a terminal: the log reads as the session, each answer after its prompt."""
        from ddx import terminal as terminal_module

        monkeypatch.setattr(terminal_module, "isatty", lambda stream: stream is sys.stdin)
        monkeypatch.setattr(terminal_module, "to_a_file", lambda stream: False)
        first = answers_for(kb, IDEM, 1)[0]
        result = CliRunner().invoke(cli, ["guide", "--no-color", "--max-questions", "1"], input=f"{first}\n")
        assert re.search(rf"^\[\w+\] .*\? {first}$", result.stdout, re.M), result.stdout

    def test_a_closed_stderr_leaves_the_json_record_and_the_exit_code(self, tmp_path):
        import os
        import subprocess

        out = tmp_path / "record.json"
        read, write = os.pipe()
        os.close(read)  # the questions go to a reader that has left, as with 2>&1 >file | head -1
        try:
            with out.open("w") as sink:
                proc = subprocess.run([sys.executable, "-m", "ddx", "guide", "--format", "json", "--max-questions", "2"],
                                      input="skip\nskip\n", stdout=sink, stderr=write, text=True, timeout=60)
        finally:
            os.close(write)
        assert proc.returncode == 0
        assert json.loads(out.read_text())["guide"]["stopped"]

    def test_a_usage_error_to_a_closed_stderr_still_exits_2(self):
        import os
        import subprocess

        read, write = os.pipe()
        os.close(read)
        try:
            proc = subprocess.run([sys.executable, "-m", "ddx", "quiz", "--rounds", "0"], stderr=write, timeout=60)
        finally:
            os.close(write)
        assert proc.returncode == 2


def test_a_second_syndrome_flag_is_shown_when_it_is_raised(kb):
    """Rule flags name no entity: each rule's flag is news of its own, not the same flag again."""
    start = parse_findings({"cord": "displaced", "csf": "widened", "foraminal_extension": "yes", "age": "20"}, kb)
    out = []

    def ask(text):
        return "nf1" if text.startswith("[syndrome]") else ""

    result = run_guide(kb, ask, out.append, findings=start, max_questions=3)
    said = "\n".join(out)
    assert "think neurofibromatosis" in said
    nf1 = next(f for f in result.assessment.flags if f.kind == "syndrome")
    assert "in NF1" in nf1.message
    assert nf1.message in said


@pytest.mark.parametrize("start, picture", [
    ({}, {"csf": "tapered", "cord": "compressed"}),
    ({"known_primary": "yes"}, {"csf": "tapered", "cord": "compressed"}),
    ({"cord": "compressed"}, {"csf": "tapered"}),
])
def test_every_dont_miss_entity_plausible_during_the_read_is_named_while_it_goes_on(kb, start, picture):
    """A don't-miss entity the priors alone flag is still news: whichever step first shows it
    above the floor names it, so a metastasis at 38% is not left for the final table while a
    haematoma at 4.5% is named."""
    from ddx.engine import assess

    ask, _ = oracle(kb, picture)
    out = []
    result = run_guide(kb, ask, out.append, findings=parse_findings(start, kb), max_questions=3)
    said = "\n".join(out)
    known = parse_findings(start, kb)
    for step in (s for s in result.steps if s.value is not None):
        known = known.with_value(step.feature, step.value)
        for f in assess(known, kb, suggest=0).flags:
            if f.kind == "dont_miss":
                name = result.assessment.candidate(f.entity).name.split(" (")[0]
                assert f"!! DON'T MISS  {name}" in said, (f.entity, said)


class TestCordCompression:
    def test_an_extradural_read_asks_the_cord_so_it_can_raise_the_emergency(self, kb):
        """The emergency flag is raised by a compressed cord alone. A read that settles an
        extradural lesion on the CSF (a tapered sac in a patient with cancer) used to go on to
        the differential and never ask the cord, so a guided read of metastatic cord
        compression ended without the emergency."""
        picture = {"csf": "tapered", "cord": "compressed"}
        ask, asked = oracle(kb, picture)
        out = []
        known = parse_findings({"known_primary": "yes", "age": "70"}, kb)
        result = run_guide(kb, ask, out.append, findings=known)
        assert asked[:2] == ["csf", "cord"]
        assert any(f.kind == "emergency" for f in result.assessment.flags)
        assert "!! EMERGENCY" in "\n".join(out)

    def test_every_finding_an_emergency_rule_reads_is_asked_once_the_compartment_is_settled(self, curated):
        """Which findings are asked for their emergency comes from flags.toml, not from the code: a
        curator's emergency rule on another finding is asked too, after the cord, with its why."""
        kb = curated("flags.toml", '\n[[rule]]\nid = "epidural_bleed"\nkind = "emergency"\n'
                     'when = [{ feature = "hemorrhage", is = "yes" }]\n'
                     'message = "Bleeding: an emergency."\naction = "Check clotting."\n')
        ask, asked = oracle(kb, {"csf": "tapered", "cord": "normal", "hemorrhage": "yes"})
        out = []
        known = parse_findings({"known_primary": "yes", "age": "70"}, kb)
        result = run_guide(kb, ask, out.append, findings=known)
        assert asked[:3] == ["csf", "cord", "hemorrhage"]
        assert "it can raise the emergency flag (epidural bleed)" in "\n".join(out)
        assert [f.message for f in result.assessment.flags if f.kind == "emergency"] == ["Bleeding: an emergency."]
