"""Knowledge cards and vocabulary listings: complete, cited, and consistent with the engine."""

import math
from importlib import resources

import pytest
from click.testing import CliRunner

import ddx
from ddx.cards import (
    build_card,
    card_record,
    entity_rows,
    feature_rows,
    finding_values,
    pulls,
    source_keys,
)
from ddx.cli import cli
from ddx.knowledge import SUM_TOLERANCE, default_knowledge

KB = default_knowledge()
ENTITY_IDS = KB.entity_ids


def _cell(feature, label):
    """The text a reader would type for one single answer of a finding."""
    if feature.kind == "integer":
        return label.rstrip("+").split("-")[0]
    return label


@pytest.mark.parametrize("entity_id", ENTITY_IDS)
def test_every_number_of_an_entity_is_listed_under_each_of_its_sources(kb, entity_id):
    card = build_card(kb, entity_id)
    located = kb.locations.get(entity_id, {})
    given = 1 + sum(1 for (e, _, _) in kb.likelihoods if e == entity_id)
    assert card.number_count == given + len(located)
    assert any(c.numbers for c in card.cited), f"{entity_id}: no citation behind its numbers"

    def number(feature, value):
        if feature == "data_prior":
            return kb.priors[entity_id]
        if feature == "location":
            return located[value]
        return kb.likelihood(entity_id, feature, value)

    listed = {}
    for c in card.cited:
        assert c.key in kb.sources
        assert c.citation == kb.sources[c.key].citation
        for feature, value, p in c.numbers:
            n = number(feature, value)
            assert c.key in source_keys(n) and n.probability == p
            listed.setdefault((feature, value), set()).add(c.key)
    assert len(listed) == given + len(located)
    for (feature, value), keys in listed.items():
        assert keys == set(source_keys(number(feature, value)))


@pytest.mark.parametrize("entity_id", ENTITY_IDS)
def test_card_ratio_is_the_ratio_assess_reports(kb, entity_id):
    """A card's likelihood ratio for a finding is the one `ddx assess` shows for it alone."""
    card = build_card(kb, entity_id, top=3)
    for pull in card.favour + card.against:
        feature = kb.features[pull.feature]
        result = ddx.assess({pull.feature: _cell(feature, pull.value)})
        candidate = result.candidate(entity_id)
        reasons = candidate.reasons_for + candidate.reasons_against
        (reason,) = [r for r in reasons if r.feature == pull.feature]
        assert math.isclose(reason.ratio, pull.ratio, rel_tol=1e-9)


@pytest.mark.parametrize("entity_id", ENTITY_IDS)
def test_card_lists_the_strongest_findings_each_way(kb, entity_id):
    card = build_card(kb, entity_id, top=4)
    threshold = kb.settings.reason_min_ratio
    assert len(card.favour) <= 4 and len(card.against) <= 4
    assert all(p.ratio >= threshold for p in card.favour)
    assert all(p.ratio <= 1 / threshold for p in card.against)
    assert [p.ratio for p in card.favour] == sorted((p.ratio for p in card.favour), reverse=True)
    assert [p.ratio for p in card.against] == sorted(p.ratio for p in card.against)
    every = pulls(kb, entity_id)
    if card.favour:
        assert card.favour[0].ratio == max(p.ratio for p in every)
    if card.against:
        assert card.against[0].ratio == min(p.ratio for p in every)


def test_finding_values_cover_every_outcome(kb):
    for feature in kb.features.values():
        labels = [label for label, _ in finding_values(feature)]
        assert set(feature.outcomes) <= set(labels)


def test_card_record_is_complete(kb):
    record = card_record(build_card(kb, "leptomeningeal_metastases"), kb)
    assert record["dont_miss"] is True and record["action"]
    assert record["compartment"] == "intradural_extramedullary"
    assert {"typical", "summary", "next_step", "why", "profile", "for", "against", "sources", "prior"} <= record.keys()
    assert all(s["citation"] for s in record["sources"])
    assert {p["feature"] for p in record["profile"]} >= {"age", "sex", "level"}


def test_every_source_is_used_by_some_card_and_resolves(kb):
    cited = {c.key for e in kb.entities for c in build_card(kb, e.id).cited}
    assert cited == set(kb.sources), "unused or unknown source keys"
    for source in kb.sources.values():
        assert source.citation.strip()
        assert source.url == "" or source.url.startswith(("http://", "https://")), source.key


# -- one matcher for every name a reader types ---------------------------------


def test_explain_says_a_compartment_is_one():
    result = CliRunner().invoke(cli, ["explain", "extradural"])
    assert result.exit_code == 2
    assert "'extradural' is a compartment, not a known entity" in result.output
    assert "meningioma" not in result.output


def test_explain_points_a_syndrome_to_its_entity():
    result = CliRunner().invoke(cli, ["explain", "VHL"])
    assert result.exit_code == 2
    assert "'hemangioblastoma'" in result.output and "'hemangioma'" not in result.output


