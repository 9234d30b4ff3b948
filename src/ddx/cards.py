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

import json
import math
import textwrap
from typing import Any

import attrs

from .assessment import percent, ratio_text, reason_text
from .engine import finding_vector, within_table
from .knowledge import COMPARTMENT_NAMES, COMPARTMENTS, Entity, Feature, Knowledge, Number
from .knowledge.records import GRADES, band_label, outcome_text
from . import DISCLAIMER
from .render import DONT_MISS_TAG, MIN_TABLE_WIDTH, fit_painted, paint, ratio_value, shown_width

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
    # for a finding that implies others (a bone pattern: the bone is involved) or is read within
    # a picture (the position of a mass in the cord): P(one of them is yes | entity), or the
    # entity's share of the picture, which the ratio also weighs; and which lesions these are
    implied: float | None = None
    implied_by: str = ""
    # no number for the finding at all: not characteristic of the entity, which the engine
    # reads as the rate of the entities that have one (a bone pattern of an ependymoma)
    uncharacteristic: bool = False
    # the entities the ratio is taken against, when not all of them: for a finding read only in
    # its own compartment's picture (a position in the cord), the others of that compartment
    among: str = ""

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
        return [(band_label(band), band[0]) for band in feature.bands]
    if feature.kind == "list":
        out: list[tuple[str, Any]] = [(v, (v,)) for v in feature.outcomes]
        if feature.exclusive:
            out.append((feature.exclusive, ()))
        return out
    return [(v, v) for v in feature.values]


def likelihood_ratio(kb: Knowledge, vector: tuple[float, ...], i: int) -> float:
    """A finding's likelihood ratio for entity i against the prior-weighted rest.

    The engine's own computation (engine.likelihood_ratios), so a card's ratio
    is the ratio `ddx assess` shows for that finding alone (but for a position
    in the cord on a cord lesion's card: see _ratio_within).
    """
    from .engine import likelihood_ratios

    return likelihood_ratios(kb, vector)[i]


def pulls(kb: Knowledge, entity_id: str) -> list[Pull]:
    """Every answer to every finding with its likelihood ratio for this entity."""
    i = kb.entity_ids.index(entity_id)
    out = []
    for feature in kb.features.values():
        uncharacteristic = not any(kb.likelihood(entity_id, feature.id, o) for o in feature.outcomes)
        for label, value in finding_values(feature):
            vector = finding_vector(kb, feature, value)
            if vector is None:
                continue
            number = kb.likelihood(entity_id, feature.id, label)
            model = math.exp(vector[i]) if feature.picture else None
            ratio, among = likelihood_ratio(kb, vector, i), ""
            if feature.within is not None and kb.entities[i].compartment == feature.within:
                ratio, among = _ratio_within(kb, vector, i, feature.within), COMPARTMENT_NAMES[feature.within].lower()
            out.append(Pull(feature.id, label, ratio, number, outcome_text(feature, label), model,
                            *_implied(kb, feature, i), uncharacteristic, among))
    return out


def _ratio_within(kb: Knowledge, vector: tuple[float, ...], i: int, compartment: str) -> float:
    """A finding read only in ``compartment``'s picture, for entity i of that compartment: its
    likelihood ratio against the prior-weighted others of the compartment. Against every entity
    both positions in the cord would favour a cord tumour, as both say the mass is in the cord;
    among cord tumours, a central one argues against a haemangioblastoma."""
    members = [j for j, e in enumerate(kb.entities) if e.compartment == compartment and j != i]
    weights = [kb.prior[j] for j in members]
    if not members:
        return 1.0  # the only entity of its compartment: nothing to tell it from there
    rest = math.fsum(w * math.exp(vector[j]) for w, j in zip(weights, members)) / math.fsum(weights)
    return math.exp(vector[i]) / rest


