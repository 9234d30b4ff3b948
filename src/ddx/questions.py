"""Which unasked finding would best separate the leading candidates.

For every finding not yet given, the expected information gain: the entropy
of the posterior over entities now, minus its expected entropy once the
finding is read. The expectation is over the finding's outcomes under the
current posterior predictive, P(outcome) = sum_e P(e | findings) P(outcome | e),
and each outcome's posterior is the engine's own update (the tables, the
feature weight and the temperature; for a sign of a compartment picture, what
it adds given the signs already known), so what is suggested is what the
engine would do with the answer. One exception: a finding that implies others
(a bone pattern) is asked as which value it is where it can be read, and its
gain is reckoned so; whether the bone is involved at all is asked through the
findings it implies, which can be answered no.

Integer findings are enumerated by their bands; list findings (level,
syndrome) by every combination of their values, each value present or
absent as the tables model it. The per-finding outcome tables are built once
per knowledge base, so a suggestion costs a few thousand multiplications.
"""

from __future__ import annotations

import itertools
import math
from operator import add, mul
from typing import Any, Iterable, Sequence

import attrs

from .assessment import NextFinding
from .engine import (
    evidence, finding_vector, implied_known_no, log_scores, shown_signs, sign_vector, within_change, within_table,
    without_implied,
)
from .findings import Findings
from .knowledge import COMPARTMENT_NAMES, COMPARTMENTS, Feature, Knowledge, per_base
from .names import short_name

#: A finding whose expected gain is below this (in bits) is not worth asking.
MIN_GAIN = 0.05

#: Candidates at least this fraction of the leader's probability count as
#: "leading" when the one-line why names the pair a finding separates.
LEADING_FRACTION = 0.1
LEADING_MAX = 6
#: Two rates closer than this (5 points) do not separate anything worth naming.
MIN_SEPARATION = 0.05

#: ``target="auto"`` asks about the compartment until one compartment has at
#: least this probability, then about the differential.
COMPARTMENT_SETTLED = 0.9
#: ... and while some finding still tells the compartments apart by at least
#: this much (bits); below it, shaving the last doubt about the compartment
#: is worth less than separating the candidates.
COMPARTMENT_MIN_GAIN = 0.1
TARGETS = ("entity", "compartment", "auto")


@attrs.frozen
class Outcome:
    """One possible answer to a finding: its value, P(answer | entity), and the engine's update.

    ``scaled`` is what the engine adds to the scores for this answer, ``factor``
    its exponential: the posterior after this answer is post * factor, renormalised.
    """

    value: Any
    label: str
    probability: tuple[float, ...]
    scaled: tuple[float, ...]
    factor: tuple[float, ...]

    @classmethod
    def build(cls, value: Any, label: str, probability, vector) -> Outcome:
        scaled = tuple(vector)
        return cls(value, label, tuple(probability), scaled, tuple(math.exp(v) for v in scaled))


@attrs.frozen
class Question:
    """A finding as a question: its possible answers and, for the why, its per-value rates."""

    feature: Feature
    outcomes: tuple[Outcome, ...]
    # (label, P(label | entity) per entity) for each value a reader could name;
    # for a list finding each value's presence, for the others the outcomes
    rates: tuple[tuple[str, tuple[float, ...]], ...]
    # indexes of the entities with numbers of their own for the finding: one without takes the
    # rate of those with one, which is no rate of its own to quote. An entity gives every value
    # of a finding or none (kb check), so its first value tells. None: every entity
    own: frozenset[int] | None = None


@per_base
def questions(kb: Knowledge) -> dict[str, Question]:
    """Every finding that carries information, as a Question (cached per knowledge base)."""
    table = {}
    for feature in kb.features.values():
        q = _question(kb, feature)
        if q is not None:
            first = feature.outcomes[0]
            own = frozenset(i for i, e in enumerate(kb.entities) if kb.likelihood(e.id, feature.id, first) is not None)
            table[feature.id] = attrs.evolve(q, own=own)
    return table


