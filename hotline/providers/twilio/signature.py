"""The `X-Twilio-Signature` check: was this webhook request really sent by Twilio, for this URL?

Twilio signs the full URL it requested (scheme, host, path and query) plus the POST parameters with the
account's auth token. Behind a reverse proxy the URL the app sees differs, so the URL is rebuilt from the
configured public base URL. JSON bodies are signed through the `bodySHA256` query parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
SUPPORTED_ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)


def public_url(base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio requested: the public base URL (which may carry a path prefix) + path + raw query."""
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


class _Params:
    """Form parameters with repeated keys, in the shape RequestValidator reads (`getall`). Grouped once, so
    checking a request costs time linear in its number of fields (an unsigned 1000-field form is cheap)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.groups: dict[str, list[str]] = {}
        for key, value in items:
            self.groups.setdefault(key, []).append(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.groups)

    def getall(self, key: str) -> list[str]:
        return self.groups.get(key, [])


class SignatureCheck:
    """Checks webhook requests. Twilio signs with the account's auth token (HMAC-SHA1), or, when the request
    carries `X-Twilio-Webhooks-Signature-Settings`, with a webhook SharedKey secret (the header names the
    key and the algorithm, e.g. HMAC-SHA256). With no secret for a request, it is refused."""

    def __init__(self, auth_token: str, shared_key: str = "") -> None:
        self._token = RequestValidator(auth_token) if auth_token else None
        self._shared = RequestValidator(shared_key) if shared_key else None

    @property
    def configured(self) -> bool:
        return self._token is not None or self._shared is not None

    def unusable(self, settings_header: str | None) -> str | None:
        """Why a request with this settings header cannot be checked here (None: it can)."""
        algorithm = get_signature_algorithm(settings_header)
        if algorithm.upper() not in SUPPORTED_ALGORITHMS:
            return f"signed with {algorithm}, which hotline cannot check (supported: HMAC_SHA1, HMAC_SHA256)"
        if settings_header and self._shared is None:
            return ("signed with a webhook SharedKey (X-Twilio-Webhooks-Signature-Settings): set "
                    "HOTLINE_TWILIO_WEBHOOK_SHARED_KEY to that key's secret")
        if not settings_header and self._token is None:
            return "not checkable: HOTLINE_TWILIO_AUTH_TOKEN is not set"
        return None

    def _validator(self, settings_header: str | None) -> RequestValidator | None:
        return self._shared if settings_header else self._token

    def form(self, url: str, params: Sequence[tuple[str, str]] | Mapping[str, str], signature: str | None,
             settings_header: str | None = None) -> bool:
        """A form-encoded (or GET) request: URL plus every POST parameter is signed."""
        validator = self._validator(settings_header)
        if validator is None or not signature or self.unusable(settings_header):
            return False
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        algorithm = get_signature_algorithm(settings_header)
        return bool(validator.validate(url, _Params(items), signature, algorithm))

    def json(self, url: str, body: str, signature: str | None, settings_header: str | None = None) -> bool:
        """A JSON body: the URL (carrying `bodySHA256`) is signed and the body must hash to that value."""
        validator = self._validator(settings_header)
        if validator is None or not signature or self.unusable(settings_header):
            return False
        if "bodySHA256" not in parse_qs(urlsplit(url).query):
            return False  # without it the body would not be covered by the signature at all
        algorithm = get_signature_algorithm(settings_header)
        return bool(validator.validate(url, body, signature, algorithm))


def sign(auth_token: str, url: str, params: Mapping[str, str] | Sequence[tuple[str, str]],
         algorithm: str = HMAC_SHA1) -> str:
    """The signature Twilio would send for a form request (for tests, fixtures and the replay tool)."""
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    return str(RequestValidator(auth_token).compute_signature(url, _Params(items), algorithm))
