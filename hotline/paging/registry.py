"""Build the paging channels from the `[paging]` config section (plain dict) and the environment.

Credentials come from `env` only; a channel whose credential is missing is left out with one
warning naming the variable (never its value). The entry point reads config and environment and
passes both in; nothing here reads `os.environ`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from hotline.paging.aliyun_sms import ALIYUN_SMS_ENDPOINT, DEFAULT_TEMPLATE_PARAMS, AliyunSmsChannel
from hotline.paging.asterisk_call import AsteriskCallChannel
from hotline.paging.base import PagingChannel
from hotline.paging.dingtalk import DINGTALK_BASE_URL, DingTalkRobotChannel
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.dry_run import DryRunChannel
from hotline.paging.email_smtp import EmailChannel, SmtpSettings
from hotline.paging.feishu import FEISHU_BASE_URL, FeishuBotChannel
from hotline.paging.originate import Originate
from hotline.paging.rate_limit import Limit, SendQueue, SendQueues
from hotline.paging.retry import RetryPolicy, Sleep
from hotline.paging.secret import Secret
from hotline.paging.section import PagingConfigError, Section
from hotline.paging.twilio_channels import TWILIO_API_BASE_URL, TwilioSmsChannel, TwilioVoiceChannel, make_client
from hotline.paging.webhook import WebhookChannel
from hotline.paging.wecom import WECOM_BASE_URL, WeComRobotChannel

__all__ = ["PagingConfigError", "build_channels", "build_dispatcher"]

SETTINGS = {"default_order", "dry_run", "retry", "call_until_reached"}
# the credentials each kind needs: (what, default environment variable, required)
CREDENTIALS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "twilio_sms": (("account_sid", "HOTLINE_TWILIO_ACCOUNT_SID", True),
                   ("auth_token", "HOTLINE_TWILIO_AUTH_TOKEN", True)),
    "twilio_voice": (("account_sid", "HOTLINE_TWILIO_ACCOUNT_SID", True),
                     ("auth_token", "HOTLINE_TWILIO_AUTH_TOKEN", True)),
    "aliyun_sms": (("access_key_id", "HOTLINE_ALIYUN_ACCESS_KEY_ID", True),
                   ("access_key_secret", "HOTLINE_ALIYUN_ACCESS_KEY_SECRET", True)),
    "email": (("password", "HOTLINE_SMTP_PASSWORD", False),),
    "wecom": (("key", "HOTLINE_WECOM_WEBHOOK_KEY", True),),
    "dingtalk": (("token", "HOTLINE_DINGTALK_TOKEN", True), ("secret", "HOTLINE_DINGTALK_SECRET", True)),
    "feishu": (("hook", "HOTLINE_FEISHU_HOOK", True), ("secret", "HOTLINE_FEISHU_SECRET", True)),
    "webhook": (("secret", "HOTLINE_WEBHOOK_SECRET", False),),
    "asterisk_call": (),
    "dry_run": (),
}
IN_FILE_TOO = {"account_sid"}  # identifiers, not secrets: the table may give them instead of the environment
Secrets = dict[str, Secret]


class _Builder:
    def __init__(self, env: Mapping[str, str], originate: Originate | None, log: logging.Logger,
                 queues: SendQueues, out: TextIO | None) -> None:
        self.env = env
        self.originate = originate
        self.log = log
        self.queues = queues
        self.out = out

    def credentials(self, s: Section, kind: str) -> Secrets | None:
        """The section's credentials, or None (and one warning) when a required one is missing."""
        found: Secrets = {}
        missing: list[str] = []
        for what, default_var, required in CREDENTIALS[kind]:
            var = s.text(f"{what}_env", default_var)
            value = self.env.get(var, "") or (s.text(what, "") if what in IN_FILE_TOO else "")
            if value:
                found[what] = Secret(value)
            elif required or (kind == "email" and s.text("username", "")):
                missing.append(var)
        if missing:
            names = ", ".join(missing)
            self.log.warning("寻呼通道 %s 已停用：未设置环境变量 %s / paging channel %s disabled: "
                             "environment variable %s not set", s.name, names, s.name, names)
            return None
        return found

    def robot_queue(self, kind: str, secret: Secret, limits: tuple[Limit, ...]) -> SendQueue:
        robot = kind + ":" + hashlib.sha256(secret.reveal().encode()).hexdigest()[:16]
        return self.queues.for_robot(robot, limits)

    def build(self, s: Section, kind: str) -> PagingChannel | None:
        if kind == "dry_run":
            return DryRunChannel(s.name, self.out)
        if kind == "asterisk_call" and self.originate is None:
            self.log.warning("寻呼通道 %s 已停用：没有 AMI 连接 / paging channel %s disabled: no AMI "
                             "connection (originate) was given", s.name, s.name)
            return None
        creds = self.credentials(s, kind)
        if creds is None:
            return None
        return BUILDERS[kind](self, s, creds)


