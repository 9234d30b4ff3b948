"""A guided read of one case: one question at a time, the most informative first.

The read first places the lesion (which compartment), then names it (which
entity), as the seeds teach: each question is the finding with the largest
expected information gain (questions.rank, target "auto"). No click here:
the dialogue goes through two callables, ``ask(prompt) -> line or None`` (None
is end of input) and ``say(text)``, so a test or a script drives it with a
list of answers and cli.py wires it to the terminal.
"""

from __future__ import annotations

from typing import Any

import attrs

from .assessment import Assessment, NextFinding, percent, standing
from .errors import FindingError
from .findings import NOT_ASSESSED_HINT, Findings, format_value, parse_value
from .knowledge import COMPARTMENT_NAMES, Feature, Knowledge
from .render import flag_text, paint
from .terminal import HELP, STOP, Ask, Say

#: What a refused placeholder ('-', 'null') is told here, where a cell's "write unknown" is a keypress.
PASS_HINT = "; if it was not assessed, press Enter or type skip"

INTRO = (
    "Guided read: one question at a time, the most informative first.\n"
    "Type a value; Enter or 'skip' passes, 'help' or '?' explains, 'q' stops."
)

@attrs.frozen
class Step:
    """One question of the read and what came of it (value None: skipped, or the reader
    stopped there; answer None too: the input ended before an answer)."""

    feature: str
    gain: float
    answer: str | None
    value: Any = None


@attrs.frozen
class GuideResult:
    """Where the read ended: the findings gathered, each step, why it stopped, the assessment."""

    findings: Findings
    steps: tuple[Step, ...]
    stopped: str
    assessment: Assessment

    @property
    def asked(self) -> tuple[str, ...]:
        return tuple(s.feature for s in self.steps)


def hint(feature: Feature) -> str:
    """The allowed answers in brief, or "" when the question already names them all."""
    if feature.kind == "yesno":
        return "yes/no"
    if feature.kind == "integer":
        return feature.range_text
    question = feature.question.lower()
    if all(v.replace("_", " ") in question or v in question for v in feature.values):
        return ""
    more = ", several with ';'" if feature.kind == "list" else ""
    return "/".join(feature.values) + more


def prompt(feature: Feature) -> str:
    """The question line: its column in brackets, the question, the allowed answers if not named."""
    allowed = hint(feature)
    return f"[{feature.id}] {feature.question}" + (f" ({allowed})" if allowed else "") + " "


def explain(feature: Feature) -> str:
    """The 'help' answer, said once: each value with its meaning where the schema gives
    meanings (the one-line help would repeat them, and not all of them), else the
    one-line help."""
    if feature.meaning:
        head = "one or more of, separated by ';'" if feature.kind == "list" else "one of"
        lines = [f"  {feature.id}, {head}:"]
        lines += [f"    {v}: {feature.meaning[v]}" if v in feature.meaning else f"    {v}" for v in feature.values]
    else:
        lines = [f"  {feature.id}: {feature.help}"]
    lines.append("  Enter or 'skip' if it was not assessed; 'q' stops.")
    return "\n".join(lines)


def summary(a: Assessment, *, top: int = 3, color: bool = False) -> str:
    """The running picture in one line: compartment and the leading candidates, don't-miss
    ones tagged "[don't miss]" (and red on a terminal)."""
    from .names import short_name
    from .render import DONT_MISS_TAG

    leaders = ", ".join(
        (paint(f"{short_name(c.name)} {DONT_MISS_TAG}", "red", color) if c.dont_miss else short_name(c.name)) + f" {percent(c.probability)}"
        for c in a.candidates[:top]
    )
    return f"  -> {COMPARTMENT_NAMES[a.compartment]} {percent(a.compartment_probability)} | {leaders}"


def flag_lines(a: Assessment, seen: set[tuple[str, str]], color: bool) -> list[str]:
    """Flags newly raised (each shown once, in one short line, red on a terminal); the final table has them in full.
    A don't-miss flag is the same flag while its entity is (its message carries the probability);
    a rule's flag names no entity, so each rule's message is a flag of its own (two syndromes).
    Findings that disagree are said as soon as the answer that makes them disagree is given
    (again when a later answer changes what disagrees), in yellow."""
    lines = []
    for c in a.conflicts:
        if ("conflict", c) not in seen:
            seen.add(("conflict", c))
            lines.append(f"  {paint(c, 'yellow', color)}")
    for f in a.flags:
        key = (f.kind, f.entity if f.entity is not None else f.message)
        if key in seen:
            continue
        seen.add(key)
        style = "red" if f.urgent else "yellow"
        label = paint("!! " + f.label, style, color)
        if f.entity is not None:
            p = f.probability or 0.0
            text = f"{_candidate_name(a, f.entity)}, {standing(p)} ({percent(p)})"
        else:
            text = flag_text(f)
        lines.append(f"  {label}  {text}")
    return lines


def _candidate_name(a: Assessment, entity: str) -> str:
    """The short name of an entity among the assessment's candidates."""
    from .names import short_name

    return short_name(a.candidate(entity).name)


