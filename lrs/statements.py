"""Storing and finding statements. Plain functions over a SQLAlchemy session."""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.orm import Session

from fse_fad.bulk import insert_with_children, matching
from fse_fad.errors import BadRequest, Conflict
from fse_fad.expiring import ExpiringMap
from lrs import identity
from lrs.models import Activity, Attachment, Statement, StatementKey
from lrs.rules import VOIDED_VERB
from lrs.times import format_us

# How far back a statement may still become visible after a reader looked: a storing
# transaction assigns ``stored`` before it commits, and commits within this window.
CONSISTENCY_WINDOW_US = 5_000_000
REF_PROPAGATION_DEPTH = 16


# Called inside the storing transaction with the statements that became visible and the ids of
# those that became voided, so that what other domains derive from statements commits (or rolls
# back) together with them. The LRS does not know who listens. A listener may also tell, before
# anything is stored, whether it has work to do with a batch: ``has_work(visible, voided)``,
# False only when calling it would neither read nor write (see ``store_statements``); one
# without ``has_work`` is always called.
StoredListener = Callable[[Session, list[dict], set[str]], None]


@dataclass(frozen=True)
class Writer:
    """What a storing client contributes to each statement."""

    authority: dict
    may_define: bool = False

    @property
    def authority_key(self) -> str:
        return identity.agent_key(self.authority) or ""


def _same_statement(received: dict, existing: dict, compare_timestamp: bool) -> bool:
    """Whether a statement sent again is the one stored (what the LRS itself set is not compared)."""
    ignored = {"stored", "authority", "version", "id"} | (set() if compare_timestamp else {"timestamp"})
    keys = (set(received) | set(existing)) - ignored
    return all(received.get(key) == existing.get(key) for key in keys)


def _context_activities_as_lists(part: dict) -> dict:
    context = part.get("context")
    activities = (context or {}).get("contextActivities")
    if not activities:
        return part
    normalized = {key: value if isinstance(value, list) else [value] for key, value in activities.items()}
    return {**part, "context": {**context, "contextActivities": normalized}}


def complete_statement(raw: dict, writer: Writer, stored_us: int) -> dict:
    """The statement as stored: with id, stored, timestamp, version and the writer's authority.
    Context activities are always arrays, as the specification asks of what an LRS returns."""
    body = _context_activities_as_lists(raw)
    if body["object"].get("objectType") == "SubStatement":
        body["object"] = _context_activities_as_lists(body["object"])
    body["id"] = (raw.get("id") or str(uuid.uuid4())).lower()
    stored = format_us(stored_us)
    body["stored"] = stored
    body.setdefault("timestamp", stored)
    body.setdefault("version", "1.0.0")
    body["authority"] = writer.authority
    return body


