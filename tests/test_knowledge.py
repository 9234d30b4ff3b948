"""The packaged knowledge base: the entities of diagnoses.md, cited numbers, and a loader that reports every problem."""

from __future__ import annotations

import itertools
import math
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest

from ddx.knowledge import entities
from click.testing import CliRunner

from ddx.cli import cli
from ddx.engine import finding_vector
from ddx.errors import KnowledgeError
from ddx.knowledge import default_knowledge, load_knowledge
from ddx.knowledge.review import picture_misfits
from ddx.knowledge.weights import smoothed

IM, IDEM, ED = "intramedullary", "intradural_extramedullary", "extradural"

# The tables of ../shared/spec/diagnoses.md, copied by hand: id -> (compartment, don't-miss, mimic).
DIAGNOSES: dict[str, tuple[str, bool, bool]] = {
    "ependymoma": (IM, False, False),
    "astrocytoma": (IM, False, False),
    "hemangioblastoma": (IM, False, False),
    "intramedullary_metastasis": (IM, True, False),
    "ganglioglioma": (IM, False, False),
    "cavernous_malformation": (IM, False, True),
    "demyelination": (IM, False, True),
    "dural_av_fistula": (IM, True, True),
    "meningioma": (IDEM, False, False),
    "schwannoma": (IDEM, False, False),
    "neurofibroma": (IDEM, False, False),
    "mpnst": (IDEM, True, False),
    "myxopapillary_ependymoma": (IDEM, False, False),
    "paraganglioma": (IDEM, False, False),
    "leptomeningeal_metastases": (IDEM, True, False),
    "solitary_fibrous_tumor": (IDEM, False, False),
    "epidermoid_dermoid": (IDEM, False, False),
    "arachnoid_cyst": (IDEM, False, True),
    "vertebral_metastasis": (ED, True, False),
    "myeloma_plasmacytoma": (ED, False, False),
    "lymphoma": (ED, True, False),
    "hemangioma": (ED, False, False),
    "chordoma": (ED, False, False),
    "chondrosarcoma": (ED, False, False),
    "giant_cell_tumor": (ED, False, False),
    "aneurysmal_bone_cyst": (ED, False, False),
    "osteoid_osteoma_osteoblastoma": (ED, False, False),
    "ewing_sarcoma": (ED, False, False),
    "osteosarcoma": (ED, False, False),
    "langerhans_cell_histiocytosis": (ED, False, False),
    "epidural_abscess": (ED, True, True),
    "epidural_hematoma": (ED, True, True),
    "disc_extrusion": (ED, False, True),
}
# design.md: every entity gives an explicit probability for every value of these.
COMPARTMENT_SIGNS = ("cord", "csf", "csf_cap", "dural_sac_displaced", "foraminal_extension", "enhancement", "multiplicity")
KB_FILES = ("features.toml", "entities.toml", "sources.toml", "priors.csv", "likelihoods.csv", "pictures.csv", "locations.csv", "model.toml", "flags.toml",
            "disagreements.toml")
SUM_TOLERANCE = 1e-3  # the tables are written to three or four decimals


class TestPackagedKnowledge:
    def test_loads_from_the_installed_package(self):
        """The packaged knowledge base loads through importlib.resources and validates."""
        kb = load_knowledge()
        assert len(kb.entities) >= len(DIAGNOSES)

    def test_every_file_ships_with_the_package(self):
        """Every knowledge file is package data, reachable without the source tree."""
        folder = resources.files("ddx.knowledge")
        for name in KB_FILES:
            assert folder.joinpath(name).is_file(), name

    def test_default_knowledge_is_loaded_once(self):
        """default_knowledge() returns the same validated object every time."""
        assert default_knowledge() is default_knowledge()

    def test_entity_ids_are_unique(self, kb):
        """No entity id appears twice."""
        assert len(set(kb.entity_ids)) == len(kb.entity_ids)


class TestDiagnoses:
    @pytest.mark.parametrize("entity_id", sorted(DIAGNOSES))
    def test_every_diagnosis_is_a_candidate(self, kb, entity_id):
        """Every id of diagnoses.md is an entity, in its compartment, with its don't-miss and mimic status."""
        compartment, dont_miss, mimic = DIAGNOSES[entity_id]
        entity = kb.entity(entity_id)
        assert entity.compartment == compartment
        assert entity.dont_miss is dont_miss
        assert entity.mimic is mimic
        assert entity.name

    def test_every_dont_miss_entity_says_what_to_do(self, kb):
        """A don't-miss entity carries a reason and a next step for its flag."""
        for entity in kb.entities:
            if entity.dont_miss:
                assert entity.action.strip(), entity.id
                assert entity.why.strip(), entity.id

    def test_haematoma_reverses_anticoagulation_only_when_there_is_some(self, kb):
        """The haematoma flag fires whatever is known of anticoagulants: it says to check first,
        as the card's next step does, and the cord-compression emergency says so per cause."""
        haematoma = kb.entity("epidural_hematoma")
        for text in (haematoma.action, haematoma.next_step):
            assert "anticoagulant use and clotting" in text.lower()
            assert "reverse anticoagulation if the patient is anticoagulated" in text
        compression = next(r for r in kb.rules if r.id == "cord_compression")
        assert "a haematoma, check clotting and reverse any anticoagulation" in compression.action

    def test_card_texts_speak_to_a_trainee_not_of_the_project_spec(self, kb):
        """A trainee reading a card has never seen ddx's spec: a text does not lean on it."""
        for entity in kb.entities:
            for field in ("why", "action", "typical", "summary", "next_step"):
                assert "the spec" not in getattr(entity, field), (entity.id, field)

    def test_a_card_that_is_no_dont_miss_says_so_plainly(self, kb):
        for entity in kb.entities:
            if not entity.dont_miss:
                assert entity.why.startswith(("Not a don't-miss", "Not on ddx's don't-miss list")), entity.id

    @pytest.mark.parametrize(("entity_id", "syndrome"), [("hemangioblastoma", "vhl"), ("schwannoma", "nf2"), ("neurofibroma", "nf1")])
    def test_syndrome_associations(self, kb, entity_id, syndrome):
        """The associations diagnoses.md names are recorded on the entity."""
        assert syndrome in kb.entity(entity_id).associations

    def test_leptomeningeal_action_images_the_whole_neuraxis(self, kb):
        """The drop-metastasis next step is post-contrast imaging of the whole neuraxis."""
        assert "neuraxis" in kb.entity("leptomeningeal_metastases").action.lower()


class TestNumbers:
    def test_every_number_has_a_source_that_resolves_and_a_grade(self, kb):
        """Every prior and likelihood cites a source in sources.toml and is graded A, B or C."""
        numbers = list(kb.priors.items()) + list(kb.likelihoods.items())
        assert numbers
        for key, number in numbers:
            assert number.source_keys and all(k in kb.sources for k in number.source_keys), key
            assert number.grade in ("A", "B", "C"), key
            assert all(kb.sources[k].citation for k in number.source_keys), key

    def test_every_entity_source_resolves(self, kb):
        """The sources an entity lists are all in sources.toml."""
        for entity in kb.entities:
            for key in entity.sources:
                assert key in kb.sources, (entity.id, key)

    def test_probabilities_are_strictly_between_0_and_1(self, kb):
        """No prior or likelihood is 0 or 1: no single finding may veto or force an answer."""
        for key, number in list(kb.priors.items()) + list(kb.likelihoods.items()):
            assert 0 < number.probability < 1, key

    def test_every_entity_has_a_prior_and_they_sum_to_1(self, kb):
        """Each entity has one prior and the priors sum to 1."""
        assert set(kb.priors) == set(kb.entity_ids)
        assert math.isclose(math.fsum(n.probability for n in kb.priors.values()), 1, abs_tol=SUM_TOLERANCE)

    def test_each_findings_values_sum_to_1_per_entity(self, kb):
        """For every entity, the values of a single-valued finding it gives numbers for sum to 1."""
        checked = 0
        for entity_id in kb.entity_ids:
            for feature in kb.features.values():
                if feature.kind == "list":
                    continue
                given = [kb.likelihood(entity_id, feature.id, o) for o in feature.outcomes]
                if not any(given):
                    continue
                assert all(given), (entity_id, feature.id, "some values have no number")
                total = math.fsum(n.probability for n in given)
                assert math.isclose(total, 1, abs_tol=SUM_TOLERANCE), (entity_id, feature.id, total)
                checked += 1
        assert checked >= len(kb.entities) * len(COMPARTMENT_SIGNS)

    @pytest.mark.parametrize("feature_id", COMPARTMENT_SIGNS)
    def test_compartment_signs_are_covered_for_every_entity(self, kb, feature_id):
        """Every entity gives an explicit probability for every value of each compartment sign."""
        feature = kb.features[feature_id]
        for entity_id in kb.entity_ids:
            for outcome in feature.outcomes:
                assert kb.likelihood(entity_id, feature_id, outcome) is not None, (entity_id, feature_id, outcome)

    def test_log_tables_are_finite(self, kb):
        """The precomputed log tables hold finite numbers, one per entity."""
        assert all(math.isfinite(x) for x in kb.log_prior)
        for key, row in kb.log_tables.items():
            assert len(row) == len(kb.entities), key
            assert all(math.isfinite(x) and x <= 0 for x in row), key


class TestSmoothing:
    """Every likelihood is shrunk towards its value's rate across all lesions (model.toml)."""

    def test_a_base_rate_is_the_prior_weighted_rate(self, kb):
        """The base rate of a value every entity gives is the mean of their numbers under the model's prior."""
        for value in kb.features["cord"].outcomes:
            rates = [kb.likelihood(e, "cord", value).probability for e in kb.entity_ids]
            assert kb.base_rates[("cord", value)] == pytest.approx(math.fsum(w * p for w, p in zip(kb.prior, rates)))
        for value in kb.features["t2_signal"].outcomes:
            assert 0 < kb.base_rates[("t2_signal", value)] < 1
        assert math.fsum(kb.base_rates[("t2_signal", v)] for v in kb.features["t2_signal"].outcomes) == pytest.approx(1)

    def test_the_tables_hold_the_shrunk_numbers(self, kb):
        """What a target sign adds is the log of its number shrunk towards its base rate, weighted and tempered."""
        s, c = kb.settings.smoothing, kb.settings.clamp
        base = kb.base_rates[("target_sign", "yes")]
        for entity in ("neurofibroma", "vertebral_metastasis"):
            shrunk = smoothed(kb.likelihood(entity, "target_sign", "yes").probability, base, s, c)
            added = kb.log_tables[("target_sign", "yes")][kb.entity_ids.index(entity)]
            assert added == pytest.approx(kb.scale("target_sign") * math.log(shrunk), abs=1e-9)

    def test_a_rare_sign_stays_rare(self, kb):
        """A sign an entity shows in 1% of cases is not read as several times that: shrinking towards
        a uniform 50% would add 2.5% to every entity and take most of what a rare sign says."""
        number = kb.likelihood("vertebral_metastasis", "target_sign", "yes").probability
        assert number <= 0.01
        read = math.exp(kb.log_tables[("target_sign", "yes")][kb.entity_ids.index("vertebral_metastasis")]
                        / kb.scale("target_sign"))
        assert read < 1.5 * number
        assert read >= number * (1 - kb.settings.smoothing)


# -- a broken copy -----------------------------------------------------------