def _question(kb: Knowledge, feature: Feature) -> Question | None:
    n = len(kb.entities)
    w = kb.scale(feature.id)  # undone, it gives back P(value | entity)
    if feature.kind == "list":
        present = {}
        for value in feature.outcomes:
            yes, no = kb.log_tables.get((feature.id, value)), kb.log_tables.get((feature.id, value + "!absent"))
            if yes is None or no is None:
                continue
            # P(present | e), renormalised against the absent side
            present[value] = tuple(math.exp(a / w) / (math.exp(a / w) + math.exp(b / w)) for a, b in zip(yes, no))
        if not present:
            return None
        values = tuple(present)
        outcomes = []
        for mask in itertools.product((True, False), repeat=len(values)):
            chosen = tuple(v for v, on in zip(values, mask) if on)
            if not chosen and feature.exclusive is None:
                continue  # a lesion is somewhere: "no level at all" is not an answer
            vector = [0.0] * n
            prob = [1.0] * n
            for v, on in zip(values, mask):
                table = kb.log_tables[(feature.id, v if on else v + "!absent")]
                vector = [x + y for x, y in zip(vector, table)]
                prob = [p * (q if on else 1 - q) for p, q in zip(prob, present[v])]
            label = ";".join(chosen) if chosen else (feature.exclusive or "none")
            outcomes.append((chosen, label, tuple(vector), prob))
        totals = [math.fsum(o[3][e] for o in outcomes) for e in range(n)]
        built = tuple(
            Outcome.build(c, label, [p / total for p, total in zip(prob, totals)], v)
            for c, label, v, prob in outcomes
        )
        return Question(feature, built, tuple(present.items()))
    vectors = [(o, kb.log_tables.get((feature.id, o))) for o in feature.outcomes]
    if any(v is None for _, v in vectors):
        return None
    implied = kb.implied_tables.get((feature.id, ()))
    if implied is None and feature.within is not None:
        implied = within_table(kb, feature, {})
    if implied is not None:
        # asked as which value it is where it can be read (the pattern of a bone lesion, the
        # position of a mass in the cord): whether it can be read at all is asked through the
        # findings it implies, or the picture signs, which can say no
        vectors = [(o, tuple(x - y for x, y in zip(v, implied))) for o, v in vectors]
    raw = [[math.exp(x / w) for x in v] for _, v in vectors]
    totals = [math.fsum(col) for col in zip(*raw)]
    built = []
    for (o, v), r in zip(vectors, raw):
        value = _band_value(o) if feature.kind == "integer" else o
        built.append(Outcome.build(value, o, [p / total for p, total in zip(r, totals)], v))
    return Question(feature, tuple(built), tuple((o.label, o.probability) for o in built))


def question_for(kb: Knowledge, findings: Findings, fid: str, signs: dict[str, Any] | None = None) -> Question:
    """The finding ``fid`` as a question about this case: for a picture sign, given the
    other signs of the picture already known (``signs``: engine.shown_signs of the findings,
    when the caller has them); for a finding a known one implies, with what each answer does to
    the odds that one carries; otherwise as the tables give it."""
    q = questions(kb)[fid]
    if fid not in kb.picture_signs:
        return _as_implied(kb, findings, q)
    if signs is None:
        signs = shown_signs(kb, findings)
    shown = {k: v for k, v in signs.items() if k != fid}
    if not shown and within_change(kb, findings, shown, shown) is None:
        return q
    return attrs.evolve(picture_question(kb, q.feature, shown, findings), own=q.own)


