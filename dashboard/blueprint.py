"""The dashboard's pages: server-rendered, Italian by default, English by choice.

People log in with an e-mail and a password (dashboard.operations); the session is Flask's
signed cookie, limited to /dashboard, HttpOnly, SameSite=Lax, Secure when the public URL is
https. Every POST carries a CSRF token (Flask-WTF). A page shows what the reports of
``courses.reports`` give, limited to the user's trust exactly as the /api/v1 reports are
(``fse_fad.web.visible_trust``, ``courses.reports.report_trust``), and each table's download is
built from the same table (courses.report_files).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import wraps

from babel.numbers import format_decimal, format_percent
from flask import (Blueprint, Response, current_app, g, redirect, render_template, request, session,
                   url_for)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wsgi import wrap_file
from flask_wtf.csrf import CSRFError, CSRFProtect

from courses import report_files, reports
from courses.api import courses_runtime
from courses.operations import get_learner
from courses.progress import STATUSES
from courses.reports_api import LearnersQuerySchema, ProgressQuerySchema
from dashboard import charts, ecm_pages, operations, overview
from ecm import certificates, participant_report
from ecm import operations as ecm_operations
from ecm.api import reader_trust
from ecm.schemas import CreditsQuerySchema, EditionQuerySchema
from fse_fad.auth import FailureThrottle
from fse_fad.errors import ApiError, BadRequest, Forbidden, NotFound
from fse_fad.i18n import DEFAULT_LOCALE, LOCALES, gettext
from fse_fad.web import db, in_transaction, query_args, runtime, visible_trust

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
                      static_folder="static")
csrf = CSRFProtect()

TRAINING_PAGES = ("training-office",)
# As in the /api/v1/ecm endpoints: offices read events, credits and certificates (of their trust),
# the participant report and the due list are the provider's.
ECM_READERS = ("ecm-provider", "training-office")
ECM_PROVIDER = ("ecm-provider",)
PER_PAGE = 50
SESSION_HOURS = 8
# Columns shown as percentages, per table of courses.report_files (by position).
PERCENT_COLUMNS = {"completions": (6,), "targets": (7, 8)}
SECURITY_HEADERS = {
    # No script at all; pygal's SVG carries its own <style>.
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages carry personal data: not kept by the browser or a proxy.
    "Cache-Control": "no-store",
}


@dataclass
class DashboardRuntime:
    # Failed logins per source address (the per-account lock-out is in the database).
    login_failures: FailureThrottle = field(default_factory=lambda: FailureThrottle(limit=20, window_seconds=900))


class DashboardSessions(SecureCookieSessionInterface):
    """Signed cookie sessions for the dashboard's pages only: the APIs authenticate every request
    and open no session, which keeps the statement POSTs free of that work."""

    def open_session(self, app, request):
        if not request.path.startswith(blueprint.url_prefix):
            return self.make_null_session(app)
        return super().open_session(app, request)


@blueprint.record_once
def _set_up(state) -> None:
    app = state.app
    config = app.extensions["fse_fad"].config
    app.secret_key = config.secret_key
    app.session_interface = DashboardSessions()
    app.config.update(SESSION_COOKIE_NAME="fse_fad_dashboard", SESSION_COOKIE_PATH="/dashboard",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=config.public_url.startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
                      # Only the dashboard's forms are checked: the APIs authenticate every request.
                      WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
                      WTF_CSRF_SSL_STRICT=True)
    csrf.init_app(app)
    app.extensions["dashboard"] = DashboardRuntime()


def _(message: str, **values) -> str:
    return gettext(message, g.get("locale", DEFAULT_LOCALE), **values)


@blueprint.before_request
def _before() -> None:
    lang = session.get("lang")
    g.locale = lang if lang in LOCALES else DEFAULT_LOCALE
    if request.method == "POST":
        csrf.protect()
    if request.endpoint == "dashboard.static":
        return
    g.user = operations.user_of_session(db(), session.get("uid"), session.get("ver"))
    db().rollback()


@blueprint.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@blueprint.app_context_processor
def _template_globals() -> dict:
    if not request.blueprint == "dashboard":
        return {}
    return {"_": _, "locale": g.get("locale", DEFAULT_LOCALE), "user": g.get("user"),
            "scope_label": _scope_label(g.get("user"))}


def _scope_label(user) -> str:
    if user is None:
        return ""
    if user.role == "training-office" and user.trust_code:
        trust = courses_runtime().catalogue.reference.trusts.get(user.trust_code)
        return trust.name if trust else user.trust_code
    return _("Regional office") if user.role != "ecm-provider" else _("ECM provider")


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError):
    problem = exc.problems[0] if exc.problems else None
    return render_template("dashboard/error.html", status=exc.status, message=_error_message(exc.status),
                           problem=problem), exc.status


@blueprint.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return render_template("dashboard/error.html", status=400, problem=None,
                           message=_("The form has expired or did not come from this site: "
                                     "go back, reload the page and try again.")), 400


def _error_message(status: int) -> str:
    return {400: _("The request is not valid."), 403: _("You are not allowed to see this page."),
            404: _("Not found, or not among the data you may see.")}.get(status, _("The request failed."))


# --- who may see what -----------------------------------------------------------------------------

def _safe_next(target: str | None, user=None) -> str:
    """Where to go after logging in: a dashboard page of this site, never another site; without
    one, the user's first page. The provider has no overview: asked for it (the dashboard's
    address), it lands on the ECM events."""
    overview = url_for("dashboard.overview_page")
    home = url_for("dashboard.ecm_events_page") if user is not None and user.role == "ecm-provider" else overview
    if target and target != overview and target.startswith(blueprint.url_prefix + "/") \
            and not target.startswith("//") and "\\" not in target:
        return target
    return home


def page(*roles: str):
    """A page for logged-in users with one of ``roles`` (admin may see every page)."""

    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            user = g.get("user")
            if user is None:
                return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
            if user.role != "admin" and user.role not in roles:
                raise Forbidden("this page is not for the user's role", field="role",
                                rule=" or ".join(("admin", *roles)))
            return view(user, *args, **kwargs)

        return inner

    return wrap


@contextmanager
def _malformed_code_is_no_learner():
    # The same answer as for another trust's learner: a page tells nothing about codes it cannot show.
    try:
        yield
    except BadRequest:
        raise NotFound("no such learner", field="codice_fiscale", rule="a learner of the roster") from None


def _trust(user, requested: str | None) -> str | None:
    return reports.report_trust(courses_runtime().catalogue, visible_trust(user), requested or None)


# --- tables as shown ------------------------------------------------------------------------------

@dataclass
class Cell:
    text: str
    value: str
    numeric: bool = False
    href: str | None = None


def _cell(value, locale: str, percent: bool) -> Cell:
    if value is None:
        return Cell("", "")
    if isinstance(value, bool):
        return Cell(_("yes") if value else _("no"), "true" if value else "false")
    if isinstance(value, int):
        return Cell(format_decimal(value, locale=locale), str(value), True)
    if isinstance(value, Decimal):  # ECM credits: one decimal, as on the certificates
        return Cell(format_decimal(value, "#,##0.0", locale=locale), str(value), True)
    if isinstance(value, float):
        text = format_percent(value, "#,##0.0%", locale=locale) if percent else format_decimal(value, locale=locale)
        return Cell(text, repr(value), True)
    return Cell(str(value), str(value))


def shown(table: report_files.Table, kind: str | None = None, links=None) -> dict:
    """A table of courses.report_files as the page shows it: the same rows and columns as its
    file, numbers formatted for the language, the raw value kept in ``data-value``."""
    percent = PERCENT_COLUMNS.get(kind, ())
    rows = []
    for row in table.rows:
        cells = [_cell(value, g.locale, index in percent) for index, value in enumerate(row)]
        for index, href in (links(row) if links else {}).items():
            cells[index].href = href
        rows.append(cells)
    return {"title": table.title, "headers": table.headers, "rows": rows}


def _learners_url(**filters) -> str:
    return url_for("dashboard.learners_page", **{k: v for k, v in filters.items() if v not in (None, "")})


def _overview_links(name: str, trust: str | None):
    if name == "trusts":
        return lambda row: ({0: _learners_url(trust=row[0]), 5: _learners_url(trust=row[0], status="completed")}
                            if row[0] else {})
    if name == "funnel":
        return lambda row: ({0: _learners_url(cluster=row[0], trust=trust),
                             5: _learners_url(cluster=row[0], trust=trust, status="completed")} if row[0] else {})
    if name == "targets":
        return lambda row: {2: _learners_url(trust=row[2], course=row[0])} if row[2] else {}
    return None


# --- login, logout, language ----------------------------------------------------------------------

@blueprint.route("/login", methods=["GET", "POST"])
def login():
    next_page = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.get("user") is not None:
            return redirect(_safe_next(request.values.get("next"), g.user))
        return render_template("dashboard/login.html", next_page=next_page, error=None, email="")
    throttle: FailureThrottle = current_app.extensions["dashboard"].login_failures
    source = request.remote_addr or "unknown"
    email = request.form.get("email", "")[:254]
    wait = throttle.retry_after(source)
    if wait:
        error = _("Too many failed logins from this address: try again in %(minutes)d minutes.",
                  minutes=max(1, -(-wait // 60)))
        return render_template("dashboard/login.html", next_page=next_page, error=error, email=email), 429
    password = request.form.get("password", "")
    outcome = in_transaction(lambda s: operations.log_in(s, email, password))
    if outcome.user is None:
        throttle.failed(source)
        if outcome.locked_minutes:
            error = _("Too many failed logins: the account is locked. Try again in %(minutes)d minutes, "
                      "or ask the administrator for a new password.", minutes=outcome.locked_minutes)
            status = 429
        else:
            error, status = _("Wrong e-mail or password."), 401
        return render_template("dashboard/login.html", next_page=next_page, error=error, email=email), status
    lang = session.get("lang")
    # A new session for the new user: nothing of the anonymous one is carried over but the language.
    session.clear()
    session.permanent = True
    session.update(uid=outcome.user.id, ver=outcome.user.session_version)
    if lang:
        session["lang"] = lang
    return redirect(_safe_next(request.values.get("next"), outcome.user))


@blueprint.post("/logout")
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("dashboard.login"))


@blueprint.post("/language")
def language():
    lang = request.form.get("lang", "")
    if lang not in LOCALES:
        raise BadRequest("unknown language", field="lang", rule=f"one of {', '.join(LOCALES)}")
    session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


# --- overview -------------------------------------------------------------------------------------

def _part(name: str, user, trust: str | None) -> overview.Part:
    today = datetime.now(reports.ROME).date()
    return overview.PARTS[name](db(), courses_runtime().catalogue, trust, today, g.locale)


@blueprint.get("/")
@page(*TRAINING_PAGES)
def overview_page(user):
    trust = _trust(user, request.args.get("trust"))
    parts = {name: _part(name, user, trust) for name in overview.PARTS}
    kinds = {"targets": "targets", "trusts": "completions", "funnel": "completions", "levels": "completions"}
    sections = [{"name": name, "table": shown(part.table, kinds.get(name), _overview_links(name, trust)),
                 "chart": charts.CHARTS[name](part.report, g.locale),
                 "exports": {fmt: url_for("dashboard.export_part", name=name, fmt=fmt,
                                          **({"trust": trust} if trust else {})) for fmt in report_files.FORMATS}}
                for name, part in parts.items()]
    milestone = parts["targets"].report["milestone"]
    db().rollback()
    return render_template("dashboard/overview.html", sections=sections, milestone=milestone,
                           milestone_chart=charts.milestone_chart(milestone, g.locale), trust=trust,
                           trusts=_trust_choices(user))


@blueprint.get("/export/<name>.<fmt>")
@page(*TRAINING_PAGES)
def export_part(user, name: str, fmt: str):
    if name not in overview.PARTS:
        raise NotFound(f"no table {name}", field="name", rule=f"one of {', '.join(overview.PARTS)}")
    if fmt not in report_files.FORMATS:
        raise NotFound(f"no format {fmt}", field="format", rule=f"one of {', '.join(report_files.FORMATS)}")
    trust = _trust(user, request.args.get("trust"))
    part = _part(name, user, trust)
    db().rollback()
    return _download(part.table, fmt, _("overview"), name, trust)


def _download(table: report_files.Table, fmt: str, *name_parts) -> Response:
    content = report_files.render(table, fmt, g.locale)
    stem = "-".join(str(p) for p in name_parts if p)
    return Response(content, mimetype=report_files.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


def _pages(total: int) -> int:
    return max(1, -(-total // PER_PAGE))


def _trust_choices(user) -> list:
    """The trusts a user may pick in a filter: all for a regional office, none to pick otherwise."""
    if visible_trust(user) is not None:
        return []
    return [(code, trust.name) for code, trust in courses_runtime().catalogue.reference.trusts.items()]


# --- learners -------------------------------------------------------------------------------------

def _learners_report(user, every_row: bool) -> tuple[dict, dict, str | None]:
    # A filter form sends its "any" choices as empty values: they filter nothing.
    args = query_args(LearnersQuerySchema(), {k: v for k, v in request.args.items() if v != ""})
    trust = _trust(user, args.get("trust"))
    report = reports.learners(db(), courses_runtime().catalogue, course_code=args.get("course"),
                              status=args.get("status"), cluster=args.get("cluster"), trust=trust,
                              page=1 if every_row else args["page"], per_page=None if every_row else PER_PAGE)
    db().rollback()
    return args, report, trust


@blueprint.get("/learners")
@page(*TRAINING_PAGES)
def learners_page(user):
    args, report, trust = _learners_report(user, every_row=False)
    course = report["course"]

    def links(row):
        return {0: url_for("dashboard.learner_page", codice_fiscale=row[0], course=course)} if row[0] else {}

    filters = {"course": course, "status": report["status"], "cluster": report["cluster"],
               "trust": args.get("trust") and trust}
    query = {k: v for k, v in filters.items() if v not in (None, "")}
    pages = _pages(report["total"])
    catalogue = courses_runtime().catalogue
    return render_template(
        "dashboard/learners.html", report=report, table=shown(report_files.learners_table(report, g.locale),
                                                              links=links),
        filters=filters, pages=pages, trusts=_trust_choices(user), own_trust=visible_trust(user),
        courses=[(c.code, c.title) for c in catalogue.courses.values()],
        statuses=[(s, report_files.status_label(s, g.locale)) for s in STATUSES],
        clusters=sorted(catalogue.reference.clusters.items()),
        page_url=lambda number: url_for("dashboard.learners_page", **query, page=number),
        exports={fmt: url_for("dashboard.export_learners", fmt=fmt, **query) for fmt in report_files.FORMATS})


@blueprint.get("/learners/export.<fmt>")
@page(*TRAINING_PAGES)
def export_learners(user, fmt: str):
    if fmt not in report_files.FORMATS:
        raise NotFound(f"no format {fmt}", field="format", rule=f"one of {', '.join(report_files.FORMATS)}")
    _args, report, trust = _learners_report(user, every_row=True)
    return _download(report_files.learners_table(report, g.locale), fmt, _("learners"), report["course"],
                     report["status"], trust)


@blueprint.get("/learners/<codice_fiscale>")
@page(*TRAINING_PAGES)
def learner_page(user, codice_fiscale: str):
    args = query_args(ProgressQuerySchema())
    session_ = db()
    with _malformed_code_is_no_learner():
        learner = get_learner(session_, codice_fiscale, visible_trust(user))
    catalogue = courses_runtime().catalogue
    course = reports.course_of(catalogue, args.get("course"))
    progress = reports.learner_progress(session_, course, learner.codice_fiscale)
    names = {"surname": learner.surname, "name": learner.name}
    session_.rollback()
    reference = catalogue.reference
    return render_template("dashboard/learner.html", progress=progress, names=names, course=course,
                           courses=[(c.code, c.title) for c in catalogue.courses.values()],
                           trust_name=reference.trusts[progress["trust"]].name
                           if progress["trust"] in reference.trusts else progress["trust"],
                           status=report_files.status_label(progress["status"], g.locale),
                           back=url_for("dashboard.learners_page", course=course.code))


# --- ECM ------------------------------------------------------------------------------------------

def _ecm_event(code: str, edition: int | None):
    return ecm_operations.get_event(db(), code, edition)


def _event_url(row) -> str:
    return url_for("dashboard.ecm_event_page", code=row[0], edition=row[1])


@blueprint.get("/ecm/")
@page(*ECM_READERS)
def ecm_events_page(user):
    rows = ecm_pages.events(db(), reader_trust(user))
    db().rollback()
    table = shown(ecm_pages.events_table(rows, g.locale), links=lambda row: {0: _event_url(row)})
    return render_template("dashboard/ecm_events.html", table=table, count=len(rows))


@blueprint.get("/ecm/events/<code>")
@page(*ECM_READERS)
def ecm_event_page(user, code: str):
    args = query_args(CreditsQuerySchema(), {k: v for k, v in request.args.items() if v != ""})
    event = _ecm_event(code, args.get("edition"))
    flagged = True if args.get("flagged") else None
    credits = ecm_operations.credits_page(db(), event, trust=reader_trust(user), flagged=flagged,
                                          page=args["page"], per_page=PER_PAGE)
    document = ecm_operations.event_document(event)
    db().rollback()

    certified = {r["codice_fiscale"] for r in credits["rows"] if r["outcome"] != "revoked"}

    def links(row):
        return {0: url_for("dashboard.ecm_certificate", code=event.code, edition=event.edition,
                           codice_fiscale=row[0])} if row[0] in certified else {}

    query = {"edition": event.edition, **({"flagged": "true"} if flagged else {})}
    provider = user.role != "training-office"
    return render_template(
        "dashboard/ecm_event.html", event=document, credits=credits, flagged=flagged,
        table=shown(ecm_pages.entries_table(credits, g.locale), links=links),
        pages=_pages(credits["total"]),
        page_url=lambda number: url_for("dashboard.ecm_event_page", code=event.code, **query, page=number),
        reports={fmt: url_for("dashboard.ecm_report", code=event.code, fmt=fmt, edition=event.edition)
                 for fmt in participant_report.FORMATS} if provider else None)


@blueprint.get("/ecm/flagged")
@page(*ECM_READERS)
def ecm_flagged_page(user):
    found = ecm_pages.flagged(db(), reader_trust(user))
    db().rollback()

    def links(row):
        return {0: url_for("dashboard.ecm_event_page", code=row[0], edition=row[1], flagged="true")}

    return render_template("dashboard/ecm_flagged.html", total=found["total"],
                           table=shown(ecm_pages.entries_table(found, g.locale, with_event=True), links=links))


@blueprint.get("/ecm/due")
@page(*ECM_PROVIDER)
def ecm_due_page(user):
    rows = ecm_operations.due_events(db(), datetime.now(reports.ROME).date())
    db().rollback()
    return render_template("dashboard/ecm_due.html", count=len(rows),
                           table=shown(ecm_pages.due_table(rows, g.locale), links=lambda row: {0: _event_url(row)}))


@blueprint.get("/ecm/events/<code>/report.<fmt>")
@page(*ECM_PROVIDER)
def ecm_report(user, code: str, fmt: str):
    if fmt not in participant_report.FORMATS:
        raise NotFound(f"no format {fmt}", field="format", rule=f"one of {', '.join(participant_report.FORMATS)}")
    event = _ecm_event(code, query_args(EditionQuerySchema()).get("edition"))
    try:
        spool = participant_report.spooled(db(), event, courses_runtime().catalogue.reference, fmt)
    except participant_report.ReportRefused as refused:
        db().rollback()
        return render_template("dashboard/ecm_report_refused.html", event=ecm_operations.event_document(event),
                               problems=refused.problems, fmt=fmt), 400
    name = participant_report.file_name(event, fmt)
    db().rollback()
    return Response(wrap_file(request.environ, spool), content_type=participant_report.MEDIA_TYPES[fmt],
                    direct_passthrough=True, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/ecm/events/<code>/certificates/<codice_fiscale>")
@page(*ECM_READERS)
def ecm_certificate(user, code: str, codice_fiscale: str):
    event = _ecm_event(code, query_args(EditionQuerySchema()).get("edition"))
    with _malformed_code_is_no_learner():
        pdf, name = certificates.of_learner(db(), event, codice_fiscale, reader_trust(user),
                                            courses_runtime().catalogue.reference, runtime().config.public_url)
    db().rollback()
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
