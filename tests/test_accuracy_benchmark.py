"""benchmarks/accuracy.py's summary and bootstrap intervals, on made-up case records."""

import importlib.util
import math
import random
import subprocess
import sys
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
        "case": case, "truth": "a", "compartment_ok": right, "true_compartment": "y", "predicted_compartment": "x",
        "top3": top3,
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


def test_a_flattening_outside_0_to_1_is_the_command_line_s_error():
    """Not model.toml's: the value came from --flattenings."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--leave-one-out", "1.2",
                           "--flattenings", "0,1.5"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--flattenings: a prior flattening is a power from 0" in proc.stderr and "model.toml" not in proc.stderr


def test_without_a_dont_miss_case_the_recall_has_no_interval(accuracy):
    """And ten cases of ten right is no proof of 1.00: a share's interval is Wilson's, which a
    bootstrap of the cases would have made 1.00-1.00."""
    spread = accuracy.intervals([record(f"c{i}", True) for i in range(10)])
    assert accuracy.interval_text(spread["dont_miss_recall"]) == "—"
    assert accuracy.interval_text(spread["top1"]) == "0.72–1.00"


@pytest.mark.parametrize("k, n, low, high", [(80, 80, 0.9542, 1.0), (16, 19, 0.6243, 0.9448), (0, 5, 0.0, 0.4345), (36, 75, 0.3707, 0.5913)])
def test_wilson_s_interval_is_the_textbook_one(accuracy, k, n, low, high):
    got = accuracy.wilson(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


ROWS = [
    {"case_id": "a", "diagnosis": "schwannoma", "compartment": "intradural_extramedullary",
     "cord": "displaced", "csf": "widened", "foraminal_extension": "yes"},
    {"case_id": "b", "diagnosis": "meningioma", "compartment": "intradural_extramedullary",
     "cord": "displaced", "dural_tail": "yes", "age": "70", "sex": "female"},
    {"case_id": "c", "diagnosis": "ependymoma", "compartment": "intramedullary", "cord": "expanded", "level": "cervical"},
    {"case_id": "d", "diagnosis": "hemangioma", "compartment": "extradural", "known_primary": "yes", "cord": "compressed"},
]


def test_leave_one_out_scores_each_case_at_the_temperature_the_others_choose(accuracy):
    from ddx.knowledge import load_knowledge

    grid = [1.0, 1.5, 3.0]
    records, chosen = accuracy.leave_one_out(ROWS, grid)
    at = {t: {r: accuracy.case_records(ROWS, reading, load_knowledge(model={"temperature": t}))
              for r, reading in (("published", dict), ("recognised", accuracy.recognised))} for t in grid}

    def others(t, i):
        return sum(rec[j]["log_loss"] for rec in at[t].values() for j in range(len(ROWS)) if j != i)

    assert len(chosen) == len(ROWS)
    for i, t in enumerate(chosen):
        assert others(t, i) == pytest.approx(min(others(u, i) for u in grid))
        assert records["published"][i] == at[t]["published"][i]
        assert records["recognised"][i] == at[t]["recognised"][i]
    # left out, the haemangioma that reads as a metastasis no longer pulls the choice to a flatter posterior
    assert len(set(chosen)) > 1


def test_leave_one_out_on_one_temperature_is_the_plain_benchmark(accuracy):
    from ddx.knowledge import load_knowledge

    records, chosen = accuracy.leave_one_out(ROWS, [1.25])
    kb = load_knowledge(model={"temperature": 1.25})
    assert chosen == [1.25] * len(ROWS)
    assert records["published"] == accuracy.case_records(ROWS, dict, kb)
    assert records["recognised"] == accuracy.case_records(ROWS, accuracy.recognised, kb)


def test_a_case_that_cannot_be_scored_is_named_with_its_column_and_value(accuracy):
    good = dict(ROWS[0])
    assert accuracy.case_problems(good) == []
    problems = accuracy.case_problems({**good, "diagnosis": "lipoma", "compartment": "", "cord": "sideways"})
    assert problems[0] == "diagnosis 'lipoma' is not an entity id (`ddx entities` lists them)"
    assert problems[1].startswith("compartment '' is not one of intramedullary")
    assert problems[2].startswith("cord: 'sideways' is not a value")
    assert "'accession'" in accuracy.case_problems({**good, "accession": "A1"})[0]
    assert accuracy.case_problems({**good, "accession": "A1"}, passthrough=["accession"]) == []


def _run(tmp_path, rows, *args, bom=False):
    import csv
    import subprocess
    import sys

    path = tmp_path / "cases.csv"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--cases", str(path), *args],
                          capture_output=True, text=True, timeout=300)


def test_the_benchmark_scores_the_cases_it_can_and_names_the_others(tmp_path):
    """A case that cannot be scored is left out and named on stderr, the heading says so and the
    exit status is 1; a file with a BOM reads as one without; --passthrough leaves a column unread."""
    rows = [dict(r, accession=f"A{i}") for i, r in enumerate(ROWS)]
    rows[1]["cord"] = "sideways"
    done = _run(tmp_path, rows, "--passthrough", "accession", bom=True)
    assert done.returncode == 1, done.stderr
    assert "cases.csv row 2 (case b): cord: 'sideways' is not a value" in done.stderr
    assert done.stdout.startswith("ddx accuracy on 3 cases (cases.csv), 1 left out for the problems above")
    assert "Traceback" not in done.stderr
    clean = _run(tmp_path, [dict(r) for r in ROWS])
    assert clean.returncode == 0 and clean.stderr == ""
    assert clean.stdout.startswith("ddx accuracy on 4 cases (cases.csv); 95% intervals")


def test_the_benchmark_stops_when_no_case_can_be_scored(tmp_path):
    done = _run(tmp_path, [dict(ROWS[0], diagnosis="lipoma")])
    assert done.returncode == 2 and done.stdout == ""
    assert "row 1 (case a): diagnosis 'lipoma'" in done.stderr and "no case in" in done.stderr


def test_the_difference_of_two_sets_is_their_figures_apart_with_an_interval_that_holds_it(accuracy):
    """--compare: the second set's figure minus the first's, with Newcombe's interval for a share
    and a bootstrap of each set on its own for the rest; a set compared with itself differs by
    nothing, and two sets far apart differ beyond chance."""
    good = [record(f"g{i:02}", True) for i in range(40)]
    poor = [record(f"p{i:02}", i % 4 == 0) for i in range(40)]
    same = accuracy.difference_intervals(good, good)
    assert same["top1"][0] == 0.0 and same["top1"][1] < 0 < same["top1"][2]
    assert same["log_loss"] == (0.0, 0.0, 0.0)  # a bootstrap of identical sets: no spread
    diff, low, high = accuracy.difference_intervals(good, poor)["top1"]
    assert diff == pytest.approx(-0.75) and low <= diff <= high < 0
    assert accuracy.difference_text((low, high)).startswith("\u2212")


def test_a_difference_of_shares_has_newcombes_interval_not_a_collapsed_one(accuracy):
    """Two sets right in every case differ by 0 with an interval that still allows a difference
    (the bootstrap gave +0.00 to +0.00); Newcombe's interval holds the difference."""
    perfect = [record(f"g{i:02}", True) for i in range(20)]
    diff, low, high = accuracy.difference_intervals(perfect, perfect)["top1"]
    assert diff == 0 and low < -0.1 and high > 0.1
    # Newcombe's own example (Stat Med 1998;17:873-890, method 10): 56/70 against 48/80 differ by 0.2000, 0.0524 to 0.3339
    assert accuracy.newcombe((48, 80), (56, 70)) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_compare_prints_the_differences_under_the_table(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    done = _run(other, [dict(r) for r in ROWS])
    assert done.returncode == 0
    both = _run(tmp_path, [dict(r) for r in ROWS], "--compare", str(other / "cases.csv"))
    assert both.returncode == 0, both.stderr
    assert "difference, 4 cases of cases.csv minus these, with a two-sample 95% interval" in both.stdout
    assert "top3" in both.stdout.split("difference,")[1]


def _write(tmp_path, text: str, name="mine.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _bench(*args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


class TestAResearchersOwnFile:
    """A researcher's own case file, written as spreadsheets write them, is read as `ddx batch`
    reads a file, and every mistake in it is named with its row, column, value and the fix."""

    CASES = ("Case ID;Diagnosis;Compartment;Cord;CSF;Dural tail;Age\n"
             "A;Meningioma ;intradural_extramedullary;displaced;widened;yes;70\n"
             "B;schwannoma;Intradural_Extramedullary;displaced;widened;;45\n")

    def test_an_excel_export_with_a_bom_and_semicolons_is_read(self, tmp_path):
        done = _bench("--cases", _write(tmp_path, "\ufeff" + self.CASES))
        assert done.returncode == 0, done.stderr
        assert "log loss is\n-ln P(true diagnosis)" in _bench("--help").stdout  # --help defines the measures
        assert done.stdout.startswith("ddx accuracy on 2 cases (mine.csv); 95% intervals")
        assert "top1                            1.000" in done.stdout

    def test_an_encoding_and_a_separator_can_be_given(self, tmp_path):
        text = self.CASES.replace(";", "|").replace("B|", "B\u00e9|")
        path = _write(tmp_path, text, encoding="cp1252")
        refused = _bench("--cases", path, "--delimiter", "|")
        assert refused.returncode == 2 and "pass its encoding with --encoding" in refused.stderr
        done = _bench("--cases", path, "--delimiter", "|", "--encoding", "cp1252")
        assert done.returncode == 0, done.stderr

    @pytest.mark.parametrize("tab", ["tab", "TAB", "\\t", "\t"])
    def test_a_tab_is_named_as_ddx_batch_names_it(self, tmp_path, tab):
        done = _bench("--cases", _write(tmp_path, self.CASES.replace(";", "\t")), "--delimiter", tab)
        assert done.returncode == 0, done.stderr

    def test_unknown_columns_are_named_once_for_the_file_with_the_fix(self, tmp_path):
        path = _write(tmp_path, "case_id,diagnosis,compartment,cord,MRN,notes\na,meningioma,extradural,displaced,1,x\n")
        done = _bench("--cases", path)
        assert done.returncode == 2 and done.stdout == ""
        assert "unknown columns 'MRN', 'notes'" in done.stderr and "--passthrough mrn,notes" in done.stderr
        assert done.stderr.count("\n") == 1
        assert _bench("--cases", path, "--passthrough", "MRN,notes").returncode == 0

    @pytest.mark.parametrize("column, why", [("diagnosis", "it is the truth"), ("age", "it is a finding"), ("Case ID", "it names the case")])
    def test_passing_through_a_column_the_benchmark_reads_is_refused(self, tmp_path, column, why):
        done = _bench("--cases", _write(tmp_path, "\ufeff" + self.CASES), "--passthrough", column)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert f"the benchmark reads this column ({why})" in done.stderr

    def test_a_value_written_otherwise_gets_the_id_it_means(self, tmp_path):
        path = _write(tmp_path, "case_id,diagnosis,compartment,cord\na,nerve sheath,IDEM,displaced\n"
                                "b,meningiona,extradural,displaced\nc,meningioma,extradural,displaced\n")
        done = _bench("--cases", path)
        assert done.returncode == 1
        assert "mine.csv row 1 (case a): diagnosis 'nerve sheath' is not an entity id" in done.stderr
        assert "compartment 'IDEM' is not one of intramedullary, intradural_extramedullary, extradural; did you mean 'intradural_extramedullary'?" in done.stderr
        assert "row 2 (case b): diagnosis 'meningiona' is not an entity id; did you mean 'meningioma'?" in done.stderr
        assert done.stdout.startswith("ddx accuracy on 1 case (mine.csv), 2 left out for the problems above")

    @pytest.mark.parametrize("written, meant", [
        ("Intradural", "did you mean 'intramedullary' or 'intradural_extramedullary'?"),
        ("epidural", "did you mean 'extradural'?"),
        ("subdural", "did you mean 'intradural_extramedullary'?"),
        ("ed", "did you mean 'extradural'?"),
    ])
    def test_a_compartment_is_read_as_the_quiz_reads_one(self, tmp_path, written, meant):
        """'intradural' may be either intradural compartment, so both are offered, not one."""
        path = _write(tmp_path, f"case_id,diagnosis,compartment,cord\na,meningioma,{written},displaced\n"
                                "c,meningioma,extradural,displaced\n")
        done = _bench("--cases", path)
        assert f"compartment {written!r} is not one of intramedullary, intradural_extramedullary, extradural; {meant}" in done.stderr

    def test_a_case_without_an_id_is_named_by_its_row_of_the_file_and_an_empty_row_is_said(self, tmp_path):
        path = _write(tmp_path, "diagnosis,compartment,age,cord\nmeningioma,extradural,zz,displaced\n,,,\n"
                                "ependymoma,intradural_extramedullary,40,displaced\n")
        done = _bench("--cases", path, "--misses")
        assert "mine.csv row 1: age: 'zz'" in done.stderr and "mine.csv row 2: the row is empty" in done.stderr
        assert "   row 3 ependymoma" in done.stdout  # its row of the file, not its place among the cases kept

    def test_a_note_across_lines_or_with_a_line_separator_stays_in_its_case(self, tmp_path):
        path = _write(tmp_path, 'case_id,diagnosis,compartment,cord,evidence\r\n'
                                'a,meningioma,intradural_extramedullary,displaced,"two\r\nlines"\r\n'
                                'b,schwannoma,intradural_extramedullary,displaced,one\u2028line\x0cand a form feed\r\n')
        done = _bench("--cases", path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("ddx accuracy on 2 cases (mine.csv); 95% intervals")

    def test_blank_lines_are_no_rows_and_padding_cells_no_problem(self, tmp_path):
        path = _write(tmp_path, "\nsep=,\ncase_id,diagnosis,compartment,cord\n\na,meningioma,extradural,displaced,,\n\n")
        done = _bench("--cases", path)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert done.stdout.startswith("ddx accuracy on 1 case (mine.csv); 95% intervals")

    def test_a_tab_named_by_excels_sep_line_is_taken(self, tmp_path):
        path = _write(tmp_path, "sep=\t\ncase_id\tdiagnosis\tcompartment\tcord\na\tmeningioma\textradural\tdisplaced\n")
        assert _bench("--cases", path).returncode == 0

    def test_a_quote_left_open_stops_the_run_naming_its_line(self, tmp_path):
        path = _write(tmp_path, 'case_id,diagnosis,compartment,cord,evidence\na,meningioma,extradural,displaced,"x\n'
                                "b,schwannoma,extradural,displaced,y\n")
        done = _bench("--cases", path)
        assert done.returncode == 2 and done.stdout == "" and "a quote left open swallows the lines after it" in done.stderr

    def test_a_column_named_twice_is_refused(self, tmp_path):
        done = _bench("--cases", _write(tmp_path, "case_id,diagnosis,Diagnosis,compartment\na,meningioma,meningioma,extradural\n"))
        assert done.returncode == 2 and "the header names diagnosis twice" in done.stderr

    @pytest.mark.parametrize("args, said", [
        (["--delimiter", "c"], "it is part of the column names and values"),
        (["--encoding", "idna"], "is not a text encoding of files"),
        (["--encoding", "utf-16"], "pass its encoding with --encoding"),
        (["--passthrough", "nothere"], "has no such column"),
    ])
    def test_a_setting_that_cannot_read_the_file_is_said(self, tmp_path, args, said):
        done = _bench("--cases", _write(tmp_path, self.CASES), *args)
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr

    def test_per_case_may_not_overwrite_a_file_of_cases(self, tmp_path):
        path = _write(tmp_path, self.CASES)
        done = _bench("--cases", path, "--per-case", path)
        assert done.returncode == 2 and "it is a file of cases this run reads" in done.stderr
        assert path.read_text(encoding="utf-8") == self.CASES

    def test_compare_reads_its_own_file_its_own_way_before_printing(self, tmp_path):
        """--encoding and --delimiter are those of --cases; the compare file's separator is sniffed,
        and a compare file that cannot be read stops the run before the first table."""
        mine = _write(tmp_path, self.CASES.replace("B;", "B\u00e9;"), encoding="cp1252")
        other = _write(tmp_path, "case_id,diagnosis,compartment,cord\na,meningioma,extradural,displaced\nb,lipoma,extradural,\n",
                       name="other.csv")
        done = _bench("--cases", mine, "--encoding", "cp1252", "--compare", other)
        assert done.returncode == 1, done.stderr
        assert "difference, 1 case of other.csv minus these, 1 of its cases left out for the problems above" in done.stdout
        assert "dont_miss_recall                    —" in done.stdout
        broken = _write(tmp_path, "case_id,diagnosis\n", name="broken.csv")
        stopped = _bench("--cases", mine, "--encoding", "cp1252", "--compare", broken)
        assert stopped.returncode == 2 and stopped.stdout == ""

    def test_no_dont_miss_case_is_said_not_printed_as_nan(self, tmp_path):
        done = _bench("--cases", _write(tmp_path, self.CASES))
        assert "nan" not in done.stdout and "dont_miss_recall                    —" in done.stdout
        assert "no case's diagnosis is a don't-miss entity" in done.stdout

    def test_each_share_shows_its_count_and_the_compartments_their_confusion(self, tmp_path):
        done = _bench("--cases", _write(tmp_path, self.CASES), "--confusion")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert next(ln for ln in lines if ln.startswith("top3")).endswith("2/2 / 2/2")
        assert next(ln for ln in lines if ln.startswith("log_loss")) == next(ln for ln in lines if ln.startswith("log_loss")).rstrip()
        matrix = lines[lines.index("published: true compartment (rows) against the one read (columns)") + 1:][:4]
        assert matrix[2].split() == ["intradural_extramedullary", "0", "2", "0"]

    @pytest.mark.skipif(not (ROOT.parent / "shared" / "cases" / "cases.csv").exists(),
                        reason="the published cases (../shared/cases) are not beside this checkout")
    def test_the_seed_and_the_resamples_can_be_set(self):
        """The published cases' flags-per-case interval moves with the seed and the resamples, and
        the heading says how many resamples it took."""
        default = _bench()
        other = _bench("--seed", "7", "--resamples", "500")
        assert "2000 bootstrap resamples" in default.stdout and "500 bootstrap resamples" in other.stdout
        flags = lambda out: next(ln for ln in out.splitlines() if ln.startswith("dont_miss_flags_per_case"))
        assert flags(default.stdout) != flags(other.stdout)
        assert _bench("--resamples", "5").returncode == 2

    def test_json_writes_the_table_for_a_script(self, tmp_path):
        import json

        out = tmp_path / "table.json"
        done = _bench("--cases", _write(tmp_path, self.CASES), "--json", out)
        assert done.returncode == 0, done.stderr
        table = json.loads(out.read_text(encoding="utf-8"))
        assert table["heading"] == done.stdout.splitlines()[0]
        top3 = table["readings"]["recognised"]["top3"]
        assert top3["value"] == 1.0 and top3["count"] == [2, 2] and len(top3["interval"]) == 2
        assert table["readings"]["published"]["dont_miss_recall"]["value"] is None
        assert table["readings"]["published"]["ece"]["interval"] is None
        assert _bench("--cases", out.parent / "mine.csv", "--json", out.parent / "mine.csv").returncode == 2

    def test_per_case_writes_a_row_for_each_case_and_reading(self, tmp_path):
        import csv

        out = tmp_path / "per-case.csv"
        done = _bench("--cases", _write(tmp_path, self.CASES), "--per-case", out)
        assert done.returncode == 0, done.stderr
        rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
        assert [(r["reading"], r["case"], r["diagnosis"], r["rank"]) for r in rows] == [
            ("published", "A", "meningioma", "1"), ("published", "B", "schwannoma", "1"),
            ("recognised", "A", "meningioma", "1"), ("recognised", "B", "schwannoma", "1")]
        assert 0 < float(rows[0]["probability"]) <= 1 and rows[0]["candidate_1"] == "meningioma"
        assert (rows[0]["dont_miss_case"], rows[0]["diagnosis_flagged"]) == ("no", "no")

    @pytest.mark.parametrize("args, said", [
        (["--scan-temperature", "1.2", "--misses"], "--scan-temperature prints its own table"),
        (["--leave-one-out", "1.2", "--compare", "x.csv"], "--compare scores the other cases at model.toml's settings"),
        (["--leave-one-out", "1.2", "--flattenings", "0.3", "--priors", "registry"], "fixes the prior flattening"),
    ])
    def test_options_that_would_be_ignored_or_mixed_are_refused(self, tmp_path, args, said):
        done = _bench("--cases", _write(tmp_path, self.CASES), *args)
        assert done.returncode == 2 and said in done.stderr

    def test_the_registry_priors_can_be_scored(self, tmp_path):
        import csv

        path = _write(tmp_path, self.CASES)
        runs = {}
        for priors in ("case-reports", "registry"):
            out = tmp_path / f"{priors}.csv"
            done = _bench("--cases", path, "--priors", priors, "--per-case", out)
            assert done.returncode == 0
            runs[priors] = [float(r["probability"]) for r in csv.DictReader(out.open(encoding="utf-8", newline=""))]
        assert done.stdout.startswith("ddx accuracy on 2 cases (mine.csv), registry priors;")
        assert runs["registry"] != runs["case-reports"]  # the priors the option names are the ones scored with
