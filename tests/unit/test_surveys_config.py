"""`[surveys]` validated: defaults that work, per-caller ways and the do-not-call list by number key, and
errors that name the file and the key."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from hotline.config import ConfigError, settings_from_dict
from hotline.domain.surveys import Way
from hotline.services.surveys.config import SurveyConfig, survey_config


def config(**surveys: object) -> SurveyConfig:
    return survey_config(settings_from_dict({"surveys": surveys}, source="hotline.toml"))


def test_defaults_and_values() -> None:
    c = config()
    assert (c.policy.limit, c.policy.attempts, c.policy.spacing, c.policy.sampling) == \
        (timedelta(hours=24), 3, timedelta(hours=2), 1.0)
    c = config(calling_hours="08:30-21:00", do_not_call=["+86 138 0013 8004"], ways={"010-12345678": "manual"},
               low_score=1, way="sms")
    assert (c.policy.calling_start, c.policy.calling_end) == (time(8, 30), time(21, 0))
    assert c.policy.do_not_call == frozenset({"+8613800138004"})
    assert c.way_of("+861012345678") is Way.MANUAL and c.way_of("+8613800138004") is Way.SMS


@pytest.mark.parametrize(("values", "key"), [
    ({"calling_hours": "20:00-09:00"}, "surveys.calling_hours"),
    ({"calling_hours": "nine to five"}, "surveys.calling_hours"),
    ({"attempts": 0}, "surveys.attempts"),
    ({"sampling": 1.5}, "surveys.sampling"),
    ({"low_score": 6}, "surveys.low_score"),
    ({"way": "fax"}, "surveys.way"),
    ({"do_not_call": ["not a number"]}, "surveys.do_not_call"),
    ({"questions": ["solved"]}, "surveys.questions"),
    ({"retries": 3}, "surveys.retries"),
    ({"sms_provider": "smsbao"}, "surveys.sms_provider"),
    ({"sms_provider": "aliyun", "aliyun": {"sign_name": "华信科技"}}, "surveys.aliyun.template_code"),
    ({"sms_provider": "aliyun", "aliyun": {"sign_name": "华信", "template_code": "SMS_1", "template_text": "请回复"}},
     "surveys.aliyun.template_text"),
    ({"aliyun": {"template": "SMS_1"}}, "surveys.aliyun.template"),
    ({"sms_provider": "aliyun", "aliyun": {"sign_name": "华信", "template_code": "SMS_1",
                                           "thanks_template_code": "SMS_2", "thanks_template_text": " "}},
     "surveys.aliyun.thanks_template_text"),
])
def test_bad_values_name_the_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        config(**values)
    assert key in str(e.value) and "hotline.toml" in str(e.value)


def test_sub_scores_and_the_aliyun_sms_with_its_reply_token_from_the_environment() -> None:
    settings = settings_from_dict({"surveys": {"questions": ["solved", "overall", "attitude"], "sms_provider": "aliyun",
                                               "aliyun": {"template_code": "SMS_281930007"}},
                                   "paging": {"aliyun_sms": {"sign_name": "华信科技"}}}, source="hotline.toml")
    c = survey_config(settings, env={"HOTLINE_ALIYUN_SMS_UP_TOKEN": "t0ken"})
    assert [q.key for q in c.policy.questions] == ["solved", "overall", "attitude"]
    assert (c.sms_provider, c.aliyun.sign_name, c.aliyun.template_code) == ("aliyun", "华信科技", "SMS_281930007")
    assert "${ticket}" in c.aliyun.template_text and c.sms_up_token.reveal() == "t0ken"
    assert "t0ken" not in repr(c)  # the secret never shows in a repr or a log
    assert [q.key for q in config().policy.questions] == ["solved", "overall"]  # default: no sub-scores


def test_the_thank_you_sms_is_off_until_its_template_is_configured() -> None:
    assert config().aliyun.thanks_template_code == ""
    c = config(sms_provider="aliyun", aliyun={"sign_name": "华信科技", "template_code": "SMS_1",
                                              "thanks_template_code": "SMS_2"})
    assert (c.aliyun.thanks_template_code, c.aliyun.thanks_template_text) == \
        ("SMS_2", "感谢您的评价！我们会继续改进服务。")
