"""How the engine weighs the evidence, computed once when the knowledge base loads.

The priors flattened within each compartment, every likelihood shrunk towards
its base rate, clamped, weighted and tempered, as log tables quantised so that
a score is an exact sum whatever the order of its findings; and the
compartment pictures: each entity's share of each picture and the log joint of
every combination of known picture signs (model.toml says why each setting has
its value).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Mapping

from .records import Settings


#: Fitting an entity's picture shares stops when no share moves by more than
#: this in one step (the shares are then within about 1e-3 of the optimum, a
#: fraction of picture_floor).
FIT_TOLERANCE = 1e-6
FIT_ITERATIONS = 2000


def fit_shares(marginals: dict[tuple[str, str], float], sign: dict[tuple[str, str], tuple[float, ...]], n: int) -> list[float]:
    """The mixture of the n pictures whose sign probabilities come closest to an entity's own.

    Maximises sum over (sign, value) of P_entity(value) * log sum_z w_z P(value | z)
    by EM: the objective is concave in w, so EM climbs to its maximum.
    """
    w = [1.0 / n] * n
    for _ in range(FIT_ITERATIONS):
        acc = [0.0] * n
        total = 0.0
        for key, m in marginals.items():
            rates = sign[key]
            den = sum(wz * r for wz, r in zip(w, rates))
            for z in range(n):
                acc[z] += m * w[z] * rates[z] / den
            total += m
        new = [a / total for a in acc]
        done = max(abs(a - b) for a, b in zip(new, w)) < FIT_TOLERANCE
        w = new
        if done:
            break
    return w


def flattened_priors(entities, priors, exponent: float) -> list[float]:
    """Priors with each compartment's total kept and its entities' spread raised to ``exponent``."""
    raw = [priors[e.id].probability for e in entities]
    total = sum(raw)
    compartment_total: dict[str, float] = defaultdict(float)
    compartment_spread: dict[str, float] = defaultdict(float)
    for e, p in zip(entities, raw):
        compartment_total[e.compartment] += p / total
        compartment_spread[e.compartment] += p**exponent
    return [
        compartment_total[e.compartment] * p**exponent / compartment_spread[e.compartment]
        for e, p in zip(entities, raw)
    ]


def base_rates(rates: Mapping[str, list[float]], prior) -> dict[str, float]:
    """Each value's rate across all lesions: its per-entity rates weighted by the model's prior."""
    return {o: math.fsum(w * p for w, p in zip(prior, probs)) for o, probs in rates.items()}


def smoothed(p: float, base: float, smoothing: float, clamp: float) -> float:
    """A likelihood shrunk towards the value's base rate (the m-estimate), then clamped."""
    return min(max((1 - smoothing) * p + smoothing * base, clamp), 1 - clamp)


#: Every term of a score is a multiple of 2**-SCORE_BITS (about 2e-10 nats,
#: far below anything a probability shown to 6 decimals can show), so a score
#: is an exact sum in floating point, whatever the order of its findings.
SCORE_BITS = 32
#: ... and no score may reach 2**(52 - SCORE_BITS) nats, where sums of such
#: multiples stop being exact.
SCORE_LIMIT = 2.0 ** (52 - SCORE_BITS - 1)


def quantise(x: float) -> float:
    """``x`` rounded to the nearest multiple of 2**-SCORE_BITS."""
    return round(x * 2**SCORE_BITS) / 2**SCORE_BITS


