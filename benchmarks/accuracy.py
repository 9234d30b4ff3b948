"""Accuracy of ddx on real published cases (../shared/cases/cases.csv).

Two readings of every case (see the cases' README):
  published  - exactly the coded findings;
  recognised - plus the canonical signs of the true compartment where blank.
Prints compartment accuracy, top-1, top-3, don't-miss recall, don't-miss
flags per case, the expected calibration error (ECE, 10 bins) of the top
probability, and two proper scoring rules of the whole differential: the log
loss of the true diagnosis and the Brier score. Each figure but the ECE comes
with a 95% interval, in the form the README quotes: Wilson's for a share of
cases (compartment, top-1, top-3, don't-miss recall), else a percentile
bootstrap over the cases (seeded, so every run prints the same).
--scan-temperature prints the scores for other temperatures of model.toml
(how its value was chosen); --leave-one-out scores each case at the
temperature the other cases choose by the same rule (with --flattenings, the
prior flattening too), so the figures owe nothing to the case itself having
helped choose them; --compare prints each measure's difference from another
file's cases with a two-sample interval (Newcombe's for a share of cases, a
bootstrap of each set on its own for the rest).

Every case is checked before any is scored: one that cannot be (a diagnosis
that is no entity id, a compartment that is none of the three, a finding ddx
cannot read, a row of empty cells) is reported on stderr with its row, column
and value and left out, the heading says how many were, and the exit status
is 1 (0 when every case was scored). The exit status is 2, before anything
is printed, when a file cannot be read (a quote left open, another encoding),
names a column ddx does not know and --passthrough does not name, or holds
no case that can be scored.

The measures: compartment, top-1 and top-3 are shares of cases; don't-miss recall is the share
of cases whose diagnosis is a don't-miss entity that carry its flag, and the flags per case count
don't-miss flags (not the emergency); the ECE bins the top candidate's probability into ten
equal-width bins and weighs each bin's |accuracy - confidence| by its cases; the log loss is
-ln P(true diagnosis); the Brier score sums (P - truth)^2 over every candidate (0 to 2).

Usage: python benchmarks/accuracy.py [--cases PATH] [--passthrough COL,...] [--misses] [--confusion]
       [--per-case PATH] [--json PATH] [--seed N] [--resamples N]
       [--scan-temperature 1.1,1.15,1.2,1.25,1.3 | --leave-one-out 1.1,1.15,1.2,1.25,1.3
       [--flattenings 0.1,0.2,0.3,0.4,0.5]] [--compare PATH] [--priors registry]
       [--encoding ENCODING] [--delimiter CHAR]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ddx.csv_input import SEP_LINE, check_delimiter, check_encoding, parse_delimiter, sniff_delimiter  # noqa: E402
from ddx.engine import assess  # noqa: E402
from ddx.errors import BatchError, FindingError, KnowledgeError  # noqa: E402
from ddx.files import same_file, silence_stdout  # noqa: E402
from ddx.findings import CASE_ID, normalise_column, parse_findings  # noqa: E402
from ddx.knowledge import COMPARTMENTS, PRIORS, default_knowledge, knowledge_with_priors, load_knowledge  # noqa: E402
from ddx.knowledge.records import AMBIGUOUS_COMPARTMENTS, COMPARTMENT_SHORTHANDS, COMPARTMENT_SYNONYMS  # noqa: E402
from ddx.spelling import closest  # noqa: E402

DEFAULT_CASES = ROOT.parent / "shared" / "cases" / "cases.csv"
META = ("source_url", "diagnosis", "compartment", "evidence")
#: Where read_cases keeps a case's row of its file (its number from 1 after the header): the
#: name of a case without a case_id.
ROW = "\0row"
CANONICAL = {
    "intramedullary": {"cord": "expanded", "csf": "effaced"},
    "intradural_extramedullary": {"cord": "displaced", "csf": "widened"},
    "extradural": {"dural_sac_displaced": "yes", "csf": "tapered"},
}


def recognised(row: dict) -> dict:
    """The case with the canonical signs of its true compartment where it gives none."""
    out = dict(row)
    for column, value in CANONICAL[truth_of(row, "compartment")].items():
        if not (out.get(column) or "").strip():
            out[column] = value
    return out


def ece(pairs: list[tuple[float, bool]], bins: int = 10) -> float:
    total, n = 0.0, len(pairs)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, ok) for p, ok in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if inside:
            conf = sum(p for p, _ in inside) / len(inside)
            acc = sum(ok for _, ok in inside) / len(inside)
            total += len(inside) / n * abs(acc - conf)
    return total


def case_problems(row: dict, kb=None, passthrough=()) -> list[str]:
    """Every reason one case cannot be scored, each naming the column and the value: a
    diagnosis that is no entity id, a compartment that is none of the three, a finding ddx
    cannot read (or a column it does not know: --passthrough leaves one unread). Empty when
    the case can be scored."""
    kb = kb or default_knowledge()
    if None in row:
        return [f"more cells than the header has columns (past it: {', '.join(map(repr, row[None]))})"]
    problems = []
    diagnosis, compartment = truth_of(row, "diagnosis"), truth_of(row, "compartment")
    if diagnosis not in kb.entity_ids:
        guess = meant_entity(kb, diagnosis)
        problems.append(f"diagnosis {row.get('diagnosis') or ''!r} is not an entity id"
                        + (f"; did you mean {guess!r}?" if guess else " (`ddx entities` lists them)"))
    if compartment not in COMPARTMENTS:
        problems.append(f"compartment {row.get('compartment') or ''!r} is not one of {', '.join(COMPARTMENTS)}"
                        + meant_compartment(compartment))
    try:
        parse_findings({k: v for k, v in row.items() if k not in META and k != ROW}, kb, passthrough=passthrough)
    except FindingError as err:
        problems.append(str(err))
    return problems


def meant_compartment(text: str) -> str:
    """'; did you mean ...?' for a compartment written otherwise, read as the quiz reads an answer
    (im, idem, ed, epidural; 'intradural' may be either intradural compartment), or ''. Suggested,
    not taken: a case file is coded with the ids, as the cases' README says."""
    key = text.replace("-", "_").replace(" ", "_")
    if key in AMBIGUOUS_COMPARTMENTS:
        return "; did you mean " + " or ".join(map(repr, AMBIGUOUS_COMPARTMENTS[key])) + "?"
    guess = COMPARTMENT_SHORTHANDS.get(key) or COMPARTMENT_SYNONYMS.get(key) or closest(key, COMPARTMENTS)
    return f"; did you mean {guess!r}?" if guess else ""


