"""Reading a typed entity name (`ddx explain`, `ddx quiz`): what names an entity, what is
suggested, and what is refused with what it names instead."""

import pytest
from click.testing import CliRunner

from ddx.cli import cli
from ddx.knowledge import default_knowledge
from ddx.names import UnknownEntityError, find_entity

ENTITY_IDS = default_knowledge().entity_ids


@pytest.mark.parametrize(
    "text, expected",
    [("meningioma", "meningioma"), ("Spinal meningioma", "meningioma"), ("DURAL-AV-FISTULA", "dural_av_fistula"), (" schwannoma ", "schwannoma")],
)
def test_find_entity_by_id_or_name(kb, text, expected):
    assert find_entity(kb, text).id == expected


@pytest.mark.parametrize("text, guess", [("schwanoma", "schwannoma"), ("menigioma", "meningioma"), ("xyzzy", None)])
def test_find_entity_suggests_the_closest(kb, text, guess):
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert info.value.guess == guess
    assert ("did you mean" in str(info.value)) == (guess is not None)


@pytest.mark.parametrize("entity_id", ENTITY_IDS)
def test_every_id_name_and_alias_names_its_entity(kb, entity_id):
    entity = kb.entity(entity_id)
    assert entity.aliases, f"{entity_id} has no aliases"
    for text in (entity.id, entity.name, entity.name.upper(), *entity.aliases):
        assert find_entity(kb, text).id == entity_id, text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("haemangioblastoma", "hemangioblastoma"),
        ("Haemangioma", "hemangioma"),
        ("spinal epidural haematoma", "epidural_hematoma"),
        ("Giant cell tumour of bone", "giant_cell_tumor"),
        ("giant cell tumor", "giant_cell_tumor"),
        ("malignant peripheral nerve sheath tumor", "mpnst"),
        ("Ewing's sarcoma", "ewing_sarcoma"),
        ("drop mets", "leptomeningeal_metastases"),
        ("drop metastasis", "leptomeningeal_metastases"),
        ("cord mets", "intramedullary_metastasis"),
        ("vertebral mets", "vertebral_metastasis"),
        ("MSCC", "vertebral_metastasis"),
        ("SFT", "solitary_fibrous_tumor"),
        ("HPC", "solitary_fibrous_tumor"),
        ("hemangiopericytoma", "solitary_fibrous_tumor"),
        ("MPNST", "mpnst"),
        ("ABC", "aneurysmal_bone_cyst"),
        ("GCT", "giant_cell_tumor"),
        ("LCH", "langerhans_cell_histiocytosis"),
        ("MS", "demyelination"),
        ("NMOSD", "demyelination"),
        ("DAVF", "dural_av_fistula"),
        ("cavernoma", "cavernous_malformation"),
        ("herniated disk", "disc_extrusion"),
        ("neurofibrom", "neurofibroma"),
        ("leptomeningeal", "leptomeningeal_metastases"),
    ],
)
def test_spellings_and_abbreviations_resolve(kb, text, expected):
    assert find_entity(kb, text).id == expected


