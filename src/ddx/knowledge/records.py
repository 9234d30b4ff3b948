"""The knowledge base as frozen records: features, entities, sources, rules, settings."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable

import attrs

COMPARTMENTS = ("intramedullary", "intradural_extramedullary", "extradural")
COMPARTMENT_NAMES = {
    "intramedullary": "Intramedullary",
    "intradural_extramedullary": "Intradural extramedullary",
    "extradural": "Extradural",
}
#: How a reader may write a compartment besides its id and name: shorthands, other words for
#: it (the subdural space lies inside the dura, outside the cord), and words that name a side of
#: the dura or of the cord but not one compartment, with the two they could mean.
COMPARTMENT_SHORTHANDS = {"im": "intramedullary", "idem": "intradural_extramedullary", "ed": "extradural"}
COMPARTMENT_SYNONYMS = {"epidural": "extradural", "subdural": "intradural_extramedullary"}
AMBIGUOUS_COMPARTMENTS = {
    "intradural": ("intramedullary", "intradural_extramedullary"),
    "extramedullary": ("intradural_extramedullary", "extradural"),
}
FEATURE_KINDS = ("choice", "yesno", "list", "integer")
GRADES = ("A", "B", "C")
YES_NO = ("yes", "no")
#: The kinds of flag (output.md), the most pressing first, with the label a person reads.
FLAG_LABELS = {"emergency": "EMERGENCY", "dont_miss": "DON'T MISS", "syndrome": "SYNDROME"}
#: The kinds a reader acts on now: shown in red, and the ones the quiz's reveal repeats.
URGENT_FLAGS = frozenset({"emergency", "dont_miss"})


@attrs.frozen
class Feature:
    """One column of the input contract."""

    id: str
    kind: str
    section: str
    help: str
    question: str
    values: tuple[str, ...] = ()
    exclusive: str | None = None
    min: int | None = None
    max: int | None = None
    # the last band is (low, None) when there is no max: every number from low up
    bands: tuple[tuple[int, int | None], ...] = ()
    weight: float = 1.0
    alias: dict[str, str] = attrs.field(factory=dict)
    meaning: dict[str, str] = attrs.field(factory=dict)
    required: bool = False
    # where a reader gets it: "images" (read off the MRI) or "history" (the request, the chart)
    read_from: str = "images"
    # a compartment sign that shows a picture (pictures.csv): it counts together with the others
    picture: bool = False
    # false for where a lesion lies, how long it is and how many there are: they shift the
    # odds of the compartments without being a sign of one (the conflict note skips them)
    places: bool = True
    # a list whose values lie in order along the spine: a range of them (T10-L2) reads as
    # every value between its ends
    ordered: bool = False
    # yes/no findings of which a known value of this one says at least one is yes (a bone
    # pattern is read only in a bone lesion): while none of them is known yes, the odds that
    # one is count with this finding (weights.log_tables)
    implies: tuple[str, ...] = ()
    # a compartment picture (pictures.csv) this finding is read only in: the axial position of a
    # mass in the cord is read only where the mass is inside it. The odds that an entity shows
    # that picture count with it, given the picture signs known (weights.picture_model)
    within: str | None = None

    @property
    def option(self) -> str:
        return "--" + self.id.replace("_", "-")

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The values the likelihood tables are given for."""
        if self.kind == "integer":
            return tuple(band_label(b) for b in self.bands)
        if self.kind == "list":
            return tuple(v for v in self.values if v != self.exclusive)
        return self.values

    def band_of(self, number: int) -> str:
        for low, high in self.bands:
            if low <= number and (high is None or number <= high):
                return band_label((low, high))
        raise ValueError(f"{number} is outside the bands of {self.id}")

    @property
    def range_text(self) -> str:
        """The numbers an integer finding takes, as a reader writes them: "0-120", "1 or more"."""
        return f"{self.min} or more" if self.max is None else f"{self.min}-{self.max}"


def outcome_text(feature: Feature, outcome: str) -> str:
    """An outcome as a reader writes it: a band 1-1 as "1", the top band 75-120 as "75+"."""
    if feature.kind != "integer" or "-" not in outcome:
        return outcome
    lo, hi = outcome.split("-", 1)
    if lo == hi:
        return lo
    return f"{lo}+" if feature.max is not None and int(hi) >= feature.max else outcome


def band_label(band: tuple[int, int | None]) -> str:
    """A band as the likelihood tables name it: "2-3", and "7+" for an open last band."""
    return f"{band[0]}+" if band[1] is None else f"{band[0]}-{band[1]}"


@attrs.frozen
class Source:
    """A citation behind one or more numbers."""

    key: str
    citation: str
    url: str = ""
    grade: str | None = None


