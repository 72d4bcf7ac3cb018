"""Lambda entry of the identity context: its HTTP routes, its inbox, its admin task and its outbox relay."""

from harambee.runtime import LambdaEntry
from identity.admin_bootstrap import ensure_admin_task
from identity.api import app
from identity.consumers import consumer

handler = LambdaEntry(app, consumer=consumer, tasks={"admin.ensure": ensure_admin_task})
