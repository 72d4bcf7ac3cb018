"""Lambda entry of the query context: its read routes, its inbox, and the operator's tasks."""

from harambee.runtime import LambdaEntry
from query.api import app

handler = LambdaEntry(
    app,
    consumer="query.inbox:consumer",
    tasks={"query.rebuild": "query.rebuild:run", "query.check-totals": "query.check:run"},
)