def test_explain_takes_a_word_that_fits_one_entity():
    result = CliRunner().invoke(cli, ["explain", "abscess", "--no-sources"])
    assert result.exit_code == 0, result.output
    assert "(epidural_abscess)" in result.output.splitlines()[0]
    result = CliRunner().invoke(cli, ["explain", "glioma"])
    assert result.exit_code == 2
    assert "did you mean 'astrocytoma' or 'ganglioglioma'?" in result.output


def test_cards_and_listings_carry_the_aliases(kb):
    assert card_record(build_card(kb, "mpnst"), kb)["aliases"] == list(kb.entity("mpnst").aliases)
    assert entity_rows(kb)[0]["aliases"] == list(kb.entities[0].aliases)


def test_listings_cover_the_vocabulary(kb):
    rows = entity_rows(kb)
    assert [r["id"] for r in rows] == list(kb.entity_ids)
    assert abs(sum(r["data_prior"] for r in rows) - 1) <= SUM_TOLERANCE
    assert abs(sum(r["prior"] for r in rows) - 1) <= 1e-4
    features = feature_rows(kb.features)
    assert [r["column"] for r in features] == list(kb.features)
    for r in features:
        assert r["help"] and r["option"] == "--" + r["column"].replace("_", "-")
        if r["kind"] == "integer":
            assert r["max"] is None or r["min"] < r["max"]
        else:
            assert len(r["values"]) >= 2


# --- the knowledge-base check on a broken copy -----------------------------


@pytest.fixture
def kb_copy(tmp_path):
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for item in resources.files("ddx.knowledge").iterdir():
        if item.name.endswith((".toml", ".csv")):
            (folder / item.name).write_bytes(item.read_bytes())
    return folder


def test_kb_check_passes_on_an_intact_copy(kb_copy):
    result = CliRunner().invoke(cli, ["kb", "check", str(kb_copy)])
    assert result.exit_code == 0, result.output
    assert "knowledge base OK" in result.output


def test_kb_check_reports_an_unused_source(kb_copy):
    with (kb_copy / "sources.toml").open("a", encoding="utf-8") as f:
        f.write('\n[NEVER_CITED]\ncitation = "a source no number uses"\n')
    result = CliRunner().invoke(cli, ["kb", "check", str(kb_copy)])
    assert result.exit_code == 2
    assert "[NEVER_CITED] is not cited by any number or entity" in result.output


def test_kb_check_reports_a_number_citing_an_unknown_source(kb_copy):
    path = kb_copy / "likelihoods.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("meningioma,dural_tail,yes,"))
    cells = lines[row].split(",")
    cells[4] = "NO_SUCH_SOURCE"
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["kb", "check", str(kb_copy)])
    assert result.exit_code == 2
    assert f"likelihoods.csv:{row + 1}: source 'NO_SUCH_SOURCE' is not in sources.toml" in result.output


@pytest.mark.parametrize("entity", ["schwannoma", "ganglioglioma", "vertebral_metastasis"])
def test_the_markdown_card_gives_the_prior_as_the_table_does(entity):
    """Both cards quote the model prior and the data prior as percentages, the same figures."""
    import re

    from ddx.cards import render_card_markdown, render_card_table

    kb = default_knowledge()
    card = build_card(kb, entity)
    table = re.search(r"prior ([\d.<]+%) \(data ([\d.]+%):", render_card_table(card, kb))
    markdown = re.search(r"\*\*prior:\*\* ([\d.<]+%) \(what the model starts from; data ([\d.]+%):", render_card_markdown(card, kb))
    assert table and markdown and table.groups() == markdown.groups()


@pytest.mark.parametrize("width", [60, 80])
def test_a_card_at_a_terminal_fits_its_width_but_for_an_address(width):
    """`ddx explain` at a terminal narrower than the card's 96 columns: every line fits, the
    profile and the finding tables too; only a source's address, never broken, may be longer."""
    import re

    from ddx.cards import render_card_table

    kb = default_knowledge()
    for e in kb.entities:
        for sources in (True, False):
            text = render_card_table(build_card(kb, e.id), kb, color=True, sources=sources, width=width)
            long = [line for line in (re.sub(r"\x1b\[[0-9;]*m", "", x) for x in text.splitlines()) if len(line) > width]
            assert all(line.lstrip().startswith("http") for line in long), (e.id, long[:2])


def test_a_card_keeps_its_96_columns_on_a_wide_terminal_and_in_a_pipe():
    from ddx.cards import render_card_table

    kb = default_knowledge()
    card = build_card(kb, "meningioma")
    assert render_card_table(card, kb, width=200) == render_card_table(card, kb, width=96)
    piped = render_card_table(card, kb)
    assert any(len(line) > 96 and not line.lstrip().startswith("http") for line in piped.splitlines())


