"""Commit-first practice on real published cases shipped with the package.

The trainee sees the findings of a real case, commits a compartment, then a
top-3 differential, and only then sees the answer, the source, ddx's own
differential and what in the case points to the answer (and away from it).
No click here: the dialogue goes through ``ask(prompt) -> line or None`` and
``say(text)``, as in guide.py.
"""

from __future__ import annotations

import csv
import io
import random
import re
from importlib import resources
from typing import Any, Callable

import attrs

from .assessment import Assessment, percent, reason_text, times
from .errors import DdxError, FindingError
from .findings import Findings, format_value, parse_findings, quoted
from .knowledge import COMPARTMENT_NAMES, COMPARTMENTS, Knowledge
from .names import short_name
from .knowledge.records import AMBIGUOUS_COMPARTMENTS, COMPARTMENT_SHORTHANDS, COMPARTMENT_SYNONYMS
from .render import paint
from .terminal import HELP, STOP, Ask, Say
from .spelling import closest

META = ("case_id", "source_url", "diagnosis", "compartment", "evidence")


TOP = 3

class QuizError(DdxError):
    """The quiz cannot start: an unknown case id or a broken case file."""


class AnswerError(ValueError):
    """An answer that cannot be read; the message says what would be."""


#: Why a round's answers stopped short (QuizResult.ended): the input ran out, or the trainee typed 'q'.
END_OF_INPUT = "end of input"
STOPPED = "you stopped"


class Ended(Exception):
    """No more answers this round: ``reason`` is END_OF_INPUT or STOPPED; ``picks`` the
    diagnoses already read when it came, each at the place the trainee gave it (None for a
    pick not read): they are scored at those places."""

    def __init__(self, reason: str, picks: tuple[str | None, ...] = ()):
        super().__init__(reason)
        self.reason = reason
        self.picks = picks


@attrs.frozen
class Deal:
    """How draw() dealt a case: the seed, its round, the rounds dealt and the rounds asked for."""

    seed: int | None
    round: int
    rounds: int
    asked: int

    @property
    def capped(self) -> bool:
        return self.asked > self.rounds


@attrs.frozen
class QuizCase:
    """One real case: its findings, and the answer kept back until the trainee commits."""

    case_id: str
    source_url: str
    diagnosis: str
    compartment: str
    findings: Findings
    evidence: str = ""
    deal: Deal | None = attrs.field(default=None, eq=False)


@attrs.frozen
class Score:
    """How the read went: compartment right or wrong, where the diagnosis was in the top 3.
    ``told``: the case gave no finding that places it, so its compartment was told rather than
    asked, and only the diagnosis scores."""

    compartment_right: bool | None
    rank: int | None  # 1-based place of the true diagnosis in the trainee's list, None if absent
    ddx_rank: int  # its place in ddx's differential
    told: bool = False

    @property
    def points(self) -> int:
        return (0 if self.told else int(bool(self.compartment_right))) + int(self.rank is not None)

    @property
    def possible(self) -> int:
        return 1 if self.told else 2


@attrs.frozen
class QuizResult:
    """One round: the trainee's answers, their score, ddx's assessment, and ``ended``: why the
    answers stopped short (END_OF_INPUT or STOPPED), None when both were given. ``picks`` are
    in the trainee's order; when the round ended while a pick was asked again, that pick's
    place is None (so the picks after it keep their numbers)."""

    case: QuizCase
    compartment: str | None
    picks: tuple[str | None, ...]
    score: Score
    assessment: Assessment
    ended: str | None = None


def load_cases(kb: Knowledge, text: str | None = None) -> tuple[QuizCase, ...]:
    """The packaged quiz cases (or those in ``text``), each parsed against the schema."""
    if text is None:
        text = resources.files("ddx.cases").joinpath("quiz.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    cases = []
    for number, row in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), 1):
        where = f"quiz case {row.get('case_id') or number}"
        cells = {k: v for k, v in row.items() if k not in META}
        try:
            findings = parse_findings(cells, kb)
        except FindingError as exc:
            raise QuizError(f"{where}: {exc.message}") from None
        if row.get("compartment") not in COMPARTMENTS:
            raise QuizError(f"{where}: compartment {row.get('compartment')!r} is not one of {', '.join(COMPARTMENTS)}")
        if row.get("diagnosis") not in kb.entity_ids:
            raise QuizError(f"{where}: diagnosis {row.get('diagnosis')!r} is not an entity of the knowledge base")
        cases.append(
            QuizCase(
                case_id=row["case_id"],
                source_url=row.get("source_url", ""),
                diagnosis=row["diagnosis"],
                compartment=row["compartment"],
                findings=attrs.evolve(findings, case_id=row["case_id"]),
                evidence=row.get("evidence", "") or "",
            )
        )
    return tuple(cases)


