"""Analytics' inbox: AnalyticsSubscriptionRule sends every `harambee.*` event here, and all are counted."""

from analytics.service import CONSUMER, count_event
from harambee.consumer import EventConsumer

consumer = EventConsumer(CONSUMER, fallback=count_event)
