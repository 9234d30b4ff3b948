"""The numbers: priors.csv, likelihoods.csv, pictures.csv and locations.csv, each row cited, and
each entity's (or picture's) values of a finding complete and summing to 1."""

from __future__ import annotations

import math
from collections import defaultdict

from .citations import provenance
from .parsing import BROKEN, Issues, csv_rows, guess, read_number, read_probability, source_keys
from .records import Feature, Number


#: Values of one finding for one entity must sum to 1 within this (the tables
#: are given to three or four decimals).
SUM_TOLERANCE = 1e-3


def read_priors(folder, entity_ids: set[str] | None, sources, issues: Issues) -> dict[str, Number]:
    """priors.csv. ``entity_ids`` None: entities.toml could not be read (reported), so rows are
    not matched against it and nothing is said to be missing."""
    name = "priors.csv"
    priors: dict[str, Number] = {}
    line_of: dict[str, int] = {}
    rows = csv_rows(folder, name, ("entity", "probability", "source", "grade"), issues)
    if rows is None:
        return priors
    broken: set[str] = set()  # entities whose row is reported: nothing more is said of them
    readable = True  # every probability could be read, so their sum means something
    total = 0.0
    for row, r in rows:
        if r.get(BROKEN):
            broken.add(r.get("entity", ""))
            readable = False
            continue
        p = read_probability(r["probability"], name, row, issues)
        if p is None:
            readable = False
        elif r["entity"] not in priors:
            total += p
        known = entity_ids is None or r["entity"] in entity_ids
        if not known and r["entity"] not in issues.rejected_entities:
            issues.add(name, row, f"entity {r['entity']!r} is not in entities.toml{guess(r['entity'], entity_ids)}")
        if r["entity"] in priors:
            issues.add(name, row, f"entity {r['entity']!r} has a second prior (line {line_of[r['entity']]} is the first)")
            continue
        if provenance(name, row, r, sources, issues) and p is not None and known:
            priors[r["entity"]] = Number(p, r["source"], r["grade"])
            line_of[r["entity"]] = row
        else:
            broken.add(r["entity"])
    if entity_ids is None:
        return priors
    missing = sorted(entity_ids - priors.keys() - broken)
    for entity in missing:
        issues.add(name, None, f"entity {entity!r} has no prior")
    if rows and readable and not missing and abs(total - 1) > SUM_TOLERANCE:
        issues.add(name, None, f"priors sum to {total:.4f}, not 1: a new or changed prior needs the others scaled "
                               "so that all of them sum to 1 (tools/import_evidence.py does it, keeping a new entity's)")
    return priors


def _new_value(name: str, row: int, key: tuple[str, str, str], values, line_of: dict, issues: Issues,
               strays: dict[tuple[str, str], list[int]]) -> bool:
    """Is (owner, feature, value) a value of the feature not given before (``line_of``: the
    line of each one given)? If not, says why: a value the feature does not have is added to
    ``strays``, to be said once for all its rows (_say_strays)."""
    owner, fid, value = key
    if value not in values:
        strays.setdefault((fid, value), []).append(row)
        return False
    if key in line_of:
        issues.add(name, row, f"{owner} {fid}={value} is given twice (line {line_of[key]} is the first)")
        return False
    return True


def _say_strays(name: str, strays: dict[tuple[str, str], list[int]], outcomes, issues: Issues) -> None:
    """Each value a finding does not have, said once for all the rows that give it."""
    for (fid, value), rows in strays.items():
        values = outcomes(fid)
        issues.add(name, rows[0], f"{fid} value {value!r} is not one of {', '.join(values)}{guess(value, values)}{_count(rows)}")


def _lines(rows: list[int]) -> str:
    """' (lines 72-75)': where a group of rows lies, for a problem of the group as a whole."""
    if len(rows) < 2:
        return ""
    return f" (lines {min(rows)}-{max(rows)})"


