"""The decision module: prior x likelihoods -> posterior, compartment, reasons, flags.

Transparent naive Bayes in log space. Each known finding adds its weighted
log likelihood per entity, tempered by the temperature of model.toml (both
precomputed by the knowledge loader, as exact binary fractions, so a score
does not depend on the order of its findings); the compartment signs of
pictures.csv enter together, once, through the picture they show. Unknown
findings add nothing, so no findings gives the priors. The compartment is
the sum of its entities. A reason is a finding's likelihood ratio for a
candidate against the rest of the differential. Knows nothing of screens or
files.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import attrs

from .assessment import (
    FLAG_LABELS, Assessment, Candidate, CompartmentScore, Flag, Reason, finding_label, percent, reaches, reason_text, standing,
)
from .findings import Findings, format_value
from .knowledge import COMPARTMENT_NAMES, COMPARTMENTS, Feature, Knowledge, default_knowledge


def finding_vector(kb: Knowledge, feature: Feature, value: Any) -> tuple[float, ...] | None:
    """Per-entity weighted log likelihood of one known finding (None: not in the tables)."""
    if feature.kind == "integer":
        return kb.log_tables.get((feature.id, feature.band_of(value)))
    if feature.kind != "list":
        return kb.log_tables.get((feature.id, value))
    parts = []
    for outcome in feature.outcomes:
        key = (feature.id, outcome if outcome in value else outcome + "!absent")
        if key in kb.log_tables:
            parts.append(kb.log_tables[key])
    if not parts:
        return None
    return tuple(math.fsum(col) for col in zip(*parts))


def picture_key(kb: Knowledge, values: dict[str, Any]) -> tuple:
    """The key of kb.picture_tables: each picture sign's value in ``values``, or None."""
    return tuple(values.get(fid) for fid in kb.picture_signs)


def picture_vector(kb: Knowledge, values: dict[str, Any]) -> tuple[float, ...]:
    """Per-entity log P(the given picture signs | entity) (zeros when none is given)."""
    key = picture_key(kb, values)
    if not any(v is not None for v in key):
        return (0.0,) * len(kb.entities)
    return kb.picture_tables[key]


def shown_signs(kb: Knowledge, findings: Findings) -> dict[str, Any]:
    """The picture signs among the findings."""
    return {fid: value for fid, value in findings.values if fid in kb.picture_signs}


def sign_vector(kb: Knowledge, shown: dict[str, Any], fid: str, value: Any) -> tuple[float, ...]:
    """What reading picture sign ``fid`` as ``value`` adds to each score, given the signs ``shown``."""
    before = picture_vector(kb, shown)
    after = picture_vector(kb, {**shown, fid: value})
    return tuple(a - b for a, b in zip(after, before))


def evidence(kb: Knowledge, findings: Findings) -> list[tuple[str, Any, tuple[float, ...]]]:
    """The known findings that carry information, each with what it adds to the scores.

    The signs of a compartment picture count once, together: each adds what it
    tells given the picture signs before it (in features.toml order), so their
    vectors sum exactly to the joint.
    """
    shown = shown_signs(kb, findings)
    pieces, so_far = {}, {}
    for fid in kb.picture_signs:
        if fid in shown:
            pieces[fid] = sign_vector(kb, so_far, fid, shown[fid])
            so_far[fid] = shown[fid]
    known = dict(findings.values)
    out = []
    for fid, value in findings.values:
        if fid in pieces:
            out.append((fid, value, pieces[fid]))
            continue
        feature = kb.features.get(fid)
        if feature is None:
            continue
        vector = finding_vector(kb, feature, value)
        if vector is not None:
            out.append((fid, value, in_its_picture(kb, feature, without_implied(kb, feature, vector, known), shown)))
    return out


def in_its_picture(kb: Knowledge, feature: Feature, vector: tuple[float, ...], shown: dict[str, Any]) -> tuple[float, ...]:
    """A finding read only within a picture (features.toml: within) with the entity's share of
    that picture its tables hold replaced, once picture signs are known, by the odds of the
    picture given them: a mass's position in the cord says it is inside the cord, and an expanded
    cord already says much of that."""
    if feature.within is None or not shown:
        return vector
    base, given = within_table(kb, feature, {}), within_table(kb, feature, shown)
    if base is None or given is None:
        return vector
    return tuple(v - b + g for v, b, g in zip(vector, base, given))


def within_table(kb: Knowledge, feature: Feature, shown: dict[str, Any]) -> tuple[float, ...] | None:
    """Per entity, the log odds that ``feature`` (read within a picture: features.toml within) is
    given, with the picture signs ``shown`` known (none: the entity's share of the picture)."""
    return kb.within_tables.get((feature.within, picture_key(kb, shown)))