def _as_implied(kb: Knowledge, findings: Findings, q: Question) -> Question:
    """``q`` as the engine reads its answers when a known finding implies this one (features.toml:
    implies): a known bone pattern says one of the vertebral body and the posterior elements is
    involved, so each answer is as likely as it is given that (yes: P(yes) over the odds the
    pattern carries), and a yes takes the pattern's odds of involvement back out while a no
    narrows them (engine.without_implied). Its rates, which the why quotes, are those answers'
    probabilities, as a picture sign's are given the signs known."""
    known = dict(findings.values)
    implying = [(f, v) for f in kb.features.values() if q.feature.id in f.implies and f.id in known
                and (v := finding_vector(kb, f, known[f.id])) is not None]
    if not implying:
        return q
    f, vector = implying[0]  # a finding is implied by one other at most (kb check)
    if any(known.get(x) == "yes" for x in f.implies):
        return q  # the involvement is said already: the answers are as their tables give them
    known_no = implied_known_no(kb, f, known)
    carried = kb.implied_tables.get((f.id, known_no))
    if carried is None or not any(carried):
        return q
    scale = min(kb.scale(x) for x in f.implies)
    odds = [math.exp(c / scale) for c in carried]
    by_value = {o.value: o for o in q.outcomes}
    yes = [min(p / r, 1.0) for p, r in zip(by_value["yes"].probability, odds)]
    probability = {"yes": yes, "no": [1 - y for y in yes]}
    before = without_implied(kb, f, vector, known)
    outcomes = []
    for o in q.outcomes:
        after = without_implied(kb, f, vector, {**known, q.feature.id: o.value})
        scaled = [x + a - b for x, a, b in zip(o.scaled, after, before)]
        outcomes.append(Outcome.build(o.value, o.label, probability[o.value], scaled))
    # the why quotes these rates too: the tables' own (the vertebral body of a schwannoma in 7%)
    # would name a separation the pattern has already taken away
    return attrs.evolve(q, outcomes=tuple(outcomes), rates=tuple((o.label, o.probability) for o in outcomes))


def picture_question(kb: Knowledge, feature: Feature, shown: dict[str, Any], findings: Findings | None = None) -> Question:
    """A picture sign as a question once other signs of the picture, or a finding read within a
    picture (a position in the cord), are known: each answer's probability and update given them
    (the signs of a picture are not independent, and each changes the odds of the picture the
    position is read in)."""
    outcomes = []
    for o in feature.outcomes:
        vector = sign_vector(kb, shown, feature.id, o)
        change = within_change(kb, findings, shown, {**shown, feature.id: o}) if findings is not None else None
        if change is not None:
            vector = tuple(v + c for v, c in zip(vector, change))
        outcomes.append((o, vector, [math.exp(x) for x in vector]))
    totals = [math.fsum(col) for col in zip(*(p for _, _, p in outcomes))]
    built = tuple(Outcome.build(o, o, [p / t for p, t in zip(probs, totals)], v) for o, v, probs in outcomes)
    return Question(feature, built, tuple((o.label, o.probability) for o in built))


def _band_value(label: str) -> int:
    """A number in the band ``label`` names (its low end): "2-3" and "7+" give 2 and 7."""
    return int(label.rstrip("+").split("-", 1)[0])


def scores(kb: Knowledge, findings: Findings) -> list[float]:
    """The engine's unnormalised log posterior."""
    return log_scores(kb, [v for _, _, v in evidence(kb, findings)])


def log_posterior(score: Sequence[float]) -> list[float]:
    """log P(entity | findings) in nats, as the engine normalises it."""
    top = max(score)
    log_total = top + math.log(math.fsum(math.exp(s - top) for s in score))
    return [s - log_total for s in score]


def gain(question: Question, log_post: Sequence[float], groups: Sequence[int] | None = None) -> float:
    """Expected reduction (bits) of the entropy from reading this finding.

    Entropy over entities, or over ``groups`` (entity index -> group index, e.g.
    the compartments) when given. The posterior after an answer is
    post * factor, renormalised, so the entity entropy is
    log Z - sum(m * (log post + scaled)) / Z with m = post * factor: no
    logarithm per entity per answer.
    """
    post = [math.exp(x) for x in log_post]
    if groups is None:
        before = -sum(map(mul, post, log_post))
    else:
        before = _entropy(_grouped(post, groups))
    after = 0.0
    for o in question.outcomes:
        p_outcome = sum(map(mul, post, o.probability))
        if p_outcome <= 0:
            continue
        m = list(map(mul, post, o.factor))
        z = sum(m)
        if groups is None:
            after += p_outcome * (math.log(z) - sum(map(mul, m, map(add, log_post, o.scaled))) / z)
        else:
            after += p_outcome * _entropy([x / z for x in _grouped(m, groups)])
    return (before - after) / math.log(2)