def meant_entity(kb, text: str) -> str | None:
    """The entity id a diagnosis written otherwise names, as `ddx explain` reads names (an alias,
    a name, British spelling), or one a letter off; else None."""
    from ddx.errors import DdxError
    from ddx.names import find_entity
    from ddx.spelling import one_edit

    try:
        return find_entity(kb, text).id if text else None
    except (DdxError, LookupError, ValueError):
        return next((e for e in sorted(kb.entity_ids) if one_edit(text, e)), None)


def truth_of(row: dict, column: str) -> str:
    """The diagnosis or compartment of a case as an id, its case and surrounding spaces aside."""
    return (row.get(column) or "").strip().lower()


def case_records(rows: list[dict], reading, kb=None) -> list[dict]:
    """One record per case: what each measure needs to know about it."""
    kb = kb or default_knowledge()
    dont_miss = {e.id for e in kb.entities if e.dont_miss}
    records = []
    for row in rows:
        cells = reading(row)
        findings = parse_findings({k: v for k, v in cells.items() if k not in META and k != ROW}, kb)
        a = assess(findings, kb, suggest=0)
        truth, compartment = truth_of(row, "diagnosis"), truth_of(row, "compartment")
        ranked = [c.id for c in a.candidates]
        records.append({
            "case": (row.get(CASE_ID) or "").strip() or f"row {row.get(ROW, len(records) + 1)}",
            "truth": truth,
            "rank": ranked.index(truth) + 1,
            "probability": a.probability(truth),
            "compartment_ok": a.compartment == compartment,
            "true_compartment": compartment,
            "predicted_compartment": a.compartment,
            "top3": ranked[:3],
            "top_probability": a.candidates[0].probability,
            "dont_miss_case": truth in dont_miss,
            "dont_miss_hit": truth in a.flagged,
            "flags": len(a.flagged),
            "log_loss": -math.log(a.probability(truth)),
            "brier": math.fsum((c.probability - (c.id == truth)) ** 2 for c in a.candidates),
        })
    return records


