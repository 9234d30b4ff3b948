"""The teaching points of the seed texts (../shared/seeds/), one test each, each citing its seed line.

These are the clinical specification the model must meet. They use only the
packaged knowledge base and never read ../shared, so they run from any checkout
or installed wheel. Probabilities are compared with thresholds, never exactly.
"""

from __future__ import annotations

import pytest

import ddx

IM = "intramedullary"
IDEM = "intradural_extramedullary"
ED = "extradural"

IDEM_SIGNS = {"cord": "displaced", "csf": "widened", "csf_cap": "yes"}
NERVE_SHEATH = {**IDEM_SIGNS, "foraminal_extension": "yes", "target_sign": "yes"}


def compartment_probability(a, compartment: str) -> float:
    return next(c.probability for c in a.compartments if c.id == compartment)


def top_ids(a, n: int) -> list[str]:
    return [c.id for c in a.candidates[:n]]


def describe(a) -> str:
    """What the model said, for the failure message."""
    compartments = ", ".join(f"{c.id} {c.probability:.3f}" for c in a.compartments)
    candidates = ", ".join(f"{c.id} {c.probability:.3f}" for c in a.candidates[:5])
    flags = ", ".join(f"{f.kind}:{f.entity}" for f in a.flags) or "none"
    return f"compartments [{compartments}]; top [{candidates}]; flags [{flags}]"


class TestCompartmentSigns:
    def test_intramedullary_mass_expands_the_cord_and_thins_the_csf(self):
        """An expanded cord with effaced CSF is intramedullary with probability above 0.8 (seed 004_4b5d729d7af6767e.txt line 22: "An intramedullary tumor expands the cord and pinches the CSF thin.")."""
        a = ddx.assess(cord="expanded", csf="effaced")
        assert a.compartment == IM, describe(a)
        assert compartment_probability(a, IM) > 0.8, describe(a)

    def test_idem_mass_displaces_the_cord_and_caps_the_csf(self):
        """A displaced cord with widened, capped CSF is intradural extramedullary above 0.8 (seed 004_4b5d729d7af6767e.txt line 22: "An intradural-extramedullary tumor displaces the cord and widens the CSF on its side with sharp caps"; also lines 8 and 18)."""
        a = ddx.assess(**IDEM_SIGNS)
        assert a.compartment == IDEM, describe(a)
        assert compartment_probability(a, IDEM) > 0.8, describe(a)

    def test_extradural_mass_pushes_the_sac_in_and_tapers_the_csf(self):
        """A dural sac pushed inward with tapered CSF is extradural above 0.8 (seed 004_4b5d729d7af6767e.txt line 22: "An extradural mass pushes the whole dural sac inward, tapering the CSF from outside.")."""
        a = ddx.assess(dural_sac_displaced="yes", csf="tapered")
        assert a.compartment == ED, describe(a)
        assert compartment_probability(a, ED) > 0.8, describe(a)