@pytest.mark.parametrize(
    "text, candidates",
    [
        ("metastasis", {"vertebral_metastasis", "intramedullary_metastasis", "leptomeningeal_metastases"}),
        ("mets", {"vertebral_metastasis", "intramedullary_metastasis", "leptomeningeal_metastases"}),
        ("metastatic", {"vertebral_metastasis", "intramedullary_metastasis", "leptomeningeal_metastases"}),
        ("PNST", {"schwannoma", "neurofibroma", "mpnst"}),
        ("nerve sheath tumour", {"schwannoma", "neurofibroma", "mpnst"}),
        ("epidural", {"vertebral_metastasis", "lymphoma", "epidural_abscess", "epidural_hematoma"}),
        ("hemangio", {"hemangioblastoma", "hemangioma", "solitary_fibrous_tumor"}),
        ("solitary", {"solitary_fibrous_tumor", "myeloma_plasmacytoma"}),
        ("sarcoma", {"ewing_sarcoma", "osteosarcoma", "chondrosarcoma", "mpnst"}),  # neurofibrosarcoma
        ("neurofib", {"neurofibroma", "mpnst"}),  # neurofibroma, or neurofibrosarcoma (an MPNST)
    ],
)
def test_an_ambiguous_name_is_refused_with_every_candidate(kb, text, candidates):
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert info.value.ambiguous
    assert set(info.value.candidates) == candidates
    assert f"{text!r} is not a known entity on its own; did you mean " in str(info.value)
    assert all(f"'{c}'" in str(info.value) for c in candidates)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("abscess", "epidural_abscess"),
        ("hematoma", "epidural_hematoma"),
        ("haematoma", "epidural_hematoma"),
        ("osteoma", "osteoid_osteoma_osteoblastoma"),
        ("pilocytic", "astrocytoma"),
        ("fistula", "dural_av_fistula"),
        ("plasma", "myeloma_plasmacytoma"),
    ],
)
def test_a_word_of_one_entity_alone_names_it(kb, text, expected):
    assert find_entity(kb, text).id == expected


@pytest.mark.parametrize(
    "text, meant, not_meant",
    [
        ("men", {"meningioma", "leptomeningeal_metastases"}, {"disc_extrusion"}),  # not 'fragment'
        ("glioma", {"astrocytoma", "ganglioglioma"}, {"paraganglioma"}),  # ganglio-glioma, but not paragan-glioma
        ("blastoma", {"hemangioblastoma", "osteoid_osteoma_osteoblastoma", "astrocytoma"}, set()),  # glioblastoma
    ],
)
def test_suggestions_fit_words_not_any_run_of_letters(kb, text, meant, not_meant):
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert set(info.value.candidates) == meant
    assert not not_meant & set(info.value.candidates)


@pytest.mark.parametrize(
    "text",
    ["the", "of the", "intradural extramedullary", "peripheral", "angioma", "cord compression", "metastatic", "syndrome", "primary", "neoplasm"],
)
def test_a_minor_word_or_a_word_of_an_alias_names_no_entity(kb, text):
    """Words found only in aliases (a phrase such as 'metastatic spinal cord compression'), or
    minor words, are at most suggested: 'cord compression' is no diagnosis."""
    with pytest.raises(UnknownEntityError):
        find_entity(kb, text)


@pytest.mark.parametrize(
    "text, could_be",
    [
        ("conus", {"myxopapillary_ependymoma"}),
        ("cauda", {"paraganglioma"}),
        ("dural", {"dural_av_fistula"}),
        ("malignant", {"mpnst"}),
        ("aggressive", {"hemangioma"}),
        ("fibrous", {"solitary_fibrous_tumor"}),
        ("venous", {"dural_av_fistula"}),
        ("myelopathy", {"dural_av_fistula"}),
        ("malformation", {"cavernous_malformation"}),
        ("cavernous", {"cavernous_malformation"}),
        ("bone cyst", {"aneurysmal_bone_cyst"}),
        ("bone tumour", {"giant_cell_tumor"}),
        ("cyst", {"aneurysmal_bone_cyst", "arachnoid_cyst", "epidermoid_dermoid"}),
        ("solitary", {"solitary_fibrous_tumor", "myeloma_plasmacytoma"}),
    ],
)
def test_a_place_a_property_or_a_kind_of_lesion_alone_names_no_entity(kb, text, could_be):
    """'conus', 'malignant' or 'bone cyst' say where or what kind, not which: they are refused
    with what they could mean, and marked generic so that nothing reads them as a pick."""
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert set(info.value.candidates) == could_be
    assert info.value.generic
    assert f"{text!r} is not a known entity on its own; did you mean " in str(info.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dural fistula", "dural_av_fistula"),
        ("dural AV fistula", "dural_av_fistula"),
        ("filum ependymoma", "myxopapillary_ependymoma"),
        ("aneurysmal", "aneurysmal_bone_cyst"),
        ("giant cell", "giant_cell_tumor"),
        ("epidural abscess", "epidural_abscess"),
        ("vertebral mets", "vertebral_metastasis"),
        ("myxopapillary", "myxopapillary_ependymoma"),
    ],
)
def test_a_place_or_a_property_beside_a_word_that_names_the_entity_still_names_it(kb, text, expected):
    assert find_entity(kb, text).id == expected