def without_implied(kb: Knowledge, feature: Feature, vector: tuple[float, ...], known: dict[str, Any]) -> tuple[float, ...]:
    """A finding's vector with the odds of what it implies (features.toml: implies) as the other
    known findings leave them: taken out once one of the implied findings is known yes (that
    finding then says it itself), and narrowed to the others when some are known no (with the
    vertebral body uninvolved, a bone pattern says the posterior elements are). With all of them
    known no the finding cannot be read as it was given: the odds are taken out, and the
    conflicts say so."""
    implied = kb.implied_tables.get((feature.id, ()))
    if implied is None:
        return vector
    if any(known.get(x) == "yes" for x in feature.implies):
        return tuple(v - i for v, i in zip(vector, implied))
    known_no = implied_known_no(kb, feature, known)
    if not known_no:
        return vector
    narrowed = kb.implied_tables[(feature.id, known_no)]
    return tuple(v - i + n for v, i, n in zip(vector, implied, narrowed))


def implied_known_no(kb: Knowledge, feature: Feature, known: dict[str, Any]) -> tuple[str, ...]:
    """The findings ``feature`` implies that are known no (sorted, as kb.implied_tables keys them)."""
    return tuple(sorted(x for x in feature.implies if known.get(x) == "no" and (feature.id, (x,)) in kb.implied_tables))


def within_change(kb: Knowledge, findings: Findings, before: dict[str, Any], after: dict[str, Any]) -> tuple[float, ...] | None:
    """What the known findings read within a picture (features.toml: within) add to each score
    when the known picture signs go from ``before`` to ``after``: the odds of the picture given
    the signs change with them (engine.in_its_picture). None when no such finding is known."""
    change = None
    for fid, value in findings.values:
        feature = kb.features.get(fid)
        if feature is None or feature.within is None or finding_vector(kb, feature, value) is None:
            continue
        old, new = within_table(kb, feature, before), within_table(kb, feature, after)
        if old is None or new is None:
            continue
        step = [n - o for n, o in zip(new, old)]
        change = step if change is None else [c + s for c, s in zip(change, step)]
    return None if change is None else tuple(change)


def in_context(kb: Knowledge, findings: Findings, ev) -> list[tuple[str, Any, tuple[float, ...]]]:
    """``ev`` with each picture sign's vector replaced by what it adds given all the other
    known findings: given the other picture signs, and with what it changes in the odds of the
    picture a known finding is read within (a position in the cord): the finding's own weight in
    this case, for its reasons."""
    shown = shown_signs(kb, findings)
    within = bool(shown) and within_change(kb, findings, shown, shown) is not None
    if len(shown) < 2 and not within:
        return ev
    out = []
    for fid, value, vector in ev:
        if fid in shown:
            others = {k: v for k, v in shown.items() if k != fid}
            vector = sign_vector(kb, others, fid, value)
            change = within_change(kb, findings, others, shown) if within else None
            if change is not None:
                vector = tuple(v + c for v, c in zip(vector, change))
        out.append((fid, value, vector))
    return out


def posterior(kb: Knowledge, findings: Findings) -> tuple[float, ...]:
    """P(entity | findings), in knowledge-base entity order."""
    return _normalise(kb, [v for _, _, v in evidence(kb, findings)])


def log_scores(kb: Knowledge, vectors) -> list[float]:
    """Each entity's unnormalised log posterior: its log prior and the findings' vectors summed."""
    return [math.fsum(col) for col in zip(kb.log_prior, *vectors)]


def _normalise(kb: Knowledge, vectors) -> tuple[float, ...]:
    scores = log_scores(kb, vectors)
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = math.fsum(weights)
    return tuple(w / total for w in weights)


def assess(findings: Findings, knowledge: Knowledge | None = None, *, suggest: int = 3) -> Assessment:
    """Assess one case; ``suggest`` next best findings (0 skips them: the guide and the quiz ask
    their own questions)."""
    kb = knowledge or default_knowledge()
    ev = evidence(kb, findings)
    post = _normalise(kb, [v for _, _, v in ev])
    entities = kb.entities

    by_compartment = {c: 0.0 for c in COMPARTMENTS}
    for e, p in zip(entities, post):
        by_compartment[e.compartment] += p
    compartments = tuple(
        CompartmentScore(c, p)
        for c, p in sorted(by_compartment.items(), key=lambda cp: (-cp[1], COMPARTMENTS.index(cp[0])))
    )

    order = sorted(range(len(entities)), key=lambda i: (-post[i], i))
    ratios = _finding_ratios(kb, findings, ev)
    candidates = tuple(
        Candidate(
            id=entities[i].id,
            name=entities[i].name,
            compartment=entities[i].compartment,
            probability=post[i],
            dont_miss=entities[i].dont_miss,
            **_reasons(kb, ratios, i),
        )
        for i in order
    )
    return Assessment(
        findings=findings,
        compartments=compartments,
        candidates=candidates,
        flags=flags_for(kb, findings, post),
        conflicts=_conflicts(kb, findings),
        next_findings=_next_findings(kb, findings, suggest, "images"),
        history_questions=_next_findings(kb, findings, min(suggest, HISTORY_QUESTIONS), "history"),
        prior_flattening=kb.settings.prior_flattening,
    )


