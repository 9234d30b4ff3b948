"""Thirty classic presentations a resident must recognise, as a textbook describes them.

Written from standard teaching (not from the published or blind-coded cases, which the
benchmark keeps apart): each names the findings a textbook gives and the entity it teaches.
The answer must be in the top three, in the right compartment, and first for all but three,
whose misses are known and said below, so that a change to the knowledge base that breaks a
classic reading fails here rather than in a trainee's hands.
"""

from __future__ import annotations

import pytest

import ddx

#: (what the textbook teaches, the entity, the findings as `ddx assess` options)
CLASSIC = [
    ('Ependymoma: adult, central cervical, haemosiderin cap, syrinx', 'ependymoma',
     '--age 40 --sex male --level cervical --segments 4 --cord expanded --csf effaced --cord-position central --enhancement homogeneous --t2-signal hyper --hemosiderin-cap yes --syrinx yes --cord-edema yes'),
    ('Astrocytoma: child, eccentric, long segment, ill-defined patchy', 'astrocytoma',
     "--age 8 --level 'cervical;thoracic' --segments 7 --cord expanded --csf effaced --cord-position eccentric --enhancement patchy --t2-signal hyper --cystic yes --hemosiderin-cap no"),
    ('Haemangioblastoma: VHL, cyst+mural nodule, syrinx, flow voids', 'hemangioblastoma',
     '--age 35 --syndrome vhl --level cervical --cord expanded --cord-position eccentric --enhancement mural_nodule --cystic yes --syrinx yes --flow-voids yes --cord-edema yes'),
    ('Cord metastasis: known primary, short, rim enhancement, oedema out of proportion', 'intramedullary_metastasis',
     '--age 62 --known-primary yes --level thoracic --segments 1 --cord expanded --csf effaced --enhancement rim --cord-edema yes --cystic no'),
    ('Ganglioglioma: child, very long, eccentric, patchy, cysts, no oedema, bony remodelling', 'ganglioglioma',
     "--age 10 --level 'cervical;thoracic' --segments 8 --cord expanded --cord-position eccentric --enhancement patchy --cystic yes --cord-edema no --scalloping yes"),
    ('Cavernoma: popcorn mixed T2, haemosiderin rim, no enhancement, no oedema', 'cavernous_malformation',
     '--age 40 --level cervical --segments 1 --cord normal --t2-signal mixed --hemosiderin-cap yes --hemorrhage yes --enhancement none --cord-edema no'),
    ('MS: young woman, short (<2 seg) peripheral/dorsolateral, multiple, no swelling', 'demyelination',
     '--age 30 --sex female --level cervical --segments 1 --multiplicity multiple --cord normal --cord-position eccentric --t2-signal hyper --enhancement patchy'),
    ('NMOSD: LETM >=3 seg, central, swollen cord', 'demyelination',
     "--age 40 --sex female --level 'cervical;thoracic' --segments 6 --cord expanded --csf effaced --cord-position central --t2-signal hyper --enhancement patchy --cord-edema yes"),
    ('Dural AVF: older man, conus oedema, long central T2, dorsal flow voids', 'dural_av_fistula',
     '--age 65 --sex male --level thoracic --conus-cauda yes --segments 6 --cord expanded --cord-position central --t2-signal hyper --cord-edema yes --flow-voids yes --enhancement patchy'),
    ('Meningioma: older woman, thoracic, dural tail, calcified', 'meningioma',
     '--age 62 --sex female --level thoracic --cord displaced --csf widened --csf-cap yes --enhancement homogeneous --dural-tail yes --calcification yes --t2-signal iso'),
    ('Schwannoma: dumbbell, target sign, cystic, widened foramen', 'schwannoma',
     '--age 45 --level cervical --cord displaced --csf widened --csf-cap yes --foraminal-extension yes --target-sign yes --enhancement heterogeneous --cystic yes --t2-signal hyper --scalloping yes'),
    ('Neurofibroma: NF1, multiple, bilateral dumbbell, target sign', 'neurofibroma',
     '--age 20 --syndrome nf1 --multiplicity multiple --level cervical --foraminal-extension yes --target-sign yes --t2-signal hyper --enhancement homogeneous --paraspinal-mass yes --scalloping yes'),
    ('Myxopapillary ependymoma: young adult, filum, sausage, T1 bright, scalloping', 'myxopapillary_ependymoma',
     '--age 30 --sex male --level lumbar --conus-cauda yes --segments 3 --cord displaced --csf widened --csf-cap yes --enhancement homogeneous --t1-signal hyper --hemorrhage yes --scalloping yes'),
    ('Paraganglioma: cauda equina, flow voids, cap sign, intense enhancement', 'paraganglioma',
     '--age 50 --sex male --level lumbar --conus-cauda yes --cord displaced --csf widened --csf-cap yes --enhancement homogeneous --flow-voids yes --hemosiderin-cap yes --hemorrhage yes'),
    ('Drop metastases: known primary, multiple nodular leptomeningeal, cauda', 'leptomeningeal_metastases',
     "--age 55 --known-primary yes --multiplicity multiple --level 'thoracic;lumbar' --conus-cauda yes --enhancement leptomeningeal"),
    ('Epidermoid: cauda, restricted diffusion, CSF-like, no enhancement', 'epidermoid_dermoid',
     '--age 30 --level lumbar --conus-cauda yes --cord displaced --csf widened --t1-signal hypo --t2-signal hyper --enhancement none --restricted-diffusion yes --cystic yes'),
    ('Arachnoid cyst: dorsal thoracic, CSF signal, no enhancement, no DWI', 'arachnoid_cyst',
     '--age 50 --level thoracic --segments 3 --cord displaced --csf widened --t1-signal hypo --t2-signal hyper --enhancement none --restricted-diffusion no --cystic yes'),
    ('Vertebral metastasis: known primary, pedicle, pathological fracture, epidural', 'vertebral_metastasis',
     '--age 65 --known-primary yes --level thoracic --multiplicity multiple --vertebral-body yes --posterior-elements yes --bone-pattern lytic --pathologic-fracture yes --t1-signal hypo --enhancement heterogeneous --disc-involved no --dural-sac-displaced yes --csf tapered --cord compressed'),
    ('Plasmacytoma: solitary lytic body, mini-brain, collapse', 'myeloma_plasmacytoma',
     '--age 60 --sex male --known-primary no --level thoracic --multiplicity single --vertebral-body yes --bone-pattern lytic --pathologic-fracture yes --enhancement homogeneous --disc-involved no'),
    ('Lymphoma: epidural wrap through foramen, bone relatively spared, T2 iso, DWI', 'lymphoma',
     '--age 60 --level thoracic --segments 4 --dural-sac-displaced yes --csf tapered --cord compressed --vertebral-body no --foraminal-extension yes --paraspinal-mass yes --enhancement homogeneous --t2-signal iso --restricted-diffusion yes'),
    ('Haemangioma: corduroy/polka-dot, T1 & T2 bright, fat', 'hemangioma',
     '--age 50 --level thoracic --segments 1 --vertebral-body yes --posterior-elements no --bone-pattern coarse_trabeculae --t1-signal hyper --t2-signal hyper --fat yes --cord normal'),
    ('Chordoma: older man, sacral, very T2 bright, destructive, presacral mass', 'chordoma',
     '--age 60 --sex male --level sacral --vertebral-body yes --bone-pattern lytic --t2-signal hyper --paraspinal-mass yes --calcification yes --enhancement heterogeneous'),
    ('GCT: young woman, sacrum, expansile lytic, low-intermediate T2', 'giant_cell_tumor',
     '--age 30 --sex female --level sacral --vertebral-body yes --bone-pattern expansile --t2-signal hypo --enhancement heterogeneous --calcification no'),
    ('ABC: teenager, posterior elements, expansile, fluid-fluid levels (blood)', 'aneurysmal_bone_cyst',
     '--age 14 --level thoracic --posterior-elements yes --bone-pattern expansile --cystic yes --hemorrhage yes --t2-signal mixed --enhancement rim'),
    ('Osteoid osteoma: teenage boy, posterior elements, sclerotic nidus', 'osteoid_osteoma_osteoblastoma',
     '--age 15 --sex male --level lumbar --segments 1 --posterior-elements yes --vertebral-body no --bone-pattern sclerotic --enhancement homogeneous'),
    ('LCH: child, vertebra plana, discs preserved', 'langerhans_cell_histiocytosis',
     '--age 6 --level thoracic --segments 1 --vertebral-body yes --posterior-elements no --pathologic-fracture yes --bone-pattern lytic --disc-involved no --enhancement homogeneous'),
    ('Ewing sarcoma: teen, sacrum, permeative lytic, big soft tissue, DWI', 'ewing_sarcoma',
     '--age 14 --level sacral --vertebral-body yes --bone-pattern lytic --paraspinal-mass yes --enhancement heterogeneous --restricted-diffusion yes --t2-signal iso'),
    ('Epidural abscess: discitis-osteomyelitis, rim enhancement, DWI, psoas', 'epidural_abscess',
     '--age 60 --level lumbar --segments 3 --disc-involved yes --vertebral-body yes --enhancement rim --restricted-diffusion yes --dural-sac-displaced yes --csf tapered --paraspinal-mass yes --t2-signal hyper'),
    ('Epidural haematoma: multi-segment, no bone, blood signal', 'epidural_hematoma',
     "--age 70 --level 'cervical;thoracic' --segments 4 --dural-sac-displaced yes --csf tapered --cord compressed --vertebral-body no --disc-involved no --hemorrhage yes --t1-signal iso --t2-signal mixed --enhancement none"),
    ('Disc extrusion: lumbar, continuous with disc, peripheral enhancement', 'disc_extrusion',
     '--age 45 --level lumbar --segments 1 --dural-sac-displaced yes --csf tapered --vertebral-body no --disc-involved yes --enhancement rim --t1-signal iso'),
]

