"""What the ECM pages show: the events with their counts, an event's credit entries, the records
flagged for review, the reports due. Each is read with the functions of ``ecm.operations`` that
the /api/v1/ecm endpoints use, with the same trust scoping, so a page never tells more than the
API would. Plain functions, no Flask."""
from __future__ import annotations

from sqlalchemy.orm import Session

from courses.report_files import Table
from ecm import operations
from fse_fad.i18n import _


def events(session: Session, trust: str | None) -> list[dict]:
    """Every event with its current entries counted (a trust's learners only, when ``trust`` is given)."""
    return [{**operations.event_document(event), "counts": operations.entry_counts(session, event, trust)}
            for event in operations.list_events(session)]


def events_table(rows: list[dict], locale: str) -> Table:
    headers = [_("Event", locale), _("Edition", locale), _("Title", locale), _("Start", locale), _("End", locale),
               _("ECM credits", locale), _("Report due", locale), _("Credits issued", locale),
               _("Attendance", locale), _("Flagged for review", locale)]
    return Table(_("ECM events", locale), headers, [
        [r["code"], r["edition"], r["title"], r["start_date"].isoformat(), r["end_date"].isoformat(),
         r["credits"], r["report_due"].isoformat(), r["counts"]["credits"], r["counts"]["attendance"],
         r["counts"]["flagged"]] for r in rows])


def outcome_label(outcome: str, locale: str) -> str:
    return {"credits": _("ECM credits", locale), "attendance": _("Attendance", locale),
            "revoked": _("Revoked", locale)}.get(outcome, outcome)


def reason_label(reason: str | None, locale: str) -> str:
    return {"statement_voided": _("a statement was voided", locale),
            "learner_data_corrected": _("the learner's data was corrected", locale),
            "progress_changed": _("the progress changed", locale)}.get(reason, reason or "")


def entries_table(page: dict, locale: str, with_event: bool = False) -> Table:
    """A page of ``ecm.operations.credits_page`` as a table: one row per learner's current entry."""
    headers = [_("Codice fiscale", locale), _("Surname", locale), _("Name", locale), _("Trust", locale),
               _("Outcome", locale), _("Credits", locale), _("Credit date", locale), _("Kind", locale),
               _("Reason of the correction", locale), _("Flagged for review", locale)]
    if with_event:
        headers = [_("Event", locale), _("Edition", locale), *headers]
    rows = []
    for r in page["rows"]:
        row = [r["codice_fiscale"], r["surname"], r["name"], r["trust"], outcome_label(r["outcome"], locale),
               r["credits"], r["credit_date"].isoformat() if r["credit_date"] else None,
               _("correction", locale) if r["kind"] == "correction" else _("issue", locale),
               reason_label(r["reason"], locale), r["flagged"]]
        rows.append([r["event"], r["edition"], *row] if with_event else row)
    return Table(_("Credit entries", locale), headers, rows)


def flagged(session: Session, trust: str | None, limit: int = 500) -> dict:
    """The flagged current entries of every event (at most ``limit`` per event), as one page."""
    rows, total = [], 0
    for event in operations.list_events(session):
        page = operations.credits_page(session, event, trust=trust, flagged=True, per_page=limit)
        total += page["total"]
        rows += [{**row, "event": event.code, "edition": event.edition} for row in page["rows"]]
    return {"rows": rows, "total": total}


def due_table(rows: list[dict], locale: str) -> Table:
    headers = [_("Event", locale), _("Edition", locale), _("Title", locale), _("End", locale),
               _("Report due", locale), _("Days left", locale), _("Participants", locale),
               _("Flagged for review", locale)]
    return Table(_("Participant reports due", locale), headers, [
        [r["code"], r["edition"], r["title"], r["end_date"].isoformat(), r["report_due"].isoformat(), r["days_left"],
         r["participants"], r["flagged"]] for r in rows])
