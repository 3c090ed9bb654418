"""Issued monthly quality reports: the document (figures and text) frozen as JSON, one row per
version; a correction is a new version, earlier ones stay as they were."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.store.base import Base, UtcDateTime


class QualityReportRow(Base):
    __tablename__ = "quality_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    issued_by: Mapped[str] = mapped_column(String(128))
    document: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("month", "version", name="uq_quality_reports_month_version"),)


def store_issued(session: Session, month: str, by: str, at: datetime, document: dict[str, Any]) -> int:
    """Store the next version of `month`'s report; returns its version number."""
    latest = session.scalar(select(func.max(QualityReportRow.version)).where(QualityReportRow.month == month))
    version = (latest or 0) + 1
    document = {**document, "issued": {"version": version, "issued_at": at.isoformat(timespec="seconds"),
                                       "issued_by": by}}
    session.add(QualityReportRow(month=month, version=version, issued_at=at, issued_by=by,
                                 document=json.dumps(document, ensure_ascii=False)))
    return version


def issued_document(session: Session, month: str, version: int | None = None) -> dict[str, Any] | None:
    """The stored document of `month` (the latest version, or `version`); None when never issued."""
    stmt = select(QualityReportRow).where(QualityReportRow.month == month)
    if version is not None:
        stmt = stmt.where(QualityReportRow.version == version)
    row = session.scalars(stmt.order_by(QualityReportRow.version.desc()).limit(1)).first()
    if row is None:
        return None
    doc: dict[str, Any] = json.loads(row.document)
    return doc


def issued_list(session: Session, limit: int = 120) -> list[tuple[str, int, datetime, str]]:
    """(month, version, issued_at, issued_by), newest month and version first."""
    stmt = (select(QualityReportRow.month, QualityReportRow.version, QualityReportRow.issued_at,
                   QualityReportRow.issued_by)
            .order_by(QualityReportRow.month.desc(), QualityReportRow.version.desc()).limit(limit))
    return [(m, v, at, by) for m, v, at, by in session.execute(stmt)]