def _twilio_sms(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    client = make_client(c["account_sid"].reveal(), c["auth_token"],
                         api_base_url=s.text("api_base_url", TWILIO_API_BASE_URL), timeout=s.number("timeout", 10.0))
    return TwilioSmsChannel(client, from_number=s.text("from", "") or None,
                            messaging_service_sid=s.text("messaging_service_sid", "") or None,
                            country_code=s.text("country_code", "+86"), name=s.name)


def _twilio_voice(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    client = make_client(c["account_sid"].reveal(), c["auth_token"],
                         api_base_url=s.text("api_base_url", TWILIO_API_BASE_URL), timeout=s.number("timeout", 10.0))
    return TwilioVoiceChannel(client, from_number=s.required_text("from"),
                              ack_action_url=s.text("ack_action_url", "") or None,
                              voice=s.text("voice", "Polly.Zhiyu"), language=s.text("language", "cmn-CN"),
                              ring_seconds=s.whole("ring_seconds", 30), country_code=s.text("country_code", "+86"),
                              name=s.name)


def _asterisk(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    assert b.originate is not None
    return AsteriskCallChannel(b.originate, channel_template=s.text("channel", "PJSIP/{extension}"),
                               context=s.text("context", "hotline-page-ack"), exten=s.text("exten", "s"),
                               priority=s.whole("priority", 1), caller_id=s.text("caller_id", ""),
                               ring_seconds=s.whole("ring_seconds", 30), timeout=s.number("timeout", 10.0),
                               name=s.name)


def _aliyun(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    return AliyunSmsChannel(c["access_key_id"].reveal(), c["access_key_secret"],
                            sign_name=s.required_text("sign_name"), template_code=s.required_text("template_code"),
                            template_params=s.text_map("template_params", DEFAULT_TEMPLATE_PARAMS),
                            region_id=s.text("region_id", "cn-hangzhou"),
                            endpoint=s.text("endpoint", ALIYUN_SMS_ENDPOINT), timeout=s.number("timeout", 10.0),
                            name=s.name)


def _email(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    settings = SmtpSettings(host=s.required_text("host"), port=s.whole("port", 25),
                            sender=s.text("from", "hotline@localhost"), username=s.text("username", "") or None,
                            password=c.get("password"), starttls=s.flag("starttls", False),
                            implicit_tls=s.flag("ssl", False), timeout=s.number("timeout", 10.0))
    return EmailChannel(settings, name=s.name)


def _wecom(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    queue = b.robot_queue("wecom", c["key"], (Limit(s.whole("per_minute", 20), 60.0),))
    return WeComRobotChannel(c["key"], queue=queue, base_url=s.text("base_url", WECOM_BASE_URL),
                             timeout=s.number("timeout", 10.0), name=s.name)


def _dingtalk(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    queue = b.robot_queue("dingtalk", c["token"], (Limit(s.whole("per_minute", 20), 60.0),))
    return DingTalkRobotChannel(c["token"], c["secret"], queue=queue, base_url=s.text("base_url", DINGTALK_BASE_URL),
                                timeout=s.number("timeout", 10.0), name=s.name)


def _feishu(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    limits = (Limit(s.whole("per_minute", 100), 60.0), Limit(s.whole("per_second", 5), 1.0))
    queue = b.robot_queue("feishu", c["hook"], limits)
    return FeishuBotChannel(c["hook"], c["secret"], queue=queue, base_url=s.text("base_url", FEISHU_BASE_URL),
                            timeout=s.number("timeout", 10.0), name=s.name)


def _webhook(b: _Builder, s: Section, c: Secrets) -> PagingChannel:
    return WebhookChannel(s.required_text("url"), secret=c.get("secret"), timeout=s.number("timeout", 10.0),
                          name=s.name)


BUILDERS: dict[str, Callable[[_Builder, Section, Secrets], PagingChannel]] = {
    "twilio_sms": _twilio_sms, "twilio_voice": _twilio_voice, "asterisk_call": _asterisk,
    "aliyun_sms": _aliyun, "email": _email, "wecom": _wecom, "dingtalk": _dingtalk, "feishu": _feishu,
    "webhook": _webhook,
}


def channel_sections(config: Mapping[str, Any]) -> list[Section]:
    """The `[paging.<name>]` sections, in file order (`kind` defaults to the name)."""
    sections = []
    for name, value in config.items():
        if name in SETTINGS:
            continue
        if not isinstance(value, Mapping):
            raise PagingConfigError(f"[paging] {name}: unknown setting; a channel needs a [paging.{name}] table "
                                    "/ 未知设置")
        section = Section(f"paging.{name}", name, value)
        kind = section.text("kind", name)
        if kind not in CREDENTIALS:
            raise PagingConfigError(f"[paging.{name}] kind {kind!r} is unknown: expected one of "
                                    f"{', '.join(sorted(CREDENTIALS))} / 未知的通道类型")
        section.check_no_secrets()
        sections.append(section)
    return sections


def build_channels(config: Mapping[str, Any], env: Mapping[str, str], originate: Originate | None = None,
                   log: logging.Logger = logging.getLogger("hotline.paging"), *,
                   queues: SendQueues | None = None, out: TextIO | None = None) -> dict[str, PagingChannel]:
    """name -> channel for every enabled `[paging.<name>]` section; `dry_run = true` prints all pages."""
    top = Section("paging", "paging", config)
    builder = _Builder(env, originate, log, queues or SendQueues(), out)
    dry = top.flag("dry_run", False)
    channels: dict[str, PagingChannel] = {}
    for section in channel_sections(config):
        if not section.flag("enabled", True):
            continue
        kind = "dry_run" if dry else section.text("kind", section.name)
        channel = builder.build(section, kind)
        if channel is not None:
            channels[section.name] = channel
    return channels


def _policy(raw: Any, base: RetryPolicy, where: str) -> RetryPolicy:
    s = Section(where, where, raw if isinstance(raw, Mapping) else {})
    try:
        return RetryPolicy(attempts=s.whole("attempts", base.attempts),
                           initial=s.number("initial", base.initial),
                           multiplier=s.number("multiplier", base.multiplier),
                           maximum=s.number("maximum", base.maximum))
    except ValueError as e:
        raise PagingConfigError(f"[{where}] {e}") from None


def build_dispatcher(config: Mapping[str, Any], channels: Mapping[str, PagingChannel],
                     sleep: Sleep = asyncio.sleep) -> Dispatcher:
    """A `Dispatcher` with the default order, retry policies and call-until-reached of `[paging]`."""
    top = Section("paging", "paging", config)
    sections = channel_sections(config)
    known = [s.name for s in sections]
    order = top.text_list("default_order", known)
    for name in order:
        if name not in known:
            raise PagingConfigError(f"[paging] default_order: {name!r} has no [paging.{name}] section "
                                    "/ 默认顺序中的通道没有配置")
    retry = _policy(config.get("retry"), RetryPolicy(), "paging.retry")
    retries = {s.name: _policy(s.raw["retry"], retry, f"paging.{s.name}.retry") for s in sections if "retry" in s.raw}
    repeat = Section("paging.call_until_reached", "call_until_reached", config.get("call_until_reached") or {})
    return Dispatcher(channels, order, retry=retry, retries=retries, rounds=repeat.whole("rounds", 3),
                      interval=repeat.number("interval", 120.0), sleep=sleep)
