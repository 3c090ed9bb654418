"""What a survey cycle has to do, found with indexed queries whose cost follows the work, not the history:

- resolved tickets without a survey: a range of `ix_tickets_status_resolved_at`, incremental (only tickets
  resolved since the last full sweep, less a margin for transactions still in flight; a full sweep of the
  limit's window every `FULL_SWEEP` of desk time, after a restart, or when the clock went back);
- surveys of reopened tickets: the open tickets (a partial index, the desk's open load) that have a live survey;
- tries that reached nobody early (the outbox row failed or was cancelled): the survey tries' outbox rows that
  ended so (`ix_outbox_survey_ended`, a partial index bounded by the window a try can still be waited for).
  A try whose outcome is known otherwise (a voicemail) sets its survey's `wait_until` to now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, literal, or_, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.expression import BindParameter, ScalarSelect

from hotline.domain.surveys import LIVE, SurveyPolicy, SurveyStatus
from hotline.store.alerts import SURVEY_ENDED_SQL, OutboxRow
from hotline.store.base import UtcDateTime
from hotline.store.surveys import SurveyRow, SurveyTryRow
from hotline.store.tickets import OPEN_SQL, TicketRow

LIVE_SQL = [str(s) for s in LIVE]
Probe = Select[bool, bool, bool, bool, bool, bool, datetime | None, datetime | None, datetime | None]
FULL_SWEEP = timedelta(minutes=15)  # desk time between full sweeps for unsurveyed tickets
IN_FLIGHT = timedelta(minutes=5)  # a resolution committed this long after its resolved_at is still found


def is_(column: ColumnElement[str] | QueryableAttribute[str], *values: str) -> ColumnElement[bool]:
    """`column` is one of `values`, written into the SQL as literals (not bound parameters): a statement run
    often is prepared by psycopg, and PostgreSQL's generic plan must see which status it reads to use the
    status indexes."""
    lits = [literal(str(v), literal_execute=True) for v in values]
    return column == lits[0] if len(lits) == 1 else column.in_(lits)


@dataclass(frozen=True)
class Found:
    """What one read of the cycle found: which steps have work, and when the next work is due."""

    unsurveyed: bool  # resolved tickets to schedule
    reopened: bool  # surveys to cancel
    settle: bool  # tries whose outcome is known or whose wait is over
    place: bool  # tries due
    outcomes: bool  # answered surveys whose outcome is not applied
    next_try: datetime | None
    next_wait: datetime | None  # keypresses awaited, outcome retries

    @property
    def steps(self) -> tuple[bool, bool, bool, bool]:
        return self.unsurveyed, self.reopened, self.settle, self.place

    @property
    def any(self) -> bool:
        return any(self.steps) or self.outcomes


class SurveyWork:
    """The engine's queries, with the sweep state of the unsurveyed tickets (per engine: a restart sweeps).
    `read` asks everything an idle cycle needs in one statement (`probe`)."""

    def __init__(self, policy: SurveyPolicy) -> None:
        self.policy = policy
        self._swept_at: datetime | None = None  # desk time of the last full sweep that left nothing unsurveyed
        self._probes: dict[str, Probe] = {}

    def probe(self, dialect: str) -> Probe:
        """Everything an idle cycle asks, in one statement built once per database (bound times). On
        PostgreSQL the search window for unsurveyed tickets is written in as a literal: psycopg prepares a
        statement run often, and a generic plan that cannot see an empty window anti-joins every resolved
        ticket; the window moves once per full sweep, so the statement is still prepared and reused."""
        if dialect in self._probes:
            return self._probes[dialect]
        now: BindParameter[datetime] = bindparam("now")
        ended: BindParameter[datetime] = bindparam("ended_since")
        since = bindparam("since", type_=UtcDateTime(), literal_execute=dialect == "postgresql")

        def earliest(column: QueryableAttribute[datetime | None], *where: ColumnElement[bool]
                     ) -> ScalarSelect[datetime | None]:
            return select(func.min(column)).where(*where).scalar_subquery()

        probe: Probe = select(
            self.unsurveyed(since).exists(), self.reopened().exists(),
            exists().where(self.wait_over(now)), self.settled_now(ended).exists(),
            exists().where(is_(SurveyRow.status, SurveyStatus.SCHEDULED), SurveyRow.next_try_at <= now),
            exists().where(*self.outcome_due(now)),
            earliest(SurveyRow.next_try_at, is_(SurveyRow.status, SurveyStatus.SCHEDULED)),
            earliest(SurveyRow.wait_until, is_(SurveyRow.status, SurveyStatus.CALLING)),  # never ended
            earliest(SurveyRow.wait_until, is_(SurveyRow.status, SurveyStatus.ANSWERED),
                     SurveyRow.ended_at.is_(None)))
        self._probes[dialect] = probe
        return probe

    def read(self, s: Session, now: datetime) -> Found:
        """One read of the cycle's work (the sweep state follows it)."""
        since = self.unsurveyed_since(now)
        times = {"now": now, "since": since, "ended_since": self.ended_since(now)}
        row = s.execute(self.probe(s.get_bind().dialect.name), times).one()
        unsurveyed, reopened, wait_over, settled, place, outcomes, next_try, *waits = row
        self.swept(now, since, bool(unsurveyed))
        return Found(bool(unsurveyed), bool(reopened), bool(wait_over or settled), bool(place), bool(outcomes),
                     next_try, min((w for w in waits if w is not None), default=None))

    def unsurveyed_since(self, now: datetime) -> datetime:
        """Where the search for resolved tickets without a survey starts: the limit's window on a full sweep,
        else the last full sweep less the in-flight margin."""
        full = now - self.policy.limit
        swept = self._swept_at
        if swept is None or now < swept or now - swept >= FULL_SWEEP:
            return full
        return max(full, swept - IN_FLIGHT)

    def swept(self, now: datetime, since: datetime, found: bool) -> None:
        """Remember a full sweep that found nothing to schedule (an incremental one keeps the old mark)."""
        if since == now - self.policy.limit:
            self._swept_at = None if found else now

    @staticmethod
    def unsurveyed(since: datetime | ColumnElement[datetime]) -> Select[str]:
        """Resolved tickets (resolved at or after `since`) without a survey, or whose survey was cancelled
        before a later resolution."""
        survey = select(SurveyRow.ticket_id).where(SurveyRow.ticket_id == TicketRow.ticket_id,
                                                   or_(~is_(SurveyRow.status, SurveyStatus.CANCELLED),
                                                       SurveyRow.resolved_at >= TicketRow.resolved_at))
        return select(TicketRow.ticket_id).where(is_(TicketRow.status, "resolved"), TicketRow.resolved_at >= since,
                                                 ~survey.exists())

    @staticmethod
    def reopened() -> Select[str]:
        """Tickets open again whose survey is live (driven by the open tickets' partial index)."""
        live = select(SurveyRow.survey_id).where(SurveyRow.ticket_id == TicketRow.ticket_id,
                                                 is_(SurveyRow.status, *LIVE_SQL))
        return select(TicketRow.ticket_id).where(OPEN_SQL, live.exists())

    def ended_since(self, now: datetime) -> datetime:
        """The oldest outbox row a calling survey's try can have (older tries are settled by their wait)."""
        return now - self.policy.limit - max(self.policy.sms_wait, self.policy.answer_wait)

    @staticmethod
    def settled_now(since: datetime | ColumnElement[datetime]) -> Select[str]:
        """Outbox keys of calling surveys' current tries that failed or were cancelled (no call placed / not
        answered), from the survey rows of the outbox that ended so since `since`."""
        current = select(SurveyTryRow.id).join(SurveyRow, and_(
            SurveyTryRow.survey_id == SurveyRow.survey_id, SurveyTryRow.round == SurveyRow.round,
            SurveyTryRow.try_no == SurveyRow.tries)).where(SurveyTryRow.page_key == OutboxRow.key,
                                                          is_(SurveyRow.status, SurveyStatus.CALLING))
        return select(OutboxRow.key).where(SURVEY_ENDED_SQL, OutboxRow.created_at >= since, current.exists())

    @staticmethod
    def wait_over(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
        return and_(is_(SurveyRow.status, SurveyStatus.CALLING), SurveyRow.wait_until <= now)

    @staticmethod
    def outcome_due(now: datetime | ColumnElement[datetime]) -> tuple[ColumnElement[bool], ...]:
        """Answered surveys whose outcome is not applied yet (a failed attempt is retried after a pause)."""
        return (is_(SurveyRow.status, SurveyStatus.ANSWERED), SurveyRow.ended_at.is_(None),
                or_(SurveyRow.wait_until.is_(None), SurveyRow.wait_until <= now))
