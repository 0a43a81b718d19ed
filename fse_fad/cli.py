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


@main.group(help=_("Database schema, backups."))
def db() -> None:
    pass


@db.command("upgrade", help=_("Apply pending migrations."))
def db_upgrade() -> None:
    from fse_fad.db import upgrade

    upgrade(_config().database_url)
    click.echo(_("Database schema up to date."))


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