def store_statements(session: Session, statements: list[dict], writer: Writer, stored_us: int,
                     attachments: dict[str, tuple[str, bytes]] | None = None,
                     listeners: Sequence[StoredListener] = (),
                     known_definitions: ExpiringMap[str, dict] | None = None,
                     sole_work: bool = False) -> list[str]:
    """Store validated statements in the caller's transaction; return their ids in order.

    A statement whose id is already stored with the same content is accepted and left alone;
    with other content the whole request is refused (409).

    ``sole_work``: the caller's session has done nothing yet and is committed as soon as this
    returns (the statement resources). On PostgreSQL a batch whose whole work is the insert of
    its statements and their keys, one SQL statement, then runs it as a transaction of its own:
    PostgreSQL commits it (durably) before answering, and the BEGIN and COMMIT round trips are
    spared. That is a batch with no client-chosen id (nothing to look up), attachment, voiding
    statement or StatementRef, that changes no stored activity definition (those this worker
    does not remember are read first, outside the transaction), and in which no listener has
    work (``has_work``): what Moodle sends, most of the time."""
    bodies = [complete_statement(raw, writer, stored_us) for raw in statements]
    ids = [b["id"] for b in bodies]
    seen: dict[str, int] = {}
    for index, statement_id in enumerate(ids):
        if statement_id in seen:
            raise BadRequest("the same statement id appears twice in the request",
                             field=f"statement[{index}].id", rule="unique within the request")
        seen[statement_id] = index
    # Only an id the client chose can already be stored, be voided or be referred to: one this
    # LRS has just generated (Moodle sends none) cannot, so it is never looked up.
    chosen = [body["id"] for raw, body in zip(statements, bodies) if raw.get("id")]

    existing = dict(session.execute(select(Statement.statement_id, Statement.body)
                                    .where(Statement.statement_id.in_(chosen))).all()) if chosen else {}
    new: list[tuple[dict, dict]] = []
    for index, (raw, body) in enumerate(zip(statements, bodies)):
        if body["id"] in existing:
            if not _same_statement(body, existing[body["id"]], "timestamp" in raw):
                raise Conflict("a different statement with this id is already stored",
                               field=f"statement[{index}].id", rule="statement ids are immutable")
            continue
        new.append((raw, body))
    if not new:
        return ids

    if attachments:
        _store_attachments(session, attachments)

    voided_targets = {body["object"]["id"].lower() for _raw, body in new
                      if body["verb"]["id"] == VOIDED_VERB}
    new_chosen = [statement_id for statement_id in chosen if statement_id not in existing]
    # Voiding statements that arrived before the statement they void.
    voided_on_arrival = set(session.scalars(select(Statement.ref_statement_id).where(
        Statement.is_voiding.is_(True), Statement.ref_statement_id.in_(new_chosen)))) if new_chosen else set()
    voided_on_arrival |= voided_targets

    rows = []
    for _raw, body in new:
        obj = body["object"]
        is_voiding = body["verb"]["id"] == VOIDED_VERB
        rows.append({
            "statement_id": body["id"],
            "stored_us": stored_us,
            "voided": body["id"] in voided_on_arrival and not is_voiding,
            "is_voiding": is_voiding,
            "ref_statement_id": obj["id"].lower() if obj.get("objectType") == "StatementRef" else None,
            "authority_key": writer.authority_key,
            "body": body,
        })
    keys = [{"key": key, "statement_pk": body["id"]} for _raw, body in new for key in identity.filter_keys(body)]
    definitions = _definitions_to_store((body for _raw, body in new), known_definitions) if writer.may_define else {}
    visible = [row["body"] for row in rows if not row["voided"]]
    if sole_work and session.get_bind().dialect.name == "postgresql" and not session.in_transaction() \
            and not (chosen or attachments or voided_targets) and not any(row["ref_statement_id"] for row in rows) \
            and not any(_has_work(listener, visible) for listener in listeners):
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        if definitions:
            # Definitions this worker does not remember: read outside any transaction, as they
            # would have been read inside (without locks); those the statements leave unchanged
            # are remembered and need nothing more.
            _known, changed, missing = _read_definitions(session, definitions, known_definitions)
            definitions = {key: definitions[key] for key in changed + missing}
        if not definitions:
            insert_with_children(session, Statement.__table__, rows, "statement_id", StatementKey.__table__, keys,
                                 "statement_pk")
            return ids
        # A definition to write: everything in one transaction, on a connection of its own.
        session.close()
    pks = insert_with_children(session, Statement.__table__, rows, "statement_id", StatementKey.__table__, keys,
                               "statement_pk")

    newly_voided: set[str] = set()
    if voided_targets:
        # A voiding statement never voids another voiding statement.
        newly_voided = set(session.scalars(
            update(Statement).where(Statement.statement_id.in_(voided_targets), Statement.is_voiding.is_(False),
                                    Statement.voided.is_(False))
            .values(voided=True).returning(Statement.statement_id)))
    _inherit_keys(session, [r for r in rows if r["ref_statement_id"]], pks, new_chosen)
    if definitions:
        _define_activities(session, definitions, stored_us, known_definitions)
    for listener in listeners:
        listener(session, visible, newly_voided)
    return ids


def _has_work(listener: StoredListener, visible: list[dict]) -> bool:
    has_work = getattr(listener, "has_work", None)
    return has_work is None or has_work(visible, set())


def _store_attachments(session: Session, attachments: dict[str, tuple[str, bytes]]) -> None:
    known = set(session.scalars(select(Attachment.sha2).where(Attachment.sha2.in_(list(attachments)))))
    for sha2, (content_type, content) in sorted(attachments.items()):
        if sha2 not in known:
            session.add(Attachment(sha2=sha2, content_type=content_type, content=content))
    session.flush()


_COPY_KEYS = text(
    "INSERT INTO lrs_statement_keys (key, statement_pk) "
    "SELECT k.key, :referrer FROM lrs_statement_keys k "
    "WHERE k.statement_pk = :target "
    "AND NOT EXISTS (SELECT 1 FROM lrs_statement_keys e WHERE e.key = k.key AND e.statement_pk = :referrer)")


