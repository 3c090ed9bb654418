"""The tickets' indicators of the monthly report (质量月报): response, repair start and mean time to repair
against `[reports]` targets, the shares within the SLA, deadlines overdue at the month's end, escalations to
二线 / 厂商 and reopened tickets; every figure with its sample size. The figures come from the tickets
capability (`period_figures`)."""

from __future__ import annotations

from hotline.domain.quality import Indicator, share
from hotline.domain.sla import CLOCK_ZH, ClockName
from hotline.domain.tickets import TYPE_ZH, TicketTier, TicketType
from hotline.services.reports.indicators import MonthContext
from hotline.services.tickets.figures import ClockFigures, period_figures


def _n(f: ClockFigures) -> str:
    mean = "—" if f.mean_minutes is None else f"{f.mean_minutes:.1f}"
    return f"{f.done} 张工单，平均 {mean} 分钟 / {f.done} tickets, mean {mean} min"


class TicketIndicators:
    source = "tickets"

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        r = ctx.settings.reports
        p = period_figures(ctx.factory, ctx.start, ctx.end, ctx.now)
        response, repair, resolution = (p.clocks.get(n, ClockFigures()) for n in (
            ClockName.RESPONSE, ClockName.REPAIR_START, ClockName.RESOLUTION))
        types = " · ".join(f"{TYPE_ZH[TicketType(t)]} {n}" for t, n in sorted(p.opened_by_type.items()))
        late = "、".join(f"{CLOCK_ZH[name]} {n}" for name, n in sorted(p.overdue_clocks.items()))
        second, vendor = p.escalated.get(TicketTier.SECOND_LINE, 0), p.escalated.get(TicketTier.VENDOR, 0)
        leg = "—" if p.vendor_mean_minutes is None else f"{p.vendor_mean_minutes:.1f}"
        return [
            Indicator("tickets.opened", "新建工单 / Tickets opened", None, unit="count", actual=float(p.opened),
                      detail=types),
            Indicator("tickets.response", "最长响应时间 / Longest response time", r.response_minutes, "at_most", "min",
                      actual=response.longest_minutes, detail=_n(response)),
            _within("tickets.response.within", "响应及时率 / Responded in time", response, r.response_minutes),
            Indicator("tickets.repair_start", "最长开始修复时间 / Longest time to start repair",
                      r.repair_start_minutes, "at_most", "min", actual=repair.longest_minutes, detail=_n(repair)),
            _within("tickets.repair_start.within", "修复及时开始率 / Repairs started in time", repair,
                    r.repair_start_minutes),
            Indicator("tickets.mttr", "平均修复时间 / Mean time to repair", r.repair_minutes, "at_most", "min",
                      actual=resolution.mean_minutes, detail=_n(resolution)),
            _within("tickets.resolution.within", "按时解决率 / Resolved in time", resolution, r.repair_minutes),
            Indicator("tickets.overdue", "月底超期未完成工单 / Tickets past a deadline at the month's end", None,
                      "at_most", "count", actual=float(p.overdue_tickets), detail=late),
            Indicator("tickets.escalated.second_line", "升级二线 / Escalated to second line", None, "at_most", "count",
                      actual=float(second),  # hand-offs made in the month; a ticket opened earlier counts too
                      detail=f"本月升级 {second} 次，本月新开工单 {p.opened} 张 / {second} hand-offs in the month, "
                             f"{p.opened} tickets opened"),
            Indicator("tickets.escalated.vendor", "升级厂商 / Escalated to the vendor", None, "at_most", "count",
                      actual=float(vendor), detail=f"厂商处理 {p.vendor_legs} 次，平均 {leg} 分钟 / "
                                                   f"{p.vendor_legs} vendor legs, mean {leg} min"),
            Indicator("tickets.reopened", "重开工单 / Tickets reopened", None, "at_most", "count",
                      actual=float(p.reopened)),
        ]


def _within(key: str, name: str, f: ClockFigures, target_minutes: float) -> Indicator:
    return Indicator(key, f"{name} (≤ {target_minutes:g} 分钟 / min)", None, "at_least", "%",
                     actual=share(f.met, f.done), detail=f"{f.met} / {f.done}")
