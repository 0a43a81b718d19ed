"""Codice fiscale: check character (DM 23/12/1976) and omocodia."""
import pytest

from courses import codice_fiscale as cf
from tests.courses_support import make_cf

# Test vectors of reference/ECM.md §4 (python-codicefiscale README, sgart.it).
VALID = ["CCCFBA85D03L219P", "RSSMRA79B11C566R"]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    parsed = cf.parse(code)
    assert parsed.code == code
    assert not parsed.is_omocode


def test_spacing_and_case_are_forgiven():
    assert cf.parse(" ccc fba85d03l219p ").code == "CCCFBA85D03L219P"


def test_generated_codes_are_valid():
    assert all(cf.is_valid(make_cf(n)) for n in range(0, 200_000, 997))


@pytest.mark.parametrize("code", VALID)
def test_wrong_check_character(code):
    for wrong in sorted(set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") - {code[-1]}):
        with pytest.raises(cf.InvalidCodiceFiscale, match="wrong check character"):
            cf.parse(code[:-1] + wrong)


def test_a_changed_character_is_caught_by_the_check():
    with pytest.raises(cf.InvalidCodiceFiscale, match="wrong check character"):
        cf.parse("RSSMRA79B12C566R")


@pytest.mark.parametrize("variant,level", [("CCCFBA85D03L21VE", 1), ("CCCFBA85D03L2MVP", 2), ("CCCFBAURDLPLNMVU", 7)])
def test_omocodia_vectors(variant, level):
    parsed = cf.parse(variant)
    assert parsed.omocodia_level == level
    assert parsed.base_code == "CCCFBA85D03L219P"


def test_every_omocodia_variant_is_valid_and_distinct():
    variants = cf.omocodes("RSSMRA79B11C566R")
    assert len(set(variants)) == 7
    for level, variant in enumerate(variants, start=1):
        parsed = cf.parse(variant)
        assert parsed.omocodia_level == level
        assert parsed.base_code == "RSSMRA79B11C566R"


def test_omocodia_variant_with_wrong_check_character():
    variant = cf.omocodes("RSSMRA79B11C566R")[0]
    wrong = "A" if variant[-1] != "A" else "B"
    with pytest.raises(cf.InvalidCodiceFiscale, match="wrong check character"):
        cf.parse(variant[:-1] + wrong)


def test_omocodia_letters_replace_digits_from_the_right_only():
    first15 = "CCCFBA85D03LN19"  # position 13 replaced while 14 and 15 are digits
    with pytest.raises(cf.InvalidCodiceFiscale, match="from the right"):
        cf.parse(first15 + cf.check_character(first15))


@pytest.mark.parametrize("first15,reason", [
    ("RSSMRA79Z11C566", "month letter"),
    ("RSSMRA79B30C566", "day of birth"),   # 30 February
    ("RSSMRA79B72C566", "day of birth"),   # a woman's day above 71
    ("RSSMRA79BA1C566", "digit or an omocodia letter"),
    ("RSS1RA79B11C566", "letters expected"),
])
def test_malformed_codes(first15, reason):
    with pytest.raises(cf.InvalidCodiceFiscale, match=reason):
        cf.parse(first15 + cf.check_character(first15))


@pytest.mark.parametrize("value,reason", [("RSSMRA79B11C566", "16 characters"), ("RSSMRA79B11C56-R", "letters and digits"),
                                          ("", "16 characters")])
def test_wrong_length_or_characters(value, reason):
    with pytest.raises(cf.InvalidCodiceFiscale, match=reason):
        cf.parse(value)


def test_woman_day_of_birth_is_valid():
    first15 = "RSSMRA79B51C566"  # 11 February, woman
    assert cf.is_valid(first15 + cf.check_character(first15))
