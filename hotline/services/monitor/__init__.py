"""The no-answer monitor: alerts from missed calls, the escalation engine, the paging outbox, incidents,
silence, acknowledgements (replies, keypresses, signed links) and the reports on missed calls."""