def log_tables(features, entities, priors, likelihoods, settings: Settings):
    ids = [e.id for e in entities]
    prior = flattened_priors(entities, priors, settings.prior_flattening)
    log_prior = tuple(quantise(math.log(p)) for p in prior)
    s, c, t = settings.smoothing, settings.clamp, settings.temperature
    tables, bases, smoothed_rates = {}, {}, {}
    weights = prior
    for feature in features.values():
        scale = feature.weight / t
        raw = {}
        for o in feature.outcomes:
            given = [likelihoods.get((e, feature.id, o)) for e in ids]
            known = [(w, n.probability) for w, n in zip(weights, given) if n is not None]
            if not known:
                continue
            # "not characteristic": an entity without a number for this finding
            # gets the prior-weighted rate of the entities that have one
            default = sum(w * p for w, p in known) / sum(w for w, _ in known)
            raw[o] = [n.probability if n is not None else default for n in given]
        base = base_rates(raw, prior)
        bases.update({(feature.id, o): rate for o, rate in base.items()})
        rates = {o: [smoothed(p, base[o], s, c) for p in probs] for o, probs in raw.items()}
        smoothed_rates.update({(feature.id, o): r for o, r in rates.items()})
        if feature.kind == "list" and feature.exclusive is None and rates:
            # a lesion lies somewhere: "in none of the regions" is not an outcome, so
            # each entity's regions are yes/no findings given at least one. The log
            # P(at least one) it divides by is shared out over the regions' terms, less
            # the same amount for every entity (which cancels) so that no term is positive.
            share = [math.log(1 - math.prod(1 - rates[o][i] for o in rates)) / len(rates) for i in range(len(ids))]
            somewhere = [z - min(share) for z in share]
            for o, probs in rates.items():
                tables[(feature.id, o)] = tuple(quantise(scale * (math.log(p) - z)) for p, z in zip(probs, somewhere))
                tables[(feature.id, o + "!absent")] = tuple(quantise(scale * (math.log(1 - p) - z)) for p, z in zip(probs, somewhere))
            continue
        for o, probs in rates.items():
            tables[(feature.id, o)] = tuple(quantise(scale * math.log(p)) for p in probs)
            if feature.kind == "list":
                tables[(feature.id, o + "!absent")] = tuple(quantise(scale * math.log(1 - p)) for p in probs)
    implied = implied_tables(features, smoothed_rates, len(ids), t)
    for (fid, known_no), presence in implied.items():
        if known_no:
            continue
        for o in features[fid].outcomes:
            if (fid, o) in tables:
                tables[(fid, o)] = tuple(x + y for x, y in zip(tables[(fid, o)], presence))
    return tuple(prior), log_prior, tables, bases, implied


def implied_tables(features, rates, n: int, temperature: float) -> dict[tuple[str, tuple[str, ...]], tuple[float, ...]]:
    """(finding with implies, the implied findings known no) -> the weight of what it implies
    (the least of theirs) over the temperature times log P(at least one of the other implied
    yes/no findings is yes | entity), from their smoothed rates, taken as independent given
    the entity as every finding is; () known no is what the finding's tables include. With
    all of them known no the finding cannot be read where it was given, and the entry is 0.
    Quantised, so that adding one and taking it back out are exact."""
    out = {}
    for feature in features.values():
        implied = [x for x in feature.implies if (x, "no") in rates]
        if not implied:
            continue
        scale = min(features[x].weight for x in feature.implies) / temperature
        for size in range(len(implied)):
            for known_no in itertools.combinations(sorted(implied), size):
                left = [rates[(x, "no")] for x in implied if x not in known_no]
                out[(feature.id, known_no)] = tuple(
                    quantise(scale * math.log(1 - math.prod(r[i] for r in left))) for i in range(n))
        out[(feature.id, tuple(sorted(implied)))] = (0.0,) * n  # all known no: it cannot be read, so says nothing of them
    return out


def picture_rates(features, settings: Settings, pictures, signs, table) -> dict[tuple[str, str], tuple[float, ...]]:
    """(sign, value) -> P(value | picture) per picture: clamped like every likelihood and
    renormalised, so that leaving an unknown sign out of a product is exact."""
    c = settings.clamp
    rate: dict[tuple[str, str], tuple[float, ...]] = {}
    for fid in signs:
        values = features[fid].outcomes
        clamped = {v: [min(max(table[(z, fid, v)].probability, c), 1 - c) for z in pictures] for v in values}
        totals = [math.fsum(clamped[v][i] for v in values) for i in range(len(pictures))]
        for v in values:
            rate[(fid, v)] = tuple(p / t for p, t in zip(clamped[v], totals))
    return rate


