"""Lambda entry of the analytics context: HTTP routes, its inbox (every domain event), its relay."""

from analytics.api import app
from analytics.service import CONSUMER, count_event
from harambee.consumer import EventConsumer
from harambee.runtime import LambdaEntry

# AnalyticsSubscriptionRule sends every `harambee.*` event here: all of them are counted.
consumer = EventConsumer(CONSUMER, fallback=count_event)
handler = LambdaEntry(app, consumer=consumer)