def summarise(records: list[dict]) -> dict:
    """The measures of a set of case records."""
    n = len(records)

    def share(m: str) -> float:
        right, counted = _successes(records, m)
        return right / counted if counted else float("nan")

    return {
        "cases": n,
        "compartment": share("compartment"),
        "top1": share("top1"),
        "top3": share("top3"),
        "dont_miss_recall": share("dont_miss_recall"),
        "dont_miss_flags_per_case": sum(r["flags"] for r in records) / n,
        "ece": ece([(r["top_probability"], r["top3"][0] == r["truth"]) for r in records]),
        "log_loss": math.fsum(r["log_loss"] for r in records) / n,
        "brier": math.fsum(r["brier"] for r in records) / n,
        "misses": [(r["case"], r["truth"], f"{r['true_compartment']} -> {r['predicted_compartment']}", r["top3"],
                    round(r["top_probability"], 2))
                   for r in records if r["truth"] not in r["top3"] or not r["compartment_ok"]],
    }


def evaluate(rows: list[dict], reading, kb=None) -> dict:
    """The measures of ``rows`` in one reading (the temperature scan and its test use it)."""
    return summarise(case_records(rows, reading, kb))


METRICS = ("compartment", "top1", "top3", "dont_miss_recall", "dont_miss_flags_per_case", "ece", "log_loss", "brier")
#: The binned ECE has no interval: it is biased upwards at this many cases, and
#: more so on a resample, whose repeated cases make each bin's gap between
#: accuracy and confidence noisier, and the gap's absolute value turns noise
#: into excess.
INTERVAL_METRICS = tuple(m for m in METRICS if m != "ece")
#: The measures that are a share of cases (so many of n): their interval is Wilson's score
#: interval, which a percentile bootstrap of a few dozen cases makes too narrow (80 of 80 right
#: would read 1.00-1.00) or degenerate.
PROPORTIONS = ("compartment", "top1", "top3", "dont_miss_recall")
#: The percentile bootstrap behind the other intervals: resamples of the cases, and a
#: fixed seed so that the printed intervals are the same on every run. A difference of two
#: sets, whose interval decides "beyond chance", takes more resamples, so that its ends do not
#: move with the seed.
RESAMPLES = 2000
COMPARE_RESAMPLES = 20000
SEED = 0


def intervals_text() -> str:
    """How the intervals of the table are made, for its heading."""
    return f"95% intervals: Wilson's for a share of cases, {RESAMPLES} bootstrap resamples of the cases for the rest"


#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054


def _successes(records: list[dict], m: str) -> tuple[int, int]:
    """(cases counted right, cases counted) for a proportion measure."""
    if m == "dont_miss_recall":
        dm = [r for r in records if r["dont_miss_case"]]
        return sum(r["dont_miss_hit"] for r in dm), len(dm)
    right = {"compartment": lambda r: r["compartment_ok"], "top1": lambda r: r["top3"][0] == r["truth"],
             "top3": lambda r: r["truth"] in r["top3"]}[m]
    return sum(map(right, records)), len(records)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for k successes in n trials; (nan, nan) for none."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def intervals(records: list[dict]) -> dict[str, tuple[float, float]]:
    """Each measure's 95% interval: how far the figure of this many cases could move by the luck
    of which cases were published. Wilson's for a share of cases, else the percentile bootstrap
    over resamples of the cases; (nan, nan) where nothing can be measured (no don't-miss case)."""
    level = 0.95
    records = sorted(records, key=lambda r: r["case"])
    rng = random.Random(SEED)
    n = len(records)
    resampled = [m for m in INTERVAL_METRICS if m not in PROPORTIONS]
    draws: dict[str, list[float]] = {m: [] for m in resampled}
    for _ in range(RESAMPLES):
        scores = summarise([records[rng.randrange(n)] for _ in range(n)])
        for m in resampled:
            if not math.isnan(scores[m]):
                draws[m].append(scores[m])
    out = {m: wilson(*_successes(records, m)) for m in PROPORTIONS}
    out.update({m: _percentiles(values, level) for m, values in draws.items()})
    return {m: out[m] for m in INTERVAL_METRICS}


