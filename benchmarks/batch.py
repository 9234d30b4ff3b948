"""Batch throughput and memory: `ddx batch` against a plain csv copy of the same file.

Generates a seeded CSV of valid rows (about a third of the cells blank),
times (a) csv.DictReader -> csv.DictWriter and (b) ddx.batch.run on it, both
in this process and file to file, and prints rows/s for each and the ratio
b/a (target for --format csv: at most 3). Then measures the peak traced
memory of a batch over 20,000 and 200,000 rows, each in a fresh subprocess
(target: the larger at most 1.3 times the smaller).

    python benchmarks/batch.py                 # 100,000 rows, csv
    python benchmarks/batch.py --rows 20000 --format ndjson
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time

from ddx import batch
from ddx.csv_input import open_input
from ddx.knowledge import default_knowledge

TARGET_RATIO = 3.0
TARGET_MEMORY = 1.3


def cell(rng: random.Random, feature) -> str:
    if rng.random() < 1 / 3:
        return ""
    if feature.kind == "integer":
        # segments has no max (features.md bounds it below only): its open last band is read too
        return str(rng.randint(feature.min, 90 if feature.max is None else min(feature.max, 90)))
    if feature.kind == "list":
        values = [v for v in feature.values if v != feature.exclusive]
        return ";".join(rng.sample(values, rng.randint(1, 2)))
    return rng.choice(feature.values)


def generate(path: str, rows: int, seed: int = 20240601) -> None:
    """A CSV of `rows` valid cases: every column, random values, a third of the cells blank."""
    features = list(default_knowledge().features.values())
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["case_id"] + [f.id for f in features])
        for i in range(rows):
            writer.writerow([f"C{i:07d}"] + [cell(rng, f) for f in features])


def plain_copy(src: str, dst: str) -> None:
    with open(src, encoding="utf-8", newline="") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, reader.fieldnames, lineterminator="\n")
        writer.writeheader()
        for row in reader:
            writer.writerow(row)


def ddx_batch(src: str, dst: str, fmt: str) -> batch.Summary:
    inp = open_input(src)
    try:
        with open(dst, "w", encoding="utf-8", newline="") as out:
            return batch.run(inp.text, out, fmt=fmt, knowledge=default_knowledge())
    finally:
        inp.close()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def best_of(repeat: int, a, b) -> tuple[float, float]:
    """The best time of each of two runs, taken in turns so that a busy moment hits both alike."""
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(timed(*a))
        times_b.append(timed(*b))
    return min(times_a), min(times_b)


def peak_memory(rows: int, fmt: str, folder: str) -> dict:
    """Peak traced memory (tracemalloc) and max RSS of one batch, in a fresh process."""
    path = os.path.join(folder, f"mem{rows}.csv")
    generate(path, rows)
    code = f"""
import json, resource, tracemalloc
from ddx import batch
from ddx.csv_input import open_input
from ddx.knowledge import default_knowledge
kb = default_knowledge()
inp = open_input({path!r})
tracemalloc.start()
with open({os.devnull!r}, "w", encoding="utf-8", newline="") as out:
    batch.run(inp.text, out, fmt={fmt!r}, knowledge=kb)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({{"peak": peak, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    os.unlink(path)
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", default="csv", choices=batch.FORMATS)
    parser.add_argument("--repeat", type=int, default=5, help="best of this many timings, taken in turns")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = parser.parse_args()
    default_knowledge()
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        src = os.path.join(folder, "cases.csv")
        generate(src, args.rows)
        print(f"{args.rows:,} rows, {os.path.getsize(src) / 1e6:.1f} MB, {sys.version.split()[0]}; in-process, file to file")
        a, b = best_of(
            args.repeat,
            (plain_copy, src, os.path.join(folder, "copy.csv")),
            (ddx_batch, src, os.path.join(folder, "out." + args.format), args.format),
        )
        ratio = b / a
        print(f"(a) csv.DictReader -> csv.DictWriter  {args.rows / a:>10,.0f} rows/s  ({a:.2f} s)")
        print(f"(b) ddx batch --format {args.format:<6}        {args.rows / b:>10,.0f} rows/s  ({b:.2f} s)")
        verdict = "ok" if ratio <= TARGET_RATIO else f"above the target {TARGET_RATIO}"
        print(f"b/a = {ratio:.2f}" + (f"  ({verdict})" if args.format == "csv" else ""))
        failed |= args.format == "csv" and ratio > TARGET_RATIO
        if not args.no_memory:
            small, large = (peak_memory(n, args.format, folder) for n in (20_000, 200_000))
            growth = large["peak"] / small["peak"]
            print(
                f"peak traced memory: 20,000 rows {small['peak'] / 1e6:.2f} MB, 200,000 rows {large['peak'] / 1e6:.2f} MB, "
                f"ratio {growth:.2f} ({'ok' if growth <= TARGET_MEMORY else f'above the target {TARGET_MEMORY}'})"
            )
            print(f"max RSS: 20,000 rows {small['maxrss_kib'] / 1024:.1f} MiB, 200,000 rows {large['maxrss_kib'] / 1024:.1f} MiB")
            failed |= growth > TARGET_MEMORY
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