def picture_model(features, entities, likelihoods, settings: Settings, pictures, signs, table, counted=None):
    """Each entity's picture shares, and the log joint of every combination of known signs.

    The shares are counted where locations.csv gives them (``counted``), else
    fitted to the entity's own sign probabilities; then each picture is given
    at least picture_floor, so an entity can show any picture.
    The joint is neither weighted nor tempered: the temperature makes up for
    findings counted as independent, and the signs of a picture are not.
    Returns (shares per entity, {values: vector}, within) where values holds one value
    or None (unknown) per sign, in ``signs`` order, and within maps (picture, values) to
    the log odds that a finding read within that picture (Feature.within) is given: 0 for an
    entity of the picture's compartment, else log(P(the picture | those signs, entity), or a
    reader's slip), all values None giving the entity's share of it.
    """
    n = len(pictures)
    if not n or not signs:
        return (), {}, {}
    floor = settings.picture_floor
    rate = picture_rates(features, settings, pictures, signs, table)
    shares = []
    for e in entities:
        if counted and e.id in counted:
            total = math.fsum(counted[e.id][z].probability for z in pictures)  # 1 within SUM_TOLERANCE
            found = [counted[e.id][z].probability / total for z in pictures]
        else:
            marginals = {(fid, v): likelihoods[(e.id, fid, v)].probability for (fid, v) in rate}
            found = fit_shares(marginals, rate, n)
        shares.append(tuple((1 - n * floor) * w + floor for w in found))
    joint = {}
    read_in = sorted({f.within for f in features.values() if f.within in pictures})
    slip = settings.misplaced

    def read(p: float) -> float:
        """The log odds that a finding read within a picture is given: the lesion shows the
        picture (p), or it is given all the same, as a reader slip (misplaced)."""
        return quantise(math.log(p + slip * (1 - p)))

    def inside(z: str, e, p: float) -> float:
        """The log odds that a finding read within picture z is given for entity e, whose lesion
        shows the picture with probability p: always for an entity of that compartment (a small
        lesion inside the cord leaves the cord and the CSF as they are, but it is in the cord)."""
        return 0.0 if e.compartment == z else read(p)

    within = {(z, (None,) * len(signs)): tuple(inside(z, e, sh[pictures.index(z)]) for e, sh in zip(entities, shares))
              for z in read_in}
    for values in itertools.product(*[(None, *features[fid].outcomes) for fid in signs]):
        known = [rate[(fid, v)] for fid, v in zip(signs, values) if v is not None]
        if not known:
            continue
        given = [math.prod(r[z] for r in known) for z in range(n)]
        totals = [math.fsum(w * g for w, g in zip(sh, given)) for sh in shares]
        joint[values] = tuple(quantise(math.log(t)) for t in totals)
        for z in read_in:
            k = pictures.index(z)
            within[(z, values)] = tuple(inside(z, e, sh[k] * given[k] / t) for e, sh, t in zip(entities, shares, totals))
    return tuple(shares), joint, within


def add_within(tables, features, signs, within) -> None:
    """Each finding read within a picture (Feature.within) counts, in its tables, the entity's
    share of that picture: what it adds while no picture sign is known (engine.evidence puts
    the share given the signs in its place once some are)."""
    for feature in features.values():
        share = within.get((feature.within, (None,) * len(signs)))
        if share is None:
            continue
        for o in feature.outcomes:
            if (feature.id, o) in tables:
                tables[(feature.id, o)] = tuple(x + y for x, y in zip(tables[(feature.id, o)], share))


def score_bound(features, log_prior, tables, signs, joint) -> float:
    """The largest magnitude a score can reach (every finding at its worst value)."""
    bound = max(-x for x in log_prior)
    if joint:
        bound += max(-x for v in joint.values() for x in v)
    for feature in features.values():
        rows = [v for (fid, _), v in tables.items() if fid == feature.id]
        if rows and feature.id not in signs:
            worst = max(-x for v in rows for x in v)
            bound += worst * (2 * len(feature.outcomes) if feature.kind == "list" else 1)
    return bound
