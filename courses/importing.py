"""Roster import: the files HR offices export (CSV with ``;`` or ``,``, UTF-8 or Windows-1252, or
XLSX) with Italian headers, into learners.

Every bad row is reported with its line, column and reason; a file with errors imports nothing
unless ``skip_invalid``. A learner is the codice fiscale: a re-import updates the row (and keeps its
id, assessment and history), never duplicates it, and a trust change closes the old trust
membership and opens a new one. The database work is done in bulk (a few statements per thousand
rows), so that a 60,000-row roster imports in seconds.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from courses import codice_fiscale as cf
from courses import xlsx
from fse_fad.bulk import insert_rows, matching
from courses.catalogue import Catalogue, default_catalogue
from courses.counts import move_trust
from courses.models import Learner, LearnerIdentity, TrustMembership
from courses.operations import close_memberships, identity_agents, sync_levels_state, utcnow
from courses.projection import attach_identities
from courses.reference import Reference, default_reference, lookup_key
from fse_fad.errors import BadRequest, Problem

COLUMNS = ("codice_fiscale", "cognome", "nome", "email", "azienda", "categoria", "professione", "disciplina",
           "rapporto", "moodle_id", "moodle_username")
REQUIRED_COLUMNS = ("codice_fiscale", "cognome", "nome", "azienda", "categoria", "rapporto")
HEADER_SEARCH_ROWS = 10
HEADER_ALIASES = {"e_mail": "email", "mail": "email", "codicefiscale": "codice_fiscale", "cf": "codice_fiscale"}
EMPLOYMENT = {
    "dipendente": "dipendente", "d": "dipendente",
    "convenzionato": "convenzionato", "c": "convenzionato",
    "libero professionista": "libero_professionista", "l": "libero_professionista",
    "privo di occupazione": "privo_di_occupazione", "p": "privo_di_occupazione",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHUNK = 1000
LEARNERS = Learner.__table__
XLSX_MAGIC = b"PK\x03\x04"
# The learner columns a row sets; a re-import compares them to tell updated from unchanged.
LEARNER_FIELDS = ("surname", "name", "email", "trust_code", "category_code", "cluster", "profession_code",
                  "disciplines", "ecm_eligible", "employment")


@dataclass
class RowProblem(Problem):
    """A bad cell of a roster. ``reason`` is an English message id with ``params`` (see
    ``fse_fad.i18n``), so that the CLI can say it in Italian."""

    line: int = 0
    message_id: str = ""
    params: dict = field(default_factory=dict)

    @classmethod
    def of(cls, line: int, column: str, message_id: str, /, **params) -> "RowProblem":
        return cls(field=column, rule=message_id % params if params else message_id, line=line,
                   message_id=message_id, params=params)

    @property
    def column(self) -> str:
        return self.field

    @property
    def reason(self) -> str:
        return self.rule

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.field, "reason": self.rule, "field": self.field, "rule": self.rule}


@dataclass
class RosterRow:
    line: int
    codice_fiscale: str
    surname: str
    name: str
    email: str | None
    trust_code: str
    category_code: str
    cluster: int
    profession_code: int | None
    disciplines: list[int]
    ecm_eligible: bool
    employment: str
    moodle_id: str | None
    moodle_username: str | None

    def learner_values(self) -> dict:
        return {name: getattr(self, name) for name in LEARNER_FIELDS}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len({p.line for p in self.problems})

    def as_dict(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "errors": [p.as_dict() for p in self.problems]}


class RosterRejected(BadRequest):
    """The roster has bad rows and ``skip_invalid`` was not asked: nothing was imported."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{report.skipped} row(s) of the roster have errors: nothing was imported "
                         "(fix them, or import the valid rows with skip_invalid)", problems=list(report.problems))
        self.report = report

    def as_dict(self) -> dict:
        body = super().as_dict()
        body.update({name: value for name, value in self.report.as_dict().items() if name != "errors"})
        return body


