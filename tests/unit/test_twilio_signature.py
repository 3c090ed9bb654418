"""The X-Twilio-Signature check against Twilio's published example, and what it must refuse."""

from __future__ import annotations

import hashlib

from hotline.providers.twilio.signature import SignatureCheck, public_url, sign

# Twilio's documented example (docs "Webhooks security"): token 12345, this URL and these parameters.
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030",
          "To": "+18005551212"}
EXPECTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_published_example_passes() -> None:
    assert sign("12345", URL, PARAMS) == EXPECTED
    assert SignatureCheck("12345").form(URL, PARAMS, EXPECTED)


def test_one_changed_parameter_fails() -> None:
    check = SignatureCheck("12345")
    for key in PARAMS:
        changed = {**PARAMS, key: PARAMS[key] + "9"}
        assert not check.form(URL, changed, EXPECTED), key
    assert not check.form(URL, {**PARAMS, "Extra": "1"}, EXPECTED)


def test_other_url_token_or_missing_signature_fails() -> None:
    check = SignatureCheck("12345")
    assert not check.form("https://mycompany.com/myapp.php?foo=1&bar=3", PARAMS, EXPECTED)
    assert not check.form(URL, PARAMS, None)
    assert not check.form(URL, PARAMS, "")
    assert not SignatureCheck("54321").form(URL, PARAMS, EXPECTED)
    assert not SignatureCheck("").form(URL, PARAMS, EXPECTED)  # no token configured: refuse everything


def test_repeated_form_keys_are_signed_like_twilio() -> None:
    items = [("To", "+1"), ("Digits", "2"), ("Digits", "1")]
    signature = sign("12345", URL, items)
    assert SignatureCheck("12345").form(URL, items, signature)
    assert not SignatureCheck("12345").form(URL, items[:2], signature)


def test_json_body_is_checked_with_body_sha256() -> None:
    body = '{"CallSid":"CA1234567890ABCDE","CallStatus":"completed"}'
    url = f"https://hotline.example.com/twilio/status?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = sign("12345", url, {})
    check = SignatureCheck("12345")
    assert check.json(url, body, signature)
    assert not check.json(url, body.replace("completed", "busy"), signature)
    plain = "https://hotline.example.com/twilio/status"
    assert not check.json(plain, body, sign("12345", plain, {}))  # a JSON body must carry bodySHA256


def test_public_url_keeps_the_proxy_prefix_and_raw_query() -> None:
    assert public_url("https://example.com/hotline/", "/twilio/gather", "script=default&node=m") == \
        "https://example.com/hotline/twilio/gather?script=default&node=m"
    assert public_url("https://example.com", "/twilio/voice") == "https://example.com/twilio/voice"


def test_checking_many_fields_takes_linear_time() -> None:
    """An unsigned (or badly signed) form of 10,000 fields is refused in milliseconds, not seconds."""
    import time

    fields = [(f"F{i}", str(i)) for i in range(10_000)] + [("Repeated", "b"), ("Repeated", "a")]
    check = SignatureCheck("12345")
    good = sign("12345", URL, fields)
    started = time.perf_counter()
    assert not check.form(URL, fields, "forged")
    assert check.form(URL, fields, good)
    assert time.perf_counter() - started < 0.5
