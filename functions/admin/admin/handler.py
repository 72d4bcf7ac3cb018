"""Lambda entry of the admin context: HTTP routes, its inbox, its outbox relay, the canary tasks."""

from admin.api import app
from admin.canary import CONSUMER, emit_heartbeat, report_failure, resume_canary
from admin.models import HEARTBEAT
from harambee.consumer import EventConsumer
from harambee.runtime import LambdaEntry

consumer = EventConsumer(CONSUMER, {HEARTBEAT: resume_canary})
handler = LambdaEntry(
    app,
    consumer=consumer,
    tasks={"canary.emit": emit_heartbeat, "canary.failed": report_failure},
)
