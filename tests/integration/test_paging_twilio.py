"""Twilio SMS and voice through the `twilio` client, pointed at a local fake of Twilio's REST API."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from hotline.paging.secret import Secret
from hotline.paging.twilio_channels import TwilioSmsChannel, TwilioVoiceChannel, make_client
from tests.integration.paging_fakes import (  # noqa: F401
    FakeServer,
    Recorded,
    Reply,
    Responder,
    fake_server_fixture,
    json_reply,
    sample_page,
)

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-7f3"
Start = Callable[[Responder], FakeServer]


def twilio_api(status: int = 201) -> Responder:
    """POST /2010-04-01/Accounts/{sid}/Messages.json and Calls.json with basic auth, like Twilio."""
    def respond(req: Recorded) -> Reply:
        good_auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if req.headers.get("authorization") != good_auth:
            return json_reply({"code": 20003, "message": "Authenticate", "status": 401,
                               "more_info": "https://www.twilio.com/docs/errors/20003"}, 401)
        match = re.fullmatch(rf"/2010-04-01/Accounts/{SID}/(Messages|Calls)\.json", req.path)
        if req.method != "POST" or match is None:
            return json_reply({"code": 20404, "message": "not found", "status": 404}, 404)
        if req.headers.get("content-type") != "application/x-www-form-urlencoded":
            return json_reply({"code": 21601, "message": "bad content type", "status": 400}, 400)
        if status != 201:
            return json_reply({"code": 20500, "message": "Internal Server Error", "status": status}, status)
        form = {k: v[0] for k, v in req.form.items()}
        prefix = "SM" if match.group(1) == "Messages" else "CA"
        return json_reply({"sid": prefix + "f" * 32, "account_sid": SID, "to": form["To"], "from": form.get("From"),
                           "status": "queued", "api_version": "2010-04-01",
                           "uri": f"/2010-04-01/Accounts/{SID}/{match.group(1)}/{prefix}{'f' * 32}.json"}, 201)
    return respond


async def test_sms_goes_through_the_twilio_client(fake_server: Start) -> None:
    server = fake_server(twilio_api())
    client = make_client(SID, Secret(TOKEN), api_base_url=server.url)
    page = sample_page()
    result = await TwilioSmsChannel(client, from_number="+15005550006").send(page)
    assert result.ok and result.provider_id == "SM" + "f" * 32, result
    (req,) = server.requests
    assert req.form == {"To": ["+8613800138000"], "From": ["+15005550006"], "Body": [page.text]}
    assert req.headers["user-agent"].startswith("twilio-python/")


async def test_voice_call_reads_mandarin_prompt_and_gathers_one_digit(fake_server: Start) -> None:
    server = fake_server(twilio_api())
    client = make_client(SID, Secret(TOKEN), api_base_url=server.url)
    voice = TwilioVoiceChannel(client, from_number="+15005550006",
                               ack_action_url="https://hotline.example.com/twilio/page-ack")
    result = await voice.send(sample_page())
    assert result.ok and result.provider_id == "CA" + "f" * 32, result
    form = {k: v[0] for k, v in server.requests[0].form.items()}
    assert (form["To"], form["From"], form["Timeout"]) == ("+8613800138000", "+15005550006", "30")
    twiml = ET.fromstring(form["Twiml"])
    gathers = twiml.findall("Gather")
    assert len(gathers) == 2
    assert gathers[0].attrib == {
        "numDigits": "1", "timeout": "8", "method": "POST",
        "action": "https://hotline.example.com/twilio/page-ack?page=alert-42%2Fstep-1%2Fwangli&alert=42&code=7291"}
    say = gathers[0].find("Say")
    assert say is not None and say.attrib == {"voice": "Polly.Zhiyu", "language": "cmn-CN"}
    assert say.text is not None and "热线有未接来电" in say.text and "按 1" in say.text
    assert "0 2 1 1 2 3 4 5 6 7 8" in say.text  # the caller's number is read digit by digit


async def test_wrong_token_is_a_final_failure_without_the_token(fake_server: Start) -> None:
    server = fake_server(twilio_api())
    client = make_client(SID, Secret("bad-token"), api_base_url=server.url)
    result = await TwilioSmsChannel(client, from_number="+15005550006").send(sample_page())
    assert not result.ok and not result.retryable
    assert "401" in (result.error or "") and "bad-token" not in (result.error or "")


async def test_twilio_server_error_is_retryable(fake_server: Start) -> None:
    server = fake_server(twilio_api(status=503))
    client = make_client(SID, Secret(TOKEN), api_base_url=server.url)
    result = await TwilioVoiceChannel(client, from_number="+15005550006").send(sample_page())
    assert not result.ok and result.retryable