def _count(rows: list[int]) -> str:
    """' (4 rows, lines 72-75)': how many rows name what is unknown, and where they lie."""
    if len(rows) < 2:
        return ""
    return f" ({len(rows)} rows, lines {min(rows)}-{max(rows)})"


def read_likelihoods(folder, entity_ids: set[str] | None, features: dict[str, Feature] | None, sources, issues: Issues):
    """likelihoods.csv. ``entity_ids`` or ``features`` None: that file could not be read
    (reported), so rows are not matched against it and nothing is said to be missing."""
    name = "likelihoods.csv"
    table: dict[tuple[str, str, str], Number] = {}
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    columns = ("entity", "feature", "value", "probability", "source", "grade")
    outcomes = {fid: f.outcomes for fid, f in (features or {}).items()}
    proven: set[tuple[str, str]] = set()  # (source, grade) pairs that passed provenance
    invalid: set[tuple[str, str]] = set()  # (entity, feature) with a row already reported
    line_of: dict[tuple[str, str, str], int] = {}
    rows = csv_rows(folder, name, columns, issues)
    if rows is None:
        return table
    if not rows:
        # one problem, not one for every entity and finding it leaves without numbers
        # named only from a features.toml without problems: one that has some may have dropped a
        # required finding, and a partial list would leave it out
        required = "" if issues.items_in("features.toml") else ", ".join(f.id for f in (features or {}).values() if f.required)
        issues.unreadable(name, None, "has no rows: every entity needs a probability for each value of the required "
                                      f"findings{f' ({required})' if required else ' of features.toml'}")
        return table
    unknown: dict[tuple[str, str], list[int]] = defaultdict(list)  # a name not known, and its rows
    strays: dict[tuple[str, str], list[int]] = {}  # a value its finding does not have, and its rows
    for row, r in rows:
        entity, fid, value = r.get("entity", ""), r.get("feature", ""), r.get("value", "")
        if r.get(BROKEN):
            invalid.add((entity, fid))
            continue
        # a row of an entity or a finding whose table was rejected is still checked for
        # what does not depend on that table; only its name is not reported again
        r["source"] = ";".join(source_keys(r["source"]))
        known = entity_ids is None or entity in entity_ids
        if not known and entity not in issues.rejected_entities:
            unknown[("entity", entity)].append(row)
        values = outcomes.get(fid)
        if values is None and features is not None and fid not in issues.rejected_features:
            unknown[("feature", fid)].append(row)
        if values is not None:
            if not _new_value(name, row, (entity, fid, value), values, line_of, issues, strays):
                invalid.add((entity, fid))
                continue
            line_of[(entity, fid, value)] = row
        p = read_probability(r["probability"], name, row, issues)
        cited = (r["source"], r["grade"])
        proper = cited in proven or provenance(name, row, r, sources, issues)
        if proper:
            proven.add(cited)
        if not known or values is None:
            continue
        if p is not None and proper:
            table[(entity, fid, value)] = Number(p, r["source"], r["grade"])
            rows_of[(entity, fid)].append(row)
        else:
            invalid.add((entity, fid))
    _say_strays(name, strays, outcomes.get, issues)
    for (what, text), where in unknown.items():  # said once per name, not once per row
        known_names = entity_ids if what == "entity" else outcomes
        home = "entities.toml" if what == "entity" else "features.toml"
        issues.add(name, where[0], f"{what} {text!r} is not in {home}{guess(text, known_names)}{_count(where)}")
    if entity_ids is None or features is None:
        return table
    for entity in sorted(entity_ids):
        for feature in features.values():
            values = outcomes[feature.id]
            if (entity, feature.id) in invalid:
                continue  # its bad row is reported; a missing value or a wrong sum would follow from it
            given = [o for o in values if (entity, feature.id, o) in table]
            if not given and not feature.required:
                continue
            missing = [o for o in values if o not in given]
            where = rows_of.get((entity, feature.id), [])
            if missing:
                issues.add(name, min(where, default=None), f"{entity} {feature.id}: no probability for {', '.join(missing)}{_lines(where)}")
                continue
            if feature.kind != "list":
                total = sum(table[(entity, feature.id, o)].probability for o in values)
                if abs(total - 1) > SUM_TOLERANCE:
                    issues.add(name, min(where, default=None), f"{entity} {feature.id}: values sum to {total:.4f}, not 1{_lines(where)}")
    return table


