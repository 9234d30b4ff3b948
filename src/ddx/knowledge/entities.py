"""entities.toml: the diagnoses, their compartment, don't-miss status, texts and aliases."""

from __future__ import annotations

from typing import Any

from .parsing import FLAG, TEXT, TEXTS, Issues, field_line, guess, id_refused, valid_tables
from .records import COMPARTMENTS, Entity, Feature, Source, name_key


#: The fields an [[entity]] may have, and what each must be (aliases: checked where read).
ENTITY_FIELDS = {
    "id": TEXT, "name": TEXT, "compartment": TEXT, "dont_miss": FLAG, "mimic": FLAG, "associations": TEXTS,
    "typical": TEXT, "summary": TEXT, "next_step": TEXT, "why": TEXT, "action": TEXT, "sources": TEXTS,
    "aliases": None,
}

#: The fields every entity must give (texts and sources not blank), and what each is for (the card of `ddx explain`,
#: the candidate's line, the flag).
REQUIRED = {
    "id": "what the outputs name the entity by",
    "name": "what a reader sees",
    "compartment": "where the entity lies",
    "dont_miss": "whether it is flagged",
    "typical": "who and where, on its card",
    "summary": "its look on MRI, on its card",
    "next_step": "what to do next, on its card",
    "why": "why it is or is not a don't-miss",
    "sources": "the keys of sources.toml its texts rest on",
}

#: The required fields a blank would leave empty (an id and a compartment are checked as such).
NOT_BLANK = ("name", "typical", "summary", "next_step", "why", "sources")


def read_entities(data: dict | None, sources: dict[str, Source], features: dict[str, Feature], issues: Issues, *,
              check_sources: bool = True, check_syndromes: bool = True) -> tuple[Entity, ...]:
    """The entities of entities.toml (None: the file is missing or broken, already reported;
    ``check_sources`` or ``check_syndromes`` false: sources.toml or features.toml is, so what
    an entity cites or is associated with is not checked against it)."""
    name = "entities.toml"
    if data is None:
        return ()
    entities, seen = [], {}
    syndromes = set(features["syndrome"].values) if "syndrome" in features else set()
    for _, e, where, line in valid_tables(data, "entity", name, ENTITY_FIELDS, issues, issues.rejected_entities):
        try:
            try:
                entity = Entity(
                    id=e["id"],
                    name=e["name"],
                    compartment=e["compartment"],
                    dont_miss=e["dont_miss"],
                    mimic=e.get("mimic", False),
                    associations=tuple(e.get("associations", ())),
                    typical=e["typical"],
                    summary=e["summary"],
                    next_step=e["next_step"],
                    why=e["why"],
                    action=e.get("action", ""),
                    sources=tuple(e["sources"]),
                    aliases=_aliases(e.get("aliases", ()), where, field_line(name, line, "aliases", issues), issues),
                )
            except KeyError as exc:
                issues.add(name, line, f"{where}: missing field {exc.args[0]!r} ({REQUIRED[exc.args[0]]})")
                continue
            if id_refused(entity.id, "it is what batch, JSON and the flags name the entity by", name, line, where, issues):
                continue
            if entity.id in seen:
                first = seen[entity.id]
                issues.add(name, line, f"{where}: duplicate entity id{f' (line {first} is the first, which is kept)' if first else ''}")
                continue  # the first is kept: the copy's aliases are not each reported as another's
            seen[entity.id] = line
            if entity.compartment not in COMPARTMENTS:
                issues.add(name, field_line(name, line, "compartment", issues), f"{where}: compartment "
                           f"{entity.compartment!r} is not one of {', '.join(COMPARTMENTS)}{guess(entity.compartment, COMPARTMENTS)}")
            for field in NOT_BLANK:
                value = getattr(entity, field)
                if not (value.strip() if isinstance(value, str) else value):
                    issues.add(name, field_line(name, line, field, issues), f"{where}: {field} is empty ({REQUIRED[field]})")
            if entity.dont_miss and not entity.action.strip():
                issues.add(name, field_line(name, line, "action", issues), f"{where}: a don't-miss entity needs an action "
                                                                            "(the next step its flag says)")
            for key in entity.sources if check_sources else ():
                if key not in sources and key not in issues.rejected_sources:
                    issues.add(name, field_line(name, line, "sources", issues), f"{where}: source {key!r} is not in sources.toml")
            for a in entity.associations if check_syndromes and "syndrome" not in issues.rejected_features else ():
                if a not in syndromes:
                    issues.add(name, line, f"{where}: association {a!r} is not a syndrome value")
            entities.append(entity)
        finally:
            if not isinstance(e.get("id"), str) or e["id"] not in seen:
                issues.reject(issues.rejected_entities, e)
    if not data.get("entity"):
        issues.unreadable(name, None, "defines no [[entity]]")
    else:
        named = {e.get("compartment") for e in data["entity"] if isinstance(e, dict)}
        for compartment in COMPARTMENTS:
            if compartment not in named:
                issues.add(name, None, f"no [[entity]] lies in the {compartment} compartment: a compartment's "
                                       "probability is the sum of its entities', so each needs one at least")
    _check_aliases(entities, issues, {e.id: field_line(name, seen.get(e.id), "aliases", issues) for e in entities})
    return tuple(entities)


def _aliases(value: Any, where: str, line: int | None, issues: Issues) -> tuple[str, ...]:
    """The aliases of one entity: a list of non-empty strings."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(a, str) and a.strip() and name_key(a) for a in value):
        issues.add("entities.toml", line, f"{where}: aliases must be a list of names (non-empty strings)")
        return ()
    return tuple(value)


def _check_aliases(entities: list[Entity], issues: Issues, lines: dict[str, int | None]) -> None:
    """Each alias names one entity only: not given twice, not another entity's id or name
    (compared as the matcher compares them: case, punctuation and British spelling aside)."""
    owner: dict[str, str] = {}
    for e in entities:
        owner.setdefault(name_key(e.id), e.id)
        owner.setdefault(name_key(e.name), e.id)
    given: dict[str, str] = {}
    for e in entities:
        for alias in e.aliases:
            key = name_key(alias)
            where = f"[[entity]] {e.id!r}: alias {alias!r}"
            if key in given:
                issues.add("entities.toml", lines.get(e.id), f"{where} is also an alias of {given[key]!r}")
            elif owner.get(key, e.id) != e.id:
                issues.add("entities.toml", lines.get(e.id), f"{where} is the id or name of {owner[key]!r}")
            given.setdefault(key, e.id)