def _percentiles(values: list[float], level: float) -> tuple[float, float]:
    """The central ``level`` share of bootstrap draws, as (low, high); (nan, nan) for none."""
    if not values:
        return math.nan, math.nan
    values = sorted(values)
    tail, last = (1 - level) / 2, len(values) - 1
    return values[round(tail * last)], values[round((1 - tail) * last)]


def difference_intervals(first: list[dict], second: list[dict], level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """Each measure's difference, second set minus first, with its interval: whether two case
    sets score differently beyond the luck of which cases each holds. For a share of cases,
    Newcombe's hybrid score interval (from the two Wilson intervals, so that a difference of
    two shares at 1.00 is not read as certain); else the percentile bootstrap, resampling each
    set on its own (two independent samples of cases)."""
    first, second = sorted(first, key=lambda r: r["case"]), sorted(second, key=lambda r: r["case"])
    rng = random.Random(SEED)
    one, two = summarise(first), summarise(second)
    resampled = [m for m in INTERVAL_METRICS if m not in PROPORTIONS]
    draws: dict[str, list[float]] = {m: [] for m in resampled}
    for _ in range(COMPARE_RESAMPLES):
        a = summarise([first[rng.randrange(len(first))] for _ in first])
        b = summarise([second[rng.randrange(len(second))] for _ in second])
        for m in resampled:
            draws[m].append(b[m] - a[m])
    out = {m: (two[m] - one[m], *_percentiles(values, level)) for m, values in draws.items()}
    for m in PROPORTIONS:
        out[m] = (two[m] - one[m], *newcombe(_successes(first, m), _successes(second, m)))
    return {m: out[m] for m in INTERVAL_METRICS}


def newcombe(first: tuple[int, int], second: tuple[int, int]) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) of the difference of two shares, second
    minus first, each (successes, cases); (nan, nan) when either has no case."""
    (k1, n1), (k2, n2) = first, second
    if not n1 or not n2:
        return math.nan, math.nan
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    d = p2 - p1
    return d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1)


def difference_text(interval: tuple[float, float]) -> str:
    """A difference's interval as the README quotes it: "−0.25 to +0.02" (signed, a minus sign)."""
    if math.isnan(interval[0]):
        return "\u2014"
    return " to ".join(f"{x:+.2f}".replace("-", "\u2212") for x in interval)


def interval_text(interval: tuple[float, float]) -> str:
    """An interval as the README quotes it: "0.72–0.89" (an en dash), or "—" when there is none."""
    low, high = interval
    return "—" if math.isnan(low) else f"{low:.2f}–{high:.2f}"


def scan_temperature(rows: list[dict], temperatures: list[float], model: dict | None = None) -> None:
    """Scores at each temperature (``model``: other settings, as --priors gives them): the proper
    scoring rules pick it, the binned ECE is too noisy to."""
    bases = [(t, load_knowledge(model={**(model or {}), "temperature": t})) for t in temperatures]
    print(f"{'temperature':<12}{'log loss':>18}{'Brier':>16}{'ECE':>16}{'top-1':>16}{'top-3':>16}")
    print(f"{'':<12}" + f"{'pub / rec':>18}" + "".join(f"{'pub / rec':>16}" for _ in range(4)))
    for t, kb in bases:
        p, r = evaluate(rows, dict, kb), evaluate(rows, recognised, kb)
        cells = [f"{p[m]:.3f} / {r[m]:.3f}" for m in ("log_loss", "brier", "ece", "top1", "top3")]
        print(f"{t:<12g}{cells[0]:>18}" + "".join(f"{c:>16}" for c in cells[1:]))


