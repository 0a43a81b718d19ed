"""Messages for people (operators, training offices): Italian first, English second.

Message ids are English; the Italian catalogue is a gettext .po file read with Babel at start,
so that translators edit one plain file and no build step is needed.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "it"
LOCALES = ("it", "en")


@lru_cache(maxsize=None)
def _catalogue(locale: str) -> dict[str, str]:
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def current_locale() -> str:
    locale = os.environ.get("FSE_FAD_LANG", DEFAULT_LOCALE)[:2].lower()
    return locale if locale in LOCALES else DEFAULT_LOCALE


def gettext(message: str, locale: str | None = None, **values) -> str:
    translated = _catalogue(locale or current_locale()).get(message, message)
    return translated % values if values else translated


_ = gettext
