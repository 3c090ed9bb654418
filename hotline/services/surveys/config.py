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
from hotline.paging.aliyun_sms import ALIYUN_SMS_ENDPOINT
from hotline.paging.secret import Secret

SMS_PROVIDERS = ("twilio", "aliyun")
SMS_UP_TOKEN_ENV = "HOTLINE_ALIYUN_SMS_UP_TOKEN"  # the shared token of Aliyun's reply push (no signature)
# the approved survey template's wording (its ${ticket} filled in): stored as the text the caller read
ALIYUN_TEMPLATE_TEXT = ("您好，您的工单${ticket}已处理。请直接回复数字：问题是否已解决（1是，2否）"
                        "和满意度（1-5分，5最满意），例如“1 5”。")
# the approved thank-you template's wording, sent after a reply when `thanks_template_code` is set (Aliyun cannot
# answer a reply in kind as Twilio's TwiML does)
ALIYUN_THANKS_TEXT = "感谢您的评价！我们会继续改进服务。"


@dataclass(frozen=True)
class AliyunSurveyConfig:
    """`[surveys.aliyun]`: the survey SMS through Aliyun (an approved template with `${ticket}`); the
    AccessKey is the paging channel's (HOTLINE_ALIYUN_ACCESS_KEY_ID / _SECRET)."""

    sign_name: str = ""
    template_code: str = ""
    template_text: str = ALIYUN_TEMPLATE_TEXT
    thanks_template_code: str = ""  # empty: no thank-you SMS after a reply
    thanks_template_text: str = ALIYUN_THANKS_TEXT
    region_id: str = "cn-hangzhou"
    endpoint: str = ALIYUN_SMS_ENDPOINT


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
    sms_provider: str = "twilio"  # twilio | aliyun: who sends the survey SMS and pushes the replies
    aliyun: AliyunSurveyConfig = field(default_factory=AliyunSurveyConfig)
    sms_up_token: Secret = field(default_factory=lambda: Secret(""))  # HOTLINE_ALIYUN_SMS_UP_TOKEN

    def way_of(self, caller_key: str) -> Way:
        return self.ways.get(caller_key, self.policy.way)


_KEYS = {"delay_minutes", "limit_hours", "calling_hours", "call_on_holidays", "attempts", "spacing_minutes",
         "answer_wait_minutes", "sms_wait_minutes", "sampling", "do_not_call", "full_score", "low_score", "way",
         "ways", "questions", "channel", "context", "caller_id", "ring_seconds", "twilio_from", "page_channels",
         "sms_provider", "aliyun"}
_ALIYUN_KEYS = {"sign_name", "template_code", "template_text", "thanks_template_code", "thanks_template_text",
                "region_id", "endpoint"}


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


def _aliyun(settings: Settings, provider: str) -> AliyunSurveyConfig:
    source, raw = settings.source, settings.section("surveys").get("aliyun", {})
    if not isinstance(raw, dict):
        raise ConfigError(source, "surveys.aliyun", "must be a table ([surveys.aliyun])")
    for key in raw:
        if key not in _ALIYUN_KEYS:
            raise ConfigError(source, f"surveys.aliyun.{key}",
                              f"unknown key (known: {', '.join(sorted(_ALIYUN_KEYS))})")
    paging = settings.section("paging").get("aliyun_sms", {})
    paging = paging if isinstance(paging, dict) else {}
    out = AliyunSurveyConfig(
        sign_name=str(raw.get("sign_name", paging.get("sign_name", ""))),
        template_code=str(raw.get("template_code", "")),
        template_text=str(raw.get("template_text", ALIYUN_TEMPLATE_TEXT)),
        thanks_template_code=str(raw.get("thanks_template_code", "")),
        thanks_template_text=str(raw.get("thanks_template_text", ALIYUN_THANKS_TEXT)),
        region_id=str(raw.get("region_id", paging.get("region_id", "cn-hangzhou"))),
        endpoint=str(raw.get("endpoint", paging.get("endpoint", ALIYUN_SMS_ENDPOINT))))
    if provider == "aliyun":
        for key in ("sign_name", "template_code"):
            if not getattr(out, key):
                raise ConfigError(source, f"surveys.aliyun.{key}", "needed with sms_provider = \"aliyun\" (the "
                                  "approved signature and survey template of the Aliyun SMS console)")
        if not out.thanks_template_text.strip():
            raise ConfigError(source, "surveys.aliyun.thanks_template_text", "the approved thank-you template's "
                              "wording (the text the caller reads), not empty")
        if "${ticket}" not in out.template_text:
            raise ConfigError(source, "surveys.aliyun.template_text", "the approved template's wording with "
                              "${ticket} (the text the caller reads, stored with the answers)")
    return out


def survey_config(settings: Settings, env: Mapping[str, str] | None = None) -> SurveyConfig:
    """Validate `[surveys]`; errors name the config file and key. `env` gives the secrets (the running
    hotline's environment): HOTLINE_ALIYUN_SMS_UP_TOKEN."""
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
    provider = str(raw.get("sms_provider", "twilio"))
    if provider not in SMS_PROVIDERS:
        raise ConfigError(source, "surveys.sms_provider", f"unknown provider {provider!r} (known: "
                          f"{', '.join(SMS_PROVIDERS)})")
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
        twilio_from=str(raw.get("twilio_from", "")), page_channels=tuple(str(c) for c in channels),
        sms_provider=provider, aliyun=_aliyun(settings, provider),
        sms_up_token=Secret((env or {}).get(SMS_UP_TOKEN_ENV, "")))