def _inherit_keys(session: Session, referring_rows: list[dict], pks: dict[str, int],
                  new_chosen_ids: list[str]) -> None:
    """A statement whose object is a StatementRef answers to the filters its target answers to,
    transitively, whichever of the two arrived first. Only statements with client-chosen ids can
    have been referred to before they arrived."""
    pairs: list[tuple[int, str]] = [(pks[r["statement_id"]], r["ref_statement_id"]) for r in referring_rows]
    changed = list(new_chosen_ids)
    for _round in range(REF_PROPAGATION_DEPTH):
        # Statements already stored that point at the ones that just gained keys.
        if changed:
            for pk, target in session.execute(select(Statement.pk, Statement.ref_statement_id)
                                              .where(Statement.ref_statement_id.in_(changed))):
                pairs.append((pk, target))
        if not pairs:
            return
        targets = {t for _pk, t in pairs}
        target_pks = dict(session.execute(select(Statement.statement_id, Statement.pk)
                                          .where(Statement.statement_id.in_(targets))).all())
        changed = []
        seen_pairs = set()
        for referrer, target in pairs:
            target_pk = target_pks.get(target)
            if target_pk is None or (referrer, target_pk) in seen_pairs or referrer == target_pk:
                continue
            seen_pairs.add((referrer, target_pk))
            if session.execute(_COPY_KEYS, {"referrer": referrer, "target": target_pk}).rowcount:
                changed.append(referrer)
        if not changed:
            return
        changed = list(session.scalars(select(Statement.statement_id).where(Statement.pk.in_(changed))))
        pairs = []


def _merge_definition(old: dict, new: dict) -> dict:
    merged = dict(old)
    for key, value in new.items():
        if key in ("name", "description", "extensions") and isinstance(old.get(key), dict):
            merged[key] = {**old[key], **value}
        else:
            merged[key] = value
    return merged


def _definitions_to_store(bodies: Iterable[dict],
                          known_definitions: ExpiringMap[str, dict] | None = None) -> dict[str, tuple[str, dict]]:
    """What statements tell of their activities' definitions, merged, by compact IRI, with the IRI:
    those that may change a stored definition.

    ``known_definitions`` holds definitions this worker read a few seconds ago: an activity whose
    definition a statement repeats (nearly every one) then costs no read. A definition changed
    meanwhile by another worker is missed for at most the entries' lifetime; one changed here is
    dropped from the map, so it is read again."""
    definitions: dict[str, tuple[str, dict]] = {}
    for body in bodies:
        for activity in identity.activities_with_definitions(body):
            iri = activity["id"]
            key = identity.compact(iri)
            previous = definitions.get(key, (iri, {}))[1]
            definitions[key] = (iri, _merge_definition(previous, activity.get("definition") or {}))
    if known_definitions is not None:
        for key in list(definitions):
            remembered = known_definitions.get(key)
            if remembered is not None and _merge_definition(remembered, definitions[key][1]) == remembered:
                del definitions[key]
    return definitions


def _read_definitions(session: Session, definitions: dict[str, tuple[str, dict]],
                      known_definitions: ExpiringMap[str, dict] | None) -> tuple[dict, list[str], list[str]]:
    """The stored definitions of these activities, read without locks, and which of the activities
    the statements change and which are missing. The stored ones they leave unchanged are
    remembered in ``known_definitions``; those they change are forgotten."""
    activities = Activity.__table__
    connection = session.connection()
    known = {key: definition for clause in matching(session, activities.c.iri_key, sorted(definitions))
             for key, definition in connection.execute(select(activities.c.iri_key, activities.c.definition)
                                                       .where(clause))}
    changed = [key for key in sorted(definitions)
               if key in known and _merge_definition(known[key] or {}, definitions[key][1]) != known[key]]
    missing = [key for key in sorted(definitions) if key not in known]
    if known_definitions is not None:
        for key in changed:
            known_definitions.pop(key)
        for key in known.keys() - set(changed):
            known_definitions.put(key, known[key] or {})
    return known, changed, missing


def _define_activities(session: Session, definitions: dict[str, tuple[str, dict]], stored_us: int,
                       known_definitions: ExpiringMap[str, dict] | None = None) -> None:
    """Keep each activity's canonical definition: what statements told of it (``definitions``,
    from ``_definitions_to_store``), merged into what is stored."""
    if not definitions:
        return
    # Most statements repeat definitions already stored: read without locks, and lock (sorted, so
    # that concurrent batches lock in the same order) and write only the activities that change.
    activities = Activity.__table__
    connection = session.connection()
    _known, changed, missing = _read_definitions(session, definitions, known_definitions)
    if changed:
        locked = dict(connection.execute(select(activities.c.iri_key, activities.c.definition)
                                         .where(activities.c.iri_key.in_(changed))
                                         .order_by(activities.c.iri_key).with_for_update()).all())
        for key in changed:
            merged = _merge_definition(locked[key] or {}, definitions[key][1])
            if merged != locked[key]:
                connection.execute(update(activities).where(activities.c.iri_key == key)
                                   .values(definition=merged, updated_us=stored_us))
    if missing:
        # A concurrent batch inserting the same activity makes this one fail on the key, and the
        # request is retried: it then finds the activity and merges into it.
        connection.execute(insert(activities), [{"iri_key": key, "iri": definitions[key][0],
                                                 "definition": definitions[key][1], "updated_us": stored_us}
                                                for key in missing])


