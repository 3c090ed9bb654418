"""The Asterisk survey on the real PBX: the survey dialplan rendered by `hotline ivr render
ivr_scripts/survey.yaml --target asterisk` (with the sub-score 服务态度 enabled in `[surveys] questions`) is
installed with the prompts of `hotline ivr sounds`; the survey engine's outbox places the try with the
`survey_asterisk` channel (an Originate on the listener's connection, logged in with exactly the documented AMI
rights of `manager_account.manager_conf`); the "caller" is a Local channel into the lab context
`lab-survey-phone`, which answers, waits out the intro and presses 1 (solved), then 4 (the score), then 5
(服务态度). The answers come back as VarSet events through the real listener, are stored against the ticket
with the prompts the caller heard, close it, and the satisfaction report counts them."""

from __future__ import annotations

import asyncio
import json
import wave
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.config import Settings
from hotline.domain.surveys import QUESTIONS, SurveyPolicy
from hotline.paging.dispatcher import Dispatcher
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.manager_account import manager_conf
from hotline.runtime.assembly import AmiIngest, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.runtime.page_calls import ami_originate
from hotline.services.calls.ledger import Ledger
from hotline.services.surveys.build import survey_channels
from hotline.services.surveys.config import SurveyConfig
from hotline.services.surveys.keypad import record_keypress
from hotline.services.surveys.report import figures_dict, satisfaction
from tests.conftest import ROOT
from tests.integration.pbx import Pbx, hotline_cli
from tests.integration.survey_desk import SurveyDesk
from tests.integration.test_surveys_asterisk import SurveyOrDryRun, wait_for

pytestmark = pytest.mark.asterisk
T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
SITE = ("hotline-survey-site", "Survey-Secret-7")
PHONE_CONTEXT = "lab-survey-phone"
ASKED = ["solved", "overall", "attitude"]


def seconds(wav: Path) -> float:
    with wave.open(str(wav), "rb") as w:
        frames: int = w.getnframes()
        rate: int = w.getframerate()
    return frames / rate


def phone_dialplan(intro: float) -> str:
    """The surveyed caller's phone: answers, waits until the intro has played (Playback takes no keys), then
    presses 1 (solved) during the question, 4 (the score) two seconds into the rating prompt and 5 two seconds
    into the 服务态度 prompt."""
    return (f"; the surveyed caller of tests/integration/test_pbx_surveys.py\n[{PHONE_CONTEXT}]\n"
            f"exten => _X.,1,Answer()\n same => n,Wait({intro + 1.5:.1f})\n same => n,SendDTMF(1)\n"
            " same => n,Wait(2)\n same => n,SendDTMF(4)\n same => n,Wait(2)\n same => n,SendDTMF(5)\n"
            " same => n,Wait(30)\n same => n,Hangup()\n")


@pytest.fixture
def survey_pbx(pbx_installed: Pbx, tmp_path: Path, settings: Settings) -> Iterator[Pbx]:
    """The rendered survey IVR, the lab caller's phone and the documented AMI account, removed afterwards."""
    pbx = pbx_installed
    config = tmp_path / "hotline.toml"  # the shipped config with 服务态度 asked, paths as the shipped file's
    shipped = (ROOT / "config" / "hotline.toml").read_text(encoding="utf-8")
    config.write_text(shipped.replace("[surveys]", f'[surveys]\nquestions = {json.dumps(ASKED)}', 1)
                      .replace('= "../', f'= "{ROOT}/').replace('= "roster.yaml"', f'= "{ROOT}/config/roster.yaml"'),
                      encoding="utf-8")
    hotline_cli("ivr", "render", "ivr_scripts/survey.yaml", "--target", "asterisk", "--out", str(tmp_path / "r"),
                "--config", str(config))
    hotline_cli("ivr", "sounds", "ivr_scripts/survey.yaml", "--out", str(pbx.sounds / "hotline"), "--config",
                str(config))  # the 服务态度 prompts too
    [rendered] = (tmp_path / "r").glob("extensions_*_survey.conf")
    intro = seconds(pbx.sounds / "hotline" / "survey-intro.wav") + seconds(
        pbx.sounds / "hotline" / "survey-intro-en.wav")
    files = [pbx.drop_in("extensions.d", "hotline-survey.conf", rendered.read_text(encoding="utf-8")),
             pbx.drop_in("extensions.d", "lab-survey-phone.conf", phone_dialplan(intro)),
             pbx.drop_in("manager.d", "hotline-survey-site.conf",
                         manager_conf(SITE[0], permit="127.0.0.1/255.255.255.255", secret=SITE[1]))]
    pbx.cli("dialplan reload")
    pbx.cli("manager reload")
    try:
        assert "hotline-survey-score" in pbx.cli("dialplan show hotline-survey-score")
        assert "hotline-survey-attitude" in pbx.cli("dialplan show hotline-survey-attitude")
        yield pbx
    finally:
        for path in files:
            path.unlink()
        pbx.cli("dialplan reload")
        pbx.cli("manager reload")


