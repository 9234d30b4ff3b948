"""The answer for one case: compartment, ranked candidates with reasons, flags."""

from __future__ import annotations

import attrs

from .findings import Findings
from .knowledge.records import FLAG_LABELS, URGENT_FLAGS


@attrs.frozen
class Reason:
    """One finding's pull on a candidate, as a likelihood ratio against the rest."""

    feature: str
    value: str
    ratio: float
    text: str

    @property
    def label(self) -> str:
        return finding_label(self.feature, self.value)


def finding_label(feature: str, value: str) -> str:
    """'csf cap yes': a finding and its value as the reasons name them."""
    return f"{feature.replace('_', ' ')} {value}"


def ratio_text(ratio: float) -> str:
    """x7.3 for a ratio of at least 1, /6.2 for one below: the short form of a table."""
    return f"x{times(ratio)}" if ratio >= 1 else f"/{times(1 / ratio)}"


def reason_text(label: str, ratio: float, name: str, others: str = "the alternatives") -> str:
    """A finding's pull on a candidate (``name``) in words: 'csf cap yes: 4.5x as likely with
    Schwannoma as with the alternatives', or '... 2.1x less likely with ... than with ...'."""
    if ratio >= 1:
        return f"{label}: {times(ratio)}x as likely with {name} as with {others}"
    return f"{label}: {times(1 / ratio)}x less likely with {name} than with {others}"


@attrs.frozen
class Candidate:
    id: str
    name: str
    compartment: str
    probability: float
    dont_miss: bool
    reasons_for: tuple[Reason, ...] = ()
    reasons_against: tuple[Reason, ...] = ()


@attrs.frozen
class CompartmentScore:
    id: str
    probability: float


#: A don't-miss entity at or above this probability is called likely, not merely possible.
LIKELY = 0.5
#: Decimals a probability is good to: scores are sums of multiples of 2**-32 nats, so a
#: posterior carries that much noise in its last digits (a prior of 0.60 comes out as
#: 0.59999999999607). Thresholds and percentages both read it at this precision.
PRECISION = 9


#: Half a unit of the last decimal read: a probability this close under a threshold reads as at it.
TOLERANCE = 0.5 * 10.0**-PRECISION


def reaches(probability: float, threshold: float) -> bool:
    """Whether a probability is at or above a threshold, read at PRECISION (as percent() shows it)."""
    return probability >= threshold - TOLERANCE


def times(x: float) -> str:
    """A likelihood ratio of at least 1 as the reasons write it: one decimal under 10, a whole
    number from 10 (one that rounds to 10.0 reads 10)."""
    return f"{x:.0f}" if round(x, 1) >= 10 else f"{x:.1f}"


def percent(p: float, *, tenths: bool = False) -> str:
    """A probability as a percentage, read at PRECISION and then cut rather than rounded (a
    whole percent, one decimal under 10%), so that it never shows a threshold it has not
    reached: a don't-miss entity at 3.96% reads 3.9%, under the 4% floor that would flag it,
    and one at 49.6% reads 49%, not the 50% that would call it likely. Never 0% or 100% when
    it is neither. ``tenths`` shows a share under 1% to a tenth of a percent (0.7%), where a
    listing compares small priors."""
    exact, p = p, round(p, PRECISION)
    if p > 0.99:
        return ">99%" if exact < 1 else "100%"
    if p < 0.01:
        if tenths and p >= 0.001:
            return f"{_cut(p, 3) / 10:.1f}%"
        return ("<0.1%" if tenths else "<1%") if exact > 0 else "0%"
    if p < 0.1:
        return f"{_cut(p, 3) / 10:.1f}%"
    return f"{_cut(p, 2)}%"


def _cut(p: float, places: int) -> int:
    """p (between 0.01 and 1) times 10**places, cut to a whole number, read off the digits of
    p's shortest decimal form (0.57 is 57, where 0.57 * 100 in binary floating point is 56.99...)."""
    whole, _, fraction = repr(p).partition(".")
    return int(whole + (fraction + "0" * places)[:places])


def standing(probability: float) -> str:
    """How a flag names a don't-miss entity's place: likely at LIKELY or more, else still possible."""
    return "likely" if reaches(probability, LIKELY) else "still possible"


@attrs.frozen
class Flag:
    """Something a reader must not walk past: a don't-miss entity, an emergency, a syndrome."""

    kind: str
    entity: str | None
    probability: float | None
    message: str
    action: str

    @property
    def label(self) -> str:
        return FLAG_LABELS.get(self.kind, self.kind.upper())

    @property
    def urgent(self) -> bool:
        return self.kind in URGENT_FLAGS


@attrs.frozen
class NextFinding:
    """A finding not yet given, worth reading next: its expected information gain (bits) and why."""

    feature: str
    gain: float
    why: str


@attrs.frozen(repr=False)
class Assessment:
    """The answer for one case. Its repr is a summary; every field is there to read."""

    findings: Findings
    compartments: tuple[CompartmentScore, ...]
    candidates: tuple[Candidate, ...]
    flags: tuple[Flag, ...] = ()
    conflicts: tuple[str, ...] = ()
    # read off the images next, most informative first
    next_findings: tuple[NextFinding, ...] = ()
    # worth asking of the history (the request, the chart)
    history_questions: tuple[NextFinding, ...] = ()
    # the power the priors were flattened to within each compartment (model.toml prior_flattening;
    # 1: as priors.csv gives them, --priors registry); None for an assessment built by hand
    prior_flattening: float | None = None

    def __repr__(self) -> str:
        top = ", ".join(f"{c.id} {c.probability:.3f}" for c in self.candidates[:3])
        case = f"case_id={self.case_id!r}, " if self.case_id is not None else ""
        if not self.compartments:  # built by hand without them: still shown, as a notebook shows it
            return f"<Assessment {case}no compartment; top: {top or 'none'}; {len(self.flags)} flag(s)>"
        return (
            f"<Assessment {case}compartment={self.compartment!r} {self.compartment_probability:.3f}; "
            f"top: {top}; {len(self.flags)} flag(s); {len(self.findings.values)} finding(s)>"
        )

    @property
    def case_id(self) -> str | None:
        return self.findings.case_id

    @property
    def compartment(self) -> str:
        return self.compartments[0].id

    @property
    def compartment_probability(self) -> float:
        return self.compartments[0].probability

    def candidate(self, entity_id: str) -> Candidate:
        for c in self.candidates:
            if c.id == entity_id:
                return c
        from .knowledge.records import unknown_id

        raise unknown_id(entity_id, [c.id for c in self.candidates], "a candidate id")

    def probability(self, entity_id: str) -> float:
        return self.candidate(entity_id).probability

    @property
    def flagged(self) -> tuple[str, ...]:
        """Ids of the don't-miss entities flagged."""
        return tuple(f.entity for f in self.flags if f.kind == "dont_miss")