def _implied(kb: Knowledge, feature: Feature, i: int) -> tuple[float | None, str]:
    """P(one of the findings ``feature`` implies is yes | entity i), or its share of the picture
    the finding is read within, as its ratio weighs it, and which lesions these are ("with
    vertebral body or posterior elements involved"); (None, "") for any other finding."""
    if feature.within is not None:
        share = within_table(kb, feature, {})
        if share is None or share[i] == 0:
            return None, ""  # an entity of the compartment: it is always read there
        return math.exp(share[i]), f"in the {feature.within.replace('_', ' ')} picture or placed there by a slip"
    implied = kb.implied_tables.get((feature.id, ()))
    if implied is None:
        return None, ""
    names = "with " + " or ".join(x.replace("_", " ") for x in feature.implies) + " involved"
    return math.exp(implied[i] / min(kb.scale(x) for x in feature.implies)), names


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


def _prob(p: float) -> str:
    return f"{p:.4g}"


PICTURE_NOTE = (
    "The cord and CSF signs ({signs}) count together, as one "
    "compartment picture: each ratio here is the sign read alone, and in an assessment each is "
    "weighed given the others (so two signs that say the same thing count about once). Where "
    "the picture {how} differs from the table, 'picture model' is what the engine uses."
)


def _picture_note(card: Card, kb: Knowledge) -> str:
    how = "counted where this entity's lesions lie (locations.csv)" if card.pictures_counted else "fitted to this entity"
    return PICTURE_NOTE.format(signs=", ".join(s.replace("_", " ") for s in kb.picture_signs), how=how)


def _shows_picture_signs(card: Card) -> bool:
    return any(p.model is not None for p in (*card.favour, *card.against))


#: A picture sign's table number is shown with the picture model's when they differ by this much.
MODEL_SHOWN = 0.05


def _number_text(n: Number | None, model: float | None = None, p: Pull | None = None) -> str:
    if n is None and p is not None and p.uncharacteristic:
        text = "not characteristic: the rate of the entities with a number"
    elif n is None:
        return "-"
    else:
        text = f"{_prob(n.probability)} ({'+'.join(source_keys(n))}, {n.grade})"
    if model is not None and n is not None and abs(model - n.probability) >= MODEL_SHOWN:
        text += f"; picture model {_prob(model)}"
    if p is not None and p.implied is not None:
        text += f", of the {percent(p.implied)} {p.implied_by}"
    if p is not None and p.among:
        text += f"; against the other {p.among} entities"
    return text


def _provenance(n: Number) -> str:
    return f"{'+'.join(source_keys(n))}, grade {n.grade}"


def _pull_text(p: Pull, name: str) -> str:
    return reason_text(p.label, p.ratio, name, f"the other {p.among} entities" if p.among else "the alternatives")


def _profile_parts(p: Profile) -> tuple[str, list[str]]:
    """A profile's head and its shares: ('level (how often each is present)', ['cervical 25%', ...])."""
    head = f"{p.feature.replace('_', ' ')}{' (how often each is present)' if p.each else ''}"
    return head, [f"{s.shown or s.value} {_share(s.number.probability)}" for s in p.shares]


def _share(p: float) -> str:
    """A table number as a percentage to a tenth, rounded (62.5%, 37.5%, 25%): a profile
    describes the data, so its shares are not cut as a probability that meets a threshold is
    (percent), which would show 62% and 37% for five eighths and three."""
    from decimal import ROUND_HALF_UP, Decimal

    tenths = (Decimal(repr(p)) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    if tenths == 0:
        return "<0.1%" if p > 0 else "0%"
    return f"{tenths.normalize():f}%"


def _profile_text(p: Profile) -> str:
    head, shares = _profile_parts(p)
    return f"{head}: {' · '.join(shares)}"


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


def _pack(head: str, items: list[str], indent: str, width: int = WIDTH, sep: str = ",") -> list[str]:
    """'head: a, b, c' wrapped at ``width``, breaking only between items."""
    lines, line = [], f"{indent}{head}: "
    for k, item in enumerate(items):
        piece = item + (sep if k < len(items) - 1 else "")
        if len(line) + len(piece) > width and line.strip():
            lines.append(line.rstrip())
            line = indent + "  "
        line += piece + " "
    lines.append(line.rstrip())
    return lines


def _break_sources(text: str, width: int) -> str:
    """A number with its sources as lines of at most ``width``: broken between words, and a list
    of source keys too long for a line after a '+', so that no key is split unless it alone is
    wider than the line."""
    pieces: list[tuple[str, str]] = []  # (text, what joins it to the piece before)
    for k, word in enumerate(text.split(" ")):
        keys = word.split("+")
        parts = [key + "+" for key in keys[:-1]] + [keys[-1]] if len(word) > width else [word]
        pieces += [(part, (" " if k else "") if j == 0 else "") for j, part in enumerate(parts)]
    lines: list[str] = []
    for part, glue in pieces:
        if lines and len(lines[-1]) + len(glue) + len(part) <= width:
            lines[-1] += glue + part
        else:
            lines += [part[i:i + width] for i in range(0, len(part), width)]
    return "\n".join(lines)


def _wrap(text: str, indent: str = "  ", width: int = WIDTH) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False) or [indent.rstrip()]


