"""身份证号 (GB 11643) and mobile validation: each failure names its rule, in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from members.validators import age_on, id_check_char, normalize_phone, validate_id_number, validate_mobile
from tests.members import make_id

TODAY = dt.date(2026, 11, 23)


def _error(callable_, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        callable_(*args, **kwargs)
    return info.value


def test_known_valid_numbers_pass_including_x():
    # The standard's worked example ends in X.
    assert validate_id_number("11010519491231002X", today=TODAY) == "11010519491231002X"
    assert validate_id_number("11010519491231002x", today=TODAY) == "11010519491231002X"  # lower-case x normalized
    assert validate_id_number(" 110105 19491231 002X ", today=TODAY) == "11010519491231002X"  # spaces dropped
    assert validate_id_number("440524198001010013", today=TODAY) == "440524198001010013"


def test_checksum_computation_matches_the_standard():
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("44052419800101001") == "3"


def test_wrong_check_character_says_which_is_expected():
    error = _error(validate_id_number, "110105194912310021", today=TODAY)
    assert error.code == "id_checksum"
    assert "校验位" in error.messages[0] and "X" in error.messages[0]


def test_x_in_the_wrong_place_or_letters_are_refused():
    assert _error(validate_id_number, "1101051949123100X2", today=TODAY).code == "id_chars"
    assert _error(validate_id_number, "11010519491231002A", today=TODAY).code == "id_chars"


@pytest.mark.parametrize("value,length", [("1101051949123100", 16), ("1101051949123100211", 19), ("", 0)])
def test_length_is_reported(value, length):
    error = _error(validate_id_number, value, today=TODAY)
    assert error.code == "id_length"
    assert "18位" in error.messages[0] and str(length) in error.messages[0]


def test_impossible_birth_date_is_refused():
    first17 = "11010519990230001"  # 30 February
    error = _error(validate_id_number, first17 + id_check_char(first17), today=TODAY)
    assert error.code == "id_bad_date"
    assert "19990230" in error.messages[0]


def test_birth_date_in_the_future_is_refused():
    error = _error(validate_id_number, make_id(dt.date(2027, 1, 1)), today=TODAY)
    assert error.code == "id_bad_date"


def test_birth_date_must_match_the_form():
    number = make_id(dt.date(1990, 5, 6))
    assert validate_id_number(number, birth_date=dt.date(1990, 5, 6), today=TODAY) == number
    error = _error(validate_id_number, number, birth_date=dt.date(1990, 5, 7), today=TODAY)
    assert error.code == "id_birth_mismatch"
    assert "1990-05-06" in error.messages[0] and "1990-05-07" in error.messages[0]


def test_age_on_counts_birthdays():
    assert age_on(dt.date(2008, 11, 24), TODAY) == 17
    assert age_on(dt.date(2008, 11, 23), TODAY) == 18


@pytest.mark.parametrize("raw,expected", [
    ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("+86 138-1234-5678", "13812345678"),
    ("008613812345678", "13812345678"), ("19912345678", "19912345678"),
])
def test_valid_mobiles(raw, expected):
    assert validate_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "010-12345678", "abc", ""])
def test_invalid_mobiles_say_why(raw):
    error = _error(validate_mobile, raw)
    assert error.code == "phone_format"
    assert "11位" in error.messages[0]


def test_normalize_phone_strips_country_code():
    assert normalize_phone("+8613812345678") == "13812345678"
