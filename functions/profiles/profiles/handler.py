"""Lambda entry of the profiles context: its routes, its avatar inbox and its outbox relay."""

from harambee.runtime import LambdaEntry
from profiles.api import app

handler = LambdaEntry(app, consumer="profiles.uploads:handle_avatar_notifications")