def leave_one_out(rows: list[dict], temperatures: list[float], flattenings: list[float] | None = None,
                  model: dict | None = None) -> tuple[dict[str, list[dict]], list]:
    """Each case scored at the temperature (and, given ``flattenings``, the prior flattening too)
    that the other cases choose by model.toml's rule (the lowest log loss averaged over the two
    readings): the records of each reading, and the setting each case was scored at (a
    temperature, or a (temperature, flattening) pair). A tie goes to the one listed first."""
    readings = {"published": dict, "recognised": recognised}
    grid = [(t, f) for f in flattenings for t in temperatures] if flattenings else list(temperatures)
    at = {}
    for g in grid:
        setting = {"temperature": g[0], "prior_flattening": g[1]} if flattenings else {"temperature": g}
        kb = load_knowledge(model={**(model or {}), **setting})
        at[g] = {name: case_records(rows, reading, kb) for name, reading in readings.items()}
    total = {g: [sum(r[i]["log_loss"] for r in at[g].values()) for i in range(len(rows))] for g in grid}
    whole = {g: math.fsum(losses) for g, losses in total.items()}
    records: dict[str, list[dict]] = {name: [] for name in readings}
    chosen = []
    for i in range(len(rows)):
        g = min(grid, key=lambda g: whole[g] - total[g][i])
        chosen.append(g)
        for name in readings:
            records[name].append(at[g][name][i])
    return records, chosen


