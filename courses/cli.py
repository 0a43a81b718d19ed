"""``fse-fad learners ...`` and ``fse-fad courses ...``: rosters, learners and the catalogue."""
from __future__ import annotations

import json
from pathlib import Path

import click

from fse_fad.errors import ApiError
from fse_fad.i18n import _


def _runtime():
    """Configuration, a session factory and the validated catalogue and Moodle mapping."""
    from courses.catalogue import default_catalogue
    from courses.datafiles import DataFileError
    from courses.moodle import load_mapping
    from fse_fad.cli import _config, _session_factory

    config = _config()
    try:
        catalogue = default_catalogue()
        moodle = load_mapping(config.moodle_mapping, catalogue)
    except DataFileError as exc:
        raise click.ClickException(str(exc)) from None
    return config, _session_factory(config), catalogue, moodle


def _run(factory, work):
    from fse_fad.db import run_in_transaction

    try:
        return run_in_transaction(factory, work)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None


def _echo_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.group(help=_("Learners: roster import, details, deactivation, erasure of personal data."))
def learners() -> None:
    pass


@learners.command("import", help=_("Import a roster (CSV with ; or , in UTF-8 or Windows-1252, or XLSX)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, default=False,
              help=_("Import the valid rows even if other rows have errors."))
@click.option("--moodle-site", default=None,
              help=_("wwwroot of the Moodle site of the roster's Moodle ids (default: the configured one)."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def import_command(file: Path, skip_invalid: bool, moodle_site: str | None, as_json: bool) -> None:
    from courses.importing import RosterRejected, import_roster
    from fse_fad.db import run_in_transaction

    _config, factory, catalogue, moodle = _runtime()
    site = moodle.site(moodle_site) if moodle_site else moodle.default_site
    if moodle_site and site is None:
        raise click.ClickException(_("No Moodle site %(site)s in FSE_FAD_MOODLE_MAPPING.", site=moodle_site))
    content = file.read_bytes()
    try:
        report = run_in_transaction(factory, lambda session: import_roster(
            session, content, skip_invalid=skip_invalid, catalogue=catalogue,
            moodle_home_page=site.home_page if site else None), retry_on_conflict=True)
    except RosterRejected as exc:
        report = exc.report
        if as_json:
            _echo_json(exc.as_dict())
        else:
            _echo_problems(report)
            click.echo(_("%(count)d row(s) have errors: nothing was imported. Fix them, or use --skip-invalid.",
                         count=report.skipped), err=True)
        raise SystemExit(1) from None
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        _echo_json(report.as_dict())
        return
    _echo_problems(report)
    click.echo(_("Rows: %(rows)d; created: %(created)d; updated: %(updated)d; unchanged: %(unchanged)d; "
                 "skipped: %(skipped)d.", rows=report.rows, created=report.created, updated=report.updated,
                 unchanged=report.unchanged, skipped=report.skipped))


def _echo_problems(report) -> None:
    for problem in report.problems:
        reason = _(problem.message_id, **problem.params)
        click.echo(_("line %(line)d, column %(column)s: %(reason)s", line=problem.line,
                     column=problem.column or "-", reason=reason), err=True)


@learners.command("show", help=_("Show a learner."))
@click.argument("codice_fiscale")
def show_command(codice_fiscale: str) -> None:
    from courses.operations import get_learner, learner_document

    _config, factory, _catalogue, _moodle = _runtime()
    _echo_json(_run(factory, lambda session: learner_document(session, get_learner(session, codice_fiscale))))


@learners.command("deactivate", help=_("Deactivate a learner."))
@click.argument("codice_fiscale")
def deactivate_command(codice_fiscale: str) -> None:
    _set_active(codice_fiscale, False)
    click.echo(_("Learner deactivated."))


@learners.command("reactivate", help=_("Reactivate a learner."))
@click.argument("codice_fiscale")
def reactivate_command(codice_fiscale: str) -> None:
    _set_active(codice_fiscale, True)
    click.echo(_("Learner reactivated."))


def _set_active(codice_fiscale: str, active: bool) -> None:
    from courses.operations import set_active

    _config, factory, _catalogue, _moodle = _runtime()
    _run(factory, lambda session: set_active(session, codice_fiscale, active))


@learners.command("erase", help=_("Erase a learner's personal data (GDPR); aggregate counts keep an anonymous row."))
@click.argument("codice_fiscale")
@click.option("--yes", is_flag=True, default=False, help=_("Do not ask for confirmation."))
def erase_command(codice_fiscale: str, yes: bool) -> None:
    from courses.operations import erase_learner

    if not yes:
        click.confirm(_("Erase the personal data of %(cf)s? This cannot be undone.", cf=codice_fiscale), abort=True)
    _config, factory, catalogue, _moodle = _runtime()
    _run(factory, lambda session: erase_learner(session, codice_fiscale, catalogue=catalogue))
    click.echo(_("Personal data erased."))


@click.group("courses", help=_("The course catalogue."))
def courses_group() -> None:
    pass


@courses_group.command("check", help=_("Validate the catalogue, the path rules, the reference data and the "
                                       "Moodle mapping."))
def check_command() -> None:
    _config, _factory, catalogue, moodle = _runtime()
    for course in catalogue.courses.values():
        click.echo(_("%(code)s: %(count)d elements", code=course.code, count=len(course.elements)))
    click.echo(_("Moodle sites configured: %(count)d", count=len(moodle.sites)))
    click.echo(_("Catalogue valid."))


@courses_group.command("list", help=_("List the courses."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def list_command(as_json: bool) -> None:
    from courses.schemas import CourseSummarySchema

    _config, _factory, catalogue, _moodle = _runtime()
    rows = CourseSummarySchema(many=True).dump(catalogue.courses.values())
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['code']}  {row['kind']}  {row['hours']:g} h  {row['target_learners']}  {row['title']}")


PART_LABELS = {"enrolment": _("enrolment"), "assessment": _("initial assessment"), "module": _("modules"),
               "final-test": _("final test"), "questionnaire": _("questionnaire"), "course": _("course completion")}


@click.command("simulate", help=_("Simulate the FAD platform against a running server: import a roster, send its "
                                  "learners' statements in batches of 30, and write the report to expect."))
@click.option("--learners", "count", type=click.IntRange(1, 200_000), required=True, help=_("How many learners."))
@click.option("--url", required=True, help=_("Base URL of the server, e.g. http://127.0.0.1:8000."))
@click.option("--key", required=True, help=_("Key of a client with an xAPI scope and the admin role."))
@click.option("--secret", required=True, help=_("Secret of that client."))
@click.option("--seed", type=int, default=1, show_default=True, help=_("The same seed sends the same data."))
@click.option("--expect-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=_("Write the expected completions report by trust (JSON) to this file."))
@click.option("--duplicates", is_flag=True, default=False, help=_("Send one batch in eight a second time."))
@click.option("--shuffle", is_flag=True, default=False, help=_("Send the statements out of order."))
@click.option("--void", type=click.IntRange(0), default=0, help=_("Void N course completions or test passes."))
@click.option("--clients", type=click.IntRange(1, 32), default=1, show_default=True,
              help=_("Batches sent at once."))
@click.option("--moodle-mapping", envvar="FSE_FAD_MOODLE_MAPPING", default="",
              help=_("The server's Moodle mapping file (default FSE_FAD_MOODLE_MAPPING); without it every "
                     "statement is the content's own."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def simulate(count, url, key, secret, seed, expect_out, duplicates, shuffle, void, clients, moodle_mapping,
             as_json) -> None:
    from courses import simulator
    from courses.catalogue import default_catalogue
    from courses.datafiles import DataFileError
    from courses.moodle import load_mapping

    try:
        catalogue = default_catalogue()
        moodle = load_mapping(moodle_mapping or None, catalogue)
    except DataFileError as exc:
        raise click.ClickException(str(exc)) from None
    simulation = simulator.simulate(count, seed, catalogue, moodle)
    try:
        report = simulator.run(simulation, url, key, secret, shuffle=shuffle, duplicates=duplicates, void=void,
                               clients=clients)
    except (simulator.SimulatorError, OSError) as exc:
        raise click.ClickException(_("The server refused or did not answer: %(reason)s", reason=str(exc))) from None
    expected = simulation.expected_report()
    if expect_out:
        expect_out.write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if as_json:
        _echo_json({**report.as_dict(), "expected": expected})
        return
    imported = report.imported
    click.echo(_("Learners: %(count)d (roster: %(created)d created, %(updated)d updated, %(unchanged)d unchanged).",
                 count=report.learners, created=imported.get("created", 0), updated=imported.get("updated", 0),
                 unchanged=imported.get("unchanged", 0)))
    click.echo(_("Statements: %(statements)d, sent %(sent)d times in %(batches)d batches (%(repeated)d batches sent "
                 "again, %(voided)d voiding statements).", statements=report.statements, sent=report.sent,
                 batches=report.batches, repeated=report.duplicated_batches, voided=report.voided))
    click.echo(_("By kind: %(kinds)s.", kinds=", ".join(f"{PART_LABELS.get(k, k)} {n}"
                                                        for k, n in report.by_part.items())))
    click.echo(_("By sender: Moodle %(moodle)d, course content %(content)d.",
                 moodle=report.by_shape.get("moodle", 0), content=report.by_shape.get("content", 0)))
    click.echo(_("Expected: %(completed)d completed of %(learners)d learners (%(statuses)s).",
                 completed=expected["totals"]["completed"], learners=expected["totals"]["learners"],
                 statuses=", ".join(f"{k} {n}" for k, n in report.statuses.items())))
    if expect_out:
        click.echo(_("Expected report written to %(path)s.", path=str(expect_out)))
    click.echo(_("Time: %(seconds).1f s.", seconds=report.seconds))


@click.group("progress", help=_("Learner progress, kept from the statements."))
def progress_group() -> None:
    pass


@progress_group.command("rebuild", help=_("Recompute every learner's progress from the stored statements."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def rebuild_command(as_json: bool) -> None:
    """One transaction: what it replaces stays readable until it commits, and a failure changes
    nothing. On PostgreSQL it first locks the facts table, so that statements stored meanwhile
    wait for it (instead of racing it) and are then projected as usual."""
    from sqlalchemy import func, select, text

    from courses.models import LearnerProgress, ProgressFact
    from courses.projection import rebuild

    _config, factory, catalogue, moodle = _runtime()

    def work(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE courses_progress_facts IN EXCLUSIVE MODE"))
        facts = rebuild(session, catalogue, moodle)
        learners = session.scalar(select(func.count(func.distinct(LearnerProgress.learner_id))))
        unmatched = session.scalar(select(func.count(func.distinct(ProgressFact.agent_key)))
                                   .where(ProgressFact.learner_id.is_(None)))
        return {"facts": facts, "learners": learners or 0, "unmatched_agents": unmatched or 0}

    click.echo(_("Rebuilding learner progress from the statements..."), err=True)
    counts = _run(factory, work)
    if as_json:
        _echo_json(counts)
        return
    click.echo(_("Progress rebuilt: %(facts)d facts from the statements, %(learners)d learner(s) with progress, "
                 "%(unmatched)d agent(s) matching no learner.", facts=counts["facts"], learners=counts["learners"],
                 unmatched=counts["unmatched_agents"]))
