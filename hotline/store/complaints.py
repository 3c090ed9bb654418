"""The 《客户投诉反馈表》 of complaint tickets: the form as it stands, and every saved version (its history)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


class ComplaintFormRow(Base):
    """The form of one complaint ticket as it stands (the latest version)."""

    __tablename__ = "complaint_forms"

    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"), primary_key=True)
    complaint: Mapped[str] = mapped_column(Text, default="")
    investigation: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    feedback: Mapped[str] = mapped_column(Text, default="")
    confirmation: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ComplaintFormVersionRow(Base):
    """One saved version of a form: who saved it when, with every field as it was then."""

    __tablename__ = "complaint_form_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"))
    version: Mapped[int] = mapped_column(Integer)
    complaint: Mapped[str] = mapped_column(Text, default="")
    investigation: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    feedback: Mapped[str] = mapped_column(Text, default="")
    confirmation: Mapped[str] = mapped_column(Text, default="")
    saved_by: Mapped[str] = mapped_column(String(128))
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("ticket_id", "version", name="uq_complaint_form_versions_ticket_id_version"),
        Index("ix_complaint_form_versions_ticket_id", "ticket_id"),
    )
