"""GSTIN validation: format, state code and GSTN's base-36 check character."""

from __future__ import annotations

import re

import pytest

from ims_bot.gstin import (
    QRMP_22ND_STATES,
    STATES,
    InvalidGstin,
    check_character,
    check_character_ok,
    is_valid_gstin,
    make_gstin,
    qrmp_3b_day,
    state_code,
    state_name,
    validate_gstin,
    validate_gstin_structure,
)


@pytest.mark.parametrize(
    "text, normalised",
    [
        pytest.param("27AAPFU0939F1ZV", "27AAPFU0939F1ZV", id="published-maharashtra-example"),
        pytest.param("29AAGCB7383J1Z4", "29AAGCB7383J1Z4", id="karnataka-company"),
        pytest.param("  27aapfu0939f1zv \n", "27AAPFU0939F1ZV", id="stripped-and-uppercased"),
    ],
)
def test_valid_gstins_are_normalised(text: str, normalised: str) -> None:
    assert validate_gstin(text) == normalised
    assert is_valid_gstin(text)


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("27AAPFU0939F1Z", "15 characters", id="too-short"),
        pytest.param("27AAPFU0939F1ZVX", "15 characters", id="too-long"),
        pytest.param("", "15 characters", id="empty"),
        pytest.param("27AAPFU0939F1Z-", "only digits and capital letters", id="punctuation"),
        pytest.param("40AAPFU0939F1ZV", "'40' are not a GST state code", id="unknown-state"),
        pytest.param("00AAPFU0939F1ZV", "'00' are not a GST state code", id="state-zero"),
        pytest.param("27AAPF10939F1ZV", "must be a PAN", id="pan-digit-among-letters"),
        pytest.param("27AAPFU09391F1Z", "must be a PAN", id="pan-shifted"),
        pytest.param("27AAPFU0939F0ZV", "entity number) cannot be 0", id="entity-zero"),
        pytest.param("27AAPFU0939F1YV", "14th character must be Z", id="fourteenth-not-z"),
        pytest.param("27AAPFU0939F1ZW", "expected 'V', got 'W'", id="wrong-check-character"),
        pytest.param("29AAGCB7383J1Z5", "expected '4', got '5'", id="check-catches-typo"),
    ],
)
def test_invalid_gstins_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidGstin, match=re.escape(message)):
        validate_gstin(text)
    assert not is_valid_gstin(text)


def test_invalid_gstin_is_a_value_error() -> None:
    assert issubclass(InvalidGstin, ValueError)


@pytest.mark.parametrize(
    "first14, expected",
    [
        pytest.param("27AAPFU0939F1Z", "V", id="published-example"),
        pytest.param("29AAGCB7383J1Z", "4", id="karnataka-company"),
    ],
)
def test_check_character(first14: str, expected: str) -> None:
    assert check_character(first14) == expected


@pytest.mark.parametrize("code", sorted(STATES))
def test_make_gstin_builds_a_valid_gstin_for_every_state(code: str) -> None:
    gstin = make_gstin(code, "ABCDE1234F")
    assert validate_gstin(gstin) == gstin
    assert state_code(gstin) == code


def test_make_gstin_with_entity_letter() -> None:
    gstin = make_gstin("07", "aabcm1234q", entity="A")
    assert gstin[:14] == "07AABCM1234QAZ"
    assert is_valid_gstin(gstin)


def test_every_state_code_from_01_to_38_and_97_is_known() -> None:
    expected = {f"{n:02d}" for n in range(1, 39)} | {"97"}
    assert expected <= set(STATES)
    assert state_name("27") == "Maharashtra"
    assert state_name("38") == "Ladakh"
    assert state_name("97") == "Other Territory"


def test_unknown_state_name_raises() -> None:
    with pytest.raises(ValueError, match="unknown GST state code"):
        state_name("42")


_QRMP_22 = {"22", "23", "24", "27", "29", "30", "32", "33", "36", "37", "25", "26", "34", "35"}
_QRMP_22 |= {"31"}


@pytest.mark.parametrize("code", sorted(STATES))
def test_qrmp_3b_day_per_state(code: str) -> None:
    # ims-facts.md §4: the 22nd group, everything else (Ladakh, Other Territory incl.) 24th.
    assert qrmp_3b_day(code) == (22 if code in _QRMP_22 else 24)


def test_qrmp_22nd_group_is_the_published_list() -> None:
    assert _QRMP_22 == QRMP_22ND_STATES
    assert qrmp_3b_day("38") == 24
    assert qrmp_3b_day("97") == 24


def test_the_structure_check_takes_a_wrong_check_character_the_strict_one_refuses() -> None:
    good = make_gstin("24", "AAHCP7788Q")
    wrong = good[:14] + ("A" if good[14] != "A" else "B")
    assert validate_gstin_structure(f" {wrong.lower()} ") == wrong
    assert check_character_ok(good) and not check_character_ok(wrong)
    with pytest.raises(InvalidGstin, match="check character"):
        validate_gstin(wrong)


@pytest.mark.parametrize(
    "text", ["24AAHCP7788Q1Z", "00AAHCP7788Q1ZC", "24AAHC17788Q1ZC", "24AAHCP7788Q0ZC",
             "24AAHCP7788Q1YC", "24AAHCP7788Q1Z*"],
    ids=["length", "state", "pan", "entity-0", "not-z", "character"],
)
def test_the_structure_check_still_refuses_a_malformed_gstin(text: str) -> None:
    with pytest.raises(InvalidGstin):
        validate_gstin_structure(text)