def temperatures(text: str) -> list[float]:
    """The --scan-temperature list (model.toml's own check judges each value)."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def read_cases(path: Path, passthrough: list[str], kb=None, *, encoding: str = "utf-8-sig",
               delimiter: str | None = None) -> tuple[list[dict], list[str]]:
    """The cases of ``path`` that can be scored (its columns named as ddx names them, the
    passthrough ones taken out, each case's row of the file kept under ROW) and the problems of
    those that cannot, each naming its row. A file that cannot be read, a column ddx does not
    know and --passthrough does not name, or no case that can be scored stops the run with exit
    status 2. The separator is sniffed as `ddx batch` sniffs it (';' or a tab for a header with
    no comma) unless given."""
    kb = kb or default_knowledge()
    try:
        check_encoding(encoding)
        with path.open(encoding=encoding, newline="") as fh:
            lines = list(fh)  # ends kept, split only at \n, \r and \r\n (not at a form feed in a note)
    except BatchError as err:
        stop(str(err))
    except FileNotFoundError:
        stop(f"no cases at {path} (pass --cases PATH)")
    except UnicodeError as err:
        stop(f"cannot read {path} as {encoding} ({getattr(err, 'reason', err)}); pass its encoding with --encoding "
             "(cp1252 for Excel on Windows, latin-1, utf-16)")
    except OSError as err:
        stop(f"cannot read {path}: {err.strerror or err}")
    while lines and not lines[0].strip():  # blank lines above the header
        lines = lines[1:]
    sep = SEP_LINE.fullmatch(lines[0].rstrip("\r\n")) if lines else None
    if sep:  # Excel's line naming the separator, read as ddx batch reads it
        delimiter, lines = delimiter or sep.group(1), lines[1:]
    table = []
    reader = csv.reader(lines, delimiter=delimiter or sniff_delimiter(lines[0] if lines else ""), strict=True)
    try:
        for cells in reader:
            if cells:  # a blank line is no row
                table.append(cells)
    except csv.Error as err:
        stop(f"cannot read {path}: {err} at line {reader.line_num}; a quote left open swallows the lines after it: "
             "close it, or double a quote inside a quoted cell")
    if not table:
        stop(f"{path} is empty: the first line must name the columns (case_id, diagnosis, compartment, ...)")
    header = [normalise_column(h) for h in table[0]]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        stop(f"{path}: the header names {', '.join(twice)} twice; remove or rename one")
    left_out = {normalise_column(c) for c in passthrough}
    missing = sorted(left_out - set(header))
    if missing:
        stop(f"--passthrough {missing[0]}: {path} has no such column")
    read = set(kb.features) | {CASE_ID} | set(META)
    for column in sorted(left_out & read):
        stop(f"--passthrough {column}: the benchmark reads this column "
             f"({'it is the truth' if column in META else 'it is a finding' if column in kb.features else 'it names the case'}); "
             "leave it out of --passthrough")
    unknown = [table[0][i] for i, h in enumerate(header) if h and h not in read and h not in left_out]
    if unknown:
        named = ", ".join(repr(c) + (f" (did you mean {g!r}?)" if (g := closest(normalise_column(c), sorted(read))) else "")
                          for c in unknown)
        stop(f"{path}: unknown column{'s' if len(unknown) > 1 else ''} {named}; the columns are those of "
             f"`ddx features` and {', '.join(META)}; leave a column unread with --passthrough "
             f"{','.join(normalise_column(c) for c in unknown)}")
    kept, problems = [], []
    for n, cells in enumerate(table[1:], 1):
        if not any(c.strip() for c in cells):
            problems.append(f"{path.name} row {n}: the row is empty")
            continue
        row = dict(zip(header, cells))
        if any(c.strip() for c in cells[len(header):]):  # empty cells past the header are a spreadsheet's padding
            row[None] = cells[len(header):]
        found = case_problems({k: v for k, v in row.items() if k not in left_out}, kb)
        case = (row.get(CASE_ID) or "").strip()
        if found:  # one line a case, so that the heading's count is of the cases left out
            problems.append(f"{path.name} row {n}" + (f" (case {case})" if case else "") + ": " + "; also ".join(found))
        else:
            kept.append({**{k: v for k, v in row.items() if k and k not in left_out}, ROW: n})
    for problem in problems:
        print(problem, file=sys.stderr)
    if not kept:
        stop(f"no case in {path} can be scored")
    return kept, problems


def stop(message: str) -> NoReturn:
    """End the run with exit status 2: the cases cannot be read or none can be scored."""
    print(f"accuracy.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    global SEED, RESAMPLES, COMPARE_RESAMPLES  # --seed and --resamples set them for the run
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, metavar="PATH",
                        help="the cases to score, coded as ../shared/cases/README.md says (default: the published cases)")
    parser.add_argument("--misses", action="store_true", help="list the cases ranked wrongly")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the table as JSON: each measure's figure, 95%% interval and, for a share, "
                             "its count, in each reading")
    parser.add_argument("--confusion", action="store_true",
                        help="also print the true compartment against the one read, case counts, in each reading")
    parser.add_argument("--per-case", type=Path, metavar="PATH",
                        help="also write one CSV row per case and reading: the diagnosis, its rank and probability, "
                             "the compartment read, the top 3, whether the case is a don't-miss one and its diagnosis "
                             "flagged, how many don't-miss flags were raised, its log loss and Brier score")
    instead = parser.add_mutually_exclusive_group()
    instead.add_argument("--scan-temperature", metavar="T,T,...", type=temperatures,
                         help="scores at each of these temperatures instead")
    instead.add_argument("--leave-one-out", metavar="T,T,...", type=temperatures,
                         help="score each case at the temperature of this grid the other cases choose")
    parser.add_argument("--flattenings", metavar="F,F,...", type=temperatures,
                        help="with --leave-one-out: choose the prior flattening from this grid too, with each temperature")
    parser.add_argument("--passthrough", metavar="COL,COL,...", default="",
                        help="columns of the cases file to leave unread (an accession number, notes)")
    parser.add_argument("--compare", metavar="PATH", type=Path,
                        help="also print each measure's difference, PATH's cases minus --cases', with a 95%% interval "
                             "(Newcombe's for a share of cases, else a bootstrap of each set on its own; e.g. "
                             "--compare benchmarks/validation-cases.csv)")
    parser.add_argument("--priors", choices=list(PRIORS), default=next(iter(PRIORS)),
                        help="the priors to score with, as `ddx assess --priors` (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the bootstrap resamples (default: %(default)s)")
    parser.add_argument("--resamples", type=int, metavar="N",
                        help=f"bootstrap resamples (default: {RESAMPLES}, and {COMPARE_RESAMPLES} for --compare)")
    parser.add_argument("--encoding", default="utf-8-sig", help="encoding of --cases (default: UTF-8, with or "
                                                               "without a byte-order mark; cp1252 for Excel on Windows); "
                                                               "the --compare file is read as UTF-8")
    parser.add_argument("--delimiter", metavar="CHAR",
                        help="separator of --cases (default: the one an Excel 'sep=' line names, else ',', or ';' or "
                             "a tab when the header has no comma); the --compare file's is found the same way")
    args = parser.parse_args()
    if args.flattenings and not args.leave_one_out:
        parser.error("--flattenings goes with --leave-one-out")
    if args.flattenings and not all(0 <= f <= 1 for f in args.flattenings):
        parser.error("--flattenings: a prior flattening is a power from 0 (every entity of a compartment alike) to 1 "
                     "(the priors as they are)")
    if args.flattenings and PRIORS[args.priors]:
        parser.error(f"--priors {args.priors} fixes the prior flattening that --flattenings chooses: give one of them")
    if args.scan_temperature and (args.compare or args.misses or args.per_case or args.confusion or args.json):
        parser.error("--scan-temperature prints its own table: --compare, --misses, --confusion, --per-case and --json "
                     "go with a plain run")
    if args.leave_one_out and args.compare:
        parser.error("--compare scores the other cases at model.toml's settings: it goes with a plain run, not --leave-one-out")
    if args.resamples is not None and args.resamples < 100:
        parser.error(f"--resamples {args.resamples}: give at least 100, or a 95% interval has no tails to read")
    SEED = args.seed
    if args.resamples:
        RESAMPLES = COMPARE_RESAMPLES = args.resamples
    args.delimiter = parse_delimiter(args.delimiter)
    try:
        check_delimiter(args.delimiter)
    except BatchError as err:
        parser.error(str(err))
    for option, out in (("--per-case", args.per_case), ("--json", args.json)):
        if out and any(same_file(str(out), str(p)) for p in (args.cases, args.compare) if p):
            parser.error(f"{option} {out}: it is a file of cases this run reads; choose another")
    try:
        kb = knowledge_with_priors(args.priors)
    except KnowledgeError as err:
        parser.error(str(err))
    passthrough = [c for c in args.passthrough.split(",") if c.strip()]
    rows, problems = read_cases(args.cases, passthrough, kb, encoding=args.encoding, delimiter=args.delimiter)
    other, more = read_cases(args.compare, passthrough, kb) if args.compare else ([], [])  # read before anything is printed
    scope = f"{len(rows)} {'published ' if args.cases == DEFAULT_CASES else ''}case{'s' if len(rows) != 1 else ''} ({args.cases.name})"
    if problems:
        scope += f", {len(problems)} left out for the problems above"
    if args.priors != next(iter(PRIORS)):
        scope += f", {args.priors} priors"
    if args.scan_temperature:
        try:
            scan_temperature(rows, args.scan_temperature, PRIORS[args.priors])
        except KnowledgeError as err:
            parser.error(f"--scan-temperature: {err}")
        raise SystemExit(1 if problems else 0)
    if args.leave_one_out:
        try:
            records, chosen = leave_one_out(rows, args.leave_one_out, args.flattenings, PRIORS[args.priors])
        except KnowledgeError as err:
            parser.error(f"--leave-one-out: {err}")
        shown = [f"{g[0]:g}/{g[1]:g}" if isinstance(g, tuple) else f"{g:g}" for g in chosen]
        picked = ", ".join(f"{g} for {shown.count(g)}" for g in sorted(set(shown)))
        chosen_what = "temperature/prior flattening" if args.flattenings else "temperature"
        heading = (f"ddx accuracy on {scope}, each scored at the "
                   f"{chosen_what} the other cases choose ({picked}); {intervals_text()}")
    else:
        records = {"published": case_records(rows, dict, kb), "recognised": case_records(rows, recognised, kb)}
        heading = (f"ddx accuracy on {scope}; "
                   f"{intervals_text()}")
    results = {reading: summarise(r) for reading, r in records.items()}
    spread = {reading: intervals(r) for reading, r in records.items()}
    if args.json:
        write_json(args.json, heading, records, results, spread)
    print(heading)
    print(f"{'metric':<26}{'published':>11}{'interval':>13}{'recognised':>11}{'interval':>13}{'cases':>16}")
    for m in METRICS:
        cells = "".join(f"{figure_text(results[r][m]):>11}{interval_text(spread[r].get(m, (math.nan, math.nan))):>13}"
                        for r in records)
        counted = " / ".join("{}/{}".format(*_successes(rs, m)) for rs in records.values()) if m in PROPORTIONS else ""
        print(f"{m:<26}{cells}{counted:>16}".rstrip())
    if any(math.isnan(results[r]["dont_miss_recall"]) for r in records):
        print("(no case's diagnosis is a don't-miss entity: there is no recall to measure)")
    if args.confusion:
        for reading, rs in records.items():
            print(f"\n{reading}: true compartment (rows) against the one read (columns)")
            print(f"{'':<28}" + "".join(f"{c:>28}" for c in COMPARTMENTS))
            for true in COMPARTMENTS:
                counts = [sum(r["true_compartment"] == true and r["predicted_compartment"] == read for r in rs)
                          for read in COMPARTMENTS]
                print(f"{true:<28}" + "".join(f"{c:>28}" for c in counts))
    if args.per_case:
        write_per_case(args.per_case, records)
    if args.compare:
        problems += more
        differences = {r: difference_intervals(records[r], case_records(other, reading, kb))
                       for r, reading in (("published", dict), ("recognised", recognised))}
        left = f", {len(more)} of its cases left out for the problems above" if more else ""
        print(f"\ndifference, {len(other)} case{'s' if len(other) != 1 else ''} of {args.compare.name} minus these{left}, "
              "with a two-sample 95% interval")
        print(f"{'metric':<26}{'published':>11}{'interval':>17}{'recognised':>11}{'interval':>17}")
        for m in INTERVAL_METRICS:
            cells = "".join(f"{signed_text(d[m][0]):>11}{difference_text(d[m][1:]):>17}" for d in differences.values())
            print(f"{m:<26}{cells}")
    if args.misses:
        for reading, r in results.items():
            print(f"\n{reading}: cases outside the top 3 or in the wrong compartment "
                  "(case, diagnosis, true -> read compartment, top 3, top probability)")
            for miss in r["misses"]:
                print("  ", *miss)
    raise SystemExit(1 if problems else 0)


def signed_text(value: float) -> str:
    """A difference as the table prints it: signed, with a minus sign, or a dash where there is none."""
    return "—" if math.isnan(value) else f"{value:+.3f}".replace("-", "\u2212")


def figure_text(value: float) -> str:
    """A measure as the table prints it: three decimals, or a dash where there is nothing to measure."""
    return "—" if math.isnan(value) else f"{value:.3f}"


def write_json(path: Path, heading: str, records: dict[str, list[dict]], results: dict, spread: dict) -> None:
    """The table as JSON, for a script: {"heading", "readings": {reading: {measure: {"value",
    "interval", and for a share "count": [right, of]}}}}; a figure there is nothing to measure for
    (no don't-miss case) is null."""
    import json

    def number(x: float) -> float | None:
        return None if math.isnan(x) else round(x, 6)

    table = {reading: {m: {"value": number(results[reading][m]),
                           "interval": [number(x) for x in spread[reading][m]] if m in spread[reading] else None,
                           **({"count": list(_successes(records[reading], m))} if m in PROPORTIONS else {})}
                       for m in METRICS}
             for reading in records}
    try:
        path.write_text(json.dumps({"heading": heading, "readings": table}, indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
    except OSError as err:
        stop(f"cannot write {path}: {err.strerror or err}")


#: The columns of --per-case, one row per case and reading.
PER_CASE = ("reading", "case", "diagnosis", "rank", "probability", "true_compartment", "read_compartment",
            "candidate_1", "candidate_2", "candidate_3", "dont_miss_case", "diagnosis_flagged", "dont_miss_flags",
            "log_loss", "brier")


YES_NO = {True: "yes", False: "no"}


def write_per_case(path: Path, records: dict[str, list[dict]]) -> None:
    """One CSV row per case and reading, for a reader who wants to check or pool the figures."""
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(PER_CASE)
            for reading, rs in records.items():
                for r in rs:
                    top = (r["top3"] + ["", "", ""])[:3]
                    out.writerow([reading, r["case"], r["truth"], r["rank"], f"{r['probability']:.6f}", r["true_compartment"],
                                  r["predicted_compartment"], *top, YES_NO[r["dont_miss_case"]], YES_NO[r["dont_miss_hit"]], r["flags"],
                                  f"{r['log_loss']:.6f}", f"{r['brier']:.6f}"])
    except OSError as err:
        stop(f"cannot write {path}: {err.strerror or err}")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        silence_stdout()  # the reader of the pipe (| head) has what it wanted, as with ddx
        raise SystemExit(0) from None
