"""Schedule expressions fire when EventBridge would fire them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devstack.schedules import ScheduleExpressionError, Timetable, aws_cron_to_unix, rate_seconds

NOON_MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds
    assert Timetable(expression).next_after(NOON_MONDAY) == datetime.fromtimestamp(
        NOON_MONDAY.timestamp() + seconds, UTC
    )


@pytest.mark.parametrize("expression", ["rate(1 minutes)", "rate(5 minute)", "rate(0 hours)", "every day"])
def test_malformed_rates_are_refused(expression):
    with pytest.raises(ScheduleExpressionError):
        Timetable(expression).next_after(NOON_MONDAY) if not expression.startswith("rate") else rate_seconds(
            expression
        )


def test_daily_cron_fires_at_its_time():
    assert Timetable("cron(0 6 * * ? *)").next_after(NOON_MONDAY) == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def test_aws_weekdays_count_from_sunday_as_one():
    # AWS 2-6 is Monday to Friday; from Friday noon the next firing is Monday 09:00.
    friday_noon = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    assert Timetable("cron(0 9 ? * 2-6 *)").next_after(friday_noon) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )
    assert aws_cron_to_unix("0 9 ? * MON-FRI *")[0] == "0 9 * * MON-FRI"
    assert aws_cron_to_unix("0/15 * ? * */2 *")[0] == "0/15 * * * */2"


def test_the_year_field_limits_firings():
    assert Timetable("cron(0 0 1 1 ? 2030)").next_after(NOON_MONDAY) == datetime(2030, 1, 1, tzinfo=UTC)
    assert Timetable("cron(0 0 1 1 ? 2020)").next_after(NOON_MONDAY) is None


@pytest.mark.parametrize("fields", ["0 6 * * *", "0 6 1 * 2 *"])
def test_cron_needs_six_fields_and_one_question_mark(fields):
    with pytest.raises(ScheduleExpressionError):
        aws_cron_to_unix(fields)
