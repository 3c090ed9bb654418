"""The `X-Twilio-Signature` check: was this webhook request really sent by Twilio, for this URL?

Twilio signs the full URL it requested (scheme, host, path and query) plus the POST parameters with the
account's auth token. Behind a reverse proxy the URL the app sees differs, so the URL is rebuilt from the
configured public base URL. JSON bodies are signed through the `bodySHA256` query parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator, get_signature_algorithm

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"


def public_url(base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio requested: the public base URL (which may carry a path prefix) + path + raw query."""
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


class _Params:
    """Form parameters with repeated keys, in the shape RequestValidator reads (`getall`)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.items = list(items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self.items))

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.items if k == key]


class SignatureCheck:
    """Checks webhook requests against one auth token; with no token every request is refused."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None

    @property
    def configured(self) -> bool:
        return self._validator is not None

    def form(self, url: str, params: Sequence[tuple[str, str]] | Mapping[str, str], signature: str | None,
             settings_header: str | None = None) -> bool:
        """A form-encoded (or GET) request: URL plus every POST parameter is signed."""
        if self._validator is None or not signature:
            return False
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        algorithm = get_signature_algorithm(settings_header)
        return bool(self._validator.validate(url, _Params(items), signature, algorithm))

    def json(self, url: str, body: str, signature: str | None, settings_header: str | None = None) -> bool:
        """A JSON body: the URL (carrying `bodySHA256`) is signed and the body must hash to that value."""
        if self._validator is None or not signature:
            return False
        if "bodySHA256" not in parse_qs(urlsplit(url).query):
            return False  # without it the body would not be covered by the signature at all
        algorithm = get_signature_algorithm(settings_header)
        return bool(self._validator.validate(url, body, signature, algorithm))


def sign(auth_token: str, url: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """The signature Twilio would send for a form request (for tests, fixtures and the replay tool)."""
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    return str(RequestValidator(auth_token).compute_signature(url, _Params(items)))
