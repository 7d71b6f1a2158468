"""When an organ's annual report is due, and what kind of organ it is.

The 2008 Regulation (国务院令第492号, art. 31): every organ by 31 March, for report years up
to 2018. The 2019 revision (国务院令第711号, art. 49), from the 2019 report year on:
departments of people's governments at county level and above by 31 January; local
people's governments (their own report) by 31 March. Townships follow local notices; 31 March
is used for them. An organ whose type cannot be told from its name gets the later date and
says so. Pure: no database.
"""

from __future__ import annotations

import re
from datetime import date

GOVERNMENT, DEPARTMENT = "government", "department"
ORGAN_TYPES = (GOVERNMENT, DEPARTMENT)

# 某县人民政府, 某区人民政府, 某镇人民政府, 某街道办事处, 某乡政府.
_GOVERNMENT = re.compile(r"(?:[省市县区旗镇乡]|街道)(?:人民)?政府$|街道办事处$|办事处$|人民政府$")
# 教育局, 发展和改革委员会, 人民政府办公室, 政务服务中心, 财政厅, 司法所, 卫健委 …
_DEPARTMENT = re.compile(
    r"(?:局|委员会|委|办公室|办|中心|厅|部|署|所|站|院|队|会|处|公司|管理处|管委会)$"
)


def organ_type(name: str | None) -> str | None:
    """ "government", "department" or None (cannot tell) from an organ's name."""
    if not name:
        return None
    name = re.sub(r"[\s（(].*$", "", name.strip())
    if _GOVERNMENT.search(name) and not name.endswith("政府办公室"):
        return GOVERNMENT
    if _DEPARTMENT.search(name):
        return DEPARTMENT
    return None


def deadline(report_year: int, kind: str | None) -> tuple[date, str]:
    """(due date, the rule it comes from) for the report on ``report_year``."""
    due_year = report_year + 1
    if report_year <= 2018:
        return date(due_year, 3, 31), "2008 Regulation art. 31: 31 March"
    if kind == DEPARTMENT:
        return date(due_year, 1, 31), "2019 Regulation art. 49: departments, 31 January"
    if kind == GOVERNMENT:
        return date(due_year, 3, 31), "2019 Regulation art. 49: local governments, 31 March"
    return date(
        due_year, 3, 31
    ), "2019 Regulation art. 49: organ type unknown, the later date (31 March)"
