"""How classes, grades and statuses read on the pages: Chinese and English side by side.

Everything shown to a reviewer about a class comes from :mod:`linepatrol.taxonomy`; this module
only arranges it (and names the CSS class that colours each grade).
"""

from __future__ import annotations

from dataclasses import dataclass

from linepatrol import taxonomy
from linepatrol_service.domain import DefectStatus, FlightStatus, WarningStatus

STATUS_LABELS: dict[DefectStatus, tuple[str, str]] = {
    DefectStatus.NEW: ("待审核", "New"),
    DefectStatus.CONFIRMED: ("已确认", "Confirmed"),
    DefectStatus.REJECTED: ("已驳回", "Rejected"),
    DefectStatus.ASSIGNED: ("已派单", "Assigned"),
    DefectStatus.FIXED: ("已消缺", "Fixed"),
    DefectStatus.CLOSED: ("已关闭", "Closed"),
}
WARNING_LABELS: dict[WarningStatus, tuple[str, str]] = {
    WarningStatus.ISSUED: ("已预警", "Issued"),
    WarningStatus.ACKNOWLEDGED: ("已确认", "Acknowledged"),
    WarningStatus.DISPATCHED: ("已到场", "Dispatched"),
    WarningStatus.RESOLVED: ("已解除", "Resolved"),
    WarningStatus.CLOSED: ("已闭环", "Closed"),
}

FLIGHT_STATUS_LABELS: dict[FlightStatus, tuple[str, str]] = {
    FlightStatus.DRAFT: ("草稿", "Draft"),
    FlightStatus.QUEUED: ("排队中", "Queued"),
    FlightStatus.PROCESSING: ("处理中", "Processing"),
    FlightStatus.DONE: ("已完成", "Done"),
    FlightStatus.FAILED: ("失败", "Failed"),
    FlightStatus.CANCELLED: ("已取消", "Cancelled"),
}
CATEGORY_LABELS = {
    "line_defect": ("线路缺陷", "Line defect"),
    "hazard": ("外破隐患", "External hazard"),
    "component": ("部件", "Component"),
}


@dataclass(frozen=True)
class ClassLabel:
    key: str
    zh: str
    en: str
    category: str
    severity: str | None


def class_label(key: str) -> ClassLabel:
    info = taxonomy.BY_KEY.get(key)
    if info is None:  # a model may carry a class the taxonomy does not know
        return ClassLabel(key, key, key, "", None)
    return ClassLabel(key, info.zh, info.en, info.category.value,
                      info.severity.value if info.severity else None)


def reviewable_classes() -> list[ClassLabel]:
    """Classes a reviewer may reclassify to: defects and hazards (a component is no finding)."""
    return [class_label(c.key) for c in taxonomy.CLASSES
            if c.category is not taxonomy.Category.COMPONENT]


def severity_label(value: str | None) -> tuple[str, str]:
    if not value:
        return ("—", "none")
    sev = taxonomy.Severity(value)
    return (sev.zh, sev.value)


SEVERITIES = [(s.value, s.zh) for s in taxonomy.Severity]
