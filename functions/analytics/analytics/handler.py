"""Lambda entry of the analytics context: HTTP routes, its inbox (every domain event), its relay."""

from analytics.api import app
from harambee.runtime import LambdaEntry

handler = LambdaEntry(app, consumer="analytics.inbox:consumer")