def card_record(card: Card, kb: Knowledge) -> dict[str, Any]:
    """The card as a JSON-ready mapping (every number with its source and grade)."""
    e = card.entity

    def number(n: Number | None):
        return None if n is None else {"probability": n.probability, "source": n.source, "grade": n.grade}

    def pull(p: Pull):
        record = {"feature": p.feature, "value": p.value, "ratio": ratio_value(p.ratio), "likelihood": number(p.number), "text": _pull_text(p, e.name)}
        if p.model is not None:
            record["picture_model"] = round(p.model, 4)
        if p.uncharacteristic:
            record["characteristic"] = False
        if p.among:
            record["against"] = f"the other {p.among} entities"
        feature = kb.features[p.feature]
        if p.implied is not None and feature.within is not None:
            record["within"] = {"picture": feature.within, "probability": round(p.implied, 4)}
        elif p.implied is not None:
            record["implied"] = {"findings": list(feature.implies), "probability": round(p.implied, 4)}
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


def render_card_table(card: Card, kb: Knowledge, *, color: bool = False, sources: bool = True, width: int | None = None) -> str:
    """The card for a terminal: sections, findings as tables, citations with their numbers. Its
    prose wraps at WIDTH; ``width`` (a terminal's, when narrower) wraps everything to it, the
    profile and the finding tables too."""
    from tabulate import tabulate

    fits = width is not None
    width = WIDTH if width is None else max(MIN_TABLE_WIDTH, min(WIDTH, width))
    laid: set[int] = set()  # lines of the finding tables, laid out to the width already

    e = card.entity
    name = e.name
    lines = [
        _heading_line(e, color),
        f"{paint('Compartment:', 'bold', color)} {paint(COMPARTMENT_NAMES[e.compartment], 'cyan', color)}"
        f"   prior {percent(card.prior, tenths=True)} (data {percent(card.data_prior.probability, tenths=True)}: {_provenance(card.data_prior)})",
    ]
    if e.mimic:
        lines.append(f"{paint('Mimic:', 'bold', color)} not a tumour, but it imitates one")
    if e.associations:
        lines.append(f"{paint('Associations:', 'bold', color)} {', '.join(a.upper() for a in e.associations)}")
    if e.aliases:
        also = textwrap.wrap(f"Also called: {', '.join(e.aliases)}", width, subsequent_indent="  ", break_on_hyphens=False)
        lines += [paint("Also called:", "bold", color) + also[0][len("Also called:"):]] + also[1:]
    lines.append("")
    if e.dont_miss:
        why = e.stakes[:1].upper() + e.stakes[1:]
        text = _wrap(f"{DONT_MISS_LABEL}  {why}", "", width=width)
        lines.append(paint(DONT_MISS_LABEL, "red", color) + text[0][len(DONT_MISS_LABEL):])
        lines += ["   " + t for t in text[1:]]
        lines += _wrap(f"-> {e.action}", "   ", width=width)
    else:
        lines += _wrap(e.why, "", width=width)
    lines += ["", paint("Typical patient", "bold", color)]
    lines += _wrap(e.typical, width=width)
    for p in card.profile:
        head, shares = _profile_parts(p)
        lines += _pack(head, shares, "  ", width, " ·") if fits else [f"  {_profile_text(p)}"]
    lines += ["", paint("Looks like", "bold", color)] + _wrap(e.summary, width=width)
    if card.pictures:
        lines += _wrap(f"Compartment picture (cord and CSF signs, {_pictures_from(card)}): {pictures_text(card)}", width=width)

    headers = ["finding", "ratio", f"P(finding | {e.id})"]
    for title, items in (
        ("Findings that favour it (likelihood ratio against the prior-weighted rest)", card.favour),
        ("Findings that argue against it", card.against),
    ):
        lines += ["", paint(title, "bold", color)]
        if items:
            rows = [[p.label, ratio_text(p.ratio), _number_text(p.number, p.model, p)] for p in items]
            # the numbers' column wraps to what the indent, the two gaps, the finding and the ratio
            # leave (tabulate pads a header by two)
            used = sum(max(len(headers[k]) + 2, *(len(r[k]) for r in rows)) for k in (0, 1))
            room = max(width - 2 - 4 - used, 12)
            if fits:
                rows = [[a, b, _break_sources(c, room)] for a, b, c in rows]
            table = tabulate(rows, headers=headers, tablefmt="simple", maxheadercolwidths=[None, None, room - 2] if fits else None)
            laid |= set(range(len(lines), len(lines) + len(table.splitlines())))
            lines += ["  " + r for r in table.splitlines()]
        else:
            lines.append("  none strong enough to list")
    if _shows_picture_signs(card):
        lines += [""] + _wrap(_picture_note(card, kb), "  ", width=width)
    lines += ["", paint("Next step", "bold", color)] + _wrap(e.next_step, width=width)

    if not sources:
        keys = ", ".join(c.key for c in card.cited)
        lines += ["", paint("Sources", "bold", color)] + _wrap(f"{keys} (drop --no-sources to see every number under its citation)", width=width)
    for c in card.cited if sources else ():
        if c is card.cited[0]:
            lines += ["", paint(f"Sources ({card.number_count} numbers)", "bold", color)]
        lines.append(f"  [{c.key}] grade {c.grade or '-'}" + ("" if c.numbers else "  (cited by the card text)"))
        lines += _wrap(c.citation, "    ", width=width)
        if c.url:
            lines.append(f"    {c.url}")
        for head, items in _numbers_by_feature(c.numbers, kb).items():
            lines += _pack(head, items, "      ", width)
    lines += ["", paint(DISCLAIMER, "dim", color)]
    if fits:
        # what is not laid out yet (a heading, a title, a continued flag) wraps under its own
        # indent; a table is laid out, and an address is never broken
        lines = [out for k, line in enumerate(lines)
                 for out in ([line] if k in laid or line.lstrip().startswith(("http://", "https://"))
                             else fit_painted(line, width, " " * (len(line) - len(line.lstrip()) + 2)))]
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
        f"- **prior:** {percent(card.prior, tenths=True)} (what the model starts from; data {percent(card.data_prior.probability, tenths=True)}: {_provenance(card.data_prior)})",
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
            rows = [[p.label, ratio_text(p.ratio), _md_escape(_number_text(p.number, p.model, p))] for p in items]
            lines.append(tabulate(rows, headers=headers, tablefmt="github"))
        else:
            lines.append("None strong enough to list.")
    if _shows_picture_signs(card):
        lines += ["", f"*{_picture_note(card, kb)}*"]
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
        return feature.range_text
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
            row.update({"min": f.min, "max": f.max, "bands": [band_label(b) for b in f.bands]})
        if f.kind == "list":
            row["exclusive"] = f.exclusive
        if f.meaning:
            row["meaning"] = dict(f.meaning)
        if f.alias:
            row["alias"] = dict(f.alias)
        rows.append(row)
    return rows


