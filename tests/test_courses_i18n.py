"""Every operator-facing message of courses/, of the dashboard and of the CLI has its Italian translation."""
from pathlib import Path

from babel.messages.extract import extract_from_dir, extract_from_file

from fse_fad.i18n import _catalogue

ROOT = Path(__file__).resolve().parents[1]
# _() calls, and the reasons of roster rows and codici fiscali, which the CLI translates.
KEYWORDS = {"_": None, "bad": (2,), "of": (3,), "InvalidCodiceFiscale": (1,)}


def test_courses_and_cli_messages_are_translated():
    found = {m for *_x, m, _c, _ctx in extract_from_dir(ROOT / "courses", method_map=[("**.py", "python")],
                                                         keywords=KEYWORDS)}
    with open(ROOT / "fse_fad" / "cli.py", "rb") as fh:
        found |= {m for _line, m, _c, _ctx in extract_from_file("python", fh.name, keywords=KEYWORDS)}
    found = {m[0] if isinstance(m, tuple) else m for m in found if m}
    assert len(found) > 50
    missing = sorted(found - set(_catalogue("it")))
    assert not missing, f"add to fse_fad/translations/it/LC_MESSAGES/messages.po: {missing}"


def test_dashboard_pages_and_commands_are_translated():
    """Every message of the dashboard's code and Jinja templates has its Italian translation."""
    found = {m for *_x, m, _c, _ctx in extract_from_dir(
        ROOT / "dashboard", method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")],
        keywords={"_": None})}
    found = {m[0] if isinstance(m, tuple) else m for m in found if m}
    assert len(found) > 100
    missing = sorted(found - set(_catalogue("it")))
    assert not missing, f"add to dashboard/translations/it/LC_MESSAGES/messages.po: {missing}"