def contrast(kb: Knowledge, findings: Findings, first: str, second: str) -> tuple[float, list[tuple[str, float]]]:
    """Why ``first`` ranks above ``second`` (or below): the ratio of their priors, and each
    known finding's likelihood ratio between them (the engine's, weighted and tempered), as
    (label, ratio), the strongest for ``first`` first; the compartment signs count as one, the
    picture they show together ('cord displaced + csf widened'), since none has a ratio of its
    own that does not depend on the order they are read in. Their product is the ratio of the
    two posteriors."""
    i, j = kb.entity_ids.index(first), kb.entity_ids.index(second)
    pulls, signs, picture = [], [], 0.0
    for fid, value, vector in evidence(kb, findings):
        if fid in kb.picture_signs:
            signs.append(_label(fid, value))
            picture += vector[i] - vector[j]
        else:
            pulls.append((_label(fid, value), math.exp(vector[i] - vector[j])))
    if signs:
        pulls.append((" + ".join(signs), math.exp(picture)))
    return kb.prior[i] / kb.prior[j], sorted(pulls, key=lambda p: (-p[1], p[0]))


def within_compartment(kb: Knowledge, a: Assessment, compartment: str) -> Assessment:
    """``a`` once the lesion is known to lie in ``compartment`` (the quiz tells a trainee so when
    a case gives no sign that places it): the prior is that compartment's alone, so the other
    compartments' candidates fall to 0, the rest are scaled to sum to 1, each reason weighs a
    finding against the alternatives in the compartment only, and the flags are raised again.
    The next best findings, sought over every compartment, are left out."""
    inside = [e.compartment == compartment for e in kb.entities]
    total = math.fsum(p for p, i in zip(kb.prior, inside) if i)
    by_id = {c.id: c for c in a.candidates}
    found = math.fsum(by_id[e.id].probability for e, i in zip(kb.entities, inside) if i)
    if total <= 0 or found <= 0:
        return a
    weights = [p / total if i else 0.0 for p, i in zip(kb.prior, inside)]
    post = [by_id[e.id].probability / found if i else 0.0 for e, i in zip(kb.entities, inside)]
    ratios = _finding_ratios(kb, a.findings, evidence(kb, a.findings), weights)
    order = sorted(range(len(post)), key=lambda i: (-post[i], i))
    candidates = tuple(attrs.evolve(by_id[kb.entity_ids[i]], probability=post[i], **_reasons(kb, ratios, i)) for i in order)
    scores = (CompartmentScore(compartment, 1.0), *(CompartmentScore(c, 0.0) for c in COMPARTMENTS if c != compartment))
    return attrs.evolve(a, compartments=scores, candidates=candidates, flags=flags_for(kb, a.findings, post),
                        next_findings=(), history_questions=())


#: After an assessment, at most this many questions for the history are suggested
#: beside the next best findings on the images.
HISTORY_QUESTIONS = 1


def _next_findings(kb: Knowledge, findings: Findings, n: int, read_from: str):
    from .questions import next_findings

    return next_findings(kb, findings, n, read_from=read_from)


def _finding_ratios(kb: Knowledge, findings: Findings, ev, weights: Sequence[float] | None = None) -> list:
    """Each known finding's id, value as text, label and likelihood_ratios (against the rest
    weighted by ``weights``, else the prior), worked out once for every candidate's reasons."""
    return [(fid, format_value(value), _label(fid, value), likelihood_ratios(kb, vector, weights))
            for fid, value, vector in in_context(kb, findings, ev)]


def _label(fid: str, value: Any) -> str:
    return finding_label(fid, format_value(value))


