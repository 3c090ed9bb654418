"""One normalised form of a phone number, for the whole project: callers, staff mobiles, tickets, pages.

Parsing is `phonenumbers` (Google's libphonenumber metadata; a pure library with no I/O). Mainland China is
the default region: `13800138000`, `+8613800138000`, `008613800138000`, `8613800138000` and
`+86 138 0013 8000` are one number; `010-12345678` is a Beijing landline; an 8-digit local landline takes the
desk's area code when one is configured; `400`/`800` numbers are service numbers; up to 6 digits is an
internal extension (or a short service code such as 95588), which has no E.164 form.

Most numbers a mainland desk sees are plain (a mobile, `+86` and a mobile, a landline with its area code, a
400/800 number): those are typed straight from phonenumbers' own CN metadata (`_plain_mainland`: the same
patterns, lengths and order of types as `phonenumbers.number_type`, without its general parser: 8 µs a
mobile against 60 µs); anything else (carrier codes, other countries, invalid text) goes through
`phonenumbers.parse`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_DIGITS = re.compile(r"\D")
# a run of digits that may be a phone number written as people write it, standing on its own (not inside an id)
_NUMBER_LIKE = re.compile(r"(?<![0-9A-Za-z])\+?\d[\d\- ()]{5,}\d(?![0-9A-Za-z])")
_LOCAL_LANDLINE = re.compile(r"[2-9]\d{6,7}")  # a landline dialled without its area code
MAX_EXTENSION_DIGITS = 6


class NumberKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    SERVICE = "service"  # 400 / 800 and other shared-cost or toll-free numbers
    FOREIGN = "foreign"  # a valid number outside the default region
    EXTENSION = "extension"  # internal extension or short code: no E.164 form


KIND_ZH = {NumberKind.MOBILE: "手机", NumberKind.LANDLINE: "固话", NumberKind.SERVICE: "服务号码",
           NumberKind.FOREIGN: "境外号码", NumberKind.EXTENSION: "分机/短号"}


class NumberError(ValueError):
    """A text that is not a phone number; the message names the text and says why, Chinese first."""


@dataclass(frozen=True)
class PhoneNumber:
    e164: str | None  # '+8613800138000'; None for an extension
    national: str  # '13800138000', '01012345678', '4008001234', '8001' (an extension's digits)
    kind: NumberKind

    @property
    def key(self) -> str:
        """The form to compare and store: E.164 when there is one, else the extension's digits."""
        return self.e164 or self.national

    def masked(self) -> str:
        """For roles that do not need the number: '138****8000', '010****5678', extensions unchanged."""
        return mask(self.national) if self.kind is not NumberKind.EXTENSION else self.national


def mask(number: str) -> str:
    """Masks the middle of a number, keeping the first three and the last four digits ('138****8000')."""
    digits = _DIGITS.sub("", number)
    if len(digits) <= 7:
        return digits[:2] + "*" * max(len(digits) - 2, 0) if len(digits) > 4 else digits
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


@functools.lru_cache(maxsize=8192)  # pure; a desk sees the same numbers again and again
def parse_number(text: str, *, region: str = "CN", local_area_code: str | None = None,
                 dial_prefixes: tuple[str, ...] = ()) -> PhoneNumber:
    """The normalised number of `text`, or NumberError saying why it is not one.

    `dial_prefixes` are outside-line prefixes a PBX puts before numbers (e.g. '9'); `local_area_code`
    (e.g. '010') completes 7- and 8-digit local landlines."""
    raw = (text or "").strip()
    digits = _DIGITS.sub("", raw)
    if not digits:
        raise NumberError(f"{raw!r} 不是电话号码 / is not a phone number (no digits)")
    international = raw.startswith("+") or digits.startswith("00")
    if not international:
        for prefix in sorted(dial_prefixes, key=len, reverse=True):
            if prefix and digits.startswith(prefix) and len(digits) - len(prefix) >= 7:
                digits = digits[len(prefix):]
                break
        if len(digits) <= MAX_EXTENSION_DIGITS:
            return PhoneNumber(None, digits, NumberKind.EXTENSION)
        if local_area_code and _LOCAL_LANDLINE.fullmatch(digits):
            digits = _DIGITS.sub("", local_area_code).rjust(3, "0") + digits
        if region == "CN" and len(digits) == 13 and digits.startswith("861"):
            digits, international = digits[2:], False  # 86 + a mobile, without the '+'
    candidate = ("+" + digits[2:] if digits.startswith("00") else "+" + digits) if international else digits
    plain = _plain_mainland(candidate) if region == "CN" else None
    return plain if plain is not None else by_phonenumbers(candidate, region, raw)


