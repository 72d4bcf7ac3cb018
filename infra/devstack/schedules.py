"""The template's schedules (rate and AWS cron expressions) and the clock that fires them locally.

moto's EventBridge never fires rate()/cron() rules, so the local stack keeps its own clock.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from croniter import croniter

if TYPE_CHECKING:
    from devstack.resources import StackResources
    from devstack.template import Template

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((.+)\)$")
_LAST_YEAR = 2199  # the last year AWS cron accepts
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    """A schedule expression EventBridge would reject."""


@dataclass(frozen=True)
class Timetable:
    """When a schedule expression fires: `next_after(t)` is the first firing strictly after t."""

    expression: str

    def next_after(self, moment: datetime) -> datetime | None:
        rate = _RATE.match(self.expression)
        if rate:
            return moment + timedelta(seconds=rate_seconds(self.expression))
        at = _AT.match(self.expression)
        if at:
            when = datetime.fromisoformat(at.group(1)).replace(tzinfo=UTC)
            return when if when > moment else None
        cron = _CRON.match(self.expression)
        if cron:
            unix, years = aws_cron_to_unix(cron.group(1))
            iterator = croniter(unix, moment)
            for _ in range(10_000):
                candidate: datetime = iterator.get_next(datetime)
                if candidate.year > _LAST_YEAR:
                    return None
                if years(candidate.year):
                    return candidate
            return None
        raise ScheduleExpressionError(f"Unsupported schedule expression {self.expression!r}")


def rate_seconds(expression: str) -> int:
    match = _RATE.match(expression)
    if not match:
        raise ScheduleExpressionError(f"Not a rate expression: {expression!r}")
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    if value <= 0:
        raise ScheduleExpressionError("A rate must be positive")
    if (value == 1) != (not match.group(2).endswith("s")):
        raise ScheduleExpressionError(f"Use the singular unit only for a rate of 1: {expression!r}")
    return value * _UNIT_SECONDS[unit]


def aws_cron_to_unix(fields_text: str) -> tuple[str, Callable[[int], bool]]:
    """AWS's six-field cron (min hour dom month dow year) as five croniter fields plus a year test.

    AWS numbers weekdays 1-7 from Sunday and uses `?` for "no specific value"; croniter counts 0-6.
    """
    fields = fields_text.split()
    if len(fields) != 6:
        raise ScheduleExpressionError(f"AWS cron needs 6 fields, got {len(fields)}: {fields_text!r}")
    minute, hour, day, month, weekday, year = fields
    if day != "?" and weekday != "?":
        raise ScheduleExpressionError("AWS cron needs `?` in day-of-month or day-of-week")
    unix = " ".join(
        [minute, hour, "*" if day == "?" else day, month, "*" if weekday == "?" else _weekday(weekday)]
    )
    if not croniter.is_valid(unix):
        raise ScheduleExpressionError(f"Invalid cron expression {fields_text!r}")
    return unix, _year_test(year)


def _weekday(text: str) -> str:
    def shift(match: re.Match[str]) -> str:
        return str(int(match.group(0)) - 1)

    # Only the day numbers move; a `/step` or `#n` occurrence suffix keeps its meaning.
    parts = text.split("#", 1)
    parts[0] = re.sub(r"(?<![/\d])\d+", shift, parts[0])
    return "#".join(parts)


def _year_test(text: str) -> Callable[[int], bool]:
    if text in {"*", "?"}:
        return lambda year: True
    allowed: set[int] = set()
    for part in text.split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        start = int(first)
        stop = int(last) if last else (_LAST_YEAR if step else start)
        allowed.update(range(start, stop + 1, int(step or 1)))
    return allowed.__contains__


@dataclass(frozen=True)
class Schedule:
    """One schedule from the template, named `<LogicalId>.<EventName>`."""

    name: str
    expression: str
    target_kind: str  # function | state_machine
    target: str  # logical id of the function or state machine
    input: str | None
    enabled: bool = True

    @property
    def timetable(self) -> Timetable:
        return Timetable(self.expression)

    def payload(self, rule_arn: str, now: datetime | None = None) -> Any:
        """What the target receives: the template's Input, or EventBridge's Scheduled Event."""
        if self.input is not None:
            return json.loads(self.input)
        moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": moment,
            "region": "us-east-1",
            "resources": [rule_arn],
            "detail": {},
        }


class Clock:
    """A thread that fires each enabled schedule when its time comes."""

    def __init__(
        self, schedules: list[Schedule], fire: Callable[[Schedule], None], tick_seconds: float = 1.0
    ):
        self.schedules = [schedule for schedule in schedules if schedule.enabled]
        self._fire = fire
        self._tick = tick_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedule-clock", daemon=True)
        self.next_runs: dict[str, datetime | None] = {}

    def start(self) -> None:
        now = datetime.now(UTC)
        self.next_runs = {schedule.name: schedule.timetable.next_after(now) for schedule in self.schedules}
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            now = datetime.now(UTC)
            for schedule in self.schedules:
                due = self.next_runs.get(schedule.name)
                if due is not None and due <= now:
                    self.next_runs[schedule.name] = schedule.timetable.next_after(now)
                    self._fire(schedule)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _enabled(props: dict[str, Any]) -> bool:
    return props.get("Enabled", True) not in (False, "false") and props.get("State", "ENABLED") == "ENABLED"


def _schedule(name: str, props: dict[str, Any], kind: str, target: str) -> Schedule:
    expression = str(props.get("Schedule") or props.get("ScheduleExpression"))
    raw_input = props.get("Input")
    text = None if raw_input is None else raw_input if isinstance(raw_input, str) else json.dumps(raw_input)
    return Schedule(name, expression, kind, target, text, _enabled(props))


def template_schedules(template: Template, stack: StackResources) -> list[Schedule]:
    """Every Schedule/ScheduleV2 event of a function or state machine, and every scheduled Events rule."""
    resolve = stack.resolver.resolve
    found: list[Schedule] = []
    for spec in template.functions.values():
        for source in spec.sources:
            if source.kind in {"Schedule", "ScheduleV2"}:
                name = f"{spec.logical_id}.{source.event_name}"
                found.append(_schedule(name, resolve(source.properties), "function", spec.logical_id))
    for logical_id, resource in template.of_type("AWS::Serverless::StateMachine").items():
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") in {"Schedule", "ScheduleV2"}:
                props = resolve(event.get("Properties") or {})
                found.append(_schedule(f"{logical_id}.{event_name}", props, "state_machine", logical_id))
    for logical_id, resource in template.of_type("AWS::Events::Rule").items():
        if "ScheduleExpression" in (resource.get("Properties") or {}):
            found.extend(_rule_schedules(logical_id, resolve(resource["Properties"]), stack))
    return found


def _rule_schedules(logical_id: str, props: dict[str, Any], stack: StackResources) -> list[Schedule]:
    found: list[Schedule] = []
    for target in props.get("Targets") or []:
        arn = str(target.get("Arn"))
        function = stack.function_by_arn(arn)
        machine = next((lid for lid, sm_arn in stack.state_machines.items() if sm_arn == arn), None)
        if function or machine:
            kind = "function" if function else "state_machine"
            name = f"{logical_id}.{target.get('Id')}"
            found.append(
                _schedule(name, {**props, "Input": target.get("Input")}, kind, str(function or machine))
            )
    return found