def likelihood_ratios(kb: Knowledge, vector: tuple[float, ...], weights: Sequence[float] | None = None) -> list[float]:
    """One finding's likelihood ratio for each entity against the prior-weighted rest.

    The likelihood the engine gives the finding under the entity (weighted and
    tempered; for a picture sign, given the other signs), over its
    prior-weighted mean under all the other entities (``weights``: other priors
    summing to 1, those of one compartment for a lesion known to lie there).
    """
    weights = kb.prior if weights is None else weights
    likelihood = [math.exp(v) for v in vector]
    total = math.fsum(w * x for w, x in zip(weights, likelihood))
    # an entity that holds all the weight (the only one of a compartment known to hold the
    # lesion) has no alternative for a finding to favour it over: 1, no reason
    return [x / ((total - w * x) / (1.0 - w)) if w < 1.0 else 1.0 for w, x in zip(weights, likelihood)]


def _reasons(kb: Knowledge, ratios, i: int) -> dict[str, tuple[Reason, ...]]:
    """The findings for and against entity i, strongest first (``ratios``: each finding's id, value
    as text, label and likelihood_ratios, worked out once for every candidate)."""
    threshold = kb.settings.reason_min_ratio
    name = kb.entities[i].name
    pros, cons = [], []
    for fid, text_value, label, per_entity in ratios:
        ratio = per_entity[i]
        if ratio >= threshold:
            pros.append(Reason(fid, text_value, ratio, reason_text(label, ratio, name)))
        elif ratio <= 1 / threshold:
            cons.append(Reason(fid, text_value, ratio, reason_text(label, ratio, name)))
    pros.sort(key=lambda r: (-r.ratio, r.feature))
    cons.sort(key=lambda r: (r.ratio, r.feature))
    return {"reasons_for": tuple(pros), "reasons_against": tuple(cons)}


def rule_flags(kb: Knowledge, findings: Findings, probability: dict[str, float] | None = None) -> list[Flag]:
    """The flags of flags.toml's rules that the findings raise. Without ``probability``
    only the rules that name no entity (cord compression): what a row that could not
    be assessed still shows."""
    flags = []
    for rule in kb.rules:
        if rule.entities and probability is None:
            continue
        if not rule.holds(findings):
            continue
        p = math.fsum(probability[e] for e in rule.entities) if rule.entities else None
        if p is not None and p < rule.min_probability:
            continue
        flags.append(Flag(rule.kind, None, p, rule.message, rule.action))
    return flags


def flags_for(kb: Knowledge, findings: Findings, post) -> tuple[Flag, ...]:
    """The flags of these findings with these probabilities (knowledge-base entity order): the
    rules' (emergency, syndrome), and every don't-miss entity at the floor or above."""
    probability = dict(zip(kb.entity_ids, post))
    flags = rule_flags(kb, findings, probability)
    floor = kb.settings.dont_miss_floor
    dont_miss = sorted(
        (e for e in kb.entities if e.dont_miss and reaches(probability[e.id], floor)),
        key=lambda e: -probability[e.id],
    )
    for e in dont_miss:
        message = f"{e.name}, {standing(probability[e.id])} ({percent(probability[e.id])}): {e.stakes}"
        flags.append(Flag("dont_miss", e.id, probability[e.id], message, e.action))
    rank = {kind: i for i, kind in enumerate(FLAG_LABELS)}
    return tuple(sorted(flags, key=lambda f: rank.get(f.kind, len(rank))))


def _conflicts(kb: Knowledge, findings: Findings) -> tuple[str, ...]:
    """Every way the findings disagree, in words: over the compartment, a finding given where
    what it implies is denied, and findings that cannot both hold (disagreements.toml)."""
    unread = _unreadable_findings(kb, findings)
    placing = _compartment_conflict(kb, findings, set(unread))
    return (*placing, *unread.values(), *_disagreeing(kb, findings))


def _compartment_conflict(kb: Knowledge, findings: Findings, unread: set[str]) -> tuple[str, ...]:
    """Image findings that point to different compartments, or one that argues against the
    compartment others point to (each read on its own), in words (none or one sentence). The
    findings in ``unread`` are left out: what placed them was the involvement others deny."""
    pointing, against = compartment_pointers(kb, findings, unread)
    contested = [c for c in pointing if c in against]
    if len(pointing) < 2 and not contested:
        return ()
    return _conflict_sentence(kb, findings, pointing, against, contested)


