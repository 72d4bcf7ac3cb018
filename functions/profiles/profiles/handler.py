"""Lambda entry of the profiles context: its routes, its avatar inbox and its outbox relay."""

from harambee.runtime import LambdaEntry
from profiles.api import app
from profiles.uploads import handle_avatar_notifications

handler = LambdaEntry(app, consumer=handle_avatar_notifications)
