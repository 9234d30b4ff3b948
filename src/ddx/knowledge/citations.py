"""sources.toml and what cites it: every number names a source that resolves to a citation and a
grade no better than its sources', and every source is cited."""

from __future__ import annotations

import re
from collections import defaultdict

from .parsing import LINE_END, Issues, field_line, guess, source_keys
from .records import GRADES, Source


#: The fields a [KEY] table of sources.toml may have.
SOURCE_FIELDS = ("citation", "url", "grade")


def read_sources(data: dict | None, issues: Issues) -> dict[str, Source] | None:
    """sources.toml (None: the file is missing, broken or empty, already reported). A source
    whose grade is wrong is reported once and kept ungraded, and one without a citation is
    reported once: the numbers citing either are not each reported again."""
    if data is None:
        return None
    name = "sources.toml"
    if not data:
        issues.unreadable(name, None, "defines no source")
        return None
    lines = source_lines(issues)
    sources = {}
    for key, s in data.items():
        line = lines.get(key)
        if not isinstance(s, dict):
            issues.add(name, line, f"[{key}]: is not a table (citation, url, grade)")
            issues.rejected_sources.add(key)
            continue
        for field in sorted(set(s) - set(SOURCE_FIELDS)):
            issues.add(name, field_line(name, line, field, issues), f"[{key}]: unknown field {field!r}{guess(field, SOURCE_FIELDS)} (known: {', '.join(SOURCE_FIELDS)})")
        if not isinstance(s.get("citation"), str) or not s["citation"].strip():
            if "citation" in s or not set(s) - set(SOURCE_FIELDS):  # a misspelt citation is reported above
                issues.add(name, line, f"[{key}]: needs a citation")
            issues.rejected_sources.add(key)
            continue
        url = s.get("url", "")
        if not isinstance(url, str):
            issues.add(name, line, f"[{key}]: url must be text (found {url!r})")
            url = ""
        grade = s.get("grade")
        if grade is not None and grade not in GRADES:
            issues.add(name, field_line(name, line, "grade", issues), f"[{key}]: grade {grade!r} is not A, B or C")
            issues.badly_graded.add(key)
            grade = None
        sources[key] = Source(key=key, citation=s["citation"], url=url, grade=grade)
    return sources


def source_lines(issues: Issues) -> dict[str, int]:
    """The line of each [KEY] table of sources.toml (for messages)."""
    header = re.compile(r"""\s*\[\s*["']?([^\]"'\[]+?)["']?\s*\]\s*(?:#.*)?$""")
    text = issues.texts.get("sources.toml", "")
    return {m.group(1): i for i, ln in enumerate(LINE_END.split(text), 1) if (m := header.match(ln))}




def check_graded(sources: dict[str, Source] | None, numbers, issues: Issues) -> None:
    """A number's grade is checked against its sources' grades, so a number needs at least
    one graded source; an ungraded one is reported once, at the source (an entity's list of
    sources, or a source cited beside a graded one, may go without)."""
    if sources is None:
        return
    alone: set[str] = set()
    beside: dict[str, set[str]] = defaultdict(set)  # ungraded keys cited only with other ungraded ones
    for n in numbers:
        keys = n.source_keys
        if all(k in sources and sources[k].grade is None for k in keys):
            if len(set(keys)) == 1:
                alone.update(k for k in keys if k not in issues.badly_graded)
            else:
                for k in keys:
                    beside[k].update(o for o in keys if o != k)
    lines = source_lines(issues)
    for key in sorted(alone):
        issues.add("sources.toml", lines.get(key), f"[{key}] is the only source of some numbers, so it needs a grade: "
                                                   "A (a cohort with counts), B (a review or textbook) or C (an estimate)")
    # a source cited only beside other ungraded ones is not "the only source": it is said once, and
    # not at all when one it is cited with is already reported (grading that one mends both)
    said = alone | issues.badly_graded
    for key in sorted(set(beside) - said):
        if beside[key] & said:
            continue
        said.add(key)
        issues.add("sources.toml", lines.get(key), f"[{key}] has no grade, nor has {', '.join(sorted(beside[key]))}, "
                   "cited with it by some numbers: one of them needs a grade: "
                   "A (a cohort with counts), B (a review or textbook) or C (an estimate)")


def provenance(name: str, row: int, values: dict, sources: dict[str, Source] | None, issues: Issues) -> bool:
    """Is the row's grade valid, and its source known and no better graded than it says?
    ``sources`` None: sources.toml could not be read (reported), so its keys are not checked."""
    ok = True
    if values["grade"] not in GRADES:
        issues.add(name, row, f"grade {values['grade']!r} is not A, B or C")
        ok = False
    keys = source_keys(values["source"])
    values["source"] = ";".join(keys)
    if sources is None:
        return ok
    if not all(keys):
        issues.add(name, row, f"source {values['source']!r} names no source" if not any(keys) else
                   f"source {values['source']!r} has an empty key between its ';'")
        return False
    missing = [k for k in keys if k not in sources]
    if missing:
        for key in missing:
            if key not in issues.rejected_sources:  # else: that source is reported already
                issues.unknown_sources.setdefault(key, []).append((name, row))
        return False
    graded = [sources[k].grade for k in keys if sources[k].grade is not None]
    if graded and values["grade"] in GRADES and min(graded) != values["grade"]:
        issues.add(name, row, f"grade {values['grade']} differs from the best grade {min(graded)} of its sources")
        ok = False
    return ok


def report_unknown_sources(sources: dict[str, Source] | None, issues: Issues) -> None:
    """Each source key that rows cite and sources.toml lacks, said once, at the first row that
    cites it, with how many rows do and where."""
    for key, rows in issues.unknown_sources.items():
        (first, row), *_ = rows
        issues.add(first, row, f"source {key!r} is not in sources.toml{guess(key, sources or {})}{_where(rows)}")


def _where(rows: list[tuple[str, int]]) -> str:
    """' (20 rows: likelihoods.csv lines 21-400, priors.csv line 3)', or '' for one row."""
    if len(rows) < 2:
        return ""
    files: dict[str, list[int]] = {}
    for name, row in rows:
        files.setdefault(name, []).append(row)
    parts = [f"{name} line {lines[0]}" if len(lines) == 1 else f"{name} lines {min(lines)}-{max(lines)}"
             for name, lines in files.items()]
    return f" ({len(rows)} rows: {', '.join(parts)})"


def check_cited(sources: dict[str, Source] | None, entity_data: dict | None, issues: Issues) -> None:
    """Every source is cited by a row of a table or by an entity, whether or not that row was
    sound (said only when all the files that cite could be read)."""
    citing = {"entities.toml", "priors.csv", "likelihoods.csv", "pictures.csv", "locations.csv"}
    if sources is None or issues.unread & citing:
        return
    used = issues.cited | {k for e in (entity_data or {}).get("entity", []) if isinstance(e.get("sources"), list)
                           for k in e["sources"] if isinstance(k, str)}
    lines = source_lines(issues)
    for key in sorted(set(sources) - used):
        issues.add("sources.toml", lines.get(key), f"[{key}] is not cited by any number or entity")
