"""Satisfaction callbacks (回访): the survey policy, when each try may be placed (calling hours, holidays,
the 24 h limit, spacing), the questions and how keypad digits become answers, and the outcome of an answer
(not solved: reopen; a low score: a complaint follow-up). Pure: times, calendars and randomness are arguments.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DESK_TZ = ZoneInfo("Asia/Shanghai")  # the default; the config passes the desk's own


class SurveyStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its next try
    CALLING = "calling"  # a try is out (call placed or SMS sent), waiting for the answers
    ANSWERED = "answered"  # the caller answered (by phone, SMS or to staff)
    UNREACHABLE = "unreachable"  # every try went unanswered, or no try fitted in the 24 h
    CANCELLED = "cancelled"  # the ticket was reopened before the survey, or cancelled by hand
    SKIPPED = "skipped"  # not asked: do-not-call list, not sampled, no number to call


LIVE = frozenset({SurveyStatus.SCHEDULED, SurveyStatus.CALLING})
STATUS_ZH = {SurveyStatus.SCHEDULED: "待回访", SurveyStatus.CALLING: "回访中", SurveyStatus.ANSWERED: "已回访",
             SurveyStatus.UNREACHABLE: "未联系上", SurveyStatus.CANCELLED: "已取消", SurveyStatus.SKIPPED: "不回访"}


class Way(StrEnum):
    """How a survey asks: a call through our PBX, a Twilio call, an SMS with a digit reply, or staff by hand."""

    ASTERISK = "asterisk"
    TWILIO = "twilio"
    SMS = "sms"
    MANUAL = "manual"


WAY_ZH = {Way.ASTERISK: "电话回访", Way.TWILIO: "电话回访 (Twilio)", Way.SMS: "短信回访", Way.MANUAL: "人工回访"}


class SurveyError(ValueError):
    """An answer or a change the survey does not allow; the message says why, Chinese first."""


@dataclass(frozen=True)
class Question:
    key: str  # solved, overall, response, resolution, attitude, skill, communication
    zh: str
    en: str
    kind: str = "score"  # yes_no (1 yes, 2 no) | score (1..full score)
    required: bool = True

    @property
    def text(self) -> str:
        """The text stored with every answer (surveys change over time)."""
        return f"{self.zh} / {self.en}"


# The questions of the regulations: 问题是否已解决, then overall satisfaction, then optional scores.
QUESTIONS: tuple[Question, ...] = (
    Question("solved", "您反映的问题是否已解决？已解决请按 1，未解决请按 2", "Was your problem solved? 1 yes, 2 no",
             "yes_no"),
    Question("overall", "请为本次服务的总体满意度打分（1-5 分）", "Overall satisfaction (1-5)"),
    Question("response", "响应及时", "Timely response", required=False),
    Question("resolution", "解决及时", "Timely resolution", required=False),
    Question("attitude", "服务态度", "Service attitude", required=False),
    Question("skill", "专业能力", "Professional skill", required=False),
    Question("communication", "沟通表达", "Communication", required=False),
)
QUESTION_KEYS = {q.key for q in QUESTIONS}
# The short name of each question where a person reads the answers (the CLI, the ticket page).
QUESTION_LABELS = {"solved": "问题是否已解决 solved", "overall": "总体满意度 overall", "response": "响应及时 response",
                   "resolution": "解决及时 resolution", "attitude": "服务态度 attitude", "skill": "专业能力 skill",
                   "communication": "沟通表达 communication"}
_YES_NO = {q.key for q in QUESTIONS if q.kind == "yes_no"}


def answer_text(question: str, value: int) -> str:
    """A stored answer as a person reads it: 是 yes / 否 no for a yes/no question (stored 1 / 0), else the
    score itself."""
    if question in _YES_NO:
        return "是 yes" if value == 1 else "否 no"
    return str(value)


@dataclass(frozen=True)
class SurveyPolicy:
    """The `[surveys]` section: when, how often and whom to ask, and what an answer means."""

    delay: timedelta = timedelta(minutes=30)  # after resolution, before the first try
    limit: timedelta = timedelta(hours=24)  # every resolved ticket is surveyed within this
    calling_start: time = time(9, 0)  # desk time
    calling_end: time = time(20, 0)
    call_on_holidays: bool = False  # statutory holidays of the calendar: no calls unless true
    attempts: int = 3
    spacing: timedelta = timedelta(hours=2)
    answer_wait: timedelta = timedelta(minutes=10)  # a placed call's keypresses arrive within this
    sms_wait: timedelta = timedelta(hours=2)  # an SMS reply is awaited this long before the next try
    sampling: float = 1.0  # share of resolved tickets surveyed (the regulations: every one)
    do_not_call: frozenset[str] = frozenset()  # number keys ('+8613800138000') never called
    full_score: int = 5
    low_score: int = 2  # at or below: a complaint follow-up for the manager
    way: Way = Way.ASTERISK
    questions: tuple[Question, ...] = QUESTIONS[:2]  # asked on the phone and by SMS (any question by hand)
    tz: ZoneInfo = DESK_TZ

    def wait_for(self, way: Way) -> timedelta:
        return self.sms_wait if way is Way.SMS else self.answer_wait


def sampled(ticket_id: str, rate: float) -> bool:
    """Whether a ticket is in the sample: a stable hash of its id below `rate` (the same answer every run)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(ticket_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def calling_slot(at: datetime, policy: SurveyPolicy, is_holiday: Callable[[date], bool],
                 deadline: datetime) -> datetime | None:
    """The first moment at or after `at` inside calling hours (holidays skipped unless allowed) and before
    `deadline`; None when no such moment exists."""
    local = at.astimezone(policy.tz)
    day = local.date()
    while True:
        start = datetime.combine(day, policy.calling_start, policy.tz)
        end = datetime.combine(day, policy.calling_end, policy.tz)
        if start >= deadline:
            return None
        if policy.call_on_holidays or not is_holiday(day):
            slot = max(start, at)
            if slot < end and slot < deadline:
                return slot
        day += timedelta(days=1)


def first_try(resolved_at: datetime, policy: SurveyPolicy, is_holiday: Callable[[date], bool]) -> datetime | None:
    """When the first try goes out: the delay after resolution, moved into calling hours, within the limit."""
    return calling_slot(resolved_at + policy.delay, policy, is_holiday, resolved_at + policy.limit)


def next_try(last_try: datetime, tries: int, resolved_at: datetime, policy: SurveyPolicy,
             is_holiday: Callable[[date], bool]) -> datetime | None:
    """The next try after `tries` unanswered ones (None: no tries left, or none fits before the limit)."""
    if tries >= policy.attempts:
        return None
    return calling_slot(last_try + policy.spacing, policy, is_holiday, resolved_at + policy.limit)


@dataclass(frozen=True)
class Answer:
    question: Question
    value: int  # yes_no: 1 yes, 0 no; score: 1..full score


def answer(question: Question, digit: str | int, full_score: int) -> Answer:
    """One keypad digit as the answer to `question`; yes/no takes 1 (yes) and 2 (or 0: no)."""
    text = str(digit).strip()
    if not text.isdigit():
        raise SurveyError(f"{question.zh}：无效的按键 {text!r} / {question.en}: not a digit {text!r}")
    value = int(text)
    if question.kind == "yes_no":
        if value not in (0, 1, 2):
            raise SurveyError(f"{question.zh}：请按 1 或 2 / {question.en}: 1 (yes) or 2 (no), got {value}")
        return Answer(question, 1 if value == 1 else 0)
    if not 1 <= value <= full_score:
        raise SurveyError(f"{question.zh}：分数应为 1-{full_score} / {question.en}: a score from 1 to "
                          f"{full_score}, got {value}")
    return Answer(question, value)


_DIGITS = re.compile(r"\d")


def sms_answers(text: str, questions: Sequence[Question], full_score: int) -> list[Answer]:
    """An SMS reply ('1 5', '15', '1，5') as answers to `questions` in order; every required one needed."""
    digits = _DIGITS.findall(text)
    required = [q for q in questions if q.required]
    if len(digits) < len(required):
        raise SurveyError(f"回复应包含 {len(required)} 个数字，例如“1 5” / the reply needs {len(required)} digits, "
                          f"e.g. '1 5'")
    return [answer(q, d, full_score) for q, d in zip(questions, digits, strict=False)]


def by_key(answers: Mapping[str, str | int], full_score: int,
           questions: Sequence[Question] = QUESTIONS) -> list[Answer]:
    """Answers given by question key (staff by hand, the API, the IVR's variables); unknown keys refused."""
    known = {q.key: q for q in questions}
    out = []
    for key, value in answers.items():
        q = known.get(key)
        if q is None:
            raise SurveyError(f"没有此问题 {key!r} / unknown question {key!r} (known: {', '.join(known)})")
        out.append(answer(q, value, full_score))
    return out


@dataclass(frozen=True)
class Outcome:
    """What an answered survey means for the ticket."""

    solved: bool | None
    score: int | None
    reopen: bool  # not solved: the ticket is reopened and its assignee paged
    complaint: bool  # a score at or below the low score: a complaint follow-up for the manager
    confirm: bool  # solved: the caller confirmed, the ticket closes


def outcome(answers: Sequence[Answer], policy: SurveyPolicy) -> Outcome:
    values = {a.question.key: a.value for a in answers}
    solved = None if "solved" not in values else values["solved"] == 1
    score = values.get("overall")
    return Outcome(solved, score, reopen=solved is False,
                   complaint=score is not None and score <= policy.low_score, confirm=solved is True)


def complete(answers: Sequence[Answer], policy: SurveyPolicy, every: bool = False) -> bool:
    """Every required question asked on the phone / by SMS has its answer (`every`: the optional ones asked
    too, so a call is not over after the required ones)."""
    have = {a.question.key for a in answers}
    return all(q.key in have for q in policy.questions if q.required or every)


@dataclass(frozen=True)
class Figures:
    """Satisfaction of a group of resolved tickets: never a score without its sample size."""

    group: str
    resolved: int = 0  # resolved tickets (the response rate's denominator)
    answered: int = 0
    scores: tuple[int, ...] = field(default_factory=tuple)
    within_24h: int = 0  # answered within the limit after resolution
    unreachable: int = 0
    full_score: int = 5

    @property
    def sample(self) -> int:
        return len(self.scores)

    @property
    def average(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def satisfaction(self) -> float | None:
        """Average score / full score (0..1)."""
        avg = self.average
        return None if avg is None else avg / self.full_score

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.resolved if self.resolved else None

    @property
    def within_24h_share(self) -> float | None:
        return self.within_24h / self.resolved if self.resolved else None
