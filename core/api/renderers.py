"""CSV for BI tools: the serializer's fields in their declared order are the columns (stable names)."""

import csv
import io

from rest_framework.renderers import BaseRenderer

from core.xlsx import safe_cell


def _rows(data):
    if isinstance(data, dict) and "results" in data and isinstance(data["results"], list):
        return data["results"]
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    return []


def _flatten(row: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = ";".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


class CSVRenderer(BaseRenderer):
    """`?format=csv` or `Accept: text/csv`. UTF-8 without BOM; cells that a spreadsheet would run as a formula
    (= + - @) are escaped as in the .xlsx exports. Errors render as one row of their fields."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        view = (renderer_context or {}).get("view")
        rows = [_flatten(r) for r in _rows(data) if isinstance(r, dict)]
        columns = list(getattr(view, "csv_columns", None) or [])
        if not columns:
            for row in rows:
                for key in row:
                    if key not in columns:
                        columns.append(key)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else safe_cell(row.get(c)) for c in columns])
        return out.getvalue().encode("utf-8")
