"""Certificates (attestati) as PDF, in Italian: ECM credits for the professionals who earned them,
attendance for everyone else who completed the course. Each carries the verification code of the
credit entry it prints; ``GET /api/v1/ecm/certificates/{code}`` tells whether it still holds."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from anyascii import anyascii
from fpdf import FPDF

from sqlalchemy.orm import Session

from courses.operations import get_learner
from courses.reference import Reference
from ecm import operations
from ecm.models import CreditEntry, EcmEvent
from fse_fad.i18n import _


def italian_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def italian_number(value: Decimal) -> str:
    return f"{Decimal(value):.1f}".replace(".", ",")


def verification_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/ecm/certificates/{code}"


def lines(entry: CreditEntry, event: EcmEvent, reference: Reference, public_url: str,
          locale: str | None = None) -> list[tuple[str, str]]:
    """The certificate's text as (style, line): style ``title``, ``name`` or ``text``."""
    data = entry.learner_data
    holder = " ".join(p for p in (data.get("name"), data.get("surname")) if p)
    profession = reference.professions.get(data.get("profession") or 0)
    title = _("Certificate of ECM credits", locale) if entry.outcome == "credits" else \
        _("Certificate of attendance", locale)
    out = [("title", title),
           ("text", _("The ECM provider %(provider)s certifies that", locale, provider=event.provider_code)),
           ("name", holder),
           ("text", _("codice fiscale %(code)s", locale, code=data.get("codice_fiscale") or "")),
           ("text", _("took part in the distance learning (FAD) event \"%(title)s\", ECM event code %(code)s, "
                      "edition %(edition)s, held from %(start)s to %(end)s, lasting %(hours)s hours,", locale,
                      title=event.title, code=event.code, edition=event.edition,
                      start=italian_date(event.start_date), end=italian_date(event.end_date), hours=event.hours))]
    if entry.outcome == "credits":
        out.append(("text", _("and earned %(credits)s ECM credits as %(profession)s on %(date)s.", locale,
                              credits=italian_number(entry.credits),
                              profession=profession.name if profession else "",
                              date=italian_date(entry.credit_date))))
    else:
        out.append(("text", _("completing it on %(date)s. This certificate of attendance does not award ECM "
                              "credits.", locale, date=italian_date(entry.credit_date))))
    out += [("text", _("Verification code: %(code)s", locale, code=entry.verification_code)),
            ("text", _("Verify the certificate at %(url)s", locale,
                       url=verification_url(public_url, entry.verification_code)))]
    return out


def _latin1(text: str) -> str:
    # The PDF core fonts hold Latin-1: anything beyond (dashes, quotes) is written as its closest ASCII.
    return "".join(c if ord(c) < 256 else anyascii(c) for c in text)


def render(entry: CreditEntry, event: EcmEvent, reference: Reference, public_url: str,
           locale: str | None = None) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # a one-page text: small either way, and searchable as it is
    pdf.set_title(_latin1(lines(entry, event, reference, public_url, locale)[0][1]))
    pdf.set_creator("fse-fad")
    pdf.add_page()
    pdf.set_margins(25, 30, 25)
    pdf.set_y(40)
    styles = {"title": ("B", 20, 16), "name": ("B", 16, 12), "text": ("", 12, 9)}
    for style, text in lines(entry, event, reference, public_url, locale):
        weight, size, gap = styles[style]
        pdf.set_font("Helvetica", weight, size)
        pdf.multi_cell(0, size * 0.6, _latin1(text), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)
    return bytes(pdf.output())


def of_learner(session: Session, event: EcmEvent, codice_fiscale: str, trust: str | None, reference: Reference,
               public_url: str) -> tuple[bytes, str]:
    """The PDF of a learner's current entry and its file name; another trust's learner (when
    ``trust`` is given), or one without a certificate, is not found."""
    learner = get_learner(session, codice_fiscale, trust)
    entry = operations.learner_entry(session, event, learner)
    return (render(entry, event, reference, public_url),
            f"attestato-{event.code}-{learner.codice_fiscale}.pdf")