def _grouped(weights: Sequence[float], groups: Sequence[int]) -> list[float]:
    out = [0.0] * (max(groups) + 1)
    for g, w in zip(groups, weights):
        out[g] += w
    return out


def _entropy(p: Iterable[float]) -> float:
    """Entropy in nats."""
    return -sum(x * math.log(x) for x in p if x > 0)


def compartment_groups(kb: Knowledge) -> tuple[int, ...]:
    return tuple(COMPARTMENTS.index(e.compartment) for e in kb.entities)


def rank(
    kb: Knowledge,
    findings: Findings,
    *,
    target: str = "entity",
    exclude: Iterable[str] = (),
    min_gain: float = MIN_GAIN,
    limit: int | None = None,
) -> list[NextFinding]:
    """Every finding not yet given (nor excluded) worth reading, most informative first
    (the first ``limit`` of them when given).

    ``target`` is what the gain is measured on: ``entity`` (the differential),
    ``compartment`` (where the lesion lives), or ``auto`` -- the compartment
    while no compartment reaches COMPARTMENT_SETTLED and a finding can still
    place it (COMPARTMENT_MIN_GAIN), then the differential: the order in which
    the seeds teach a read (place the lesion, then name it).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    log_post = log_posterior(scores(kb, findings))
    post = [math.exp(x) for x in log_post]
    if target == "auto":
        groups = compartment_groups(kb)
        if max(_grouped(post, groups)) < COMPARTMENT_SETTLED:
            ranked = _rank(kb, findings, log_post, post, groups, exclude, min_gain, limit)
            if ranked and ranked[0].gain >= COMPARTMENT_MIN_GAIN:
                return ranked
        target = "entity"
    groups = compartment_groups(kb) if target == "compartment" else None
    return _rank(kb, findings, log_post, post, groups, exclude, min_gain, limit)


def _rank(kb, findings, log_post, post, groups, exclude, min_gain, limit=None) -> list[NextFinding]:
    skip = set(exclude) | {k for k, _ in findings.values} | _unreadable(kb, findings)
    signs = shown_signs(kb, findings)
    ranked = []
    for fid in questions(kb):
        if fid in skip:
            continue
        q = question_for(kb, findings, fid, signs)
        g = gain(q, log_post, groups)
        if g >= min_gain:
            ranked.append((g, fid, q))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [NextFinding(fid, g, why(kb, q, post, groups if groups is not None else _explained_by(kb, q, log_post, g)))
            for g, fid, q in ranked[:limit]]


def _explained_by(kb: Knowledge, q: Question, log_post: Sequence[float], g: float) -> tuple[int, ...] | None:
    """The compartments, when most of what a finding would tell about the differential is where
    the lesion lies (a sac pushed in, read beside an expanded cord): its why then names the
    compartments it separates, not two entities of one compartment it barely does."""
    groups = compartment_groups(kb)
    return groups if gain(q, log_post, groups) >= COMPARTMENT_SHARE * g else None


def _unreadable(kb: Knowledge, findings: Findings) -> set[str]:
    """The findings not worth asking in this case: each one whose implied findings (features.toml:
    implies) are all known no (a bone pattern where neither the vertebral body nor the posterior
    elements are involved), and the last implied finding not known no of one that is known (with a
    bone pattern and the vertebral body uninvolved, the posterior elements are: yes changes nothing,
    and no contradicts the pattern)."""
    known = dict(findings.values)
    out = set()
    for f in kb.features.values():
        if not f.implies:
            continue
        open_ = [x for x in f.implies if known.get(x) != "no"]
        if not open_:
            out.add(f.id)
        elif f.id in known and len(open_) == 1 and open_[0] not in known:
            out.add(open_[0])
    return out


def next_findings(
    kb: Knowledge, findings: Findings, n: int = 3, *, target: str = "entity", read_from: str = "images"
) -> tuple[NextFinding, ...]:
    """The n findings not yet given that would best separate the leading candidates, among
    those read from ``read_from``: the images, or the history (the request, the chart)."""
    if n <= 0:
        return ()
    elsewhere = [f.id for f in kb.features.values() if f.read_from != read_from]
    return tuple(rank(kb, findings, target=target, exclude=elsewhere, limit=n))


#: A finding whose gain on the compartments is at least this share of its gain on the
#: differential is explained by the compartments it separates.
COMPARTMENT_SHARE = 0.5


def leading(post: Sequence[float]) -> list[int]:
    """Indexes of the leading candidates, best first (at least two)."""
    order = sorted(range(len(post)), key=lambda i: (-post[i], i))
    keep = [i for i in order[:LEADING_MAX] if post[i] >= LEADING_FRACTION * post[order[0]]]
    return keep if len(keep) >= 2 else order[:2]


def why(kb: Knowledge, question: Question, post: Sequence[float], groups: Sequence[int] | None = None) -> str:
    """One line: the two candidates this finding tells apart most, and by which value.

    The pair and value maximise the difference in P(value | candidate), weighted
    by how much both are still in play (the geometric mean of their
    probabilities), so a large difference between two long shots does not
    hide a useful one between the leaders. A difference under MIN_SEPARATION
    is never named: when the leading candidates are that alike on the
    finding, the pair is sought among all candidates and the line says the
    leading candidates barely differ on it; when no two candidates differ
    that much, it says the finding narrows the differential only a little. With ``groups`` (the
    compartments) the candidates are the compartments, each value's rate
    averaged over its entities by their probability. Bands read as on the
    cards ("segments 1", "age 75+").
    """
    label = question.feature.id.replace("_", " ")
    if groups is None:
        names = [short_name(e.name) for e in kb.entities]
        weights, rates = list(post), question.rates
    else:
        names = [COMPARTMENT_NAMES[c] for c in COMPARTMENTS]
        weights = _grouped(post, groups)
        rates = tuple(
            (value, tuple(r / w if w > 0 else 0.0 for r, w in zip(_grouped(list(map(mul, post, rate)), groups), weights)))
            for value, rate in question.rates
        )
    own = question.own if groups is None and question.own is not None else range(len(weights))
    best = _best_pair(itertools.combinations([i for i in leading(weights) if i in own], 2), weights, rates)
    note = ""
    if best is None:
        best = _best_pair(itertools.combinations(sorted(own), 2), weights, rates)
        note = "; the leading candidates barely differ on it"
    if best is None:
        return f"{label}: narrows the differential only a little (no two candidates differ on it by {MIN_SEPARATION:.0%})"
    a, b, value, rate = best
    if rate[a] < rate[b]:
        a, b = b, a
    return f"{label}: separates {names[a]} from {names[b]} ({_value_text(question.feature, value)} in {_rate(rate[a])} vs {_rate(rate[b])}){note}"


def _rate(p: float) -> str:
    """A rate as a whole percentage, never 0% or 100% when it is neither."""
    shown = f"{p:.0%}"
    if shown == "0%" and p > 0:
        return "<1%"
    if shown == "100%" and p < 1:
        return ">99%"
    return shown


def _best_pair(pairs, weights: Sequence[float], rates) -> tuple[int, int, str, tuple[float, ...]] | None:
    """The pair and value with the largest weighted difference of at least MIN_SEPARATION
    whose rates also print differently."""
    best = None
    for a, b in pairs:
        weight = math.sqrt(weights[a] * weights[b])
        for value, rate in rates:
            gap = abs(rate[a] - rate[b])
            if gap < MIN_SEPARATION or f"{rate[a]:.0%}" == f"{rate[b]:.0%}":
                continue
            score = gap * weight
            if best is None or score > best[0] * (1 + 1e-9):
                best = (score, a, b, value, rate)
    return None if best is None else best[1:]


def _value_text(feature: Feature, value: str) -> str:
    """A value as the cards write it; a band with its finding ("segments 1", "age 75+")."""
    from .knowledge.records import outcome_text

    if feature.kind == "integer":
        return f"{feature.id.replace('_', ' ')} {outcome_text(feature, value)}"
    return value.replace("_", " ")