def choose(cases: tuple[QuizCase, ...], *, case_id: str | None = None, seed: int | None = None) -> QuizCase:
    """The case named by ``case_id``, else the one ``seed`` picks (the same seed, the same case)."""
    if case_id is not None:
        wanted = case_id.strip().upper()
        for case in cases:
            if case.case_id.upper() == wanted:
                return case
        ids = [c.case_id for c in cases]
        guess = closest(wanted, ids)
        message = f"no quiz case {quoted(case_id)}"
        if guess:
            message += f"; did you mean {guess!r}?"
        raise QuizError(message + f" (cases: {', '.join(ids)})")
    return draw(cases, seed=seed, rounds=1)[0]


def draw(cases: tuple[QuizCase, ...], *, seed: int | None, rounds: int) -> tuple[QuizCase, ...]:
    """``rounds`` different cases (at most every case) in the order ``seed`` shuffles them
    (round 1 is choose(seed)), each with its Deal."""
    order = random.Random(seed).sample(range(len(cases)), len(cases))[: max(1, rounds)]
    return tuple(attrs.evolve(cases[i], deal=Deal(seed, n, len(order), max(1, rounds))) for n, i in enumerate(order, 1))


def title(case: QuizCase, label: str = "") -> str:
    """The heading of a case: for a dealt case its round and what replays it, else ``label``.

    ``--seed N`` replays round 1 only; a later round is replayed by its id
    (``--case``), which the reveal shows: before it, the id would give the
    compartment away.
    """
    deal = case.deal
    if deal is None:
        return f"Quiz case{label}"
    head = "Quiz case" + (f" {deal.round} of {deal.rounds}" if deal.rounds > 1 else "")
    if deal.round > 1:
        return head + " (replay it alone with --case and the id shown with the answer)"
    if deal.seed is None:
        return head
    series = f", the whole series with --seed {deal.seed} --rounds {deal.rounds}" if deal.rounds > 1 else ""
    return head + f" (seed {deal.seed}; replay with --seed {deal.seed}{series})"


def cap_notice(case: QuizCase) -> str | None:
    """What to say when more rounds were asked for than there are cases (on round 1), else None."""
    deal = case.deal
    if deal is None or deal.round != 1 or not deal.capped:
        return None
    return f"{deal.asked} rounds asked for, but ddx ships {deal.rounds} cases: playing {deal.rounds} rounds, each case once."


def _squash(text: str) -> str:
    """A compartment answer with case, spaces and punctuation gone: 'Intra-dural extramedullary'
    and 'intradural_extramedullary' are one answer."""
    return re.sub(r"[\W_]+", "", text.lower())


def _compartment_answers() -> dict[str, tuple[str, str]]:
    """Every accepted answer, squashed, with its compartment and how to write it: the
    shorthands, the synonyms, the ids and the names."""
    written = [*COMPARTMENT_SHORTHANDS.items(), *COMPARTMENT_SYNONYMS.items(), *((c, c) for c in COMPARTMENTS)]
    written += [(name.lower(), c) for c, name in COMPARTMENT_NAMES.items()]
    return {_squash(text): (c, text) for text, c in written}


def _either_compartment(word: str) -> str:
    """'intramedullary (im) or intradural extramedullary (idem)': what ``word`` alone could mean."""
    short = {c: k for k, c in COMPARTMENT_SHORTHANDS.items()}
    return " or ".join(f"{COMPARTMENT_NAMES[c].lower()} ({short[c]})" for c in AMBIGUOUS_COMPARTMENTS[word])


