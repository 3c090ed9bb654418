"""The project's one phone-number normaliser, on the forms a Chinese desk really sees."""

from __future__ import annotations

import pytest

from hotline.domain.numbers import (
    NumberError,
    NumberKind,
    mask,
    parse_number,
    same_number,
    try_parse_number,
    without_number,
)


@pytest.mark.parametrize("text", ["13800138000", "+8613800138000", "008613800138000", "8613800138000",
                                  "+86 138 0013 8000", "138-0013-8000", " 138 0013 8000 "])
def test_every_written_form_of_a_mobile_is_one_number(text: str) -> None:
    n = parse_number(text)
    assert (n.e164, n.national, n.kind) == ("+8613800138000", "13800138000", NumberKind.MOBILE)


@pytest.mark.parametrize(("text", "e164", "national"), [
    ("010-12345678", "+861012345678", "01012345678"),
    ("01012345678", "+861012345678", "01012345678"),
    ("+86 10 1234 5678", "+861012345678", "01012345678"),
    ("0755-88886666", "+8675588886666", "075588886666"),
])
def test_landlines_keep_their_area_code(text: str, e164: str, national: str) -> None:
    n = parse_number(text)
    assert (n.e164, n.national, n.kind) == (e164, national, NumberKind.LANDLINE)


def test_a_local_landline_takes_the_desks_area_code() -> None:
    assert parse_number("62345678", local_area_code="010").e164 == "+861062345678"
    with pytest.raises(NumberError, match="62345678"):
        parse_number("62345678")  # no area code configured: not a number we can dial


def test_service_numbers_extensions_and_foreign_numbers() -> None:
    assert parse_number("400-800-1234").kind is NumberKind.SERVICE
    assert parse_number("4008001234").e164 == "+864008001234"
    ext = parse_number("8001")
    assert (ext.e164, ext.key, ext.kind) == (None, "8001", NumberKind.EXTENSION)
    assert parse_number("95588").kind is NumberKind.EXTENSION
    us = parse_number("+1 415 555 0100")
    assert (us.kind, us.e164) == (NumberKind.FOREIGN, "+14155550100")


def test_an_outside_line_prefix_is_dropped() -> None:
    assert parse_number("9 138-0013-8011", dial_prefixes=("9",)).e164 == "+8613800138011"
    assert parse_number("913800138011", dial_prefixes=("9",)).national == "13800138011"


@pytest.mark.parametrize("text", ["1380013800", "abc", "", "+86 12345678901234"])
def test_not_a_number_says_which_text_and_why(text: str) -> None:
    with pytest.raises(NumberError) as e:
        parse_number(text)
    assert repr(text.strip()) in str(e.value) and "/" in str(e.value)
    assert try_parse_number(text) is None


def test_same_number_and_mask() -> None:
    assert same_number("+8613800138000", "13800138000")
    assert not same_number("13800138000", "13800138001")
    assert not same_number(None, "13800138000")
    assert mask("13800138000") == "138****8000"
    assert parse_number("010-12345678").masked() == "010****5678"
    assert parse_number("8001").masked() == "8001"


@pytest.mark.parametrize(("text", "expected"), [
    ("回访请拨13800138004", "回访请拨[X]"),  # glued to Chinese text
    ("手机 138 0013 8004。", "手机 [X]。"),
    ("电话：138-0013-8004，或 +86 138 0013 8004", "电话：[X]，或 [X]"),
    ("0086 13800138004 / 8613800138004", "[X] / [X]"),
    ("固话 (010) 1234 5678 转 8", "固话 [X] 转 8"),
    ("钱女士（+8613800138004）来电", "钱女士（[X]）来电"),  # the brackets around it stay
    ("钱女士(13800138004)、[138 0013 8004]", "钱女士([X])、[[X]]"),
    ("工单 GD20261203-0007，分机 6021，另一位 13900139000", "工单 GD20261203-0007，分机 6021，另一位 13900139000"),
    ("", ""),
])
def test_a_number_is_taken_out_of_text_however_it_is_written(text: str, expected: str) -> None:
    assert without_number(text, {"13800138004", "010-12345678"}, "[X]") == expected


def test_a_name_among_the_forms_is_taken_out_as_written() -> None:
    assert without_number("王先生来电 138 0013 8004", {"王先生", "+8613800138004"}, "*") == "*来电 *"
