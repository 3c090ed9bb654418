"""Twilio rendering: valid TwiML verbs and attributes, the expected rendering of default.yaml, and a whole
call driven through simulated webhook requests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from hotline.ivr.context import IvrContext
from hotline.ivr.loader import load_script
from hotline.ivr.model import Script
from hotline.ivr.survey_script import asked_script, question_prompts
from hotline.ivr.twiml import Step, render_twiml, respond, step
from hotline.ivr.wav import write_silence
from tests.unit.test_ivr_lint import make_context

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "fixtures" / "ivr" / "expected"
ON_DUTY = {"first_line": "+8613800000001", "second_line": "+8613800000002"}

# Twilio's <Response> verbs, their attributes and allowed children (www.twilio.com/docs/voice/twiml).
VERBS: dict[str, tuple[set[str], set[str]]] = {
    "Response": (set(), {"Say", "Play", "Gather", "Enqueue", "Dial", "Redirect", "Hangup", "Record", "Pause",
                         "Leave"}),
    "Say": ({"voice", "language", "loop"}, set()),
    "Play": ({"loop", "digits"}, set()),
    "Pause": ({"length"}, set()),
    "Gather": ({"action", "method", "input", "numDigits", "timeout", "finishOnKey", "speechTimeout",
                "actionOnEmptyResult", "language", "hints"}, {"Say", "Play", "Pause"}),
    "Enqueue": ({"action", "method", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"}, set()),
    "Dial": ({"action", "method", "timeout", "callerId", "record", "timeLimit", "answerOnBridge", "hangupOnStar",
              "ringTone"}, {"Number", "Client", "Queue", "Sip"}),
    "Number": ({"sendDigits", "url", "method"}, set()),
    "Redirect": ({"method"}, set()),
    "Record": ({"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim",
                "recordingStatusCallback"}, set()),
    "Hangup": (set(), set()),
    "Leave": (set(), set()),
}
NEEDS_TEXT = {"Say", "Play", "Enqueue", "Redirect", "Number"}


def check_twiml(twiml: str) -> ET.Element:
    """Parse TwiML and check every verb, attribute and nesting against Twilio's vocabulary."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response"

    def walk(el: ET.Element) -> None:
        attrs, children = VERBS[el.tag]
        assert set(el.attrib) <= attrs, f"{el.tag} has unknown attributes {set(el.attrib) - attrs}"
        if el.tag in NEEDS_TEXT:
            assert (el.text or "").strip(), f"{el.tag} without content"
        if "method" in el.attrib:
            assert el.attrib["method"] in ("GET", "POST")
        for key in ("timeout", "numDigits", "length", "maxLength"):
            if key in el.attrib:
                assert int(el.attrib[key]) > 0
        for child in el:
            assert child.tag in children, f"<{child.tag}> not allowed in <{el.tag}>"
            walk(child)

    walk(root)
    return root


def script(name: str = "default", asked: Sequence[str] = ("solved", "overall")) -> Script:
    """A shipped script as served; the survey asks `asked` (the shipped config: no sub-scores)."""
    loaded = load_script(ROOT / "ivr_scripts" / f"{name}.yaml")
    return asked_script(loaded, asked) if name == "survey" else loaded


@pytest.mark.parametrize("name", ["default", "survey"])
@pytest.mark.parametrize("window", ["onsite", "remote", "holiday"])
def test_every_node_renders_valid_twiml(name: str, window: str, tmp_path: Path) -> None:
    for node_id, twiml in render_twiml(script(name), make_context(tmp_path), window, ON_DUTY).items():
        assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?>'), node_id
        check_twiml(twiml)


@pytest.mark.parametrize("name", ["default", "survey"])
def test_rendering_matches_expected_file(name: str) -> None:
    got = render_twiml(script(name), make_context(Path("/nonexistent")), "onsite", ON_DUTY)
    assert got == json.loads((EXPECTED / f"{name}.twiml.json").read_text(encoding="utf-8"))


