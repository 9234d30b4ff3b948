"""Accuracy of ddx on real published cases (../shared/cases/cases.csv).

Two readings of every case (see the cases' README):
  published  - exactly the coded findings;
  recognised - plus the canonical signs of the true compartment where blank.
Prints compartment accuracy, top-1, top-3, don't-miss recall, don't-miss
flags per case, the expected calibration error (ECE, 10 bins) of the top
probability, and two proper scoring rules of the whole differential: the log
loss of the true diagnosis and the Brier score. --scan-temperature prints the
scores for other temperatures of model.toml (how its value was chosen).

Usage: python benchmarks/accuracy.py [--cases PATH] [--misses] [--scan-temperature 1.1,1.2,1.3]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ddx.engine import assess  # noqa: E402
from ddx.errors import KnowledgeError  # noqa: E402
from ddx.findings import parse_findings  # noqa: E402
from ddx.knowledge import default_knowledge, load_knowledge  # noqa: E402

DEFAULT_CASES = ROOT.parent / "shared" / "cases" / "cases.csv"
META = ("source_url", "diagnosis", "compartment", "evidence")
CANONICAL = {
    "intramedullary": {"cord": "expanded", "csf": "effaced"},
    "intradural_extramedullary": {"cord": "displaced", "csf": "widened"},
    "extradural": {"dural_sac_displaced": "yes", "csf": "tapered"},
}


def recognised(row: dict) -> dict:
    out = dict(row)
    for column, value in CANONICAL[row["compartment"]].items():
        if not out.get(column, "").strip():
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


def evaluate(rows: list[dict], reading, kb=None) -> dict:
    kb = kb or default_knowledge()
    dont_miss = {e.id for e in kb.entities if e.dont_miss}
    stats = {"n": 0, "compartment": 0, "top1": 0, "top3": 0, "dm_cases": 0, "dm_hit": 0, "dm_flags": 0}
    log_loss = brier = 0.0
    pairs, misses = [], []
    for row in rows:
        cells = reading(row)
        findings = parse_findings({k: v for k, v in cells.items() if k not in META})
        a = assess(findings, kb)
        truth = row["diagnosis"]
        ranked = [c.id for c in a.candidates]
        stats["n"] += 1
        stats["compartment"] += a.compartment == row["compartment"]
        stats["top1"] += ranked[0] == truth
        stats["top3"] += truth in ranked[:3]
        stats["dm_flags"] += len(a.flagged)
        if truth in dont_miss:
            stats["dm_cases"] += 1
            stats["dm_hit"] += truth in a.flagged
        pairs.append((a.candidates[0].probability, ranked[0] == truth))
        log_loss -= math.log(a.probability(truth))
        brier += math.fsum((c.probability - (c.id == truth)) ** 2 for c in a.candidates)
        if truth not in ranked[:3] or a.compartment != row["compartment"]:
            misses.append((row["case_id"], truth, a.compartment, ranked[:3], round(a.candidates[0].probability, 2)))
    n = stats["n"]
    return {
        "cases": n,
        "compartment": stats["compartment"] / n,
        "top1": stats["top1"] / n,
        "top3": stats["top3"] / n,
        "dont_miss_recall": stats["dm_hit"] / stats["dm_cases"] if stats["dm_cases"] else float("nan"),
        "dont_miss_flags_per_case": stats["dm_flags"] / n,
        "ece": ece(pairs),
        "log_loss": log_loss / n,
        "brier": brier / n,
        "misses": misses,
    }


METRICS = ("compartment", "top1", "top3", "dont_miss_recall", "dont_miss_flags_per_case", "ece", "log_loss", "brier")


def scan_temperature(rows: list[dict], temperatures: list[float]) -> None:
    """Scores at each temperature: the proper scoring rules pick it, the binned ECE is too noisy to."""
    bases = [(t, load_knowledge(model={"temperature": t})) for t in temperatures]
    print(f"{'temperature':<12}{'log loss':>18}{'Brier':>16}{'ECE':>16}{'top-1':>16}{'top-3':>16}")
    print(f"{'':<12}" + f"{'pub / rec':>18}" + "".join(f"{'pub / rec':>16}" for _ in range(4)))
    for t, kb in bases:
        p, r = evaluate(rows, dict, kb), evaluate(rows, recognised, kb)
        cells = [f"{p[m]:.3f} / {r[m]:.3f}" for m in ("log_loss", "brier", "ece", "top1", "top3")]
        print(f"{t:<12g}{cells[0]:>18}" + "".join(f"{c:>16}" for c in cells[1:]))


def temperatures(text: str) -> list[float]:
    """The --scan-temperature list (model.toml's own check judges each value)."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--misses", action="store_true", help="list the cases ranked wrongly")
    parser.add_argument("--scan-temperature", metavar="T,T,...", type=temperatures,
                        help="scores at each of these temperatures instead")
    args = parser.parse_args()
    if not args.cases.exists():
        sys.exit(f"no cases at {args.cases} (pass --cases PATH)")
    with args.cases.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if args.scan_temperature:
        try:
            scan_temperature(rows, args.scan_temperature)
        except KnowledgeError as err:
            parser.error(f"--scan-temperature: {err}")
        return
    results = {"published": evaluate(rows, dict), "recognised": evaluate(rows, recognised)}
    print(f"ddx accuracy on {len(rows)} published cases ({args.cases.name})")
    print(f"{'metric':<26}{'published':>11}{'recognised':>12}")
    for m in METRICS:
        print(f"{m:<26}{results['published'][m]:>11.3f}{results['recognised'][m]:>12.3f}")
    if args.misses:
        for reading, r in results.items():
            print(f"\n{reading}: cases outside the top 3 or in the wrong compartment")
            for miss in r["misses"]:
                print("  ", *miss)


if __name__ == "__main__":
    main()
