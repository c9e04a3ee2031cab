"""The breakdown tables (report_rows.table) fit 80 columns in terminal cells, whatever the
names: an organization or agent named in CJK is twice as wide as its characters."""

from __future__ import annotations

from typing import Any

import pytest
from rich.cells import cell_len

from deskterm.desk import report_rows
from deskterm.desk.report_breakdown import METRICS
from deskterm.sanitize import fit_cells

pytestmark = pytest.mark.without_database

CJK = "株式会社東京海上日動火災保険グループ"  # 18 characters, 36 cells


def breakdown(field: str, *names: str) -> list[dict[str, Any]]:
    return [{field: name, **{m: 12 for m in METRICS}} for name in names]


def test_a_cjk_name_is_cut_in_cells_and_every_line_fits_80() -> None:
    report = {"by_organization": breakdown("organization", CJK, "Brightlane", "ｶﾀｶﾅ" * 9)}
    lines = report_rows.table(report, "by_organization")
    assert all(cell_len(line) <= 80 for line in lines), [cell_len(line) for line in lines]
    # The columns stay aligned: every line is as wide as the heading.
    assert {cell_len(line) for line in lines} == {cell_len(lines[0])}
    assert lines[1].startswith("  株式会社東京海… ")  # 14 cells, the mark, one blank
    assert lines[2].startswith("  Brightlane      ")


@pytest.mark.parametrize(
    ("text", "width", "fitted"),
    [
        ("sam", 6, "sam   "),
        ("Harbour Logistics", 16, "Harbour Logisti…"),
        ("東京海上", 8, "東京海上"),
        ("東京海上", 6, "東京… "),  # the wide character that would straddle goes whole
        ("e\u0301te\u0301", 4, "e\u0301te\u0301 "),  # combining marks take no cell
        ("any", 0, ""),
    ],
)
def test_fit_cells_pads_or_cuts_to_exactly_the_width(text: str, width: int, fitted: str) -> None:
    assert fit_cells(text, width) == fitted
    assert cell_len(fit_cells(text, width)) == width
