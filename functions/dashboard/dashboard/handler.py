"""Lambda entry of the dashboard context: parse the trigger, call the domain, return."""

from harambee.http import create_app
from harambee.runtime import LambdaEntry

app = create_app("dashboard")
handler = LambdaEntry(app)
