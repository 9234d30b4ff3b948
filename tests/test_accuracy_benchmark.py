"""benchmarks/accuracy.py's summary and bootstrap intervals, on made-up case records."""

import importlib.util
import math
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def accuracy():
    spec = importlib.util.spec_from_file_location("accuracy_bench", ROOT / "benchmarks" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(case: str, right: bool, dont_miss: bool = False, p: float = 0.6) -> dict:
    """A case record whose top candidate is the truth when ``right``."""
    top3 = ["a", "b", "c"] if right else ["b", "c", "d"]
    return {
        "case": case, "truth": "a", "compartment_ok": right, "predicted_compartment": "x", "top3": top3,
        "top_probability": p, "dont_miss_case": dont_miss, "dont_miss_hit": dont_miss and right,
        "flags": int(dont_miss), "log_loss": -math.log(p if right else 1 - p), "brier": 0.5,
    }


def test_summary_counts_each_measure(accuracy):
    records = [record("c1", True, dont_miss=True), record("c2", False, dont_miss=True), record("c3", True), record("c4", True)]
    s = accuracy.summarise(records)
    assert (s["compartment"], s["top1"], s["top3"]) == (0.75, 0.75, 0.75)
    assert s["dont_miss_recall"] == 0.5
    assert s["dont_miss_flags_per_case"] == 0.5
    assert [m[0] for m in s["misses"]] == ["c2"]


def test_intervals_are_the_same_whatever_the_order_of_the_cases(accuracy):
    records = [record(f"c{i:02}", i % 3 != 0, dont_miss=i % 4 == 0) for i in range(40)]
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    assert accuracy.intervals(records) == accuracy.intervals(shuffled)


def test_an_interval_holds_its_figure_and_is_narrower_with_more_cases(accuracy):
    few = [record(f"c{i:02}", i % 4 != 0) for i in range(20)]
    many = [record(f"c{i:03}", i % 4 != 0) for i in range(400)]
    low, high = accuracy.intervals(few)["top1"]
    assert low < accuracy.summarise(few)["top1"] < high
    low_many, high_many = accuracy.intervals(many)["top1"]
    assert high_many - low_many < (high - low) / 2


def test_without_a_dont_miss_case_the_recall_has_no_interval(accuracy):
    spread = accuracy.intervals([record(f"c{i}", True) for i in range(10)])
    assert accuracy.interval_text(spread["dont_miss_recall"]) == "—"
    assert accuracy.interval_text(spread["top1"]) == "1.00–1.00"
