"""Schedule `watch-dead-letters` (every 5 minutes): a notice for each dead-letter queue that grew."""

from __future__ import annotations

from typing import Any

from admin import service


def watch_dead_letters(schedule: dict[str, Any]) -> dict[str, Any]:
    raised = service.watch_dead_letters()
    return {"raised": [notice.notification_id for notice in raised]}
