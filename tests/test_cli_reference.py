"""`ddx explain`, `ddx entities`, `ddx features`: text, formats, exit codes, colour."""

import json

import click
import pytest
from click.testing import CliRunner

from ddx.cards import source_keys
from ddx.cli import cli
from ddx.knowledge import default_knowledge

KB = default_knowledge()
RED = "\x1b[1;31m"


def run(*args, **kwargs):
    return CliRunner().invoke(cli, list(args), prog_name="ddx", **kwargs)


@pytest.mark.parametrize("entity_id", KB.entity_ids)
def test_explain_every_entity_lists_its_citations(entity_id):
    entity = KB.entity(entity_id)
    result = run("explain", entity_id)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(entity.name)
    assert "Compartment:" in out and "Typical patient" in out and "Next step" in out
    numbers = [n for (e, _, _), n in KB.likelihoods.items() if e == entity_id] + [KB.priors[entity_id]]
    cited = {key for n in numbers for key in source_keys(n)}
    assert cited, f"{entity_id} has no numbers"
    for key in cited:
        assert f"[{key}] grade" in out
        assert KB.sources[key].citation.split()[0] in out
    assert ("!! DON'T MISS" in out) == entity.dont_miss
    assert "not a medical device" in out


def test_explain_accepts_a_name_in_any_case():
    result = run("explain", "spinal MENINGIOMA")
    assert result.exit_code == 0
    assert "(meningioma)" in result.output.splitlines()[0]


def test_explain_unknown_entity_suggests_the_closest():
    result = run("explain", "schwanoma")
    assert result.exit_code == 2
    assert "'schwanoma' is not a known entity; did you mean 'schwannoma'?" in result.output
    assert "Traceback" not in result.output


def test_explain_a_name_split_at_its_spaces_names_the_fix():
    """`ddx explain epidural abscess` without quotes: the error says to quote the name."""
    result = run("explain", "epidural", "abscess", "--top", "3")
    assert result.exit_code == 2
    assert "Invalid value for 'ENTITY'" in result.stderr
    assert 'ddx explain "epidural abscess"' in " ".join(result.stderr.split())
    assert result.stdout == ""


def test_batch_a_path_split_at_its_spaces_names_the_fix(tmp_path):
    result = run("batch", "my", "cases.csv")
    assert result.exit_code == 2
    assert "Invalid value for 'INPUT'" in result.stderr
    assert 'ddx batch "my cases.csv"' in " ".join(result.stderr.split())


def test_batch_two_files_is_not_taken_for_a_name_split_at_its_spaces(tmp_path):
    """`ddx batch a.csv b.csv` (a shell glob, say) names two files that exist: ddx reads one."""
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("case_id,cord\nA,displaced\n")
    first, second = str(tmp_path / "a.csv"), str(tmp_path / "b.csv")
    result = run("batch", first, second)
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "must be quoted" not in message
    assert "reads one INPUT" in message and "once for each" in message


def test_explain_without_an_entity_is_a_usage_error():
    result = run("explain")
    assert result.exit_code == 2
    assert "Missing argument 'ENTITY'" in result.output


def test_explain_json_is_the_whole_card():
    result = run("explain", "schwannoma", "--format", "json", "--top", "3")
    assert result.exit_code == 0
    card = json.loads(result.output)
    assert card["id"] == "schwannoma" and card["compartment"] == "intradural_extramedullary"
    assert 0 < len(card["for"]) <= 3 and len(card["against"]) <= 3
    assert all(r["ratio"] > 1 for r in card["for"]) and all(r["ratio"] < 1 for r in card["against"])
    listed = {(n["feature"], n["value"]) for s in card["sources"] for n in s["numbers"]}
    located = {("location", z) for z in KB.locations.get("schwannoma", {})}
    assert located and located <= listed and card["pictures_counted"] is True
    assert len(listed) == 1 + sum(1 for (e, _, _) in KB.likelihoods if e == "schwannoma") + len(located)
    assert all(s["citation"] and s["key"] in KB.sources for s in card["sources"])


def test_explain_markdown():
    result = run("explain", "vertebral_metastasis", "--format", "markdown")
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("## Vertebral / epidural metastasis")
    assert "**Findings that favour it**" in out and "| finding" in out
    assert "**Action:**" in out


def test_explain_top_limits_the_findings():
    wide = run("explain", "ependymoma", "--format", "json").output
    narrow = run("explain", "ependymoma", "--format", "json", "--top", "2").output
    assert len(json.loads(narrow)["for"]) == 2 < len(json.loads(wide)["for"])


def test_explain_no_sources_keeps_the_keys_only():
    full = run("explain", "meningioma").output
    short = run("explain", "meningioma", "--no-sources").output
    assert "Sources (" in full and "Sources (" not in short
    assert "JECKO2022" in short and "https://" in full and "https://" not in short


def test_explain_colours_the_flag_only_when_asked():
    coloured = run("explain", "epidural_abscess", "--color").output
    assert f"{RED}!! DON'T MISS" in coloured
    plain = run("explain", "epidural_abscess", "--no-color").output
    assert "\x1b[" not in plain and "!! DON'T MISS" in plain
    default = run("explain", "epidural_abscess", env={"NO_COLOR": "1"}).output
    assert "\x1b[" not in default


def test_entities_table_lists_every_entity():
    result = run("entities")
    assert result.exit_code == 0
    for e in KB.entities:
        assert e.id in result.output
    assert result.output.count("DON'T MISS") == sum(e.dont_miss for e in KB.entities)
    assert "Intradural extramedullary" in result.output


def test_entities_colour_marks_the_dont_miss():
    out = run("entities", "--color").output
    assert out.count(f"{RED}DON'T MISS") == sum(e.dont_miss for e in KB.entities)
    assert "\x1b[" not in run("entities").output