class Call:
    """Simulates Twilio posting webhook requests for one call, following the URLs in our TwiML."""

    def __init__(self, s: Script, ctx: IvrContext, window: str = "onsite",
                 on_duty: dict[str, str] | None = None) -> None:
        self.script, self.ctx, self.window = s, ctx, window
        self.on_duty = ON_DUTY if on_duty is None else on_duty
        self.form = {"CallSid": "CA0123456789abcdef0123456789abcdef", "AccountSid": "AC0123",
                     "From": "+8613911112222", "To": "+864008001234", "Direction": "inbound"}
        self.variables: dict[str, str] = {}

    def post(self, url: str | None = None, **form: str) -> ET.Element:
        query: dict[str, str] = {}
        if url is not None:
            parts = urlsplit(url)
            assert parts.path == f"/twilio/ivr/{self.script.name}"
            query = dict(parse_qsl(parts.query))
        result: Step = step(self.script, query.get("node"), {**self.form, "CallStatus": "in-progress", **form,
                                                              **query}, self.window, self.ctx, self.on_duty)
        self.variables.update(result.variables)
        return check_twiml(result.twiml)


def says(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter("Say")]


def test_whole_call_greeting_wrong_digit_retry_digit_2_queue(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path))
    # 1. Twilio posts the incoming call: greeting, then the menu inside <Gather>.
    r = call.post()
    assert says(r)[0] == "您好,华信科技,请问有什么可以帮助您?"
    assert r[0].tag == "Say" and r[0].attrib == {"voice": "Polly.Zhiyu", "language": "cmn-CN"}
    assert r[1].attrib["language"] == "en-US"  # the English variant follows the Chinese
    gather = r.find("Gather")
    assert gather is not None
    assert gather.attrib["numDigits"] == "1" and gather.attrib["input"] == "dtmf"
    assert "网络问题请按 1" in (gather[0].text or "")
    # 2. The caller presses 7: not an option, told so, and asked again.
    r = call.post(gather.attrib["action"], Digits="7")
    assert says(r)[0] == "对不起,您的输入有误,请重新选择。"
    retry = r.find("Gather")
    assert retry is not None and "tries=1" in retry.attrib["action"]
    assert "specialty" not in call.variables
    # 3. On the retry the caller presses 2 (servers): the wait message, then the servers queue.
    r = call.post(retry.attrib["action"], Digits="2")
    assert call.variables == {"specialty": "servers", "menu": "2", "queue": "servers"}
    assert says(r)[0] == "请您稍等片刻,正在为您转接工程师。"
    enqueue = r.find("Enqueue")
    assert enqueue is not None and enqueue.text == "servers"
    assert enqueue.attrib["waitUrlMethod"] == "POST"
    # 4. While waiting: silence first, then 对不起,请您再稍等片刻, then leave the queue at max_wait.
    r = call.post(enqueue.attrib["waitUrl"], QueueTime="0", QueuePosition="1")
    assert [el.tag for el in r] == ["Pause"] and r[0].attrib["length"] == "60"
    r = call.post(enqueue.attrib["waitUrl"], QueueTime="61", QueuePosition="1")
    assert says(r)[0] == "对不起,请您再稍等片刻。"
    assert r.find("Pause") is not None
    r = call.post(enqueue.attrib["waitUrl"], QueueTime="600", QueuePosition="1")
    assert [el.tag for el in r] == ["Leave"]
    # 5. Left without answer: escalation to the second-line person on duty.
    r = call.post(enqueue.attrib["action"], QueueResult="leave", QueueTime="600")
    dial = r.find("Dial")
    assert dial is not None and dial.text == "+8613800000002" and dial.attrib["timeout"] == "30"
    assert call.variables["tier"] == "second_line"
    # 6. Nobody answers: a callback request and the closing.
    r = call.post(dial.attrib["action"], DialCallStatus="no-answer")
    assert call.variables["callback"] == "requested"
    assert says(r)[-2:] == ["感谢您的来电,再见!", "Thank you for calling. Goodbye!"]
    assert r[-1].tag == "Hangup"


def test_answered_queue_call_hangs_up(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path))
    r = call.post("/twilio/ivr/default?node=network_queue&event=queue_done", QueueResult="bridged")
    assert [el.tag for el in r] == ["Hangup"]


def test_silence_three_times_goes_to_the_first_line_on_duty(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path))
    r = call.post()
    for expected_tries in ("1", "2"):
        redirect = r.find("Redirect")
        assert redirect is not None and redirect.text
        r = call.post(redirect.text)
        assert says(r)[0] == "对不起,我们没有收到您的选择。"
        gather = r.find("Gather")
        assert gather is not None and f"tries={expected_tries}" in gather.attrib["action"]
    redirect = r.find("Redirect")
    assert redirect is not None and redirect.text
    r = call.post(redirect.text)
    dial = r.find("Dial")
    assert dial is not None and dial.text == "+8613800000001"
    assert "specialty" not in call.variables