def compartment_pointers(kb: Knowledge, findings: Findings, unread: set[str] = frozenset()) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The image findings that point to a compartment, and those that argue against one, each
    read on its own ("cord=expanded"), by compartment.

    A finding points to a compartment at least conflict_ratio times as likely
    as any other, and argues against one at most 1/conflict_ratio times as
    likely as every other (a mass out through a foramen is rarely inside the
    cord, and says nothing between the other two). Only what is read off the
    images and can place a lesion counts: the history (age, a known cancer, a
    syndrome) and where a lesion lies, how long it is and how many there are
    shift the odds without contradicting a sign.
    """
    prior = kb.prior
    ratio = kb.settings.conflict_ratio
    pointing: dict[str, list[str]] = {}
    against: dict[str, list[str]] = {}
    for fid, value in findings.values:
        feature = kb.features.get(fid)
        if feature is None or feature.read_from != "images" or not feature.places or fid in unread:
            continue
        vector = finding_vector(kb, feature, value)
        if vector is None:
            continue
        # undo the weight and the temperature: where a finding points does not depend on how much it counts
        likelihood = _unweighted(kb, feature, vector)
        rate = {}
        for c in COMPARTMENTS:
            members = [(p, x) for e, p, x in zip(kb.entities, prior, likelihood) if e.compartment == c]
            rate[c] = math.fsum(p * x for p, x in members) / math.fsum(p for p, _ in members)
        shown = f"{fid}={format_value(value)}"
        best = max(COMPARTMENTS, key=lambda c: rate[c])
        worst = min(COMPARTMENTS, key=lambda c: rate[c])
        if rate[best] >= ratio * max(rate[c] for c in COMPARTMENTS if c != best):
            pointing.setdefault(best, []).append(shown)
        elif rate[worst] * ratio <= min(rate[c] for c in COMPARTMENTS if c != worst):
            against.setdefault(worst, []).append(shown)
    return pointing, against


def _conflict_sentence(kb: Knowledge, findings: Findings, pointing: dict[str, list[str]], against: dict[str, list[str]],
                       contested: list[str]) -> tuple[str, ...]:
    """The disagreement over the compartment in words, with the advice that fits it."""
    parts = [f"{' and '.join(fs)} {'points' if len(fs) == 1 else 'point'} to {COMPARTMENT_NAMES[c].lower()}" for c, fs in pointing.items()]
    parts += [f"{' and '.join(against[c])} {'argues' if len(against[c]) == 1 else 'argue'} against {COMPARTMENT_NAMES[c].lower()}"
              for c in contested]
    read = {fid for fid, _ in findings.values}
    advice = ["Re-read the cord and the CSF." if read & {"cord", "csf"} else "Read the cord and the CSF to place it."]
    advice += [a.text for a in kb.advice if a.applies(findings, pointing)]
    return ("The findings disagree: " + "; ".join(parts) + ". " + " ".join(advice),)


def _disagreeing(kb: Knowledge, findings: Findings) -> tuple[str, ...]:
    """The findings that cannot both hold (disagreements.toml), each group in words with why."""
    out = []
    for d in kb.disagreements:
        shown = [f"{fid}={format_value(findings.get(fid))}" for fid in d.named(findings)]
        if d.holds(findings) and len(shown) > 1:  # the loader sees that two are always named
            out.append(f"The findings disagree: {', '.join(shown[:-1])} and {shown[-1]}. {d.why} Re-read them.")
    return tuple(out)


def _unweighted(kb: Knowledge, feature: Feature, vector: tuple[float, ...]) -> list[float]:
    """P(the finding | entity) from its vector, the weight and the temperature undone. The table
    of a finding that implies others also holds the odds that one of them is involved, weighed as
    those findings are (knowledge.weights.implied_tables), so that part is undone with their scale."""
    unscale = 1 / kb.scale(feature.id)
    if feature.within is not None:  # the share of the picture is neither weighted nor tempered
        share = within_table(kb, feature, {})
        if share is not None:
            return [math.exp((v - b) * unscale + b) for v, b in zip(vector, share)]
    implied = kb.implied_tables.get((feature.id, ()))
    if implied is None:
        return [math.exp(v * unscale) for v in vector]
    shared = 1 / min(kb.scale(x) for x in feature.implies)
    return [math.exp((v - i) * unscale + i * shared) for v, i in zip(vector, implied)]


def _unreadable_findings(kb: Knowledge, findings: Findings) -> dict[str, str]:
    """Each finding given while everything it implies is known no (a bone pattern with neither the
    vertebral body nor the posterior elements involved), with why in words. It is left out of the
    compartment check: what placed it outside the dura was the involvement the others deny."""
    known = dict(findings.values)
    out = {}
    for fid, value in findings.values:
        feature = kb.features.get(fid)
        if feature is not None and feature.implies and all(known.get(x) == "no" for x in feature.implies):
            every = "both are" if len(feature.implies) == 2 else "all are" if len(feature.implies) > 2 else "it is"
            out[fid] = (f"The findings disagree: {fid}={format_value(value)} is read only where "
                        f"{' or '.join(feature.implies)} is yes, but {every} no. Re-read them.")
    return out
