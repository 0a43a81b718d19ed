"""The ``fse-fad`` command: serve, database, clients. Domains add their own groups."""
from __future__ import annotations

import json
import sys

import click

from fse_fad.config import Config
from fse_fad.errors import ApiError
from fse_fad.i18n import _


def _config() -> Config:
    try:
        return Config.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _session_factory(config: Config):
    from fse_fad.db import make_engine, make_session_factory

    return make_session_factory(make_engine(config.database_url))


@click.group(help=_("fse-fad: xAPI LRS, course tracking and ECM credits of the FSE 2.0 training programme."))
def main() -> None:
    pass


@main.command(help=_("Bring the database schema up to date and serve the application."))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
def serve(host: str, port: int) -> None:
    from fse_fad.db import upgrade
    from fse_fad.server import Server

    config = _config()
    upgrade(config.database_url)
    click.echo(_("Database schema up to date."), err=True)
    Server(config, host, port).run()


@main.command(help=_("Write the OpenAPI description of the HTTP API."))
@click.option("--out", "out", type=click.Path(dir_okay=False), default="-", show_default=True)
def openapi(out: str) -> None:
    from fse_fad.openapi import write_document

    write_document(out)


@main.group(help=_("Database schema, backups."))
def db() -> None:
    pass


@db.command("upgrade", help=_("Apply pending migrations."))
def db_upgrade() -> None:
    from fse_fad.db import upgrade

    upgrade(_config().database_url)
    click.echo(_("Database schema up to date."))


@db.command("backup", help=_("Write a portable backup of the whole database to FILE."))
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def db_backup(path: str) -> None:
    from pathlib import Path

    from fse_fad.backup import backup
    from fse_fad.db import make_engine

    engine = make_engine(_config().database_url)
    manifest = backup(engine, Path(path))
    engine.dispose()
    click.echo(_("Backup written: %(rows)s rows at schema revision %(revision)s.",
                 rows=sum(manifest["tables"].values()), revision=manifest["revision"]))


@db.command("restore", help=_("Restore a backup into an empty database."))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def db_restore(path: str) -> None:
    from pathlib import Path

    from fse_fad.backup import BackupError, restore
    from fse_fad.db import make_engine

    engine = make_engine(_config().database_url)
    try:
        manifest = restore(engine, Path(path))
    except BackupError as exc:
        raise click.ClickException(_("Restore refused: %(reason)s", reason=str(exc))) from None
    finally:
        engine.dispose()
    click.echo(_("Backup restored: %(rows)s rows.", rows=sum(manifest["tables"].values())))


@main.command(help=_("Check the configuration and the database before serving."))
def check() -> None:
    from sqlalchemy import text as sql

    from fse_fad.db import make_engine, pending_migrations

    problems = []
    try:
        config = Config.from_env()
    except ValueError as exc:
        raise click.ClickException(_("Configuration error: %(reason)s", reason=str(exc))) from None
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(sql("SELECT 1"))
        pending = pending_migrations(engine)
        if pending:
            problems.append(_("Pending migrations: %(revisions)s (run: fse-fad db upgrade).",
                              revisions=", ".join(pending)))
    except Exception as exc:  # any failure to reach the database is reported, not raised
        problems.append(_("Database unreachable: %(reason)s", reason=exc.__class__.__name__))
    finally:
        engine.dispose()
    if config.is_production and config.public_url.startswith("http://"):
        problems.append(_("FSE_FAD_PUBLIC_URL should be an https address in production."))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(_("Configuration and database are ready."))


@main.group(help=_("API clients: keys, secrets, scopes and roles."))
def clients() -> None:
    pass


@clients.command("create", help=_("Create a client and print its key and secret (shown only once)."))
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, help=_("xAPI scope; repeatable."))
@click.option("--role", default=None, help=_("Role for the /api/v1 endpoints."))
@click.option("--trust", "trust_code", default=None, help=_("Trust the client belongs to."))
@click.option("--regional", is_flag=True, default=False, help=_("Regional client: sees every trust."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def clients_create(name, scopes, role, trust_code, regional, as_json) -> None:
    from fse_fad.auth import create_client
    from fse_fad.db import session_scope

    config = _config()
    trust_code = _checked_trust(trust_code, role, regional)
    try:
        with session_scope(_session_factory(config)) as session:
            client, secret = create_client(session, name, list(scopes), role=role, trust_code=trust_code,
                                           regional=regional)
            key = client.key
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps({"key": key, "secret": secret}))
    else:
        click.echo(_("Client created. Keep the secret: it will not be shown again."), err=True)
        click.echo(f"key: {key}\nsecret: {secret}")


def _checked_trust(trust_code: str | None, role: str | None, regional: bool) -> str | None:
    """The trust code as the reference data spells it; a training office needs a trust or --regional."""
    from courses.reference import default_reference

    if trust_code is not None:
        trust = default_reference().find("trust", trust_code)
        if trust is None:
            raise click.ClickException(_("Unknown trust %(code)s: one of %(choices)s.", code=trust_code,
                                         choices=", ".join(default_reference().trusts)))
        trust_code = trust.code
    if role == "training-office" and not trust_code and not regional:
        raise click.ClickException(_("A training office client needs --trust CODE or --regional."))
    return trust_code


@clients.command("list", help=_("List the clients."))
@click.option("--json", "as_json", is_flag=True, default=False)
def clients_list(as_json) -> None:
    from fse_fad.auth import list_clients
    from fse_fad.db import session_scope

    with session_scope(_session_factory(_config())) as session:
        rows = [{"key": c.key, "name": c.name, "scopes": c.scope_list, "role": c.role, "trust": c.trust_code,
                 "regional": c.regional, "created_at": c.created_at.isoformat(), "active": c.active}
                for c in list_clients(session)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = _("active") if row["active"] else _("revoked")
        click.echo(f"{row['key']}  {row['name']}  [{' '.join(row['scopes'])}]  {row['role'] or '-'}  "
                   f"{row['trust'] or ('regional' if row['regional'] else '-')}  {state}")


@clients.command("revoke", help=_("Revoke a client: its secret and tokens stop working at once."))
@click.argument("key")
def clients_revoke(key: str) -> None:
    from fse_fad.auth import revoke_client
    from fse_fad.db import session_scope

    try:
        with session_scope(_session_factory(_config())) as session:
            revoke_client(session, key)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(_("Client revoked."))


def _add_domain_commands() -> None:
    from courses.cli import courses_group, learners, progress_group, simulate
    from ecm.cli import ecm_group

    main.add_command(learners)
    main.add_command(courses_group)
    main.add_command(simulate)
    main.add_command(progress_group)
    main.add_command(ecm_group)


_add_domain_commands()


from scorm_packages.cli import scorm  # noqa: E402  (the scorm_packages domain's group)

main.add_command(scorm)

from dashboard.cli import users  # noqa: E402  (the dashboard domain's group)

main.add_command(users)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
