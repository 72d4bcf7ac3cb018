"""Lambda entry of the notifications context: routes, the inbox, the internal send-email task, the relay."""

from harambee.runtime import LambdaEntry
from notifications.api import app

handler = LambdaEntry(
    app,
    consumer="notifications.inbox:consumer",
    tasks={"notifications.send-email": "notifications.tasks:send_email_task"},
)
