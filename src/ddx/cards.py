"""Knowledge cards and vocabulary listings, built from the knowledge base.

A card says what ddx knows about one entity: where it lives, whether it is a
don't-miss and why, the typical patient (from the card text and from the
numbers), the findings that favour and disfavour it with their likelihood
ratios, the next step, and the citation behind every number. The listings
describe the vocabulary (`ddx entities`, `ddx features`). Everything here is
computed from the Knowledge; nothing is typed in by hand, so the cards and
the generated docs follow the data when it is tuned. No click: cli.py wires
these to the terminal.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import textwrap
from typing import Any

import attrs

from .assessment import percent
from .engine import finding_vector
from .findings import quoted
from .knowledge import COMPARTMENT_NAMES, COMPARTMENTS, Entity, Feature, Knowledge, Number
from .knowledge.records import AMBIGUOUS_COMPARTMENTS, COMPARTMENT_SHORTHANDS, COMPARTMENT_SYNONYMS, GRADES, name_key, outcome_text
from .render import DISCLAIMER, paint

#: Sections of the feature schema that describe the patient and the site:
#: their numbers are shown on the card as the entity's typical profile.
PROFILE_SECTIONS = ("Patient", "Where it is")
#: How many findings each way a card lists by default.
TOP = 8
WIDTH = 96
DONT_MISS_LABEL = "!! DON'T MISS"
#: How a card's list of numbers by source names the prior of priors.csv: the data prior, not
#: the prior the model starts from (see prior_fields).
DATA_PRIOR = "data_prior"
#: The pseudo-feature of a source's counted location shares (locations.csv) on a card.
LOCATION = "location"


class UnknownEntityError(LookupError):
    """Text that names no entity, or several: with the entities it could mean.

    ``ambiguous`` is true when the text fits several entities rather than
    being a misspelling; ``generic`` when its words only say where the lesion
    is or what kind it is (GENERIC_WORDS), so that no reading of it, however
    narrowed, names an entity; ``what`` says what it names instead (a
    compartment, a syndrome), ``lead`` what the candidates are to it and
    ``listed`` where the entities are listed; ``guess`` is the first
    candidate, if any.
    """

    def __init__(
        self,
        text: str,
        candidates: tuple[str, ...] = (),
        *,
        ambiguous: bool = False,
        generic: bool = False,
        what: str = "",
        lead: str = "",
        listed: str = "`ddx entities` lists them",
    ):
        self.text = text
        self.candidates = tuple(candidates)
        self.ambiguous = ambiguous
        self.generic = generic
        self.what = what
        self.lead = lead
        self.listed = listed
        self.guess = self.candidates[0] if self.candidates else None
        super().__init__(self.message())

    def message(self, noun: str = "a known entity") -> str:
        text = f"{quoted(self.text.strip())} is "
        if self.what:
            text += f"{self.what}, not {noun}"
        else:
            text += f"not {noun}" + (" on its own" if self.ambiguous or self.generic else "")
        if self.candidates:
            text += f"; did you mean {self.lead}{_either(self.candidates)}?"
        return text + f" ({self.listed})"

    def __str__(self) -> str:
        return self.args[0]


def _either(items: tuple[str, ...]) -> str:
    quoted = [repr(i) for i in items]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


@attrs.frozen
class Spelling:
    """One way to name an entity, in name_key form; ``alias`` when it comes from entities.toml aliases."""

    key: str
    entity: str
    alias: bool


#: Words left out of an abbreviation ("GCTB": giant cell tumour of bone).
_MINOR_WORDS = frozenset({"of", "the", "or", "and", "a"})
#: Words of names that say where a lesion is (PLACE_WORDS), and with them what it is like or
#: what kind of lesion it is (GENERIC_WORDS), but not which (in name_key form): 'conus',
#: 'malignant', 'bone cyst' name no entity, so a start or words of a name are read as naming
#: one only beside a word not listed here, or as a long enough start of one name (WHOLE_START).
PLACE_WORDS = frozenset(
    {
        "spinal", "spine", "cord", "vertebral", "vertebra", "body", "bone", "osseous", "disc",
        "epidural", "extradural", "intradural", "subdural", "intramedullary", "extramedullary",
        "dural", "dura", "arachnoid", "subarachnoid", "csf", "conus", "cauda", "equina", "filum",
        "terminale", "craniocervical", "cervical", "thoracic", "lumbar", "sacral", "sacrum",
        "sacrococcygeal", "nerve", "root", "sheath", "midline", "peripheral", "paraspinal",
    }
)
GENERIC_WORDS = PLACE_WORDS | frozenset(
    {
        # properties
        "malignant", "benign", "aggressive", "typical", "atypical", "fibrous", "venous",
        "arterial", "arteriovenous", "vascular", "congestive", "cavernous", "capillary",
        "diffuse", "primary", "secondary", "conventional", "solitary", "multiple", "metastatic",
        "transverse", "free", "cystic", "solid",
        # kinds of lesion
        "tumor", "neoplasm", "lesion", "mass", "cyst", "malformation", "myelopathy", "disease",
        "syndrome", "compression",
    }
)
#: Words for where a lesion is (name_key form), with the compartments each names: the quiz's
#: words for a compartment, but 'epidural', which starts the names of entities a reader may
#: look up ('epidural abscess').
COMPARTMENT_WORDS = {
    **{name_key(c): (c,) for c in COMPARTMENTS},
    **{name_key(name): (c,) for c, name in COMPARTMENT_NAMES.items()},
    **{name_key(w): (c,) for w, c in COMPARTMENT_SHORTHANDS.items()},
    **{name_key(w): (c,) for w, c in COMPARTMENT_SYNONYMS.items() if w != "epidural"},
    **{name_key(w): cs for w, cs in AMBIGUOUS_COMPARTMENTS.items()},
}
#: The names of the syndromes of the entities' associations and how a reader writes them
#: (name_key form, without the words of SYNDROME_FILLER); a syndrome features.toml adds is
#: read by its id.
SYNDROME_NAMES = {
    "nf1": ("neurofibromatosis type 1", ("nf 1", "neurofibromatosis", "neurofibromatosis 1")),
    "nf2": ("neurofibromatosis type 2", ("nf 2", "neurofibromatosis", "neurofibromatosis 2")),
    "vhl": ("von Hippel-Lindau disease", ("von hippel lindau",)),
}
SYNDROME_FILLER = frozenset({"type", "disease", "syndrome"})
#: A start of a name must be at least this long to name it.
MIN_START = 4
#: A start of one entity's name this many words long (of 3 letters or more) names it even
#: when its words are all generic ('malignant peripheral nerve sheath tumo'), unless they
#: are all places; a shorter one ('spinal dural') must hold a word that tells which entity.
WHOLE_START = 3
#: At most this many different words of a refused name are read one by one.
ONE_BY_ONE = 20
#: How close (difflib ratio) a misspelling must be to be suggested; a word shorter than
#: LONG_TYPO letters must also be one edit away at most (one letter more, less, changed or
#: swapped), and one of 3 letters or fewer, an abbreviation, only a letter short (see _slip).
TYPO_CUTOFF = 0.75
LONG_TYPO = 7

_SPELLINGS: dict[int, tuple[Knowledge, tuple[Spelling, ...]]] = {}


def spellings(kb: Knowledge) -> tuple[Spelling, ...]:
    """Every way to name each entity: its id, its name, the name without its parenthesis,
    each phrase of the name ("drop metastases", "hemangiopericytoma") that belongs to it
    alone, and its aliases (cached per knowledge base)."""
    cached = _SPELLINGS.get(id(kb))
    if cached is not None and cached[0] is kb:
        return cached[1]
    full = {e.id: f" {name_key(e.name)} " for e in kb.entities}
    out = []
    for e in kb.entities:
        base = e.name.split(" (", 1)[0]
        keys = [name_key(e.id), name_key(e.name), name_key(base)]
        for phrase in re.split(r" / | or ", base):
            key = name_key(phrase)
            if key and [i for i, words in full.items() if f" {key} " in words] == [e.id]:
                keys.append(key)
        out += [Spelling(k, e.id, False) for k in dict.fromkeys(keys)]
        out += [Spelling(name_key(a), e.id, True) for a in e.aliases]
    table = tuple(out)
    if len(_SPELLINGS) > 8:
        _SPELLINGS.clear()
    _SPELLINGS[id(kb)] = (kb, table)
    return table


def find_entity(kb: Knowledge, text: str) -> Entity:
    """The entity a reader names, the one matcher of `ddx explain` and `ddx quiz`.

    Case, punctuation, British spelling (haem, oedema, tumour), plurals and
    "mets" do not matter. An id, a name, a phrase of a name that belongs to
    one entity, or an alias from entities.toml names an entity in full; so
    does a start of at least MIN_START letters of one of them, or words that
    start words of its id or name ("abscess", "pilocytic"; see _fits), when no
    other entity's spelling shares them and one of them says which entity it
    is, not only where or what kind (GENERIC_WORDS: "conus", "malignant" and
    "bone cyst" name none); a start of one name WHOLE_START words long, not
    all places, or of an id being typed ('cavernous_malf'), names it too. A
    start or words found only in aliases are
    suggested, not taken: an alias is a phrase ("metastatic spinal cord
    compression"), and a word of it ("cord compression") names no entity.
    Anything else raises UnknownEntityError with every entity it could mean:
    those whose spellings start with it, have words it fits or abbreviate to
    it ("PNST": three nerve sheath tumours), else the closest misspellings,
    else those that its telling words fit one by one. Nothing ambiguous is
    guessed.
    """
    key = name_key(text)
    table = spellings(kb)
    if not key:
        raise UnknownEntityError(text)
    exact = _owners(kb, (s for s in table if s.key == key))
    if len(exact) == 1:
        return kb.entity(exact[0])
    if exact:
        raise UnknownEntityError(text, exact, ambiguous=True)
    _refuse_a_compartment_or_a_syndrome(kb, text, key)
    words = _typed_words(table, key)
    every = _entity_words(table)
    named = _entity_words(s for s in table if not s.alias)
    if len(key) >= MIN_START:
        starts = [s for s in table if s.key.startswith(key)]
        owners = _owners(kb, starts)
        if len(owners) == 1 and any(not s.alias for s in starts) and (
                _tells(words, every[owners[0]]) or _whole_start(words) or _typed_id(text, owners[0], starts)):
            return kb.entity(owners[0])
        if len(owners) > 1:
            raise UnknownEntityError(text, owners, ambiguous=True, generic=not any(_tells(words, every[o]) for o in owners))
    by_words = _by_words(kb, every, words)
    found = {*by_words, *_abbreviated(table, key)}
    candidates = tuple(i for i in kb.entity_ids if i in found)
    generic = bool(by_words) and not any(_tells(words, every[e]) for e in by_words)
    if len(candidates) == 1 and not generic and _by_words(kb, named, words) == candidates:
        return kb.entity(candidates[0])
    if candidates:
        raise UnknownEntityError(text, candidates, ambiguous=len(candidates) > 1, generic=generic)
    raise UnknownEntityError(text, _misspelt(kb, table, key, words) or _one_by_one(kb, named, words))


def _whole_start(words: list[str]) -> bool:
    """Whether the typed words (those read) are enough of a name to name it though they are all
    generic: WHOLE_START of them, not all places ('intramedullary spinal cord' says only where)."""
    return len(words) >= WHOLE_START and any(w not in PLACE_WORDS for w in words)


def _typed_id(text: str, entity: str, starts: list[Spelling]) -> bool:
    """Whether ``text`` is written as an id (with '_') and starts the entity's id ('cavernous_malf')."""
    return "_" in text and any(s.key == name_key(entity) for s in starts)


def _refuse_a_compartment_or_a_syndrome(kb: Knowledge, text: str, key: str) -> None:
    """Raise UnknownEntityError saying what ``key`` names when it is a compartment (with where
    its entities are listed) or a syndrome (with the entities associated with it)."""
    compartments = COMPARTMENT_WORDS.get(key)
    if compartments:
        names = " or ".join(COMPARTMENT_NAMES[c].lower() for c in compartments)
        if key in (name_key(c) for c in compartments):
            what = "a compartment"
        elif key in (name_key(w) for w in COMPARTMENT_SHORTHANDS):
            what = f"a compartment ({names})"
        else:
            what = f"a place in the {names} compartment"
        count = sum(e.compartment in compartments for e in kb.entities)
        raise UnknownEntityError(text, what=what, listed=f"`ddx entities` lists {'its' if len(compartments) == 1 else 'their'} {count} entities")
    bare = " ".join(w for w in key.split() if w not in SYNDROME_FILLER)
    syndromes = _syndromes(kb)
    named = [s for s, (_, written) in syndromes.items() if bare in written]
    if named:
        associated = tuple(e.id for e in kb.entities if set(e.associations) & set(named))
        what = f"a syndrome ({' or '.join(syndromes[s][0] for s in named)})"
        raise UnknownEntityError(text, associated, what=what, lead="an entity associated with it: ")


def _syndromes(kb: Knowledge) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each syndrome value of the syndrome finding (not its 'none'): its name and how it is written."""
    feature = kb.features.get("syndrome")
    values = [v for v in feature.values if v != feature.exclusive] if feature is not None else list(SYNDROME_NAMES)
    out = {}
    for v in values:
        name, written = SYNDROME_NAMES.get(v, (v, ()))
        out[v] = (name, (name_key(v), *written))
    return out


def _owners(kb: Knowledge, matched) -> tuple[str, ...]:
    """The entities of some spellings, in knowledge-base order."""
    found = {s.entity for s in matched}
    return tuple(i for i in kb.entity_ids if i in found)


def _entity_words(table) -> dict[str, set[str]]:
    """The words of each entity's spellings."""
    words: dict[str, set[str]] = {}
    for s in table:
        words.setdefault(s.entity, set()).update(s.key.split())
    return words


def _typed_words(table: tuple[Spelling, ...], key: str) -> list[str]:
    """The words of ``key`` that are read: those of 3 letters or more but the minor words, and,
    beside others, a shorter one that is a word of some spelling (the 'AV' of 'dural AV
    fistula'; alone, such a word names an entity only as its alias does)."""
    typed = key.split()
    known = {w for s in table for w in s.key.split() if len(w) < 3} if len(typed) > 1 else set()
    return [w for w in typed if w not in _MINOR_WORDS and (len(w) >= 3 or w in known)]


def _fits(fragment: str, word: str) -> bool:
    """Whether a typed word fits a word of a name: it starts it, or it starts a stem of a
    compound after the combining 'o' (chondro-sarcoma, ganglio-glioma, spondylo-discitis); a
    word of one or two letters only fits itself. So 'glio' and 'glioma' fit ganglioglioma but
    not paraganglioma, and 'men' does not fit 'fragment'."""
    if len(fragment) < 3:
        return fragment == word
    if word.startswith(fragment):
        return True
    return len(fragment) >= MIN_START and any(word[i - 1] == "o" and word.startswith(fragment, i) for i in range(1, len(word)))


def _tells(words: list[str], entity_words: set[str]) -> bool:
    """Whether some typed word, not itself generic, fits a word of the entity that is not
    generic: the words say which entity, not only where it is or what kind."""
    return any(_fits(w, x) for w in words if w not in GENERIC_WORDS for x in entity_words if x not in GENERIC_WORDS)


def _by_words(kb: Knowledge, every: dict[str, set[str]], words: list[str]) -> tuple[str, ...]:
    """Entities with every typed word fitting one of their words."""
    hits = {e for e, ws in every.items() if words and all(any(_fits(w, x) for x in ws) for w in words)}
    return tuple(i for i in kb.entity_ids if i in hits)


def _one_by_one(kb: Knowledge, named: dict[str, set[str]], words: list[str]) -> tuple[str, ...]:
    """For words that together fit no entity, the entities whose ids and names each telling
    word fits on its own ('AV malformation': the AV of the dural AV fistula, not the
    cavernous malformation)."""
    words = list(dict.fromkeys(words))[:ONE_BY_ONE]
    if len(words) < 2:
        return ()
    return tuple(e for e in kb.entity_ids if any(_tells([w], named.get(e, set())) for w in words))


def _abbreviated(table: tuple[Spelling, ...], key: str) -> set[str]:
    """Entities with a run of words that ``key`` (one word of 3 to 6 letters) abbreviates."""
    if " " in key or not 3 <= len(key) <= 6:
        return set()
    return {s.entity for s in table if key in "".join(w[0] for w in s.key.split() if w not in _MINOR_WORDS)}


def _misspelt(kb: Knowledge, table: tuple[Spelling, ...], key: str, words: list[str]) -> tuple[str, ...]:
    """The entities whose spelling (else one word of it, not a generic one) is closest to
    ``key``, among those it could be a slip of (_slip). A spelling is one only when it is a
    letter away or each typed word that tells which entity (``words`` but the generic ones)
    fits or is a slip of one of its words: 'AV malformation' is no slip of 'cavernous
    malformation', though most of its letters are."""
    telling = [w for w in words if w not in GENERIC_WORDS]
    full: dict[str, set[str]] = {}
    singles: dict[str, set[str]] = {}
    for s in table:
        theirs = s.key.split()
        if _one_edit(key, s.key) or all(any(_fits(w, x) or _slip(w, x) for x in theirs) for w in telling):
            full.setdefault(s.key, set()).add(s.entity)
        for w in theirs:
            if len(w) >= MIN_START and w not in GENERIC_WORDS:
                singles.setdefault(w, set()).add(s.entity)
    for targets in (full, singles):
        close = [t for t in difflib.get_close_matches(key, list(targets), n=8, cutoff=TYPO_CUTOFF) if _slip(key, t)]
        if close:
            best = difflib.SequenceMatcher(None, key, close[0]).ratio()
            near = [t for t in close if difflib.SequenceMatcher(None, key, t).ratio() >= best - 0.05]
            found = set().union(*(targets[t] for t in near))
            return tuple(i for i in kb.entity_ids if i in found)
    return ()


def _slip(typed: str, meant: str) -> bool:
    """Whether ``typed`` may be a slip of ``meant``: close (TYPO_CUTOFF) and, if shorter than
    LONG_TYPO, one edit away; an abbreviation of 3 letters or fewer only with one of its
    letters left out ('AVF' for 'DAVF', not 'VHL' for 'VH')."""
    matcher = difflib.SequenceMatcher(None, typed, meant)
    if matcher.real_quick_ratio() < TYPO_CUTOFF or matcher.ratio() < TYPO_CUTOFF:
        return False
    if len(typed) <= 3:
        return any(meant[:i] + meant[i + 1 :] == typed for i in range(len(meant)))
    return len(typed) >= LONG_TYPO or _one_edit(typed, meant)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` is ``b`` but for one letter added, removed, changed or swapped with the next."""
    return abs(len(a) - len(b)) <= 1 and _edits(a, b) <= 1


def _edits(a: str, b: str) -> int:
    """The fewest letters added, removed, changed or swapped with the next to turn ``a`` into ``b``."""
    before, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]


# ---------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------


@attrs.frozen
class Pull:
    """One finding value's pull on the entity: its likelihood ratio against the rest."""

    feature: str
    value: str
    ratio: float
    number: Number | None  # P(value | entity) as given in the tables; None when derived
    shown: str = ""  # the value as a reader writes it ("75+" for the band 75-120)
    # for a picture sign: P(value | entity) as the picture model gives it (what the ratio uses)
    model: float | None = None

    @property
    def label(self) -> str:
        return f"{self.feature.replace('_', ' ')} {self.shown or self.value}"


@attrs.frozen
class Share:
    """P(value | entity) for one value of a profile finding."""

    value: str
    number: Number
    shown: str = ""


@attrs.frozen
class Profile:
    """The entity's numbers for one patient or site finding.

    ``each`` is true for list findings (level, syndrome): each value is the
    probability that it is present, so they do not sum to 1.
    """

    feature: str
    each: bool
    shares: tuple[Share, ...]


@attrs.frozen
class Cited:
    """One source and the numbers of this entity it stands behind."""

    key: str
    citation: str
    url: str
    grade: str | None
    numbers: tuple[tuple[str, str, float], ...]  # (feature or DATA_PRIOR, value, probability)
    in_card_text: bool


@attrs.frozen
class Card:
    entity: Entity
    prior: float  # what the engine starts from (priors.csv flattened within the compartment)
    data_prior: Number  # as given in priors.csv, with its source
    profile: tuple[Profile, ...]
    favour: tuple[Pull, ...]
    against: tuple[Pull, ...]
    cited: tuple[Cited, ...]
    number_count: int  # numbers of this entity (one cited by two sources counts once)
    # (picture, share): how often it shows each compartment picture, fitted to its signs
    # or, where a series counts where its lesions lie (locations.csv), counted
    pictures: tuple[tuple[str, float], ...] = ()
    pictures_counted: bool = False


def finding_values(feature: Feature) -> list[tuple[str, Any]]:
    """Every single answer to a finding, as (label, the value the engine reads).

    A list finding is read as that one value alone (``--level thoracic``);
    its exclusive value (``syndrome none``) as none of them. An integer
    finding is read per band.
    """
    if feature.kind == "integer":
        return [(f"{lo}-{hi}", lo) for lo, hi in feature.bands]
    if feature.kind == "list":
        out: list[tuple[str, Any]] = [(v, (v,)) for v in feature.outcomes]
        if feature.exclusive:
            out.append((feature.exclusive, ()))
        return out
    return [(v, v) for v in feature.values]


def likelihood_ratio(kb: Knowledge, vector: tuple[float, ...], i: int) -> float:
    """A finding's likelihood ratio for entity i against the prior-weighted rest.

    The engine's own computation (engine.likelihood_ratios), so a card's ratio
    is the ratio `ddx assess` shows for that finding alone.
    """
    from .engine import likelihood_ratios

    return likelihood_ratios(kb, vector)[i]


def pulls(kb: Knowledge, entity_id: str) -> list[Pull]:
    """Every answer to every finding with its likelihood ratio for this entity."""
    i = kb.entity_ids.index(entity_id)
    out = []
    for feature in kb.features.values():
        for label, value in finding_values(feature):
            vector = finding_vector(kb, feature, value)
            if vector is None:
                continue
            number = kb.likelihood(entity_id, feature.id, label)
            model = math.exp(vector[i]) if feature.picture else None
            out.append(Pull(feature.id, label, likelihood_ratio(kb, vector, i), number, outcome_text(feature, label), model))
    return out


def _profile(kb: Knowledge, entity_id: str) -> tuple[Profile, ...]:
    out = []
    for feature in kb.features.values():
        if feature.section not in PROFILE_SECTIONS:
            continue
        shares = tuple(
            Share(o, n, outcome_text(feature, o)) for o in feature.outcomes if (n := kb.likelihood(entity_id, feature.id, o)) is not None
        )
        if shares:
            out.append(Profile(feature.id, feature.kind == "list", shares))
    return tuple(out)


def source_keys(n: Number) -> list[str]:
    """The keys of sources.toml behind one number (a number may cite several, 'A;B'; the
    loader stores them without spaces)."""
    return list(n.source_keys)


def entity_numbers(kb: Knowledge, entity_id: str) -> list[tuple[str, str, Number]]:
    """Every number of one entity: its data prior (labelled DATA_PRIOR), then its likelihoods in schema order."""
    out = [(DATA_PRIOR, "", kb.priors[entity_id])]
    for feature in kb.features.values():
        for o in feature.outcomes:
            n = kb.likelihood(entity_id, feature.id, o)
            if n is not None:
                out.append((feature.id, o, n))
    return out


def _cited(kb: Knowledge, entity: Entity) -> tuple[Cited, ...]:
    numbers: dict[str, list[tuple[str, str, float]]] = {}
    grades: dict[str, str] = {}
    located = [(LOCATION, picture, n) for picture, n in kb.locations.get(entity.id, {}).items()]
    for feature, value, n in [*entity_numbers(kb, entity.id), *located]:
        for key in source_keys(n):
            numbers.setdefault(key, []).append((feature, value, n.probability))
            grades.setdefault(key, n.grade)
    keys = list(numbers) + [k for k in entity.sources if k not in numbers]

    def grade_of(key: str) -> str | None:
        return kb.sources[key].grade or grades.get(key)

    keys.sort(key=lambda k: (GRADES.index(g) if (g := grade_of(k)) in GRADES else len(GRADES), k not in numbers, k))
    return tuple(
        Cited(
            key=k,
            citation=kb.sources[k].citation,
            url=kb.sources[k].url,
            grade=grade_of(k),
            numbers=tuple(numbers.get(k, ())),
            in_card_text=k in entity.sources,
        )
        for k in keys
    )


def _identity(e: Entity) -> dict[str, Any]:
    """What names and places an entity, as the JSON of cards and listings gives it."""
    return {
        "id": e.id,
        "name": e.name,
        "aliases": list(e.aliases),
        "compartment": e.compartment,
        "dont_miss": e.dont_miss,
        "mimic": e.mimic,
    }


def prior_fields(model: float, data: Number) -> dict[str, Any]:
    """An entity's priors under the keys both JSON outputs give them alike: ``model_prior`` is
    what the engine starts from, ``data_prior`` the number in priors.csv, with its source and
    grade. (Each output also keeps the ``prior`` it has always had: the model prior in
    `ddx entities`, the priors.csv number with its source in `ddx explain`.)"""
    return {
        "model_prior": round(model, 6),
        "data_prior": data.probability,
        "data_prior_source": data.source,
        "data_prior_grade": data.grade,
    }


def model_prior(kb: Knowledge, entity_id: str) -> float:
    """The prior the engine starts from (Knowledge.prior): priors.csv with the spread
    within each compartment flattened (model.toml prior_flattening), compartment totals kept."""
    return kb.prior[kb.entity_ids.index(entity_id)]


def build_card(kb: Knowledge, entity_id: str, *, top: int = TOP) -> Card:
    """The knowledge card of one entity (``top`` findings each way)."""
    entity = kb.entity(entity_id)
    threshold = kb.settings.reason_min_ratio
    every = pulls(kb, entity_id)
    favour = sorted((p for p in every if p.ratio >= threshold), key=lambda p: (-p.ratio, p.feature, p.value))
    against = sorted((p for p in every if p.ratio <= 1 / threshold), key=lambda p: (p.ratio, p.feature, p.value))
    return Card(
        entity=entity,
        prior=model_prior(kb, entity_id),
        data_prior=kb.priors[entity_id],
        profile=_profile(kb, entity_id),
        favour=tuple(favour[:top]),
        against=tuple(against[:top]),
        cited=_cited(kb, entity),
        number_count=len(entity_numbers(kb, entity_id)) + len(kb.locations.get(entity_id, {})),
        pictures=_pictures(kb, entity_id),
        pictures_counted=entity_id in kb.locations,
    )


def _pictures(kb: Knowledge, entity_id: str) -> tuple[tuple[str, float], ...]:
    if not kb.picture_shares:
        return ()
    shares = kb.picture_shares[kb.entity_ids.index(entity_id)]
    return tuple(sorted(zip(kb.pictures, shares), key=lambda item: -item[1]))


def _pictures_from(card: Card) -> str:
    return "counted where its lesions lie" if card.pictures_counted else "fitted to its numbers"


def pictures_text(card: Card) -> str:
    """'intramedullary 96%, none 2%, ...': the compartment pictures the entity shows, most often first."""
    return ", ".join(f"{picture.replace('_', ' ')} {percent(share)}" for picture, share in card.pictures)


# ---------------------------------------------------------------------------
# Card formats
# ---------------------------------------------------------------------------


def _times(x: float) -> str:
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def _ratio_text(ratio: float) -> str:
    """x7.3 for a ratio above 1, /6.2 for one below (as `ddx assess` writes them)."""
    return f"x{_times(ratio)[:-1]}" if ratio >= 1 else f"/{_times(1 / ratio)[:-1]}"


def _prob(p: float) -> str:
    return f"{p:.4g}"


PICTURE_NOTE = (
    "The cord and CSF signs (cord, csf, csf cap, dural sac displaced) count together, as one "
    "compartment picture: each ratio here is the sign read alone, and in an assessment each is "
    "weighed given the others (so two signs that say the same thing count about once). Where "
    "the picture {how} differs from the table, 'picture model' is what the engine uses."
)


def _picture_note(card: Card) -> str:
    how = "counted where this entity's lesions lie (locations.csv)" if card.pictures_counted else "fitted to this entity"
    return PICTURE_NOTE.format(how=how)


def _shows_picture_signs(card: Card) -> bool:
    return any(p.model is not None for p in (*card.favour, *card.against))


#: A picture sign's table number is shown with the picture model's when they differ by this much.
MODEL_SHOWN = 0.05


def _number_text(n: Number | None, model: float | None = None) -> str:
    if n is None:
        return "-"
    text = f"{_prob(n.probability)} ({'+'.join(source_keys(n))}, {n.grade})"
    if model is not None and abs(model - n.probability) >= MODEL_SHOWN:
        text += f"; picture model {_prob(model)}"
    return text


def _provenance(n: Number) -> str:
    return f"{'+'.join(source_keys(n))}, grade {n.grade}"


def _pull_text(p: Pull, name: str) -> str:
    if p.ratio >= 1:
        return f"{p.label}: {_times(p.ratio)} as likely with {name} as with the alternatives"
    return f"{p.label}: {_times(1 / p.ratio)} less likely with {name} than with the alternatives"


def _profile_text(p: Profile) -> str:
    parts = " · ".join(f"{s.shown or s.value} {percent(s.number.probability)}" for s in p.shares)
    return f"{p.feature.replace('_', ' ')}{' (how often each is present)' if p.each else ''}: {parts}"


def _numbers_by_feature(numbers, kb: Knowledge) -> dict[str, list[str]]:
    """Numbers of one source grouped by finding: {'cord': ['expanded 0.9', 'displaced 0.03']}."""
    by_feature: dict[str, list[str]] = {}
    for feature, value, p in numbers:
        if feature == DATA_PRIOR:
            text = _prob(p)
        elif feature == LOCATION:
            text = f"{value.replace('_', ' ')} {_prob(p)}"
        else:
            text = f"{outcome_text(kb.features[feature], value)} {_prob(p)}"
        by_feature.setdefault(feature.replace("_", " "), []).append(text)
    return by_feature


def _numbers_text(numbers, kb: Knowledge) -> list[str]:
    """Numbers of one source grouped by finding: 'cord: expanded 0.9, displaced 0.03'."""
    return [f"{f}: {', '.join(v)}" for f, v in _numbers_by_feature(numbers, kb).items()]


def _pack(head: str, items: list[str], indent: str) -> list[str]:
    """'head: a, b, c' wrapped at WIDTH, breaking only between items."""
    lines, line = [], f"{indent}{head}: "
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        if len(line) + len(piece) > WIDTH and line.strip():
            lines.append(line.rstrip())
            line = indent + "  "
        line += piece + " "
    lines.append(line.rstrip())
    return lines


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent) or [indent.rstrip()]


def card_record(card: Card, kb: Knowledge) -> dict[str, Any]:
    """The card as a JSON-ready mapping (every number with its source and grade)."""
    e = card.entity

    def number(n: Number | None):
        return None if n is None else {"probability": n.probability, "source": n.source, "grade": n.grade}

    def pull(p: Pull):
        record = {"feature": p.feature, "value": p.value, "ratio": round(p.ratio, 3), "likelihood": number(p.number), "text": _pull_text(p, e.name)}
        if p.model is not None:
            record["picture_model"] = round(p.model, 4)
        return record

    return {
        **_identity(e),
        "why": e.why,
        "action": e.action or None,
        "associations": list(e.associations),
        "typical": e.typical,
        "summary": e.summary,
        "next_step": e.next_step,
        "prior": number(card.data_prior),
        **prior_fields(card.prior, card.data_prior),
        "profile": [
            {"feature": p.feature, "each": p.each, "values": [{"value": s.value, **number(s.number)} for s in p.shares]}
            for p in card.profile
        ],
        "pictures": [{"picture": picture, "share": round(share, 4)} for picture, share in card.pictures],
        "pictures_counted": card.pictures_counted,
        "for": [pull(p) for p in card.favour],
        "against": [pull(p) for p in card.against],
        "sources": [
            {
                "key": c.key,
                "citation": c.citation,
                "url": c.url or None,
                "grade": c.grade,
                "in_card_text": c.in_card_text,
                "numbers": [{"feature": f, "value": v or None, "probability": p} for f, v, p in c.numbers],
            }
            for c in card.cited
        ],
    }


def render_card_json(card: Card, kb: Knowledge) -> str:
    return json.dumps(card_record(card, kb), indent=2, ensure_ascii=False)


def _heading_line(e: Entity, color: bool) -> str:
    return f"{paint(e.name, 'bold', color)}  ({e.id})"


def render_card_table(card: Card, kb: Knowledge, *, color: bool = False, sources: bool = True) -> str:
    """The card for a terminal: sections, findings as tables, citations with their numbers."""
    from tabulate import tabulate

    e = card.entity
    name = e.name
    lines = [
        _heading_line(e, color),
        f"{paint('Compartment:', 'bold', color)} {paint(COMPARTMENT_NAMES[e.compartment], 'cyan', color)}"
        f"   prior {percent(card.prior, tenths=True)} (data {card.data_prior.probability:.1%}: {_provenance(card.data_prior)})",
    ]
    if e.mimic:
        lines.append(f"{paint('Mimic:', 'bold', color)} not a tumour, but it imitates one")
    if e.associations:
        lines.append(f"{paint('Associations:', 'bold', color)} {', '.join(a.upper() for a in e.associations)}")
    if e.aliases:
        also = textwrap.wrap(f"Also called: {', '.join(e.aliases)}", WIDTH, subsequent_indent="  ")
        lines += [paint("Also called:", "bold", color) + also[0][len("Also called:"):]] + also[1:]
    lines.append("")
    if e.dont_miss:
        why = e.why.removeprefix("Don't-miss:").strip()
        why = why[:1].upper() + why[1:]
        text = _wrap(f"{DONT_MISS_LABEL}  {why}", "")
        lines.append(paint(DONT_MISS_LABEL, "red", color) + text[0][len(DONT_MISS_LABEL):])
        lines += ["   " + t for t in text[1:]]
        lines += _wrap(f"-> {e.action}", "   ")
    else:
        lines += _wrap(e.why, "")
    lines += ["", paint("Typical patient", "bold", color)]
    lines += _wrap(e.typical)
    lines += [f"  {_profile_text(p)}" for p in card.profile]
    lines += ["", paint("Looks like", "bold", color)] + _wrap(e.summary)
    if card.pictures:
        lines += _wrap(f"Compartment picture (cord and CSF signs, {_pictures_from(card)}): {pictures_text(card)}")

    headers = ["finding", "ratio", f"P(finding | {e.id})"]
    for title, items in (
        ("Findings that favour it (likelihood ratio against the prior-weighted rest)", card.favour),
        ("Findings that argue against it", card.against),
    ):
        lines += ["", paint(title, "bold", color)]
        if items:
            rows = [[p.label, _ratio_text(p.ratio), _number_text(p.number, p.model)] for p in items]
            lines += ["  " + r for r in tabulate(rows, headers=headers, tablefmt="simple").splitlines()]
        else:
            lines.append("  none strong enough to list")
    if _shows_picture_signs(card):
        lines += [""] + _wrap(_picture_note(card), "  ")
    lines += ["", paint("Next step", "bold", color)] + _wrap(e.next_step)

    if not sources:
        keys = ", ".join(c.key for c in card.cited)
        lines += ["", paint("Sources", "bold", color)] + _wrap(f"{keys} (drop --no-sources to see every number under its citation)")
    for c in card.cited if sources else ():
        if c is card.cited[0]:
            lines += ["", paint(f"Sources ({card.number_count} numbers)", "bold", color)]
        lines.append(f"  [{c.key}] grade {c.grade or '-'}" + ("" if c.numbers else "  (cited by the card text)"))
        lines += _wrap(c.citation, "    ")
        if c.url:
            lines.append(f"    {c.url}")
        for head, items in _numbers_by_feature(c.numbers, kb).items():
            lines += _pack(head, items, "      ")
    lines += ["", paint(DISCLAIMER, "dim", color)]
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_card_markdown(card: Card, kb: Knowledge, *, level: int = 2) -> str:
    """The card as Markdown (the knowledge-base reference and `explain --format markdown`)."""
    from tabulate import tabulate

    e = card.entity
    h = "#" * level
    lines = [
        f"{h} {e.name}",
        "",
        f"- **id:** `{e.id}`",
        f"- **compartment:** {COMPARTMENT_NAMES[e.compartment]}",
        f"- **prior:** {card.prior:.4g} (what the model starts from; data {_prob(card.data_prior.probability)}: {_provenance(card.data_prior)})",
        f"- **don't miss:** {'yes' if e.dont_miss else 'no'}{' (mimic: not a tumour)' if e.mimic else ''}",
    ]
    if e.associations:
        lines.append(f"- **associations:** {', '.join(a.upper() for a in e.associations)}")
    if e.aliases:
        lines.append(f"- **also called:** {', '.join(_md_escape(a) for a in e.aliases)}")
    lines += ["", e.why]
    if e.dont_miss:
        lines += ["", f"**Action:** {e.action}"]
    lines += ["", f"**Typical patient.** {e.typical}", ""]
    lines += [f"- {_profile_text(p)}" for p in card.profile]
    lines += ["", f"**Looks like.** {e.summary}"]
    if card.pictures:
        lines += ["", f"**Compartment picture** (cord and CSF signs, {_pictures_from(card)}): {pictures_text(card)}."]
    lines += ["", f"**Next step.** {e.next_step}"]
    headers = ["finding", "ratio", f"P(finding \\| {e.id})"]
    for title, items in (("Findings that favour it", card.favour), ("Findings that argue against it", card.against)):
        lines += ["", f"**{title}** (likelihood ratio against the prior-weighted rest of the differential)", ""]
        if items:
            rows = [[p.label, _ratio_text(p.ratio), _md_escape(_number_text(p.number, p.model))] for p in items]
            lines.append(tabulate(rows, headers=headers, tablefmt="github"))
        else:
            lines.append("None strong enough to list.")
    if _shows_picture_signs(card):
        lines += ["", f"*{_picture_note(card)}*"]
    lines += ["", f"**Sources** ({card.number_count} numbers)", ""]
    for c in card.cited:
        cite = f"[{_md_escape(c.citation)}]({c.url})" if c.url else _md_escape(c.citation)
        note = "" if c.numbers else " — cited by the card text"
        lines.append(f"- `{c.key}` (grade {c.grade or '-'}): {cite}{note}")
        lines += [f"  - {t}" for t in _numbers_text(c.numbers, kb)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Vocabulary listings
# ---------------------------------------------------------------------------


def entity_rows(kb: Knowledge) -> list[dict[str, Any]]:
    """One mapping per entity, in knowledge-base order: id, name, compartment, flags, and the
    priors as the cards give them (prior_fields)."""
    rows = []
    for e in kb.entities:
        prior = model_prior(kb, e.id)
        rows.append({**_identity(e), "prior": round(prior, 6), **prior_fields(prior, kb.priors[e.id])})
    return rows


def values_text(feature: Feature, sep: str = "|") -> str:
    """The values of a finding as a reader writes them (an integer as its range)."""
    if feature.kind == "integer":
        return f"{feature.min}-{feature.max}"
    return sep.join(feature.values)


def feature_rows(kb_features: dict[str, Feature]) -> list[dict[str, Any]]:
    """One mapping per column of the input contract, in schema order."""
    rows = []
    for f in kb_features.values():
        row: dict[str, Any] = {
            "column": f.id,
            "option": f.option,
            "kind": f.kind,
            "section": f.section,
            "values": list(f.values),
            "help": f.help,
        }
        if f.kind == "integer":
            row.update({"min": f.min, "max": f.max, "bands": [f"{lo}-{hi}" for lo, hi in f.bands]})
        if f.kind == "list":
            row["exclusive"] = f.exclusive
        if f.meaning:
            row["meaning"] = dict(f.meaning)
        if f.alias:
            row["alias"] = dict(f.alias)
        rows.append(row)
    return rows


def render_entities_table(kb: Knowledge, *, color: bool = False) -> str:
    """The entities grouped by compartment, each group headed by its share of the prior."""
    from tabulate import tabulate

    rows = entity_rows(kb)
    parts = []
    for compartment in COMPARTMENTS:
        group = [r for r in rows if r["compartment"] == compartment]
        share = sum(model_prior(kb, r["id"]) for r in group)
        table = [
            [
                r["id"],
                r["name"],
                paint("DON'T MISS", "red", color) if r["dont_miss"] else "",
                "mimic" if r["mimic"] else "",
                percent(r["prior"], tenths=True),
                f"{r['data_prior']:.1%}",
            ]
            for r in group
        ]
        parts.append(f"{paint(COMPARTMENT_NAMES[compartment], 'bold', color)} ({len(group)} entities, {percent(share)} of the prior)")
        parts.append(
            tabulate(table, headers=["id", "name", "don't miss", "mimic", "prior", "data"], tablefmt="simple", disable_numparse=True, maxcolwidths=[None, 44, None, None, None, None])
        )
        parts.append("")
    parts.append("prior: what the model starts from; data: priors.csv before the spread within each compartment")
    parts.append("is flattened (model.toml prior_flattening). `ddx explain ID` shows the card of one entity.")
    return "\n".join(parts)


def render_features_table(kb_features: dict[str, Feature]) -> str:
    from tabulate import tabulate

    rows = [[f.id, f.kind, values_text(f, sep=", "), f.help] for f in kb_features.values()]
    table = tabulate(rows, headers=["column", "kind", "values", "help"], tablefmt="simple", maxcolwidths=[None, None, 30, 50])
    return table + "\n\nlist: several values separated by ';'. Blank or `unknown`: not assessed."
