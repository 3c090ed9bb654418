"""TwiML hotline adds around the IVR's responses: named absolute action URLs, ring-all dials with status
callbacks per staff phone, the outbound callback bridge, staff taking a caller from an `<Enqueue>` queue and
the static fallback for the number."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit

from twilio.twiml.voice_response import Dial, VoiceResponse

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
LEG_EVENTS = "initiated ringing answered completed"
# IVR action-URL events -> the webhook route that handles them.
EVENT_ROUTES = {"gather": "gather", "timeout": "gather", "dial_done": "dial", "queue_done": "queue",
                "wait": "wait", "recorded": "recorded", "": "voice"}
ZH_VOICE, ZH_LANGUAGE = "Polly.Zhiyu", "cmn-CN"  # [twilio] voice / language of the shipped config
EN_VOICE, EN_LANGUAGE = "Polly.Joanna", "en-US"
_URL_ATTRIBUTES = ("action", "waitUrl", "url", "statusCallback")


def route_url(url: str, ivr_path: str, base_url: str) -> str:
    """`<ivr_path>/<script>?node=..&event=..` -> `<base>/twilio/<route>?script=..&node=..`; others unchanged."""
    parts = urlsplit(url)
    prefix = ivr_path.rstrip("/") + "/"
    if parts.scheme or not parts.path.startswith(prefix):
        return url
    script = parts.path[len(prefix):]
    query = parse_qsl(parts.query, keep_blank_values=True)
    event = dict(query).get("event", "")
    route = EVENT_ROUTES.get(event, "voice")
    return f"{base_url.rstrip('/')}/twilio/{route}?" + urlencode([("script", script), *query])


def parse_twiml(twiml: str | ET.Element) -> ET.Element:
    """The element tree of a TwiML document (an element already parsed is returned as it is), so that a
    webhook parses its response once for `staff_verb` and `adapt`."""
    if isinstance(twiml, ET.Element):
        return twiml
    return ET.fromstring(twiml.removeprefix(DECLARATION))


def _text(root: ET.Element) -> str:
    return DECLARATION + ET.tostring(root, encoding="unicode")


def _say(response: VoiceResponse, say: Mapping[str, str], voice: str | None, language: str | None) -> None:
    """Chinese in a Mandarin voice (the configured one, else Polly.Zhiyu), English in Polly.Joanna: a
    `<Say>` without voice and language is read by Twilio's default English voice."""
    for lang, text in say.items():
        if lang == "zh":
            response.say(text, voice=voice or ZH_VOICE, language=language or ZH_LANGUAGE)
        else:
            response.say(text, voice=EN_VOICE, language=EN_LANGUAGE)


def adapt(twiml: str | ET.Element, *, ivr_path: str, base_url: str, staff: Sequence[tuple[str, str]] = (),
          status_url: str | None = None) -> str:
    """Rewrite the IVR's action URLs to named absolute routes; a `<Dial>` rings every `staff` phone at once
    (one `<Number>` each, with status callbacks so the ledger learns who answered)."""
    root = parse_twiml(twiml)
    for element in root.iter():
        for attr in _URL_ATTRIBUTES:
            if attr in element.attrib:
                element.set(attr, route_url(element.attrib[attr], ivr_path, base_url))
        if element.tag == "Redirect" and element.text:
            element.text = route_url(element.text.strip(), ivr_path, base_url)
        if element.tag == "Dial" and staff and status_url and (element.text or "").strip():
            element.text = None
            for phone, _name in staff:
                number = ET.SubElement(element, "Number")
                number.text = phone
                number.set("statusCallback", status_url)
                number.set("statusCallbackEvent", LEG_EVENTS)
                number.set("statusCallbackMethod", "POST")
    return _text(root)


def fallback_twiml(phones: Sequence[str], timeout: int = 30, message_zh: str = "正在为您转接值班工程师,请稍候。",
                   message_en: str = "Connecting you to the engineer on duty, please hold.",
                   voice: str | None = None, language: str | None = None, *, action: str | None = None,
                   status_url: str | None = None) -> str:
    """TwiML that rings the duty phone(s) with no IVR. Static (for the number's fallback URL, no hotline
    server needed) without `action`/`status_url`; served by hotline when its IVR fails, with the Dial
    action and per-number status callbacks, so the ledger learns whether and by whom the call was answered."""
    response = VoiceResponse()
    _say(response, {"zh": message_zh, "en": message_en}, voice, language)
    dial = Dial(timeout=timeout, action=action, method="POST" if action else None)
    for phone in phones:
        if status_url:
            dial.number(phone, status_callback=status_url, status_callback_event=LEG_EVENTS,
                        status_callback_method="POST")
        else:
            dial.number(phone)
    response.append(dial)
    return str(response)


def connect_twiml(customer: str, *, caller_id: str | None, action_url: str, timeout: int,
                  say: Mapping[str, str] | None = None, voice: str | None = None,
                  language: str | None = None) -> str:
    """The staff member picked up an outbound callback: say who is called, then dial the customer."""
    response = VoiceResponse()
    _say(response, say or {}, voice, language)
    dial = Dial(caller_id=caller_id, timeout=timeout, action=action_url, method="POST")
    dial.number(customer)
    response.append(dial)
    return str(response)


def ends_call(twiml: str | ET.Element) -> bool:
    """Whether hotline's response hangs up: its last verb is `<Hangup/>` (or `<Reject/>`)."""
    root = parse_twiml(twiml)
    return len(root) > 0 and root[-1].tag in ("Hangup", "Reject")


def staff_verb(twiml: str | ET.Element) -> tuple[str, str | None] | None:
    """Where a response sends the caller: ("queue", queue name) for `<Enqueue>`, ("dial", None) for `<Dial>`."""
    for element in parse_twiml(twiml).iter():
        if element.tag == "Enqueue":
            return "queue", (element.text or "").strip() or None
        if element.tag == "Dial":
            return "dial", None
    return None


def dequeue_twiml(queue: str, bridged_url: str, say: Mapping[str, str] | None = None, voice: str | None = None,
                  language: str | None = None) -> str:
    """A staff member calls the agent number: connect them with the longest-waiting caller of `queue`.
    Before the two are bridged Twilio requests `bridged_url` on the caller's call (that is how the ledger
    learns who answered: Twilio's `<Enqueue>` action does not say)."""
    response = VoiceResponse()
    _say(response, say or {}, voice, language)
    dial = Dial()
    dial.queue(queue, url=bridged_url, method="POST")
    response.append(dial)
    return str(response)


def message_twiml(say: Mapping[str, str], *, hangup: bool = False, voice: str | None = None,
                  language: str | None = None) -> str:
    """Only words (the `<Queue url>` document may hold Play, Say, Pause and Redirect only)."""
    response = VoiceResponse()
    _say(response, say, voice, language)
    if hangup:
        response.hangup()
    return str(response)
