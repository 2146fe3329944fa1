"""The .xlsx report of a coverage snapshot, built from its stored rows (so it always matches the pages).

Sheets: 总览 (the subtree total, then its orgs), 按街道, 按行业. Counts are numbers, rates are numbers
with one decimal (percent), labels go through core.xlsx.safe_cell (formula-injection escaping).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.xlsx import safe_cell
from coverage.models import CoverageSnapshot, SnapshotDimension

TITLE_ROW, HEADER_ROW = 1, 2  # data starts on row 3


def columns() -> list[tuple[str, object, str | None]]:
    """(header, value of a row, number format) for every figure column, in report order."""
    return [
        (_("应覆盖单位"), lambda r: r.workplaces, None),
        (_("组织覆盖"), lambda r: r.org_covered, None),
        (_("组织覆盖率（%）"), lambda r: r.org_rate, "0.0"),
        (_("工作覆盖"), lambda r: r.work_covered, None),
        (_("工作覆盖率（%）"), lambda r: r.work_rate, "0.0"),
        (_("空白点"), lambda r: r.uncovered, None),
        (_("新就业群体人数"), lambda r: r.gig_workers, None),
        (_("组织覆盖人数"), lambda r: r.gig_workers_org_covered, None),
        (_("工作覆盖人数"), lambda r: r.gig_workers_work_covered, None),
        (_("应单独建支部"), lambda r: r.needs_own_branch, None),
        (_("15分钟服务圈内单位"), lambda r: r.within_reach, None),
        (_("15分钟服务圈覆盖率（%）"), lambda r: r.reach_rate, "0.0"),
        (_("15分钟服务圈内人数"), lambda r: r.gig_workers_within_reach, None),
        (_("正式党员"), lambda r: r.members_full, None),
        (_("预备党员"), lambda r: r.members_probationary, None),
        (_("流动党员"), lambda r: r.members_mobile, None),
        (_("支部数"), lambda r: r.branches, None),
        (_("未达标支部"), lambda r: r.branches_behind, None),
        (_("三会一课应开展次数"), lambda r: r.compliance_expected, None),
        (_("三会一课已达标次数"), lambda r: r.compliance_met, None),
        (_("三会一课达标率（%）"), lambda r: r.compliance_rate, "0.0"),
        (_("本期受理诉求"), lambda r: r.requests_received, None),
        (_("未办结诉求"), lambda r: r.requests_open, None),
        (_("超期诉求"), lambda r: r.requests_overdue, None),
        (_("本期办结诉求"), lambda r: r.requests_closed, None),
        (_("平均满意度"), lambda r: r.satisfaction_avg, "0.00"),
    ]


def _sheet(wb: Workbook, title: str, heading: str, first_headers: Sequence[str], rows: Iterable[tuple[Sequence, object]]) -> None:
    ws = wb.create_sheet(title=title[:31])
    cols = columns()
    ws.cell(row=TITLE_ROW, column=1, value=safe_cell(heading)).font = Font(bold=True, size=12)
    headers = [*first_headers, *(str(h) for h, _v, _f in cols)]
    for index, header in enumerate(headers, start=1):
        ws.cell(row=HEADER_ROW, column=index, value=header).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(index)].width = max(10, min(30, len(header) * 2 + 2))
    row_number = HEADER_ROW
    for leading, row in rows:
        row_number += 1
        for index, value in enumerate(leading, start=1):
            ws.cell(row=row_number, column=index, value=safe_cell(value))
        for offset, (_h, getter, number_format) in enumerate(cols, start=len(leading) + 1):
            cell = ws.cell(row=row_number, column=offset, value=getter(row))
            if number_format:
                cell.number_format = number_format
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=len(first_headers) + 1)


def build_report(*, snapshot: CoverageSnapshot, rows: Sequence, period_label: str) -> bytes:
    """The workbook bytes for `snapshot` from its rows (SnapshotRow instances, in order)."""
    taken = timezone.localtime(snapshot.taken_at).strftime("%Y-%m-%d %H:%M") if snapshot.taken_at else ""
    heading = _("%(org)s 覆盖情况报表（%(period)s，统计时点 %(taken)s）") % {
        "org": snapshot.org.name, "period": period_label, "taken": taken,
    }
    by_dimension: dict[str, list] = {d: [] for d in SnapshotDimension.values}
    for row in rows:
        by_dimension[row.dimension].append(row)

    wb = Workbook()
    wb.remove(wb.active)
    dimension_labels = dict(SnapshotDimension.choices)
    overview = [((str(dimension_labels[SnapshotDimension.TOTAL]), row.label), row) for row in by_dimension[SnapshotDimension.TOTAL]]
    overview += [((str(dimension_labels[SnapshotDimension.ORG]), row.label), row) for row in by_dimension[SnapshotDimension.ORG]]
    _sheet(wb, _("总览"), heading, [_("层级"), _("党组织")], overview)
    _sheet(wb, _("按街道"), heading, [_("街道")], [((row.label,), row) for row in by_dimension[SnapshotDimension.REGION]])
    _sheet(wb, _("按行业"), heading, [_("行业")], [((row.label,), row) for row in by_dimension[SnapshotDimension.INDUSTRY]])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


__all__ = ["build_report", "columns"]
