"""flags.toml and disagreements.toml: conditions on the findings, read alike for a flag's rule and
for findings that cannot both hold."""

from __future__ import annotations

import math
import re

from .parsing import NUMBER, TABLES, TEXT, TEXTS, Issues, check_fields, field_line, guess, id_refused, valid_tables
from .records import COMPARTMENTS, FLAG_LABELS, Advice, Condition, Disagreement, Rule


#: The fields of a condition of when, any or unless: a finding and one test of it.
CONDITION_FIELDS = {"feature": TEXT, "is": TEXT, "below": NUMBER, "at_least": NUMBER}

#: The tests a condition makes; it makes exactly one.
TESTS = ("is", "below", "at_least")


def _conditions(table: dict, key: str, features, name: str, line: int | None, where: str,
                issues: Issues) -> tuple[Condition, ...]:
    """The conditions under ``key`` (when, any or unless) of a rule or a disagreement of file
    ``name``, reported at their own line (``features`` None: features.toml is broken, nothing
    to check against)."""
    out = []
    line = field_line(name, line, key, issues) if key in table else line
    for c in table.get(key, ()):
        if not check_fields(c, CONDITION_FIELDS, name, line, f"{where}: a condition", issues):
            continue
        fid = c.get("feature")
        feature = (features or {}).get(fid)
        tests = [t for t in TESTS if t in c]
        if fid is None:
            issues.add(name, line, f"{where}: a condition is missing field 'feature'")
        elif feature is None:
            if features is not None and fid not in issues.rejected_features:
                issues.add(name, line, f"{where}: feature {fid!r} is not in features.toml{guess(str(fid), features)}")
        elif len(tests) != 1:
            issues.add(name, line, f"{where}: a condition on {fid} needs one of is, below or at_least"
                                   + (f", not {' and '.join(tests)} (write one condition for each)" if tests else ""))
        elif "is" in c and c["is"] not in feature.values:
            issues.add(name, line, f"{where}: {fid} has no value {c['is']!r}{guess(str(c['is']), feature.values)}")
        elif "is" in c and c["is"] == feature.exclusive:
            instead = "any" if key == "unless" else "unless"
            issues.add(name, line, f"{where}: {fid} is {c['is']!r} never holds ({c['is']!r} is read as no value given "
                                   f"at all): name the other values in {instead} instead")
        elif "is" not in c and feature.kind != "integer":
            issues.add(name, line, f"{where}: {tests[0]} is for an integer finding; {fid} is {feature.kind}: use is")
        elif "is" not in c and (reason := _out_of_range(c[tests[0]], feature)):
            issues.add(name, line, f"{where}: {tests[0]} = {c[tests[0]]!r} on {fid} {reason}")
        else:
            out.append(Condition(feature=fid, is_=c.get("is"), below=c.get("below"), at_least=c.get("at_least")))
    return tuple(out)


def _out_of_range(number: float, feature) -> str | None:
    """Why a threshold on an integer finding could never decide (not a finite number, or outside
    the finding's min and max, where it would always or never hold), or None."""
    if not math.isfinite(number):
        return "is not a finite number"
    top = feature.max if feature.max is not None else math.inf
    if not feature.min < number <= top:
        shown = f"{feature.min}-{feature.max}" if feature.max is not None else f"{feature.min} and up"
        return f"is outside what {feature.id} can be ({shown}): the condition would always or never hold"
    return None


def _named_once(t: dict, texts: tuple[str, ...], use: str, seen: dict[str, int], i: int, name: str, line: int | None,
                where: str, issues: Issues) -> bool:
    """Whether a table gives its texts (``texts``, its id among them), an id that is a lower-case
    word (``use``: what names it by the id) and the first of that id in its file."""
    return (_texts_given(t, texts, name, line, where, issues)
            and not id_refused(t["id"], use, name, line, where, issues)
            and _unique(t["id"], seen, i, name, line, where, issues))


def _texts_given(table: dict, keys: tuple[str, ...], name: str, line: int | None, where: str, issues: Issues) -> bool:
    """Whether each text field of ``keys`` is given and not blank (else says which is not)."""
    ok = True
    for key in keys:
        if key not in table:
            issues.add(name, line, f"{where}: missing field {key!r}")
            ok = False
        elif not table[key].strip():
            issues.add(name, field_line(name, line, key, issues), f"{where}: {key} is empty")
            ok = False
    return ok