# --- reading the file -----------------------------------------------------------------------------

def normalize_header(value: object) -> str:
    name = re.sub(r"[\s\-.]+", "_", str(value or "").replace("\ufeff", "").strip().lower()).strip("_")
    return HEADER_ALIASES.get(name, name)


def _not_text() -> BadRequest:
    return BadRequest("the file is neither UTF-8 nor Windows-1252 text, nor an XLSX workbook", field="file",
                      rule="CSV in UTF-8, UTF-16 with BOM or Windows-1252, or XLSX")


def _decode(content: bytes) -> str:
    # Excel's "Unicode text" export is UTF-16 with a byte order mark.
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_text() from None
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    # No roster holds NUL: it is UTF-16 without a BOM, or a binary file.
    if b"\x00" in content:
        raise _not_text()
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise _not_text() from None


def _csv_records(content: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(content)
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            yield start, [cell.strip() for cell in record]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadRequest(f"line {start}: the CSV cannot be read ({exc})", field="file",
                         rule="a CSV roster with cells of at most 128 KiB and balanced quotes") from None


def _xlsx_records(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from xlsx.rows(content)
    except xlsx.XlsxError as exc:
        raise BadRequest(f"the XLSX workbook cannot be read ({exc})", field="file",
                         rule="a valid XLSX workbook") from None


def read_roster(content: bytes) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The columns of the roster and its non-empty rows as (line, {column: text})."""
    records = _xlsx_records(content) if content.startswith(XLSX_MAGIC) else _csv_records(content)
    # The header is the first row naming codice_fiscale: HR exports often start with a title.
    header: list[str] | None = None
    for seen, (_line, cells) in enumerate(r for r in records if any(r[1])):
        names = [normalize_header(c) for c in cells]
        if header is None:
            header = names
        if "codice_fiscale" in names:
            header = names
            break
        if seen >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        raise BadRequest("the roster is empty", field="file", rule="a header row and at least one row")
    named = [h for h in header if h]
    duplicates = sorted({h for h in named if named.count(h) > 1})
    if duplicates:
        raise BadRequest(f"column {duplicates[0]!r} appears twice", field=duplicates[0], rule="each column once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadRequest(f"the roster lacks the column(s) {', '.join(missing)}", field=missing[0],
                         rule=f"columns {', '.join(COLUMNS)} (required: {', '.join(REQUIRED_COLUMNS)})")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for line, cells in records:
            if not any(cells):
                continue
            values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)
                      if name in COLUMNS}
            if any(cells[len(header):]):
                values["__extra__"] = "x"
            yield line, values

    return header, rows()


# --- validating rows ------------------------------------------------------------------------------

def _text(value: str) -> str:
    return " ".join(value.split())


class _RowChecker:
    def __init__(self, reference: Reference, allowed_trust: str | None):
        self.reference = reference
        self.allowed_trust = allowed_trust

    def check(self, line: int, values: dict[str, str]) -> tuple[RosterRow | None, list[RowProblem]]:
        problems: list[RowProblem] = []

        def bad(column: str, message_id: str, **params) -> None:
            problems.append(RowProblem.of(line, column, message_id, **params))

        if values.get("__extra__"):
            bad("", "more cells than header columns")

        raw_cf = values.get("codice_fiscale", "")
        code = None
        if not raw_cf:
            bad("codice_fiscale", "required")
        else:
            try:
                code = cf.parse(raw_cf).code
            except cf.InvalidCodiceFiscale as exc:
                bad("codice_fiscale", str(exc))

        names = {}
        for column in ("cognome", "nome"):
            names[column] = _text(values.get(column, ""))
            if not names[column]:
                bad(column, "required")
            elif len(names[column]) > 100:
                bad(column, "at most 100 characters")

        email = values.get("email", "").strip().lower() or None
        if email and (len(email) > 254 or not EMAIL.match(email)):
            bad("email", "not an email address")

        def lookup(column: str, find, message_id: str, **params):
            """The reference entry a required cell names, or None (and a problem)."""
            value = values.get(column, "")
            if not value:
                bad(column, "required")
                return None
            found = find(value)
            if found is None:
                bad(column, message_id, value=value, **params)
            return found

        trust = lookup("azienda", lambda v: self.reference.find("trust", v),
                       "unknown trust %(value)r: one of %(choices)s", choices=", ".join(self.reference.trusts))
        if trust is not None and self.allowed_trust is not None and trust.code != self.allowed_trust:
            bad("azienda", "trust %(value)s is outside the trust of these credentials (%(own)s)",
                value=trust.code, own=self.allowed_trust)
        category = lookup("categoria", lambda v: self.reference.find("category", v),
                          "unknown category %(value)r: a code such as 1.i, 2.x, 3.xiv or S")

        profession = None
        if values.get("professione"):
            profession = self.reference.find("profession", values["professione"])
            if profession is None:
                bad("professione", "unknown profession %(value)r: an Age.na.s code from 1 to 30 or its name",
                    value=values["professione"])
        if category is not None and category.professions and (profession is None or profession.code not in
                                                               category.professions):
            if profession is not None or not values.get("professione"):
                bad("professione", "category %(category)s requires the profession %(professions)s",
                    category=category.code, professions=", ".join(
                        f"{self.reference.professions[p].name} ({p})" for p in category.professions))

        disciplines: list[int] = []
        raw_disc = values.get("disciplina", "")
        if raw_disc and not values.get("professione"):
            bad("disciplina", "a discipline needs a profession")
        elif profession is not None:
            for token in _discipline_tokens(raw_disc):
                discipline = self.reference.find_discipline(profession, token)
                if discipline is None:
                    bad("disciplina", "discipline %(value)r is not one of the profession %(profession)s",
                        value=token, profession=f"{profession.name} ({profession.code})")
                elif discipline.code not in disciplines:
                    disciplines.append(discipline.code)
            if not raw_disc:
                if len(profession.disciplines) == 1:
                    disciplines = [profession.disciplines[0].code]
                else:
                    bad("disciplina", "required: the profession %(profession)s has several disciplines",
                        profession=f"{profession.name} ({profession.code})")

        employment = lookup("rapporto", lambda v: EMPLOYMENT.get(lookup_key(v)),
                            "unknown employment type %(value)r: dipendente, convenzionato, libero professionista "
                            "or privo di occupazione")

        moodle_id = values.get("moodle_id", "").strip() or None
        if moodle_id is not None and not (moodle_id.isdigit() and int(moodle_id) > 0):
            bad("moodle_id", "a Moodle user id is a positive whole number")
        moodle_username = values.get("moodle_username", "").strip().lower() or None
        if moodle_username is not None and (len(moodle_username) > 100 or any(c.isspace() for c in moodle_username)):
            bad("moodle_username", "a Moodle username has no spaces and at most 100 characters")

        if problems:
            return None, problems
        return RosterRow(line, code, names["cognome"], names["nome"], email, trust.code, category.code,
                         category.cluster, profession.code if profession else None, disciplines,
                         bool(profession and profession.ecm_eligible), employment,
                         str(int(moodle_id)) if moodle_id else None, moodle_username), []


def _discipline_tokens(raw: str) -> list[str]:
    tokens = []
    for part in raw.split("|"):
        part = part.strip()
        if not part:
            continue
        if re.fullmatch(r"[\d\s,;/:]+", part):
            tokens += re.findall(r"\d+", part)
        else:
            tokens.append(part)
    return tokens


def validate_roster(content: bytes, reference: Reference | None = None, allowed_trust: str | None = None
                    ) -> tuple[list[RosterRow], ImportReport]:
    """Read and check a roster without touching the database."""
    reference = reference or default_reference()
    _header, records = read_roster(content)
    checker = _RowChecker(reference, allowed_trust)
    report = ImportReport()
    rows: list[RosterRow] = []
    first_line: dict[str, int] = {}
    for line, values in records:
        report.rows += 1
        row, problems = checker.check(line, values)
        if row is not None and row.codice_fiscale in first_line:
            problems = [RowProblem.of(line, "codice_fiscale", "the same codice fiscale as line %(line)d",
                                      line=first_line[row.codice_fiscale])]
            row = None
        if row is None:
            report.problems += problems
            continue
        first_line[row.codice_fiscale] = line
        rows.append(row)
    return rows, report


# --- writing --------------------------------------------------------------------------------------

def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing_learners(session: Session, codes: list[str]) -> dict[str, dict]:
    columns = [Learner.id, Learner.codice_fiscale, Learner.active, *(getattr(Learner, n) for n in LEARNER_FIELDS)]
    found: dict[str, dict] = {}
    for clause in matching(session, Learner.codice_fiscale, codes):
        for row in session.execute(select(*columns).where(clause)):
            found[row.codice_fiscale] = row._asdict()
    return found


def _identity_owners(session: Session, keys: list[str]) -> dict[str, int]:
    owners: dict[str, int] = {}
    for clause in matching(session, LearnerIdentity.agent_key, keys):
        for key, learner_id in session.execute(select(LearnerIdentity.agent_key, LearnerIdentity.learner_id)
                                               .where(clause)):
            owners[key] = learner_id
    return owners


def _identities_of(session: Session, learner_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for clause in matching(session, LearnerIdentity.learner_id, learner_ids):
        for key, learner_id in session.execute(select(LearnerIdentity.agent_key, LearnerIdentity.learner_id)
                                               .where(clause)):
            out.setdefault(learner_id, set()).add(key)
    return out


_IDENTITY_COLUMN = {"moodle_account": "moodle_id", "moodle_username": "moodle_username", "email": "email"}


def _check_identities(rows: list[RosterRow], agents: dict[int, dict], existing: dict[str, dict],
                      owners: dict[str, int]) -> list[RowProblem]:
    """Rows whose identities belong to another learner, in the file or in the database. Repeated
    until no row is left that claims an identity kept by a learner whose row is skipped."""
    problems: list[RowProblem] = []
    bad_lines: set[int] = set()
    while True:
        kept = [r for r in rows if r.line not in bad_lines]
        own_ids = {existing[r.codice_fiscale]["id"] for r in kept if r.codice_fiscale in existing}
        claimed: dict[str, int] = {}
        new_bad = []
        for row in kept:
            my_id = existing.get(row.codice_fiscale, {}).get("id")
            for key, (kind, _agent) in agents[row.line].items():
                owner = owners.get(key)
                if key in claimed:
                    new_bad.append(RowProblem.of(row.line, _IDENTITY_COLUMN[kind],
                                                 "the same identity as line %(line)d", line=claimed[key]))
                elif owner is not None and owner != my_id and owner not in own_ids:
                    new_bad.append(RowProblem.of(row.line, _IDENTITY_COLUMN[kind],
                                                 "the identity already belongs to another learner"))
                else:
                    claimed[key] = row.line
        if not new_bad:
            return problems
        problems += new_bad
        bad_lines |= {p.line for p in new_bad}


def import_roster(session: Session, content: bytes, *, skip_invalid: bool = False, catalogue: Catalogue | None = None,
                  moodle_home_page: str | None = None, allowed_trust: str | None = None,
                  now: datetime | None = None) -> ImportReport:
    """Import a roster file. Raises RosterRejected (nothing written) when a row is bad and
    ``skip_invalid`` is false; otherwise imports the good rows and reports the bad ones.

    ``moodle_home_page`` is the wwwroot of the Moodle site whose user ids and usernames the roster
    holds; ``allowed_trust`` limits the rows to one trust (a training office's credentials)."""
    now = now or utcnow()
    catalogue = catalogue or default_catalogue()
    rows, report = validate_roster(content, catalogue.reference, allowed_trust)
    if moodle_home_page is None and any(r.moodle_id or r.moodle_username for r in rows):
        raise BadRequest("the roster has Moodle ids or usernames but no Moodle site is known: configure "
                         "FSE_FAD_MOODLE_MAPPING or name the site", field="moodle_site",
                         rule="the wwwroot of the Moodle site of the roster")
    agents = {r.line: identity_agents(moodle_home_page, r.moodle_id, r.moodle_username, r.email) for r in rows}
    existing = _existing_learners(session, [r.codice_fiscale for r in rows])
    owners = _identity_owners(session, sorted({k for a in agents.values() for k in a}))
    identity_problems = _check_identities(rows, agents, existing, owners)
    if identity_problems:
        report.problems += identity_problems
        bad = {p.line for p in identity_problems}
        rows = [r for r in rows if r.line not in bad]
    report.problems.sort(key=lambda p: p.line)
    if report.problems and not skip_invalid:
        raise RosterRejected(report)

    current_keys = _identities_of(session, [e["id"] for e in existing.values()])
    new_rows, updates, moved, identity_changed = [], [], [], []
    left: dict[int, str] = {}  # the trust each moving learner leaves
    removed_keys: dict[int, set[str]] = {}
    for row in rows:
        old = existing.get(row.codice_fiscale)
        if old is None:
            new_rows.append(row)
            continue
        values = row.learner_values()
        wanted_keys = set(agents[row.line])
        changed = any(old[name] != value for name, value in values.items()) or not old["active"]
        if current_keys.get(old["id"], set()) != wanted_keys:
            identity_changed.append((old["id"], row))
            removed_keys[old["id"]] = current_keys.get(old["id"], set()) - wanted_keys
            changed = True
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        updates.append({"id": old["id"], **values, "active": True, "deactivated_at": None, "updated_at": now})
        if old["trust_code"] != row.trust_code:
            moved.append((old["id"], row.trust_code))
            left[old["id"]] = old["trust_code"]

    # Updates first: an identity moving between two learners of the file is released before it is taken.
    if updates:
        for chunk in _chunks(updates):
            session.execute(update(Learner), chunk)
    if identity_changed:
        for clause in matching(session, LearnerIdentity.learner_id, [i for i, _row in identity_changed]):
            session.execute(delete(LearnerIdentity).where(clause))
    if moved:
        close_memberships(session, [learner_id for learner_id, _trust in moved], now)
        move_trust(session, {learner_id: (left[learner_id], trust) for learner_id, trust in moved})

    insert_rows(session, LEARNERS, [{"codice_fiscale": r.codice_fiscale, **r.learner_values(), "active": True,
                                     "created_at": now, "updated_at": now} for r in new_rows])
    new_ids = {code: learner_id for clause in matching(session, Learner.codice_fiscale, [r.codice_fiscale for r in new_rows])
               for learner_id, code in session.execute(select(Learner.id, Learner.codice_fiscale).where(clause))}
    created_ids = [(new_ids[r.codice_fiscale], r) for r in new_rows]
    report.created = len(created_ids)

    insert_rows(session, TrustMembership.__table__,
                [{"learner_id": i, "trust_code": r.trust_code, "since": now} for i, r in created_ids]
                + [{"learner_id": i, "trust_code": trust, "since": now} for i, trust in moved])
    insert_rows(session, LearnerIdentity.__table__,
                [{"agent_key": key, "learner_id": learner_id, "kind": kind, "agent": agent}
                 for learner_id, row in [*created_ids, *identity_changed]
                 for key, (kind, agent) in agents[row.line].items()])
    if identity_changed:
        sync_levels_state(session, [learner_id for learner_id, _row in identity_changed], removed_keys, catalogue)
    # Statements that arrived before the learner was known (or under an identity that changed hands) count now.
    attach_identities(session, {key for _id, row in [*created_ids, *identity_changed] for key in agents[row.line]}
                      | {key for keys in removed_keys.values() for key in keys}, catalogue)
    session.flush()
    return report
