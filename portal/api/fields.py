"""Bounds shared by the API's input fields."""

from datetime import date

from rest_framework import serializers

# The largest key or counter the databases hold (a signed 64-bit integer): a number beyond it
# is refused as bad input (400) instead of overflowing in the database driver (500).
ID_MAX = 2**63 - 1

# The days a report (indicators, scorecard) can be asked for: a period's arithmetic (the day
# after, the month's end) stays within the calendar, and a year like 0001 or 9999 is refused
# as bad input instead of overflowing.
REPORT_DAY_MIN = date(2000, 1, 1)
REPORT_DAY_MAX = date(2099, 12, 31)


class ReportDateField(serializers.DateField):
    """An ISO day within REPORT_DAY_MIN .. REPORT_DAY_MAX."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not REPORT_DAY_MIN <= day <= REPORT_DAY_MAX:
            raise serializers.ValidationError(
                f"must be between {REPORT_DAY_MIN.isoformat()} and {REPORT_DAY_MAX.isoformat()}")
        return day