def _unique(ident: str, seen: dict[str, int], i: int, name: str, line: int | None, where: str, issues: Issues) -> bool:
    """Whether ``ident`` is the first table of its id in the file (else says which one was)."""
    if ident in seen:
        issues.add(name, field_line(name, line, "id", issues), f"{where}: the id is taken by #{seen[ident]}")
        return False
    seen[ident] = i
    return True


#: The fields a [[rule]] of flags.toml may have, and what each must be.
RULE_FIELDS = {
    "id": TEXT, "kind": TEXT, "message": TEXT, "action": TEXT, "when": TABLES, "any": TABLES, "unless": TABLES,
    "entities": TEXTS, "min_probability": NUMBER,
}

#: What a rule raises: any kind of flag but a don't-miss, which entities.toml raises (an
#: emergency, shown first, or a syndrome to screen for).
RULE_KINDS = tuple(kind for kind in FLAG_LABELS if kind != "dont_miss")


def read_rules(data: dict, features, entity_ids, issues: Issues) -> tuple[Rule, ...]:
    name = "flags.toml"
    rules, seen = [], {}
    for i, r, where, line in valid_tables(data, "rule", name, RULE_FIELDS, issues):
        if "kind" in r and r["kind"] not in RULE_KINDS:
            issues.add(name, field_line(name, line, "kind", issues),
                       f"{where}: kind {r['kind']!r} is not one of {', '.join(RULE_KINDS)}{guess(r['kind'], RULE_KINDS)}")
        unknown = [e for e in r.get("entities", ()) if entity_ids is not None and e not in entity_ids and e not in issues.rejected_entities]
        if unknown:
            issues.add(name, field_line(name, line, "entities", issues), f"{where}: unknown entities {', '.join(unknown)}")
        if not 0 <= r.get("min_probability", 0.0) <= 1:
            issues.add(name, field_line(name, line, "min_probability", issues), f"{where}: min_probability must be between 0 and 1")
        elif "min_probability" in r and not r.get("entities"):
            issues.add(name, field_line(name, line, "min_probability", issues),
                       f"{where}: min_probability is the least summed probability of the rule's entities, and it names none")
        if not any(r.get(k) for k in ("when", "any", "entities")):
            issues.add(name, line, f"{where}: no condition in when or any and no entities: it would be raised on every "
                                   "case" + (" that does not meet its unless" if r.get("unless") else ""))
        conditions = {k: _conditions(r, k, features, name, line, where, issues) for k in ("when", "any", "unless")}
        if _named_once(r, ("id", "kind", "message", "action"), "the guide names the rule by it", seen, i, name, line, where, issues):
            rules.append(Rule(id=r["id"], kind=r["kind"], message=r["message"], action=r["action"], **conditions,
                              entities=tuple(r.get("entities", ())), min_probability=float(r.get("min_probability", 0.0))))
    if issues.items_in(name):
        pass  # missing, unreadable or broken already: what follows from it is not reported again
    elif not data.get("rule"):
        issues.unreadable(name, None, "defines no [[rule]]: the emergency and syndrome flags would all be gone")
    elif _compressed(features) and not any(_fires_on_compression(r) for r in rules):
        issues.add(name, None, "no emergency rule fires on cord = compressed alone: the cord-compression emergency "
                               "would never be raised (a [[rule]] of kind \"emergency\" with "
                               "when = [{ feature = \"cord\", is = \"compressed\" }])")
    return tuple(rules)


#: The fields a [[disagreement]] of disagreements.toml may have, and what each must be.
DISAGREEMENT_FIELDS = {"id": TEXT, "why": TEXT, "when": TABLES, "any": TABLES, "unless": TABLES}