def test_entities_json_for_scripts():
    result = run("entities", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == list(KB.entity_ids)
    assert set(rows[0]) >= {"id", "name", "compartment", "dont_miss", "prior", "data_prior"}
    assert all(r["data_prior"] == KB.priors[r["id"]].probability for r in rows)
    assert abs(sum(r["prior"] for r in rows) - 1) < 1e-4


PRIOR_KEYS = ("model_prior", "data_prior", "data_prior_source", "data_prior_grade")


@pytest.mark.parametrize("entity_id", ["meningioma", "vertebral_metastasis", "chordoma"])
def test_entities_and_explain_json_give_the_priors_under_the_same_keys(entity_id):
    """`model_prior` is what the model starts from and `data_prior` the number of priors.csv, in
    both; each keeps the `prior` it has always had (a contract key never changes meaning)."""
    from ddx.cards import model_prior

    row = next(r for r in json.loads(run("entities", "--format", "json").output) if r["id"] == entity_id)
    card = json.loads(run("explain", entity_id, "--format", "json").output)
    assert {k: row[k] for k in PRIOR_KEYS} == {k: card[k] for k in PRIOR_KEYS}
    data = KB.priors[entity_id]
    assert card["model_prior"] == round(model_prior(KB, entity_id), 6) != data.probability
    assert (card["data_prior"], card["data_prior_source"], card["data_prior_grade"]) == (data.probability, data.source, data.grade)
    assert row["prior"] == card["model_prior"]
    assert card["prior"] == {"probability": data.probability, "source": data.source, "grade": data.grade}


def test_features_table_lists_every_column():
    result = run("features")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    columns = {line.split()[0] for line in lines[2:] if line and not line.startswith(" ")}
    assert set(KB.features) <= columns


def test_features_json_for_scripts():
    result = run("features", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert [r["column"] for r in rows] == list(KB.features)
    cord = next(r for r in rows if r["column"] == "cord")
    assert cord["kind"] == "choice" and "displaced" in cord["values"] and cord["meaning"]["displaced"]
    age = next(r for r in rows if r["column"] == "age")
    assert (age["min"], age["max"]) == (0, 120)


@pytest.mark.parametrize("fmt", ["markdown", "csv"])
def test_listings_reject_unknown_formats(fmt):
    result = run("entities", "--format", fmt)
    assert result.exit_code == 2


def _every_command(group=cli, path=()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _every_command(command, (*path, name))


@pytest.mark.parametrize("command", list(_every_command()), ids=" ".join)
def test_help_has_a_worked_example(command):
    """The README promises a worked example in every command's --help, groups included."""
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and f"ddx {' '.join(command)}" in result.output


@pytest.mark.parametrize(
    "args",
    [["explain", "schwannoma", "--format", "JSON"], ["entities", "--format", "Json"], ["features", "--format", "JSON"]],
)
def test_format_is_case_insensitive(args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)


def test_explain_markdown_in_capitals():
    result = run("explain", "schwannoma", "--format", "MARKDOWN")
    assert result.exit_code == 0, result.output
    assert result.output == run("explain", "schwannoma", "--format", "markdown").output


def test_a_prior_reads_the_same_in_entities_explain_and_an_assessment_without_findings():
    """An assessment without findings gives the priors it starts from; `ddx entities` and the
    card show each, and each compartment's share, as `ddx assess` does (assessment.percent),
    never a rounding apart; a prior under 1% to a tenth of a percent, where `ddx assess` says
    <1%."""
    import ddx
    from ddx.assessment import percent

    listing = run("entities").output.splitlines()
    start = ddx.assess({})
    for c in start.compartments:
        count = sum(e.compartment == c.id for e in KB.entities)
        assert f"({count} entities, {percent(c.probability)} of the prior)" in "\n".join(listing), c.id
    for c in start.candidates:
        shown = percent(c.probability, tenths=True)
        assert shown == percent(c.probability) or percent(c.probability) == "<1%"
        row = next(line for line in listing if line.startswith(c.id + " "))
        assert row.split()[-2] == shown, (c.id, row)
        card = run("explain", c.id, "--no-sources").output.splitlines()[1]
        assert f"prior {shown} " in card, (c.id, card)


def test_explain_does_not_repeat_a_long_unknown_name_in_full():
    result = run("explain", "q" * 5_000)
    assert result.exit_code == 2
    assert "(5,000 characters)" in result.output
    assert max(len(line) for line in result.output.splitlines()) < 300


def test_entities_and_features_sent_to_a_pipe_keep_each_row_on_one_line():
    """Sent to a file or a pipe, a table's lines stay whole (README): `ddx entities | grep
    astrocytoma` finds its whole name, and each column of `ddx features` is one line."""
    from ddx.knowledge import default_knowledge

    kb = default_knowledge()
    entities = run("entities").stdout
    for e in kb.entities:
        assert any(line.startswith(e.id + " ") and e.name in line for line in entities.splitlines()), e.id
    features = run("features").stdout.splitlines()
    for f in kb.features.values():
        (line,) = [ln for ln in features if ln.startswith(f.id + " ")]
        assert line.rstrip().endswith(f.help), f.id


def _command_paths(group=cli, prefix=()):
    import click

    out = [prefix]
    for name, command in group.commands.items():
        out += _command_paths(command, (*prefix, name)) if isinstance(command, click.Group) else [(*prefix, name)]
    return out


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "ddx")
def test_every_commands_help_says_what_ddx_is_not(path):
    """Each command's help, not only the top one's, says ddx is a teaching and research aid,
    not a medical device: a trainee who reads `ddx explain --help` alone is told too."""
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert " ".join(result.output.split()).count("ddx is a teaching and research aid, not a medical device: it does not replace a radiologist's read.") == 1
