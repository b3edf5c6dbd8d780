"""Retention periods as a project's policy states them: ``60m`` (months), ``5y`` (years), ``30d`` (days), or
``keep`` (no limit). A period counts from a date; months are calendar months, and a day that the target
month lacks becomes its last day (31 January + 1m is 28 or 29 February), so a period never ends late.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from consent.errors import InvalidRequest

KEEP = "keep"
_PERIOD = re.compile(r"^(\d{1,4})([dmy])$")
_UNITS = {"d": "day", "m": "month", "y": "year"}
_MOST = {"d": 36525, "m": 1200, "y": 100}


@dataclass(frozen=True)
class Period:
    count: int
    unit: str  # "d", "m" or "y"

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def describe(self) -> str:
        name = _UNITS[self.unit]
        return f"{self.count} {name}{'' if self.count == 1 else 's'}"

    def after(self, start: date) -> date:
        """The first day after the period that starts on ``start`` (the day the item is due)."""
        if self.unit == "d":
            return start + timedelta(days=self.count)
        months = self.count * (12 if self.unit == "y" else 1)
        return add_months(start, months)


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole calendar months, clamped to the last day of the month reached."""
    total = start.year * 12 + start.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def parse_period(text: str | None) -> Period | None:
    """A period from its written form; None for ``keep`` (or nothing stored).

    Raises:
        InvalidRequest: anything else than N followed by d, m or y, or ``keep``.
    """
    if text is None:
        return None
    t = text.strip().lower()
    if t in (KEEP, "none", ""):
        return None
    m = _PERIOD.match(t)
    if m is None:
        raise InvalidRequest(f"period {text!r}: use a number with d, m or y (30d, 60m, 5y), or 'keep'")
    period = Period(int(m.group(1)), m.group(2))
    if period.count > _MOST[period.unit]:
        raise InvalidRequest(f"period {text!r}: longer than 100 years (use 'keep' for no limit)")
    return period


def period_text(period: Period | None) -> str:
    return KEEP if period is None else str(period)