def read_disagreements(data: dict, features, issues: Issues) -> tuple[Disagreement, ...]:
    """The findings that cannot both hold. Each holds only with two findings or more named: those
    of ``when`` and, when ``any`` is given, the one of it that holds (one finding cannot disagree
    with itself); ``why`` says why they cannot."""
    name = "disagreements.toml"
    out, seen = [], {}
    for i, d, where, line in valid_tables(data, "disagreement", name, DISAGREEMENT_FIELDS, issues):
        parts = {k: _conditions(d, k, features, name, line, where, issues) for k in ("when", "any", "unless")}
        if not d.get("when"):
            issues.add(name, line, f"{where}: when names no finding: a disagreement holds only with a finding given")
            continue
        given = {c.feature for c in parts["when"]}
        alone = [c.feature for c in parts["any"] if given <= {c.feature}] if parts["any"] else ([] if len(given) > 1 else sorted(given))
        sound = len(parts["when"]) == len(d["when"]) and len(parts["any"]) == len(d.get("any", ()))
        if features is not None and sound and alone:
            issues.add(name, line, f"{where}: it would hold with {alone[0]} alone: a disagreement is between two "
                                   "findings or more (when, and one of any)")
            continue
        if _named_once(d, ("id", "why"), "the knowledge base reference names the disagreement by it", seen, i, name, line, where, issues):
            out.append(Disagreement(id=d["id"], why=d["why"], **parts))
    return tuple(out)


#: The fields an [[advice]] of disagreements.toml may have, and what each must be.
ADVICE_FIELDS = {"id": TEXT, "text": TEXT, "pointing": TEXTS, "when": TABLES, "any": TABLES, "unless": TABLES}
#: A value's meaning quoted in an advice's text: {feature.value}.
MEANING = re.compile(r"\{(\w+)\.(\w+)\}")


def read_advice(data: dict, features, issues: Issues) -> tuple[Advice, ...]:
    """What to tell a reader whose findings point to different compartments: each [[advice]]
    names the compartments the findings must point to (two or more, or one with a condition) and
    its text, in which {feature.value} is put in as that value's meaning in features.toml."""
    name = "disagreements.toml"
    out, seen = [], {}
    for i, a, where, line in valid_tables(data, "advice", name, ADVICE_FIELDS, issues):
        parts = {k: _conditions(a, k, features, name, line, where, issues) for k in ("when", "any", "unless")}
        pointing = a.get("pointing", [])
        odd = [c for c in pointing if c not in COMPARTMENTS]
        if odd:
            issues.add(name, field_line(name, line, "pointing", issues), f"{where}: pointing names what is not a compartment: "
                       f"{', '.join(map(repr, odd))}{guess(odd[0], COMPARTMENTS)} (compartments: {', '.join(COMPARTMENTS)})")
            continue
        twice = sorted({c for c in pointing if pointing.count(c) > 1})
        if twice:
            issues.add(name, field_line(name, line, "pointing", issues), f"{where}: pointing names a compartment twice: "
                       f"{', '.join(map(repr, twice))}")
            continue
        if not pointing or (len(pointing) < 2 and not a.get("when") and not a.get("any")):
            issues.add(name, line, f"{where}: pointing names no two compartments and no condition narrows it: it would "
                                   "be said whenever the findings point anywhere")
            continue
        if not _named_once(a, ("id", "text"), "the knowledge base reference names the advice by it", seen, i, name, line, where, issues):
            continue
        text = a["text"]
        for fid, value in MEANING.findall(text):
            meaning = (features or {}).get(fid, None)
            meaning = meaning.meaning.get(value) if meaning is not None else None
            if meaning is None and features is not None and fid not in issues.rejected_features:
                issues.add(name, field_line(name, line, "text", issues), f"{where}: text quotes {{{fid}.{value}}}, and "
                           f"features.toml gives no meaning of {value!r} for {fid!r}")
                text = None
                break
            if meaning is not None:
                text = text.replace(f"{{{fid}.{value}}}", meaning)
        stray = re.search(r"[{}]", MEANING.sub("", text)) if text is not None else None
        if stray:
            issues.add(name, field_line(name, line, "text", issues), f"{where}: text has a {stray.group(0)!r} that quotes "
                       "no meaning: write {feature.value}, as {cord.displaced}")
            text = None
        if text is not None:
            out.append(Advice(id=a["id"], text=text, pointing=tuple(pointing), **parts))
    return tuple(out)


def _compressed(features) -> bool:
    """Whether the findings read a compressed cord (the emergency the output promises)."""
    cord = features.get("cord") if features else None
    return cord is not None and "compressed" in cord.values


def _fires_on_compression(rule: Rule) -> bool:
    """Whether an emergency rule is raised by a compressed cord whatever else is known."""
    return (rule.kind == "emergency" and not rule.entities and not rule.unless and not rule.any
            and [(c.feature, c.is_) for c in rule.when] == [("cord", "compressed")])