def run_guide(
    kb: Knowledge,
    ask: Ask,
    say: Say,
    *,
    findings: Findings | None = None,
    max_questions: int | None = None,
    color: bool = False,
    target: str = "auto",
) -> GuideResult:
    """Ask, one at a time, the findings that would best settle the read; return where it ended.

    Starts from ``findings`` (what is already known is never asked), asks
    each finding at most once, re-asks a question whose answer cannot be read
    (with the allowed values), and stops on 'q', at end of input, after
    ``max_questions`` questions, or when no finding left would change the
    picture.
    """
    from .engine import assess
    from .questions import rank

    findings = findings or Findings()
    steps: list[Step] = []
    asked: set[str] = set()
    seen_flags: set[tuple[str, str]] = set()
    say(INTRO)
    # a flag the priors alone raise is shown with the first picture that still raises it:
    # a don't-miss entity that stays plausible is named once while the read goes on
    current = assess(findings, kb, suggest=0)
    if findings.values:
        say(summary(current, color=color))
        for line in flag_lines(current, seen_flags, color):
            say(line)
    stopped = "no finding left would change the picture much"
    while True:
        if max_questions is not None and len(steps) >= max_questions:
            stopped = f"asked {max_questions} question(s) (--max-questions)"
            break
        urgent = _emergency_question(kb, findings, asked, current, target)
        ranked = [urgent] if urgent is not None else rank(kb, findings, target=target, exclude=asked)
        if not ranked:
            skipped = sum(s.value is None for s in steps)
            if skipped and rank(kb, findings, target=target):
                stopped = (f"every question that would change the picture was asked, and {skipped} "
                           f"{'was' if skipped == 1 else 'were'} skipped: the next best findings say which would still help")
            break
        nxt: NextFinding = ranked[0]
        feature = kb.features[nxt.feature]
        asked.add(feature.id)
        say("")
        say(paint(f"  why: {nxt.why.split(': ', 1)[-1]}", "dim", color))
        outcome = _ask_one(feature, ask, say)
        if outcome is None:
            stopped = "end of input"
            steps.append(Step(feature.id, nxt.gain, None))
            break
        text, value = outcome
        if text.strip().lower() in STOP:
            stopped = "stopped by the reader"
            steps.append(Step(feature.id, nxt.gain, text))
            break
        steps.append(Step(feature.id, nxt.gain, text, value))
        if value is None:
            say("  (skipped)")
            continue
        findings = findings.with_value(feature.id, value)
        current = assess(findings, kb, suggest=0)
        say(summary(current, color=color))
        for line in flag_lines(current, seen_flags, color):
            say(line)
    final = assess(findings, kb)
    return GuideResult(findings=findings, steps=tuple(steps), stopped=stopped, assessment=final)


def _emergency_question(kb: Knowledge, findings: Findings, asked: set[str], current: Assessment, target: str) -> NextFinding | None:
    """A finding that can raise an emergency flag (flags.toml, kind "emergency") and is not yet
    read, asked next once the compartment is settled (as questions.rank places it): from there the
    information gain goes on to the differential and could leave it unasked (a sac tapered from
    outside settles the compartment, and the cord, whose compression is the emergency, then adds
    little to the differential)."""
    from .questions import COMPARTMENT_SETTLED, rank

    if current.compartment_probability < COMPARTMENT_SETTLED:
        return None
    for rule in kb.rules:
        if rule.kind != "emergency":
            continue
        for condition in rule.when + rule.any:
            fid = condition.feature
            if fid in asked or findings.get(fid) is not None:
                continue
            others = set(kb.features) - {fid}
            gain = next((n.gain for n in rank(kb, findings, target=target, exclude=others, min_gain=0.0)), 0.0)
            name = rule.id.replace("_", " ")
            return NextFinding(fid, gain, f"{fid}: it can raise the emergency flag ({name}), so it is asked before naming the lesion")
    return None


def _ask_one(feature: Feature, ask: Ask, say: Say) -> tuple[str, Any] | None:
    """Ask one question until its answer can be read; None at end of input."""
    while True:
        line = ask(prompt(feature))
        if line is None:
            return None
        text = line.strip()
        if text.lower() in STOP:
            return text, None
        if text.lower() in HELP:
            say(explain(feature))
            continue
        try:
            return text, parse_value(feature, text)
        except FindingError as exc:
            problem = exc.message.split(": ", 1)[-1]
            say(f"  {problem.replace(NOT_ASSESSED_HINT, PASS_HINT)}")


def status(step: Step) -> str:
    """How a question ended: ``answered``, ``skipped``, ``stopped`` (the reader ended the read
    there) or ``end_of_input`` (the input ended before it was answered), which a null answer
    alone does not tell apart."""
    if step.answer is None:
        return "end_of_input"
    if step.value is None and step.answer.strip().lower() in STOP:
        return "stopped"
    return "skipped" if step.value is None else "answered"


def transcript(result: GuideResult) -> list[dict[str, Any]]:
    """The questions and answers of a read, for the JSON record."""
    return [
        {
            "feature": s.feature,
            "answer": None if s.value is None else format_value(s.value),
            "status": status(s),
            "gain": round(s.gain, 4),
        }
        for s in result.steps
    ]