class TestLevel:
    """A lesion lies somewhere: its regions are yes/no findings given at least one."""

    def sets(self, kb):
        regions = kb.features["level"].outcomes
        return [tuple(r for r, on in zip(regions, mask) if on) for mask in itertools.product((True, False), repeat=len(regions)) if any(mask)]

    def test_the_non_empty_sets_of_regions_hold_the_same_total_for_every_entity(self, kb):
        unscale = 1 / kb.scale("level")
        totals = [0.0] * len(kb.entities)
        for regions in self.sets(kb):
            vector = finding_vector(kb, kb.features["level"], regions)
            totals = [t + math.exp(x * unscale) for t, x in zip(totals, vector)]
        # the same for every entity, so it cancels: "no region at all" takes nothing
        assert max(totals) == pytest.approx(min(totals), rel=1e-6)

    def test_one_region_of_a_spread_out_entity_is_weighed_against_somewhere_not_anywhere(self, kb):
        unscale = 1 / kb.scale("level")
        i, j = kb.entity_ids.index("schwannoma"), kb.entity_ids.index("arachnoid_cyst")
        vector = finding_vector(kb, kb.features["level"], ("thoracic",))
        ratio = math.exp((vector[i] - vector[j]) * unscale)

        def given_somewhere(entity):
            s, c = kb.settings.smoothing, kb.settings.clamp
            p = {r: smoothed(kb.likelihoods[(entity, "level", r)].probability, kb.base_rates[("level", r)], s, c)
                 for r in kb.features["level"].outcomes}
            alone = p["thoracic"] * math.prod(1 - q for r, q in p.items() if r != "thoracic")
            return alone / (1 - math.prod(1 - q for q in p.values()))

        assert ratio == pytest.approx(given_somewhere("schwannoma") / given_somewhere("arachnoid_cyst"), rel=1e-6)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    source = resources.files("ddx.knowledge")
    for name in KB_FILES:
        (folder / name).write_text(source.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _line_of(lines: list[str], prefix: str) -> int:
    """The 1-based number of the first line starting with prefix."""
    for i, line in enumerate(lines, 1):
        if line.startswith(prefix):
            return i
    raise AssertionError(f"no line starts with {prefix!r}")


def _table_line(text: str, inside: str) -> int:
    """The 1-based line of the [[...]] header of the TOML table holding the line ``inside``."""
    lines = text.splitlines()
    at = lines.index(inside)
    return max(i for i in range(at) if lines[i].strip().startswith("[[")) + 1


def _set_cell(lines: list[str], lineno: int, column: int, value: str) -> None:
    cells = lines[lineno - 1].split(",")
    cells[column] = value
    lines[lineno - 1] = ",".join(cells)


@pytest.fixture
def broken(tmp_path):
    """A copy of the knowledge base broken seven ways at once, with where each problem is."""
    folder = _copy(tmp_path)
    where: dict[str, tuple[str, int | None, str]] = {}

    lk = (folder / "likelihoods.csv").read_text(encoding="utf-8").splitlines()
    # probability 1.5
    row = _line_of(lk, "schwannoma,csf_cap,yes,")
    _set_cell(lk, row, 3, "1.5")
    where["probability"] = ("likelihoods.csv", row, "1.5")
    # a grade that is not A, B or C
    row = _line_of(lk, "astrocytoma,csf,widened,")
    _set_cell(lk, row, 5, "D")
    where["grade"] = ("likelihoods.csv", row, "'D'")
    # sum != 1
    row = _line_of(lk, "meningioma,dural_tail,yes,")
    _set_cell(lk, row, 3, str(float(lk[row - 1].split(",")[3]) + 0.2))
    first = _line_of(lk, "meningioma,dural_tail,")
    where["sum"] = ("likelihoods.csv", first, "sum")
    # a missing value of a required feature (commented out: line numbers stay put)
    row = _line_of(lk, "ependymoma,cord,normal,")
    lk[row - 1] = "# " + lk[row - 1]
    first = _line_of(lk, "ependymoma,cord,")
    where["missing"] = ("likelihoods.csv", first, "normal")
    # a duplicate row, appended at the end
    lk.append(lk[_line_of(lk, "astrocytoma,cord,expanded,") - 1])
    where["duplicate"] = ("likelihoods.csv", len(lk), "twice")
    (folder / "likelihoods.csv").write_text("\n".join(lk) + "\n", encoding="utf-8")

    # an unknown source
    pr = (folder / "priors.csv").read_text(encoding="utf-8").splitlines()
    row = _line_of(pr, "ependymoma,")
    _set_cell(pr, row, 2, "NO_SUCH_SOURCE")
    where["source"] = ("priors.csv", row, "NO_SUCH_SOURCE")
    (folder / "priors.csv").write_text("\n".join(pr) + "\n", encoding="utf-8")

    # bad TOML
    model = (folder / "model.toml").read_text(encoding="utf-8")
    broken = model + "\ntemperature = = 2\n"
    (folder / "model.toml").write_text(broken, encoding="utf-8")
    where["toml"] = ("model.toml", len(broken.splitlines()), "TOML")

    # an unknown entity in flags.toml
    flags = (folder / "flags.toml").read_text(encoding="utf-8")
    entities_line = len(flags.splitlines()) + 5  # the field's own line, after [[rule]], id and kind
    flags += '\n[[rule]]\nid = "bogus"\nkind = "syndrome"\nentities = ["hemangioblastoma", "no_such_entity"]\nmessage = "m"\naction = "a"\n'
    (folder / "flags.toml").write_text(flags, encoding="utf-8")
    where["flags"] = ("flags.toml", entities_line, "no_such_entity")
    return folder, where


def _issues(folder, allow_none=False):
    if allow_none:
        try:
            load_knowledge(folder)
        except KnowledgeError as exc:
            return exc.issues
        return ()
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(folder)
    return info.value.issues


class TestBrokenKnowledge:
    def test_a_good_copy_loads(self, tmp_path):
        """An untouched copy of the knowledge files loads from a folder."""
        kb = load_knowledge(_copy(tmp_path))
        assert kb.entity_ids == default_knowledge().entity_ids

    @pytest.mark.parametrize("problem", ["probability", "grade", "sum", "missing", "duplicate", "source", "toml", "flags"])
    def test_every_problem_is_reported_with_file_row_and_reason(self, broken, problem):
        """Every problem in a knowledge base broken several ways at once is reported, with its file, row and reason."""
        folder, where = broken
        path, row, words = where[problem]
        issues = _issues(folder)
        matches = [i for i in issues if i.path == path and i.row == row and words.lower() in i.reason.lower()]
        assert matches, f"no issue {path}:{row} mentioning {words!r} among:\n" + "\n".join(map(str, issues))

    def test_issues_print_with_their_location(self, broken):
        """Each issue prints as file:row: reason (or file: reason when the problem has no row)."""
        folder, _ = broken
        for issue in _issues(folder):
            text = str(issue)
            assert text.startswith(issue.path + (f":{issue.row}: " if issue.row is not None else ": "))
            assert issue.reason in text

    def test_error_message_lists_every_issue(self, broken):
        """The KnowledgeError message counts the issues and lists each one."""
        folder, _ = broken
        with pytest.raises(KnowledgeError) as info:
            load_knowledge(folder)
        message = str(info.value)
        assert str(len(info.value.issues)) in message
        for issue in info.value.issues:
            assert str(issue) in message

    def test_a_broken_locations_file_is_reported_with_row_and_reason(self, tmp_path):
        """locations.csv: an unknown entity or picture, a share that is no number from 0 to 1, a
        picture missing and shares that do not sum to 1 are each named with their row."""
        folder = _copy(tmp_path)
        rows = [
            "entity,picture,share,source,grade",
            "meningiomaa,extradural,1,CONTI2004,A",
            "ependymoma,intramedullary,0.9,CONTI2004,A",
            "ependymoma,intradural_extramedullary,0.05,CONTI2004,A",
            "ependymoma,extradural,0.01,CONTI2004,A",
            "ependymoma,none,0.01,CONTI2004,A",
            "astrocytoma,intramedullary,1.5,CONTI2004,A",
            "chordoma,extradural,1,CONTI2004,A",
            "lymphoma,epidural,1,CONTI2004,A",
        ]
        (folder / "locations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        issues = _issues(folder)
        expected = [
            (2, "entity 'meningiomaa' is not in entities.toml; did you mean 'meningioma'?"),
            (3, "ependymoma: shares sum to 0.9700, not 1 (lines 3-6)"),
            (7, "share '1.5' is not a number from 0 to 1"),
            (8, "chordoma: no share for intramedullary, intradural_extramedullary, none"),
            (9, "picture 'epidural' is not one of"),
        ]
        for row, words in expected:
            assert any(i.path == "locations.csv" and i.row == row and words in i.reason for i in issues), (row, words, issues)

    def test_a_misspelt_entity_of_locations_is_reported_once_and_a_duplicate_names_the_first(self, tmp_path):
        folder = _copy(tmp_path)
        path = folder / "locations.csv"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("schwannoma,", "schwanoma,"), encoding="utf-8")
        issues = [i for i in _issues(folder) if i.path == "locations.csv"]
        assert len(issues) == 1 and "did you mean 'schwannoma'?" in issues[0].reason and "(4 rows" in issues[0].reason
        lines = text.splitlines()
        path.write_text(text + lines[-1] + "\n", encoding="utf-8")
        (issue,) = [i for i in _issues(folder) if i.path == "locations.csv"]
        assert f"is given twice (line {len(lines)} is the first)" in issue.reason

    def test_a_broken_pictures_file_is_not_reported_again_under_locations(self, tmp_path):
        folder = _copy(tmp_path)
        path = folder / "pictures.csv"
        path.write_text(path.read_text(encoding="utf-8").replace("extradural,cord,normal,", "extradurall,cord,normal,", 1), encoding="utf-8")
        issues = _issues(folder)
        assert any(i.path == "pictures.csv" for i in issues)
        assert not [i for i in issues if i.path == "locations.csv"]

    def test_an_ungraded_source_of_locations_is_named_beside_a_wrong_sum(self, tmp_path):
        folder = _copy(tmp_path)
        with (folder / "sources.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[MY_SERIES]\ncitation = "A surgical series, 2021 (n=100)"\nurl = ""\n')
        path = folder / "locations.csv"
        text = path.read_text(encoding="utf-8").replace("CONTI2004,A", "MY_SERIES,A").replace("0.9116", "0.8")
        path.write_text(text, encoding="utf-8")
        reasons = [(i.path, i.reason) for i in _issues(folder)]
        assert any(p == "locations.csv" and "shares sum to" in r for p, r in reasons)
        assert any(p == "sources.toml" and "MY_SERIES" in r and "grade" in r for p, r in reasons), reasons

    def test_counted_shares_within_the_tolerance_still_sum_to_one(self, tmp_path):
        folder = _copy(tmp_path)
        path = folder / "locations.csv"
        path.write_text(path.read_text(encoding="utf-8").replace("0.9116", "0.9125"), encoding="utf-8")
        kb = load_knowledge(folder)
        assert math.fsum(kb.picture_shares[kb.entity_ids.index("schwannoma")]) == pytest.approx(1, abs=1e-12)

    def test_a_counted_location_replaces_the_fitted_picture_shares(self, tmp_path):
        folder = _copy(tmp_path)
        rows = ["entity,picture,share,source,grade"] + [
            f"ependymoma,{z},{share},CONTI2004,A"
            for z, share in (("intramedullary", 0.5), ("intradural_extramedullary", 0.5), ("extradural", 0), ("none", 0))
        ]
        (folder / "locations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        kb = load_knowledge(folder)
        floor, n = kb.settings.picture_floor, len(kb.pictures)
        shares = dict(zip(kb.pictures, kb.picture_shares[kb.entity_ids.index("ependymoma")]))
        assert shares["intramedullary"] == pytest.approx((1 - n * floor) * 0.5 + floor)
        assert shares["extradural"] == pytest.approx(floor)
        assert "schwannoma" not in kb.locations and set(kb.locations) == {"ependymoma"}

    def test_a_broken_pictures_file_is_reported_with_row_and_reason(self, tmp_path):
        """pictures.csv is validated like the other tables: a wrong sum, an unknown feature or
        value are each named with their row; a picture sign with a weight is named in features.toml."""
        folder = _copy(tmp_path)
        lines = (folder / "pictures.csv").read_text(encoding="utf-8").splitlines()
        total = _line_of(lines, "intramedullary,cord,expanded,")
        _set_cell(lines, total, 3, "0.5")
        unknown = _line_of(lines, "none,csf,normal,")
        _set_cell(lines, unknown, 1, "csf_colour")
        value = _line_of(lines, "extradural,csf_cap,yes,")
        _set_cell(lines, value, 2, "maybe")
        (folder / "pictures.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        features = (folder / "features.toml").read_text(encoding="utf-8")
        features = features.replace('id = "cord"\n', 'id = "cord"\nweight = 0.8\n', 1)
        (folder / "features.toml").write_text(features, encoding="utf-8")
        issues = _issues(folder)
        expected = [
            ("pictures.csv", _line_of(lines, "intramedullary,"), "picture intramedullary cord: values sum to"),
            ("pictures.csv", unknown, "'csf_colour' is not in features.toml"),
            ("pictures.csv", value, "'maybe' is not one of"),
            ("features.toml", _table_line(features, 'id = "cord"'), "'cord': a picture sign must be a required choice or yes/no finding without a weight"),
        ]
        for path, row, words in expected:
            assert any(i.path == path and i.row == row and words in i.reason for i in issues), (path, row, words, issues)
        # a bad value does not also count as a missing one
        assert not any("picture extradural csf_cap: no probability" in i.reason for i in issues), issues

    def test_pictures_must_cover_the_picture_signs(self, tmp_path):
        """A pictures.csv with its rows gone, or a row for a sign features.toml does not mark
        as a picture sign, is reported: the signs would silently count as independent."""
        folder = _copy(tmp_path)
        text = (folder / "pictures.csv").read_text(encoding="utf-8")
        header = [ln for ln in text.splitlines() if ln.startswith("picture,")]
        (folder / "pictures.csv").write_text("\n".join(header) + "\n", encoding="utf-8")
        assert any(i.path == "pictures.csv" and "gives no picture" in i.reason for i in _issues(folder))
        (folder / "pictures.csv").write_text(text + "none,dural_tail,yes,0.5,DDX_EXPERT,C\n", encoding="utf-8")
        row = len(text.splitlines()) + 1
        assert any(i.path == "pictures.csv" and i.row == row and "dural_tail is not a picture sign" in i.reason for i in _issues(folder))

    def test_a_picture_floor_that_leaves_nothing_to_fit_is_reported_with_the_rest(self, tmp_path):
        folder = _copy(tmp_path)
        model = (folder / "model.toml").read_text(encoding="utf-8")
        model = re.sub(r"^picture_floor = .*$", "picture_floor = 0.2", model, flags=re.M)
        (folder / "model.toml").write_text(model, encoding="utf-8")
        pictures = (folder / "pictures.csv").read_text(encoding="utf-8")
        fifth = [ln.replace("none,", "other,", 1) for ln in pictures.splitlines() if ln.startswith("none,")]
        (folder / "pictures.csv").write_text(pictures + "\n".join(fifth) + "\n", encoding="utf-8")
        (folder / "sources.toml").write_text((folder / "sources.toml").read_text(encoding="utf-8") + '\n[UNUSED_KEY]\ncitation = "x"\n', encoding="utf-8")
        reasons = [i.reason for i in _issues(folder)]
        assert any("picture_floor 0.2 times 5 pictures leaves nothing to fit" in r for r in reasons), reasons
        assert any("[UNUSED_KEY] is not cited" in r for r in reasons), reasons

    def test_a_missing_disagreements_file_says_an_empty_one_will_do(self, tmp_path):
        folder = _copy(tmp_path)
        (folder / "disagreements.toml").unlink()
        (issue,) = _issues(folder)
        assert issue.path == "disagreements.toml" and "(with no [[disagreement]] it may be empty, but it must be there)" in issue.reason
        (folder / "disagreements.toml").write_text("", encoding="utf-8")
        assert load_knowledge(folder).disagreements == ()

    def test_an_empty_folder_reports_each_missing_file_once(self, tmp_path):
        """A missing file is one problem, not that problem and its consequences."""
        issues = _issues(tmp_path)
        assert sorted(i.path for i in issues) == sorted(KB_FILES)
        assert all("missing" in i.reason for i in issues)

    def test_an_unknown_field_of_a_flag_rule_is_reported(self, tmp_path):
        """A misspelt rule field ('unles') is an error, not a condition silently dropped."""
        folder = _copy(tmp_path)
        flags = (folder / "flags.toml").read_text(encoding="utf-8")
        (folder / "flags.toml").write_text(flags.replace("unless = [{", "unles = [{", 1), encoding="utf-8")
        assert any(i.path == "flags.toml" and "unknown field 'unles'; did you mean 'unless'?" in i.reason for i in _issues(folder))

    @pytest.mark.parametrize("text", ["", "# the rules\n"])
    def test_a_flags_file_without_rules_is_reported(self, tmp_path, text):
        """An emptied flags.toml would drop the cord-compression emergency: it is refused like any empty file."""
        folder = _copy(tmp_path)
        (folder / "flags.toml").write_text(text, encoding="utf-8")
        reasons = [i.reason for i in _issues(folder) if i.path == "flags.toml"]
        assert len(reasons) == 1 and "defines no [[rule]]" in reasons[0], reasons

    def test_a_likelihoods_file_with_only_its_header_is_one_problem(self, tmp_path):
        """Not one 'no probability' for every entity and finding it leaves without numbers."""
        folder = _copy(tmp_path)
        path = folder / "likelihoods.csv"
        kept = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#") or ln.startswith("entity,")]
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        issues = _issues(folder)
        assert len(issues) == 1 and issues[0].path == "likelihoods.csv", issues
        assert "has no rows" in issues[0].reason and "cord, csf" in issues[0].reason

    def test_an_empty_likelihoods_file_beside_a_broken_features_file_names_no_partial_list(self, tmp_path):
        """With a required finding dropped from features.toml (a misspelt field), the required
        findings it still holds are not all of them: naming those would leave that one out."""
        folder = _copy(tmp_path)
        path = folder / "likelihoods.csv"
        kept = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#") or ln.startswith("entity,")]
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        features = folder / "features.toml"
        text = features.read_text(encoding="utf-8")
        start = text.index('id = "csf"\n')
        features.write_text(text[:start] + text[start:].replace('kind = "choice"', 'kind = "chioce"', 1), encoding="utf-8")
        reasons = [i.reason for i in _issues(folder) if i.path == "likelihoods.csv"]
        assert len(reasons) == 1 and "has no rows" in reasons[0], reasons
        assert "cord" not in reasons[0] and "features.toml" in reasons[0], reasons

    @pytest.mark.parametrize(
        "model, words",
        [({"prior_flattening": 1.5}, "prior_flattening must be a number in [0, 1] (found 1.5)"),
         ({"temprature": 1.2}, "temprature is not a setting; did you mean 'temperature'?"),
         ({1: 1}, "1 is not a setting name")],
    )
    def test_a_setting_given_to_load_knowledge_is_said_to_be_the_argument_s(self, model, words):
        """Not model.toml's line: the value came from model=."""
        with pytest.raises(KnowledgeError) as caught:
            load_knowledge(model=model)
        (issue,) = caught.value.issues
        assert issue.path == "model= (load_knowledge's argument)" and issue.row is None and words in issue.reason

    def test_a_setting_may_be_any_real_number(self):
        from fractions import Fraction

        assert load_knowledge(model={"prior_flattening": Fraction(1, 2)}).settings.prior_flattening == 0.5

    def test_a_setting_given_as_true_or_false_is_no_number(self, tmp_path):
        """TOML's true is no temperature, though Python counts a bool as an int."""
        folder = _copy(tmp_path)
        model = (folder / "model.toml").read_text(encoding="utf-8")
        (folder / "model.toml").write_text(re.sub(r"(?m)^temperature = .*$", "temperature = true", model), encoding="utf-8")
        assert any(i.path == "model.toml" and "temperature must be a number in [0.1, 10] (found True)" in i.reason
                   for i in _issues(folder))

    def test_a_compartment_without_an_entity_is_refused(self, tmp_path):
        """Its probability, the sum of its entities', would be none, and the engine divides by it."""
        folder = _copy(tmp_path)
        text = (folder / "entities.toml").read_text(encoding="utf-8")
        (folder / "entities.toml").write_text(text.replace('compartment = "intramedullary"', 'compartment = "extradural"'),
                                              encoding="utf-8")
        issues = _issues(folder)
        assert [i.reason for i in issues] == ["no [[entity]] lies in the intramedullary compartment: a compartment's "
                                              "probability is the sum of its entities', so each needs one at least"]

    def test_an_unknown_setting_in_model_toml_is_reported(self, tmp_path):
        """A misspelt setting is an error, not silently ignored beside the default it meant to change."""
        folder = _copy(tmp_path)
        (folder / "model.toml").write_text((folder / "model.toml").read_text(encoding="utf-8") + "temprature = 2\n", encoding="utf-8")
        assert any(i.path == "model.toml" and "temprature is not a setting" in i.reason for i in _issues(folder))

    def test_model_overrides_are_validated_like_the_file(self):
        """load_knowledge(model=...) changes a setting, and a bad override fails like a bad file."""
        warm = load_knowledge(model={"temperature": 2.0})
        assert warm.settings.temperature == 2.0
        assert warm.log_tables != load_knowledge().log_tables
        with pytest.raises(KnowledgeError, match="temperature must be a number"):
            load_knowledge(model={"temperature": -1})
        with pytest.raises(KnowledgeError, match="warmth is not a setting"):
            load_knowledge(model={"warmth": 2.0})

    def test_a_tiny_picture_rate_is_clamped_not_a_crash(self, tmp_path):
        """A valid but vanishing probability in pictures.csv is clamped like every likelihood."""
        folder = _copy(tmp_path)
        lines = (folder / "pictures.csv").read_text(encoding="utf-8").splitlines()
        for picture in ("intramedullary", "intradural_extramedullary", "extradural", "none"):
            small = _line_of(lines, f"{picture},cord,expanded,")
            big = _line_of(lines, f"{picture},cord,normal,")
            moved = float(lines[small - 1].split(",")[3])
            _set_cell(lines, small, 3, "1e-320")
            _set_cell(lines, big, 3, f"{float(lines[big - 1].split(',')[3]) + moved:.6g}")
        (folder / "pictures.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        kb = load_knowledge(folder)
        assert all(math.isfinite(x) for v in kb.picture_tables.values() for x in v)

    def test_a_finding_read_from_nowhere_is_reported(self, tmp_path):
        """read_from says where a reader gets a finding: the images or the history, nothing else."""
        folder = _copy(tmp_path)
        text = (folder / "features.toml").read_text(encoding="utf-8")
        (folder / "features.toml").write_text(text.replace('read_from = "history"', 'read_from = "mind"', 1), encoding="utf-8")
        assert any(i.path == "features.toml" and "'age'" in i.reason and "read_from must be one of images, history" in i.reason for i in _issues(folder))

    def test_places_must_be_true_or_false(self, tmp_path):
        """places says whether a finding can place a lesion in a compartment: true or false, nothing else."""
        folder = _copy(tmp_path)
        text = (folder / "features.toml").read_text(encoding="utf-8")
        (folder / "features.toml").write_text(text.replace("places = false", 'places = "no"', 1), encoding="utf-8")
        assert any(i.path == "features.toml" and "'level'" in i.reason and "places must be true or false" in i.reason for i in _issues(folder))

    @pytest.mark.parametrize("old, new, reason", [
        ("picture = true", 'picture = "false"', "picture must be true or false"),
        ("required = true", "required = 1", "required must be true or false"),
        ('read_from = "history"', 'read_from = "history"\nplaces = false', "places is for image findings"),
        ("picture = true", "picture = true\nplaces = false", "a picture sign places the lesion"),
    ])
    def test_a_feature_flag_is_checked(self, tmp_path, old, new, reason):
        """required, picture and places are true or false, and places says something only of an image
        finding that is not a picture sign."""
        folder = _copy(tmp_path)
        text = (folder / "features.toml").read_text(encoding="utf-8")
        assert old in text
        (folder / "features.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
        assert any(i.path == "features.toml" and reason in i.reason for i in _issues(folder))

    def test_a_missing_file_is_reported(self, tmp_path):
        """A knowledge file that is missing is named."""
        folder = _copy(tmp_path)
        (folder / "sources.toml").unlink()
        assert any(i.path == "sources.toml" and "missing" in i.reason for i in _issues(folder))


def test_citation_links_go_to_the_article_not_a_mirror(kb):
    """A source's link is the publisher's, PubMed's or another stable address: never a bare
    IP address, a proxy or a document-sharing mirror (a trainee should be able to trust it)."""
    mirrors = ("docksci.com", "coek.info", "scribd.com", "scite.ai", "tweb-dev", "weglot", "xn--", "cricutcom", ":2400")
    for key, s in kb.sources.items():
        if not s.url:
            continue
        host = re.match(r"https?://([^/]+)", s.url)
        assert host, (key, s.url)
        assert not re.fullmatch(r"[\d.]+(:\d+)?", host.group(1)), (key, s.url)
        assert not any(m in s.url for m in mirrors), (key, s.url)


class TestKbCheckCommand:
    def test_broken_copy_exits_2_listing_every_problem(self, broken):
        """`ddx kb check FOLDER` on a broken copy exits 2 and lists every problem on stderr."""
        folder, where = broken
        issues = _issues(folder)
        result = CliRunner().invoke(cli, ["kb", "check", str(folder)])
        assert result.exit_code == 2, result.output
        for issue in issues:
            assert str(issue) in result.stderr
        assert f"{len(issues)} problem(s)" in result.stderr
        assert result.stdout == ""

    def test_good_copy_exits_0_with_a_one_line_summary(self, tmp_path):
        """`ddx kb check FOLDER` on a good copy exits 0 and prints one summary line, then
        (not an error) one line on the sign numbers the compartment pictures do not follow."""
        result = CliRunner().invoke(cli, ["kb", "check", str(_copy(tmp_path))])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert "OK" in lines[0]
        assert f"{len(default_knowledge().entities)} entities" in lines[0]
        misfits = picture_misfits(default_knowledge())
        if misfits:
            assert len(lines) == 2 and lines[1].startswith(f"note (not an error): {len(misfits)} sign numbers")
            assert "--notes" in lines[1]
        else:
            assert len(lines) == 1

    def test_notes_lists_the_sign_numbers_the_pictures_do_not_follow(self, tmp_path):
        result = CliRunner().invoke(cli, ["kb", "check", "--notes", str(_copy(tmp_path))])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        misfits = picture_misfits(default_knowledge())
        if misfits:
            assert lines[1].startswith("note (not an error):") and len(lines) == 2 + len(misfits)
            entity, fid, value, table, model = misfits[0]
            assert any(f"{entity} {fid}={value}: likelihoods.csv {table:.2f}, picture model {model:.2f}" in ln for ln in lines)
        else:
            assert len(lines) == 1

    def test_packaged_knowledge_checks_clean(self):
        """`ddx kb check` with no folder checks the packaged knowledge base and exits 0."""
        result = CliRunner().invoke(cli, ["kb", "check"])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[0].startswith("knowledge base OK")
        assert result.stderr == ""

    def test_a_misfit_is_a_sign_number_the_picture_model_departs_from(self, tmp_path):
        """Making an intramedullary tumour's cord expanded number small (and normal large)
        shows up as a misfit: the pictures cannot follow a cord that is expanded yet not."""
        folder = _copy(tmp_path)
        lines = (folder / "likelihoods.csv").read_text(encoding="utf-8").splitlines()
        _set_cell(lines, _line_of(lines, "ependymoma,cord,expanded,"), 3, "0.30")
        _set_cell(lines, _line_of(lines, "ependymoma,cord,normal,"), 3, "0.65")
        (folder / "likelihoods.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        misfits = {(e, f, v) for e, f, v, _, _ in picture_misfits(load_knowledge(folder))}
        assert ("ependymoma", "cord", "expanded") in misfits

    def test_folder_that_does_not_exist_is_a_usage_error(self, tmp_path):
        """`ddx kb check` on a folder that does not exist exits 2 naming it."""
        missing = tmp_path / "nowhere"
        result = CliRunner().invoke(cli, ["kb", "check", str(missing)])
        assert result.exit_code == 2
        assert "nowhere" in result.stderr


def test_copy_helper_leaves_the_package_untouched(tmp_path, broken):
    """Breaking a copy never touches the packaged files (the packaged knowledge still loads)."""
    shutil.rmtree(broken[0])
    assert load_knowledge().entity_ids


def test_an_invalid_number_is_reported_once(tmp_path):
    """A probability out of range is one issue, not also a missing value or a wrong sum of its finding."""
    folder = _copy(tmp_path)
    lines = (folder / "likelihoods.csv").read_text(encoding="utf-8").splitlines()
    row = _line_of(lines, "ependymoma,cord,expanded,")
    _set_cell(lines, row, 3, "1.5")
    (folder / "likelihoods.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(folder)
    assert [(i.path, i.row) for i in info.value.issues] == [("likelihoods.csv", row)]
    assert "1.5" in info.value.issues[0].reason


class TestAliases:
    """entities.toml aliases: optional, strings, and each one names one entity only."""

    def _with_aliases(self, tmp_path, entity_id, line):
        folder = _copy(tmp_path)
        path = folder / "entities.toml"
        text = path.read_text(encoding="utf-8")
        head = f'id = "{entity_id}"\n'
        start = text.index(head)
        end = text.index("\n", text.index("aliases = ", start)) + 1
        path.write_text(text[:start] + head + text[start + len(head) : end].split("aliases = ")[0] + line + text[end:], encoding="utf-8")
        return folder

    def test_every_entity_has_aliases_and_the_record_defaults_to_none(self, kb):
        from ddx.knowledge import Entity

        assert all(e.aliases and all(isinstance(a, str) for a in e.aliases) for e in kb.entities)
        plain = Entity("x", "X", IM, False, False, (), "", "", "", "", "", ())
        assert plain.aliases == ()

    def test_aliases_are_optional(self, tmp_path):
        kb = load_knowledge(self._with_aliases(tmp_path, "chordoma", ""))
        assert kb.entity("chordoma").aliases == ()

    @pytest.mark.parametrize(
        "entity_id, line, reason",
        [
            ("chordoma", 'aliases = "sacral chordoma"\n', "aliases must be a list of names"),
            ("chordoma", 'aliases = ["sacral chordoma", 3]\n', "aliases must be a list of names"),
            ("chordoma", 'aliases = [""]\n', "aliases must be a list of names"),
            ("osteosarcoma", 'aliases = ["ABC"]\n', "alias 'ABC' is also an alias of 'aneurysmal_bone_cyst'"),
            ("chordoma", 'aliases = ["sacral chordoma", "Sacral-Chordoma"]\n', "alias 'Sacral-Chordoma' is also an alias of 'chordoma'"),
            ("chordoma", 'aliases = ["schwannoma"]\n', "alias 'schwannoma' is the id or name of 'schwannoma'"),
            ("chordoma", 'aliases = ["Haemangioma"]\n', "alias 'Haemangioma' is the id or name of 'hemangioma'"),
            ("chordoma", 'aliases = ["Spinal meningioma"]\n', "alias 'Spinal meningioma' is the id or name of 'meningioma'"),
        ],
    )
    def test_a_bad_alias_is_reported(self, tmp_path, entity_id, line, reason):
        issues = _issues(self._with_aliases(tmp_path, entity_id, line))
        assert any(i.path == "entities.toml" and reason in i.reason for i in issues), "\n".join(map(str, issues))


class TestListAliases:
    def test_an_alias_of_a_list_finding_may_name_several_values(self, kb):
        """thoracolumbar is an alias of level naming two regions, and it loads."""
        assert kb.features["level"].alias["thoracolumbar"] == "thoracic;lumbar"

    def test_a_several_value_alias_naming_an_unknown_value_is_reported(self, tmp_path):
        """Each value a list alias names must be a value of its finding."""
        folder = _copy(tmp_path)
        path = folder / "features.toml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('thoracolumbar = "thoracic;lumbar"', 'thoracolumbar = "thoracic;lumber"'), encoding="utf-8")
        assert any("lumber" in i.reason and i.path == "features.toml" for i in _issues(folder))

    def test_a_one_value_finding_may_not_name_several(self, tmp_path):
        """A choice finding's alias names one value: 'rim;homogeneous' is reported."""
        folder = _copy(tmp_path)
        path = folder / "features.toml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('ring = "rim"', 'ring = "rim;homogeneous"'), encoding="utf-8")
        assert any("rim;homogeneous" in i.reason for i in _issues(folder))


def test_ordered_is_for_list_findings_only(tmp_path):
    """ordered = true on a choice finding is reported: a range means nothing there."""
    folder = _copy(tmp_path)
    path = folder / "features.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('id = "cord"\n', 'id = "cord"\nordered = true\n', 1), encoding="utf-8")
    assert any("ordered is for list findings" in i.reason for i in _issues(folder))


@pytest.mark.parametrize(
    "old, new",
    [('thoracolumbar = "thoracic;lumbar"', 'thoracolumbar = ["thoracic", "lumbar"]'), ('c3 = "cervical"', 'C3 = "cervical"')],
)
def test_an_alias_that_is_no_lower_case_string_is_reported(tmp_path, old, new):
    """An alias written as a list, or with a capital (never matched), is reported, not a crash."""
    folder = _copy(tmp_path)
    path = folder / "features.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert any("an alias is a lower-case spelling" in i.reason for i in _issues(folder))


class TestACuratorsMistakes:
    """One mistake in a knowledge file is reported once, where an editor shows it, and is not
    buried under the problems that follow from it; typos and wrong types are caught, not read
    as something else."""

    def _edit(self, folder, name, old, new, count=1):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, count), encoding="utf-8")
        return text

    def test_every_problem_of_one_entry_is_said_at_once(self, tmp_path):
        """A misspelt field does not hide the entry's other problems; the misspelt field is read
        as the one it resembles, so it is not reported missing as well."""
        folder = _copy(tmp_path)
        block = self._edit(folder, "entities.toml", 'id = "ganglioglioma"', 'id = "ganglioglioma"')
        start = block.index('id = "ganglioglioma"')
        end = block.index("[[entity]]", start)
        entry = block[start:end]
        broken = (entry.replace("dont_miss = false", "dont_mis = false")
                       .replace('compartment = "intramedullary"', 'compartment = "intramedulary"')
                       .replace("aliases = [", 'aliases = ["HB", ', 1))
        (folder / "entities.toml").write_text(block[:start] + broken + block[end:], encoding="utf-8")
        reasons = [i.reason for i in _issues(folder)]
        assert any("unknown field 'dont_mis'; did you mean 'dont_miss'?" in r for r in reasons), reasons
        assert any("compartment 'intramedulary' is not one of" in r for r in reasons), reasons
        assert any("alias 'HB' is" in r for r in reasons), reasons
        assert not any("missing field" in r for r in reasons), reasons

    @pytest.mark.parametrize("field", ["typical", "summary", "next_step", "why", "sources"])
    def test_an_entity_without_its_card_is_refused(self, tmp_path, field):
        """An entity must say who and where, its look, the next step, why it is (not) a don't-miss,
        and what these rest on: `ddx explain` shows them, and a card with gaps teaches nothing."""
        folder = _copy(tmp_path)
        text = (folder / "entities.toml").read_text(encoding="utf-8")
        start = text.index('id = "ganglioglioma"')
        line = next(ln for ln in text[start:].splitlines() if ln.startswith(f"{field} = "))
        (folder / "entities.toml").write_text(text[:start] + text[start:].replace(line + "\n", "", 1), encoding="utf-8")
        reasons = [i.reason for i in _issues(folder)]
        assert reasons[0] == f"[[entity]] #5 'ganglioglioma': missing field {field!r} ({entities.REQUIRED[field]})"
        # the sources it no longer names are then cited by nothing, which is said too
        assert all("is not cited by any number or entity" in r for r in reasons[1:]) and (field == "sources") == (len(reasons) > 1)

    @pytest.mark.parametrize("field, blank", [("name", 'name = ""'), ("summary", 'summary = " "'), ("sources", "sources = []")])
    def test_a_blank_text_is_refused_at_its_line(self, tmp_path, field, blank):
        """The schwannoma's field blanked, whatever its text was, is said at the field's own line."""
        folder = _copy(tmp_path)
        text = (folder / "entities.toml").read_text(encoding="utf-8")
        start = text.index('id = "schwannoma"')
        line = next(ln for ln in text[start:].splitlines() if ln.startswith(f"{field} = "))
        (folder / "entities.toml").write_text(text[:start] + text[start:].replace(line, blank, 1), encoding="utf-8")
        issues = _issues(folder)
        assert len(issues) == 1 and f"{field} is empty" in issues[0].reason, issues
        assert (folder / "entities.toml").read_text(encoding="utf-8").splitlines()[issues[0].row - 1] == blank

    def test_a_dont_miss_entity_with_a_blank_action_is_refused(self, tmp_path):
        folder = _copy(tmp_path)
        text = (folder / "entities.toml").read_text(encoding="utf-8")
        start = text.index('id = "epidural_abscess"')
        line = next(ln for ln in text[start:].splitlines() if ln.startswith("action = "))
        (folder / "entities.toml").write_text(text[:start] + text[start:].replace(line, 'action = "  "', 1), encoding="utf-8")
        issues = _issues(folder)
        assert len(issues) == 1 and "a don't-miss entity needs an action" in issues[0].reason, issues
        assert (folder / "entities.toml").read_text(encoding="utf-8").splitlines()[issues[0].row - 1] == 'action = "  "'

    def test_a_value_a_finding_lacks_is_said_once_for_all_its_rows(self, tmp_path):
        """A value renamed in likelihoods.csv by a search and replace is one problem, not one a row."""
        folder = _copy(tmp_path)
        text = (folder / "likelihoods.csv").read_text(encoding="utf-8")
        rows = [n for n, ln in enumerate(text.splitlines(), 1) if ",multiplicity,multiple," in ln]
        (folder / "likelihoods.csv").write_text(text.replace(",multiplicity,multiple,", ",multiplicity,multiples,"), encoding="utf-8")
        assert [(i.row, i.reason) for i in _issues(folder)] == [(rows[0], "multiplicity value 'multiples' is not one of single, "
                                                                 f"multiple; did you mean 'multiple'? ({len(rows)} rows, lines {rows[0]}-{rows[-1]})")]

    def test_a_line_of_schema_version_is_named(self, tmp_path):
        folder = _copy(tmp_path)
        text = self._edit(folder, "features.toml", "schema_version = 1", "schema_version = 2")
        line = text[:text.index("schema_version = 1")].count("\n") + 1
        assert [(i.row, i.reason[:24]) for i in _issues(folder)] == [(line, "schema_version must be 1")]

    def test_a_meaning_for_no_value_is_said_at_its_table(self, tmp_path):
        folder = _copy(tmp_path)
        text = self._edit(folder, "features.toml", 'nf2 = "neurofibromatosis type 2"', 'nf22 = "neurofibromatosis type 2"')
        start = text.index('nf2 = "neurofibromatosis type 2"')
        line = text[:text.rindex("[feature.meaning]", 0, start)].count("\n") + 1
        issue = next(i for i in _issues(folder) if "meaning is given" in i.reason)
        assert issue.row == line

    def test_two_complete_pictures_a_letter_apart_are_both_kept(self, tmp_path):
        """Only the one with fewer rows is taken for the other's typo."""
        folder = _copy(tmp_path)
        text = (folder / "pictures.csv").read_text(encoding="utf-8")
        (folder / "pictures.csv").write_text(text.replace("\nnone,", "\nextradura,"), encoding="utf-8")
        assert not any("a typo of it" in i.reason for i in _issues(folder, allow_none=True))

    def test_a_misspelt_picture_is_said_so_not_read_as_a_picture_of_its_own(self, tmp_path):
        folder = _copy(tmp_path)
        lines = (folder / "pictures.csv").read_text(encoding="utf-8").split("\n")
        row = _line_of(lines, "intramedullary,cord,expanded,")
        lines[row - 1] = lines[row - 1].replace("intramedullary,", "intramedulary,", 1)
        (folder / "pictures.csv").write_text("\n".join(lines), encoding="utf-8")
        issues = _issues(folder)
        assert (issues[0].row, issues[0].reason) == (row, "picture 'intramedulary' is one letter from 'intramedullary': "
                                                          "a typo of it? (each picture is the rows under one name)")
        assert [i.reason for i in issues[1:]] == [f"picture intramedullary cord: no probability for expanded (lines {row + 1}-{row + 3})"]

    def test_a_file_not_in_utf8_is_said_at_its_line(self, tmp_path):
        folder = _copy(tmp_path)
        text = (folder / "entities.toml").read_text(encoding="utf-8")
        (folder / "entities.toml").write_bytes(text.replace('name = "Schwannoma"', 'name = "Schwannome"').encode("utf-8")
                                               .replace(b"Schwannome", b"Schwannom\xe9"))
        line = text[:text.index('name = "Schwannoma"')].count("\n") + 1
        assert [(i.row, i.reason) for i in _issues(folder)] == [(line, "is not UTF-8 text (byte 0xe9 on this line): save it as UTF-8")]
        (folder / "entities.toml").write_bytes(text.encode("utf-16"))
        assert [i.reason for i in _issues(folder)] == ["is UTF-16 text: save it as UTF-8"]
        (folder / "entities.toml").write_bytes(text.encode("utf-32"))
        assert [i.reason for i in _issues(folder)] == ["is UTF-32 text: save it as UTF-8"]

    def test_a_folder_in_place_of_a_file_is_said_so(self, tmp_path):
        folder = _copy(tmp_path)
        (folder / "flags.toml").unlink()
        (folder / "flags.toml").mkdir()
        assert [(i.path, i.reason) for i in _issues(folder)] == [("flags.toml", "is a folder, not a file")]

    def test_a_header_the_csv_reader_refuses_is_said_at_its_line(self, tmp_path):
        folder = _copy(tmp_path)
        text = (folder / "priors.csv").read_text(encoding="utf-8")
        header = "entity,probability,source,grade"
        line = text[:text.index(header)].count("\n") + 1
        (folder / "priors.csv").write_text(text.replace(header, header.replace("entity", "entity" + "x" * 140_000), 1), encoding="utf-8")
        issues = _issues(folder)
        assert (issues[0].path, issues[0].row, issues[0].reason) == ("priors.csv", line, "the header is longer than 131,072 characters")

    def test_a_csv_limit_set_low_by_the_calling_program_is_said_not_a_crash(self, tmp_path, request):
        """The csv module's limit is the process's: a program that set it below a knowledge row's
        length gets each such row (and header) reported, not a csv.Error."""
        import csv

        previous = csv.field_size_limit(20)
        request.addfinalizer(lambda: csv.field_size_limit(previous))
        issues = _issues(_copy(tmp_path))
        assert any("cannot be read as CSV: field larger than field limit (20)" in i.reason for i in issues)

    def test_a_cell_too_long_for_the_csv_reader_is_said_at_its_line(self, tmp_path, request):
        """A row over the csv module's default limit (131,072 characters) is its row's problem, not a
        crash, whatever limit a batch run in the same process has set."""
        import csv

        previous = csv.field_size_limit(10**9)  # as reading a batch leaves it for the process
        request.addfinalizer(lambda: csv.field_size_limit(previous))
        folder = _copy(tmp_path)
        lines = (folder / "likelihoods.csv").read_text(encoding="utf-8").split("\n")
        row = _line_of(lines, "ependymoma,cord,displaced,")
        lines[row - 1] = lines[row - 1].replace(",0.03,", ",0.0" + "0" * 140_000 + "3,")
        (folder / "likelihoods.csv").write_text("\n".join(lines), encoding="utf-8")
        issues = _issues(folder)
        assert (issues[0].row, issues[0].reason) == (row, "the line is longer than 131,072 characters")

    def test_a_toml_nested_too_deep_is_said_not_a_crash(self, tmp_path):
        folder = _copy(tmp_path)
        (folder / "model.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
        assert [i.reason for i in _issues(folder)] == ["is not valid TOML here: its arrays or tables are nested too deep to read"]

    def test_an_unknown_source_is_said_once_for_every_row_that_cites_it(self, tmp_path):
        """A source deleted from sources.toml is one problem naming the key (not the whole cell of
        each row citing it beside others), with how many rows cite it, and the key it resembles."""
        import re

        folder = _copy(tmp_path)
        text = (folder / "sources.toml").read_text(encoding="utf-8")
        (folder / "sources.toml").write_text(re.sub(r"\[J_KOREAN_RADIOL1997\]\n(?:[^\[\n].*\n)*", "", text), encoding="utf-8")
        cited = [n for n, ln in enumerate((folder / "likelihoods.csv").read_text(encoding="utf-8").splitlines(), 1)
                 if "J_KOREAN_RADIOL1997" in ln]
        issues = _issues(folder)
        assert [(i.path, i.row, i.reason) for i in issues] == [(
            "likelihoods.csv", cited[0], f"source 'J_KOREAN_RADIOL1997' is not in sources.toml; did you mean 'J_KOREAN_RADIOL1996'? "
            f"({len(cited)} rows: likelihoods.csv lines {cited[0]}-{cited[-1]})")]

    @pytest.mark.parametrize("name", ["entities.toml", "features.toml", "sources.toml"])
    def test_a_toml_syntax_error_is_one_problem(self, tmp_path, name):
        folder = _copy(tmp_path)
        (folder / name).write_text((folder / name).read_text(encoding="utf-8") + "\nid = = 2\n", encoding="utf-8")
        issues = _issues(folder)
        assert len(issues) == 1 and issues[0].path == name and "is not valid TOML" in issues[0].reason

    @pytest.mark.parametrize("name", ["likelihoods.csv", "priors.csv", "entities.toml"])
    def test_a_missing_file_is_one_problem(self, tmp_path, name):
        folder = _copy(tmp_path)
        (folder / name).unlink()
        assert [(i.path, i.reason) for i in _issues(folder)] == [(name, "file is missing")]

    def test_a_byte_order_mark_and_crlf_line_ends_are_read(self, tmp_path):
        """Excel's 'CSV UTF-8' starts with a byte-order mark; some editors save CRLF."""
        folder = _copy(tmp_path)
        for name in ("likelihoods.csv", "priors.csv", "entities.toml"):
            text = (folder / name).read_text(encoding="utf-8")
            (folder / name).write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
        assert load_knowledge(folder).entity_ids == default_knowledge().entity_ids

    def test_a_form_feed_in_a_comment_does_not_shift_line_numbers(self, tmp_path):
        folder = _copy(tmp_path)
        path = folder / "likelihoods.csv"
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[0] += " \x0c page \u2028 break"
        row = _line_of(lines, "schwannoma,csf_cap,yes,")
        _set_cell(lines, row, 3, "1.5")
        path.write_text("\n".join(lines), encoding="utf-8")
        assert [(i.row, "1.5" in i.reason) for i in _issues(folder)] == [(row, True)]

    @pytest.mark.parametrize(
        "name, old, new, words",
        [
            ("features.toml", 'id = "hemorrhage"\n', 'id = "hemorrhage"\nweigth = 0.8\n', "unknown field 'weigth'; did you mean 'weight'?"),
            ("features.toml", "weight = 0.8\n", 'weight = "high"\n', "weight must be a number (found 'high')"),
            ("features.toml", "bands = [[0, 9],", "bands = [0, [0, 9],", "bands must be a list of [low, high] whole-number pairs"),
            ("features.toml", 'values = ["hypo", "iso", "hyper"]', 'values = "hypo, iso, hyper"', "values must be a list of texts"),
            ("entities.toml", "next_step = ", "next_stpe = ", "unknown field 'next_stpe'; did you mean 'next_step'?"),
            ("entities.toml", "dont_miss = false", 'dont_miss = "false"', "dont_miss must be true or false (found 'false')"),
            ("entities.toml", "mimic = false", 'mimic = "no"', "mimic must be true or false (found 'no')"),
            ("sources.toml", "[DDX_ESTIMATE]\n", "[DDX_ESTIMATE]\nnote = 'seen'\n", "unknown field 'note'"),
            ("sources.toml", "[DDX_ESTIMATE]\n", "[DDX_ESTIMATE]\nnote.extra = 'seen'\n", "unknown field 'note'"),
        ],
    )
    def test_a_typo_or_a_wrong_type_is_named_with_its_line(self, tmp_path, name, old, new, words):
        folder = _copy(tmp_path)
        self._edit(folder, name, old, new)
        issues = _issues(folder)
        assert len(issues) == 1, issues
        issue = issues[0]
        assert issue.path == name and words in issue.reason, issue
        field = re.search(r"unknown field '(\w+)'", words) or re.match(r"(\w+) must", words)
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        # the line is the field's own, not its table's header
        assert re.match(rf"\s*{field.group(1)}\s*[.=]", lines[issue.row - 1]), (issue, lines[issue.row - 1])

    @pytest.mark.parametrize(
        "old, new, words",
        [
            ("min = 1\nbands = [[1, 1], [2, 3], [4, 6], [7]]", "min = 1\nmax = 50\nbands = [[1, 1], [2, 3], [4, 6], [7]]",
             "the last band is [low] alone (every number from low up) exactly when there is no max"),
            ("bands = [[1, 1], [2, 3], [4, 6], [7]]", "bands = [[1, 1], [2, 3], [4, 6], [7, 50]]",
             "the last band is [low] alone (every number from low up) exactly when there is no max"),
            ("bands = [[1, 1], [2, 3], [4, 6], [7]]", "bands = [[1, 1], [2, 3], [5, 6], [7]]",
             "bands must cover 1 and up without gaps or overlaps"),
            ("bands = [[1, 1], [2, 3], [4, 6], [7]]", "bands = [[1], [2, 3], [4, 6], [7]]",
             "bands must be a list of [low, high] whole-number pairs (the last may be [low] alone)"),
            ("bands = [[1, 1], [2, 3], [4, 6], [7]]", "bands = [[1, 1], [2, 3], [4, 3], [4, 6], [7]]",
             "a band runs from its low end up to its high end: [4, 3]"),
        ],
    )
    def test_an_open_last_band_goes_with_no_max(self, tmp_path, old, new, words):
        """segments has no max (features.md bounds it below only): its last band is open, and only
        a finding without a max may have one."""
        folder = _copy(tmp_path)
        self._edit(folder, "features.toml", old, new)
        issues = _issues(folder)
        assert any(i.path == "features.toml" and words in i.reason for i in issues), issues

    def test_a_source_with_a_wrong_grade_is_one_problem(self, tmp_path):
        """The estimate source is cited by thousands of numbers: its bad grade is said once, at the
        grade's own line."""
        folder = _copy(tmp_path)
        text = (folder / "sources.toml").read_text(encoding="utf-8")
        table = text.index("[DDX_ESTIMATE]\n")
        grade = text.index('grade = "C"', table)
        (folder / "sources.toml").write_text(text[:grade] + 'grade = "D"' + text[grade + 11:], encoding="utf-8")
        issues = _issues(folder)
        assert [(i.row, i.reason) for i in issues] == [(text[:grade].count("\n") + 1, "[DDX_ESTIMATE]: grade 'D' is not A, B or C")]

    def test_an_ungraded_only_source_of_a_number_is_named_once(self, tmp_path):
        """A number's grade is checked against its sources; with none graded it could claim anything."""
        folder = _copy(tmp_path)
        with (folder / "sources.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[MY_TEXTBOOK]\ncitation = "A textbook, 2020"\n')
        path = folder / "likelihoods.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        for value in ("yes", "no"):
            _set_cell(lines, _line_of(lines, f"schwannoma,csf_cap,{value},"), 4, "MY_TEXTBOOK")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        issues = _issues(folder)
        assert len(issues) == 1 and "[MY_TEXTBOOK] is the only source of some numbers, so it needs a grade" in issues[0].reason

    def test_an_entity_that_fails_is_not_reported_again_by_every_row(self, tmp_path):
        folder = _copy(tmp_path)
        self._edit(folder, "entities.toml", "dont_miss = false", 'dont_miss = "false"')
        assert len(_issues(folder)) == 1

    def test_a_duplicate_names_the_first_and_a_group_names_its_lines(self, tmp_path):
        folder = _copy(tmp_path)
        path = folder / "likelihoods.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        first = _line_of(lines, "astrocytoma,cord,expanded,")
        lines.append(lines[first - 1])
        row = _line_of(lines, "meningioma,dural_tail,yes,")
        _set_cell(lines, row, 3, "0.99")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        reasons = [i.reason for i in _issues(folder)]
        assert f"astrocytoma cord=expanded is given twice (line {first} is the first)" in reasons
        group = _line_of(lines, "meningioma,dural_tail,")
        assert any(r.startswith("meningioma dural_tail: values sum to") and r.endswith(f"(lines {group}-{group + 1})") for r in reasons)

    def test_a_wrong_row_width_does_not_also_count_as_missing_values(self, tmp_path):
        folder = _copy(tmp_path)
        path = folder / "likelihoods.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        row = _line_of(lines, "ependymoma,cord,normal,")
        lines[row - 1] += ",extra"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert [(i.row, i.reason) for i in _issues(folder)] == [(row, "expected 6 cells, found 7")]


def test_a_finding_given_for_one_entity_is_noted_as_idle(tmp_path):
    """Such a finding loads, but cannot change any result: kb check says so."""
    from click.testing import CliRunner

    from ddx.cli import cli
    from ddx.knowledge.review import idle_findings

    folder = _copy(tmp_path)
    with (folder / "features.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[feature]]\nid = "zz_test_finding"\nkind = "yesno"\nsection = "Signal and enhancement"\n'
                 'help = "a test finding"\nquestion = "Is there a test sign?"\n')
    with (folder / "likelihoods.csv").open("a", encoding="utf-8") as fh:
        fh.write("demyelination,zz_test_finding,yes,0.3,DDX_ESTIMATE,C\ndemyelination,zz_test_finding,no,0.7,DDX_ESTIMATE,C\n")
    assert idle_findings(load_knowledge(folder)) == [("zz_test_finding", 1)]
    assert idle_findings(default_knowledge()) == []
    result = CliRunner().invoke(cli, ["kb", "check", str(folder)])
    assert result.exit_code == 0
    assert "note (not an error): zz_test_finding has numbers for 1 entity" in result.output


FLAG_RULES = 'when = [{ feature = "cord", is = "compressed" }]'


@pytest.mark.parametrize(
    "name, old, new, expected",
    [
        # misspelt tables would leave the file without them, and load
        ("flags.toml", "\n[[rule]]\n", "\n[[rules]]\n", ["unknown top-level key 'rules'; did you mean 'rule'?"]),
        ("entities.toml", "\n[[entity]]\n", "\n[[entitiy]]\n", ["unknown top-level key 'entitiy'; did you mean 'entity'?"]),
        ("features.toml", "\n[[feature]]\n", "\n[[features]]\n", ["unknown top-level key 'features'; did you mean 'feature'?"]),
        # a rule's kind decides how its flag is shown; a condition's bound is compared with numbers
        ("flags.toml", 'kind = "emergency"', 'kind = "emergncy"', ["kind 'emergncy' is not one of emergency, syndrome; did you mean 'emergency'?"]),
        ("flags.toml", "below = 30", 'below = "30"', ["a condition: below must be a number (found '30')"]),
        ("flags.toml", FLAG_RULES, 'when = "cord"', ["when must be a list of tables (found 'cord')"]),
        ("flags.toml", 'entities = ["schwannoma", "neurofibroma", "mpnst"]', 'entities = "schwannoma"', ["entities must be a list of texts"]),
        # the emergency the output promises for a compressed cord cannot be lost without a word
        ("flags.toml", FLAG_RULES, 'when = [{ feature = "cord", is = "normal" }]', ["no emergency rule fires on cord = compressed alone"]),
        # a source: a misspelt field is one problem, not one per number citing it
        ("sources.toml", "[DDX_ESTIMATE]\ncitation", "[DDX_ESTIMATE]\ncitaton", ["[DDX_ESTIMATE]: unknown field 'citaton'; did you mean 'citation'?"]),
        # two tables of one id: the first is kept, the second reported
        ("features.toml", '[[feature]]\nid = "csf"\n', '[[feature]]\nid = "cord"\nkind = "yesno"\nsection = "x"\nhelp = "x"\nquestion = "x"\n\n[[feature]]\nid = "csf"\n', ["'cord': duplicate feature id (the first one is kept)"]),
        # what a finding implies is another yes/no finding
        ("features.toml", 'implies = ["vertebral_body", "posterior_elements"]', 'implies = ["vertebral_bdy", "posterior_elements"]',
         ["implies names what is not another yes/no finding of features.toml: 'vertebral_bdy'; did you mean 'vertebral_body'?"]),
        # what is implied counts once: named once, by one finding, neither a list nor a picture sign
        ("features.toml", 'implies = ["vertebral_body", "posterior_elements"]', 'implies = ["vertebral_body", "vertebral_body"]',
         ["implies names a finding twice: 'vertebral_body'"]),
        ("features.toml", 'id = "pathologic_fracture"\n', 'id = "pathologic_fracture"\nimplies = ["vertebral_body"]\n',
         ["implies names what 'bone_pattern' implies already (its odds would count twice): 'vertebral_body'"]),
        ("features.toml", 'id = "level"\n', 'id = "level"\nimplies = ["vertebral_body"]\n',
         ["'level': implies is not for a list finding"]),
        ("features.toml", 'implies = ["vertebral_body", "posterior_elements"]', 'implies = ["vertebral_body", "dural_sac_displaced"]',
         ["implies is not for the picture signs (the picture model weighs them): 'dural_sac_displaced'"]),
        ("features.toml", 'id = "csf_cap"\n', 'id = "csf_cap"\nimplies = ["scalloping"]\n',
         ["implies is not for the picture signs (the picture model weighs them): 'csf_cap'"]),
        # a refused implied finding is one problem, not also one at the finding that implies it
        ("features.toml", 'id = "vertebral_body"\nkind = "yesno"', 'id = "vertebral_body"\nkind = "yesno"\nweigth = 2',
         ["unknown field 'weigth'; did you mean 'weight'?"]),
        # the picture a finding is read within is one of pictures.csv
        ("features.toml", 'within = "intramedullary"', 'within = "intramedulary"',
         ["within 'intramedulary' is not a picture of pictures.csv (intramedullary, intradural_extramedullary, extradural, none); did you mean 'intramedullary'?"]),
        # each finding read within a picture counts the picture's odds: two would count them twice
        ("features.toml", 'id = "syrinx"\n', 'id = "syrinx"\nwithin = "intramedullary"\n',
         ["within 'intramedullary' is already the picture 'cord_position' is read in: each counts the odds of its picture, "
          "so only one finding may be read within it"]),
        # a yes/no finding read within a picture would count the picture with its "no" too
        ("features.toml", 'id = "syrinx"\n', 'id = "syrinx"\nwithin = "extradural"\n',
         ["[[feature]] 'syrinx': within is for a choice finding (a yes/no one's 'no' would count the picture too)"]),
        # a disagreement: a misspelt table, field, finding or value, a lone finding, a taken id
        ("disagreements.toml", "\n[[disagreement]]\n", "\n[[disagreements]]\n",
         ["unknown top-level key 'disagreements'; did you mean 'disagreement'?"]),
        ("disagreements.toml", 'why = "A pathologic', 'wy = "A pathologic',
         ["unknown field 'wy'; did you mean 'why'?"]),
        ("disagreements.toml", '{ feature = "vertebral_body", is = "no" }', '{ feature = "vertebral_bdy", is = "no" }',
         ["[[disagreement]] #1 'fracture_without_body': feature 'vertebral_bdy' is not in features.toml; did you mean 'vertebral_body'?"]),
        ("disagreements.toml", '{ feature = "enhancement", is = "none" }', '{ feature = "enhancement", is = "nome" }',
         ["[[disagreement]] #2 'tail_without_enhancement': enhancement has no value 'nome'; did you mean 'none'?"]),
        ("disagreements.toml", '{ feature = "vertebral_body", is = "no" }', '{ feature = "pathologic_fracture", is = "no" }',
         ["it would hold with pathologic_fracture alone: a disagreement is between two findings or more"]),
        # ... or an alternative of any that names what when does, or no when at all
        ("disagreements.toml", '{ feature = "level", is = "cervical" },\n]', '{ feature = "conus_cauda", is = "yes" },\n]',
         ["it would hold with conus_cauda alone"]),
        ("disagreements.toml", 'when = [{ feature = "conus_cauda", is = "yes" }]', "when = []",
         ["when names no finding: a disagreement holds only with a finding given"]),
        ("disagreements.toml", 'why = "A dural tail is thickened dura that enhances beside the mass, so something enhances."',
         'why = " "', ["[[disagreement]] #2 'tail_without_enhancement': why is empty"]),
        ("disagreements.toml", 'id = "tail_without_enhancement"', 'id = "fracture_without_body"',
         ["[[disagreement]] #2 'fracture_without_body': the id is taken by #1"]),
        # a field under a name the file does not know is said, and so is the one it then lacks
        ("disagreements.toml", 'why = "A dural tail', 'reason = "A dural tail',
         ["unknown field 'reason'", "missing field 'why'"]),
        # a misspelt field is read as the one it resembles, so it is not also missing
        ("disagreements.toml", 'why = "A dural tail', 'whyy = "A dural tail',
         ["unknown field 'whyy'; did you mean 'why'?"]),
        # an advice: compartments named as they are, narrowed, and a meaning features.toml gives
        ("disagreements.toml", 'pointing = ["intradural_extramedullary", "extradural"]', 'pointing = ["intradural", "extradural"]',
         ["[[advice]] #1 'dumbbell': pointing names what is not a compartment: 'intradural'; did you mean 'intradural_extramedullary'?"]),
        ("disagreements.toml", 'when = [{ feature = "foraminal_extension", is = "yes" }]\npointing = ["intradural_extramedullary", "extradural"]',
         'pointing = ["intradural_extramedullary"]',
         ["[[advice]] #1 'dumbbell': pointing names no two compartments and no condition narrows it"]),
        ("disagreements.toml", 'pointing = ["intradural_extramedullary", "extradural"]', 'pointing = ["extradural", "extradural"]',
         ["[[advice]] #1 'dumbbell': pointing names a compartment twice: 'extradural'"]),
        ("disagreements.toml", "{cord.compressed}", "{cord.squashed}",
         ["[[advice]] #2 'compressed_or_displaced': text quotes {cord.squashed}, and features.toml gives no meaning of 'squashed' for 'cord'"]),
        ("disagreements.toml", 'id = "compressed_or_displaced"', 'id = "dumbbell"',
         ["[[advice]] #2 'dumbbell': the id is taken by #1"]),
        # a condition makes one test, which can hold: a threshold is for an integer finding,
        # and a list finding's "none" is read as no value at all
        ("flags.toml", "below = 30", "below = 30, at_least = 18",
         ["a condition on age needs one of is, below or at_least, not below and at_least (write one condition for each)"]),
        ("flags.toml", '{ feature = "multiplicity", is = "multiple" }', '{ feature = "multiplicity", at_least = 2 }',
         ["at_least is for an integer finding; multiplicity is choice: use is"]),
        ("flags.toml", '{ feature = "syndrome", is = "nf1" },\n  { feature = "syndrome", is = "nf2" },',
         '{ feature = "syndrome", is = "none" },', ["syndrome is 'none' never holds"]),
        ("disagreements.toml", '{ feature = "enhancement", is = "none" }', '{ feature = "enhancement" }',
         ["a condition on enhancement needs one of is, below or at_least"]),
        # a rule that would be raised on every case, or whose threshold has nothing to sum
        ("flags.toml", FLAG_RULES, "", ["[[rule]] #1 'cord_compression': no condition in when or any and no entities: it would be raised on every case"]),
        ("flags.toml", FLAG_RULES, 'unless = [{ feature = "cord", is = "normal" }]',
         ["no condition in when or any and no entities: it would be raised on every case that does not meet its unless"]),
        ("flags.toml", '{ feature = "syndrome", is = "nf1" },\n  { feature = "syndrome", is = "nf2" },',
         '{ feature = "syndrome", is = "none" },', ["name the other values in any instead"]),
        ("disagreements.toml", '{ feature = "dural_tail", is = "yes" }', '{ is = "yes" }',
         ["[[disagreement]] #2 'tail_without_enhancement': a condition is missing field 'feature'"]),
        ("flags.toml", 'id = "cord_compression"\nkind = "emergency"\nwhen = [{ feature = "cord", is = "compressed" }]\n',
         'id = "cord_compression"\nkind = "emergency"\nmin_probability = 0.5\nwhen = [{ feature = "cord", is = "compressed" }]\n',
         ["min_probability is the least summed probability of the rule's entities, and it names none"]),
        ("flags.toml", 'id = "known_vhl"', 'id = "known_nf2"', ["[[rule]] #7 'known_nf2': the id is taken by #5"]),
        ("flags.toml", 'message = "Cord compression: the cord or the cauda equina is squeezed, an emergency whatever the cause."',
         'message = ""', ["[[rule]] #1 'cord_compression': message is empty"]),
        # a quote left open in a knowledge CSV is said at its line, not read into the lines after it
        ("likelihoods.csv", "ependymoma,cord,displaced,0.03,DDX_ESTIMATE,C", 'ependymoma,cord,displaced,0.03,"DDX_ESTIMATE,C',
         ["a quote opened on this line is not closed (a row is one line)"]),
        # a model.toml written before a setting was added says which one is missing
        ("model.toml", "misplaced = 0.1", "", ["misplaced is missing: give it a number in [0.001, 0.5]"]),
        # an entity id is what the outputs name it by: no spaces, capitals or ';' (batch joins ids with it)
        ("entities.toml", 'id = "ganglioglioma"', 'id = "Gangli oglioma"', ["id must be a lower-case word"] + ["entity 'ganglioglioma' is not in entities.toml"] * 2),  # priors, likelihoods
        # a value that fits no finding's shape: each is said where it stands, and nothing crashes
        ("features.toml", 'exclusive = "none"', 'exclusive = "nothing"', ["exclusive 'nothing' is not one of its values"]),
        ("features.toml", "weight = 0.8\n", "weight = 1" + "0" * 400 + "\n", ["'hemorrhage': weight must be in (0, 1]"]),
        ("features.toml", 'id = "cord"\n', 'id = "cord"\nmin = 0\n', ["min is for integer findings, and this one is choice"]),
        ("features.toml", 'nf2 = "neurofibromatosis type 2"', 'nf22 = "neurofibromatosis type 2"',
         ["meaning is given for what is not one of its values: 'nf22'"]),
        ("features.toml", "schema_version = 1", 'schema_version = "two"', ["schema_version must be 1"]),
        ("features.toml", "schema_version = 1", "schema_version = true", ["schema_version must be 1"]),
        ("features.toml", "schema_version = 1", "schema_version = 1.0", ["schema_version must be 1"]),
        ("features.toml", 'id = "cord"\n', 'id = "cord"\nexclusive = "normal"\nmin = 0\n',
         ["exclusive is for list findings, and this one is choice", "min is for integer findings, and this one is choice"]),
        ("entities.toml", 'compartment = "intramedullary"', 'compartment = ""', ["compartment '' is not one of"]),
        ("likelihoods.csv", "ependymoma,cord,displaced,0.03,DDX_ESTIMATE,", "ependymoma,cord,displaced,0.03, ; ,",
         ["source ';' names no source"]),
        ("likelihoods.csv", "ependymoma,cord,displaced,0.03,DDX_ESTIMATE,", "ependymoma,cord,displaced,0.03,DDX_ESTIMATE;;DDX_EXPERT,",
         ["source 'DDX_ESTIMATE;;DDX_EXPERT' has an empty key between its ';'"]),
        ("flags.toml", "below = 30", "below = nan", ["below = nan on age is not a finite number"]),
        ("flags.toml", "below = 30", "below = -5", ["below = -5 on age is outside what age can be (0-120)"]),
        ("disagreements.toml", "Displaced: {cord.displaced}", "Displaced: {cord displaced}",
         ["text has a '{' that quotes no meaning: write {feature.value}"]),
        ("likelihoods.csv", "ependymoma,cord,displaced,0.03,", "ependymoma,cord,displaced,0.0_3,", ["probability '0.0_3' is not a number"]),
        ("locations.csv", "schwannoma,intramedullary,0.0136,", "schwannoma,intramedullary,0.01_36,", ["share '0.01_36' is not a number"]),
        # a table whose id is not text cannot crash the loader (the rows naming it are then unknown)
        ("entities.toml", 'id = "ependymoma"', "id = {x = 1}", ["id must be text", "entity 'ependymoma' is not in entities.toml"]),
    ],
)
def test_a_curators_mistake_is_reported_once_and_nothing_crashes(tmp_path, name, old, new, expected):
    folder = _copy(tmp_path)
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    issues = _issues(folder)
    for words in expected:
        assert any(words in i.reason for i in issues), (words, issues)
    assert issues[0].path == name
    if "ependymoma" not in old:
        assert len(issues) == len(expected), issues


def test_an_unknown_name_is_said_once_for_all_its_rows(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "likelihoods.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [i for i, ln in enumerate(lines, 1) if ln.startswith("ependymoma,")]
    lines = [("ependymomma," + ln.split(",", 1)[1]) if ln.startswith("ependymoma,") else ln for ln in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reasons = [(i.path, i.row, i.reason) for i in _issues(folder)]
    assert ("likelihoods.csv", rows[0], f"entity 'ependymomma' is not in entities.toml; did you mean 'ependymoma'? "
            f"({len(rows)} rows, lines {rows[0]}-{rows[-1]})") in reasons


def test_the_rows_of_a_rejected_entity_are_still_checked(tmp_path):
    """A typo in an entity's table must not hide a probability of 1.5 in its rows."""
    folder = _copy(tmp_path)
    entities = folder / "entities.toml"
    entities.write_text(entities.read_text(encoding="utf-8").replace("mimic = false", 'mimic = "no"', 1), encoding="utf-8")
    path = folder / "likelihoods.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    row = _line_of(lines, "ependymoma,cord,expanded,")
    _set_cell(lines, row, 3, "1.5")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reasons = [(i.path, i.row, i.reason) for i in _issues(folder)]
    assert ("likelihoods.csv", row, "probability 1.5 is not strictly between 0 and 1") in reasons
    assert len(reasons) == 2


def test_the_priors_sum_is_checked_beside_a_bad_grade(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "priors.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    _set_cell(lines, _line_of(lines, "ependymoma,"), 3, "D")
    row = _line_of(lines, "astrocytoma,")
    _set_cell(lines, row, 1, str(float(lines[row - 1].split(",")[1]) + 0.5))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reasons = [i.reason for i in _issues(folder)]
    assert any(r.startswith("priors sum to 1.50") for r in reasons) and len(reasons) == 2


def test_spaces_around_the_semicolon_of_a_source_cell_are_the_same_keys(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "likelihoods.csv"
    text = path.read_text(encoding="utf-8")
    assert "DDX_ESTIMATE;" in text
    path.write_text(text.replace("DDX_ESTIMATE;", "DDX_ESTIMATE ; "), encoding="utf-8")
    kb = load_knowledge(folder)
    assert all(" " not in n.source for n in kb.likelihoods.values())


NEW_FINDING = '\n[[feature]]\nid = {id}\nkind = "{kind}"\n{values}section = "Patient"\nhelp = "a test finding"\nquestion = "Is there a test sign?"\n'


@pytest.mark.parametrize(
    "fid, kind, values, expected",
    [
        # an id is a column and an option: a space, a capital or a hyphen made click raise a TypeError
        ('"Cord Atrophy"', "yesno", "", "id must be a lower-case word"),
        ('"cord-atrophy"', "yesno", "", "id must be a lower-case word"),
        ('""', "yesno", "", "id must be a lower-case word"),
        # an id a command already has an option or a column for
        ('"format"', "yesno", "", "id 'format' is taken"),
        ('"case_id"', "yesno", "", "id 'case_id' is taken"),
        ('"help"', "yesno", "", "id 'help' is taken"),
        # ddx.assess's own keywords: such a finding could not be given as a keyword
        ('"passthrough"', "yesno", "", "id 'passthrough' is taken"),
        ('"knowledge"', "yesno", "", "id 'knowledge' is taken"),
        # a value no reader could give: input is lower-cased, ';' separates, 'unknown' is not assessed
        ('"cord_atrophy"', "choice", 'values = ["Mild", "severe"]\n', "'Mild'"),
        ('"cord_atrophy"', "choice", 'values = ["mild atrophy", "severe"]\n', "'mild atrophy'"),
        ('"cord_atrophy"', "list", 'values = ["a;b", "c"]\n', "'a;b'"),
        ('"cord_atrophy"', "choice", 'values = ["yes", "unknown"]\n', "'unknown'"),
        ('"cord_atrophy"', "choice", 'values = ["mild", "mild", "severe"]\n', "a value is given twice: mild"),
    ],
)
def test_a_finding_whose_id_or_values_no_reader_could_use_is_reported(tmp_path, fid, kind, values, expected):
    """A finding's id becomes an option and a column, and its values what a reader types: one
    that cannot be either is reported at its line, not left to crash every command."""
    folder = _copy(tmp_path)
    path = folder / "features.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + NEW_FINDING.format(id=fid, kind=kind, values=values), encoding="utf-8")
    issues = _issues(folder)
    assert len(issues) == 1 and expected in issues[0].reason, issues
    line = len(text.splitlines()) + (3 if expected.startswith("id") else 5)
    assert (issues[0].path, issues[0].row) == ("features.toml", line)


def test_the_ids_a_finding_may_not_take_include_the_keywords_of_assess():
    """A finding named as one of ddx.assess's own keywords could not be given as a keyword."""
    import inspect

    import ddx
    from ddx.knowledge.schema import RESERVED_FEATURE_IDS

    own = {name for name, p in inspect.signature(ddx.assess).parameters.items() if p.kind is not p.VAR_KEYWORD}
    assert own <= RESERVED_FEATURE_IDS


def test_the_ids_a_finding_may_not_take_are_the_options_of_the_finding_commands():
    """Every option of assess and guide that is not a finding is a reserved id (and --case-id is
    the batch's case column), so a new finding cannot take its name."""
    from ddx.cli import FEATURES
    from ddx.knowledge.schema import RESERVED_FEATURE_IDS

    for name in ("assess", "guide"):
        own = {o.lstrip("-").replace("-", "_") for p in cli.commands[name].params
               for o in p.opts + p.secondary_opts if p.name not in FEATURES}
        assert own - {"h"} <= RESERVED_FEATURE_IDS, name


def test_a_source_cited_beside_an_ungraded_one_is_not_called_the_only_source(tmp_path):
    """pictures.csv cites SEED_NERD (no grade: a primer) beside DDX_EXPERT. Taking DDX_EXPERT's
    grade away is one mistake, said once at DDX_EXPERT; SEED_NERD is not 'the only source' of anything."""
    folder = _copy(tmp_path)
    path = folder / "sources.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[DDX_EXPERT]")
    end = text.index('grade = "C"\n', start) + len('grade = "C"\n')
    path.write_text(text[:start] + text[start:end].replace('grade = "C"\n', "") + text[end:], encoding="utf-8")
    issues = _issues(folder)
    assert [(i.path, i.reason.split("]")[0]) for i in issues] == [("sources.toml", "[DDX_EXPERT")], issues
    # with no number citing it alone, it is named with the source it is cited beside
    for name in ("likelihoods.csv", "priors.csv"):
        p = folder / name
        p.write_text(p.read_text(encoding="utf-8").replace(",DDX_EXPERT,C", ",DDX_ESTIMATE,C"), encoding="utf-8")
    issues = _issues(folder)
    assert len(issues) == 1 and "[DDX_EXPERT] has no grade, nor has SEED_NERD" in issues[0].reason, issues


def test_an_entity_given_twice_is_one_problem_naming_the_first(tmp_path):
    """A table pasted twice is reported once, at the copy, with the line of the first (which is
    kept); its aliases are not each reported again as another entity's."""
    folder = _copy(tmp_path)
    path = folder / "entities.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('[[entity]]\nid = "ganglioglioma"')
    block = text[start:text.index("[[entity]]", start + 1)]
    path.write_text(text + "\n" + block, encoding="utf-8")
    first = text[:start].count("\n") + 1
    copy = len((text + "\n").splitlines()) + 1
    issues = _issues(folder)
    assert [(i.path, i.row) for i in issues] == [("entities.toml", copy)], issues
    assert f"duplicate entity id (line {first} is the first, which is kept)" in issues[0].reason


def test_an_alias_given_to_two_entities_is_reported_at_its_line(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "entities.toml"
    text = path.read_text(encoding="utf-8").replace('aliases = ["GG"', 'aliases = ["MS"', 1)
    path.write_text(text, encoding="utf-8")
    issues = _issues(folder)
    line = _line_of(text.splitlines(), 'aliases = ["MS", "multiple sclerosis"')
    assert [(i.path, i.row) for i in issues] == [("entities.toml", line)] and "alias 'MS' is also an alias" in issues[0].reason


def test_a_quote_left_open_neither_swallows_nor_shifts_the_lines_after_it(tmp_path):
    """Each line of a knowledge CSV is one row: a quote left open on line 13 is said there, and a
    bad number on line 21 is still said at line 21 (the csv module reading the whole file ran the
    quote over the following lines and numbered them one short)."""
    folder = _copy(tmp_path)
    path = folder / "likelihoods.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[12] = 'ependymoma,cord,displaced,0.03,"DDX_ESTIMATE,C'
    cells = lines[20].split(",")
    cells[3] = "0.o251"
    lines[20] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = {(i.row, i.reason.split(" (")[0]) for i in _issues(folder) if i.path == "likelihoods.csv"}
    assert (13, "a quote opened on this line is not closed") in found
    assert (21, "probability '0.o251' is not a number") in found


@pytest.mark.parametrize("name, old, new, key", [
    ("model.toml", "temperature = 1.2", 'temperature = "1.2"', "temperature ="),
    ("flags.toml", 'kind = "emergency"', 'kind = "emergncy"', 'kind = "emergncy"'),
    ("entities.toml", 'sources = ["', 'sources = ["NO_SUCH_SOURCE", "', 'sources = ["NO_SUCH_SOURCE"'),
    ("features.toml", 'occiput = "craniocervical"', 'occiput = "craniocervicl"', "[feature.alias]"),
])
def test_a_fields_mistake_is_said_at_the_fields_line(tmp_path, name, old, new, key):
    """curating.md: a mistake is reported at the line an editor shows, the field's own line in a
    TOML table (the table's alias subtable for an alias), not the table's header."""
    folder = _copy(tmp_path)
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith(key))
    if name == "features.toml":  # the alias subtable of the finding whose alias is wrong
        before = text[: text.index(new)]
        line = before[: before.rindex("[feature.alias]")].count("\n") + 1
    issues = [i for i in _issues(folder) if i.path == name]
    assert issues and issues[0].row == line, issues

