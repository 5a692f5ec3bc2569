"""KPI status from a value: pure functions, shared by selectors, services and charts."""
from __future__ import annotations

from kpis.models import KPI, KPIStatus

WARNING, CRITICAL = "warning", "critical"


def breach_level(*, direction: str, warning: float | None, critical: float | None, value: float | None) -> str | None:
    """None, "warning" or "critical": how far past its thresholds a value is.

    Higher-is-better KPIs breach below a threshold, lower-is-better ones above.
    """
    if value is None:
        return None
    if direction == KPI.Direction.LOWER:
        if critical is not None and value > critical:
            return CRITICAL
        if warning is not None and value > warning:
            return WARNING
        return None
    if critical is not None and value < critical:
        return CRITICAL
    if warning is not None and value < warning:
        return WARNING
    return None


def meets_target(*, direction: str, target: float | None, value: float) -> bool:
    if target is None:
        return True
    return value <= target if direction == KPI.Direction.LOWER else value >= target


def status_for(*, direction: str, target: float | None, warning: float | None, critical: float | None,
               value: float | None) -> str:
    """on_track / at_risk / off_track / no_data for a KPI's latest value: THE status rule.

    Past the critical threshold is off track; past the warning threshold, or
    short of the target (direction-aware: for lower-is-better KPIs a value above
    the target misses it), is at risk. "On track" means the target is met (or the
    KPI has no target and no threshold is crossed). Every card, table, digest
    and API field shows this one status.
    """
    if value is None:
        return KPIStatus.NO_DATA
    level = breach_level(direction=direction, warning=warning, critical=critical, value=value)
    if level == CRITICAL:
        return KPIStatus.OFF_TRACK
    if level == WARNING or not meets_target(direction=direction, target=target, value=value):
        return KPIStatus.AT_RISK
    return KPIStatus.ON_TRACK


def kpi_status(kpi: KPI, value: float | None) -> str:
    return status_for(direction=kpi.direction, target=kpi.target, warning=kpi.warning_threshold,
                      critical=kpi.critical_threshold, value=value)


def progress_for(*, direction: str, target: float | None, value: float | None) -> float | None:
    """How far a value has come to its target, 0..1 (None without target or value)."""
    if target is None or value is None:
        return None
    if direction == KPI.Direction.LOWER:
        if value <= target:
            return 1.0
        return max(0.0, min(1.0, target / value)) if value > 0 else 0.0
    if value >= target:
        return 1.0
    if target <= 0:
        return 0.0
    return max(0.0, min(1.0, value / target))
