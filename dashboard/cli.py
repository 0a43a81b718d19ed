"""``fse-fad users``: the people who log in to the dashboard."""
from __future__ import annotations

import json

import click

from fse_fad.errors import ApiError
from fse_fad.i18n import _


def _session_factory():
    from fse_fad.cli import _config, _session_factory as factory

    return factory(_config())


def _password(value: str | None) -> str:
    if value is not None:
        return value
    return click.prompt(_("Password (at least 12 characters)"), hide_input=True, confirmation_prompt=True)


@click.group("users", help=_("Dashboard users: training offices and the ECM provider."))
def users() -> None:
    pass


@users.command("create", help=_("Create a dashboard user; the password is asked for when not given."))
@click.argument("email")
@click.option("--role", required=True, help=_("admin, training-office or ecm-provider."))
@click.option("--trust", "trust_code", default=None, help=_("Trust of a training office."))
@click.option("--regional", is_flag=True, default=False, help=_("Regional training office: sees every trust."))
@click.option("--password", default=None, help=_("The password (otherwise asked for, hidden)."))
def users_create(email, role, trust_code, regional, password) -> None:
    from courses.reference import default_reference
    from dashboard.operations import create_user
    from fse_fad.db import session_scope

    try:
        with session_scope(_session_factory()) as session:
            create_user(session, default_reference(), email, role, _password(password), trust_code=trust_code,
                        regional=regional)
    except ApiError as exc:
        raise click.ClickException(_problem(exc)) from None
    click.echo(_("User created."))


@users.command("list", help=_("List the dashboard users."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def users_list(as_json) -> None:
    from dashboard.operations import list_users
    from fse_fad.db import session_scope

    with session_scope(_session_factory()) as session:
        rows = [{"email": u.email, "role": u.role, "trust": u.trust_code, "regional": u.regional,
                 "active": u.active, "locked_until": u.locked_until.isoformat() if u.locked_until else None,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
                for u in list_users(session)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = _("active") if row["active"] else _("disabled")
        click.echo(f"{row['email']}  {row['role']}  {row['trust'] or (_('regional') if row['regional'] else '-')}  "
                   f"{state}")


@users.command("disable", help=_("Disable a user: their sessions end at once."))
@click.argument("email")
def users_disable(email) -> None:
    from dashboard.operations import disable_user
    from fse_fad.db import session_scope

    try:
        with session_scope(_session_factory()) as session:
            disable_user(session, email)
    except ApiError as exc:
        raise click.ClickException(_problem(exc)) from None
    click.echo(_("User disabled."))


@users.command("reset-password", help=_("Set a new password (asked for when not given); lifts a lock-out."))
@click.argument("email")
@click.option("--password", default=None, help=_("The password (otherwise asked for, hidden)."))
def users_reset_password(email, password) -> None:
    from dashboard.operations import reset_password
    from fse_fad.db import session_scope

    try:
        with session_scope(_session_factory()) as session:
            reset_password(session, email, _password(password))
    except ApiError as exc:
        raise click.ClickException(_problem(exc)) from None
    click.echo(_("Password changed; the user's open sessions have ended."))


def _problem(exc: ApiError) -> str:
    """The operator's message for a refused command, in the operator's language."""
    from fse_fad.errors import Conflict, NotFound

    if isinstance(exc, Conflict):
        return _("A user with this e-mail exists already.")
    if isinstance(exc, NotFound):
        return _("No user with this e-mail.")
    field = exc.problems[0].field if exc.problems else ""
    return {"email": _("Not a valid e-mail address."),
            "password": _("The password must have 12 to 256 characters."),
            "role": _("Unknown role: use admin, training-office or ecm-provider."),
            "trust": _("A training office needs --trust CODE (a known trust) or --regional; other roles neither."),
            }.get(field, exc.message)
