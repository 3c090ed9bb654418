"""The monthly report's document in one of its formats (json, html, xlsx, pdf), as bytes."""

from __future__ import annotations

import json
from typing import Any


def render(doc: dict[str, Any], fmt: str, target: float) -> bytes:
    if fmt == "json":
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "html":
        from hotline.services.reports.monthly_render import monthly_html

        return monthly_html(doc, target).encode("utf-8")
    if fmt == "xlsx":
        from hotline.services.reports.monthly_xlsx import monthly_xlsx

        return monthly_xlsx(doc, target)
    from hotline.services.reports.monthly_render import monthly_pdf

    return monthly_pdf(doc, target)