def parse_compartment(text: str) -> str:
    """A compartment id from an id, a name, a shorthand (im, idem, ed), 'epidural' or 'subdural', hyphens
    and spaces as the reader likes; 'intradural' or 'extramedullary' alone is refused with the two
    compartments it could mean, and a typo gets a suggestion."""
    key = _squash(text)
    if not key:
        raise AnswerError("give a compartment: im, idem or ed")
    accepted = _compartment_answers()
    if key in accepted:
        return accepted[key][0]
    if key in AMBIGUOUS_COMPARTMENTS:
        raise AnswerError(f"{quoted(text.strip())} is not one compartment: it could be {_either_compartment(key)}")
    guess = closest(key, [*accepted, *AMBIGUOUS_COMPARTMENTS])
    message = f"{quoted(text.strip())} is not a compartment"
    if guess in AMBIGUOUS_COMPARTMENTS:
        raise AnswerError(f"{message}; {guess} alone could be {_either_compartment(guess)}")
    if guess:
        message += f"; did you mean {accepted[guess][1]!r}?"
    raise AnswerError(message + " (im = intramedullary, idem = intradural extramedullary, ed = extradural)")


@attrs.frozen
class Pick:
    """One name of the trainee's list: what was typed, and the entity read from it or why none was."""

    text: str
    entity: str | None = None
    problem: str | None = None
    note: str | None = None
    # the one diagnosis a misspelt pick most likely meant, taken on a 'y'
    suggestion: str | None = None


def read_pick(text: str, kb: Knowledge, compartment: str | None = None) -> Pick:
    """One name read as `ddx explain` reads it (names.find_entity: id, name, alias or
    abbreviation, British spelling), kept with its problem when it names no one diagnosis.
    A name that fits several ('mets') is read as the one of them in the ``compartment`` the
    trainee committed to (or was told), when there is exactly one, and so is a name of one
    entity that is also the family name of one in that compartment ('ependymoma' with the
    intradural extramedullary compartment: the myxopapillary one); words that each name a
    different diagnosis ('meningioma schwannoma') are picks to separate with commas."""
    from .names import UnknownEntityError, find_entity

    def in_compartment(entity: str) -> Pick:
        where = COMPARTMENT_NAMES[compartment].lower()
        return Pick(text.strip(), entity, note=f"{quoted(text.strip())} read as {entity}, the one in the {where} compartment")

    try:
        found = find_entity(kb, text)
    except UnknownEntityError as exc:
        inside = _inside(kb, exc, compartment)
        if inside is not None:
            return in_compartment(inside)
        apart = _word_by_word(text, kb, compartment)
        if apart:
            return Pick(text.strip(), problem=f"{quoted(text.strip())} names {len(apart)} diagnoses: separate picks with commas ({', '.join(apart)})")
        suggestion = exc.guess if len(exc.candidates) == 1 and not (exc.ambiguous or exc.generic or exc.what) else None
        return Pick(text.strip(), problem=exc.message("a diagnosis"), suggestion=suggestion)
    twin = _namesake(kb, text, compartment) if compartment is not None and found.compartment != compartment else None
    return in_compartment(twin) if twin is not None else Pick(text.strip(), found.id)


def _namesake(kb: Knowledge, text: str, compartment: str) -> str | None:
    """The one entity in ``compartment`` whose name holds ``text`` as whole words (its family
    name: 'ependymoma' in 'Myxopapillary ependymoma'), or None."""
    from .knowledge.records import name_key

    key = f" {name_key(text)} "
    inside = [e.id for e in kb.entities if e.compartment == compartment and key in f" {name_key(e.name)} "]
    return inside[0] if len(inside) == 1 else None


def _inside(kb: Knowledge, exc: Any, compartment: str | None) -> str | None:
    """The one entity in ``compartment`` among those a name that fits several could mean
    (exc: names.UnknownEntityError), or None."""
    inside = [c for c in exc.candidates if exc.ambiguous and not exc.generic and kb.entity(c).compartment == compartment]
    return inside[0] if len(inside) == 1 else None