def get_activity(session: Session, iri: str) -> dict:
    activity = session.get(Activity, identity.compact(iri))
    result = {"objectType": "Activity", "id": iri}
    if activity is not None and activity.definition:
        result["definition"] = activity.definition
    return result


# --- finding statements ----------------------------------------------------------------------

@dataclass(frozen=True)
class StatementQuery:
    agent: dict | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since_us: int | None = None
    until_us: int | None = None
    limit: int = 0
    ascending: bool = False
    # Restricts to the statements written by one authority (scope statements/read/mine).
    authority_key: str | None = None
    # Paging position: (stored_us, pk) of the last statement of the previous page.
    after: tuple[int, int] | None = None
    extra: dict = field(default_factory=dict)

    def filter_keys(self) -> list[str]:
        keys = []
        if self.agent is not None:
            keys.append(identity.agent_filter_key(self.agent, self.related_agents))
        if self.verb is not None:
            keys.append(identity.verb_filter_key(self.verb))
        if self.activity is not None:
            keys.append(identity.activity_filter_key(self.activity, self.related_activities))
        if self.registration is not None:
            keys.append(identity.registration_filter_key(self.registration))
        return keys


@dataclass
class StatementPage:
    statements: list[dict]
    next_query: StatementQuery | None


def find_statements(session: Session, query: StatementQuery) -> StatementPage:
    stmt = select(Statement.pk, Statement.stored_us, Statement.body).where(Statement.voided.is_(False))
    for key in query.filter_keys():
        stmt = stmt.where(Statement.pk.in_(select(StatementKey.statement_pk).where(StatementKey.key == key)))
    if query.since_us is not None:
        stmt = stmt.where(Statement.stored_us > query.since_us)
    if query.until_us is not None:
        stmt = stmt.where(Statement.stored_us <= query.until_us)
    if query.authority_key is not None:
        stmt = stmt.where(Statement.authority_key == query.authority_key)
    if query.after is not None:
        stored_us, pk = query.after
        if query.ascending:
            stmt = stmt.where(or_(Statement.stored_us > stored_us,
                                  and_(Statement.stored_us == stored_us, Statement.pk > pk)))
        else:
            stmt = stmt.where(or_(Statement.stored_us < stored_us,
                                  and_(Statement.stored_us == stored_us, Statement.pk < pk)))
    if query.ascending:
        stmt = stmt.order_by(Statement.stored_us.asc(), Statement.pk.asc())
    else:
        stmt = stmt.order_by(Statement.stored_us.desc(), Statement.pk.desc())
    stmt = stmt.limit(query.limit + 1)
    rows = session.execute(stmt).all()
    next_query = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        next_query = replace(query, after=(last.stored_us, last.pk))
    return StatementPage([row.body for row in rows], next_query)


def get_statement(session: Session, statement_id: str, *, voided: bool) -> dict | None:
    """A single statement by id; ``voided`` selects voidedStatementId semantics."""
    row = session.execute(select(Statement.body, Statement.voided).where(
        Statement.statement_id == statement_id.lower())).first()
    if row is None or row.voided != voided:
        return None
    return row.body


def get_attachments(session: Session, sha2s: Iterable[str]) -> list[Attachment]:
    wanted = sorted(set(sha2s))
    if not wanted:
        return []
    return list(session.scalars(select(Attachment).where(Attachment.sha2.in_(wanted))))


def encode_query(query: StatementQuery) -> str:
    payload = {k: v for k, v in query.__dict__.items() if v not in (None, False) and k != "extra"}
    if query.after:
        payload["after"] = list(query.after)
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_query(token: str) -> StatementQuery:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise ValueError
        after = payload.pop("after", None)
        query = StatementQuery(**payload)
        if after is not None:
            query = replace(query, after=(int(after[0]), int(after[1])))
        return query
    except (ValueError, TypeError, IndexError):
        raise BadRequest("the 'more' link is not valid", field="more", rule="a link returned by this LRS") from None
