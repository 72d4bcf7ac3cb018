"""Lambda entry of the identity context: its HTTP routes, its inbox, its admin task and its outbox relay."""

from harambee.runtime import LambdaEntry
from identity.api import app

handler = LambdaEntry(
    app,
    consumer="identity.consumers:consumer",
    tasks={"admin.ensure": "identity.admin_bootstrap:ensure_admin_task"},
)