#: The three whose answer is second or third, and why: each is a known limit, not a target
#: met by accident. A childhood astrocytoma and a cystic dumbbell schwannoma rank behind a
#: rarer neighbour because the default priors even out each compartment (the note on the other
#: priors says so; with --priors registry both come first); an NMOSD myelitis is one subtype
#: of demyelination, whose rates mix it with short MS plaques.
SECOND_OR_THIRD = {"Astrocytoma: child, eccentric, long segment, ill-defined patchy",
                   "NMOSD: LETM >=3 seg, central, swollen cord",
                   "Schwannoma: dumbbell, target sign, cystic, widened foramen"}


def _options(text: str) -> dict[str, str]:
    import shlex

    words = shlex.split(text)
    return {k.removeprefix("--").replace("-", "_"): v for k, v in zip(words[::2], words[1::2])}


@pytest.mark.parametrize("label, entity, options", CLASSIC, ids=[c[0].split(":")[0] for c in CLASSIC])
def test_a_classic_presentation_reads_as_its_textbook_answer(label, entity, options):
    a = ddx.assess(**_options(options))
    ranked = [c.id for c in a.candidates]
    assert a.compartment == ddx.knowledge.default_knowledge().entity(entity).compartment, (label, a.compartment)
    if label in SECOND_OR_THIRD:
        assert ranked.index(entity) in (1, 2), (label, ranked[:3])
    else:
        assert ranked[0] == entity, (label, ranked[:3])


def test_the_known_misses_read_first_with_the_registry_priors_where_the_priors_are_the_cause():
    registry = ddx.load_knowledge(model={"prior_flattening": 1})
    for label, entity, options in CLASSIC:
        if label in SECOND_OR_THIRD and not label.startswith("NMOSD"):
            assert ddx.assess(**_options(options), knowledge=registry).candidates[0].id == entity, label
