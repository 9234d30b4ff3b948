"""docs/ cannot drift from the code and the data.

The reference pages and every command output embedded in the user guide and
the tutorial are regenerated in memory by tools/gen_docs.py and compared with
what is on disk; every command and subcommand must be documented and have
help text (after sqlite-utils' tests/test_docs.py).
"""

import importlib.util
import re
from pathlib import Path

import click
import pytest

from ddx.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FIX = "run `python tools/gen_docs.py`"


def _load_gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "tools" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_gen_docs()
COMMANDS = gen_docs.command_paths()


@pytest.fixture(scope="module")
def expected():
    try:
        return gen_docs.pages()
    except gen_docs.DocsError as exc:
        pytest.fail(f"the docs cannot be regenerated: {exc}")


def _read(name: str) -> str:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing: {FIX}"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", gen_docs.GENERATED + gen_docs.LIVE)
def test_page_matches_the_code_and_the_data(expected, name):
    actual = _read(name)
    assert actual == expected[name], f"docs/{name} is out of date: {FIX}\n" + gen_docs.diff(name, actual, expected[name])


def _command(path):
    command = cli
    for name in path:
        command = command.get_command(click.Context(command), name)
    return command


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_documented(path):
    name = "ddx " + " ".join(path)
    assert re.search(rf"^#+ {re.escape(name)}$", _read("cli.md"), re.M), f"{name} is not in docs/cli.md: {FIX}"
    assert re.search(rf"`{re.escape(name)}\b", _read("user-guide.md")), f"{name} is not described in docs/user-guide.md"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_has_help_text(path):
    command = _command(path)
    assert (command.help or command.short_help or "").strip(), f"ddx {' '.join(path)} has no help text"


def test_there_are_commands_to_document():
    assert ("assess",) in COMMANDS and ("kb", "check") in COMMANDS and ("explain",) in COMMANDS


@pytest.mark.parametrize("needle", ["NO_COLOR", "not a medical device", "Exit codes", "--format", "ddx explain", "pip install"])
def test_user_guide_covers(needle):
    assert needle in _read("user-guide.md")


def test_the_column_reference_says_how_an_implying_finding_reads_beside_known_no():
    """features.md tells a reader what a bone pattern does beside each answer about the bone: with
    one finding it implies known no it stands for the others, and with all of them known no it is
    reported as disagreeing and counts only as which value it is."""
    section = _read("features.md").split("### bone_pattern", 1)[1].split("\n### ", 1)[0]
    assert "known no" in section and "disagree" in section


def test_user_guide_names_every_exit_code():
    text = _read("user-guide.md")
    for code in ("0", "1", "2", "130"):
        assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} is not in the user guide's table"


@pytest.mark.parametrize("needle", ["dural tail", "target sign", "dumbbell", "whole neuraxis", "known primary", "thoracic", "multiple"])
def test_tutorial_teaches(needle):
    assert needle in _read("tutorial.md").lower()


def test_the_tutorial_quotes_the_data_prior_of_a_metastasis_as_priors_csv_gives_it():
    """The output beside it is checked by its marker; the prior of priors.csv is not output."""
    from ddx.knowledge import default_knowledge

    quoted = re.search(r"Metastasis is (\d+) % of it in `priors.csv`", " ".join(_read("tutorial.md").split()))
    assert quoted, "the tutorial no longer quotes the data prior of a vertebral metastasis: update this test"
    assert int(quoted.group(1)) == round(100 * default_knowledge().priors["vertebral_metastasis"].probability)


def test_live_pages_run_real_output():
    for name in gen_docs.LIVE:
        assert gen_docs.markers(_read(name)), f"docs/{name} embeds no ddx output"


def _headings(text: str) -> set[str]:
    """GitHub's anchors of a page's headings (code blocks left out; repeats get -1, -2...)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        anchor = gen_docs._anchor(heading)
        anchors.add(anchor if anchor not in seen else f"{anchor}-{seen[anchor]}")
        seen[anchor] = seen.get(anchor, 0) + 1
    return anchors


@pytest.mark.parametrize("name", gen_docs.GENERATED + gen_docs.LIVE)
def test_links_between_pages_resolve(name):
    text = re.sub(r"^```.*?^```", "", _read(name), flags=re.M | re.S)
    for target, anchor in re.findall(r"\]\(([\w.-]*\.md|)(?:#([^)\s]+))?\)", text):
        page = target or name
        assert (DOCS / page).is_file(), f"docs/{name} links to docs/{page}, which does not exist"
        if anchor:
            assert anchor in _headings(_read(page)), f"docs/{name} links to {page}#{anchor}, which is not a heading there"


def test_a_stale_block_is_caught(tmp_path):
    """The check works: a hand-edited number in an embedded block differs from the regenerated page."""
    page = _read("tutorial.md")
    tampered = re.sub(r"(\d+)%", lambda m: f"{(int(m.group(1)) + 1) % 100}%", page, count=1)
    assert tampered != page
    assert gen_docs.fill_markers(tampered) == gen_docs.fill_markers(page)


@pytest.mark.parametrize("name", gen_docs.LIVE)
def test_the_commands_shown_run_from_the_repository_root(name):
    """A file a shown command reads (`< docs/examples/...`) or a page includes exists at that path from the repository root."""
    text = _read(name)
    shown = re.findall(r"^\$ ddx .*?< (\S+)$", text, re.M)
    included = re.findall(r"^<!-- include: (\S+) -->$", text, re.M)
    for path in shown + included:
        assert (ROOT / path).is_file(), f"docs/{name} shows {path}, which is not a file from the repository root"
    for command in gen_docs.markers(text):
        if " < " in command:
            assert f"$ ddx {command}\n" in text, f"docs/{name} does not show `ddx {command}` as it is run"
    if name == "user-guide.md":
        assert shown and included


def test_a_marker_reads_its_file_from_the_repository_root():
    block = gen_docs.fill_markers("<!-- ddx: quiz --seed 7 < docs/examples/quiz-answers.txt -->\n")
    assert "$ ddx quiz --seed 7 < docs/examples/quiz-answers.txt\n" in block and "Answer:" in block
    with pytest.raises(gen_docs.DocsError, match="relative to the repository root"):
        gen_docs.fill_markers("<!-- ddx: quiz --seed 7 < examples/quiz-answers.txt -->\n")


def test_the_python_examples_of_the_user_guide_run():
    """The `>>>` examples of the user guide's Python section give what they show."""
    import doctest

    result = doctest.testfile(str(DOCS / "user-guide.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5
    assert result.failed == 0


def test_features_md_gives_each_integer_range_as_a_reader_writes_it():
    """An integer finding without a max (segments: 1 or more) is described by its lower bound
    alone, never as a range to 'None'."""
    from ddx.knowledge import default_knowledge

    page = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert "None" not in page
    for feature in default_knowledge().features.values():
        if feature.kind == "integer":
            section = page[page.index(f"### {feature.id}\n"):]
            bound = f"from {feature.min} to {feature.max}" if feature.max is not None else f"{feature.min} or more"
            assert f"Whole number{' ' if feature.max is not None else ', '}{bound}." in section.split("###")[1], feature.id