def _word_by_word(text: str, kb: Knowledge, compartment: str | None = None) -> tuple[str, ...]:
    """The diagnoses the words of ``text`` name one by one, each read as a pick of its own
    would be ('mets' as the one in ``compartment``), when there are 2 to TOP of them and each
    names a different one; else ()."""
    from .names import UnknownEntityError, find_entity

    words = text.split()
    if not 2 <= len(words) <= TOP:
        return ()
    named = []
    for w in words:
        try:
            named.append(find_entity(kb, w).id)
        except UnknownEntityError as exc:
            inside = _inside(kb, exc, compartment)
            if inside is None:
                return ()
            named.append(inside)
    return tuple(named) if len(set(named)) == len(named) else ()


def _once(picks) -> tuple[Pick, ...]:
    """The picks, an entity named a second time turned into a problem (it cannot score twice)."""
    seen: set[str] = set()
    out = []
    for p in picks:
        if p.entity in seen:
            p = Pick(p.text, problem=f"{p.entity} is named twice")
        elif p.entity is not None:
            seen.add(p.entity)
        out.append(p)
    return tuple(out)


def split_names(text: str) -> list[str]:
    """A line of picks cut at its commas and semicolons, but not at those inside parentheses,
    so that a name such as 'Demyelination / myelitis (MS, NMOSD, ...)' stays whole (with a
    parenthesis left open, at every one)."""
    parts, start, depth = [], 0, 0
    for i, char in enumerate(text):
        depth = max(0, depth + {"(": 1, ")": -1}.get(char, 0))
        if char in ",;" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts if depth == 0 else text.replace(";", ",").split(",")


def read_picks(text: str, kb: Knowledge, top: int = TOP, compartment: str | None = None) -> tuple[Pick, ...]:
    """Each name of a comma-separated line (split_names) read on its own, best first, so that
    one name that cannot be read does not lose the others; a line that is no list of 1 to
    ``top`` names raises AnswerError."""
    parts = [p for p in split_names(text) if p.strip()]
    if not parts:
        raise AnswerError(f"name 1 to {top} diagnoses, best first, separated by commas")
    if len(parts) > top:
        raise AnswerError(f"name at most {top} diagnoses (you gave {len(parts)})")
    return _once(read_pick(part, kb, compartment) for part in parts)


def score(case: QuizCase, compartment: str | None, picks: tuple[str | None, ...], a: Assessment, *, told: bool = False) -> Score:
    ids = [c.id for c in a.candidates]
    return Score(
        compartment_right=None if compartment is None else compartment == case.compartment,
        rank=picks.index(case.diagnosis) + 1 if case.diagnosis in picks else None,
        ddx_rank=ids.index(case.diagnosis) + 1,
        told=told,
    )


def places(kb: Knowledge, findings: Findings) -> bool:
    """Whether the case gives a finding read off the images that points to a compartment (a cord
    or CSF sign, a mass through a foramen, a bone pattern...), as the conflicts read one: without
    one the compartment is a guess, so it is told."""
    from .engine import compartment_pointers

    return bool(compartment_pointers(kb, findings)[0])


def findings_lines(kb: Knowledge, findings: Findings) -> list[str]:
    """The case as a reader would be told it: one finding a line, in schema order."""
    known = findings.as_dict()
    width = max((len(f) for f in known), default=0)
    return [f"  {fid:<{width}}  {format_value(known[fid])}" for fid in kb.features if fid in known]


COMPARTMENT_QUESTION = "Compartment? (im = intramedullary, idem = intradural extramedullary, ed = extradural) "
COMPARTMENT_HELP = """\
  Where does the lesion live?
    im    intramedullary: inside the cord; it expands the cord
    idem  intradural extramedullary: inside the dural sac but outside the cord; it pushes the cord aside
    ed    extradural: outside the dural sac, in the bone or the epidural space; it pushes the sac in
  The names work too (intra-dural extramedullary, extradural, ...). 'q' stops and shows the answer."""
PICKS_QUESTION = f"Your top {TOP}, best first, comma-separated (e.g. {{examples}}) "
PICKS_HELP = f"""\
  Name 1 to {TOP} diagnoses, best first, separated by commas: ids as `ddx entities` lists them,
  names, aliases or abbreviations (MPNST, SFT, drop mets), in British or American spelling.
  A name that fits several diagnoses is read as the one in the compartment you chose (or were
  told), if only one is; one that still cannot be read is asked for again on its own, with what
  it could mean, and the others are kept. 'q' stops and shows the answer."""


