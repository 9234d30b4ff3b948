"""Each entity's textbook picture, as the evidence dossier describes it, puts that entity first.

The dossier (../shared/evidence/dossier.md) closes every entity with its
discriminators: the findings that tell it from its neighbours. Entered as a
reader would enter them, with the compartment signs of the entity's usual
compartment, those findings must make the entity the leading candidate; where
the dossier itself says an entity looks like another (a solitary fibrous
tumour "looks like a meningioma"), the two must lead together. These guard
the typical case while the tables change: a literature sweep that loses a
textbook pattern should be seen. They use only the packaged knowledge base.
"""

from __future__ import annotations

import pytest

import ddx

IM = {"cord": "expanded", "csf": "effaced"}
IDEM = {"cord": "displaced", "csf": "widened", "csf_cap": "yes"}
ED = {"dural_sac_displaced": "yes", "csf": "tapered"}

#: entity -> (dossier lines, findings): the entity's discriminators in dossier.md, read literally
LEADS = {
    "ependymoma": ("33-46: central, enhancing, polar cysts/syrinx, cap sign, oedema; cervical-thoracic, ~39 y",
                   {**IM, "age": 39, "sex": "male", "level": "cervical", "cord_position": "central",
                    "enhancement": "homogeneous", "syrinx": "yes", "hemosiderin_cap": "yes", "cord_edema": "yes"}),
    "astrocytoma": ("55-61: eccentric, ill-defined, patchy or no enhancement, syrinx less frequent",
                    {**IM, "age": 10, "level": "cervical;thoracic", "cord_position": "eccentric",
                     "enhancement": "patchy", "syrinx": "no", "segments": 6}),
    "hemangioblastoma": ("71-76: small brightly enhancing nodule with a cyst, syrinx, flow voids",
                         {**IM, "age": 35, "enhancement": "mural_nodule", "cystic": "yes", "syrinx": "yes",
                          "flow_voids": "yes"}),
    "cavernous_malformation": ("113-116: mixed core, complete haemosiderin rim, little or no enhancement, no oedema",
                               {**IM, "age": 40, "t2_signal": "mixed", "hemorrhage": "yes", "hemosiderin_cap": "yes",
                                "enhancement": "none", "cord_edema": "no", "segments": 1}),
    "dural_av_fistula": ("142-146: long central cord T2 oedema to the conus, perimedullary flow voids, patchy enhancement",
                         {"cord": "expanded", "age": 65, "sex": "male", "level": "thoracic", "conus_cauda": "yes",
                          "cord_edema": "yes", "flow_voids": "yes", "enhancement": "patchy", "segments": 8}),
    "demyelination": ("121-126: short peripheral plaque, cord calibre unchanged, cervical, young woman",
                      {"cord": "normal", "age": 30, "sex": "female", "level": "cervical", "cord_position": "eccentric",
                       "segments": 1, "enhancement": "patchy"}),
    "intramedullary_metastasis": ("86-91: short, avidly enhancing, rim sign, oedema out of proportion, no cyst",
                                  {**IM, "age": 60, "known_primary": "yes", "enhancement": "rim", "cord_edema": "yes",
                                   "segments": 1, "cystic": "no"}),
    "ganglioglioma": ("101-104: very long, eccentric, cysts, patchy enhancement, little oedema, bony remodelling",
                      {**IM, "age": 12, "segments": 9, "cord_position": "eccentric", "cystic": "yes",
                       "enhancement": "patchy", "cord_edema": "no", "scalloping": "yes"}),
    "meningioma": ("158-163: broad dural base, T2 close to cord, uniform enhancement, dural tail, calcification",
                   {**IDEM, "age": 62, "sex": "female", "level": "thoracic", "t2_signal": "iso",
                    "enhancement": "homogeneous", "dural_tail": "yes", "calcification": "yes"}),
    "schwannoma": ("171-177: bright heterogeneous T2 with cysts, rim enhancement, foraminal extension, no dural tail",
                   {**IDEM, "age": 45, "t2_signal": "hyper", "cystic": "yes", "enhancement": "rim",
                    "foraminal_extension": "yes", "dural_tail": "no"}),
    "neurofibroma": ("185-188: fusiform, multilevel, dumbbell, target sign",
                     {**IDEM, "age": 25, "foraminal_extension": "yes", "target_sign": "yes",
                      "multiplicity": "multiple", "syndrome": "nf1"}),
    "myxopapillary_ependymoma": ("208-211: sausage-shaped filum mass over 2-4 segments, T2 bright, enhancing",
                                 {**IDEM, "age": 35, "level": "lumbar", "conus_cauda": "yes", "segments": 3,
                                  "t2_signal": "hyper", "enhancement": "homogeneous"}),
    "leptomeningeal_metastases": ("227-229: enhancement coating the cord surface and roots, known cancer",
                                  {"age": 58, "known_primary": "yes", "enhancement": "leptomeningeal",
                                   "multiplicity": "multiple", "conus_cauda": "yes"}),
    "epidermoid_dermoid": ("249-251: CSF-like cyst bright on diffusion, no enhancement, lumbosacral",
                           {**IDEM, "age": 30, "level": "lumbar", "conus_cauda": "yes", "cystic": "yes",
                            "restricted_diffusion": "yes", "enhancement": "none"}),
    "arachnoid_cyst": ("258-259: CSF signal on every sequence, no enhancement, no restricted diffusion, cord displaced",
                       {**IDEM, "age": 45, "level": "thoracic", "t1_signal": "hypo", "t2_signal": "hyper",
                        "enhancement": "none", "restricted_diffusion": "no", "cystic": "yes"}),
    "vertebral_metastasis": ("272-276: body and pedicle, dark T1 bright T2, epidural soft tissue, spared disc",
                             {**ED, "age": 68, "known_primary": "yes", "level": "thoracic", "vertebral_body": "yes",
                              "posterior_elements": "yes", "t1_signal": "hypo", "t2_signal": "hyper",
                              "disc_involved": "no"}),
    "lymphoma": ("298-302: homogeneous epidural sheet over 2-3 segments, T1 iso, out through the foramina, even enhancement",
                 {**ED, "age": 55, "t1_signal": "iso", "segments": 3, "foraminal_extension": "yes",
                  "paraspinal_mass": "yes", "enhancement": "homogeneous", "pathologic_fracture": "no"}),
    "hemangioma": ("310-311: fat-rich body lesion, bright on T1 and T2, polka dots",
                   {"age": 55, "vertebral_body": "yes", "t1_signal": "hyper", "t2_signal": "hyper",
                    "bone_pattern": "coarse_trabeculae"}),
    "chordoma": ("321-323: midline destructive body mass, large soft-tissue component, very bright T2, sacral",
                 {**ED, "age": 60, "level": "sacral", "vertebral_body": "yes", "paraspinal_mass": "yes",
                  "t2_signal": "hyper", "bone_pattern": "lytic"}),
    "chondrosarcoma": ("329-335: calcified matrix, T2-bright lobules, septal enhancement, paraspinal mass, posterior elements",
                       {**ED, "age": 45, "calcification": "yes", "t2_signal": "hyper", "enhancement": "heterogeneous",
                        "paraspinal_mass": "yes", "posterior_elements": "yes"}),
    "giant_cell_tumor": ("341-344: expansile lytic body lesion, no matrix, collapse, low T2, fluid levels, soft-tissue mass",
                         {**ED, "age": 30, "vertebral_body": "yes", "bone_pattern": "expansile",
                          "calcification": "no", "pathologic_fracture": "yes", "t2_signal": "hypo",
                          "paraspinal_mass": "yes"}),
    "aneurysmal_bone_cyst": ("350-352: expansile multiloculated blood-filled cysts with fluid levels",
                             {"age": 14, "posterior_elements": "yes", "bone_pattern": "expansile", "cystic": "yes",
                              "hemorrhage": "yes"}),
    "osteoid_osteoma_osteoblastoma": ("356-361: adolescent, posterior elements, mineralised nidus",
                                      {"age": 15, "posterior_elements": "yes", "calcification": "yes",
                                       "vertebral_body": "no"}),
    "ewing_sarcoma": ("365-369: young, sacral, permeative lytic body and posterior elements, soft-tissue mass, restricted diffusion",
                      {**ED, "age": 15, "level": "sacral", "bone_pattern": "lytic", "vertebral_body": "yes",
                       "posterior_elements": "yes", "paraspinal_mass": "yes", "restricted_diffusion": "yes"}),
    "osteosarcoma": ("372-376: mineralised osteoid matrix, posterior elements with partial body involvement",
                     {**ED, "age": 35, "bone_pattern": "sclerotic", "calcification": "yes", "posterior_elements": "yes",
                      "vertebral_body": "yes", "paraspinal_mass": "yes"}),
    "langerhans_cell_histiocytosis": ("381-383: lytic body lesion collapsing to vertebra plana, discs preserved, a child",
                                      {"age": 6, "vertebral_body": "yes", "bone_pattern": "lytic",
                                       "pathologic_fracture": "yes", "disc_involved": "no"}),
    "epidural_abscess": ("391-394: T2-bright T1-dark epidural collection, rim enhancement, discitis-osteomyelitis",
                         {**ED, "age": 57, "t1_signal": "hypo", "t2_signal": "hyper", "enhancement": "rim",
                          "disc_involved": "yes", "vertebral_body": "yes"}),
    "epidural_hematoma": ("403-406: dorsal epidural collection, no solid enhancement, normal bone, older patient",
                          {**ED, "age": 65, "level": "cervical;thoracic", "hemorrhage": "yes", "enhancement": "none",
                           "vertebral_body": "no"}),
    "disc_extrusion": ("414-417: ventral epidural fragment at a lumbar disc, peripheral enhancement, middle age",
                       {**ED, "age": 45, "level": "lumbar", "enhancement": "rim", "segments": 1,
                        "vertebral_body": "no"}),
}