def _entities_whole(group: list[dict], color: bool) -> str:
    from tabulate import tabulate

    table = [[r["id"], r["name"], paint("DON'T MISS", "red", color) if r["dont_miss"] else "", "mimic" if r["mimic"] else "",
              percent(r["prior"], tenths=True), percent(r["data_prior"], tenths=True)] for r in group]
    return tabulate(table, headers=["id", "name", "don't miss", "mimic", "prior", "data"], tablefmt="simple",
                    disable_numparse=True)


def _entities_narrow(group: list[dict], width: int) -> str:
    """The marks in the name, as [don't miss] and [mimic], and the name wrapped to what the id,
    prior and data columns and the three gaps leave."""
    from tabulate import tabulate

    tag = DONT_MISS_TAG.replace(" ", "\u00a0")  # a no-break space: the wrapping keeps the mark whole
    table = [[r["id"], r["name"] + (f" {tag}" if r["dont_miss"] else "") + (" [mimic]" if r["mimic"] else ""),
              percent(r["prior"], tenths=True), percent(r["data_prior"], tenths=True)] for r in group]
    room = width - 6 - max(len(r[0]) for r in table) - len("prior  ") - len("data  ")
    return tabulate(table, headers=["id", "name", "prior", "data"], tablefmt="simple", disable_numparse=True,
                    maxcolwidths=[None, max(room, 12), None, None]).replace(tag, DONT_MISS_TAG)