def test_an_av_malformation_is_not_read_as_a_cavernoma(kb):
    """An AVM is no cavernous malformation: only the 'AV' of it points anywhere (to the dural AV fistula)."""
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, "AV malformation")
    assert "cavernous_malformation" not in info.value.candidates
    assert info.value.candidates == ("dural_av_fistula",)


@pytest.mark.parametrize("text", ["glio", "glioma", "Glioma"])
def test_a_start_of_a_stem_fits_as_the_whole_stem_does(kb, text):
    """'glio' starts the glioma of ganglio-glioma as it starts the glioma of the astrocytoma's
    name: both are refused alike, with both."""
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert set(info.value.candidates) == {"astrocytoma", "ganglioglioma"} and info.value.ambiguous


@pytest.mark.parametrize(
    "text, associated",
    [
        ("VHL", {"hemangioblastoma"}),
        ("von Hippel-Lindau disease", {"hemangioblastoma"}),
        ("NF2", {"ependymoma", "meningioma", "schwannoma"}),
        ("NF-1", {"astrocytoma", "neurofibroma", "mpnst"}),
        ("neurofibromatosis", {"astrocytoma", "neurofibroma", "mpnst", "ependymoma", "meningioma", "schwannoma"}),
    ],
)
def test_a_syndrome_points_to_the_entities_associated_with_it(kb, text, associated):
    """VHL is no misspelling of 'VH' (the vertebral haemangioma): it is the syndrome of the haemangioblastoma."""
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert set(info.value.candidates) == associated
    assert "is a syndrome" in str(info.value) and "associated with it" in str(info.value)


@pytest.mark.parametrize(
    "text, compartments",
    [
        ("extradural", ["extradural"]),
        ("Intradural extramedullary", ["intradural_extramedullary"]),
        ("intramedullary", ["intramedullary"]),
        ("intradural", ["intramedullary", "intradural_extramedullary"]),
        ("subdural", ["intradural_extramedullary"]),
        ("IDEM", ["intradural_extramedullary"]),
        ("im", ["intramedullary"]),
    ],
)
def test_a_compartment_is_said_to_be_one_with_where_its_entities_are_listed(kb, text, compartments):
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    message = str(info.value)
    count = sum(e.compartment in compartments for e in kb.entities)
    assert "compartment" in message and f"`ddx entities` lists {'its' if len(compartments) == 1 else 'their'} {count} entities" in message
    assert info.value.candidates == () and "did you mean" not in message


@pytest.mark.parametrize("text, option", [("syrinx", "--syrinx"), ("dural tail", "--dural-tail"), ("Bone_Pattern", "--bone-pattern")])
def test_a_finding_is_said_to_be_one_with_where_it_is_described(kb, text, option):
    """A trainee asking `ddx explain syrinx` learns it is a finding and where to read about it."""
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    message = str(info.value)
    assert "is a finding, not a known entity" in message and f"`ddx assess {option}` takes it" in message
    assert info.value.candidates == ()


@pytest.mark.parametrize("text", ["lipoma", "spinal AVM", "syrinx"])
def test_a_short_or_different_word_is_not_suggested_a_lesion_it_merely_resembles(kb, text):
    """'lipoma' is two letters from 'glioma' and 'spinal AVM' shares its 'spinal' with ten
    names: neither is a misspelling of them."""
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert info.value.candidates == () and "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    "text, meant", [("glyoma", "astrocytoma"), ("chordma", "chordoma"), ("spinal menigioma", "meningioma"), ("AVF", "dural_av_fistula")]
)
def test_a_one_letter_slip_in_a_short_word_is_still_suggested(kb, text, meant):
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert info.value.candidates == (meant,)


