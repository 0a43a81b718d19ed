"""The Italian codice fiscale of a natural person (DM 23 dicembre 1976): form, check character and
omocodia.

Layout of the 16 characters: surname (3 letters), name (3 letters), year of birth (2 digits),
month (one of ``ABCDEHLMPRST``), day of birth (2 digits, plus 40 for women), cadastral code of the
place of birth (a letter and 3 digits), check character. When two people would get the same code
(omocodia), the Agenzia delle Entrate replaces digits with the letters ``LMNPQRSTUV`` (for 0-9)
starting from the rightmost one, and recomputes the check character on the changed code.
"""
from __future__ import annotations

from dataclasses import dataclass

_ODD_VALUES = {
    "0": 1, "1": 0, "2": 5, "3": 7, "4": 9, "5": 13, "6": 15, "7": 17, "8": 19, "9": 21,
    "A": 1, "B": 0, "C": 5, "D": 7, "E": 9, "F": 13, "G": 15, "H": 17, "I": 19, "J": 21,
    "K": 2, "L": 4, "M": 18, "N": 20, "O": 11, "P": 3, "Q": 6, "R": 8, "S": 12, "T": 14,
    "U": 16, "V": 10, "W": 22, "X": 25, "Y": 24, "Z": 23,
}
_EVEN_VALUES = {**{str(d): d for d in range(10)}, **{chr(ord("A") + i): i for i in range(26)}}

OMOCODIA_LETTERS = "LMNPQRSTUV"  # stand for the digits 0-9
# Positions (0-based) of the characters that are digits in a code without omocodia, in the order
# in which omocodia replaces them: rightmost first.
OMOCODIA_POSITIONS = (14, 13, 12, 10, 9, 7, 6)
MONTHS = "ABCDEHLMPRST"
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class InvalidCodiceFiscale(ValueError):
    """The reason a string is not a valid codice fiscale, in English (also a message id)."""


@dataclass(frozen=True)
class CodiceFiscale:
    code: str
    omocodia_level: int  # how many digits were replaced by letters (0 to 7)

    @property
    def base_code(self) -> str:
        """The code with every omocodia letter turned back into its digit and the check recomputed."""
        return base_form(self.code)

    @property
    def is_omocode(self) -> bool:
        return self.omocodia_level > 0


def check_character(first15: str) -> str:
    """The check character of the first 15 characters of a code (uppercase)."""
    total = 0
    for index, char in enumerate(first15):
        # Positions are counted from 1: odd positions are the even indexes.
        total += _ODD_VALUES[char] if index % 2 == 0 else _EVEN_VALUES[char]
    return chr(ord("A") + total % 26)


def normalize(value: str) -> str:
    return "".join(value.split()).upper()


def _digit(char: str) -> str:
    index = OMOCODIA_LETTERS.find(char)
    return str(index) if index >= 0 else char


def base_form(code: str) -> str:
    chars = list(code[:15])
    for position in OMOCODIA_POSITIONS:
        chars[position] = _digit(chars[position])
    first15 = "".join(chars)
    return first15 + check_character(first15)


def parse(value: str) -> CodiceFiscale:
    """Validate ``value``; raise InvalidCodiceFiscale naming the reason."""
    code = normalize(value)
    if len(code) != 16:
        raise InvalidCodiceFiscale("must be 16 characters")
    if not code.isascii() or not code.isalnum():
        raise InvalidCodiceFiscale("must hold only letters and digits")
    if not (code[:6].isalpha() and code[8].isalpha() and code[11].isalpha() and code[15].isalpha()):
        raise InvalidCodiceFiscale("letters expected at positions 1-6, 9, 12 and 16")
    replaced = 0
    for position in OMOCODIA_POSITIONS:
        char = code[position]
        if char.isdigit():
            break
        if char not in OMOCODIA_LETTERS:
            raise InvalidCodiceFiscale("a digit or an omocodia letter (L M N P Q R S T U V) expected at positions 7-8, "
                                       "10-11 and 13-15")
        replaced += 1
    for position in OMOCODIA_POSITIONS[replaced:]:
        if not code[position].isdigit():
            if code[position] in OMOCODIA_LETTERS:
                raise InvalidCodiceFiscale("omocodia replaces digits from the right: a letter stands where a digit is due")
            raise InvalidCodiceFiscale("a digit or an omocodia letter (L M N P Q R S T U V) expected at positions 7-8, "
                                       "10-11 and 13-15")
    if code[8] not in MONTHS:
        raise InvalidCodiceFiscale("the month letter (position 9) must be one of A B C D E H L M P R S T")
    day = int(_digit(code[9]) + _digit(code[10]))
    day = day - 40 if day > 40 else day
    if not 1 <= day <= _DAYS_IN_MONTH[MONTHS.index(code[8])]:
        raise InvalidCodiceFiscale("the day of birth (positions 10-11) is not a day of that month")
    if check_character(code[:15]) != code[15]:
        raise InvalidCodiceFiscale("wrong check character")
    return CodiceFiscale(code, replaced)


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidCodiceFiscale:
        return False
    return True


def omocodes(code: str) -> list[str]:
    """The seven omocodia variants of a code, from one replaced digit to all of them."""
    chars = list(base_form(normalize(code))[:15])
    variants = []
    for position in OMOCODIA_POSITIONS:
        chars[position] = OMOCODIA_LETTERS[int(chars[position])]
        first15 = "".join(chars)
        variants.append(first15 + check_character(first15))
    return variants
