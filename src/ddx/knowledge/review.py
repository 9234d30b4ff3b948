"""What `ddx kb check` says of a valid knowledge base: its summary, and the numbers to review."""

from __future__ import annotations

import math
from collections import defaultdict

from .records import GRADES, Knowledge
from .weights import picture_rates


#: kb check notes a picture sign number the fitted picture mixture departs from by this much.
MISFIT = 0.2


def picture_misfits(kb: Knowledge, threshold: float = MISFIT) -> list[tuple[str, str, str, float, float]]:
    """(entity, sign, value, table number, picture model) where the mixture of pictures (fitted,
    or counted in locations.csv) departs from an entity's own sign number by at least
    ``threshold``: numbers to review."""
    rate = picture_rates(kb.features, kb.settings, kb.pictures, kb.picture_signs, kb.picture_rates)
    out = []
    for e, shares in zip(kb.entities, kb.picture_shares):
        for (fid, v), r in rate.items():
            table = kb.likelihoods[(e.id, fid, v)].probability
            model = math.fsum(w * x for w, x in zip(shares, r))
            if abs(model - table) >= threshold:
                out.append((e.id, fid, v, table, model))
    return out


def idle_findings(kb: Knowledge) -> list[tuple[str, int]]:
    """(finding, entities with numbers for it) for a finding given for fewer than two entities.
    An entity without a number for a finding gets the rate of those with one, so such a
    finding never moves the posterior: most likely a new finding whose numbers are not in yet."""
    given = {(e, f) for e, f, _ in kb.likelihoods}
    counts = [(fid, sum((e.id, fid) in given for e in kb.entities)) for fid in kb.features]
    return [(fid, n) for fid, n in counts if n < 2]


def all_numbers(kb: Knowledge) -> list:
    """Every number of a loaded knowledge base: priors, likelihoods, pictures and counted locations."""
    located = [n for shares in kb.locations.values() for n in shares.values()]
    return [*kb.priors.values(), *kb.likelihoods.values(), *kb.picture_rates.values(), *located]


def summary(kb: Knowledge) -> str:
    """One line describing a valid knowledge base."""
    grades = defaultdict(int)
    numbers = all_numbers(kb)
    for n in numbers:
        grades[n.grade] += 1
    graded = ", ".join(f"{g} {grades[g]}" for g in GRADES)
    return (
        f"knowledge base OK: {len(kb.entities)} entities, {len(kb.features)} findings, "
        f"{len(kb.pictures)} compartment pictures, {len(numbers)} numbers (grade {graded}), {len(kb.sources)} sources"
    )
