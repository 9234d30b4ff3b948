"""tools/import_evidence.py: how published ages, lengths and shares reach the tables."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from ddx.knowledge import COMPARTMENTS

TOOL = Path(__file__).resolve().parent.parent / "tools" / "import_evidence.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("import_evidence", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sweep_row(entity, feature, value, frequency, n, citation, use="yes", url=""):
    return {"entity": entity, "feature": feature, "value": value, "frequency": str(frequency), "n": str(n),
            "grade": "A", "citation": citation, "url": url, "note": "", "use": use, "why_not": ""}


def dossier_row(value, n, source):
    return {"scope": "overall", "grade": "A", "value": str(value), "frequency": str(value), "n": str(n), "source": source}


def test_published_means_and_medians_are_pooled_by_cases(tool):
    sweeps = [
        sweep_row("epidural_hematoma", "age_mean", "mean", 48, 900, "Smith J et al, Spine 2017 (n=900)"),
        sweep_row("epidural_hematoma", "age_median", "median", 68, 100, "Jones K et al, Neurology 2010 (n=100)"),
    ]
    centres = tool.published_centres(sweeps, {})
    assert centres[("epidural_hematoma", "age")] == pytest.approx((50.0, 1000.0))


def test_a_subgroup_set_aside_moves_nothing(tool):
    sweeps = [sweep_row("chordoma", "age_mean", "mean", 42, 55, "Zhang A et al, Radiology 2018 (n=55)", use="no")]
    assert tool.published_centres(sweeps, {}) == {}


def test_the_dossier_joins_a_new_series_but_counts_a_shared_one_once(tool):
    url = "https://pubmed.ncbi.nlm.nih.gov/1/"
    sweeps = [
        sweep_row("ependymoma", "age_mean", "mean", 40, 60, "Sun B et al, J Neuroimaging 2003 (n=60)", url=url),
        sweep_row("ependymoma", "age_mean", "mean", 30, 40, "Lee C et al, AJNR 2012 (n=40)"),
    ]
    dossier = {
        ("ependymoma", "mean_age"): [
            dossier_row(40, 60, f"Sun 2003 {url} | mean 40"),
            dossier_row(50, 100, "Kim 2014 https://example.org/2 | mean 50"),
        ],
        ("ependymoma", "mean_segments"): [dossier_row(3.5, 100, "Kim 2014 https://example.org/2 | mean 3.5")],
    }
    centres = tool.published_centres(sweeps, dossier)
    assert centres[("ependymoma", "age")] == pytest.approx(((40 * 60 + 30 * 40 + 50 * 100) / 200, 200.0))
    assert ("ependymoma", "segments") not in centres  # the dossier alone changes nothing


def test_a_series_a_sweep_set_aside_is_not_brought_back_by_the_dossier(tool):
    sweeps = [
        sweep_row("hemangioblastoma", "age_mean", "mean", 31.5, 19, "Roonprapunt C et al, Neurosurgery 2001 (n=19)", use="no"),
        sweep_row("hemangioblastoma", "age_median", "median", 30, 85, "Browne TR et al, Arch Neurol 1976 (n=85)"),
    ]
    dossier = {("hemangioblastoma", "mean_age"): [dossier_row(31.5, 19, "isolated intramedullary HB surgical series (n=19)")]}
    assert tool.published_centres(sweeps, dossier)[("hemangioblastoma", "age")] == (30.0, 85.0)


def test_a_published_mean_length_is_pooled_as_the_median_it_implies(tool):
    sweeps = [sweep_row("epidural_hematoma", "segments", "mean", 5.4, 254, "Soltani S et al, J Spine Neurosurg 2019 (n=254)")]
    centre, _ = tool.published_centres(sweeps, {})[("epidural_hematoma", "segments")]
    cdf = tool.length_cdf("epidural_hematoma", centre)
    assert cdf(centre) == pytest.approx(0.5)
    # the log-normal about that median has the published mean
    sd = tool.read_lengths()[0]
    assert centre * tool.math.exp(sd * sd / 2) == pytest.approx(5.4)


def test_odd_numbers_in_a_sweep_are_reported_not_a_crash(tool):
    sweeps = [
        sweep_row("lymphoma", "age_mean", "mean", "~40", 20, "A 2001 (n=20)"),
        sweep_row("lymphoma", "age_mean", "mean", 40, "20 (adults)", "B 2002"),
        sweep_row("lymphoma", "age_mean", "mean", 40, 0, "C 2003"),
    ]
    assert tool.published_centres(sweeps, {}) == {}
    assert len(tool.unmatched(sweeps, [])) == 3


@pytest.mark.parametrize(
    ("centre", "expected"),
    [(None, 60.0), ((48.0, 10.0), 60.0), ((48.0, 990.0), 48.1)],
    ids=["no series", "fewer than 20 cases", "a large series"],
)
def test_a_centre_moves_towards_the_published_one_as_a_share_does(tool, centre, expected):
    assert tool.recentred(60.0, centre) == expected


def test_rows_that_name_no_number_are_listed(tool):
    out = [("lymphoma", "segments", "2-3", 0.4, "DDX_ESTIMATE", "C")]
    sweeps = [
        sweep_row("lymphoma", "segments", "2-3", 0.5, 20, "A 2001 (n=20)"),
        sweep_row("lymphoma", "segments", "3-5", 0.7, 7, "B 2018 (n=7)"),
        sweep_row("lymphoma", "segments", "mean", 2.6, 8, "C 1995 (n=8)"),
        sweep_row("lymphoma", "segments", "1-2", 0.3, 7, "B 2018 (n=7)", use="no"),
    ]
    assert [r["value"] for r, _ in tool.unmatched(sweeps, out)] == ["3-5"]


def test_a_disc_extrusion_is_about_one_body_long(tool):
    bands = [[1, 1], [2, 3], [4, 6], [7, 1000]]
    disc = tool.band_probabilities(bands, tool.length_cdf("disc_extrusion", 1.0))
    metastasis = tool.band_probabilities(bands, tool.length_cdf("vertebral_metastasis", 1.0))
    assert disc[0] > 0.9 > metastasis[0]


def test_myeloma_is_a_mixture_of_one_body_and_most_of_the_spine(tool):
    bands = [[1, 1], [2, 3], [4, 6], [7, 1000]]
    myeloma = tool.band_probabilities(bands, tool.length_cdf("myeloma_plasmacytoma", 1.0))
    metastasis = tool.band_probabilities(bands, tool.length_cdf("vertebral_metastasis", 1.0))
    assert myeloma[3] > 0.25 > metastasis[3]


def test_a_dossier_count_for_a_band_stands_alone_while_one_for_a_share_waits_for_a_new_series(tool):
    out = [
        ("giant_cell_tumor", "segments", "1-1", 0.55, "DDX_ESTIMATE", "C"),
        ("giant_cell_tumor", "segments", "2-3", 0.45, "DDX_ESTIMATE", "C"),
        ("giant_cell_tumor", "cystic", "yes", 0.2, "DDX_ESTIMATE", "C"),
        ("giant_cell_tumor", "cystic", "no", 0.8, "DDX_ESTIMATE", "C"),
    ]
    dossier = [
        {**sweep_row("giant_cell_tumor", "segments", "1-1", 0.79, 43, "Xing Z et al, Spine 2015 (n=43)"), "dossier": "yes"},
        {**sweep_row("giant_cell_tumor", "cystic", "yes", 0.6, 50, "Xing Z et al, Spine 2015 (n=50)"), "dossier": "yes"},
    ]
    features = [{"id": "segments", "kind": "integer"}, {"id": "cystic", "kind": "yesno"}]
    table = {row[:3]: row[3] for row in tool.apply_literature(out, dossier, tool.Sources({}), features)}
    assert table[("giant_cell_tumor", "segments", "1-1")] == pytest.approx((0.79 * 43 + 0.55 * 10) / 53, abs=1e-4)
    assert table[("giant_cell_tumor", "segments", "2-3")] == pytest.approx(1 - table[("giant_cell_tumor", "segments", "1-1")], abs=1e-4)
    assert table[("giant_cell_tumor", "cystic", "yes")] == 0.2


def test_an_unnamed_dossier_source_with_the_same_centre_and_cases_is_counted_once(tool):
    sweeps = [
        sweep_row("epidural_abscess", "age_mean", "mean", 57.24, 1099, "Arko L et al, Neurosurg Focus 2014 (n=1099)"),
        sweep_row("epidural_abscess", "age_mean", "mean", 27.8, 13, "Tan LH et al, Chin J Radiol 2000 (n=13)"),
    ]
    dossier = {("epidural_abscess", "mean_age"): [dossier_row(57.2, 1099, "pooled review of 12 SEA series (n=1099) https://example.org/x")]}
    centre, cases = tool.published_centres(sweeps, dossier)[("epidural_abscess", "age")]
    assert cases == 1112


def test_an_estimated_conus_share_of_an_intradural_entity_is_at_least_its_lumbar_share(tool):
    out = []
    for entity, conus, grade in (("schwannoma", 0.4, "C"), ("paraganglioma", 0.5, "A"), ("disc_extrusion", 0.35, "C")):
        out += [
            (entity, "conus_cauda", "yes", conus, "X" if grade == "A" else "DDX_ESTIMATE", grade),
            (entity, "conus_cauda", "no", round(1 - conus, 4), "X" if grade == "A" else "DDX_ESTIMATE", grade),
            (entity, "level", "lumbar", 0.8, "Y", "A"),
        ]
    compartment = {"schwannoma": "intradural_extramedullary", "paraganglioma": "intradural_extramedullary", "disc_extrusion": "extradural"}
    table = {row[:3]: row[3] for row in tool.conus_at_least_lumbar(out, compartment)}
    assert table[("schwannoma", "conus_cauda", "yes")] == 0.8
    assert table[("schwannoma", "conus_cauda", "no")] == pytest.approx(0.2)
    assert table[("paraganglioma", "conus_cauda", "yes")] == 0.5  # a counted share stands
    assert table[("disc_extrusion", "conus_cauda", "yes")] == 0.35  # outside the dura the level says nothing of the roots


def test_a_year_in_a_journal_name_is_not_the_year_of_publication(tool):
    spine = "Kobayashi K, Ando K, Kato F et al, Spine (Phila Pa 1976) 2018;43:E525 (n=59)"
    assert tool.citation_key(spine) == "KOBAYASHI2018"
    dossier = {"citation": "Kobayashi et al, Spine 2018;43:E525 (WHO II cord ependymoma, n=59)", "url": "", "n": "59"}
    assert tool.same_study({"citation": spine, "url": "https://example.org/k", "n": "59"}, dossier)


def test_a_grade_b_review_does_not_keep_a_band_count_out(tool):
    out = [
        ("giant_cell_tumor", "segments", "1-1", 0.55, "DDX_ESTIMATE", "C"),
        ("giant_cell_tumor", "segments", "2-3", 0.45, "DDX_ESTIMATE", "C"),
    ]
    literature = [
        {**sweep_row("giant_cell_tumor", "segments", "1-1", 0.6, "", "A review, Radiopaedia 2020"), "grade": "B"},
        {**sweep_row("giant_cell_tumor", "segments", "1-1", 0.79, 43, "Xing Z et al, Spine 2015 (n=43)"), "dossier": "yes"},
    ]
    table = {row[:3]: row[3] for row in tool.apply_literature(out, literature, tool.Sources({}), [{"id": "segments", "kind": "integer"}])}
    assert table[("giant_cell_tumor", "segments", "1-1")] > 0.7


def test_spines_journal_name_is_skipped_however_it_is_punctuated(tool):
    assert tool.publication_year("Smith J et al, Spine (Phila. Pa. 1976) 2018;43:1") == "2018"


def test_an_issn_is_not_the_year_of_publication_but_a_span_of_years_is(tool):
    assert tool.publication_year("Ji, Yang & Cheng, Chinese journal (ISSN 2095-0616) 2013;(5):122-124") == "2013"
    assert tool.publication_year("Cavus G et al, spinal meningiomas treated 1995-2006 (n=40)") == "1995"


HAEMANGIOMA_TABLES = [
    ("hemangioma", "cord", "compressed", 0.07, "DDX_ESTIMATE", "C"),
    ("hemangioma", "cord", "normal", 0.93, "DDX_ESTIMATE", "C"),
    ("hemangioma", "fat", "yes", 0.79, "VH2023", "A"),
    ("hemangioma", "fat", "no", 0.21, "VH2023", "A"),
    ("hemangioma", "level", "thoracic", 0.45, "DDX_ESTIMATE", "C"),
    ("hemangioma", "level", "lumbar", 0.5, "DDX_ESTIMATE", "C"),
    ("hemangioma/symptomatic", "cord", "compressed", 0.34, "FOX1993", "A"),
    ("hemangioma/symptomatic", "cord", "normal", 0.66, "FOX1993", "A"),
    ("hemangioma/symptomatic", "fat", "yes", 0.79, "JI2013", "A"),  # a series that agrees changes nothing
    ("hemangioma/symptomatic", "fat", "no", 0.21, "JI2013", "A"),
    ("hemangioma/symptomatic", "level", "thoracic", 0.73, "ZHANG2021", "A"),
    ("hemangioma/symptomatic", "level", "lumbar", 0.14, "ZHANG2021", "A"),
]
HAEMANGIOMA_FEATURES = [{"id": "cord", "kind": "choice"}, {"id": "fat", "kind": "yesno"}, {"id": "level", "kind": "list"}]


def test_an_entity_with_a_subgroup_is_their_mixture_at_the_subgroups_share(tool):
    shares = {"hemangioma/symptomatic": (0.4, "FOX1993", "A")}
    rows = {row[:3]: row[3:] for row in tool.mixed(HAEMANGIOMA_TABLES, shares, HAEMANGIOMA_FEATURES)}
    assert all("/" not in entity for entity, _, _ in rows)  # the subgroup's own rows are not shipped
    # a mixed number cites its parts, graded as every number citing several sources is
    assert rows[("hemangioma", "cord", "compressed")] == (pytest.approx(0.6 * 0.07 + 0.4 * 0.34), "DDX_ESTIMATE;FOX1993", "A")
    assert rows[("hemangioma", "cord", "compressed")][0] + rows[("hemangioma", "cord", "normal")][0] == pytest.approx(1)
    assert rows[("hemangioma", "fat", "yes")] == (0.79, "VH2023", "A")  # what the subgroup leaves alone keeps its source
    assert rows[("hemangioma", "level", "lumbar")][0] == pytest.approx(0.6 * 0.5 + 0.4 * 0.14)
    assert rows[("hemangioma", "level", "thoracic")][0] == pytest.approx(0.6 * 0.45 + 0.4 * 0.73)


def test_a_subgroups_share_is_pooled_from_the_sweeps(tool):
    sweeps = [
        sweep_row("hemangioma/symptomatic", "subgroup_share", "share", 0.407, 59, "Fox MW, Onofrio BM, J Neurosurg 1993 (n=59)"),
        sweep_row("hemangioma/symptomatic", "subgroup_share", "share", 0.2, 41, "Other A et al, Spine 2001 (n=41)"),
        sweep_row("hemangioma/aggressive", "subgroup_share", "share", 0.9, 10, "Set B et al, AJNR 2005 (n=10)", use="no"),
        sweep_row("epidermoid_dermoid/intramedullary", "subgroup_share", "share", 0.25, 4, "Bysani P et al, J Neurol Stroke 2021 (n=4)"),
    ]
    shares = tool.subgroup_shares(sweeps, tool.Sources({}))
    assert list(shares) == ["hemangioma/symptomatic"]  # one set aside, one counted in 4 children
    share, keys, grade = shares["hemangioma/symptomatic"]
    assert share == pytest.approx((0.407 * 59 + 0.2 * 41) / 100)
    assert keys == "FOX1993;OTHER2001" and grade == "A"


def test_a_subgroup_without_a_share_is_reported_not_lost(tool):
    out = [("hemangioma", "cord", "compressed", 0.07, "DDX_ESTIMATE", "C")]
    sweeps = [sweep_row("hemangioma/aggressive", "cord", "compressed", 0.5, 16, "Cloran FJ et al, Br J Radiol 2015 (n=16)")]
    (row, why), = tool.unmatched(sweeps, out)
    assert row["entity"] == "hemangioma/aggressive" and "subgroup_share" in why


def test_a_subgroup_starts_from_its_entitys_final_numbers(tool):
    out = [
        ("schwannoma", "cystic", "yes", 0.48, "SMITH2020", "A"),
        ("schwannoma", "cystic", "no", 0.52, "SMITH2020", "A"),
        ("schwannoma", "age", "40-59", 0.5, "DDX_ESTIMATE", "C"),
        ("schwannoma", "age", "60-74", 0.5, "DDX_ESTIMATE", "C"),
    ]
    own_bands = [("schwannoma/x", "age", "40-59", 0.8, "DDX_ESTIMATE", "C"), ("schwannoma/x", "age", "60-74", 0.2, "DDX_ESTIMATE", "C")]
    sweeps = [sweep_row("schwannoma/x", "sex", "female", 0.9, 30, "Lee A et al, Spine 2019 (n=30)")]
    rows = tool.subgroup_tables("schwannoma/x", out, own_bands, sweeps, tool.Sources({}), [{"id": "cystic", "kind": "yesno"}])
    table = {row[:3]: row[3] for row in rows}
    assert table[("schwannoma/x", "cystic", "yes")] == 0.48  # nothing counted for the subgroup: the entity's number
    assert table[("schwannoma/x", "age", "40-59")] == 0.8  # its own centre, where it has one
    mixed = {row[:3]: row[3:] for row in tool.mixed(out + rows, {"schwannoma/x": (0.3, "LEE2019", "A")}, [])}
    assert mixed[("schwannoma", "cystic", "yes")] == (0.48, "SMITH2020", "A")
    assert mixed[("schwannoma", "age", "40-59")][0] == pytest.approx(0.7 * 0.5 + 0.3 * 0.8)


def test_a_number_a_subgroup_only_cites_differently_is_not_mixed(tool):
    out = [("myeloma_plasmacytoma", "level", "lumbar", 0.4, "DDX_ESTIMATE", "C"),
           ("myeloma_plasmacytoma/solitary", "level", "lumbar", 0.4, "TEST2022", "A")]
    mixed = tool.mixed(out, {"myeloma_plasmacytoma/solitary": (0.2, "SHARE2020", "A")}, [{"id": "level", "kind": "list"}])
    assert mixed == [("myeloma_plasmacytoma", "level", "lumbar", 0.4, "DDX_ESTIMATE", "C")]


def test_subgroup_shares_that_leave_the_entity_nothing_fail_loudly(tool):
    sweeps = [sweep_row("hemangioma/a", "subgroup_share", "share", 0.6, 50, "A B et al, Spine 2001 (n=50)"),
              sweep_row("hemangioma/b", "subgroup_share", "share", 0.5, 50, "C D et al, Spine 2002 (n=50)")]
    with pytest.raises(SystemExit, match="hemangioma"):
        tool.subgroup_shares(sweeps, tool.Sources({}))


def test_a_share_that_cannot_be_used_is_reported(tool):
    sweeps = [sweep_row("hemangioma", "subgroup_share", "share", 0.4, 59, "Fox MW et al, J Neurosurg 1993 (n=59)"),
              sweep_row("hemangioma/symptomatic", "subgroup_share", "share", 0.4, 59, "Fox MW et al, J Neurosurg 1993 (n=59)")]
    reported = tool.unmatched(sweeps, [], {"hemangioma/symptomatic": (0.4, "FOX1993", "A")})
    assert [r["entity"] for r, _ in reported] == ["hemangioma"]


def test_a_series_a_sweep_files_under_a_subgroup_does_not_return_through_the_dossier(tool):
    url = "https://example.org/zhou"
    out = [("hemangioma", "sex", "female", 0.63, "DDX_ESTIMATE", "C"), ("hemangioma", "sex", "male", 0.37, "DDX_ESTIMATE", "C")]
    literature = [
        sweep_row("hemangioma", "sex", "female", 0.7, 726, "Brochin R et al, MJMS 2016 (n=726)"),
        sweep_row("hemangioma/symptomatic", "sex", "female", 0.488, 340, "Zhou Z et al, World J Surg Oncol 2017 (n=340)", url=url),
        {**sweep_row("hemangioma", "sex", "female", 0.488, 340, "Zhou et al, World J Surg Oncol 2017", url=url), "dossier": "yes"},
    ]
    table = {row[:3]: row[3] for row in tool.apply_literature(out, literature, tool.Sources({}), [])}
    assert table[("hemangioma", "sex", "female")] == pytest.approx((0.7 * 726 + 0.63 * 10) / 736, abs=1e-4)
    sweeps = [sweep_row("hemangioma", "age_mean", "mean", 59.1, 726, "Brochin R et al, MJMS 2016 (n=726)"),
              sweep_row("hemangioma/symptomatic", "age_mean", "mean", 49.2, 340, "Zhou Z et al, World J Surg Oncol 2017", url=url)]
    dossier = {("hemangioma", "mean_age"): [dossier_row(49.2, 340, f"Zhou et al 2017 {url}")]}
    centres = tool.published_centres(sweeps, dossier)
    assert centres[("hemangioma", "age")] == pytest.approx((59.1, 726.0))
    assert centres[("hemangioma/symptomatic", "age")] == pytest.approx((49.2, 340.0))


EVIDENCE = TOOL.parent.parent.parent / "shared" / "evidence"


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_an_entity_and_a_finding_added_by_hand_survive_an_import(tool, tmp_path, monkeypatch, capsys):
    """Adding an entity or a finding is a change of data files only; a later import rebuilds
    the dossier's numbers but keeps what the dossier cannot make, and checks the result."""
    import shutil
    import tomllib

    from ddx.knowledge import load_knowledge

    folder = tmp_path / "knowledge"
    shutil.copytree(tool.OUT, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    # a new entity: demyelination's rows under a new id, with a prior of its own
    rows = [ln for ln in (folder / "likelihoods.csv").read_text(encoding="utf-8").splitlines() if ln.startswith("demyelination,")]
    with (folder / "likelihoods.csv").open("a", encoding="utf-8") as fh:
        fh.write("".join("zz_test_entity," + ",".join(ln.split(",")[1:4]) + ",MY_TEXTBOOK,C\n" for ln in rows))
        fh.write("zz_test_entity,zz_test_finding,yes,0.6,MY_TEXTBOOK,C\nzz_test_entity,zz_test_finding,no,0.4,MY_TEXTBOOK,C\n")
        fh.write("demyelination,zz_test_finding,yes,0.1,MY_TEXTBOOK,C\ndemyelination,zz_test_finding,no,0.9,MY_TEXTBOOK,C\n")
    with (folder / "priors.csv").open("a", encoding="utf-8") as fh:
        fh.write("zz_test_entity,0.01,MY_TEXTBOOK,C\n")
    with (folder / "sources.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[MY_TEXTBOOK]\ncitation = "A neuroradiology textbook, 2020 (expert estimate)"\nurl = ""\ngrade = "C"\n')
    entities = (folder / "entities.toml").read_text(encoding="utf-8")
    start = entities.index("[[entity]]", entities.index('id = "demyelination"') - 200)
    end = entities.find("[[entity]]", start + 1)
    block = entities[start:end if end > 0 else None].replace('id = "demyelination"', 'id = "zz_test_entity"')
    block = re.sub(r'name = "[^"]*"', 'name = "Neurozz_test_entity"', block, count=1)
    block = re.sub(r"aliases = \[[^\]]*\]", "aliases = []", block, count=1)
    (folder / "entities.toml").write_text(entities + "\n" + block, encoding="utf-8")
    with (folder / "features.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[feature]]\nid = "zz_test_finding"\nkind = "yesno"\nsection = "Signal and enhancement"\n'
                 'help = "zz_test_finding enhancement"\nquestion = "Is the enhancement zz_test_finding?"\n')
    expanded = next(float(ln.split(",")[3]) for ln in rows if ln.startswith("demyelination,cord,expanded,"))
    monkeypatch.setattr(tool, "OUT", folder)
    tool.main(EVIDENCE)  # the priors summed to 1.01 before: the import scales the dossier's to make room
    after = load_knowledge(folder)
    assert after.priors["zz_test_entity"].probability == pytest.approx(0.01)
    assert sum(n.probability for n in after.priors.values()) == pytest.approx(1, abs=1e-3)
    assert after.likelihood("zz_test_entity", "zz_test_finding", "yes").probability == 0.6
    assert after.likelihood("demyelination", "zz_test_finding", "no").probability == 0.9
    assert after.likelihood("zz_test_entity", "cord", "expanded").probability == expanded
    assert tomllib.loads((folder / "sources.toml").read_text(encoding="utf-8"))["MY_TEXTBOOK"]["grade"] == "C"
    err = capsys.readouterr().err
    assert "kept as it was (the dossier has no number for it): zz_test_entity prior" in err
    # the room made for the kept prior is one change, not one line per prior
    # the room is made within the entity's own compartment, whose weight is kept
    assert [ln for ln in err.splitlines() if ln.startswith("changed: ")] == [
        "changed: the intramedullary priors scaled by 0.9333 (room for the priors kept as they were)"]
    weights = {c: sum(after.priors[e.id].probability for e in after.entities if e.compartment == c) for c in COMPARTMENTS}
    assert weights == pytest.approx({"intramedullary": 0.15, "intradural_extramedullary": 0.25, "extradural": 0.60}, abs=1e-5)
    assert err.rstrip().endswith("is a valid knowledge base")


@pytest.fixture
def knowledge_copy(tool, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "knowledge"
    shutil.copytree(tool.OUT, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setattr(tool, "OUT", folder)
    return folder


def _append(path, text):
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_a_kept_row_citing_an_unknown_source_stops_the_import_before_anything_is_written(tool, knowledge_copy, capsys):
    folder = knowledge_copy
    _append(folder / "features.toml", '\n[[feature]]\nid = "zz_test_finding"\nkind = "yesno"\nsection = "x"\nhelp = "x"\nquestion = "x?"\n')
    _append(folder / "likelihoods.csv", "demyelination,zz_test_finding,yes,0.1,NOWHERE,C\ndemyelination,zz_test_finding,no,0.9,NOWHERE,C\n")
    before = {name: (folder / name).read_bytes() for name in ("likelihoods.csv", "priors.csv", "sources.toml")}
    with pytest.raises(SystemExit, match="nothing was written"):
        tool.main(EVIDENCE)
    assert "source 'NOWHERE' is cited by a kept row" in capsys.readouterr().err
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_kept_priors_that_leave_no_room_stop_the_import(tool, knowledge_copy, capsys):
    folder = knowledge_copy
    _append(folder / "priors.csv", "zz_test_entity,1.0,DDX_ESTIMATE,C\n")
    _append(folder / "entities.toml", '\n[[entity]]\nid = "zz_test_entity"\nname = "Neurozz_test_entity"\ncompartment = "intramedullary"\n'
                                      'dont_miss = false\n')
    before = (folder / "priors.csv").read_bytes()
    with pytest.raises(SystemExit, match="nothing was written"):
        tool.main(EVIDENCE)
    assert "leaving the dossier's entities of their compartment (intramedullary, weight 0.1500) nothing" in capsys.readouterr().err
    assert (folder / "priors.csv").read_bytes() == before


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_a_finding_the_dossier_calls_uninformative_for_an_entity_gets_no_number(tool, knowledge_copy, capsys):
    """The dossier spreads a bone pattern evenly over an ependymoma, meaning "uninformative": the
    import writes no number for it (the engine then reads it as not characteristic), and does
    not carry over the even fifths an older file still holds."""
    folder = knowledge_copy
    _append(folder / "likelihoods.csv", "".join(f"ependymoma,bone_pattern,{v},0.2,DDX_ESTIMATE,C\n"
                                                for v in ("lytic", "sclerotic", "mixed", "expansile", "coarse_trabeculae")))
    tool.main(EVIDENCE)
    written = (folder / "likelihoods.csv").read_text(encoding="utf-8")
    assert "ependymoma,bone_pattern," not in written and "schwannoma,bone_pattern," not in written
    assert "hemangioma,bone_pattern,coarse_trabeculae," in written
    assert "ependymoma bone_pattern" not in capsys.readouterr().err  # not kept as it was: it is gone


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_a_curators_cited_numbers_for_an_uninformative_finding_are_kept(tool, knowledge_copy, capsys):
    """Only the dossier's own even fifths are left out; a curator who cites a count keeps it."""
    folder = knowledge_copy
    rows = (("lytic", 0.7), ("sclerotic", 0.1), ("mixed", 0.1), ("expansile", 0.05), ("coarse_trabeculae", 0.05))
    _append(folder / "likelihoods.csv", "".join(f"leptomeningeal_metastases,bone_pattern,{v},{p},CHAMBERLAIN1995,A\n" for v, p in rows))
    tool.main(EVIDENCE)
    written = (folder / "likelihoods.csv").read_text(encoding="utf-8")
    assert "leptomeningeal_metastases,bone_pattern,lytic,0.7,CHAMBERLAIN1995,A" in written
    assert "kept as it was (the dossier has no number for it): leptomeningeal_metastases bone_pattern" in capsys.readouterr().err


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_a_hand_edit_of_a_dossier_number_is_rebuilt_and_said(tool, knowledge_copy, capsys):
    folder = knowledge_copy
    path = folder / "likelihoods.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("ependymoma,cord,expanded,"))
    cells = lines[at].split(",")
    original = cells[3]
    cells[3] = "0.5"
    lines[at] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tool.main(EVIDENCE)
    assert f"changed: ependymoma cord=expanded: 0.5 -> {float(original)}" in capsys.readouterr().err
    assert f"ependymoma,cord,expanded,{original}," in path.read_text(encoding="utf-8")


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_a_misspelt_id_of_a_kept_row_stops_the_import_at_its_line_rather_than_dropping_the_number(tool, knowledge_copy, capsys):
    folder = knowledge_copy
    _append(folder / "likelihoods.csv", "ependymomma,zz_test_finding,yes,0.1,DDX_ESTIMATE,C\n")
    _append(folder / "priors.csv", "ependymomma,0.01,DDX_ESTIMATE,C\n")
    before = {n: (folder / n).read_bytes() for n in ("likelihoods.csv", "priors.csv", "sources.toml")}
    lines = {n: len((folder / n).read_text(encoding="utf-8").splitlines()) for n in ("likelihoods.csv", "priors.csv")}
    with pytest.raises(SystemExit, match="nothing was written"):
        tool.main(EVIDENCE)
    err = capsys.readouterr().err
    for name in ("likelihoods.csv", "priors.csv"):
        assert f"{name} line {lines[name]}: 'ependymomma' is not in entities.toml; did you mean 'ependymoma'?" in err, err
    assert {n: (folder / n).read_bytes() for n in before} == before


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
def test_rows_of_a_finding_removed_from_features_are_dropped_and_listed(tool, knowledge_copy, capsys):
    folder = knowledge_copy
    _append(folder / "likelihoods.csv", "demyelination,zz_test_finding,yes,0.1,DDX_ESTIMATE,C\ndemyelination,zz_test_finding,no,0.9,DDX_ESTIMATE,C\n")
    tool.main(EVIDENCE)
    assert "dropped: demyelination zz_test_finding=yes: zz_test_finding is not in features.toml" in capsys.readouterr().err
    assert "zz_test_finding" not in (folder / "likelihoods.csv").read_text(encoding="utf-8")


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
@pytest.mark.parametrize("table, cited, source, grade, rows", [
    ("pictures.csv", "SEED_NERD;DDX_EXPERT", "MY_PICTURE_BOOK;DDX_EXPERT", "C", 1),  # one row, its grade kept
    ("locations.csv", "CONTI2004", "MY_SERIES", "A", -1),  # every row of the entity, so its source is the new one alone
])
def test_a_source_added_by_hand_for_a_hand_written_table_is_kept(tool, knowledge_copy, table, cited, source, grade, rows):
    """pictures.csv and locations.csv are written by hand: the sources they alone cite survive an import."""
    folder = knowledge_copy
    key = source.split(";")[0]
    _append(folder / "sources.toml", f'\n[{key}]\ncitation = "A series, 2021 (n=100)"\nurl = ""\ngrade = "{grade}"\n')
    path = folder / table
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(cited, source, rows), encoding="utf-8")
    tool.main(EVIDENCE)
    assert f"[{key}]" in (folder / "sources.toml").read_text(encoding="utf-8")


@pytest.mark.skipif(not EVIDENCE.is_dir(), reason="needs the evidence dossier beside the repository")
@pytest.mark.parametrize(
    "name, old, new, expected",
    [
        ("entities.toml", 'name = "Spinal cord ependymoma"', 'name = "Spinal cord ependymoma', "entities.toml:{line}: is not valid TOML"),
        ("features.toml", 'id = "scalloping"', "id = scalloping", "features.toml:{line}: is not valid TOML"),
        ("entities.toml", None, "", "entities.toml: defines no [[entity]]"),
        ("features.toml", None, "# emptied by mistake\n", "features.toml: defines no [[feature]]"),
        # the sources cited by hand are kept from sources.toml: a broken one is not read as empty
        ("sources.toml", 'grade = "C"', 'grade = "C', "sources.toml:{line}: is not valid TOML"),
    ],
)
def test_a_hand_written_file_that_cannot_be_read_stops_the_import_with_its_line_not_a_traceback(
        tool, knowledge_copy, capsys, name, old, new, expected):
    """entities.toml, features.toml and sources.toml are read by the importer itself before the
    loader checks anything: a TOML mistake or an emptied file stops it there, named, with nothing written."""
    folder = knowledge_copy
    text = (folder / name).read_text(encoding="utf-8")
    line = next((i for i, ln in enumerate(text.splitlines(), 1) if old and old in ln), None)
    (folder / name).write_text(text.replace(old, new, 1) if old else new, encoding="utf-8")
    before = {n: (folder / n).read_bytes() for n in ("likelihoods.csv", "priors.csv", "sources.toml")}
    with pytest.raises(SystemExit) as info:
        tool.main(EVIDENCE)
    message = str(info.value.code)
    assert f"{folder / name}" in message and expected.format(line=line) in message and "nothing was written" in message
    assert {n: (folder / n).read_bytes() for n in before} == before


def test_children_are_added_up_to_the_dossiers_share_where_the_normal_holds_fewer(tool):
    """A normal about 55 holds about one child in 170; the dossier gives leptomeningeal
    metastases one in ten: the bands under 18 then hold a tenth, spread over the childhood
    years alike. A normal that holds more children than the share is left as it is."""
    bands = [(0, 9), (10, 19), (20, 39), (40, 59), (60, 74), (75, 120)]
    cdf = tool.age_cdf(55, 15, 0.10)
    assert cdf(17.5) - cdf(-0.5) == pytest.approx(0.10, abs=1e-9)
    first, second = tool.band_probabilities(bands, cdf)[:2]
    assert first > 0.05 and second > 0.04
    young = tool.age_cdf(10, 12, 0.75)  # the normal cut at birth holds fewer than three in four
    assert young(17.5) == pytest.approx(0.75, abs=1e-9)
    held = tool.age_cdf(10, 12, 0.5)  # ... and more than one in two, so it is left as it is
    assert held(17.5) > 0.5 and held(-0.5) == 0


def test_a_child_with_drop_metastases_reads_them_first():
    """What the packaged tables, imported so, make of the classic paediatric picture."""
    import ddx

    a = ddx.assess(age="6", known_primary="yes", enhancement="leptomeningeal")
    assert a.candidates[0].id == "leptomeningeal_metastases" and a.candidates[0].probability > 0.5


def test_the_lengths_that_shape_the_segments_bands_are_data_with_their_reasons(tool):
    """tools/lengths.toml, not the importer's code, holds the mixtures and spreads of lesion
    length, each with why and its sources; the default spread applies to every other entity."""
    default, mixtures, spreads = tool.read_lengths()
    assert default == 0.8 and mixtures["demyelination"] == ((0.5, 1.5), (0.5, 5.0)) and spreads["disc_extrusion"] == 0.25
    wide = tool.length_cdf("disc_extrusion", 1.0)
    assert wide(1.5) > tool.length_cdf("ependymoma", 1.0)(1.5)  # a fragment rarely runs longer than its disc


@pytest.mark.parametrize("text, words", [
    ("[default]\nspread = 0.8\n[mixture.ependymoma]\nparts = [[0.5, 1.0], [0.4, 5.0]]\nwhy = 'w'\nsources = ['s']\n",
     "[mixture.ependymoma]: the weights sum to 0.9, not 1"),
    ("[default]\nspread = 0.8\n[spread.ependymoma]\nsd = -1\nwhy = 'w'\nsources = ['s']\n", "[spread.ependymoma]: -1 is not a spread"),
    ("[default]\nspread = 0.8\n[spread.ependymoma]\nsd = 25\nwhy = 'w'\nsources = ['s']\n", "[spread.ependymoma]: 25 is not a spread (a number above 0, at most 3)"),
    ("[default]\nspread = 0.8\n[mixture.ependymoma]\nparts = [[1.0, 500]]\nwhy = 'w'\nsources = ['s']\n", "500 is not a typical length"),
    ("[default]\nspread = 0.8\n[spread.ependymoma]\nsd = 0.3\n", "[spread.ependymoma]: say why (a text), and cite the sources"),
    ("[default]\nspread = 0.8\n[spread.ependymoma]\nsd = 0.3\nwhy = 3\nsources = 'a'\n", "[spread.ependymoma]: say why (a text)"),
    ("[default]\nspread = 'wide'\n", "[default]: 'wide' is not a spread"),
    ("[default\n", "is not valid TOML"),
])
def test_a_lengths_file_that_does_not_hold_together_stops_the_import(tool, tmp_path, text, words):
    path = tmp_path / "lengths.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        tool.read_lengths(path)
    assert str(path) in str(stop.value) and words in str(stop.value) and "nothing was written" in str(stop.value)


@pytest.mark.parametrize("text, words", [
    ("default = 0.8\n", "[default]: 0.8 is not a table"),
    ("[default]\nspread = 0.8\n[spread]\ndisc_extrusion = 0.25\n", "[spread.disc_extrusion]: 0.25 is not a table"),
    ("[default]\nspread = 0.8\n[mixtures.demyelination]\nparts = [[1.0, 2.0]]\n", "unknown field 'mixtures'; did you mean 'mixture'?"),
    ("[default]\nspread = 0.8\n[spread.disc_extruson]\nsd = 0.25\nwhy = 'w'\nsources = ['s']\n",
     "'disc_extruson' is not an entity of entities.toml; did you mean 'disc_extrusion'?"),
    ("[default]\nspread = 0.8\n[spread.disc_extrusion]\nsd = 0.25\nsd_log = 1\nwhy = 'w'\nsources = ['s']\n",
     "[spread.disc_extrusion]: unknown field 'sd_log'"),
])
def test_a_lengths_file_with_a_misspelt_or_misplaced_name_stops_the_import(tool, tmp_path, text, words):
    """A name the importer would not read is an error, not a silent fall back to the default
    spread (which would write other bands)."""
    path = tmp_path / "lengths.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        tool.read_lengths(path)
    assert words in str(stop.value) and "nothing was written" in str(stop.value)
