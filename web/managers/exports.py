"""The indicator figures per month x agency x procedure as CSV (UTF-8 with BOM) and XLSX."""

import csv
from io import BytesIO

from django.http import HttpResponse
from django.utils.translation import gettext as _

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from dossiers.selectors.indicators import FIGURE_LABELS, RATES
from portal.downloads import bytes_download

from .forms import month_label

COUNTS = (
    "received", "completed", "early", "on_time", "late", "on_time_rate", "refused", "rejected",
    "withdrawn", "fee_bearing", "paid_online", "online_payment_rate", "digitized",
    "digitization_rate", "results_electronic", "electronic_result_rate", "rated",
    "average_rating", "satisfied_rate",
)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headers() -> list[str]:
    return [_("Tháng"), _("Cơ quan"), _("Thủ tục"), *(str(FIGURE_LABELS[c]) for c in COUNTS)]


def _value(row: dict, column: str):
    value = row[column]
    if value is None:
        return None
    if column in RATES:
        return round(value * 100, 1)  # the header says (%)
    return value


def table(rows: list[dict]) -> list[list]:
    """One line per month x agency x procedure, then the total of each count."""
    lines = [
        [month_label(r["month"]), r["agency"], r["procedure"], *(_value(r, c) for c in COUNTS)]
        for r in rows
    ]
    totals = {c: sum(r[c] for r in rows) for c in COUNTS if c not in RATES
              and c != "average_rating"}
    total_line = [_("Tổng cộng"), "", ""]
    for c in COUNTS:
        total_line.append(totals.get(c))
    # The rates of the total, from the totals (a mean of rates would weigh months alike).
    def rate(num, den):
        return round(100 * num / den, 1) if den else None

    total_line[3 + COUNTS.index("on_time_rate")] = rate(
        totals["early"] + totals["on_time"], totals["completed"])
    total_line[3 + COUNTS.index("online_payment_rate")] = rate(
        totals["paid_online"], totals["fee_bearing"])
    total_line[3 + COUNTS.index("digitization_rate")] = rate(totals["digitized"], totals["received"])
    total_line[3 + COUNTS.index("electronic_result_rate")] = rate(
        totals["results_electronic"], totals["completed"])
    rated = totals["rated"]
    ratings = sum(r["rating_sum"] for r in rows)
    total_line[3 + COUNTS.index("average_rating")] = round(ratings / rated, 2) if rated else None
    total_line[3 + COUNTS.index("satisfied_rate")] = rate(sum(r["satisfied"] for r in rows), rated)
    return [*lines, total_line] if rows else lines


def csv_response(rows: list[dict], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # spreadsheet programs then read the Vietnamese text as UTF-8
    writer = csv.writer(response)
    writer.writerow(headers())
    for line in table(rows):
        writer.writerow(["" if v is None else v for v in line])
    return response


def xlsx_response(rows: list[dict], filename: str, *, described) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Chỉ số")
    sheet.append(headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for line in table(rows):
        sheet.append(line)
    if rows:
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "D2"
    widths = [10, 32, 60] + [14] * len(COUNTS)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    about = book.create_sheet(_("Bộ lọc"))
    for label, value in described:
        about.append([str(label), str(value)])
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 80
    buffer = BytesIO()
    book.save(buffer)
    return bytes_download(buffer.getvalue(), filename=filename, fallback=XLSX_TYPE)