#: entity -> (dossier lines, the entity it is told from, findings): the two lead together
LEAD_TOGETHER = {
    "solitary_fibrous_tumor": ("238-240: looks like a meningioma, but lacks the dural tail and calcification", "meningioma",
                               {**IDEM, "age": 50, "t1_signal": "iso", "t2_signal": "iso", "enhancement": "homogeneous",
                                "dural_tail": "no", "calcification": "no"}),
    "mpnst": ("196-199: versus a benign nerve sheath tumour: oedema, heterogeneous enhancement, loss of the target sign", "neurofibroma",
              {**IDEM, "age": 35, "syndrome": "nf1", "foraminal_extension": "yes", "enhancement": "heterogeneous",
               "target_sign": "no", "paraspinal_mass": "yes", "cord_edema": "yes"}),
    "myeloma_plasmacytoma": ("287-291: marrow infiltration, compression fractures, disc spared, several lesions; "
                             "metastasis (272-276) shares every one of these", "vertebral_metastasis",
                             {"age": 65, "vertebral_body": "yes", "multiplicity": "multiple", "pathologic_fracture": "yes",
                              "disc_involved": "no", "bone_pattern": "lytic"}),
    "paraganglioma": ("217-219: versus myxopapillary ependymoma: flow voids, dark rim, intense enhancement", "myxopapillary_ependymoma",
                      {**IDEM, "age": 50, "level": "lumbar", "conus_cauda": "yes", "flow_voids": "yes",
                       "hemosiderin_cap": "yes", "enhancement": "homogeneous"}),
}


