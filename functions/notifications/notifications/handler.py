"""Lambda entry of the notifications context: parse the trigger, call the domain, return."""

from harambee.http import create_app
from harambee.runtime import LambdaEntry

app = create_app("notifications")
handler = LambdaEntry(app)
