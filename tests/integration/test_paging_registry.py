"""Building channels from `[paging]` and the environment: missing credentials, secrets, dry run."""

from __future__ import annotations

import io
import logging
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest

from hotline.paging.asterisk_call import AsteriskCallChannel
from hotline.paging.dingtalk import DingTalkRobotChannel
from hotline.paging.dry_run import DryRunChannel
from hotline.paging.registry import PagingConfigError, build_channels, build_dispatcher
from hotline.paging.wecom import WeComRobotChannel
from tests.integration.paging_fakes import (  # noqa: F401
    FakeServer,
    Responder,
    fake_server_fixture,
    json_reply,
    sample_page,
)

CONFIG = tomllib.loads("""
default_order = ["asterisk_call", "wecom", "dingtalk", "email"]
[retry]
attempts = 2
initial = 0.5
[call_until_reached]
rounds = 4
interval = 60
[asterisk_call]
channel = "Local/{extension}@staff"
[wecom]
per_minute = 20
[dingtalk]
retry = { attempts = 5 }
[email]
host = "127.0.0.1"
username = "hotline"
[webhook]
enabled = false
url = "http://127.0.0.1:9/"
""")
ENV = {"HOTLINE_WECOM_WEBHOOK_KEY": "wk-111-secret", "HOTLINE_DINGTALK_TOKEN": "dt-222-secret",
       "HOTLINE_DINGTALK_SECRET": "SECdt-333-secret"}
Start = Callable[[Responder], FakeServer]


async def originate(action: Mapping[str, str]) -> Mapping[str, str]:
    return {"Response": "Success"}


def test_missing_credential_disables_the_channel_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channels = build_channels(CONFIG, ENV, originate, log=logging.getLogger("test.paging"))
    assert set(channels) == {"asterisk_call", "wecom", "dingtalk"}  # email lacks its password; webhook is off
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "HOTLINE_SMTP_PASSWORD" in warnings[0].getMessage() and "email" in warnings[0].getMessage()
    assert isinstance(channels["wecom"], WeComRobotChannel) and isinstance(channels["dingtalk"], DingTalkRobotChannel)
    assert isinstance(channels["asterisk_call"], AsteriskCallChannel)
    assert channels["asterisk_call"].channel_template == "Local/{extension}@staff"


def test_secrets_never_reach_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channels = build_channels(CONFIG, {**ENV, "HOTLINE_SMTP_PASSWORD": "pw-444-secret"}, originate)
    shown = caplog.text + repr(channels) + str(channels)
    for secret in [*ENV.values(), "pw-444-secret"]:
        assert secret not in shown
    assert "email" in channels and caplog.records == []


def test_asterisk_without_ami_connection_is_disabled_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    channels = build_channels({"asterisk_call": {}}, {}, None)
    assert channels == {}
    assert len(caplog.records) == 1 and "AMI" in caplog.records[0].getMessage()


def test_credential_written_into_the_file_is_refused() -> None:
    with pytest.raises(PagingConfigError, match=r"\[paging.wecom\] key: credentials are read from the environment"):
        build_channels({"wecom": {"key": "oops"}}, {})


def test_unknown_kind_and_bad_types_name_the_key() -> None:
    with pytest.raises(PagingConfigError, match=r"\[paging.pager\] kind 'pager' is unknown"):
        build_channels({"pager": {}}, {})
    with pytest.raises(PagingConfigError, match=r"\[paging.wecom\] per_minute: expected a whole number"):
        build_channels({"wecom": {"per_minute": "20"}}, ENV)
    with pytest.raises(PagingConfigError, match=r"\[paging.aliyun_sms\] sign_name is required"):
        build_channels({"aliyun_sms": {"template_code": "SMS_1"}},
                       {"HOTLINE_ALIYUN_ACCESS_KEY_ID": "id", "HOTLINE_ALIYUN_ACCESS_KEY_SECRET": "s"})


def test_named_robot_sections_read_their_own_variables() -> None:
    config = {"wecom_servers": {"kind": "wecom", "key_env": "HOTLINE_WECOM_SERVERS_KEY"}}
    channels = build_channels(config, {"HOTLINE_WECOM_SERVERS_KEY": "k2"})
    robot = channels["wecom_servers"]
    assert isinstance(robot, WeComRobotChannel) and robot.name == "wecom_servers"


async def test_dry_run_prints_instead_of_sending_and_needs_no_credentials() -> None:
    out = io.StringIO()
    channels = build_channels({**CONFIG, "dry_run": True}, {}, None, out=out)
    assert set(channels) == {"asterisk_call", "wecom", "dingtalk", "email"}
    assert all(isinstance(c, DryRunChannel) for c in channels.values())
    result = await build_dispatcher(CONFIG, channels).deliver(sample_page())
    assert [(r.channel, r.ok) for r in result] == [("asterisk_call", True)]
    printed = out.getvalue()
    assert "[演练 / dry run] asterisk_call -> 王丽" in printed and sample_page().subject in printed


async def test_dry_run_output_masks_the_callers_number_in_every_form() -> None:
    """The dry run's output lands in a terminal or a service log: the caller's number is masked there,
    written as the ledger holds it, nationally or in E.164 - the person paged still shows."""
    out = io.StringIO()
    page = replace(sample_page(), caller="13800138004", subject="热线未接来电 13800138004 / Missed hotline call",
                   text="来电号码 +8613800138004，刘洋 请回电 13800138004。\nCaller 13800138004.")
    await DryRunChannel("wecom", out).send(page)
    printed = out.getvalue()
    assert "13800138004" not in printed, printed
    assert printed.count("138****8004") == 4, printed
    assert "-> 王丽" in printed and "刘洋 请回电" in printed


def test_dispatcher_settings_come_from_the_section() -> None:
    dispatcher = build_dispatcher(CONFIG, {})
    assert dispatcher.default_order == ("asterisk_call", "wecom", "dingtalk", "email")
    assert (dispatcher.retry.attempts, dispatcher.retry.initial) == (2, 0.5)
    assert dispatcher.retries["dingtalk"].attempts == 5 and dispatcher.retries["dingtalk"].initial == 0.5
    assert (dispatcher.rounds, dispatcher.interval) == (4, 60.0)
    with pytest.raises(PagingConfigError, match="default_order: 'wecon'"):
        build_dispatcher({"default_order": ["wecon"], "wecom": {}}, {})


async def test_built_robot_channel_sends_to_the_configured_base_url(fake_server: Start) -> None:
    server = fake_server(lambda req: json_reply({"errcode": 0, "errmsg": "ok"}))
    channels = build_channels({"wecom": {"base_url": server.url}}, ENV)
    assert (await channels["wecom"].send(sample_page())).ok
    assert server.requests[0].query == {"key": "wk-111-secret"}


def test_twilio_account_sid_comes_from_the_table_or_the_environment(caplog: pytest.LogCaptureFixture) -> None:
    token = {"HOTLINE_TWILIO_AUTH_TOKEN": "tok-555-secret"}
    assert "twilio_sms" in build_channels({"twilio_sms": {"account_sid": "AC1", "from": "+1500"}}, token)
    assert "twilio_sms" in build_channels({"twilio_sms": {"from": "+1500"}},
                                          {**token, "HOTLINE_TWILIO_ACCOUNT_SID": "AC1"})
    assert build_channels({"twilio_sms": {"from": "+1500"}}, token) == {}
    assert len(caplog.records) == 1 and "HOTLINE_TWILIO_ACCOUNT_SID" in caplog.records[0].getMessage()
    assert "tok-555-secret" not in caplog.text
