"""The hotline script's complaint option (投诉请按 8): on Twilio the digit sets the specialty `complaint` (the
call ledger's specialty, which opens a complaint ticket) and says the 1-hour promise before the on-duty
first line; the Asterisk dialplan sets HOTLINE_SPECIALTY=complaint, which the AMI VarSet tells the ledger;
after hours the remote menu offers it too. The shipped script lints clean with the shipped config."""

from __future__ import annotations

from pathlib import Path

from hotline.config import load_settings
from hotline.ivr.dialplan import render_dialplan
from hotline.ivr.lint import lint
from tests.unit.test_ivr_lint import make_context
from tests.unit.test_ivr_twiml import ROOT, Call, says, script


def test_twilio_caller_pressing_8_is_a_complaint_told_the_one_hour_promise(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path))
    r = call.post()
    gather = r.find("Gather")
    assert gather is not None and "投诉请按 8" in (gather[0].text or "")
    r = call.post(gather.attrib["action"], Digits="8")
    assert call.variables["specialty"] == "complaint" and call.variables["menu"] == "8"
    assert says(r)[0] == "我们非常重视您的意见,正在为您转接值班工程师登记投诉,我们将在 1 小时内给您答复。"
    dial = r.find("Dial")
    assert dial is not None and dial.text == "+8613800000001"  # the first line on duty records it
    assert call.variables["tier"] == "first_line"


def test_after_hours_the_remote_menu_offers_the_complaint_option(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path), window="remote")
    r = call.post()
    gather = r.find("Gather")
    assert gather is not None and "投诉请按 8" in (gather[0].text or "")
    call.post(gather.attrib["action"], Digits="8")
    assert call.variables["specialty"] == "complaint"


def test_asterisk_dialplan_sets_the_complaint_specialty_on_the_caller_channel() -> None:
    conf = render_dialplan(script(), make_context(Path("/nonexistent"))).extensions_conf
    menu = conf.split("[hotline-default-main_menu]", 1)[1].split("\n[", 1)[0]
    assert ("exten => 8,1,Set(HOTLINE_SPECIALTY=complaint)\n same => n,Set(HOTLINE_MENU=8)\n"
            " same => n,Goto(hotline-default-complaint,s,1)") in menu
    assert "[hotline-default-complaint]\nexten => s,1,Playback(hotline/default-complaint&" in conf


def test_the_shipped_script_knows_the_complaint_specialty_of_the_shipped_config() -> None:
    from hotline.cli.ivr import ivr_context

    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    assert settings.specialties["complaint"].name_zh == "投诉"
    problems = [i for i in lint(script(), ivr_context(settings)) if "specialty" in i.code]
    assert problems == []
