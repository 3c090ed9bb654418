"""The surveys capability assembled from Settings for the entry points (cli, api, runtime), and the outbox
channels that ask (added to the paging dispatcher next to the pages' channels)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import Settings
from hotline.domain.surveys import SurveyPolicy
from hotline.ivr.installed import installed_script
from hotline.ivr.survey_script import asked_script, question_prompts
from hotline.paging.base import PagingChannel
from hotline.paging.originate import Originate
from hotline.paging.secret import Secret
from hotline.paging.twilio_channels import TWILIO_API_BASE_URL, make_client
from hotline.services.surveys.calls import AliyunSmsSurvey, AsteriskSurveyCall, SmsSurvey, TwilioSurveyCall
from hotline.services.surveys.config import SurveyConfig, survey_config
from hotline.services.surveys.context import SurveyContext
from hotline.services.surveys.desk import SurveyDesk
from hotline.services.surveys.engine import SurveyEngine
from hotline.services.surveys.keys import THANKS_CHANNEL
from hotline.services.tickets.desk import TicketService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Surveys:
    engine: SurveyEngine
    desk: SurveyDesk


def build_surveys(settings: Settings, factory: sessionmaker[Session], clock: Clock, tickets: TicketService, *,
                  config: SurveyConfig | None = None, env: Mapping[str, str] | None = None) -> Surveys:
    """`env`: the running hotline's environment (the secret of Aliyun's reply push)."""
    config = config or survey_config(settings, env)
    ctx = SurveyContext(factory, clock, config, tickets, phone_prompts(settings, config.policy))
    engine = SurveyEngine(ctx)
    return Surveys(engine, SurveyDesk(ctx, engine))


def phone_prompts(settings: Settings, policy: SurveyPolicy) -> dict[str, str]:
    """The prompt of each question as the survey IVR asks it (stored with the keypad answers); empty, and the
    questions' own wording stored, when the installed survey script cannot be read."""
    try:
        script, ctx, _ = installed_script(settings, "survey")
    except Exception as e:  # a broken script fails its calls loudly elsewhere; the answers still keep a text
        log.warning("survey IVR script not readable, answers keep the questions' wording: %s", e)
        return {}
    return question_prompts(asked_script(script, [q.key for q in policy.questions]), ctx)


def survey_channels(settings: Settings, config: SurveyConfig, *, originate: Originate | None = None,
                    twilio_client: object | None = None, env: Mapping[str, str] | None = None,
                    api_base_url: str = TWILIO_API_BASE_URL) -> dict[str, PagingChannel]:
    """The channels `survey_asterisk` (with an AMI connection), `survey_twilio` and `survey_sms` (with a
    Twilio account: HOTLINE_TWILIO_AUTH_TOKEN and `[surveys] twilio_from`; or, with `sms_provider = "aliyun"`,
    through Aliyun with HOTLINE_ALIYUN_ACCESS_KEY_ID / HOTLINE_ALIYUN_ACCESS_KEY_SECRET)."""
    out: dict[str, PagingChannel] = {}
    if originate is not None:
        out["survey_asterisk"] = AsteriskSurveyCall(originate, channel=config.channel, context=config.context,
                                                    caller_id=config.caller_id, ring_seconds=config.ring_seconds)
    token = settings.twilio.auth_token or (env or {}).get("HOTLINE_TWILIO_AUTH_TOKEN", "")
    if twilio_client is None and settings.twilio.account_sid and token and config.twilio_from:
        twilio_client = make_client(settings.twilio.account_sid, Secret(token), api_base_url=api_base_url)
    if twilio_client is not None and config.twilio_from:
        out["survey_twilio"] = TwilioSurveyCall(twilio_client, config.twilio_from, settings.api.public_base_url)
        out["survey_sms"] = SmsSurvey(twilio_client, config.twilio_from)
    key_id, key_secret = ((env or {}).get(f"HOTLINE_ALIYUN_ACCESS_KEY_{k}", "") for k in ("ID", "SECRET"))
    if config.sms_provider == "aliyun" and key_id and key_secret:  # the domestic provider sends the survey SMS
        a = config.aliyun
        out["survey_sms"] = AliyunSmsSurvey(key_id, Secret(key_secret), sign_name=a.sign_name,
                                            template_code=a.template_code, region_id=a.region_id,
                                            endpoint=a.endpoint, name="survey_sms")
        if a.thanks_template_code:
            thanks = AliyunSmsSurvey(key_id, Secret(key_secret), sign_name=a.sign_name,
                                     template_code=a.thanks_template_code, region_id=a.region_id,
                                     endpoint=a.endpoint, name=THANKS_CHANNEL,
                                     with_ticket="${ticket}" in a.thanks_template_text)
            out[THANKS_CHANNEL] = thanks
    return out