def _line(ask: Ask, say: Say, question: str, help_text: str) -> str:
    """One answer line: 'help' (or '?') says ``help_text`` and asks again; raises Ended at
    end of input or on 'q'."""
    while True:
        line = ask(question)
        if line is None:
            raise Ended(END_OF_INPUT)
        word = line.strip().lower()
        if word in STOP:
            raise Ended(STOPPED)
        if word not in HELP:
            return line
        say(help_text)


def _ask(ask: Ask, say: Say, question: str, parse: Callable[[str], Any], help_text: str) -> Any:
    """Ask until the answer can be read (see _line for help, 'q' and end of input)."""
    while True:
        line = _line(ask, say, question, help_text)
        try:
            return parse(line)
        except AnswerError as exc:
            say(f"  {exc}; try again")


def _names_a_compartment(text: str) -> bool:
    """Whether ``text`` is an answer to the compartment question ('ed', 'extradural')."""
    try:
        parse_compartment(text)
    except AnswerError:
        return False
    return True


def _examples(kb: Knowledge, compartment: str) -> list[str]:
    """The ids of the compartment's TOP most likely entities before any finding: how a pick is
    written, shown among the diagnoses of the compartment the trainee chose."""
    ranked = sorted((p, e.id) for e, p in zip(kb.entities, kb.prior) if e.compartment == compartment)
    return [i for _, i in reversed(ranked)][:TOP]


def _ask_picks(kb: Knowledge, ask: Ask, say: Say, compartment: str, *, told: bool = False) -> tuple[str, ...]:
    """Ask for the top 3 until every pick names one diagnosis. A pick that does not is asked
    for again on its own, the others kept; an answer with a comma replaces the whole list
    and an empty one drops the pick. When the compartment was ``told``, an answer that only
    names a compartment (a script's line for the question not asked) is passed over, and the
    top 3 asked again. Raises Ended as _line does, with the picks already read."""
    question = PICKS_QUESTION.format(examples=", ".join(_examples(kb, compartment)))

    def first(text: str) -> tuple[Pick, ...]:
        if told and _names_a_compartment(text):
            raise AnswerError(f"the compartment is given for this case ({COMPARTMENT_NAMES[compartment].lower()}): "
                              f"name your top {TOP} diagnoses")
        return read_picks(text, kb, compartment=compartment)

    picks = _ask(ask, say, question, first, PICKS_HELP)
    noted: set[str] = set()
    while True:
        for p in picks:
            if p.note and p.note not in noted:
                say(f"  {p.note}")
                noted.add(p.note)
        bad = [n for n, p in enumerate(picks) if p.entity is None]
        if not bad:
            return tuple(p.entity for p in picks if p.entity is not None)
        for n in bad:
            say(f"  pick {n + 1}: {picks[n].problem}")
        kept = [f"#{n + 1} {p.entity}" for n, p in enumerate(picks) if p.entity is not None]
        if kept:
            say(f"  kept: {', '.join(kept)}")
        n = bad[0]
        take = f"y takes {picks[n].suggestion}; " if picks[n].suggestion else ""
        drop = "Enter drops it; " if len(picks) > 1 else ""
        question = (f"Your top {TOP}: pick {n + 1} instead of {quoted(picks[n].text)}? "
                    f"({take}{drop}a list with commas replaces all) ")
        try:
            line = _line(ask, say, question, PICKS_HELP)
        except Ended as exc:
            raise Ended(exc.reason, _placed(picks)) from None
        if picks[n].suggestion and line.strip().lower() in ("y", "yes"):  # read as if typed: in the compartment
            picks = _once((*picks[:n], read_pick(picks[n].suggestion, kb, compartment), *picks[n + 1 :]))
        elif len(split_names(line)) > 1:
            try:
                picks = read_picks(line, kb, compartment=compartment)
            except AnswerError as exc:
                say(f"  {exc}; try again")
        elif line.strip():
            picks = _once((*picks[:n], read_pick(line, kb, compartment), *picks[n + 1 :]))
        elif len(picks) > 1:
            picks = _once((*picks[:n], *picks[n + 1 :]))
        else:
            say("  name at least one diagnosis; try again")


