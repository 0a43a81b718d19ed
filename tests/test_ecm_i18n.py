"""Every message of ecm/ (certificates, the fse-fad ecm commands) has its Italian translation."""
from pathlib import Path

from babel.messages.extract import extract_from_dir

from fse_fad.i18n import _catalogue

ROOT = Path(__file__).resolve().parents[1]


def test_ecm_messages_are_translated():
    found = {m for *_x, m, _c, _ctx in extract_from_dir(ROOT / "ecm", method_map=[("**.py", "python")],
                                                         keywords={"_": None})}
    assert len(found) > 20
    missing = sorted(found - set(_catalogue("it")))
    assert not missing, f"add to ecm/translations/it/LC_MESSAGES/messages.po: {missing}"
