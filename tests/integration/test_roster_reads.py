"""Each roster notice reads the roster once (issue 10): every roster table is queried at most once per post,
and a whole run of the notices (reminders, handovers, holes, the 今日值班 post, the managers' page) reads it
once in all. Counted on the SQL the database is sent (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, event

from hotline.domain.roster import Tier
from hotline.paging.dispatcher import Dispatcher
from hotline.services.monitor.outbox import Outbox
from hotline.services.roster import notices
from hotline.services.roster.jobs import RosterJobs
from hotline.services.roster.service import RosterService
from tests.integration.test_roster_jobs import CHANNELS, RecordingChannel, no_sleep

ROSTER_TABLES = ("roster_people", "roster_rotations", "roster_shifts", "roster_overrides", "roster_calendar",
                 "roster_calendar_years")


@contextmanager
def reads(engine: Engine) -> Iterator[Counter[str]]:
    """How many SELECTs each roster table got while inside."""
    counted: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            for table in set(re.findall(r"\bFROM\s+\"?(\w+)", statement, re.IGNORECASE)):
                if table in ROSTER_TABLES:
                    counted[table] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", count)


def engine_of(service: RosterService) -> Engine:
    bind = service.factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def test_each_post_reads_the_roster_once(roster_desk: Callable[[str], RosterService]) -> None:
    desk = roster_desk("2026-11-23 07:50")
    desk.add_override(Tier.FIRST_LINE, at(desk, "08:00"), at(desk, "09:00"), "王芳", None, "堵车 / stuck in traffic",
                      "周强")  # a hole at 08:00
    posts: dict[str, Callable[[], object]] = {
        "today": lambda: notices.today_post(desk, date(2026, 11, 23)),
        "managers": lambda: notices.manager_warnings(desk, date(2026, 6, 15)),
        "reminders": lambda: notices.shift_reminders(desk, at(desk, "08:30"), at(desk, "08:50")),
        "handovers": lambda: notices.shift_end_reminders(desk, at(desk, "07:00"), at(desk, "07:50"), []),
        "holes": lambda: notices.hole_pages(desk, at(desk, "07:50"), at(desk, "08:00")),
    }
    for name, post in posts.items():
        with reads(engine_of(desk)) as counted:
            assert post(), name  # each has something to say
        # before: 17-21 statements per post (people 3 times, the calendar 4-5 times, the shifts twice)
        assert set(counted) <= set(ROSTER_TABLES) and max(counted.values()) == 1, (name, counted)
        assert counted["roster_rotations"] == counted["roster_calendar"] == 1, (name, counted)


def test_a_whole_run_of_the_notices_reads_the_roster_once(roster_desk: Callable[[str], RosterService]) -> None:
    desk = roster_desk("2026-11-23 09:00")
    sent: list[Any] = []
    dispatcher = Dispatcher({n: RecordingChannel(n, sent) for n in CHANNELS}, ("sms",), sleep=no_sleep)
    jobs = RosterJobs(desk, Outbox(desk.factory, desk.clock), dispatcher, post_channel="wecom")
    with reads(engine_of(desk)) as counted:
        queued = jobs.queue_due(desk.clock.now())  # 09:00: the post and the managers' page are due
    keys = [p.key for p in queued]
    assert "roster-today:2026-11-23" in keys and "roster-warning:2026-11-23:周强" in keys
    assert dict(counted) == dict.fromkeys(ROSTER_TABLES, 1)


def at(desk: RosterService, hm: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-23T{hm}").replace(tzinfo=desk.tz)
