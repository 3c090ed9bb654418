"""Tickets (工单) from calls: opening and linking, assignment, escalation 一线 → 二线 → 厂商, SLA clocks on the
monitor's outbox, closing, and the knowledge base (知识库)."""