def read_pictures(folder, features: dict[str, Feature] | None, sources, issues: Issues):
    """pictures.csv: P(sign = value | picture) for the signs features.toml marks ``picture = true``.

    Returns (pictures, the signs in features.toml order, {(picture, sign, value): Number}).
    """
    name = "pictures.csv"
    signs = tuple(fid for fid, f in (features or {}).items() if f.picture)
    table: dict[tuple[str, str, str], Number] = {}
    first_row: dict[str, int] = {}
    row_count: dict[str, int] = defaultdict(int)
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    invalid: set[tuple[str, str]] = set()  # (picture, sign) with a row already reported
    line_of: dict[tuple[str, str, str], int] = {}
    rows = csv_rows(folder, name, ("picture", "feature", "value", "probability", "source", "grade"), issues)
    if rows is None or features is None:
        return (), signs, table
    unknown: dict[str, list[int]] = defaultdict(list)  # a feature not known, and its rows
    strays: dict[tuple[str, str], list[int]] = {}  # a value its finding does not have, and its rows
    for row, r in rows:
        picture, fid, value = r.get("picture", ""), r.get("feature", ""), r.get("value", "")
        if r.get(BROKEN):
            invalid.add((picture, fid))
            continue
        if not picture:
            issues.add(name, row, "picture is empty")
            continue
        first_row.setdefault(picture, row)
        row_count[picture] += 1
        if fid not in features:
            if fid not in issues.rejected_features:
                unknown[fid].append(row)
            read_probability(r["probability"], name, row, issues)
            provenance(name, row, r, sources, issues)
            continue
        if fid not in signs:
            issues.add(name, row, f"{fid} is not a picture sign: mark it picture = true in features.toml, or remove the row")
            continue
        if not _new_value(name, row, (picture, fid, value), features[fid].outcomes, line_of, issues, strays):
            invalid.add((picture, fid))
            continue
        line_of[(picture, fid, value)] = row
        p = read_probability(r["probability"], name, row, issues)
        if p is not None and provenance(name, row, r, sources, issues):
            table[(picture, fid, value)] = Number(p, r["source"], r["grade"])
            rows_of[(picture, fid)].append(row)
        else:
            invalid.add((picture, fid))
    _say_strays(name, strays, lambda fid: features[fid].outcomes, issues)
    for fid, where in unknown.items():
        issues.add(name, where[0], f"feature {fid!r} is not in features.toml{guess(fid, features)}{_count(where)}")
    pictures = _spelt_once(name, first_row, row_count, issues)
    if signs and not pictures:
        issues.add(name, None, f"gives no picture, but features.toml marks {', '.join(signs)} as picture signs")
    for picture in pictures:
        for fid in signs:
            if (picture, fid) in invalid:
                continue  # its bad row is reported; a missing value or a wrong sum would follow from it
            values = features[fid].outcomes
            where = rows_of.get((picture, fid), [])
            missing = [v for v in values if (picture, fid, v) not in table]
            if missing:
                issues.add(name, min(where, default=first_row[picture]), f"picture {picture} {fid}: no probability for {', '.join(missing)}{_lines(where)}")
                continue
            total = sum(table[(picture, fid, v)].probability for v in values)
            if abs(total - 1) > SUM_TOLERANCE:
                issues.add(name, min(where, default=None), f"picture {picture} {fid}: values sum to {total:.4f}, not 1{_lines(where)}")
    return pictures, signs, table


