"""Admin's inbox: the pipeline canary's heartbeat comes back here."""

from admin.canary import CONSUMER, resume_canary
from admin.models import HEARTBEAT
from harambee.consumer import EventConsumer

consumer = EventConsumer(CONSUMER, {HEARTBEAT: resume_canary})
