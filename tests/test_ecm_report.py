"""The participant report's format: encoding, transliteration and every rule the project checks
before a report leaves it (no database: the writer and its checks over plain values)."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from courses.reference import default_reference
from ecm.models import EcmEvent
from ecm.participant_report import (ENCODING, Participant, ParticipantChecker, ReportRefused, check_event_attributes,
                                    event_attributes, transliterate, write)
from tests.courses_support import make_cf

REFERENCE = default_reference()


def event(**overrides) -> EcmEvent:
    values = dict(code="123-4567", edition=1, title="FSE 2.0", provider_code="123", accrediting_body_code="090",
                  start_date=date(2026, 1, 15), end_date=date(2026, 12, 31), hours=4, tutoring=False,
                  credits=Decimal("4.0"), training_form=1, training_typology=10, event_type="E", objective_code=18,
                  professions={"14": [85], "1": [58, 60]}, course_code="FAD-FSE")
    values.update(overrides)
    return EcmEvent(**values)


def person(n: int = 1, professions=(("14", ("85",)),), **overrides) -> Participant:
    attributes = {"cod_fisc": make_cf(n), "nome": "NICCOLO'", "cognome": "ROSSI", "ruolo": "P", "lib_dip": "D",
                  "part_reclutato": "0", "cred_acq": "4.0", "data_acq": "2026-10-05"}
    attributes.update(overrides)
    return Participant(attributes, tuple(professions))


def written(people, **event_overrides) -> bytes:
    out = io.BytesIO()
    write(out, event(**event_overrides), people, len(people), REFERENCE)
    return out.getvalue()


def problems_of(people, **event_overrides) -> list[tuple[str, str]]:
    with pytest.raises(ReportRefused) as refused:
        written(people, **event_overrides)
    return [(p.field, p.rule) for p in refused.value.problems]


@pytest.mark.parametrize("name, expected", [
    ("Niccolò", "NICCOLO'"), ("Müller", "MULLER"), ("Łukasz", "LUKASZ"), ("D’Angelo", "D'ANGELO"),
    ("François", "FRANCOIS"), ("Anna-Maria  de\tRossi", "ANNA-MARIA DE ROSSI"), ("José", "JOSE'"),
    ("Sant'Agata", "SANT'AGATA"), ("Öğün", "OGUN"), ("Lì 3°", "LI'"),
])
def test_names_are_transliterated_to_the_allowed_characters(name, expected):
    assert transliterate(name) == expected


def test_report_is_iso_8859_1_xml_of_the_documented_shape():
    data = written([person(1), person(2, (("1", ("58", "60")),), nome="ZOE", cred_acq="4.0")])
    assert data.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    root = etree.fromstring(data)
    assert root.tag == "dataroot" and [e.tag for e in root] == ["evento"]
    evento = root[0]
    assert dict(evento.attrib) == {"cod_evento": "123-4567", "cod_edi": "1", "cod_org": "123", "cod_accr": "090",
                                   "data_ini": "2026-01-15", "data_fine": "2026-12-31", "ore": "4", "crediti": "4.0",
                                   "tipo_form": "1", "tipo_eve": "E", "cod_obi": "18", "num_part": "2",
                                   "cod_tipologia_form": "10"}
    first, second = evento.findall("partecipante")
    assert first.get("cod_fisc") == make_cf(1) and first.get("nome") == "NICCOLO'" and first.get("cred_acq") == "4.0"
    assert [(p.get("cod_prof"), [d.text for d in p]) for p in second] == [("1", ["58", "60"])]
    assert data.decode(ENCODING).encode(ENCODING) == data


def test_csv_holds_the_same_participants():
    out = io.BytesIO()
    write(out, event(), [person(1), person(2, (("14", ("85",)), ("1", ("58",))))], 2, REFERENCE, fmt="csv")
    lines = out.getvalue().decode(ENCODING).splitlines()
    assert lines[0] == "cod_fisc;nome;cognome;ruolo;lib_dip;cred_acq;data_acq;part_reclutato;sponsor;cod_prof.disciplina"
    assert lines[1] == f"{make_cf(1)};NICCOLO';ROSSI;P;D;4.0;2026-10-05;0;;14.85"
    assert lines[2].endswith(";14.85:1.58")


@pytest.mark.parametrize("overrides, field, rule_part", [
    ({"code": ""}, "evento/@cod_evento", "1 to 20"),
    ({"provider_code": "x" * 21}, "evento/@cod_org", "1 to 20"),
    ({"edition": 1000}, "evento/@cod_edi", "3 digits"),
    ({"accrediting_body_code": "90"}, "evento/@cod_accr", "3 digits"),
    ({"end_date": date(2027, 1, 16)}, "evento/@data_fine", "365 days"),
    ({"end_date": date(2026, 1, 1)}, "evento/@data_fine", "not before"),
    ({"credits": Decimal("50.5")}, "evento/@crediti", "at most 50"),
    ({"credits": Decimal("0")}, "evento/@crediti", "more than 0"),
    ({"hours": 1000}, "evento/@ore", "3 digits"),
    ({"training_form": 5}, "evento/@tipo_form", "1, 2, 3 or 4"),
    ({"event_type": "X"}, "evento/@tipo_eve", "E or P"),
    ({"objective_code": 0}, "evento/@cod_obi", "positive"),
    ({"training_typology": 12}, "evento/@cod_tipologia_form", "1 to 11"),
])
def test_each_event_rule_is_checked(overrides, field, rule_part):
    found = problems_of([person(1)], **overrides)
    assert any(f == field and rule_part in r for f, r in found), found


@pytest.mark.parametrize("participant, field, rule_part", [
    (person(1, cod_fisc=make_cf(1)[:15] + "X" if make_cf(1)[15] != "X" else make_cf(1)[:15] + "Y"),
     "partecipante[1]/@cod_fisc", "check character"),
    (person(1, cod_fisc="RSSMRA80"), "partecipante[1]/@cod_fisc", "16 characters"),
    (person(1, nome=""), "partecipante[1]/@nome", "1 to 100"),
    (person(1, cognome="Rossì"), "partecipante[1]/@cognome", "letters"),
    (person(1, cognome="R" * 101), "partecipante[1]/@cognome", "1 to 100"),
    (person(1, ruolo="X"), "partecipante[1]/@ruolo", "P, T, D or R"),
    (person(1, lib_dip=""), "partecipante[1]/@lib_dip", "L, D, C or P"),
    (person(1, part_reclutato="2"), "partecipante[1]/@part_reclutato", "0 or 1"),
    (person(1, cred_acq="4"), "partecipante[1]/@cred_acq", "N.N"),
    (person(1, cred_acq="4.00"), "partecipante[1]/@cred_acq", "N.N"),
    (person(1, cred_acq="5.0"), "partecipante[1]/@cred_acq", "at most the event's credits"),
    (person(1, data_acq="05/10/2026"), "partecipante[1]/@data_acq", "YYYY-MM-DD"),
    (person(1, data_acq="2027-01-01"), "partecipante[1]/@data_acq", "within the event's dates"),
    (person(1, professions=()), "partecipante[1]/professione", "at least one profession"),
    (person(1, professions=(("31", ("85",)),)), "partecipante[1]/professione[1]/@cod_prof", "1 to 30"),
    (person(1, professions=(("3", ("66",)),)), "partecipante[1]/professione[1]/@cod_prof", "accredited"),
    (person(1, professions=(("14", ()),)), "partecipante[1]/professione[1]/disciplina", "at least one"),
    (person(1, professions=(("14", ("58",)),)), "partecipante[1]/professione[1]/disciplina[1]", "of profession 14"),
    (person(1, professions=(("14", ("85", "85")),)), "partecipante[1]/professione[1]/disciplina", "once"),
    (person(1, professions=(("14", ("85",)), ("14", ("85",)))), "partecipante[1]/professione[2]/@cod_prof", "once"),
])
def test_each_participant_rule_is_checked(participant, field, rule_part):
    found = problems_of([participant])
    assert any(f == field and rule_part in r for f, r in found), found


def test_one_participant_per_codice_fiscale_and_every_problem_listed():
    found = problems_of([person(1), person(1), person(2, lib_dip=""), person(3, nome="")])
    assert ("partecipante[2]/@cod_fisc", "one participant per codice fiscale") in found
    assert [f for f, _r in found] == ["partecipante[2]/@cod_fisc", "partecipante[3]/@lib_dip",
                                      "partecipante[4]/@nome"]


def test_an_empty_report_is_refused():
    found = problems_of([])
    assert ("evento/@num_part", "at least one participant") in found


def test_a_valid_report_passes_its_own_checks():
    attrs = event_attributes(event(), 1)
    assert check_event_attributes(attrs) == []
    checker = ParticipantChecker(attrs, {14: frozenset({85})}, REFERENCE)
    assert checker.check(person(1)) == []