def test_holiday_without_anyone_on_duty_takes_a_voicemail(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path), window="holiday", on_duty={})
    r = call.post()
    assert says(r)[0] == "您好,华信科技。现在是节假日,远程值班工程师将为您服务。"
    gather = r.find("Gather")
    assert gather is not None
    r = call.post(gather.attrib["action"], Digits="1")
    assert call.variables["specialty"] == "network"
    record = r.find("Record")
    assert record is not None and record.attrib["maxLength"] == "120"
    assert says(r)[0].startswith("对不起,值班工程师暂时无法接听")
    r = call.post(record.attrib["action"], RecordingUrl="https://api.twilio.com/rec/RE1")
    assert says(r)[0] == "感谢您的来电,再见!" and r[-1].tag == "Hangup"


def test_after_hours_dials_the_remote_on_duty_engineer(tmp_path: Path) -> None:
    call = Call(script(), make_context(tmp_path), window="remote")
    r = call.post()
    assert says(r)[0].startswith("您好,华信科技。现在是非工作时间")
    gather = r.find("Gather")
    assert gather is not None
    r = call.post(gather.attrib["action"], Digits="3")
    dial = r.find("Dial")
    assert dial is not None and dial.text == "+8613800000001"
    assert call.variables["specialty"] == "applications"


def test_survey_records_solved_and_the_score(tmp_path: Path) -> None:
    call = Call(script("survey"), make_context(tmp_path))
    r = call.post()
    gather = r.find("Gather")
    assert gather is not None
    r = call.post(gather.attrib["action"], Digits="1")  # 问题是否已解决: yes
    assert call.variables["survey_solved"] == "1"
    gather = r.find("Gather")
    assert gather is not None
    r = call.post(gather.attrib["action"], Digits="4")
    assert call.variables["survey_score"] == "4"
    assert says(r)[0] == "感谢您的评价,祝您工作顺利,再见!" and r[-1].tag == "Hangup"


def test_survey_asks_the_enabled_sub_scores_in_order_and_skips_a_missed_one(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    served = script("survey", ("solved", "overall", "resolution", "communication"))
    assert {"resolution", "communication"} <= set(served.nodes) and "attitude" not in served.nodes
    call = Call(served, ctx)
    r = call.post()
    for digit, asked in (("1", "请为本次服务评分"), ("5", "问题解决是否及时"), ("3", "工程师的沟通表达")):
        gather = r.find("Gather")
        assert gather is not None
        r = call.post(gather.attrib["action"], Digits=digit)
        assert says(r)[0].startswith(asked), says(r)
    gather = r.find("Gather")
    assert gather is not None
    r = call.post(gather.attrib["action"], Digits="4")
    assert (call.variables["survey_resolution"], call.variables["survey_communication"]) == ("3", "4")
    assert says(r)[0] == "感谢您的评价,祝您工作顺利,再见!" and r[-1].tag == "Hangup"
    prompts = question_prompts(served, ctx)  # stored with the answers: exactly what was said
    assert set(prompts) == {"solved", "overall", "resolution", "communication"}
    assert prompts["communication"] == ("工程师的沟通表达:请按 1 到 5 评分,5 分最满意。 / The engineer's "
                                        "communication: press 1 to 5, 5 is the best.")


def test_recorded_prompt_is_played_when_a_sounds_url_is_set(tmp_path: Path) -> None:
    write_silence(tmp_path / "default-greeting.wav")
    ctx = make_context(tmp_path, ivr={"sounds_url": "https://cdn.example.com/ivr/"})
    r = ET.fromstring(respond(script(), None, {}, "onsite", ctx))
    assert r[0].tag == "Play" and r[0].text == "https://cdn.example.com/ivr/default-greeting.wav"
    assert r[1].tag == "Say" and r[1].attrib["language"] == "en-US"  # no English recording: spoken


def test_unknown_node_starts_the_script_again(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    stale = respond(script(), "no_such_node", {"event": "gather", "Digits": "1"}, "onsite", ctx)
    assert stale == respond(script(), None, {}, "onsite", ctx)
