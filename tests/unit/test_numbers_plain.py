"""The fast path for plain mainland numbers gives exactly what phonenumbers gives, on many realistic numbers:
every mobile prefix, +86/0086/86 forms, spaces and dashes, landlines of every area-code length, 400/800 and
other service numbers, and bad input (which the fast path leaves to phonenumbers)."""

from __future__ import annotations

import random

import pytest

from hotline.domain.numbers import NumberError, PhoneNumber, _plain_mainland, by_phonenumbers, parse_number

_RNG = random.Random(20261203)


def _digits(n: int) -> str:
    return "".join(_RNG.choice("0123456789") for _ in range(n))


def _mobiles() -> list[str]:
    """Every 4-digit prefix 1300-1999 (the 3-digit 号段 and the 4th digit some ranges depend on), rest random."""
    return [f"1{p:03d}" + _digits(7) for p in range(300, 1000)]


def _landlines() -> list[str]:
    """0 + a 2-digit area code (10, 20-29) or a 3-digit one (300-999), and a subscriber of 7 or 8 digits
    beginning with any digit (real ones begin with 2-8; the others must be refused alike)."""
    out = []
    for code in ["10", *(f"2{i}" for i in range(10))]:
        out += [f"0{code}{first}{_digits(7)}" for first in "0123456789"]
    for area in range(300, 1000):
        out += [f"0{area}{_RNG.choice('0123456789')}{_digits(6)}", f"0{area}{_RNG.choice('2345678')}{_digits(7)}"]
    return out


def _service_and_short() -> list[str]:
    return ([f"400{_digits(7)}" for _ in range(20)] + [f"800{_digits(7)}" for _ in range(20)]
            + [f"{p}{_digits(7)}" for p in ("108800", "218800", "950", "1010", "1096", "160", "168")]
            + ["95588", "10086", "12345", "114", "1008611", "4001234", "80012345678"])


def _bad() -> list[str]:
    """Wrong lengths, carrier and IDD prefixes before a mobile, a country code inside a national number."""
    return ([f"1{p:02d}" + _digits(7) for p in range(30, 100)]  # 10 digits
            + [f"1{p:02d}" + _digits(9) for p in range(30, 100)]  # 12 digits
            + [f"1{p:02d}" + _digits(8) for p in range(0, 30)]  # 10x, 11x, 12x 'mobiles'
            + ["1795113800138000", "1259313800138000", "17951", "0", "00", "0000000000", "86", "8613800138000",
               "861012345678", "8601012345678", "013800138000", "0013800138000", "12345678901234567890",
               "+860", "+8686", "+86013800138000", "+8600", "+87012345678", "+1 415 555 0100"])


PLAIN = sorted({*_mobiles(), *_landlines(), *_service_and_short()})
CANDIDATES = sorted({*PLAIN, *_bad()})


def _phonenumbers(candidate: str) -> PhoneNumber | None:
    try:
        return by_phonenumbers(candidate)
    except NumberError:
        return None


def test_the_fast_path_agrees_with_phonenumbers_on_every_candidate_national_and_plus86() -> None:
    answered = disagree = 0
    examples = []
    for national in CANDIDATES:
        plus = national if national.startswith("+") else "+86" + national
        for candidate in (national, plus):
            fast = _plain_mainland(candidate)
            if fast is None:
                continue  # phonenumbers decides: nothing to compare
            answered += 1
            if fast != _phonenumbers(candidate):
                disagree += 1
                examples.append((candidate, fast, _phonenumbers(candidate)))
    assert disagree == 0, examples[:5]
    # and it does answer the plain forms: every mobile, landline and service number phonenumbers accepts
    missed = [c for c in PLAIN if _phonenumbers(c) is not None and _plain_mainland(c) is None]
    missed += [c for c in PLAIN if _phonenumbers("+86" + c) is not None and _plain_mainland("+86" + c) is None]
    assert answered > 1500 and not missed, missed[:5]


@pytest.mark.parametrize(("text", "candidate"), [
    ("13800138000", "13800138000"), ("+86 138 0013 8000", "+8613800138000"), ("0086-138-0013-8000", "+8613800138000"),
    ("8613800138000", "13800138000"), ("86 199 1234 5678", "19912345678"), ("138 0013 8000", "13800138000"),
    ("+86 (10) 6234-5678", "+861062345678"), ("010-62345678", "01062345678"), ("(0755) 8888 6666", "075588886666"),
    ("0086 755 8888 6666", "+8675588886666"), ("0931-8123456", "09318123456"), ("400-800-1234", "4008001234"),
    ("800 810 8888", "8008108888"), ("+86 400 800 1234", "+864008001234"), ("1740 012 3456", "17400123456"),
    ("166 1234 5678", "16612345678"),
])
def test_written_forms_give_what_phonenumbers_gives(text: str, candidate: str) -> None:
    assert _plain_mainland(candidate) is not None  # the plain forms do take the fast path
    assert parse_number.__wrapped__(text) == by_phonenumbers(candidate)


@pytest.mark.parametrize(("text", "candidate"), [
    ("1740 612 3456", "17406123456"), ("179 5113 8001", "17951138001"), ("12593 138 0013 8000", "1259313800138000"),
    ("17951 010 6234 5678", "179510106234567"), ("01212345678", "01212345678"), ("+86 0 10 1234", "+860101234"),
    ("10012345678", "10012345678"), ("+87 012345678", "+87012345678"), ("+44 20 7946 0958", "+442079460958"),
])
def test_what_the_fast_path_leaves_to_phonenumbers_is_read_by_phonenumbers(text: str, candidate: str) -> None:
    assert _plain_mainland(candidate) is None  # carrier codes, bad lengths or prefixes, other countries
    try:
        expected: PhoneNumber | str = by_phonenumbers(candidate)
    except NumberError as e:
        expected = str(e).replace(repr(candidate), repr(text))
    try:
        got: PhoneNumber | str = parse_number.__wrapped__(text)
    except NumberError as e:
        got = str(e)
    assert got == expected
