"""One normalised form of a phone number, for the whole project: callers, staff mobiles, tickets, pages.

Parsing is `phonenumbers` (Google's libphonenumber metadata; a pure library with no I/O). Mainland China is
the default region: `13800138000`, `+8613800138000`, `008613800138000`, `8613800138000` and
`+86 138 0013 8000` are one number; `010-12345678` is a Beijing landline; an 8-digit local landline takes the
desk's area code when one is configured; `400`/`800` numbers are service numbers; up to 6 digits is an
internal extension (or a short service code such as 95588), which has no E.164 form.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_DIGITS = re.compile(r"\D")
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


def same_number(a: str | None, b: str | None, *, region: str = "CN", local_area_code: str | None = None) -> bool:
    """Whether two texts are the same phone number ('+8613800138000' and '138 0013 8000' are)."""
    pa = try_parse_number(a, region=region, local_area_code=local_area_code)
    pb = try_parse_number(b, region=region, local_area_code=local_area_code)
    return pa is not None and pb is not None and pa.key == pb.key