@pytest.mark.parametrize("width", [None, 60, 72, 80])
def test_a_card_never_breaks_a_word_at_its_hyphen(width):
    """The card's prose wraps between words, as every other view does: an option to type
    (--no-sources) or a compound (Foix-Alajouanine, MYCN-amplified) is never split after its
    hyphen."""
    import re

    from ddx.cards import render_card_table

    def words(text):
        return {w.strip(",.;:()'") for w in text.split()}

    kb = default_knowledge()
    for e in kb.entities:
        prose = " ".join([e.why, e.action or "", e.typical, e.summary, e.next_step, ", ".join(e.aliases)])
        hyphenated = {w for w in words(prose) if re.fullmatch(r"\w[\w-]*\w-\w[\w-]*", w)}
        for sources in (True, False):
            shown = words(render_card_table(build_card(kb, e.id), kb, sources=sources, width=width))
            assert hyphenated <= shown, (e.id, sorted(hyphenated - shown)[:3])
            assert sources or "--no-sources" in shown, e.id


@pytest.mark.parametrize("width", [12, 20, 26, 40])
def test_a_number_breaks_its_sources_between_keys(width):
    """The numbers' column of a card at a terminal breaks a list of source keys after a '+' or at
    a space: nothing is lost, and a key is split only when it alone is wider than the column."""
    from ddx.cards import _break_sources

    kb = default_knowledge()
    texts = {f"{n.probability} ({n.source.replace(';', '+')}, {n.grade})" for n in kb.likelihoods.values()}
    for text in sorted(texts)[:400]:
        lines = _break_sources(text, width).split("\n")
        assert max(len(line) for line in lines) <= width, (text, lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for key in text[text.index("(") + 1:text.rindex(",")].split("+"):
            if len(key) + 1 < width:
                assert any(key in line for line in lines), (key, lines)


#: How the cards' prose writes a share ('in about two thirds', 'in about 70%').
SHARE_WORDS = {
    "a fifth": 0.2,
    "one in five": 0.2,
    "a quarter": 0.25,
    "a third": 1 / 3,
    "half": 0.5,
    "two thirds": 2 / 3,
    "three in four": 0.75,
    "four cases out of five": 0.8,
}
REGION_WORDS = {"sacrum": "sacral", "sacral": "sacral", "cervical": "cervical", "thoracic": "thoracic", "lumbar": "lumbar"}


def _prose_shares(typical):
    """Each (level, share) a card's typical patient states: 'thoracic spine in about 70%'."""
    import re

    pattern = r"\b(sacrum|sacral|cervical|thoracic|lumbar)\b(?: spine| cord)? in about (\d+%|" + "|".join(SHARE_WORDS) + ")"
    for region, share in re.findall(pattern, typical):
        yield REGION_WORDS[region], int(share[:-1]) / 100 if share.endswith("%") else SHARE_WORDS[share]


@pytest.mark.parametrize("entity_id", ENTITY_IDS)
def test_a_level_share_in_the_prose_is_the_one_the_card_shows(entity_id):
    """'thoracic spine in about 70%' beside 'thoracic 59%' on the same card contradicts itself:
    a share the typical patient states is the card's own level number, to five points."""
    entity = KB.entity(entity_id)
    stated = list(_prose_shares(entity.typical))
    if not stated:
        return  # nothing to compare (an entity may have no level numbers at all)
    result = CliRunner().invoke(cli, ["explain", entity_id, "--no-sources", "--no-color"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    line = next((t for t in result.stdout.splitlines() if t.strip().startswith("level (how often each is present):")), None)
    assert line is not None, f"{entity_id}: the typical patient states a level share, and the card shows no level numbers"
    shown = {k: float(v.rstrip("%").lstrip("<")) / 100 for k, v in (p.split() for p in line.split(":", 1)[1].split("·"))}
    for region, share in stated:
        assert abs(shown[region] - share) <= 0.05, f"{entity_id}: prose says {region} in about {share:.0%}, the card shows {shown[region]:.0%}"


@pytest.mark.parametrize("entity", ["hemangioblastoma", "astrocytoma", "demyelination", "ependymoma"])
def test_a_cord_tumours_card_weighs_the_position_in_the_cord_against_the_other_cord_lesions(kb, entity):
    """Against every entity, central and eccentric would both favour a cord tumour (both say the
    mass is in the cord); the card compares a position with the other intramedullary entities,
    so the two positions pull opposite ways and say against whom."""
    from ddx.cards import pulls

    position = {p.value: p for p in pulls(kb, entity) if p.feature == "cord_position"}
    assert (position["central"].ratio > 1) != (position["eccentric"].ratio > 1), entity
    assert all(p.among == "intramedullary" for p in position.values())


def test_a_profile_shows_the_table_numbers_rounded_not_cut(kb):
    """Five eighths and three eighths read 62.5% and 37.5%, not the 62% and 37% that cutting
    gives (which looked like shares that do not add up)."""
    from ddx.cards import _share

    assert [_share(p) for p in (0.625, 0.375, 0.25, 0.0012, 0.0004, 0.0)] == ["62.5%", "37.5%", "25%", "0.1%", "<0.1%", "0%"]
