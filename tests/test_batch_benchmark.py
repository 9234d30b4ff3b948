"""benchmarks/batch.py's generated input: rows of valid cases, for every kind of column."""

import importlib.util
import io
from pathlib import Path

from ddx import batch
from ddx.knowledge import default_knowledge

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("batch_bench", ROOT / "benchmarks" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_rows_are_all_assessed(tmp_path):
    """Every row the benchmark writes is a valid case, an integer column without a max
    (segments) included, so the timing measures assessment, not error records."""
    path = tmp_path / "rows.csv"
    _bench().generate(str(path), 200)
    with path.open(encoding="utf-8", newline="") as fh:
        summary = batch.run(fh, io.StringIO(), knowledge=default_knowledge())
    assert (summary.read, summary.failed) == (200, 0)
