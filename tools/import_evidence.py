"""Import the evidence dossier into ddx's knowledge files.

Reads ``../shared/evidence/`` (feature_frequencies.csv, priors.csv, dossier.md)
and writes ``src/ddx/knowledge/{likelihoods.csv,priors.csv,sources.toml}``.

Every number starts as the dossier's consolidated engine default, and the
published series of the sweeps (``tools/literature/``) confirm or replace it
(``apply_literature``). Its provenance is decided per row:

* if a graded (A or B) evidence row for the same entity, finding and value
  brackets the number (inside its 95% interval or stated range, or within
  0.10 when it has none), that row's source and grade are cited;
* otherwise the number is ddx's own estimate: grade C, source ``DDX_ESTIMATE``
  (the dossier's consolidated table), or ``DDX_EXPERT`` where the dossier
  gives an explicit expert estimate for it.

Age and segment bands are derived from the consolidated mean/SD (normal) and
typical length (log-normal), each centre moved to the pooled published means
and medians of the sweeps (``published_centres``); sex from the female
fraction; level from the per-region fractions. An entity whose lesions
mix subgroups with different findings (incidental and symptomatic
haemangiomas) gets the mixture of its own tables and the subgroups', each
at its published share (``mixed``). Sweep rows marked for use that name no
number of the tables are listed on stderr. Re-running
rebuilds the three files from the dossier and the sweeps: a number is changed
by changing those (or this script), never by editing the output.

Usage: python tools/import_evidence.py [EVIDENCE_DIR]
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
import sys
import tomllib
from collections import defaultdict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "ddx" / "knowledge"
GRADE_ORDER = {"A": 0, "B": 1, "C": 2}
SKIP_FEATURES = {"age", "sex", "level", "segments"}
#: A literature number replaces a table number only when it pools at least
#: this many cases; smaller series are cited where they agree.
MIN_REPLACING_N = 20
#: A replaced number is the published count shrunk towards the estimate it
#: replaces, the estimate counting as this many cases (beta-binomial): a
#: surgical series of 23 with 23/23 does not make the other values impossible.
ESTIMATE_WEIGHT = 10
#: The other values of a finding are rescaled to make room for replaced ones, but
#: never below this fraction of their own estimate: past it, all values are
#: scaled together.
SQUEEZE = 0.5
#: How long each entity's lesions run where the default does not describe them (a mixture
#: of subtypes, or a spread of its own), each with why and its sources: data, not code.
LENGTHS = ROOT / "tools" / "lengths.toml"


#: The widest spread (SD of the log length) and the longest typical length (segments) that
#: tools/lengths.toml may give: past them a number is a slip (25 for 0.25), and the bands'
#: arithmetic would overflow.
MAX_SPREAD = 3.0
MAX_LENGTH = 50.0


@lru_cache(maxsize=None)
def read_lengths(path: Path = LENGTHS, entities_file: Path = OUT / "entities.toml") -> tuple[float, dict[str, tuple[tuple[float, float], ...]], dict[str, float]]:
    """(the default spread, the mixtures, the spreads of their own) of tools/lengths.toml. One
    that does not hold together (a table or a field it does not know, an entity that is not in
    entities.toml, a number that is not positive, weights that do not sum to 1, no why or no
    sources) stops the import before anything is written, saying where."""
    data = read_toml(path)
    known = {e["id"] for e in read_entities(entities_file) if isinstance(e.get("id"), str)}

    def bad(where: str, what: str) -> NoReturn:
        raise SystemExit(f"{path}: [{where}]: {what}\nnothing was written")

    def guess(name: str, names) -> str:
        meant = difflib.get_close_matches(name, sorted(names), n=1)
        return f"; did you mean {meant[0]!r}?" if meant else ""

    def table(where: str, value, fields: set[str]) -> dict:
        if not isinstance(value, dict):
            bad(where, f"{value!r} is not a table")
        for field in sorted(set(value) - fields):
            bad(where, f"unknown field {field!r}{guess(field, fields)} (known: {', '.join(sorted(fields))})")
        return value

    def positive(where: str, value, most: float, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= most:
            bad(where, f"{value!r} is not {what} (a number above 0, at most {most:g})")
        return float(value)

    def entries(kind: str, fields: set[str]) -> dict[str, dict]:
        found = {}
        for entity, value in data.get(kind, {}).items():
            where = f"{kind}.{entity}"
            if entity not in known:
                bad(where, f"{entity!r} is not an entity of entities.toml{guess(entity, known)}")
            found[entity] = table(where, value, fields)
            why, sources = found[entity].get("why"), found[entity].get("sources")
            if not isinstance(why, str) or not why.strip() or not isinstance(sources, list) or not sources \
                    or not all(isinstance(c, str) and c.strip() for c in sources):
                bad(where, "say why (a text), and cite the sources it rests on (sources: a list of citations)")
        return found

    table("the file", data, {"default", "mixture", "spread"})
    for kind in ("mixture", "spread"):
        if not isinstance(data.get(kind, {}), dict):
            bad(kind, f"{data[kind]!r} is not a table of entities")
    spread = positive("default", table("default", data.get("default"), {"spread"}).get("spread"), MAX_SPREAD, "a spread")
    mixtures = {}
    for entity, m in entries("mixture", {"parts", "why", "sources"}).items():
        parts = m.get("parts")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, list) and len(p) == 2 for p in parts):
            bad(f"mixture.{entity}", "parts must be a list of [weight, typical length] pairs")
        parts = tuple((positive(f"mixture.{entity}", w, 1, "a weight"), positive(f"mixture.{entity}", t, MAX_LENGTH, "a typical length"))
                      for w, t in parts)
        if abs(sum(w for w, _ in parts) - 1) > 1e-9:
            bad(f"mixture.{entity}", f"the weights sum to {sum(w for w, _ in parts):g}, not 1")
        mixtures[entity] = parts
    spreads = {entity: positive(f"spread.{entity}", s.get("sd"), MAX_SPREAD, "a spread")
               for entity, s in entries("spread", {"sd", "why", "sources"}).items()}
    return spread, mixtures, spreads


#: Findings whose numbers the importer derives (bands of a distribution) rather than reads.
DERIVED_BANDS = {"age", "segments"}
#: What the dossier writes beside a finding it does not expect of an entity at all (a bone
#: pattern of a nerve sheath tumour), whose numbers it spreads evenly meaning "uninformative".
#: Even numbers are not uninformative: a fifth for every pattern is more than the rate of a
#: haemangioma's coarse trabeculae among the metastases, so the pattern would count for a
#: leptomeningeal metastasis. Left out, the finding is not characteristic of the entity, which
#: the engine reads as the rate of the entities that have numbers (knowledge.weights).
UNINFORMATIVE = "uniform = uninformative"
#: Literature rows that give the centre of an entity's age or length (a mean or
#: median, in the `frequency` column) rather than a share, by the feature they
#: are filed under; and the dossier's quantities of the same kind.
CENTRE_FEATURES = {"age_mean": "age", "age_median": "age", "segments": "segments", "segments_mean": "segments"}
DOSSIER_CENTRES = {"mean_age": "age", "median_age": "age", "mean_segments": "segments"}
#: A sweep row for "entity/subgroup" describes one subgroup of an entity (the
#: symptomatic haemangiomas), and a ``subgroup_share`` row gives the subgroup's
#: share of the entity's lesions in the reference population. The subgroup's
#: tables are built like an entity's, from the entity's own numbers and the
#: subgroup's rows, and the entity's tables become the mixture (``mixed``).
SUBGROUP_MARK = "/"
SHARE_FEATURE = "subgroup_share"
LIKELIHOOD_HEADER = """\
# ddx knowledge base: likelihoods P(finding = value | entity).
# Written by tools/import_evidence.py from the evidence dossier and tools/literature/
# (docs/curating.md): a number the dossier gives is changed there, not here, since
# the next import rebuilds it; the rows of an entity or a finding the dossier does
# not know are kept as they are.
# One row per entity, finding and value. choice/yesno/integer findings: the
# values of one finding sum to 1 per entity. list findings (level, syndrome):
# each value is the probability that the value is present.
# grade: A cohort with counts, B review or textbook, C estimate (see sources.toml).
# Integer findings (age, segments) are given per band of features.toml, each band
# named by its ends (0-9, 1-1 for a band of one), the last, open one as 75+ or 7+.
"""
PRIOR_HEADER = """\
# ddx knowledge base: prior probability of each entity.
# Reference population: spinal lesions imaged on MRI for a suspected spinal
# tumour and sent for a differential (tumours plus the listed mimics), adults
# and children; not autopsy or registry incidence. Compartment weights
# extradural 0.60, intradural extramedullary 0.25, intramedullary 0.15,
# split within each compartment by registry and surgical series shares.
# Probabilities sum to 1 over all entities.
#
# Written by tools/import_evidence.py from the evidence dossier and tools/literature/
# (docs/curating.md): a number the dossier gives is changed there, not here, since
# the next import rebuilds it; the prior of an entity the dossier does not know is
# kept as it is (the others of its compartment are scaled to make room for it,
# so that each compartment keeps its weight).
"""


def slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")[:40]


def publication_year(citation: str) -> str | None:
    """The first year in a citation, passing over a year that is part of a journal's
    name (Spine's "Phila Pa 1976") and the digits of an ISSN (2095-0616)."""
    citation = re.sub(r"Phila\.?,? Pa\.?,? 1976|ISSN:?\s*\d{4}-\d{3}[\dXx]", "", citation)
    year = re.search(r"\b(?:19|20)\d{2}\b", citation)
    return year.group(0) if year else None


def citation_key(citation: str) -> str:
    """A short key: first author and year (SMITH2019), else journal words and year."""
    year = publication_year(citation)
    author = re.match(r"([A-Z][A-Za-z'\-]+)(?:\s+[A-Z]{1,3})?(?: et al|,| &| and)", citation)
    if author and year:
        return slug(author.group(1)) + year
    words = re.sub(r"\([^)]*\)", " ", citation)
    words = [w for w in re.findall(r"[A-Za-z]+", words) if w.lower() not in {"authors", "not", "shown", "on", "the", "et", "al", "of", "and", "in"}]
    return slug("_".join(words[:3])) + (year or "")


def read_dossier_sources(dossier: Path) -> dict[str, dict]:
    sources = {}
    in_refs = False
    for line in dossier.read_text(encoding="utf-8").splitlines():
        if line.startswith("## References"):
            in_refs = True
            continue
        m = in_refs and re.match(r"- \*\*([A-Z0-9_]+)\*\*: (.*)", line)
        if m:
            key, rest = m.groups()
            url = re.search(r"(https?://\S+)", rest)
            citation = rest[: url.start()].strip() if url else rest.strip()
            sources[key] = {"citation": citation, "url": url.group(1) if url else ""}
    return sources


#: Hosts that mirror or proxy an article rather than publish it: the link is
#: dropped (the citation stays) unless it can be rewritten to the article's
#: own address (a PubMed id, an MDPI path, a BMJ Best Practice topic).
MIRRORS = ("docksci.com", "coek.info", "scribd.com", "scite.ai", "tweb-dev.unibo.it", "xn--")


def clean_url(url: str) -> str:
    """A citation's link as a reader should follow it: the publisher's or PubMed's address."""
    if not url:
        return url
    host = re.match(r"https?://([^/]+)", url)
    host = host.group(1) if host else ""
    pubmed = re.search(r"pubmed\.ncbi\.nlm\.nih\.gov/(\d{6,9})", url)
    if pubmed:
        return f"https://pubmed.ncbi.nlm.nih.gov/{pubmed.group(1)}/"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+(:\d+)?", host):
        pmid = re.search(r"/(\d{6,9})/?$", url)
        return f"https://pubmed.ncbi.nlm.nih.gov/{pmid.group(1)}/" if pmid else ""
    if host == "cricutcom-setup.com":
        return "https://www.mdpi.com" + url.split(host, 1)[1]
    if host.startswith("bibliotheek.ehb.be"):
        return "https://bestpractice.bmj.com" + url.split(host, 1)[1]
    if any(m in host for m in MIRRORS):
        return ""
    return url


class Sources:
    """Citation registry: dossier keys first, then keys made for other sources."""

    def __init__(self, dossier_sources: dict[str, dict]):
        self.entries = dict(dossier_sources)
        self.by_url = {v["url"]: k for k, v in self.entries.items() if v["url"]}

    def key_for(self, source_text: str, grade: str) -> str:
        head = source_text.split(" | ")[0].strip()
        url = re.search(r"(https?://\S+)", head)
        if url and url.group(1) in self.by_url:
            key = self.by_url[url.group(1)]
        else:
            citation = head[: url.start()].strip() if url else head
            key = citation_key(citation)
            base, n = key, 2
            while key in self.entries and self.entries[key]["citation"] != citation:
                key, n = f"{base}_{n}", n + 1
            self.entries.setdefault(key, {"citation": citation, "url": url.group(1) if url else ""})
            if url:
                self.by_url.setdefault(url.group(1), key)
        self.entries[key].setdefault("grade", grade)
        return key


def cite(sources: "Sources", rows: list[dict]) -> str:
    """The source keys of literature rows, each once, in order."""
    return join_keys(sources.key_for(f"{r['citation']} {r['url']}", r["grade"]) for r in rows)


def join_keys(keys) -> str:
    """Source keys (each possibly "A;B") joined once each, in order."""
    return ";".join(dict.fromkeys(k for key in keys for k in key.split(";")))


def brackets(row: dict, value: float) -> bool:
    freq = float(row["frequency"])
    low, high = row["low"], row["high"]
    if low and high:
        return float(low) - 1e-9 <= value <= float(high) + 1e-9
    return abs(freq - value) <= 0.10 + 1e-9


def provenance(evidence: list[dict], value: float, sources: Sources, complement: bool):
    """(source, grade) for a consolidated number, given the evidence rows beside it."""
    graded = sorted(
        (r for r in evidence if r["grade"] in ("A", "B")),
        key=lambda r: (GRADE_ORDER[r["grade"]], -float(r["n"] or 0)),
    )
    for r in graded:
        target = 1 - value if complement else value
        if brackets(r, target):
            return sources.key_for(r["source"], r["grade"]), r["grade"]
    for r in evidence:
        if r["grade"] == "C" and r["source"].startswith("EXPERT ESTIMATE"):
            target = 1 - value if complement else value
            if abs(float(r["frequency"]) - target) < 1e-6:
                return "DDX_EXPERT", "C"
    return "DDX_ESTIMATE", "C"


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def pool(rows: list[dict]) -> tuple[float, str, list[dict], float, float, bool]:
    """Pooled frequency, grade, rows used, interval, and whether it may replace a number.

    A rows with a denominator are pooled by count (Wilson interval; fewer than
    MIN_REPLACING_N cases may confirm a number but not overturn it); otherwise
    the mean of the A rows, else of the B rows, with a +/-0.10 interval.
    """
    counted = [r for r in rows if r["grade"] == "A" and r["n"]]
    if counted:
        k = sum(float(r["frequency"]) * float(r["n"]) for r in counted)
        n = sum(float(r["n"]) for r in counted)
        low, high = wilson(k, n)
        return k / n, "A", counted, low, high, n >= MIN_REPLACING_N
    for grade in ("A", "B"):
        used = [r for r in rows if r["grade"] == grade]
        if used:
            p = sum(float(r["frequency"]) for r in used) / len(used)
            return p, grade, used, p - 0.10, p + 0.10, True
    raise ValueError("no graded rows")


def dossier_citation(source: str) -> dict[str, str]:
    """A dossier source text as a sweep row's citation and url (the part before " | ")."""
    head = source.split(" | ")[0].strip()
    url = re.search(r"https?://\S+", head)
    return {"citation": head, "url": url.group(0) if url else ""}


def counted_evidence(evidence: dict[tuple, list[dict]]) -> list[dict]:
    """The dossier's own counted (grade A, with a denominator) rows, in the literature's shape,
    so that a new series is pooled with the counts already behind a number, not put in their place."""
    rows = []
    for (entity, feature, value), found in evidence.items():
        for r in found:
            if r["grade"] == "A" and r.get("n") and r.get("scope", "overall") == "overall":
                rows.append({"entity": entity, "feature": feature, "value": value, "frequency": r["frequency"],
                             "n": r["n"], "grade": "A", **dossier_citation(r["source"]), "dossier": "yes"})
    return rows


def study(row: dict) -> tuple:
    """What identifies a series across the dossier and the sweeps: its address, and its
    first author, year and size (an unnamed author does not identify anything)."""
    url = row.get("url") or ""
    author = re.match(r"\W*([A-Za-z'\-]+)", row["citation"])
    year = publication_year(row["citation"])
    name = author.group(1).lower() if author and author.group(1).lower() not in {"authors", "author", "anonymous"} else None
    n = float(row["n"]) if row.get("n") else None
    return url, (name, year, n) if name and year and n else None


def same_study(a: dict, b: dict) -> bool:
    (url_a, id_a), (url_b, id_b) = study(a), study(b)
    return bool(url_a and url_a == url_b) or (id_a is not None and id_a == id_b)


def as_findings(prior_evidence: dict[tuple, list[dict]]) -> dict[tuple, list[dict]]:
    """The dossier's per-entity shares in priors.csv (female, level, multiple, conus/cauda,
    single-segment and syndrome fractions) keyed like the findings they are: (entity, feature, value)."""
    out: dict[tuple, list[dict]] = defaultdict(list)
    for (entity, quantity), rows in prior_evidence.items():
        rows = [r for r in rows if r.get("scope", "overall") == "overall"]
        level = re.fullmatch(r"level_(\w+)_fraction", quantity)
        if quantity == "female_fraction":
            key = (entity, "sex", "female")
        elif quantity == "multiple_fraction":
            key = (entity, "multiplicity", "multiple")
        elif quantity == "conus_cauda_fraction":
            key = (entity, "conus_cauda", "yes")
        elif quantity == "single_segment_fraction":
            key = (entity, "segments", "1-1")
        elif quantity in ("nf1_fraction", "nf2_fraction", "vhl_fraction"):
            key = (entity, "syndrome", quantity.removesuffix("_fraction"))
        elif level:
            key = (entity, "level", level.group(1))
        else:
            continue
        out[key].extend(rows)
    return out


def apply_literature(out: list[tuple], literature: list[dict], sources: "Sources", features: list[dict]) -> list[tuple]:
    """Cite, or where they disagree replace, table numbers with pooled literature values.

    A new series is pooled with the dossier's counted rows for the same number
    (``dossier`` rows only join a pool that already counts a new series, and
    never a second time the series a sweep row already brings, nor one a sweep
    set aside or filed under a subgroup of the entity; a count for an age or
    length band, which the importer derives, stands alone). A number
    inside the pooled interval is kept and cited; one outside it is
    replaced by the pooled value shrunk towards it (ESTIMATE_WEIGHT). The other values of the finding are then
    rescaled so that they still sum to 1 (yes/no: no = 1 - yes).
    """
    kinds = {f["id"]: f.get("kind") for f in features}
    kinds["sex"] = "choice"
    table = {(e, f, v): [p, src, g] for e, f, v, p, src, g in out}
    by_key, withheld = defaultdict(list), defaultdict(list)
    for r in literature:
        if r.get("dossier"):
            continue
        if kept_out(r):
            withheld[(entity_of(r["entity"]), r["feature"], r["value"])].append(r)
        if r.get("use", "yes") != "no" and r["grade"] in ("A", "B") and (r["entity"], r["feature"], r["value"]) in table:
            by_key[(r["entity"], r["feature"], r["value"])].append(r)
    for r in literature:
        key = (r["entity"], r["feature"], r["value"])
        rows = by_key.get(key)
        if not r.get("dossier") or any(same_study(r, x) for x in withheld.get(key, [])):
            continue
        if rows is None:
            # age and length bands are this importer's model, not numbers the dossier
            # set, so its counts for a band (a share of single-segment tumours) stand alone
            if r["feature"] in DERIVED_BANDS and key in table:
                by_key[key] = [r]
            continue
        counted = r["feature"] in DERIVED_BANDS or any(x["grade"] == "A" and x["n"] for x in rows)
        if counted and not any(same_study(r, x) for x in rows):
            rows.append(r)
    fixed = defaultdict(set)
    for (e, f, v), rows in sorted(by_key.items()):
        p, grade, used, low, high, may_replace = pool(rows)
        current = table[(e, f, v)][0]
        agrees = low - 1e-9 <= current <= high + 1e-9
        if not agrees and not may_replace:
            continue
        keys = cite(sources, used)
        n = sum(float(r["n"]) for r in used if r["n"]) or ESTIMATE_WEIGHT
        shrunk = (p * n + current * ESTIMATE_WEIGHT) / (n + ESTIMATE_WEIGHT)
        value = current if agrees else min(max(shrunk, 0.01), 0.99)
        table[(e, f, v)] = [round(value, 4), keys, grade]
        fixed[(e, f)].add(v)
    for (e, f), values in fixed.items():
        kind = kinds.get(f)
        if kind == "list":
            continue
        if kind == "yesno":
            yes = table[(e, f, "yes")]
            table[(e, f, "no")] = [round(1 - yes[0], 4), yes[1], yes[2]]
            continue
        if kind == "choice" and f == "sex":
            female = table[(e, f, "female")]
            table[(e, f, "male")] = [round(1 - female[0], 4), female[1], female[2]]
            continue
        outcomes = [v for (e2, f2, v) in table if e2 == e and f2 == f]
        before = {v: table[(e, f, v)][0] for v in outcomes}
        set_total = sum(before[v] for v in values)
        rest = [v for v in outcomes if v not in values]
        rest_total = sum(before[v] for v in rest)
        if not rest or set_total > 1 - SQUEEZE * rest_total:
            # values pooled from different series can over-fill a finding: then every
            # value is scaled together, rather than the others squeezed to nothing
            total = set_total + rest_total
            for v in outcomes:
                table[(e, f, v)][0] = round(before[v] / total, 4)
        else:
            for v in rest:
                table[(e, f, v)][0] = round(max(before[v] * (1 - set_total) / rest_total, 0.001), 4)
        drift = 1 - sum(table[(e, f, v)][0] for v in outcomes)
        biggest = max(rest or values, key=lambda v: table[(e, f, v)][0])
        table[(e, f, biggest)][0] = round(table[(e, f, biggest)][0] + drift, 4)
        for v in rest:
            # a number rescaled far from the one its source supports no longer cites it
            moved = table[(e, f, v)][0]
            if not table[(e, f, v)][1].startswith("DDX_") and abs(moved - before[v]) > 0.10:
                table[(e, f, v)][1:] = ["DDX_ESTIMATE", "C"]
    return [(e, f, v, *table[(e, f, v)]) for e, f, v, *_ in out]


def subgroup_shares(literature: list[dict], sources: "Sources") -> dict[str, tuple[float, str, str]]:
    """"entity/subgroup" -> (the subgroup's share of the entity, its source keys, grade),
    pooled from the sweeps' subgroup_share rows as a share is; a share counted in
    fewer than MIN_REPLACING_N cases mixes nothing in.

    A subgroup is for an entity whose own tables describe the lesions outside
    it, or a population in which it is rare (haemangiomas on any MRI, few of
    them symptomatic): mixed into tables that already count it, it would count twice.
    """
    found: dict[str, list[dict]] = defaultdict(list)
    for r in literature:
        if (r["feature"] == SHARE_FEATURE and SUBGROUP_MARK in r["entity"] and r.get("use", "yes") != "no"
                and r["grade"] in ("A", "B") and number(r["frequency"]) is not None):
            found[r["entity"]].append(r)
    shares = {}
    for name, rows in found.items():
        p, grade, used, _, _, enough = pool(rows)
        if enough:
            shares[name] = (p, cite(sources, used), grade)
    for entity in {entity_of(name) for name in shares}:
        total = sum(share for name, (share, _, _) in shares.items() if entity_of(name) == entity)
        if total >= 1:
            raise SystemExit(f"import_evidence: the subgroup shares of {entity} sum to {total:.2f}; "
                             "they must leave the entity's own lesions a share")
    return shares


def kept_out(row: dict) -> bool:
    """Whether a sweep row keeps its series out of the entity's own numbers: set aside
    (use=no), or filed under a subgroup of the entity."""
    return row.get("use", "yes") == "no" or SUBGROUP_MARK in row["entity"]


def entity_of(name: str) -> str:
    """The entity of a table name: "hemangioma/symptomatic" -> "hemangioma"."""
    return name.split(SUBGROUP_MARK, 1)[0]


def subgroup_tables(name: str, out: list[tuple], own_bands: list[tuple], literature: list[dict],
                    sources: "Sources", features: list[dict]) -> list[tuple]:
    """A subgroup's tables: its entity's final numbers (``out``), its own age and length
    bands where it has a published centre (``own_bands``), and its own sweep rows
    pooled into them as an entity's are (apply_literature)."""
    entity = entity_of(name)
    replaced = {f for _, f, *_ in own_bands}
    start = [(name, *row[1:]) for row in out if row[0] == entity and row[1] not in replaced] + own_bands
    return apply_literature(start, [r for r in literature if r["entity"] == name], sources, features)


def mixed(out: list[tuple], shares: dict[str, tuple[float, str, str]], features: list[dict]) -> list[tuple]:
    """The tables with each entity that has subgroups made their mixture, and the subgroups' rows dropped.

    P(value | entity) = (1 - sum of w) P(value | the entity's own tables) + sum of
    w P(value | subgroup), w each subgroup's share. A number the subgroups
    leave unchanged keeps its source; a mixed one cites the sources of its
    parts, at the best of their grades (as every number citing several
    sources is graded). A share is a weight, not a likelihood: its source stays
    with its subgroup_share row in the sweeps.
    """
    kinds = {f["id"]: f.get("kind") for f in features}
    table = {(e, f, v): (p, src, g) for e, f, v, p, src, g in out}
    subgroups = defaultdict(list)
    for name, (share, _, _) in shares.items():
        subgroups[entity_of(name)].append((name, share))
    result = []
    for e, f, v, p, src, grade in out:
        if SUBGROUP_MARK in e:
            continue
        parts = [(share, table[(name, f, v)]) for name, share in subgroups.get(e, []) if (name, f, v) in table]
        if any(abs(part[0] - p) > 1e-9 for _, part in parts):
            own = 1 - sum(share for share, _ in parts)
            p = own * p + sum(share * part[0] for share, part in parts)
            src = join_keys([src] + [part[1] for _, part in parts])
            grade = min([grade] + [part[2] for _, part in parts], key=GRADE_ORDER.get)
        result.append((e, f, v, p, src, grade))
    by_finding = defaultdict(list)
    for i, (e, f, *_) in enumerate(result):
        if e in subgroups:
            by_finding[(e, f)].append(i)
    for (e, f), rows in by_finding.items():
        values = [result[i][3] for i in rows]
        rounded = [round(x, 4) for x in values] if kinds.get(f) == "list" else to_one(values)
        for i, x in zip(rows, rounded):
            result[i] = (*result[i][:3], x, *result[i][4:])
    return result


def to_one(values: list[float]) -> list[float]:
    """``values`` rounded to four places, the rounding drift added to the largest, so they sum to 1."""
    rounded = [round(x, 4) for x in values]
    top = rounded.index(max(rounded))
    rounded[top] = round(1 - sum(rounded) + rounded[top], 4)
    return rounded


def number(text: str) -> float | None:
    """A sweep cell as a number (None when it is blank or not a number)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def counted_centre(row: dict) -> bool:
    """Whether a sweep row is a centre (mean or median) that can be pooled: grade A,
    a number, and a count of cases."""
    return (row["feature"] in CENTRE_FEATURES and row["value"] in ("mean", "median") and row["grade"] == "A"
            and number(row["frequency"]) is not None and (number(row["n"]) or 0) > 0)


def median_length(entity: str, mean: float) -> float:
    """The median of an entity's log-normal length distribution whose mean is ``mean``:
    the tables centre each length on its median, while series report means."""
    default, _, spreads = read_lengths()
    spread = spreads.get(entity, default)
    return mean / math.exp(spread * spread / 2)


def published_centres(literature: list[dict], prior_evidence: dict[tuple, list[dict]]) -> dict[tuple[str, str], tuple[float, float]]:
    """(entity, "age" | "segments") -> (pooled centre, cases) where a sweep brings a counted series.

    A sweep's counted means and medians are pooled by cases with the dossier's
    own, as apply_literature pools shares; a series both report counts once
    (same_centre), and a series a sweep set aside or filed under a subgroup is
    not brought back to the entity by the dossier. A mean length is pooled as
    the median it implies.
    """
    new: dict[tuple[str, str], list[dict]] = defaultdict(list)
    set_aside: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in literature:
        if not counted_centre(r):
            continue
        centre_of = CENTRE_FEATURES[r["feature"]]
        if kept_out(r):
            set_aside[(entity_of(r["entity"]), centre_of)].append(r)
        if r.get("use", "yes") != "no":
            new[(r["entity"], centre_of)].append(r)
    dossier: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (entity, quantity), rows in prior_evidence.items():
        if quantity in DOSSIER_CENTRES:
            dossier[(entity, DOSSIER_CENTRES[quantity])].extend(
                {**r, "value": "mean" if quantity.startswith("mean") else "median", **dossier_citation(r["source"])}
                for r in rows if r["grade"] == "A" and (number(r["n"]) or 0) > 0 and r.get("scope", "overall") == "overall"
            )
    centres = {}
    for key, rows in new.items():
        known = rows + set_aside.get(key, [])
        rows = rows + [d for d in dossier.get(key, []) if not any(same_centre(d, r) for r in known)]
        entity, centre_of = key
        values = [(median_length(entity, float(r["frequency"])) if centre_of == "segments" and r["value"] == "mean"
                   else float(r["frequency"]), float(r["n"])) for r in rows]
        n = sum(cases for _, cases in values)
        centres[key] = (sum(v * cases for v, cases in values) / n, n)
    return centres


def same_centre(a: dict, b: dict) -> bool:
    """Whether two centre rows report one series: the same study, or the same centre
    from the same number of cases (an unnamed dossier source is still recognised)."""
    same_number = round(float(a["frequency"]), 1) == round(float(b["frequency"]), 1) and float(a["n"]) == float(b["n"])
    return same_number or same_study(a, b)


def recentred(current: float, centre: tuple[float, float] | None) -> float:
    """The consolidated centre moved to the pooled published one (shrunk like a share;
    fewer than MIN_REPLACING_N cases leave it where it is)."""
    if centre is None or centre[1] < MIN_REPLACING_N:
        return current
    value, n = centre
    return round((value * n + current * ESTIMATE_WEIGHT) / (n + ESTIMATE_WEIGHT), 1)


def unmatched(literature: list[dict], out: list[tuple], shares: dict | None = None) -> list[tuple[dict, str]]:
    """The sweep rows marked for use that reach no table, each with the reason
    (``out`` with the subgroups' tables, before they are mixed in)."""
    keys = {(e, f, v) for e, f, v, *_ in out}
    shares = shares or {}
    found = []
    for r in literature:
        if r.get("use", "yes") == "no" or r.get("dossier") or (r["entity"], r["feature"], r["value"]) in keys:
            continue
        if r["feature"] == SHARE_FEATURE and r["entity"] in shares:
            continue
        if r["feature"] == SHARE_FEATURE or (SUBGROUP_MARK in r["entity"] and r["entity"] not in shares):
            found.append((r, "a subgroup (entity/subgroup) of a known entity reaches the tables only with a share "
                             "(subgroup_share, grade A or B) counted in 20 or more cases"))
        elif r["feature"] in CENTRE_FEATURES and r["value"] in ("mean", "median"):
            if not counted_centre(r):
                found.append((r, "a centre is pooled only from a counted series (grade A, a number and its n)"))
        else:
            found.append((r, "names no number of the tables"))
    return found


def read_toml(path: Path) -> dict:
    """A hand-written TOML file of the knowledge base. One that cannot be read stops the import
    before anything is written, with its path, line and reason."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"{path}: cannot be read: {exc}\nnothing was written") from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        raise SystemExit(f"{path}{':' + line.group(1) if line else ''}: is not valid TOML: {exc}\n"
                         "nothing was written: fix it and import again (`ddx kb check` lists every problem)") from None


def read_tables(path: Path, table: str) -> list[dict]:
    """The [[table]] tables of a hand-written TOML file (entities.toml, features.toml). One that
    cannot be read stops the import before anything is written, with its path, line and reason."""
    tables = read_toml(path).get(table)
    if not isinstance(tables, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str) for t in tables) or not tables:
        raise SystemExit(f"{path}: defines no [[{table}]] with an id, or one that is not a table\n"
                         "nothing was written: fix it and import again (`ddx kb check` lists every problem)")
    return tables


def read_entities(entities_file: Path) -> list[dict]:
    """The [[entity]] tables of entities.toml (their compartments and cited sources)."""
    return read_tables(entities_file, "entity")


def conus_at_least_lumbar(out: list[tuple], compartment: dict[str, str]) -> list[tuple]:
    """Raise an estimated conus/cauda share of an intradural entity to its lumbar share.

    The cord ends at L1-2: an intramedullary or intradural lesion at a lumbar
    level lies at the conus or among the roots of the cauda equina, so
    P(conus_cauda = yes) is at least P(level includes lumbar). Only an
    estimate (grade C) is raised; a counted share stands.
    """
    table = {(e, f, v): i for i, (e, f, v, *_) in enumerate(out)}
    out = list(out)
    for entity, where in compartment.items():
        keys = [(entity, "conus_cauda", "yes"), (entity, "conus_cauda", "no"), (entity, "level", "lumbar")]
        if where not in ("intramedullary", "intradural_extramedullary") or not all(k in table for k in keys):
            continue
        yes, no = table[keys[0]], table[keys[1]]
        lumbar = out[table[(entity, "level", "lumbar")]][3]
        if out[yes][5] == "C" and out[yes][3] < lumbar:
            out[yes] = (entity, "conus_cauda", "yes", lumbar, "DDX_ESTIMATE", "C")
            out[no] = (entity, "conus_cauda", "no", round(1 - lumbar, 4), "DDX_ESTIMATE", "C")
    return out


def read_literature(folder: Path) -> list[dict]:
    """Rows of tools/literature/*.csv; a row with use=no (and its why_not) is set aside."""
    rows = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def normal_cdf(x: float, mean: float, sd: float) -> float:
    return 0.5 * (1 + math.erf((x - mean) / (sd * math.sqrt(2))))


def length_cdf(entity: str, typical: float):
    """P(length < x) for an entity: log-normal about its typical (median) length, with
    its own spread or a mixture of subtypes (tools/lengths.toml)."""
    default, mixtures, spreads = read_lengths()
    mixture = mixtures.get(entity, ((1.0, typical),))
    spread = spreads.get(entity, default)
    return lambda x: sum(w * normal_cdf(math.log(max(x, 0.5)), math.log(t), spread) for w, t in mixture)


#: Below this age a patient is a child, as the dossier's paediatric share counts them.
ADULT_AGE = 18


def age_cdf(mean: float, sd: float, children: float | None):
    """P(age < x) for an entity: a normal about its centre, with children added, of every age
    alike, up to the share of them the dossier gives (``children``, under ADULT_AGE) where
    the normal's thin tail falls short of it: drop metastases of a medulloblastoma, a lymphoma
    or an abscess in a child are uncommon, not the one in a thousand a normal about 55 gives.
    A normal that already holds that many children is left as it is."""
    below = normal_cdf(-0.5, mean, sd)

    def normal(x: float) -> float:  # cut at birth, as the bands are
        return max(normal_cdf(x, mean, sd) - below, 0.0) / (1 - below)

    held = normal(ADULT_AGE - 0.5)
    if children is None or children <= held:
        return normal
    w = (children - held) / (1 - held)
    return lambda x: (1 - w) * normal(x) + w * min(max((x + 0.5) / ADULT_AGE, 0.0), 1.0)


def band_probabilities(bands, cdf) -> list[float]:
    """Each band's share of a distribution; an open last band (high None) takes the whole tail."""
    raw = [max((1.0 if hi is None else cdf(hi + 0.5)) - cdf(lo - 0.5), 1e-4) for lo, hi in bands]
    total = sum(raw)
    return to_one([max(p / total, 0.0001) for p in raw])


def derived_bands(name: str, q: dict, centres: dict, bands: dict) -> list[tuple]:
    """The age and length bands of an entity or subgroup (``name``): a normal age and a
    log-normal length about the dossier's centres (``q``), each moved to the pooled
    published one (``centres``)."""
    rows = []
    mean = recentred(float(q[("overall", "age_mean_consolidated")]["value"]), centres.get((name, "age")))
    sd = float(q[("overall", "age_sd_consolidated")]["value"])
    children = q.get(("overall", "paediatric_under18_fraction_consolidated"))
    for band, p in zip(bands["age"], band_probabilities(bands["age"], age_cdf(mean, sd, float(children["value"]) if children else None))):
        rows.append((name, "age", band_label(band), p, "DDX_ESTIMATE", "C"))
    typical = recentred(float(q[("overall", "segments_typical_consolidated")]["value"]), centres.get((name, "segments")))
    for band, p in zip(bands["segments"], band_probabilities(bands["segments"], length_cdf(name, typical))):
        rows.append((name, "segments", band_label(band), p, "DDX_ESTIMATE", "C"))
    return rows


def band_label(band: tuple[int, int | None]) -> str:
    """A band as the likelihood tables name it (records.band_label): "2-3", and "7+" when open."""
    return f"{band[0]}+" if band[1] is None else f"{band[0]}-{band[1]}"


def main(evidence_dir: Path) -> None:
    """Rebuild likelihoods.csv, priors.csv and sources.toml in OUT, then check what was written."""
    features = read_tables(OUT / "features.toml", "feature")
    entities = read_entities(OUT / "entities.toml")
    bands = {f["id"]: [(b[0], b[1] if len(b) == 2 else None) for b in f["bands"]]
             for f in features if f.get("kind") == "integer" and "bands" in f}
    sources = Sources(read_dossier_sources(evidence_dir / "dossier.md"))
    sources.entries["DDX_ESTIMATE"] = {
        "citation": "ddx knowledge base, consolidated estimate: an engine default set by the "
        "ddx authors from the graded evidence for the entity and, for the compartment "
        "signs, from the compartment definition (expert estimate, grade C)",
        "url": "",
        "grade": "C",
    }
    sources.entries["DDX_EXPERT"] = {
        "citation": "ddx knowledge base, expert estimate: a qualitative statement of the "
        "literature ('common', 'rare', 'typically') translated into a number by the ddx "
        "authors (grade C)",
        "url": "",
        "grade": "C",
    }

    rows = list(csv.DictReader((evidence_dir / "feature_frequencies.csv").open(encoding="utf-8")))
    evidence = defaultdict(list)
    consolidated = []
    for r in rows:
        if r["source"].startswith("CONSOLIDATED"):
            consolidated.append(r)
        else:
            evidence[(r["entity_id"], r["feature"], r["value"])].append(r)

    out, not_characteristic = [], set()
    for r in consolidated:
        entity, feature, value = r["entity_id"], r["feature"], r["value"]
        if feature in SKIP_FEATURES or (feature == "syndrome" and value == "none"):
            continue
        if UNINFORMATIVE in r["source"]:
            not_characteristic.add((entity, feature))  # the engine gives it the rate of those that have one
            continue
        p = float(r["frequency"])
        ev = evidence.get((entity, feature, value), [])
        complement = False
        if not ev and value == "no":
            ev, complement = evidence.get((entity, feature, "yes"), []), True
        if not ev and feature == "multiplicity" and value == "single":
            ev, complement = evidence.get((entity, feature, "multiple"), []), True
        src, grade = provenance(ev, p, sources, complement)
        out.append((entity, feature, value, p, src, grade))

    prior_rows = list(csv.DictReader((evidence_dir / "priors.csv").open(encoding="utf-8")))
    per_entity = defaultdict(dict)
    prior_evidence = defaultdict(list)
    for r in prior_rows:
        if r["quantity"].endswith("_consolidated"):
            per_entity[r["entity_id"]][(r["scope"], r["quantity"])] = r
        elif r["grade"] in ("A", "B"):
            prior_evidence[(r["entity_id"], r["quantity"])].append(
                {**r, "frequency": r["value"], "low": "", "high": ""}
            )

    sweeps = read_literature(ROOT / "tools" / "literature")
    centres = published_centres(sweeps, prior_evidence)
    shares = {name: share for name, share in subgroup_shares(sweeps, sources).items() if entity_of(name) in per_entity}
    priors = []
    for entity, q in per_entity.items():
        if entity.startswith("compartment:"):
            continue
        w = q[("overall", "prior_weight_consolidated")]
        priors.append((entity, float(w["value"]), "DDX_ESTIMATE", "C"))

        female = float(q[("overall", "female_fraction_consolidated")]["value"])
        src, grade = provenance(prior_evidence[(entity, "female_fraction")], female, sources, False)
        out.append((entity, "sex", "female", female, src, grade))
        out.append((entity, "sex", "male", round(1 - female, 4), src, grade))

        for region in ("craniocervical", "cervical", "thoracic", "lumbar", "sacral"):
            p = float(q[("overall", f"level_{region}_consolidated")]["value"])
            ev = prior_evidence[(entity, f"level_{region}_fraction")]
            src, grade = provenance(ev, p, sources, False)
            out.append((entity, "level", region, p, src, grade))

        out.extend(derived_bands(entity, q, centres, bands))

    literature = sweeps + counted_evidence(evidence) + counted_evidence(as_findings(prior_evidence))
    out = apply_literature(out, literature, sources, features)
    for name in shares:
        own_bands = [row for row in derived_bands(name, per_entity[entity_of(name)], centres, bands)
                     if centres.get((name, row[1]), (0, 0))[1] >= MIN_REPLACING_N]
        out += subgroup_tables(name, out, own_bands, sweeps, sources, features)
    unmixed = out
    out = mixed(out, shares, features)
    out = conus_at_least_lumbar(out, {e["id"]: e.get("compartment") for e in entities})

    known_entities = {e["id"] for e in entities}
    known_features = {f["id"] for f in features}
    kept, kept_priors, dropped, problems = carried_over(out, priors, OUT, known_entities, known_features, not_characteristic)
    current_sources = read_sources(OUT / "sources.toml")
    # the hand-written tables' sources: pictures.csv's (picture,feature,value,probability,source,grade)
    # and locations.csv's (entity,picture,share,source,grade)
    picture_keys = {k for r in current_rows(OUT / "pictures.csv") if len(r) == 6 for k in split_keys(r[4])}
    picture_keys |= {k for r in current_rows(OUT / "locations.csv") if len(r) == 5 for k in split_keys(r[3])}
    for keys in [split_keys(r[-2]) for r in kept + kept_priors] + [e.get("sources", []) for e in entities] + [picture_keys]:
        for key in keys:
            if key not in sources.entries and key not in current_sources:
                problems.append(f"source {key!r} is cited by a kept row, an entity, pictures.csv or locations.csv but "
                                "is in neither the dossier nor sources.toml")
            elif key not in sources.entries:
                sources.entries[key] = dict(current_sources[key])
    compartment_of = {e["id"]: e.get("compartment") for e in entities}
    scale, room_problems = compartment_room(priors, kept_priors, compartment_of)
    problems += room_problems
    if problems:
        for problem in problems:
            print(f"cannot import: {problem}", file=sys.stderr)
        raise SystemExit(f"nothing was written: {len(problems)} problem(s) in what the import would keep")
    out += kept
    priors = [(e, round(p * scale[compartment_of[e]], 6), s, g) for e, p, s, g in priors] + kept_priors
    changed = changes(OUT, out, priors, compartment_of)

    used = {k for row in out for k in split_keys(row[4])} | {k for row in priors for k in split_keys(row[2])}
    used |= picture_keys & set(sources.entries)
    for e in entities:
        used.update(k for k in e.get("sources", []) if k in sources.entries)
    with written(OUT / "likelihoods.csv") as fh:
        fh.write(LIKELIHOOD_HEADER)
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["entity", "feature", "value", "probability", "source", "grade"])
        w.writerows(out)
    with written(OUT / "priors.csv") as fh:
        fh.write(PRIOR_HEADER)
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["entity", "probability", "source", "grade"])
        w.writerows(priors)
    with written(OUT / "sources.toml") as fh:
        fh.write("# ddx knowledge base: the sources behind every number.\n")
        fh.write("# [KEY] citation, url and, where the source gives numbers, its evidence grade\n")
        fh.write("# (A cohort with counts, B review or textbook, C estimate). A source cited by a\n")
        fh.write("# number needs a grade. Written by tools/import_evidence.py (docs/curating.md):\n")
        fh.write("# a source added by hand is kept while a kept row or an entity cites it.\n\n")
        for key in sorted(used):
            e = sources.entries[key]
            fh.write(f"[{key}]\n")
            fh.write(f"citation = {toml_str(e['citation'])}\n")
            fh.write(f"url = {toml_str(clean_url(e.get('url', '')))}\n")
            if "grade" in e:
                fh.write(f"grade = {toml_str(e['grade'])}\n")
            fh.write("\n")
    print(f"{len(out)} likelihoods, {len(priors)} priors, {len(used)} sources", file=sys.stderr)
    for what in sorted({f"{r[0]} {r[1]}" for r in kept} | {f"{e} prior" for e, *_ in kept_priors}):
        print(f"kept as it was (the dossier has no number for it): {what}", file=sys.stderr)
    for r in dropped:
        print(f"dropped: {r[0]} {r[1]}{'=' + r[2] if r[2] else ''}: {r[-1]}", file=sys.stderr)
    for change in changed:
        print(f"changed: {change}", file=sys.stderr)
    for r, why in unmatched(sweeps, unmixed, shares):
        print(f"not used: {r['entity']},{r['feature']},{r['value']} ({r['citation'][:60]}): {why}", file=sys.stderr)
    for entity in read_lengths()[1]:
        if any(entity_of(name) == entity and centre_of == "segments" for name, centre_of in centres):
            print(f"not used: the published lengths of {entity}, whose length is a mixture (tools/lengths.toml)", file=sys.stderr)
    check(OUT)


def check(folder: Path) -> None:
    """Load what was written, as ddx will: a knowledge base the import left broken fails here,
    with every problem, not at a user's next command."""
    sys.path.insert(0, str(ROOT / "src"))
    from ddx.errors import KnowledgeError
    from ddx.knowledge import load_knowledge

    try:
        load_knowledge(folder)
    except KnowledgeError as exc:
        for issue in exc.issues:
            print(f"{folder / issue.path}{'' if issue.row is None else f':{issue.row}'}: {issue.reason}", file=sys.stderr)
        raise SystemExit(f"the import left {len(exc.issues)} problem(s) in {folder}; fix the sweeps, entities.toml or "
                         "features.toml and import again")
    print(f"loaded and checked: {folder} is a valid knowledge base", file=sys.stderr)


def current_rows(path: Path) -> list[list[str]]:
    """The data rows of a knowledge CSV as it is now (none if it does not exist)."""
    return [row for _, row in numbered_rows(path)]


def numbered_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The data rows of a knowledge CSV, each with its line in the file (the line an editor shows)."""
    if not path.exists():
        return []
    lines = [(i, ln) for i, ln in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1)
             if ln.strip() and not ln.startswith("#")]
    return [(i, next(csv.reader([ln]))) for i, ln in lines][1:]


#: How close (difflib ratio) an id of a kept row must be to a known one to be taken for its
#: misspelling, which stops the import, rather than for an entity or a finding taken out.
MISSPELT = 0.85


def misspelt(name: str, known: set[str]) -> str | None:
    """The known id ``name`` is likely a misspelling of, if any."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=MISSPELT)
    return close[0] if close else None


def carried_over(out: list[tuple], priors: list[tuple], folder: Path, entities: set[str], features: set[str],
                 not_characteristic: set[tuple[str, str]] = frozenset()):
    """What of the current knowledge files the dossier and the sweeps cannot make, kept as it is:
    the rows of an entity, or of a finding of an entity, that a curator added by hand (the
    dossier has no number for that pair), and the prior of such an entity (the dossier's priors
    are scaled to leave it its share). Returns (likelihood rows, prior rows, rows dropped, and
    problems that stop the import before anything is written). Dropped: a value added by hand
    to a finding the dossier gives (it would break that finding's sum), and the rows of an
    entity or a finding no longer in entities.toml or features.toml; an id close to a known one
    (MISSPELT) is taken for its misspelling, a problem, so that its number is not lost. The rows
    of a finding the dossier calls not characteristic of an entity (UNINFORMATIVE) are not kept
    when they are its own even numbers (DDX_ESTIMATE): it has no number for them on purpose; a
    curator's cited ones are kept."""
    made = {(e, f) for e, f, *_ in out}
    made_values = {(e, f, v) for e, f, v, *_ in out}
    kept, dropped, problems = [], [], []
    for line, r in numbered_rows(folder / "likelihoods.csv"):
        if len(r) != 6:
            problems.append(f"likelihoods.csv line {line} has {len(r)} cells, not 6: {','.join(r)}")
            continue
        e, f, v, p, src, grade = (c.strip() for c in r)
        if (e, f) in made and (e, f, v) in made_values or (e, f) in not_characteristic and src == "DDX_ESTIMATE":
            continue
        try:
            row = (e, f, v, float(p), ";".join(split_keys(src)), grade)
        except ValueError:
            problems.append(f"likelihoods.csv line {line}: probability {p!r} is not a number")
            continue
        name, known, file = (e, entities, "entities.toml") if e not in entities else (f, features, "features.toml")
        if name not in known and (meant := misspelt(name, known)):
            problems.append(f"likelihoods.csv line {line}: {name!r} is not in {file}; did you mean {meant!r}? "
                            "(the rows of one taken out of it are dropped: a misspelt one would lose its number)")
        elif e not in entities or f not in features:
            dropped.append((*row, f"{name} is not in {file}"))
        elif (e, f) in made:
            dropped.append((*row, f"the dossier has {f} for {e} but not this value; give its numbers in tools/literature/"))
        else:
            kept.append(row)
    made_entities = {e for e, *_ in priors}
    kept_priors = []
    for line, r in numbered_rows(folder / "priors.csv"):
        if len(r) != 4:
            problems.append(f"priors.csv line {line} has {len(r)} cells, not 4: {','.join(r)}")
            continue
        e, p, src, grade = (c.strip() for c in r)
        if e in made_entities:
            continue
        if e not in entities and (meant := misspelt(e, entities)):
            problems.append(f"priors.csv line {line}: {e!r} is not in entities.toml; did you mean {meant!r}? "
                            "(the prior of one taken out of it is dropped: a misspelt one would lose its number)")
            continue
        if e not in entities:
            dropped.append((e, "prior", "", p, src, grade, f"{e} is not in entities.toml"))
            continue
        try:
            kept_priors.append((e, float(p), ";".join(split_keys(src)), grade))
        except ValueError:
            problems.append(f"priors.csv line {line}: probability {p!r} is not a number")
    return kept, kept_priors, dropped, problems


def split_keys(text: str) -> list[str]:
    """The source keys of a cell ("A;B", spaces around the ';' allowed)."""
    return [k.strip() for k in text.split(";") if k.strip()]


def read_sources(path: Path) -> dict[str, dict]:
    """The entries of the current sources.toml (none if it does not exist). One that cannot be
    read stops the import before anything is written: the sources cited by hand are kept from
    it, and would otherwise be reported as cited nowhere."""
    if not path.exists():
        return {}
    data = read_toml(path)
    return {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("citation"), str)}


@contextmanager
def written(path: Path):
    """A text file replaced only once it is complete (written beside it, then renamed)."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _number(text) -> bool:
    try:
        return text is not None and float(text) > 0
    except ValueError:
        return False


def compartment_room(priors: list[tuple], kept_priors: list[tuple], compartment_of: dict[str, str]):
    """The factor each compartment's dossier priors are scaled by, so that they sum to 1 with the
    priors kept as they were while every compartment keeps the weight the dossier gives it (a
    new cord entity takes its prior from the cord lesions, not from the extradural ones); and
    the problems that stop the import (kept priors that leave a compartment's others nothing)."""
    total = sum(p for _, p, _, _ in priors)
    weight: dict[str, float] = {}
    for e, p, _, _ in priors:
        weight[compartment_of.get(e)] = weight.get(compartment_of.get(e), 0.0) + p / total
    kept: dict[str, list[tuple[str, float]]] = {}
    for e, p, _, _ in kept_priors:
        kept.setdefault(compartment_of.get(e), []).append((e, p))
    problems = []
    for compartment, rows in kept.items():
        room = weight.get(compartment, 0.0) - sum(p for _, p in rows)
        if room <= 0:
            problems.append(f"the priors kept as they were ({', '.join(e for e, _ in rows)}) sum to "
                            f"{sum(p for _, p in rows):.4f}, leaving the dossier's entities of their compartment "
                            f"({compartment}, weight {weight.get(compartment, 0.0):.4f}) nothing")
    scale = {c: (w - sum(p for _, p in kept.get(c, ()))) / w / total for c, w in weight.items()}
    return scale, problems


def changes(folder: Path, out: list[tuple], priors: list[tuple], compartment_of: dict[str, str]) -> list[str]:
    """The numbers this import gives differently from the current files (a hand edit of a number
    the dossier gives is among them: it is rebuilt, and said so)."""
    now = {(r[0], r[1], r[2]): r[3] for r in current_rows(folder / "likelihoods.csv") if len(r) == 6}
    now |= {(r[0], "prior", ""): r[1] for r in current_rows(folder / "priors.csv") if len(r) == 4}
    new = {(e, f, v): p for e, f, v, p, *_ in out} | {(e, "prior", ""): p for e, p, *_ in priors}
    # a compartment's priors all scaled by one factor (room made for a kept prior) are one change
    found = []
    for compartment in sorted({compartment_of.get(e) or "" for e, *_ in priors}):
        members = [(e, p) for e, p, *_ in priors if (compartment_of.get(e) or "") == compartment]
        ratios = sorted(float(p) / float(now[(e, "prior", "")]) for e, p in members if _number(now.get((e, "prior", ""))))
        common = ratios[len(ratios) // 2] if ratios else 1.0
        if abs(common - 1) <= 1e-4:
            continue
        found.append(f"the {compartment.replace('_', ' ')} priors scaled by {common:.4f} (room for the priors kept as they were)")
        for e, p in members:
            old = now.get((e, "prior", ""))
            if _number(old) and abs(float(p) - float(old) * common) <= 5e-6:
                now[(e, "prior", "")] = str(p)
    for key, p in new.items():
        old = now.get(key)
        try:
            moved = old is not None and abs(float(old) - float(p)) > 5e-7
        except ValueError:
            moved = True
        if moved:
            e, f, v = key
            found.append(f"{e} {f}{'=' + v if v else ''}: {old} -> {p}")
    return found


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    if any(a in ("-h", "--help") for a in sys.argv[1:]) or len(sys.argv) > 2:
        print(__doc__.strip().splitlines()[-1])
        raise SystemExit(0 if len(sys.argv) == 2 else 2)
    evidence_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "evidence"
    missing = [n for n in ("dossier.md", "feature_frequencies.csv", "priors.csv") if not (evidence_dir / n).is_file()]
    if missing:
        raise SystemExit(f"no evidence dossier at {evidence_dir} (missing {', '.join(missing)}): pass its folder, "
                         "python tools/import_evidence.py EVIDENCE_DIR")
    main(evidence_dir)