def by_phonenumbers(candidate: str, region: str = "CN", raw: str | None = None) -> PhoneNumber:
    """`candidate` (national digits, or '+' and digits) read by `phonenumbers.parse`: the authority that
    `_plain_mainland` agrees with (tests/unit/test_numbers_plain.py compares the two)."""
    raw = candidate if raw is None else raw
    try:
        parsed = phonenumbers.parse(candidate, region)
    except NumberParseException as e:
        raise NumberError(f"{raw!r} 不是电话号码 / is not a phone number ({e})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise NumberError(f"{raw!r} 不是有效的电话号码 / is not a valid phone number"
                          f" (号码位数或号段不对 / wrong length or prefix for {region})")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.region_code_for_number(parsed) != region:
        return PhoneNumber(e164, e164, NumberKind.FOREIGN)
    national_digits = phonenumbers.national_significant_number(parsed)
    kind = _kind(phonenumbers.number_type(parsed))
    national = "0" + national_digits if kind is NumberKind.LANDLINE else national_digits
    return PhoneNumber(e164, national, kind)


def _type_patterns(desc: Any) -> tuple[frozenset[int], re.Pattern[str]] | None:
    """A phonenumbers PhoneNumberDesc as (possible lengths, compiled national number pattern); None if absent."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


_CN: Any = phonenumbers.PhoneMetadata.metadata_for_region("CN")  # its fields are untyped
_CN_CODE = f"+{_CN.country_code}"
_CN_GENERAL = _type_patterns(_CN.general_desc)
# phonenumbers' order of types (`_number_type_helper`): the service types first, then fixed line, then mobile
_CN_TYPES = [(_type_patterns(d), NumberKind.SERVICE) for d in (
    _CN.premium_rate, _CN.toll_free, _CN.shared_cost, _CN.voip, _CN.personal_number, _CN.pager, _CN.uan,
    _CN.voicemail)] + [(_type_patterns(_CN.fixed_line), NumberKind.LANDLINE),
                       (_type_patterns(_CN.mobile), NumberKind.MOBILE)]
_CN_PREFIX = re.compile(_CN.national_prefix_for_parsing or "$^")  # '0', or a carrier code such as 17951
_CN_IDD = re.compile(_CN.international_prefix or "$^")  # '00', or a carrier's international prefix
_CN_LENGTHS = frozenset(_CN.general_desc.possible_length) - frozenset(_CN.general_desc.possible_length_local_only)
# the shape the emulation below assumes; other metadata (a future phonenumbers) sends every number to the parser
_CN_PLAIN = (_CN_GENERAL is not None and _CN.national_prefix == "0" and not _CN.national_prefix_transform_rule
             and not _CN.same_mobile_and_fixed_line_pattern)


def _plain_mainland(candidate: str) -> PhoneNumber | None:
    """The number of `candidate` (national digits, or '+' and digits) when it is a plain mainland number that
    phonenumbers would read without its country-code, carrier-code or IDD rules; None: ask phonenumbers."""
    if not _CN_PLAIN or _CN_GENERAL is None:
        return None
    if candidate.startswith("+"):
        if not candidate.startswith(_CN_CODE):
            return None
        digits = candidate[len(_CN_CODE):]
    else:
        digits = candidate
        if _CN_IDD.match(digits):
            return None  # phonenumbers reads an international number after an IDD
    if digits.startswith(_CN_CODE[1:]) or not digits.isascii() or not digits.isdigit():
        return None  # '86...' may be read as a country code
    prefix = _CN_PREFIX.match(digits)
    if prefix is not None:
        if prefix.group(0) != _CN.national_prefix or _CN_GENERAL[1].fullmatch(digits):
            return None  # a carrier code, or a number phonenumbers might keep whole
        digits = digits[prefix.end():]
    if not digits or digits[0] == "0" or len(digits) not in _CN_LENGTHS or not _CN_GENERAL[1].fullmatch(digits):
        return None
    for patterns, kind in _CN_TYPES:
        if patterns is not None and (not patterns[0] or len(digits) in patterns[0]) \
                and patterns[1].fullmatch(digits):
            national = "0" + digits if kind is NumberKind.LANDLINE else digits
            return PhoneNumber(_CN_CODE + digits, national, kind)
    return None


def _kind(kind: int) -> NumberKind:
    if kind == PhoneNumberType.MOBILE:
        return NumberKind.MOBILE
    if kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return NumberKind.LANDLINE
    return NumberKind.SERVICE


def try_parse_number(text: str | None, *, region: str = "CN", local_area_code: str | None = None,
                     dial_prefixes: tuple[str, ...] = ()) -> PhoneNumber | None:
    """`parse_number`, or None for an empty or unparseable text (for data read from a PBX)."""
    if not text:
        return None
    try:
        return parse_number(text, region=region, local_area_code=local_area_code, dial_prefixes=dial_prefixes)
    except NumberError:
        return None


def outside_number(text: str | None, *, region: str = "CN", local_area_code: str | None = None,
                   dial_prefixes: tuple[str, ...] = ()) -> PhoneNumber:
    """The caller's number of a ticket, a complaint or the caller directory: a phone number outside the desk
    (a mobile, a landline, a 400/800 number, a foreign one), never an extension or a short code such as 110."""
    parsed = try_parse_number(text, region=region, local_area_code=local_area_code, dial_prefixes=dial_prefixes)
    if parsed is None or parsed.kind is NumberKind.EXTENSION:
        raise NumberError(f"号码无效 {text!r}：不是外部电话号码 / not an outside phone number: {text!r} "
                          f"(e.g. 13800138004, 010-12345678)")
    return parsed


def same_number(a: str | None, b: str | None, *, region: str = "CN", local_area_code: str | None = None) -> bool:
    """Whether two texts are the same phone number ('+8613800138000' and '138 0013 8000' are)."""
    pa = try_parse_number(a, region=region, local_area_code=local_area_code)
    pb = try_parse_number(b, region=region, local_area_code=local_area_code)
    return pa is not None and pb is not None and pa.key == pb.key


def without_number(text: str, forms: Collection[str], replacement: str, *, region: str = "CN") -> str:
    """`text` with every written form of the numbers in `forms` replaced: the forms as given, and any other
    way of writing one of them that `phonenumbers.PhoneNumberMatcher` finds in running text
    ('138 0013 8004', '138-0013-8004', '+86 138 0013 8004', '(010) 1234 5678', glued to Chinese text).
    Other numbers in the text (a ticket number, another caller) stay."""
    keys = {p.e164 for p in map(try_parse_number, forms) if p is not None and p.e164}
    if keys and any(ch.isdigit() for ch in text):
        matches = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
        spans = [_unbracketed(text, m.start, m.end) for m in matches
                 if phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164) in keys]
        for start, end in reversed(spans):
            text = text[:start] + replacement + text[end:]
    for form in sorted(forms, key=len, reverse=True):  # names, extensions, what the matcher did not take
        text = text.replace(form, replacement)
    return text


_OPEN, _CLOSE = "(（[【", ")）]】"


def _unbracketed(text: str, start: int, end: int) -> tuple[int, int]:
    """A match's span without an opening bracket it took from the text around it ('（+8613800138031' in
    '钱女士（+8613800138031）'): the bracket stays unless the match holds its closing one ('(010)12345678')."""
    if text[start] in _OPEN and not any(ch in _CLOSE for ch in text[start:end]):
        return start + 1, end
    return start, end


def masked_in_text(text: str) -> str:
    """`text` with every phone number in it masked ('回电138****8011'); extensions, short codes and ids stay."""
    def one(m: re.Match[str]) -> str:
        parsed = try_parse_number(m.group(0))
        return parsed.masked() if parsed is not None and parsed.kind is not NumberKind.EXTENSION else m.group(0)
    return _NUMBER_LIKE.sub(one, text)
