"""The `[surveys]` section, validated: the survey policy (delay, 24 h limit, calling hours, holidays,
attempts and spacing, sampling, do-not-call list, full and low score), the way of asking (per config and per
caller), and the outgoing parts (the Asterisk trunk, the Twilio number). Every key has a working default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hotline.config import ConfigError, Settings
from hotline.domain.numbers import try_parse_number
from hotline.domain.surveys import QUESTIONS, SurveyPolicy, Way
from hotline.domain.windows import parse_clock_time


@dataclass(frozen=True)
class SurveyConfig:
    policy: SurveyPolicy = field(default_factory=SurveyPolicy)
    ways: Mapping[str, Way] = field(default_factory=dict)  # number key -> way, e.g. landlines by hand
    # Asterisk: the Originate of the caller's number into the rendered survey IVR
    channel: str = "PJSIP/{number}@trunk"
    context: str = "hotline-survey"
    caller_id: str = ""
    ring_seconds: int = 40
    # Twilio: the number calls and SMS come from
    twilio_from: str = ""
    page_channels: tuple[str, ...] = ()  # for the pages of a reopened ticket / a complaint follow-up

    def way_of(self, caller_key: str) -> Way:
        return self.ways.get(caller_key, self.policy.way)


_KEYS = {"delay_minutes", "limit_hours", "calling_hours", "call_on_holidays", "attempts", "spacing_minutes",
         "answer_wait_minutes", "sms_wait_minutes", "sampling", "do_not_call", "full_score", "low_score", "way",
         "ways", "questions", "channel", "context", "caller_id", "ring_seconds", "twilio_from", "page_channels"}


def _number(source: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(source, key, f"must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _way(source: str, key: str, value: Any) -> Way:
    try:
        return Way(str(value))
    except ValueError:
        known = ", ".join(str(w) for w in Way)
        raise ConfigError(source, key, f"unknown way {value!r} (known: {known})") from None


def _key_of(source: str, key: str, text: Any, area: str | None) -> str:
    number = try_parse_number(str(text), local_area_code=area)
    if number is None:
        raise ConfigError(source, key, f"not a phone number: {text!r}")
    return number.key


def survey_config(settings: Settings) -> SurveyConfig:
    """Validate `[surveys]`; errors name the config file and key."""
    source, raw = settings.source, settings.section("surveys")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(source, f"surveys.{key}", f"unknown key (known: {', '.join(sorted(_KEYS))})")
    area = settings.section("tickets").get("local_area_code") or None
    hours = str(raw.get("calling_hours", "09:00-20:00"))
    try:
        first, last = (parse_clock_time(p.strip()) for p in hours.split("-", 1))
    except ValueError:
        raise ConfigError(source, "surveys.calling_hours", f'must be like "09:00-20:00", got {hours!r}') from None
    if first >= last:
        raise ConfigError(source, "surveys.calling_hours", f"the start must be before the end, got {hours!r}")
    full = int(_number(source, "surveys.full_score", raw.get("full_score", 5), 2, 10))
    low = int(_number(source, "surveys.low_score", raw.get("low_score", 2), 0, full))
    questions = raw.get("questions", ["solved", "overall"])
    known = {q.key: q for q in QUESTIONS}
    if not isinstance(questions, list) or any(q not in known for q in questions) or "overall" not in questions:
        raise ConfigError(source, "surveys.questions", f"a list of question keys with \"overall\" "
                          f"(known: {', '.join(known)}), got {questions!r}")
    dnc = raw.get("do_not_call", [])
    if not isinstance(dnc, list):
        raise ConfigError(source, "surveys.do_not_call", f'must be a list like ["13800138000"], got {dnc!r}')
    ways = {_key_of(source, f"surveys.ways.{k}", k, area): _way(source, f"surveys.ways.{k}", v)
            for k, v in dict(raw.get("ways", {})).items()}
    channels = raw.get("page_channels", [])
    if not isinstance(channels, list):
        raise ConfigError(source, "surveys.page_channels", f'must be a list like ["wecom"], got {channels!r}')
    policy = SurveyPolicy(
        delay=timedelta(minutes=_number(source, "surveys.delay_minutes", raw.get("delay_minutes", 30), 0, 1440)),
        limit=timedelta(hours=_number(source, "surveys.limit_hours", raw.get("limit_hours", 24), 1, 168)),
        calling_start=first, calling_end=last, call_on_holidays=bool(raw.get("call_on_holidays", False)),
        attempts=int(_number(source, "surveys.attempts", raw.get("attempts", 3), 1, 10)),
        spacing=timedelta(minutes=_number(source, "surveys.spacing_minutes", raw.get("spacing_minutes", 120),
                                          1, 1440)),
        answer_wait=timedelta(minutes=_number(source, "surveys.answer_wait_minutes",
                                              raw.get("answer_wait_minutes", 10), 1, 120)),
        sms_wait=timedelta(minutes=_number(source, "surveys.sms_wait_minutes", raw.get("sms_wait_minutes", 120),
                                           1, 1440)),
        sampling=_number(source, "surveys.sampling", raw.get("sampling", 1.0), 0, 1),
        do_not_call=frozenset(_key_of(source, "surveys.do_not_call", n, area) for n in dnc),
        full_score=full, low_score=low, way=_way(source, "surveys.way", raw.get("way", "asterisk")),
        questions=tuple(known[q] for q in questions), tz=settings.tz)
    return SurveyConfig(
        policy=policy, ways=ways, channel=str(raw.get("channel", "PJSIP/{number}@trunk")),
        context=str(raw.get("context", "hotline-survey")), caller_id=str(raw.get("caller_id", "")),
        ring_seconds=int(_number(source, "surveys.ring_seconds", raw.get("ring_seconds", 40), 5, 120)),
        twilio_from=str(raw.get("twilio_from", "")), page_channels=tuple(str(c) for c in channels))
