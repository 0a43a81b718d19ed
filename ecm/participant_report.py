"""The participant report of an event for Co.Ge.A.P.S. ("rapporto evento"), and the provider's CSV
of the same data.

XML in ISO-8859-1, ``dataroot/evento/partecipante/professione/disciplina``, with the attributes
and formats of the Co.Ge.A.P.S. participant report (docs/ecm.md). The project checks every
documented rule itself before the report leaves it: participants are checked as they stream from
the database into a temporary file, and a report with any problem is refused whole, with the list
of every problem, so that nothing half-written or invalid is ever handed out.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import BinaryIO, Iterable, Iterator

from anyascii import anyascii
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import codice_fiscale as cf
from courses.reference import ECM_PROFESSION_CODES, Reference
from ecm import rules
from ecm.models import CreditEntry, EcmEvent
from ecm.operations import current_entries_query
from fse_fad.errors import BadRequest, Problem

ENCODING = "ISO-8859-1"
FORMATS = ("xml", "csv")
MEDIA_TYPES = {"xml": "application/xml; charset=ISO-8859-1", "csv": "text/csv; charset=ISO-8859-1"}
EVENT_ATTRIBUTES = ("cod_evento", "cod_edi", "cod_org", "cod_accr", "data_ini", "data_fine", "ore", "crediti",
                    "tipo_form", "tipo_eve", "cod_obi", "num_part", "cod_tipologia_form")
PARTICIPANT_ATTRIBUTES = ("cod_fisc", "nome", "cognome", "ruolo", "lib_dip", "part_reclutato", "cred_acq", "data_acq")
CSV_HEADER = ("cod_fisc", "nome", "cognome", "ruolo", "lib_dip", "cred_acq", "data_acq", "part_reclutato", "sponsor",
              "cod_prof.disciplina")
EMPLOYMENT_CODES = {"libero_professionista": "L", "dipendente": "D", "convenzionato": "C",
                    "privo_di_occupazione": "P"}
# Reports are written to a temporary file first (a refused report is never handed out); up to this
# size it stays in memory.
SPOOL_BYTES = 8 * 1024 * 1024
PARTICIPANT_ROLE = "P"  # partecipante (the others: docente D, tutor T, relatore R)

NAME = re.compile(r"[a-zA-Z ',\-.]{1,100}")
PLAIN_NAME = re.compile(r"[a-zA-Z ',\-.]*")
CODE_1_20 = re.compile(r"[^\s].{0,19}", re.S)
CREDITS = re.compile(r"[0-9]{1,2}\.[0-9]")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CF_PATTERN = re.compile(r"[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
                        r"[0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]")
APOSTROPHES = "\u2019\u2018\u02bc\u0060\u00b4"
ACCENTS = ("\u0300", "\u0301")  # grave, acute: written as an apostrophe after the vowel (NICCOLO')
VOWELS = "AEIOUaeiou"


class ReportRefused(BadRequest):
    """The report breaks rules of the format: every problem is listed."""


@lru_cache(maxsize=8192)
def transliterate(value: str) -> str:
    """A name in the report's alphabet (letters, space, ' , - .), upper case: an accented final
    vowel becomes the vowel and an apostrophe, as Italian registries write it (Niccolò: NICCOLO');
    other letters become their closest Latin letters (Müller: MULLER, Łukasz: LUKASZ)."""
    if PLAIN_NAME.fullmatch(value or ""):
        return " ".join(value.split()).upper()
    out: list[str] = []
    for char in unicodedata.normalize("NFD", value or ""):
        if unicodedata.combining(char):
            if char in ACCENTS and out and out[-1] in VOWELS:
                out.append("'")
            continue
        if char in APOSTROPHES:
            char = "'"
        if char.isspace():
            char = " "
        elif not (char.isascii() and (char.isalpha() or char in " ',-.")):
            # Letters of other alphabets become Latin letters; digits and symbols have no place in a name.
            char = "".join(c for c in anyascii(char) if c.isalpha()) if unicodedata.category(char)[0] == "L" else ""
        out.append(char)
    return " ".join("".join(out).split()).upper()


def credits_text(value: Decimal) -> str:
    return f"{Decimal(value):.1f}"


@dataclass(frozen=True)
class Participant:
    attributes: dict[str, str]
    professions: tuple[tuple[str, tuple[str, ...]], ...]


def event_attributes(event: EcmEvent, participants: int) -> dict[str, str]:
    return {"cod_evento": event.code, "cod_edi": str(event.edition), "cod_org": event.provider_code,
            "cod_accr": event.accrediting_body_code, "data_ini": event.start_date.isoformat(),
            "data_fine": event.end_date.isoformat(), "ore": str(event.hours), "crediti": credits_text(event.credits),
            "tipo_form": str(event.training_form), "tipo_eve": event.event_type, "cod_obi": str(event.objective_code),
            "num_part": str(participants), "cod_tipologia_form": str(event.training_typology)}


def participant_of(data: dict, credits: Decimal, credit_date: date | None,
                   accredited: dict[int, frozenset[int]]) -> Participant:
    """A participant from a credit entry's learner data, credits and date."""
    profession = data.get("profession")
    disciplines = sorted(set(data.get("disciplines") or ()) & accredited.get(profession, frozenset()))
    attributes = {"cod_fisc": data.get("codice_fiscale") or "", "nome": transliterate(data.get("name") or ""),
                  "cognome": transliterate(data.get("surname") or ""), "ruolo": PARTICIPANT_ROLE,
                  "lib_dip": EMPLOYMENT_CODES.get(data.get("employment") or "", ""), "part_reclutato": "0",
                  "cred_acq": credits_text(credits), "data_acq": credit_date.isoformat() if credit_date else ""}
    return Participant(attributes, ((str(profession or ""), tuple(str(d) for d in disciplines)),))


def participants(session: Session, event: EcmEvent, batch: int = 2000) -> Iterator[Participant]:
    """The event's participants with credits, one per learner, streamed: only the three columns the
    report needs are read, a batch at a time."""
    accredited = {int(code): frozenset(d) for code, d in event.professions.items()}
    current = current_entries_query(event.id).where(CreditEntry.outcome == "credits").subquery()
    stmt = select(current.c.learner_data, current.c.credits, current.c.credit_date).order_by(current.c.learner_id)
    # A server-side cursor on PostgreSQL; SQLite's cursor already hands rows over as they are fetched.
    result = session.connection().execution_options(stream_results=True).execute(stmt)
    while rows := result.fetchmany(batch):
        for data, credits, credit_date in rows:
            yield participant_of(data, credits, credit_date, accredited)


# --- the rules of the format ----------------------------------------------------------------------

def _date(value: str) -> date | None:
    if not DATE.fullmatch(value or ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _positive(value: str, digits: int) -> bool:
    return bool(re.fullmatch(rf"[0-9]{{1,{digits}}}", value or "")) and int(value) > 0


def _credits_ok(value: str) -> bool:
    return bool(CREDITS.fullmatch(value or "")) and Decimal("0") < Decimal(value) <= rules.MAX_CREDITS


def check_event_attributes(attrs: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []

    def check(ok: bool, name: str, rule: str) -> None:
        if not ok:
            problems.append(Problem(f"evento/@{name}", rule))

    for name in ("cod_evento", "cod_org"):
        check(bool(CODE_1_20.fullmatch(attrs.get(name) or "")), name, "1 to 20 characters")
    check(_positive(attrs.get("cod_edi"), 3), "cod_edi", "a positive integer of at most 3 digits")
    check(bool(re.fullmatch(r"\d{3}", attrs.get("cod_accr") or "")), "cod_accr", "3 digits")
    start, end = _date(attrs.get("data_ini")), _date(attrs.get("data_fine"))
    check(start is not None, "data_ini", "a date YYYY-MM-DD")
    check(end is not None, "data_fine", "a date YYYY-MM-DD")
    if start and end:
        check(start <= end, "data_fine", "not before data_ini")
        if attrs.get("tipo_form") == str(rules.FAD):
            check((end - start).days <= rules.FAD_MAX_DAYS, "data_fine",
                  f"a FAD event lasts at most {rules.FAD_MAX_DAYS} days")
    check(_credits_ok(attrs.get("crediti")), "crediti", "N.N (one decimal), more than 0 and at most 50")
    check(_positive(attrs.get("ore"), 3), "ore", "a positive integer of at most 3 digits")
    check(attrs.get("tipo_form") in ("1", "2", "3", "4"), "tipo_form", "1, 2, 3 or 4")
    check(attrs.get("tipo_eve") in rules.EVENT_TYPES, "tipo_eve", "E or P")
    check(_positive(attrs.get("cod_obi"), 3), "cod_obi", "a positive integer of at most 3 digits")
    check(bool(re.fullmatch(r"[0-9]{1,6}", attrs.get("num_part") or "")), "num_part",
          "a non-negative integer of at most 6 digits")
    check(attrs.get("num_part") != "0", "num_part", "at least one participant")
    check(attrs.get("cod_tipologia_form") in {str(n) for n in rules.TRAINING_TYPOLOGIES}, "cod_tipologia_form",
          "1 to 11")
    return problems


ROLES = frozenset(("P", "T", "D", "R"))
EMPLOYMENT_LETTERS = frozenset(("L", "D", "C", "P"))
RECRUITED = frozenset(("0", "1"))


class ParticipantChecker:
    """The rules of ``partecipante`` and its professions, one participant at a time.

    The values a report repeats (credits and date, professions and disciplines) are checked once
    per distinct value; a participant that passes every rule costs a few lookups, and one that does
    not is checked again rule by rule to name every problem."""

    def __init__(self, event_attrs: dict[str, str], accredited: dict[int, frozenset[int]], reference: Reference):
        self.event_credits = Decimal(event_attrs["crediti"]) if _credits_ok(event_attrs.get("crediti")) else None
        self.start, self.end = _date(event_attrs.get("data_ini")), _date(event_attrs.get("data_fine"))
        self.accredited = accredited
        self.reference = reference
        self.seen: set[str] = set()
        self.count = 0
        self._acquired_ok: dict[tuple, bool] = {}
        self._professions_ok: dict[tuple, bool] = {}

    def check(self, participant: Participant) -> list[Problem]:
        self.count += 1
        code = (participant.attributes.get("cod_fisc") or "").upper()
        if self._passes(participant, code):
            self.seen.add(code)
            return []
        return self._problems(participant, f"partecipante[{self.count}]")

    def _passes(self, participant: Participant, code: str) -> bool:
        attrs = participant.attributes
        acquired = (attrs.get("cred_acq") or "", attrs.get("data_acq") or "")
        if acquired not in self._acquired_ok:
            self._acquired_ok[acquired] = not self._acquired_problems("", *acquired)
        if participant.professions not in self._professions_ok:
            self._professions_ok[participant.professions] = not self._profession_problems("", participant.professions)
        return (code not in self.seen and self._acquired_ok[acquired] and self._professions_ok[participant.professions]
                and attrs.get("ruolo") in ROLES and attrs.get("lib_dip") in EMPLOYMENT_LETTERS
                and attrs.get("part_reclutato") in RECRUITED and NAME.fullmatch(attrs.get("nome") or "") is not None
                and NAME.fullmatch(attrs.get("cognome") or "") is not None
                and CF_PATTERN.fullmatch(code) is not None and cf.is_valid(code))

    def _problems(self, participant: Participant, where: str) -> list[Problem]:
        attrs = participant.attributes
        problems: list[Problem] = []

        def check(ok: bool, name: str, rule: str) -> None:
            if not ok:
                problems.append(Problem(f"{where}/{name}", rule))

        code = attrs.get("cod_fisc") or ""
        check(bool(CF_PATTERN.fullmatch(code)) and cf.is_valid(code), "@cod_fisc",
              "a valid codice fiscale (16 characters, check character)")
        check(code.upper() not in self.seen, "@cod_fisc", "one participant per codice fiscale")
        self.seen.add(code.upper())
        for name in ("nome", "cognome"):
            check(bool(NAME.fullmatch(attrs.get(name) or "")), f"@{name}",
                  "1 to 100 characters among letters a-z A-Z, space and ' , - .")
        check(attrs.get("ruolo") in ROLES, "@ruolo", "P, T, D or R")
        check(attrs.get("lib_dip") in EMPLOYMENT_LETTERS, "@lib_dip",
              "L, D, C or P (the learner's employment must be known)")
        check(attrs.get("part_reclutato") in RECRUITED, "@part_reclutato", "0 or 1")
        problems += self._acquired_problems(where, attrs.get("cred_acq") or "", attrs.get("data_acq") or "")
        problems += self._profession_problems(where, participant.professions)
        return problems

    def _acquired_problems(self, where: str, acquired: str, day: str) -> list[Problem]:
        problems: list[Problem] = []

        def check(ok: bool, name: str, rule: str) -> None:
            if not ok:
                problems.append(Problem(f"{where}/{name}", rule))

        check(_credits_ok(acquired), "@cred_acq", "N.N (one decimal), more than 0 and at most 50")
        if _credits_ok(acquired) and self.event_credits is not None:
            check(Decimal(acquired) <= self.event_credits, "@cred_acq", "at most the event's credits")
        when = _date(day)
        check(when is not None, "@data_acq", "a date YYYY-MM-DD")
        if when and self.start and self.end:
            check(self.start <= when <= self.end, "@data_acq", "within the event's dates")
        return problems

    def _profession_problems(self, where: str, professions: tuple) -> list[Problem]:
        problems: list[Problem] = []

        def check(ok: bool, name: str, rule: str) -> None:
            if not ok:
                problems.append(Problem(f"{where}/{name}", rule))

        check(bool(professions), "professione", "at least one profession")
        professions_seen: set[str] = set()
        for index, (profession, disciplines) in enumerate(professions, start=1):
            at = f"professione[{index}]"
            ok = _positive(profession, 2) and int(profession) in ECM_PROFESSION_CODES
            check(ok, f"{at}/@cod_prof", "an Age.na.s health profession code, 1 to 30")
            check(profession not in professions_seen, f"{at}/@cod_prof", "each profession once")
            professions_seen.add(profession)
            if ok:
                check(int(profession) in self.accredited, f"{at}/@cod_prof", "a profession the event is accredited for")
            check(bool(disciplines), f"{at}/disciplina", "at least one discipline the event is accredited for")
            own = self.reference.professions.get(int(profession)) if ok else None
            for number, discipline in enumerate(disciplines, start=1):
                good = _positive(discipline, 3)
                check(good, f"{at}/disciplina[{number}]", "a positive integer of at most 3 digits")
                if good and own is not None:
                    check(int(discipline) in {d.code for d in own.disciplines}, f"{at}/disciplina[{number}]",
                          f"a discipline of profession {profession}")
            check(len(set(disciplines)) == len(disciplines), f"{at}/disciplina", "each discipline once")
        return problems


# --- writers --------------------------------------------------------------------------------------

def _participant_element(participant: Participant) -> etree._Element:
    element = etree.Element("partecipante", {name: participant.attributes[name] for name in PARTICIPANT_ATTRIBUTES})
    for profession, disciplines in participant.professions:
        child = etree.SubElement(element, "professione", cod_prof=profession)
        for discipline in disciplines:
            etree.SubElement(child, "disciplina").text = discipline
    return element


def _write_xml(out: BinaryIO, attrs: dict[str, str], checked: Iterable[Participant]) -> None:
    with etree.xmlfile(out, encoding=ENCODING) as xf:
        xf.write_declaration()
        with xf.element("dataroot"):
            with xf.element("evento", {name: attrs[name] for name in EVENT_ATTRIBUTES}):
                for participant in checked:
                    xf.write(_participant_element(participant))


def _write_csv(out: BinaryIO, attrs: dict[str, str], checked: Iterable[Participant]) -> None:
    text = io.TextIOWrapper(out, encoding=ENCODING, newline="", write_through=True)
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for p in checked:
        a = p.attributes
        professions = ":".join(".".join((profession, *disciplines)) for profession, disciplines in p.professions)
        writer.writerow([a["cod_fisc"], a["nome"], a["cognome"], a["ruolo"], a["lib_dip"], a["cred_acq"],
                         a["data_acq"], a["part_reclutato"], "", professions])
    text.flush()
    text.detach()


def write(out: BinaryIO, event: EcmEvent, people: Iterable[Participant], count: int, reference: Reference,
          fmt: str = "xml") -> int:
    """Check and write the report into ``out``; raise ReportRefused with every problem found (what
    was written to ``out`` must then be discarded). Returns the number of participants."""
    attrs = event_attributes(event, count)
    problems = check_event_attributes(attrs)
    checker = ParticipantChecker(attrs, {int(c): frozenset(d) for c, d in event.professions.items()}, reference)

    def checked() -> Iterator[Participant]:
        for participant in people:
            problems.extend(checker.check(participant))
            yield participant

    (_write_xml if fmt == "xml" else _write_csv)(out, attrs, checked())
    if checker.count != count:
        problems.append(Problem("evento/@num_part", f"the number of participants ({checker.count})"))
    if problems:
        raise ReportRefused(f"the participant report of event {event.code} breaks {len(problems)} rule(s) of the "
                            "format", problems=problems)
    return count


def produce(session: Session, event: EcmEvent, out: BinaryIO, reference: Reference, fmt: str = "xml") -> int:
    from ecm.operations import participants_count

    # Issuing waits until the report is read: num_part and the participants come from the same entries.
    session.execute(select(EcmEvent.id).where(EcmEvent.id == event.id).with_for_update(read=True))
    return write(out, event, participants(session, event), participants_count(session, event), reference, fmt)


def spooled(session: Session, event: EcmEvent, reference: Reference, fmt: str = "xml") -> BinaryIO:
    """The checked report in a temporary file, read from its start (the caller closes it); a report
    with problems raises ReportRefused and leaves nothing behind."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        produce(session, event, spool, reference, fmt)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def file_name(event: EcmEvent, fmt: str) -> str:
    return f"rapporto-{event.code}-{event.edition}.{fmt}"