def test_a_start_found_only_in_aliases_is_suggested_not_taken(kb):
    """A start found only in an alias ('cavernous angio') is offered, not taken; the alias in full is taken."""
    assert "cavernous angioma" in kb.entity("cavernous_malformation").aliases
    assert find_entity(kb, "cavernous angioma").id == "cavernous_malformation"
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, "cavernous angio")
    assert info.value.candidates == ("cavernous_malformation",)


def test_a_name_of_one_entity_never_resolves_to_another(kb):
    """No id, name or alias of one entity is a spelling of another, so none is ambiguous."""
    from ddx.names import spellings

    owners = {}
    for s in spellings(kb):
        owners.setdefault(s.key, set()).add(s.entity)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_explain_takes_british_spellings_and_lists_ambiguous_candidates():
    result = CliRunner().invoke(cli, ["explain", "haemangioblastoma", "--no-sources"])
    assert result.exit_code == 0 and "(hemangioblastoma)" in result.output.splitlines()[0]
    assert "Also called: HB" in result.output
    result = CliRunner().invoke(cli, ["explain", "metastasis"])
    assert result.exit_code == 2
    assert "did you mean 'intramedullary_metastasis', 'leptomeningeal_metastases' or 'vertebral_metastasis'?" in result.output



@pytest.mark.parametrize(
    "text, expected",
    [
        ("Malignant peripheral nerve sheath tumo", "mpnst"),
        ("Spinal cord cavernous malformatio", "cavernous_malformation"),
        ("Spinal dural arteriovenous fi", "dural_av_fistula"),
        ("cavernous_malf", "cavernous_malformation"),
        ("solitary_fibrous", "solitary_fibrous_tumor"),
    ],
)
def test_a_long_start_of_one_name_or_a_start_of_an_id_names_it_though_its_words_are_generic(kb, text, expected):
    """Three words of one name, or an id being typed, say which entity, whatever the words."""
    assert find_entity(kb, text).id == expected


@pytest.mark.parametrize("text", ["spinal dural", "cavernous malf", "malignant", "intramedullary spinal cord", "spinal cord c",
                                  "spinal epidural a"])
def test_a_short_start_of_generic_words_or_one_of_places_is_suggested_not_taken(kb, text):
    with pytest.raises(UnknownEntityError):
        find_entity(kb, text)


def test_the_syndromes_are_the_values_of_the_syndrome_finding(kb):
    from ddx.names import _syndromes

    feature = kb.features["syndrome"]
    assert set(_syndromes(kb)) == {v for v in feature.values if v != feature.exclusive}


def test_more_words_than_any_name_has_are_not_read_one_by_one(kb):
    """A line of thousands of words is refused without reading each word against every entity."""
    from ddx.names import _one_by_one

    named = {e.id: {"meningioma"} for e in kb.entities[:1]}
    assert _one_by_one(kb, named, ["xyzzy"] * 5000 + ["meningioma"]) == (kb.entities[0].id,)  # repeats read once
    assert _one_by_one(kb, named, [f"w{i}" for i in range(5000)] + ["meningioma"]) == ()  # past ONE_BY_ONE words


def test_a_line_of_many_names_still_gets_its_suggestions(kb):
    text = "ependymoma astrocytoma hemangioblastoma ganglioglioma cavernoma myelitis fistula schwannoma meningioma"
    with pytest.raises(UnknownEntityError) as info:
        find_entity(kb, text)
    assert {"ependymoma", "astrocytoma", "meningioma"} <= set(info.value.candidates)


@pytest.mark.parametrize("name", ["TB", "tb", "spinal tuberculosis", "Pott disease"])
def test_tuberculosis_of_the_spine_names_the_abscess_entity(kb, name):
    """Tuberculous spondylitis is filed under the epidural abscess / spondylodiscitis entity: a
    trainee who looks up TB finds its card."""
    from ddx.names import find_entity

    assert find_entity(kb, name).id == "epidural_abscess"

