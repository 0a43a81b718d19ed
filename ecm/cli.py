"""``fse-fad ecm ...``: ECM events, issuing credits, the participant report, certificates."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path

import click

from fse_fad.errors import ApiError
from fse_fad.i18n import _


def _refused(exc: ApiError) -> click.ClickException:
    """The error with every problem on its own line: an operator fixes them all in one go."""
    lines = [exc.message] + [f"  {p.field}: {p.rule}" for p in exc.problems]
    return click.ClickException("\n".join(lines))


def _run(work):
    from courses.cli import _runtime
    from fse_fad.db import run_in_transaction

    config, factory, catalogue, _moodle = _runtime()
    try:
        return run_in_transaction(factory, lambda session: work(session, config, catalogue))
    except ApiError as exc:
        raise _refused(exc) from None


edition_option = click.option("--edition", type=click.IntRange(1, 999), default=None,
                              help=_("The edition, when the event has several."))


@click.group("ecm", help=_("ECM: events, credits, the Co.Ge.A.P.S. participant report, certificates."))
def ecm_group() -> None:
    pass


@ecm_group.command("add-events", help=_("Add the ECM events of a JSON file (one event or {\"events\": [...]})."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def add_events(file: Path) -> None:
    from courses.datafiles import DataFileError, read_json
    from ecm import operations

    try:
        payload = read_json(file)
    except DataFileError as exc:
        raise click.ClickException(str(exc)) from None

    def work(session, _config, catalogue):
        events = operations.create_events(session, payload, catalogue, catalogue.reference)
        return [(e.code, e.edition, str(e.credits)) for e in events]

    for code, edition, credits in _run(work):
        click.echo(_("Event %(code)s edition %(edition)s added: %(credits)s credits.", code=code, edition=edition,
                     credits=credits))


@ecm_group.command("events", help=_("List the ECM events."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def list_events(as_json: bool) -> None:
    from ecm import operations
    from ecm.schemas import EventSchema

    rows = _run(lambda session, _c, _k: EventSchema(many=True).dump(
        [operations.event_document(e) for e in operations.list_events(session)]))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['code']}  {row['edition']}  {row['start_date']}..{row['end_date']}  {row['credits']}  "
                   f"{row['course_code']}  {row['title']}")


@ecm_group.command("issue", help=_("Issue the credits and certificates of attendance of an event, and correct what "
                                   "changed (running it again issues nothing new)."))
@click.argument("event")
@edition_option
def issue_command(event: str, edition: int | None) -> None:
    from ecm import operations

    def work(session, _config, catalogue):
        return operations.issue(session, operations.get_event(session, event, edition), catalogue)

    result = _run(work)
    click.echo(_("Event %(code)s: %(credits)s credit entries, %(attendance)s certificates of attendance, "
                 "%(corrections)s corrections (flagged), %(unchanged)s unchanged.", code=result.event,
                 credits=result.credits, attendance=result.attendance, corrections=result.corrections,
                 unchanged=result.unchanged))


@ecm_group.command("report", help=_("Write the participant report of an event (Co.Ge.A.P.S. XML, or the provider's "
                                    "CSV); an invalid report is refused with every problem."))
@click.argument("event")
@edition_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(("xml", "csv")), default="xml", show_default=True)
def report_command(event: str, edition: int | None, out: Path, fmt: str) -> None:
    from ecm import operations, participant_report

    directory = out.resolve().parent
    handle, partial = tempfile.mkstemp(dir=directory, prefix=f".{out.name}.", suffix=".partial")

    def work(session, _config, catalogue):
        with os.fdopen(handle, "wb") as fh:
            return participant_report.produce(session, operations.get_event(session, event, edition), fh,
                                              catalogue.reference, fmt)

    try:
        count = _run(work)
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    click.echo(_("Report written: %(count)s participants.", count=count))


@ecm_group.command("certificate", help=_("Write a learner's certificate (PDF) for an event."))
@click.argument("event")
@click.argument("codice_fiscale")
@edition_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def certificate_command(event: str, codice_fiscale: str, edition: int | None, out: Path) -> None:
    from ecm import certificates, operations

    def work(session, config, catalogue):
        found = operations.get_event(session, event, edition)
        return certificates.of_learner(session, found, codice_fiscale, None, catalogue.reference,
                                       config.public_url)[0]

    out.write_bytes(_run(work))
    click.echo(_("Certificate written."))


@ecm_group.command("due", help=_("The ended events and the deadline of their participant report (90 days after the "
                                 "end)."))
def due_command() -> None:
    from ecm import operations

    for row in _run(lambda session, _c, _k: operations.due_events(session, date.today())):
        click.echo(_("%(code)s edition %(edition)s: report due %(due)s (%(days)s days left), %(participants)s "
                     "participants, %(flagged)s flagged corrections.", code=row["code"], edition=row["edition"],
                     due=row["report_due"].isoformat(), days=row["days_left"], participants=row["participants"],
                     flagged=row["flagged"]))
