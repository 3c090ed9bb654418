"""The outbox key and channel of a survey try: `S<survey>:r<round>t<try>:caller:survey_<way>`."""

from __future__ import annotations

from hotline.services.monitor.outbox import page_key

SURVEY_CHANNEL = "survey_{way}"  # survey_asterisk, survey_twilio, survey_sms
THANKS_CHANNEL = "survey_sms_thanks"  # the thank-you SMS after a reply through Aliyun
SUBJECT = "满意度回访 {ticket} / Satisfaction survey {ticket}"  # a try's outbox subject (not sent)


def survey_subject(ticket_id: str) -> str:
    return SUBJECT.format(ticket=ticket_id)


def ticket_of_subject(subject: str) -> str | None:
    """The ticket number of a subject made by `survey_subject`, else None."""
    head, _, rest = subject.partition(" ")
    ticket = rest.partition(" ")[0]
    return ticket if head == SUBJECT.partition(" ")[0] and ticket else None


def try_key(survey_id: int, round_no: int, try_no: int, way: str) -> str:
    return page_key(f"S{survey_id}", f"r{round_no}t{try_no}", "caller", SURVEY_CHANNEL.format(way=way))


def survey_of_key(key: str) -> tuple[int, int, int] | None:
    """(survey, round, try) of an outbox key made by `try_key`, else None."""
    head, _, rest = key.partition(":")
    step = rest.partition(":")[0]
    if not head.startswith("S") or not step.startswith("r") or "t" not in step:
        return None
    try:
        r, t = step[1:].split("t", 1)
        return int(head[1:]), int(r), int(t)
    except ValueError:
        return None