def _placed(picks: tuple[Pick, ...]) -> tuple[str | None, ...]:
    """The entities read, each at its place in the trainee's list (None for a pick not read),
    up to the last one read."""
    places = [p.entity for p in picks]
    while places and places[-1] is None:
        places.pop()
    return tuple(places)


def run_quiz(kb: Knowledge, case: QuizCase, ask: Ask, say: Say, *, color: bool = False, label: str = "",
             other: tuple[Knowledge, str] | None = None) -> QuizResult:
    """Show the case, take the trainee's compartment and top 3, then reveal and score.

    A case dealt by draw() is headed by title() from its Deal; ``label`` heads any other.
    'q' or the end of input reveals the answer with what was given so far (QuizResult.ended).
    ``other``, a base with the other priors and the option that names them, lets the reveal
    say when those priors would lead with another diagnosis, as `ddx assess` says it.
    """
    from .engine import assess, within_compartment

    notice = cap_notice(case)
    if notice:
        say(notice)
        say("")
    say(
        paint(title(case, label), "bold", color)
        + ": a real published case. Read it, then commit before you see the answer ('help' explains a question, 'q' stops)."
    )
    say("")
    for line in findings_lines(kb, case.findings):
        say(line)
    say("  (findings not listed were not described: unknown, not absent)")
    told = not places(kb, case.findings)
    if told:
        say(f"  The page describes no sign that places it, but names where it lies: "
            f"{COMPARTMENT_NAMES[case.compartment].lower()}. Only your top {TOP} scores.")
    say("")
    compartment: str | None = case.compartment if told else None
    picks: tuple[str | None, ...] = ()
    ended = None
    try:
        if not told:
            compartment = _ask(ask, say, COMPARTMENT_QUESTION, parse_compartment, COMPARTMENT_HELP)
        picks = _ask_picks(kb, ask, say, compartment, told=told)
    except Ended as exc:
        ended, picks = exc.reason, exc.picks
    a = assess(case.findings, kb, suggest=0)
    if told:
        a = within_compartment(kb, a, case.compartment)
    if told and not picks and ended:
        compartment = None  # nothing was answered: no score
    result = QuizResult(case, compartment, picks, score(case, compartment, picks, a, told=told), a, ended)
    notes: tuple[str, ...] = ()
    if other is not None:
        from .render import other_priors_note

        base, option = other
        b = assess(case.findings, base, suggest=0)
        note = other_priors_note(a, within_compartment(base, b, case.compartment) if told else b, option,
                                 kb.settings.reason_min_ratio)
        notes = (note,) if note else ()
    say("")
    for line in reveal(kb, result, color=color, notes=notes):
        say(line)
    return result


def _mark(right: bool, color: bool) -> str:
    return paint("right", "cyan", color) if right else paint("wrong", "yellow", color)


def _picks_text(picks: tuple[str | None, ...]) -> str:
    """'a, b, c', or '#2 b, #3 c' when a pick before them was not read (the numbers scored)."""
    if None not in picks:
        return ", ".join(p for p in picks if p)
    return ", ".join(f"#{n} {p}" for n, p in enumerate(picks, 1) if p)


#: The findings named for what put ddx's first choice ahead of the answer.
AHEAD = 3


def _ahead(kb: Knowledge, a: Assessment, answer: str, color: bool) -> list[str]:
    """When ddx ranked another diagnosis first: what put it ahead of the answer, head to head (the
    reasons above weigh each finding against every alternative, not against the winner)."""
    from .engine import contrast

    leader = a.candidates[0]
    if leader.id == answer:
        return []
    prior, pulls = contrast(kb, a.findings, leader.id, answer)
    mine, theirs = short_name(leader.name), short_name(kb.entity(answer).name)
    lines = ["", paint(f"What put {mine} ahead of {theirs}:", "bold", color)]
    favouring = [(label, r) for label, r in pulls if r >= kb.settings.reason_min_ratio][:AHEAD]
    lines += [f"  + {reason_text(label, r, mine, theirs)}" for label, r in favouring]
    if prior >= kb.settings.reason_min_ratio:
        lines.append(f"  + before any finding, {mine} is {times(prior)}x as likely (the priors)")
    if len(lines) == 2:  # no single pull reaches the threshold: name the largest, which add up
        largest = sorted([("the priors", prior), *pulls], key=lambda p: -p[1])
        named = ", ".join(f"{label} {r:.2f}x" for label, r in largest[:AHEAD] if r > 1)
        lines.append(f"  (no single finding by {kb.settings.reason_min_ratio:g}x or more; it adds up from {named})")
    return lines


