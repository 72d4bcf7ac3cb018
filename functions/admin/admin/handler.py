"""Lambda entry of the admin context: HTTP routes, its inbox, its outbox relay, the dead-letter
watch and the canary tasks.

Queue, schedule and task code is named, not imported, so an HTTP cold start does not load it.
"""

from admin.api import app
from harambee.runtime import LambdaEntry

handler = LambdaEntry(
    app,
    consumer="admin.inbox:consumer",
    schedules={"watch-dead-letters": "admin.watch:watch_dead_letters"},
    tasks={"canary.emit": "admin.canary:emit_heartbeat", "canary.failed": "admin.canary:report_failure"},
)
