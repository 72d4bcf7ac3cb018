"""Lambda entry of the identity context: its HTTP routes, its inbox and its outbox relay."""

from harambee.runtime import LambdaEntry
from identity.api import app
from identity.consumers import consumer

handler = LambdaEntry(app, consumer=consumer)
