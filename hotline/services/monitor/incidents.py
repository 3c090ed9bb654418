"""Major incidents: declaring one pages the maintenance lead at once (the `kind: incident` rule) and
tracks the 30-minute report deadline as an alert; recording the report clears it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.domain.alerts import AlertKind
from hotline.services.monitor.engine import AlertNotFound, MonitorService
from hotline.store.alerts import AlertRow, IncidentRow, row_is_active
from hotline.store.base import unit_of_work


@dataclass(frozen=True)
class Incident:
    incident_id: str
    alert_id: str
    title: str
    description: str | None
    specialty: str | None
    declared_by: str
    declared_at: datetime
    report_deadline_at: datetime
    reported_at: datetime | None
    reported_by: str | None
    breached: bool

    def as_dict(self, tz: ZoneInfo) -> dict[str, object]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.astimezone(tz).isoformat()

        return {"incident_id": self.incident_id, "alert_id": self.alert_id, "title": self.title,
                "description": self.description, "specialty": self.specialty, "declared_by": self.declared_by,
                "declared_at": iso(self.declared_at), "report_deadline_at": iso(self.report_deadline_at),
                "reported_at": iso(self.reported_at), "reported_by": self.reported_by, "breached": self.breached}


def _incident(row: IncidentRow, alert: AlertRow) -> Incident:
    return Incident(row.incident_id, row.alert_id, row.title, row.description, row.specialty, row.declared_by,
                    row.declared_at, row.report_deadline_at, row.reported_at, row.reported_by,
                    alert.breached_at is not None)


class IncidentService:
    def __init__(self, monitor: MonitorService) -> None:
        self.monitor = monitor

    def declare(self, title: str, by: str, description: str | None = None, specialty: str | None = None) -> Incident:
        """Open the incident; the maintenance lead is paged in the same engine cycle."""
        if not title.strip() or not by.strip():
            raise ValueError("需要标题和申报人 / a title and who declares it are needed")
        now = self.monitor.clock.now()
        with unit_of_work(self.monitor.factory) as s:
            alert = self.monitor.open_in(s, AlertKind.INCIDENT, now, specialty=specialty, title=title.strip(),
                                         detail=f"declared by {by}")
            row = IncidentRow(incident_id=alert.alert_id, alert_id=alert.alert_id, title=title.strip(),
                              description=description, specialty=specialty, declared_by=by, declared_at=now,
                              report_deadline_at=alert.deadline_at)
            s.add(row)
            incident_id = row.incident_id
        self.monitor.tick()
        return self.get(incident_id)

    def reported(self, incident_id: str, by: str) -> Incident:
        """The report reached the maintenance lead: the deadline is met (or was breached)."""
        now = self.monitor.clock.now()
        with unit_of_work(self.monitor.factory) as s:
            row = s.get(IncidentRow, incident_id)
            if row is None:
                raise AlertNotFound(f"没有此事件 / no incident {incident_id!r}")
            alert = s.scalars(select(AlertRow).where(AlertRow.alert_id == row.alert_id).with_for_update()).one()
            if row.reported_at is None:
                row.reported_at, row.reported_by = now, by
            if row_is_active(alert):
                self.monitor.clear_condition(s, alert, now, f"reported by {by}")
        return self.get(incident_id)

    def get(self, incident_id: str) -> Incident:
        with unit_of_work(self.monitor.factory) as s:
            row = s.get(IncidentRow, incident_id)
            if row is None:
                raise AlertNotFound(f"没有此事件 / no incident {incident_id!r}")
            alert = s.get(AlertRow, row.alert_id)
            assert alert is not None
            return _incident(row, alert)

    def list(self, open_only: bool = False, limit: int | None = None) -> list[Incident]:
        stmt = (select(IncidentRow, AlertRow).join(AlertRow, AlertRow.alert_id == IncidentRow.alert_id)
                .order_by(IncidentRow.declared_at.desc()).limit(limit))
        if open_only:
            stmt = stmt.where(IncidentRow.reported_at.is_(None))
        with unit_of_work(self.monitor.factory) as s:
            return [_incident(i, a) for i, a in s.execute(stmt)]