def reveal(kb: Knowledge, result: QuizResult, *, color: bool = False, top: int = 5, notes: tuple[str, ...] = ()) -> list[str]:
    """The answer, the source, the trainee's score, ddx's differential (don't-miss entities tagged
    as the guide and `ddx assess` tag them) and what in the case points to the answer."""
    from .render import DONT_MISS_TAG

    case, a, s = result.case, result.assessment, result.score
    truth = kb.entity(case.diagnosis)
    lines = [
        paint("Answer:", "bold", color) + f" {truth.name} [{case.diagnosis}], {COMPARTMENT_NAMES[case.compartment].lower()}",
        f"  case {case.case_id}: {case.source_url}",
        f"  replay it: ddx quiz --case {case.case_id}",
    ]
    if case.evidence:
        lines.append(f"  the page: {case.evidence}")
    lines.append("")
    if result.compartment is None:
        lines.append(paint("You:", "bold", color) + f" no answer given ({result.ended}), so no score.")
    else:
        if s.told:
            lines.append(paint("You:", "bold", color) + " compartment told (the page describes no sign that places it)")
        else:
            lines.append(
                paint("You:", "bold", color)
                + f" compartment {COMPARTMENT_NAMES[result.compartment].lower()}: {_mark(bool(s.compartment_right), color)}"
            )
        if result.picks:
            where = f"your #{s.rank}" if s.rank else "not in your top 3"
            lines.append(f"     top {TOP}: {_picks_text(result.picks)}: {_mark(s.rank is not None, color)} ({where})")
        else:
            lines.append(f"     top {TOP}: none given ({result.ended})")
        if s.told:
            lines.append(f"     score {s.points}/1 (a point for the diagnosis anywhere in your top {TOP})")
        else:
            lines.append(f"     score {s.points}/2 (a point for the compartment, a point for the diagnosis anywhere in your top {TOP})")
    ddx_right = a.compartment == case.compartment
    where = ("compartment told, as to you;" if s.told else
             f"compartment {COMPARTMENT_NAMES[a.compartment].lower()} {percent(a.compartment_probability)} ({_mark(ddx_right, color)});")
    lines.append(
        paint("ddx:", "bold", color)
        + f" {where} {short_name(truth.name)} ranked #{s.ddx_rank} ({percent(a.probability(case.diagnosis))})"
    )
    for i, c in enumerate(a.candidates[:top], 1):
        star = " <- answer" if c.id == case.diagnosis else ""
        name = paint(f"{c.name} {DONT_MISS_TAG}", "red", color) if c.dont_miss else c.name
        lines.append(f"  {i}. {name} {percent(c.probability)}{star}")
    lines += [f"  {note}" for note in notes]
    reasons = a.candidate(case.diagnosis)
    lines += ["", paint(f"What in this case points to {short_name(truth.name)}:", "bold", color)]
    if reasons.reasons_for:
        lines += [f"  + {reason_text(r.label, r.ratio, 'it')}" for r in reasons.reasons_for[:4]]
    else:
        lines.append("  (none of the published findings favours it: this case is atypical for it)")
    if reasons.reasons_against:
        lines.append("  and what pulled away from it:")
        lines += [f"  - {reason_text(r.label, r.ratio, 'it')}" for r in reasons.reasons_against[:2]]
    lines += _ahead(kb, a, case.diagnosis, color)
    flags = [f for f in a.flags if f.urgent]
    if flags:
        lines.append("")
        for f in flags:
            lines.append(f"{paint('!! ' + f.label, 'red', color)}  {f.message}")
    return lines
