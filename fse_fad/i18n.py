"""Messages for people (operators, training offices): Italian first, English second.

Message ids are English; the Italian catalogue is gettext .po files read with Babel at start,
so that translators edit plain files and no build step is needed. The shared package and each
domain package keep their own ``translations/<locale>/LC_MESSAGES/messages.po``; the catalogue of
a locale is their union.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

PACKAGES_ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("fse_fad", "lrs", "courses", "scorm_packages", "ecm", "dashboard")
DEFAULT_LOCALE = "it"
LOCALES = ("it", "en")


@lru_cache(maxsize=None)
def _catalogue(locale: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for domain in DOMAINS:
        path = PACKAGES_ROOT / domain / "translations" / locale / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            messages.update((m.id, m.string) for m in catalog if m.id and m.string and not m.fuzzy)
    return messages


def current_locale() -> str:
    locale = os.environ.get("FSE_FAD_LANG", DEFAULT_LOCALE)[:2].lower()
    return locale if locale in LOCALES else DEFAULT_LOCALE


def gettext(message: str, locale: str | None = None, **values) -> str:
    translated = _catalogue(locale or current_locale()).get(message, message)
    return translated % values if values else translated


_ = gettext
