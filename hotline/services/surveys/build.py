"""The surveys capability assembled from Settings for the entry points (cli, api, runtime), and the outbox
channels that ask (added to the paging dispatcher next to the pages' channels)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import Settings
from hotline.paging.base import PagingChannel
from hotline.paging.secret import Secret
from hotline.paging.twilio_channels import TWILIO_API_BASE_URL, make_client
from hotline.services.surveys.calls import AsteriskSurveyCall, Originate, SmsSurvey, TwilioSurveyCall
from hotline.services.surveys.config import SurveyConfig, survey_config
from hotline.services.surveys.context import SurveyContext
from hotline.services.surveys.desk import SurveyDesk
from hotline.services.surveys.engine import SurveyEngine
from hotline.services.tickets.desk import TicketService


@dataclass(frozen=True)
class Surveys:
    engine: SurveyEngine
    desk: SurveyDesk


def build_surveys(settings: Settings, factory: sessionmaker[Session], clock: Clock, tickets: TicketService, *,
                  config: SurveyConfig | None = None) -> Surveys:
    ctx = SurveyContext(factory, clock, config or survey_config(settings), tickets)
    engine = SurveyEngine(ctx)
    return Surveys(engine, SurveyDesk(ctx, engine))


def survey_channels(settings: Settings, config: SurveyConfig, *, originate: Originate | None = None,
                    twilio_client: object | None = None, env: Mapping[str, str] | None = None,
                    api_base_url: str = TWILIO_API_BASE_URL) -> dict[str, PagingChannel]:
    """The channels `survey_asterisk` (with an AMI connection), `survey_twilio` and `survey_sms` (with a
    Twilio account: HOTLINE_TWILIO_AUTH_TOKEN and `[surveys] twilio_from`)."""
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
    return out