def _spelt_once(name: str, first_row: dict[str, int], row_count: dict[str, int], issues: Issues) -> tuple[str, ...]:
    """The pictures of pictures.csv; one whose name is one letter from another's with more rows
    (those rows are that picture's, under a typo) is reported at its first row, not taken for a
    picture of its own (two complete pictures a letter apart are both kept)."""
    from ..spelling import one_edit

    pictures = list(first_row)
    for picture in list(pictures):
        meant = next((p for p in pictures if p != picture and one_edit(picture, p) and row_count[p] > row_count[picture]), None)
        if meant:
            issues.add(name, first_row[picture], f"picture {picture!r} is one letter from {meant!r}: a typo of it? "
                                                 "(each picture is the rows under one name)")
            pictures.remove(picture)
    return tuple(pictures)


def read_locations(folder, entity_ids: set[str] | None, pictures: tuple[str, ...], sources, issues: Issues):
    """locations.csv: each listed entity's counted share of each picture.

    Returns ({entity: {picture: Number}} for the entities whose rows are all sound, the
    Numbers of every sound row, for the check of ungraded sources). ``entity_ids`` None:
    entities.toml could not be read (reported); no pictures, or a pictures.csv with problems
    (reported): the rows are checked alone, not for the pictures they leave out.
    """
    name = "locations.csv"
    given: dict[str, dict[str, Number]] = defaultdict(dict)
    rows_of: dict[str, list[int]] = defaultdict(list)
    line_of: dict[tuple[str, str], int] = {}
    unknown: dict[str, list[int]] = defaultdict(list)
    broken: set[str] = set()
    rows = csv_rows(folder, name, ("entity", "picture", "share", "source", "grade"), issues)
    if rows is None:
        return {}, []
    pictures_sound = bool(pictures) and not issues.items_in("pictures.csv")
    for row, r in rows:
        entity, picture = r.get("entity", ""), r.get("picture", "")
        if r.get(BROKEN):
            broken.add(entity)
            continue
        rows_of[entity].append(row)
        if entity_ids is not None and entity not in entity_ids:
            if entity not in issues.rejected_entities:
                unknown[entity].append(row)
            broken.add(entity)
            continue
        if (entity, picture) in line_of:
            issues.add(name, row, f"{entity} {picture} is given twice (line {line_of[(entity, picture)]} is the first)")
            broken.add(entity)
            continue
        line_of[(entity, picture)] = row
        if pictures and picture not in pictures:
            issues.add(name, row, f"picture {picture!r} is not one of {', '.join(pictures)}")
            broken.add(entity)
            continue
        share = read_number(r["share"])
        if share is None or not 0 <= share <= 1:
            issues.add(name, row, f"share {r['share']!r} is not a number from 0 to 1")
            broken.add(entity)
            continue
        if not provenance(name, row, r, sources, issues):
            broken.add(entity)
            continue
        given[entity][picture] = Number(share, r["source"], r["grade"])
    for entity, where in unknown.items():
        issues.add(name, where[0], f"entity {entity!r} is not in entities.toml{guess(entity, entity_ids)}{_count(where)}")
    sound = [n for shares in given.values() for n in shares.values()]
    if entity_ids is None or not pictures_sound:
        return {}, sound
    out = {}
    for entity, shares in given.items():
        if entity in broken:
            continue  # its bad row is reported; a missing picture or a wrong sum would follow from it
        where = rows_of[entity]
        missing = [z for z in pictures if z not in shares]
        if missing:
            issues.add(name, min(where), f"{entity}: no share for {', '.join(missing)}{_lines(where)}")
            continue
        total = math.fsum(n.probability for n in shares.values())
        if abs(total - 1) > SUM_TOLERANCE:
            issues.add(name, min(where), f"{entity}: shares sum to {total:.4f}, not 1{_lines(where)}")
            continue
        out[entity] = {z: shares[z] for z in pictures}
    return out, sound