@attrs.frozen
class Entity:
    """A candidate diagnosis: where it lives, why it matters, what to do next."""

    id: str
    name: str
    compartment: str
    dont_miss: bool
    mimic: bool
    associations: tuple[str, ...]
    typical: str
    summary: str
    next_step: str
    why: str
    action: str
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    @property
    def stakes(self) -> str:
        """``why`` without its "Don't-miss:" lead, for a line that is flagged don't-miss already."""
        return self.why.removeprefix("Don't-miss:").strip()


#: Words spelt or shortened more than one way, written the one way names are compared in.
WORD_FORMS = {"mets": "metastasis", "met": "metastasis", "metastatic": "metastasis", "tumour": "tumor", "disk": "disc"}


def _word_form(word: str) -> str:
    word = WORD_FORMS.get(word, word)
    if len(word) > 5 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 5 and word.endswith("ses"):
        return word[:-2] + "is"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is", "us")):
        return WORD_FORMS.get(word[:-1], word[:-1])
    return word


def name_words(text: str) -> tuple[str, ...]:
    """A name as comparable words: lower case, no accents or punctuation, American spelling
    (haem -> hem, oedema -> edema, tumour -> tumor), singular, "mets" as "metastasis"."""
    text = re.sub(r"['\u2019]s\b", "", text.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("ae", "e").replace("oe", "e")
    return tuple(_word_form(w) for w in re.findall(r"[a-z0-9]+", text))


def name_key(text: str) -> str:
    """The form in which two spellings of an entity name are the same (name_words, spaced)."""
    return " ".join(name_words(text))


@attrs.frozen
class Number:
    """A probability with its provenance (``source``: one key, or several joined by ';')."""

    probability: float
    source: str
    grade: str

    @property
    def source_keys(self) -> tuple[str, ...]:
        return tuple(self.source.split(";"))


@attrs.frozen
class Condition:
    """One test on the findings, in a flag rule or a disagreement: one of is (a value; for a
    list finding, a value it holds), below or at_least (an integer finding). An unknown
    finding never satisfies it."""

    feature: str
    is_: str | None = None
    below: int | None = None
    at_least: int | None = None

    def holds(self, value: Any) -> bool:
        if value is None:
            return False
        if self.is_ is not None:
            return self.is_ in value if isinstance(value, tuple) else value == self.is_
        if self.below is not None:
            return value < self.below
        return value >= self.at_least


def conditions_hold(when, any_, unless, findings) -> bool:
    """Every condition of ``when`` holds, one of ``any_`` does (when it has any), none of ``unless``."""
    def holds(c: Condition) -> bool:
        return c.holds(findings.get(c.feature))

    return all(map(holds, when)) and (not any_ or any(map(holds, any_))) and not any(map(holds, unless))


@attrs.frozen
class Rule:
    """A flag raised by findings and, optionally, by the probability of some entities."""

    id: str
    kind: str
    message: str
    action: str
    when: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    unless: tuple[Condition, ...] = ()
    entities: tuple[str, ...] = ()
    min_probability: float = 0.0

    def holds(self, findings) -> bool:
        """Whether the findings raise it, leaving aside the probability of its entities."""
        return conditions_hold(self.when, self.any, self.unless, findings)


@attrs.frozen
class Disagreement:
    """Findings that cannot both hold (disagreements.toml): a pathologic fracture with the
    vertebral body uninvolved. Read as conditions like a flag rule's; the answer names them."""

    id: str
    why: str
    when: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    unless: tuple[Condition, ...] = ()

    def holds(self, findings) -> bool:
        return conditions_hold(self.when, self.any, self.unless, findings)

    def named(self, findings) -> tuple[str, ...]:
        """The findings whose conditions hold, each once, in the order the table names them."""
        return tuple(dict.fromkeys(c.feature for c in (*self.when, *self.any) if c.holds(findings.get(c.feature))))


@attrs.frozen
class Advice:
    """What to tell a reader whose findings point to different compartments (disagreements.toml
    [[advice]]): said when its conditions hold and the findings point to every compartment of
    ``pointing``. ``text`` is final: a {feature.value} in the file is the meaning features.toml
    gives that value, put in at load."""

    id: str
    text: str
    pointing: tuple[str, ...]
    when: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    unless: tuple[Condition, ...] = ()

    def applies(self, findings, pointed: Iterable[str]) -> bool:
        return set(self.pointing) <= set(pointed) and conditions_hold(self.when, self.any, self.unless, findings)


def _setting(low: float, high: float) -> Any:
    """A setting of model.toml that must be a number in [low, high] (the loader checks it)."""
    return attrs.field(metadata={"range": (low, high)})


@attrs.frozen
class Settings:
    """Modelling choices of the engine (model.toml, which says why each has its value), each
    with the range the loader accepts."""

    prior_flattening: float = _setting(0, 1)
    smoothing: float = _setting(0, 0.5)
    picture_floor: float = _setting(0, 0.2)
    clamp: float = _setting(0, 0.1)
    temperature: float = _setting(0.1, 10)
    dont_miss_floor: float = _setting(0, 0.5)
    reason_min_ratio: float = _setting(1, 100)
    conflict_ratio: float = _setting(1, 1000)
    # how often a finding read only within a picture (Feature.within) is given for a lesion that
    # does not show it: a position in the cord given for a mass beside the cord
    misplaced: float = _setting(0.001, 0.5)


@attrs.frozen(repr=False)
class Knowledge:
    """Everything the engine knows, validated, with log tables precomputed."""

    features: dict[str, Feature]
    entities: tuple[Entity, ...]
    sources: dict[str, Source]
    priors: dict[str, Number]
    likelihoods: dict[tuple[str, str, str], Number]
    rules: tuple[Rule, ...]
    settings: Settings
    population: str
    # log prior, per entity in entity order, and (feature, outcome) -> per-entity
    # weight x log P(outcome | entity) / temperature (list features also have
    # (feature, outcome + "!absent"); the level's terms are given that the lesion
    # lies in some region, plus a constant that is the same for every entity; a
    # picture sign has the untempered log P(sign | entity) of the picture model,
    # read alone). An entity's score is
    # its log_prior plus what each known finding adds (engine.evidence: the
    # picture signs together, through picture_tables), so the temperature
    # tempers the evidence and never the prior (no findings gives the priors).
    # Every number is a multiple of 2**-SCORE_BITS, so scores are exact sums.
    log_prior: tuple[float, ...]
    # the model's prior probability of each entity, in entity order
    prior: tuple[float, ...]
    log_tables: dict[tuple[str, str], tuple[float, ...]]
    # (feature, value) -> the value's rate across all lesions under the model's
    # prior, what every likelihood is shrunk towards (model.toml: smoothing)
    base_rates: dict[tuple[str, str], float] = attrs.Factory(dict)
    # the compartment pictures (pictures.csv) and the signs that show them, in
    # features.toml order; P(sign = value | picture) as given in pictures.csv
    pictures: tuple[str, ...] = ()
    picture_signs: tuple[str, ...] = ()
    picture_rates: dict[tuple[str, str, str], Number] = attrs.Factory(dict)
    # each entity's share of each picture (counted in locations.csv, else fitted
    # to its sign probabilities; each at least picture_floor), in entity order
    picture_shares: tuple[tuple[float, ...], ...] = ()
    # entity -> picture -> its counted share (locations.csv), for the entities it lists
    locations: dict[str, dict[str, Number]] = attrs.Factory(dict)
    # (one value or None per picture sign) -> per entity log P(those signs | entity),
    # untempered: the signs of a picture count once, together
    picture_tables: dict[tuple, tuple[float, ...]] = attrs.Factory(dict)
    # (finding with implies, the implied findings known no) -> the weighted, tempered log P(one
    # of the other implied findings is yes | entity); its log tables include the one with none
    # known no, which engine.evidence takes back out once one is known yes (it then says so
    # itself) or narrows to the others when some are known no
    implied_tables: dict[tuple[str, tuple[str, ...]], tuple[float, ...]] = attrs.Factory(dict)
    # (picture, the picture signs known as in picture_tables' keys) -> log P(the entity shows that
    # picture | those signs) per entity, for the findings read within it (Feature.within); with no
    # sign known it is the entity's share of the picture, which their log tables include
    within_tables: dict[tuple[str, tuple], tuple[float, ...]] = attrs.Factory(dict)
    # findings that cannot both hold (disagreements.toml), named when they are given together
    disagreements: tuple[Disagreement, ...] = ()
    # advice for findings that point to different compartments (disagreements.toml [[advice]])
    advice: tuple[Advice, ...] = ()

    def __repr__(self) -> str:
        return (f"<Knowledge: {len(self.entities)} entities, {len(self.features)} findings, "
                f"{len(self.likelihoods)} likelihoods, {len(self.sources)} sources>")

    def scale(self, feature_id: str) -> float:
        """What a finding's log likelihood is multiplied by in log_tables: its weight over the
        temperature, or 1 for a picture sign (its picture is neither weighted nor tempered)."""
        if feature_id in self.picture_signs:
            return 1.0
        return self.features[feature_id].weight / self.settings.temperature

    @property
    def entity_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entities)

    def entity(self, entity_id: str) -> Entity:
        for e in self.entities:
            if e.id == entity_id:
                return e
        raise unknown_id(entity_id, [e.id for e in self.entities], "an entity id")

    def likelihood(self, entity_id: str, feature: str, outcome: str) -> Number | None:
        return self.likelihoods.get((entity_id, feature, outcome))


def unknown_id(entity_id: Any, ids: list[str], noun: str) -> KeyError:
    """The KeyError for an id that is none of ``ids``: the closest one, else where they are listed."""
    from ..spelling import closest

    close = closest(str(entity_id).lower().replace(" ", "_"), ids)
    hint = f"; did you mean {close!r}?" if close else " (the ids `ddx entities` lists)"
    return KeyError(f"{entity_id!r} is not {noun}{hint}")
