"""Reading the name of an entity as a reader types it: `ddx explain` and `ddx quiz`.

An id, a name, an alias, a phrase of a name, a start of one or words of one
names an entity when nothing else could be meant; anything else is refused
with every entity it could mean (a misspelling, an abbreviation, words of
several names), or with what it names instead (a compartment, a syndrome).
Nothing ambiguous is guessed. No click: cli.py and quiz.py report the error.
"""

from __future__ import annotations

import difflib
import re

import attrs

from .findings import UNDECODED, quoted
from .spelling import SHORT_WORD, one_edit
from .knowledge import COMPARTMENT_NAMES, COMPARTMENTS, Entity, Knowledge, per_base
from .knowledge.records import AMBIGUOUS_COMPARTMENTS, COMPARTMENT_SHORTHANDS, COMPARTMENT_SYNONYMS, name_key


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
#: Words a syndrome's name may go with or without ('von Hippel-Lindau disease').
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
LONG_TYPO = SHORT_WORD

@per_base
def spellings(kb: Knowledge) -> tuple[Spelling, ...]:
    """Every way to name each entity: its id, its name, the name without its parenthesis,
    each phrase of the name ("drop metastases", "hemangiopericytoma") that belongs to it
    alone, and its aliases (cached per knowledge base)."""
    full = {e.id: f" {name_key(e.name)} " for e in kb.entities}
    out = []
    for e in kb.entities:
        base = short_name(e.name)
        keys = [name_key(e.id), name_key(e.name), name_key(base)]
        for phrase in re.split(r" / | or ", base):
            key = name_key(phrase)
            if key and [i for i, words in full.items() if f" {key} " in words] == [e.id]:
                keys.append(key)
        out += [Spelling(k, e.id, False) for k in dict.fromkeys(keys)]
        out += [Spelling(name_key(a), e.id, True) for a in e.aliases]
    return tuple(out)


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
    if UNDECODED.search(text):
        raise UnknownEntityError(text, what="not UTF-8 text (it holds a byte the terminal's encoding could not read)")
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
    _refuse_a_finding(kb, text, key)
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


def _refuse_a_finding(kb: Knowledge, text: str, key: str) -> None:
    """Raise UnknownEntityError saying that ``key`` names a finding (a column of the input, as
    'syrinx' or 'dural tail'), and where it is described, rather than only that no entity has it."""
    for fid in kb.features:
        if key == name_key(fid):
            raise UnknownEntityError(text, what="a finding", listed=f"`ddx features` describes it; `ddx assess --{fid.replace('_', '-')}` takes it")


def _syndromes(kb: Knowledge) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each syndrome value of the syndrome finding (not its 'none'): its name (features.toml:
    meaning) and how it is written, in name_key form without the words of SYNDROME_FILLER: its
    id, its name, its aliases, and its name without a closing type number ('neurofibromatosis'),
    which may name several."""
    feature = kb.features.get("syndrome")
    if feature is None:
        return {}

    def bare(text: str) -> str:
        return " ".join(w for w in name_key(text).split() if w not in SYNDROME_FILLER)

    out = {}
    for v in feature.values:
        if v == feature.exclusive:
            continue
        name = feature.meaning.get(v, v)
        written = [bare(v), bare(name), *(bare(a) for a, named in feature.alias.items() if named == v)]
        family = re.sub(r" \d+$", "", bare(name))
        out[v] = (name, tuple(dict.fromkeys([*written, family])))
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
        if one_edit(key, s.key) or all(any(_fits(w, x) or _slip(w, x) for x in theirs) for w in telling):
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
    return len(typed) >= LONG_TYPO or one_edit(typed, meant)


def short_name(name: str) -> str:
    """An entity name without its parenthesis ("Spinal cord astrocytoma (pilocytic, ...)")."""
    return name.split(" (", 1)[0]