def render_entities_table(kb: Knowledge, *, color: bool = False, width: int | None = None) -> str:
    """The entities grouped by compartment, each group headed by its share of the prior. At a
    terminal (``width``) too narrow for the whole table, the don't-miss and mimic marks move into
    the name and the name wraps."""
    rows = entity_rows(kb)
    groups = [(c, [r for r in rows if r["compartment"] == c]) for c in COMPARTMENTS]
    tables = [_entities_whole(g, color) for _, g in groups]
    if width is not None:
        width = max(width, MIN_TABLE_WIDTH)
        if max(shown_width(line) for table in tables for line in table.splitlines()) > width:
            # painted after the layout, which the colour codes would otherwise widen
            tables = [_entities_narrow(g, width).replace(DONT_MISS_TAG, paint(DONT_MISS_TAG, "red", color)) for _, g in groups]
    parts = []
    for (compartment, group), table in zip(groups, tables):
        share = sum(model_prior(kb, r["id"]) for r in group)
        parts += [f"{paint(COMPARTMENT_NAMES[compartment], 'bold', color)} ({len(group)} entities, {percent(share)} of the prior)", table, ""]
    if kb.settings.prior_flattening == 1:
        key = ("prior: what the model starts from, here priors.csv as it is (the registry priors);",
               "data: priors.csv. `ddx explain ID` shows the card of one entity.")
    else:
        key = ("prior: what the model starts from; data: priors.csv before the spread within each compartment",
               "is flattened (model.toml prior_flattening). `ddx explain ID` shows the card of one entity.")
    parts += list(key) if width is None else _wrap(" ".join(key), "", width=width)
    return "\n".join(parts)


def render_features_table(kb_features: dict[str, Feature], width: int | None = None) -> str:
    """Every column with its kind, values and help, a line each; at a terminal (``width``) the
    values and the help wrap to fit it (the values at 30 and the help at 50 at most)."""
    from tabulate import tabulate

    rows = [[f.id, f.kind, values_text(f, sep=", "), f.help] for f in kb_features.values()]
    values, helps = None, None
    if width is not None:
        # what the column and kind columns and the three gaps leave, two fifths to the values
        room = max(width, MIN_TABLE_WIDTH) - 6 - max(len(r[0]) for r in rows) - max(len("kind") + 2, *(len(r[1]) for r in rows))
        values = min(30, max(12, room * 2 // 5))
        helps = min(50, max(12, room - values))
    table = tabulate(rows, headers=["column", "kind", "values", "help"], tablefmt="simple", maxcolwidths=[None, None, values, helps])
    note = "list: several values separated by ';'. Blank or `unknown`: not assessed."
    return table + "\n\n" + (note if width is None else "\n".join(_wrap(note, "", width=max(width, MIN_TABLE_WIDTH))))