async def test_survey_call_on_the_real_pbx_answers_the_survey(
        survey_pbx: Pbx, settings: Settings, tmp_path: Path) -> None:
    pbx = survey_pbx
    asked = tuple(q for q in QUESTIONS if q.key in ASKED)
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30), questions=asked), caller_id="4008001234",
                          channel=f"Local/{{number}}@{PHONE_CONTEXT}", ring_seconds=10)
    desk = SurveyDesk(settings, f"sqlite:///{tmp_path / 'hotline.db'}", T0, config)
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))  # resolved 10:15 by 王芳
    client = AmiClient(pbx.host, pbx.port, *SITE, ping_interval=5.0, raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(desk.db.factory), batch=50), desk.clock,
                           flush_interval=0.1, on_survey_key=lambda k: record_keypress(desk.surveys.desk, k))
    log_start = pbx.messages_log.stat().st_size
    task = asyncio.create_task(listener.run())
    try:
        await client.wait_connected(10)
        await wait_for(lambda: listener.status.get("last_snapshot") is not None, 10)
        sender = SurveyOrDryRun(Dispatcher(survey_channels(settings, config, originate=ami_originate(client)), ()))
        await desk.run_until(T0 + timedelta(minutes=45), sender)  # the try at 10:45: the Originate
        await wait_for(lambda: desk.surveys.desk.get(tid)["status"] == "answered", 25)
        await desk.run_until(T0 + timedelta(minutes=46), sender)  # the outcome: the ticket closes
    finally:
        pbx.cli("channel request hangup all")  # the thank-you prompt would play on for seconds
        await asyncio.to_thread(pbx.wait_idle)
        await client.close()
        await task
    with pbx.messages_log.open(encoding="utf-8", errors="replace") as log:
        log.seek(log_start)
        warnings = [line for line in log if "WARNING" in line or "ERROR" in line]
    assert not [w for w in warnings if "survey" in w.lower()], warnings  # e.g. a prompt missing
    [row] = desk.pages("survey")
    assert row.status == "sent" and row.attempts == 1
    survey = desk.surveys.desk.get(tid)
    assert (survey["solved"], survey["score"], survey["answered_via"]) == (True, 4, "asterisk")
    assert [(a["question"], a["value"]) for a in survey["answers"]] == [("solved", 1), ("overall", 4),
                                                                        ("attitude", 5)]
    assert survey["answers"][1]["question_text"].startswith("请为本次服务评分:非常满意请按 5")  # as heard
    assert survey["answers"][2]["question_text"].startswith("工程师的服务态度:请按 1 到 5 评分")
    assert [t["outcome"] for t in survey["try_list"]] == ["answered"]
    assert survey["complaint_ticket_id"] is None  # 4 is above the low score
    ticket = desk.tickets.desk.get(tid).ticket
    assert ticket.status == "closed" and ticket.confirmed_by == "回访 / survey"
    (f,) = satisfaction(desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert figures_dict(f) == {"group": "all", "satisfaction": 0.8, "average_score": 4.0, "full_score": 5,
                               "sample": 1, "resolved": 1, "answered": 1, "response_rate": 1.0,
                               "within_24h": 1, "within_24h_share": 1.0, "unreachable": 0}
    desk.dispose()
