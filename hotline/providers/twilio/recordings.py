"""Twilio's Recording resource: deleting a recording's audio (`DELETE /2010-04-01/Accounts/{sid}/Recordings/
{RecordingSid}.json`), for the retention of recordings and a person's erasure. A recording Twilio no longer
has (404) counts as deleted."""

from __future__ import annotations

from hotline.providers.twilio.rest_client import TWILIO_API_BASE_URL, rest_client


class RecordingNotDeleted(RuntimeError):
    """Twilio refused or could not be reached; the message holds no secret."""


class RestRecordings:
    def __init__(self, account_sid: str, auth_token: str, *, api_base_url: str = TWILIO_API_BASE_URL,
                 timeout: float = 10.0) -> None:
        self._client = rest_client(account_sid, auth_token, api_base_url=api_base_url, timeout=timeout)

    def delete(self, recording_sid: str) -> None:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            self._client.recordings(recording_sid).delete()
        except TwilioRestException as e:
            if e.status == 404:
                return  # already gone
            raise RecordingNotDeleted(f"Twilio 拒绝删除录音 {recording_sid} / Twilio refused to delete recording "
                                      f"{recording_sid}: HTTP {e.status} code {e.code}") from None
        except (TwilioException, OSError) as e:
            raise RecordingNotDeleted(f"无法连接 Twilio / Twilio could not be reached to delete recording "
                                      f"{recording_sid} ({type(e).__name__})") from None