def _assess(findings: dict):
    return ddx.assess(**{k: str(v) for k, v in findings.items()})


def _top(a, n: int) -> list[str]:
    return [c.id for c in a.candidates[:n]]


@pytest.mark.parametrize("entity", sorted(LEADS))
def test_the_dossier_pattern_puts_the_entity_first(entity):
    line, findings = LEADS[entity]
    a = _assess(findings)
    assert _top(a, 1) == [entity], f"dossier.md {line}: got {[(c.id, round(c.probability, 2)) for c in a.candidates[:3]]}"


@pytest.mark.parametrize("entity", sorted(LEAD_TOGETHER))
def test_a_look_alike_leads_with_the_entity_it_resembles(entity):
    """The two lead together: the entity first or second, its twin beside it among the first
    three, never more than a point and a half behind the second (with no level given, a rare
    filum tumour edges the meningioma behind a solitary fibrous tumour: 20.2% and 19.2%)."""
    line, twin, findings = LEAD_TOGETHER[entity]
    a = _assess(findings)
    shown = f"dossier.md {line}: got {[(c.id, round(c.probability, 4)) for c in a.candidates[:3]]}"
    assert entity in _top(a, 2) and twin in _top(a, 3), shown
    assert a.probability(twin) >= a.candidates[1].probability - 0.015, shown
