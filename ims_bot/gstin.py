"""GSTIN validation, state codes and the QRMP GSTR-3B due-date group (pure).

A regular GSTIN is 15 characters: 2-digit state code, the holder's PAN (5 letters,
4 digits, 1 letter), an entity number (1-9, then A-Z), the letter `Z`, and a check
character computed by GSTN's base-36 weighted checksum (ims-facts.md §4).
"""

from __future__ import annotations

import re

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}

GSTIN_LENGTH = 15
#: The official format; validate_gstin checks it part by part to say what is wrong.
GSTIN_PATTERN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_PAN_PATTERN = re.compile(r"^[A-Z]{5}[0-9]{4}[A-Z]$")

#: GST state codes (the first two digits of a GSTIN).
STATES: dict[str, str] = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "25": "Daman and Diu",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "28": "Andhra Pradesh (before division)",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
    "99": "Centre Jurisdiction",
}

#: QRMP filers in these states/UTs file GSTR-3B by the 22nd; all others by the 24th
#: (GSTN note on Notification 82/2020-CT, ims-facts.md §4).
QRMP_22ND_STATES: frozenset[str] = frozenset(
    {"22", "23", "24", "27", "29", "30", "32", "33", "36", "37", "25", "26", "34", "35", "31"}
)


class InvalidGstin(ValueError):
    """The text is not a valid GSTIN; the message says what is wrong."""


def check_character(first14: str) -> str:
    """The 15th (check) character for the first 14 characters of a GSTIN.

    GSTN's algorithm: each character's base-36 value times a factor alternating 1, 2
    (starting with 1); each product folded as quotient + remainder by 36; summed.
    """
    text = first14.strip().upper()
    if len(text) != GSTIN_LENGTH - 1:
        raise InvalidGstin(f"need the first 14 characters of a GSTIN, got {len(text)}")
    total = 0
    for index, char in enumerate(text):
        try:
            value = _VALUE[char]
        except KeyError:
            raise InvalidGstin(
                f"GSTIN may contain only digits and capital letters; found {char!r}"
            ) from None
        product = value * (1 if index % 2 == 0 else 2)
        total += product // 36 + product % 36
    return _ALPHABET[(36 - total % 36) % 36]


def validate_gstin(text: str) -> str:
    """Return the normalised (stripped, upper-case) GSTIN, or raise InvalidGstin.

    Strict: the check character must be right. This is for a GSTIN a user types; for the
    supplier GSTINs in a portal file use `validate_gstin_structure`.
    """
    gstin = validate_gstin_structure(text)
    expected = check_character(gstin[:14])
    if gstin[14] != expected:
        raise InvalidGstin(
            f"{gstin}: the check character (15th) is wrong; expected {expected!r}, "
            f"got {gstin[14]!r} — please check for a typing mistake"
        )
    return gstin


def validate_gstin_structure(text: str) -> str:
    """Like `validate_gstin`, without the check character: length, characters, state code,
    PAN, entity number and `Z` are checked; the 15th character only for its alphabet.

    Supplier GSTINs in the portal's own data are taken as the portal sends them: providers'
    sandbox data carries GSTINs whose check character is wrong (ims-facts.md §5). Use
    `check_character_ok` to warn about those.
    """
    gstin = text.strip().upper()
    if len(gstin) != GSTIN_LENGTH:
        raise InvalidGstin(f"a GSTIN has 15 characters; {gstin!r} has {len(gstin)}")
    bad = [c for c in gstin if c not in _VALUE]
    if bad:
        raise InvalidGstin(f"a GSTIN has only digits and capital letters; found {bad[0]!r}")
    code = gstin[:2]
    if code not in STATES:
        raise InvalidGstin(f"{gstin}: the first two digits {code!r} are not a GST state code")
    pan = gstin[2:12]
    # The PAN's 4th letter (holder type: P, C, F, ...) is not checked: the check character
    # already catches typing mistakes, and a stricter list would risk refusing real GSTINs.
    if not _PAN_PATTERN.match(pan):
        raise InvalidGstin(
            f"{gstin}: characters 3-12 must be a PAN (5 letters, 4 digits, 1 letter); got {pan!r}"
        )
    if gstin[12] == "0":
        raise InvalidGstin(f"{gstin}: the 13th character (entity number) cannot be 0")
    if gstin[13] != "Z":
        raise InvalidGstin(f"{gstin}: the 14th character must be Z, got {gstin[13]!r}")
    return gstin


def check_character_ok(gstin: str) -> bool:
    """Whether a structurally valid GSTIN's 15th character is its check character."""
    return len(gstin) == GSTIN_LENGTH and gstin[14] == check_character(gstin[:14])


def is_valid_gstin(text: str) -> bool:
    try:
        validate_gstin(text)
    except InvalidGstin:
        return False
    return True


def make_gstin(state_code: str, pan: str, entity: str = "1") -> str:
    """Build a valid GSTIN (for demo data and tests)."""
    first14 = f"{state_code}{pan.strip().upper()}{entity.strip().upper()}Z"
    return validate_gstin(first14 + check_character(first14))


def state_code(gstin: str) -> str:
    """The state code (first two digits) of a valid GSTIN."""
    return validate_gstin(gstin)[:2]


def state_name(code: str) -> str:
    try:
        return STATES[code]
    except KeyError:
        raise ValueError(f"unknown GST state code {code!r}") from None


def qrmp_3b_day(state_code: str) -> int:
    """Day of the month after the quarter on which a QRMP filer's GSTR-3B is due."""
    return 22 if state_code in QRMP_22ND_STATES else 24
