"""Lambda entry of the donations context: parse the trigger, call the domain, return."""

from harambee.http import create_app
from harambee.runtime import LambdaEntry

app = create_app("donations")
handler = LambdaEntry(app)
