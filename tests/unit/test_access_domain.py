"""The rights table: public routes, least roles, default-deny for routes no rule names; cell neutralising;
login throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hotline.domain.access import (
    DEFAULT_WRITE,
    Role,
    Throttle,
    exports_numbers,
    is_personal_export,
    needed_role,
    neutral_cell,
    parse_role,
    sees_numbers,
)


@pytest.mark.parametrize(("method", "path", "role"), [
    ("GET", "/healthz", None),
    ("POST", "/twilio/status", None),  # Twilio's signature is its check
    ("POST", "/ack/abc.def", None),  # the signed one-tap link is its check
    ("GET", "/static/dashboard.js", None),
    ("POST", "/login", None),
    ("GET", "/", Role.VIEWER),
    ("GET", "/api/alerts", Role.VIEWER),
    ("GET", "/api/wall", Role.VIEWER),  # a read route added later: viewers, numbers masked
    ("POST", "/api/alerts/A1/ack", Role.STAFF),
    ("POST", "/api/alerts/A1/callback", Role.STAFF),
    ("POST", "/api/alerts/A1/resolve", Role.SUPERVISOR),
    ("POST", "/api/incidents", Role.SUPERVISOR),
    ("POST", "/api/incidents/I1/reported", Role.SUPERVISOR),
    ("PUT", "/api/roster/shifts/3", Role.SUPERVISOR),
    ("POST", "/api/tickets/T1/close", Role.STAFF),
    ("GET", "/api/audit", Role.SUPERVISOR),
    ("GET", "/api/audit.csv", Role.SUPERVISOR),
    ("POST", "/api/access/accounts", Role.ADMIN),
    ("GET", "/api/access/accounts", Role.ADMIN),
    ("DELETE", "/api/something/new", DEFAULT_WRITE),  # a write route added later: denied below supervisor
    ("POST", "/metrics/reset", DEFAULT_WRITE),
    ("POST", "/logout", Role.VIEWER),
    ("POST", "/healthz/x", DEFAULT_WRITE),  # '/healthz' is exact, not a prefix
    ("POST", "/loginx", DEFAULT_WRITE),
])
def test_needed_role(method: str, path: str, role: Role | None) -> None:
    assert needed_role(method, path) == role


def test_roles_are_ordered_and_parsed() -> None:
    assert Role.ADMIN.allows(Role.SUPERVISOR) and Role.SUPERVISOR.allows(Role.STAFF)
    assert not Role.VIEWER.allows(Role.STAFF) and not Role.STAFF.allows(Role.SUPERVISOR)
    assert parse_role(" Staff ") is Role.STAFF
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        parse_role("boss")
    assert not sees_numbers(Role.VIEWER) and sees_numbers(Role.STAFF)
    assert not exports_numbers(Role.STAFF) and exports_numbers(Role.SUPERVISOR)


def test_personal_exports_are_the_downloads_of_rows_not_of_rates() -> None:
    assert is_personal_export("GET", "/api/calls.csv")
    assert is_personal_export("GET", "/api/audit.csv")
    assert not is_personal_export("GET", "/api/reports/answer-rate.xlsx")
    assert not is_personal_export("GET", "/api/calls")


@pytest.mark.parametrize(("value", "cell"), [
    ('=HYPERLINK("http://evil.example","点我")', '\'=HYPERLINK("http://evil.example","点我")'),
    ("+86 138", "'+86 138"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("王芳", "王芳"), ("13800138000", "13800138000"), (42, 42), (-1.5, -1.5), (None, None),
])
def test_formula_cells_are_neutralised(value: object, cell: object) -> None:
    assert neutral_cell(value) == cell


def test_throttle_counts_failures_per_name_and_per_address() -> None:
    t = Throttle(per_account=5, per_address=20, window=timedelta(minutes=15))
    now = datetime.fromisoformat("2026-12-03T09:00:00+08:00")
    assert t.since(now) == now - timedelta(minutes=15)
    assert not t.refuses(4, 19)
    assert t.refuses(5, 0) and t.refuses(0, 20)