class TestIntraduralExtramedullary:
    def test_dumbbell_and_target_sign_mean_a_nerve_sheath_tumour(self):
        """IDEM signs with foraminal extension (dumbbell) and a target sign put schwannoma and neurofibroma first and second (seed 004_4b5d729d7af6767e.txt lines 33, 37-38: "the famous dumbbell shape", "the target sign leans toward a nerve sheath tumor")."""
        a = ddx.assess(**NERVE_SHEATH)
        assert set(top_ids(a, 2)) == {"schwannoma", "neurofibroma"}, describe(a)

    def test_meningioma_in_an_older_womans_thoracic_spine(self):
        """A 65-year-old woman's thoracic IDEM mass with uniform enhancement and a dural tail is meningioma first (seed 004_4b5d729d7af6767e.txt lines 31 and 36: "Meningiomas ... love the thoracic spine, and skew toward older women ... enhance briskly and uniformly ... the dural tail")."""
        a = ddx.assess(sex="female", age=65, level="thoracic", **IDEM_SIGNS, enhancement="homogeneous", dural_tail="yes")
        assert top_ids(a, 1) == ["meningioma"], describe(a)

    def test_multiple_nerve_sheath_tumours_are_a_syndrome_flag(self):
        """Multiple nerve sheath tumours raise the neurofibromatosis flag (seed 004_4b5d729d7af6767e.txt line 41: "Multiplicity is a syndrome flag, not a coincidence.")."""
        a = ddx.assess(**NERVE_SHEATH, multiplicity="multiple")
        flags = [f for f in a.flags if f.kind == "syndrome" and "neurofibromatosis" in f.message.lower()]
        assert flags, describe(a)

    def test_a_nerve_sheath_tumour_in_a_young_patient_is_a_syndrome_flag(self):
        """A nerve sheath tumour in a 16-year-old raises the neurofibromatosis flag (seed 004_4b5d729d7af6767e.txt line 41: "or a nerve sheath tumor in a young patient, your brain should whisper neurofibromatosis")."""
        a = ddx.assess(**NERVE_SHEATH, age=16)
        flags = [f for f in a.flags if f.kind == "syndrome" and "neurofibromatosis" in f.message.lower()]
        assert flags, describe(a)

    def test_drop_metastases_are_flagged_with_whole_neuraxis_imaging(self):
        """Multiple leptomeningeal enhancement with a known primary flags leptomeningeal metastases as don't-miss, advising post-contrast imaging of the whole neuraxis (seed 004_4b5d729d7af6767e.txt line 51: "the study isn't complete without post-gadolinium imaging — and ideally imaging the whole neuraxis"; line 10: "The scary diagnosis to never miss is drop metastases")."""
        a = ddx.assess(enhancement="leptomeningeal", multiplicity="multiple", known_primary="yes")
        flags = [f for f in a.flags if f.kind == "dont_miss" and f.entity == "leptomeningeal_metastases"]
        assert flags, describe(a)
        assert "neuraxis" in flags[0].action.lower()
        assert "contrast" in flags[0].action.lower()


class TestMetastases:
    def test_most_spinal_tumours_are_extradural_metastases(self):
        """With no findings the extradural compartment leads and vertebral metastasis is the first candidate (seed 001_762e340119a142f7.txt line 33: "Most spinal tumors are extradural."; seed 002_ac549714a2a52ae4.txt lines 9 and 16: secondary tumours are "by far the more common type", "More than 95% ... extradural")."""
        a = ddx.assess()
        assert a.compartment == ED, describe(a)
        assert top_ids(a, 1) == ["vertebral_metastasis"], describe(a)

    def test_thoracic_level_raises_vertebral_metastasis(self):
        """A thoracic level makes vertebral metastasis more likely than with no findings (seed 002_ac549714a2a52ae4.txt lines 31-33: "most occur in the thoracic ... 70%"; seed 003_80ab5acf81522a00.txt line 19: "The thoracic spine ... is the most common place for metastatic spine cancer.")."""
        before = ddx.assess().probability("vertebral_metastasis")
        after = ddx.assess(level="thoracic")
        assert after.probability("vertebral_metastasis") > before, describe(after)

    def test_known_primary_with_a_vertebral_lesion_is_metastasis_until_proven_otherwise(self):
        """A known primary with vertebral body involvement ranks vertebral metastasis first and flags it (seed 001_762e340119a142f7.txt line 65: "Any new or unexplained back pain in a patient with cancer should be thoroughly investigated."; seed 002_ac549714a2a52ae4.txt line 41)."""
        a = ddx.assess(known_primary="yes", vertebral_body="yes")
        assert top_ids(a, 1) == ["vertebral_metastasis"], describe(a)
        assert "vertebral_metastasis" in a.flagged, describe(a)

    @pytest.mark.parametrize("extra", [{}, {"dural_sac_displaced": "yes", "vertebral_body": "yes", "known_primary": "yes"}, {"cord_edema": "yes"}])
    def test_cord_compression_is_an_emergency(self, extra):
        """A compressed cord raises the emergency flag, first among the flags (seed 001_762e340119a142f7.txt lines 63-70: "Treatment should be given quickly ... Emergency surgery may be needed to relieve compression"; seed 004_4b5d729d7af6767e.txt line 60: "which is its own emergency")."""
        a = ddx.assess(cord="compressed", **extra)
        assert a.flags and a.flags[0].kind == "emergency", describe(a)
        assert "compress" in a.flags[0].message.lower()
