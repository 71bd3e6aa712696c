"""Saving the workbook: the same study gives the same bytes, and every formula carries
its value.

openpyxl stamps the save time into ``docProps/core.xml`` and every zip entry, so the
archive is rewritten with fixed times.  openpyxl also writes a formula with an empty
value (``<f>...</f><v></v>``); the value each formula has at the report's numbers is
put into that ``<v>`` here, so a viewer that does not recalculate (a file preview,
``openpyxl`` with ``data_only=True``, pandas) shows the numbers, while Excel and
LibreOffice recalculate on opening (``fullCalcOnLoad``).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.xml.functions import tostring

from evaluate.report.excel._cells import FIXED_TIME, Formulas

_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v></v></c>', re.S)


def _number(v: float | int) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        raise ValueError(f"cannot cache {v!r} in a cell")
    return repr(float(v))


def _with_values(xml: bytes, cached: dict[str, float | int | str]) -> bytes:
    """The sheet XML with each formula's cached value in its ``<v>``."""

    def fill(match: re.Match[str]) -> str:
        coord, attrs, formula = match.groups()
        if coord not in cached:
            return match.group(0)
        v = cached[coord]
        if isinstance(v, str):
            return f'<c r="{coord}"{attrs} t="str"><f>{formula}</f><v>{escape(v)}</v></c>'
        return f'<c r="{coord}"{attrs}><f>{formula}</f><v>{_number(v)}</v></c>'

    return _FORMULA_CELL.sub(fill, xml.decode("utf-8")).encode("utf-8")


def deterministic(wb: Workbook, formulas: Formulas) -> bytes:
    """Save ``wb`` and rewrite the archive so that the bytes depend on the content only,
    with each formula's cached value filled in.

    openpyxl sets ``modified`` to the current time while saving, and zipfile stamps
    each entry with the current local time; both are replaced by :data:`FIXED_TIME`.
    """
    buffer = io.BytesIO()
    wb.save(buffer)  # numbers the sheets: worksheets/sheet<n>.xml in workbook order
    by_path: dict[str, dict[str, float | int | str]] = {}
    for ws in wb.worksheets:
        cells = {c: v for (title, c), v in formulas.cached.items() if title == ws.title}
        by_path[ws.path.lstrip("/")] = cells
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    core = tostring(wb.properties.to_tree())
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            data = core if entry.filename == "docProps/core.xml" else source.read(entry)
            if by_path.get(entry.filename):
                data = _with_values(data, by_path[entry.filename])
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the same on every platform
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    return out.getvalue()
