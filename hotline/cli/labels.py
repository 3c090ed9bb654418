"""How codes and times read on a terminal, the same in every command: a specialty's configured name with its
code, a desk time in the tables' short form."""

from __future__ import annotations

from hotline.config import Settings
from hotline.domain.kpi import NO_SPECIALTY


def specialty_label(settings: Settings, code: str | None) -> str:
    """'应用系统 / Applications (applications)': the reports' name of a configured specialty with its code;
    '未分类 / none' for no specialty; an unknown code as it is (the JSON keeps the codes)."""
    from hotline.services.reports.indicators import specialty_name  # the services load when a command runs

    if not code or code == NO_SPECIALTY:
        return "未分类 / none"
    name = specialty_name(settings, code)
    return code if name == code else f"{name} ({code})"


def short_time(iso: str | None) -> str:
    """An ISO time already in the desk's timezone as the tables show it: `12-04 09:17` ('-' for none)."""
    return "-" if not iso else iso[5:16].replace("T", " ")
